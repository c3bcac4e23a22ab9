//! Turns egui's input events into [`Command`]s for the remote side: pointer moves in
//! remote pixels, buttons, wheel notches, keys and typed text. It remembers what it has
//! pressed so that everything still held can be released (focus lost, session ended)
//! and no release is sent for a press that was never forwarded.

use egui::{Event, Key, MouseWheelUnit, PointerButton, Vec2};
use lifeline_protocol::message::{KeyEvent, MouseButton};

use super::geometry::{Placement, RemotePoint};
use super::input_map::{is_shortcut, lookup, modifier_bit, protocol_modifiers};
use crate::link::Command;

/// The key kept for the window itself: it shows and hides the toolbar.
pub const TOOLBAR_KEY: Key = Key::F11;

/// Smooth-scroll points that make one wheel notch (egui-winit reports a notch of a
/// classic wheel as one line; touchpads report points).
const POINTS_PER_NOTCH: f32 = 50.0;
/// Notches per page of a page-wise scroll.
const NOTCHES_PER_PAGE: f32 = 10.0;

/// What the forwarder needs to know about the window this frame.
#[derive(Clone, Copy, Debug)]
pub struct InputContext {
    /// Where the remote picture is, if one is shown.
    pub placement: Option<Placement>,
    /// Whether the pointer is over the visible part of the picture (and nothing else
    /// is on top of it).
    pub pointer_over: bool,
    /// Whether the session holds the `input` permission.
    pub input_allowed: bool,
    /// Modifiers held now (for events that do not carry them).
    pub modifiers: egui::Modifiers,
}

impl InputContext {
    fn accepts_new_input(&self) -> bool {
        self.input_allowed && self.pointer_over && self.placement.is_some()
    }
}

/// The forwarding state of one session.
#[derive(Debug, Default)]
pub struct InputForwarder {
    held_keys: Vec<u16>,
    held_buttons: Vec<MouseButton>,
    last_pointer: Option<RemotePoint>,
    wheel_remainder: Vec2,
    swallow_text: bool,
}

impl InputForwarder {
    /// Translates one event, appending the commands to send to `out`.
    pub fn handle(&mut self, event: &Event, cx: &InputContext, out: &mut Vec<Command>) {
        // A printable key sent as a shortcut is followed by its text in the same batch;
        // only that text is swallowed.
        let swallow_text = std::mem::take(&mut self.swallow_text);
        if !cx.input_allowed {
            // The permission is gone: the agent refuses input now and releases what it
            // had pressed itself, so there is nothing left to release from here.
            self.forget();
            return;
        }
        match event {
            Event::PointerMoved(pos) if cx.pointer_over || !self.held_buttons.is_empty() => {
                self.move_pointer(*pos, cx, out);
            }
            Event::PointerButton {
                pos,
                button,
                pressed,
                ..
            } => self.button(*pos, *button, *pressed, cx, out),
            Event::MouseWheel { unit, delta, .. } if cx.accepts_new_input() => {
                self.wheel(*unit, *delta, out);
            }
            // A held key repeats on the remote side by itself.
            Event::Key {
                key,
                physical_key,
                pressed,
                repeat: false,
                modifiers,
            } => self.key(*key, *physical_key, *pressed, *modifiers, cx, out),
            // With clipboard shortcuts on, egui-winit turns the press of Ctrl+C/X/V
            // into these events (the release still arrives as a key).
            Event::Copy => self.key(Key::C, None, true, cx.modifiers, cx, out),
            Event::Cut => self.key(Key::X, None, true, cx.modifiers, cx, out),
            Event::Paste(_) => self.key(Key::V, None, true, cx.modifiers, cx, out),
            Event::Text(text) | Event::Ime(egui::ImeEvent::Commit(text))
                if !swallow_text && cx.accepts_new_input() && !text.is_empty() =>
            {
                out.push(Command::TypeText(text.clone()));
            }
            Event::WindowFocused(false) => self.release_all(cx.modifiers, out),
            _ => {}
        }
    }

    /// Releases every key and button still held (the window lost focus, the picture
    /// went away).
    pub fn release_all(&mut self, modifiers: egui::Modifiers, out: &mut Vec<Command>) {
        while let Some(usage) = self.held_keys.pop() {
            let entry = super::input_map::lookup_usage(usage);
            out.push(Command::Key(KeyEvent {
                usb_hid_usage: usage,
                keysym: entry.map(|e| e.keysym),
                text: None,
                modifiers: protocol_modifiers(modifiers, false),
                pressed: false,
            }));
        }
        while let Some(button) = self.held_buttons.pop() {
            out.push(Command::Button {
                button,
                pressed: false,
            });
        }
        self.wheel_remainder = Vec2::ZERO;
    }

