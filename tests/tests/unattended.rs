//! Unattended access end to end with the real binaries: an admin makes an organisation
//! key, signs a technician's key and enrols a TOTP secret; the agent runs as a service
//! under a policy; the technician connects without a code. Also what must fail: a
//! wrong second factor, an unchecked agent key, and a policy without unattended access.
//! And the attended prompt showing the verified organisation.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use lifeline_protocol::Timestamp;
use lifeline_protocol::trust::TotpSecret;
use lifeline_tests::{Agent, Image, Xvfb, wait_until, workspace_binary};

/// What the admin and the technician set up before any session.
struct Deployment {
    dir: tempfile::TempDir,
    org_public_key: String,
}

impl Deployment {
    fn viewer_dir(&self) -> PathBuf {
        self.dir.path().join("viewer")
    }

    fn secret_file(&self) -> PathBuf {
        self.dir.path().join("totp.secret")
    }

    fn write_policy(&self, unattended: &str) -> PathBuf {
        let path = self.dir.path().join("policy.toml");
        std::fs::write(
            &path,
            format!(
                "[[organisation]]\nname = \"Example IT\"\npublic_key = \"{}\"\n{unattended}",
                self.org_public_key
            ),
        )
        .unwrap();
        path
    }

    fn totp_now(&self) -> String {
        let secret =
            TotpSecret::from_base32(&std::fs::read_to_string(self.secret_file()).unwrap()).unwrap();
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        secret.code_at(Timestamp(u64::try_from(millis).unwrap()))
    }
}

