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
//!
//! Camera coding is not better per bit. Measured with openh264 on the shared bench's
//! recorded clips and on grainy synthetic video (`examples/adaptive.rs`, table in the
//! crate README), screen-content coding gives the same or a better picture for the
//! same bits on every workload; camera coding only turns a generous bitrate into a
//! better video picture (+1 dB at 4 Mbit/s on 1080p30 video), where screen coding
//! stops at what it needs. On a slow link camera coding loses (-2.7 dB at
//! 1.5 Mbit/s). So the classifier also needs a budget: camera mode only while the
//! bitrate gives at least [`ClassifierConfig::min_camera_bits_per_pixel`], and back to
//! screen mode when it falls well below.

use crate::change::Changes;
use crate::encode::ContentMode;
use crate::frame::{BYTES_PER_PIXEL, BgraFrame};

/// Thresholds of a [`ContentClassifier`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassifierConfig {
    /// A frame counts as video when at least this fraction of it changed...
    pub min_changed_fraction: f64,
    /// ... and fewer than this fraction of sampled neighbouring pixels in the
    /// changed area are exactly equal (photographic rather than text/UI).
    pub max_flat_fraction: f64,
    /// A changed frame counts as text or UI when at least this fraction of its
    /// sampled neighbours are equal.
    pub min_text_flat_fraction: f64,
    /// Camera mode only while the bitrate allows at least this many bits per pixel
    /// and frame (0.05 is 3.1 Mbit/s at 1920x1080, 30 fps); it ends when the budget
    /// falls below [`CAMERA_BUDGET_EXIT`] times this.
    pub min_camera_bits_per_pixel: f64,
    /// Consecutive video frames (within budget) before switching to camera mode.
    pub frames_to_camera: u32,
    /// Consecutive other frames before switching back to screen mode.
    pub frames_to_screen: u32,
    /// ... or consecutive text frames: text in camera mode is where camera coding
    /// costs most (blurred glyphs, several times the bits), so it ends sooner.
    pub text_frames_to_screen: u32,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        Self {
            min_changed_fraction: 0.3,
            max_flat_fraction: 0.5,
            min_text_flat_fraction: 0.8,
            min_camera_bits_per_pixel: 0.05,
            frames_to_camera: 8,
            frames_to_screen: 30,
            text_frames_to_screen: 3,
        }
    }
}

/// Camera mode lasts while the budget stays above this fraction of
/// [`ClassifierConfig::min_camera_bits_per_pixel`], so that a bitrate wavering around
/// the threshold does not switch modes (each switch starts a new stream with a
/// keyframe).
pub const CAMERA_BUDGET_EXIT: f64 = 0.7;

/// What a frame looks like to the classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scene {
    /// Most of the screen changed, and photographic.
    Video,
    /// The changes are flat runs: text, UI.
    Text,
    /// Unchanged, small or mixed changes.
    Other,
}

