use egui::{Modifiers as EguiModifiers, Pos2, Rect, TouchPhase, pos2, vec2};
use lifeline_protocol::message::Modifiers;

use super::*;

fn context(pointer_over: bool) -> InputContext {
    InputContext {
        // 1280x720 at 1:1 from (0, 40): remote = window - (0, 40).
        placement: Some(Placement::actual(
            Rect::from_min_size(pos2(0.0, 40.0), vec2(800.0, 600.0)),
            [1280, 720],
            1.0,
            Vec2::ZERO,
        )),
        pointer_over,
        input_allowed: true,
        modifiers: EguiModifiers::NONE,
    }
}

fn run(forwarder: &mut InputForwarder, cx: &InputContext, events: &[Event]) -> Vec<Command> {
    let mut out = Vec::new();
    for event in events {
        forwarder.handle(event, cx, &mut out);
    }
    out
}

fn key(key: Key, pressed: bool, modifiers: EguiModifiers) -> Event {
    Event::Key {
        key,
        physical_key: Some(key),
        pressed,
        repeat: false,
        modifiers,
    }
}

fn click(pos: Pos2, pressed: bool) -> Event {
    Event::PointerButton {
        pos,
        button: PointerButton::Primary,
        pressed,
        modifiers: EguiModifiers::NONE,
    }
}

fn wheel(unit: MouseWheelUnit, delta: Vec2) -> Event {
    Event::MouseWheel {
        unit,
        delta,
        phase: TouchPhase::Move,
        source: egui::MouseWheelSource::Wheel,
        modifiers: EguiModifiers::NONE,
    }
}

#[test]
fn pointer_moves_are_sent_in_remote_pixels_once_per_change() {
    let mut forwarder = InputForwarder::default();
    let out = run(
        &mut forwarder,
        &context(true),
        &[
            Event::PointerMoved(pos2(10.0, 50.0)),
            Event::PointerMoved(pos2(10.4, 50.2)),
            Event::PointerMoved(pos2(11.0, 50.0)),
        ],
    );
    assert_eq!(
        out,
        vec![
            Command::PointerMove { x: 10, y: 10 },
            Command::PointerMove { x: 11, y: 10 }
        ]
    );
}

#[test]
fn nothing_is_sent_when_the_pointer_is_elsewhere_or_input_is_not_granted() {
    let mut forwarder = InputForwarder::default();
    let events = [
        Event::PointerMoved(pos2(10.0, 50.0)),
        click(pos2(10.0, 50.0), true),
        Event::Text("a".into()),
        key(Key::Enter, true, EguiModifiers::NONE),
    ];
    assert!(run(&mut forwarder, &context(false), &events).is_empty());
    let mut denied = context(true);
    denied.input_allowed = false;
    assert!(run(&mut forwarder, &denied, &events).is_empty());
}

#[test]
fn a_click_moves_then_presses_and_a_drag_outside_still_releases() {
    let mut forwarder = InputForwarder::default();
    let mut out = run(
        &mut forwarder,
        &context(true),
        &[click(pos2(5.0, 45.0), true)],
    );
    // The release happens outside the picture: clamped, still released.
    out.extend(run(
        &mut forwarder,
        &context(false),
        &[
            Event::PointerMoved(pos2(2000.0, 30.0)),
            click(pos2(2000.0, 30.0), false),
        ],
    ));
    assert_eq!(
        out,
        vec![
            Command::PointerMove { x: 5, y: 5 },
            Command::Button {
                button: MouseButton::Left,
                pressed: true
            },
            Command::PointerMove { x: 1279, y: 0 },
            Command::Button {
                button: MouseButton::Left,
                pressed: false
            },
        ]
    );
    assert!(!forwarder.holds_anything());
}

#[test]
fn smooth_scrolling_adds_up_to_whole_notches() {
    let mut forwarder = InputForwarder::default();
    let cx = context(true);
    // 20 points down three times: 60 points = 1 notch (50) with 10 left over.
    let down = wheel(MouseWheelUnit::Point, vec2(0.0, -20.0));
    let out = run(&mut forwarder, &cx, &[down.clone(), down.clone(), down]);
    assert_eq!(out, vec![Command::Wheel { dx: 0, dy: 1 }]);
    let out = run(
        &mut forwarder,
        &cx,
        &[wheel(MouseWheelUnit::Line, vec2(1.0, 2.0))],
    );
    assert_eq!(
        out,
        vec![Command::Wheel { dx: -1, dy: -1 }],
        "10 points left over"
    );
}

