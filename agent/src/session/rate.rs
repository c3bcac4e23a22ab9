//! Rate control: the encoder's bitrate, the frame rate and the picture's scale follow
//! what the link and the viewer manage, so that no queue grows anywhere.
//!
//! Signals, in the order they matter:
//! - **Frame delay**: from handing a frame to the network to the viewer's receiver
//!   report for it. Its minimum over the last seconds is the empty-link delay; a delay
//!   well above it (more than the frame's own transmission time at the target bitrate
//!   plus a margin) means a queue is growing somewhere: cut the bitrate.
//! - **Frames in flight**: at most enough frames for one round trip are unreported;
//!   beyond that the pipeline waits.
//! - **QUIC**: the smoothed RTT sizes the in-flight limit and spaces the cuts; a
//!   congestion event of the transport caps the bitrate at what its congestion window
//!   carries per round trip; a frame late because its packets were lost and sent again
//!   (losses, while the smoothed RTT stays near its minimum) is not a queue; a link
//!   that carries nothing at all (no datagram while frames are in flight) is an
//!   outage, not congestion, and cuts nothing.
//! - **Dropped frames** in a receiver report: the viewer falls behind: cut.
//!
//! A calm link raises the bitrate by 12% every half second (5% near where the link last
//! gave out, within 20 s of that, or while the screen uses less than a quarter of it). Frames are paced to the
//! bitrate (a large frame delays the next capture), and the frame rate and the scale
//! follow the bitrate: [`QualityPreference::Quality`] keeps full resolution longer and
//! lowers the frame rate first; [`QualityPreference::Speed`] keeps the frame rate up
//! and scales the picture down to 2/3 or 1/2 sooner. Scale changes wait for the
//! bitrate to be clearly past a threshold for two seconds (four to go back up), since
//! each costs a keyframe.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use lifeline_protocol::message::QualityPreference;

/// Lowest bitrate the controller goes to.
pub const MIN_BITRATE_BPS: u32 = 150_000;
/// Default ceiling.
pub const MAX_BITRATE_BPS: u32 = 8_000_000;
/// Where a session starts.
pub const START_BITRATE_BPS: u32 = 2_000_000;
/// Highest frame rate.
pub const MAX_FRAME_RATE_HZ: u32 = 30;

/// How long the empty-link delay is remembered.
const BASE_WINDOW: Duration = Duration::from_secs(10);
/// Time allowed for the viewer to decode and report a frame, on top of the round trip.
const BASE_DECODE: Duration = Duration::from_millis(30);
/// Queueing tolerated beyond a frame's own transmission time.
const QUEUE_MARGIN: Duration = Duration::from_millis(50);
/// How long the bitrate must call for a lower scale before it changes.
const SCALE_DOWN_HOLD: Duration = Duration::from_secs(2);
/// How long the bitrate must allow a higher scale before it changes (longer: a link
/// that gives out again would cost two keyframes).
const SCALE_UP_HOLD: Duration = Duration::from_secs(4);
/// Silence of the link (with frames in flight) that counts as an outage.
const STALL_AFTER: Duration = Duration::from_millis(400);
/// How long frames in flight may go unreported on a live link, beyond their time on
/// the slowest link the controller plans for, before they count as lost for good.
const LOST_AFTER: Duration = Duration::from_secs(3);

/// What QUIC says about the path (from `quinn::Connection::stats()`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Smoothed round-trip time.
    pub rtt: Duration,
    /// Congestion window in bytes.
    pub cwnd_bytes: u64,
    /// Congestion events so far (losses the congestion controller reacted to).
    pub congestion_events: u64,
    /// UDP datagrams received so far (anything at all from the viewer).
    pub datagrams_received: u64,
    /// The smallest round trip seen: the path without queues.
    pub min_rtt: Duration,
    /// Packets lost so far.
    pub lost_packets: u64,
}

impl LinkStats {
    /// The statistics of a QUIC connection.
    pub fn of(connection: &quinn::Connection) -> Self {
        let stats = connection.stats();
        Self {
            rtt: stats.path.rtt,
            cwnd_bytes: stats.path.cwnd,
            congestion_events: stats.path.congestion_events,
            datagrams_received: stats.udp_rx.datagrams,
            min_rtt: stats.path.min_rtt,
            lost_packets: stats.path.lost_packets,
        }
    }
}

/// How large the picture is sent, relative to the screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PictureScale {
    /// Half width and height.
    Half,
    /// Two thirds of width and height.
    TwoThirds,
    /// The screen's own size.
    Full,
}

