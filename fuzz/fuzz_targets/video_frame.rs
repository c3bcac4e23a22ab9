//! Arbitrary video streams: never a panic; accepted frames respect every limit.
//!
//! The body is [`lifeline_fuzz::video_frame`], shared with the workspace's corpus regression
//! test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lifeline_fuzz::video_frame(data));
