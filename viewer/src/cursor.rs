//! The agent's pointer as the viewer draws it over the picture: its image (sent when
//! it changes), its position (sent in datagrams) and the monitor it is on.
//!
//! Positions and images come in pixels of the agent's monitor; a picture shown at
//! another size than the monitor (sent smaller on a slow link, or scaled to the
//! window) scales both by `picture width / monitor width`. Until the agent has sent an
//! image, a plain arrow stands in for it.

use lifeline_protocol::message::{CursorImage, MonitorList};

use crate::link::{Update, VideoFrame};

/// What the viewer knows about the agent's pointer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteCursor {
    image: Option<CursorImage>,
    position: Option<(i32, i32)>,
    visible: bool,
    monitor_size: Option<(u32, u32)>,
}

/// Where the pointer image goes on a picture, in picture pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CursorPlacement {
    /// Left edge of the image.
    pub left: f32,
    /// Top edge of the image.
    pub top: f32,
    /// Picture pixels per image pixel.
    pub scale: f32,
}

impl RemoteCursor {
    /// Takes what an update says about the pointer or the monitors; returns whether
    /// anything changed.
    pub fn apply(&mut self, update: &Update) -> bool {
        let before = self.clone();
        match update {
            Update::Monitors(list) => self.monitor_size = monitor_size(list),
            Update::CursorImage(image) => self.image = Some(image.clone()),
            Update::Cursor { x, y, visible } => {
                self.position = Some((*x, *y));
                self.visible = *visible;
            }
            _ => {}
        }
        *self != before
    }

    /// The pointer's hot spot in monitor pixels, and whether it is on the monitor shown.
    pub fn position(&self) -> Option<(i32, i32, bool)> {
        self.position.map(|(x, y)| (x, y, self.visible))
    }

    /// The image to draw: the agent's, or a plain arrow until it has sent one.
    pub fn image(&self) -> &CursorImage {
        self.image.as_ref().unwrap_or_else(|| default_arrow())
    }

    /// Whether the agent has sent an image.
    pub fn has_agent_image(&self) -> bool {
        self.image.is_some()
    }

    /// Where to draw the image on a picture of `picture_width` pixels, if the pointer
    /// is on the monitor shown.
    pub fn placement(&self, picture_width: u32) -> Option<CursorPlacement> {
        let (x, y) = self.position.filter(|_| self.visible)?;
        let scale = match self.monitor_size {
            Some((width, _)) if width > 0 => picture_width as f32 / width as f32,
            _ => 1.0,
        };
        let image = self.image();
        Some(CursorPlacement {
            left: (x as f32 - image.hot_x as f32) * scale,
            top: (y as f32 - image.hot_y as f32) * scale,
            scale,
        })
    }

    /// Draws the pointer into `frame` (premultiplied "over", nearest-neighbour scaling).
    pub fn draw_into(&self, frame: &mut VideoFrame) {
        let Some(placement) = self.placement(frame.width) else {
            return;
        };
        let image = self.image();
        let (width, height) = (frame.width as usize, frame.height as usize);
        if frame.rgba.len() != width * height * 4 || placement.scale <= 0.0 {
            return;
        }
        let drawn_width = (image.width as f32 * placement.scale).ceil() as i64;
        let drawn_height = (image.height as f32 * placement.scale).ceil() as i64;
        let (left, top) = (placement.left.round() as i64, placement.top.round() as i64);
        for dy in 0..drawn_height {
            let row = top + dy;
            if row < 0 || row >= height as i64 {
                continue;
            }
            let source_row = ((dy as f32 / placement.scale) as u32).min(image.height - 1);
            for dx in 0..drawn_width {
                let column = left + dx;
                if column < 0 || column >= width as i64 {
                    continue;
                }
                let source_column = ((dx as f32 / placement.scale) as u32).min(image.width - 1);
                let source = ((source_row * image.width + source_column) * 4) as usize;
                let Some(pixel) = image.rgba.get(source..source + 4) else {
                    continue;
                };
                let target = (row as usize * width + column as usize) * 4;
                let alpha = u16::from(pixel[3]);
                for (below, &over) in frame.rgba[target..target + 3].iter_mut().zip(pixel) {
                    let blended = u16::from(over) + u16::from(*below) * (255 - alpha) / 255;
                    *below = blended.min(255) as u8;
                }
            }
        }
    }
}

fn monitor_size(list: &MonitorList) -> Option<(u32, u32)> {
    list.selected_monitor().map(|m| (m.width, m.height))
}

