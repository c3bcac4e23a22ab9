//! Criterion benchmarks at 1920x1080: change detection, conversion both ways,
//! downscaling, encoding per content type and decoding.
//!
//! Run with `cargo bench -p lifeline-codec --bench codec` (about 3 minutes); the
//! medians go in the README table.
#![allow(
    clippy::unwrap_used,
    reason = "benchmark set-up; a failure should stop the run"
)]

#[path = "../tests/common/workloads.rs"]
mod workloads;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use lifeline_codec::{
    ChangeDetector, ContentMode, Decoder, EncodeOptions, Encoder, EncoderSettings, I420Image,
    OpenH264Decoder, OpenH264Encoder, OwnedBgraFrame, Scale, bgra_to_i420, downscale, i420_to_rgba,
};

/// Frames per encode workload (the benchmark cycles through them).
const SEQUENCE: u32 = 30;

fn to_i420(frame: &OwnedBgraFrame) -> I420Image {
    let mut image = I420Image::empty();
    bgra_to_i420(&frame.as_frame(), &mut image).unwrap();
    image
}

fn change_detection(c: &mut Criterion) {
    let text = workloads::text();
    let mut group = c.benchmark_group("change_detection");
    group.bench_function("unchanged", |b| {
        let mut detector = ChangeDetector::new();
        detector.detect(&text.as_frame());
        b.iter(|| black_box(detector.detect(black_box(&text.as_frame()))));
    });
    group.bench_function("one_pixel_changed", |b| {
        let mut frames = [text.clone(), text.clone()];
        frames[1].set_pixel(1000, 500, [1, 2, 3, 255]);
        let mut detector = ChangeDetector::new();
        let mut i = 0;
        b.iter(|| {
            i ^= 1;
            black_box(detector.detect(&frames[i].as_frame()))
        });
    });
    group.bench_function("text_scroll_all_changed", |b| {
        let frames = [
            workloads::text_scroll(&text, 0),
            workloads::text_scroll(&text, 1),
        ];
        let mut detector = ChangeDetector::new();
        let mut i = 0;
        b.iter(|| {
            i ^= 1;
            black_box(detector.detect(&frames[i].as_frame()))
        });
    });
    group.finish();
}

fn conversion(c: &mut Criterion) {
    let text = workloads::text();
    let photo = workloads::photo();
    let mut group = c.benchmark_group("convert");
    let mut image = I420Image::empty();
    group.bench_function("bgra_to_i420_text", |b| {
        b.iter(|| bgra_to_i420(black_box(&text.as_frame()), &mut image).unwrap());
    });
    group.bench_function("bgra_to_i420_photo", |b| {
        b.iter(|| bgra_to_i420(black_box(&photo.as_frame()), &mut image).unwrap());
    });
    let source = to_i420(&photo);
    let mut rgba = vec![0u8; 1920 * 1080 * 4];
    group.bench_function("i420_to_rgba", |b| {
        b.iter(|| i420_to_rgba(black_box(&source), &mut rgba, 1920 * 4).unwrap());
    });
    group.finish();

    let mut group = c.benchmark_group("downscale");
    let source = to_i420(&text);
    let mut small = I420Image::empty();
    for (name, scale) in [("half", Scale::Half), ("two_thirds", Scale::TwoThirds)] {
        group.bench_function(name, |b| {
            b.iter(|| downscale(black_box(&source), scale, &mut small).unwrap());
        });
    }
    group.finish();
}

fn workload_frames() -> Vec<(&'static str, Vec<I420Image>)> {
    let text = workloads::text();
    let photo_small = workloads::photo_small();
    let background = workloads::photo();
    vec![
        (
            "still",
            (0..SEQUENCE)
                .map(|i| to_i420(&workloads::typing(&text, i)))
                .collect(),
        ),
        (
            "text_scroll",
            (0..SEQUENCE)
                .map(|i| to_i420(&workloads::text_scroll(&text, i)))
                .collect(),
        ),
        (
            "window_move",
            (0..SEQUENCE)
                .map(|i| to_i420(&workloads::window_move(&background, &text, i)))
                .collect(),
        ),
        (
            "video",
            (0..SEQUENCE)
                .map(|i| to_i420(&workloads::video(&photo_small, i)))
                .collect(),
        ),
    ]
}

fn encoding(c: &mut Criterion) {
    let workloads = workload_frames();
    let mut group = c.benchmark_group("encode");
    for (mode_name, mode) in [
        ("screen", ContentMode::Screen),
        ("camera", ContentMode::Camera),
    ] {
        for (name, frames) in &workloads {
            let settings = EncoderSettings {
                content_mode: mode,
                ..EncoderSettings::default()
            };
            let mut encoder = OpenH264Encoder::new(settings).unwrap();
            // The keyframe is not what this measures.
            encoder
                .encode(&frames[0], EncodeOptions::default())
                .unwrap();
            let mut i = 0;
            group.bench_function(format!("{name}_{mode_name}"), |b| {
                b.iter(|| {
                    i = (i + 1) % frames.len();
                    black_box(
                        encoder
                            .encode(&frames[i], EncodeOptions::default())
                            .unwrap(),
                    )
                });
            });
        }
    }
    let frames = &workloads[1].1;
    let mut encoder = OpenH264Encoder::new(EncoderSettings::default()).unwrap();
    group.bench_function("keyframe_text_screen", |b| {
        b.iter(|| {
            black_box(
                encoder
                    .encode(
                        &frames[0],
                        EncodeOptions {
                            force_keyframe: true,
                        },
                    )
                    .unwrap(),
            )
        });
    });
    group.finish();
}

fn decoding(c: &mut Criterion) {
    let workloads = workload_frames();
    let mut group = c.benchmark_group("decode");
    for (name, frames) in &workloads[1..] {
        let mut encoder = OpenH264Encoder::new(EncoderSettings::default()).unwrap();
        let stream: Vec<Vec<u8>> = frames
            .iter()
            .map(|f| encoder.encode(f, EncodeOptions::default()).unwrap().annex_b)
            .collect();
        let mut decoder = OpenH264Decoder::new().unwrap();
        decoder.decode(&stream[0]).unwrap();
        let mut i = 0;
        group.bench_function(format!("{name}_p_frames"), |b| {
            // Only P frames are timed; the IDR that restarts the cycle is not.
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    i += 1;
                    if i == stream.len() {
                        decoder.decode(&stream[0]).unwrap();
                        i = 1;
                    }
                    let start = Instant::now();
                    // As the viewer decodes: the picture is used where the decoder
                    // left it (`decode_with`), not copied out first.
                    black_box(
                        decoder
                            .decode_with(&stream[i], |view| view.width())
                            .unwrap(),
                    );
                    total += start.elapsed();
                }
                total
            });
        });
        if *name == "text_scroll" {
            group.bench_function("keyframe_text", |b| {
                b.iter(|| {
                    black_box(
                        decoder
                            .decode_with(&stream[0], |view| view.width())
                            .unwrap(),
                    )
                });
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = change_detection, conversion, encoding, decoding
}
criterion_main!(benches);
