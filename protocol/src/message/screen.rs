//! What the viewer needs to show the screen besides the video: which monitors there
//! are (and which one is shown), and the pointer, sent apart from the video so that a
//! pointer move costs a datagram instead of a video frame.
//!
//! - [`MonitorList`] (agent to viewer, control stream): at the start and after every
//!   change of monitors or of the one shown. The viewer asks for another one with
//!   `ControlMessage::SelectMonitor`.
//! - [`CursorImage`] (agent to viewer, control stream): the pointer's image, only when
//!   it changes.
//! - `Datagram::Cursor` (agent to viewer): where the pointer is, latest wins.
//!
//! All of it needs the view permission, and is sent only to a viewer that announced
//! `Capabilities::MULTI_MONITOR` / `Capabilities::CURSOR` in its `Hello`.

use serde::{Deserialize, Serialize};

use super::{FieldTooLong, MAX_NAME_LEN};

/// Most monitors listed.
pub const MAX_MONITORS: usize = 16;
/// Largest pointer image side, in pixels.
pub const MAX_CURSOR_SIDE: u32 = 256;

/// Agent to viewer: the monitors of the shared desktop and the one being shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorList {
    /// The monitors, primary first; a monitor's index is its place in this list.
    pub monitors: Vec<MonitorInfo>,
    /// The index of the monitor the video shows.
    pub selected: u32,
}

/// One monitor of the shared desktop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorInfo {
    /// Its name, e.g. `DP-1`.
    pub name: String,
    /// Left edge in desktop pixels.
    pub x: i32,
    /// Top edge in desktop pixels.
    pub y: i32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Whether it is the primary monitor.
    pub primary: bool,
}

impl MonitorList {
    /// The monitor shown, if `selected` is in the list.
    pub fn selected_monitor(&self) -> Option<&MonitorInfo> {
        self.monitors.get(usize::try_from(self.selected).ok()?)
    }

    pub(super) fn check_limits(&self) -> Result<(), FieldTooLong> {
        if self.monitors.len() > MAX_MONITORS {
            return Err(FieldTooLong {
                field: "monitor list",
                limit: MAX_MONITORS,
            });
        }
        for monitor in &self.monitors {
            if monitor.name.len() > MAX_NAME_LEN {
                return Err(FieldTooLong {
                    field: "monitor name",
                    limit: MAX_NAME_LEN,
                });
            }
        }
        Ok(())
    }

    /// Checks what the limits cannot: the selected monitor exists.
    pub fn validate(&self) -> Result<(), String> {
        if self.selected_monitor().is_none() {
            return Err(format!(
                "monitor {} is selected but only {} are listed",
                self.selected,
                self.monitors.len()
            ));
        }
        Ok(())
    }
}

/// Agent to viewer: the pointer's image. The viewer draws it over the video with its
/// hot spot at the position of the latest `Datagram::Cursor`, one image pixel per
/// pixel of the agent's screen.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorImage {
    /// Width in pixels (at most [`MAX_CURSOR_SIDE`]).
    pub width: u32,
    /// Height in pixels (at most [`MAX_CURSOR_SIDE`]).
    pub height: u32,
    /// Hot spot column, inside the image.
    pub hot_x: u32,
    /// Hot spot row, inside the image.
    pub hot_y: u32,
    /// Premultiplied RGBA, rows top to bottom, `width * height * 4` bytes.
    pub rgba: Vec<u8>,
}

impl std::fmt::Debug for CursorImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CursorImage")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("hot_x", &self.hot_x)
            .field("hot_y", &self.hot_y)
            .field("rgba", &format_args!("{} bytes", self.rgba.len()))
            .finish()
    }
}

impl CursorImage {
    pub(super) fn check_limits(&self) -> Result<(), FieldTooLong> {
        let limit = (MAX_CURSOR_SIDE * MAX_CURSOR_SIDE * 4) as usize;
        if self.width > MAX_CURSOR_SIDE || self.height > MAX_CURSOR_SIDE || self.rgba.len() > limit
        {
            return Err(FieldTooLong {
                field: "pointer image",
                limit,
            });
        }
        Ok(())
    }

    /// Checks what the limits cannot: the pixels fill the image exactly and the hot
    /// spot lies inside it.
    pub fn validate(&self) -> Result<(), String> {
        let expected = u64::from(self.width) * u64::from(self.height) * 4;
        if self.rgba.len() as u64 != expected {
            return Err(format!(
                "a {}x{} pointer image came with {} bytes of pixels",
                self.width,
                self.height,
                self.rgba.len()
            ));
        }
        if (self.width > 0 && self.hot_x >= self.width)
            || (self.height > 0 && self.hot_y >= self.height)
        {
            return Err(format!(
                "the pointer's hot spot ({}, {}) lies outside its {}x{} image",
                self.hot_x, self.hot_y, self.width, self.height
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monitor(name: &str) -> MonitorInfo {
        MonitorInfo {
            name: name.to_owned(),
            x: 0,
            y: 0,
            width: 800,
            height: 600,
            primary: false,
        }
    }

    #[test]
    fn a_monitor_list_must_select_a_listed_monitor() {
        let mut list = MonitorList {
            monitors: vec![monitor("A"), monitor("B")],
            selected: 1,
        };
        assert_eq!(list.validate(), Ok(()));
        assert_eq!(list.selected_monitor().map(|m| m.name.as_str()), Some("B"));
        list.selected = 2;
        assert!(list.validate().is_err());
        list.monitors = vec![monitor("x"); MAX_MONITORS + 1];
        assert!(list.check_limits().is_err());
        list.monitors = vec![monitor(&"n".repeat(MAX_NAME_LEN + 1))];
        assert!(list.check_limits().is_err());
    }

    #[test]
    fn a_cursor_image_must_be_whole_and_hold_its_hot_spot() {
        let mut image = CursorImage {
            width: 2,
            height: 3,
            hot_x: 1,
            hot_y: 2,
            rgba: vec![0; 24],
        };
        assert_eq!(image.validate(), Ok(()));
        assert_eq!(image.check_limits(), Ok(()));
        image.hot_y = 3;
        assert!(image.validate().is_err());
        image.hot_y = 0;
        image.rgba.pop();
        assert!(image.validate().is_err());
        image.width = MAX_CURSOR_SIDE + 1;
        assert!(image.check_limits().is_err());
    }
}
