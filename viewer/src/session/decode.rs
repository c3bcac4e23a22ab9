//! Decoding on its own thread: H.264 -> I420 -> RGBA into the window's frame slot.
//!
//! Frames travel on separate QUIC streams and may complete out of order (on a slow,
//! lossy link, by several frames). The decoder takes them in sequence: a frame ahead of
//! its turn waits (at most `MAX_WAITING`, 16); a gap that does not fill, or a frame that
//! does not decode, makes it ask for a keyframe. Frames that arrive while it waits for
//! that keyframe wait too, since those sent after it are needed once it comes. Every
//! frame ends up reported, shown or dropped, because the agent paces itself on those
//! reports: a frame dropped without a word would leave it waiting for ever. The agent
//! is untrusted: the codec crate bounds sizes and never panics on bad input.
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

use lifeline_codec::{I420Image, I420View, OpenH264Decoder, i420_to_rgba};
use lifeline_protocol::Timestamp;
use lifeline_protocol::VideoFrameHeader;
use tokio::sync::mpsc;

use crate::link::{FrameSink, VideoFrame};
use crate::recording::RecorderHandle;

/// Where the decode thread finds the recorder, once recording starts.
pub type RecorderSlot = Arc<Mutex<Option<RecorderHandle>>>;

/// Frames ahead of their turn that may wait for a missing one or a keyframe (the agent
/// has at most 8 unreported frames out, and as many again after a keyframe request).
const MAX_WAITING: usize = 16;

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
    /// A frame was dropped (stale, no picture, or lost with the picture it built on).
    Dropped {
        /// Its sequence number.
        sequence: u64,
    },
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
        let sequence = header.sequence;
        let mut reports = Vec::new();
        // The first picture must be a keyframe: on a slow link a small frame after it
        // may overtake it (each frame has its own stream) and cannot be decoded alone.
        let behind = self.next.is_some_and(|next| sequence < next);
        let in_turn = self.next == Some(sequence) && !self.need_keyframe;
        if header.keyframe && (!behind || self.need_keyframe) {
            // A keyframe resets the picture: anything older is useless now.
            let older: Vec<u64> = self.waiting.range(..sequence).map(|(s, _)| *s).collect();
            for old in older {
                self.waiting.remove(&old);
                reports.push(DecodeReport::Dropped { sequence: old });
            }
            reports.push(self.decode(&header, &payload, sink));
            self.decode_waiting(&mut reports, sink);
        } else if in_turn {
            reports.push(self.decode(&header, &payload, sink));
            self.decode_waiting(&mut reports, sink);
        } else if behind {
            // Its turn has passed (a newer keyframe came first).
            reports.push(DecodeReport::Dropped { sequence });
        } else {
            // Ahead of its turn, or sent after the keyframe asked for: it waits.
            self.waiting.insert(sequence, (header, payload));
            if self.waiting.len() > MAX_WAITING {
                if self.need_keyframe {
                    // A keyframe is on its way: the oldest are the likeliest to be
                    // from before it.
                    if let Some((oldest, _)) = self.waiting.pop_first() {
                        reports.push(DecodeReport::Dropped { sequence: oldest });
                    }
                } else {
                    // The missing frame is not coming: start again from a keyframe.
                    reports.extend(
                        std::mem::take(&mut self.waiting)
                            .into_keys()
                            .map(|sequence| DecodeReport::Dropped { sequence }),
                    );
                    self.need_keyframe = true;
                    reports.push(DecodeReport::NeedKeyframe);
                }
            }
        }
        reports
    }

    /// Decodes the frames that waited for their turn, while the next one is there.
    fn decode_waiting(&mut self, reports: &mut Vec<DecodeReport>, sink: &FrameSink) {
        while !self.need_keyframe
            && let Some(next) = self.next
            && let Some((header, payload)) = self.waiting.remove(&next)
        {
            reports.push(self.decode(&header, &payload, sink));
        }
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
            Ok(None) => DecodeReport::Dropped {
                sequence: header.sequence,
            },
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
    // The picture is converted straight from the decoder's buffers.
    decoder
        .decode_with(payload, |image| {
            show(image, header, rgba, screen).map_err(|err| err.to_string())
        })
        .map_err(|err| err.to_string())?
        .transpose()
}

