//! Where the time of a frame goes on the viewer's side, for benchmarks: the session
//! adds how long each frame took to arrive and to decode, the window how long a
//! decoded frame waited for it and how long drawing took; once a second the means per
//! frame go to the log at debug level on target `stages` (`RUST_LOG=info,stages=debug`),
//! e.g. `viewer frames=28 network_ms=4.1 decode_wait_ms=0.2 decode_ms=3.3`.
//! (The agent's side logs its stages the same way; a copy of this module lives there,
//! as the protocol and codec crates do no I/O and read no clock.)

use std::time::{Duration, Instant};

/// How often the means are logged.
const INTERVAL: Duration = Duration::from_secs(1);

/// Per-stage time sums of the frames since the last log line.
#[derive(Debug)]
pub struct StageLog {
    name: &'static str,
    stages: Vec<(&'static str, Duration)>,
    frames: u32,
    since: Instant,
}

impl StageLog {
    /// An empty log whose lines start with `name`.
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            stages: Vec::new(),
            frames: 0,
            since: Instant::now(),
        }
    }

    /// Adds `took` to `stage` for the frame in the making.
    pub fn add(&mut self, stage: &'static str, took: Duration) {
        match self.stages.iter_mut().find(|(name, _)| *name == stage) {
            Some((_, total)) => *total += took,
            None => self.stages.push((stage, took)),
        }
    }

    /// Counts a finished frame; logs the means once a second.
    pub fn frame_done(&mut self) {
        self.frames += 1;
        if self.since.elapsed() < INTERVAL {
            return;
        }
        if tracing::enabled!(target: "stages", tracing::Level::DEBUG) {
            let means: Vec<String> = self
                .stages
                .iter()
                .map(|(stage, total)| {
                    let mean = total.as_secs_f64() * 1000.0 / f64::from(self.frames);
                    format!("{stage}_ms={mean:.2}")
                })
                .collect();
            tracing::debug!(target: "stages", "{} frames={} {}", self.name, self.frames, means.join(" "));
        }
        self.stages.clear();
        self.frames = 0;
        self.since = Instant::now();
    }
}

/// The session's side: when each frame arrived, until it is decoded.
#[derive(Debug)]
pub struct FrameTimes {
    /// Sequence, arrival, capture-to-arrival time; bounded by [`MAX_WAITING`].
    arrived: std::collections::VecDeque<(u64, Instant, Duration)>,
    log: StageLog,
}

/// Frames remembered between arrival and decoding, at most (dropped frames are
/// forgotten with the oldest).
const MAX_WAITING: usize = 64;

impl Default for FrameTimes {
    fn default() -> Self {
        Self {
            arrived: std::collections::VecDeque::new(),
            log: StageLog::new("viewer"),
        }
    }
}

impl FrameTimes {
    /// Frame `sequence` arrived `network` after it was captured (both clocks agree on
    /// one machine; elsewhere this includes their offset).
    pub fn arrived(&mut self, sequence: u64, network: Duration) {
        if self.arrived.len() == MAX_WAITING {
            self.arrived.pop_front();
        }
        self.arrived.push_back((sequence, Instant::now(), network));
    }

    /// Frame `sequence` was decoded, which took `decode`.
    pub fn decoded(&mut self, sequence: u64, decode: Duration) {
        let Some(index) = self.arrived.iter().position(|(s, _, _)| *s == sequence) else {
            return;
        };
        let Some((_, at, network)) = self.arrived.remove(index) else {
            return;
        };
        self.log.add("network", network);
        self.log
            .add("decode_wait", at.elapsed().saturating_sub(decode));
        self.log.add("decode", decode);
        self.log.frame_done();
    }
}

/// The window's side: how long a decoded frame waited for the window, and how long
/// the pass that drew it took (upload, layout and painting; not the buffer swap).
#[derive(Debug)]
pub struct WindowTimes {
    log: StageLog,
    drawing: bool,
}

impl Default for WindowTimes {
    fn default() -> Self {
        Self {
            log: StageLog::new("window"),
            drawing: false,
        }
    }
}

impl WindowTimes {
    /// The window took a frame that waited `age` and uploaded it in `upload`.
    pub fn taken(&mut self, age: Duration, upload: Duration) {
        self.log.add("pickup", age);
        self.log.add("upload", upload);
        self.drawing = true;
    }

    /// The previous pass took `cpu_seconds` (eframe's measure); counts it for the
    /// frame it drew.
    pub fn pass_done(&mut self, cpu_seconds: Option<f32>) {
        if !std::mem::take(&mut self.drawing) {
            return;
        }
        if let Some(seconds) = cpu_seconds.filter(|s| s.is_finite() && *s >= 0.0) {
            self.log.add("draw", Duration::from_secs_f32(seconds));
        }
        self.log.frame_done();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_add_up_per_frame_and_start_over_after_a_line() {
        let mut log = StageLog::new("test");
        log.add("encode", Duration::from_millis(3));
        log.add("capture", Duration::from_millis(1));
        log.add("encode", Duration::from_millis(2));
        assert_eq!(
            log.stages,
            vec![
                ("encode", Duration::from_millis(5)),
                ("capture", Duration::from_millis(1))
            ]
        );
        log.since -= INTERVAL;
        log.frame_done();
        assert!(log.stages.is_empty());
        assert_eq!(log.frames, 0);
    }

    #[test]
    fn a_frame_is_timed_from_arrival_to_decoding_and_unknown_ones_are_ignored() {
        let mut times = FrameTimes::default();
        times.arrived(7, Duration::from_millis(4));
        times.decoded(8, Duration::from_millis(1));
        assert_eq!(times.log.frames, 0, "never arrived");
        times.decoded(7, Duration::from_millis(1));
        assert_eq!(times.log.frames, 1);
        assert!(times.arrived.is_empty());
        for sequence in 0..100 {
            times.arrived(sequence, Duration::ZERO);
        }
        assert_eq!(times.arrived.len(), MAX_WAITING);
    }

    #[test]
    fn only_passes_that_drew_a_frame_count() {
        let mut times = WindowTimes::default();
        times.pass_done(Some(0.5));
        assert_eq!(times.log.frames, 0);
        times.taken(Duration::from_millis(2), Duration::from_millis(1));
        times.pass_done(Some(0.004));
        assert_eq!(times.log.frames, 1);
    }
}
