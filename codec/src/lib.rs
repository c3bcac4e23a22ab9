//! Lifeline's video path, pure compute: BGRA frames, change detection, colour
//! conversion, downscaling and H.264 encode/decode behind `Encoder`/`Decoder` traits.
//!
//! It does not capture screens, open sockets or run async code: the agent and the
//! viewer own all I/O and call into this crate once per frame.
//!
//! One frame through the agent:
//! [`BgraFrame`] (borrowed capture buffer) -> [`ChangeDetector::detect`] (nothing
//! changed: stop here) -> [`ContentClassifier::observe`] (screen or camera tuning) ->
//! [`bgra_to_i420`] -> optionally [`downscale`] -> [`Encoder::encode`] ->
//! [`EncodedFrame`] (Annex-B). In the viewer: [`OpenH264Decoder::decode_with`] (the
//! picture as an [`I420View`] of the decoder's own buffers) -> [`i420_to_rgba`].
//!
//! What it also does not do: decide bitrate or frame rate (the agent does, from the
//! viewer's reports, and calls [`Encoder::set_bitrate`]), skip frames (the caller
//! does), or parse more of H.264 than the picture size needed to bound memory.
//! [`psnr`] and [`ssim_luma`] are for tests and benchmarks.
//!
//! The H.264 backend is openh264 built from source with its x86 assembly; building
//! for x86 without `nasm` is a build error (see `build.rs`) and a build where the
//! assembly went missing anyway does not link. The source is a copy with a patch of
//! ours that makes screen-content encoding faster without changing its output
//! (`codec/vendor/README.md`).

mod adaptive;
mod backend;
mod change;
mod convert;
mod decode;
mod encode;
mod frame;
mod quality;
mod scale;
pub mod sps;
mod upscale;

pub use adaptive::{CAMERA_BUDGET_EXIT, ClassifierConfig, ContentClassifier};
pub use backend::decoder::OpenH264Decoder;
pub use backend::encoder::OpenH264Encoder;
pub use change::{ChangeDetector, Changes, DEFAULT_TILE_SIZE};
pub use convert::{
    ConvertError, I420Image, I420View, bgra_to_i420, i420_to_bgra, i420_to_owned_bgra, i420_to_rgba,
};
pub use decode::{DEFAULT_MAX_DECODE_DIMENSION, DecodeError, Decoder, MAX_ACCESS_UNIT_BYTES};
pub use encode::{
    ContentMode, EncodeError, EncodeOptions, EncodedFrame, Encoder, EncoderSettings, FrameType,
};
pub use frame::{BYTES_PER_PIXEL, BgraFrame, FrameError, MAX_DIMENSION, OwnedBgraFrame, Rect};
pub use quality::{QualityError, psnr, psnr_luma, ssim_luma};
pub use scale::{Scale, downscale};
pub use upscale::upscale;
