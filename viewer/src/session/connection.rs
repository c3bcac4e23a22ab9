//! One connection from the viewer to an agent.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lifeline_protocol::OneTimeCode;
use lifeline_protocol::framing::{
    ControlReader, VIDEO_STREAM_LIMIT, decode_datagram, decode_video_frame, encode_control,
    encode_datagram,
};
use lifeline_protocol::message::{
    Capabilities, ControlMessage, PointerButton, QualityPreference, ReceiverReport, VideoQuality,
    Wheel,
};
use lifeline_protocol::session::resume::RESUME_WINDOW;
use lifeline_protocol::session::{Credential, SendError, ViewerConfig, ViewerEvent, ViewerSession};
use lifeline_protocol::transfer::is_file_stream;
use lifeline_protocol::trust::sign_unattended_proof;
use lifeline_protocol::version::SUPPORTED_VERSIONS;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::audit::{SessionAudit, audited_of};
use super::decode::{DecodeReport, DecodeWorker, Payload};
use super::files::{FileReport, FileTransfers, read_file_stream};
use super::recording::{SessionRecording, Who, input_of};
use super::{FrameRecord, SessionContext, now};
use crate::known_agents::Trust;
use crate::link::InspectionUpdate;
use crate::link::{
    Command, CommandUpdate, ConnectRequest, ReconnectOffer, RequestCredential, SessionEnd, Stats,
    Status, Update,
};

/// How a connection ended.
#[derive(Debug)]
pub struct Outcome {
    /// The reason, in a technician's words.
    pub reason: String,
    /// Whether the session got as far as being active.
    pub was_active: bool,
    /// A connection the technician asked for while this one ran.
    pub next: Option<ConnectRequest>,
    /// Why the recording asked for (`--record`) is missing or incomplete, if it is.
    pub recording_error: Option<String>,
    /// The connection of the active session was lost: this resumes it for a while
    /// without a new code.
    pub reconnect: Option<ReconnectOffer>,
}

/// Connects to the agent in `request` and runs the session until it ends.
pub async fn run_connection(
    context: &SessionContext,
    request: ConnectRequest,
    end: &mut SessionEnd,
) -> Outcome {
    let mut audit = SessionAudit::new(context, &request);
    match Connection::open(context, &request, end, &mut audit).await {
        Ok(mut connection) => connection.run(end).await,
        Err(reason) => {
            audit.not_connected(&reason);
            Outcome {
                reason,
                was_active: false,
                next: None,
                recording_error: None,
                reconnect: None,
            }
        }
    }
}

struct Connection {
    context: SessionContext,
    request: ConnectRequest,
    address: String,
    connection: quinn::Connection,
    send: quinn::SendStream,
    recv: quinn::RecvStream,
    viewer: ViewerSession,
    reader: ControlReader,
    trust: Trust,
    agent: lifeline_protocol::Fingerprint,
    decoder: DecodeWorker,
    reports: mpsc::UnboundedReceiver<DecodeReport>,
    stats: StatsWindow,
    times: crate::stages::FrameTimes,
    cursor: Option<(i32, i32, bool)>,
    frames_received: u32,
    frames_decoded: u32,
    frames_dropped: u32,
    decode_time_total: Duration,
    last_sequence: u64,
    was_active: bool,
    /// Set when the active session's connection was lost (see [`Outcome::reconnect`]).
    reconnect: Option<ReconnectOffer>,
    /// What the agent was last told about this viewer recording the session.
    recording_announced: bool,
    /// What the technician prefers on a slow link.
    preference: QualityPreference,
    /// The agent's latest report of its video quality (it knows about preferences).
    agent_quality: Option<VideoQuality>,
    recording: SessionRecording,
    technician_name: String,
    audit: SessionAudit,
    /// Files moving in this session (stopped when it ends).
    files: FileTransfers,
}

