//! How the viewer's window and its network session talk.
//!
//! The session runs on tokio threads; the window runs on the main thread and never
//! waits. [`link`] makes both ends:
//!
//! - window -> session: [`Command`]s on a bounded channel (`try_send`);
//! - session -> window: [`Update`]s on a bounded channel, drained with `try_recv`;
//! - decoded video: a [`FrameSlot`] that holds only the newest frame, so a slow window
//!   drops stale frames instead of queueing them. Pixel buffers are recycled, so
//!   steady streaming allocates nothing per frame.
//!
//! Every send from the session side wakes the window (`egui::Context::request_repaint`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use lifeline_protocol::action::CommandOutput;
use lifeline_protocol::message::{
    CursorImage, KeyEvent, MonitorList, MouseButton, QualityPreference, SessionId, VideoQuality,
};
use lifeline_protocol::system::{Diagnostic, DiagnosticReport, SystemInfoResult};
use lifeline_protocol::{Fingerprint, ScopeSet};
use tokio::sync::mpsc;

/// What the technician asks to connect to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectRequest {
    /// `host:port` of the agent.
    pub address: String,
    /// How the technician authenticates.
    pub credential: RequestCredential,
    /// The agent's key, when the technician knows it (checked before anything is sent).
    pub agent_fingerprint: Option<Fingerprint>,
    /// Permissions to ask for.
    pub scopes: ScopeSet,
    /// The technician's name, shown to the end user.
    pub technician_name: String,
    /// Why, shown to the end user.
    pub reason: String,
}

/// How the technician authenticates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestCredential {
    /// The one-time code as typed (spaces allowed).
    Code(String),
    /// Unattended access with the imported certificate.
    Unattended {
        /// The second-factor code, when the agent's policy asks for one.
        totp: Option<String>,
    },
    /// Resume this session, whose connection was lost a short while ago, with no code
    /// (needs [`ConnectRequest::agent_fingerprint`]: the agent key of that session).
    Resume(SessionId),
}

impl ConnectRequest {
    /// The request that resumes `session`, lost with the agent whose key is `agent`:
    /// same address, name, reason and permissions, no code.
    pub fn to_resume(&self, session: SessionId, agent: Fingerprint) -> ConnectRequest {
        ConnectRequest {
            credential: RequestCredential::Resume(session),
            agent_fingerprint: Some(agent),
            ..self.clone()
        }
    }
}

/// A session's connection was lost: until `until`, `request` resumes it without a new
/// code (see `lifeline_protocol::session::resume`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReconnectOffer {
    /// What resumes it.
    pub request: ConnectRequest,
    /// Until when the agent keeps it.
    pub until: std::time::Instant,
}

/// What the window asks the session to do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// Connect (ends any current session first).
    Connect(ConnectRequest),
    /// End the session.
    Disconnect,
    /// Move the remote pointer to (x, y) in remote-screen pixels.
    PointerMove {
        /// Column in remote pixels.
        x: u32,
        /// Row in remote pixels.
        y: u32,
    },
    /// Press or release a button.
    Button {
        /// Which.
        button: MouseButton,
        /// Pressed or released.
        pressed: bool,
    },
    /// Scroll by notches.
    Wheel {
        /// Horizontal notches, positive right.
        dx: i32,
        /// Vertical notches, positive down.
        dy: i32,
    },
    /// A key pressed or released.
    Key(KeyEvent),
    /// Type text.
    TypeText(String),
    /// Ask the end user for more permissions.
    RequestScopes(ScopeSet),
    /// Give permissions up.
    GiveUp(ScopeSet),
    /// Ask for a keyframe (e.g. after the window was hidden).
    RequestKeyframe,
    /// Show the agent's monitor with this index (of the latest [`Update::Monitors`]).
    SelectMonitor(u32),
    /// On a slow link, keep text sharp or motion fluid (sent to agents that report
    /// their video quality).
    Prefer(QualityPreference),
    /// Run a command line on the end user's computer (needs `commands`).
    RunCommand(String),
    /// Ask for the end user's system report (needs `sysinfo`).
    RequestSystemInfo,
    /// Run one diagnostic of the menu on the end user's computer (needs
    /// `diagnostics`).
    RunDiagnostic(Diagnostic),
    /// Send this local file into the end user's Downloads folder (needs `files`).
    SendFile(PathBuf),
    /// Fetch the file at this path on the end user's computer into this computer's
    /// Downloads folder (needs `files`).
    FetchFile(String),
    /// Stop the file transfer with this ticket (see [`FileUpdate`]).
    CancelFile(u32),
    /// Write this in the chat, to the end user (needs no permission).
    Chat(String),
}

