//! Colour conversion between BGRA and I420 (planar YUV 4:2:0), with the `yuv` crate's
//! SIMD kernels (AVX2/SSE4.1 picked at run time on x86, NEON on ARM).
//!
//! The colour space is BT.709 with full range (0..=255 for Y, U and V), the same on
//! both sides, and signalled in the H.264 stream's VUI by [`crate::OpenH264Encoder`].
//! Full range keeps every grey level of text anti-aliasing that limited range would fold.

use thiserror::Error;
use yuv::{
    BufferStoreMut, YuvConversionMode, YuvPlanarImage, YuvPlanarImageMut, YuvRange,
    YuvStandardMatrix,
};

use crate::frame::{BYTES_PER_PIXEL, BgraFrame, FrameError, OwnedBgraFrame, check_dimensions};

const RANGE: YuvRange = YuvRange::Full;
const MATRIX: YuvStandardMatrix = YuvStandardMatrix::Bt709;

/// Why a conversion failed. Every variant is a caller mistake (wrong buffer sizes);
/// valid frames always convert.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// The image size is invalid.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The destination buffer is too small or its stride too short.
    #[error("destination of {len} bytes with stride {stride} cannot hold {width}x{height} pixels")]
    Destination {
        /// Destination length in bytes.
        len: usize,
        /// Destination stride in bytes.
        stride: usize,
        /// Image width.
        width: u32,
        /// Image height.
        height: u32,
    },
    /// The conversion kernel refused the buffers.
    #[error("colour conversion failed: {0}")]
    Kernel(String),
}

/// An owned I420 picture: a full-size Y plane and quarter-size U and V planes
/// (`(width + 1) / 2` x `(height + 1) / 2`, so odd sizes work).
///
/// Buffers are kept across frames: converting a frame of the same size into the same
/// image allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct I420Image {
    width: u32,
    height: u32,
    y_stride: usize,
    uv_stride: usize,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
}

impl Default for I420Image {
    fn default() -> Self {
        Self::empty()
    }
}

impl I420Image {
    /// An image with no pixels, to be sized by the first conversion or decode.
    #[must_use]
    pub fn empty() -> Self {
        Self {
            width: 0,
            height: 0,
            y_stride: 0,
            uv_stride: 0,
            y: Vec::new(),
            u: Vec::new(),
            v: Vec::new(),
        }
    }

    /// A black image (Y = 0, U = V = 128) of the given size.
    ///
    /// # Errors
    /// [`FrameError`] if the size is empty or above [`crate::MAX_DIMENSION`].
    pub fn new(width: u32, height: u32) -> Result<Self, FrameError> {
        let mut image = Self::empty();
        image.resize(width, height)?;
        Ok(image)
    }

    /// Makes the image `width` x `height` with tight strides, reusing the allocation.
    /// Pixel contents are unspecified afterwards unless the size grew from empty.
    ///
    /// # Errors
    /// [`FrameError`] if the size is empty or above [`crate::MAX_DIMENSION`].
    pub fn resize(&mut self, width: u32, height: u32) -> Result<(), FrameError> {
        check_dimensions(width, height)?;
        if self.width == width && self.height == height && self.y_stride == width as usize {
            return Ok(());
        }
        let (chroma_width, chroma_height) = chroma_size(width, height);
        self.width = width;
        self.height = height;
        self.y_stride = width as usize;
        self.uv_stride = chroma_width as usize;
        self.y.resize(width as usize * height as usize, 0);
        self.u
            .resize(chroma_width as usize * chroma_height as usize, 128);
        self.v
            .resize(chroma_width as usize * chroma_height as usize, 128);
        Ok(())
    }

    /// Shrinks the visible size to `width` x `height` without moving any pixel (the
    /// strides stay), for example to drop the padding column of an odd-width frame
    /// that went through H.264. Sizes larger than the current one are ignored.
    pub fn crop(&mut self, width: u32, height: u32) {
        if width > 0 && height > 0 && width <= self.width && height <= self.height {
            self.width = width;
            self.height = height;
        }
    }

