//! Upscaling of I420 pictures, for the viewer: a picture the agent scaled down to save
//! bandwidth is shown at the remote screen's size again.
//!
//! Bilinear, per plane, in 8-bit fixed point, with sample centres aligned (the
//! inverse of the area averaging in [`crate::downscale`] to within rounding). The
//! viewer calls it once per shown frame, so it stays simple and branch-free in the
//! inner loop.

use crate::convert::{I420Image, chroma_size};
use crate::frame::FrameError;

/// Scales `src` up to `width` x `height` into `dst`, resizing `dst`. A target smaller
/// than the source is scaled the same way (bilinear), which is fine for the small
/// differences of rounding but not meant for real downscaling.
///
/// # Errors
/// [`FrameError`] if the target size is empty or beyond the crate's limits.
pub fn upscale(
    src: &I420Image,
    width: u32,
    height: u32,
    dst: &mut I420Image,
) -> Result<(), FrameError> {
    dst.resize(width, height)?;
    let (src_cw, src_ch) = src.chroma_size();
    let (dst_cw, dst_ch) = chroma_size(width, height);
    let y_stride = dst.y_stride();
    let uv_stride = dst.uv_stride();
    let (y, u, v) = dst.planes_mut();
    let planes = [
        (
            src.y(),
            src.y_stride(),
            (src.width(), src.height()),
            y,
            y_stride,
            (width, height),
        ),
        (
            src.u(),
            src.uv_stride(),
            (src_cw, src_ch),
            u,
            uv_stride,
            (dst_cw, dst_ch),
        ),
        (
            src.v(),
            src.uv_stride(),
            (src_cw, src_ch),
            v,
            uv_stride,
            (dst_cw, dst_ch),
        ),
    ];
    for (from, from_stride, from_size, to, to_stride, to_size) in planes {
        bilinear_plane(from, from_stride, from_size, to, to_stride, to_size);
    }
    Ok(())
}

/// Source position (in 1/256 pixel) of each destination sample centre, clamped to the
/// source, as (index, weight of the next sample).
fn positions(from: u32, to: u32) -> Vec<(usize, u32)> {
    let (from, to) = (i64::from(from.max(1)), i64::from(to.max(1)));
    let last = from - 1;
    (0..to)
        .map(|i| {
            // Centre of destination sample i, mapped back: (i + 0.5) * from / to - 0.5.
            let fixed = ((2 * i + 1) * from * 256 / (2 * to) - 128).clamp(0, last * 256);
            let index = fixed >> 8;
            let weight = if index >= last { 0 } else { fixed & 0xff };
            (index as usize, weight as u32)
        })
        .collect()
}

fn bilinear_plane(
    src: &[u8],
    src_stride: usize,
    (src_w, src_h): (u32, u32),
    dst: &mut [u8],
    dst_stride: usize,
    (dst_w, dst_h): (u32, u32),
) {
    let columns = positions(src_w, dst_w);
    let rows = positions(src_h, dst_h);
    let src_w = src_w as usize;
    let row_of = |index: usize| {
        let start = index * src_stride;
        src.get(start..start + src_w).unwrap_or(&[])
    };
    let mut blended = vec![0u32; src_w];
    for (out, &(index, weight)) in dst.chunks_mut(dst_stride).zip(&rows) {
        let (a, b) = (row_of(index), row_of(index + usize::from(weight > 0)));
        if a.len() != src_w || b.len() != src_w {
            return;
        }
        for ((sum, &top), &bottom) in blended.iter_mut().zip(a).zip(b) {
            *sum = u32::from(top) * (256 - weight) + u32::from(bottom) * weight;
        }
        for (o, &(column, cw)) in out.iter_mut().take(dst_w as usize).zip(&columns) {
            let left = blended[column];
            let right = blended[(column + 1).min(src_w - 1)];
            *o = ((left * (256 - cw) + right * cw + (1 << 15)) >> 16) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{OwnedBgraFrame, Scale, bgra_to_i420, downscale, i420_to_owned_bgra, psnr};

    fn smooth(width: u32, height: u32) -> OwnedBgraFrame {
        let mut frame = OwnedBgraFrame::new(width, height).expect("a frame");
        for y in 0..height {
            for x in 0..width {
                // Detail a half-size picture can carry: waves several pixels long.
                let wave = (f64::from(x) / 9.0).sin() * (f64::from(y) / 11.0).cos();
                let value = (128.0 + 100.0 * wave) as u8;
                frame.set_pixel(x, y, [value, 255 - value, value / 2 + 60, 255]);
            }
        }
        frame
    }

    #[test]
    fn a_flat_picture_stays_flat_and_sizes_are_right() {
        let mut src = I420Image::new(64, 36).expect("an image");
        let (y, u, v) = src.planes_mut();
        y.fill(90);
        u.fill(100);
        v.fill(110);
        let mut dst = I420Image::empty();
        upscale(&src, 96, 54, &mut dst).expect("upscaled");
        assert_eq!((dst.width(), dst.height()), (96, 54));
        assert!(dst.y().iter().all(|&p| p == 90));
        assert!(dst.u().iter().all(|&p| p == 100));
        assert!(dst.v().iter().all(|&p| p == 110));
    }

    #[test]
    fn down_then_up_is_close_to_the_original() {
        let original = smooth(192, 108);
        let mut full = I420Image::empty();
        bgra_to_i420(&original.as_frame(), &mut full).expect("converted");
        for scale in [Scale::Half, Scale::TwoThirds] {
            let mut small = I420Image::empty();
            downscale(&full, scale, &mut small).expect("downscaled");
            let mut back = I420Image::empty();
            upscale(&small, 192, 108, &mut back).expect("upscaled");
            let shown = i420_to_owned_bgra(&back).expect("converted");
            let quality = psnr(&original.as_frame(), &shown.as_frame()).expect("psnr");
            assert!(quality > 33.0, "{scale:?}: {quality:.1} dB");
        }
    }

    #[test]
    fn odd_sizes_and_a_one_pixel_source_do_not_panic() {
        let src = I420Image::new(1, 1).expect("an image");
        let mut dst = I420Image::empty();
        upscale(&src, 3, 5, &mut dst).expect("upscaled");
        let src = I420Image::new(7, 5).expect("an image");
        upscale(&src, 11, 9, &mut dst).expect("upscaled");
        assert_eq!((dst.width(), dst.height()), (11, 9));
    }
}