/// Which way a file moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileDirection {
    /// From the technician to the end user.
    Send,
    /// From the end user to the technician.
    Fetch,
}

/// What became of a file transfer, by the ticket the session gave it when it started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileUpdate {
    /// It started: a local file to send (by name) or a remote path to fetch.
    Started {
        /// The ticket.
        ticket: u32,
        /// Which way.
        direction: FileDirection,
        /// The local file's name, or the remote path.
        name: String,
    },
    /// The end user is asked to approve it.
    WaitingForApproval {
        /// The ticket.
        ticket: u32,
    },
    /// Bytes moved so far.
    Progress {
        /// The ticket.
        ticket: u32,
        /// Bytes moved.
        done: u64,
        /// Bytes in all.
        total: u64,
    },
    /// It arrived intact (size and SHA-256 checked).
    Done {
        /// The ticket.
        ticket: u32,
        /// Where it is: its name in the end user's Downloads folder, or the full path
        /// on this computer.
        saved_as: String,
        /// Its size in bytes.
        size: u64,
        /// Its SHA-256, in hex.
        sha256: String,
    },
    /// It was refused before any byte moved (by the end user, or the agent could not).
    Refused {
        /// The ticket.
        ticket: u32,
        /// Why.
        reason: String,
    },
    /// It failed or was cancelled; no partial file is left on either side.
    Failed {
        /// The ticket.
        ticket: u32,
        /// Why.
        reason: String,
    },
    /// The technician withdrew it before the end user answered; nothing moved.
    Withdrawn {
        /// The ticket.
        ticket: u32,
    },
}

/// What became of a command the technician asked to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandUpdate {
    /// Sent, with this id.
    Sent {
        /// The id.
        id: u32,
        /// The command line.
        command_line: String,
    },
    /// The end user is asked to confirm it.
    WaitingForApproval {
        /// The id.
        id: u32,
    },
    /// Refused (by the end user or the agent), with the reason.
    Refused {
        /// The id.
        id: u32,
        /// Why.
        reason: String,
    },
    /// It ran; its output.
    Finished(CommandOutput),
}

/// What became of a system information request or a diagnostic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InspectionUpdate {
    /// The system report was asked for, with this id.
    SystemInfoSent {
        /// The id.
        id: u32,
    },
    /// The system report, or why there is none.
    SystemInfo {
        /// The id.
        id: u32,
        /// The report or the reason.
        result: SystemInfoResult,
    },
    /// A diagnostic was sent, with this id.
    DiagnosticSent {
        /// The id.
        id: u32,
        /// Which check, with its argument.
        diagnostic: Diagnostic,
    },
    /// A diagnostic's result.
    DiagnosticResult(DiagnosticReport),
}

/// Where the session stands, in a technician's words.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Status {
    /// Nothing yet.
    Idle,
    /// Opening the connection.
    Connecting,
    /// Proving the code.
    Authenticating,
    /// Waiting for the end user to answer.
    WaitingForConsent,
    /// Working.
    Active,
    /// Over, with the reason in words (wrong code, consent refused, agent gone,
    /// version mismatch, changed device key…).
    Ended(String),
}

