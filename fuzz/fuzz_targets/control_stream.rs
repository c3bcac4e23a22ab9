//! Arbitrary bytes on the control stream, delivered in pieces: never a panic, never
//! more buffered than one frame.
//!
//! The body is [`lifeline_fuzz::control_stream`], shared with the workspace's corpus regression
//! test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lifeline_fuzz::control_stream(data));
