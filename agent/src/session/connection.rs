//! One viewer connection, from TLS handshake to goodbye.

use std::sync::Arc;
use std::time::Duration;

use lifeline_protocol::action::CommandOutput;
use lifeline_protocol::audit::{Actor, AuditAction, AuditRecord, Outcome};
use lifeline_protocol::framing::{
    ControlReader, decode_datagram, encode_control, encode_video_frame,
};
use lifeline_protocol::message::{
    Capabilities, ControlMessage, EndReason, SessionId, TechnicianIdentity,
};
use lifeline_protocol::recording::{Event as RecordedEvent, Side};
use lifeline_protocol::session::resume::RESUME_WINDOW;
use lifeline_protocol::session::{AgentConfig, AgentEvent, AgentSession, ConsentAnswer, Phase};
use lifeline_protocol::version::{Role, SUPPORTED_VERSIONS};
use lifeline_protocol::{PeerMisbehaved, Scope, ScopeSet};
use tokio::sync::mpsc;

use super::admission::{AUTHENTICATION_DEADLINE, Ticket};
use super::command::CommandRunner;
use super::continue_check::{ContinueCheck, ContinueStep};
use super::files::FileTransfers;
use super::input::{InputAction, InputWorker};
use super::policy_recording::{PolicyRecording, SessionFacts};
use super::screen::ScreenShare;
use super::system::{InspectionResult, InspectionRunner};
use super::video::{EncodedVideo, VideoControl, VideoPipeline};
use super::{Shared, now};
use crate::ui::{UiEvent, UserCommand};

/// How long a viewer has to open its control stream after the TLS handshake.
const CONTROL_STREAM_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a session may take to authenticate and be answered, end to end.
const CONSENT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// How long the TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Control messages waiting for the viewer at most. Past that, the session waits up to
/// [`NOT_READING_TIMEOUT`] for room, then ends: a viewer that stopped reading must not
/// block the session, the end user's Stop included.
const OUTGOING_QUEUE: usize = 256;
/// How long a full queue of messages for the viewer may stay full.
const NOT_READING_TIMEOUT: Duration = Duration::from_secs(5);
/// Video frames being written at once at most; further frames are dropped while the
/// viewer does not take them (a viewer that acknowledges frames it never reads would
/// otherwise make them pile up in memory).
const VIDEO_SENDS: usize = 4;

pub(crate) async fn run(shared: Arc<Shared>, incoming: quinn::Incoming, ticket: Ticket) {
    let peer_address = incoming.remote_address();
    let arrived = tokio::time::Instant::now();
    let handshake = match incoming.accept() {
        Ok(connecting) => tokio::time::timeout(HANDSHAKE_TIMEOUT, connecting).await,
        Err(err) => Ok(Err(err)),
    };
    let connection = match handshake {
        Ok(Ok(connection)) => connection,
        Ok(Err(err)) => {
            tracing::info!("a connection from {peer_address} failed during the handshake: {err}");
            return;
        }
        Err(_) => {
            tracing::info!(
                "a connection from {peer_address} did not finish its TLS handshake within \
                 {HANDSHAKE_TIMEOUT:?}; dropped"
            );
            return;
        }
    };
    let session_id = match SessionId::random() {
        Ok(id) => id,
        Err(err) => {
            tracing::error!("cannot make a session id: {err}");
            return;
        }
    };
    let span = tracing::info_span!("session", session_id = %session_id, peer = %peer_address);
    let _entered = span.enter();
    match Connection::start(&shared, connection.clone(), session_id, ticket, arrived).await {
        Ok(mut session) => {
            session.audit_attempt(peer_address);
            session.run().await;
            session.finish().await;
        }
        Err(err) => {
            tracing::info!("connection from {peer_address} refused: {err}");
            connection.close(quinn::VarInt::from_u32(1), err.to_string().as_bytes());
        }
    }
}

