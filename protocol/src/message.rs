//! Every message of a session, in three families by the channel that carries them:
//!
//! - [`ControlMessage`]: the reliable, ordered control stream (one per session).
//! - [`Datagram`]: unreliable QUIC datagrams, only for data where the latest value wins.
//! - [`VideoFrameHeader`]: the start of each unidirectional video stream (one per frame),
//!   followed by `payload_len` bytes of encoded video.
//!
//! Enums grow by appending variants; a peer speaking an older protocol version never
//! receives a variant it does not know, because versions are negotiated first.
//! [`ControlMessage::Hello`] is variant 0 and its fields never change.

use serde::{Deserialize, Serialize};

use crate::action::{
    ActionPending, ActionRefusal, CommandOutput, CommandRequest, MAX_COMMAND_LINE_LEN,
    MAX_COMMAND_OUTPUT_LEN,
};
use crate::identity::Fingerprint;
use crate::scope::ScopeSet;
use crate::system::{DiagnosticReport, DiagnosticRequest, SystemInfoReply, SystemInfoRequest};
use crate::time::Timestamp;
use crate::transfer::{FileAccepted, FileFailure, FileFetch, FileOffer, FileReceived};
use crate::trust::TechnicianCertificate;
use crate::version::{ProtocolVersion, Role};

pub mod screen;
pub use screen::{CursorImage, MonitorInfo, MonitorList};
pub mod quality;
pub use quality::{QualityPreference, VideoQuality};

/// A message on the control stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ControlMessage {
    /// First message of each side: who it is and what it speaks.
    Hello(Hello),
    /// A step of the one-time-code authentication.
    Auth(AuthMessage),
    /// Agent to viewer: authentication failed; the session ends.
    AuthRejected(AuthRejection),
    /// Viewer to agent: who the technician is and what they ask to do.
    ConsentRequest(ConsentRequest),
    /// Agent to viewer: the end user's answer to the consent request.
    ConsentDecision(ConsentDecision),
    /// Viewer to agent, during a session: ask for more permissions.
    ScopeRequest(ScopeRequest),
    /// Agent to viewer: these permissions are now granted as well.
    ScopeGrant(ScopeSet),
    /// Agent to viewer: the end user refused a [`ControlMessage::ScopeRequest`].
    ScopeRefused(ScopeRefusal),
    /// Either side: these permissions are withdrawn (by the user) or given up (by the
    /// technician).
    ScopeRevoke(ScopeSet),
    /// Viewer to agent: send a keyframe (after loss or a decode error).
    KeyframeRequest,
    /// Viewer to agent: how frames are arriving, for rate control.
    ReceiverReport(ReceiverReport),
    /// Either side: measure the round trip; answered with [`ControlMessage::Pong`].
    Ping(u64),
    /// The answer to a [`ControlMessage::Ping`] with the same number.
    Pong(u64),
    /// Viewer to agent: a pointer button pressed or released.
    PointerButton(PointerButton),
    /// Viewer to agent: a scroll, in wheel notches (positive: down/right).
    Wheel(Wheel),
    /// Viewer to agent: a key pressed or released.
    Key(KeyEvent),
    /// Viewer to agent: type this text as if on a keyboard.
    TypeText(String),
    /// Either side: the clipboard now holds this text.
    ClipboardText(String),
    /// Either side: a chat line.
    Chat(String),
    /// Either side: the session ends now, and why.
    SessionEnd(SessionEnd),
    /// Either side: something went wrong that the other side should show.
    Error(ErrorReport),
    /// Agent to viewer: the monitors and which one is shown (see [`screen`]).
    MonitorList(MonitorList),
    /// Viewer to agent: show the monitor with this index of the latest
    /// [`ControlMessage::MonitorList`] instead.
    SelectMonitor(u32),
    /// Agent to viewer: the pointer's new image (see [`screen`]).
    CursorImage(CursorImage),
    /// Viewer to agent: sharp text or fluid motion first on a slow link (see
    /// [`quality`]).
    QualityPreference(QualityPreference),
    /// Agent to viewer: the scale, bitrate and frame rate sent now (see [`quality`]).
    VideoQuality(VideoQuality),
    /// Viewer to agent: run a command (see [`crate::action`]).
    RunCommand(CommandRequest),
    /// Agent to viewer: the end user is asked to confirm this action.
    ActionPending(ActionPending),
    /// Agent to viewer: the action was refused or could not start.
    ActionRefused(ActionRefusal),
    /// Agent to viewer: a command's result.
    CommandOutput(CommandOutput),
    /// Viewer to agent: send the system report (see [`crate::system`]).
    SystemInfoRequest(SystemInfoRequest),
    /// Agent to viewer: the system report, or why there is none.
    SystemInfo(SystemInfoReply),
    /// Viewer to agent: run one diagnostic of the menu (see [`crate::system`]).
    RunDiagnostic(DiagnosticRequest),
    /// Agent to viewer: a diagnostic's result.
    DiagnosticResult(DiagnosticReport),
    /// Viewer to agent: the technician offers a file to the end user (see
    /// [`crate::transfer`]).
    FileOffer(FileOffer),
    /// Viewer to agent: the technician asks for a file from the end user's computer.
    FileFetch(FileFetch),
    /// Agent to viewer: send the offered file's bytes now, on a file stream.
    FileAccepted(FileAccepted),
    /// Either side, from the receiver: the file arrived intact and was saved.
    FileReceived(FileReceived),
    /// Either side: the transfer stopped (cancelled, damaged, disk full…).
    FileFailed(FileFailure),
    /// Viewer to agent: the technician's viewer started (true) or stopped (false)
    /// recording the session; the agent shows it to the end user.
    RecordingNotice(bool),
}

