//! Input injection on X11.
//!
//! Pointer, buttons, wheel and keys go through XTest (`FakeInput`) directly on our
//! own x11rb connection:
//! - keys are pressed by X keycode, derived from the viewer's physical key (USB HID
//!   usage, see `keymap`). That is what a technician expects from a remote keyboard:
//!   the key at that position, interpreted by the user's own layout, with modifiers,
//!   shortcuts and key repeat behaving as for a local key. enigo cannot do this
//!   portably (it takes keysyms, or raw keycodes whose meaning differs per OS);
//! - each event is checked (`FakeInput` plus a round trip), so X errors surface as
//!   [`InputError::Backend`] and events are processed in the order they were sent,
//!   also relative to enigo's own connection.
//!
//! Text ([`InputInjector::type_text`]) goes through enigo 0.6 on its x11rb backend,
//! opened on first use and kept: for every character, enigo looks for its keysym on
//! the first level of the current keyboard mapping and, when it is not there (`ü` on a
//! US layout, or any capital), binds it to an unused keycode with
//! `ChangeKeyboardMapping` and presses that. It keeps those bindings while it lives, so
//! clients that read the mapping lazily still see it, and removes them when dropped.
//! Only the x11rb feature of enigo is used: its libei backend needs D-Bus and a portal
//! and panics without them, so it must stay off.

use enigo::{Enigo, Keyboard as _, Settings};
use lifeline_protocol::message::{KeyEvent, MouseButton};
use x11rb::CURRENT_TIME;
use x11rb::connection::{Connection as _, RequestConnection as _};
use x11rb::protocol::xproto::{
    BUTTON_PRESS_EVENT, BUTTON_RELEASE_EVENT, KEY_PRESS_EVENT, KEY_RELEASE_EVENT,
    MOTION_NOTIFY_EVENT, Window,
};
use x11rb::protocol::xtest::ConnectionExt as _;
use x11rb::rust_connection::RustConnection;

use super::keymap::hid_to_x_keycode;
use crate::platform::{InputError, InputInjector};

/// Most wheel notches one call sends per axis; a larger request is cut to this so that
/// a bogus value cannot keep the X server busy for seconds.
const MAX_WHEEL_NOTCHES: i32 = 100;

/// Injects input into an X11 display through XTest. See the module documentation.
pub struct X11Injector {
    conn: RustConnection,
    root: Window,
    min_keycode: u8,
    max_keycode: u8,
    display: Option<String>,
    text: Option<Enigo>,
}

impl std::fmt::Debug for X11Injector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X11Injector")
            .field("root", &self.root)
            .field("display", &self.display)
            .field("text_open", &self.text.is_some())
            .finish_non_exhaustive()
    }
}

impl X11Injector {
    /// Connects to `display` (`None`: `$DISPLAY`) and checks that XTest is there.
    ///
    /// # Errors
    /// [`InputError::NoDisplay`] if no X server can be reached there;
    /// [`InputError::Backend`] if it has no XTest extension.
    pub fn open(display: Option<&str>) -> Result<Self, InputError> {
        let (conn, screen_num) = super::connect(display)
            .map_err(|(display, reason)| InputError::NoDisplay { display, reason })?;
        let has_xtest = conn
            .extension_information(x11rb::protocol::xtest::X11_EXTENSION_NAME)
            .map_err(backend)?
            .is_some();
        if !has_xtest {
            return Err(InputError::Backend(
                "the X server has no XTEST extension, which input injection needs; start it \
                 without disabling XTEST"
                    .to_owned(),
            ));
        }
        conn.xtest_get_version(2, 2)
            .map_err(backend)?
            .reply()
            .map_err(backend)?;
        let setup = conn.setup();
        let root = setup
            .roots
            .get(screen_num)
            .map(|screen| screen.root)
            .ok_or_else(|| InputError::Backend(format!("the server has no screen {screen_num}")))?;
        let (min_keycode, max_keycode) = (setup.min_keycode, setup.max_keycode);
        Ok(Self {
            conn,
            root,
            min_keycode,
            max_keycode,
            display: display.map(str::to_owned),
            text: None,
        })
    }

