//! From egui's keys to the protocol's: one table giving, for each [`egui::Key`], the
//! USB HID usage id (keyboard page 7, the physical key), the X11 keysym and the
//! character the key types on a US layout.

use egui::Key;
use lifeline_protocol::message::Modifiers;

/// What the remote side needs to know about one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyEntry {
    /// egui's name for the key.
    pub key: Key,
    /// USB HID usage id, keyboard/keypad page (0x07).
    pub usb_hid_usage: u16,
    /// The X11 keysym.
    pub keysym: u32,
    /// The character the key types without modifiers, for printable keys. A key with
    /// text reaches the remote side as typed text unless Ctrl, Alt or Command is held.
    pub text: Option<char>,
}

const fn entry(key: Key, usb_hid_usage: u16, keysym: u32, text: Option<char>) -> KeyEntry {
    KeyEntry {
        key,
        usb_hid_usage,
        keysym,
        text,
    }
}

/// A printable key: its keysym is its (Latin-1) character.
const fn printable(key: Key, usb_hid_usage: u16, text: char) -> KeyEntry {
    entry(key, usb_hid_usage, text as u32, Some(text))
}

/// A key that types nothing.
const fn control(key: Key, usb_hid_usage: u16, keysym: u32) -> KeyEntry {
    entry(key, usb_hid_usage, keysym, None)
}

/// USB HID usage of Left Control.
pub const HID_LEFT_CTRL: u16 = 0xE0;
/// USB HID usage of Left Shift.
pub const HID_LEFT_SHIFT: u16 = 0xE1;
/// USB HID usage of Left Alt.
pub const HID_LEFT_ALT: u16 = 0xE2;
/// USB HID usage of Left GUI (Windows / Super / Command).
pub const HID_LEFT_GUI: u16 = 0xE3;
/// USB HID usage of Delete (forward delete).
pub const HID_DELETE: u16 = 0x4C;
/// USB HID usage of Tab.
pub const HID_TAB: u16 = 0x2B;
/// USB HID usage of F4.
pub const HID_F4: u16 = 0x3D;
/// USB HID usage of Print Screen.
pub const HID_PRINT_SCREEN: u16 = 0x46;

