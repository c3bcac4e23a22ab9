//! Video quality on slow links: what the technician prefers when the link cannot
//! carry everything, and what the agent is sending now.
//!
//! The agent adapts bitrate, frame rate and scale to the link on its own. The viewer
//! may say whether sharp text or fluid motion matters more
//! ([`QualityPreference`], viewer to agent); the agent tells the viewer what it sends
//! whenever that changes ([`VideoQuality`], agent to viewer), so the technician can
//! see why the picture looks the way it does.
//!
//! A scaled-down picture is still a picture of the whole screen: the viewer scales it
//! back to [`VideoQuality::screen_width`] x [`VideoQuality::screen_height`], and
//! positions on the screen (pointer moves, the cursor) stay in the screen's pixels,
//! whatever the scale.

use serde::{Deserialize, Serialize};

/// Largest screen or picture side accepted, in pixels.
pub const MAX_SCREEN_DIMENSION: u32 = 16_384;

/// What matters more to the technician when the link is slow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum QualityPreference {
    /// Sharp text: keep the screen's resolution as long as possible and lower the
    /// frame rate first.
    #[default]
    Quality,
    /// Fluid motion: keep the frame rate up and scale the picture down sooner.
    Speed,
}

impl QualityPreference {
    /// A short name for people and command lines: `quality` or `speed`.
    pub fn name(self) -> &'static str {
        match self {
            QualityPreference::Quality => "quality",
            QualityPreference::Speed => "speed",
        }
    }
}

impl std::str::FromStr for QualityPreference {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "quality" => Ok(QualityPreference::Quality),
            "speed" => Ok(QualityPreference::Speed),
            other => Err(format!(
                "unknown preference {other:?}: say \"quality\" or \"speed\""
            )),
        }
    }
}

/// Agent to viewer: what the video carries now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoQuality {
    /// Width of the screen (monitor) shown, in its own pixels.
    pub screen_width: u32,
    /// Height of the screen shown.
    pub screen_height: u32,
    /// Width of the pictures sent: the screen's, or less when scaled down.
    pub frame_width: u32,
    /// Height of the pictures sent.
    pub frame_height: u32,
    /// The encoder's target bitrate, in bits per second.
    pub bitrate_bps: u32,
    /// The highest frame rate the agent captures at now, per second.
    pub frame_rate_hz: u32,
    /// The preference the agent follows.
    pub preference: QualityPreference,
}

impl VideoQuality {
    /// Checks what a peer sent: sizes within the video limits and pictures no larger
    /// than the screen.
    pub fn validate(&self) -> Result<(), String> {
        let within = |value: u32| (1..=MAX_SCREEN_DIMENSION).contains(&value);
        if ![
            self.screen_width,
            self.screen_height,
            self.frame_width,
            self.frame_height,
        ]
        .into_iter()
        .all(within)
        {
            return Err(format!(
                "sizes {}x{} (screen) and {}x{} (pictures) must be 1 to {}",
                self.screen_width,
                self.screen_height,
                self.frame_width,
                self.frame_height,
                MAX_SCREEN_DIMENSION
            ));
        }
        if self.frame_width > self.screen_width || self.frame_height > self.screen_height {
            return Err("pictures larger than the screen".to_owned());
        }
        Ok(())
    }

    /// The pictures' scale as a percentage of the screen's width (100 when not scaled).
    pub fn scale_percent(&self) -> u32 {
        let percent = u64::from(self.frame_width) * 100 / u64::from(self.screen_width.max(1));
        u32::try_from(percent).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quality(frame_width: u32, frame_height: u32) -> VideoQuality {
        VideoQuality {
            screen_width: 1920,
            screen_height: 1080,
            frame_width,
            frame_height,
            bitrate_bps: 1_000_000,
            frame_rate_hz: 15,
            preference: QualityPreference::Speed,
        }
    }

    #[test]
    fn scaled_pictures_are_valid_and_larger_ones_are_not() {
        assert_eq!(quality(1920, 1080).validate(), Ok(()));
        assert_eq!(quality(1280, 720).scale_percent(), 66);
        assert_eq!(quality(960, 540).scale_percent(), 50);
        assert!(quality(1921, 1080).validate().is_err());
        assert!(quality(0, 1080).validate().is_err());
    }

    #[test]
    fn preferences_parse_from_their_names() {
        for preference in [QualityPreference::Quality, QualityPreference::Speed] {
            assert_eq!(preference.name().parse(), Ok(preference));
        }
        assert!("fast".parse::<QualityPreference>().is_err());
    }
}