impl ControlMessage {
    /// The message's name, for logs, audit records and errors. Never its content.
    pub fn kind(&self) -> &'static str {
        match self {
            ControlMessage::Hello(_) => "hello",
            ControlMessage::Auth(AuthMessage::Spake2(_)) => "auth-spake2",
            ControlMessage::Auth(AuthMessage::Confirm(_)) => "auth-confirm",
            ControlMessage::Auth(AuthMessage::Unattended(_)) => "auth-unattended",
            ControlMessage::Auth(AuthMessage::UnattendedAccepted) => "auth-unattended-accepted",
            ControlMessage::Auth(AuthMessage::Resume(_)) => "auth-resume",
            ControlMessage::Auth(AuthMessage::Resumed) => "auth-resumed",
            ControlMessage::AuthRejected(_) => "auth-rejected",
            ControlMessage::ConsentRequest(_) => "consent-request",
            ControlMessage::ConsentDecision(_) => "consent-decision",
            ControlMessage::ScopeRequest(_) => "scope-request",
            ControlMessage::ScopeGrant(_) => "scope-grant",
            ControlMessage::ScopeRefused(_) => "scope-refused",
            ControlMessage::ScopeRevoke(_) => "scope-revoke",
            ControlMessage::KeyframeRequest => "keyframe-request",
            ControlMessage::ReceiverReport(_) => "receiver-report",
            ControlMessage::Ping(_) => "ping",
            ControlMessage::Pong(_) => "pong",
            ControlMessage::PointerButton(_) => "pointer-button",
            ControlMessage::Wheel(_) => "wheel",
            ControlMessage::Key(_) => "key",
            ControlMessage::TypeText(_) => "type-text",
            ControlMessage::ClipboardText(_) => "clipboard-text",
            ControlMessage::Chat(_) => "chat",
            ControlMessage::SessionEnd(_) => "session-end",
            ControlMessage::Error(_) => "error",
            ControlMessage::MonitorList(_) => "monitor-list",
            ControlMessage::SelectMonitor(_) => "select-monitor",
            ControlMessage::CursorImage(_) => "cursor-image",
            ControlMessage::QualityPreference(_) => "quality-preference",
            ControlMessage::VideoQuality(_) => "video-quality",
            ControlMessage::RunCommand(_) => "run-command",
            ControlMessage::ActionPending(_) => "action-pending",
            ControlMessage::ActionRefused(_) => "action-refused",
            ControlMessage::CommandOutput(_) => "command-output",
            ControlMessage::SystemInfoRequest(_) => "system-info-request",
            ControlMessage::SystemInfo(_) => "system-info",
            ControlMessage::RunDiagnostic(_) => "run-diagnostic",
            ControlMessage::DiagnosticResult(_) => "diagnostic-result",
            ControlMessage::FileOffer(_) => "file-offer",
            ControlMessage::FileFetch(_) => "file-fetch",
            ControlMessage::FileAccepted(_) => "file-accepted",
            ControlMessage::FileReceived(_) => "file-received",
            ControlMessage::FileFailed(_) => "file-failed",
            ControlMessage::RecordingNotice(_) => "recording-notice",
        }
    }

    /// Checks the size limits of text fields, which a peer must respect.
    pub fn check_limits(&self) -> Result<(), FieldTooLong> {
        fn check(field: &'static str, text: &str, limit: usize) -> Result<(), FieldTooLong> {
            if text.len() > limit {
                return Err(FieldTooLong { field, limit });
            }
            Ok(())
        }
        match self {
            ControlMessage::Hello(hello) => {
                check("software version", &hello.software_version, MAX_NAME_LEN)?;
                if hello.versions.len() > crate::version::MAX_ANNOUNCED_VERSIONS {
                    return Err(FieldTooLong {
                        field: "protocol versions",
                        limit: crate::version::MAX_ANNOUNCED_VERSIONS,
                    });
                }
                Ok(())
            }
            ControlMessage::Auth(AuthMessage::Spake2(bytes) | AuthMessage::Confirm(bytes)) => {
                if bytes.len() > MAX_AUTH_MESSAGE_LEN {
                    return Err(FieldTooLong {
                        field: "authentication message",
                        limit: MAX_AUTH_MESSAGE_LEN,
                    });
                }
                Ok(())
            }
            ControlMessage::Auth(AuthMessage::Unattended(auth)) => {
                if auth.proof.len() > MAX_AUTH_MESSAGE_LEN {
                    return Err(FieldTooLong {
                        field: "unattended proof",
                        limit: MAX_AUTH_MESSAGE_LEN,
                    });
                }
                if let Some(code) = &auth.totp {
                    check("second-factor code", code, MAX_TOTP_LEN)?;
                }
                check_certificate(&auth.certificate)
            }
            ControlMessage::ConsentRequest(request) => {
                check(
                    "technician name",
                    &request.technician.display_name,
                    MAX_NAME_LEN,
                )?;
                check("reason", &request.reason, MAX_REASON_LEN)?;
                if let Verification::Organisation { organisation } =
                    &request.technician.verification
                {
                    check("organisation", organisation, MAX_NAME_LEN)?;
                }
                match &request.certificate {
                    Some(certificate) => check_certificate(certificate),
                    None => Ok(()),
                }
            }
            ControlMessage::ConsentDecision(ConsentDecision::Refused { reason })
            | ControlMessage::ScopeRefused(ScopeRefusal { reason, .. })
            | ControlMessage::ScopeRequest(ScopeRequest { reason, .. }) => {
                check("reason", reason, MAX_REASON_LEN)
            }
            ControlMessage::AuthRejected(AuthRejection::UnattendedRefused { reason }) => {
                check("reason", reason, MAX_REASON_LEN)
            }
            ControlMessage::TypeText(text) => check("typed text", text, MAX_TYPED_TEXT_LEN),
            ControlMessage::RunCommand(request) => {
                check("command line", &request.command_line, MAX_COMMAND_LINE_LEN)
            }
            ControlMessage::ActionRefused(refusal) => {
                check("reason", &refusal.reason, MAX_REASON_LEN)
            }
            ControlMessage::CommandOutput(output) => {
                check("command output", &output.stdout, MAX_COMMAND_OUTPUT_LEN)?;
                check("command errors", &output.stderr, MAX_COMMAND_OUTPUT_LEN)
            }
            ControlMessage::ClipboardText(text) => check("clipboard text", text, MAX_CLIPBOARD_LEN),
            ControlMessage::Chat(text) => check("chat line", text, MAX_CHAT_LEN),
            ControlMessage::SessionEnd(end) => {
                check("reason", &end.reason.detail(), MAX_REASON_LEN)
            }
            ControlMessage::Error(report) => {
                check("error message", &report.message, MAX_REASON_LEN)
            }
            ControlMessage::MonitorList(list) => list.check_limits(),
            ControlMessage::CursorImage(image) => image.check_limits(),
            ControlMessage::SystemInfo(reply) => reply.check_limits(),
            ControlMessage::RunDiagnostic(request) => request.check_limits(),
            ControlMessage::DiagnosticResult(report) => report.check_limits(),
            ControlMessage::FileOffer(offer) => {
                check("file name", &offer.name, crate::transfer::MAX_FILE_NAME_LEN)
            }
            ControlMessage::FileFetch(fetch) => {
                check("file path", &fetch.path, crate::transfer::MAX_FILE_PATH_LEN)
            }
            ControlMessage::FileReceived(received) => check(
                "saved file name",
                &received.saved_as,
                crate::transfer::MAX_FILE_NAME_LEN,
            ),
            ControlMessage::FileFailed(failure) => check("reason", &failure.reason, MAX_REASON_LEN),
            _ => Ok(()),
        }
    }
}

