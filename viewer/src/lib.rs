//! The Lifeline viewer: the technician's side. It connects to an agent, proves the
//! end user's one-time code, asks for consent, then shows the remote screen and
//! forwards mouse and keyboard within the permissions granted.
//!
//! - [`net`]: the QUIC client (quinn + rustls), the technician's identity, and trust on
//!   first use of each agent's key.
//! - [`session`]: one connection end to end: the protocol state machine, receiving and
//!   decoding video, sending input, statistics.
//! - [`headless`]: the scriptable mode (`connect … --headless`) used by scripts,
//!   benchmarks and tests.
//! - [`ui`]: the window (eframe, glow): connect screen, remote screen, toolbar.
//! - [`link`]: the channels between window and session.
//! - [`recording`]: recording a session (`--record`), and `recording verify` / `export`.
//! - [`org`]: organisation keys, technician certificates and TOTP secrets for unattended
//!   access (`org …`, `certificate …`).
//! - [`audit_log`]: the technician's audit log (`audit.jsonl`, signed with the
//!   technician's key) and `log verify` / `log show`.
//! - [`cli`]: arguments and the top-level run function.
//!
//! It does not define the wire protocol (`lifeline-protocol`) or decode H.264 itself
//! (`lifeline-codec`).

// The audit log's files are the agent's module, compiled here too, so that the code
// exists once (the format itself is in `lifeline_protocol::audit`; see ARCHITECTURE.md).
#[path = "../../agent/src/audit_log/mod.rs"]
pub mod audit_log;
pub mod cli;
pub mod cursor;
pub mod headless;
pub mod identity;
pub mod known_agents;
pub mod link;
pub mod net;
pub mod org;
pub mod recording;
pub mod script;
pub mod session;
pub mod stages;
pub mod ui;