/// Every key forwarded to the remote side. Shifted symbols (`:`, `|`, `?`, `!`, `{`,
/// `}`, `+`) sit on the physical key that types them on a US layout.
#[rustfmt::skip]
pub const KEY_TABLE: &[KeyEntry] = &[
    // Letters.
    printable(Key::A, 0x04, 'a'), printable(Key::B, 0x05, 'b'), printable(Key::C, 0x06, 'c'),
    printable(Key::D, 0x07, 'd'), printable(Key::E, 0x08, 'e'), printable(Key::F, 0x09, 'f'),
    printable(Key::G, 0x0A, 'g'), printable(Key::H, 0x0B, 'h'), printable(Key::I, 0x0C, 'i'),
    printable(Key::J, 0x0D, 'j'), printable(Key::K, 0x0E, 'k'), printable(Key::L, 0x0F, 'l'),
    printable(Key::M, 0x10, 'm'), printable(Key::N, 0x11, 'n'), printable(Key::O, 0x12, 'o'),
    printable(Key::P, 0x13, 'p'), printable(Key::Q, 0x14, 'q'), printable(Key::R, 0x15, 'r'),
    printable(Key::S, 0x16, 's'), printable(Key::T, 0x17, 't'), printable(Key::U, 0x18, 'u'),
    printable(Key::V, 0x19, 'v'), printable(Key::W, 0x1A, 'w'), printable(Key::X, 0x1B, 'x'),
    printable(Key::Y, 0x1C, 'y'), printable(Key::Z, 0x1D, 'z'),
    // Digits.
    printable(Key::Num1, 0x1E, '1'), printable(Key::Num2, 0x1F, '2'), printable(Key::Num3, 0x20, '3'),
    printable(Key::Num4, 0x21, '4'), printable(Key::Num5, 0x22, '5'), printable(Key::Num6, 0x23, '6'),
    printable(Key::Num7, 0x24, '7'), printable(Key::Num8, 0x25, '8'), printable(Key::Num9, 0x26, '9'),
    printable(Key::Num0, 0x27, '0'),
    // Editing and navigation.
    control(Key::Enter, 0x28, 0xFF0D),     control(Key::Escape, 0x29, 0xFF1B),
    control(Key::Backspace, 0x2A, 0xFF08), control(Key::Tab, HID_TAB, 0xFF09),
    printable(Key::Space, 0x2C, ' '),
    control(Key::Insert, 0x49, 0xFF63),    control(Key::Home, 0x4A, 0xFF50),
    control(Key::PageUp, 0x4B, 0xFF55),    control(Key::Delete, HID_DELETE, 0xFFFF),
    control(Key::End, 0x4D, 0xFF57),       control(Key::PageDown, 0x4E, 0xFF56),
    control(Key::ArrowRight, 0x4F, 0xFF53), control(Key::ArrowLeft, 0x50, 0xFF51),
    control(Key::ArrowDown, 0x51, 0xFF54), control(Key::ArrowUp, 0x52, 0xFF52),
    // Punctuation (US layout positions).
    printable(Key::Minus, 0x2D, '-'),        printable(Key::Equals, 0x2E, '='),
    printable(Key::Plus, 0x2E, '+'),         printable(Key::OpenBracket, 0x2F, '['),
    printable(Key::OpenCurlyBracket, 0x2F, '{'), printable(Key::CloseBracket, 0x30, ']'),
    printable(Key::CloseCurlyBracket, 0x30, '}'), printable(Key::Backslash, 0x31, '\\'),
    printable(Key::Pipe, 0x31, '|'),         printable(Key::Semicolon, 0x33, ';'),
    printable(Key::Colon, 0x33, ':'),        printable(Key::Quote, 0x34, '\''),
    printable(Key::Backtick, 0x35, '`'),     printable(Key::Comma, 0x36, ','),
    printable(Key::Period, 0x37, '.'),       printable(Key::Slash, 0x38, '/'),
    printable(Key::Questionmark, 0x38, '?'), printable(Key::Exclamationmark, 0x1E, '!'),
    printable(Key::IntlBackslash, 0x64, '<'),
    // Function keys.
    control(Key::F1, 0x3A, 0xFFBE),  control(Key::F2, 0x3B, 0xFFBF),  control(Key::F3, 0x3C, 0xFFC0),
    control(Key::F4, HID_F4, 0xFFC1), control(Key::F5, 0x3E, 0xFFC2), control(Key::F6, 0x3F, 0xFFC3),
    control(Key::F7, 0x40, 0xFFC4),  control(Key::F8, 0x41, 0xFFC5),  control(Key::F9, 0x42, 0xFFC6),
    control(Key::F10, 0x43, 0xFFC7), control(Key::F11, 0x44, 0xFFC8), control(Key::F12, 0x45, 0xFFC9),
    control(Key::F13, 0x68, 0xFFCA), control(Key::F14, 0x69, 0xFFCB), control(Key::F15, 0x6A, 0xFFCC),
    control(Key::F16, 0x6B, 0xFFCD), control(Key::F17, 0x6C, 0xFFCE), control(Key::F18, 0x6D, 0xFFCF),
    control(Key::F19, 0x6E, 0xFFD0), control(Key::F20, 0x6F, 0xFFD1), control(Key::F21, 0x70, 0xFFD2),
    control(Key::F22, 0x71, 0xFFD3), control(Key::F23, 0x72, 0xFFD4), control(Key::F24, 0x73, 0xFFD5),
    // Locks and system keys.
    control(Key::CapsLock, 0x39, 0xFFE5),  control(Key::PrintScreen, HID_PRINT_SCREEN, 0xFF61),
    control(Key::ScrollLock, 0x47, 0xFF14), control(Key::Pause, 0x48, 0xFF13),
    control(Key::NumLock, 0x53, 0xFF7F),   control(Key::Menu, 0x65, 0xFF67),
    control(Key::Help, 0x75, 0xFF6A),      control(Key::Clear, 0x9C, 0xFF0B),
    // Clipboard and volume keys.
    control(Key::Cut, 0x7B, 0x1008_FF58),  control(Key::Copy, 0x7C, 0x1008_FF57),
    control(Key::Paste, 0x7D, 0x1008_FF6D), control(Key::AudioVolumeMute, 0x7F, 0x1008_FF12),
    control(Key::AudioVolumeUp, 0x80, 0x1008_FF13), control(Key::AudioVolumeDown, 0x81, 0x1008_FF11),
    // Modifiers.
    control(Key::ControlLeft, HID_LEFT_CTRL, 0xFFE3), control(Key::ShiftLeft, HID_LEFT_SHIFT, 0xFFE1),
    control(Key::AltLeft, HID_LEFT_ALT, 0xFFE9),      control(Key::SuperLeft, HID_LEFT_GUI, 0xFFEB),
    control(Key::ControlRight, 0xE4, 0xFFE4),         control(Key::ShiftRight, 0xE5, 0xFFE2),
    control(Key::AltRight, 0xE6, 0xFFEA),             control(Key::SuperRight, 0xE7, 0xFFEC),
];

