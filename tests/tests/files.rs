//! Files moved between the technician and the end user with the real binaries on Xvfb,
//! each confirmed on the agent's terminal (the default policy confirms `files`): an
//! approved file arrives intact in the end user's Downloads folder, a refused one never
//! appears, a traversal name from a hostile viewer lands made safe inside Downloads,
//! and a fetched file reaches the technician's Downloads folder byte for byte.
//!
//! Each agent runs with `HOME` in a temporary directory whose
//! `.config/user-dirs.dirs` puts Downloads at `$HOME/Downloads` (that file is where
//! `directories::UserDirs` finds it on Linux).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use lifeline_protocol::ScopeSet;
use lifeline_protocol::message::ControlMessage;
use lifeline_protocol::transfer::{FileOffer, encode_stream_header, sha256_of};
use lifeline_tests::hostile::{HONEST_IP, RawPeer, Technician, peak_rss_kib};
use lifeline_tests::{
    Agent, ViewerRun, Xvfb, free_udp_port, run_headless_viewer_wrapped, wait_until,
    workspace_binary,
};

/// A home folder whose Downloads folder `directories::UserDirs` finds.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".config")).unwrap();
        std::fs::write(
            dir.path().join(".config/user-dirs.dirs"),
            "XDG_DOWNLOAD_DIR=\"$HOME/Downloads\"\n",
        )
        .unwrap();
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn downloads(&self) -> PathBuf {
        self.path().join("Downloads")
    }

    /// `env HOME=… XDG_CONFIG_HOME=…`, to run a binary in this home.
    fn wrapper(&self) -> Vec<String> {
        vec![
            "env".to_owned(),
            format!("HOME={}", self.path().display()),
            format!("XDG_CONFIG_HOME={}", self.path().join(".config").display()),
        ]
    }

    /// The names in Downloads (none when it does not exist).
    fn downloaded(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.downloads())
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

/// An agent on `x` living in `home`, already told to allow the consent prompt.
fn agent_in(home: &Home, x: &Xvfb) -> Agent {
    let address = format!("127.0.0.1:{}", free_udp_port());
    let mut agent = Agent::start_wrapped(&home.wrapper(), &x.display, &address, &[]);
    agent.type_line("y");
    agent
}

