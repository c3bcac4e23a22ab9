//! The Lifeline agent: runs on the end user's machine and shares its screen with a
//! technician, only with the user's consent and only within the permissions granted.
//!
//! - [`platform`]: screen capture and input injection behind traits, one backend per OS
//!   (Linux/X11 today).
//! - [`net`]: the QUIC server (quinn + rustls): identity certificate, client-key
//!   extraction, channel binding.
//! - [`session`]: one connection end to end: the protocol state machine, the video
//!   pipeline (capture -> change detection -> encode -> one stream per frame) and
//!   input.
//! - [`ui`]: what the end user sees and decides: code, consent, session banner; in
//!   windows or on a terminal.
//! - [`identity`]: the agent's long-term key, kept in the platform data directory.
//! - [`policy`]: the deployment policy (trusted organisations, unattended access,
//!   the "continue?" interval), read from a TOML file.
//! - [`cli`]: command-line arguments and the top-level run function.
//!
//! It does not define the wire protocol (see `lifeline-protocol`) or compress video
//! itself (see `lifeline-codec`).

pub mod audit_log;
pub mod cli;
pub mod identity;
pub mod net;
pub mod platform;
pub mod policy;
// The recorder thread is the viewer's source file, compiled here too, so that it exists
// once (see its header and ARCHITECTURE.md).
#[path = "../../viewer/src/recording/recorder.rs"]
pub mod recorder;
pub mod session;
pub mod ui;
