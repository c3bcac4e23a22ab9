//! Arbitrary bytes as a peer's TLS certificate: never a panic; a key comes out only
//! from a well-formed Ed25519 SubjectPublicKeyInfo.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeline_protocol::certificate::certificate_public_key;

fuzz_target!(|data: &[u8]| {
    let _ = certificate_public_key(data);
});