    /// Width in pixels.
    #[must_use]
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    #[must_use]
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Size of the U and V planes in samples.
    #[must_use]
    pub fn chroma_size(&self) -> (u32, u32) {
        chroma_size(self.width, self.height)
    }

    /// Y plane stride in bytes.
    #[must_use]
    pub fn y_stride(&self) -> usize {
        self.y_stride
    }

    /// U and V plane stride in bytes.
    #[must_use]
    pub fn uv_stride(&self) -> usize {
        self.uv_stride
    }

    /// The Y (luma) plane.
    #[must_use]
    pub fn y(&self) -> &[u8] {
        &self.y
    }

    /// The U (Cb) plane.
    #[must_use]
    pub fn u(&self) -> &[u8] {
        &self.u
    }

    /// The V (Cr) plane.
    #[must_use]
    pub fn v(&self) -> &[u8] {
        &self.v
    }

    /// All three planes, writable, as (Y, U, V).
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        (&mut self.y, &mut self.u, &mut self.v)
    }

    /// Row `row` of the Y plane (`width` bytes), empty if out of range.
    #[must_use]
    pub fn y_row(&self, row: u32) -> &[u8] {
        plane_row(&self.y, self.y_stride, self.width, row)
    }

    /// The picture borrowed as an [`I420View`].
    #[must_use]
    pub fn view(&self) -> I420View<'_> {
        I420View {
            width: self.width,
            height: self.height,
            y: &self.y,
            u: &self.u,
            v: &self.v,
            y_stride: self.y_stride,
            uv_stride: self.uv_stride,
        }
    }

    /// Makes this image a copy of `view` (same size, tight strides).
    ///
    /// # Errors
    /// [`FrameError`] if the view's size is invalid.
    pub fn copy_from(&mut self, view: &I420View<'_>) -> Result<(), FrameError> {
        self.resize(view.width, view.height)?;
        let (chroma_width, chroma_height) = chroma_size(view.width, view.height);
        let planes = [
            (
                view.y,
                view.y_stride,
                &mut self.y,
                self.y_stride,
                view.width,
                view.height,
            ),
            (
                view.u,
                view.uv_stride,
                &mut self.u,
                self.uv_stride,
                chroma_width,
                chroma_height,
            ),
            (
                view.v,
                view.uv_stride,
                &mut self.v,
                self.uv_stride,
                chroma_width,
                chroma_height,
            ),
        ];
        for (from, from_stride, to, to_stride, width, height) in planes {
            let width = width as usize;
            for row in 0..height as usize {
                // Lengths were checked when the view was made.
                to[row * to_stride..][..width].copy_from_slice(&from[row * from_stride..][..width]);
            }
        }
        Ok(())
    }
}

/// A borrowed I420 picture: three planes and their strides, checked to hold the
/// picture. [`I420Image::view`] gives one of an owned image; a decoder gives one of its
/// own buffers ([`crate::OpenH264Decoder::decode_with`]), so nothing is copied before
/// conversion.
#[derive(Clone, Copy, Debug)]
pub struct I420View<'a> {
    width: u32,
    height: u32,
    y: &'a [u8],
    u: &'a [u8],
    v: &'a [u8],
    y_stride: usize,
    uv_stride: usize,
}