fn check_certificate(certificate: &TechnicianCertificate) -> Result<(), FieldTooLong> {
    for (field, text) in [
        ("certificate organisation", &certificate.body.organisation),
        ("certificate technician", &certificate.body.technician),
    ] {
        if text.len() > MAX_NAME_LEN {
            return Err(FieldTooLong {
                field,
                limit: MAX_NAME_LEN,
            });
        }
    }
    Ok(())
}

/// Longest second-factor code as typed, in bytes.
pub const MAX_TOTP_LEN: usize = 16;

/// Longest name (technician, organisation, software version), in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// Longest free-text reason or error message, in bytes.
pub const MAX_REASON_LEN: usize = 1024;
/// Longest chat line, in bytes.
pub const MAX_CHAT_LEN: usize = 16 * 1024;
/// Longest text typed by one message, in bytes.
pub const MAX_TYPED_TEXT_LEN: usize = 4 * 1024;
/// Longest clipboard text, in bytes (fits the control frame limit with room to spare).
pub const MAX_CLIPBOARD_LEN: usize = 512 * 1024;
/// Longest SPAKE2 or confirmation message, in bytes.
pub const MAX_AUTH_MESSAGE_LEN: usize = 64;

/// A text field is longer than the protocol allows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field} is longer than {limit} bytes")]
pub struct FieldTooLong {
    /// Which field.
    pub field: &'static str,
    /// Its limit.
    pub limit: usize,
}