impl Connection {
    async fn open(
        context: &SessionContext,
        request: &ConnectRequest,
        end: &SessionEnd,
        audit: &mut SessionAudit,
    ) -> Result<Self, String> {
        // Check what was typed before touching the network.
        if let RequestCredential::Code(code) = &request.credential {
            OneTimeCode::parse(code).map_err(|err| err.to_string())?;
        }
        if matches!(request.credential, RequestCredential::Resume(_))
            && request.agent_fingerprint.is_none()
        {
            return Err(
                "resuming a session needs the agent key of that session (--agent-fingerprint)"
                    .to_owned(),
            );
        }
        if matches!(request.credential, RequestCredential::Unattended { .. })
            && context.certificate.is_none()
        {
            return Err(
                "unattended access needs your technician certificate: ask your \
                        organisation's admin for one and run `lifeline-viewer certificate \
                        import FILE`"
                    .to_owned(),
            );
        }
        end.update(Update::Status(Status::Connecting));
        let connection = crate::net::connect(&context.identity, &request.address)
            .await
            .map_err(|err| err.to_string())?;
        let agent = crate::net::peer_fingerprint(&connection).map_err(|err| err.to_string())?;
        audit.met_agent(agent);
        let trust = {
            let known = context
                .known_agents
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            known
                .verify(&request.address, &agent)
                .map_err(|err| err.to_string())?
        };
        if let Some(expected) = request.agent_fingerprint
            && expected != agent
        {
            return Err(format!(
                "the device at {} is not the one you expected: its key is {agent}, you gave \
                 {expected}. Someone may be intercepting the connection",
                request.address
            ));
        }
        // Without a code, nothing proves the agent is the right device except its key:
        // an unattended session never goes to a key the technician has not checked.
        if matches!(request.credential, RequestCredential::Unattended { .. })
            && trust != Trust::Known
            && request.agent_fingerprint.is_none()
        {
            return Err(format!(
                "this viewer has not met the device at {} before, so its key ({agent}) cannot \
                 be checked without a code: pass --agent-fingerprint with the full fingerprint \
                 the agent logs at start, or connect once with a code",
                request.address
            ));
        }
        let channel_binding =
            crate::net::channel_binding(&connection).map_err(|err| err.to_string())?;
        let (send, recv) = connection
            .open_bi()
            .await
            .map_err(|err| format!("the agent closed the connection: {err}"))?;
        end.update(Update::Status(Status::Authenticating));
        let viewer = ViewerSession::new(ViewerConfig {
            local: context.identity.key.public_key().fingerprint(),
            peer: agent,
            channel_binding: channel_binding.clone(),
            credential: match &request.credential {
                RequestCredential::Code(code) => {
                    Credential::Code(OneTimeCode::parse(code).map_err(|err| err.to_string())?)
                }
                RequestCredential::Resume(session) => Credential::Resume {
                    session: *session,
                    agent,
                },
                RequestCredential::Unattended { totp } => {
                    let certificate = context.certificate.clone().ok_or_else(|| {
                        "unattended access needs your technician certificate".to_owned()
                    })?;
                    Credential::Unattended {
                        certificate: Box::new(certificate),
                        proof: sign_unattended_proof(
                            &context.identity.key,
                            &agent,
                            &channel_binding,
                        ),
                        totp: totp.clone(),
                    }
                }
            },
            certificate: context.certificate.clone(),
            technician_name: request.technician_name.clone(),
            requested: request.scopes,
            reason: request.reason.clone(),
            software_version: env!("CARGO_PKG_VERSION").to_owned(),
            versions: SUPPORTED_VERSIONS.to_vec(),
            capabilities: Capabilities::H264
                .union(Capabilities::ADAPTIVE_QUALITY)
                .union(Capabilities::CURSOR)
                .union(Capabilities::MULTI_MONITOR),
        });
        let (report_tx, reports) = mpsc::unbounded_channel();
        let recording = SessionRecording::new(context.record.clone());
        let decoder = DecodeWorker::spawn(end.frame_sink(), report_tx, recording.slot())
            .map_err(|err| err.to_string())?;
        let files = FileTransfers::new(connection.clone(), context.data_dir.clone());
        Ok(Self {
            context: context.clone(),
            request: request.clone(),
            address: request.address.clone(),
            connection,
            send,
            recv,
            viewer,
            reader: ControlReader::new(),
            trust,
            agent,
            decoder,
            reports,
            stats: StatsWindow::default(),
            times: crate::stages::FrameTimes::default(),
            cursor: None,
            frames_received: 0,
            frames_decoded: 0,
            frames_dropped: 0,
            decode_time_total: Duration::ZERO,
            last_sequence: 0,
            was_active: false,
            reconnect: None,
            recording_announced: false,
            preference: QualityPreference::default(),
            agent_quality: None,
            recording,
            technician_name: request.technician_name.clone(),
            audit: audit.connected(),
            files,
        })
    }

