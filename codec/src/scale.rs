//! Downscaling of I420 pictures to 1/2 or 2/3 of their size, for slow links.
//!
//! Both factors are area averages (each output sample is the mean of the source area
//! it covers), done per plane in integer arithmetic. Area averaging never drops a
//! one-pixel stroke the way nearest-neighbour sampling does, and never rings around
//! glyph edges the way sharper kernels do, so text stays legible. Scaling I420 rather
//! than BGRA touches 1.5 instead of 4 bytes per pixel.

use crate::convert::{I420Image, chroma_size};
use crate::frame::FrameError;

/// A downscaling factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scale {
    /// Half width and half height (each output pixel averages 2x2 source pixels).
    Half,
    /// Two thirds of width and height (each 3x3 source block becomes 2x2).
    TwoThirds,
}

impl Scale {
    /// Output size for a `width` x `height` source (rounded up, never zero).
    #[must_use]
    pub fn output_size(self, width: u32, height: u32) -> (u32, u32) {
        match self {
            Self::Half => (width.div_ceil(2), height.div_ceil(2)),
            Self::TwoThirds => ((width * 2).div_ceil(3), (height * 2).div_ceil(3)),
        }
    }
}

/// Scales `src` down by `scale` into `dst`, resizing `dst`.
///
/// # Errors
/// [`FrameError`] if `src` is empty.
pub fn downscale(src: &I420Image, scale: Scale, dst: &mut I420Image) -> Result<(), FrameError> {
    let (width, height) = scale.output_size(src.width(), src.height());
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
            src.width(),
            src.height(),
            y,
            y_stride,
            width,
            height,
        ),
        (
            src.u(),
            src.uv_stride(),
            src_cw,
            src_ch,
            u,
            uv_stride,
            dst_cw,
            dst_ch,
        ),
        (
            src.v(),
            src.uv_stride(),
            src_cw,
            src_ch,
            v,
            uv_stride,
            dst_cw,
            dst_ch,
        ),
    ];
    for (from, from_stride, from_w, from_h, to, to_stride, to_w, to_h) in planes {
        let source = Plane {
            data: from,
            stride: from_stride,
            width: from_w as usize,
            height: from_h as usize,
        };
        match scale {
            Scale::Half => half_plane(&source, to, to_stride, to_w as usize, to_h as usize),
            Scale::TwoThirds => {
                two_thirds_plane(&source, to, to_stride, to_w as usize, to_h as usize);
            }
        }
    }
    Ok(())
}

struct Plane<'a> {
    data: &'a [u8],
    stride: usize,
    width: usize,
    height: usize,
}

impl Plane<'_> {
    /// Row `row`, clamped to the last row; empty only if the plane is malformed.
    fn row(&self, row: usize) -> &[u8] {
        let row = row.min(self.height.saturating_sub(1));
        let start = row * self.stride;
        self.data.get(start..start + self.width).unwrap_or(&[])
    }
}

fn half_plane(src: &Plane<'_>, dst: &mut [u8], dst_stride: usize, dst_w: usize, dst_h: usize) {
    for (out_row, out) in dst.chunks_mut(dst_stride).take(dst_h).enumerate() {
        let (a, b) = (src.row(2 * out_row), src.row(2 * out_row + 1));
        if a.len() != src.width || b.len() != src.width {
            return;
        }
        let len = dst_w.min(out.len());
        let out = &mut out[..len];
        let pairs = src.width / 2;
        for ((o, pa), pb) in out.iter_mut().zip(a.chunks_exact(2)).zip(b.chunks_exact(2)) {
            let sum = u16::from(pa[0]) + u16::from(pa[1]) + u16::from(pb[0]) + u16::from(pb[1]);
            *o = ((sum + 2) >> 2) as u8;
        }
        if src.width % 2 == 1
            && let Some(o) = out.get_mut(pairs)
        {
            let last = src.width - 1;
            *o = ((u16::from(a[last]) + u16::from(b[last]) + 1) >> 1) as u8;
        }
    }
}

fn two_thirds_plane(
    src: &Plane<'_>,
    dst: &mut [u8],
    dst_stride: usize,
    dst_w: usize,
    dst_h: usize,
) {
    // Vertical pass into two rows of 3x-weighted sums, then horizontal pass (9x total).
    let mut top = vec![0u16; src.width];
    let mut bottom = vec![0u16; src.width];
    let mut rows = dst.chunks_mut(dst_stride).take(dst_h);
    let mut group = 0;
    loop {
        let (s0, s1, s2) = (
            src.row(3 * group),
            src.row(3 * group + 1),
            src.row(3 * group + 2),
        );
        if s0.len() != src.width || s1.len() != src.width || s2.len() != src.width {
            return;
        }
        for (((t, b), (&p0, &p1)), &p2) in top
            .iter_mut()
            .zip(bottom.iter_mut())
            .zip(s0.iter().zip(s1))
            .zip(s2)
        {
            let (p0, p1, p2) = (u16::from(p0), u16::from(p1), u16::from(p2));
            *t = 2 * p0 + p1;
            *b = p1 + 2 * p2;
        }
        for sums in [&top, &bottom] {
            let Some(out) = rows.next() else { return };
            let len = dst_w.min(out.len());
            let out = &mut out[..len];
            two_thirds_row(sums, out);
        }
        group += 1;
    }
}

