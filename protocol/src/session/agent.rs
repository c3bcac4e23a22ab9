//! The agent's side of a session (the end user's machine).

use std::collections::{HashSet, VecDeque};

use crate::action::{
    ActionPending, ActionRefusal, CommandOutput, CommandRequest, MAX_ACTIONS_IN_FLIGHT,
    MAX_COMMAND_OUTPUT_LEN, truncate_to,
};
use crate::audit::{Actor, AuditAction, AuditRecord, Outcome};
use crate::authorize::{Denied, NeedsScope, authorize};
use crate::code::{Attempt, CodeGuard};
use crate::error::{LocalMisuse, PeerMisbehaved};
use crate::identity::Fingerprint;
use crate::message::{
    AuthMessage, AuthRejection, Capabilities, ConsentDecision, ConsentRequest, ControlMessage,
    Datagram, EndReason, ErrorKind, ErrorReport, Hello, ScopeRefusal, SessionEnd, SessionId,
    TechnicianIdentity, UnattendedAuth, Verification,
};
use crate::pake::{Confirmation, PakeContext, PakeSide, PakeStart};
use crate::scope::{Scope, ScopeSet};
use crate::session::Phase;
use crate::session::resume::ResumeGrant;
use crate::time::Timestamp;
use crate::trust::{Trust, VerifiedTechnician, unattended_proof_bytes};
use crate::version::{self, Announced, ProtocolVersion, Role};

mod chat;
mod files;
mod quality;
mod resume;
mod screen;
mod system;

/// What the agent's side of one connection knows before the first message.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// The agent's key fingerprint (from its TLS certificate).
    pub local: Fingerprint,
    /// The viewer's key fingerprint (from the viewer's TLS certificate).
    pub peer: Fingerprint,
    /// The TLS exporter value of this connection.
    pub channel_binding: Vec<u8>,
    /// This session's id.
    pub session_id: SessionId,
    /// The agent's software version.
    pub software_version: String,
    /// Protocol versions spoken (normally [`version::SUPPORTED_VERSIONS`]).
    pub versions: Vec<ProtocolVersion>,
    /// Optional features.
    pub capabilities: Capabilities,
    /// Trusted organisations and the unattended-access policy (the default trusts
    /// nobody and allows no unattended access).
    pub trust: Trust,
}

/// What the end user is asked to allow. Everything in it was checked by the agent:
/// the fingerprint is the authenticated key and `verification` is what the agent
/// verified itself, never what the technician claimed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentPrompt {
    /// Who asks.
    pub technician: TechnicianIdentity,
    /// What they ask for.
    pub scopes: ScopeSet,
    /// Why, in their words.
    pub reason: String,
    /// The technician came in unattended (by certificate, without a code): the policy
    /// wants a present user to confirm these scopes.
    pub unattended: bool,
}

/// The end user's answer to a prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsentAnswer {
    /// Allow these (only those asked for are kept; none at all counts as a refusal).
    Allow(ScopeSet),
    /// Refuse.
    Deny {
        /// Why, if the user said.
        reason: String,
    },
}

/// Something the agent must act on or record.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AgentEvent {
    /// The viewer proved it knows the code.
    Authenticated,
    /// Show the consent prompt and call [`AgentSession::answer_consent`].
    ConsentNeeded(ConsentPrompt),
    /// During the session the technician asks for more; call
    /// [`AgentSession::answer_scope_request`].
    ScopeRequestNeeded {
        /// What is asked.
        scopes: ScopeSet,
        /// Why.
        reason: String,
    },
    /// The technician resumed a session whose connection was lost, with the
    /// permissions granted then (followed by [`AgentEvent::ScopesChanged`]): show the
    /// session again.
    SessionResumed {
        /// Who, as the end user saw them in the lost session.
        technician: TechnicianIdentity,
        /// The session that was lost.
        previous: SessionId,
    },
    /// A technician came in unattended and the policy granted scopes without asking:
    /// show the session to anyone at the computer (followed by
    /// [`AgentEvent::ScopesChanged`]).
    UnattendedSession {
        /// Who, as verified from their certificate.
        technician: TechnicianIdentity,
    },
    /// The granted scopes are now these (sent on activation and on every change).
    ScopesChanged(ScopeSet),
    /// An authorized message to act on (input, clipboard, chat, keyframe request,
    /// receiver report, pong).
    Deliver(ControlMessage),
    /// The policy wants the end user to confirm this one action; call
    /// [`AgentSession::answer_action`]. The technician was told it waits.
    ActionConfirmationNeeded {
        /// The action's id.
        id: u32,
        /// The scope it is done under.
        scope: Scope,
        /// Exactly what would be done (the command line).
        description: String,
    },
    /// Run this command now (authorized, and confirmed when the policy asks), then
    /// call [`AgentSession::command_finished`].
    RunCommand(CommandRequest),
    /// Gather the system report (authorized), then call
    /// [`AgentSession::system_info_ready`].
    GatherSystemInfo {
        /// The request's id.
        id: u32,
    },
    /// Run this diagnostic (authorized, argument checked), then call
    /// [`AgentSession::diagnostic_finished`].
    RunDiagnostic(crate::system::DiagnosticRequest),
    /// An authorized pointer move, already filtered to the newest.
    PointerMove {
        /// Column in video-frame pixels.
        x: u32,
        /// Row in video-frame pixels.
        y: u32,
    },
    /// Append this to the audit log.
    Audit(AuditRecord),
    /// The session is over.
    Ended(SessionEnd),
    /// The technician offers or asks for a file: look at the file system (where an
    /// offered file would be saved; the size of a fetched one), then call
    /// [`AgentSession::file_checked`].
    CheckFile(crate::transfer::FileJob),
    /// An offered file was accepted: the viewer opens a file stream with this header
    /// (check it with [`AgentSession::file_stream_opened`]); write and check the bytes,
    /// then call [`AgentSession::file_finished`].
    ReceiveFile(crate::transfer::FileOffer),
    /// A fetch was approved: read and hash the file, get its stream header from
    /// [`AgentSession::file_ready`], send it, then call
    /// [`AgentSession::file_finished`].
    SendFile(crate::transfer::FileFetch),
    /// Stop this file transfer now and remove any partial file (the technician
    /// cancelled it, or the permission was withdrawn).
    CancelFile {
        /// The transfer's id.
        id: u32,
    },
    /// The technician withdrew the action behind an open
    /// [`AgentEvent::ActionConfirmationNeeded`] (a file transfer): take the question
    /// away; an answer to it would change nothing.
    ActionWithdrawn {
        /// The action's id.
        id: u32,
    },
}

