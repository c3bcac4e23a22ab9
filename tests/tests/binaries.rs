//! The binaries start and explain themselves.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::process::Command;

use lifeline_tests::workspace_binary;

#[test]
fn both_binaries_report_their_version_and_explain_their_options() {
    for (name, option) in [
        ("lifeline-agent", "--consent"),
        ("lifeline-viewer", "connect"),
    ] {
        let path = workspace_binary(name);
        let version = Command::new(&path)
            .arg("--version")
            .output()
            .unwrap_or_else(|err| {
                panic!(
                    "cannot run {}: {err} (build with `cargo build --workspace --bins`)",
                    path.display()
                )
            });
        assert!(version.status.success(), "{name} --version failed");
        let stdout = String::from_utf8(version.stdout).unwrap();
        assert_eq!(
            stdout.trim(),
            format!("{name} {}", env!("CARGO_PKG_VERSION"))
        );
        let help = Command::new(&path).arg("--help").output().unwrap();
        assert!(String::from_utf8(help.stdout).unwrap().contains(option));
    }
}

#[test]
fn a_mistyped_code_is_explained_before_connecting() {
    let output = Command::new(workspace_binary("lifeline-viewer"))
        .arg("--data-dir")
        .arg(tempfile::tempdir().unwrap().path())
        .args(["connect", "127.0.0.1:9", "--code", "12345", "--headless"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("a code has exactly 9 digits"), "{stderr}");
}