    async fn run(&mut self, end: &mut SessionEnd) -> Outcome {
        let mut buffer = vec![0u8; 64 * 1024];
        let (video_tx, mut video_rx) = mpsc::channel::<VideoStream>(8);
        let video_budget = Arc::new(Semaphore::new(VIDEO_MEMORY_BUDGET));
        let mut ticker = tokio::time::interval(Duration::from_millis(500));
        let mut next = None;
        let mut reason = None;
        self.flush(end, &mut reason).await;
        while reason.is_none() {
            tokio::select! {
                read = self.recv.read(&mut buffer) => match read {
                    Ok(Some(n)) => self.on_bytes(&buffer[..n]),
                    Ok(None) | Err(_) => self.viewer.connection_lost(),
                },
                stream = self.connection.accept_uni() => match stream {
                    Ok(stream) => spawn_reader(
                        stream,
                        video_tx.clone(),
                        self.files.report_sender(),
                        Arc::clone(&video_budget),
                    ),
                    Err(_) => self.viewer.connection_lost(),
                },
                Some(stream) = video_rx.recv() => self.on_video(stream),
                Some(report) = self.reports.recv() => self.on_decoded(report),
                Some(report) = self.files.reports.recv() => {
                    self.files.on_report(report, &mut self.viewer, end);
                }
                datagram = self.connection.read_datagram() => match datagram {
                    Ok(bytes) => self.on_datagram(&bytes),
                    Err(_) => self.viewer.connection_lost(),
                },
                command = end.commands.recv() => match command {
                    None => self.viewer.disconnect(),
                    Some(Command::Connect(request)) => {
                        next = Some(request);
                        self.viewer.disconnect();
                    }
                    Some(command) => self.on_command(command, end),
                },
                _ = ticker.tick() => {
                    // The window repaints for the numbers itself while it shows them.
                    end.post(Update::Stats(self.stats.snapshot(self.connection.rtt())));
                    if self.recording.wants_keyframe() {
                        let _ = self.viewer.send(ControlMessage::KeyframeRequest);
                    }
                }
            }
            self.flush(end, &mut reason).await;
        }
        let reason = reason.unwrap_or_default();
        self.audit.ended(&reason);
        let _ = self.send.finish();
        // Give the goodbye a moment to leave before closing.
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.connection
            .close(quinn::VarInt::from_u32(0), b"session ended");
        Outcome {
            reason,
            was_active: self.was_active,
            next,
            recording_error: self.recording.finish(None),
            reconnect: self.reconnect.take(),
        }
    }

    fn on_bytes(&mut self, bytes: &[u8]) {
        let messages = match self.reader.feed(bytes) {
            Ok(messages) => messages,
            Err(violation) => {
                self.viewer.report_violation(&violation);
                return;
            }
        };
        for message in messages {
            self.recording.on_message(&message);
            if let Err(violation) = self.viewer.handle_control(message) {
                tracing::warn!("the agent broke the protocol: {violation}");
            }
        }
    }

