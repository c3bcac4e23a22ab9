//! Encoder and decoder end to end, on the captured text fixture and generated frames.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a failure should stop the test"
)]

mod common;

use common::workloads;
use lifeline_codec::{
    ChangeDetector, Changes, ContentMode, Decoder, EncodeOptions, Encoder, EncoderSettings,
    FrameType, I420Image, OpenH264Decoder, OpenH264Encoder, OwnedBgraFrame, Rect, bgra_to_i420,
    i420_to_bgra, i420_to_owned_bgra, psnr,
};

fn encoder(bitrate_bps: u32, content_mode: ContentMode) -> OpenH264Encoder {
    OpenH264Encoder::new(EncoderSettings {
        bitrate_bps,
        content_mode,
        ..EncoderSettings::default()
    })
    .unwrap()
}

fn to_i420(frame: &OwnedBgraFrame) -> I420Image {
    let mut image = I420Image::empty();
    bgra_to_i420(&frame.as_frame(), &mut image).unwrap();
    image
}

/// Decodes `annex_b`, crops to `width` x `height` and returns the PSNR against `source`.
fn decoded_psnr(decoder: &mut OpenH264Decoder, annex_b: &[u8], source: &OwnedBgraFrame) -> f64 {
    let mut picture = decoder.decode(annex_b).unwrap().expect("a picture").clone();
    picture.crop(source.width(), source.height());
    let back = i420_to_owned_bgra(&picture).unwrap();
    psnr(&source.as_frame(), &back.as_frame()).unwrap()
}

#[test]
fn text_stays_legible_at_4_mbits() {
    let text = workloads::text();
    let image = to_i420(&text);
    let mut encoder = encoder(4_000_000, ContentMode::Screen);
    let mut decoder = OpenH264Decoder::new().unwrap();
    let first = encoder.encode(&image, EncodeOptions::default()).unwrap();
    assert_eq!(first.frame_type, FrameType::Idr);
    assert_eq!((first.width, first.height), (1920, 1080));
    assert_eq!(&first.annex_b[..4], &[0, 0, 0, 1], "Annex-B start code");
    let quality = decoded_psnr(&mut decoder, &first.annex_b, &text);
    eprintln!("IDR: {} bytes, {quality:.2} dB", first.annex_b.len());
    assert!(
        quality >= 38.0,
        "text keyframe at 4 Mbit/s: {quality:.2} dB"
    );
}

#[test]
fn unchanged_frame_and_one_pixel_change_on_the_fixture() {
    let mut text = workloads::text();
    let mut detector = ChangeDetector::new();
    assert!(detector.detect(&text.as_frame()).is_changed());
    assert_eq!(detector.detect(&text.as_frame()), Changes::Unchanged);
    text.set_pixel(1234, 567, [0, 0, 255, 255]);
    assert_eq!(
        detector.detect(&text.as_frame()),
        Changes::Changed(vec![Rect {
            x: 1216,
            y: 512,
            width: 64,
            height: 64
        }])
    );
}

/// Like [`decoded_psnr`], converting from the decoder's own buffers (`decode_with`) as
/// the viewer does.
fn decoded_in_place_psnr(
    decoder: &mut OpenH264Decoder,
    annex_b: &[u8],
    source: &OwnedBgraFrame,
) -> f64 {
    let mut back = OwnedBgraFrame::new(source.width(), source.height()).unwrap();
    let stride = back.stride();
    decoder
        .decode_with(annex_b, |view| {
            i420_to_bgra(
                view.crop(source.width(), source.height()),
                back.data_mut(),
                stride,
            )
        })
        .unwrap()
        .expect("a picture")
        .unwrap();
    psnr(&source.as_frame(), &back.as_frame()).unwrap()
}

#[test]
fn odd_sizes_round_trip() {
    let text = workloads::text();
    let mut decoder = OpenH264Decoder::new().unwrap();
    for (width, height) in [(333, 217), (17, 9), (640, 361)] {
        let source = workloads::crop(&text, 8, 8, width, height);
        let mut encoder = encoder(4_000_000, ContentMode::Screen);
        let encoded = encoder
            .encode(&to_i420(&source), EncodeOptions::default())
            .unwrap();
        assert_eq!((encoded.width, encoded.height), (width, height));
        let quality = decoded_psnr(&mut decoder, &encoded.annex_b, &source);
        assert!(quality > 35.0, "{width}x{height}: {quality:.2} dB");
        // Converting in place shows exactly the same pixels.
        let mut in_place = OpenH264Decoder::new().unwrap();
        let same = decoded_in_place_psnr(&mut in_place, &encoded.annex_b, &source);
        assert_eq!(same.to_bits(), quality.to_bits(), "{width}x{height}");
    }
}

