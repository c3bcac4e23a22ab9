//! Arbitrary datagrams: never a panic; whatever decodes re-encodes identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeline_protocol::framing::{decode_datagram, encode_datagram};

fuzz_target!(|data: &[u8]| {
    if let Ok(datagram) = decode_datagram(data) {
        let again = encode_datagram(&datagram).expect("a decoded datagram re-encodes");
        assert_eq!(decode_datagram(&again).ok(), Some(datagram));
    }
});
