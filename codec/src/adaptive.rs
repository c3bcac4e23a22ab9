//! Content-adaptive choice between screen-content and camera tuning.
//!
//! Large changed areas alone do not mean video: scrolling a terminal changes almost
//! every tile each frame too, and that is exactly where screen-content coding shines
//! (small P frames, sharp glyphs). What sets video apart is that the changed pixels
//! look like a photograph: neighbouring pixels are almost never exactly equal,
//! whereas text and UI consist mostly of flat runs. The classifier therefore tracks
//! two cheap measures per frame, the changed-area fraction (from [`Changes`]) and the
//! fraction of horizontally equal neighbours inside the changed area (sampled every
//! eighth row), and switches with hysteresis: to camera mode after a run of frames
//! that are both mostly changed and photographic, back to screen mode after a longer
//! run of frames that are not.

use crate::change::Changes;
use crate::encode::ContentMode;
use crate::frame::{BYTES_PER_PIXEL, BgraFrame};

/// Thresholds of a [`ContentClassifier`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassifierConfig {
    /// A frame counts as "full motion" when at least this fraction of it changed.
    pub min_changed_fraction: f64,
    /// ... and when fewer than this fraction of sampled neighbouring pixels in the
    /// changed area are exactly equal (photographic rather than text/UI).
    pub max_flat_fraction: f64,
    /// Consecutive full-motion frames before switching to camera mode.
    pub frames_to_camera: u32,
    /// Consecutive other frames before switching back to screen mode.
    pub frames_to_screen: u32,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        Self {
            min_changed_fraction: 0.3,
            max_flat_fraction: 0.5,
            frames_to_camera: 8,
            frames_to_screen: 30,
        }
    }
}

/// Decides per scene between [`ContentMode::Screen`] and [`ContentMode::Camera`].
///
/// Call [`observe`](Self::observe) for every captured frame, unchanged ones included
/// (they count as "not video"), and pass the returned mode to
/// [`crate::Encoder::set_content_mode`]. The classifier starts in screen mode.
#[derive(Debug, Clone)]
pub struct ContentClassifier {
    config: ClassifierConfig,
    mode: ContentMode,
    streak: u32,
}

impl Default for ContentClassifier {
    fn default() -> Self {
        Self::new(ClassifierConfig::default())
    }
}

/// Sample every n-th row of the changed area for the flatness measure.
const ROW_STEP: usize = 8;

impl ContentClassifier {
    /// A classifier in screen mode.
    #[must_use]
    pub fn new(config: ClassifierConfig) -> Self {
        Self {
            config,
            mode: ContentMode::Screen,
            streak: 0,
        }
    }

    /// The current decision.
    #[must_use]
    pub fn mode(&self) -> ContentMode {
        self.mode
    }

    /// Records one frame and its changes; returns the mode to encode it with.
    pub fn observe(&mut self, frame: &BgraFrame<'_>, changes: &Changes) -> ContentMode {
        let full_motion = self.is_full_motion(frame, changes);
        let (wanted, needed) = match self.mode {
            ContentMode::Screen => (full_motion, self.config.frames_to_camera),
            ContentMode::Camera => (!full_motion, self.config.frames_to_screen),
        };
        if wanted {
            self.streak += 1;
            if self.streak >= needed {
                self.mode = match self.mode {
                    ContentMode::Screen => ContentMode::Camera,
                    ContentMode::Camera => ContentMode::Screen,
                };
                self.streak = 0;
            }
        } else {
            self.streak = 0;
        }
        self.mode
    }

    fn is_full_motion(&self, frame: &BgraFrame<'_>, changes: &Changes) -> bool {
        let area = f64::from(frame.width()) * f64::from(frame.height());
        let changed = changes.changed_area() as f64 / area;
        changed >= self.config.min_changed_fraction
            && flat_fraction(frame, changes) < self.config.max_flat_fraction
    }
}