#[test]
fn resolution_change_mid_stream() {
    let text = workloads::text();
    let mut encoder = encoder(4_000_000, ContentMode::Screen);
    let mut decoder = OpenH264Decoder::new().unwrap();
    let sizes = [(640, 360), (640, 360), (1280, 720), (1280, 720), (800, 600)];
    let expected = [
        FrameType::Idr,
        FrameType::P,
        FrameType::Idr,
        FrameType::P,
        FrameType::Idr,
    ];
    for (i, ((width, height), frame_type)) in sizes.into_iter().zip(expected).enumerate() {
        let source = workloads::crop(&text, i as u32 * 17, i as u32 * 17, width, height);
        let encoded = encoder
            .encode(&to_i420(&source), EncodeOptions::default())
            .unwrap();
        assert_eq!(encoded.frame_type, frame_type, "frame {i}");
        let decoded = decoder
            .decode(&encoded.annex_b)
            .unwrap()
            .expect("a picture");
        assert_eq!((decoded.width(), decoded.height()), (width, height));
        let back = i420_to_owned_bgra(decoded).unwrap();
        let quality = psnr(&source.as_frame(), &back.as_frame()).unwrap();
        assert!(quality > 35.0, "frame {i}: {quality:.2} dB");
    }
}

#[test]
fn keyframes_on_request_and_on_mode_change() {
    let image = to_i420(&workloads::crop(&workloads::text(), 0, 0, 320, 240));
    let mut encoder = encoder(2_000_000, ContentMode::Screen);
    let options = EncodeOptions::default();
    let forced = EncodeOptions {
        force_keyframe: true,
    };
    assert_eq!(
        encoder.encode(&image, options).unwrap().frame_type,
        FrameType::Idr
    );
    assert_eq!(
        encoder.encode(&image, options).unwrap().frame_type,
        FrameType::P
    );
    assert_eq!(
        encoder.encode(&image, forced).unwrap().frame_type,
        FrameType::Idr
    );
    assert_eq!(
        encoder.encode(&image, options).unwrap().frame_type,
        FrameType::P
    );
    encoder.set_content_mode(ContentMode::Screen).unwrap();
    assert_eq!(
        encoder.encode(&image, options).unwrap().frame_type,
        FrameType::P
    );
    encoder.set_content_mode(ContentMode::Camera).unwrap();
    assert_eq!(encoder.settings().content_mode, ContentMode::Camera);
    assert_eq!(
        encoder.encode(&image, options).unwrap().frame_type,
        FrameType::Idr
    );
    assert_eq!(
        encoder.encode(&image, options).unwrap().frame_type,
        FrameType::P
    );
}

#[test]
fn bitrate_and_frame_rate_change_at_run_time_without_a_new_stream() {
    let photo = workloads::photo_small();
    let frames: Vec<I420Image> = (0..24)
        .map(|i| {
            to_i420(&workloads::crop(
                &workloads::video(&photo, i),
                0,
                0,
                640,
                360,
            ))
        })
        .collect();
    let mut encoder = encoder(3_000_000, ContentMode::Camera);
    let mut sizes = Vec::new();
    for (i, image) in frames.iter().enumerate() {
        if i == 12 {
            encoder.set_bitrate(300_000).unwrap();
            encoder.set_frame_rate(15.0).unwrap();
        }
        let encoded = encoder.encode(image, EncodeOptions::default()).unwrap();
        if i > 0 {
            // One stream: no new keyframe when the settings change, and the
            // encoder never skips a frame by itself.
            assert_eq!(encoded.frame_type, FrameType::P, "frame {i}");
        }
        sizes.push(encoded.annex_b.len());
    }
    let before: usize = sizes[4..12].iter().sum();
    let after: usize = sizes[16..24].iter().sum();
    assert!(
        after * 3 < before,
        "bytes before {before}, after {after}: {sizes:?}"
    );
    assert_eq!(encoder.settings().bitrate_bps, 300_000);
    // Raising it again works too (the maximum is raised first).
    encoder.set_bitrate(5_000_000).unwrap();
    assert!(encoder.set_bitrate(0).is_err());
    assert!(encoder.set_frame_rate(f32::NAN).is_err());
    assert!(encoder.set_frame_rate(0.0).is_err());
}

#[test]
fn no_frames_skipped_by_the_encoder_at_a_starved_bitrate() {
    let photo = workloads::photo_small();
    let mut encoder = encoder(100_000, ContentMode::Screen);
    let mut decoder = OpenH264Decoder::new().unwrap();
    for i in 0..10 {
        let image = to_i420(&workloads::crop(
            &workloads::video(&photo, i * 5),
            0,
            0,
            480,
            272,
        ));
        let encoded = encoder.encode(&image, EncodeOptions::default()).unwrap();
        assert_ne!(encoded.frame_type, FrameType::Skip, "frame {i}");
        assert!(
            decoder.decode(&encoded.annex_b).unwrap().is_some(),
            "frame {i}"
        );
    }
}

#[test]
fn oversized_pictures_are_refused_by_the_encoder() {
    let mut encoder = encoder(4_000_000, ContentMode::Screen);
    let image = I420Image::new(4000, 100).unwrap();
    assert!(encoder.encode(&image, EncodeOptions::default()).is_err());
    assert!(
        encoder
            .encode(&I420Image::empty(), EncodeOptions::default())
            .is_err()
    );
}
