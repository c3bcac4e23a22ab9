//! The end user's side of the agent: what they see and what they decide.
//!
//! The session (on tokio threads) and a front-end (on the main thread) talk through
//! two bounded channels made by [`link`]: the session sends [`UiEvent`]s through a
//! [`UiNotifier`], which also wakes the front-end; the front-end sends back
//! [`UserCommand`]s. Front-ends implement [`ConsentUi`]:
//!
//! - [`window`]: small eframe windows (code, consent prompt, session banner);
//! - [`tty`]: the same information on a terminal, answers read from standard input,
//!   for an administrator over SSH and for the tests;
//! - [`nobody`]: no person at all (a service without a desktop): questions are refused.
//!
//! [`text`] holds every string shown, in English and Simplified Chinese.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lifeline_protocol::message::TechnicianIdentity;
use lifeline_protocol::session::{ConsentAnswer, ConsentPrompt};
use lifeline_protocol::{Scope, ScopeSet};
use tokio::sync::mpsc;

pub mod nobody;
pub mod text;
pub mod tty;
pub mod window;

/// What the session tells the end user.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UiEvent {
    /// Waiting for a technician in service mode: no code, only unattended access by
    /// these organisations' technicians.
    UnattendedOnly {
        /// How the technician reaches this device.
        device_id: String,
        /// The organisations whose technicians may connect.
        organisations: Vec<String>,
    },
    /// Waiting for a technician: show the device ID and the current one-time code.
    /// Sent again whenever the code changes.
    Ready {
        /// How the technician reaches this device (for now, its address).
        device_id: String,
        /// The code, grouped for reading aloud (`482 193 705`).
        code: String,
        /// How long the code stays valid.
        expires_in: Duration,
    },
    /// Someone typed a wrong code.
    WrongCodeTried {
        /// Wrong attempts against the current code.
        failures: u32,
    },
    /// Too many wrong codes: the code was replaced and attempts are refused for a while.
    CodeLocked {
        /// Seconds until attempts are accepted again.
        seconds: u64,
    },
    /// A technician proved the code and asks for permissions; answer with
    /// [`UserCommand::AnswerConsent`].
    ConsentNeeded(ConsentPrompt),
    /// During a session the technician asks for more; answer with
    /// [`UserCommand::AnswerScopeRequest`].
    ScopeRequestNeeded {
        /// Who asks.
        technician: TechnicianIdentity,
        /// What they ask for.
        scopes: ScopeSet,
        /// Why.
        reason: String,
    },
    /// A session runs: show the banner.
    SessionActive {
        /// Who is connected.
        technician: TechnicianIdentity,
        /// What they may do.
        granted: ScopeSet,
    },
    /// The permissions changed during the session.
    ScopesChanged(ScopeSet),
    /// The technician asks to do one action the policy wants confirmed (run a command,
    /// move a file); answer with [`UserCommand::AnswerAction`].
    ActionConfirmationNeeded {
        /// The action's id.
        id: u32,
        /// Who asks.
        technician: TechnicianIdentity,
        /// The permission it is done under (`commands`, `files`): it picks the question.
        scope: Scope,
        /// Exactly what would be done: the command line, or e.g. "receive the file
        /// report.pdf (2.3 MB) into /home/ann/Downloads".
        description: String,
    },
    /// The technician withdrew the action of an open
    /// [`UiEvent::ActionConfirmationNeeded`] (a file transfer): take the question away.
    ActionWithdrawn {
        /// The action's id.
        id: u32,
    },
    /// The technician's viewer started or stopped recording the session: show it for as
    /// long as it lasts.
    RecordingChanged {
        /// Whether the technician records now.
        by_technician: bool,
        /// Whether the agent records the session because its policy says so.
        by_policy: bool,
    },
    /// A long attended session: ask whether it should go on; answer with
    /// [`UserCommand::ContinueSession`] (or Stop). Without an answer it ends.
    ContinueQuestion {
        /// How long the user has to answer.
        answer_within: Duration,
    },
    /// The technician wrote in the chat.
    ChatFromTechnician(String),
    /// The session ended; back to waiting (a `Ready` follows) or exit.
    SessionEnded {
        /// Why, in words.
        reason: String,
        /// The connection was lost: the same technician may reconnect without a new
        /// code for [`lifeline_protocol::session::resume::RESUME_WINDOW`].
        may_resume: bool,
    },
    /// Something failed that the user should know about.
    Error(String),
}

/// What the end user decided.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserCommand {
    /// The answer to [`UiEvent::ConsentNeeded`].
    AnswerConsent(ConsentAnswer),
    /// The answer to [`UiEvent::ScopeRequestNeeded`].
    AnswerScopeRequest(ConsentAnswer),
    /// Switch these permissions off now.
    Revoke(ScopeSet),
    /// The answer to [`UiEvent::ActionConfirmationNeeded`].
    AnswerAction {
        /// The action's id.
        id: u32,
        /// Allowed once (true) or refused.
        approved: bool,
    },
    /// The answer "yes" to [`UiEvent::ContinueQuestion`].
    ContinueSession,
    /// Write this in the chat, to the technician.
    Chat(String),
    /// End the session now.
    Stop,
    /// The technician of the session whose connection was lost may not reconnect
    /// without a new code (see [`UiEvent::SessionEnded`]).
    RefuseResume,
    /// Close the agent.
    Quit,
}

/// A function that wakes the front-end (e.g. `egui::Context::request_repaint`).
pub type Waker = Box<dyn Fn() + Send + Sync>;

/// The session's end of the link.
#[derive(Clone)]
pub struct UiNotifier {
    events: mpsc::Sender<UiEvent>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl std::fmt::Debug for UiNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UiNotifier").finish_non_exhaustive()
    }
}

impl UiNotifier {
    /// Sends an event and wakes the front-end. Returns false when the front-end is gone.
    pub async fn send(&self, event: UiEvent) -> bool {
        let delivered = self.events.send(event).await.is_ok();
        self.wake();
        delivered
    }

    fn wake(&self) {
        // A poisoned lock only means a waker panicked; the slot itself is still usable.
        let waker = self
            .waker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(wake) = waker.as_ref() {
            wake();
        }
    }
}

/// The front-end's end of the link.
pub struct UiLink {
    /// Events from the session, to drain without blocking (`try_recv`).
    pub events: mpsc::Receiver<UiEvent>,
    /// Decisions for the session (`try_send` from a UI thread, `blocking_send` from a
    /// plain thread).
    pub commands: mpsc::Sender<UserCommand>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl std::fmt::Debug for UiLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UiLink").finish_non_exhaustive()
    }
}

impl UiLink {
    /// Registers how to wake the front-end when an event arrives.
    pub fn set_waker(&self, waker: Waker) {
        let mut slot = self
            .waker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *slot = Some(waker);
    }
}

/// Makes the two ends of a link, and the receiver of user commands for the session.
pub fn link() -> (UiNotifier, UiLink, mpsc::Receiver<UserCommand>) {
    let (event_tx, event_rx) = mpsc::channel(64);
    let (command_tx, command_rx) = mpsc::channel(64);
    let waker = Arc::new(Mutex::new(None));
    (
        UiNotifier {
            events: event_tx,
            waker: Arc::clone(&waker),
        },
        UiLink {
            events: event_rx,
            commands: command_tx,
            waker,
        },
        command_rx,
    )
}

/// A front-end for the end user.
pub trait ConsentUi {
    /// Runs on the calling thread until the user quits or the session side closes the
    /// link.
    fn run(self: Box<Self>, link: UiLink) -> anyhow::Result<()>;
}