struct Connection {
    shared: Arc<Shared>,
    connection: quinn::Connection,
    /// Encoded control messages for the writer task ([`write_control`]).
    outgoing: Option<mpsc::Sender<Vec<u8>>>,
    writer: Option<tokio::task::JoinHandle<()>>,
    video_sends: Arc<tokio::sync::Semaphore>,
    recv: quinn::RecvStream,
    agent: AgentSession,
    reader: ControlReader,
    technician: Option<TechnicianIdentity>,
    holds_attention: bool,
    commands_tx: mpsc::Sender<UserCommand>,
    commands: mpsc::Receiver<UserCommand>,
    frames_tx: mpsc::Sender<EncodedVideo>,
    frames: mpsc::Receiver<EncodedVideo>,
    video: Option<VideoPipeline>,
    input: Option<InputWorker>,
    screen: ScreenShare,
    granted: ScopeSet,
    /// This connection's place among the unauthenticated ones, until it proves the code.
    ticket: Ticket,
    /// When its first packet arrived.
    arrived: tokio::time::Instant,
    /// "Continue?" for long attended sessions.
    continue_check: ContinueCheck,
    /// Whether the technician's viewer said it records this session.
    technician_recording: bool,
    /// The agent's own recording, when the policy records every session.
    policy_recording: Option<PolicyRecording>,
    /// Commands running for this session (killed when it ends).
    command_runner: CommandRunner,
    command_results: mpsc::UnboundedReceiver<CommandOutput>,
    /// System information and diagnostics being gathered for this session.
    inspections: InspectionRunner,
    inspection_results: mpsc::UnboundedReceiver<InspectionResult>,
    /// Files moving for this session (stopped when it ends).
    files: FileTransfers,
}

impl Connection {
    async fn start(
        shared: &Arc<Shared>,
        connection: quinn::Connection,
        session_id: SessionId,
        ticket: Ticket,
        arrived: tokio::time::Instant,
    ) -> anyhow::Result<Self> {
        let peer = crate::net::peer_fingerprint(&connection)?;
        let channel_binding = crate::net::channel_binding(&connection)?;
        let (send, recv) = tokio::time::timeout(CONTROL_STREAM_TIMEOUT, connection.accept_bi())
            .await
            .map_err(|_| {
                anyhow::anyhow!("no control stream within {CONTROL_STREAM_TIMEOUT:?}")
            })??;
        // Control messages (consent, permissions, the end) never wait behind video.
        send.set_priority(i32::MAX)?;
        let mut agent = AgentSession::new(AgentConfig {
            local: shared.fingerprint,
            peer,
            channel_binding,
            session_id,
            software_version: env!("CARGO_PKG_VERSION").to_owned(),
            versions: SUPPORTED_VERSIONS.to_vec(),
            capabilities: Capabilities::H264
                .union(Capabilities::CURSOR)
                .union(Capabilities::MULTI_MONITOR)
                .union(Capabilities::WITHDRAW_TRANSFER),
            trust: shared.policy.trust.clone(),
        });
        if let Some(grant) = shared.lock_resumable().clone() {
            agent.offer_resume(grant);
        }
        let (outgoing, queued) = mpsc::channel(OUTGOING_QUEUE);
        let writer = tokio::spawn(write_control(send, queued));
        let (commands_tx, commands) = mpsc::channel(16);
        let (results_tx, command_results) = mpsc::unbounded_channel();
        let (inspection_tx, inspection_results) = mpsc::unbounded_channel();
        // One frame waits here at most; the pipeline blocks when the network lags.
        let (frames_tx, frames) = mpsc::channel(1);
        let files = FileTransfers::new(connection.clone(), shared.data_dir.clone());
        Ok(Self {
            shared: Arc::clone(shared),
            connection,
            outgoing: Some(outgoing),
            writer: Some(writer),
            video_sends: Arc::new(tokio::sync::Semaphore::new(VIDEO_SENDS)),
            recv,
            agent,
            reader: ControlReader::new(),
            technician: None,
            holds_attention: false,
            commands_tx,
            commands,
            frames_tx,
            frames,
            video: None,
            input: None,
            screen: ScreenShare::new(shared.monitor),
            granted: ScopeSet::empty(),
            ticket,
            arrived,
            command_runner: CommandRunner::new(results_tx),
            inspections: InspectionRunner::new(inspection_tx, Arc::clone(shared)),
            inspection_results,
            technician_recording: false,
            policy_recording: None,
            command_results,
            files,
            continue_check: ContinueCheck::new(
                shared.policy.continue_after,
                shared.policy.continue_answer_window,
            ),
        })
    }

