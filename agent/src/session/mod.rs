//! The agent's sessions: the QUIC server loop, the one-time code, and one task per
//! connection that drives the protocol state machine, video and input.
//!
//! Only one technician at a time gets the end user's attention (consent prompt and
//! banner); other connections may still try the code, and are counted by the shared
//! [`CodeGuard`], but a second one that authenticates while a session runs is refused.
//! Before any of that, [`admission`] limits the connections that have not proven the
//! code yet, so that slow or flooding peers cannot wear the agent down.

pub mod admission;
mod command;
mod connection;
mod continue_check;
mod files;
pub mod input;
mod policy_recording;
pub mod rate;
pub mod screen;
pub mod stages;
mod system;
pub mod video;

pub use video::VideoTuning;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lifeline_protocol::audit::{Actor, AuditAction, AuditRecord, Outcome};
use lifeline_protocol::code::{CodeGuard, CodeNotice, CodePolicy};
use lifeline_protocol::session::resume::ResumeGrant;

use crate::policy::Policy;
use lifeline_protocol::{Fingerprint, Timestamp};
use tokio::sync::mpsc;

use self::admission::{Admission, Decision};
use crate::audit_log::AuditLog;
use crate::identity::Identity;
use crate::platform::{CaptureError, Capturer, InputError, InputInjector, PointerWatcher};
use crate::ui::text::Lang;
use crate::ui::{UiEvent, UiNotifier, UserCommand};

/// The current time as the protocol wants it.
pub fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_millis())
        .unwrap_or(0);
    Timestamp(u64::try_from(millis).unwrap_or(u64::MAX))
}

/// Opens a screen capturer for a new session.
pub type CapturerFactory = Box<dyn Fn() -> Result<Box<dyn Capturer>, CaptureError> + Send + Sync>;
/// Opens an input injector for a new session.
pub type InjectorFactory =
    Box<dyn Fn() -> Result<Box<dyn InputInjector>, InputError> + Send + Sync>;
/// Opens a pointer watcher for a new session.
pub type PointerWatcherFactory =
    Box<dyn Fn() -> Result<Box<dyn PointerWatcher>, CaptureError> + Send + Sync>;

/// Everything [`serve`] needs.
pub struct ServeConfig {
    /// The agent's key and certificate.
    pub identity: Identity,
    /// Where to listen.
    pub listen: SocketAddr,
    /// What the end user reads to the technician to reach this device.
    pub device_id: String,
    /// Write the current code here (mode 0600) whenever it changes.
    pub code_file: Option<PathBuf>,
    /// Which monitor to share.
    pub monitor: u32,
    /// What the video encoder is tuned for.
    pub video_tuning: VideoTuning,
    /// The end user's language, for the sentences the session writes for them.
    pub lang: Lang,
    /// Code lifetime and attempt limits.
    pub code_policy: CodePolicy,
    /// The audit log.
    pub audit: AuditLog,
    /// Screen capture for each session.
    pub capturer: CapturerFactory,
    /// Input injection for each session.
    pub injector: InjectorFactory,
    /// The pointer and monitor list for each session (`None`: the video only).
    pub pointer: Option<PointerWatcherFactory>,
    /// The deployment policy (trusted organisations, unattended access, "continue?").
    pub policy: Policy,
    /// The agent's data folder: received files go to its `Downloads` when the end user
    /// has no Downloads folder.
    pub data_dir: PathBuf,
}

impl std::fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("listen", &self.listen)
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

