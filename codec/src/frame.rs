//! BGRA frames as they come out of screen capture: borrowed with a stride, or owned.

use thiserror::Error;

/// Largest width or height, in pixels, that any part of this crate accepts.
///
/// Checked before anything is allocated, so a bogus size from a capture backend or
/// from the network cannot make the crate allocate gigabytes.
pub const MAX_DIMENSION: u32 = 8192;

/// Bytes per BGRA pixel.
pub const BYTES_PER_PIXEL: usize = 4;

/// Why a buffer cannot be viewed as a frame.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Width or height is zero.
    #[error("frame size {width}x{height} is empty")]
    Empty {
        /// Requested width in pixels.
        width: u32,
        /// Requested height in pixels.
        height: u32,
    },
    /// Width or height is above [`MAX_DIMENSION`].
    #[error("frame size {width}x{height} exceeds the maximum of {MAX_DIMENSION} pixels per side")]
    TooLarge {
        /// Requested width in pixels.
        width: u32,
        /// Requested height in pixels.
        height: u32,
    },
    /// The stride is shorter than one row of pixels.
    #[error("stride of {stride} bytes is shorter than a row of {row_bytes} bytes")]
    StrideTooSmall {
        /// Given stride in bytes.
        stride: usize,
        /// Bytes in one row of pixels (`width * 4`).
        row_bytes: usize,
    },
    /// The buffer does not hold `height` rows of `stride` bytes.
    #[error("buffer of {len} bytes is too small, {needed} bytes are needed")]
    BufferTooSmall {
        /// Length of the given buffer.
        len: usize,
        /// Bytes the frame needs.
        needed: usize,
    },
}

/// Checks a frame size against zero and [`MAX_DIMENSION`].
pub(crate) fn check_dimensions(width: u32, height: u32) -> Result<(), FrameError> {
    if width == 0 || height == 0 {
        return Err(FrameError::Empty { width, height });
    }
    if width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(FrameError::TooLarge { width, height });
    }
    Ok(())
}

/// A rectangle in pixels, `x`/`y` being its top-left corner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Rect {
    /// Area in pixels.
    #[must_use]
    pub fn area(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// Whether the pixel at (`x`, `y`) lies inside.
    #[must_use]
    pub fn contains(&self, x: u32, y: u32) -> bool {
        x >= self.x
            && y >= self.y
            && u64::from(x) < u64::from(self.x) + u64::from(self.width)
            && u64::from(y) < u64::from(self.y) + u64::from(self.height)
    }
}

/// A borrowed BGRA frame (8 bits per channel, byte order B, G, R, A), rows `stride`
/// bytes apart. Wraps a capture buffer without copying it.
#[derive(Debug, Clone, Copy)]
pub struct BgraFrame<'a> {
    data: &'a [u8],
    width: u32,
    height: u32,
    stride: usize,
}

impl<'a> BgraFrame<'a> {
    /// Views `data` as a `width` x `height` frame whose rows start `stride` bytes apart.
    ///
    /// # Errors
    /// [`FrameError`] if the size is empty or above [`MAX_DIMENSION`], the stride is
    /// shorter than `width * 4`, or `data` is too short. The last row only needs
    /// `width * 4` bytes, as capture APIs often hand out such buffers.
    pub fn new(data: &'a [u8], width: u32, height: u32, stride: usize) -> Result<Self, FrameError> {
        check_dimensions(width, height)?;
        let row_bytes = width as usize * BYTES_PER_PIXEL;
        if stride < row_bytes {
            return Err(FrameError::StrideTooSmall { stride, row_bytes });
        }
        let needed = stride * (height as usize - 1) + row_bytes;
        if data.len() < needed {
            return Err(FrameError::BufferTooSmall {
                len: data.len(),
                needed,
            });
        }
        Ok(Self {
            data,
            width,
            height,
            stride,
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

    /// Distance between the starts of two rows, in bytes.
    #[must_use]
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The underlying buffer, including any padding after each row.
    #[must_use]
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Row `y` without its padding (`width * 4` bytes); empty if `y` is out of range.
    #[must_use]
    pub fn row(&self, y: u32) -> &'a [u8] {
        if y >= self.height {
            return &[];
        }
        let start = y as usize * self.stride;
        self.data
            .get(start..start + self.width as usize * BYTES_PER_PIXEL)
            .unwrap_or(&[])
    }

    /// The B, G, R, A bytes of the pixel at (`x`, `y`), or `None` outside the frame.
    #[must_use]
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        if x >= self.width {
            return None;
        }
        let at = x as usize * BYTES_PER_PIXEL;
        let px = self.row(y).get(at..at + BYTES_PER_PIXEL)?;
        Some([px[0], px[1], px[2], px[3]])
    }

    /// Copies the frame into an owned, tightly packed frame.
    #[must_use]
    pub fn to_owned_frame(&self) -> OwnedBgraFrame {
        let mut owned = OwnedBgraFrame::blank(self.width, self.height);
        for y in 0..self.height {
            owned.row_mut(y).copy_from_slice(self.row(y));
        }
        owned
    }
}

/// An owned, tightly packed BGRA frame (stride = `width * 4`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedBgraFrame {
    data: Vec<u8>,
    width: u32,
    height: u32,
}

