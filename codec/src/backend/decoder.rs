//! [`Decoder`] implemented with openh264 compiled from source.

use openh264::OpenH264API;
use openh264::decoder::{DecodedYUV, DecoderConfig};
use openh264::formats::YUVSource;

use crate::backend::assembly;
use crate::convert::{I420Image, I420View};
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

    /// Decodes one access unit like [`Decoder::decode`], and hands the picture to
    /// `use_picture` straight from openh264's buffers, without copying it first (the
    /// viewer converts it to RGBA from there). Returns what `use_picture` returned, or
    /// `None` when the data held no picture.
    ///
    /// # Errors
    /// As [`Decoder::decode`].
    pub fn decode_with<R>(
        &mut self,
        annex_b: &[u8],
        use_picture: impl FnOnce(I420View<'_>) -> R,
    ) -> Result<Option<R>, DecodeError> {
        decode_on(&mut self.inner, self.max_dimension, annex_b, use_picture)
    }
}

/// Checks the input and decodes it on `inner`, retrying an access unit with parameter
/// sets on a fresh decoder. After an error `inner` is a fresh decoder: the next IDR
/// decodes, P frames fail.
fn decode_on<R>(
    inner: &mut openh264::decoder::Decoder,
    max_dimension: u32,
    annex_b: &[u8],
    use_picture: impl FnOnce(I420View<'_>) -> R,
) -> Result<Option<R>, DecodeError> {
    let result = check_input(annex_b, max_dimension).and_then(|has_sps| {
        // Damage before a keyframe can leave openh264 unable to take the keyframe; a
        // keyframe needs no history, so it gets a second try on a fresh decoder.
        let tries = if has_sps { 2 } else { 1 };
        let mut error = None;
        for _ in 0..tries {
            if error.is_some() {
                *inner = new_inner()?;
            }
            match inner.decode(annex_b) {
                Ok(Some(picture)) => {
                    return view_of(&picture, max_dimension).map(|view| Some(use_picture(view)));
                }
                Ok(None) => return Ok(None),
                Err(failure) => error = Some(DecodeError::Corrupt(failure.to_string())),
            }
        }
        Err(error.unwrap_or_else(|| DecodeError::Backend("no decoding attempt".into())))
    });
    if result.is_err() {
        *inner = new_inner()?;
    }
    result
}

/// Checks the input; returns whether it carries a sequence parameter set (which our
/// encoders send with every IDR).
fn check_input(annex_b: &[u8], max_dimension: u32) -> Result<bool, DecodeError> {
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
            if info.width > max_dimension || info.height > max_dimension {
                return Err(DecodeError::TooLarge {
                    width: info.width,
                    height: info.height,
                    max: max_dimension,
                });
            }
        }
    }
    Ok(has_sps)
}

/// A decoded picture in openh264's buffers as a view, its size and planes checked.
fn view_of<'a>(picture: &'a DecodedYUV<'_>, max: u32) -> Result<I420View<'a>, DecodeError> {
    let (width, height) = picture.dimensions();
    let (width, height) = (
        u32::try_from(width).unwrap_or(u32::MAX),
        u32::try_from(height).unwrap_or(u32::MAX),
    );
    if width > max || height > max {
        return Err(DecodeError::TooLarge { width, height, max });
    }
    let (y_stride, u_stride, v_stride) = picture.strides();
    if u_stride != v_stride {
        return Err(DecodeError::Backend(format!(
            "decoded chroma planes with different strides ({u_stride}, {v_stride})"
        )));
    }
    I420View::new(
        width,
        height,
        (picture.y(), picture.u(), picture.v()),
        y_stride,
        u_stride,
    )
    .map_err(|e| DecodeError::Corrupt(format!("decoded picture: {e}")))
}

impl Decoder for OpenH264Decoder {
    fn decode(&mut self, annex_b: &[u8]) -> Result<Option<&I420Image>, DecodeError> {
        let output = &mut self.output;
        let copied = decode_on(&mut self.inner, self.max_dimension, annex_b, |view| {
            output.copy_from(&view)
        })?;
        match copied {
            Some(Ok(())) => Ok(Some(&self.output)),
            Some(Err(e)) => Err(DecodeError::Backend(format!(
                "cannot keep the picture: {e}"
            ))),
            None => Ok(None),
        }
    }
}
