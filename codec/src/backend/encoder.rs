//! [`Encoder`] implemented with openh264 compiled from source.
#![allow(
    unsafe_code,
    reason = "openh264's run-time SetOption calls (bitrate, frame rate) only exist on its raw FFI API"
)]

use std::os::raw::c_void;

use openh264::OpenH264API;
use openh264::Timestamp;
use openh264::encoder::{
    BitRate, Complexity, EncoderConfig, FrameRate, IntraFramePeriod, RateControlMode, UsageType,
    VuiConfig,
};
use openh264::formats::YUVSource;
use openh264_sys2::{
    ENCODER_OPTION, ENCODER_OPTION_BITRATE, ENCODER_OPTION_FRAME_RATE, ENCODER_OPTION_MAX_BITRATE,
    ENCODER_OPTION_TRACE_LEVEL, SBitrateInfo, SPATIAL_LAYER_0, SPATIAL_LAYER_ALL, WELS_LOG_QUIET,
    cmResultSuccess,
};

use crate::backend::assembly;
use crate::convert::I420Image;
use crate::encode::{
    ContentMode, EncodeError, EncodeOptions, EncodedFrame, Encoder, EncoderSettings, FrameType,
    check_bitrate, check_encodable, check_frame_rate,
};

/// openh264 encoder (Cisco's BSD-licensed H.264 encoder, built from the bundled source
/// with its x86 assembly; see the crate README for the patent licence situation).
///
/// Rate control is bitrate mode with openh264's own frame skipping turned off, no
/// periodic IDR (keyframes come on request), one slice per picture.
pub struct OpenH264Encoder {
    settings: EncoderSettings,
    inner: Option<openh264::encoder::Encoder>,
    /// Coded size of `inner` (even).
    coded_size: (u32, u32),
    /// Even-sized copy of odd-sized input.
    padded: I420Image,
    frame_index: u64,
}

impl std::fmt::Debug for OpenH264Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenH264Encoder")
            .field("settings", &self.settings)
            .field("coded_size", &self.coded_size)
            .field("frame_index", &self.frame_index)
            .finish_non_exhaustive()
    }
}

impl OpenH264Encoder {
    /// An encoder with the given settings. The openh264 instance is created at the
    /// first frame, when the picture size is known.
    ///
    /// # Errors
    /// [`EncodeError::InvalidSetting`] for a zero bitrate or a frame rate outside (0, 120].
    pub fn new(settings: EncoderSettings) -> Result<Self, EncodeError> {
        check_bitrate(settings.bitrate_bps)?;
        check_frame_rate(settings.frame_rate_hz)?;
        assembly::require_openh264_assembly();
        Ok(Self {
            settings,
            inner: None,
            coded_size: (0, 0),
            padded: I420Image::empty(),
            frame_index: 0,
        })
    }

