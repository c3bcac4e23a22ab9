//! Recording one connection (`--record FILE`): when to start, pause and resume, and
//! what the session hands the recorder. Recording needs the end user's `record`
//! permission: it starts when that is granted, pauses while it is withdrawn, and the
//! file is finished when the session ends.

use std::sync::{Arc, Mutex};

use lifeline_protocol::message::{ControlMessage, SessionEnd};
use lifeline_protocol::recording::{
    AgentInfo, Event, FORMAT_NAME, FORMAT_VERSION, Header, Recorder as RecorderInfo, RecordingId,
    Side, TechnicianInfo, TechnicianVerification,
};
use lifeline_protocol::session::ViewerSession;
use lifeline_protocol::version::Role;
use lifeline_protocol::{Fingerprint, KeyPair, Scope, ScopeSet};

use super::decode::RecorderSlot;
use super::now;
use crate::identity::Identity;
use crate::link::Command;
use crate::recording::{RecordTarget, Recorder};

/// The technician's input, as recorded.
#[derive(Debug)]
pub(crate) enum Input {
    Pointer(u32, u32),
    Event(Event),
}

/// What a command sends that the recording keeps (input and requests).
pub(crate) fn input_of(command: &Command) -> Option<Input> {
    Some(match command {
        Command::PointerMove { x, y } => Input::Pointer(*x, *y),
        Command::Button { button, pressed } => Input::Event(Event::PointerButton(
            lifeline_protocol::message::PointerButton {
                button: *button,
                pressed: *pressed,
            },
        )),
        Command::Wheel { dx, dy } => {
            Input::Event(Event::Wheel(lifeline_protocol::message::Wheel {
                dx: *dx,
                dy: *dy,
            }))
        }
        Command::Key(key) => Input::Event(Event::Key(key.clone())),
        Command::TypeText(text) => Input::Event(Event::TypeText { text: text.clone() }),
        Command::RequestScopes(scopes) => Input::Event(Event::ScopeRequested {
            scopes: *scopes,
            reason: String::new(),
        }),
        _ => return None,
    })
}

/// What the header needs from the connection.
pub(crate) struct Who<'a> {
    pub(crate) identity: &'a Identity,
    pub(crate) agent: Fingerprint,
    pub(crate) technician_name: &'a str,
    pub(crate) viewer: &'a ViewerSession,
}

/// The recording of one connection, if one was asked for.
#[derive(Debug)]
pub(crate) struct SessionRecording {
    target: Option<RecordTarget>,
    slot: RecorderSlot,
    recorder: Option<Recorder>,
    agent_software: Option<String>,
    granted: Option<ScopeSet>,
    failure: Option<String>,
    finished: bool,
}

impl SessionRecording {
    pub(crate) fn new(target: Option<RecordTarget>) -> Self {
        Self {
            target,
            slot: Arc::new(Mutex::new(None)),
            recorder: None,
            agent_software: None,
            granted: None,
            failure: None,
            finished: false,
        }
    }

    /// Whether the session is being written now (started, not paused, not finished):
    /// what the agent is told to show the end user.
    pub(crate) fn is_recording(&self) -> bool {
        self.recorder.is_some()
            && !self.finished
            && self
                .granted
                .is_some_and(|granted| granted.contains(Scope::RecordSession))
    }

    /// Where the decode thread finds the recorder.
    pub(crate) fn slot(&self) -> RecorderSlot {
        Arc::clone(&self.slot)
    }

    /// Notes what the agent announced (its software version goes in the header).
    pub(crate) fn on_message(&mut self, message: &ControlMessage) {
        if let ControlMessage::Hello(hello) = message {
            self.agent_software = Some(hello.software_version.clone());
        }
    }

    /// The granted scopes changed: start, pause or resume, and record the change.
    pub(crate) fn on_scopes(&mut self, granted: ScopeSet, who: &Who<'_>) {
        let first = self.granted.is_none();
        let before = self.granted.replace(granted).unwrap_or_default();
        if self.target.is_none() || self.failure.is_some() {
            return;
        }
        let allowed = granted.contains(Scope::RecordSession);
        if self.recorder.is_none() {
            if !allowed {
                if first {
                    self.failure = Some(
                        "the end user did not allow recording (the record permission was not \
                         granted): nothing was recorded"
                            .to_owned(),
                    );
                }
                return;
            }
            self.start(who);
            self.event(if first {
                Event::ConsentGranted { scopes: granted }
            } else {
                Event::ScopesChanged { granted }
            });
            return;
        }
        self.event(Event::ScopesChanged { granted });
        let was_allowed = before.contains(Scope::RecordSession);
        if was_allowed && !allowed {
            self.event(Event::RecordingPaused {
                reason: "the end user withdrew the record permission".to_owned(),
            });
        } else if !was_allowed && allowed {
            self.event(Event::RecordingResumed);
        }
    }