impl PictureScale {
    /// As a fraction (numerator, denominator).
    pub fn ratio(self) -> (u32, u32) {
        match self {
            Self::Half => (1, 2),
            Self::TwoThirds => (2, 3),
            Self::Full => (1, 1),
        }
    }

    fn lower(self) -> Self {
        match self {
            Self::Full => Self::TwoThirds,
            Self::TwoThirds | Self::Half => Self::Half,
        }
    }

    fn higher(self) -> Self {
        match self {
            Self::Half => Self::TwoThirds,
            Self::TwoThirds | Self::Full => Self::Full,
        }
    }
}

/// What the pipeline should do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Encoder target.
    pub bitrate_bps: u32,
    /// Highest capture rate.
    pub frame_rate_hz: u32,
    /// Picture scale.
    pub scale: PictureScale,
}

#[derive(Clone, Copy, Debug)]
struct SentFrame {
    sequence: u64,
    sent_at: Instant,
    bytes: usize,
}

/// Decides bitrate, frame rate and scale.
#[derive(Debug)]
pub struct RateController {
    preference: QualityPreference,
    bitrate_bps: u32,
    ceiling_bps: u32,
    screen_pixels: u64,
    scale: PictureScale,
    scale_wanted_since: Option<(PictureScale, Instant)>,
    in_flight: VecDeque<SentFrame>,
    sent: VecDeque<(Instant, usize)>,
    delivered: VecDeque<(Instant, usize)>,
    base_delays: VecDeque<(Instant, Duration)>,
    link: LinkStats,
    link_heard_at: Instant,
    stalled: bool,
    /// Delay samples of frames sent before this are not about the link's queue.
    ignore_sent_before: Option<Instant>,
    /// When the viewer last reported a frame.
    reported_at: Option<Instant>,
    last_decrease: Option<Instant>,
    last_increase: Instant,
    last_overuse_bps: Option<(Instant, u32)>,
    waited_at: Option<Instant>,
    last_loss: Option<Instant>,
}

impl RateController {
    /// A controller starting at [`START_BITRATE_BPS`], full scale.
    pub fn new(now: Instant, preference: QualityPreference) -> Self {
        Self {
            preference,
            bitrate_bps: START_BITRATE_BPS,
            ceiling_bps: MAX_BITRATE_BPS,
            screen_pixels: 1920 * 1080,
            scale: PictureScale::Full,
            scale_wanted_since: None,
            in_flight: VecDeque::new(),
            sent: VecDeque::new(),
            delivered: VecDeque::new(),
            base_delays: VecDeque::new(),
            link: LinkStats::default(),
            link_heard_at: now,
            stalled: false,
            ignore_sent_before: None,
            reported_at: None,
            last_decrease: None,
            last_increase: now,
            last_overuse_bps: None,
            waited_at: None,
            last_loss: None,
        }
    }

    /// The current plan.
    pub fn plan(&self) -> Plan {
        Plan {
            bitrate_bps: self.bitrate_bps,
            frame_rate_hz: self.frame_rate_hz(),
            scale: self.scale,
        }
    }

    /// The technician's preference.
    pub fn preference(&self) -> QualityPreference {
        self.preference
    }

    /// The technician changed the preference.
    pub fn set_preference(&mut self, preference: QualityPreference, now: Instant) {
        self.preference = preference;
        // Let the scale follow the new thresholds at once.
        self.scale_wanted_since = None;
        self.update_scale(now, true);
    }

    /// The size of the screen captured.
    pub fn set_screen(&mut self, width: u32, height: u32) {
        self.screen_pixels = (u64::from(width) * u64::from(height)).max(1);
    }

    /// The viewer suggests at most `hint_bps` (0: no suggestion).
    pub fn hint(&mut self, hint_bps: u32) {
        self.ceiling_bps = if hint_bps == 0 {
            MAX_BITRATE_BPS
        } else {
            hint_bps.clamp(MIN_BITRATE_BPS, MAX_BITRATE_BPS)
        };
        self.bitrate_bps = self.bitrate_bps.min(self.ceiling_bps);
    }

    /// Frames sent and not yet reported.
    pub fn frames_in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Stops waiting for reports of the frames in flight (the viewer dropped them).
    pub fn forget_in_flight(&mut self) {
        self.in_flight.clear();
    }

