//! Arbitrary bytes on the control stream, delivered in pieces: never a panic, never
//! more buffered than one frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeline_protocol::framing::{CONTROL_FRAME_LIMIT, ControlReader, encode_control};

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let cut = usize::from(split).min(rest.len());
    let mut reader = ControlReader::new();
    for piece in [&rest[..cut], &rest[cut..]] {
        match reader.feed(piece) {
            Ok(messages) => {
                for message in messages {
                    // Whatever decodes must encode again within the limit.
                    let bytes = encode_control(&message).expect("a decoded message re-encodes");
                    assert!(bytes.len() <= 4 + CONTROL_FRAME_LIMIT);
                }
            }
            Err(_) => return,
        }
    }
});
