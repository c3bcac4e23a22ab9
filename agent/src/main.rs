//! `lifeline-agent`: the end user's side of Lifeline.
//!
//! This build carries the protocol; the screen-sharing session (capture, QUIC, the
//! consent window) comes with the first-session work. Until then the binary says so
//! plainly instead of pretending to run.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    lifeline_agent_cli::run(&args)
}

mod lifeline_agent_cli {
    use std::io::Write;
    use std::process::ExitCode;

    pub(crate) fn run(args: &[String]) -> ExitCode {
        let mut out = std::io::stdout().lock();
        let version = env!("CARGO_PKG_VERSION");
        let protocol = lifeline_protocol::version::SUPPORTED_VERSIONS;
        match args.first().map(String::as_str) {
            Some("--version" | "-V") => {
                let _ = writeln!(out, "lifeline-agent {version} (protocol {protocol:?})");
                ExitCode::SUCCESS
            }
            _ => {
                let _ = writeln!(
                    std::io::stderr(),
                    "lifeline-agent {version}: screen sharing is not available in this build yet.\n\
                     This build contains Lifeline's protocol (authentication by one-time code, \
                     consent, permissions, audit records) and its tests; the agent's session \
                     (screen capture, QUIC, consent window) is the next step of the project.\n\
                     Run `lifeline-agent --version` to see the protocol versions it speaks."
                );
                ExitCode::from(2)
            }
        }
    }
}
