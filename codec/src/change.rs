//! Change detection: which tiles of a frame differ from the previous frame.
//!
//! The detector keeps its own packed copy of the last frame. An unchanged frame costs
//! one `memcmp` per row (rows are compared whole first, tile by tile only when they
//! differ); changed tiles are copied into the reference as they are found, so the
//! reference always equals the last frame seen.

use std::num::NonZeroU32;

use crate::frame::{BYTES_PER_PIXEL, BgraFrame, Rect};

/// Default tile edge in pixels: large enough to keep the rectangle list short, small
/// enough that a blinking cursor costs one small rectangle.
pub const DEFAULT_TILE_SIZE: u32 = 64;

/// Result of comparing a frame with the previous one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changes {
    /// Identical to the previous frame: nothing to encode or send.
    Unchanged,
    /// These rectangles (tile-aligned, clipped to the frame, not overlapping) changed.
    Changed(Vec<Rect>),
}

impl Changes {
    /// Whether anything changed.
    #[must_use]
    pub fn is_changed(&self) -> bool {
        matches!(self, Self::Changed(_))
    }

    /// The changed rectangles (empty when unchanged).
    #[must_use]
    pub fn rects(&self) -> &[Rect] {
        match self {
            Self::Unchanged => &[],
            Self::Changed(rects) => rects,
        }
    }

    /// Total changed area in pixels.
    #[must_use]
    pub fn changed_area(&self) -> u64 {
        self.rects().iter().map(Rect::area).sum()
    }
}

/// Compares each frame with the previous one, tile by tile.
#[derive(Debug)]
pub struct ChangeDetector {
    tile: u32,
    reference: Vec<u8>,
    width: u32,
    height: u32,
    has_reference: bool,
    /// Scratch: per tile column, whether it changed in the current band.
    dirty: Vec<bool>,
}

impl Default for ChangeDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl ChangeDetector {
    /// A detector with [`DEFAULT_TILE_SIZE`] tiles.
    #[must_use]
    pub fn new() -> Self {
        Self::with_tile_size(NonZeroU32::MIN.saturating_add(DEFAULT_TILE_SIZE - 1))
    }

    /// A detector with square tiles of `tile` pixels.
    #[must_use]
    pub fn with_tile_size(tile: NonZeroU32) -> Self {
        Self {
            tile: tile.get(),
            reference: Vec::new(),
            width: 0,
            height: 0,
            has_reference: false,
            dirty: Vec::new(),
        }
    }

    /// Tile edge in pixels.
    #[must_use]
    pub fn tile_size(&self) -> u32 {
        self.tile
    }

    /// Forgets the previous frame: the next frame is reported as changed everywhere
    /// (for example after the viewer asked for a keyframe).
    pub fn reset(&mut self) {
        self.has_reference = false;
    }

    /// Compares `frame` with the previous frame and remembers it for the next call.
    ///
    /// The first frame, and any frame whose size differs from the previous one, is
    /// reported as one rectangle covering the whole frame.
    pub fn detect(&mut self, frame: &BgraFrame<'_>) -> Changes {
        let (width, height) = (frame.width(), frame.height());
        let row_bytes = width as usize * BYTES_PER_PIXEL;
        if !self.has_reference || width != self.width || height != self.height {
            self.reference.clear();
            self.reference.reserve(row_bytes * height as usize);
            for y in 0..height {
                self.reference.extend_from_slice(frame.row(y));
            }
            self.width = width;
            self.height = height;
            self.has_reference = true;
            return Changes::Changed(vec![Rect {
                x: 0,
                y: 0,
                width,
                height,
            }]);
        }

        let tile = self.tile;
        let tile_bytes = tile as usize * BYTES_PER_PIXEL;
        let columns = width.div_ceil(tile) as usize;
        let mut rects: Vec<Rect> = Vec::new();
        // Rectangles of the previous band, extended downwards while the next band has
        // a run with the same horizontal span.
        let mut open: Vec<usize> = Vec::new();

        let mut band_top = 0;
        while band_top < height {
            let band_height = tile.min(height - band_top);
            self.dirty.clear();
            self.dirty.resize(columns, false);
            let mut any_dirty = false;
            for y in band_top..band_top + band_height {
                let current = frame.row(y);
                let start = y as usize * row_bytes;
                let Some(previous) = self.reference.get_mut(start..start + row_bytes) else {
                    continue;
                };
                if !any_dirty && previous == current {
                    continue;
                }
                for (column, dirty) in self.dirty.iter_mut().enumerate() {
                    let from = column * tile_bytes;
                    let to = (from + tile_bytes).min(row_bytes);
                    let (old, new) = (&mut previous[from..to], &current[from..to]);
                    if *dirty {
                        old.copy_from_slice(new);
                    } else if old != new {
                        old.copy_from_slice(new);
                        *dirty = true;
                        any_dirty = true;
                    }
                }
            }
            if any_dirty {
                open = self.merge_band(band_top, band_height, &mut rects, &open);
            } else {
                open.clear();
            }
            band_top += band_height;
        }

        if rects.is_empty() {
            Changes::Unchanged
        } else {
            Changes::Changed(rects)
        }
    }

