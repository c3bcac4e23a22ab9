//! Where the remote picture lies in the window, and which remote pixel lies under a
//! window position. Pure functions, so the mapping is tested without a window.

use egui::{Pos2, Rect, Vec2, pos2, vec2};

/// How the remote picture is scaled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ScaleMode {
    /// As large as the window allows, aspect kept, centred (letterboxed).
    #[default]
    Fit,
    /// One remote pixel on one physical screen pixel; scroll to see the rest.
    Actual,
}

/// A remote screen position, in remote pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemotePoint {
    /// Column, `0..width`.
    pub x: u32,
    /// Row, `0..height`.
    pub y: u32,
}

/// The remote picture's place in the window: where its pixel (0, 0) is and how many
/// window points one remote pixel covers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    /// Window position (points) of the top-left corner of remote pixel (0, 0). In 1:1
    /// mode with scrolling this lies above/left of the visible area.
    pub origin: Pos2,
    /// Window points per remote pixel (the scale).
    pub points_per_pixel: f32,
    /// Remote screen size in pixels.
    pub remote_size: [u32; 2],
}

impl Placement {
    /// The picture placed to fit `area`, aspect ratio kept, centred (bars on the two
    /// sides that have room left).
    pub fn fit(area: Rect, remote_size: [u32; 2]) -> Self {
        let [width, height] = remote_size.map(|side| side.max(1) as f32);
        let scale = (area.width() / width).min(area.height() / height).max(0.0);
        let size = vec2(width * scale, height * scale);
        Self {
            origin: area.center() - size / 2.0,
            points_per_pixel: scale,
            remote_size,
        }
    }

    /// The picture at one remote pixel per physical pixel, its top-left at the top-left
    /// of `area`, moved by `scroll` (points, positive: content moved up/left). The origin
    /// is snapped to whole physical pixels so the picture stays sharp.
    pub fn actual(area: Rect, remote_size: [u32; 2], pixels_per_point: f32, scroll: Vec2) -> Self {
        let pixels_per_point = if pixels_per_point > 0.0 {
            pixels_per_point
        } else {
            1.0
        };
        let origin = area.min - scroll;
        let snap = |v: f32| (v * pixels_per_point).round() / pixels_per_point;
        Self {
            origin: pos2(snap(origin.x), snap(origin.y)),
            points_per_pixel: 1.0 / pixels_per_point,
            remote_size,
        }
    }

    /// The whole picture's rectangle in window points (parts may lie outside the view).
    pub fn rect(&self) -> Rect {
        let [width, height] = self.remote_size;
        Rect::from_min_size(
            self.origin,
            vec2(width as f32, height as f32) * self.points_per_pixel,
        )
    }

    /// The remote pixel under window position `pos`, clamped to the remote screen (so a
    /// drag past the edge stays on the edge). `None` only for an empty remote screen or
    /// a degenerate scale.
    pub fn to_remote(&self, pos: Pos2) -> Option<RemotePoint> {
        let [width, height] = self.remote_size;
        if width == 0 || height == 0 || self.points_per_pixel <= 0.0 {
            return None;
        }
        let relative = (pos - self.origin) / self.points_per_pixel;
        let clamp = |value: f32, size: u32| -> u32 {
            if value.is_nan() || value < 0.0 {
                0
            } else {
                // `as` saturates for large floats; the `min` keeps it on the screen.
                (value.floor() as u32).min(size - 1)
            }
        };
        Some(RemotePoint {
            x: clamp(relative.x, width),
            y: clamp(relative.y, height),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(x: f32, y: f32, w: f32, h: f32) -> Rect {
        Rect::from_min_size(pos2(x, y), vec2(w, h))
    }

    #[test]
    fn fit_letterboxes_a_wide_screen_in_a_tall_area() {
        // 1920x1080 into 960x1000 at y=40: scale 0.5, picture 960x540 centred vertically.
        let placement = Placement::fit(area(0.0, 40.0, 960.0, 1000.0), [1920, 1080]);
        assert_eq!(placement.points_per_pixel, 0.5);
        assert_eq!(placement.rect(), area(0.0, 270.0, 960.0, 540.0));
        assert_eq!(
            placement.to_remote(pos2(0.0, 270.0)),
            Some(RemotePoint { x: 0, y: 0 })
        );
        assert_eq!(
            placement.to_remote(pos2(480.0, 540.0)),
            Some(RemotePoint { x: 960, y: 540 })
        );
        // In the bar above the picture: clamped to the top row.
        assert_eq!(
            placement.to_remote(pos2(100.0, 100.0)),
            Some(RemotePoint { x: 200, y: 0 })
        );
    }

    #[test]
    fn fit_pillarboxes_and_scales_up() {
        // 800x600 into 1600x900: scale 1.5, picture 1200x900 with 200-point bars.
        let placement = Placement::fit(area(0.0, 0.0, 1600.0, 900.0), [800, 600]);
        assert_eq!(placement.points_per_pixel, 1.5);
        assert_eq!(placement.rect(), area(200.0, 0.0, 1200.0, 900.0));
        assert_eq!(
            placement.to_remote(pos2(200.0 + 1.5 * 10.0 + 0.1, 3.0)),
            Some(RemotePoint { x: 10, y: 2 })
        );
    }

    #[test]
    fn actual_size_follows_the_scroll_offset() {
        let placement = Placement::actual(
            area(0.0, 30.0, 800.0, 600.0),
            [1920, 1080],
            1.0,
            vec2(100.0, 50.0),
        );
        assert_eq!(placement.origin, pos2(-100.0, -20.0));
        assert_eq!(
            placement.to_remote(pos2(0.0, 30.0)),
            Some(RemotePoint { x: 100, y: 50 })
        );
        assert_eq!(
            placement.to_remote(pos2(10.5, 40.9)),
            Some(RemotePoint { x: 110, y: 60 })
        );
    }

    #[test]
    fn actual_size_on_a_hidpi_screen_uses_physical_pixels() {
        let placement =
            Placement::actual(area(0.0, 0.0, 800.0, 600.0), [1000, 1000], 2.0, Vec2::ZERO);
        assert_eq!(placement.points_per_pixel, 0.5);
        assert_eq!(
            placement.to_remote(pos2(10.0, 20.25)),
            Some(RemotePoint { x: 20, y: 40 })
        );
        assert_eq!(placement.rect().size(), vec2(500.0, 500.0));
    }

    #[test]
    fn actual_size_snaps_to_whole_pixels() {
        let placement = Placement::actual(area(0.0, 30.4, 800.0, 600.0), [64, 64], 1.0, Vec2::ZERO);
        assert_eq!(placement.origin, pos2(0.0, 30.0));
    }

    #[test]
    fn positions_outside_are_clamped_to_the_remote_screen() {
        let placement =
            Placement::actual(area(0.0, 0.0, 100.0, 100.0), [1280, 720], 1.0, Vec2::ZERO);
        assert_eq!(
            placement.to_remote(pos2(-50.0, -1.0)),
            Some(RemotePoint { x: 0, y: 0 })
        );
        assert_eq!(
            placement.to_remote(pos2(5000.0, 5000.0)),
            Some(RemotePoint { x: 1279, y: 719 })
        );
        assert_eq!(
            placement.to_remote(pos2(f32::NAN, 1.0e30)),
            Some(RemotePoint { x: 0, y: 719 })
        );
    }

    #[test]
    fn an_empty_remote_screen_maps_nowhere() {
        let placement = Placement::fit(area(0.0, 0.0, 100.0, 100.0), [0, 0]);
        assert_eq!(placement.to_remote(pos2(1.0, 1.0)), None);
    }
}
