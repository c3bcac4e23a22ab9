//! What the window shows, as plain data: no egui here, so it is tested on its own.
//!
//! [`AgentUiState::apply`] takes the session's events; the screens produce
//! [`UserCommand`]s from it, and [`AgentUiState::on_command`] moves the state on once a
//! command is sent.

use std::time::{Duration, Instant};

use lifeline_protocol::message::TechnicianIdentity;
use lifeline_protocol::session::{ConsentAnswer, ConsentPrompt};
use lifeline_protocol::{Scope, ScopeSet};

use crate::ui::{UiEvent, UserCommand};

/// A warning shown under the code while waiting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// Someone typed a wrong code.
    WrongCodeTried {
        /// Wrong attempts against the current code.
        failures: u32,
    },
    /// Too many wrong codes: attempts are refused until `until`.
    CodeLocked {
        /// When attempts are accepted again.
        until: Instant,
    },
    /// The last session's connection was lost: its technician may reconnect without a
    /// new code until `until`.
    MayResume {
        /// When that ends.
        until: Instant,
    },
}

/// Waiting for a technician: the code to read out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    /// How the technician reaches this device.
    pub device_id: String,
    /// The one-time code, grouped for reading aloud.
    pub code: String,
    /// When the code stops working.
    pub expires: Instant,
    /// Warnings about wrong codes, oldest first.
    pub notices: Vec<Notice>,
    /// Whether the code was copied to the clipboard.
    pub copied: bool,
}

impl Waiting {
    /// How long the code still works, `None` once it has expired.
    pub fn remaining(&self, now: Instant) -> Option<Duration> {
        self.expires
            .checked_duration_since(now)
            .filter(|left| !left.is_zero())
    }

    fn notice(&mut self, notice: Notice) {
        let same_kind =
            |old: &Notice| std::mem::discriminant(old) == std::mem::discriminant(&notice);
        self.notices.retain(|old| !same_kind(old));
        self.notices.push(notice);
    }
}

/// Which question a consent prompt answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptKind {
    /// A technician proved the code and asks to connect.
    Connect,
    /// During a session the technician asks for more.
    MorePermissions,
}

/// A consent prompt with the user's ticks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    /// Which question this is.
    pub kind: PromptKind,
    /// Who asks, what for and why.
    pub prompt: ConsentPrompt,
    /// Each scope asked for, ticked or not (all ticked at first).
    pub checkboxes: Vec<(Scope, bool)>,
    /// What was shown before; shown again once answered.
    pub previous: Box<Phase>,
}

impl Consent {
    /// The ticked scopes.
    pub fn ticked(&self) -> ScopeSet {
        self.checkboxes
            .iter()
            .filter(|(_, ticked)| *ticked)
            .map(|(scope, _)| *scope)
            .collect()
    }

    /// The command for "Allow": the ticked scopes, or a refusal when none is ticked.
    pub fn allow(&self) -> UserCommand {
        let ticked = self.ticked();
        if ticked.is_empty() {
            self.deny()
        } else {
            self.command(ConsentAnswer::Allow(ticked))
        }
    }

    /// The command for "Deny".
    pub fn deny(&self) -> UserCommand {
        self.command(ConsentAnswer::Deny {
            reason: String::new(),
        })
    }

    fn command(&self, answer: ConsentAnswer) -> UserCommand {
        match self.kind {
            PromptKind::Connect => UserCommand::AnswerConsent(answer),
            PromptKind::MorePermissions => UserCommand::AnswerScopeRequest(answer),
        }
    }
}

/// A running session, shown as the banner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Who is connected.
    pub technician: TechnicianIdentity,
    /// What they may do now.
    pub granted: ScopeSet,
    /// "Continue?" is asked; the session ends at this instant without an answer.
    pub continue_until: Option<Instant>,
    /// One action waiting for the user's confirmation: its id, the permission it is
    /// done under, and its exact description.
    pub pending_action: Option<(u32, Scope, String)>,
    /// The technician records the session.
    pub recorded: bool,
    /// The agent records the session because its policy says so.
    pub recorded_by_policy: bool,
    /// The chat so far, oldest first (at most [`CHAT_LINES`]).
    pub chat: Vec<ChatLine>,
    /// What the user is typing into the chat.
    pub chat_draft: String,
}

/// Chat lines the banner keeps.
pub const CHAT_LINES: usize = 50;
/// Chat lines the banner grows for (it scrolls beyond).
pub const CHAT_LINES_SHOWN: usize = 4;

/// One line of the chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatLine {
    /// Written by the technician (else by the user).
    pub from_technician: bool,
    /// What was written.
    pub text: String,
}

