//! One viewer connection, from TLS handshake to goodbye.

use std::sync::Arc;
use std::time::Duration;

use lifeline_protocol::audit::{Actor, AuditAction, AuditRecord, Outcome};
use lifeline_protocol::framing::{
    ControlReader, decode_datagram, encode_control, encode_video_frame,
};
use lifeline_protocol::message::{Capabilities, ControlMessage, SessionId, TechnicianIdentity};
use lifeline_protocol::session::{AgentConfig, AgentEvent, AgentSession, ConsentAnswer, Phase};
use lifeline_protocol::version::SUPPORTED_VERSIONS;
use lifeline_protocol::{Scope, ScopeSet};
use tokio::sync::mpsc;

use super::input::{InputAction, InputWorker};
use super::screen::ScreenShare;
use super::video::{EncodedVideo, VideoControl, VideoPipeline};
use super::{Shared, now};
use crate::ui::{UiEvent, UserCommand};

/// How long a viewer has to open its control stream after the TLS handshake.
const CONTROL_STREAM_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a session may take to authenticate and be answered, end to end.
const CONSENT_TIMEOUT: Duration = Duration::from_secs(5 * 60);

pub(crate) async fn run(shared: Arc<Shared>, incoming: quinn::Incoming) {
    let peer_address = incoming.remote_address();
    let connection = match incoming.await {
        Ok(connection) => connection,
        Err(err) => {
            tracing::info!("a connection from {peer_address} failed during the handshake: {err}");
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
    match Connection::start(&shared, connection.clone(), session_id).await {
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
    send: quinn::SendStream,
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
}

impl Connection {
    async fn start(
        shared: &Arc<Shared>,
        connection: quinn::Connection,
        session_id: SessionId,
    ) -> anyhow::Result<Self> {
        let peer = crate::net::peer_fingerprint(&connection)?;
        let channel_binding = crate::net::channel_binding(&connection)?;
        let (send, recv) = tokio::time::timeout(CONTROL_STREAM_TIMEOUT, connection.accept_bi())
            .await
            .map_err(|_| {
                anyhow::anyhow!("no control stream within {CONTROL_STREAM_TIMEOUT:?}")
            })??;
        let agent = AgentSession::new(AgentConfig {
            local: shared.fingerprint,
            peer,
            channel_binding,
            session_id,
            software_version: env!("CARGO_PKG_VERSION").to_owned(),
            versions: SUPPORTED_VERSIONS.to_vec(),
            capabilities: Capabilities::H264
                .union(Capabilities::CURSOR)
                .union(Capabilities::MULTI_MONITOR),
        });
        let (commands_tx, commands) = mpsc::channel(16);
        // One frame waits here at most; the pipeline blocks when the network lags.
        let (frames_tx, frames) = mpsc::channel(1);
        Ok(Self {
            shared: Arc::clone(shared),
            connection,
            send,
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
        while self.agent.phase() != Phase::Closed {
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
                Some(frame) = self.frames.recv() => self.send_frame(frame),
                Some(update) = self.screen.updates().recv() => {
                    self.screen.on_update(update, &mut self.agent, &self.connection);
                }
                () = &mut deadline, if self.agent.phase() != Phase::Active => {
                    tracing::info!("no consent within {CONSENT_TIMEOUT:?}; ending");
                    self.agent.stop(now());
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
            UserCommand::Stop | UserCommand::Quit => {
                self.agent.stop(now);
                Ok(())
            }
        };
        if let Err(err) = result {
            tracing::debug!("the user's answer came too late: {err}");
        }
    }

    fn send_frame(&mut self, frame: EncodedVideo) {
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
        let connection = self.connection.clone();
        tokio::spawn(async move {
            let result = async {
                let mut stream = connection.open_uni().await?;
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
        while let Some(message) = self.agent.poll_transmit() {
            let result = match encode_control(&message) {
                Ok(bytes) => self
                    .send
                    .write_all(&bytes)
                    .await
                    .map_err(anyhow::Error::from),
                Err(err) => Err(anyhow::Error::from(err)),
            };
            if let Err(err) = result {
                tracing::info!("cannot send to the viewer: {err}");
                self.lost();
            }
        }
        while let Some(event) = self.agent.poll_event() {
            self.on_event(event).await;
        }
        self.shared.publish_code().await;
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
            AgentEvent::Deliver(message) => self.deliver(message),
            AgentEvent::PointerMove { x, y } => self.inject(InputAction::MoveTo(x, y)),
            AgentEvent::Audit(record) => {
                if matches!(record.outcome, Outcome::Refused { .. }) {
                    tracing::info!(action = ?record.action, scope = ?record.scope, "refused");
                }
                self.shared.audit(&record);
            }
            AgentEvent::Ended(end) => {
                tracing::info!("session ended: {}", end.reason);
                self.video = None;
                self.input = None;
                self.screen.stop();
                if self.holds_attention {
                    self.shared
                        .ui
                        .send(UiEvent::SessionEnded {
                            reason: end.reason.detail(),
                        })
                        .await;
                }
            }
            _ => {}
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
        self.holds_attention = true;
        true
    }

    async fn on_scopes(&mut self, granted: ScopeSet) {
        let first = self.granted.is_empty();
        self.granted = granted;
        let view = granted.contains(Scope::ViewScreen);
        if view && self.video.is_none() {
            match (self.shared.capturer)() {
                Ok(capturer) => {
                    match VideoPipeline::spawn(
                        capturer,
                        self.shared.monitor,
                        self.frames_tx.clone(),
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
                    video.send(VideoControl::Report(report));
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
        let _ = self.send.finish();
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