fn two_thirds_row(sums: &[u16], out: &mut [u8]) {
    let groups = sums.len() / 3;
    for (o, s) in out.chunks_exact_mut(2).zip(sums.chunks_exact(3)) {
        o[0] = ((2 * s[0] + s[1] + 4) / 9) as u8;
        o[1] = ((s[1] + 2 * s[2] + 4) / 9) as u8;
    }
    // Tail of one or two samples: clamp the missing neighbours to the last sample.
    let rest = &sums[groups * 3..];
    let tail = out.get_mut(groups * 2..).unwrap_or(&mut []);
    match (rest, tail) {
        ([a], [o, ..]) => *o = ((3 * a + 4) / 9) as u8,
        ([a, b], [o0, o1, ..]) => {
            *o0 = ((2 * a + b + 4) / 9) as u8;
            *o1 = ((3 * b + 4) / 9) as u8;
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn luma_image(width: u32, height: u32, f: impl Fn(u32, u32) -> u8) -> I420Image {
        let mut image = I420Image::new(width, height).unwrap();
        let stride = image.y_stride();
        let (y, _, _) = image.planes_mut();
        for row in 0..height {
            for col in 0..width {
                y[row as usize * stride + col as usize] = f(col, row);
            }
        }
        image
    }

    #[test]
    fn output_sizes() {
        assert_eq!(Scale::Half.output_size(1920, 1080), (960, 540));
        assert_eq!(Scale::TwoThirds.output_size(1920, 1080), (1280, 720));
        assert_eq!(Scale::Half.output_size(1, 1), (1, 1));
        assert_eq!(Scale::TwoThirds.output_size(7, 5), (5, 4));
    }

    #[test]
    fn flat_stays_flat_for_all_sizes() {
        for (w, h) in [(1, 1), (2, 2), (3, 3), (5, 7), (8, 4), (1919, 1081)] {
            let src = luma_image(w, h, |_, _| 77);
            for scale in [Scale::Half, Scale::TwoThirds] {
                let mut dst = I420Image::empty();
                downscale(&src, scale, &mut dst).unwrap();
                assert_eq!((dst.width(), dst.height()), scale.output_size(w, h));
                assert!(dst.y().iter().all(|&v| v == 77), "{w}x{h} {scale:?}");
                assert!(dst.u().iter().chain(dst.v()).all(|&v| v == 128));
            }
        }
    }

    #[test]
    fn half_averages_2x2_blocks() {
        let src = luma_image(4, 2, |x, y| (x * 10 + y * 100) as u8);
        let mut dst = I420Image::empty();
        downscale(&src, Scale::Half, &mut dst).unwrap();
        // (0 + 10 + 100 + 110) / 4 = 55; (20 + 30 + 120 + 130) / 4 = 75.
        assert_eq!(dst.y_row(0), &[55, 75]);
    }

    #[test]
    fn two_thirds_weights_areas() {
        // Columns 0, 90, 180: outputs (2*0 + 90) / 3 = 30 and (90 + 2*180) / 3 = 150.
        let src = luma_image(3, 3, |x, _| (x * 90) as u8);
        let mut dst = I420Image::empty();
        downscale(&src, Scale::TwoThirds, &mut dst).unwrap();
        assert_eq!(dst.y_row(0), &[30, 150]);
        assert_eq!(dst.y_row(1), &[30, 150]);
    }

    #[test]
    fn thin_strokes_are_never_dropped() {
        // A one-pixel dark vertical line on white, at every phase: each scaled image
        // keeps a clearly darker column (nearest-neighbour would lose some phases).
        for scale in [Scale::Half, Scale::TwoThirds] {
            for line in 0..6 {
                let src = luma_image(24, 12, |x, _| if x == line + 6 { 0 } else { 255 });
                let mut dst = I420Image::empty();
                downscale(&src, scale, &mut dst).unwrap();
                let darkest = dst.y_row(3).iter().copied().min().unwrap();
                assert!(darkest <= 170, "{scale:?} line at {line}: {darkest}");
            }
        }
    }
}