    /// Whether the frames in flight look lost for good: the link carries packets, yet
    /// no report came for far longer than all of them take even at
    /// [`MIN_BITRATE_BPS`]. The pipeline then forgets them and starts again from a
    /// keyframe; waiting on would stop the picture for the rest of the session.
    pub fn in_flight_lost(&self, now: Instant) -> bool {
        let Some(oldest) = self.in_flight.front() else {
            return false;
        };
        if self.stalled {
            return false;
        }
        let bytes: usize = self.in_flight.iter().map(|frame| frame.bytes).sum();
        let on_link = Duration::from_secs_f64(bytes as f64 * 8.0 / f64::from(MIN_BITRATE_BPS));
        let silent_since = [
            Some(oldest.sent_at),
            self.reported_at,
            self.ignore_sent_before,
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(oldest.sent_at);
        now.saturating_duration_since(silent_since) > LOST_AFTER + self.link.rtt * 4 + on_link
    }

    /// How many frames may be unreported: enough to fill one round trip at the
    /// current frame rate, at least 2.
    pub fn max_in_flight(&self) -> usize {
        let interval = Duration::from_secs(1) / self.frame_rate_hz().max(1);
        let round_trip = self.link.rtt + Duration::from_millis(20);
        let frames = round_trip.as_micros() / interval.as_micros().max(1) + 2;
        usize::try_from(frames).unwrap_or(usize::MAX).clamp(2, 8)
    }

    /// How long after a capture the next may start, given the frame just sent was
    /// `bytes` long: the frame interval, or the frame's time on the link at the target
    /// bitrate, whichever is longer.
    pub fn next_capture_after(&self, bytes: usize) -> Duration {
        let interval = Duration::from_secs(1) / self.frame_rate_hz().max(1);
        let on_link = Duration::from_secs_f64(bytes as f64 * 8.0 / f64::from(self.bitrate_bps));
        interval.max(on_link.min(Duration::from_secs(2)))
    }

    /// A frame of `bytes` left for the viewer.
    pub fn on_sent(&mut self, now: Instant, sequence: u64, bytes: usize) {
        self.in_flight.push_back(SentFrame {
            sequence,
            sent_at: now,
            bytes,
        });
        self.sent.push_back((now, bytes));
        while self
            .sent
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > Duration::from_secs(1))
        {
            self.sent.pop_front();
        }
    }

    /// QUIC's view of the path, polled a few times a second.
    pub fn on_link(&mut self, now: Instant, link: LinkStats) {
        if link.datagrams_received != self.link.datagrams_received {
            self.link_heard_at = now;
            if self.stalled {
                // The link is back: what was sent into the outage says nothing about
                // queues.
                self.stalled = false;
                self.ignore_sent_before = Some(now);
            }
        } else if !self.in_flight.is_empty()
            && now.duration_since(self.link_heard_at) > STALL_AFTER.max(link.rtt * 2)
        {
            self.stalled = true;
        }
        if link.lost_packets > self.link.lost_packets {
            self.last_loss = Some(now);
        }
        if link.congestion_events > self.link.congestion_events
            && self.link.congestion_events > 0
            && !link.rtt.is_zero()
        {
            // The transport backed off: more than its window per round trip cannot
            // leave, whatever the encoder makes.
            let carried = link.cwnd_bytes as f64 * 8.0 / link.rtt.as_secs_f64();
            let cap = (carried * 0.9).min(f64::from(u32::MAX)) as u32;
            if cap < self.bitrate_bps {
                self.decrease(now, cap);
            }
        }
        self.link = link;
    }