/// State shared by the server loop and every connection.
pub(crate) struct Shared {
    pub(crate) fingerprint: Fingerprint,
    pub(crate) guard: Mutex<CodeGuard>,
    pub(crate) ui: UiNotifier,
    /// The session that holds the end user's attention, and how to reach it.
    pub(crate) attention: Mutex<Option<mpsc::Sender<UserCommand>>>,
    pub(crate) audit: Mutex<AuditLog>,
    /// Limits on connections that have not proven the code yet.
    pub(crate) admission: Arc<Admission>,
    pub(crate) monitor: u32,
    pub(crate) video_tuning: VideoTuning,
    pub(crate) lang: Lang,
    pub(crate) capturer: CapturerFactory,
    pub(crate) injector: InjectorFactory,
    pub(crate) pointer: Option<PointerWatcherFactory>,
    pub(crate) policy: Policy,
    /// The agent's key for signing its own recordings (only when the policy records).
    pub(crate) recording_key: Option<lifeline_protocol::KeyPair>,
    pub(crate) data_dir: PathBuf,
    /// The last session whose connection was lost, while its technician may resume it.
    pub(crate) resumable: Mutex<Option<ResumeGrant>>,
    device_id: String,
    code_file: Option<PathBuf>,
}

impl Shared {
    pub(crate) fn lock_resumable(&self) -> std::sync::MutexGuard<'_, Option<ResumeGrant>> {
        self.resumable
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The end user does not let the technician of the lost session back in without a
    /// new code.
    fn refuse_resumption(&self) {
        let Some(grant) = self.lock_resumable().take() else {
            return;
        };
        tracing::info!(
            "the end user refused that session {} be resumed",
            grant.session
        );
        self.audit(&AuditRecord {
            time: now(),
            session: Some(grant.session),
            actor: Actor::EndUser,
            action: AuditAction::SessionResumed {
                previous: grant.session,
                granted: lifeline_protocol::ScopeSet::empty(),
            },
            scope: None,
            outcome: Outcome::Refused {
                reason: "the end user does not allow a reconnection without a new code".to_owned(),
            },
        });
    }

    pub(crate) fn lock_guard(&self) -> std::sync::MutexGuard<'_, CodeGuard> {
        self.guard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn audit(&self, record: &lifeline_protocol::audit::AuditRecord) {
        let mut log = self
            .audit
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Err(err) = log.append(record) {
            tracing::error!("cannot write the audit log {}: {err}", log.path().display());
        }
    }

    /// Tells the end user about code changes and shows the current code.
    pub(crate) async fn publish_code(&self) {
        let now = now();
        let (notices, code, expires_in) = {
            let mut guard = self.lock_guard();
            let code = match guard.current(now) {
                Ok(code) => code.grouped(),
                Err(err) => {
                    tracing::error!("cannot draw a new code: {err}");
                    return;
                }
            };
            let notices: Vec<CodeNotice> = std::iter::from_fn(|| guard.poll_notice()).collect();
            let expires_in = guard.expires_at().saturating_duration_since(now);
            (notices, code, expires_in)
        };
        let changed = notices
            .iter()
            .any(|n| !matches!(n, CodeNotice::WrongCodeTried { .. }));
        for notice in notices {
            let event = match notice {
                CodeNotice::WrongCodeTried { failures } => UiEvent::WrongCodeTried { failures },
                CodeNotice::RotatedAfterWrongCodes { locked_until } => UiEvent::CodeLocked {
                    seconds: locked_until.saturating_duration_since(now).as_secs(),
                },
                _ => continue,
            };
            self.ui.send(event).await;
        }
        if changed {
            self.show_code(code, expires_in).await;
        }
    }

    pub(crate) async fn show_code(&self, code: String, expires_in: Duration) {
        if self.policy.trust.refuse_codes {
            // A service: no code exists for anyone to read out.
            let organisations = self
                .policy
                .trust
                .organisations
                .iter()
                .map(|org| org.name.clone())
                .collect();
            self.ui
                .send(UiEvent::UnattendedOnly {
                    device_id: self.device_id.clone(),
                    organisations,
                })
                .await;
            return;
        }
        if let Some(path) = &self.code_file
            && let Err(err) = write_private(path, code.as_bytes())
        {
            tracing::error!("cannot write the code file {}: {err}", path.display());
        }
        self.ui
            .send(UiEvent::Ready {
                device_id: self.device_id.clone(),
                code,
                expires_in,
            })
            .await;
    }
}

