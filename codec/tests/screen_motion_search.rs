//! The screen-content motion search, which Lifeline patches in its copy of openh264
//! (`codec/vendor/README.md`): the patch makes the feature search's preparation
//! cheaper and must leave what the search finds unchanged. A feature search that
//! found nothing would still give a correct picture, only a bigger one, so these
//! tests look at the sizes as well as at the picture.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a failure should stop the test"
)]

mod common;

use common::workloads;
use lifeline_codec::{
    ContentMode, Decoder, EncodeOptions, Encoder, EncoderSettings, I420Image, OpenH264Decoder,
    OpenH264Encoder, OwnedBgraFrame, bgra_to_i420, i420_to_owned_bgra, psnr,
};

/// Encodes `frames` in screen-content mode at 4 Mbit/s and decodes them. Returns the
/// sizes of the P frames (the first frame is the keyframe) and the lowest PSNR of a
/// decoded picture against its source.
fn encode_screen(frames: impl Iterator<Item = OwnedBgraFrame>) -> (Vec<usize>, f64) {
    let mut encoder = OpenH264Encoder::new(EncoderSettings {
        bitrate_bps: 4_000_000,
        content_mode: ContentMode::Screen,
        ..EncoderSettings::default()
    })
    .unwrap();
    let mut decoder = OpenH264Decoder::new().unwrap();
    let mut image = I420Image::empty();
    let mut sizes = Vec::new();
    let mut lowest_psnr = f64::INFINITY;
    for (index, frame) in frames.enumerate() {
        bgra_to_i420(&frame.as_frame(), &mut image).unwrap();
        let encoded = encoder.encode(&image, EncodeOptions::default()).unwrap();
        if index > 0 {
            sizes.push(encoded.annex_b.len());
        }
        let mut picture = decoder
            .decode(&encoded.annex_b)
            .unwrap()
            .expect("a picture")
            .clone();
        picture.crop(frame.width(), frame.height());
        let back = i420_to_owned_bgra(&picture).unwrap();
        lowest_psnr = lowest_psnr.min(psnr(&frame.as_frame(), &back.as_frame()).unwrap());
    }
    (sizes, lowest_psnr)
}

fn percentile(sizes: &[usize], percent: usize) -> usize {
    let mut sorted = sizes.to_vec();
    sorted.sort_unstable();
    sorted[(sorted.len() - 1) * percent / 100]
}

/// A terminal window moving diagonally over a photo, (12, 6) px a frame: the feature
/// search finds where its blocks came from. Measured (40 frames, deterministic): the
/// 95th percentile P frame is 5.6 KB, and 11.0 KB when the search finds nothing.
#[test]
fn a_window_moving_diagonally_is_found_by_the_feature_search() {
    let text = workloads::text();
    let background = workloads::photo();
    let (sizes, lowest_psnr) =
        encode_screen((0..40).map(|i| workloads::window_move(&background, &text, i)));
    let p95 = percentile(&sizes, 95);
    eprintln!("window move: P frames p95 {p95} bytes, lowest PSNR {lowest_psnr:.2} dB");
    assert!(
        p95 < 8_000,
        "P frames of a moving window: p95 {p95} bytes (5.6 KB when the feature search finds the window)"
    );
    assert!(lowest_psnr >= 36.0, "lowest PSNR {lowest_psnr:.2} dB");
}

/// Encodes scrolling text and checks that the P frames stay small (median under 8 KB)
/// and the pictures sharp (38 dB and more measured; 37.5 required).
#[allow(
    clippy::print_stderr,
    reason = "prints what it measured, as the tests do"
)]
fn assert_scroll_small_and_sharp(what: &str, frames: impl Iterator<Item = OwnedBgraFrame>) {
    let (sizes, lowest_psnr) = encode_screen(frames);
    let median = percentile(&sizes, 50);
    eprintln!("{what}: P frames median {median} bytes, lowest PSNR {lowest_psnr:.2} dB");
    assert!(median < 8_000, "{what}: median P frame {median} bytes");
    assert!(
        lowest_psnr >= 37.5,
        "{what}: lowest PSNR {lowest_psnr:.2} dB"
    );
}

/// Scrolling text: every line moved up; the frames stay small and sharp (measured:
/// median 4.3 KB a frame, lowest 38.3 dB).
#[test]
fn scrolling_text_stays_small_and_sharp_in_screen_mode() {
    let text = workloads::text();
    assert_scroll_small_and_sharp(
        "text scroll",
        (0..30).map(|i| workloads::text_scroll(&text, i)),
    );
}

/// A screen whose width is not a multiple of 8 (1366x768, common on laptops), scrolling:
/// the patched preparation's rows of block positions end in a part-run (its runs are
/// eight long). Measured: the same sizes as upstream openh264 (median 3.2 KB).
#[test]
fn a_1366_pixel_wide_screen_scrolls_in_screen_mode() {
    let text = workloads::text();
    assert_scroll_small_and_sharp(
        "1366x768 scroll",
        (0..12).map(|i| workloads::crop(&workloads::text_scroll(&text, i), 0, 0, 1366, 768)),
    );
}