/// Fraction of sampled pixels in the changed rectangles that equal their left neighbour.
fn flat_fraction(frame: &BgraFrame<'_>, changes: &Changes) -> f64 {
    let (mut equal, mut total) = (0usize, 0usize);
    for rect in changes.rects() {
        let from = rect.x as usize * BYTES_PER_PIXEL;
        let to = (rect.x + rect.width) as usize * BYTES_PER_PIXEL;
        for y in (rect.y..rect.y + rect.height).step_by(ROW_STEP) {
            let Some(pixels) = frame.row(y).get(from..to) else {
                continue;
            };
            let (left, right) = (pixels.chunks_exact(4), pixels.chunks_exact(4).skip(1));
            equal += left.zip(right).filter(|(a, b)| a == b).count();
            total += (rect.width as usize).saturating_sub(1);
        }
    }
    if total == 0 {
        1.0
    } else {
        equal as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{OwnedBgraFrame, Rect};

    fn whole(frame: &OwnedBgraFrame) -> Changes {
        Changes::Changed(vec![Rect {
            x: 0,
            y: 0,
            width: frame.width(),
            height: frame.height(),
        }])
    }

    fn noisy(seed: u32) -> OwnedBgraFrame {
        let mut frame = OwnedBgraFrame::new(64, 64).unwrap();
        let mut state = seed.wrapping_mul(2_654_435_761).max(1);
        for byte in frame.data_mut() {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *byte = state as u8;
        }
        frame
    }

    fn text_like() -> OwnedBgraFrame {
        let mut frame = OwnedBgraFrame::from_vec(vec![255; 64 * 64 * 4], 64, 64).unwrap();
        for y in (0..64).step_by(4) {
            for x in (0..64).step_by(10) {
                frame.set_pixel(x, y, [0, 0, 0, 255]);
            }
        }
        frame
    }

    #[test]
    fn full_motion_photographic_content_switches_to_camera_after_a_run() {
        let mut classifier = ContentClassifier::default();
        for i in 0..7 {
            let frame = noisy(i + 1);
            assert_eq!(
                classifier.observe(&frame.as_frame(), &whole(&frame)),
                ContentMode::Screen
            );
        }
        let frame = noisy(100);
        assert_eq!(
            classifier.observe(&frame.as_frame(), &whole(&frame)),
            ContentMode::Camera
        );
    }

    #[test]
    fn scrolling_text_stays_in_screen_mode() {
        let mut classifier = ContentClassifier::default();
        let frame = text_like();
        for _ in 0..100 {
            assert_eq!(
                classifier.observe(&frame.as_frame(), &whole(&frame)),
                ContentMode::Screen
            );
        }
    }

    #[test]
    fn small_changes_do_not_count_and_camera_mode_has_hysteresis() {
        let mut classifier = ContentClassifier::default();
        let frame = noisy(7);
        let small = Changes::Changed(vec![Rect {
            x: 0,
            y: 0,
            width: 16,
            height: 16,
        }]);
        for _ in 0..50 {
            assert_eq!(
                classifier.observe(&frame.as_frame(), &small),
                ContentMode::Screen
            );
        }
        for _ in 0..8 {
            classifier.observe(&frame.as_frame(), &whole(&frame));
        }
        assert_eq!(classifier.mode(), ContentMode::Camera);
        // One still frame does not switch back; 30 in a row do.
        assert_eq!(
            classifier.observe(&frame.as_frame(), &Changes::Unchanged),
            ContentMode::Camera
        );
        classifier.observe(&frame.as_frame(), &whole(&frame));
        for _ in 0..29 {
            assert_eq!(
                classifier.observe(&frame.as_frame(), &Changes::Unchanged),
                ContentMode::Camera
            );
        }
        assert_eq!(
            classifier.observe(&frame.as_frame(), &Changes::Unchanged),
            ContentMode::Screen
        );
    }

    #[test]
    fn flatness_separates_text_from_noise() {
        let text = text_like();
        let noise = noisy(3);
        assert!(flat_fraction(&text.as_frame(), &whole(&text)) > 0.7);
        assert!(flat_fraction(&noise.as_frame(), &whole(&noise)) < 0.05);
        assert_eq!(flat_fraction(&noise.as_frame(), &Changes::Unchanged), 1.0);
    }
}