    /// A datagram from the agent: the pointer's position.
    fn on_datagram(&mut self, bytes: &[u8]) {
        let result = decode_datagram(bytes).and_then(|d| self.viewer.handle_datagram(d));
        if let Err(violation) = result {
            tracing::warn!("the agent sent a bad datagram: {violation}");
            self.viewer.report_violation(&violation);
        }
    }

    fn on_video(&mut self, stream: VideoStream) {
        let (mut bytes, budget) = match stream {
            VideoStream::Frame { bytes, budget } => (bytes, budget),
            VideoStream::OverBudget => {
                self.frames_dropped += 1;
                let _ = self.viewer.send(ControlMessage::KeyframeRequest);
                return;
            }
        };
        let (header, payload_len) = match decode_video_frame(&bytes) {
            Ok((header, payload)) => (header, payload.len()),
            Err(violation) => {
                tracing::warn!("the agent sent a bad video frame: {violation}");
                self.viewer.report_violation(&violation);
                return;
            }
        };
        tracing::trace!(
            sequence = header.sequence,
            bytes = bytes.len(),
            "frame received"
        );
        if self.viewer.may_show_video(&header).is_err() {
            self.frames_dropped += 1;
            self.send_report(header.sequence);
            return;
        }
        self.frames_received += 1;
        self.stats.received(bytes.len());
        self.last_sequence = self.last_sequence.max(header.sequence);
        let network = now().saturating_duration_since(header.capture_time);
        self.times.arrived(header.sequence, network);
        // The payload is the end of the stream: keep it in place (no copy), with its
        // share of the budget, until it is decoded.
        let total = bytes.len();
        bytes.drain(..total - payload_len);
        if !self.decoder.push(header, Payload::budgeted(bytes, budget)) {
            self.frames_dropped += 1;
            let _ = self.viewer.send(ControlMessage::KeyframeRequest);
        }
    }

    fn on_decoded(&mut self, report: DecodeReport) {
        match report {
            DecodeReport::Shown {
                sequence,
                capture_time,
                decode_time,
                bytes,
            } => {
                self.frames_decoded += 1;
                self.times.decoded(sequence, decode_time);
                self.decode_time_total += decode_time;
                let latency_ms =
                    now().saturating_duration_since(capture_time).as_secs_f64() * 1000.0;
                let decode_ms = decode_time.as_secs_f64() * 1000.0;
                self.stats.shown(latency_ms, decode_ms);
                if let Some(log) = &self.context.frame_log {
                    log.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(FrameRecord {
                            sequence,
                            bytes,
                            latency_ms,
                            decode_ms,
                            decoded_at: Instant::now(),
                            decoded_unix_ms: now().as_unix_millis(),
                        });
                }
                self.send_report(sequence);
            }
            DecodeReport::Dropped { sequence } => {
                self.frames_dropped += 1;
                // The agent waits for word of every frame it sent before sending more.
                self.send_report(sequence);
            }
            DecodeReport::NeedKeyframe => {
                let _ = self.viewer.send(ControlMessage::KeyframeRequest);
            }
        }
    }

    /// Tells the agent what arrived: it paces capture on these reports.
    fn send_report(&mut self, decoded_sequence: u64) {
        let decoded = self.frames_decoded.max(1);
        let report = ReceiverReport {
            last_sequence: decoded_sequence,
            frames_received: std::mem::take(&mut self.frames_received),
            frames_decoded: std::mem::take(&mut self.frames_decoded),
            frames_dropped: std::mem::take(&mut self.frames_dropped),
            decode_time_us: u32::try_from(self.decode_time_total.as_micros() / u128::from(decoded))
                .unwrap_or(u32::MAX),
            bitrate_hint_bps: 0,
        };
        self.decode_time_total = Duration::ZERO;
        let _ = self.viewer.send(ControlMessage::ReceiverReport(report));
    }

