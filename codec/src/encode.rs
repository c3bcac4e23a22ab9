//! H.264 encoding behind the [`Encoder`] trait, with openh264 as the built-in backend.
//!
//! The trait is what the agent calls. A platform encoder (Media Foundation,
//! VideoToolbox, VA-API) or Cisco's runtime-loaded openh264 binary can implement it
//! without any caller changing; see the crate README for why that matters.

use thiserror::Error;

use crate::convert::I420Image;
use crate::frame::check_dimensions;

/// How the encoder should treat the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ContentMode {
    /// Desktops, text, UI: sharp edges, large static areas (openh264's
    /// screen-content real-time usage).
    #[default]
    Screen,
    /// Full-motion content such as video playback (openh264's camera real-time usage):
    /// cheaper per frame and smoother under motion, softer on text.
    Camera,
}

/// Type of an encoded access unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameType {
    /// Instantaneous decoder refresh: decodable on its own, starts with SPS/PPS.
    Idr,
    /// Intra frame that is not an IDR.
    I,
    /// Predicted frame: needs the frames before it.
    P,
    /// The encoder produced no picture; `annex_b` is empty and nothing is to be sent.
    Skip,
}

impl FrameType {
    /// Whether a decoder can start from this frame.
    #[must_use]
    pub fn is_keyframe(self) -> bool {
        self == Self::Idr
    }
}

/// One encoded picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedFrame {
    /// H.264 NAL units with Annex-B start codes (SPS and PPS precede an IDR).
    pub annex_b: Vec<u8>,
    /// What kind of picture this is.
    pub frame_type: FrameType,
    /// Width of the source picture. The coded picture is rounded up to even
    /// dimensions, and to at least 16x16; the receiver crops to this size
    /// ([`I420Image::crop`]).
    pub width: u32,
    /// Height of the source picture (see `width`).
    pub height: u32,
}

/// Per-frame requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EncodeOptions {
    /// Make this frame an IDR (the viewer lost a frame or just joined).
    pub force_keyframe: bool,
}

/// Encoder settings that can change at run time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EncoderSettings {
    /// Target bitrate in bits per second.
    pub bitrate_bps: u32,
    /// Expected frame rate in frames per second (rate control budgets per frame).
    pub frame_rate_hz: f32,
    /// Screen or camera tuning.
    pub content_mode: ContentMode,
    /// Encoder threads. openh264 parallelises across slices and its backend here
    /// codes one slice per picture, so 2 threads measured no faster than 1 at
    /// 1080p; 1 leaves the other core to capture and conversion.
    pub threads: u16,
}

impl Default for EncoderSettings {
    fn default() -> Self {
        Self {
            bitrate_bps: 4_000_000,
            frame_rate_hz: 30.0,
            content_mode: ContentMode::Screen,
            threads: 1,
        }
    }
}

/// Why encoding or reconfiguring failed. All variants are local: bad input from the
/// caller or an encoder backend failure, never network data.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The picture is empty or larger than the encoder supports.
    #[error("cannot encode a {width}x{height} picture: {reason}")]
    UnsupportedSize {
        /// Picture width.
        width: u32,
        /// Picture height.
        height: u32,
        /// Which limit was hit.
        reason: &'static str,
    },
    /// A setting is outside what the encoder accepts.
    #[error("invalid encoder setting: {0}")]
    InvalidSetting(String),
    /// The encoder backend reported an error.
    #[error("encoder backend failed: {0}")]
    Backend(String),
}

/// A video encoder: I420 pictures in, Annex-B H.264 access units out.
///
/// The encoder never drops a frame by itself: every call yields a picture unless the
/// backend reports [`FrameType::Skip`], which implementations avoid where the backend
/// allows it. Skipping frames on a slow link is the caller's decision.
pub trait Encoder {
    /// Encodes one picture. A picture of a new size re-creates the encoder and
    /// yields an IDR.
    ///
    /// # Errors
    /// [`EncodeError`] on unsupported sizes or backend failures.
    fn encode(
        &mut self,
        image: &I420Image,
        options: EncodeOptions,
    ) -> Result<EncodedFrame, EncodeError>;

    /// Changes the target bitrate, effective from the next frame, keeping the stream.
    ///
    /// # Errors
    /// [`EncodeError::InvalidSetting`] for zero, or a backend error.
    fn set_bitrate(&mut self, bitrate_bps: u32) -> Result<(), EncodeError>;

    /// Changes the expected frame rate, effective from the next frame, keeping the stream.
    ///
    /// # Errors
    /// [`EncodeError::InvalidSetting`] for non-positive or non-finite rates, or a backend error.
    fn set_frame_rate(&mut self, frame_rate_hz: f32) -> Result<(), EncodeError>;

    /// Switches between screen and camera tuning. Takes effect at the next frame,
    /// which is an IDR if the mode actually changed.
    ///
    /// # Errors
    /// A backend error.
    fn set_content_mode(&mut self, mode: ContentMode) -> Result<(), EncodeError>;

    /// The settings in force.
    fn settings(&self) -> EncoderSettings;
}

/// Checks a picture size against the encoder's limits (openh264: 3840x2160 either way).
pub(crate) fn check_encodable(width: u32, height: u32) -> Result<(), EncodeError> {
    check_dimensions(width, height).map_err(|_| EncodeError::UnsupportedSize {
        width,
        height,
        reason: "empty or above the crate's maximum",
    })?;
    if width.max(height) > 3840 || width.min(height) > 2160 {
        return Err(EncodeError::UnsupportedSize {
            width,
            height,
            reason: "H.264 level 5.2 allows at most 3840x2160 or 2160x3840",
        });
    }
    Ok(())
}

/// Checks and converts a bitrate.
pub(crate) fn check_bitrate(bitrate_bps: u32) -> Result<(), EncodeError> {
    if bitrate_bps == 0 || i32::try_from(bitrate_bps).is_err() {
        return Err(EncodeError::InvalidSetting(format!(
            "bitrate {bitrate_bps} bit/s"
        )));
    }
    Ok(())
}

/// Checks a frame rate.
pub(crate) fn check_frame_rate(frame_rate_hz: f32) -> Result<(), EncodeError> {
    if !(frame_rate_hz.is_finite() && frame_rate_hz > 0.0 && frame_rate_hz <= 120.0) {
        return Err(EncodeError::InvalidSetting(format!(
            "frame rate {frame_rate_hz} Hz (must be in (0, 120])"
        )));
    }
    Ok(())
}
