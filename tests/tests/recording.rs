//! Recording a real session on Xvfb with the headless viewer: the recording replays the
//! pictures the technician saw, survives the recorder being killed, names the chunk a
//! person changed, and exports to an MP4 that ffprobe reads.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use lifeline_tests::{
    Agent, Guarded, Image, Xvfb, run_headless_viewer_in, wait_until, workspace_binary,
};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;

/// `lifeline-viewer recording ARGS…`: exit code and standard output.
fn recording(args: &[&str]) -> (i32, String) {
    let output = Command::new(workspace_binary("lifeline-viewer"))
        .arg("recording")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the viewer binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

/// The chunks of a recording as (offset, length), read with nothing but the documented
/// layout: a 58-byte head whose bytes 22..26 hold the body length, the body, and 36
/// bytes of hash and length.
fn chunks(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset + 58 <= bytes.len() {
        assert_eq!(
            &bytes[offset..offset + 4],
            b"LLRC",
            "a chunk starts at {offset}"
        );
        let body = u32::from_be_bytes(bytes[offset + 22..offset + 26].try_into().unwrap());
        let len = 58 + body as usize + 36;
        out.push((offset, len));
        offset += len;
    }
    out
}

/// A terminal that prints a line every 100 ms for `lines` lines, then stays still.
fn busy_terminal(x: &Xvfb, lines: u32) -> Guarded {
    x.xterm(
        "100x30+20+20",
        &format!("for i in $(seq 1 {lines}); do echo \"recorded line $i of the session\"; sleep 0.1; done; sleep 600"),
    )
}

fn ffprobe(mp4: &Path) -> serde_json::Value {
    let output = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,width,height,nb_read_frames:format=duration",
            "-of",
            "json",
        ])
        .arg(mp4)
        .output()
        .expect("ffprobe runs (scripts/setup-system.sh installs ffmpeg)");
    assert!(
        output.status.success(),
        "ffprobe failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn a_recorded_session_replays_what_the_technician_saw_and_tampering_is_named() {
    let x = Xvfb::start(WIDTH, HEIGHT);
    let _terminal = busy_terminal(&x, 600);
    let mut agent = Agent::start(&x.display);
    agent.type_line("y");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("session.llrec");
    let run = run_headless_viewer_in(
        dir.path(),
        &agent.address,
        &agent.code(),
        &["--seconds", "5", "--record", path_str(&file)],
    );
    assert!(run.success, "viewer failed: {}", run.stderr);
    assert!(
        agent.stdout().contains("Record this session"),
        "the end user was asked about recording: {}",
        agent.stdout()
    );
    // And was told, for as long as it lasted, that the technician recorded.
    assert!(
        agent
            .stdout()
            .contains("● This session is being recorded by the technician"),
        "{}",
        agent.stdout()
    );
    assert!(
        agent
            .audit_lines()
            .iter()
            .any(|line| line["action"]["action"]["summary"] == "the technician started recording")
    );

    // Intact, finished, signed by the technician's key.
    let (code, out) = recording(&["verify", path_str(&file)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("result: OK"), "{out}");

    // The last picture of the recording is the last picture the technician saw.
    let live = run.frame.expect("the live frame");
    let replayed_path = dir.path().join("replayed.png");
    let (code, out) = recording(&[
        "export",
        path_str(&file),
        "--screenshot",
        "end",
        path_str(&replayed_path),
    ]);
    assert_eq!(code, 0, "{out}");
    let replayed = Image::load(&replayed_path);
    assert_eq!((replayed.width, replayed.height), (WIDTH, HEIGHT));
    assert!(
        replayed == live,
        "the replayed picture differs from the live one (PSNR {:.1} dB)",
        replayed.psnr(&live)
    );

    // Every decoded frame is in the recording, and in the MP4.
    let events_path = dir.path().join("events.json");
    let mp4 = dir.path().join("session.mp4");
    let (code, out) = recording(&[
        "export",
        path_str(&file),
        "--mp4",
        path_str(&mp4),
        "--events",
        path_str(&events_path),
    ]);
    assert_eq!(code, 0, "{out}");
    let events: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&events_path).unwrap()).unwrap();
    let frames = events["video_frames"].as_u64().unwrap();
    let stats = run.stats.expect("statistics");
    assert_eq!(frames, stats["frames"].as_u64().unwrap(), "{stats}");
    assert!(frames >= 10, "only {frames} frames were recorded");
    let names: Vec<String> = events["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["record"].as_object()?.keys().next().cloned())
        .collect();
    assert_eq!(
        names.first().map(String::as_str),
        Some("consent_granted"),
        "{names:?}"
    );
    assert_eq!(
        names.last().map(String::as_str),
        Some("session_ended"),
        "{names:?}"
    );
    assert!(names.contains(&"resolution".to_owned()));
    let probe = ffprobe(&mp4);
    let stream = &probe["streams"][0];
    assert_eq!(stream["codec_name"], "h264");
    assert_eq!(stream["width"], WIDTH);
    assert_eq!(stream["height"], HEIGHT);
    assert_eq!(
        stream["nb_read_frames"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap(),
        frames
    );
    let duration: f64 = probe["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (3.5..=7.0).contains(&duration),
        "a 5-second session exported as {duration} s"
    );

    // A person changes the file: verify names the chunk.
    let bytes = std::fs::read(&file).unwrap();
    let list = chunks(&bytes);
    assert_eq!(list.iter().map(|(_, len)| len).sum::<usize>(), bytes.len());
    let k = list.len() / 2;
    let tampered = |name: &str, content: Vec<u8>| -> (i32, String) {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        recording(&["verify", path_str(&path)])
    };

    let mut flipped = bytes.clone();
    flipped[list[k].0 + 60] ^= 0x01;
    let (code, out) = tampered("flipped.llrec", flipped);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("chunk {k} (at byte {}) is damaged", list[k].0)),
        "{out}"
    );

    let mut cut = bytes[..list[k].0].to_vec();
    cut.extend_from_slice(&bytes[list[k].0 + list[k].1..]);
    let (code, out) = tampered("cut.llrec", cut);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("chunk {k} is missing")), "{out}");

    let (a, b) = (list[k], list[k + 1]);
    let mut swapped = bytes[..a.0].to_vec();
    swapped.extend_from_slice(&bytes[b.0..b.0 + b.1]);
    swapped.extend_from_slice(&bytes[a.0..a.0 + a.1]);
    swapped.extend_from_slice(&bytes[b.0 + b.1..]);
    let (code, out) = tampered("swapped.llrec", swapped);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("chunk {} stands where chunk {k} belongs", k + 1)),
        "{out}"
    );
}