    fn audit_attempt(&self, peer_address: std::net::SocketAddr) {
        self.shared.audit(&AuditRecord {
            time: now(),
            session: Some(self.agent.session_id()),
            actor: Actor::UnauthenticatedPeer,
            action: AuditAction::ConnectionAttempt {
                peer_address: peer_address.to_string(),
            },
            scope: None,
            outcome: Outcome::Succeeded,
        });
    }

    async fn run(&mut self) {
        let mut buffer = vec![0u8; 64 * 1024];
        let deadline = tokio::time::sleep(CONSENT_TIMEOUT);
        tokio::pin!(deadline);
        let authentication_deadline =
            tokio::time::sleep_until(self.arrived + AUTHENTICATION_DEADLINE);
        tokio::pin!(authentication_deadline);
        while self.agent.phase() != Phase::Closed {
            let authenticating = matches!(
                self.agent.phase(),
                Phase::AwaitingHello | Phase::Authenticating
            );
            if !authenticating {
                self.ticket.authenticated();
            }
            tokio::select! {
                read = self.recv.read(&mut buffer) => match read {
                    Ok(Some(n)) => self.on_bytes(&buffer[..n]),
                    Ok(None) | Err(_) => self.lost(),
                },
                datagram = self.connection.read_datagram() => match datagram {
                    Ok(bytes) => self.on_datagram(&bytes),
                    Err(_) => self.lost(),
                },
                Some(command) = self.commands.recv() => self.on_command(command),
                Some(output) = self.command_results.recv() => {
                    tracing::info!(id = output.id, exit_code = ?output.exit_code, "command finished");
                    if let Err(err) = self.agent.command_finished(output, now()) {
                        tracing::debug!("a command finished after its session: {err}");
                    }
                }
                Some(frame) = self.frames.recv() => self.send_frame(frame),
                Some(result) = self.inspection_results.recv() => self.on_inspection(result),
                stream = self.connection.accept_uni() => match stream {
                    Ok(stream) => self.files.read_header(stream),
                    Err(_) => self.lost(),
                },
                Some(report) = self.files.reports.recv() => {
                    let mut guard = self.shared.lock_guard();
                    self.files.on_report(report, &mut self.agent, &mut guard);
                }
                Some(update) = self.screen.updates().recv() => {
                    self.screen.on_update(update, &mut self.agent, &self.connection);
                }
                () = sleep_until_option(self.continue_check.deadline()),
                    if self.continue_check.deadline().is_some() => self.on_continue_timer().await,
                () = &mut deadline, if self.agent.phase() != Phase::Active => {
                    tracing::info!("no consent within {CONSENT_TIMEOUT:?}; ending");
                    self.agent.stop(now());
                }
                () = &mut authentication_deadline, if authenticating => {
                    let violation = PeerMisbehaved::TooSlow {
                        step: "prove the one-time code",
                        limit_secs: AUTHENTICATION_DEADLINE.as_secs(),
                    };
                    tracing::warn!("dropping the connection: {violation}");
                    let mut guard = self.shared.lock_guard();
                    self.agent.report_violation(&violation, &mut guard, now());
                }
            }
            self.flush().await;
        }
    }

    fn on_bytes(&mut self, bytes: &[u8]) {
        let messages = match self.reader.feed(bytes) {
            Ok(messages) => messages,
            Err(violation) => {
                tracing::warn!("the viewer sent a malformed control stream: {violation}");
                let mut guard = self.shared.lock_guard();
                self.agent.report_violation(&violation, &mut guard, now());
                return;
            }
        };
        for message in messages {
            let mut guard = self.shared.lock_guard();
            if let Err(violation) = self.agent.handle_control(message, &mut guard, now()) {
                tracing::warn!("the viewer broke the protocol: {violation}");
            }
        }
    }

    fn on_datagram(&mut self, bytes: &[u8]) {
        let result = decode_datagram(bytes).and_then(|datagram| {
            let mut guard = self.shared.lock_guard();
            self.agent.handle_datagram(datagram, &mut guard, now())
        });
        if let Err(violation) = result {
            tracing::warn!("the viewer sent a bad datagram: {violation}");
            let mut guard = self.shared.lock_guard();
            self.agent.report_violation(&violation, &mut guard, now());
        }
    }

    fn lost(&mut self) {
        let mut guard = self.shared.lock_guard();
        self.agent.connection_lost(&mut guard, now());
    }

