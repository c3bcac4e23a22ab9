//! What accompanies the video, on both sides: the monitor list and the switch between
//! monitors, the pointer's image and its position in datagrams.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use common::*;
use lifeline_protocol::framing::{ControlReader, decode_datagram, encode_control, encode_datagram};
use lifeline_protocol::message::{
    Capabilities, ControlMessage, CursorImage, Datagram, EndReason, MonitorInfo, MonitorList,
};
use lifeline_protocol::session::{
    AgentEvent, AgentSession, ConsentAnswer, Phase, SendError, ViewerConfig, ViewerEvent,
    ViewerSession,
};
use lifeline_protocol::{CodeGuard, LocalMisuse, PeerMisbehaved, Scope, ScopeSet};

fn view_input() -> ScopeSet {
    ScopeSet::from([Scope::ViewScreen, Scope::ControlInput])
}

fn screen_capabilities() -> Capabilities {
    Capabilities::H264
        .union(Capabilities::CURSOR)
        .union(Capabilities::MULTI_MONITOR)
}

/// An active session whose viewer announced `capabilities` and was granted `granted`.
fn active_pair(guard: &mut CodeGuard, capabilities: Capabilities, granted: ScopeSet) -> Pair {
    let code = current_code(guard, T0);
    let viewer = ViewerSession::new(ViewerConfig {
        capabilities,
        ..viewer_config(&code, view_input(), b"exporter")
    });
    let mut pair = Pair::new(AgentSession::new(agent_config(b"exporter")), viewer, T0);
    pair.run(guard);
    pair.agent
        .answer_consent(ConsentAnswer::Allow(granted), pair.now)
        .unwrap();
    pair.run(guard);
    assert_eq!(pair.agent.phase(), Phase::Active);
    pair.take_agent_events();
    pair.take_viewer_events();
    pair
}

fn two_monitors(selected: u32) -> MonitorList {
    let monitor = |name: &str, x: i32, primary: bool| MonitorInfo {
        name: name.to_owned(),
        x,
        y: 0,
        width: 1280,
        height: 720,
        primary,
    };
    MonitorList {
        monitors: vec![monitor("left", 0, true), monitor("right", 1280, false)],
        selected,
    }
}

fn arrow() -> CursorImage {
    CursorImage {
        width: 2,
        height: 2,
        hot_x: 0,
        hot_y: 1,
        rgba: vec![255; 16],
    }
}

fn delivered(events: &[ViewerEvent]) -> Vec<&ControlMessage> {
    events
        .iter()
        .filter_map(|event| match event {
            ViewerEvent::Deliver(message) => Some(message),
            _ => None,
        })
        .collect()
}

fn viewer_ended(events: &[ViewerEvent]) -> Option<&EndReason> {
    events.iter().find_map(|event| match event {
        ViewerEvent::Ended(end) => Some(&end.reason),
        _ => None,
    })
}

fn agent_ended(events: &[AgentEvent]) -> Option<&EndReason> {
    events.iter().find_map(|event| match event {
        AgentEvent::Ended(end) => Some(&end.reason),
        _ => None,
    })
}

#[test]
fn the_viewer_sees_the_monitors_and_switches_to_another() {
    let mut guard = new_guard();
    let mut pair = active_pair(&mut guard, screen_capabilities(), view_input());
    pair.agent
        .send_screen_info(ControlMessage::MonitorList(two_monitors(0)))
        .unwrap();
    pair.run(&mut guard);
    let events = pair.take_viewer_events();
    assert_eq!(
        delivered(&events),
        vec![&ControlMessage::MonitorList(two_monitors(0))]
    );

    pair.viewer.send(ControlMessage::SelectMonitor(1)).unwrap();
    pair.run(&mut guard);
    let selections: Vec<_> = pair
        .take_agent_events()
        .into_iter()
        .filter(|event| matches!(event, AgentEvent::Deliver(_)))
        .collect();
    assert_eq!(
        selections,
        vec![AgentEvent::Deliver(ControlMessage::SelectMonitor(1))]
    );

    // The agent confirms with the new list.
    pair.agent
        .send_screen_info(ControlMessage::MonitorList(two_monitors(1)))
        .unwrap();
    pair.run(&mut guard);
    let events = pair.take_viewer_events();
    assert_eq!(
        delivered(&events),
        vec![&ControlMessage::MonitorList(two_monitors(1))]
    );
    assert!(pair.agent_errors.is_empty() && pair.viewer_errors.is_empty());
}