/// The first message of each side. Its fields never change between versions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Protocol versions spoken (see [`crate::version`]).
    pub versions: Vec<ProtocolVersion>,
    /// Which side is speaking.
    pub role: Role,
    /// Optional features.
    pub capabilities: Capabilities,
    /// Software version, e.g. `0.1.0`.
    pub software_version: String,
    /// Set by the agent: the session's id, shared by both sides' logs.
    pub session_id: Option<SessionId>,
}

/// Optional features a side supports, as a bit set. Unknown bits are ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Capabilities(pub u64);

impl Capabilities {
    /// H.264 video.
    pub const H264: Capabilities = Capabilities(1 << 0);
    /// The pointer's position and shape sent apart from the video.
    pub const CURSOR: Capabilities = Capabilities(1 << 1);
    /// More than one monitor.
    pub const MULTI_MONITOR: Capabilities = Capabilities(1 << 2);
    /// Video quality reports and preferences (see [`quality`]).
    pub const ADAPTIVE_QUALITY: Capabilities = Capabilities(1 << 3);
    /// Set by an agent: a file transfer not yet accepted may be withdrawn by the
    /// viewer (a `FileFailed` before the acceptance); agents without it end the session
    /// on one, so the viewer does not send it to them.
    pub const WITHDRAW_TRANSFER: Capabilities = Capabilities(1 << 4);

    /// Whether every feature of `other` is here.
    pub const fn contains(self, other: Capabilities) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets together.
    #[must_use]
    pub const fn union(self, other: Capabilities) -> Capabilities {
        Capabilities(self.0 | other.0)
    }
}

/// A session's id: 16 random bytes chosen by the agent, printed in hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SessionId(#[serde(with = "crate::identity::hex_array")] pub [u8; 16]);

impl SessionId {
    /// A fresh id from the system CSPRNG.
    pub fn random() -> Result<Self, crate::identity::KeyError> {
        let mut bytes = [0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
            .map_err(|_| crate::identity::KeyError::Random)?;
        Ok(Self(bytes))
    }
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::identity::hex(&self.0))
    }
}

