//! Command line of `lifeline-agent`, and the top-level run function.
//!
//! The end user's front-end (window or terminal) runs on the main thread; the QUIC
//! server and sessions run on a tokio runtime in a background thread.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use lifeline_protocol::code::CodePolicy;

use crate::audit_log::command::AuditCommand;
use crate::audit_log::{AuditLog, LogOwner};
use crate::policy::Policy;
use crate::session::{ServeConfig, VideoTuning, serve};
use crate::ui::text::Lang;
use crate::ui::{ConsentUi, UiEvent, link, nobody::NobodyUi, tty::TtyUi, window::WindowUi};

/// The agent's audit log: what its messages say, its key file, data directory and
/// clock.
pub static AUDIT_LOG: LogOwner = LogOwner {
    program: "the agent",
    verify_command: "lifeline-agent audit verify",
    key_file: crate::identity::KEY_FILE,
    default_data_dir: || Ok(crate::identity::default_data_dir()?),
    now: crate::session::now,
};

/// Share this computer's screen with a support technician, with your consent.
#[derive(Debug, Parser)]
#[command(name = "lifeline-agent", version, about, long_about = None)]
pub struct Args {
    /// Address to listen on for the technician's viewer.
    #[arg(long, default_value = "0.0.0.0:7443")]
    pub listen: SocketAddr,
    /// X display to share and to show the windows on (default: $DISPLAY).
    #[arg(long)]
    pub display: Option<String>,
    /// How the end user is asked: small windows, or the terminal (`tty`: answers on
    /// standard input, for SSH sessions and scripts).
    #[arg(long, value_enum, default_value_t = ConsentMode::Window)]
    pub consent: ConsentMode,
    /// Write the current one-time code to this file (mode 0600) whenever it changes.
    #[arg(long)]
    pub code_file: Option<PathBuf>,
    /// Language of the end-user texts: `en` or `zh` (default: from the locale).
    #[arg(long)]
    pub lang: Option<String>,
    /// Which monitor to share (0: the primary).
    #[arg(long, default_value_t = 0)]
    pub monitor: u32,
    /// What the video is tuned for: `auto` decides per scene (sharp text, fluid
    /// video); `text` always codes for text and UI; `motion` always for video and
    /// moving pictures.
    #[arg(long, value_enum, default_value_t = VideoTuning::Auto)]
    pub video_tuning: VideoTuning,
    /// Where the agent keeps its key and audit log (default: the platform data
    /// directory, e.g. ~/.local/share/lifeline-agent).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// How long a one-time code stays valid, in seconds.
    #[arg(long, default_value_t = 600)]
    pub code_lifetime_secs: u64,
    /// The deployment policy file (default: /etc/lifeline/policy.toml, then
    /// ~/.config/lifeline-agent/policy.toml; see assets/policy.example.toml).
    #[arg(long, global = true)]
    pub policy: Option<PathBuf>,
    /// Without a command, the agent runs and waits for a technician.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do instead of running the agent.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check or read the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Run as a system service for unattended access only: no one-time code is shown
    /// or accepted; technicians with a certificate from an organisation the policy
    /// trusts connect within its limits. Anyone logged in still sees a running session
    /// and can stop it (with --consent window or tty).
    Service,
    /// Show how the agent reads its policy file, or what is wrong with it.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

/// Policy file commands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Read the policy (from --policy or the default places) and print what it allows.
    Check,
}

/// How the end user is asked for consent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ConsentMode {
    /// Windows on the shared display.
    Window,
    /// The terminal.
    Tty,
    /// Nobody: prompts are refused (for a service on a machine without a desktop).
    None,
}

/// Parses arguments, runs the agent, and turns the outcome into an exit code.
pub fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Command::Audit(command)) = &args.command {
        let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
        return crate::audit_log::command::run(
            command,
            &AUDIT_LOG,
            args.data_dir.as_deref(),
            &mut out,
            &mut err,
        );
    }
    if let Some(Command::Policy(PolicyCommand::Check)) = &args.command {
        return check_policy(args.policy.as_deref());
    }
    if let Some(display) = &args.display {
        use_display(display);
    }
    init_tracing();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Makes `display` the display of everything this process opens, windows included.