    fn on_command(&mut self, command: UserCommand) {
        let now = now();
        let result = match command {
            UserCommand::AnswerConsent(answer) => self.agent.answer_consent(answer, now),
            UserCommand::AnswerScopeRequest(answer) => self.agent.answer_scope_request(answer, now),
            UserCommand::Revoke(scopes) => self.agent.revoke(scopes, now),
            UserCommand::AnswerAction { id, approved } => {
                self.agent.answer_action(id, approved, now)
            }
            UserCommand::ContinueSession => {
                tracing::info!("the end user chose to continue the session");
                self.continue_check.answered(std::time::Instant::now());
                Ok(())
            }
            UserCommand::Stop | UserCommand::Quit => {
                self.agent.stop(now);
                Ok(())
            }
            UserCommand::Chat(text) => {
                if let Some(recording) = &self.policy_recording {
                    recording.event(RecordedEvent::Chat {
                        from: Side::Agent,
                        bytes: text.len(),
                        text: Some(text.clone()),
                    });
                }
                self.agent.send_chat(text, now)
            }
            // About a session already over: `serve()` handles it, never a session.
            UserCommand::RefuseResume => Ok(()),
        };
        if let Err(err) = result {
            tracing::debug!("the user's answer came too late: {err}");
        }
    }

    fn send_frame(&mut self, frame: EncodedVideo) {
        if let Some(quality) = frame.quality
            && let Err(err) = self.agent.send_video_quality(quality)
        {
            tracing::debug!("the video quality is not reported: {err}");
        }
        tracing::trace!(
            sequence = frame.header.sequence,
            bytes = frame.payload.len(),
            keyframe = frame.header.keyframe,
            "sending a frame"
        );
        let bytes = match encode_video_frame(&frame.header, &frame.payload) {
            Ok(bytes) => bytes,
            Err(err) => {
                tracing::error!("cannot frame video: {err}");
                return;
            }
        };
        let Ok(permit) = Arc::clone(&self.video_sends).try_acquire_owned() else {
            tracing::debug!(
                "the viewer is not taking video; frame {} dropped",
                frame.header.sequence
            );
            if let Some(video) = &self.video {
                // The next frame cannot build on one the viewer never got.
                video.send(VideoControl::Keyframe);
            }
            return;
        };
        if let Some(recording) = &self.policy_recording {
            // What is sent, exactly as sent.
            recording.video(&frame.header, &frame.payload);
            if recording.wants_keyframe()
                && let Some(video) = &self.video
            {
                video.send(VideoControl::Keyframe);
            }
        }
        let connection = self.connection.clone();
        // Older frames leave first: each builds on the one before, and a small frame
        // overtaking a large keyframe on a slow link is of no use before it. Video goes
        // after the control stream (i32::MAX) and before bulk data (priority 0).
        let priority = i32::MAX - 1 - i32::try_from(frame.header.sequence % (1 << 30)).unwrap_or(0);
        tokio::spawn(async move {
            let _permit = permit;
            let result = async {
                let mut stream = connection.open_uni().await?;
                stream.set_priority(priority)?;
                stream.write_all(&bytes).await?;
                stream.finish()?;
                anyhow::Ok(())
            };
            if let Err(err) = result.await {
                tracing::debug!("a video frame was not sent: {err}");
            }
        });
    }

    /// Sends what the state machine queued and acts on its events.
    async fn flush(&mut self) {
        // Acting on an event may queue messages (e.g. a file checked and asked about):
        // they leave before the next event.
        loop {
            self.send_queued().await;
            let Some(event) = self.agent.poll_event() else {
                break;
            };
            self.on_event(event).await;
        }
        self.shared.publish_code().await;
    }