#[test]
fn the_pointer_image_arrives_once_and_only_the_newest_position_counts() {
    let mut guard = new_guard();
    let mut pair = active_pair(&mut guard, screen_capabilities(), view_input());
    pair.agent
        .send_screen_info(ControlMessage::CursorImage(arrow()))
        .unwrap();
    pair.run(&mut guard);
    let events = pair.take_viewer_events();
    assert_eq!(
        delivered(&events),
        vec![&ControlMessage::CursorImage(arrow())]
    );

    let first = pair.agent.cursor_position(10, 20, true).unwrap();
    let second = pair.agent.cursor_position(-3, 40, false).unwrap();
    // Through the wire encoding; the second overtakes the first, as datagrams may.
    for datagram in [second, first] {
        let bytes = encode_datagram(&datagram).unwrap();
        pair.viewer
            .handle_datagram(decode_datagram(&bytes).unwrap())
            .unwrap();
    }
    let positions: Vec<_> = std::iter::from_fn(|| pair.viewer.poll_event()).collect();
    assert_eq!(
        positions,
        vec![ViewerEvent::Cursor {
            x: -3,
            y: 40,
            visible: false
        }]
    );
}

#[test]
fn nothing_goes_to_a_viewer_that_did_not_announce_the_feature() {
    let mut guard = new_guard();
    let mut pair = active_pair(&mut guard, Capabilities::H264, view_input());
    assert!(!pair.agent.peer_supports(Capabilities::CURSOR));
    assert_eq!(
        pair.agent
            .send_screen_info(ControlMessage::MonitorList(two_monitors(0))),
        Err(LocalMisuse::NotSupportedByPeer {
            message: "monitor-list"
        })
    );
    assert_eq!(
        pair.agent.cursor_position(1, 1, true),
        Err(LocalMisuse::NotSupportedByPeer { message: "cursor" })
    );
    assert!(pair.agent.poll_transmit().is_none());
}

#[test]
fn without_the_view_permission_nothing_is_sent_or_shown() {
    let mut guard = new_guard();
    let mut pair = active_pair(
        &mut guard,
        screen_capabilities(),
        Scope::ControlInput.into(),
    );
    assert!(matches!(
        pair.agent.cursor_position(1, 1, true),
        Err(LocalMisuse::WrongPhase { .. })
    ));
    assert!(matches!(
        pair.agent
            .send_screen_info(ControlMessage::CursorImage(arrow())),
        Err(LocalMisuse::WrongPhase { .. })
    ));
    assert!(matches!(
        pair.viewer.send(ControlMessage::SelectMonitor(1)),
        Err(SendError::Denied(_))
    ));

    // A position sent before the view permission was revoked is dropped on arrival.
    let mut pair = active_pair(&mut guard, screen_capabilities(), view_input());
    let late = pair.agent.cursor_position(5, 5, true).unwrap();
    pair.agent
        .revoke(Scope::ViewScreen.into(), pair.now)
        .unwrap();
    pair.run(&mut guard);
    pair.take_viewer_events();
    pair.viewer.handle_datagram(late).unwrap();
    assert_eq!(pair.viewer.poll_event(), None);
    assert_eq!(pair.viewer.phase(), Phase::Active);
}

