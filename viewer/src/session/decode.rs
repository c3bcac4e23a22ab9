//! Decoding on its own thread: H.264 -> I420 -> RGBA into the window's frame slot.
//!
//! Frames travel on separate QUIC streams and may complete out of order. The decoder
//! takes them in sequence: a frame ahead of its turn waits (at most a few); a gap that
//! does not fill, or a frame that does not decode, makes it ask for a keyframe and
//! drop everything until one arrives. The agent is untrusted: the codec crate bounds
//! sizes and never panics on bad input.
//!
//! When the session is recorded, every frame that decodes is also handed to the
//! recorder, in decoding order: playing the recording decodes the same pictures.
//!
//! Encoded frames come as [`Payload`]s, which carry their share of the session's video
//! memory budget until they are decoded or dropped (see `connection`).

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lifeline_codec::{Decoder, I420Image, OpenH264Decoder, i420_to_rgba};
use lifeline_protocol::Timestamp;
use lifeline_protocol::VideoFrameHeader;
use tokio::sync::mpsc;

use crate::link::{FrameSink, VideoFrame};
use crate::recording::RecorderHandle;

/// Where the decode thread finds the recorder, once recording starts.
pub type RecorderSlot = Arc<Mutex<Option<RecorderHandle>>>;

/// Frames ahead of their turn that may wait for a missing one.
const MAX_WAITING: usize = 3;

/// What the decoder tells the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeReport {
    /// A frame was decoded and handed to the window.
    Shown {
        /// Its sequence number.
        sequence: u64,
        /// When the agent captured it.
        capture_time: Timestamp,
        /// How long decoding and conversion took.
        decode_time: Duration,
        /// Size of its encoded payload.
        bytes: usize,
    },
    /// A frame was dropped (stale, or while waiting for a keyframe).
    Dropped,
    /// The picture is broken until a keyframe arrives: ask for one.
    NeedKeyframe,
}

/// An encoded frame's bytes, holding their share of the session's video memory
/// budget: the share is given back when the frame is decoded or dropped.
#[derive(Debug)]
pub struct Payload {
    bytes: Vec<u8>,
    _budget: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Payload {
    /// Bytes that hold `budget` until they are dropped.
    pub fn budgeted(bytes: Vec<u8>, budget: Option<tokio::sync::OwnedSemaphorePermit>) -> Self {
        Self {
            bytes,
            _budget: budget,
        }
    }
}

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Self {
        Self::budgeted(bytes, None)
    }
}

impl std::ops::Deref for Payload {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

/// The decoding thread.
#[derive(Debug)]
pub struct DecodeWorker {
    frames: Option<SyncSender<(VideoFrameHeader, Payload)>>,
    thread: Option<JoinHandle<()>>,
}

impl DecodeWorker {
    /// Starts the thread; decoded frames go to `sink`, reports to `reports`, and their
    /// encoded form to the recorder in `recorder` when there is one.
    pub fn spawn(
        sink: FrameSink,
        reports: mpsc::UnboundedSender<DecodeReport>,
        recorder: RecorderSlot,
    ) -> std::io::Result<Self> {
        let (frames, receiver) = std::sync::mpsc::sync_channel(8);
        let thread = std::thread::Builder::new()
            .name("lifeline-decode".to_owned())
            .spawn(move || decode_loop(&receiver, &sink, &reports, recorder))?;
        Ok(Self {
            frames: Some(frames),
            thread: Some(thread),
        })
    }