    fn create(&self) -> Result<openh264::encoder::Encoder, EncodeError> {
        let camera = self.settings.content_mode == ContentMode::Camera;
        let usage = match self.settings.content_mode {
            ContentMode::Screen => UsageType::ScreenContentRealTime,
            ContentMode::Camera => UsageType::CameraVideoRealTime,
        };
        let config = EncoderConfig::new()
            .usage_type(usage)
            .bitrate(BitRate::from_bps(self.settings.bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(self.settings.frame_rate_hz))
            .rate_control_mode(RateControlMode::Bitrate)
            .skip_frames(false)
            .intra_frame_period(IntraFramePeriod::from_num_frames(0))
            .complexity(Complexity::Medium)
            // openh264 supports neither for screen content (and warns); camera mode
            // keeps its defaults.
            .adaptive_quantization(camera)
            .background_detection(camera)
            .num_threads(self.settings.threads)
            .vui(VuiConfig::bt709().full_range(true));
        let mut encoder =
            openh264::encoder::Encoder::with_api_config(OpenH264API::from_source(), config)
                .map_err(|e| EncodeError::Backend(e.to_string()))?;
        // openh264 writes warnings to stderr from its initialisation (at the first
        // frame) unless told otherwise; a library must not.
        let mut quiet = WELS_LOG_QUIET;
        // SAFETY: the trace level is the one option openh264 accepts before its
        // initialisation; it reads an i32 during the call only.
        let status = unsafe {
            encoder.raw_api().set_option(
                ENCODER_OPTION_TRACE_LEVEL,
                std::ptr::from_mut(&mut quiet).cast::<c_void>(),
            )
        };
        if status != cmResultSuccess {
            return Err(EncodeError::Backend(format!(
                "SetOption(trace level) returned {status}"
            )));
        }
        Ok(encoder)
    }

    fn set_option<T>(&mut self, option: ENCODER_OPTION, value: &mut T) -> Result<(), EncodeError> {
        let Some(inner) = self.inner.as_mut() else {
            return Ok(());
        };
        // SAFETY: `inner` is a live, initialised encoder (it has encoded a frame, which
        // is when `inner` gets set). `value` points to the type openh264 reads for
        // `option` (SBitrateInfo for the bitrate options, f32 for the frame rate), and
        // openh264 only reads it during the call. No parameter the Rust wrapper relies on
        // (size, usage type) is changed.
        let status = unsafe {
            inner
                .raw_api()
                .set_option(option, std::ptr::from_mut(value).cast::<c_void>())
        };
        if status == cmResultSuccess {
            Ok(())
        } else {
            Err(EncodeError::Backend(format!(
                "SetOption({option}) returned {status}"
            )))
        }
    }

    fn set_bitrate_option(
        &mut self,
        option: ENCODER_OPTION,
        layer: i32,
        bitrate_bps: u32,
    ) -> Result<(), EncodeError> {
        let mut info = SBitrateInfo {
            iLayer: layer,
            iBitrate: i32::try_from(bitrate_bps)
                .map_err(|_| EncodeError::InvalidSetting(format!("bitrate {bitrate_bps}")))?,
        };
        self.set_option(option, &mut info)
    }

    /// Returns the picture to encode: `image` itself if it has its coded size, else
    /// a copy padded by repeating the last column and row.
    fn even_picture<'a>(&'a mut self, image: &'a I420Image) -> &'a I420Image {
        let (width, height) = (image.width(), image.height());
        if coded_size(width, height) == (width, height) {
            return image;
        }
        pad_to_even(image, &mut self.padded);
        &self.padded
    }
}

/// Smallest picture side openh264 encodes.
const MIN_CODED_SIDE: u32 = 16;

/// Size actually encoded for a `width` x `height` picture: even (4:2:0 cannot crop
/// odd sizes) and at least [`MIN_CODED_SIDE`].
fn coded_size(width: u32, height: u32) -> (u32, u32) {
    (
        width.next_multiple_of(2).max(MIN_CODED_SIDE),
        height.next_multiple_of(2).max(MIN_CODED_SIDE),
    )
}

/// Copies `src` into `dst` at its coded size, repeating the last column and row.
fn pad_to_even(src: &I420Image, dst: &mut I420Image) {
    let (width, height) = coded_size(src.width(), src.height());
    if dst.resize(width, height).is_err() {
        return;
    }
    let (src_cw, src_ch) = src.chroma_size();
    let planes = [
        (
            src.y(),
            src.y_stride(),
            src.width(),
            src.height(),
            dst.y_stride(),
            width,
            height,
        ),
        (
            src.u(),
            src.uv_stride(),
            src_cw,
            src_ch,
            dst.uv_stride(),
            width / 2,
            height / 2,
        ),
        (
            src.v(),
            src.uv_stride(),
            src_cw,
            src_ch,
            dst.uv_stride(),
            width / 2,
            height / 2,
        ),
    ];
    let (dy, du, dv) = dst.planes_mut();
    for ((from, from_stride, from_w, from_h, to_stride, to_w, to_h), to) in
        planes.into_iter().zip([dy, du, dv])
    {
        for row in 0..to_h as usize {
            let src_row = row.min(from_h as usize - 1);
            let from_row = &from[src_row * from_stride..src_row * from_stride + from_w as usize];
            let to_row = &mut to[row * to_stride..row * to_stride + to_w as usize];
            to_row[..from_w as usize].copy_from_slice(from_row);
            let last = from_row[from_w as usize - 1];
            to_row[from_w as usize..].fill(last);
        }
    }
}

/// Feeds an [`I420Image`] to openh264 without copying.
struct Source<'a>(&'a I420Image);

