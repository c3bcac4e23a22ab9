//! Where the time of a frame goes, for benchmarks and for finding slow stages on a
//! user's machine: the video pipeline adds how long each stage of a frame took, and
//! once a second the means per frame go to the log at debug level on target `stages`
//! (`RUST_LOG=info,stages=debug`), e.g.
//! `agent frames=28 pace_ms=14.2 capture_ms=0.9 detect_ms=0.6 convert_ms=0.8 ...`.
//! Nothing is logged while no frame is made.

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
}