    /// Queues a received frame. When the decoder is hopelessly behind the frame is
    /// dropped and false returned (the caller asks for a keyframe).
    pub fn push(&self, header: VideoFrameHeader, payload: impl Into<Payload>) -> bool {
        match self
            .frames
            .as_ref()
            .map(|frames| frames.try_send((header, payload.into())))
        {
            Some(Ok(())) => true,
            Some(Err(TrySendError::Full(_) | TrySendError::Disconnected(_))) | None => false,
        }
    }
}

impl Drop for DecodeWorker {
    fn drop(&mut self) {
        self.frames.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Sequencer {
    decoder: OpenH264Decoder,
    next: Option<u64>,
    waiting: BTreeMap<u64, (VideoFrameHeader, Payload)>,
    need_keyframe: bool,
    recorder: RecorderSlot,
}

fn decode_loop(
    receiver: &Receiver<(VideoFrameHeader, Payload)>,
    sink: &FrameSink,
    reports: &mpsc::UnboundedSender<DecodeReport>,
    recorder: RecorderSlot,
) {
    let decoder = match OpenH264Decoder::new() {
        Ok(decoder) => decoder,
        Err(err) => {
            tracing::error!("cannot start the H.264 decoder: {err}");
            return;
        }
    };
    let mut sequencer = Sequencer {
        decoder,
        next: None,
        waiting: BTreeMap::new(),
        need_keyframe: false,
        recorder,
    };
    for (header, payload) in receiver {
        for report in sequencer.accept(header, payload, sink) {
            if reports.send(report).is_err() {
                return;
            }
        }
    }
}

impl Sequencer {
    fn accept(
        &mut self,
        header: VideoFrameHeader,
        payload: impl Into<Payload>,
        sink: &FrameSink,
    ) -> Vec<DecodeReport> {
        let payload = payload.into();
        let mut reports = Vec::new();
        // The first picture must be a keyframe: on a slow link a small frame after it
        // may overtake it (each frame has its own stream) and cannot be decoded alone.
        let in_turn = match self.next {
            None => false,
            Some(next) => header.sequence == next,
        };
        if header.keyframe || (in_turn && !self.need_keyframe) {
            // A keyframe resets the picture: anything older is useless now.
            self.waiting
                .retain(|sequence, _| *sequence > header.sequence);
            reports.push(self.decode(&header, &payload, sink));
            while let Some(next) = self.next
                && let Some((header, payload)) = self.waiting.remove(&next)
            {
                reports.push(self.decode(&header, &payload, sink));
            }
        } else if self.need_keyframe || self.next.is_some_and(|next| header.sequence < next) {
            reports.push(DecodeReport::Dropped);
        } else {
            self.waiting.insert(header.sequence, (header, payload));
            if self.waiting.len() > MAX_WAITING {
                let dropped = self.waiting.len();
                self.waiting.clear();
                self.need_keyframe = true;
                reports.extend(std::iter::repeat_n(DecodeReport::Dropped, dropped));
                reports.push(DecodeReport::NeedKeyframe);
            }
        }
        reports
    }

    fn decode(
        &mut self,
        header: &VideoFrameHeader,
        payload: &[u8],
        sink: &FrameSink,
    ) -> DecodeReport {
        let started = Instant::now();
        self.next = Some(header.sequence + 1);
        let mut rgba = sink.buffer();
        let decoded = decode_scaled_into(
            &mut self.decoder,
            payload,
            header,
            &mut rgba,
            sink.screen_size(),
        );
        if decoded.is_ok() {
            // Cloned out of the lock: recording may wait for a slow disk.
            let recorder = self
                .recorder
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            if let Some(recorder) = recorder {
                recorder.video(header, payload);
            }
        }
        match decoded {
            Ok(Some((width, height))) => {
                self.need_keyframe = false;
                sink.put(VideoFrame {
                    width,
                    height,
                    rgba,
                    sequence: header.sequence,
                });
                DecodeReport::Shown {
                    sequence: header.sequence,
                    capture_time: header.capture_time,
                    decode_time: started.elapsed(),
                    bytes: payload.len(),
                }
            }
            Ok(None) => DecodeReport::Dropped,
            Err(err) => {
                tracing::info!(
                    "frame {} does not decode ({err}); asking for a keyframe",
                    header.sequence
                );
                self.need_keyframe = true;
                DecodeReport::NeedKeyframe
            }
        }
    }
}

/// Decodes one access unit into RGBA, cropped to the header's visible size; `None`
/// when the decoder produced no picture.
pub(crate) fn decode_into(
    decoder: &mut OpenH264Decoder,
    payload: &[u8],
    header: &VideoFrameHeader,
    rgba: &mut Vec<u8>,
) -> Result<Option<(u32, u32)>, String> {
    decode_scaled_into(decoder, payload, header, rgba, None)
}

/// Like [`decode_into`]; a picture smaller than `screen` (the agent scaled it down to
/// save bandwidth, by at most half) is scaled back up to the screen's size, so what
/// is shown, saved and pointed at is always in the remote screen's pixels.
fn decode_scaled_into(
    decoder: &mut OpenH264Decoder,
    payload: &[u8],
    header: &VideoFrameHeader,
    rgba: &mut Vec<u8>,
    screen: Option<(u32, u32)>,
) -> Result<Option<(u32, u32)>, String> {
    let Some(image) = decoder.decode(payload).map_err(|err| err.to_string())? else {
        return Ok(None);
    };
    let (width, height) = visible_size(image, header);
    let cropped;
    let visible = if (width, height) == (image.width(), image.height()) {
        image
    } else {
        let mut copy: I420Image = image.clone();
        copy.crop(width, height);
        cropped = copy;
        &cropped
    };
    let scaled;
    let (shown, width, height) = match screen {
        Some((screen_width, screen_height))
            if (screen_width, screen_height) != (width, height)
                && (width..=width.saturating_mul(2) + 2).contains(&screen_width)
                && (height..=height.saturating_mul(2) + 2).contains(&screen_height) =>
        {
            let mut up = I420Image::empty();
            lifeline_codec::upscale(visible, screen_width, screen_height, &mut up)
                .map_err(|err| err.to_string())?;
            scaled = up;
            (&scaled, screen_width, screen_height)
        }
        _ => (visible, width, height),
    };
    let len =
        usize::try_from(u64::from(width) * u64::from(height) * 4).map_err(|err| err.to_string())?;
    rgba.resize(len, 0);
    i420_to_rgba(shown, rgba, width as usize * 4).map_err(|err| err.to_string())?;
    Ok(Some((width, height)))
}

/// The picture's visible size: the header's, when the decoded (coded) picture is a
/// little larger, as with odd sizes.
fn visible_size(image: &I420Image, header: &VideoFrameHeader) -> (u32, u32) {
    let width = if header.width > 0 && header.width <= image.width() {
        header.width
    } else {
        image.width()
    };
    let height = if header.height > 0 && header.height <= image.height() {
        header.height
    } else {
        image.height()
    };
    (width, height)
}

#[cfg(test)]
mod tests {
    use lifeline_codec::{EncodeOptions, Encoder, EncoderSettings, OpenH264Encoder};
    use lifeline_protocol::message::VideoCodec;

    use super::*;

    fn header(sequence: u64, keyframe: bool, payload: &[u8]) -> VideoFrameHeader {
        VideoFrameHeader {
            sequence,
            capture_time: Timestamp(0),
            keyframe,
            width: 64,
            height: 48,
            codec: VideoCodec::H264,
            payload_len: u32::try_from(payload.len()).unwrap_or(u32::MAX),
        }
    }

    #[test]
    fn a_frame_that_overtakes_the_first_keyframe_waits_for_it() {
        let mut encoder = OpenH264Encoder::new(EncoderSettings::default()).expect("an encoder");
        let mut image = I420Image::new(64, 48).expect("an image");
        let keyframe = encoder
            .encode(
                &image,
                EncodeOptions {
                    force_keyframe: true,
                },
            )
            .expect("encoded");
        image.planes_mut().0.fill(200);
        let next = encoder
            .encode(&image, EncodeOptions::default())
            .expect("encoded");
        let (session, _window) = crate::link::link();
        let sink = session.frame_sink();
        let mut sequencer = Sequencer {
            decoder: OpenH264Decoder::new().expect("a decoder"),
            next: None,
            waiting: BTreeMap::new(),
            need_keyframe: false,
            recorder: RecorderSlot::default(),
        };
        // On a slow link the small second frame arrives first.
        let early = sequencer.accept(header(2, false, &next.annex_b), next.annex_b.clone(), &sink);
        assert!(early.is_empty(), "it waits: {early:?}");
        let reports = sequencer.accept(
            header(1, true, &keyframe.annex_b),
            keyframe.annex_b.clone(),
            &sink,
        );
        let shown: Vec<u64> = reports
            .iter()
            .filter_map(|report| match report {
                DecodeReport::Shown { sequence, .. } => Some(*sequence),
                _ => None,
            })
            .collect();
        assert_eq!(shown, vec![1, 2], "{reports:?}");
    }
}
