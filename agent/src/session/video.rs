//! The video pipeline, on its own thread: capture -> change detection -> content
//! classification -> colour conversion -> H.264 -> one message per frame for the network.
//!
//! Nothing changed: nothing is converted, encoded or sent. Where the platform reports
//! drawing ([`Capturer::wait_for_change`], X11 DAMAGE), the pipeline captures only after
//! a report, at most 30 times a second, so a still screen costs almost nothing;
//! elsewhere it polls (30 Hz while the screen moves, 10 Hz after a second still).
//!
//! The [`RateController`] decides bitrate, frame rate and scale from the viewer's
//! receiver reports and QUIC's path statistics. At most
//! [`RateController::max_in_flight`] frames (about one round trip's worth) may be
//! unacknowledged by receiver reports; beyond that the pipeline waits instead of
//! capturing. After each frame the next capture waits for that frame's time on the
//! link at the target bitrate, so latency never piles up on a slow link. When the
//! bitrate is too low for legible text at full size, pictures are scaled down to 2/3
//! or 1/2 (the viewer scales them back); the viewer hears of every change through
//! [`EncodedVideo::quality`].

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lifeline_codec::{
    ChangeDetector, ClassifierConfig, ContentClassifier, ContentMode, EncodeOptions, Encoder,
    EncoderSettings, I420Image, OpenH264Encoder, Scale, bgra_to_i420, downscale,
};
use lifeline_protocol::message::{
    QualityPreference, ReceiverReport, VideoCodec, VideoFrameHeader, VideoQuality,
};
use tokio::sync::mpsc;

use super::rate::{LinkStats, PictureScale, Plan, RateController};
use super::stages::StageLog;
use crate::platform::{Capturer, Monitor};

/// How long a screen sent scaled down must be still before it is sent once at full
/// size.
const REFINE_AFTER: Duration = Duration::from_secs(1);
/// How often the link's statistics are read.
const LINK_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Longest wait for a change report before looking at the commands again (and the
/// poll interval of a still screen on platforms without reports).
const IDLE_INTERVAL: Duration = Duration::from_millis(100);
/// How long the screen must be still before polling slows down (platforms without
/// change reports).
const IDLE_AFTER: Duration = Duration::from_secs(1);

/// What the encoder is tuned for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum VideoTuning {
    /// Decide per scene with [`ContentClassifier`]: screen content, except for
    /// photographic full-screen motion while the bitrate is generous, coded as camera
    /// video.
    #[default]
    Auto,
    /// Always screen content (sharp text, small frames for scrolling).
    Text,
    /// Always camera video (follows the bitrate on full-screen motion, softer text).
    Motion,
}

/// An encoded frame ready to send.
#[derive(Debug)]
pub struct EncodedVideo {
    /// The header of its stream.
    pub header: VideoFrameHeader,
    /// The H.264 access unit.
    pub payload: Vec<u8>,
    /// What the video carries from this frame on, when that changed: tell the viewer.
    pub quality: Option<VideoQuality>,
}

/// Reads the link's statistics (QUIC's, for a real session).
pub type LinkProbe = Box<dyn Fn() -> LinkStats + Send>;

/// Instructions for the pipeline.
#[derive(Debug)]
pub enum VideoControl {
    /// Start or pause capturing (the view scope was granted or revoked).
    SetActive(bool),
    /// Send a keyframe next.
    Keyframe,
    /// The viewer's report of what arrived, and when it reached the agent (the video
    /// thread may read it only after encoding a frame).
    Report(ReceiverReport, Instant),
    /// The technician's preference on a slow link.
    Preference(QualityPreference),
    /// Capture this monitor from now on (an index of [`Capturer::monitors`]).
    SelectMonitor(u32),
    /// End the thread.
    Shutdown,
}

/// Where the picture comes from, for mapping pointer coordinates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScreenGeometry {
    /// The monitor captured.
    pub monitor: Monitor,
    /// Size of the encoded frames.
    pub frame_width: u32,
    /// Size of the encoded frames.
    pub frame_height: u32,
}