#[allow(
    unsafe_code,
    reason = "the window toolkit reads DISPLAY from the environment"
)]
fn use_display(display: &str) {
    // SAFETY: called first thing in main, before any other thread exists, so nothing
    // reads the environment concurrently.
    unsafe { std::env::set_var("DISPLAY", display) };
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
    let lang = args
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_else(Lang::from_env);
    let data_dir = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => crate::identity::default_data_dir()?,
    };
    let service = matches!(args.command, Some(Command::Service));
    let mut policy = Policy::load(args.policy.as_deref())?;
    match &policy.source {
        Some(path) => tracing::info!("policy: {}", path.display()),
        None => tracing::info!("no policy file: no organisation trusted, no unattended access"),
    }
    if service {
        if policy.trust.unattended.is_none() {
            anyhow::bail!(
                "service mode is for unattended access, but the policy does not allow it; \
                 set [unattended] allowed = true in the policy file (see \
                 assets/policy.example.toml) or run the agent without `service`"
            );
        }
        policy.trust.refuse_codes = true;
    }
    let identity = crate::identity::load_or_create(&data_dir)?;
    let audit = AuditLog::open(&data_dir, &identity.key, &AUDIT_LOG)?;
    let display = args
        .display
        .clone()
        .or_else(|| std::env::var("DISPLAY").ok());
    // Find out now, not when a technician connects, that there is no screen to share.
    drop(crate::platform::open_capturer(display.as_deref())?);
    let capture_display = display.clone();
    let input_display = display.clone();
    let pointer_display = display.clone();
    let config = ServeConfig {
        identity,
        listen: args.listen,
        device_id: device_id(args.listen),
        code_file: args.code_file.clone(),
        monitor: args.monitor,
        video_tuning: args.video_tuning,
        lang,
        code_policy: CodePolicy {
            lifetime: Duration::from_secs(args.code_lifetime_secs.max(30)),
            ..CodePolicy::default()
        },
        audit,
        capturer: Box::new(move || crate::platform::open_capturer(capture_display.as_deref())),
        injector: Box::new(move || crate::platform::open_injector(input_display.as_deref())),
        pointer: Some(Box::new(move || {
            crate::platform::open_pointer_watcher(pointer_display.as_deref())
        })),
        policy,
        data_dir: data_dir.clone(),
    };

    let (notifier, ui_link, commands) = link();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("lifeline-net")
        .build()?;
    let server = std::thread::Builder::new()
        .name("lifeline-server".to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                let errors = notifier.clone();
                let result = serve(config, notifier, commands).await;
                if let Err(err) = &result {
                    errors.send(UiEvent::Error(format!("{err:#}"))).await;
                }
                result
            })
        })?;

    let front_end: Box<dyn ConsentUi> = match args.consent {
        ConsentMode::Window => Box::new(WindowUi::new(lang)),
        ConsentMode::Tty => Box::new(TtyUi::stdio(lang)),
        ConsentMode::None => Box::new(NobodyUi),
    };
    let ui_result = front_end.run(ui_link);
    let server_result = server
        .join()
        .map_err(|_| anyhow::anyhow!("the agent's server thread panicked"))?;
    server_result?;
    ui_result.map_err(|err| {
        anyhow::anyhow!("{err:#}. Without a desktop, use --consent tty to answer on the terminal")
    })
}

/// What the end user reads to the technician: the address, with the host name when
/// the agent listens on every interface.
fn device_id(listen: SocketAddr) -> String {
    if !listen.ip().is_unspecified() {
        return listen.to_string();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "this-computer".to_owned());
    format!("{host}:{}", listen.port())
}

/// `lifeline-agent policy check`: prints what the policy allows, or what is wrong.
fn check_policy(explicit: Option<&std::path::Path>) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let policy = match Policy::load(explicit) {
        Ok(policy) => policy,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "{err}");
            return ExitCode::FAILURE;
        }
    };
    let _ = writeln!(out, "{}", policy.describe());
    ExitCode::SUCCESS
}