    /// Sends the control messages the state machine queued.
    async fn send_queued(&mut self) {
        while let Some(message) = self.agent.poll_transmit() {
            let bytes = match encode_control(&message) {
                Ok(bytes) => bytes,
                Err(err) => {
                    tracing::error!("cannot encode {}: {err}", message.kind());
                    continue;
                }
            };
            let Some(queue) = &self.outgoing else {
                self.lost();
                continue;
            };
            let queued = match queue.try_send(bytes) {
                Ok(()) => Queued::Yes,
                Err(mpsc::error::TrySendError::Full(bytes)) => {
                    // The writer is behind: wait a little for a viewer that reads, but
                    // not for one that stopped.
                    match tokio::time::timeout(NOT_READING_TIMEOUT, queue.send(bytes)).await {
                        Ok(Ok(())) => Queued::Yes,
                        Ok(Err(_)) => Queued::Gone,
                        Err(_) => Queued::NotReading,
                    }
                }
                Err(mpsc::error::TrySendError::Closed(_)) => Queued::Gone,
            };
            match queued {
                Queued::Yes => {}
                Queued::Gone => self.lost(),
                Queued::NotReading => {
                    // Nothing more is queued for this viewer (its goodbye included):
                    // the messages still waiting in the state machine are dropped
                    // below without another wait.
                    self.outgoing = None;
                    let violation = PeerMisbehaved::NotReading {
                        waiting: OUTGOING_QUEUE,
                    };
                    tracing::warn!("ending the session: {violation}");
                    let mut guard = self.shared.lock_guard();
                    self.agent.report_violation(&violation, &mut guard, now());
                }
            }
        }
    }

    async fn on_event(&mut self, event: AgentEvent) {
        match event {
            AgentEvent::Authenticated => tracing::info!("the viewer proved the code"),
            AgentEvent::ConsentNeeded(prompt) => {
                self.technician = Some(prompt.technician.clone());
                if self.claim_attention() {
                    self.shared.ui.send(UiEvent::ConsentNeeded(prompt)).await;
                } else {
                    let answer = ConsentAnswer::Deny {
                        reason: "another technician is already connected to this device".to_owned(),
                    };
                    let _ = self.agent.answer_consent(answer, now());
                }
            }
            AgentEvent::SessionResumed {
                technician,
                previous,
            } => {
                tracing::info!(
                    "{} resumed session {previous}, lost less than {} s ago",
                    technician.display_name,
                    RESUME_WINDOW.as_secs()
                );
                self.technician = Some(technician);
                // Taking the end user's attention drops the grant: it is used once.
                self.claim_attention_or_end();
            }
            AgentEvent::UnattendedSession { technician } => {
                tracing::info!(
                    "unattended session by {} ({:?})",
                    technician.display_name,
                    technician.verification
                );
                self.technician = Some(technician);
                self.continue_check.disable();
                self.claim_attention_or_end();
            }
            AgentEvent::ActionConfirmationNeeded {
                id,
                scope,
                description,
            } => {
                // The end user reads a file transfer in their language; the English
                // sentence is the audit log's.
                let description = match self.files.take_sentence(id) {
                    Some(sentence) if scope == Scope::FileTransfer => {
                        sentence.render(self.shared.lang.texts())
                    }
                    _ => description,
                };
                let technician = self.technician.clone();
                match technician {
                    Some(technician) if self.holds_attention => {
                        self.shared
                            .ui
                            .send(UiEvent::ActionConfirmationNeeded {
                                id,
                                technician,
                                scope,
                                description,
                            })
                            .await;
                    }
                    _ => {
                        let _ = self.agent.answer_action(id, false, now());
                    }
                }
            }
            AgentEvent::RunCommand(request) => {
                tracing::info!(id = request.id, "running a command for the technician");
                self.command_runner.start(request);
            }
            AgentEvent::GatherSystemInfo { id } => {
                tracing::info!(id, "gathering system information for the technician");
                self.inspections.gather(id);
            }
            AgentEvent::RunDiagnostic(request) => {
                tracing::info!(
                    id = request.id,
                    diagnostic = %request.diagnostic.describe(),
                    "running a diagnostic for the technician"
                );
                self.inspections.diagnose(request);
            }
            AgentEvent::CheckFile(job) => {
                let (id, result) = self.files.check(&job);
                if let Err(err) = self.agent.file_checked(id, result, now()) {
                    tracing::debug!("a checked file is no longer wanted: {err}");
                }
            }
            AgentEvent::ReceiveFile(offer) => self.files.expect_stream(&offer),
            AgentEvent::SendFile(fetch) => self.files.start_hashing(&fetch),
            AgentEvent::CancelFile { id } => self.files.cancel(id),
            AgentEvent::ActionWithdrawn { id } if self.holds_attention => {
                self.shared.ui.send(UiEvent::ActionWithdrawn { id }).await;
            }
            AgentEvent::ScopeRequestNeeded { scopes, reason } => {
                if let Some(technician) = self.technician.clone() {
                    self.shared
                        .ui
                        .send(UiEvent::ScopeRequestNeeded {
                            technician,
                            scopes,
                            reason,
                        })
                        .await;
                }
            }
            AgentEvent::ScopesChanged(granted) => self.on_scopes(granted).await,
            AgentEvent::Deliver(ControlMessage::RecordingNotice(on)) => {
                self.set_technician_recording(on).await;
            }
            AgentEvent::Deliver(message @ ControlMessage::Chat(_)) => {
                self.record_message(&message);
                if let ControlMessage::Chat(text) = message
                    && self.holds_attention
                {
                    self.shared.ui.send(UiEvent::ChatFromTechnician(text)).await;
                }
            }
            AgentEvent::Deliver(message) => {
                self.record_message(&message);
                self.deliver(message);
            }
            AgentEvent::PointerMove { x, y } => {
                if let Some(recording) = &self.policy_recording {
                    recording.pointer(x, y);
                }
                self.inject(InputAction::MoveTo(x, y));
            }
            AgentEvent::Audit(record) => {
                if let Some(recording) = &self.policy_recording {
                    recording.event(RecordedEvent::Audit(record.clone()));
                }
                if matches!(record.outcome, Outcome::Refused { .. }) {
                    tracing::info!(action = ?record.action, scope = ?record.scope, "refused");
                }
                self.shared.audit(&record);
            }
            AgentEvent::Ended(end) => {
                tracing::info!("session ended: {}", end.reason);
                if let Some(recording) = self.policy_recording.take() {
                    recording.event(RecordedEvent::SessionEnded {
                        by: match end.by {
                            Role::Agent => Side::Agent,
                            Role::Viewer => Side::Technician,
                        },
                        reason: end.reason.detail(),
                    });
                    tokio::task::block_in_place(|| recording.finish());
                }
                self.video = None;
                self.input = None;
                self.screen.stop();
                let resumable = self.agent.resume_grant();
                let may_resume = resumable.is_some();
                if let Some(grant) = resumable {
                    tracing::info!(
                        "the technician may resume session {} without a new code for {} s",
                        grant.session,
                        RESUME_WINDOW.as_secs()
                    );
                    *self.shared.lock_resumable() = Some(grant);
                }
                if self.holds_attention {
                    self.shared
                        .ui
                        .send(UiEvent::SessionEnded {
                            reason: end.reason.detail(),
                            may_resume,
                        })
                        .await;
                }
            }
            _ => {}
        }
    }