#[test]
fn printable_keys_go_as_text_once_and_shortcuts_as_keys() {
    let mut forwarder = InputForwarder::default();
    let cx = context(true);
    let out = run(
        &mut forwarder,
        &cx,
        &[
            key(Key::A, true, EguiModifiers::NONE),
            Event::Text("a".into()),
            key(Key::A, false, EguiModifiers::NONE),
        ],
    );
    assert_eq!(out, vec![Command::TypeText("a".into())]);

    let out = run(
        &mut forwarder,
        &cx,
        &[
            // egui gives a modifier's own event the state before it.
            key(Key::ControlLeft, true, EguiModifiers::NONE),
            key(Key::C, true, EguiModifiers::CTRL),
            Event::Text("c".into()),
            key(Key::C, false, EguiModifiers::CTRL),
            key(Key::ControlLeft, false, EguiModifiers::CTRL),
        ],
    );
    let keys: Vec<(u16, bool, u8)> = out
        .iter()
        .map(|command| match command {
            Command::Key(k) => (k.usb_hid_usage, k.pressed, k.modifiers.0),
            other => panic!("only keys expected, got {other:?}"),
        })
        .collect();
    let ctrl = Modifiers::CTRL.0;
    assert_eq!(
        keys,
        vec![
            (0xE0, true, ctrl),
            (0x06, true, ctrl),
            (0x06, false, ctrl),
            (0xE0, false, 0)
        ]
    );
}

#[test]
fn non_text_keys_are_sent_as_keys_with_their_usage() {
    let mut forwarder = InputForwarder::default();
    let out = run(
        &mut forwarder,
        &context(true),
        &[
            key(Key::Enter, true, EguiModifiers::NONE),
            key(Key::Enter, true, EguiModifiers::NONE),
            key(Key::Enter, false, EguiModifiers::NONE),
        ],
    );
    assert_eq!(
        out.len(),
        2,
        "a second press while held is not sent: {out:?}"
    );
    assert!(
        matches!(&out[0], Command::Key(k) if k.usb_hid_usage == 0x28 && k.pressed && k.keysym == Some(0xFF0D))
    );
    assert!(matches!(&out[1], Command::Key(k) if k.usb_hid_usage == 0x28 && !k.pressed));
}

#[test]
fn the_physical_key_gives_the_usage_and_the_logical_key_the_keysym() {
    // A French AZERTY Ctrl+A: the logical A sits on the physical Q position.
    let mut forwarder = InputForwarder::default();
    let out = run(
        &mut forwarder,
        &context(true),
        &[Event::Key {
            key: Key::A,
            physical_key: Some(Key::Q),
            pressed: true,
            repeat: false,
            modifiers: EguiModifiers::CTRL,
        }],
    );
    assert!(
        matches!(&out[0], Command::Key(k) if k.usb_hid_usage == 0x14 && k.keysym == Some(u32::from(b'a')))
    );
}

#[test]
fn losing_focus_releases_everything_held() {
    let mut forwarder = InputForwarder::default();
    let cx = context(true);
    run(
        &mut forwarder,
        &cx,
        &[
            key(Key::ShiftLeft, true, EguiModifiers::SHIFT),
            click(pos2(1.0, 41.0), true),
        ],
    );
    assert!(forwarder.holds_anything());
    let out = run(
        &mut forwarder,
        &context(false),
        &[Event::WindowFocused(false)],
    );
    assert!(matches!(&out[0], Command::Key(k) if k.usb_hid_usage == 0xE1 && !k.pressed));
    assert_eq!(
        out[1],
        Command::Button {
            button: MouseButton::Left,
            pressed: false
        }
    );
    assert!(!forwarder.holds_anything());
}

#[test]
fn clipboard_shortcut_events_are_forwarded_as_key_presses() {
    let mut forwarder = InputForwarder::default();
    let mut cx = context(true);
    cx.modifiers = EguiModifiers::CTRL;
    let out = run(
        &mut forwarder,
        &cx,
        &[
            Event::Paste("local clipboard".into()),
            key(Key::V, false, EguiModifiers::CTRL),
        ],
    );
    assert!(matches!(&out[0], Command::Key(k) if k.usb_hid_usage == 0x19 && k.pressed));
    assert!(matches!(&out[1], Command::Key(k) if k.usb_hid_usage == 0x19 && !k.pressed));
    assert_eq!(out.len(), 2, "the local clipboard's content is not sent");
}

#[test]
fn the_toolbar_key_stays_local() {
    let mut forwarder = InputForwarder::default();
    let out = run(
        &mut forwarder,
        &context(true),
        &[key(TOOLBAR_KEY, true, EguiModifiers::NONE)],
    );
    assert!(out.is_empty());
}