fn viewer(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(workspace_binary("lifeline-viewer"))
        .args(args)
        .env("RUST_LOG", "info")
        .output()
        .expect("the viewer binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `org init`, `fingerprint`, `org sign-technician`, `certificate import` and
/// `org totp-secret`, as the README tells an admin and a technician to run them.
fn deploy() -> Deployment {
    let dir = tempfile::tempdir().unwrap();
    let org = dir.path().join("org");
    let viewer_dir = dir.path().join("viewer");
    let (ok, out, err) = viewer(&["org", "init", "--name", "Example IT", "--dir", path(&org)]);
    assert!(ok, "org init: {err}");
    let org_public_key = out
        .lines()
        .find_map(|line| line.strip_prefix("public_key = \""))
        .map(|rest| rest.trim_end_matches('"').to_owned())
        .expect("org init prints the policy lines");
    let (ok, out, err) = viewer(&["--data-dir", path(&viewer_dir), "fingerprint"]);
    assert!(ok, "fingerprint: {err}");
    let technician_key = out
        .lines()
        .find_map(|line| line.strip_prefix("public key: "))
        .expect("fingerprint prints the public key")
        .to_owned();
    let cert = dir.path().join("ada.cert");
    let (ok, _, err) = viewer(&[
        "org",
        "sign-technician",
        "--dir",
        path(&org),
        "--name",
        "Ada Lovelace",
        "--pubkey",
        &technician_key,
        "--scopes",
        "view,input",
        "--out",
        path(&cert),
    ]);
    assert!(ok, "sign-technician: {err}");
    let (ok, out, err) = viewer(&[
        "--data-dir",
        path(&viewer_dir),
        "certificate",
        "import",
        path(&cert),
    ]);
    assert!(ok && out.contains("Ada Lovelace"), "import: {out} {err}");
    let secret = dir.path().join("totp.secret");
    let (ok, out, err) = viewer(&["org", "totp-secret", "--out", path(&secret)]);
    assert!(
        ok && out.contains("otpauth://totp/"),
        "totp-secret: {out} {err}"
    );
    Deployment {
        dir,
        org_public_key,
    }
}

fn full_fingerprint(agent: &Agent) -> String {
    assert!(wait_until(Duration::from_secs(10), || agent
        .stderr()
        .contains("full fingerprint")));
    let log = agent.stderr();
    let start = log.find("full fingerprint ").unwrap() + "full fingerprint ".len();
    log[start..start + 64].to_owned()
}

fn connect_unattended(deployment: &Deployment, agent: &Agent, extra: &[&str]) -> (bool, String) {
    let frame = deployment.dir.path().join("frame.png");
    let _ = std::fs::remove_file(&frame);
    let viewer_dir = deployment.viewer_dir();
    let mut args = vec![
        "--data-dir",
        path(&viewer_dir),
        "connect",
        &agent.address,
        "--unattended",
        "--scopes",
        "view",
        "--headless",
        "--frames",
        "1",
        "--save-frame",
        path(&frame),
        "--consent-timeout",
        "20",
    ];
    args.extend_from_slice(extra);
    let (ok, _, err) = viewer(&args);
    (ok, err)
}

#[test]
fn a_certified_technician_with_the_second_factor_connects_to_a_service_without_a_code() {
    let x = Xvfb::start(800, 600);
    let _xterm = x.xterm("60x10+40+40", "echo unattended maintenance; sleep 600");
    let deployment = deploy();
    let policy = deployment.write_policy(&format!(
        "[unattended]\nallowed = true\nmax_scopes = \"view,input,clipboard\"\n\
         confirm_scopes = \"input\"\nsecond_factor = \"totp\"\ntotp_secret_file = \"{}\"\n",
        path(&deployment.secret_file())
    ));
    let agent = Agent::start_with(&x.display, &["--policy", path(&policy), "service"]);
    assert!(agent.stdout().contains("Example IT"), "{}", agent.stdout());
    let fingerprint = full_fingerprint(&agent);

    // Without the agent's key checked, the viewer refuses to go on without a code.
    let (ok, err) = connect_unattended(&deployment, &agent, &["--totp", "000000"]);
    assert!(!ok);
    assert!(err.contains("cannot be checked without a code"), "{err}");

    // A wrong second factor: refused, with the reason.
    let right = deployment.totp_now();
    let wrong = if right == "123456" {
        "654321"
    } else {
        "123456"
    };
    let (ok, err) = connect_unattended(
        &deployment,
        &agent,
        &["--totp", wrong, "--agent-fingerprint", &fingerprint],
    );
    assert!(!ok);
    assert!(err.contains("second-factor code is wrong"), "{err}");

    // The right one: the technician sees the screen, nobody typed a code.
    let (ok, err) = connect_unattended(
        &deployment,
        &agent,
        &[
            "--totp",
            &deployment.totp_now(),
            "--agent-fingerprint",
            &fingerprint,
        ],
    );
    assert!(ok, "unattended connection failed: {err}");
    let frame = Image::load(&deployment.dir.path().join("frame.png"));
    let psnr = frame.psnr(&x.screenshot());
    assert!(psnr >= 30.0, "PSNR {psnr:.1} dB");

    // The end user's terminal showed the session; the audit log names who and how.
    assert!(
        agent.wait_for_output("Ada Lovelace", Duration::from_secs(5)),
        "{}",
        agent.stdout()
    );
    let audit = agent.audit_lines();
    assert!(audit.iter().any(|line| {
        line["action"]["technician_verified"]["unattended"] == true
            && line["action"]["technician_verified"]["technician"] == "Ada Lovelace"
    }));
    assert!(audit.iter().any(|line| {
        line["outcome"]["refused"]["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("second-factor"))
    }));
    // The code path is closed on a service.
    let code_attempt = lifeline_tests::run_headless_viewer(&agent.address, "123456789", &[]);
    assert!(!code_attempt.success);
    assert!(
        code_attempt.stderr.contains("accepts no one-time codes"),
        "{}",
        code_attempt.stderr
    );
}

#[test]
fn attended_prompts_show_the_verified_organisation_and_services_need_unattended_policy() {
    let x = Xvfb::start(640, 480);
    let deployment = deploy();
    let policy = deployment.write_policy("");
    let mut agent = Agent::start_with(&x.display, &["--policy", path(&policy)]);
    agent.type_line("y");
    let run = lifeline_tests::run_headless_viewer_in(
        &deployment.viewer_dir(),
        &agent.address,
        &agent.code(),
        &["--frames", "1"],
    );
    assert!(run.success, "{}", run.stderr);
    assert!(
        agent
            .stdout()
            .contains("Ada Lovelace (Verified by Example IT) wants to connect"),
        "{}",
        agent.stdout()
    );

    // A service under a policy without unattended access refuses to start, saying why.
    let output = Command::new(workspace_binary("lifeline-agent"))
        .args([
            "--display",
            &x.display,
            "--policy",
            path(&policy),
            "service",
        ])
        .arg("--data-dir")
        .arg(deployment.dir.path().join("service"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("does not allow it"), "{err}");
}