    /// The policy records every session: start with the session.
    async fn start_policy_recording(&mut self) {
        let (Some(policy), Some(key), Some(technician)) = (
            &self.shared.policy.recording,
            &self.shared.recording_key,
            &self.technician,
        ) else {
            return;
        };
        let directory = policy
            .directory
            .clone()
            .unwrap_or_else(|| self.shared.data_dir.join("recordings"));
        let facts = SessionFacts {
            agent_key: key,
            technician,
            session_id: self.agent.session_id(),
            protocol_version: self.agent.version(),
        };
        match PolicyRecording::start(policy, &directory, &facts, now()) {
            Ok(recording) => {
                self.policy_recording = Some(recording);
                if self.holds_attention {
                    self.shared
                        .ui
                        .send(UiEvent::RecordingChanged {
                            by_technician: self.technician_recording,
                            by_policy: true,
                        })
                        .await;
                }
            }
            // The policy wants evidence: without a recording the session does not go on.
            Err(err) => {
                tracing::error!("cannot record the session as the policy requires: {err}");
                self.agent.end(
                    EndReason::ProtocolViolation {
                        detail: format!(
                            "the end user's computer must record every session but cannot: {err}"
                        ),
                    },
                    now(),
                );
            }
        }
    }

    /// Records input, clipboard and chat as the policy allows.
    fn record_message(&self, message: &ControlMessage) {
        let Some(recording) = &self.policy_recording else {
            return;
        };
        let event = match message {
            ControlMessage::PointerButton(button) => RecordedEvent::PointerButton(*button),
            ControlMessage::Wheel(wheel) => RecordedEvent::Wheel(*wheel),
            ControlMessage::Key(key) => RecordedEvent::Key(key.clone()),
            ControlMessage::TypeText(text) => RecordedEvent::TypeText { text: text.clone() },
            ControlMessage::ClipboardText(text) => RecordedEvent::Clipboard {
                from: Side::Technician,
                bytes: text.len(),
                text: Some(text.clone()),
            },
            ControlMessage::Chat(text) => RecordedEvent::Chat {
                from: Side::Technician,
                bytes: text.len(),
                text: Some(text.clone()),
            },
            _ => return,
        };
        recording.event(event);
    }