    fn on_command(&mut self, command: Command, end: &SessionEnd) {
        let input = input_of(&command);
        let audited = audited_of(&command);
        let result = match command {
            Command::Disconnect => {
                self.viewer.disconnect();
                Ok(())
            }
            Command::PointerMove { x, y } => match self.viewer.pointer_move(x, y) {
                Ok(datagram) => {
                    if let Ok(bytes) = encode_datagram(&datagram) {
                        let _ = self.connection.send_datagram(bytes.into());
                    }
                    Ok(())
                }
                Err(err) => Err(err),
            },
            Command::Button { button, pressed } => {
                self.viewer
                    .send(ControlMessage::PointerButton(PointerButton {
                        button,
                        pressed,
                    }))
            }
            Command::Wheel { dx, dy } => self.viewer.send(ControlMessage::Wheel(Wheel { dx, dy })),
            Command::Key(key) => self.viewer.send(ControlMessage::Key(key)),
            Command::TypeText(text) => self.viewer.send(ControlMessage::TypeText(text)),
            Command::RequestScopes(scopes) => self
                .viewer
                .request_scopes(scopes, String::new())
                .map_err(SendError::from),
            Command::GiveUp(scopes) => self.viewer.give_up(scopes).map_err(SendError::from),
            Command::RequestKeyframe => self.viewer.send(ControlMessage::KeyframeRequest),
            Command::Prefer(preference) => {
                self.preference = preference;
                self.send_preference()
            }
            Command::RunCommand(command_line) => {
                match self.viewer.run_command(command_line.clone()) {
                    Ok(id) => {
                        self.audit.command_sent(id, &command_line);
                        end.update(Update::Command(CommandUpdate::Sent { id, command_line }));
                        Ok(())
                    }
                    Err(err) => Err(err),
                }
            }
            Command::SelectMonitor(index) => self.viewer.send(ControlMessage::SelectMonitor(index)),
            Command::Chat(text) => {
                let message = ControlMessage::Chat(text);
                self.recording.on_message_sent(&message);
                self.viewer.send(message)
            }
            Command::SendFile(path) => {
                self.files.send(path, end);
                Ok(())
            }
            Command::FetchFile(path) => {
                self.files.fetch(path, &mut self.viewer, end);
                Ok(())
            }
            Command::CancelFile(ticket) => {
                self.files.cancel(ticket, &mut self.viewer, end);
                Ok(())
            }
            Command::RequestSystemInfo => self.viewer.request_system_info().map(|id| {
                end.update(Update::Inspection(InspectionUpdate::SystemInfoSent { id }));
            }),
            Command::RunDiagnostic(diagnostic) => {
                self.viewer.run_diagnostic(diagnostic.clone()).map(|id| {
                    end.update(Update::Inspection(InspectionUpdate::DiagnosticSent {
                        id,
                        diagnostic,
                    }));
                })
            }
            Command::Connect(_) => Ok(()),
        };
        match result {
            Ok(()) => {
                self.recording.input(input);
                self.audit.sent(audited);
            }
            Err(err) => end.update(Update::Notice(err.to_string())),
        }
    }

