//! The viewer's side of a session (the technician's machine).
//!
//! The viewer treats the agent as untrusted too: it checks the agent's proof of the
//! code, refuses messages only a viewer may send, and shows video only while the view
//! scope is granted.

use std::collections::VecDeque;

use crate::action::{CommandOutput, CommandRequest};
use crate::authorize::{Denied, authorize};
use crate::code::OneTimeCode;
use crate::error::{LocalMisuse, PeerMisbehaved};
use crate::identity::Fingerprint;
use crate::message::{
    AuthMessage, Capabilities, ConsentDecision, ConsentRequest, ControlMessage, Datagram,
    EndReason, Hello, ScopeRequest, SessionEnd, SessionId, TechnicianIdentity, UnattendedAuth,
    Verification, VideoFrameHeader,
};
use crate::pake::{Confirmation, PakeContext, PakeSide, PakeStart};
use crate::scope::ScopeSet;
use crate::session::Phase;
use crate::trust::TechnicianCertificate;
use crate::version::{self, Announced, ProtocolVersion, Role};

mod files;
mod quality;
mod screen;
mod system;

/// What the viewer's side of one connection knows before the first message.
#[derive(Clone, Debug)]
pub struct ViewerConfig {
    /// The technician's key fingerprint (from the viewer's TLS certificate).
    pub local: Fingerprint,
    /// The agent's key fingerprint (from the agent's TLS certificate).
    pub peer: Fingerprint,
    /// The TLS exporter value of this connection.
    pub channel_binding: Vec<u8>,
    /// How the technician authenticates.
    pub credential: Credential,
    /// The technician's certificate, if their organisation gave them one; shown
    /// verified in the end user's consent prompt when the agent trusts its signer.
    pub certificate: Option<TechnicianCertificate>,
    /// The technician's name, shown to the end user.
    pub technician_name: String,
    /// What the technician asks to do.
    pub requested: ScopeSet,
    /// Why, shown to the end user.
    pub reason: String,
    /// The viewer's software version.
    pub software_version: String,
    /// Protocol versions spoken (normally [`version::SUPPORTED_VERSIONS`]).
    pub versions: Vec<ProtocolVersion>,
    /// Optional features.
    pub capabilities: Capabilities,
}

/// How the technician proves they may connect.
#[derive(Clone, Debug)]
pub enum Credential {
    /// The one-time code the end user read out (attended support).
    Code(OneTimeCode),
    /// Unattended access with an organisation's certificate.
    Unattended {
        /// The certificate of the technician's key (the viewer's identity key).
        certificate: Box<TechnicianCertificate>,
        /// [`crate::trust::sign_unattended_proof`] for this connection.
        proof: Vec<u8>,
        /// The second-factor code, when the technician has one.
        totp: Option<String>,
    },
    /// Resume a session whose connection was lost, within
    /// [`crate::session::resume::RESUME_WINDOW`], with no code (see
    /// [`crate::session::resume`]).
    Resume {
        /// The lost session.
        session: SessionId,
        /// The agent key of the lost session: nothing is sent to another.
        agent: Fingerprint,
    },
}

