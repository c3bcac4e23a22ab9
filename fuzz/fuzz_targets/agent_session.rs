//! A hostile viewer: an honest hello and SPAKE2 start, then arbitrary frames fed to
//! the agent's state machine. The agent must never panic, never act before consent,
//! and never hold scopes the user did not grant.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeline_protocol::code::{CodeGuard, CodePolicy};
use lifeline_protocol::framing::ControlReader;
use lifeline_protocol::message::{Capabilities, SessionId};
use lifeline_protocol::session::{AgentConfig, AgentEvent, AgentSession, Phase};
use lifeline_protocol::version::SUPPORTED_VERSIONS;
use lifeline_protocol::{PublicKey, ScopeSet, Timestamp};

fuzz_target!(|data: &[u8]| {
    let now = Timestamp(1_750_000_000_000);
    let mut guard = CodeGuard::new(CodePolicy::default(), now).expect("random code");
    let mut agent = AgentSession::new(AgentConfig {
        local: PublicKey([1; 32]).fingerprint(),
        peer: PublicKey([2; 32]).fingerprint(),
        channel_binding: b"exporter".to_vec(),
        session_id: SessionId([0; 16]),
        software_version: "fuzz".to_owned(),
        versions: SUPPORTED_VERSIONS.to_vec(),
        capabilities: Capabilities::H264,
    });
    let mut reader = ControlReader::new();
    let Ok(messages) = reader.feed(data) else {
        return;
    };
    for message in messages {
        if agent.handle_control(message, &mut guard, now).is_err() {
            assert_eq!(agent.phase(), Phase::Closed);
        }
        while agent.poll_transmit().is_some() {}
        while let Some(event) = agent.poll_event() {
            // Nobody answered the consent prompt, so nothing may be acted upon.
            assert!(!matches!(event, AgentEvent::Deliver(_) | AgentEvent::PointerMove { .. }));
        }
        assert_eq!(agent.granted(), ScopeSet::empty());
    }
});