impl<'a> I420View<'a> {
    /// A view of planes laid out with the given strides.
    ///
    /// # Errors
    /// [`FrameError`] if the size is invalid, a stride is shorter than its row, or a
    /// plane is too short for its rows.
    pub fn new(
        width: u32,
        height: u32,
        (y, u, v): (&'a [u8], &'a [u8], &'a [u8]),
        y_stride: usize,
        uv_stride: usize,
    ) -> Result<Self, FrameError> {
        check_dimensions(width, height)?;
        let (chroma_width, chroma_height) = chroma_size(width, height);
        check_plane(y, y_stride, width, height)?;
        check_plane(u, uv_stride, chroma_width, chroma_height)?;
        check_plane(v, uv_stride, chroma_width, chroma_height)?;
        Ok(Self {
            width,
            height,
            y,
            u,
            v,
            y_stride,
            uv_stride,
        })
    }

    /// Width in pixels.
    #[must_use]
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    #[must_use]
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The same picture shown smaller: its top-left `width` x `height` (sizes larger
    /// than the current one are ignored), as [`I420Image::crop`].
    #[must_use]
    pub fn crop(self, width: u32, height: u32) -> Self {
        if width > 0 && height > 0 && width <= self.width && height <= self.height {
            Self {
                width,
                height,
                ..self
            }
        } else {
            self
        }
    }

    fn as_yuv(&self) -> YuvPlanarImage<'a, u8> {
        YuvPlanarImage {
            y_plane: self.y,
            y_stride: self.y_stride as u32,
            u_plane: self.u,
            u_stride: self.uv_stride as u32,
            v_plane: self.v,
            v_stride: self.uv_stride as u32,
            width: self.width,
            height: self.height,
        }
    }
}

/// Checks that `plane` holds `height` rows of `width` samples, `stride` bytes apart
/// (the last row needs no padding).
fn check_plane(plane: &[u8], stride: usize, width: u32, height: u32) -> Result<(), FrameError> {
    let (width, height) = (width as usize, height as usize);
    if stride < width {
        return Err(FrameError::StrideTooSmall {
            stride,
            row_bytes: width,
        });
    }
    let needed = stride * (height - 1) + width;
    if plane.len() < needed {
        return Err(FrameError::BufferTooSmall {
            len: plane.len(),
            needed,
        });
    }
    Ok(())
}

impl<'a> From<&'a I420Image> for I420View<'a> {
    fn from(image: &'a I420Image) -> Self {
        image.view()
    }
}

/// Row `row` of a plane of `width` samples per row, empty if out of range.
pub(crate) fn plane_row(plane: &[u8], stride: usize, width: u32, row: u32) -> &[u8] {
    let start = row as usize * stride;
    plane.get(start..start + width as usize).unwrap_or(&[])
}

/// Size of the chroma planes of a 4:2:0 picture.
pub(crate) fn chroma_size(width: u32, height: u32) -> (u32, u32) {
    (width.div_ceil(2), height.div_ceil(2))
}

/// Converts a BGRA frame to I420, resizing `dst` to the frame's size. Alpha is ignored.
///
/// # Errors
/// [`ConvertError::Kernel`] only if the kernel rejects buffers this function sized
/// itself, which would be a bug.
pub fn bgra_to_i420(src: &BgraFrame<'_>, dst: &mut I420Image) -> Result<(), ConvertError> {
    // The kernels work on pairs of rows and skip a last pair that is shorter than two
    // full strides, which a buffer whose last row has no padding is. Such buffers
    // (rare: most capture APIs pad every row) go through a packed copy.
    if src.data().len() < src.stride() * src.height() as usize {
        let packed = src.to_owned_frame();
        return bgra_to_i420(&packed.as_frame(), dst);
    }
    dst.resize(src.width(), src.height())?;
    let (y_stride, uv_stride) = (dst.y_stride as u32, dst.uv_stride as u32);
    let mut planar = YuvPlanarImageMut {
        y_plane: BufferStoreMut::Borrowed(&mut dst.y),
        y_stride,
        u_plane: BufferStoreMut::Borrowed(&mut dst.u),
        u_stride: uv_stride,
        v_plane: BufferStoreMut::Borrowed(&mut dst.v),
        v_stride: uv_stride,
        width: src.width(),
        height: src.height(),
    };
    yuv::bgra_to_yuv420(
        &mut planar,
        src.data(),
        src.stride() as u32,
        RANGE,
        MATRIX,
        YuvConversionMode::Balanced,
    )
    .map_err(|e| ConvertError::Kernel(e.to_string()))
}