    fn start(&mut self, who: &Who<'_>) {
        let Some(target) = &self.target else { return };
        let header = match header(who, self.agent_software.clone(), target.policy) {
            Ok(header) => header,
            Err(err) => {
                self.failure = Some(err);
                return;
            }
        };
        let key = match KeyPair::from_pkcs8(who.identity.key.to_pkcs8()) {
            Ok(key) => key,
            Err(err) => {
                self.failure = Some(format!("cannot use the technician's key: {err}"));
                return;
            }
        };
        match crate::recording::recorder::start(target, key, header) {
            Ok(recorder) => {
                tracing::info!("recording to {}", recorder.path().display());
                *self.slot.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(recorder.handle().clone());
                self.recorder = Some(recorder);
            }
            Err(err) => {
                tracing::error!("{err}");
                self.failure = Some(err);
            }
        }
    }

    /// Records an event, when recording.
    pub(crate) fn event(&self, event: Event) {
        if let Some(recorder) = &self.recorder {
            recorder.handle().event(event);
        }
    }

    /// Records the technician's pointer, when recording.
    pub(crate) fn pointer(&self, x: u32, y: u32) {
        if let Some(recorder) = &self.recorder {
            recorder.handle().pointer(x, y);
        }
    }

    /// Records input the agent accepted for sending.
    pub(crate) fn input(&self, input: Option<Input>) {
        match input {
            Some(Input::Pointer(x, y)) => self.pointer(x, y),
            Some(Input::Event(event)) => self.event(event),
            None => {}
        }
    }

    /// Records a refused scope request.
    pub(crate) fn scope_refused(&self, scopes: ScopeSet, reason: String) {
        self.event(Event::ScopeRefused { scopes, reason });
    }

    /// Records the technician's own chat lines.
    pub(crate) fn on_message_sent(&self, message: &ControlMessage) {
        if let ControlMessage::Chat(text) = message {
            self.event(Event::Chat {
                from: Side::Technician,
                bytes: text.len(),
                text: Some(text.clone()),
            });
        }
    }

    /// Records what the agent delivered (chat, clipboard).
    pub(crate) fn delivered(&self, message: &ControlMessage) {
        match message {
            ControlMessage::Chat(text) => self.event(Event::Chat {
                from: Side::Agent,
                bytes: text.len(),
                text: Some(text.clone()),
            }),
            ControlMessage::ClipboardText(text) => self.event(Event::Clipboard {
                from: Side::Agent,
                bytes: text.len(),
                text: Some(text.clone()),
            }),
            _ => {}
        }
    }

    /// The file being recorded into, while recording.
    pub(crate) fn file(&self) -> Option<&std::path::Path> {
        self.recorder.as_ref().map(|recorder| recorder.path())
    }

    /// Whether to ask the agent for a keyframe now (recording starts or resumes, or the
    /// last keyframe is long ago).
    pub(crate) fn wants_keyframe(&self) -> bool {
        self.recorder
            .as_ref()
            .is_some_and(|recorder| recorder.handle().take_keyframe_wish())
    }

    /// The session ended: record why and finish the file. Returns why the recording
    /// asked for is missing or incomplete, if it is.
    pub(crate) fn finish(&mut self, end: Option<&SessionEnd>) -> Option<String> {
        if std::mem::replace(&mut self.finished, true) {
            return self.failure.clone();
        }
        if let Some(end) = end {
            self.event(Event::SessionEnded {
                by: match end.by {
                    Role::Agent => Side::Agent,
                    Role::Viewer => Side::Technician,
                },
                reason: end.reason.detail(),
            });
        }
        self.slot.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(recorder) = self.recorder.take() {
            let failure = recorder.handle().failure();
            if let Err(err) = recorder.finish() {
                self.failure.get_or_insert(err);
            } else if let Some(err) = failure {
                self.failure.get_or_insert(err);
            }
        } else if self.target.is_some() && self.failure.is_none() {
            self.failure = Some("the session ended before recording could start".to_owned());
        }
        self.failure.clone()
    }
}

fn header(
    who: &Who<'_>,
    agent_software: Option<String>,
    policy: lifeline_protocol::recording::Policy,
) -> Result<Header, String> {
    let technician = who.identity.key.public_key();
    Ok(Header {
        format: FORMAT_NAME.to_owned(),
        version: FORMAT_VERSION,
        recording_id: RecordingId::random().map_err(|err| err.to_string())?,
        started: now(),
        recorder: RecorderInfo {
            side: Side::Technician,
            public_key: technician,
            software: format!("lifeline-viewer {}", env!("CARGO_PKG_VERSION")),
        },
        agent: AgentInfo {
            fingerprint: who.agent,
            software_version: agent_software,
        },
        technician: TechnicianInfo {
            name: who.technician_name.to_owned(),
            fingerprint: technician.fingerprint(),
            verification: TechnicianVerification::Unverified,
        },
        session_id: who.viewer.session_id(),
        protocol_version: who.viewer.version(),
        policy,
    })
}