impl YUVSource for Source<'_> {
    fn dimensions(&self) -> (usize, usize) {
        (self.0.width() as usize, self.0.height() as usize)
    }

    fn strides(&self) -> (usize, usize, usize) {
        (self.0.y_stride(), self.0.uv_stride(), self.0.uv_stride())
    }

    fn y(&self) -> &[u8] {
        self.0.y()
    }

    fn u(&self) -> &[u8] {
        self.0.u()
    }

    fn v(&self) -> &[u8] {
        self.0.v()
    }
}

impl Encoder for OpenH264Encoder {
    fn encode(
        &mut self,
        image: &I420Image,
        options: EncodeOptions,
    ) -> Result<EncodedFrame, EncodeError> {
        let (width, height) = (image.width(), image.height());
        check_encodable(width, height)?;
        let coded = coded_size(width, height);
        if self.inner.is_none() || self.coded_size != coded {
            self.inner = Some(self.create()?);
            self.coded_size = coded;
        }
        let timestamp_ms =
            (self.frame_index as f64 * 1000.0 / f64::from(self.settings.frame_rate_hz)) as u64;
        self.frame_index += 1;

        // Borrow juggling: the padded copy lives in `self`, the encoder too.
        let mut inner = self.inner.take();
        let result = (|| {
            let encoder = inner
                .as_mut()
                .ok_or_else(|| EncodeError::Backend("encoder missing".into()))?;
            if options.force_keyframe {
                encoder.force_intra_frame();
            }
            let picture = self.even_picture(image);
            let stream = encoder
                .encode_at(&Source(picture), Timestamp::from_millis(timestamp_ms))
                .map_err(|e| EncodeError::Backend(e.to_string()))?;
            let frame_type = match stream.frame_type() {
                openh264::encoder::FrameType::IDR => FrameType::Idr,
                openh264::encoder::FrameType::I => FrameType::I,
                openh264::encoder::FrameType::P | openh264::encoder::FrameType::IPMixed => {
                    FrameType::P
                }
                openh264::encoder::FrameType::Skip => FrameType::Skip,
                openh264::encoder::FrameType::Invalid => {
                    return Err(EncodeError::Backend(
                        "encoder returned an invalid frame".into(),
                    ));
                }
            };
            let annex_b = if frame_type == FrameType::Skip {
                Vec::new()
            } else {
                stream.to_vec()
            };
            Ok(EncodedFrame {
                annex_b,
                frame_type,
                width,
                height,
            })
        })();
        self.inner = inner;
        result
    }

    fn set_bitrate(&mut self, bitrate_bps: u32) -> Result<(), EncodeError> {
        check_bitrate(bitrate_bps)?;
        let previous = self.settings.bitrate_bps;
        // openh264 refuses a target above the layer's maximum, so raise the maximum
        // first when going up and lower it last when going down.
        if bitrate_bps >= previous {
            self.set_bitrate_option(ENCODER_OPTION_MAX_BITRATE, SPATIAL_LAYER_0, bitrate_bps)?;
            self.set_bitrate_option(ENCODER_OPTION_BITRATE, SPATIAL_LAYER_ALL, bitrate_bps)?;
        } else {
            self.set_bitrate_option(ENCODER_OPTION_BITRATE, SPATIAL_LAYER_ALL, bitrate_bps)?;
            self.set_bitrate_option(ENCODER_OPTION_MAX_BITRATE, SPATIAL_LAYER_0, bitrate_bps)?;
        }
        self.settings.bitrate_bps = bitrate_bps;
        Ok(())
    }

    fn set_frame_rate(&mut self, frame_rate_hz: f32) -> Result<(), EncodeError> {
        check_frame_rate(frame_rate_hz)?;
        let mut value = frame_rate_hz;
        self.set_option(ENCODER_OPTION_FRAME_RATE, &mut value)?;
        self.settings.frame_rate_hz = frame_rate_hz;
        Ok(())
    }

    fn set_content_mode(&mut self, mode: ContentMode) -> Result<(), EncodeError> {
        if mode != self.settings.content_mode {
            self.settings.content_mode = mode;
            // The usage type is fixed at initialisation: start a new stream (IDR).
            self.inner = None;
        }
        Ok(())
    }

    fn settings(&self) -> EncoderSettings {
        self.settings
    }
}
