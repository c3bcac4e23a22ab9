//! Compares fixed screen-content mode, fixed camera mode and the content-adaptive
//! choice on deterministic 1920x1080 workloads: W2-like text scrolling, W4-like
//! full-screen video, and a mix (text, then video, then text again).
//!
//! Each frame goes through the whole pipeline (change detection, classifier,
//! BGRA -> I420, encode, decode, I420 -> BGRA) and is compared with its source.
//!
//! Run with: `cargo run --release -p lifeline-codec --example adaptive`
#![allow(clippy::print_stdout, reason = "the example reports its measurements")]
#![allow(
    clippy::unwrap_used,
    reason = "an example; any failure should stop it loudly"
)]

#[path = "../tests/common/workloads.rs"]
mod workloads;

use std::time::Instant;

use lifeline_codec::{
    ChangeDetector, ContentClassifier, ContentMode, Decoder, EncodeOptions, Encoder,
    EncoderSettings, I420Image, OpenH264Decoder, OpenH264Encoder, OwnedBgraFrame, bgra_to_i420,
    i420_to_owned_bgra, psnr,
};

#[derive(Clone, Copy, PartialEq)]
enum Policy {
    Screen,
    Camera,
    Adaptive,
}

struct Totals {
    frames: u32,
    bytes: usize,
    psnr_sum: f64,
    min_psnr: f64,
    encode_ms: f64,
    camera_frames: u32,
}

fn run(frames: &[OwnedBgraFrame], policy: Policy) -> Totals {
    let settings = EncoderSettings {
        content_mode: if policy == Policy::Camera {
            ContentMode::Camera
        } else {
            ContentMode::Screen
        },
        ..EncoderSettings::default()
    };
    let mut encoder = OpenH264Encoder::new(settings).unwrap();
    let mut decoder = OpenH264Decoder::new().unwrap();
    let mut detector = ChangeDetector::new();
    let mut classifier = ContentClassifier::default();
    let mut image = I420Image::empty();
    let mut totals = Totals {
        frames: 0,
        bytes: 0,
        psnr_sum: 0.0,
        min_psnr: f64::INFINITY,
        encode_ms: 0.0,
        camera_frames: 0,
    };
    for frame in frames {
        let frame = frame.as_frame();
        let changes = detector.detect(&frame);
        let mode = classifier.observe(&frame, &changes);
        if policy == Policy::Adaptive {
            encoder.set_content_mode(mode).unwrap();
        }
        if !changes.is_changed() {
            continue;
        }
        bgra_to_i420(&frame, &mut image).unwrap();
        let start = Instant::now();
        let encoded = encoder.encode(&image, EncodeOptions::default()).unwrap();
        totals.encode_ms += start.elapsed().as_secs_f64() * 1000.0;
        let decoded = decoder.decode(&encoded.annex_b).unwrap().unwrap();
        let back = i420_to_owned_bgra(decoded).unwrap();
        let quality = psnr(&frame, &back.as_frame()).unwrap();
        totals.frames += 1;
        totals.bytes += encoded.annex_b.len();
        totals.psnr_sum += quality;
        totals.min_psnr = totals.min_psnr.min(quality);
        if encoder.settings().content_mode == ContentMode::Camera {
            totals.camera_frames += 1;
        }
    }
    totals
}

fn main() {
    let text = workloads::text();
    let photo = workloads::photo_small();
    let scroll: Vec<_> = (0..60).map(|i| workloads::text_scroll(&text, i)).collect();
    let video: Vec<_> = (0..60).map(|i| workloads::video(&photo, i)).collect();
    let mixed: Vec<_> = scroll[..30]
        .iter()
        .chain(&video)
        .chain(&scroll[30..])
        .cloned()
        .collect();

    println!("1920x1080, 4 Mbit/s target, 30 fps, one encoder thread");
    println!(
        "| workload | mode | frames | camera frames | bytes/frame | mean PSNR dB | min PSNR dB | encode ms/frame |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (name, frames) in [
        ("W2 text scroll", &scroll),
        ("W4 video", &video),
        ("mixed W2-W4-W2", &mixed),
    ] {
        for (label, policy) in [
            ("screen", Policy::Screen),
            ("camera", Policy::Camera),
            ("adaptive", Policy::Adaptive),
        ] {
            let t = run(frames, policy);
            let n = f64::from(t.frames.max(1));
            println!(
                "| {name} | {label} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} |",
                t.frames,
                t.camera_frames,
                t.bytes as f64 / n,
                t.psnr_sum / n,
                t.min_psnr,
                t.encode_ms / n
            );
        }
    }
}