enum State {
    AwaitingHello,
    AwaitingSpake,
    AwaitingConfirm {
        confirmation: Confirmation,
        attempt: Attempt,
    },
    AwaitingConsentRequest {
        unattended: Option<VerifiedTechnician>,
    },
    AwaitingUserDecision {
        prompt: ConsentPrompt,
    },
    Active(Active),
    Closed,
}

struct Active {
    granted: ScopeSet,
    /// Commands waiting for the end user's confirmation.
    awaiting_confirmation: Vec<CommandRequest>,
    /// Ids of commands running.
    running: Vec<u32>,
    pending_request: Option<ScopeSet>,
    used: ScopeSet,
    newest_pointer_move: Option<u64>,
    refusals_audited: HashSet<&'static str>,
}

impl State {
    fn phase(&self) -> Phase {
        match self {
            State::AwaitingHello => Phase::AwaitingHello,
            State::AwaitingSpake | State::AwaitingConfirm { .. } => Phase::Authenticating,
            State::AwaitingConsentRequest { .. } | State::AwaitingUserDecision { .. } => {
                Phase::AwaitingConsent
            }
            State::Active(_) => Phase::Active,
            State::Closed => Phase::Closed,
        }
    }
}

/// The agent's state machine for one connection (see [`crate::session`]).
pub struct AgentSession {
    config: AgentConfig,
    state: State,
    version: Option<ProtocolVersion>,
    transmit: VecDeque<ControlMessage>,
    events: VecDeque<AgentEvent>,
    /// What the viewer's `Hello` announced.
    peer_capabilities: Capabilities,
    next_cursor_sequence: u64,
    /// System information requests and diagnostics being answered: id and scope.
    inspections: Vec<(u32, Scope)>,
    /// File transfers in progress.
    files: files::Transfers,
    /// The technician as shown to the end user, once the session is active.
    shown_technician: Option<TechnicianIdentity>,
    /// A lost session this connection may resume ([`AgentSession::offer_resume`]).
    resumable: Option<ResumeGrant>,
    /// This session, when its connection was lost while active.
    lost: Option<ResumeGrant>,
}

impl std::fmt::Debug for AgentSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentSession")
            .field("session_id", &self.config.session_id)
            .field("phase", &self.phase())
            .field("granted", &self.granted())
            .finish_non_exhaustive()
    }
}

impl AgentSession {
    /// A session for a connection whose TLS handshake just finished.
    pub fn new(config: AgentConfig) -> Self {
        Self {
            config,
            state: State::AwaitingHello,
            version: None,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            peer_capabilities: Capabilities::default(),
            next_cursor_sequence: 0,
            inspections: Vec::new(),
            files: files::Transfers::default(),
            shown_technician: None,
            resumable: None,
            lost: None,
        }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.state.phase()
    }

    /// The scopes granted now (empty unless active).
    pub fn granted(&self) -> ScopeSet {
        match &self.state {
            State::Active(active) => active.granted,
            _ => ScopeSet::empty(),
        }
    }

    /// This session's id.
    pub fn session_id(&self) -> SessionId {
        self.config.session_id
    }

