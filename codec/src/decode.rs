//! H.264 decoding behind the [`Decoder`] trait. Input comes from the network and is
//! untrusted: every failure is an error value, never a panic, and picture sizes are
//! checked against a limit before the decoder allocates anything for them.

use thiserror::Error;

use crate::convert::I420Image;

/// Largest access unit the decoder accepts, in bytes. A 4K IDR at a high bitrate is
/// a few MB; anything beyond this is refused before parsing.
pub const MAX_ACCESS_UNIT_BYTES: usize = 16 * 1024 * 1024;

/// Default largest picture side the decoder accepts, in pixels.
pub const DEFAULT_MAX_DECODE_DIMENSION: u32 = 4096;

/// Why an access unit could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bitstream is corrupt, truncated or references a picture the decoder does
    /// not have (for example a P frame after a loss). Ask the sender for a keyframe.
    #[error("corrupt H.264 bitstream: {0}")]
    Corrupt(String),
    /// The stream announces a picture larger than the configured limit.
    #[error("stream announces a {width}x{height} picture, above the {max} pixel limit")]
    TooLarge {
        /// Announced width.
        width: u32,
        /// Announced height.
        height: u32,
        /// Configured largest side.
        max: u32,
    },
    /// The access unit is larger than [`MAX_ACCESS_UNIT_BYTES`].
    #[error("access unit of {0} bytes exceeds the limit")]
    AccessUnitTooLarge(usize),
    /// The decoder backend failed for a reason unrelated to the input.
    #[error("decoder backend failed: {0}")]
    Backend(String),
}

impl DecodeError {
    /// Whether the input was at fault (as opposed to the local decoder): the viewer
    /// answers these by asking the agent for a keyframe.
    #[must_use]
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, Self::Backend(_))
    }
}

/// A video decoder: Annex-B H.264 access units in, I420 pictures out.
pub trait Decoder {
    /// Decodes one access unit (all NAL units of one picture, SPS/PPS included for
    /// an IDR). Returns the picture if one is complete, `None` if the data held none
    /// (parameter sets alone, for instance).
    ///
    /// The picture has the coded size (even, at least 16x16); crop it to the
    /// sender's size with [`I420Image::crop`] when that differs.
    ///
    /// After an error the decoder drops its references, so predicted frames fail
    /// until the next IDR.
    ///
    /// # Errors
    /// [`DecodeError`] for corrupt, truncated or oversized input.
    fn decode(&mut self, annex_b: &[u8]) -> Result<Option<&I420Image>, DecodeError>;
}