    /// Forgets everything held without sending anything (the session is over).
    pub fn forget(&mut self) {
        *self = Self::default();
    }

    /// Whether any key or button is held on the remote side.
    pub fn holds_anything(&self) -> bool {
        !self.held_keys.is_empty() || !self.held_buttons.is_empty()
    }

    fn move_pointer(&mut self, pos: egui::Pos2, cx: &InputContext, out: &mut Vec<Command>) {
        let Some(point) = cx.placement.and_then(|p| p.to_remote(pos)) else {
            return;
        };
        if self.last_pointer != Some(point) {
            self.last_pointer = Some(point);
            out.push(Command::PointerMove {
                x: point.x,
                y: point.y,
            });
        }
    }

    fn button(
        &mut self,
        pos: egui::Pos2,
        button: PointerButton,
        pressed: bool,
        cx: &InputContext,
        out: &mut Vec<Command>,
    ) {
        let button = match button {
            PointerButton::Primary => MouseButton::Left,
            PointerButton::Secondary => MouseButton::Right,
            PointerButton::Middle => MouseButton::Middle,
            PointerButton::Extra1 => MouseButton::Back,
            PointerButton::Extra2 => MouseButton::Forward,
        };
        if pressed {
            if !cx.accepts_new_input() || self.held_buttons.contains(&button) {
                return;
            }
            self.move_pointer(pos, cx, out);
            self.held_buttons.push(button);
        } else if let Some(index) = self.held_buttons.iter().position(|b| *b == button) {
            self.move_pointer(pos, cx, out);
            self.held_buttons.remove(index);
        } else {
            return;
        }
        out.push(Command::Button { button, pressed });
    }

    fn wheel(&mut self, unit: MouseWheelUnit, delta: Vec2, out: &mut Vec<Command>) {
        let notches_per_unit = match unit {
            MouseWheelUnit::Point => 1.0 / POINTS_PER_NOTCH,
            MouseWheelUnit::Line => 1.0,
            MouseWheelUnit::Page => NOTCHES_PER_PAGE,
        };
        // egui: positive delta scrolls the content down/right, i.e. the wheel turned
        // up/left. The protocol counts notches positive down/right.
        let total = self.wheel_remainder - delta * notches_per_unit;
        let whole = Vec2::new(total.x.trunc(), total.y.trunc());
        self.wheel_remainder = total - whole;
        if whole != Vec2::ZERO {
            out.push(Command::Wheel {
                dx: whole.x as i32,
                dy: whole.y as i32,
            });
        }
    }

    fn key(
        &mut self,
        key: Key,
        physical_key: Option<Key>,
        pressed: bool,
        modifiers: egui::Modifiers,
        cx: &InputContext,
        out: &mut Vec<Command>,
    ) {
        if key == TOOLBAR_KEY {
            return;
        }
        // The physical key decides the usage (layout-independent); the logical key
        // decides the keysym and text.
        let (Some(physical), Some(logical)) = (lookup(physical_key.unwrap_or(key)), lookup(key))
        else {
            tracing::trace!(?key, "a key without a USB HID usage is not forwarded");
            return;
        };
        let usage = physical.usb_hid_usage;
        if pressed {
            if !cx.accepts_new_input() || self.held_keys.contains(&usage) {
                return;
            }
            if logical.text.is_some() {
                if !is_shortcut(modifiers) {
                    // Typed text arrives as `Event::Text`; sending the key too would
                    // type it twice.
                    return;
                }
                self.swallow_text = true;
            }
            self.held_keys.push(usage);
        } else if let Some(index) = self.held_keys.iter().position(|held| *held == usage) {
            self.held_keys.remove(index);
        } else {
            return;
        }
        let super_held = self.held_keys.iter().any(|u| matches!(u, 0xE3 | 0xE7));
        // egui reports a modifier key's own event with the state before it; the
        // protocol carries the state after it (as the "Send keys" sequences do).
        let mut modifiers = protocol_modifiers(modifiers, super_held);
        let own_bit = modifier_bit(key);
        if pressed {
            modifiers.0 |= own_bit;
        } else {
            modifiers.0 &= !own_bit;
        }
        out.push(Command::Key(KeyEvent {
            usb_hid_usage: usage,
            keysym: Some(logical.keysym),
            text: logical.text,
            modifiers,
            pressed,
        }));
    }
}

#[cfg(test)]
#[path = "forward_tests.rs"]
mod tests;
