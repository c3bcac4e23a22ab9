//! An in-memory agent/viewer pair driven in virtual time, no sockets.
//!
//! Messages go through the real wire encoding (`framing`) on their way between the
//! two machines, so every session test also exercises encode and decode.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the harness"
)]

use std::time::Duration;

use lifeline_protocol::code::{CodeGuard, CodePolicy, OneTimeCode};
use lifeline_protocol::framing::{ControlReader, encode_control};
use lifeline_protocol::message::{Capabilities, ControlMessage};
use lifeline_protocol::session::{
    AgentConfig, AgentEvent, AgentSession, Credential, ViewerConfig, ViewerEvent, ViewerSession,
};
use lifeline_protocol::trust::Trust;
use lifeline_protocol::version::SUPPORTED_VERSIONS;
use lifeline_protocol::{Fingerprint, PeerMisbehaved, PublicKey, ScopeSet, Timestamp};

pub(crate) const T0: Timestamp = Timestamp(1_750_000_000_000);

pub(crate) fn agent_key() -> Fingerprint {
    PublicKey([0xA6; 32]).fingerprint()
}

pub(crate) fn viewer_key() -> Fingerprint {
    PublicKey([0x7E; 32]).fingerprint()
}

pub(crate) fn agent_config(channel_binding: &[u8]) -> AgentConfig {
    AgentConfig {
        local: agent_key(),
        peer: viewer_key(),
        channel_binding: channel_binding.to_vec(),
        session_id: lifeline_protocol::message::SessionId([0x51; 16]),
        software_version: "0.1.0".to_owned(),
        versions: SUPPORTED_VERSIONS.to_vec(),
        capabilities: Capabilities::H264.union(Capabilities::WITHDRAW_TRANSFER),
        trust: Trust::default(),
    }
}

pub(crate) fn viewer_config(
    code: &OneTimeCode,
    requested: ScopeSet,
    channel_binding: &[u8],
) -> ViewerConfig {
    ViewerConfig {
        local: viewer_key(),
        peer: agent_key(),
        channel_binding: channel_binding.to_vec(),
        credential: Credential::Code(code.clone()),
        certificate: None,
        technician_name: "Sam from IT".to_owned(),
        requested,
        reason: "printer does not print".to_owned(),
        software_version: "0.1.0".to_owned(),
        versions: SUPPORTED_VERSIONS.to_vec(),
        capabilities: Capabilities::H264,
    }
}

/// Both sides of one connection, and the agent's code guard.
pub(crate) struct Pair {
    pub(crate) agent: AgentSession,
    pub(crate) viewer: ViewerSession,
    pub(crate) now: Timestamp,
    pub(crate) agent_events: Vec<AgentEvent>,
    pub(crate) viewer_events: Vec<ViewerEvent>,
    pub(crate) agent_errors: Vec<PeerMisbehaved>,
    pub(crate) viewer_errors: Vec<PeerMisbehaved>,
    to_agent: ControlReader,
    to_viewer: ControlReader,
}

impl Pair {
    pub(crate) fn new(agent: AgentSession, viewer: ViewerSession, now: Timestamp) -> Self {
        Self {
            agent,
            viewer,
            now,
            agent_events: Vec::new(),
            viewer_events: Vec::new(),
            agent_errors: Vec::new(),
            viewer_errors: Vec::new(),
            to_agent: ControlReader::new(),
            to_viewer: ControlReader::new(),
        }
    }

    /// A pair on one honest connection whose viewer types `typed`.
    pub(crate) fn connect(typed: &OneTimeCode, requested: ScopeSet, now: Timestamp) -> Self {
        Self::new(
            AgentSession::new(agent_config(b"exporter")),
            ViewerSession::new(viewer_config(typed, requested, b"exporter")),
            now,
        )
    }

    pub(crate) fn advance(&mut self, by: Duration) {
        self.now = self.now.saturating_add(by);
    }

    /// Moves messages both ways, through the wire encoding, until nothing is left.
    pub(crate) fn run(&mut self, guard: &mut CodeGuard) {
        loop {
            let mut moved = false;
            while let Some(message) = self.viewer.poll_transmit() {
                moved = true;
                for message in wire(&mut self.to_agent, &message) {
                    if let Err(err) = self.agent.handle_control(message, guard, self.now) {
                        self.agent_errors.push(err);
                    }
                }
            }
            while let Some(message) = self.agent.poll_transmit() {
                moved = true;
                for message in wire(&mut self.to_viewer, &message) {
                    if let Err(err) = self.viewer.handle_control(message) {
                        self.viewer_errors.push(err);
                    }
                }
            }
            while let Some(event) = self.agent.poll_event() {
                self.agent_events.push(event);
            }
            while let Some(event) = self.viewer.poll_event() {
                self.viewer_events.push(event);
            }
            if !moved {
                return;
            }
        }
    }

    pub(crate) fn take_agent_events(&mut self) -> Vec<AgentEvent> {
        std::mem::take(&mut self.agent_events)
    }

    pub(crate) fn take_viewer_events(&mut self) -> Vec<ViewerEvent> {
        std::mem::take(&mut self.viewer_events)
    }

    /// Hands the viewer's next queued message to the agent, which must accept it.
    pub(crate) fn viewer_to_agent(&mut self, guard: &mut CodeGuard) {
        let message = self
            .viewer
            .poll_transmit()
            .expect("the viewer has a message to send");
        self.agent
            .handle_control(message, guard, self.now)
            .expect("the agent accepts it");
    }

    /// Hands the agent's next queued message to the viewer, which must accept it.
    pub(crate) fn agent_to_viewer(&mut self) {
        let message = self
            .agent
            .poll_transmit()
            .expect("the agent has a message to send");
        self.viewer
            .handle_control(message)
            .expect("the viewer accepts it");
    }
}

/// Encodes a message as it would go on the wire and decodes it on the other end,
/// delivering it in two pieces to exercise partial reads.
pub(crate) fn wire(reader: &mut ControlReader, message: &ControlMessage) -> Vec<ControlMessage> {
    let bytes = encode_control(message).expect("a message the machine produced encodes");
    let (first, second) = bytes.split_at(bytes.len() / 2);
    let mut out = reader.feed(first).expect("first half decodes");
    out.extend(reader.feed(second).expect("second half decodes"));
    assert!(reader.is_at_frame_boundary());
    out
}

pub(crate) fn new_guard() -> CodeGuard {
    CodeGuard::new(CodePolicy::default(), T0).expect("random code")
}

pub(crate) fn current_code(guard: &mut CodeGuard, now: Timestamp) -> OneTimeCode {
    guard.current(now).expect("random code").clone()
}

/// A code that is not the guard's.
pub(crate) fn wrong_code(right: &OneTimeCode) -> OneTimeCode {
    let candidate = OneTimeCode::parse("000 000 001").expect("valid");
    if &candidate == right {
        OneTimeCode::parse("000 000 002").expect("valid")
    } else {
        candidate
    }
}
