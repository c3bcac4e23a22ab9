//! Arbitrary bytes as H.264 access units from a hostile agent: errors, never a panic,
//! and never a picture above the decoder's size limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeline_codec::{DEFAULT_MAX_DECODE_DIMENSION, Decoder, OpenH264Decoder};

fuzz_target!(|data: &[u8]| {
    let Ok(mut decoder) = OpenH264Decoder::new() else {
        return;
    };
    // Split the input into a few access units to exercise state across frames.
    for unit in data.split(|byte| *byte == 0xA5).take(4) {
        if let Ok(Some(image)) = decoder.decode(unit) {
            assert!(image.width() <= DEFAULT_MAX_DECODE_DIMENSION);
            assert!(image.height() <= DEFAULT_MAX_DECODE_DIMENSION);
        }
    }
});