/// A 12x19 arrow, black with a white border, hot spot at its tip.
pub fn default_arrow() -> &'static CursorImage {
    static ARROW: std::sync::OnceLock<CursorImage> = std::sync::OnceLock::new();
    ARROW.get_or_init(|| {
        const ROWS: [&str; 19] = [
            "X           ",
            "XX          ",
            "X.X         ",
            "X..X        ",
            "X...X       ",
            "X....X      ",
            "X.....X     ",
            "X......X    ",
            "X.......X   ",
            "X........X  ",
            "X.........X ",
            "X......XXXXX",
            "X...X..X    ",
            "X..XX..X    ",
            "X.X  X..X   ",
            "XX   X..X   ",
            "X     X..X  ",
            "      X..X  ",
            "       XX   ",
        ];
        let rgba = ROWS
            .iter()
            .flat_map(|row| row.bytes())
            .flat_map(|cell| match cell {
                b'X' => [255, 255, 255, 255],
                b'.' => [0, 0, 0, 255],
                _ => [0, 0, 0, 0],
            })
            .collect();
        CursorImage {
            width: 12,
            height: 19,
            hot_x: 0,
            hot_y: 0,
            rgba,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifeline_protocol::message::MonitorInfo;

    fn frame(width: u32, height: u32) -> VideoFrame {
        VideoFrame {
            width,
            height,
            rgba: vec![0; (width * height * 4) as usize],
            sequence: 0,
        }
    }

    fn pixel(frame: &VideoFrame, x: u32, y: u32) -> [u8; 4] {
        let at = ((y * frame.width + x) * 4) as usize;
        frame.rgba[at..at + 4].try_into().unwrap()
    }

    fn white_square(side: u32, hot: u32) -> CursorImage {
        CursorImage {
            width: side,
            height: side,
            hot_x: hot,
            hot_y: hot,
            rgba: vec![255; (side * side * 4) as usize],
        }
    }

    fn monitors(width: u32) -> Update {
        Update::Monitors(MonitorList {
            monitors: vec![MonitorInfo {
                name: "m".to_owned(),
                x: 0,
                y: 0,
                width,
                height: width / 2,
                primary: true,
            }],
            selected: 0,
        })
    }

    #[test]
    fn the_pointer_is_drawn_with_its_hot_spot_at_the_position() {
        let mut cursor = RemoteCursor::default();
        assert!(cursor.apply(&Update::CursorImage(white_square(4, 1))));
        assert!(cursor.apply(&Update::Cursor {
            x: 10,
            y: 5,
            visible: true
        }));
        let mut picture = frame(32, 16);
        cursor.draw_into(&mut picture);
        assert_eq!(
            pixel(&picture, 9, 4),
            [255, 255, 255, 0],
            "top-left of image"
        );
        assert_eq!(pixel(&picture, 12, 7), [255, 255, 255, 0], "bottom-right");
        assert_eq!(pixel(&picture, 13, 8), [0, 0, 0, 0], "outside");
        assert_eq!(pixel(&picture, 8, 4), [0, 0, 0, 0], "outside");
    }

    #[test]
    fn a_smaller_picture_scales_position_and_image() {
        let mut cursor = RemoteCursor::default();
        cursor.apply(&monitors(64));
        cursor.apply(&Update::CursorImage(white_square(4, 0)));
        cursor.apply(&Update::Cursor {
            x: 20,
            y: 10,
            visible: true,
        });
        let placement = cursor.placement(32).unwrap();
        assert_eq!(
            (placement.left, placement.top, placement.scale),
            (10.0, 5.0, 0.5)
        );
        let mut picture = frame(32, 16);
        cursor.draw_into(&mut picture);
        assert_eq!(pixel(&picture, 11, 6)[0], 255);
        assert_eq!(pixel(&picture, 12, 7)[0], 0, "4 image pixels are 2 here");
    }

    #[test]
    fn an_invisible_or_unplaced_pointer_draws_nothing() {
        let mut cursor = RemoteCursor::default();
        let mut picture = frame(8, 8);
        cursor.draw_into(&mut picture);
        cursor.apply(&Update::Cursor {
            x: 2,
            y: 2,
            visible: false,
        });
        cursor.draw_into(&mut picture);
        assert!(picture.rgba.iter().all(|&b| b == 0));
        // Before an image arrives, the arrow stands in; off the edge is clipped.
        cursor.apply(&Update::Cursor {
            x: 6,
            y: 6,
            visible: true,
        });
        assert!(!cursor.has_agent_image());
        cursor.draw_into(&mut picture);
        assert_eq!(pixel(&picture, 6, 6), [255, 255, 255, 0], "the arrow's tip");
        assert!(!cursor.apply(&Update::Cursor {
            x: 6,
            y: 6,
            visible: true
        }));
    }
}