impl std::str::FromStr for SessionId {
    type Err = String;

    /// The 32 hex digits [`SessionId`]'s `Display` prints.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let wrong = || format!("{text:?} is not a session id: 32 hex digits expected");
        if text.len() != 32 || !text.is_ascii() {
            return Err(wrong());
        }
        let mut bytes = [0u8; 16];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| wrong())?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| wrong())?;
        }
        Ok(Self(bytes))
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionId({self})")
    }
}

/// The steps of the one-time-code authentication (see [`crate::pake`]).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthMessage {
    /// A SPAKE2 message (viewer first, then agent).
    Spake2(Vec<u8>),
    /// Key confirmation: a MAC proving knowledge of the shared key, bound to the
    /// channel (viewer first, then agent).
    Confirm(Vec<u8>),
    /// Viewer to agent, instead of SPAKE2: unattended access with an organisation's
    /// certificate (see [`crate::trust`]).
    Unattended(Box<UnattendedAuth>),
    /// Agent to viewer: the unattended credentials were accepted.
    UnattendedAccepted,
    /// Viewer to agent, instead of SPAKE2: resume this session, whose connection was
    /// lost, with this connection's key (see [`crate::session::resume`]).
    Resume(SessionId),
    /// Agent to viewer: the session is resumed; the grant of the lost session's
    /// permissions follows.
    Resumed,
}

/// A technician's credentials for unattended access.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnattendedAuth {
    /// The organisation's certificate of the technician's key.
    pub certificate: TechnicianCertificate,
    /// The technician key's signature of
    /// [`crate::trust::unattended_proof_bytes`] for this connection.
    pub proof: Vec<u8>,
    /// The second-factor code, when the technician has one.
    pub totp: Option<String>,
}

impl std::fmt::Debug for UnattendedAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The second-factor code is a secret: only whether one was given.
        f.debug_struct("UnattendedAuth")
            .field("certificate", &self.certificate)
            .field("proof", &format_args!("{} bytes", self.proof.len()))
            .field("totp", &self.totp.as_ref().map(|_| "…"))
            .finish()
    }
}

impl std::fmt::Debug for AuthMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthMessage::Spake2(bytes) => write!(f, "Spake2({} bytes)", bytes.len()),
            AuthMessage::Confirm(bytes) => write!(f, "Confirm({} bytes)", bytes.len()),
            AuthMessage::Unattended(auth) => write!(f, "Unattended({auth:?})"),
            AuthMessage::UnattendedAccepted => f.write_str("UnattendedAccepted"),
            AuthMessage::Resume(session) => write!(f, "Resume({session})"),
            AuthMessage::Resumed => f.write_str("Resumed"),
        }
    }
}

/// Why the agent refused the code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AuthRejection {
    /// The code was wrong. `code_rotated`: too many wrong tries, the end user now has
    /// a new code.
    WrongCode {
        /// Whether the code has just been replaced.
        code_rotated: bool,
    },
    /// Too many wrong codes were tried; no attempt is accepted for this long.
    TooManyAttempts {
        /// Seconds until the agent accepts attempts again.
        retry_after_secs: u32,
    },
    /// This device takes no one-time codes (it runs as a service for unattended
    /// access only).
    CodesNotAccepted,
    /// Unattended access was refused (policy, certificate, proof or second factor).
    UnattendedRefused {
        /// Why, for the technician.
        reason: String,
    },
    /// The lost session cannot be resumed (too late, another key, never lost).
    ResumeRefused {
        /// Why, for the technician.
        reason: String,
    },
}

impl std::fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthRejection::WrongCode {
                code_rotated: false,
            } => f.write_str(
                "wrong code: check the 9 digits with the person you are helping and try again",
            ),
            AuthRejection::WrongCode { code_rotated: true } => f.write_str(
                "wrong code, tried too often: the person you are helping now has a new code; \
                 ask them to read it to you",
            ),
            AuthRejection::TooManyAttempts { retry_after_secs } => write!(
                f,
                "too many wrong codes were tried on this device; it accepts a code again in \
                 {retry_after_secs} s (ask the person for their new code)"
            ),
            AuthRejection::CodesNotAccepted => f.write_str(
                "this device accepts no one-time codes: it runs as a service for unattended \
                 access by organisation certificate only",
            ),
            AuthRejection::UnattendedRefused { reason } => {
                write!(f, "unattended access refused: {reason}")
            }
            AuthRejection::ResumeRefused { reason } => {
                write!(f, "the session cannot be resumed: {reason}")
            }
        }
    }
}

