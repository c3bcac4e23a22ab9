//! The committed fuzz corpus as regression tests: every file of
//! `fuzz/regression/<target>/` goes through the very body its cargo-fuzz target runs
//! (`fuzz/src/lib.rs`, included here), under plain `cargo test` on the stable toolchain.
//! An input the fuzzer once found must never panic or break a property again.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::path::{Path, PathBuf};

#[allow(
    unreachable_pub,
    clippy::expect_used,
    reason = "the fuzz targets' own file, shared with the fuzz crate"
)]
#[path = "../../fuzz/src/lib.rs"]
mod fuzz_targets;

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regression")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot read the corpus {}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
}

fn replay(target: &str) {
    let (_, body) = fuzz_targets::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("no fuzz target {target}"));
    let files = corpus(target);
    assert!(!files.is_empty(), "the corpus of {target} is empty");
    let mut failures = Vec::new();
    for file in &files {
        let data = std::fs::read(file).unwrap();
        if std::panic::catch_unwind(|| body(&data)).is_err() {
            failures.push(file.display().to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus inputs of {target} fail: {failures:#?}",
        failures.len(),
        files.len()
    );
}

#[test]
fn control_stream_corpus() {
    replay("control_stream");
}

#[test]
fn datagram_corpus() {
    replay("datagram");
}

#[test]
fn video_frame_corpus() {
    replay("video_frame");
}

#[test]
fn agent_session_corpus() {
    replay("agent_session");
}

#[test]
fn viewer_session_corpus() {
    replay("viewer_session");
}

#[test]
fn certificate_corpus() {
    replay("certificate");
}

#[test]
fn h264_decoder_corpus() {
    replay("h264_decoder");
}

#[test]
fn recording_reader_corpus() {
    replay("recording_reader");
}