    /// The technician's viewer says it records (or stopped): the banner says so.
    async fn set_technician_recording(&mut self, on: bool) {
        if self.technician_recording == on {
            return;
        }
        self.technician_recording = on;
        tracing::info!(
            "the technician's viewer {} recording",
            if on { "started" } else { "stopped" }
        );
        if self.holds_attention {
            self.shared
                .ui
                .send(UiEvent::RecordingChanged {
                    by_technician: on,
                    by_policy: self.policy_recording.is_some(),
                })
                .await;
        }
    }

    async fn on_continue_timer(&mut self) {
        match self.continue_check.fire(std::time::Instant::now()) {
            Some(ContinueStep::Ask(answer_within)) => {
                tracing::info!("asking the end user whether to continue the session");
                if self.holds_attention {
                    self.shared
                        .ui
                        .send(UiEvent::ContinueQuestion { answer_within })
                        .await;
                }
            }
            Some(ContinueStep::EndUnanswered) => {
                tracing::info!("nobody answered whether to continue; ending the session");
                self.continue_check.disable();
                self.agent.end(EndReason::EndUserAbsent, now());
            }
            None => {}
        }
    }

    /// A session that needs no consent prompt (unattended, resumed) takes the end
    /// user's attention, or ends when another session holds it.
    fn claim_attention_or_end(&mut self) {
        if !self.claim_attention() {
            self.agent.end(
                EndReason::ConsentRefused {
                    reason: "another technician is already connected to this device".to_owned(),
                },
                now(),
            );
        }
    }

    fn claim_attention(&mut self) -> bool {
        let mut attention = self
            .shared
            .attention
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if attention.as_ref().is_some_and(|holder| !holder.is_closed()) {
            return false;
        }
        *attention = Some(self.commands_tx.clone());
        // Another session has the end user now: the lost one is not resumed.
        *self.shared.lock_resumable() = None;
        self.holds_attention = true;
        true
    }

    async fn on_scopes(&mut self, granted: ScopeSet) {
        let first = self.granted.is_empty();
        self.granted = granted;
        if first {
            self.start_policy_recording().await;
        }
        if let Some(recording) = &self.policy_recording {
            recording.event(RecordedEvent::ScopesChanged { granted });
        }
        if first {
            // Attended sessions only: unattended ones disabled the check already.
            self.continue_check.start(std::time::Instant::now());
        }
        let view = granted.contains(Scope::ViewScreen);
        if view && self.video.is_none() {
            match (self.shared.capturer)() {
                Ok(capturer) => {
                    let connection = self.connection.clone();
                    match VideoPipeline::spawn(
                        capturer,
                        self.shared.monitor,
                        self.shared.video_tuning,
                        self.frames_tx.clone(),
                        Box::new(move || super::rate::LinkStats::of(&connection)),
                    ) {
                        Ok(pipeline) => self.video = Some(pipeline),
                        Err(err) => tracing::error!("cannot start the video thread: {err}"),
                    }
                }
                Err(err) => tracing::error!("cannot capture the screen: {err}"),
            }
        }
        if let Some(video) = &self.video {
            video.send(VideoControl::SetActive(view));
        }
        match &self.video {
            Some(video) if view => {
                let geometry = Arc::clone(&video.geometry);
                self.screen
                    .start(self.shared.pointer.as_ref(), &self.agent, geometry);
            }
            _ => self.screen.stop(),
        }
        if granted.contains(Scope::ControlInput) && self.input.is_none() {
            let geometry = self
                .video
                .as_ref()
                .map(|video| Arc::clone(&video.geometry))
                .unwrap_or_default();
            match (self.shared.injector)().map(|injector| InputWorker::spawn(injector, geometry)) {
                Ok(Ok(worker)) => self.input = Some(worker),
                Ok(Err(err)) => tracing::error!("cannot start the input thread: {err}"),
                Err(err) => tracing::error!("cannot inject input: {err}"),
            }
        }
        if !granted.contains(Scope::ControlInput) {
            // Revoked: stop at once, including anything still queued.
            self.input = None;
        }
        if !granted.contains(Scope::RecordSession) {
            // An honest viewer pauses its recording when the permission goes.
            self.set_technician_recording(false).await;
        }
        let event = match (&self.technician, first) {
            (Some(technician), true) => UiEvent::SessionActive {
                technician: technician.clone(),
                granted,
            },
            _ => UiEvent::ScopesChanged(granted),
        };
        if self.holds_attention {
            self.shared.ui.send(event).await;
        }
    }

