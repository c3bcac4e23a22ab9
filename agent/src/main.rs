//! `lifeline-agent`: the end user's side of Lifeline. See `lifeline_agent::cli`.

use std::process::ExitCode;

fn main() -> ExitCode {
    lifeline_agent::cli::main()
}
