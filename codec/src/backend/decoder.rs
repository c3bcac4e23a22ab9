//! [`Decoder`] implemented with openh264 compiled from source.

use openh264::OpenH264API;
use openh264::decoder::{DecodedYUV, DecoderConfig};
use openh264::formats::YUVSource;

use crate::backend::assembly;
use crate::convert::I420Image;
use crate::decode::{DEFAULT_MAX_DECODE_DIMENSION, DecodeError, Decoder, MAX_ACCESS_UNIT_BYTES};
use crate::frame::MAX_DIMENSION;
use crate::sps::{NAL_SPS, NAL_SUBSET_SPS, nal_units, parse_sps};

/// openh264 decoder with input checks: access-unit size, picture size announced by
/// every SPS, and a fresh decoder after any error.
pub struct OpenH264Decoder {
    inner: openh264::decoder::Decoder,
    output: I420Image,
    max_dimension: u32,
}

impl std::fmt::Debug for OpenH264Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenH264Decoder")
            .field("output_size", &(self.output.width(), self.output.height()))
            .field("max_dimension", &self.max_dimension)
            .finish_non_exhaustive()
    }
}

fn new_inner() -> Result<openh264::decoder::Decoder, DecodeError> {
    openh264::decoder::Decoder::with_api_config(OpenH264API::from_source(), DecoderConfig::new())
        .map_err(|e| DecodeError::Backend(e.to_string()))
}

impl OpenH264Decoder {
    /// A decoder accepting pictures up to [`DEFAULT_MAX_DECODE_DIMENSION`] per side.
    ///
    /// # Errors
    /// [`DecodeError::Backend`] if openh264 cannot create a decoder.
    pub fn new() -> Result<Self, DecodeError> {
        Self::with_max_dimension(DEFAULT_MAX_DECODE_DIMENSION)
    }

    /// A decoder accepting pictures up to `max_dimension` pixels per side (capped at
    /// [`MAX_DIMENSION`]).
    ///
    /// # Errors
    /// [`DecodeError::Backend`] if openh264 cannot create a decoder.
    pub fn with_max_dimension(max_dimension: u32) -> Result<Self, DecodeError> {
        assembly::require_openh264_assembly();
        Ok(Self {
            inner: new_inner()?,
            output: I420Image::empty(),
            max_dimension: max_dimension.min(MAX_DIMENSION),
        })
    }

    /// Checks the input; returns whether it carries a sequence parameter set (which
    /// our encoders send with every IDR).
    fn check_input(&self, annex_b: &[u8]) -> Result<bool, DecodeError> {
        if annex_b.len() > MAX_ACCESS_UNIT_BYTES {
            return Err(DecodeError::AccessUnitTooLarge(annex_b.len()));
        }
        let mut has_sps = false;
        for unit in nal_units(annex_b) {
            let Some(&header) = unit.first() else {
                continue;
            };
            if header & 0x80 != 0 {
                return Err(DecodeError::Corrupt("forbidden_zero_bit set".into()));
            }
            let kind = header & 0x1f;
            if kind == NAL_SPS || kind == NAL_SUBSET_SPS {
                has_sps = true;
                let info = parse_sps(unit).map_err(|e| DecodeError::Corrupt(e.to_string()))?;
                if info.width > self.max_dimension || info.height > self.max_dimension {
                    return Err(DecodeError::TooLarge {
                        width: info.width,
                        height: info.height,
                        max: self.max_dimension,
                    });
                }
            }
        }
        Ok(has_sps)
    }

    fn decode_checked(&mut self, annex_b: &[u8]) -> Result<bool, DecodeError> {
        let has_sps = self.check_input(annex_b)?;
        match self.decode_into_output(annex_b) {
            Err(DecodeError::Corrupt(_)) if has_sps => {
                // Damage before a keyframe can leave openh264 unable to take the
                // keyframe; a keyframe needs no history, so retry on a fresh decoder.
                self.inner = new_inner()?;
                self.decode_into_output(annex_b)
            }
            other => other,
        }
    }

    fn decode_into_output(&mut self, annex_b: &[u8]) -> Result<bool, DecodeError> {
        match self.inner.decode(annex_b) {
            Ok(Some(picture)) => {
                copy_picture(&picture, &mut self.output, self.max_dimension)?;
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(error) => Err(DecodeError::Corrupt(error.to_string())),
        }
    }
}

/// Copies a decoded picture out of openh264's buffers, checking every length.
fn copy_picture(
    picture: &DecodedYUV<'_>,
    output: &mut I420Image,
    max: u32,
) -> Result<(), DecodeError> {
    let (width, height) = picture.dimensions();
    let (width, height) = (
        u32::try_from(width).unwrap_or(u32::MAX),
        u32::try_from(height).unwrap_or(u32::MAX),
    );
    if width > max || height > max {
        return Err(DecodeError::TooLarge { width, height, max });
    }
    output
        .resize(width, height)
        .map_err(|e| DecodeError::Corrupt(e.to_string()))?;
    let (y_stride, u_stride, v_stride) = picture.strides();
    let (chroma_width, chroma_height) = output.chroma_size();
    let (out_y_stride, out_uv_stride) = (output.y_stride(), output.uv_stride());
    let (out_y, out_u, out_v) = output.planes_mut();
    let planes = [
        (picture.y(), y_stride, out_y, out_y_stride, width, height),
        (
            picture.u(),
            u_stride,
            out_u,
            out_uv_stride,
            chroma_width,
            chroma_height,
        ),
        (
            picture.v(),
            v_stride,
            out_v,
            out_uv_stride,
            chroma_width,
            chroma_height,
        ),
    ];
    for (from, from_stride, to, to_stride, plane_width, plane_height) in planes {
        let plane_width = plane_width as usize;
        for row in 0..plane_height as usize {
            let source = from
                .get(row * from_stride..row * from_stride + plane_width)
                .ok_or_else(|| {
                    DecodeError::Corrupt("decoded plane shorter than its size".into())
                })?;
            let target = to
                .get_mut(row * to_stride..row * to_stride + plane_width)
                .ok_or_else(|| DecodeError::Backend("output plane too small".into()))?;
            target.copy_from_slice(source);
        }
    }
    Ok(())
}

impl Decoder for OpenH264Decoder {
    fn decode(&mut self, annex_b: &[u8]) -> Result<Option<&I420Image>, DecodeError> {
        match self.decode_checked(annex_b) {
            Ok(true) => Ok(Some(&self.output)),
            Ok(false) => Ok(None),
            Err(error) => {
                // Start from a clean state: the next IDR decodes, P frames fail.
                self.inner = new_inner()?;
                Err(error)
            }
        }
    }
}