/// Bytes that are not all the same, so a misplaced piece changes the hash.
fn content(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// Runs a headless viewer (in its own home) with `script`, answers the agent's file
/// question with `answer`, and returns the run, the question the end user saw and the
/// technician's audit log.
fn run_script(
    agent: &mut Agent,
    viewer_home: &Home,
    script: &str,
    answer: &str,
) -> (ViewerRun, String, Vec<serde_json::Value>) {
    run_script_asking(agent, viewer_home, script, answer, "view,files")
}

/// Like [`run_script`], the viewer asking for `scopes`.
fn run_script_asking(
    agent: &mut Agent,
    viewer_home: &Home,
    script: &str,
    answer: &str,
    scopes: &str,
) -> (ViewerRun, String, Vec<serde_json::Value>) {
    let dir = tempfile::tempdir().unwrap();
    let script_path = dir.path().join("script.txt");
    std::fs::write(&script_path, script).unwrap();
    let wrapper = viewer_home.wrapper();
    let address = agent.address.clone();
    let code = agent.code();
    let viewer_dir = dir.path().join("viewer");
    std::fs::create_dir_all(&viewer_dir).unwrap();
    let script_arg = script_path.display().to_string();
    let scopes = scopes.to_owned();
    let viewer_audit = viewer_dir.join("audit.jsonl");
    let viewer = std::thread::spawn(move || {
        if scopes.split(',').any(|scope| scope == "view") {
            run_headless_viewer_wrapped(
                &wrapper,
                &viewer_dir,
                &address,
                &code,
                &["--scopes", &scopes, "--input-script", &script_arg],
            )
        } else {
            run_viewer_without_video(&wrapper, &viewer_dir, &address, &code, &scopes, &script_arg)
        }
    });
    if !agent.wait_for_output("asks to move a file", Duration::from_secs(60)) {
        let run = viewer.join().unwrap();
        panic!(
            "the end user was not asked:\n{}\n{}\nviewer: {}",
            agent.stdout(),
            agent.stderr(),
            run.stderr
        );
    }
    let question = agent.stdout();
    agent.type_line(answer);
    let run = viewer.join().unwrap();
    let audit = std::fs::read_to_string(viewer_audit)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    (run, question, audit)
}

/// A headless viewer asking for `scopes` without `view` (so without a frame to save),
/// writing its statistics into `dir`.
fn run_viewer_without_video(
    wrapper: &[String],
    dir: &Path,
    address: &str,
    code: &str,
    scopes: &str,
    script: &str,
) -> ViewerRun {
    let stats = dir.join("stats.json");
    let (program, args) = wrapper.split_first().unwrap();
    let output = std::process::Command::new(program)
        .args(args)
        .arg(workspace_binary("lifeline-viewer"))
        .arg("--data-dir")
        .arg(dir)
        .args(["connect", address, "--code", code, "--headless"])
        .args(["--name", "Test Technician", "--scopes", scopes])
        .args(["--input-script", script])
        .arg("--stats")
        .arg(&stats)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    ViewerRun {
        success: output.status.success(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        stats: std::fs::read(&stats)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok()),
        frame: None,
    }
}

#[test]
fn an_approved_file_arrives_intact_in_the_end_users_downloads() {
    let x = Xvfb::start(640, 480);
    let home = Home::new();
    let viewer_home = Home::new();
    let mut agent = agent_in(&home, &x);
    // A file of the same name is already there: it is kept, the new one is numbered.
    std::fs::create_dir_all(home.downloads()).unwrap();
    std::fs::write(
        home.downloads().join("report.bin"),
        b"the end user's own file",
    )
    .unwrap();
    let bytes = content(3_000_000);
    let local = tempfile::tempdir().unwrap();
    let path = local.path().join("report.bin");
    std::fs::write(&path, &bytes).unwrap();
    let (run, question, viewer_audit) = run_script(
        &mut agent,
        &viewer_home,
        &format!("send {}\n", path.display()),
        "y",
    );
    // The end user read exactly the name, size and folder.
    assert!(
        question.contains(&format!(
            "receive the file report (1).bin (3.0 MB) into {}",
            home.downloads().display()
        )),
        "{question}"
    );
    assert!(run.success, "{}", run.stderr);
    let stats = run.stats.expect("statistics");
    let file = &stats["files"][0];
    assert_eq!(file["outcome"], "done", "{stats}");
    assert_eq!(file["waited_for_approval"], true);
    assert_eq!(file["saved_as"], "report (1).bin");
    let sha256 = sha256_of(&bytes[..]).unwrap().1.to_string();
    assert_eq!(file["sha256"], sha256.as_str());
    assert_eq!(
        std::fs::read(home.downloads().join("report (1).bin")).unwrap(),
        bytes
    );
    assert_eq!(
        std::fs::read(home.downloads().join("report.bin")).unwrap(),
        b"the end user's own file"
    );
    // No partial file is left behind.
    assert_eq!(home.downloaded(), vec!["report (1).bin", "report.bin"]);
    let audit = agent.audit_lines();
    let mentions = |line: &serde_json::Value, key: &str| {
        line["action"][key]["summary"]
            .as_str()
            .is_some_and(|s| s.contains(&sha256))
    };
    assert!(audit.iter().any(|line| mentions(line, "action_requested")));
    // The technician's own log has the offer and where it went.
    assert!(viewer_audit.iter().any(|line| {
        line["action"]["action"]["summary"]
            .as_str()
            .is_some_and(|s| s.contains(&sha256) && s.ends_with("saved as \"report (1).bin\""))
    }));
    assert!(audit.iter().any(|line| {
        line["action"]["action_answered"]["approved"] == true
            && line["action"]["action_answered"]["summary"]
                .as_str()
                .is_some_and(|s| s.contains("report (1).bin"))
    }));
    assert!(audit.iter().any(|line| {
        mentions(line, "action")
            && line["action"]["action"]["summary"]
                .as_str()
                .is_some_and(|s| s.starts_with("saved as \"report (1).bin\""))
    }));
}

#[test]
fn a_refused_file_never_appears() {
    let x = Xvfb::start(640, 480);
    let home = Home::new();
    let viewer_home = Home::new();
    let mut agent = agent_in(&home, &x);
    let local = tempfile::tempdir().unwrap();
    let path = local.path().join("setup.exe");
    std::fs::write(&path, content(10_000)).unwrap();
    let (run, _, _) = run_script(
        &mut agent,
        &viewer_home,
        &format!("send {}\n", path.display()),
        "n",
    );
    let stats = run.stats.expect("statistics");
    let file = &stats["files"][0];
    assert_eq!(file["outcome"], "refused", "{stats}");
    assert!(
        file["reason"]
            .as_str()
            .is_some_and(|r| r.contains("refused to receive")),
        "{stats}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(home.downloaded().is_empty(), "{:?}", home.downloaded());
    assert!(
        agent
            .audit_lines()
            .iter()
            .any(|line| line["action"]["action_answered"]["approved"] == false)
    );
}

#[test]
fn a_fetched_file_reaches_the_technicians_downloads_byte_for_byte() {
    let x = Xvfb::start(640, 480);
    let home = Home::new();
    let viewer_home = Home::new();
    let mut agent = agent_in(&home, &x);
    let bytes = content(1_500_000);
    std::fs::create_dir_all(home.path().join("Documents")).unwrap();
    std::fs::write(home.path().join("Documents/notes.txt"), &bytes).unwrap();
    let (run, question, viewer_audit) = run_script(
        &mut agent,
        &viewer_home,
        "fetch ~/Documents/notes.txt\n",
        "y",
    );
    // The end user saw the full path and the size.
    assert!(
        question.contains(&format!(
            "send the file {} (1.5 MB) to the technician",
            home.path().join("Documents/notes.txt").display()
        )),
        "{question}"
    );
    assert!(run.success, "{}", run.stderr);
    let stats = run.stats.expect("statistics");
    let file = &stats["files"][0];
    assert_eq!(file["outcome"], "done", "{stats}");
    let saved = viewer_home.downloads().join("notes.txt");
    assert_eq!(file["saved_as"], saved.display().to_string().as_str());
    assert_eq!(std::fs::read(&saved).unwrap(), bytes);
    assert_eq!(viewer_home.downloaded(), vec!["notes.txt"]);
    let sha256 = sha256_of(&bytes[..]).unwrap().1.to_string();
    assert!(viewer_audit.iter().any(|line| {
        line["action"]["action"]["summary"]
            .as_str()
            .is_some_and(|s| s.contains(&sha256) && s.contains("notes.txt"))
    }));
    assert!(agent.audit_lines().iter().any(|line| {
        line["action"]["action"]["summary"]
            .as_str()
            .is_some_and(|s| {
                s.contains(&sha256) && s.ends_with("the technician saved it as \"notes.txt\"")
            })
    }));
}

#[test]
fn a_traversal_name_from_a_hostile_viewer_lands_made_safe_inside_downloads() {
    let x = Xvfb::start(640, 480);
    let home = Home::new();
    let mut agent = agent_in(&home, &x);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let technician = Technician::new();
    let bytes = b"export PATH=/tmp/evil:$PATH\n".to_vec();
    let (size, sha256) = sha256_of(&bytes[..]).unwrap();
    let offer = FileOffer {
        id: 41,
        name: "../../.bashrc".to_owned(),
        size,
        sha256,
    };
    let mut peer = runtime
        .block_on(RawPeer::open(
            &technician,
            HONEST_IP,
            &agent.address,
            &agent.code(),
            ScopeSet::from([lifeline_protocol::Scope::FileTransfer]),
        ))
        .unwrap();
    runtime.block_on(peer.activate()).unwrap();
    // The viewer's own checks are skipped: the offer goes as raw bytes.
    runtime
        .block_on(peer.send_raw(&ControlMessage::FileOffer(offer.clone())))
        .unwrap();
    assert!(
        agent.wait_for_output("asks to move a file", Duration::from_secs(20)),
        "{}",
        agent.stdout()
    );
    assert!(
        agent.stdout().contains(&format!(
            "receive the file _._.bashrc (28 bytes) into {}",
            home.downloads().display()
        )),
        "{}",
        agent.stdout()
    );
    agent.type_line("y");
    let accepted = runtime.block_on(async {
        for _ in 0..10 {
            for message in peer.read_messages().await? {
                if matches!(message, ControlMessage::FileAccepted(ref a) if a.id == 41) {
                    return Ok(());
                }
            }
        }
        Err("no FileAccepted".to_owned())
    });
    accepted.unwrap();
    let saved = runtime.block_on(async {
        let mut stream = peer
            .connection
            .open_uni()
            .await
            .map_err(|e| e.to_string())?;
        stream
            .write_all(&encode_stream_header(&offer).unwrap())
            .await
            .map_err(|e| e.to_string())?;
        stream.write_all(&bytes).await.map_err(|e| e.to_string())?;
        stream.finish().map_err(|e| e.to_string())?;
        for _ in 0..10 {
            for message in peer.read_messages().await? {
                if let ControlMessage::FileReceived(received) = message {
                    return Ok(received.saved_as);
                }
            }
        }
        Err("no FileReceived".to_owned())
    });
    assert_eq!(saved.unwrap(), "_._.bashrc");
    assert_eq!(
        std::fs::read(home.downloads().join("_._.bashrc")).unwrap(),
        bytes
    );
    assert!(!home.path().join(".bashrc").exists());
    assert_eq!(home.downloaded(), vec!["_._.bashrc"]);
    // The audit keeps the name as it was offered.
    assert!(agent.audit_lines().iter().any(|line| {
        line["action"]["action_requested"]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("\"../../.bashrc\""))
    }));
    let _ = runtime.block_on(peer.leave());
    assert!(wait_until(Duration::from_secs(10), || agent
        .stdout()
        .contains("The session has ended")));
}

#[test]
fn a_200_mb_file_moves_in_bounded_memory() {
    let x = Xvfb::start(640, 480);
    let home = Home::new();
    let viewer_home = Home::new();
    let mut agent = agent_in(&home, &x);
    let local = tempfile::tempdir().unwrap();
    let path = local.path().join("disk.img");
    {
        use std::io::Write as _;
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let piece = content(1_000_000);
        for n in 0..200u8 {
            file.write_all(&[n]).unwrap();
            file.write_all(&piece[1..]).unwrap();
        }
    }
    let expected = sha256_of(std::fs::File::open(&path).unwrap()).unwrap();
    let before = peak_rss_kib(agent.pid()).unwrap();
    // Files only: no video, so what grows is what the transfer holds.
    let (run, _, _) = run_script_asking(
        &mut agent,
        &viewer_home,
        &format!("send {}\n", path.display()),
        "y",
        "files",
    );
    assert!(run.success, "{}", run.stderr);
    let stats = run.stats.expect("statistics");
    assert_eq!(stats["files"][0]["outcome"], "done", "{stats}");
    let saved = home.downloads().join("disk.img");
    assert_eq!(
        sha256_of(std::fs::File::open(&saved).unwrap()).unwrap(),
        expected
    );
    let after = peak_rss_kib(agent.pid()).unwrap();
    let grown_kib = after.saturating_sub(before);
    assert!(
        grown_kib < 64 * 1024,
        "the agent's peak memory grew by {grown_kib} KiB for a 200 MB file"
    );
}