/// Live numbers for the stats overlay.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stats {
    /// Frames shown per second.
    pub fps: f32,
    /// Round-trip time in milliseconds.
    pub rtt_ms: f32,
    /// Received video bitrate in bits per second.
    pub bitrate_bps: f64,
    /// Capture-to-display latency in milliseconds (same-clock estimate).
    pub latency_ms: f32,
    /// Mean decode time in milliseconds.
    pub decode_ms: f32,
}

/// What the session tells the window.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Update {
    /// The session's phase changed.
    Status(Status),
    /// The granted permissions are now these.
    Granted(ScopeSet),
    /// The end user refused a request for more permissions.
    Refused {
        /// What was refused.
        scopes: ScopeSet,
    },
    /// New numbers for the overlay.
    Stats(Stats),
    /// Something to show briefly (a refused input, a permission change).
    Notice(String),
    /// What the agent sends now: scale, bitrate, frame rate.
    Quality(VideoQuality),
    /// A command's progress.
    Command(CommandUpdate),
    /// System information or a diagnostic: sent, or answered.
    Inspection(InspectionUpdate),
    /// The agent's monitors and the one shown.
    Monitors(MonitorList),
    /// The agent's pointer has a new image.
    CursorImage(CursorImage),
    /// The agent's pointer (its hot spot) is at (x, y) in pixels of the monitor shown.
    Cursor {
        /// Column in monitor pixels.
        x: i32,
        /// Row in monitor pixels.
        y: i32,
        /// Whether it is on the monitor shown.
        visible: bool,
    },
    /// A file transfer's progress.
    File(FileUpdate),
    /// The end user wrote this in the chat.
    ChatFromEndUser(String),
    /// The connection of an active session was lost and may be resumed for a while
    /// without a new code (sent just before the `Ended` status).
    ReconnectOffer(ReconnectOffer),
}

/// A decoded picture of the remote screen, RGBA, `width * height * 4` bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VideoFrame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixels, RGBA, rows top to bottom, no padding.
    pub rgba: Vec<u8>,
    /// The frame's sequence number.
    pub sequence: u64,
}

#[derive(Debug, Default)]
struct SlotInner {
    latest: Option<VideoFrame>,
    /// When `latest` was put.
    latest_at: Option<std::time::Instant>,
    spare: Vec<Vec<u8>>,
    screen_size: Option<(u32, u32)>,
}

/// Holds the newest decoded frame only.
#[derive(Clone, Debug, Default)]
pub struct FrameSlot {
    inner: Arc<Mutex<SlotInner>>,
}

impl FrameSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, SlotInner> {
        // A panic while holding the lock cannot leave the slot inconsistent: every
        // operation is a single assignment.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores `frame` as the newest; an older frame not yet taken is recycled.
    pub fn put(&self, frame: VideoFrame) {
        let mut inner = self.lock();
        inner.latest_at = Some(std::time::Instant::now());
        if let Some(stale) = inner.latest.replace(frame) {
            inner.spare.push(stale.rgba);
        }
    }

    /// Takes the newest frame, if one arrived since the last call.
    pub fn take(&self) -> Option<VideoFrame> {
        self.lock().latest.take()
    }

    /// Takes the newest frame and how long it waited in the slot.
    pub fn take_with_age(&self) -> Option<(VideoFrame, std::time::Duration)> {
        let mut inner = self.lock();
        let age = inner
            .latest_at
            .take()
            .map(|at| at.elapsed())
            .unwrap_or_default();
        inner.latest.take().map(|frame| (frame, age))
    }

    /// Gives a pixel buffer back for reuse.
    pub fn recycle(&self, buffer: Vec<u8>) {
        let mut inner = self.lock();
        if inner.spare.len() < 2 {
            inner.spare.push(buffer);
        }
    }

    /// A buffer to decode into (recycled when possible).
    pub fn buffer(&self) -> Vec<u8> {
        self.lock().spare.pop().unwrap_or_default()
    }
}

/// A function that wakes the window.
pub type Waker = Box<dyn Fn() + Send + Sync>;