/// Converts I420 to RGBA (alpha 255) into `dst`, whose rows start `dst_stride` bytes
/// apart: the layout `egui::ColorImage::from_rgba_unmultiplied` takes with a tight stride.
/// `dst` must hold `height * dst_stride` bytes.
///
/// # Errors
/// [`ConvertError`] if `src` is empty or `dst` cannot hold `src`'s pixels.
pub fn i420_to_rgba<'a>(
    src: impl Into<I420View<'a>>,
    dst: &mut [u8],
    dst_stride: usize,
) -> Result<(), ConvertError> {
    let src = src.into();
    check_destination(&src, dst, dst_stride)?;
    yuv::yuv420_to_rgba(&src.as_yuv(), dst, dst_stride as u32, RANGE, MATRIX)
        .map_err(|e| ConvertError::Kernel(e.to_string()))
}

/// Converts I420 to BGRA (alpha 255) into `dst`, for blitting on platforms that want
/// BGRA and for comparing a decoded picture with the captured frame.
/// `dst` must hold `height * dst_stride` bytes.
///
/// # Errors
/// [`ConvertError`] if `src` is empty or `dst` cannot hold `src`'s pixels.
pub fn i420_to_bgra<'a>(
    src: impl Into<I420View<'a>>,
    dst: &mut [u8],
    dst_stride: usize,
) -> Result<(), ConvertError> {
    let src = src.into();
    check_destination(&src, dst, dst_stride)?;
    yuv::yuv420_to_bgra(&src.as_yuv(), dst, dst_stride as u32, RANGE, MATRIX)
        .map_err(|e| ConvertError::Kernel(e.to_string()))
}

/// Converts I420 into a new tightly packed BGRA frame.
///
/// # Errors
/// [`ConvertError`] if `src` is empty.
pub fn i420_to_owned_bgra(src: &I420Image) -> Result<OwnedBgraFrame, ConvertError> {
    let mut frame = OwnedBgraFrame::new(src.width, src.height)?;
    let stride = frame.stride();
    i420_to_bgra(src, frame.data_mut(), stride)?;
    Ok(frame)
}

