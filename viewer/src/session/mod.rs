//! The viewer's sessions: one connection at a time, driven by commands from the window
//! (or the headless runner) and reporting back through the [`crate::link`].

mod audit;
mod connection;
pub mod decode;
mod files;
mod recording;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use lifeline_protocol::Timestamp;
use lifeline_protocol::trust::TechnicianCertificate;

use crate::identity::Identity;
use crate::known_agents::KnownAgents;
use crate::link::{Command, SessionEnd, Status, Update};

pub use audit::{AUDIT_LOG, SharedAuditLog};
pub use connection::run_connection;

/// One frame as the statistics see it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameRecord {
    /// Its sequence number.
    pub sequence: u64,
    /// Bytes of encoded video.
    pub bytes: usize,
    /// Capture on the agent to decoded on the viewer, in milliseconds (meaningful when
    /// both clocks agree, e.g. on one machine).
    pub latency_ms: f64,
    /// Decode and colour conversion, in milliseconds.
    pub decode_ms: f64,
    /// When it was decoded.
    pub decoded_at: std::time::Instant,
    /// When it was decoded, in milliseconds since the Unix epoch (for benchmarks that
    /// line frames up with other measurements).
    pub decoded_unix_ms: u64,
}

/// What every connection needs.
#[derive(Clone, Debug)]
pub struct SessionContext {
    /// The technician's key.
    pub identity: Arc<Identity>,
    /// Agents seen before.
    pub known_agents: Arc<Mutex<KnownAgents>>,
    /// Where the viewer keeps its files.
    pub data_dir: PathBuf,
    /// When set, every decoded frame is recorded here (headless statistics).
    pub frame_log: Option<Arc<Mutex<Vec<FrameRecord>>>>,
    /// When set, the session is recorded into this file (while the end user grants the
    /// `record` permission).
    pub record: Option<crate::recording::RecordTarget>,
    /// The technician's certificate from their organisation, if imported and valid:
    /// presented in every session, required for unattended access.
    pub certificate: Option<TechnicianCertificate>,
    /// The technician's audit log.
    pub audit: SharedAuditLog,
}

/// The current time as the protocol wants it.
pub fn now() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_millis())
        .unwrap_or(0);
    Timestamp(u64::try_from(millis).unwrap_or(u64::MAX))
}

/// Serves the window: waits for `Connect`, runs that session, reports how it ended,
/// and waits again, until the window goes away.
pub async fn run_manager(context: SessionContext, mut end: SessionEnd) {
    let mut next = None;
    loop {
        let request = match next.take() {
            Some(request) => request,
            None => match end.commands.recv().await {
                None => return,
                Some(Command::Connect(request)) => request,
                Some(_) => continue,
            },
        };
        let outcome = run_connection(&context, request, &mut end).await;
        if let Some(offer) = outcome.reconnect {
            end.update(Update::ReconnectOffer(offer));
        }
        end.update(Update::Status(Status::Ended(outcome.reason)));
        next = outcome.next;
    }
}