/// Converts a decoded picture to RGBA for showing: cropped to its visible size, and
/// scaled back up to `screen` when the agent sent it scaled down.
fn show(
    image: I420View<'_>,
    header: &VideoFrameHeader,
    rgba: &mut Vec<u8>,
    screen: Option<(u32, u32)>,
) -> anyhow::Result<(u32, u32)> {
    let (width, height) = visible_size(image.width(), image.height(), header);
    let visible = image.crop(width, height);
    let scaled;
    let (shown, width, height) = match screen {
        Some((screen_width, screen_height))
            if (screen_width, screen_height) != (width, height)
                && (width..=width.saturating_mul(2) + 2).contains(&screen_width)
                && (height..=height.saturating_mul(2) + 2).contains(&screen_height) =>
        {
            let mut small = I420Image::empty();
            small.copy_from(&visible)?;
            let mut up = I420Image::empty();
            lifeline_codec::upscale(&small, screen_width, screen_height, &mut up)?;
            scaled = up;
            (scaled.view(), screen_width, screen_height)
        }
        _ => (visible, width, height),
    };
    let len = usize::try_from(u64::from(width) * u64::from(height) * 4)?;
    rgba.resize(len, 0);
    i420_to_rgba(shown, rgba, width as usize * 4)?;
    Ok((width, height))
}

/// The picture's visible size: the header's, when the decoded (coded) picture is a
/// little larger, as with odd sizes.
fn visible_size(coded_width: u32, coded_height: u32, header: &VideoFrameHeader) -> (u32, u32) {
    let width = if header.width > 0 && header.width <= coded_width {
        header.width
    } else {
        coded_width
    };
    let height = if header.height > 0 && header.height <= coded_height {
        header.height
    } else {
        coded_height
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

    /// Frames 1..=count of one stream, keyframes at the given sequence numbers.
    fn stream(count: u64, keyframes: &[u64]) -> Vec<(VideoFrameHeader, Vec<u8>)> {
        let mut encoder = OpenH264Encoder::new(EncoderSettings::default()).expect("an encoder");
        let mut image = I420Image::new(64, 48).expect("an image");
        (1..=count)
            .map(|sequence| {
                // A small change per frame: P frames, as a screen of text makes.
                image.planes_mut().0[sequence as usize * 3] = 255;
                let frame = encoder
                    .encode(
                        &image,
                        EncodeOptions {
                            force_keyframe: keyframes.contains(&sequence),
                        },
                    )
                    .expect("encoded");
                assert!(!frame.annex_b.is_empty(), "frame {sequence} was skipped");
                let keyframe = keyframes.contains(&sequence);
                assert_eq!(frame.frame_type.is_keyframe(), keyframe, "frame {sequence}");
                (header(sequence, keyframe, &frame.annex_b), frame.annex_b)
            })
            .collect()
    }

    /// The sequence numbers of the frames shown.
    fn shown(reports: &[DecodeReport]) -> Vec<u64> {
        reports
            .iter()
            .filter_map(|report| match report {
                DecodeReport::Shown { sequence, .. } => Some(*sequence),
                _ => None,
            })
            .collect()
    }

    fn sequencer() -> Sequencer {
        Sequencer {
            decoder: OpenH264Decoder::new().expect("a decoder"),
            next: None,
            waiting: BTreeMap::new(),
            need_keyframe: false,
            recorder: RecorderSlot::default(),
        }
    }

    #[test]
    fn frames_sent_after_a_requested_keyframe_wait_for_it_and_every_frame_is_reported() {
        let frames = stream(22, &[1, 20]);
        let (session, _window) = crate::link::link();
        let sink = session.frame_sink();
        let mut sequencer = sequencer();
        let mut reports = Vec::new();
        let mut feed = |sequence: u64, sequencer: &mut Sequencer| {
            let (header, payload) = frames[sequence as usize - 1].clone();
            let out = sequencer.accept(header, payload, &sink);
            reports.extend(out.iter().copied());
            out
        };
        feed(1, &mut sequencer);
        // Frame 2 is slow; 3..=19 come first: more than may wait, so the decoder gives
        // up on frame 2 and asks for a keyframe.
        let mut asked = false;
        for sequence in 3..=19 {
            asked |= feed(sequence, &mut sequencer).contains(&DecodeReport::NeedKeyframe);
        }
        assert!(asked, "no keyframe was asked for: {reports:?}");
        // The agent's keyframe (20) is large: the small frames after it come first.
        feed(21, &mut sequencer);
        feed(22, &mut sequencer);
        // Frame 2 finally arrives, after everything it was needed for.
        feed(2, &mut sequencer);
        feed(20, &mut sequencer);

        let shown = shown(&reports);
        assert_eq!(shown, vec![1, 20, 21, 22], "{reports:?}");
        // The agent paces itself on reports: each frame is reported exactly once.
        let mut reported: Vec<u64> = reports
            .iter()
            .filter_map(|report| match report {
                DecodeReport::Shown { sequence, .. } | DecodeReport::Dropped { sequence } => {
                    Some(*sequence)
                }
                DecodeReport::NeedKeyframe => None,
            })
            .collect();
        reported.sort_unstable();
        assert_eq!(reported, (1..=22).collect::<Vec<_>>(), "{reports:?}");
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
        let shown = shown(&reports);
        assert_eq!(shown, vec![1, 2], "{reports:?}");
    }
}
