//! Deterministic 1920x1080 workloads built from the fixtures, shared by the tests,
//! the benchmarks and the adaptive-mode example (included with `#[path]`).
//!
//! - `text`: a captured xterm with two columns of source code (Xvfb, DejaVu Sans
//!   Mono 10, see `fixtures/README.md`).
//! - still: the terminal with one more character cell typed per frame.
//! - W2-like text scroll: the terminal scrolled by one text line (17 px) per frame.
//! - window move: a 900x560 crop of the terminal with a title bar, moving by
//!   (12, 6) px per frame over a photographic background.
//! - W4-like video: the photo fixture (480x270 plasma fractal) zoomed and panned
//!   smoothly with bilinear sampling plus a little per-frame grain, as decoded
//!   video looks.
#![allow(dead_code, reason = "each test or bench uses a subset")]
#![allow(
    clippy::unwrap_used,
    reason = "test fixtures: a failure should stop the test"
)]

use std::path::Path;

use lifeline_codec::OwnedBgraFrame;

/// Frame width of every workload.
pub(crate) const WIDTH: u32 = 1920;
/// Frame height of every workload.
pub(crate) const HEIGHT: u32 = 1080;
/// Height of one terminal text line in the text fixture, in pixels.
pub(crate) const LINE_HEIGHT: u32 = 17;

fn fixture(name: &str) -> image::RgbaImage {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    image::open(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .to_rgba8()
}

fn to_bgra(image: &image::RgbaImage) -> OwnedBgraFrame {
    let mut data = image.as_raw().clone();
    for px in data.chunks_exact_mut(4) {
        px.swap(0, 2);
    }
    OwnedBgraFrame::from_vec(data, image.width(), image.height()).unwrap()
}

/// The captured terminal, 1920x1080.
pub(crate) fn text() -> OwnedBgraFrame {
    to_bgra(&fixture("text.png"))
}

/// The photo fixture at its own size (480x270).
pub(crate) fn photo_small() -> OwnedBgraFrame {
    to_bgra(&fixture("photo.png"))
}

/// The terminal scrolled up by `frame` lines (wrapping around).
pub(crate) fn text_scroll(text: &OwnedBgraFrame, frame: u32) -> OwnedBgraFrame {
    let mut out = OwnedBgraFrame::new(WIDTH, HEIGHT).unwrap();
    let shift = (frame * LINE_HEIGHT) % HEIGHT;
    for y in 0..HEIGHT {
        let from = (y + shift) % HEIGHT;
        out.row_mut(y).copy_from_slice(text.as_frame().row(from));
    }
    out
}

/// A still terminal where someone types: character cell `frame` of the first empty
/// line (an 8x17 block) is drawn dark, one more per frame.
pub(crate) fn typing(text: &OwnedBgraFrame, frame: u32) -> OwnedBgraFrame {
    let mut out = text.clone();
    let top = 4 * LINE_HEIGHT;
    for cell in 0..=frame {
        for y in top + 2..top + LINE_HEIGHT - 2 {
            for x in 300 + cell * 8..300 + cell * 8 + 6 {
                out.set_pixel(x, y, [40, 40, 40, 255]);
            }
        }
    }
    out
}

/// Bilinear sample of `src` at (`x`, `y`) in source pixels, clamped at the edges.
fn sample(src: &OwnedBgraFrame, x: f32, y: f32) -> [f32; 3] {
    let max_x = (src.width() - 1) as f32;
    let max_y = (src.height() - 1) as f32;
    let (x, y) = (x.clamp(0.0, max_x), y.clamp(0.0, max_y));
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (x1, y1) = (
        (x0 + 1).min(src.width() - 1),
        (y0 + 1).min(src.height() - 1),
    );
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let frame = src.as_frame();
    let mut out = [0.0; 3];
    for (c, value) in out.iter_mut().enumerate() {
        let p = |px: u32, py: u32| f32::from(frame.pixel(px, py).unwrap()[c]);
        let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
        let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
        *value = top * (1.0 - fy) + bottom * fy;
    }
    out
}

/// Small deterministic hash for grain.
fn hash(mut v: u32) -> u32 {
    v ^= v >> 16;
    v = v.wrapping_mul(0x7feb_352d);
    v ^= v >> 15;
    v = v.wrapping_mul(0x846c_a68b);
    v ^ (v >> 16)
}

/// The photo scaled to fill 1920x1080, zoomed and panned according to `frame`,
/// with +-2 levels of grain.
pub(crate) fn video(photo: &OwnedBgraFrame, frame: u32) -> OwnedBgraFrame {
    let t = frame as f32;
    let zoom = 1.0 + 0.15 * (t * 0.05).sin().abs();
    let scale = photo.width() as f32 / WIDTH as f32 / zoom;
    let (pan_x, pan_y) = (20.0 + 2.0 * t % 200.0, 10.0 + 0.7 * t % 80.0);
    let mut out = OwnedBgraFrame::new(WIDTH, HEIGHT).unwrap();
    for y in 0..HEIGHT {
        let row = out.row_mut(y);
        for (x, px) in row.chunks_exact_mut(4).enumerate() {
            let rgb = sample(
                photo,
                x as f32 * scale + pan_x * scale,
                y as f32 * scale + pan_y * scale,
            );
            let grain = (hash(frame * 7_919 + y * WIDTH + x as u32) % 5) as f32 - 2.0;
            for c in 0..3 {
                px[c] = (rgb[c] + grain).clamp(0.0, 255.0) as u8;
            }
            px[3] = 255;
        }
    }
    out
}

/// The `width` x `height` rectangle of `frame` at (`left`, `top`).
pub(crate) fn crop(
    frame: &OwnedBgraFrame,
    left: u32,
    top: u32,
    width: u32,
    height: u32,
) -> OwnedBgraFrame {
    let mut out = OwnedBgraFrame::new(width, height).unwrap();
    for y in 0..height {
        let row = frame.as_frame().row(top + y);
        out.row_mut(y)
            .copy_from_slice(&row[left as usize * 4..(left + width) as usize * 4]);
    }
    out
}

/// The photo scaled to fill the screen, unmoving (background for window moves).
pub(crate) fn photo() -> OwnedBgraFrame {
    video(&photo_small(), 0)
}

/// A terminal window (900x560 crop of the text fixture with a 24 px title bar) at a
/// position that moves by (12, 6) px per frame over `background`.
pub(crate) fn window_move(
    background: &OwnedBgraFrame,
    text: &OwnedBgraFrame,
    frame: u32,
) -> OwnedBgraFrame {
    const W: u32 = 900;
    const H: u32 = 560;
    const TITLE: u32 = 24;
    let mut out = background.clone();
    let left = 40 + (frame * 12) % (WIDTH - W - 80);
    let top = 30 + (frame * 6) % (HEIGHT - H - 60);
    for y in 0..H {
        for x in 0..W {
            let px = if y < TITLE {
                if (x / 8 + y / 8) % 7 == 0 {
                    [200, 120, 60, 255]
                } else {
                    [90, 60, 40, 255]
                }
            } else {
                text.as_frame().pixel(x + 20, y - TITLE + 40).unwrap()
            };
            out.set_pixel(left + x, top + y, px);
        }
    }
    out
}
