//! Arbitrary bytes as a peer's TLS certificate: never a panic; a key comes out only
//! from a well-formed Ed25519 SubjectPublicKeyInfo.
//!
//! The body is [`lifeline_fuzz::certificate`], shared with the workspace's corpus regression
//! test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lifeline_fuzz::certificate(data));
