//! Arbitrary datagrams: never a panic; whatever decodes re-encodes identically.
//!
//! The body is [`lifeline_fuzz::datagram`], shared with the workspace's corpus regression
//! test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lifeline_fuzz::datagram(data));
