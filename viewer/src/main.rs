//! `lifeline-viewer`: the technician's side of Lifeline. See `lifeline_viewer::cli`.

use std::process::ExitCode;

fn main() -> ExitCode {
    lifeline_viewer::cli::main()
}