/// Decides per scene between [`ContentMode::Screen`] and [`ContentMode::Camera`].
///
/// Call [`observe`](Self::observe) for every captured frame, unchanged ones included
/// (they count as "not video"), and pass the returned mode to
/// [`crate::Encoder::set_content_mode`]. Tell it the encoder's bitrate and frame
/// rate with [`set_budget`](Self::set_budget) whenever they change; until then the
/// budget is taken as ample. The classifier starts in screen mode.
#[derive(Debug, Clone)]
pub struct ContentClassifier {
    config: ClassifierConfig,
    mode: ContentMode,
    /// Consecutive frames that argue for the other mode.
    streak: u32,
    /// Consecutive text frames while in camera mode.
    text_streak: u32,
    /// Bits per second and frames per second the encoder is given (`None`: ample).
    budget: Option<(f64, f64)>,
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
            text_streak: 0,
            budget: None,
        }
    }

    /// The encoder's current target bitrate and frame rate.
    pub fn set_budget(&mut self, bitrate_bps: u32, frame_rate_hz: f64) {
        self.budget = Some((f64::from(bitrate_bps), frame_rate_hz));
    }

    /// The current decision.
    #[must_use]
    pub fn mode(&self) -> ContentMode {
        self.mode
    }

    /// Records one frame and its changes; returns the mode to encode it with.
    pub fn observe(&mut self, frame: &BgraFrame<'_>, changes: &Changes) -> ContentMode {
        let scene = self.scene(frame, changes);
        let budget = self.bits_per_pixel(frame);
        let floor = self.config.min_camera_bits_per_pixel;
        let switch = match self.mode {
            ContentMode::Screen => {
                let wanted = scene == Scene::Video && budget >= floor;
                self.streak = if wanted { self.streak + 1 } else { 0 };
                self.streak >= self.config.frames_to_camera
            }
            ContentMode::Camera => {
                let leave = scene != Scene::Video || budget < floor * CAMERA_BUDGET_EXIT;
                self.streak = if leave { self.streak + 1 } else { 0 };
                self.text_streak = if scene == Scene::Text {
                    self.text_streak + 1
                } else {
                    0
                };
                self.streak >= self.config.frames_to_screen
                    || self.text_streak >= self.config.text_frames_to_screen
            }
        };
        if switch {
            self.mode = match self.mode {
                ContentMode::Screen => ContentMode::Camera,
                ContentMode::Camera => ContentMode::Screen,
            };
            self.streak = 0;
            self.text_streak = 0;
        }
        self.mode
    }

    /// Bits the budget allows per pixel of `frame` and per frame.
    fn bits_per_pixel(&self, frame: &BgraFrame<'_>) -> f64 {
        let pixels = f64::from(frame.width()) * f64::from(frame.height());
        match self.budget {
            Some((bitrate, frame_rate)) if frame_rate > 0.0 && pixels > 0.0 => {
                bitrate / frame_rate / pixels
            }
            _ => f64::INFINITY,
        }
    }

    fn scene(&self, frame: &BgraFrame<'_>, changes: &Changes) -> Scene {
        if !changes.is_changed() {
            return Scene::Other;
        }
        let area = f64::from(frame.width()) * f64::from(frame.height());
        let changed = changes.changed_area() as f64 / area;
        let flat = flat_fraction(frame, changes);
        if changed >= self.config.min_changed_fraction && flat < self.config.max_flat_fraction {
            Scene::Video
        } else if flat >= self.config.min_text_flat_fraction {
            Scene::Text
        } else {
            Scene::Other
        }
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
            for x in (0..64).step_by(16) {
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
    fn a_tight_budget_keeps_video_in_screen_mode() {
        let mut classifier = ContentClassifier::default();
        let frame = noisy(5);
        // 64x64 at 30 fps: 0.04 bits per pixel, below the 0.05 floor.
        classifier.set_budget(4_915, 30.0);
        for _ in 0..50 {
            assert_eq!(
                classifier.observe(&frame.as_frame(), &whole(&frame)),
                ContentMode::Screen
            );
        }
        // 0.06 bits per pixel: camera mode after the usual run.
        classifier.set_budget(7_373, 30.0);
        for _ in 0..7 {
            classifier.observe(&frame.as_frame(), &whole(&frame));
        }
        assert_eq!(
            classifier.observe(&frame.as_frame(), &whole(&frame)),
            ContentMode::Camera
        );
        // Just under the floor but above the exit line: camera mode stays.
        classifier.set_budget(5_530, 30.0);
        for _ in 0..50 {
            assert_eq!(
                classifier.observe(&frame.as_frame(), &whole(&frame)),
                ContentMode::Camera
            );
        }
        // Well under (0.03): back to screen mode after the usual run.
        classifier.set_budget(3_686, 30.0);
        for _ in 0..29 {
            classifier.observe(&frame.as_frame(), &whole(&frame));
        }
        assert_eq!(
            classifier.observe(&frame.as_frame(), &whole(&frame)),
            ContentMode::Screen
        );
    }

    #[test]
    fn text_after_video_leaves_camera_mode_within_three_frames() {
        let mut classifier = ContentClassifier::default();
        let video = noisy(9);
        for _ in 0..8 {
            classifier.observe(&video.as_frame(), &whole(&video));
        }
        assert_eq!(classifier.mode(), ContentMode::Camera);
        let text = text_like();
        for _ in 0..2 {
            assert_eq!(
                classifier.observe(&text.as_frame(), &whole(&text)),
                ContentMode::Camera
            );
        }
        assert_eq!(
            classifier.observe(&text.as_frame(), &whole(&text)),
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