    async fn flush(&mut self, end: &SessionEnd, reason: &mut Option<String>) {
        while let Some(message) = self.viewer.poll_transmit() {
            let bytes = match encode_control(&message) {
                Ok(bytes) => bytes,
                Err(err) => {
                    tracing::error!("cannot encode {}: {err}", message.kind());
                    continue;
                }
            };
            if self.send.write_all(&bytes).await.is_err() {
                self.viewer.connection_lost();
            }
        }
        while let Some(event) = self.viewer.poll_event() {
            self.audit.on_event(&event, &self.viewer);
            match event {
                ViewerEvent::Authenticated { .. } => {
                    self.remember_agent();
                    end.update(Update::Status(Status::WaitingForConsent));
                }
                ViewerEvent::ScopesChanged(granted) => {
                    let who = Who {
                        identity: &self.context.identity,
                        agent: self.agent,
                        technician_name: &self.technician_name,
                        viewer: &self.viewer,
                    };
                    self.recording.on_scopes(granted, &who);
                    self.tell_agent_about_recording();
                    if !self.was_active {
                        self.was_active = true;
                        end.update(Update::Status(Status::Active));
                    }
                    end.update(Update::Granted(granted));
                }
                ViewerEvent::ScopeRefused { scopes, reason } => {
                    self.recording.scope_refused(scopes, reason);
                    end.update(Update::Refused { scopes });
                }
                ViewerEvent::ActionPending { id } => end.update(
                    self.files
                        .on_pending(id)
                        .unwrap_or(Update::Command(CommandUpdate::WaitingForApproval { id })),
                ),
                ViewerEvent::ActionRefused { id, reason } => end.update(
                    self.files
                        .on_refused(id, &reason)
                        .unwrap_or(Update::Command(CommandUpdate::Refused { id, reason })),
                ),
                ViewerEvent::FileAccepted(offer) => self.files.on_accepted(&offer, end),
                ViewerEvent::FileReceived { id, saved_as } => {
                    self.files.on_received(id, saved_as, end);
                }
                ViewerEvent::FileFailed { id, reason } => self.files.on_failed(id, reason, end),
                ViewerEvent::CommandOutput(output) => {
                    end.update(Update::Command(CommandUpdate::Finished(output)));
                }
                ViewerEvent::SystemInfo { id, result } => {
                    end.update(Update::Inspection(InspectionUpdate::SystemInfo {
                        id,
                        result,
                    }));
                }
                ViewerEvent::DiagnosticResult(report) => {
                    end.update(Update::Inspection(InspectionUpdate::DiagnosticResult(
                        report,
                    )));
                }
                ViewerEvent::Deliver(ControlMessage::VideoQuality(quality)) => {
                    self.on_quality(quality, end);
                }
                ViewerEvent::Deliver(ControlMessage::MonitorList(list)) => {
                    end.update(Update::Monitors(list));
                }
                ViewerEvent::Deliver(ControlMessage::CursorImage(image)) => {
                    end.update(Update::CursorImage(image));
                }
                // The agent repeats a still pointer's position (datagrams may be
                // lost); the window is woken only for a change.
                ViewerEvent::Cursor { x, y, visible } if self.cursor != Some((x, y, visible)) => {
                    self.cursor = Some((x, y, visible));
                    end.update(Update::Cursor { x, y, visible });
                }
                ViewerEvent::Deliver(ControlMessage::Error(report)) => {
                    end.update(Update::Notice(report.message))
                }
                ViewerEvent::Deliver(message @ ControlMessage::Chat(_)) => {
                    self.recording.delivered(&message);
                    if let ControlMessage::Chat(text) = message {
                        end.update(Update::ChatFromEndUser(text));
                    }
                }
                ViewerEvent::Deliver(message) => self.recording.delivered(&message),
                ViewerEvent::Ended(session_end) => {
                    self.recording.finish(Some(&session_end));
                    *reason = Some(describe_end(&session_end));
                    self.offer_reconnect(&session_end);
                }
                _ => {}
            }
        }
        self.audit.recording(self.recording.file());
        for (message, summary, outcome) in self.files.take_audit() {
            self.audit.file(message, summary, outcome);
        }
    }