/// Something the viewer must act on or show.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViewerEvent {
    /// Both sides proved they know the code; the consent request was sent.
    Authenticated {
        /// The session's id, as the agent chose it.
        session_id: Option<SessionId>,
    },
    /// The end user granted scopes (initially, or later in the session).
    ScopesChanged(ScopeSet),
    /// The end user refused a request made during the session.
    ScopeRefused {
        /// What was refused.
        scopes: ScopeSet,
        /// Why, if the user said.
        reason: String,
    },
    /// The end user is asked to confirm this action: show that it waits.
    ActionPending {
        /// The action's id, from [`ViewerSession::run_command`].
        id: u32,
    },
    /// The action was refused or could not start.
    ActionRefused {
        /// The action's id.
        id: u32,
        /// Why.
        reason: String,
    },
    /// A command's result.
    CommandOutput(CommandOutput),
    /// The answer to [`ViewerSession::request_system_info`]: the report, or why there
    /// is none.
    SystemInfo {
        /// The request's id.
        id: u32,
        /// The report, or why there is none.
        result: crate::system::SystemInfoResult,
    },
    /// The result of [`ViewerSession::run_diagnostic`].
    DiagnosticResult(crate::system::DiagnosticReport),
    /// A message to show or act on (chat, clipboard, error reports, pong).
    Deliver(ControlMessage),
    /// The session is over.
    Ended(SessionEnd),
    /// The agent's pointer is at (x, y) in pixels of the monitor shown (its hot spot);
    /// not `visible` when it is off that monitor.
    Cursor {
        /// Column in monitor pixels.
        x: i32,
        /// Row in monitor pixels.
        y: i32,
        /// Whether it is on the monitor shown.
        visible: bool,
    },
    /// The agent accepted this offer ([`ViewerSession::send_file`]): open a file stream
    /// with [`crate::transfer::encode_stream_header`] and send the file's bytes.
    FileAccepted(crate::transfer::FileOffer),
    /// The end user has the file sent: it arrived intact and was saved.
    FileReceived {
        /// The transfer's id.
        id: u32,
        /// The name it was saved under in their Downloads folder.
        saved_as: String,
    },
    /// The agent ended a file transfer: stop it and remove any partial file.
    FileFailed {
        /// The transfer's id.
        id: u32,
        /// Why.
        reason: String,
    },
}

/// A message the viewer cannot send now.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The scope it needs is not granted.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// The session is not active, or the message is not one the viewer sends.
    #[error(transparent)]
    Local(#[from] LocalMisuse),
    /// The diagnostic's argument is wrong (nothing was sent).
    #[error(transparent)]
    Diagnostic(#[from] crate::system::DiagnosticError),
}

enum State {
    AwaitingHello,
    AwaitingSpake(PakeStart),
    AwaitingConfirm(Confirmation),
    AwaitingUnattendedAcceptance,
    AwaitingResumption,
    AwaitingConsent,
    Active {
        granted: ScopeSet,
        pending_request: bool,
    },
    Closed,
}

impl State {
    fn phase(&self) -> Phase {
        match self {
            State::AwaitingHello => Phase::AwaitingHello,
            State::AwaitingSpake(_)
            | State::AwaitingConfirm(_)
            | State::AwaitingUnattendedAcceptance
            | State::AwaitingResumption => Phase::Authenticating,
            State::AwaitingConsent => Phase::AwaitingConsent,
            State::Active { .. } => Phase::Active,
            State::Closed => Phase::Closed,
        }
    }
}

/// The viewer's state machine for one connection (see [`crate::session`]).
pub struct ViewerSession {
    config: ViewerConfig,
    state: State,
    version: Option<ProtocolVersion>,
    session_id: Option<SessionId>,
    /// What the agent's hello announced.
    peer_capabilities: Capabilities,
    next_pointer_sequence: u64,
    next_action_id: u32,
    /// Ids of actions sent and not yet answered with a refusal or a result.
    actions_in_flight: Vec<u32>,
    /// System information requests and diagnostics sent and not yet answered.
    inspections_in_flight: Vec<(u32, crate::scope::Scope)>,
    /// File transfers asked for and not yet ended.
    files: files::Transfers,
    newest_cursor_sequence: Option<u64>,
    transmit: VecDeque<ControlMessage>,
    events: VecDeque<ViewerEvent>,
}

impl std::fmt::Debug for ViewerSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewerSession")
            .field("session_id", &self.session_id)
            .field("phase", &self.phase())
            .field("granted", &self.granted())
            .finish_non_exhaustive()
    }
}

impl ViewerSession {
    /// A session for a connection whose TLS handshake just finished. Its `Hello` is
    /// queued for sending.
    pub fn new(config: ViewerConfig) -> Self {
        let hello = ControlMessage::Hello(Hello {
            versions: config.versions.clone(),
            role: Role::Viewer,
            capabilities: config.capabilities,
            software_version: config.software_version.clone(),
            session_id: None,
        });
        Self {
            config,
            state: State::AwaitingHello,
            version: None,
            session_id: None,
            peer_capabilities: Capabilities::default(),
            next_pointer_sequence: 0,
            next_action_id: 1,
            actions_in_flight: Vec::new(),
            inspections_in_flight: Vec::new(),
            files: files::Transfers::default(),
            newest_cursor_sequence: None,
            transmit: VecDeque::from([hello]),
            events: VecDeque::new(),
        }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.state.phase()
    }

