//! Untrusted input to the decoder: corrupt, truncated and random bitstreams give
//! errors (or, for damage the bitstream cannot reveal, a picture), never a panic,
//! and the decoder recovers at the next keyframe.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a failure should stop the test"
)]

mod common;

use std::sync::OnceLock;

use common::workloads;
use lifeline_codec::sps::nal_units;
use lifeline_codec::{
    DecodeError, Decoder, EncodeOptions, Encoder, EncoderSettings, FrameType, I420Image,
    OpenH264Decoder, OpenH264Encoder, bgra_to_i420,
};
use proptest::prelude::*;

/// An IDR and two P frames of 320x240 text, encoded once.
fn stream() -> &'static [Vec<u8>; 3] {
    static STREAM: OnceLock<[Vec<u8>; 3]> = OnceLock::new();
    STREAM.get_or_init(|| {
        let text = workloads::text();
        let mut encoder = OpenH264Encoder::new(EncoderSettings::default()).unwrap();
        let mut frames = Vec::new();
        for i in 0..3 {
            let mut crop = lifeline_codec::OwnedBgraFrame::new(320, 240).unwrap();
            for y in 0..240 {
                let row = text.as_frame().row(y + i * 17);
                crop.row_mut(y).copy_from_slice(&row[..320 * 4]);
            }
            let mut image = I420Image::empty();
            bgra_to_i420(&crop.as_frame(), &mut image).unwrap();
            frames.push(
                encoder
                    .encode(&image, EncodeOptions::default())
                    .unwrap()
                    .annex_b,
            );
        }
        frames.try_into().unwrap()
    })
}

/// After whatever came before, a clean IDR decodes to the right size.
fn assert_recovers(decoder: &mut OpenH264Decoder) {
    let picture = decoder
        .decode(&stream()[0])
        .expect("IDR decodes")
        .expect("a picture");
    assert_eq!((picture.width(), picture.height()), (320, 240));
}

#[test]
fn clean_stream_decodes() {
    let mut decoder = OpenH264Decoder::new().unwrap();
    for frame in stream() {
        assert!(decoder.decode(frame).unwrap().is_some());
    }
}

#[test]
fn truncated_keyframe_is_an_error_and_p_frames_fail_until_the_next_idr() {
    let mut decoder = OpenH264Decoder::new().unwrap();
    let idr = &stream()[0];
    let result = decoder.decode(&idr[..idr.len() / 2]);
    assert!(result.is_err() || result.unwrap().is_none());
    // Whatever the truncated IDR did, a P frame without its reference is refused.
    let mut fresh = OpenH264Decoder::new().unwrap();
    let err = fresh.decode(&stream()[1]).unwrap_err();
    assert!(err.is_bad_input(), "{err:?}");
    assert_recovers(&mut fresh);
    assert!(fresh.decode(&stream()[1]).unwrap().is_some());
}

#[test]
fn huge_sps_is_refused_before_decoding() {
    // Baseline SPS announcing 16384x16384 (1024x1024 macroblocks).
    let mut decoder = OpenH264Decoder::new().unwrap();
    let sps = [
        0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x28, 0xf4, 0x00, 0x20, 0x00, 0x08, 0x00, 0x20,
    ];
    let parsed: Vec<&[u8]> = nal_units(&sps).collect();
    assert_eq!(parsed.len(), 1);
    match decoder.decode(&sps) {
        Err(DecodeError::TooLarge { width, .. }) => assert_eq!(width, 16384),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_recovers(&mut decoder);
}

#[test]
fn oversized_access_unit_is_refused() {
    let mut decoder = OpenH264Decoder::new().unwrap();
    let big = vec![0u8; lifeline_codec::MAX_ACCESS_UNIT_BYTES + 1];
    assert_eq!(
        decoder.decode(&big).unwrap_err(),
        DecodeError::AccessUnitTooLarge(lifeline_codec::MAX_ACCESS_UNIT_BYTES + 1)
    );
}

#[test]
fn encoder_output_starts_with_parameter_sets() {
    let kinds: Vec<u8> = nal_units(&stream()[0]).map(|nal| nal[0] & 0x1f).collect();
    assert_eq!(&kinds[..2], &[7, 8], "SPS then PPS: {kinds:?}");
    assert!(kinds.contains(&5), "an IDR slice: {kinds:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096), start_code in any::<bool>()) {
        let mut decoder = OpenH264Decoder::new().unwrap();
        let mut input = if start_code { vec![0, 0, 0, 1] } else { Vec::new() };
        input.extend_from_slice(&bytes);
        let _ = decoder.decode(&input);
        assert_recovers(&mut decoder);
        // The same through the path that hands out the decoder's own buffers.
        let mut in_place = OpenH264Decoder::new().unwrap();
        if let Ok(Some((width, height))) = in_place.decode_with(&input, |view| (view.width(), view.height())) {
            prop_assert!(width <= 4096 && height <= 4096);
        }
        assert_recovers(&mut in_place);
    }

    #[test]
    fn corrupted_stream_never_panics(
        frame in 0usize..3,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..16),
    ) {
        let mut decoder = OpenH264Decoder::new().unwrap();
        if frame > 0 {
            decoder.decode(&stream()[0]).unwrap();
        }
        let mut data = stream()[frame].clone();
        for (index, mask) in flips {
            let at = index.index(data.len());
            data[at] ^= mask;
        }
        match decoder.decode(&data) {
            Ok(Some(picture)) => prop_assert!(picture.width() <= 4096 && picture.height() <= 4096),
            Ok(None) => {}
            Err(error) => prop_assert!(error.is_bad_input()),
        }
        assert_recovers(&mut decoder);
    }

    #[test]
    fn truncated_stream_never_panics(frame in 0usize..3, keep in any::<prop::sample::Index>()) {
        let mut decoder = OpenH264Decoder::new().unwrap();
        if frame > 0 {
            decoder.decode(&stream()[0]).unwrap();
        }
        let data = &stream()[frame];
        let _ = decoder.decode(&data[..keep.index(data.len())]);
        assert_recovers(&mut decoder);
    }
}

#[test]
fn skip_frames_are_typed() {
    // The encoder is configured never to skip; a Skip frame type would carry no data.
    assert!(!FrameType::Skip.is_keyframe());
    assert!(FrameType::Idr.is_keyframe());
}