    /// An active session whose connection was lost can be resumed for a while without
    /// a new code, with this viewer's key and the same agent key.
    fn offer_reconnect(&mut self, end: &lifeline_protocol::message::SessionEnd) {
        let lost = end.reason == lifeline_protocol::message::EndReason::ConnectionLost;
        let Some(session) = self.viewer.session_id() else {
            return;
        };
        if !lost || !self.was_active {
            return;
        }
        // The agent's window started when it noticed the loss, about when this side did;
        // a little is kept back for the time a new connection takes.
        let until = Instant::now() + RESUME_WINDOW.saturating_sub(Duration::from_secs(5));
        self.reconnect = Some(ReconnectOffer {
            request: self.request.to_resume(session, self.agent),
            until,
        });
    }

    /// The agent reported what it sends: pictures are shown at its screen's size, the
    /// window shows the quality, and the agent learns the technician's preference.
    fn on_quality(&mut self, quality: VideoQuality, end: &SessionEnd) {
        end.frame_sink()
            .set_screen_size(Some((quality.screen_width, quality.screen_height)));
        self.agent_quality = Some(quality);
        end.update(Update::Quality(quality));
        if let Err(err) = self.send_preference() {
            tracing::debug!("the preference is not sent: {err}");
        }
    }

    /// Tells the agent the preference, when it reports its quality and follows
    /// another one.
    fn send_preference(&mut self) -> Result<(), SendError> {
        match self.agent_quality {
            Some(quality) if quality.preference != self.preference => {
                // Sent once: the next report shows whether it took.
                self.agent_quality = Some(VideoQuality {
                    preference: self.preference,
                    ..quality
                });
                self.viewer
                    .send(ControlMessage::QualityPreference(self.preference))
            }
            _ => Ok(()),
        }
    }

    /// The agent shows the end user whether this viewer records; tell it on changes.
    fn tell_agent_about_recording(&mut self) {
        let recording = self.recording.is_recording();
        if recording != self.recording_announced
            && self
                .viewer
                .send(ControlMessage::RecordingNotice(recording))
                .is_ok()
        {
            self.recording_announced = recording;
        }
    }

    fn remember_agent(&mut self) {
        if self.trust != Trust::FirstUse {
            return;
        }
        let mut known = self
            .context
            .known_agents
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Err(err) = known.remember(&self.address, &self.agent) {
            tracing::warn!("cannot remember the agent's key: {err}");
        }
        self.trust = Trust::Known;
    }
}

fn describe_end(end: &lifeline_protocol::message::SessionEnd) -> String {
    use lifeline_protocol::message::EndReason;
    match &end.reason {
        EndReason::ConnectionLost => "the agent is gone: the connection was lost".to_owned(),
        EndReason::StoppedByUser => "the end user stopped the session".to_owned(),
        other => other.detail(),
    }
}

/// Encoded video held by one session at most, from the first byte read off a stream
/// to the decoder: a hostile agent that opens many large frame streams at once gets
/// them dropped instead of the viewer's memory (16 streams of 16 MiB would be 256 MiB
/// before decoding). The largest legal frame fits four times over.
const VIDEO_MEMORY_BUDGET: usize = 64 * 1024 * 1024;

/// What a video stream gave.
enum VideoStream {
    /// A whole stream, with the budget its bytes hold.
    Frame {
        bytes: Vec<u8>,
        budget: Option<OwnedSemaphorePermit>,
    },
    /// The stream was stopped: the video budget was spent on other frames.
    OverBudget,
}

/// Reads one unidirectional stream from the agent: a file stream (by its tag) goes to
/// the file transfers, anything else is a video frame, read within `budget`.
fn spawn_reader(
    mut stream: quinn::RecvStream,
    frames: mpsc::Sender<VideoStream>,
    files: mpsc::UnboundedSender<FileReport>,
    budget: Arc<Semaphore>,
) {
    tokio::spawn(async move {
        let mut tag = [0u8; 4];
        match stream.read_exact(&mut tag).await {
            Ok(()) if is_file_stream(&tag) => return read_file_stream(stream, tag, files).await,
            Ok(()) => {}
            Err(quinn::ReadExactError::FinishedEarly(read)) => {
                // Too short for anything: the video decoder names the fault.
                let bytes = tag[..read].to_vec();
                let _ = frames
                    .send(VideoStream::Frame {
                        bytes,
                        budget: None,
                    })
                    .await;
                return;
            }
            Err(err) => return tracing::debug!("a video stream failed: {err}"),
        }
        match read_video(&mut stream, tag.to_vec(), &budget).await {
            Ok(frame) => {
                let _ = frames.send(frame).await;
            }
            Err(err) => tracing::debug!("a video stream failed: {err}"),
        }
    });
}

