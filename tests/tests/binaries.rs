//! The binaries start, report what they speak, and refuse plainly what they cannot do yet.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::process::Command;

use lifeline_tests::workspace_binary;

#[test]
fn both_binaries_report_their_version_and_protocol() {
    for name in ["lifeline-agent", "lifeline-viewer"] {
        let path = workspace_binary(name);
        let output = Command::new(&path)
            .arg("--version")
            .output()
            .unwrap_or_else(|err| {
                panic!(
                    "cannot run {}: {err} (build with `cargo build --workspace --bins`)",
                    path.display()
                )
            });
        assert!(output.status.success(), "{name} --version failed");
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(stdout.starts_with(name), "{stdout}");
        assert!(stdout.contains("protocol [1]"), "{stdout}");
    }
}

#[test]
fn without_a_session_backend_the_binaries_say_so_and_fail() {
    for name in ["lifeline-agent", "lifeline-viewer"] {
        let output = Command::new(workspace_binary(name)).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{name} must not pretend to work"
        );
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            stderr.contains("not available in this build yet"),
            "{stderr}"
        );
    }
}