impl ScreenGeometry {
    /// Maps a point in frame pixels to desktop coordinates, clamped to the monitor.
    pub fn to_desktop(&self, x: u32, y: u32) -> (i32, i32) {
        let scale = |value: u32, frame: u32, monitor: u32| -> i32 {
            if frame == 0 || monitor == 0 {
                return 0;
            }
            let mapped = u64::from(value.min(frame - 1)) * u64::from(monitor) / u64::from(frame);
            i32::try_from(mapped.min(u64::from(monitor - 1))).unwrap_or(i32::MAX)
        };
        (
            self.monitor
                .x
                .saturating_add(scale(x, self.frame_width, self.monitor.width)),
            self.monitor
                .y
                .saturating_add(scale(y, self.frame_height, self.monitor.height)),
        )
    }
}

/// A running pipeline thread.
#[derive(Debug)]
pub struct VideoPipeline {
    control: Sender<VideoControl>,
    thread: Option<JoinHandle<()>>,
    /// The geometry of what is being sent.
    pub geometry: Arc<Mutex<Option<ScreenGeometry>>>,
}

impl VideoPipeline {
    /// Starts the thread with `capturer`; encoded frames go to `frames`; `link` reads
    /// the link's statistics for rate control.
    pub fn spawn(
        capturer: Box<dyn Capturer>,
        monitor_index: u32,
        tuning: VideoTuning,
        frames: mpsc::Sender<EncodedVideo>,
        link: LinkProbe,
    ) -> std::io::Result<Self> {
        let (control, commands) = std::sync::mpsc::channel();
        let geometry = Arc::new(Mutex::new(None));
        let shared_geometry = Arc::clone(&geometry);
        let thread = std::thread::Builder::new()
            .name("lifeline-video".to_owned())
            .spawn(move || {
                let mut worker =
                    Worker::new(capturer, tuning, frames, commands, shared_geometry, link);
                if let Err(err) = worker.select(monitor_index).and_then(|()| worker.run()) {
                    tracing::error!("video stopped: {err}");
                }
            })?;
        Ok(Self {
            control,
            thread: Some(thread),
            geometry,
        })
    }

    /// Sends an instruction; false if the thread has stopped.
    pub fn send(&self, control: VideoControl) -> bool {
        self.control.send(control).is_ok()
    }
}

