//! Command line of `lifeline-viewer`, and the top-level run function.
//!
//! ```text
//! lifeline-viewer                                  # the window
//! lifeline-viewer connect ADDR --code CODE         # the window, connecting at once
//! lifeline-viewer connect ADDR --code CODE --headless [--frames N | --seconds S]
//!     [--save-frame PATH.png] [--stats PATH.json] [--input-script PATH] [--record FILE]
//! lifeline-viewer play FILE                        # the recording player window
//! lifeline-viewer recording verify FILE [--signer FINGERPRINT]
//! lifeline-viewer recording export FILE [--mp4 OUT.mp4] [--events OUT.json]
//!     [--screenshot T OUT.png]
//! lifeline-viewer log verify [PATH] [--signer KEY]   # the technician's audit log
//! lifeline-viewer log show [PATH] [--session ID] [--json]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Parser, Subcommand};
use lifeline_protocol::message::QualityPreference;
use lifeline_protocol::{Scope, ScopeSet};

use crate::audit_log::AuditLog;
use crate::headless::{self, HeadlessOptions};
use crate::known_agents::KnownAgents;
use crate::link::{ConnectRequest, RequestCredential};
use crate::org::{CertificateCommand, OrgCommand};
use crate::session::{AUDIT_LOG, SessionContext};
use crate::ui::{WindowOptions, run_window};

/// See and control the screen of someone you are helping, with their consent.
#[derive(Debug, Parser)]
#[command(name = "lifeline-viewer", version, about, long_about = None)]
pub struct Args {
    /// Where the viewer keeps its key, known agents and recent devices (default: the
    /// platform data directory, e.g. ~/.local/share/lifeline-viewer).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Open the window full screen, the remote screen drawn 1:1 from the top left.
    #[arg(long, global = true)]
    pub fullscreen: bool,
    /// What to do (default: open the window).
    #[command(subcommand)]
    pub command: Option<Action>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Action {
    /// Connect to an agent.
    Connect(Box<ConnectArgs>),
    /// Print the technician key's fingerprint and public key (send the public key to
    /// your organisation's admin to get a certificate).
    Fingerprint,
    /// Play a session recording in a window: timeline with the events, speed, and
    /// whether the file is intact.
    Play {
        /// The recording (.llrec).
        file: PathBuf,
    },
    /// Check or export a session recording.
    #[command(subcommand)]
    Recording(crate::recording::command::RecordingCommand),
    /// Organisation administration: keys, technician certificates, TOTP secrets.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Your technician certificate: import or show.
    #[command(subcommand)]
    Certificate(CertificateCommand),
    /// Your audit log of what you did in sessions: check it, or show it.
    #[command(subcommand)]
    Log(crate::audit_log::command::AuditCommand),
}

/// `connect` arguments.
#[derive(Debug, clap::Args)]
pub struct ConnectArgs {
    /// The agent's device ID (host:port).
    pub address: String,
    /// The one-time code the end user reads out.
    #[arg(long, required_unless_present_any = ["unattended", "resume"])]
    pub code: Option<String>,
    /// Resume this session (its id, 32 hex digits), whose connection was lost less than
    /// two minutes ago, without a new code: the viewer prints the whole command when it
    /// happens. Needs --agent-fingerprint.
    #[arg(
        long,
        value_name = "SESSION_ID",
        conflicts_with_all = ["code", "unattended"],
        requires = "agent_fingerprint"
    )]
    pub resume: Option<String>,
    /// Unattended access: no code and no one needed at the other end; uses your
    /// certificate (`certificate import`) within the agent's policy.
    #[arg(long, conflicts_with = "code")]
    pub unattended: bool,
    /// Unattended: the 6-digit code from your authenticator app, when the agent's policy
    /// asks for a second factor.
    #[arg(long, requires = "unattended")]
    pub totp: Option<String>,
    /// The agent key's fingerprint (hex, as `lifeline-agent` logs it), to check on a
    /// first unattended connection; otherwise the key remembered for the address.
    #[arg(long)]
    pub agent_fingerprint: Option<String>,
    /// Permissions to ask for, e.g. `view,input`.
    #[arg(long, default_value = "view,input")]
    pub scopes: String,
    /// Your name, as the end user will see it.
    #[arg(long, default_value = "Technician")]
    pub name: String,
    /// Why you connect, as the end user will see it.
    #[arg(long, default_value = "")]
    pub reason: String,
    /// No window: receive, decode, and report (for scripts and tests).
    #[arg(long)]
    pub headless: bool,
    /// Headless: stop after this many decoded frames.
    #[arg(long)]
    pub frames: Option<usize>,
    /// Headless: stop after this many seconds of active session.
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Headless: save the last decoded frame as PNG.
    #[arg(long)]
    pub save_frame: Option<PathBuf>,
    /// Headless: draw the agent's pointer into the saved frame.
    #[arg(long)]
    pub draw_cursor: bool,
    /// Headless: write statistics as JSON.
    #[arg(long)]
    pub stats: Option<PathBuf>,
    /// Headless: replay an input script (see `lifeline_viewer::script`).
    #[arg(long)]
    pub input_script: Option<PathBuf>,
    /// Headless: record the session into this new file (asks for the record permission
    /// too; see `recording verify` and `recording export`).
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// On a slow link, what matters more: `quality` (sharp text: full resolution, fewer
    /// frames) or `speed` (fluid motion: more frames, a smaller picture). The toolbar
    /// changes it during a session.
    #[arg(long, default_value = "quality", value_parser = parse_preference)]
    pub prefer: QualityPreference,
    /// Headless: give up when the end user has not answered after this many seconds.
    #[arg(long, default_value_t = 120)]
    pub consent_timeout: u64,
}