    /// The viewer reported frames up to `last_sequence` shown, and `dropped` frames
    /// lost or dropped since its last report.
    pub fn on_report(&mut self, now: Instant, last_sequence: u64, dropped: u32) {
        self.link_heard_at = now;
        self.reported_at = Some(now);
        self.stalled = false;
        let mut newest = None;
        while let Some(frame) = self.in_flight.front().copied()
            && frame.sequence <= last_sequence
        {
            self.in_flight.pop_front();
            self.delivered.push_back((now, frame.bytes));
            newest = Some(frame);
        }
        while self
            .delivered
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > Duration::from_secs(1))
        {
            self.delivered.pop_front();
        }
        if dropped > 0 {
            self.overuse(now);
        } else if self.pipe_full(now) {
            // Frames had to wait for reports that the link delayed: it carries no more
            // than what arrived.
            let delivered_bps = self.delivered_bps();
            if delivered_bps < u64::from(self.bitrate_bps) * 85 / 100 && self.may_decrease(now) {
                tracing::debug!(delivered_bps, "the link carries less than the target");
                self.last_overuse_bps = Some((now, self.bitrate_bps));
                self.decrease(
                    now,
                    u32::try_from(delivered_bps * 9 / 10).unwrap_or(u32::MAX),
                );
            }
        } else if let Some(frame) = newest {
            let fresh = self
                .ignore_sent_before
                .is_none_or(|since| frame.sent_at >= since);
            if fresh {
                self.on_delay(now, now.duration_since(frame.sent_at), frame.bytes);
            }
        }
        self.update_scale(now, false);
    }

    /// The pipeline wanted to capture but too many frames are in flight.
    pub fn waiting(&mut self, now: Instant) {
        // Silence from the viewer for a while: an outage starting, not a queue.
        let silent = now.duration_since(self.link_heard_at);
        if self.stalled || silent > (self.link.rtt * 2).max(Duration::from_millis(250)) {
            return;
        }
        if let Some(oldest) = self.in_flight.front() {
            let age = now.duration_since(oldest.sent_at);
            // Waiting for a frame that takes longer than on an empty link: the link is
            // what holds the pipeline back (not a screen with little to send).
            if age > self.base_delay() + QUEUE_MARGIN / 2 {
                self.waited_at = Some(now);
            }
            if age > self.base_delay() + self.allowance(oldest.bytes) {
                tracing::debug!(?age, base = ?self.base_delay(), "waiting for a late frame");
                self.overuse(now);
                self.update_scale(now, false);
            }
        }
    }

    /// Whether the pipeline waited for reports the link delayed lately, with a second
    /// of deliveries to judge by.
    fn pipe_full(&self, now: Instant) -> bool {
        let waited = self
            .waited_at
            .is_some_and(|at| now.duration_since(at) < Duration::from_millis(200));
        let span = match (self.delivered.front(), self.delivered.back()) {
            (Some((first, _)), Some((last, _))) => last.duration_since(*first),
            _ => Duration::ZERO,
        };
        waited && span >= Duration::from_millis(500) && self.delivered.len() >= 4
    }

    /// Bits per second the viewer reported receiving over the last second.
    fn delivered_bps(&self) -> u64 {
        let bytes: usize = self.delivered.iter().skip(1).map(|(_, bytes)| *bytes).sum();
        let span = match (self.delivered.front(), self.delivered.back()) {
            (Some((first, _)), Some((last, _))) => last.duration_since(*first),
            _ => return 0,
        };
        if span.is_zero() {
            return 0;
        }
        (bytes as f64 * 8.0 / span.as_secs_f64()) as u64
    }

    /// Bits per second handed to the network over the last second.
    fn sent_bps(&self) -> u64 {
        self.sent.iter().map(|(_, bytes)| *bytes as u64 * 8).sum()
    }

    fn may_decrease(&self, now: Instant) -> bool {
        let spacing = (self.link.rtt + Duration::from_millis(100)).max(Duration::from_millis(300));
        self.last_decrease
            .is_none_or(|last| now.duration_since(last) >= spacing)
    }

    /// The empty-link delay of a frame: the smallest seen lately, and never more than
    /// QUIC's smallest round trip plus a little for decoding (a session that starts on
    /// a slow link has seen no frame arrive without a queue).
    fn base_delay(&self) -> Duration {
        let seen = self.base_delays.iter().map(|(_, delay)| *delay).min();
        let path = (!self.link.min_rtt.is_zero()).then(|| self.link.min_rtt + BASE_DECODE);
        match (seen, path) {
            (Some(seen), Some(path)) => seen.min(path),
            (Some(only), None) | (None, Some(only)) => only,
            (None, None) => self.link.rtt,
        }
    }

    /// Delay a frame of `bytes` may have beyond the empty-link delay.
    fn allowance(&self, bytes: usize) -> Duration {
        let on_link = Duration::from_secs_f64(bytes as f64 * 8.0 / f64::from(self.bitrate_bps));
        QUEUE_MARGIN + on_link + self.link.rtt / 4
    }

    fn on_delay(&mut self, now: Instant, delay: Duration, bytes: usize) {
        while self
            .base_delays
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > BASE_WINDOW)
        {
            self.base_delays.pop_front();
        }
        // Keep the window short: only samples that may become the minimum matter.
        while self.base_delays.back().is_some_and(|(_, d)| *d >= delay) {
            self.base_delays.pop_back();
        }
        self.base_delays.push_back((now, delay));
        let queue = delay.saturating_sub(self.base_delay());
        if queue > self.allowance(bytes) && !self.late_from_loss(now) {
            tracing::debug!(?delay, base = ?self.base_delay(), bytes, "a frame took longer than the link allows");
            self.overuse(now);
        } else if queue < self.allowance(bytes) / 2 {
            self.calm(now, self.capacity_sample(bytes, delay));
        }
    }

    /// What the link carried for a frame large enough to tell (at least 50 ms of the
    /// target bitrate): its bits over the time it took beyond QUIC's smallest round
    /// trip and the viewer's decoding. (Not beyond the frames' own smallest delay: when
    /// every frame is large, that includes their time on the link.)
    fn capacity_sample(&self, bytes: usize, delay: Duration) -> Option<u64> {
        let bits = bytes as u64 * 8;
        if bits < u64::from(self.bitrate_bps) / 20 || self.link.min_rtt.is_zero() {
            return None;
        }
        let beyond_path = delay.saturating_sub(self.link.min_rtt + BASE_DECODE);
        let seconds = beyond_path.max(Duration::from_millis(5)).as_secs_f64();
        Some((bits as f64 / seconds).min(u64::MAX as f64) as u64)
    }

    /// Whether a late frame is explained by packets lost and sent again rather than by
    /// a queue: losses in the last second while QUIC's smoothed round trip stays close
    /// to its minimum.
    fn late_from_loss(&self, now: Instant) -> bool {
        let recent_loss = self
            .last_loss
            .is_some_and(|at| now.duration_since(at) < Duration::from_secs(1));
        let transport_queue = self.link.rtt.saturating_sub(self.link.min_rtt);
        recent_loss && transport_queue < (self.link.min_rtt / 4).max(Duration::from_millis(20))
    }

    fn overuse(&mut self, now: Instant) {
        if !self.may_decrease(now) {
            return;
        }
        self.last_overuse_bps = Some((now, self.bitrate_bps));
        self.decrease(now, self.bitrate_bps / 20 * 17);
    }

    fn decrease(&mut self, now: Instant, wanted: u32) {
        self.last_decrease = Some(now);
        self.bitrate_bps = wanted.clamp(MIN_BITRATE_BPS, self.ceiling_bps);
    }

    /// A frame came back without queueing: raise the bitrate. `capacity_bps` is what
    /// the link was seen to carry for a large frame: then the bitrate may go straight
    /// to 80% of it (at most doubling), so that a link that recovered is used within a
    /// few frames even when large, paced frames make reports rare.
    fn calm(&mut self, now: Instant, capacity_bps: Option<u64>) {
        let since_decrease = self
            .last_decrease
            .map_or(Duration::MAX, |last| now.duration_since(last));
        if since_decrease < Duration::from_secs(1)
            || now.duration_since(self.last_increase) < Duration::from_millis(500)
        {
            return;
        }
        // Raise quickly while the screen uses what it has (or had to wait for the
        // link); slowly while it needs less, so that a link that recovered is found
        // again without a burst to test it.
        let sent_bps = self.sent_bps() as f64;
        let waited = self
            .waited_at
            .is_some_and(|at| now.duration_since(at) < Duration::from_secs(1));
        let screen_limited = sent_bps < f64::from(self.bitrate_bps) * 0.25 && !waited;
        // Close to where the link last gave out (within the last 20 s), probe gently;
        // well past it, the link has changed.
        let near_last_limit = self.last_overuse_bps.is_some_and(|(at, limit)| {
            let bitrate = u64::from(self.bitrate_bps) * 100;
            now.duration_since(at) < Duration::from_secs(20)
                && (u64::from(limit) * 85..=u64::from(limit) * 115).contains(&bitrate)
        });
        let step = if near_last_limit || screen_limited {
            self.bitrate_bps / 20
        } else {
            self.bitrate_bps / 8
        };
        let measured = capacity_bps.map_or(0, |capacity| {
            u32::try_from((capacity / 10 * 8).min(u64::from(self.bitrate_bps) * 2))
                .unwrap_or(u32::MAX)
        });
        self.last_increase = now;
        self.bitrate_bps = self
            .bitrate_bps
            .saturating_add(step.max(20_000))
            .max(measured)
            .clamp(MIN_BITRATE_BPS, self.ceiling_bps);
    }

    fn frame_rate_hz(&self) -> u32 {
        let (per_frame_bps, floor) = match self.preference {
            QualityPreference::Speed => (40_000, 10),
            _ => (80_000, 5),
        };
        (self.bitrate_bps / per_frame_bps).clamp(floor, MAX_FRAME_RATE_HZ)
    }

    /// Bitrate (per megapixel of screen) below which a scale is too fine for legible
    /// text: (full, two thirds).
    fn thresholds_per_megapixel(&self) -> (u64, u64) {
        match self.preference {
            QualityPreference::Speed => (800_000, 450_000),
            _ => (350_000, 200_000),
        }
    }

    /// The scale the bitrate calls for, without hysteresis.
    fn fitting_scale(&self, headroom_percent: u64) -> PictureScale {
        let (full, two_thirds) = self.thresholds_per_megapixel();
        let need = |per_megapixel: u64| {
            per_megapixel * self.screen_pixels / 1_000_000 * headroom_percent / 100
        };
        let bitrate = u64::from(self.bitrate_bps);
        if bitrate >= need(full) {
            PictureScale::Full
        } else if bitrate >= need(two_thirds) {
            PictureScale::TwoThirds
        } else {
            PictureScale::Half
        }
    }

    fn update_scale(&mut self, now: Instant, at_once: bool) {
        let wanted = if self.fitting_scale(100) < self.scale {
            self.scale.lower()
        } else if self.fitting_scale(130) > self.scale {
            self.scale.higher()
        } else {
            self.scale_wanted_since = None;
            return;
        };
        let since = match self.scale_wanted_since {
            Some((scale, since)) if scale == wanted => since,
            _ => {
                self.scale_wanted_since = Some((wanted, now));
                now
            }
        };
        let hold = if wanted > self.scale {
            SCALE_UP_HOLD
        } else {
            SCALE_DOWN_HOLD
        };
        if at_once || now.duration_since(since) >= hold {
            self.scale = wanted;
            self.scale_wanted_since = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// A link of `capacity_bps` with `rtt`, a sender of 20 KB frames as fast as the
    /// controller allows, for `seconds`; returns the controller and the worst delay.
    fn simulate(
        rate: &mut RateController,
        start: Instant,
        capacity_bps: f64,
        rtt: Duration,
        seconds: u64,
    ) -> Duration {
        let mut now = start;
        let end = start + Duration::from_secs(seconds);
        let mut link_free_at = now;
        let mut reports: VecDeque<(Instant, u64)> = VecDeque::new();
        // Frames of an earlier run still in flight were lost with its link.
        let mut sequence = rate.in_flight.back().map_or(0, |frame| frame.sequence);
        rate.in_flight.clear();
        let mut next_capture = now;
        let mut worst = Duration::ZERO;
        let mut datagrams = 0;
        while now < end {
            while let Some(&(at, reported)) = reports.front()
                && at <= now
            {
                reports.pop_front();
                rate.on_report(now, reported, 0);
                datagrams += 1;
            }
            rate.on_link(
                now,
                LinkStats {
                    rtt,
                    cwnd_bytes: 1_000_000,
                    congestion_events: 0,
                    datagrams_received: datagrams,
                    ..LinkStats::default()
                },
            );
            if now >= next_capture {
                if rate.frames_in_flight() >= rate.max_in_flight() {
                    rate.waiting(now);
                    next_capture = now + 5 * MS;
                } else {
                    let bytes = (rate.plan().bitrate_bps / 8 / rate.plan().frame_rate_hz) as usize;
                    sequence += 1;
                    rate.on_sent(now, sequence, bytes);
                    let start_on_link = link_free_at.max(now);
                    link_free_at =
                        start_on_link + Duration::from_secs_f64(bytes as f64 * 8.0 / capacity_bps);
                    let arrives = link_free_at + rtt;
                    worst = worst.max(arrives - now);
                    reports.push_back((arrives, sequence));
                    next_capture = now + rate.next_capture_after(bytes);
                }
            }
            now += MS;
        }
        worst
    }

    #[test]
    fn the_bitrate_settles_under_a_cap_and_no_queue_grows() {
        let t0 = Instant::now();
        let mut rate = RateController::new(t0, QualityPreference::Quality);
        let rtt = 40 * MS;
        simulate(&mut rate, t0, 2_000_000.0, rtt, 20);
        let settled = rate.plan().bitrate_bps;
        assert!(
            (1_200_000..=2_500_000).contains(&settled),
            "settled at {settled} bit/s on a 2 Mbit/s link"
        );
        let worst = simulate(
            &mut rate,
            t0 + Duration::from_secs(20),
            2_000_000.0,
            rtt,
            10,
        );
        assert!(
            worst < rtt + 400 * MS,
            "once settled, frames wait {worst:?} (a queue grew)"
        );
    }

    #[test]
    fn a_recovered_link_is_used_again() {
        let t0 = Instant::now();
        let mut rate = RateController::new(t0, QualityPreference::Quality);
        simulate(&mut rate, t0, 500_000.0, 20 * MS, 15);
        assert!(rate.plan().bitrate_bps <= 600_000, "{:?}", rate.plan());
        simulate(
            &mut rate,
            t0 + Duration::from_secs(15),
            10_000_000.0,
            20 * MS,
            20,
        );
        assert!(
            rate.plan().bitrate_bps >= 4_000_000,
            "after the cap went: {:?}",
            rate.plan()
        );
    }

    #[test]
    fn speed_scales_down_sooner_than_quality_and_back_up() {
        let t0 = Instant::now();
        for (preference, expected) in [
            (QualityPreference::Speed, PictureScale::Half),
            (QualityPreference::Quality, PictureScale::TwoThirds),
        ] {
            let mut rate = RateController::new(t0, preference);
            rate.set_screen(1920, 1080);
            simulate(&mut rate, t0, 500_000.0, 20 * MS, 20);
            assert_eq!(
                rate.plan().scale,
                expected,
                "{preference:?}: {:?}",
                rate.plan()
            );
            simulate(
                &mut rate,
                t0 + Duration::from_secs(20),
                20_000_000.0,
                20 * MS,
                20,
            );
            assert_eq!(rate.plan().scale, PictureScale::Full, "{preference:?}");
        }
    }

    #[test]
    fn quality_lowers_the_frame_rate_first() {
        let t0 = Instant::now();
        let mut quality = RateController::new(t0, QualityPreference::Quality);
        let mut speed = RateController::new(t0, QualityPreference::Speed);
        for rate in [&mut quality, &mut speed] {
            rate.bitrate_bps = 800_000;
        }
        assert_eq!(quality.plan().frame_rate_hz, 10);
        assert_eq!(speed.plan().frame_rate_hz, 20);
    }

    #[test]
    fn an_outage_cuts_nothing() {
        let t0 = Instant::now();
        let mut rate = RateController::new(t0, QualityPreference::Quality);
        let link = LinkStats {
            rtt: 20 * MS,
            cwnd_bytes: 100_000,
            congestion_events: 0,
            datagrams_received: 5,
            ..LinkStats::default()
        };
        rate.on_link(t0, link);
        rate.on_sent(t0, 1, 10_000);
        rate.on_sent(t0 + 30 * MS, 2, 10_000);
        let before = rate.plan().bitrate_bps;
        for step in 1..60 {
            let now = t0 + 50 * MS * step;
            rate.on_link(now, link);
            rate.waiting(now);
        }
        // Before the silence is long enough to tell, one cut may happen.
        let during = rate.plan().bitrate_bps;
        assert!(
            during >= before / 20 * 17,
            "an outage is not congestion: {during}"
        );
        // The link comes back: the late reports are not read as a queue.
        let back = t0 + Duration::from_secs(3);
        rate.on_link(
            back,
            LinkStats {
                datagrams_received: 9,
                ..link
            },
        );
        rate.on_report(back + 10 * MS, 2, 0);
        assert_eq!(rate.plan().bitrate_bps, during);
    }

    #[test]
    fn frames_never_reported_on_a_live_link_count_as_lost_but_an_outage_does_not() {
        let t0 = Instant::now();
        let mut rate = RateController::new(t0, QualityPreference::Quality);
        let link = |datagrams| LinkStats {
            rtt: 20 * MS,
            cwnd_bytes: 100_000,
            datagrams_received: datagrams,
            ..LinkStats::default()
        };
        rate.on_link(t0, link(1));
        rate.on_sent(t0, 1, 10_000);
        rate.on_sent(t0, 2, 10_000);
        // 20 KB take about 1.1 s at the lowest bitrate: the limit is about 4.2 s.
        let mut datagrams = 1;
        let mut lost_at = None;
        for step in 1..=100 {
            let now = t0 + 100 * MS * step;
            datagrams += 1;
            rate.on_link(now, link(datagrams));
            if lost_at.is_none() && rate.in_flight_lost(now) {
                lost_at = Some(now - t0);
            }
        }
        let lost_at = lost_at.expect("frames the viewer never reported are lost");
        assert!(
            (4 * 1000 * MS..5 * 1000 * MS).contains(&lost_at),
            "lost after {lost_at:?}"
        );

        // A report resets the wait.
        rate.on_report(t0 + Duration::from_secs(10), 1, 0);
        assert!(!rate.in_flight_lost(t0 + Duration::from_secs(11)));

        // During an outage (nothing at all from the viewer) nothing is lost.
        let mut quiet = RateController::new(t0, QualityPreference::Quality);
        quiet.on_link(t0, link(1));
        quiet.on_sent(t0, 1, 10_000);
        for step in 1..=100 {
            let now = t0 + 100 * MS * step;
            quiet.on_link(now, link(1));
            assert!(!quiet.in_flight_lost(now), "an outage is not loss");
        }
    }

    /// Large frames on a link of `capacity_bps` (`None`: far faster than asked),
    /// starting at 170 kbit/s; returns when the bitrate first reached `goal_bps` and the
    /// highest it went.
    fn large_frames(capacity_bps: Option<f64>, goal_bps: u32) -> (Option<Duration>, u32) {
        let t0 = Instant::now();
        let mut rate = RateController::new(t0, QualityPreference::Speed);
        let base = 40 * MS;
        rate.on_link(
            t0,
            LinkStats {
                rtt: 10 * MS,
                min_rtt: 10 * MS,
                datagrams_received: 1,
                ..LinkStats::default()
            },
        );
        rate.on_sent(t0, 1, 1_000);
        rate.on_report(t0 + base, 1, 0);
        rate.bitrate_bps = 170_000;
        let mut now = t0 + Duration::from_secs(2);
        let (mut reached, mut highest) = (None, 0);
        for sequence in 2..40 {
            let bytes = 35_000;
            rate.on_sent(now, sequence, bytes);
            let on_link = capacity_bps.map_or(Duration::ZERO, |bps| {
                Duration::from_secs_f64(bytes as f64 * 8.0 / bps)
            });
            let reported = now + base + on_link;
            rate.on_report(reported, sequence, 0);
            highest = highest.max(rate.plan().bitrate_bps);
            if reached.is_none() && rate.plan().bitrate_bps >= goal_bps {
                reached = Some(reported - t0 - Duration::from_secs(2));
            }
            now = reported.max(now + rate.next_capture_after(bytes));
        }
        (reached, highest)
    }

    #[test]
    fn a_recovered_link_is_found_within_seconds_even_with_large_paced_frames() {
        let (reached, _) = large_frames(None, 700_000);
        let reached = reached.expect("the bitrate never reached 0.7 Mbit/s");
        assert!(reached < Duration::from_secs(6), "took {reached:?}");
        // What a capped link carries is not mistaken for more.
        let (_, highest) = large_frames(Some(500_000.0), u32::MAX);
        assert!(
            highest <= 500_000,
            "went to {highest} bit/s on a 0.5 Mbit/s link"
        );
    }

    #[test]
    fn dropped_frames_and_transport_congestion_cut() {
        let t0 = Instant::now();
        let mut rate = RateController::new(t0, QualityPreference::Quality);
        rate.on_report(t0, 0, 2);
        assert_eq!(rate.plan().bitrate_bps, START_BITRATE_BPS / 20 * 17);
        let link = LinkStats {
            rtt: 100 * MS,
            cwnd_bytes: 12_500,
            congestion_events: 1,
            datagrams_received: 1,
            ..LinkStats::default()
        };
        rate.on_link(t0, link);
        rate.on_link(
            t0 + MS,
            LinkStats {
                congestion_events: 2,
                ..link
            },
        );
        assert_eq!(
            rate.plan().bitrate_bps,
            900_000,
            "90% of 12.5 KB per 100 ms"
        );
    }

    #[test]
    fn a_frame_late_from_loss_recovery_is_not_a_queue() {
        let t0 = Instant::now();
        let mut rate = RateController::new(t0, QualityPreference::Quality);
        let link = LinkStats {
            rtt: 152 * MS,
            min_rtt: 150 * MS,
            cwnd_bytes: 200_000,
            datagrams_received: 1,
            ..LinkStats::default()
        };
        rate.on_link(t0, link);
        rate.on_sent(t0, 1, 5_000);
        rate.on_report(t0 + 160 * MS, 1, 0);
        // Frame 2 lost a packet: it arrives a round trip late, with QUIC's RTT unchanged.
        rate.on_link(
            t0 + 200 * MS,
            LinkStats {
                lost_packets: 1,
                datagrams_received: 2,
                ..link
            },
        );
        rate.on_sent(t0 + 200 * MS, 2, 5_000);
        rate.on_report(t0 + 520 * MS, 2, 0);
        assert_eq!(rate.plan().bitrate_bps, START_BITRATE_BPS);
        // The same delay with QUIC's RTT grown is a queue.
        rate.on_link(
            t0 + 600 * MS,
            LinkStats {
                rtt: 300 * MS,
                lost_packets: 1,
                datagrams_received: 3,
                ..link
            },
        );
        rate.on_sent(t0 + 600 * MS, 3, 5_000);
        rate.on_report(t0 + 920 * MS, 3, 0);
        assert!(rate.plan().bitrate_bps < START_BITRATE_BPS);
    }

    #[test]
    fn the_viewer_hint_caps_the_bitrate() {
        let mut rate = RateController::new(Instant::now(), QualityPreference::Quality);
        rate.hint(1_000_000);
        assert_eq!(rate.plan().bitrate_bps, 1_000_000);
        rate.hint(0);
        assert_eq!(rate.plan().bitrate_bps, 1_000_000);
    }
}
