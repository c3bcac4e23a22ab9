//! Helpers for Lifeline's end-to-end tests, which run the real `lifeline-agent` and
//! `lifeline-viewer` binaries as a person would.
//!
//! This crate has no product code. The binaries must be built first
//! (`cargo build --workspace --bins`, which `scripts/test.sh` does).

use std::path::PathBuf;

/// The path of a workspace binary built next to the running test executable.
///
/// Test executables live in `target/<profile>/deps/`; binaries in `target/<profile>/`.
pub fn workspace_binary(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("."));
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join(name)
}