    /// The scopes granted now (empty unless active).
    pub fn granted(&self) -> ScopeSet {
        match self.state {
            State::Active { granted, .. } => granted,
            _ => ScopeSet::empty(),
        }
    }

    /// The protocol version in use, once hellos were exchanged.
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.version
    }

    /// The session id the agent announced.
    pub fn session_id(&self) -> Option<SessionId> {
        self.session_id
    }

    /// Whether the agent announced `capability` in its hello.
    pub fn peer_supports(&self, capability: Capabilities) -> bool {
        self.peer_capabilities.contains(capability)
    }

    /// The next control message to send.
    pub fn poll_transmit(&mut self) -> Option<ControlMessage> {
        self.transmit.pop_front()
    }

    /// The next event to act on.
    pub fn poll_event(&mut self) -> Option<ViewerEvent> {
        self.events.pop_front()
    }

    /// Handles a control message from the agent.
    pub fn handle_control(&mut self, message: ControlMessage) -> Result<(), PeerMisbehaved> {
        if matches!(self.state, State::Closed) {
            // Both sides may end at once; their farewells cross harmlessly.
            if matches!(message, ControlMessage::SessionEnd(_)) {
                return Ok(());
            }
            // The connection is being torn down; nothing more is acted upon.
            return Err(PeerMisbehaved::OutOfPhase {
                message: message.kind(),
                phase: Phase::Closed.name(),
            });
        }
        let result = message
            .check_limits()
            .map_err(PeerMisbehaved::from)
            .and_then(|()| self.dispatch(message));
        if let Err(violation) = &result {
            self.close_for_violation(violation);
        }
        result
    }

    /// The connection's bytes broke the protocol below the message level (framing,
    /// a malformed video stream): end the session as for any other violation.
    pub fn report_violation(&mut self, violation: &PeerMisbehaved) {
        if !matches!(self.state, State::Closed) {
            self.close_for_violation(violation);
        }
    }

    fn close_for_violation(&mut self, violation: &PeerMisbehaved) {
        self.state = State::Closed;
        let reason = EndReason::ProtocolViolation {
            detail: violation.to_string(),
        };
        self.send_end(reason.clone());
        self.events.push_back(ViewerEvent::Ended(SessionEnd {
            by: Role::Viewer,
            reason,
        }));
    }

    fn dispatch(&mut self, message: ControlMessage) -> Result<(), PeerMisbehaved> {
        match message {
            ControlMessage::SessionEnd(end) => {
                self.state = State::Closed;
                self.events.push_back(ViewerEvent::Ended(SessionEnd {
                    by: Role::Agent,
                    reason: end.reason,
                }));
                return Ok(());
            }
            ControlMessage::AuthRejected(rejection) if self.phase() == Phase::Authenticating => {
                self.state = State::Closed;
                self.events.push_back(ViewerEvent::Ended(SessionEnd {
                    by: Role::Agent,
                    reason: EndReason::AuthenticationFailed(rejection),
                }));
                return Ok(());
            }
            ControlMessage::Error(report) => {
                // Valid in every phase, but text from a peer that has not proven the
                // code is not passed on to anyone.
                if matches!(self.phase(), Phase::AwaitingConsent | Phase::Active) {
                    self.events
                        .push_back(ViewerEvent::Deliver(ControlMessage::Error(report)));
                }
                return Ok(());
            }
            _ => {}
        }
        let state = std::mem::replace(&mut self.state, State::Closed);
        let (next, result) = match (state, message) {
            (State::AwaitingHello, ControlMessage::Hello(hello)) => self.on_hello(hello),
            (State::AwaitingSpake(start), ControlMessage::Auth(AuthMessage::Spake2(bytes))) => {
                self.on_spake(start, &bytes)
            }
            (
                State::AwaitingConfirm(confirmation),
                ControlMessage::Auth(AuthMessage::Confirm(mac)),
            ) => self.on_confirm(&confirmation, &mac),
            (
                State::AwaitingUnattendedAcceptance,
                ControlMessage::Auth(AuthMessage::UnattendedAccepted),
            ) => self.on_authenticated(),
            (State::AwaitingResumption, ControlMessage::Auth(AuthMessage::Resumed)) => {
                // The grant of the lost session's permissions follows; nothing is asked.
                self.events.push_back(ViewerEvent::Authenticated {
                    session_id: self.session_id,
                });
                (State::AwaitingConsent, Ok(()))
            }
            (State::AwaitingConsent, ControlMessage::ConsentDecision(decision)) => {
                self.on_decision(decision)
            }
            (
                State::Active {
                    granted,
                    pending_request,
                },
                message,
            ) => self.on_active(granted, pending_request, message),
            (state, message) => {
                let error = if is_viewer_to_agent(&message) {
                    PeerMisbehaved::WrongDirection {
                        message: message.kind(),
                    }
                } else {
                    PeerMisbehaved::OutOfPhase {
                        message: message.kind(),
                        phase: state.phase().name(),
                    }
                };
                (state, Err(error))
            }
        };
        self.state = next;
        result
    }

    fn on_hello(&mut self, hello: Hello) -> (State, Result<(), PeerMisbehaved>) {
        if hello.role != Role::Agent {
            return (
                State::AwaitingHello,
                Err(PeerMisbehaved::WrongRole {
                    claimed: hello.role,
                    expected: Role::Agent,
                }),
            );
        }
        self.session_id = hello.session_id;
        self.peer_capabilities = hello.capabilities;
        let local = Announced {
            role: Role::Viewer,
            software_version: self.config.software_version.clone(),
            versions: self.config.versions.clone(),
        };
        let peer = Announced {
            role: Role::Agent,
            software_version: hello.software_version,
            versions: hello.versions,
        };
        match version::negotiate(&local, &peer) {
            Ok(version) => {
                self.version = Some(version);
                match &self.config.credential {
                    Credential::Code(code) => {
                        let start = PakeStart::new(PakeSide::Viewer, code, &self.pake_context());
                        self.transmit
                            .push_back(ControlMessage::Auth(AuthMessage::Spake2(
                                start.message().to_vec(),
                            )));
                        (State::AwaitingSpake(start), Ok(()))
                    }
                    Credential::Unattended {
                        certificate,
                        proof,
                        totp,
                    } => {
                        self.transmit
                            .push_back(ControlMessage::Auth(AuthMessage::Unattended(Box::new(
                                UnattendedAuth {
                                    certificate: (**certificate).clone(),
                                    proof: proof.clone(),
                                    totp: totp.clone(),
                                },
                            ))));
                        (State::AwaitingUnattendedAcceptance, Ok(()))
                    }
                    Credential::Resume { session, agent } => {
                        if *agent != self.config.peer {
                            // Another key answers at that address: resuming would give
                            // it the technician's input without any code.
                            self.send_end(EndReason::PeerNotAuthenticated);
                            self.events.push_back(ViewerEvent::Ended(SessionEnd {
                                by: Role::Viewer,
                                reason: EndReason::PeerNotAuthenticated,
                            }));
                            return (State::Closed, Ok(()));
                        }
                        self.transmit
                            .push_back(ControlMessage::Auth(AuthMessage::Resume(*session)));
                        (State::AwaitingResumption, Ok(()))
                    }
                }
            }
            Err(mismatch) => {
                // The agent ends the session with the same explanation; say it first.
                let reason = EndReason::VersionMismatch {
                    message: mismatch.to_string(),
                };
                self.send_end(reason.clone());
                self.events.push_back(ViewerEvent::Ended(SessionEnd {
                    by: Role::Viewer,
                    reason,
                }));
                (State::Closed, Ok(()))
            }
        }
    }

    fn pake_context(&self) -> PakeContext<'_> {
        PakeContext {
            viewer: &self.config.local,
            agent: &self.config.peer,
            channel_binding: &self.config.channel_binding,
        }
    }

    fn on_spake(&mut self, start: PakeStart, bytes: &[u8]) -> (State, Result<(), PeerMisbehaved>) {
        match start.finish(bytes, &self.pake_context()) {
            Ok(confirmation) => {
                self.transmit
                    .push_back(ControlMessage::Auth(AuthMessage::Confirm(
                        confirmation.our_mac(),
                    )));
                (State::AwaitingConfirm(confirmation), Ok(()))
            }
            Err(bad) => (
                State::Closed,
                Err(PeerMisbehaved::Malformed {
                    what: "SPAKE2 message",
                    detail: bad.to_string(),
                }),
            ),
        }
    }

    fn on_confirm(
        &mut self,
        confirmation: &Confirmation,
        mac: &[u8],
    ) -> (State, Result<(), PeerMisbehaved>) {
        if confirmation.verify_peer(mac).is_err() {
            // The agent accepted our proof but cannot prove its own: it is not the
            // agent whose user gave us the code, or someone sits in between.
            self.send_end(EndReason::PeerNotAuthenticated);
            self.events.push_back(ViewerEvent::Ended(SessionEnd {
                by: Role::Viewer,
                reason: EndReason::PeerNotAuthenticated,
            }));
            return (State::Closed, Ok(()));
        }
        self.on_authenticated()
    }

    /// Authentication succeeded: ask for consent, presenting the certificate if any.
    fn on_authenticated(&mut self) -> (State, Result<(), PeerMisbehaved>) {
        self.events.push_back(ViewerEvent::Authenticated {
            session_id: self.session_id,
        });
        let certificate = match &self.config.credential {
            Credential::Unattended { certificate, .. } => Some(certificate.clone()),
            Credential::Code(_) | Credential::Resume { .. } => {
                self.config.certificate.clone().map(Box::new)
            }
        };
        self.transmit
            .push_back(ControlMessage::ConsentRequest(ConsentRequest {
                technician: TechnicianIdentity {
                    display_name: self.config.technician_name.clone(),
                    fingerprint: self.config.local,
                    verification: Verification::Unverified,
                },
                scopes: self.config.requested,
                reason: self.config.reason.clone(),
                certificate,
            }));
        (State::AwaitingConsent, Ok(()))
    }

    fn on_decision(&mut self, decision: ConsentDecision) -> (State, Result<(), PeerMisbehaved>) {
        match decision {
            ConsentDecision::Granted(granted) => {
                // The agent cannot grant what was not asked for.
                let granted = granted.intersection(self.config.requested);
                self.events.push_back(ViewerEvent::ScopesChanged(granted));
                (
                    State::Active {
                        granted,
                        pending_request: false,
                    },
                    Ok(()),
                )
            }
            ConsentDecision::Refused { reason } => {
                self.events.push_back(ViewerEvent::Ended(SessionEnd {
                    by: Role::Agent,
                    reason: EndReason::ConsentRefused { reason },
                }));
                (State::Closed, Ok(()))
            }
        }
    }

    fn on_active(
        &mut self,
        mut granted: ScopeSet,
        mut pending_request: bool,
        message: ControlMessage,
    ) -> (State, Result<(), PeerMisbehaved>) {
        let mut result = Ok(());
        match message {
            ControlMessage::ScopeGrant(added) => {
                pending_request = false;
                granted = granted.union(added);
                self.events.push_back(ViewerEvent::ScopesChanged(granted));
            }
            ControlMessage::ScopeRefused(refusal) => {
                pending_request = false;
                self.events.push_back(ViewerEvent::ScopeRefused {
                    scopes: refusal.scopes,
                    reason: refusal.reason,
                });
            }
            ControlMessage::ScopeRevoke(revoked) => {
                granted = granted.difference(revoked);
                self.events.push_back(ViewerEvent::ScopesChanged(granted));
            }
            ControlMessage::Ping(n) => self.transmit.push_back(ControlMessage::Pong(n)),
            message @ (ControlMessage::Pong(_) | ControlMessage::Chat(_)) => {
                self.events.push_back(ViewerEvent::Deliver(message));
            }
            message @ (ControlMessage::MonitorList(_) | ControlMessage::CursorImage(_)) => {
                result = self.on_screen_info(granted, message);
            }
            ControlMessage::VideoQuality(quality) => {
                result = self.on_video_quality(granted, quality);
            }
            message @ (ControlMessage::ActionPending(_)
            | ControlMessage::ActionRefused(_)
            | ControlMessage::CommandOutput(_)) => result = self.on_action_update(message),
            message @ (ControlMessage::SystemInfo(_) | ControlMessage::DiagnosticResult(_)) => {
                result = self.on_inspection_reply(granted, message);
            }
            message @ (ControlMessage::FileAccepted(_)
            | ControlMessage::FileReceived(_)
            | ControlMessage::FileFailed(_)) => result = self.on_file_update(message),
            message @ ControlMessage::ClipboardText(_) => {
                // The agent's clipboard is only taken while the scope is granted.
                if authorize(&message, granted).is_ok() {
                    self.events.push_back(ViewerEvent::Deliver(message));
                }
            }
            message if is_viewer_to_agent(&message) => {
                result = Err(PeerMisbehaved::WrongDirection {
                    message: message.kind(),
                });
            }
            message => {
                result = Err(PeerMisbehaved::OutOfPhase {
                    message: message.kind(),
                    phase: Phase::Active.name(),
                });
            }
        }
        (
            State::Active {
                granted,
                pending_request,
            },
            result,
        )
    }

    /// An answer about an action this viewer asked for; answers about any other id
    /// are peer misbehaviour.
    fn on_action_update(&mut self, message: ControlMessage) -> Result<(), PeerMisbehaved> {
        if let Some(result) = self.on_file_action_update(&message) {
            return result;
        }
        let (id, finished) = match &message {
            ControlMessage::ActionPending(pending) => (pending.id, false),
            ControlMessage::ActionRefused(refusal) => (refusal.id, true),
            ControlMessage::CommandOutput(output) => (output.id, true),
            _ => return Ok(()),
        };
        let Some(index) = self.actions_in_flight.iter().position(|known| *known == id) else {
            return Err(PeerMisbehaved::OutOfPhase {
                message: message.kind(),
                phase: "no action with this number was asked for",
            });
        };
        if finished {
            self.actions_in_flight.remove(index);
        }
        let event = match message {
            ControlMessage::ActionPending(pending) => ViewerEvent::ActionPending { id: pending.id },
            ControlMessage::ActionRefused(refusal) => ViewerEvent::ActionRefused {
                id: refusal.id,
                reason: refusal.reason,
            },
            ControlMessage::CommandOutput(output) => ViewerEvent::CommandOutput(output),
            _ => return Ok(()),
        };
        self.events.push_back(event);
        Ok(())
    }

    /// Asks the agent to run `command_line`; returns the action's id. Needs the
    /// `commands` permission.
    pub fn run_command(&mut self, command_line: String) -> Result<u32, SendError> {
        let id = self.next_action_id;
        let message = ControlMessage::RunCommand(CommandRequest { id, command_line });
        let State::Active { granted, .. } = self.state else {
            return Err(SendError::Local(LocalMisuse::WrongPhase {
                action: "run a command",
                phase: self.phase().name(),
            }));
        };
        authorize(&message, granted)?;
        message.check_limits().map_err(LocalMisuse::from)?;
        self.next_action_id = self.next_action_id.wrapping_add(1).max(1);
        self.actions_in_flight.push(id);
        self.transmit.push_back(message);
        Ok(id)
    }

    /// Whether a received video frame may be decoded and shown: only in an active
    /// session with the view scope. Frames that fail are dropped, not shown.
    pub fn may_show_video(&self, header: &VideoFrameHeader) -> Result<(), SendError> {
        match self.state {
            State::Active { granted, .. } => Ok(authorize(header, granted)?),
            _ => Err(SendError::Local(LocalMisuse::WrongPhase {
                action: "show video",
                phase: self.phase().name(),
            })),
        }
    }

    /// Queues a message for the agent: input, clipboard, chat, keyframe requests,
    /// receiver reports or pings. Refused locally when its scope is not granted.
    pub fn send(&mut self, message: ControlMessage) -> Result<(), SendError> {
        let State::Active { granted, .. } = self.state else {
            return Err(SendError::Local(LocalMisuse::WrongPhase {
                action: "send a message",
                phase: self.phase().name(),
            }));
        };
        let allowed = matches!(
            message,
            ControlMessage::KeyframeRequest
                | ControlMessage::ReceiverReport(_)
                | ControlMessage::Ping(_)
                | ControlMessage::PointerButton(_)
                | ControlMessage::Wheel(_)
                | ControlMessage::Key(_)
                | ControlMessage::TypeText(_)
                | ControlMessage::ClipboardText(_)
                | ControlMessage::Chat(_)
                | ControlMessage::SelectMonitor(_)
                | ControlMessage::QualityPreference(_)
                | ControlMessage::RecordingNotice(_)
        );
        if !allowed {
            return Err(SendError::Local(LocalMisuse::WrongPhase {
                action: "send this message kind through `send`",
                phase: self.phase().name(),
            }));
        }
        authorize(&message, granted)?;
        message.check_limits().map_err(LocalMisuse::from)?;
        self.transmit.push_back(message);
        Ok(())
    }

    /// A pointer move to send as a datagram, numbered so the agent keeps the newest.
    pub fn pointer_move(&mut self, x: u32, y: u32) -> Result<Datagram, SendError> {
        let datagram = Datagram::PointerMove {
            sequence: self.next_pointer_sequence,
            x,
            y,
        };
        match self.state {
            State::Active { granted, .. } => authorize(&datagram, granted)?,
            _ => {
                return Err(SendError::Local(LocalMisuse::WrongPhase {
                    action: "move the pointer",
                    phase: self.phase().name(),
                }));
            }
        }
        self.next_pointer_sequence += 1;
        Ok(datagram)
    }

    /// Asks the end user for more scopes.
    pub fn request_scopes(&mut self, scopes: ScopeSet, reason: String) -> Result<(), LocalMisuse> {
        let State::Active {
            pending_request, ..
        } = &mut self.state
        else {
            return Err(LocalMisuse::WrongPhase {
                action: "request permissions",
                phase: self.phase().name(),
            });
        };
        if *pending_request {
            return Err(LocalMisuse::WrongPhase {
                action: "request permissions",
                phase: "waiting for the answer to an earlier request",
            });
        }
        let message = ControlMessage::ScopeRequest(ScopeRequest { scopes, reason });
        message.check_limits()?;
        *pending_request = true;
        self.config.requested = self.config.requested.union(scopes);
        self.transmit.push_back(message);
        Ok(())
    }

    /// The technician gives up scopes.
    pub fn give_up(&mut self, scopes: ScopeSet) -> Result<(), LocalMisuse> {
        let State::Active { granted, .. } = &mut self.state else {
            return Err(LocalMisuse::WrongPhase {
                action: "give up permissions",
                phase: self.phase().name(),
            });
        };
        *granted = granted.difference(scopes);
        let now_granted = *granted;
        self.transmit.push_back(ControlMessage::ScopeRevoke(scopes));
        self.events
            .push_back(ViewerEvent::ScopesChanged(now_granted));
        Ok(())
    }

    /// The technician disconnects.
    pub fn disconnect(&mut self) {
        if matches!(self.state, State::Closed) {
            return;
        }
        self.state = State::Closed;
        self.send_end(EndReason::DisconnectedByTechnician);
        self.events.push_back(ViewerEvent::Ended(SessionEnd {
            by: Role::Viewer,
            reason: EndReason::DisconnectedByTechnician,
        }));
    }

    /// The connection went away.
    pub fn connection_lost(&mut self) {
        if matches!(self.state, State::Closed) {
            return;
        }
        self.state = State::Closed;
        self.events.push_back(ViewerEvent::Ended(SessionEnd {
            by: Role::Agent,
            reason: EndReason::ConnectionLost,
        }));
    }

    fn send_end(&mut self, reason: EndReason) {
        self.transmit
            .push_back(ControlMessage::SessionEnd(SessionEnd {
                by: Role::Viewer,
                reason,
            }));
    }
}

/// Messages only the viewer may send.
fn is_viewer_to_agent(message: &ControlMessage) -> bool {
    matches!(
        message,
        ControlMessage::ConsentRequest(_)
            | ControlMessage::ScopeRequest(_)
            | ControlMessage::KeyframeRequest
            | ControlMessage::ReceiverReport(_)
            | ControlMessage::PointerButton(_)
            | ControlMessage::Wheel(_)
            | ControlMessage::Key(_)
            | ControlMessage::TypeText(_)
            | ControlMessage::SelectMonitor(_)
            | ControlMessage::QualityPreference(_)
            | ControlMessage::RunCommand(_)
            | ControlMessage::RecordingNotice(_)
            | ControlMessage::SystemInfoRequest(_)
            | ControlMessage::RunDiagnostic(_)
            | ControlMessage::FileOffer(_)
            | ControlMessage::FileFetch(_)
    )
}