/// The technician as they present themselves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TechnicianIdentity {
    /// Name to show the end user.
    pub display_name: String,
    /// Fingerprint of the technician's key. Must be the key the session was
    /// authenticated with.
    pub fingerprint: Fingerprint,
    /// What vouches for the name. The agent shows only what it verified itself.
    pub verification: Verification,
}

/// Who vouches for a technician's identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Verification {
    /// Nobody: the name is what the technician typed.
    Unverified,
    /// An organisation key the agent trusts signed the technician's key.
    Organisation {
        /// The organisation's name.
        organisation: String,
    },
}

/// Viewer to agent: the technician asks the end user for permissions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRequest {
    /// Who asks.
    pub technician: TechnicianIdentity,
    /// What they ask for.
    pub scopes: ScopeSet,
    /// Why, in the technician's words.
    pub reason: String,
    /// The technician's certificate, if their organisation gave them one: the agent
    /// shows the verified organisation and name when it trusts the signer.
    pub certificate: Option<Box<TechnicianCertificate>>,
}

/// Agent to viewer: the end user's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsentDecision {
    /// These permissions (a subset of those asked) are granted.
    Granted(ScopeSet),
    /// Refused; the session ends.
    Refused {
        /// Why, if the user said.
        reason: String,
    },
}

/// Viewer to agent: a request for more permissions during a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeRequest {
    /// The permissions wanted.
    pub scopes: ScopeSet,
    /// Why.
    pub reason: String,
}

/// Agent to viewer: a [`ScopeRequest`] was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeRefusal {
    /// The permissions refused.
    pub scopes: ScopeSet,
    /// Why, if the user said.
    pub reason: String,
}

/// Viewer to agent: how the video is arriving.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiverReport {
    /// The frame the viewer is done with, shown or dropped: the agent stops waiting
    /// for word of it and of every frame before it.
    pub last_sequence: u64,
    /// Frames received since the previous report.
    pub frames_received: u32,
    /// Frames decoded since the previous report.
    pub frames_decoded: u32,
    /// Frames lost or dropped since the previous report.
    pub frames_dropped: u32,
    /// Mean decode time over those frames, in microseconds.
    pub decode_time_us: u32,
    /// The bitrate the viewer suggests, in bits per second (0: no suggestion).
    pub bitrate_hint_bps: u32,
}

/// A pointer button.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum MouseButton {
    /// Left (primary).
    Left,
    /// Middle (wheel click).
    Middle,
    /// Right (secondary).
    Right,
    /// Back (thumb).
    Back,
    /// Forward (thumb).
    Forward,
}

/// A pointer button pressed or released, at the pointer's current position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointerButton {
    /// Which button.
    pub button: MouseButton,
    /// Pressed (true) or released.
    pub pressed: bool,
}

/// A scroll in wheel notches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wheel {
    /// Horizontal notches, positive to the right.
    pub dx: i32,
    /// Vertical notches, positive down.
    pub dy: i32,
}

/// Modifier keys held, as a bit set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Modifiers(pub u8);

impl Modifiers {
    /// Shift.
    pub const SHIFT: Modifiers = Modifiers(1 << 0);
    /// Control.
    pub const CTRL: Modifiers = Modifiers(1 << 1);
    /// Alt / Option.
    pub const ALT: Modifiers = Modifiers(1 << 2);
    /// Super / Windows / Command.
    pub const SUPER: Modifiers = Modifiers(1 << 3);
}

/// A key pressed or released.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEvent {
    /// Physical key: the USB HID usage id (page 7), independent of layout.
    pub usb_hid_usage: u16,
    /// The X11 keysym the viewer's layout gives, if known.
    pub keysym: Option<u32>,
    /// The character the key produces on the viewer's layout, if any.
    pub text: Option<char>,
    /// Modifiers held.
    pub modifiers: Modifiers,
    /// Pressed (true) or released.
    pub pressed: bool,
}

