//! Key combinations the technician cannot type into the window because the local
//! system takes them first (Ctrl+Alt+Del, Alt+Tab, the Windows key…), sent from the
//! toolbar's "Send keys" menu as press and release sequences.

use lifeline_protocol::message::{KeyEvent, Modifiers};

use super::input_map::{
    HID_DELETE, HID_F4, HID_LEFT_ALT, HID_LEFT_CTRL, HID_LEFT_GUI, HID_PRINT_SCREEN, HID_TAB,
    lookup_usage,
};

/// A combination offered in the "Send keys" menu.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecialKey {
    /// Ctrl+Alt+Del (the secure attention sequence on Windows).
    CtrlAltDel,
    /// Alt+Tab (switch windows).
    AltTab,
    /// The Windows / Super key alone (opens the start menu).
    Super,
    /// Alt+F4 (close the window).
    AltF4,
    /// Print Screen.
    PrintScreen,
}

impl SpecialKey {
    /// Every combination, in menu order.
    pub const ALL: [SpecialKey; 5] = [
        SpecialKey::CtrlAltDel,
        SpecialKey::AltTab,
        SpecialKey::Super,
        SpecialKey::AltF4,
        SpecialKey::PrintScreen,
    ];

    /// The menu label.
    pub const fn label(self) -> &'static str {
        match self {
            SpecialKey::CtrlAltDel => "Ctrl+Alt+Del",
            SpecialKey::AltTab => "Alt+Tab",
            SpecialKey::Super => "Windows key",
            SpecialKey::AltF4 => "Alt+F4",
            SpecialKey::PrintScreen => "Print Screen",
        }
    }

    /// The keys held down, in order (USB HID usages); they are released in reverse.
    pub const fn chord(self) -> &'static [u16] {
        match self {
            SpecialKey::CtrlAltDel => &[HID_LEFT_CTRL, HID_LEFT_ALT, HID_DELETE],
            SpecialKey::AltTab => &[HID_LEFT_ALT, HID_TAB],
            SpecialKey::Super => &[HID_LEFT_GUI],
            SpecialKey::AltF4 => &[HID_LEFT_ALT, HID_F4],
            SpecialKey::PrintScreen => &[HID_PRINT_SCREEN],
        }
    }

    /// The key events that type the combination: each key pressed in order, then
    /// released in reverse order. Each event carries the modifiers held once it has
    /// happened.
    pub fn events(self) -> Vec<KeyEvent> {
        let chord = self.chord();
        let mut events = Vec::with_capacity(chord.len() * 2);
        let mut held = Modifiers(0);
        for &usage in chord {
            held.0 |= modifier_bit(usage);
            events.push(key_event(usage, held, true));
        }
        for &usage in chord.iter().rev() {
            held.0 &= !modifier_bit(usage);
            events.push(key_event(usage, held, false));
        }
        events
    }
}

fn modifier_bit(usage: u16) -> u8 {
    match usage {
        HID_LEFT_CTRL => Modifiers::CTRL.0,
        HID_LEFT_ALT => Modifiers::ALT.0,
        HID_LEFT_GUI => Modifiers::SUPER.0,
        _ => 0,
    }
}

fn key_event(usage: u16, modifiers: Modifiers, pressed: bool) -> KeyEvent {
    KeyEvent {
        usb_hid_usage: usage,
        keysym: lookup_usage(usage).map(|entry| entry.keysym),
        text: None,
        modifiers,
        pressed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(key: SpecialKey) -> Vec<(u16, bool, u8)> {
        key.events()
            .into_iter()
            .map(|e| (e.usb_hid_usage, e.pressed, e.modifiers.0))
            .collect()
    }

    #[test]
    fn ctrl_alt_del_presses_in_order_and_releases_in_reverse() {
        let ctrl = Modifiers::CTRL.0;
        let alt = Modifiers::ALT.0;
        assert_eq!(
            summary(SpecialKey::CtrlAltDel),
            vec![
                (0xE0, true, ctrl),
                (0xE2, true, ctrl | alt),
                (0x4C, true, ctrl | alt),
                (0x4C, false, ctrl | alt),
                (0xE2, false, ctrl),
                (0xE0, false, 0),
            ]
        );
        let events = SpecialKey::CtrlAltDel.events();
        assert_eq!(events[0].keysym, Some(0xFFE3), "Control_L");
        assert_eq!(events[2].keysym, Some(0xFFFF), "Delete");
    }

    #[test]
    fn the_other_combinations_use_their_usages() {
        let alt = Modifiers::ALT.0;
        assert_eq!(
            summary(SpecialKey::AltTab),
            vec![
                (0xE2, true, alt),
                (0x2B, true, alt),
                (0x2B, false, alt),
                (0xE2, false, 0)
            ]
        );
        assert_eq!(
            summary(SpecialKey::AltF4),
            vec![
                (0xE2, true, alt),
                (0x3D, true, alt),
                (0x3D, false, alt),
                (0xE2, false, 0)
            ]
        );
        let sup = Modifiers::SUPER.0;
        assert_eq!(
            summary(SpecialKey::Super),
            vec![(0xE3, true, sup), (0xE3, false, 0)]
        );
        assert_eq!(
            summary(SpecialKey::PrintScreen),
            vec![(0x46, true, 0), (0x46, false, 0)]
        );
    }
}