#[test]
fn a_killed_recorder_leaves_a_recording_that_verifies_and_plays() {
    let x = Xvfb::start(WIDTH, HEIGHT);
    // The screen changes for 8 seconds (long enough for a slow machine to start the
    // agent and the recorder while it moves), then stays still.
    let _terminal = busy_terminal(&x, 80);
    let mut agent = Agent::start(&x.display);
    agent.type_line("y");
    let dir = tempfile::tempdir().unwrap();
    let file: PathBuf = dir.path().join("killed.llrec");
    let mut viewer = Guarded(
        Command::new(workspace_binary("lifeline-viewer"))
            .arg("--data-dir")
            .arg(dir.path())
            .args([
                "connect",
                &agent.address,
                "--code",
                &agent.code(),
                "--headless",
            ])
            .args(["--seconds", "120", "--record", path_str(&file)])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the viewer binary runs"),
    );
    assert!(
        wait_until(Duration::from_secs(30), || agent
            .stdout()
            .contains("Record this session")
            && std::fs::metadata(&file).is_ok_and(|m| m.len() > 20_000)),
        "the recording did not grow"
    );
    // Past the moving part, and long enough for its last chunk to reach the file.
    std::thread::sleep(Duration::from_secs(9));
    viewer.0.kill().expect("kill -9 the recorder");
    let _ = viewer.0.wait();

    let (code, out) = recording(&["verify", path_str(&file)]);
    assert_eq!(code, 2, "an incomplete recording: {out}");
    assert!(out.contains("result: INCOMPLETE"), "{out}");
    assert!(
        out.contains("without its final seal") || out.contains("cut off inside chunk"),
        "{out}"
    );

    let picture = dir.path().join("last.png");
    let mp4 = dir.path().join("killed.mp4");
    let (code, out) = recording(&[
        "export",
        path_str(&file),
        "--screenshot",
        "end",
        path_str(&picture),
        "--mp4",
        path_str(&mp4),
    ]);
    assert_eq!(code, 0, "{out}");
    let psnr = Image::load(&picture).psnr(&x.screenshot());
    assert!(
        psnr >= 30.0,
        "the last recorded picture is not the still screen ({psnr:.1} dB)"
    );
    let probe = ffprobe(&mp4);
    let frames: u64 = probe["streams"][0]["nb_read_frames"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(frames >= 10, "{frames} frames survived");
}