    /// Turns the dirty columns of one band into horizontal runs, growing a rectangle
    /// of the band above when a run has exactly its span. Returns the indices of the
    /// rectangles that touch this band's bottom edge.
    fn merge_band(
        &self,
        top: u32,
        band_height: u32,
        rects: &mut Vec<Rect>,
        open: &[usize],
    ) -> Vec<usize> {
        let mut touching = Vec::new();
        let mut column = 0;
        while column < self.dirty.len() {
            if !self.dirty[column] {
                column += 1;
                continue;
            }
            let first = column;
            while column < self.dirty.len() && self.dirty[column] {
                column += 1;
            }
            let x = first as u32 * self.tile;
            let run_width = (column as u32 * self.tile).min(self.width) - x;
            let above = open
                .iter()
                .copied()
                .find(|&i| rects[i].x == x && rects[i].width == run_width);
            match above {
                Some(i) => {
                    rects[i].height += band_height;
                    touching.push(i);
                }
                None => {
                    touching.push(rects.len());
                    rects.push(Rect {
                        x,
                        y: top,
                        width: run_width,
                        height: band_height,
                    });
                }
            }
        }
        touching
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::OwnedBgraFrame;

    fn tile(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    fn patterned(width: u32, height: u32) -> OwnedBgraFrame {
        let mut frame = OwnedBgraFrame::new(width, height).unwrap();
        for (i, byte) in frame.data_mut().iter_mut().enumerate() {
            *byte = (i * 7 % 251) as u8;
        }
        frame
    }

    #[test]
    fn first_frame_is_fully_changed_then_unchanged() {
        let frame = patterned(100, 50);
        let mut detector = ChangeDetector::with_tile_size(tile(16));
        assert_eq!(
            detector.detect(&frame.as_frame()),
            Changes::Changed(vec![Rect {
                x: 0,
                y: 0,
                width: 100,
                height: 50
            }])
        );
        assert_eq!(detector.detect(&frame.as_frame()), Changes::Unchanged);
        detector.reset();
        assert!(detector.detect(&frame.as_frame()).is_changed());
    }

    #[test]
    fn one_pixel_change_is_found_in_its_tile() {
        let mut frame = patterned(1920, 1080);
        let mut detector = ChangeDetector::new();
        detector.detect(&frame.as_frame());
        frame.set_pixel(1000, 700, [1, 2, 3, 4]);
        let changes = detector.detect(&frame.as_frame());
        assert_eq!(
            changes,
            Changes::Changed(vec![Rect {
                x: 960,
                y: 640,
                width: 64,
                height: 64
            }])
        );
        assert_eq!(changes.changed_area(), 64 * 64);
        // The reference now holds the change: the same frame again is unchanged.
        assert_eq!(detector.detect(&frame.as_frame()), Changes::Unchanged);
    }

    #[test]
    fn edge_tiles_are_clipped_and_runs_merge() {
        let mut frame = patterned(70, 40);
        let mut detector = ChangeDetector::with_tile_size(tile(16));
        detector.detect(&frame.as_frame());
        // Bottom-right corner pixel: clipped edge tile.
        frame.set_pixel(69, 39, [9, 9, 9, 9]);
        assert_eq!(
            detector.detect(&frame.as_frame()).rects(),
            &[Rect {
                x: 64,
                y: 32,
                width: 6,
                height: 8
            }]
        );
        // A horizontal line across two tile rows and all columns: one rectangle.
        for x in 0..70 {
            frame.set_pixel(x, 15, [0, 0, 0, 0]);
            frame.set_pixel(x, 16, [0, 0, 0, 0]);
        }
        assert_eq!(
            detector.detect(&frame.as_frame()).rects(),
            &[Rect {
                x: 0,
                y: 0,
                width: 70,
                height: 32
            }]
        );
    }

    #[test]
    fn separate_changes_give_separate_rects() {
        let mut frame = patterned(64, 64);
        let mut detector = ChangeDetector::with_tile_size(tile(16));
        detector.detect(&frame.as_frame());
        frame.set_pixel(1, 1, [0; 4]);
        frame.set_pixel(40, 50, [0; 4]);
        let changes = detector.detect(&frame.as_frame());
        assert_eq!(changes.rects().len(), 2);
        assert!(changes.rects()[0].contains(1, 1));
        assert!(changes.rects()[1].contains(40, 50));
    }

    #[test]
    fn strided_frames_compare_pixels_not_padding() {
        let mut data = vec![0u8; 8 * 4 + 16];
        let mut detector = ChangeDetector::with_tile_size(tile(2));
        detector.detect(&BgraFrame::new(&data, 2, 4, 12).unwrap());
        // Change padding bytes only.
        data[8] = 255;
        assert_eq!(
            detector.detect(&BgraFrame::new(&data, 2, 4, 12).unwrap()),
            Changes::Unchanged
        );
    }

    #[test]
    fn size_change_reports_full_frame() {
        let mut detector = ChangeDetector::new();
        detector.detect(&patterned(32, 32).as_frame());
        let changes = detector.detect(&patterned(16, 32).as_frame());
        assert_eq!(changes.changed_area(), 16 * 32);
    }
}
