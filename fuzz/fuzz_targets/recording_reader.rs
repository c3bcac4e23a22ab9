//! Arbitrary bytes as a session recording: opening, reading, seeking and verifying never
//! panic, and an intact file reads exactly what verification counted.
//!
//! The body is [`lifeline_fuzz::recording_reader`], shared with the workspace's corpus
//! regression test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lifeline_fuzz::recording_reader(data));
