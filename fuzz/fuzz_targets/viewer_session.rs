//! A hostile agent: arbitrary frames fed to the viewer's state machine. The viewer must
//! never panic and never believe it is active without both proofs of the code.
//!
//! The body is [`lifeline_fuzz::viewer_session`], shared with the workspace's corpus regression
//! test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lifeline_fuzz::viewer_session(data));