impl Drop for VideoPipeline {
    fn drop(&mut self) {
        let _ = self.control.send(VideoControl::Shutdown);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Worker {
    capturer: Box<dyn Capturer>,
    frames: mpsc::Sender<EncodedVideo>,
    commands: Receiver<VideoControl>,
    geometry: Arc<Mutex<Option<ScreenGeometry>>>,
    monitor: Option<Monitor>,
    detector: ChangeDetector,
    classifier: ContentClassifier,
    tuning: VideoTuning,
    encoder: Option<OpenH264Encoder>,
    rate: RateController,
    link: LinkProbe,
    link_polled: Instant,
    applied: Plan,
    announced: Option<VideoQuality>,
    image: I420Image,
    scaled: I420Image,
    active: bool,
    keyframe_wanted: bool,
    /// Where the time of each frame goes (logged on target `stages`).
    stages: StageLog,
    /// When the previous capture ended, and how long the pipeline slept since then
    /// waiting for a change report (a still screen, not a delay of a change).
    paced_since: Instant,
    blocked: Duration,
    sequence: u64,
    last_change: Instant,
    /// A still screen was sent once at full size since it last changed.
    refined: bool,
}

impl Worker {
    fn new(
        capturer: Box<dyn Capturer>,
        tuning: VideoTuning,
        frames: mpsc::Sender<EncodedVideo>,
        commands: Receiver<VideoControl>,
        geometry: Arc<Mutex<Option<ScreenGeometry>>>,
        link: LinkProbe,
    ) -> Self {
        let rate = RateController::new(Instant::now(), QualityPreference::default());
        Self {
            capturer,
            frames,
            commands,
            geometry,
            monitor: None,
            detector: ChangeDetector::new(),
            classifier: ContentClassifier::new(ClassifierConfig::default()),
            tuning,
            encoder: None,
            applied: rate.plan(),
            rate,
            link,
            link_polled: Instant::now(),
            announced: None,
            image: I420Image::empty(),
            scaled: I420Image::empty(),
            active: false,
            keyframe_wanted: true,
            stages: StageLog::new("agent"),
            paced_since: Instant::now(),
            blocked: Duration::ZERO,
            sequence: 0,
            last_change: Instant::now(),
            refined: false,
        }
    }

    fn select(&mut self, index: u32) -> Result<(), String> {
        let monitor = self
            .capturer
            .select_monitor(index)
            .map_err(|err| err.to_string())?;
        self.monitor = Some(monitor);
        Ok(())
    }

    fn run(&mut self) -> Result<(), String> {
        let mut next_capture = Instant::now();
        loop {
            let wait = if self.active {
                next_capture.saturating_duration_since(Instant::now())
            } else {
                Duration::from_secs(3600)
            };
            match self.commands.recv_timeout(wait) {
                Ok(VideoControl::Shutdown) | Err(RecvTimeoutError::Disconnected) => return Ok(()),
                Ok(control) => {
                    self.apply(control);
                    continue;
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            self.poll_link()?;
            if self.rate.frames_in_flight() >= self.rate.max_in_flight()
                && self.rate.in_flight_lost(Instant::now())
            {
                tracing::warn!(
                    frames = self.rate.frames_in_flight(),
                    "the viewer never reported the frames in flight: starting again from a \
                     keyframe"
                );
                self.rate.forget_in_flight();
                self.keyframe_wanted = true;
            }
            if self.rate.frames_in_flight() >= self.rate.max_in_flight() {
                // The viewer has not caught up: wait for its report instead of capturing.
                self.rate.waiting(Instant::now());
                self.apply_plan()?;
                next_capture = Instant::now() + Duration::from_millis(5);
                continue;
            }
            // With change reports, capture only after one (at most at the planned frame
            // rate); without them, poll at that rate while the screen moves and every
            // IDLE_INTERVAL once it has been still for a while.
            let still = self.capturer.notifies_changes() || self.last_change.elapsed() > IDLE_AFTER;
            if still && !self.keyframe_wanted {
                let blocked_from = Instant::now();
                let maybe_changed = self
                    .capturer
                    .wait_for_change(IDLE_INTERVAL)
                    .map_err(|err| err.to_string())?;
                self.blocked += blocked_from.elapsed();
                next_capture = Instant::now();
                if !maybe_changed && !self.wants_refinement() {
                    continue;
                }
            }
            let started = Instant::now();
            let (changed, sent_bytes) = self.capture_and_send()?;
            self.paced_since = Instant::now();
            self.blocked = Duration::ZERO;
            if changed {
                self.last_change = started;
            }
            next_capture = started + self.rate.next_capture_after(sent_bytes);
        }
    }

    fn apply(&mut self, control: VideoControl) {
        match control {
            VideoControl::SetActive(active) => {
                if active && !self.active {
                    self.keyframe_wanted = true;
                    self.detector.reset();
                }
                self.active = active;
            }
            VideoControl::Keyframe => {
                self.keyframe_wanted = true;
                // The viewer dropped what it had and reports nothing until a keyframe:
                // waiting for those reports would keep the keyframe from ever leaving.
                self.rate.forget_in_flight();
            }
            VideoControl::Report(report, received_at) => {
                self.rate
                    .on_report(received_at, report.last_sequence, report.frames_dropped);
                self.rate.hint(report.bitrate_hint_bps);
                if let Err(err) = self.apply_plan() {
                    tracing::warn!("cannot change the encoder's settings: {err}");
                }
            }
            VideoControl::Preference(preference) => {
                tracing::info!("the technician prefers {}", preference.name());
                self.rate.set_preference(preference, Instant::now());
                if let Err(err) = self.apply_plan() {
                    tracing::warn!("cannot change the encoder's settings: {err}");
                }
            }
            VideoControl::SelectMonitor(index) => match self.select(index) {
                Ok(()) => {
                    // A new picture, of perhaps another size: start it with a keyframe.
                    self.keyframe_wanted = true;
                    self.detector.reset();
                }
                Err(err) => tracing::warn!("cannot switch to monitor {index}: {err}"),
            },
            VideoControl::Shutdown => {}
        }
    }

    /// Reads the link's statistics, at most every [`LINK_POLL_INTERVAL`].
    fn poll_link(&mut self) -> Result<(), String> {
        let now = Instant::now();
        if now.duration_since(self.link_polled) >= LINK_POLL_INTERVAL {
            self.link_polled = now;
            self.rate.on_link(now, (self.link)());
            self.apply_plan()?;
        }
        Ok(())
    }

    /// Gives the encoder the bitrate and frame rate the controller wants now (the
    /// scale is applied to each picture).
    fn apply_plan(&mut self) -> Result<(), String> {
        let plan = self.rate.plan();
        if let Some(encoder) = self.encoder.as_mut() {
            if plan.bitrate_bps != self.applied.bitrate_bps {
                encoder
                    .set_bitrate(plan.bitrate_bps)
                    .map_err(|err| err.to_string())?;
            }
            if plan.frame_rate_hz != self.applied.frame_rate_hz {
                encoder
                    .set_frame_rate(plan.frame_rate_hz as f32)
                    .map_err(|err| err.to_string())?;
            }
        }
        if plan != self.applied {
            tracing::debug!(?plan, in_flight = self.rate.frames_in_flight(), "rate plan");
        }
        if plan.scale != self.applied.scale {
            tracing::info!(
                bitrate_bps = plan.bitrate_bps,
                "pictures now at {:?} scale",
                plan.scale
            );
        }
        self.applied = plan;
        Ok(())
    }

    /// What the video carries now, if the viewer should hear of it: a new size or
    /// preference, another frame rate, or a bitrate a tenth away from the last told.
    fn quality_news(&mut self, screen: (u32, u32), frame: (u32, u32)) -> Option<VideoQuality> {
        let plan = self.rate.plan();
        let quality = VideoQuality {
            screen_width: screen.0,
            screen_height: screen.1,
            frame_width: frame.0,
            frame_height: frame.1,
            bitrate_bps: plan.bitrate_bps,
            frame_rate_hz: plan.frame_rate_hz,
            preference: self.rate.preference(),
        };
        let news = self.announced.is_none_or(|told| {
            let bitrate_moved = u64::from(told.bitrate_bps.abs_diff(quality.bitrate_bps)) * 10
                > u64::from(told.bitrate_bps);
            bitrate_moved
                || VideoQuality {
                    bitrate_bps: told.bitrate_bps,
                    ..quality
                } != told
        });
        news.then(|| {
            self.announced = Some(quality);
            quality
        })
    }

    /// Captures once; encodes and queues a frame if anything changed. Returns whether
    /// the screen changed and how many bytes were sent.
    /// Whether to send the still screen once at full size: pictures are scaled down
    /// for a slow link, and nothing has moved for [`REFINE_AFTER`], so there is time
    /// for a sharp picture to read.
    fn wants_refinement(&self) -> bool {
        self.rate.plan().scale != PictureScale::Full
            && !self.refined
            && self.sequence > 0
            && self.last_change.elapsed() >= REFINE_AFTER
            && self.rate.frames_in_flight() == 0
    }

    fn capture_and_send(&mut self) -> Result<(bool, usize), String> {
        let capture_time = super::now();
        let refinement_due = self.wants_refinement();
        let capture_started = Instant::now();
        let frame = self.capturer.capture().map_err(|err| err.to_string())?;
        let captured = Instant::now();
        let changes = self.detector.detect(&frame);
        let detected = Instant::now();
        let refine = !changes.is_changed() && !self.keyframe_wanted && refinement_due;
        if !changes.is_changed() && !self.keyframe_wanted && !refine {
            return Ok((false, 0));
        }
        if changes.is_changed() {
            self.refined = false;
        }
        let mode = match self.tuning {
            VideoTuning::Auto => {
                let plan = self.rate.plan();
                self.classifier
                    .set_budget(plan.bitrate_bps, f64::from(plan.frame_rate_hz));
                self.classifier.observe(&frame, &changes)
            }
            VideoTuning::Text => ContentMode::Screen,
            VideoTuning::Motion => ContentMode::Camera,
        };
        let (width, height) = (frame.width(), frame.height());
        self.rate.set_screen(width, height);
        bgra_to_i420(&frame, &mut self.image).map_err(|err| err.to_string())?;
        let plan = self.rate.plan();
        let scale = if refine {
            PictureScale::Full
        } else {
            plan.scale
        };
        let picture = match scale {
            PictureScale::Full => &self.image,
            PictureScale::TwoThirds | PictureScale::Half => {
                let scale = if scale == PictureScale::Half {
                    Scale::Half
                } else {
                    Scale::TwoThirds
                };
                downscale(&self.image, scale, &mut self.scaled).map_err(|err| err.to_string())?;
                &self.scaled
            }
        };
        let converted = Instant::now();
        if self.encoder.is_none() {
            self.encoder = Some(
                OpenH264Encoder::new(EncoderSettings {
                    bitrate_bps: plan.bitrate_bps,
                    frame_rate_hz: plan.frame_rate_hz as f32,
                    content_mode: mode,
                    ..EncoderSettings::default()
                })
                .map_err(|err| err.to_string())?,
            );
            self.applied = plan;
        }
        let encoder = self.encoder.as_mut().ok_or("no encoder")?;
        if encoder.settings().content_mode != mode {
            encoder
                .set_content_mode(mode)
                .map_err(|err| err.to_string())?;
        }
        let options = EncodeOptions {
            force_keyframe: self.keyframe_wanted,
        };
        let encoded = encoder
            .encode(picture, options)
            .map_err(|err| err.to_string())?;
        let encoded_at = Instant::now();
        if matches!(encoded.frame_type, lifeline_codec::FrameType::Skip)
            || encoded.annex_b.is_empty()
        {
            return Ok((true, 0));
        }
        self.keyframe_wanted = false;
        if refine {
            tracing::debug!("the still screen sent once at full size");
            self.refined = true;
        }
        self.publish_geometry(width, height);
        self.sequence += 1;
        let header = VideoFrameHeader {
            sequence: self.sequence,
            capture_time,
            keyframe: encoded.frame_type.is_keyframe(),
            width: encoded.width,
            height: encoded.height,
            codec: VideoCodec::H264,
            payload_len: u32::try_from(encoded.annex_b.len()).map_err(|_| "frame too large")?,
        };
        let quality = self.quality_news((width, height), (encoded.width, encoded.height));
        let bytes = encoded.annex_b.len();
        let video = EncodedVideo {
            header,
            payload: encoded.annex_b,
            quality,
        };
        // The network task drains this channel; when it cannot keep up, this waits.
        self.frames
            .blocking_send(video)
            .map_err(|_| "the session ended".to_owned())?;
        let paced = capture_started.saturating_duration_since(self.paced_since);
        self.stages.add("pace", paced.saturating_sub(self.blocked));
        self.stages.add("capture", captured - capture_started);
        self.stages.add("detect", detected - captured);
        self.stages.add("convert", converted - detected);
        self.stages.add("encode", encoded_at - converted);
        self.stages.add("queue", encoded_at.elapsed());
        self.stages.frame_done();
        self.rate.on_sent(Instant::now(), self.sequence, bytes);
        Ok((true, bytes))
    }

    fn publish_geometry(&mut self, width: u32, height: u32) {
        let Some(monitor) = self.monitor.clone() else {
            return;
        };
        let mut geometry = self
            .geometry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *geometry = Some(ScreenGeometry {
            monitor,
            frame_width: width,
            frame_height: height,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(x: i32, width: u32, frame_width: u32) -> ScreenGeometry {
        ScreenGeometry {
            monitor: Monitor {
                index: 0,
                name: "test".to_owned(),
                x,
                y: 0,
                width,
                height: 1080,
                primary: true,
            },
            frame_width,
            frame_height: 1080 * frame_width / width,
        }
    }

    #[test]
    fn frame_pixels_map_to_the_monitor() {
        let same = geometry(0, 1920, 1920);
        assert_eq!(same.to_desktop(100, 200), (100, 200));
        assert_eq!(
            same.to_desktop(5000, 5000),
            (1919, 1079),
            "clamped to the monitor"
        );
        let second_monitor_half_size = geometry(1920, 1920, 960);
        assert_eq!(
            second_monitor_half_size.to_desktop(480, 270),
            (1920 + 960, 540)
        );
    }
}