fn write_private(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let temporary = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(contents)?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

/// Runs the agent's server until the end user quits (or the UI goes away).
pub async fn serve(
    config: ServeConfig,
    ui: UiNotifier,
    mut commands: mpsc::Receiver<UserCommand>,
) -> anyhow::Result<()> {
    let endpoint = crate::net::listen(&config.identity, config.listen)?;
    let guard = CodeGuard::new(config.code_policy, now())?;
    let shared = Arc::new(Shared {
        fingerprint: config.identity.key.public_key().fingerprint(),
        guard: Mutex::new(guard),
        ui,
        attention: Mutex::new(None),
        audit: Mutex::new(config.audit),
        admission: Arc::new(Admission::default()),
        monitor: config.monitor,
        video_tuning: config.video_tuning,
        lang: config.lang,
        capturer: config.capturer,
        injector: config.injector,
        pointer: config.pointer,
        recording_key: match &config.policy.recording {
            Some(_) => Some(lifeline_protocol::KeyPair::from_pkcs8(
                config.identity.key.to_pkcs8(),
            )?),
            None => None,
        },
        policy: config.policy,
        data_dir: config.data_dir,
        device_id: config.device_id,
        code_file: config.code_file,
        resumable: Mutex::new(None),
    });
    tracing::info!(
        "listening on {} as {} (full fingerprint {})",
        endpoint
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default(),
        shared.fingerprint,
        shared.fingerprint.to_hex()
    );
    let (code, expires_in) = {
        let mut guard = shared.lock_guard();
        let code = guard.current(now())?.grouped();
        (code, guard.expires_at().saturating_duration_since(now()))
    };
    shared.show_code(code, expires_in).await;

    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            incoming = endpoint.accept() => {
                let Some(incoming) = incoming else { break };
                admit(&shared, incoming);
            }
            command = commands.recv() => {
                match command {
                    None | Some(UserCommand::Quit) => break,
                    Some(UserCommand::RefuseResume) => shared.refuse_resumption(),
                    Some(command) => forward(&shared, command).await,
                }
            }
            _ = ticker.tick() => shared.publish_code().await,
        }
    }
    // Whatever runs ends now: Stop for the session with the user's attention.
    forward(&shared, UserCommand::Stop).await;
    endpoint.close(quinn::VarInt::from_u32(0), b"agent closed");
    tokio::time::timeout(Duration::from_secs(2), endpoint.wait_idle())
        .await
        .ok();
    Ok(())
}

/// Starts a task for a new connection, or turns it away (see [`admission`]).
fn admit(shared: &Arc<Shared>, incoming: quinn::Incoming) {
    let peer = incoming.remote_address();
    let validated = incoming.remote_address_validated();
    match shared
        .admission
        .decide(peer.ip(), validated, std::time::Instant::now())
    {
        Decision::Admit(ticket) => {
            let shared = Arc::clone(shared);
            tokio::spawn(async move {
                connection::run(shared, incoming, ticket).await;
            });
        }
        Decision::Retry => {
            if incoming.retry().is_err() {
                tracing::debug!("a connection from {peer} could not be asked to retry");
            }
        }
        Decision::Refuse { reason, audit } => {
            incoming.refuse();
            if audit {
                tracing::warn!(
                    "refusing connections from {peer}: {reason} (further refusals of this \
                     address within a minute are not logged)"
                );
                shared.audit(&AuditRecord {
                    time: now(),
                    session: None,
                    actor: Actor::UnauthenticatedPeer,
                    action: AuditAction::ConnectionAttempt {
                        peer_address: peer.to_string(),
                    },
                    scope: None,
                    outcome: Outcome::Refused { reason },
                });
            }
        }
    }
}

async fn forward(shared: &Shared, command: UserCommand) {
    let target = shared
        .attention
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    match target {
        Some(session) => {
            if session.send(command).await.is_err() {
                tracing::debug!("the session ended before the user's command arrived");
            }
        }
        None => tracing::debug!("no session for the user's command {command:?}"),
    }
}
