//! Compares fixed screen-content mode, fixed camera mode and the content-adaptive
//! choice, on W2 (terminal scroll), W3 (window move), W4 (full-screen video) and a
//! mix (text, then video, then text again).
//!
//! Two sources of frames:
//! - by default, the deterministic 1920x1080 workloads of `tests/common/workloads.rs`;
//! - with `--clips DIR`, the shared bench's recorded clips `clip-W2.yuv`,
//!   `clip-W3.yuv` and `clip-W4.yuv` (raw yuv420p, 1920x1080, 30 fps, as written by
//!   `shared/bench/encoder-quality.sh`, which records them from the real workloads).
//!
//! Each frame goes through the agent's pipeline (change detection, classifier,
//! BGRA -> I420, encode), then the viewer's (decode, I420 -> BGRA), and is compared with
//! its source. Unchanged frames are not encoded, as in the agent, but their time
//! counts in the bitrate.
//!
//! Run with: `cargo run --release -p lifeline-codec --example adaptive --
//! [--clips DIR] [--bitrate BPS]...` (`--bitrate` may be repeated; default 4000000).
#![allow(clippy::print_stdout, reason = "the example reports its measurements")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "an example; any failure should stop it loudly"
)]

#[path = "../tests/common/workloads.rs"]
mod workloads;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use lifeline_codec::{
    ChangeDetector, ContentClassifier, ContentMode, Decoder, EncodeOptions, Encoder,
    EncoderSettings, I420Image, OpenH264Decoder, OpenH264Encoder, OwnedBgraFrame, bgra_to_i420,
    i420_to_owned_bgra, psnr,
};

/// Frame rate of the clips and of the encoder settings.
const FRAME_RATE: f64 = 30.0;

#[derive(Clone, Copy, PartialEq)]
enum Policy {
    Screen,
    Camera,
    Adaptive,
}

/// What one policy did on one workload.
struct Outcome {
    frames_in: usize,
    encoded: usize,
    camera_frames: usize,
    sizes: Vec<usize>,
    psnr_sum: f64,
    min_psnr: f64,
    encode_ms: Vec<f64>,
}

impl Outcome {
    fn mbit_per_s(&self) -> f64 {
        let seconds = self.frames_in as f64 / FRAME_RATE;
        self.sizes.iter().sum::<usize>() as f64 * 8.0 / seconds / 1e6
    }
}

fn percentile<T: Copy + PartialOrd>(values: &[T], fraction: f64) -> T {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    sorted[((sorted.len() - 1) as f64 * fraction).round() as usize]
}