    fn deliver(&mut self, message: ControlMessage) {
        match message {
            ControlMessage::SelectMonitor(index) => {
                self.screen
                    .select(index, &mut self.agent, self.video.as_ref());
            }
            ControlMessage::KeyframeRequest => {
                if let Some(video) = &self.video {
                    video.send(VideoControl::Keyframe);
                }
            }
            ControlMessage::ReceiverReport(report) => {
                if let Some(video) = &self.video {
                    video.send(VideoControl::Report(report, std::time::Instant::now()));
                }
            }
            ControlMessage::QualityPreference(preference) => {
                if let Some(video) = &self.video {
                    video.send(VideoControl::Preference(preference));
                }
            }
            ControlMessage::PointerButton(button) => {
                self.inject(InputAction::Button(button.button, button.pressed))
            }
            ControlMessage::Wheel(wheel) => self.inject(InputAction::Wheel(wheel.dx, wheel.dy)),
            ControlMessage::Key(key) => self.inject(InputAction::Key(key)),
            ControlMessage::TypeText(text) => self.inject(InputAction::Text(text)),
            other => tracing::debug!("nothing to do for {}", other.kind()),
        }
    }

    /// A system report or a diagnostic's result is ready: the state machine sends it.
    fn on_inspection(&mut self, result: InspectionResult) {
        let outcome = match result {
            InspectionResult::SystemInfo { id, result } => {
                self.agent
                    .system_info_ready(id, result.map(|report| *report), now())
            }
            InspectionResult::Diagnostic(report) => {
                tracing::info!(id = report.id, status = %report.status, "diagnostic finished");
                self.agent.diagnostic_finished(report, now())
            }
        };
        if let Err(err) = outcome {
            tracing::debug!("an answer came after its session: {err}");
        }
    }

    fn inject(&self, action: InputAction) {
        match &self.input {
            Some(input) => input.send(action),
            None => tracing::debug!("input arrived but no input backend is running"),
        }
    }

    /// Says goodbye: flushes the control stream and lets the viewer close first.
    async fn finish(&mut self) {
        self.video = None;
        self.input = None;
        self.screen.stop();
        // The writer sends what is queued (the goodbye) and finishes the stream, unless
        // the viewer does not read.
        self.outgoing = None;
        if let Some(mut writer) = self.writer.take()
            && tokio::time::timeout(Duration::from_secs(2), &mut writer)
                .await
                .is_err()
        {
            writer.abort();
        }
        let closed = tokio::time::timeout(Duration::from_secs(2), self.connection.closed()).await;
        if closed.is_err() {
            self.connection
                .close(quinn::VarInt::from_u32(0), b"session ended");
        }
        if self.holds_attention {
            let mut attention = self
                .shared
                .attention
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            *attention = None;
        }
        self.shared.publish_code().await;
    }
}

/// Whether a message for the viewer could be queued.
enum Queued {
    Yes,
    /// The writer is gone (the connection failed).
    Gone,
    /// The queue stayed full: the viewer does not read.
    NotReading,
}

/// Writes the queued control messages to the viewer in order, then finishes the stream.
async fn write_control(mut send: quinn::SendStream, mut queued: mpsc::Receiver<Vec<u8>>) {
    while let Some(bytes) = queued.recv().await {
        if let Err(err) = send.write_all(&bytes).await {
            tracing::info!("cannot send to the viewer: {err}");
            return;
        }
    }
    let _ = send.finish();
}

/// Sleeps until `deadline`, or forever without one (the select arm is then disabled).
async fn sleep_until_option(deadline: Option<std::time::Instant>) {
    match deadline {
        Some(deadline) => {
            tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await;
        }
        None => std::future::pending().await,
    }
}
