//! Video quality on both sides: the agent reports what it sends, the technician's
//! preference goes the other way, each only where it belongs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use common::*;
use lifeline_protocol::framing::{ControlReader, encode_control};
use lifeline_protocol::message::{Capabilities, ControlMessage, QualityPreference, VideoQuality};
use lifeline_protocol::session::{
    AgentEvent, AgentSession, ConsentAnswer, Phase, ViewerConfig, ViewerEvent, ViewerSession,
};
use lifeline_protocol::{CodeGuard, LocalMisuse, PeerMisbehaved, Scope, ScopeSet};

fn view_input() -> ScopeSet {
    ScopeSet::from([Scope::ViewScreen, Scope::ControlInput])
}

fn adaptive() -> Capabilities {
    Capabilities::H264.union(Capabilities::ADAPTIVE_QUALITY)
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

fn half_scale() -> VideoQuality {
    VideoQuality {
        screen_width: 1920,
        screen_height: 1080,
        frame_width: 960,
        frame_height: 540,
        bitrate_bps: 400_000,
        frame_rate_hz: 10,
        preference: QualityPreference::Speed,
    }
}

fn delivered_to_viewer(events: Vec<ViewerEvent>) -> Vec<ControlMessage> {
    events
        .into_iter()
        .filter_map(|event| match event {
            ViewerEvent::Deliver(message) => Some(message),
            _ => None,
        })
        .collect()
}

fn delivered_to_agent(events: Vec<AgentEvent>) -> Vec<ControlMessage> {
    events
        .into_iter()
        .filter_map(|event| match event {
            AgentEvent::Deliver(message) => Some(message),
            _ => None,
        })
        .collect()
}

#[test]
fn the_viewer_learns_the_quality_and_the_agent_the_preference() {
    let mut guard = new_guard();
    let mut pair = active_pair(&mut guard, adaptive(), view_input());
    pair.agent.send_video_quality(half_scale()).unwrap();
    pair.run(&mut guard);
    assert_eq!(
        delivered_to_viewer(pair.take_viewer_events()),
        vec![ControlMessage::VideoQuality(half_scale())]
    );

    pair.viewer
        .send(ControlMessage::QualityPreference(
            QualityPreference::Quality,
        ))
        .unwrap();
    pair.run(&mut guard);
    assert_eq!(
        delivered_to_agent(pair.take_agent_events()),
        vec![ControlMessage::QualityPreference(
            QualityPreference::Quality
        )]
    );
    assert_eq!(pair.agent.phase(), Phase::Active);
}

#[test]
fn no_report_goes_to_a_viewer_that_did_not_announce_the_feature() {
    let mut guard = new_guard();
    let mut pair = active_pair(&mut guard, Capabilities::H264, view_input());
    assert_eq!(
        pair.agent.send_video_quality(half_scale()),
        Err(LocalMisuse::NotSupportedByPeer {
            message: "video-quality"
        })
    );
}

#[test]
fn without_the_view_permission_neither_goes_out() {
    let mut guard = new_guard();
    let mut pair = active_pair(&mut guard, adaptive(), Scope::ControlInput.into());
    assert!(pair.agent.send_video_quality(half_scale()).is_err());
    assert!(
        pair.viewer
            .send(ControlMessage::QualityPreference(QualityPreference::Speed))
            .is_err()
    );
    // A preference that arrives anyway is refused, and the session goes on.
    let now = pair.now;
    pair.agent
        .handle_control(
            ControlMessage::QualityPreference(QualityPreference::Speed),
            &mut guard,
            now,
        )
        .unwrap();
    assert!(delivered_to_agent(pair.take_agent_events()).is_empty());
    assert_eq!(pair.agent.phase(), Phase::Active);
}

#[test]
fn each_side_refuses_what_only_the_other_sends() {
    let mut guard = new_guard();
    let mut pair = active_pair(&mut guard, adaptive(), view_input());
    let now = pair.now;
    assert_eq!(
        pair.agent
            .handle_control(ControlMessage::VideoQuality(half_scale()), &mut guard, now),
        Err(PeerMisbehaved::WrongDirection {
            message: "video-quality"
        })
    );

    let mut guard = new_guard();
    let mut pair = active_pair(&mut guard, adaptive(), view_input());
    assert_eq!(
        pair.viewer
            .handle_control(ControlMessage::QualityPreference(QualityPreference::Speed)),
        Err(PeerMisbehaved::WrongDirection {
            message: "quality-preference"
        })
    );
}

#[test]
fn a_report_of_pictures_larger_than_the_screen_ends_the_session() {
    let mut guard = new_guard();
    let mut pair = active_pair(&mut guard, adaptive(), view_input());
    let bad = VideoQuality {
        frame_width: 4000,
        ..half_scale()
    };
    let error = pair
        .viewer
        .handle_control(ControlMessage::VideoQuality(bad))
        .unwrap_err();
    assert!(
        matches!(error, PeerMisbehaved::Malformed { .. }),
        "{error:?}"
    );
    assert_eq!(pair.viewer.phase(), Phase::Closed);
}

#[test]
fn the_new_messages_survive_the_wire() {
    let mut reader = ControlReader::new();
    for message in [
        ControlMessage::VideoQuality(half_scale()),
        ControlMessage::QualityPreference(QualityPreference::Quality),
        ControlMessage::QualityPreference(QualityPreference::Speed),
    ] {
        let decoded = reader.feed(&encode_control(&message).unwrap()).unwrap();
        assert_eq!(decoded, vec![message]);
    }
}
