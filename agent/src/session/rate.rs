//! Rate control: the encoder's bitrate follows what the link and the viewer manage.
//!
//! Congestion (the agent had to wait because frames were still in flight, or the
//! viewer reports dropped frames) cuts the bitrate by a fifth, at most twice a second;
//! a second without congestion raises it by a tenth, up to the ceiling. The viewer's
//! bitrate hint, when given, caps the ceiling.

use std::time::{Duration, Instant};

/// Lowest bitrate the controller goes to.
pub const MIN_BITRATE_BPS: u32 = 250_000;
/// Default ceiling.
pub const MAX_BITRATE_BPS: u32 = 8_000_000;
/// Where a session starts.
pub const START_BITRATE_BPS: u32 = 4_000_000;

/// Decides the encoder's target bitrate.
#[derive(Debug)]
pub struct RateController {
    bitrate_bps: u32,
    ceiling_bps: u32,
    last_decrease: Option<Instant>,
    calm_since: Instant,
}

impl RateController {
    /// A controller starting at [`START_BITRATE_BPS`].
    pub fn new(now: Instant) -> Self {
        Self {
            bitrate_bps: START_BITRATE_BPS,
            ceiling_bps: MAX_BITRATE_BPS,
            last_decrease: None,
            calm_since: now,
        }
    }

    /// The current target.
    pub fn bitrate_bps(&self) -> u32 {
        self.bitrate_bps
    }

    /// The link is congested. Returns the new bitrate if it changed.
    pub fn congested(&mut self, now: Instant) -> Option<u32> {
        self.calm_since = now;
        if self
            .last_decrease
            .is_some_and(|last| now.duration_since(last) < Duration::from_millis(500))
        {
            return None;
        }
        self.last_decrease = Some(now);
        self.set(self.bitrate_bps / 5 * 4)
    }

    /// Things flow. Returns the new bitrate if it changed.
    pub fn calm(&mut self, now: Instant) -> Option<u32> {
        if now.duration_since(self.calm_since) < Duration::from_secs(1) {
            return None;
        }
        self.calm_since = now;
        self.set(self.bitrate_bps.saturating_add(self.bitrate_bps / 10))
    }

    /// The viewer suggests at most `hint_bps` (0: no suggestion).
    pub fn hint(&mut self, hint_bps: u32) -> Option<u32> {
        self.ceiling_bps = if hint_bps == 0 {
            MAX_BITRATE_BPS
        } else {
            hint_bps.clamp(MIN_BITRATE_BPS, MAX_BITRATE_BPS)
        };
        self.set(self.bitrate_bps)
    }

    fn set(&mut self, wanted: u32) -> Option<u32> {
        let next = wanted.clamp(MIN_BITRATE_BPS, self.ceiling_bps);
        (next != self.bitrate_bps).then(|| {
            self.bitrate_bps = next;
            next
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn congestion_cuts_and_calm_restores() {
        let t0 = Instant::now();
        let mut rate = RateController::new(t0);
        assert_eq!(rate.congested(t0), Some(3_200_000));
        assert_eq!(
            rate.congested(t0 + Duration::from_millis(100)),
            None,
            "at most twice a second"
        );
        assert_eq!(
            rate.congested(t0 + Duration::from_millis(600)),
            Some(2_560_000)
        );
        assert_eq!(rate.calm(t0 + Duration::from_millis(900)), None);
        assert_eq!(rate.calm(t0 + Duration::from_millis(1700)), Some(2_816_000));
        for step in 0..100 {
            rate.calm(t0 + Duration::from_secs(3 + step));
        }
        assert_eq!(rate.bitrate_bps(), MAX_BITRATE_BPS);
        for step in 0..100 {
            rate.congested(t0 + Duration::from_secs(200 + step));
        }
        assert_eq!(rate.bitrate_bps(), MIN_BITRATE_BPS);
    }

    #[test]
    fn the_viewer_hint_caps_the_bitrate() {
        let mut rate = RateController::new(Instant::now());
        assert_eq!(rate.hint(1_000_000), Some(1_000_000));
        assert_eq!(rate.hint(0), None);
        assert_eq!(rate.bitrate_bps(), 1_000_000);
    }
}