/// The table's entry for `key`, if the key is forwarded at all.
pub fn lookup(key: Key) -> Option<&'static KeyEntry> {
    KEY_TABLE.iter().find(|entry| entry.key == key)
}

/// The entry whose physical key is `usb_hid_usage` (the first, unshifted one).
pub fn lookup_usage(usb_hid_usage: u16) -> Option<&'static KeyEntry> {
    KEY_TABLE
        .iter()
        .find(|entry| entry.usb_hid_usage == usb_hid_usage)
}

/// The protocol's modifier bit of a modifier key (Shift, Ctrl, Alt, Super on either
/// side); 0 for any other key.
pub fn modifier_bit(key: Key) -> u8 {
    match key {
        Key::ShiftLeft | Key::ShiftRight => Modifiers::SHIFT.0,
        Key::ControlLeft | Key::ControlRight => Modifiers::CTRL.0,
        Key::AltLeft | Key::AltRight => Modifiers::ALT.0,
        Key::SuperLeft | Key::SuperRight => Modifiers::SUPER.0,
        _ => 0,
    }
}

/// egui's modifier state as the protocol's bit set. `super_held`: whether a Super key
/// is down (egui reports Super only on macOS, as Command).
pub fn protocol_modifiers(modifiers: egui::Modifiers, super_held: bool) -> Modifiers {
    let mut bits = 0;
    if modifiers.shift {
        bits |= Modifiers::SHIFT.0;
    }
    if modifiers.ctrl {
        bits |= Modifiers::CTRL.0;
    }
    if modifiers.alt {
        bits |= Modifiers::ALT.0;
    }
    if modifiers.mac_cmd || super_held {
        bits |= Modifiers::SUPER.0;
    }
    Modifiers(bits)
}

