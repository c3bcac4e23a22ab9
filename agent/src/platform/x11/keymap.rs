//! Physical keys: USB HID usages (page 7, what the viewer sends) to Linux evdev codes.
//!
//! Xorg and Xvfb with the evdev keycodes of XKB (the default on Linux) use
//! X keycode = evdev code + 8. The table follows the kernel's `hid_keyboard` table in
//! `drivers/hid/hid-input.c`, so a key reaches X exactly as the same key on a local
//! USB keyboard would.

/// Offset between evdev codes and X keycodes.
const EVDEV_TO_X: u16 = 8;

/// (USB HID usage, evdev code), sorted by usage.
const HID_TO_EVDEV: &[(u16, u16)] = &[
    // Letters a..z.
    (0x04, 30), // A
    (0x05, 48), // B
    (0x06, 46), // C
    (0x07, 32), // D
    (0x08, 18), // E
    (0x09, 33), // F
    (0x0a, 34), // G
    (0x0b, 35), // H
    (0x0c, 23), // I
    (0x0d, 36), // J
    (0x0e, 37), // K
    (0x0f, 38), // L
    (0x10, 50), // M
    (0x11, 49), // N
    (0x12, 24), // O
    (0x13, 25), // P
    (0x14, 16), // Q
    (0x15, 19), // R
    (0x16, 31), // S
    (0x17, 20), // T
    (0x18, 22), // U
    (0x19, 47), // V
    (0x1a, 17), // W
    (0x1b, 45), // X
    (0x1c, 21), // Y
    (0x1d, 44), // Z
    // Digits 1..9, 0.
    (0x1e, 2),  // 1
    (0x1f, 3),  // 2
    (0x20, 4),  // 3
    (0x21, 5),  // 4
    (0x22, 6),  // 5
    (0x23, 7),  // 6
    (0x24, 8),  // 7
    (0x25, 9),  // 8
    (0x26, 10), // 9
    (0x27, 11), // 0
    (0x28, 28), // Enter
    (0x29, 1),  // Escape
    (0x2a, 14), // Backspace
    (0x2b, 15), // Tab
    (0x2c, 57), // Space
    (0x2d, 12), // - _
    (0x2e, 13), // = +
    (0x2f, 26), // [ {
    (0x30, 27), // ] }
    (0x31, 43), // \ |
    (0x32, 43), // Non-US # ~ (same position as backslash)
    (0x33, 39), // ; :
    (0x34, 40), // ' "
    (0x35, 41), // ` ~
    (0x36, 51), // , <
    (0x37, 52), // . >
    (0x38, 53), // / ?
    (0x39, 58), // Caps Lock
    // F1..F12.
    (0x3a, 59),
    (0x3b, 60),
    (0x3c, 61),
    (0x3d, 62),
    (0x3e, 63),
    (0x3f, 64),
    (0x40, 65),
    (0x41, 66),
    (0x42, 67),
    (0x43, 68),
    (0x44, 87),
    (0x45, 88),
    (0x46, 99),  // Print Screen / SysRq
    (0x47, 70),  // Scroll Lock
    (0x48, 119), // Pause
    (0x49, 110), // Insert
    (0x4a, 102), // Home
    (0x4b, 104), // Page Up
    (0x4c, 111), // Delete
    (0x4d, 107), // End
    (0x4e, 109), // Page Down
    (0x4f, 106), // Right
    (0x50, 105), // Left
    (0x51, 108), // Down
    (0x52, 103), // Up
    // Keypad.
    (0x53, 69),  // Num Lock
    (0x54, 98),  // KP /
    (0x55, 55),  // KP *
    (0x56, 74),  // KP -
    (0x57, 78),  // KP +
    (0x58, 96),  // KP Enter
    (0x59, 79),  // KP 1
    (0x5a, 80),  // KP 2
    (0x5b, 81),  // KP 3
    (0x5c, 75),  // KP 4
    (0x5d, 76),  // KP 5
    (0x5e, 77),  // KP 6
    (0x5f, 71),  // KP 7
    (0x60, 72),  // KP 8
    (0x61, 73),  // KP 9
    (0x62, 82),  // KP 0
    (0x63, 83),  // KP .
    (0x64, 86),  // Non-US \ | (the key left of Z on ISO keyboards)
    (0x65, 127), // Application / Compose (menu key)
    (0x66, 116), // Power
    (0x67, 117), // KP =
    // F13..F24.
    (0x68, 183),
    (0x69, 184),
    (0x6a, 185),
    (0x6b, 186),
    (0x6c, 187),
    (0x6d, 188),
    (0x6e, 189),
    (0x6f, 190),
    (0x70, 191),
    (0x71, 192),
    (0x72, 193),
    (0x73, 194),
    (0x74, 134), // Execute (KEY_OPEN)
    (0x75, 138), // Help
    (0x76, 130), // Menu (KEY_PROPS)
    (0x77, 132), // Select (KEY_FRONT)
    (0x78, 128), // Stop
    (0x79, 129), // Again
    (0x7a, 131), // Undo
    (0x7b, 137), // Cut
    (0x7c, 133), // Copy
    (0x7d, 135), // Paste
    (0x7e, 136), // Find
    (0x7f, 113), // Mute
    (0x80, 115), // Volume Up
    (0x81, 114), // Volume Down
    (0x85, 121), // KP , (Brazil)
    (0x87, 89),  // International 1 (Ro)
    (0x88, 93),  // International 2 (Katakana/Hiragana)
    (0x89, 124), // International 3 (Yen)
    (0x8a, 92),  // International 4 (Henkan)
    (0x8b, 94),  // International 5 (Muhenkan)
    (0x8c, 95),  // International 6 (KP JP comma)
    (0x90, 122), // LANG1 (Hangeul)
    (0x91, 123), // LANG2 (Hanja)
    (0x92, 90),  // LANG3 (Katakana)
    (0x93, 91),  // LANG4 (Hiragana)
    (0x94, 85),  // LANG5 (Zenkaku/Hankaku)
    (0xb6, 179), // KP (
    (0xb7, 180), // KP )
    // Modifiers.
    (0xe0, 29),  // Left Ctrl
    (0xe1, 42),  // Left Shift
    (0xe2, 56),  // Left Alt
    (0xe3, 125), // Left Meta (Super)
    (0xe4, 97),  // Right Ctrl
    (0xe5, 54),  // Right Shift
    (0xe6, 100), // Right Alt (AltGr)
    (0xe7, 126), // Right Meta (Super)
];