    /// The protocol version in use, once hellos were exchanged.
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.version
    }

    /// The next control message to send.
    pub fn poll_transmit(&mut self) -> Option<ControlMessage> {
        self.transmit.pop_front()
    }

    /// The next event to act on.
    pub fn poll_event(&mut self) -> Option<AgentEvent> {
        self.events.pop_front()
    }

    /// Handles a control message from the viewer.
    pub fn handle_control(
        &mut self,
        message: ControlMessage,
        guard: &mut CodeGuard,
        now: Timestamp,
    ) -> Result<(), PeerMisbehaved> {
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
            .and_then(|()| self.dispatch(message, guard, now));
        if let Err(violation) = &result {
            self.close_for_violation(violation, guard, now);
        }
        result
    }

    fn dispatch(
        &mut self,
        message: ControlMessage,
        guard: &mut CodeGuard,
        now: Timestamp,
    ) -> Result<(), PeerMisbehaved> {
        // Messages valid in every phase.
        match message {
            ControlMessage::SessionEnd(end) => {
                self.abandon_attempt(guard, now);
                self.state = State::Closed;
                self.finish(Role::Viewer, end.reason, now);
                return Ok(());
            }
            ControlMessage::Error(report) => {
                // Valid in every phase, but text from a peer that has not proven the
                // code is not passed on to anyone.
                if matches!(self.phase(), Phase::AwaitingConsent | Phase::Active) {
                    self.events
                        .push_back(AgentEvent::Deliver(ControlMessage::Error(report)));
                }
                return Ok(());
            }
            _ => {}
        }
        let state = std::mem::replace(&mut self.state, State::Closed);
        let (next, result) = match (state, message) {
            (State::AwaitingHello, ControlMessage::Hello(hello)) => self.on_hello(hello, now),
            (State::AwaitingSpake, ControlMessage::Auth(AuthMessage::Spake2(bytes))) => {
                self.on_spake(&bytes, guard, now)
            }
            (State::AwaitingSpake, ControlMessage::Auth(AuthMessage::Unattended(auth))) => {
                self.on_unattended(&auth, now)
            }
            (State::AwaitingSpake, ControlMessage::Auth(AuthMessage::Resume(session))) => {
                self.on_resume(session, now)
            }
            (
                State::AwaitingConfirm {
                    confirmation,
                    attempt,
                },
                ControlMessage::Auth(AuthMessage::Confirm(mac)),
            ) => self.on_confirm(&confirmation, attempt, &mac, guard, now),
            (
                State::AwaitingConsentRequest { unattended },
                ControlMessage::ConsentRequest(request),
            ) => self.on_consent_request(request, unattended, now),
            (State::Active(active), message) => self.on_active(active, message, now),
            (state, message) => {
                let phase = state.phase().name();
                let error = if is_agent_to_viewer(&message) {
                    PeerMisbehaved::WrongDirection {
                        message: message.kind(),
                    }
                } else {
                    PeerMisbehaved::OutOfPhase {
                        message: message.kind(),
                        phase,
                    }
                };
                (state, Err(error))
            }
        };
        self.state = next;
        result
    }

    fn on_hello(&mut self, hello: Hello, now: Timestamp) -> (State, Result<(), PeerMisbehaved>) {
        if hello.role != Role::Viewer {
            return (
                State::AwaitingHello,
                Err(PeerMisbehaved::WrongRole {
                    claimed: hello.role,
                    expected: Role::Viewer,
                }),
            );
        }
        self.peer_capabilities = hello.capabilities;
        self.transmit.push_back(ControlMessage::Hello(Hello {
            versions: self.config.versions.clone(),
            role: Role::Agent,
            capabilities: self.config.capabilities,
            software_version: self.config.software_version.clone(),
            session_id: Some(self.config.session_id),
        }));
        let local = Announced {
            role: Role::Agent,
            software_version: self.config.software_version.clone(),
            versions: self.config.versions.clone(),
        };
        let peer = Announced {
            role: Role::Viewer,
            software_version: hello.software_version,
            versions: hello.versions,
        };
        match version::negotiate(&local, &peer) {
            Ok(version) => {
                self.version = Some(version);
                (State::AwaitingSpake, Ok(()))
            }
            Err(mismatch) => {
                let reason = EndReason::VersionMismatch {
                    message: mismatch.to_string(),
                };
                self.send_end(reason.clone());
                self.finish(Role::Agent, reason, now);
                (State::Closed, Ok(()))
            }
        }
    }

    fn on_spake(
        &mut self,
        bytes: &[u8],
        guard: &mut CodeGuard,
        now: Timestamp,
    ) -> (State, Result<(), PeerMisbehaved>) {
        if self.config.trust.refuse_codes {
            let rejection = AuthRejection::CodesNotAccepted;
            self.audit_auth(
                now,
                Outcome::Refused {
                    reason: rejection.to_string(),
                },
            );
            self.transmit
                .push_back(ControlMessage::AuthRejected(rejection.clone()));
            self.finish(Role::Agent, EndReason::AuthenticationFailed(rejection), now);
            return (State::Closed, Ok(()));
        }
        let attempt = match guard.begin_attempt(now) {
            Ok(attempt) => attempt,
            Err(refused) => {
                // Rounded up: a viewer that waits the seconds it is told must not come
                // back early and be refused again.
                let whole = refused.retry_after.as_secs()
                    + u64::from(refused.retry_after.subsec_nanos() > 0);
                let secs = u32::try_from(whole).unwrap_or(u32::MAX).max(1);
                let rejection = AuthRejection::TooManyAttempts {
                    retry_after_secs: secs,
                };
                self.audit_auth(
                    now,
                    Outcome::Refused {
                        reason: rejection.to_string(),
                    },
                );
                self.transmit
                    .push_back(ControlMessage::AuthRejected(rejection.clone()));
                self.finish(Role::Agent, EndReason::AuthenticationFailed(rejection), now);
                return (State::Closed, Ok(()));
            }
        };
        let context = PakeContext {
            viewer: &self.config.peer,
            agent: &self.config.local,
            channel_binding: &self.config.channel_binding,
        };
        let start = PakeStart::new(PakeSide::Agent, attempt.code(), &context);
        let reply = start.message().to_vec();
        match start.finish(bytes, &context) {
            Ok(confirmation) => {
                self.transmit
                    .push_back(ControlMessage::Auth(AuthMessage::Spake2(reply)));
                (
                    State::AwaitingConfirm {
                        confirmation,
                        attempt,
                    },
                    Ok(()),
                )
            }
            Err(bad) => {
                // A malformed message still used up a try: it counts.
                let _ = guard.record_failure(attempt, now);
                (
                    State::AwaitingSpake,
                    Err(PeerMisbehaved::Malformed {
                        what: "SPAKE2 message",
                        detail: bad.to_string(),
                    }),
                )
            }
        }
    }

    fn on_confirm(
        &mut self,
        confirmation: &Confirmation,
        attempt: Attempt,
        mac: &[u8],
        guard: &mut CodeGuard,
        now: Timestamp,
    ) -> (State, Result<(), PeerMisbehaved>) {
        if confirmation.verify_peer(mac).is_err() {
            // A failing random generator keeps the old code: the count still holds.
            let rotated = guard
                .record_failure(attempt, now)
                .map(|o| o.rotated)
                .unwrap_or(false);
            let rejection = AuthRejection::WrongCode {
                code_rotated: rotated,
            };
            self.audit_auth(
                now,
                Outcome::Failed {
                    reason: "wrong code".to_owned(),
                },
            );
            self.transmit
                .push_back(ControlMessage::AuthRejected(rejection.clone()));
            self.finish(Role::Agent, EndReason::AuthenticationFailed(rejection), now);
            return (State::Closed, Ok(()));
        }
        // The code is used up even if a new one cannot be drawn now; the old one then
        // stays valid until it expires, which is no worse than before this session.
        let _ = guard.record_success(attempt, now);
        self.transmit
            .push_back(ControlMessage::Auth(AuthMessage::Confirm(
                confirmation.our_mac(),
            )));
        self.audit_auth(now, Outcome::Succeeded);
        self.events.push_back(AgentEvent::Authenticated);
        (State::AwaitingConsentRequest { unattended: None }, Ok(()))
    }

    /// Unattended access: a certificate by a trusted organisation, a signature of this
    /// connection's channel binding by the certified key, and the second factor when the
    /// policy asks for one. Every refusal ends the connection with the reason.
    fn on_unattended(
        &mut self,
        auth: &UnattendedAuth,
        now: Timestamp,
    ) -> (State, Result<(), PeerMisbehaved>) {
        match self.check_unattended(auth, now) {
            Ok(verified) => {
                self.audit_auth(now, Outcome::Succeeded);
                self.audit_as(
                    self.technician_actor(),
                    now,
                    AuditAction::TechnicianVerified {
                        organisation: verified.organisation.clone(),
                        technician: verified.technician.clone(),
                        unattended: true,
                    },
                    None,
                    Outcome::Succeeded,
                );
                self.transmit
                    .push_back(ControlMessage::Auth(AuthMessage::UnattendedAccepted));
                self.events.push_back(AgentEvent::Authenticated);
                (
                    State::AwaitingConsentRequest {
                        unattended: Some(verified),
                    },
                    Ok(()),
                )
            }
            Err(reason) => {
                self.audit_auth(
                    now,
                    Outcome::Refused {
                        reason: format!("unattended access: {reason}"),
                    },
                );
                let rejection = AuthRejection::UnattendedRefused { reason };
                self.transmit
                    .push_back(ControlMessage::AuthRejected(rejection.clone()));
                self.finish(Role::Agent, EndReason::AuthenticationFailed(rejection), now);
                (State::Closed, Ok(()))
            }
        }
    }

    fn check_unattended(
        &self,
        auth: &UnattendedAuth,
        now: Timestamp,
    ) -> Result<VerifiedTechnician, String> {
        let Some(policy) = &self.config.trust.unattended else {
            return Err("this device's policy does not allow unattended access".to_owned());
        };
        let verified = self
            .config
            .trust
            .verify_technician(&auth.certificate, self.config.peer, now)
            .map_err(|e| e.to_string())?;
        let signed = unattended_proof_bytes(
            &self.config.local,
            &self.config.peer,
            &self.config.channel_binding,
        );
        auth.certificate
            .body
            .technician_key
            .verify(&signed, &auth.proof)
            .map_err(|_| {
                "the proof of the technician key does not match this connection                  (replayed or forged)"
                    .to_owned()
            })?;
        if let Some(second_factor) = &policy.second_factor {
            let Some(code) = &auth.totp else {
                return Err("this device requires a second-factor code (TOTP)".to_owned());
            };
            second_factor.verify(code, now).map_err(|e| e.to_string())?;
        }
        Ok(verified)
    }

    fn on_consent_request(
        &mut self,
        request: ConsentRequest,
        unattended: Option<VerifiedTechnician>,
        now: Timestamp,
    ) -> (State, Result<(), PeerMisbehaved>) {
        if request.technician.fingerprint != self.config.peer {
            return (
                State::AwaitingConsentRequest { unattended },
                Err(PeerMisbehaved::FingerprintMismatch),
            );
        }
        // Only what the agent verified itself is shown: a name and organisation from a
        // certificate it trusts, otherwise the typed name marked unverified.
        let verified = match unattended.clone() {
            Some(verified) => Some(verified),
            None => request.certificate.as_ref().and_then(|certificate| {
                self.config
                    .trust
                    .verify_technician(certificate, self.config.peer, now)
                    .ok()
            }),
        };
        let technician = match &verified {
            Some(verified) => TechnicianIdentity {
                display_name: verified.technician.clone(),
                fingerprint: request.technician.fingerprint,
                verification: Verification::Organisation {
                    organisation: verified.organisation.clone(),
                },
            },
            None => TechnicianIdentity {
                verification: Verification::Unverified,
                ..request.technician
            },
        };
        if let (Some(verified), None) = (&verified, &unattended) {
            self.audit(
                now,
                AuditAction::TechnicianVerified {
                    organisation: verified.organisation.clone(),
                    technician: verified.technician.clone(),
                    unattended: false,
                },
                None,
                Outcome::Succeeded,
            );
        }
        let mut prompt = ConsentPrompt {
            technician,
            scopes: request.scopes,
            reason: request.reason,
            unattended: unattended.is_some(),
        };
        if let (Some(verified), Some(policy)) = (&unattended, &self.config.trust.unattended) {
            let allowed = request
                .scopes
                .intersection(verified.scopes)
                .intersection(policy.max_scopes);
            let automatic = allowed.difference(policy.confirm_scopes);
            let needs_click = allowed.intersection(policy.confirm_scopes);
            self.audit(
                now,
                AuditAction::ConsentAsked {
                    scopes: request.scopes,
                    reason: prompt.reason.clone(),
                },
                None,
                Outcome::Succeeded,
            );
            if !automatic.is_empty() {
                // The policy consents for what needs no click; the rest is asked of a
                // present user as a request during the session.
                self.audit_as(
                    Actor::Agent,
                    now,
                    AuditAction::ConsentAnswered { granted: automatic },
                    None,
                    Outcome::Succeeded,
                );
                self.events.push_back(AgentEvent::UnattendedSession {
                    technician: prompt.technician.clone(),
                });
                let mut active = self.activate(automatic, prompt.technician.clone());
                if !needs_click.is_empty() {
                    active.pending_request = Some(needs_click);
                    self.events.push_back(AgentEvent::ScopeRequestNeeded {
                        scopes: needs_click,
                        reason: prompt.reason,
                    });
                }
                return (State::Active(active), Ok(()));
            }
            if needs_click.is_empty() {
                let reason = "nothing asked for is allowed by this device's unattended \
                              policy and the technician's certificate"
                    .to_owned();
                self.audit_as(
                    Actor::Agent,
                    now,
                    AuditAction::ConsentAnswered {
                        granted: ScopeSet::empty(),
                    },
                    None,
                    Outcome::Refused {
                        reason: reason.clone(),
                    },
                );
                self.transmit.push_back(ControlMessage::ConsentDecision(
                    ConsentDecision::Refused {
                        reason: reason.clone(),
                    },
                ));
                self.finish(Role::Agent, EndReason::ConsentRefused { reason }, now);
                return (State::Closed, Ok(()));
            }
            prompt.scopes = needs_click;
            self.events
                .push_back(AgentEvent::ConsentNeeded(prompt.clone()));
            return (State::AwaitingUserDecision { prompt }, Ok(()));
        }
        self.audit(
            now,
            AuditAction::ConsentAsked {
                scopes: prompt.scopes,
                reason: prompt.reason.clone(),
            },
            None,
            Outcome::Succeeded,
        );
        self.events
            .push_back(AgentEvent::ConsentNeeded(prompt.clone()));
        (State::AwaitingUserDecision { prompt }, Ok(()))
    }

    fn on_active(
        &mut self,
        mut active: Active,
        message: ControlMessage,
        now: Timestamp,
    ) -> (State, Result<(), PeerMisbehaved>) {
        match message {
            ControlMessage::ScopeRequest(request) => {
                if active.pending_request.is_some() {
                    return (
                        State::Active(active),
                        Err(PeerMisbehaved::OutOfPhase {
                            message: "scope-request",
                            phase: "waiting for the answer to an earlier scope request",
                        }),
                    );
                }
                let wanted = request.scopes.difference(active.granted);
                if wanted.is_empty() {
                    self.transmit
                        .push_back(ControlMessage::ScopeGrant(ScopeSet::empty()));
                } else {
                    active.pending_request = Some(wanted);
                    self.audit(
                        now,
                        AuditAction::ConsentAsked {
                            scopes: wanted,
                            reason: request.reason.clone(),
                        },
                        None,
                        Outcome::Succeeded,
                    );
                    self.events.push_back(AgentEvent::ScopeRequestNeeded {
                        scopes: wanted,
                        reason: request.reason,
                    });
                }
            }
            ControlMessage::ScopeRevoke(scopes) => {
                let given_up = scopes.intersection(active.granted);
                if !given_up.is_empty() {
                    active.granted = active.granted.difference(given_up);
                    active.refusals_audited.clear();
                    self.audit_as(
                        self.technician(),
                        now,
                        AuditAction::ScopesRevoked { scopes: given_up },
                        None,
                        Outcome::Succeeded,
                    );
                    self.events
                        .push_back(AgentEvent::ScopesChanged(active.granted));
                    self.files_after_revoke(active.granted, "the technician", now);
                }
            }
            ControlMessage::Ping(n) => self.transmit.push_back(ControlMessage::Pong(n)),
            ControlMessage::Pong(n) => self
                .events
                .push_back(AgentEvent::Deliver(ControlMessage::Pong(n))),
            ControlMessage::RunCommand(request) => {
                let message = ControlMessage::RunCommand(request);
                match authorize(&message, active.granted) {
                    Err(denied) => self.refuse(&mut active, &message, &denied, now),
                    Ok(()) => {
                        if let ControlMessage::RunCommand(request) = message {
                            self.on_run_command(&mut active, request, now);
                        }
                    }
                }
            }
            message @ (ControlMessage::SystemInfoRequest(_) | ControlMessage::RunDiagnostic(_)) => {
                self.on_inspection(&mut active, message, now);
            }
            message @ (ControlMessage::FileOffer(_) | ControlMessage::FileFetch(_)) => {
                self.on_file_request(&mut active, message, now);
            }
            message @ (ControlMessage::FileReceived(_) | ControlMessage::FileFailed(_)) => {
                if let Err(violation) = self.on_file_conclusion(&mut active, message, now) {
                    return (State::Active(active), Err(violation));
                }
            }
            message
                if is_agent_to_viewer(&message) || matches!(message, ControlMessage::Hello(_)) =>
            {
                let error = if is_agent_to_viewer(&message) {
                    PeerMisbehaved::WrongDirection {
                        message: message.kind(),
                    }
                } else {
                    PeerMisbehaved::OutOfPhase {
                        message: message.kind(),
                        phase: Phase::Active.name(),
                    }
                };
                return (State::Active(active), Err(error));
            }
            message => match authorize(&message, active.granted) {
                Ok(()) => {
                    let content_summary = match &message {
                        ControlMessage::ClipboardText(text) | ControlMessage::Chat(text) => {
                            Some(format!("{} bytes of text", text.len()))
                        }
                        ControlMessage::RecordingNotice(true) => {
                            Some("the technician started recording".to_owned())
                        }
                        ControlMessage::RecordingNotice(false) => {
                            Some("the technician stopped recording".to_owned())
                        }
                        _ => None,
                    };
                    self.audit_use(
                        &mut active,
                        message.kind(),
                        message.required_scope(),
                        content_summary,
                        now,
                    );
                    self.events.push_back(AgentEvent::Deliver(message));
                }
                Err(denied) => self.refuse(&mut active, &message, &denied, now),
            },
        }
        (State::Active(active), Ok(()))
    }

    fn on_run_command(&mut self, active: &mut Active, request: CommandRequest, now: Timestamp) {
        let in_flight = active.awaiting_confirmation.len() + active.running.len();
        let duplicate = self.file_id_in_use(request.id)
            || active.running.contains(&request.id)
            || active
                .awaiting_confirmation
                .iter()
                .any(|waiting| waiting.id == request.id);
        if duplicate || in_flight >= MAX_ACTIONS_IN_FLIGHT {
            let reason = if duplicate {
                "an action with this number is still in progress".to_owned()
            } else {
                format!("at most {MAX_ACTIONS_IN_FLIGHT} actions may wait or run at once")
            };
            self.transmit
                .push_back(ControlMessage::ActionRefused(ActionRefusal {
                    id: request.id,
                    reason,
                }));
            return;
        }
        let needs_confirmation = self
            .config
            .trust
            .confirm_actions
            .contains(Scope::RunCommands);
        self.audit(
            now,
            AuditAction::ActionRequested {
                message: "run-command".to_owned(),
                summary: request.command_line.clone(),
                needs_confirmation,
            },
            Some(Scope::RunCommands),
            Outcome::Succeeded,
        );
        if needs_confirmation {
            self.transmit
                .push_back(ControlMessage::ActionPending(ActionPending {
                    id: request.id,
                }));
            self.events.push_back(AgentEvent::ActionConfirmationNeeded {
                id: request.id,
                scope: Scope::RunCommands,
                description: request.command_line.clone(),
            });
            active.awaiting_confirmation.push(request);
        } else {
            active.running.push(request.id);
            self.events.push_back(AgentEvent::RunCommand(request));
        }
    }

    /// The end user confirmed (`approved`) or refused one action.
    pub fn answer_action(
        &mut self,
        id: u32,
        approved: bool,
        now: Timestamp,
    ) -> Result<(), LocalMisuse> {
        if let Some(result) = self.answer_file(id, approved, now) {
            return result;
        }
        let wrong_phase = LocalMisuse::WrongPhase {
            action: "answer an action confirmation",
            phase: self.phase().name(),
        };
        let State::Active(active) = &mut self.state else {
            return Err(wrong_phase);
        };
        let Some(index) = active
            .awaiting_confirmation
            .iter()
            .position(|waiting| waiting.id == id)
        else {
            return Err(wrong_phase);
        };
        let request = active.awaiting_confirmation.remove(index);
        // The permission may have been withdrawn while the question was up.
        let still_allowed = active.granted.contains(Scope::RunCommands);
        let run = approved && still_allowed;
        if run {
            active.running.push(id);
        }
        self.audit_as(
            Actor::EndUser,
            now,
            AuditAction::ActionAnswered {
                message: "run-command".to_owned(),
                summary: request.command_line.clone(),
                approved,
            },
            Some(Scope::RunCommands),
            Outcome::Succeeded,
        );
        if run {
            self.events.push_back(AgentEvent::RunCommand(request));
        } else {
            let reason = if approved {
                "the permission to run commands was withdrawn".to_owned()
            } else {
                "the end user refused to run this command".to_owned()
            };
            self.transmit
                .push_back(ControlMessage::ActionRefused(ActionRefusal { id, reason }));
        }
        Ok(())
    }

    /// A command started by [`AgentEvent::RunCommand`] ended (or could not start:
    /// then `output.exit_code` is none and `stderr` says why).
    pub fn command_finished(
        &mut self,
        mut output: CommandOutput,
        now: Timestamp,
    ) -> Result<(), LocalMisuse> {
        let wrong_phase = LocalMisuse::WrongPhase {
            action: "report a command's result",
            phase: self.phase().name(),
        };
        let State::Active(active) = &mut self.state else {
            return Err(wrong_phase);
        };
        let Some(index) = active.running.iter().position(|id| *id == output.id) else {
            return Err(wrong_phase);
        };
        active.running.remove(index);
        output.truncated |= truncate_to(&mut output.stdout, MAX_COMMAND_OUTPUT_LEN);
        output.truncated |= truncate_to(&mut output.stderr, MAX_COMMAND_OUTPUT_LEN);
        let summary = format!(
            "exit code {}, {} bytes of output, {} bytes of errors{}",
            output
                .exit_code
                .map_or_else(|| "none".to_owned(), |code| code.to_string()),
            output.stdout.len(),
            output.stderr.len(),
            if output.truncated { ", cut" } else { "" }
        );
        self.audit(
            now,
            AuditAction::Action {
                message: "run-command".to_owned(),
                summary,
            },
            Some(Scope::RunCommands),
            Outcome::Succeeded,
        );
        self.transmit
            .push_back(ControlMessage::CommandOutput(output));
        Ok(())
    }

    /// Handles a datagram from the viewer.
    pub fn handle_datagram(
        &mut self,
        datagram: Datagram,
        guard: &mut CodeGuard,
        now: Timestamp,
    ) -> Result<(), PeerMisbehaved> {
        let mut active = match std::mem::replace(&mut self.state, State::Closed) {
            State::Active(active) => active,
            State::Closed => {
                return Err(PeerMisbehaved::OutOfPhase {
                    message: datagram.kind(),
                    phase: Phase::Closed.name(),
                });
            }
            other => {
                let violation = PeerMisbehaved::OutOfPhase {
                    message: datagram.kind(),
                    phase: other.phase().name(),
                };
                self.state = other;
                self.close_for_violation(&violation, guard, now);
                return Err(violation);
            }
        };
        if matches!(datagram, Datagram::Cursor { .. }) {
            let violation = PeerMisbehaved::WrongDirection {
                message: datagram.kind(),
            };
            self.state = State::Active(active);
            self.close_for_violation(&violation, guard, now);
            return Err(violation);
        }
        match authorize(&datagram, active.granted) {
            Err(denied) => self.refuse_quietly(&mut active, datagram.kind(), &denied, now),
            Ok(()) => match datagram {
                // Only the agent sends the pointer's position: refused above.
                Datagram::Cursor { .. } => {}
                Datagram::PointerMove { sequence, x, y } => {
                    if active
                        .newest_pointer_move
                        .is_none_or(|newest| sequence > newest)
                    {
                        active.newest_pointer_move = Some(sequence);
                        self.audit_use(
                            &mut active,
                            datagram.kind(),
                            Some(Scope::ControlInput),
                            None,
                            now,
                        );
                        self.events.push_back(AgentEvent::PointerMove { x, y });
                    }
                }
            },
        }
        self.state = State::Active(active);
        Ok(())
    }

    /// The end user answered the consent prompt.
    pub fn answer_consent(
        &mut self,
        answer: ConsentAnswer,
        now: Timestamp,
    ) -> Result<(), LocalMisuse> {
        let State::AwaitingUserDecision { prompt } = &self.state else {
            return Err(LocalMisuse::WrongPhase {
                action: "answer a consent prompt",
                phase: self.phase().name(),
            });
        };
        let granted = match &answer {
            ConsentAnswer::Allow(scopes) => scopes.intersection(prompt.scopes),
            ConsentAnswer::Deny { .. } => ScopeSet::empty(),
        };
        let technician = prompt.technician.clone();
        self.audit_as(
            Actor::EndUser,
            now,
            AuditAction::ConsentAnswered { granted },
            None,
            Outcome::Succeeded,
        );
        if granted.is_empty() {
            let reason = match answer {
                ConsentAnswer::Deny { reason } => reason,
                ConsentAnswer::Allow(_) => String::new(),
            };
            self.transmit
                .push_back(ControlMessage::ConsentDecision(ConsentDecision::Refused {
                    reason: reason.clone(),
                }));
            self.finish(Role::Agent, EndReason::ConsentRefused { reason }, now);
            self.state = State::Closed;
            return Ok(());
        }
        let active = self.activate(granted, technician);
        self.state = State::Active(active);
        Ok(())
    }

    /// Sends the grant and returns the active state for it.
    fn activate(&mut self, granted: ScopeSet, technician: TechnicianIdentity) -> Active {
        self.shown_technician = Some(technician);
        self.transmit
            .push_back(ControlMessage::ConsentDecision(ConsentDecision::Granted(
                granted,
            )));
        self.events.push_back(AgentEvent::ScopesChanged(granted));
        Active {
            granted,
            awaiting_confirmation: Vec::new(),
            running: Vec::new(),
            pending_request: None,
            used: ScopeSet::empty(),
            newest_pointer_move: None,
            refusals_audited: HashSet::new(),
        }
    }

    /// The end user answered a request for more scopes made during the session.
    pub fn answer_scope_request(
        &mut self,
        answer: ConsentAnswer,
        now: Timestamp,
    ) -> Result<(), LocalMisuse> {
        let wrong_phase = LocalMisuse::WrongPhase {
            action: "answer a scope request",
            phase: self.phase().name(),
        };
        let State::Active(active) = &mut self.state else {
            return Err(wrong_phase);
        };
        let Some(asked) = active.pending_request.take() else {
            return Err(wrong_phase);
        };
        let added = match &answer {
            ConsentAnswer::Allow(scopes) => scopes.intersection(asked),
            ConsentAnswer::Deny { .. } => ScopeSet::empty(),
        };
        if added.is_empty() {
            let reason = match answer {
                ConsentAnswer::Deny { reason } => reason,
                ConsentAnswer::Allow(_) => String::new(),
            };
            self.transmit
                .push_back(ControlMessage::ScopeRefused(ScopeRefusal {
                    scopes: asked,
                    reason,
                }));
        } else {
            active.granted = active.granted.union(added);
            active.refusals_audited.clear();
            let granted = active.granted;
            self.transmit.push_back(ControlMessage::ScopeGrant(added));
            self.events.push_back(AgentEvent::ScopesChanged(granted));
        }
        self.audit_as(
            Actor::EndUser,
            now,
            AuditAction::ConsentAnswered { granted: added },
            None,
            Outcome::Succeeded,
        );
        Ok(())
    }

    /// The end user switched permissions off.
    pub fn revoke(&mut self, scopes: ScopeSet, now: Timestamp) -> Result<(), LocalMisuse> {
        let State::Active(active) = &mut self.state else {
            return Err(LocalMisuse::WrongPhase {
                action: "revoke permissions",
                phase: self.phase().name(),
            });
        };
        let revoked = scopes.intersection(active.granted);
        if revoked.is_empty() {
            return Ok(());
        }
        active.granted = active.granted.difference(revoked);
        active.refusals_audited.clear();
        let granted = active.granted;
        self.transmit
            .push_back(ControlMessage::ScopeRevoke(revoked));
        self.events.push_back(AgentEvent::ScopesChanged(granted));
        self.audit_as(
            Actor::EndUser,
            now,
            AuditAction::ScopesRevoked { scopes: revoked },
            None,
            Outcome::Succeeded,
        );
        self.files_after_revoke(granted, "the end user", now);
        Ok(())
    }

    /// The end user pressed Stop: the session ends at once.
    pub fn stop(&mut self, now: Timestamp) {
        self.end(EndReason::StoppedByUser, now);
    }

    /// The agent ends the session for `reason` (e.g. another session holds the
    /// screen, or nobody answered "continue?").
    pub fn end(&mut self, reason: EndReason, now: Timestamp) {
        if matches!(self.state, State::Closed) {
            return;
        }
        self.state = State::Closed;
        self.send_end(reason.clone());
        self.finish(Role::Agent, reason, now);
    }

    /// The connection went away (closed, timed out, or reset).
    ///
    /// An authentication left half-way counts as a wrong attempt: otherwise an
    /// attacker could learn from the agent's confirmation and leave before being
    /// counted.
    pub fn connection_lost(&mut self, guard: &mut CodeGuard, now: Timestamp) {
        if matches!(self.state, State::Closed) {
            return;
        }
        self.abandon_attempt(guard, now);
        self.keep_for_resumption(now);
        self.state = State::Closed;
        self.finish(Role::Viewer, EndReason::ConnectionLost, now);
    }

    /// The connection's bytes broke the protocol below the message level (framing,
    /// a malformed datagram): end the session as for any other violation.
    pub fn report_violation(
        &mut self,
        violation: &PeerMisbehaved,
        guard: &mut CodeGuard,
        now: Timestamp,
    ) {
        if !matches!(self.state, State::Closed) {
            self.close_for_violation(violation, guard, now);
        }
    }

    fn abandon_attempt(&mut self, guard: &mut CodeGuard, now: Timestamp) {
        if let State::AwaitingConfirm { .. } = self.state
            && let State::AwaitingConfirm { attempt, .. } =
                std::mem::replace(&mut self.state, State::Closed)
        {
            let _ = guard.record_failure(attempt, now);
            self.audit_auth(
                now,
                Outcome::Failed {
                    reason: "abandoned before proving the code".to_owned(),
                },
            );
        }
    }

    fn close_for_violation(
        &mut self,
        violation: &PeerMisbehaved,
        guard: &mut CodeGuard,
        now: Timestamp,
    ) {
        self.abandon_attempt(guard, now);
        let actor = self.technician();
        self.audit_as(
            actor,
            now,
            AuditAction::Refused {
                message: "protocol violation".to_owned(),
            },
            None,
            Outcome::Refused {
                reason: violation.to_string(),
            },
        );
        self.state = State::Closed;
        let reason = EndReason::ProtocolViolation {
            detail: violation.to_string(),
        };
        self.send_end(reason.clone());
        self.finish(Role::Agent, reason, now);
    }

    fn refuse(
        &mut self,
        active: &mut Active,
        message: &ControlMessage,
        denied: &Denied,
        now: Timestamp,
    ) {
        self.transmit.push_back(ControlMessage::Error(ErrorReport {
            kind: ErrorKind::PermissionDenied,
            message: denied.to_string(),
        }));
        self.refuse_quietly(active, message.kind(), denied, now);
    }

    /// Audits a refusal once per message kind until the scopes change, so that a flood
    /// of refused input cannot flood the log.
    fn refuse_quietly(
        &mut self,
        active: &mut Active,
        kind: &'static str,
        denied: &Denied,
        now: Timestamp,
    ) {
        if active.refusals_audited.insert(kind) {
            self.audit_as(
                self.technician(),
                now,
                AuditAction::Refused {
                    message: kind.to_owned(),
                },
                Some(denied.required),
                Outcome::Refused {
                    reason: denied.to_string(),
                },
            );
        }
    }

    /// Audits an action: every one that carries content (a summary of it), and input
    /// once per session, when first used.
    fn audit_use(
        &mut self,
        active: &mut Active,
        kind: &'static str,
        scope: Option<Scope>,
        content_summary: Option<String>,
        now: Timestamp,
    ) {
        let first_use = scope.is_some_and(|scope| !active.used.contains(scope));
        if let Some(scope) = scope {
            active.used.insert(scope);
        }
        let summary = match content_summary {
            Some(summary) => summary,
            None if first_use => "first use in this session".to_owned(),
            None => return,
        };
        self.audit(
            now,
            AuditAction::Action {
                message: kind.to_owned(),
                summary,
            },
            scope,
            Outcome::Succeeded,
        );
    }

    fn technician(&self) -> Actor {
        match self.state {
            State::AwaitingHello | State::AwaitingSpake | State::AwaitingConfirm { .. } => {
                Actor::UnauthenticatedPeer
            }
            _ => Actor::Technician {
                fingerprint: self.config.peer,
            },
        }
    }

    fn technician_actor(&self) -> Actor {
        Actor::Technician {
            fingerprint: self.config.peer,
        }
    }

    fn audit_auth(&mut self, now: Timestamp, outcome: Outcome) {
        self.audit_as(
            self.technician_actor(),
            now,
            AuditAction::Authentication,
            None,
            outcome,
        );
    }

    fn audit(
        &mut self,
        now: Timestamp,
        action: AuditAction,
        scope: Option<Scope>,
        outcome: Outcome,
    ) {
        self.audit_as(self.technician(), now, action, scope, outcome);
    }

    fn audit_as(
        &mut self,
        actor: Actor,
        now: Timestamp,
        action: AuditAction,
        scope: Option<Scope>,
        outcome: Outcome,
    ) {
        self.events.push_back(AgentEvent::Audit(AuditRecord {
            time: now,
            session: Some(self.config.session_id),
            actor,
            action,
            scope,
            outcome,
        }));
    }

    fn send_end(&mut self, reason: EndReason) {
        self.transmit
            .push_back(ControlMessage::SessionEnd(SessionEnd {
                by: Role::Agent,
                reason,
            }));
    }

    fn finish(&mut self, by: Role, reason: EndReason, now: Timestamp) {
        let actor = match by {
            Role::Agent => Actor::Agent,
            Role::Viewer => self.technician(),
        };
        self.audit_as(
            actor,
            now,
            AuditAction::SessionEnded {
                reason: reason.detail(),
            },
            None,
            Outcome::Succeeded,
        );
        self.events
            .push_back(AgentEvent::Ended(SessionEnd { by, reason }));
    }
}

/// Messages only the agent may send.
fn is_agent_to_viewer(message: &ControlMessage) -> bool {
    matches!(
        message,
        ControlMessage::AuthRejected(_)
            | ControlMessage::ConsentDecision(_)
            | ControlMessage::ScopeGrant(_)
            | ControlMessage::ScopeRefused(_)
            | ControlMessage::ActionPending(_)
            | ControlMessage::ActionRefused(_)
            | ControlMessage::CommandOutput(_)
            | ControlMessage::SystemInfo(_)
            | ControlMessage::DiagnosticResult(_)
            | ControlMessage::FileAccepted(_)
            | ControlMessage::MonitorList(_)
            | ControlMessage::CursorImage(_)
            | ControlMessage::VideoQuality(_)
    )
}