impl Session {
    fn chat(&mut self, from_technician: bool, text: String) {
        if self.chat.len() == CHAT_LINES {
            self.chat.remove(0);
        }
        self.chat.push(ChatLine {
            from_technician,
            text,
        });
    }
}

/// Which screen is up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Before the first code arrives.
    Starting,
    /// Showing the device ID and the code.
    WaitingForTechnician(Waiting),
    /// Service mode: no code; who may connect unattended.
    UnattendedOnly {
        /// How the technician reaches this device.
        device_id: String,
        /// Organisations whose technicians may connect.
        organisations: Vec<String>,
    },
    /// Asking the user.
    Consent(Consent),
    /// The banner of a running session.
    Session(Session),
    /// A session ended; waiting for the next code.
    Ended {
        /// Why, in words (empty when the user stopped it and the session has not said).
        reason: String,
    },
}

/// How big the window should be and whether it stays on top.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowMode {
    /// The code, or the end of a session.
    Code,
    /// A consent prompt: taller, for the permissions and the buttons.
    Prompt,
    /// The small always-on-top banner, sized for this many permission switches.
    Banner {
        /// Switches shown.
        permissions: usize,
        /// Chat lines shown (the field is always there).
        chat_lines: usize,
    },
}

/// Everything the window shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentUiState {
    /// The current screen.
    pub phase: Phase,
    /// The last error, shown above every screen until dismissed.
    pub error: Option<String>,
    /// Until when the technician of a lost session may reconnect without a code.
    resume_until: Option<Instant>,
}

impl Default for AgentUiState {
    fn default() -> Self {
        Self::new()
    }
}

impl AgentUiState {
    /// The state before any event.
    pub fn new() -> Self {
        Self {
            phase: Phase::Starting,
            error: None,
            resume_until: None,
        }
    }

    /// Takes an event from the session; `now` dates the code's expiry and locks.
    pub fn apply(&mut self, event: UiEvent, now: Instant) {
        match event {
            UiEvent::Ready {
                device_id,
                code,
                expires_in,
            } => {
                let expires = now + expires_in;
                if let Phase::WaitingForTechnician(waiting) = &mut self.phase {
                    // A new code while waiting: keep the warnings, they are still true.
                    waiting.device_id = device_id;
                    waiting.code = code;
                    waiting.expires = expires;
                    waiting.copied = false;
                } else {
                    let notices = self
                        .resume_until
                        .filter(|until| *until > now)
                        .map(|until| Notice::MayResume { until })
                        .into_iter()
                        .collect();
                    self.phase = Phase::WaitingForTechnician(Waiting {
                        device_id,
                        code,
                        expires,
                        notices,
                        copied: false,
                    });
                }
            }
            UiEvent::UnattendedOnly {
                device_id,
                organisations,
            } => {
                self.phase = Phase::UnattendedOnly {
                    device_id,
                    organisations,
                };
            }
            UiEvent::WrongCodeTried { failures } => {
                self.notice(Notice::WrongCodeTried { failures });
            }
            UiEvent::CodeLocked { seconds } => {
                let until = now + Duration::from_secs(seconds);
                self.notice(Notice::CodeLocked { until });
            }
            UiEvent::ConsentNeeded(prompt) => self.ask(PromptKind::Connect, prompt),
            UiEvent::ScopeRequestNeeded {
                technician,
                scopes,
                reason,
            } => {
                let prompt = ConsentPrompt {
                    technician,
                    scopes,
                    reason,
                    unattended: false,
                };
                self.ask(PromptKind::MorePermissions, prompt);
            }
            UiEvent::SessionActive {
                technician,
                granted,
            } => {
                self.resume_until = None;
                self.phase = Phase::Session(Session {
                    technician,
                    granted,
                    continue_until: None,
                    pending_action: None,
                    recorded: false,
                    recorded_by_policy: false,
                    chat: Vec::new(),
                    chat_draft: String::new(),
                });
            }
            UiEvent::ScopesChanged(granted) => {
                if let Some(session) = self.session_mut() {
                    session.granted = granted;
                }
            }
            UiEvent::ActionConfirmationNeeded {
                id,
                scope,
                description,
                ..
            } => {
                if let Some(session) = self.session_mut() {
                    session.pending_action = Some((id, scope, description));
                }
            }
            UiEvent::ActionWithdrawn { id } => {
                if let Some(session) = self.session_mut()
                    && session
                        .pending_action
                        .as_ref()
                        .is_some_and(|(pending, ..)| *pending == id)
                {
                    session.pending_action = None;
                }
            }
            UiEvent::RecordingChanged {
                by_technician,
                by_policy,
            } => {
                if let Some(session) = self.session_mut() {
                    session.recorded = by_technician;
                    session.recorded_by_policy = by_policy;
                }
            }
            UiEvent::ContinueQuestion { answer_within } => {
                if let Some(session) = self.session_mut() {
                    session.continue_until = Some(now + answer_within);
                }
            }
            UiEvent::ChatFromTechnician(text) => {
                if let Some(session) = self.session_mut() {
                    session.chat(true, text);
                }
            }
            UiEvent::SessionEnded { reason, may_resume } => {
                self.resume_until =
                    may_resume.then(|| now + lifeline_protocol::session::resume::RESUME_WINDOW);
                self.phase = Phase::Ended { reason };
            }
            UiEvent::Error(message) => self.error = Some(message),
        }
    }

