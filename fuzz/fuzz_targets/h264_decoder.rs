//! Arbitrary bytes as H.264 access units from a hostile agent: errors, never a panic,
//! and never a picture above the decoder's size limit.
//!
//! The body is [`lifeline_fuzz::h264_decoder`], shared with the workspace's corpus regression
//! test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lifeline_fuzz::h264_decoder(data));