impl OwnedBgraFrame {
    /// A frame of the given size, all bytes zero.
    ///
    /// # Errors
    /// [`FrameError`] if the size is empty or above [`MAX_DIMENSION`].
    pub fn new(width: u32, height: u32) -> Result<Self, FrameError> {
        check_dimensions(width, height)?;
        Ok(Self::blank(width, height))
    }

    /// Takes a tightly packed BGRA buffer.
    ///
    /// # Errors
    /// [`FrameError`] if the size is invalid or `data` is not exactly `width * height * 4` bytes.
    pub fn from_vec(data: Vec<u8>, width: u32, height: u32) -> Result<Self, FrameError> {
        check_dimensions(width, height)?;
        let needed = width as usize * height as usize * BYTES_PER_PIXEL;
        if data.len() != needed {
            return Err(FrameError::BufferTooSmall {
                len: data.len(),
                needed,
            });
        }
        Ok(Self {
            data,
            width,
            height,
        })
    }

    /// Sizes already checked by the caller.
    fn blank(width: u32, height: u32) -> Self {
        Self {
            data: vec![0; width as usize * height as usize * BYTES_PER_PIXEL],
            width,
            height,
        }
    }

    /// Borrows the frame as a [`BgraFrame`].
    #[must_use]
    pub fn as_frame(&self) -> BgraFrame<'_> {
        BgraFrame {
            data: &self.data,
            width: self.width,
            height: self.height,
            stride: self.stride(),
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

    /// Row stride in bytes (`width * 4`).
    #[must_use]
    pub fn stride(&self) -> usize {
        self.width as usize * BYTES_PER_PIXEL
    }

    /// The pixel bytes.
    #[must_use]
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The pixel bytes, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// Row `y`, writable; empty if `y` is out of range.
    pub fn row_mut(&mut self, y: u32) -> &mut [u8] {
        if y >= self.height {
            return &mut [];
        }
        let stride = self.stride();
        let start = y as usize * stride;
        &mut self.data[start..start + stride]
    }

    /// Sets the pixel at (`x`, `y`) to the B, G, R, A bytes `bgra`; ignored outside the frame.
    pub fn set_pixel(&mut self, x: u32, y: u32, bgra: [u8; 4]) {
        if x < self.width {
            let at = x as usize * BYTES_PER_PIXEL;
            if let Some(px) = self.row_mut(y).get_mut(at..at + BYTES_PER_PIXEL) {
                px.copy_from_slice(&bgra);
            }
        }
    }

    /// Returns the pixel bytes.
    #[must_use]
    pub fn into_vec(self) -> Vec<u8> {
        self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_frame_respects_stride_and_short_last_row() {
        // 3x2 frame, stride 16 (4 bytes padding), last row without padding.
        let mut data = vec![0u8; 16 + 12];
        data[16..20].copy_from_slice(&[1, 2, 3, 4]);
        let frame = BgraFrame::new(&data, 3, 2, 16).unwrap();
        assert_eq!(frame.pixel(0, 1), Some([1, 2, 3, 4]));
        assert_eq!(frame.row(1).len(), 12);
        assert_eq!(frame.pixel(3, 0), None);
        assert!(frame.row(2).is_empty());
        let owned = frame.to_owned_frame();
        assert_eq!(owned.stride(), 12);
        assert_eq!(owned.as_frame().pixel(0, 1), Some([1, 2, 3, 4]));
    }

    #[test]
    fn invalid_frames_are_refused() {
        let data = vec![0u8; 64];
        assert_eq!(
            BgraFrame::new(&data, 0, 1, 0).unwrap_err(),
            FrameError::Empty {
                width: 0,
                height: 1
            }
        );
        assert!(matches!(
            BgraFrame::new(&data, 4, 1, 8),
            Err(FrameError::StrideTooSmall { .. })
        ));
        assert!(matches!(
            BgraFrame::new(&data, 4, 5, 16),
            Err(FrameError::BufferTooSmall { .. })
        ));
        assert!(matches!(
            OwnedBgraFrame::new(MAX_DIMENSION + 1, 1),
            Err(FrameError::TooLarge { .. })
        ));
        assert!(OwnedBgraFrame::from_vec(vec![0; 15], 2, 2).is_err());
    }

    #[test]
    fn rect_contains_and_area() {
        let r = Rect {
            x: 10,
            y: 20,
            width: 5,
            height: 2,
        };
        assert_eq!(r.area(), 10);
        assert!(r.contains(10, 20) && r.contains(14, 21));
        assert!(!r.contains(15, 20) && !r.contains(10, 22) && !r.contains(9, 20));
    }
}