/// Who ended a session and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEnd {
    /// The side that ended it.
    pub by: Role,
    /// Why.
    pub reason: EndReason,
}

/// Why a session ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum EndReason {
    /// The end user pressed Stop.
    StoppedByUser,
    /// The technician disconnected.
    DisconnectedByTechnician,
    /// The end user refused consent.
    ConsentRefused {
        /// Why, if the user said.
        reason: String,
    },
    /// The code was not accepted.
    AuthenticationFailed(AuthRejection),
    /// The other side could not prove it knows the code (possibly a man in the middle).
    PeerNotAuthenticated,
    /// No protocol version in common.
    VersionMismatch {
        /// The explanation for a person.
        message: String,
    },
    /// The other side broke the protocol.
    ProtocolViolation {
        /// What it did.
        detail: String,
    },
    /// The connection was lost.
    ConnectionLost,
    /// Nobody at the end user's computer answered whether to continue.
    EndUserAbsent,
}

impl EndReason {
    /// A short explanation for a person.
    pub fn detail(&self) -> String {
        match self {
            EndReason::StoppedByUser => "the end user stopped the session".to_owned(),
            EndReason::DisconnectedByTechnician => "the technician disconnected".to_owned(),
            EndReason::ConsentRefused { reason } if reason.is_empty() => {
                "the end user refused the request".to_owned()
            }
            EndReason::ConsentRefused { reason } => {
                format!("the end user refused the request: {reason}")
            }
            EndReason::AuthenticationFailed(rejection) => rejection.to_string(),
            EndReason::PeerNotAuthenticated => "the other side could not prove it knows the \
                code; someone may be between you and the person you are helping"
                .to_owned(),
            EndReason::VersionMismatch { message } => message.clone(),
            EndReason::ProtocolViolation { detail } => {
                format!("the other side broke the protocol ({detail})")
            }
            EndReason::ConnectionLost => "the connection was lost".to_owned(),
            EndReason::EndUserAbsent => "nobody at the end user's computer answered whether \
                to continue the session, so it ended"
                .to_owned(),
        }
    }
}

impl std::fmt::Display for EndReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail())
    }
}

/// Something the other side should show a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReport {
    /// What kind of problem.
    pub kind: ErrorKind,
    /// The explanation.
    pub message: String,
}

/// The kinds of [`ErrorReport`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A message was refused for lack of a permission; the session goes on.
    PermissionDenied,
    /// Something failed on the sender's side; the session goes on.
    Failed,
}

/// A message carried in a QUIC datagram: lossy, only for data where the latest wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Datagram {
    /// Viewer to agent: move the pointer to (x, y) in the pixels of the current video
    /// frame. `sequence` grows with each move; older moves arriving late are dropped.
    PointerMove {
        /// Grows by one per move.
        sequence: u64,
        /// Column in video-frame pixels.
        x: u32,
        /// Row in video-frame pixels.
        y: u32,
    },
    /// Agent to viewer: the pointer's hot spot is at (x, y) in the pixels of the
    /// monitor shown, from its top-left corner (drawn with the latest [`CursorImage`]
    /// at the picture's scale: a picture sent smaller than the monitor scales both);
    /// `visible` is false when it is off that monitor. Latest `sequence` wins.
    Cursor {
        /// Grows by one per position sent.
        sequence: u64,
        /// Column in monitor pixels (may lie outside the monitor).
        x: i32,
        /// Row in monitor pixels (may lie outside the monitor).
        y: i32,
        /// Whether the pointer is on the monitor shown.
        visible: bool,
    },
}

impl Datagram {
    /// The datagram's name, for logs and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Datagram::PointerMove { .. } => "pointer-move",
            Datagram::Cursor { .. } => "cursor",
        }
    }
}

/// Video codecs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum VideoCodec {
    /// H.264 Annex B access units.
    H264,
}

/// The header at the start of each video stream; `payload_len` bytes follow it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoFrameHeader {
    /// Grows by one per frame sent.
    pub sequence: u64,
    /// When the agent captured the frame, on the agent's clock.
    pub capture_time: Timestamp,
    /// Whether the frame decodes on its own.
    pub keyframe: bool,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// How the payload is encoded.
    pub codec: VideoCodec,
    /// Length of the encoded frame that follows, in bytes.
    pub payload_len: u32,
}