fn run(frames: &[OwnedBgraFrame], policy: Policy, bitrate_bps: u32) -> Outcome {
    let settings = EncoderSettings {
        bitrate_bps,
        frame_rate_hz: FRAME_RATE as f32,
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
    classifier.set_budget(bitrate_bps, FRAME_RATE);
    let mut image = I420Image::empty();
    let mut outcome = Outcome {
        frames_in: frames.len(),
        encoded: 0,
        camera_frames: 0,
        sizes: Vec::new(),
        psnr_sum: 0.0,
        min_psnr: f64::INFINITY,
        encode_ms: Vec::new(),
    };
    for (index, frame) in frames.iter().enumerate() {
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
        let encode_ms = start.elapsed().as_secs_f64() * 1000.0;
        let decoded = decoder.decode(&encoded.annex_b).unwrap().unwrap();
        let back = i420_to_owned_bgra(decoded).unwrap();
        let quality = psnr(&frame, &back.as_frame()).unwrap();
        outcome.psnr_sum += quality;
        outcome.min_psnr = outcome.min_psnr.min(quality);
        outcome.encoded += 1;
        if encoder.settings().content_mode == ContentMode::Camera {
            outcome.camera_frames += 1;
        }
        // The first frame is a keyframe in every policy: sizes and times are of the
        // frames after it.
        if index > 0 {
            outcome.sizes.push(encoded.annex_b.len());
            outcome.encode_ms.push(encode_ms);
        }
    }
    outcome
}

/// Reads a raw yuv420p 1920x1080 clip, as the screen showed it (BGRA).
fn read_clip(path: &Path) -> Vec<OwnedBgraFrame> {
    let (width, height) = (workloads::WIDTH as usize, workloads::HEIGHT as usize);
    let (luma, chroma) = (width * height, width * height / 4);
    let mut file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut raw = vec![0; luma + 2 * chroma];
    let mut frames = Vec::new();
    while file.read_exact(&mut raw).is_ok() {
        let mut image = I420Image::new(workloads::WIDTH, workloads::HEIGHT).unwrap();
        let (y_stride, uv_stride) = (image.y_stride(), image.uv_stride());
        let (y, u, v) = image.planes_mut();
        for row in 0..height {
            y[row * y_stride..][..width].copy_from_slice(&raw[row * width..][..width]);
        }
        for row in 0..height / 2 {
            let from = row * width / 2;
            u[row * uv_stride..][..width / 2].copy_from_slice(&raw[luma + from..][..width / 2]);
            v[row * uv_stride..][..width / 2]
                .copy_from_slice(&raw[luma + chroma + from..][..width / 2]);
        }
        frames.push(i420_to_owned_bgra(&image).unwrap());
    }
    assert!(!frames.is_empty(), "{} holds no frame", path.display());
    frames
}

fn synthetic() -> Vec<(&'static str, Vec<OwnedBgraFrame>)> {
    let text = workloads::text();
    let photo = workloads::photo_small();
    let background = workloads::photo();
    vec![
        (
            "W2 text scroll",
            (0..60).map(|i| workloads::text_scroll(&text, i)).collect(),
        ),
        (
            "W3 window move",
            (0..60)
                .map(|i| workloads::window_move(&background, &text, i))
                .collect(),
        ),
        (
            "W4 video",
            (0..60).map(|i| workloads::video(&photo, i)).collect(),
        ),
    ]
}

fn clips(dir: &Path) -> Vec<(&'static str, Vec<OwnedBgraFrame>)> {
    [
        ("W2 text scroll", "clip-W2.yuv"),
        ("W3 window move", "clip-W3.yuv"),
        ("W4 video", "clip-W4.yuv"),
    ]
    .into_iter()
    .map(|(name, file)| (name, read_clip(&dir.join(file))))
    .collect()
}

/// Text, then video, then text again: a third of each of W2, W4, W2.
fn mixed(workloads: &[(&'static str, Vec<OwnedBgraFrame>)]) -> Vec<OwnedBgraFrame> {
    let text = &workloads[0].1;
    let video = &workloads[2].1;
    let third = text.len().min(video.len()) / 3;
    text[..third]
        .iter()
        .chain(&video[..third])
        .chain(&text[third..2 * third])
        .cloned()
        .collect()
}

fn main() {
    let mut clip_dir: Option<PathBuf> = None;
    let mut bitrates = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--clips" => clip_dir = Some(args.next().expect("--clips DIR").into()),
            "--bitrate" => bitrates.push(
                args.next()
                    .and_then(|b| b.parse().ok())
                    .expect("--bitrate BPS"),
            ),
            other => panic!("unknown argument {other}; see the header of examples/adaptive.rs"),
        }
    }
    if bitrates.is_empty() {
        bitrates.push(4_000_000);
    }
    let mut workloads = match &clip_dir {
        Some(dir) => clips(dir),
        None => synthetic(),
    };
    let mix = mixed(&workloads);
    workloads.push(("W2 -> W4 -> W2", mix));

    let source = match &clip_dir {
        Some(dir) => format!("recorded clips from {}", dir.display()),
        None => "synthetic workloads".to_owned(),
    };
    println!("{source}, 1920x1080, 30 fps, one encoder thread");
    println!(
        "| workload | target Mbit/s | mode | frames encoded | in camera mode | Mbit/s | frame bytes p50 / p95 | mean PSNR dB | min PSNR dB | encode ms p50 |"
    );
    println!("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for bitrate in bitrates {
        for (name, frames) in &workloads {
            for (label, policy) in [
                ("screen", Policy::Screen),
                ("camera", Policy::Camera),
                ("adaptive", Policy::Adaptive),
            ] {
                let outcome = run(frames, policy, bitrate);
                println!(
                    "| {name} | {:.1} | {label} | {} | {} | {:.2} | {} / {} | {:.2} | {:.2} | {:.1} |",
                    f64::from(bitrate) / 1e6,
                    outcome.encoded,
                    outcome.camera_frames,
                    outcome.mbit_per_s(),
                    percentile(&outcome.sizes, 0.5),
                    percentile(&outcome.sizes, 0.95),
                    outcome.psnr_sum / outcome.encoded.max(1) as f64,
                    outcome.min_psnr,
                    percentile(&outcome.encode_ms, 0.5),
                );
            }
        }
    }
}