/// Reads the rest of a video stream after its first bytes, holding budget for every
/// byte allocated; a stream the budget cannot hold is stopped.
async fn read_video(
    stream: &mut quinn::RecvStream,
    mut bytes: Vec<u8>,
    budget: &Arc<Semaphore>,
) -> Result<VideoStream, String> {
    let mut held: Option<OwnedSemaphorePermit> = None;
    while let Some(chunk) = stream
        .read_chunk(64 * 1024, true)
        .await
        .map_err(|err| err.to_string())?
    {
        let needed = bytes.len() + chunk.bytes.len();
        if needed > VIDEO_STREAM_LIMIT {
            let _ = stream.stop(quinn::VarInt::from_u32(0));
            return Err(format!(
                "longer than the {VIDEO_STREAM_LIMIT}-byte limit of a video stream"
            ));
        }
        if needed > bytes.capacity() {
            let capacity = (bytes.capacity() * 2).clamp(needed, VIDEO_STREAM_LIMIT);
            let more = u32::try_from(capacity - bytes.capacity()).unwrap_or(u32::MAX);
            let Ok(permit) = Arc::clone(budget).try_acquire_many_owned(more) else {
                tracing::debug!("video memory budget spent: a frame stream is dropped");
                let _ = stream.stop(quinn::VarInt::from_u32(0));
                return Ok(VideoStream::OverBudget);
            };
            match &mut held {
                Some(held) => held.merge(permit),
                None => held = Some(permit),
            }
            bytes.reserve_exact(capacity - bytes.len());
        }
        bytes.extend_from_slice(&chunk.bytes);
    }
    Ok(VideoStream::Frame {
        bytes,
        budget: held,
    })
}

/// Rolling numbers for the overlay, over the last second.
#[derive(Debug, Default)]
struct StatsWindow {
    events: VecDeque<(Instant, usize)>,
    shown: VecDeque<(Instant, f64, f64)>,
}

impl StatsWindow {
    fn received(&mut self, bytes: usize) {
        self.events.push_back((Instant::now(), bytes));
    }

    fn shown(&mut self, latency_ms: f64, decode_ms: f64) {
        self.shown
            .push_back((Instant::now(), latency_ms, decode_ms));
    }

    fn snapshot(&mut self, rtt: Duration) -> Stats {
        let horizon = Instant::now() - Duration::from_secs(1);
        while self.events.front().is_some_and(|(at, _)| *at < horizon) {
            self.events.pop_front();
        }
        while self.shown.front().is_some_and(|(at, _, _)| *at < horizon) {
            self.shown.pop_front();
        }
        let frames = self.shown.len().max(1) as f64;
        // `sum` of nothing is -0.0 for floats, which would show as "-0".
        let total = |values: &mut dyn Iterator<Item = f64>| values.fold(0.0, |sum, v| sum + v);
        Stats {
            fps: self.shown.len() as f32,
            rtt_ms: rtt.as_secs_f32() * 1000.0,
            bitrate_bps: total(&mut self.events.iter().map(|(_, bytes)| *bytes as f64 * 8.0)),
            latency_ms: (total(&mut self.shown.iter().map(|(_, latency, _)| *latency)) / frames)
                as f32,
            decode_ms: (total(&mut self.shown.iter().map(|(_, _, decode)| *decode)) / frames)
                as f32,
        }
    }
}