/// The session's end of the link.
pub struct SessionEnd {
    /// Commands from the window.
    pub commands: mpsc::Receiver<Command>,
    /// Decoded frames for the window.
    pub frames: FrameSlot,
    updates: mpsc::Sender<Update>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl std::fmt::Debug for SessionEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionEnd").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for WindowEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowEnd").finish_non_exhaustive()
    }
}

impl SessionEnd {
    /// Sends an update (dropped if the window is gone or hopelessly behind) and wakes
    /// the window.
    pub fn update(&self, update: Update) {
        if self.updates.try_send(update).is_err() {
            tracing::debug!("the window is not draining updates; one was dropped");
        }
        self.wake();
    }

    /// Sends an update without waking the window: it is read at the window's next
    /// pass (numbers that change all the time and need no repaint of their own).
    pub fn post(&self, update: Update) {
        if self.updates.try_send(update).is_err() {
            tracing::debug!("the window is not draining updates; one was dropped");
        }
    }

    /// Wakes the window.
    pub fn wake(&self) {
        wake(&self.waker);
    }

    /// A handle for another thread (the decoder) to deliver frames and wake the window.
    pub fn frame_sink(&self) -> FrameSink {
        FrameSink {
            frames: self.frames.clone(),
            waker: Arc::clone(&self.waker),
        }
    }
}

fn wake(waker: &Mutex<Option<Waker>>) {
    let waker = waker
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(wake) = waker.as_ref() {
        wake();
    }
}

/// Delivers decoded frames to the window from any thread.
#[derive(Clone)]
pub struct FrameSink {
    frames: FrameSlot,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl std::fmt::Debug for FrameSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameSink").finish_non_exhaustive()
    }
}

impl FrameSink {
    /// The remote screen's size, when the agent said: pictures scaled down to save
    /// bandwidth are shown at this size.
    pub fn screen_size(&self) -> Option<(u32, u32)> {
        self.frames.lock().screen_size
    }

    /// Sets the remote screen's size (see [`FrameSink::screen_size`]).
    pub fn set_screen_size(&self, size: Option<(u32, u32)>) {
        self.frames.lock().screen_size = size;
    }

    /// A buffer to decode into (recycled when possible).
    pub fn buffer(&self) -> Vec<u8> {
        self.frames.buffer()
    }

    /// Stores the frame as the newest and wakes the window.
    pub fn put(&self, frame: VideoFrame) {
        self.frames.put(frame);
        wake(&self.waker);
    }
}

/// The window's end of the link.
pub struct WindowEnd {
    /// Commands for the session.
    pub commands: mpsc::Sender<Command>,
    /// Updates from the session.
    pub updates: mpsc::Receiver<Update>,
    /// The newest decoded frame.
    pub frames: FrameSlot,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl WindowEnd {
    /// Registers how to wake the window.
    pub fn set_waker(&self, waker: Waker) {
        let mut slot = self
            .waker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *slot = Some(waker);
    }
}

/// Makes both ends.
pub fn link() -> (SessionEnd, WindowEnd) {
    let (command_tx, command_rx) = mpsc::channel(256);
    let (update_tx, update_rx) = mpsc::channel(256);
    let frames = FrameSlot::default();
    let waker = Arc::new(Mutex::new(None));
    (
        SessionEnd {
            commands: command_rx,
            frames: frames.clone(),
            updates: update_tx,
            waker: Arc::clone(&waker),
        },
        WindowEnd {
            commands: command_tx,
            updates: update_rx,
            frames,
            waker,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slot_keeps_only_the_newest_frame_and_recycles_buffers() {
        let slot = FrameSlot::default();
        for sequence in 0..3 {
            slot.put(VideoFrame {
                width: 1,
                height: 1,
                rgba: vec![0; 4],
                sequence,
            });
        }
        assert_eq!(slot.take().map(|f| f.sequence), Some(2));
        assert_eq!(slot.take(), None);
        assert_eq!(slot.buffer().len(), 4, "a stale frame's buffer is reused");
    }
}