    /// Moves the state on after `command` was sent.
    pub fn on_command(&mut self, command: &UserCommand) {
        match command {
            UserCommand::AnswerConsent(_) | UserCommand::AnswerScopeRequest(_) => {
                let phase = std::mem::replace(&mut self.phase, Phase::Starting);
                self.phase = match phase {
                    Phase::Consent(consent) => *consent.previous,
                    other => other,
                };
            }
            UserCommand::Revoke(scopes) => {
                if let Some(session) = self.session_mut() {
                    session.granted = session.granted.difference(*scopes);
                }
            }
            UserCommand::AnswerAction { .. } => {
                if let Some(session) = self.session_mut() {
                    session.pending_action = None;
                }
            }
            UserCommand::ContinueSession => {
                if let Some(session) = self.session_mut() {
                    session.continue_until = None;
                }
            }
            UserCommand::Stop => {
                if matches!(self.phase, Phase::Session(_)) {
                    self.phase = Phase::Ended {
                        reason: String::new(),
                    };
                }
            }
            UserCommand::Chat(text) => {
                if let Some(session) = self.session_mut() {
                    session.chat(false, text.clone());
                    session.chat_draft.clear();
                }
            }
            UserCommand::RefuseResume => {
                self.resume_until = None;
                if let Phase::WaitingForTechnician(waiting) = &mut self.phase {
                    waiting
                        .notices
                        .retain(|notice| !matches!(notice, Notice::MayResume { .. }));
                }
            }
            UserCommand::Quit => {}
        }
    }

    /// The window the current screen needs.
    pub fn window_mode(&self) -> WindowMode {
        match &self.phase {
            Phase::Session(session) => WindowMode::Banner {
                // Each question takes a few rows.
                permissions: session.granted.iter().count()
                    + usize::from(session.continue_until.is_some()) * 3
                    + usize::from(session.pending_action.is_some()) * 4
                    + usize::from(session.recorded)
                    + usize::from(session.recorded_by_policy),
                chat_lines: session.chat.len().min(CHAT_LINES_SHOWN),
            },
            Phase::Consent(_) => WindowMode::Prompt,
            Phase::Starting
            | Phase::WaitingForTechnician(_)
            | Phase::UnattendedOnly { .. }
            | Phase::Ended { .. } => WindowMode::Code,
        }
    }

    fn ask(&mut self, kind: PromptKind, prompt: ConsentPrompt) {
        let previous = match std::mem::replace(&mut self.phase, Phase::Starting) {
            // A new prompt replaces an unanswered one; go back to what was before both.
            Phase::Consent(consent) => consent.previous,
            other => Box::new(other),
        };
        let checkboxes = prompt.scopes.iter().map(|scope| (scope, true)).collect();
        self.phase = Phase::Consent(Consent {
            kind,
            prompt,
            checkboxes,
            previous,
        });
    }

    fn notice(&mut self, notice: Notice) {
        let waiting = match &mut self.phase {
            Phase::WaitingForTechnician(waiting) => Some(waiting),
            Phase::Consent(consent) => match consent.previous.as_mut() {
                Phase::WaitingForTechnician(waiting) => Some(waiting),
                _ => None,
            },
            _ => None,
        };
        match waiting {
            Some(waiting) => waiting.notice(notice),
            None => tracing::debug!(?notice, "no code on screen; notice not shown"),
        }
    }

    /// The running session, also while a request for more permissions is asked.
    fn session_mut(&mut self) -> Option<&mut Session> {
        match &mut self.phase {
            Phase::Session(session) => Some(session),
            Phase::Consent(consent) => match consent.previous.as_mut() {
                Phase::Session(session) => Some(session),
                _ => None,
            },
            _ => None,
        }
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
