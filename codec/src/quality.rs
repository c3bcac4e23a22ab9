//! Quality metrics for tests and benchmarks: PSNR on BGRA frames and on the Y plane,
//! and SSIM on the Y plane.

use thiserror::Error;

use crate::convert::{I420Image, plane_row};
use crate::frame::BgraFrame;

/// Why two pictures cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum QualityError {
    /// The pictures differ in size.
    #[error("cannot compare {0}x{1} with {2}x{3}")]
    SizeMismatch(u32, u32, u32, u32),
    /// A picture has no pixels.
    #[error("cannot compare empty pictures")]
    Empty,
}

fn check_sizes(a: (u32, u32), b: (u32, u32)) -> Result<(), QualityError> {
    if a != b {
        return Err(QualityError::SizeMismatch(a.0, a.1, b.0, b.1));
    }
    if a.0 == 0 || a.1 == 0 {
        return Err(QualityError::Empty);
    }
    Ok(())
}

fn psnr_from_squared_error(sum: u64, samples: u64) -> f64 {
    if sum == 0 {
        return f64::INFINITY;
    }
    let mse = sum as f64 / samples as f64;
    10.0 * (255.0 * 255.0 / mse).log10()
}

/// PSNR in dB over the B, G and R channels of two frames (alpha ignored);
/// `f64::INFINITY` when they are identical.
///
/// # Errors
/// [`QualityError`] if the sizes differ.
pub fn psnr(a: &BgraFrame<'_>, b: &BgraFrame<'_>) -> Result<f64, QualityError> {
    check_sizes((a.width(), a.height()), (b.width(), b.height()))?;
    let mut sum = 0u64;
    for y in 0..a.height() {
        let row_sum: u64 = a
            .row(y)
            .chunks_exact(4)
            .zip(b.row(y).chunks_exact(4))
            .map(|(p, q)| {
                (0..3)
                    .map(|c| {
                        let d = u64::from(p[c].abs_diff(q[c]));
                        d * d
                    })
                    .sum::<u64>()
            })
            .sum();
        sum += row_sum;
    }
    Ok(psnr_from_squared_error(
        sum,
        3 * u64::from(a.width()) * u64::from(a.height()),
    ))
}

/// PSNR in dB of the Y (luma) planes of two I420 images.
///
/// # Errors
/// [`QualityError`] if the sizes differ.
pub fn psnr_luma(a: &I420Image, b: &I420Image) -> Result<f64, QualityError> {
    check_sizes((a.width(), a.height()), (b.width(), b.height()))?;
    let mut sum = 0u64;
    for row in 0..a.height() {
        sum += a
            .y_row(row)
            .iter()
            .zip(b.y_row(row))
            .map(|(&p, &q)| {
                let d = u64::from(p.abs_diff(q));
                d * d
            })
            .sum::<u64>();
    }
    Ok(psnr_from_squared_error(
        sum,
        u64::from(a.width()) * u64::from(a.height()),
    ))
}

/// Mean SSIM (0..=1, 1 = identical) of the Y planes, over non-overlapping 8x8 windows
/// with the usual constants (K1 = 0.01, K2 = 0.03, L = 255). Pictures smaller than
/// 8x8 are compared as a single window.
///
/// # Errors
/// [`QualityError`] if the sizes differ.
pub fn ssim_luma(a: &I420Image, b: &I420Image) -> Result<f64, QualityError> {
    check_sizes((a.width(), a.height()), (b.width(), b.height()))?;
    const WINDOW: u32 = 8;
    let window_w = WINDOW.min(a.width());
    let window_h = WINDOW.min(a.height());
    let (mut total, mut windows) = (0.0, 0u64);
    let mut top = 0;
    while top + window_h <= a.height() {
        let mut left = 0;
        while left + window_w <= a.width() {
            total += window_ssim(a, b, left, top, window_w, window_h);
            windows += 1;
            left += window_w;
        }
        top += window_h;
    }
    Ok(total / windows as f64)
}

fn window_ssim(a: &I420Image, b: &I420Image, left: u32, top: u32, w: u32, h: u32) -> f64 {
    const C1: f64 = (0.01 * 255.0) * (0.01 * 255.0);
    const C2: f64 = (0.03 * 255.0) * (0.03 * 255.0);
    let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for row in top..top + h {
        let ra = plane_row(a.y(), a.y_stride(), a.width(), row);
        let rb = plane_row(b.y(), b.y_stride(), b.width(), row);
        let range = left as usize..(left + w) as usize;
        for (&p, &q) in ra[range.clone()].iter().zip(&rb[range]) {
            let (p, q) = (f64::from(p), f64::from(q));
            sa += p;
            sb += q;
            saa += p * p;
            sbb += q * q;
            sab += p * q;
        }
    }
    let n = f64::from(w * h);
    let (ma, mb) = (sa / n, sb / n);
    let va = saa / n - ma * ma;
    let vb = sbb / n - mb * mb;
    let cov = sab / n - ma * mb;
    ((2.0 * ma * mb + C1) * (2.0 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::OwnedBgraFrame;

    #[test]
    fn psnr_of_known_error() {
        let a = OwnedBgraFrame::from_vec(vec![100; 16], 2, 2).unwrap();
        let mut b = a.clone();
        assert_eq!(psnr(&a.as_frame(), &b.as_frame()).unwrap(), f64::INFINITY);
        // Alpha differences do not count.
        b.data_mut()[3] = 0;
        assert_eq!(psnr(&a.as_frame(), &b.as_frame()).unwrap(), f64::INFINITY);
        // Every colour sample off by 10: MSE 100 -> 28.13 dB.
        for (i, byte) in b.data_mut().iter_mut().enumerate() {
            if i % 4 != 3 {
                *byte = 110;
            }
        }
        let value = psnr(&a.as_frame(), &b.as_frame()).unwrap();
        assert!((value - 28.1308).abs() < 1e-3, "{value}");
        let c = OwnedBgraFrame::new(3, 2).unwrap();
        assert!(psnr(&a.as_frame(), &c.as_frame()).is_err());
    }

    #[test]
    fn luma_metrics_rank_damage() {
        let mut a = I420Image::new(32, 32).unwrap();
        for (i, y) in a.planes_mut().0.iter_mut().enumerate() {
            *y = (i % 32 * 8) as u8;
        }
        let mut slightly = a.clone();
        slightly.planes_mut().0[5] ^= 4;
        let mut badly = a.clone();
        for y in badly.planes_mut().0.iter_mut().step_by(3) {
            *y = 255 - *y;
        }
        assert_eq!(psnr_luma(&a, &a).unwrap(), f64::INFINITY);
        assert!((ssim_luma(&a, &a).unwrap() - 1.0).abs() < 1e-9);
        assert!(psnr_luma(&a, &slightly).unwrap() > psnr_luma(&a, &badly).unwrap());
        assert!(ssim_luma(&a, &slightly).unwrap() > 0.95);
        assert!(ssim_luma(&a, &badly).unwrap() < 0.5);
    }
}