#[test]
fn a_list_selecting_a_missing_monitor_or_a_torn_image_ends_the_session() {
    for bad in [
        ControlMessage::MonitorList(two_monitors(2)),
        ControlMessage::CursorImage(CursorImage {
            rgba: vec![0; 15],
            ..arrow()
        }),
        ControlMessage::CursorImage(CursorImage {
            hot_x: 2,
            ..arrow()
        }),
    ] {
        let mut guard = new_guard();
        let mut pair = active_pair(&mut guard, screen_capabilities(), view_input());
        let error = pair.viewer.handle_control(bad).unwrap_err();
        assert!(
            matches!(error, PeerMisbehaved::Malformed { .. }),
            "{error:?}"
        );
        let events: Vec<_> = std::iter::from_fn(|| pair.viewer.poll_event()).collect();
        assert!(matches!(
            viewer_ended(&events),
            Some(EndReason::ProtocolViolation { .. })
        ));
        assert_eq!(pair.viewer.phase(), Phase::Closed);
    }
}

#[test]
fn each_side_refuses_what_only_the_other_sends() {
    // A viewer sending a monitor list, a pointer image or a pointer position.
    for from_viewer in [
        ControlMessage::MonitorList(two_monitors(0)),
        ControlMessage::CursorImage(arrow()),
    ] {
        let mut guard = new_guard();
        let mut pair = active_pair(&mut guard, screen_capabilities(), view_input());
        let now = pair.now;
        let error = pair
            .agent
            .handle_control(from_viewer, &mut guard, now)
            .unwrap_err();
        assert!(matches!(error, PeerMisbehaved::WrongDirection { .. }));
        pair.run(&mut guard);
        assert!(agent_ended(&pair.take_agent_events()).is_some());
    }
    let mut guard = new_guard();
    let mut pair = active_pair(&mut guard, screen_capabilities(), view_input());
    let now = pair.now;
    let forged = Datagram::Cursor {
        sequence: 0,
        x: 1,
        y: 1,
        visible: true,
    };
    assert_eq!(
        pair.agent.handle_datagram(forged, &mut guard, now),
        Err(PeerMisbehaved::WrongDirection { message: "cursor" })
    );
    assert_eq!(pair.agent.phase(), Phase::Closed);

    // An agent asking the viewer to switch monitors, or moving the viewer's pointer.
    let mut guard = new_guard();
    let mut pair = active_pair(&mut guard, screen_capabilities(), view_input());
    assert_eq!(
        pair.viewer.handle_control(ControlMessage::SelectMonitor(0)),
        Err(PeerMisbehaved::WrongDirection {
            message: "select-monitor"
        })
    );
    let mut guard = new_guard();
    let mut pair = active_pair(&mut guard, screen_capabilities(), view_input());
    let _ = &mut guard;
    assert_eq!(
        pair.viewer.handle_datagram(Datagram::PointerMove {
            sequence: 0,
            x: 1,
            y: 1
        }),
        Err(PeerMisbehaved::WrongDirection {
            message: "pointer-move"
        })
    );
    assert_eq!(pair.viewer.phase(), Phase::Closed);
}

#[test]
fn the_new_messages_survive_the_wire() {
    let messages = [
        ControlMessage::MonitorList(two_monitors(1)),
        ControlMessage::SelectMonitor(u32::MAX),
        ControlMessage::CursorImage(arrow()),
    ];
    let mut reader = ControlReader::new();
    for message in &messages {
        let decoded = reader.feed(&encode_control(message).unwrap()).unwrap();
        assert_eq!(decoded, vec![message.clone()]);
    }
    let datagram = Datagram::Cursor {
        sequence: u64::MAX,
        x: i32::MIN,
        y: i32::MAX,
        visible: true,
    };
    assert_eq!(
        decode_datagram(&encode_datagram(&datagram).unwrap()).unwrap(),
        datagram
    );
    // The largest pointer image fits a control frame.
    let side = lifeline_protocol::message::screen::MAX_CURSOR_SIDE;
    let largest = ControlMessage::CursorImage(CursorImage {
        width: side,
        height: side,
        hot_x: 0,
        hot_y: 0,
        rgba: vec![7; (side * side * 4) as usize],
    });
    assert!(encode_control(&largest).is_ok());
}