/// Whether a key pressed with `modifiers` is a shortcut, which goes to the remote side
/// as a key press even for a printable key (Ctrl+C, Alt+F…), rather than as text.
pub fn is_shortcut(modifiers: egui::Modifiers) -> bool {
    modifiers.ctrl || modifiers.alt || modifiers.mac_cmd
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_key_appears_once() {
        let mut seen = HashSet::new();
        for entry in KEY_TABLE {
            assert!(seen.insert(entry.key), "{:?} twice", entry.key);
        }
    }

    #[test]
    fn letters_digits_and_function_keys_are_complete_and_in_order() {
        let letters = [
            Key::A,
            Key::B,
            Key::C,
            Key::D,
            Key::E,
            Key::F,
            Key::G,
            Key::H,
            Key::I,
            Key::J,
            Key::K,
            Key::L,
            Key::M,
            Key::N,
            Key::O,
            Key::P,
            Key::Q,
            Key::R,
            Key::S,
            Key::T,
            Key::U,
            Key::V,
            Key::W,
            Key::X,
            Key::Y,
            Key::Z,
        ];
        for (i, key) in letters.into_iter().enumerate() {
            let entry = lookup(key).expect("every letter is mapped");
            assert_eq!(usize::from(entry.usb_hid_usage), 0x04 + i);
            assert_eq!(entry.keysym, u32::from(b'a') + i as u32);
            assert!(entry.text.is_some_and(|c| c.is_ascii_lowercase()));
        }
        let digits = [
            Key::Num1,
            Key::Num2,
            Key::Num3,
            Key::Num4,
            Key::Num5,
            Key::Num6,
            Key::Num7,
            Key::Num8,
            Key::Num9,
            Key::Num0,
        ];
        for (i, key) in digits.into_iter().enumerate() {
            assert_eq!(
                lookup(key).map(|e| usize::from(e.usb_hid_usage)),
                Some(0x1E + i)
            );
        }
        let f_keys = [
            Key::F1,
            Key::F2,
            Key::F3,
            Key::F4,
            Key::F5,
            Key::F6,
            Key::F7,
            Key::F8,
            Key::F9,
            Key::F10,
            Key::F11,
            Key::F12,
        ];
        for (i, key) in f_keys.into_iter().enumerate() {
            assert_eq!(
                lookup(key).map(|e| usize::from(e.usb_hid_usage)),
                Some(0x3A + i)
            );
            assert_eq!(lookup(key).map(|e| e.keysym), Some(0xFFBE + i as u32));
        }
    }

    #[test]
    fn well_known_keys_have_their_usages() {
        let expected = [
            (Key::Enter, 0x28),
            (Key::Escape, 0x29),
            (Key::Backspace, 0x2A),
            (Key::Tab, 0x2B),
            (Key::Space, 0x2C),
            (Key::Delete, 0x4C),
            (Key::Insert, 0x49),
            (Key::Home, 0x4A),
            (Key::End, 0x4D),
            (Key::PageUp, 0x4B),
            (Key::PageDown, 0x4E),
            (Key::ArrowRight, 0x4F),
            (Key::ArrowLeft, 0x50),
            (Key::ArrowDown, 0x51),
            (Key::ArrowUp, 0x52),
            (Key::PrintScreen, 0x46),
            (Key::ControlLeft, 0xE0),
            (Key::ShiftLeft, 0xE1),
            (Key::AltLeft, 0xE2),
            (Key::SuperLeft, 0xE3),
            (Key::Slash, 0x38),
            (Key::Questionmark, 0x38),
            (Key::Comma, 0x36),
            (Key::Period, 0x37),
        ];
        for (key, usage) in expected {
            assert_eq!(lookup(key).map(|e| e.usb_hid_usage), Some(usage), "{key:?}");
        }
    }

    #[test]
    fn only_printable_keys_have_text() {
        assert_eq!(lookup(Key::Space).and_then(|e| e.text), Some(' '));
        assert_eq!(lookup(Key::Questionmark).and_then(|e| e.text), Some('?'));
        for key in [
            Key::Enter,
            Key::Tab,
            Key::Backspace,
            Key::F5,
            Key::ControlLeft,
        ] {
            assert_eq!(lookup(key).and_then(|e| e.text), None, "{key:?}");
        }
    }

    #[test]
    fn the_unshifted_key_is_found_by_usage() {
        assert_eq!(lookup_usage(0x38).map(|e| e.key), Some(Key::Slash));
        assert_eq!(lookup_usage(0x2E).map(|e| e.key), Some(Key::Equals));
        assert_eq!(lookup_usage(0x01), None);
    }

    #[test]
    fn modifiers_become_protocol_bits() {
        let none = protocol_modifiers(egui::Modifiers::NONE, false);
        assert_eq!(none, Modifiers(0));
        let ctrl_shift = protocol_modifiers(egui::Modifiers::CTRL | egui::Modifiers::SHIFT, false);
        assert_eq!(
            ctrl_shift,
            Modifiers(Modifiers::CTRL.0 | Modifiers::SHIFT.0)
        );
        let alt_super = protocol_modifiers(egui::Modifiers::ALT, true);
        assert_eq!(alt_super, Modifiers(Modifiers::ALT.0 | Modifiers::SUPER.0));
        assert!(is_shortcut(egui::Modifiers::CTRL));
        assert!(!is_shortcut(egui::Modifiers::SHIFT));
        assert_eq!(modifier_bit(Key::AltRight), Modifiers::ALT.0);
        assert_eq!(modifier_bit(Key::A), 0);
    }
}
