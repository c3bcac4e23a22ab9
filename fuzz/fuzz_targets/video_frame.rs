//! Arbitrary video streams: never a panic; accepted frames respect every limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeline_protocol::framing::{MAX_FRAME_DIMENSION, VIDEO_PAYLOAD_LIMIT, decode_video_frame};

fuzz_target!(|data: &[u8]| {
    if let Ok((header, payload)) = decode_video_frame(data) {
        assert!(header.width <= MAX_FRAME_DIMENSION && header.height <= MAX_FRAME_DIMENSION);
        assert!(payload.len() <= VIDEO_PAYLOAD_LIMIT);
        assert_eq!(payload.len() as u64, u64::from(header.payload_len));
    }
});