fn check_destination(
    src: &I420View<'_>,
    dst: &[u8],
    dst_stride: usize,
) -> Result<(), ConvertError> {
    check_dimensions(src.width, src.height)?;
    let row_bytes = src.width as usize * BYTES_PER_PIXEL;
    // Full strides for every row, the last one included: the kernels work on pairs
    // of rows and would silently skip a short last pair.
    let needed = dst_stride * src.height as usize;
    if dst_stride < row_bytes || dst.len() < needed {
        return Err(ConvertError::Destination {
            len: dst.len(),
            stride: dst_stride,
            width: src.width,
            height: src.height,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::psnr;

    fn gradient(width: u32, height: u32) -> OwnedBgraFrame {
        let mut frame = OwnedBgraFrame::new(width, height).unwrap();
        for y in 0..height {
            for x in 0..width {
                let v = (x * 3).min(200) as u8;
                let w = (y * 3).min(200) as u8;
                frame.set_pixel(x, y, [v, w, v / 2 + w / 2, 255]);
            }
        }
        frame
    }

    #[test]
    fn a_view_checks_its_planes_crops_without_copying_and_copies_back_exactly() {
        let frame = gradient(33, 17);
        let mut image = I420Image::empty();
        bgra_to_i420(&frame.as_frame(), &mut image).unwrap();
        let (y, u, v) = (image.y(), image.u(), image.v());
        let (y_stride, uv_stride) = (image.y_stride(), image.uv_stride());
        // Short planes and strides shorter than a row are refused, not read past.
        assert!(I420View::new(33, 17, (&y[..y.len() - 1], u, v), y_stride, uv_stride).is_err());
        assert!(I420View::new(33, 17, (y, &u[..3], v), y_stride, uv_stride).is_err());
        assert!(I420View::new(33, 17, (y, u, v), 32, uv_stride).is_err());
        assert!(I420View::new(0, 17, (y, u, v), y_stride, uv_stride).is_err());
        let view = I420View::new(33, 17, (y, u, v), y_stride, uv_stride).unwrap();
        let cropped = view.crop(32, 16);
        assert_eq!((cropped.width(), cropped.height()), (32, 16));
        assert_eq!(view.crop(40, 16).width(), 33, "a larger crop is ignored");
        let mut copy = I420Image::empty();
        copy.copy_from(&cropped).unwrap();
        let mut expected = image.clone();
        expected.crop(32, 16);
        let (mut a, mut b) = (vec![0; 32 * 16 * 4], vec![0; 32 * 16 * 4]);
        i420_to_rgba(&copy, &mut a, 32 * 4).unwrap();
        i420_to_rgba(cropped, &mut b, 32 * 4).unwrap();
        assert_eq!(a, b);
        i420_to_rgba(&expected, &mut b, 32 * 4).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn round_trip_keeps_pixels_close_including_odd_sizes() {
        for (width, height) in [(64, 48), (33, 17), (1, 1), (2, 3), (641, 479)] {
            let frame = gradient(width, height);
            let mut image = I420Image::empty();
            bgra_to_i420(&frame.as_frame(), &mut image).unwrap();
            assert_eq!((image.width(), image.height()), (width, height));
            assert_eq!(image.chroma_size(), (width.div_ceil(2), height.div_ceil(2)));
            let back = i420_to_owned_bgra(&image).unwrap();
            let quality = psnr(&frame.as_frame(), &back.as_frame()).unwrap();
            assert!(quality > 35.0, "{width}x{height}: {quality} dB");
        }
    }

    #[test]
    fn grey_levels_survive_exactly_enough() {
        // Full range: black, white and mid grey come back within one level.
        let mut frame = OwnedBgraFrame::new(4, 2).unwrap();
        for (x, level) in [0u8, 255, 128, 37].into_iter().enumerate() {
            frame.set_pixel(x as u32, 0, [level, level, level, 255]);
            frame.set_pixel(x as u32, 1, [level, level, level, 255]);
        }
        let mut image = I420Image::empty();
        bgra_to_i420(&frame.as_frame(), &mut image).unwrap();
        let mut rgba = vec![0; 4 * 2 * 4];
        i420_to_rgba(&image, &mut rgba, 16).unwrap();
        for (x, level) in [0u8, 255, 128, 37].into_iter().enumerate() {
            let px = &rgba[x * 4..x * 4 + 4];
            for channel in &px[..3] {
                assert!(channel.abs_diff(level) <= 1, "{px:?} vs {level}");
            }
            assert_eq!(px[3], 255);
        }
    }

    #[test]
    fn strided_source_and_reuse() {
        let data = vec![200u8; 20 * 3 + 12];
        let frame = BgraFrame::new(&data, 3, 4, 20).unwrap();
        let mut image = I420Image::new(100, 100).unwrap();
        bgra_to_i420(&frame, &mut image).unwrap();
        assert_eq!((image.width(), image.height(), image.y_stride()), (3, 4, 3));
        assert!(
            image.y().iter().all(|&y| y.abs_diff(200) <= 1),
            "{:?}",
            image.y()
        );
    }

    #[test]
    fn small_destination_is_an_error() {
        let image = I420Image::new(8, 8).unwrap();
        let mut dst = vec![0; 8 * 8 * 4 - 1];
        assert!(matches!(
            i420_to_rgba(&image, &mut dst, 32),
            Err(ConvertError::Destination { .. })
        ));
        assert!(i420_to_rgba(&image, &mut vec![0; 8 * 8 * 4], 16).is_err());
        assert!(i420_to_rgba(&I420Image::empty(), &mut dst, 32).is_err());
    }

    #[test]
    fn crop_keeps_strides() {
        let mut image = I420Image::new(10, 6).unwrap();
        image.crop(9, 5);
        assert_eq!(
            (image.width(), image.height(), image.y_stride()),
            (9, 5, 10)
        );
        image.crop(20, 20);
        assert_eq!(image.width(), 9);
    }
}