/// The Linux evdev code of a USB HID usage, if the key has one.
pub(super) fn hid_to_evdev(usage: u16) -> Option<u16> {
    HID_TO_EVDEV
        .binary_search_by_key(&usage, |&(hid, _)| hid)
        .ok()
        .map(|i| HID_TO_EVDEV[i].1)
}

/// The X keycode of a USB HID usage, for a server with evdev keycodes.
pub(super) fn hid_to_x_keycode(usage: u16) -> Option<u8> {
    hid_to_evdev(usage).and_then(|evdev| u8::try_from(evdev + EVDEV_TO_X).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_without_duplicates() {
        assert!(HID_TO_EVDEV.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn every_entry_has_an_x_keycode() {
        for &(usage, evdev) in HID_TO_EVDEV {
            let keycode = hid_to_x_keycode(usage).unwrap();
            assert_eq!(u16::from(keycode), evdev + 8);
            assert!(keycode >= 8, "X keycodes start at 8");
        }
    }

    #[test]
    fn well_known_keys_match_the_xkb_evdev_keycodes() {
        // Values from xkeyboard-config's keycodes/evdev.
        let cases = [
            (0x04, 38),  // AC01 a
            (0x0b, 43),  // AC06 h
            (0x1d, 52),  // AB01 z
            (0x1e, 10),  // AE01 1
            (0x27, 19),  // AE10 0
            (0x28, 36),  // RTRN
            (0x29, 9),   // ESC
            (0x2c, 65),  // SPCE
            (0x3a, 67),  // FK01
            (0x45, 96),  // FK12
            (0x4f, 114), // RGHT
            (0x52, 111), // UP
            (0x58, 104), // KPEN
            (0x64, 94),  // LSGT
            (0xe0, 37),  // LCTL
            (0xe1, 50),  // LFSH
            (0xe6, 108), // RALT
            (0xe7, 134), // RWIN
        ];
        for (usage, x_keycode) in cases {
            assert_eq!(hid_to_x_keycode(usage), Some(x_keycode), "usage {usage:#x}");
        }
    }

    #[test]
    fn unknown_usages_have_no_code() {
        for usage in [0x00, 0x01, 0x03, 0x82, 0xa5, 0xe8, 0xff, 0x1234] {
            assert_eq!(hid_to_x_keycode(usage), None, "usage {usage:#x}");
        }
    }
}