    /// Sends one XTest event and waits until the server has processed it.
    fn fake(&self, kind: u8, detail: u8, x: i16, y: i16) -> Result<(), InputError> {
        self.conn
            .xtest_fake_input(kind, detail, CURRENT_TIME, self.root, x, y, 0)
            .map_err(backend)?
            .check()
            .map_err(backend)
    }

    fn click(&self, button: u8, times: i32) -> Result<(), InputError> {
        for _ in 0..times.min(MAX_WHEEL_NOTCHES) {
            self.fake(BUTTON_PRESS_EVENT, button, 0, 0)?;
            self.fake(BUTTON_RELEASE_EVENT, button, 0, 0)?;
        }
        Ok(())
    }
}

impl InputInjector for X11Injector {
    fn move_pointer(&mut self, x: i32, y: i32) -> Result<(), InputError> {
        // Detail 0: absolute coordinates on `root`.
        self.fake(MOTION_NOTIFY_EVENT, 0, clamp_i16(x), clamp_i16(y))
    }

    fn button(&mut self, button: MouseButton, pressed: bool) -> Result<(), InputError> {
        let kind = if pressed {
            BUTTON_PRESS_EVENT
        } else {
            BUTTON_RELEASE_EVENT
        };
        self.fake(kind, x_button(button)?, 0, 0)
    }

    fn wheel(&mut self, dx: i32, dy: i32) -> Result<(), InputError> {
        // X has no wheel axis: each notch is a click of button 4/5 (up/down) or 6/7
        // (left/right).
        let vertical = if dy < 0 { 4 } else { 5 };
        self.click(vertical, dy.saturating_abs())?;
        let horizontal = if dx < 0 { 6 } else { 7 };
        self.click(horizontal, dx.saturating_abs())
    }

    fn key(&mut self, key: &KeyEvent) -> Result<(), InputError> {
        let usage = key.usb_hid_usage;
        let keycode = hid_to_x_keycode(usage)
            .filter(|code| (self.min_keycode..=self.max_keycode).contains(code))
            .ok_or(InputError::UnknownKey(usage))?;
        let kind = if key.pressed {
            KEY_PRESS_EVENT
        } else {
            KEY_RELEASE_EVENT
        };
        self.fake(kind, keycode, 0, 0)
    }

    fn type_text(&mut self, text: &str) -> Result<(), InputError> {
        if text.is_empty() {
            return Ok(());
        }
        let enigo = match &mut self.text {
            Some(enigo) => enigo,
            None => {
                let settings = Settings {
                    x11_display: self.display.clone(),
                    ..Settings::default()
                };
                let enigo = Enigo::new(&settings).map_err(|error| {
                    InputError::Backend(format!("cannot set up text input: {error}"))
                })?;
                self.text.insert(enigo)
            }
        };
        enigo
            .text(text)
            .map_err(|error| InputError::Backend(format!("typing text failed: {error}")))
    }
}

/// X core button numbers; 4-7 are the wheel.
fn x_button(button: MouseButton) -> Result<u8, InputError> {
    Ok(match button {
        MouseButton::Left => 1,
        MouseButton::Middle => 2,
        MouseButton::Right => 3,
        MouseButton::Back => 8,
        MouseButton::Forward => 9,
        other => {
            return Err(InputError::Backend(format!(
                "the mouse button {other:?} has no X11 equivalent"
            )));
        }
    })
}

/// X coordinates are 16-bit; a position past the edge is pinned to the edge anyway.
fn clamp_i16(value: i32) -> i16 {
    i16::try_from(value).unwrap_or(if value < 0 { i16::MIN } else { i16::MAX })
}

fn backend(error: impl std::fmt::Display) -> InputError {
    InputError::Backend(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_are_clamped_to_16_bits() {
        assert_eq!(clamp_i16(1234), 1234);
        assert_eq!(clamp_i16(-5), -5);
        assert_eq!(clamp_i16(100_000), i16::MAX);
        assert_eq!(clamp_i16(-100_000), i16::MIN);
    }

    #[test]
    fn buttons_use_the_x_core_numbers() {
        let buttons = [
            MouseButton::Left,
            MouseButton::Middle,
            MouseButton::Right,
            MouseButton::Back,
            MouseButton::Forward,
        ];
        assert_eq!(buttons.map(|b| x_button(b).unwrap()), [1, 2, 3, 8, 9]);
    }
}