/// Parses arguments, runs the viewer, and turns the outcome into an exit code.
pub fn main() -> ExitCode {
    let args = Args::parse();
    init_tracing();
    if let Some(Action::Recording(command)) = &args.command {
        return crate::recording::command::run(command);
    }
    if let Some(Action::Play { file }) = args.command {
        return match crate::ui::player::run_player_window(file) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                tracing::error!("{err:#}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(Action::Log(command)) = &args.command {
        let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
        let data_dir = args.data_dir.as_deref();
        return crate::audit_log::command::run(command, &AUDIT_LOG, data_dir, &mut out, &mut err);
    }
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

fn run(args: Args) -> anyhow::Result<()> {
    let data_dir = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => crate::identity::default_data_dir()?,
    };
    if let Some(Action::Org(command)) = &args.command {
        return crate::org::run_org(command, &mut std::io::stdout().lock());
    }
    let identity = crate::identity::load_or_create(&data_dir)?;
    match &args.command {
        Some(Action::Fingerprint) => {
            let mut out = std::io::stdout().lock();
            let public = identity.key.public_key();
            std::io::Write::write_fmt(
                &mut out,
                format_args!(
                    "{}\npublic key: {}\n",
                    public.fingerprint(),
                    public.to_text()
                ),
            )?;
            return Ok(());
        }
        Some(Action::Certificate(command)) => {
            return crate::org::run_certificate(
                command,
                &data_dir,
                &identity.key,
                &mut std::io::stdout().lock(),
            );
        }
        _ => {}
    }
    let certificate = match crate::org::load(&data_dir)? {
        Some(certificate) => match crate::org::check_own(&certificate, &identity.key) {
            Ok(()) => Some(certificate),
            Err(err) => {
                tracing::warn!("not presenting the technician certificate: {err:#}");
                None
            }
        },
        None => None,
    };
    let known_agents = KnownAgents::load(&data_dir)?;
    let audit = AuditLog::open(&data_dir, &identity.key, &AUDIT_LOG)?;
    let context = SessionContext {
        identity: Arc::new(identity),
        known_agents: Arc::new(Mutex::new(known_agents)),
        data_dir: data_dir.clone(),
        frame_log: None,
        record: None,
        certificate,
        audit: Arc::new(Mutex::new(audit)),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("lifeline-net")
        .build()?;
    match args.command {
        Some(Action::Connect(connect)) if connect.headless => {
            let options = headless_options(*connect)?;
            let stats = runtime.block_on(headless::run(context, options))?;
            tracing::info!(
                "{} frames at {:.1} fps, latency p50 {:.1} ms p95 {:.1} ms",
                stats.frames,
                stats.fps,
                stats.latency_ms.p50,
                stats.latency_ms.p95
            );
            Ok(())
        }
        command => {
            let (initial, preference) = match command {
                Some(Action::Connect(connect)) => (Some(request(&connect)?), connect.prefer),
                _ => (None, QualityPreference::default()),
            };
            let (session_end, window) = crate::link::link();
            let manager = runtime.spawn(crate::session::run_manager(context, session_end));
            let result = run_window(
                window,
                WindowOptions {
                    fullscreen: args.fullscreen,
                    initial,
                    data_dir: Some(data_dir),
                    preference,
                },
            );
            manager.abort();
            result
        }
    }
}

fn request(connect: &ConnectArgs) -> anyhow::Result<ConnectRequest> {
    let scopes: ScopeSet = connect.scopes.parse()?;
    let credential = if let Some(session) = &connect.resume {
        RequestCredential::Resume(session.parse().map_err(anyhow::Error::msg)?)
    } else if connect.unattended {
        RequestCredential::Unattended {
            totp: connect.totp.clone(),
        }
    } else {
        RequestCredential::Code(connect.code.clone().unwrap_or_default())
    };
    let agent_fingerprint = connect
        .agent_fingerprint
        .as_deref()
        .map(crate::known_agents::parse_fingerprint)
        .transpose()?;
    Ok(ConnectRequest {
        address: connect.address.clone(),
        credential,
        agent_fingerprint,
        scopes,
        technician_name: connect.name.clone(),
        reason: connect.reason.clone(),
    })
}

fn parse_preference(text: &str) -> Result<QualityPreference, String> {
    text.parse()
}

fn headless_options(connect: ConnectArgs) -> anyhow::Result<HeadlessOptions> {
    let request = request(&connect)?;
    if !request.scopes.contains(Scope::ViewScreen)
        && (connect.frames.is_some() || connect.save_frame.is_some())
    {
        anyhow::bail!("--frames and --save-frame need the view permission in --scopes");
    }
    Ok(HeadlessOptions {
        request,
        frames: connect.frames,
        seconds: connect.seconds,
        save_frame: connect.save_frame,
        draw_cursor: connect.draw_cursor,
        stats: connect.stats,
        input_script: connect.input_script,
        consent_timeout: Duration::from_secs(connect.consent_timeout),
        preference: connect.prefer,
        record: connect.record,
    })
}
