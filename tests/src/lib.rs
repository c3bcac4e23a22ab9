//! Helpers for Lifeline's end-to-end tests, which run the real `lifeline-agent` and
//! `lifeline-viewer` binaries against an Xvfb display, as a person would use them.
//!
//! Every process a test starts is owned by a guard that kills it by PID when dropped;
//! nothing is ever killed by name. Waits poll with generous timeouts and never assert
//! on timings (the machine is shared and slow).
//!
//! This crate has no product code. The binaries must be built first
//! (`cargo build --workspace --bins`, which `scripts/test.sh` does).

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "test support: a step that cannot be done must fail the test loudly"
)]

pub mod hostile;

pub mod netns;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// Polls `condition` every 50 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process stopped (by PID) when dropped: asked to terminate, so that an X
/// server removes its lock file and socket, and killed if it is still there after a
/// second.
#[derive(Debug)]
pub struct Guarded(pub Child);

impl Drop for Guarded {
    fn drop(&mut self) {
        let asked = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        let gone = asked
            && wait_until(Duration::from_secs(1), || {
                matches!(self.0.try_wait(), Ok(Some(_)))
            });
        if !gone {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// An Xvfb display of its own.
#[derive(Debug)]
pub struct Xvfb {
    /// The display name, e.g. `:83`.
    pub display: String,
    _server: Guarded,
}

impl Xvfb {
    /// Starts Xvfb with one screen of `width`x`height`, on a display number nobody uses.
    pub fn start(width: u32, height: u32) -> Self {
        // Xvfb finds a free display number itself and writes it to the descriptor
        // given by -displayfd (its standard output here) once it accepts clients: no
        // race with the other test processes starting displays at the same time.
        // -noreset: by default the server resets when its last client leaves, and a
        // client connecting during that reset (an xterm starting just as a probe like
        // xdotool disconnects) fails with "Can't open display".
        let Ok(child) = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-noreset",
                "-screen",
                "0",
                &format!("{width}x{height}x24"),
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
        else {
            panic!("cannot start Xvfb: is it installed? (scripts/setup-system.sh installs it)");
        };
        let mut server = Guarded(child);
        let stdout = server.0.stdout.take().expect("piped stdout");
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let number: u32 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("Xvfb did not start (it said {line:?})"));
        Self {
            display: format!(":{number}"),
            _server: server,
        }
    }

    /// Runs an X client on this display.
    pub fn spawn(&self, program: &str, args: &[&str]) -> Guarded {
        let child = Command::new(program)
            .args(args)
            .env("DISPLAY", &self.display)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {program}: {err}"));
        Guarded(child)
    }

    /// Runs an X command to completion and returns its standard output.
    pub fn run(&self, program: &str, args: &[&str]) -> String {
        let output = Command::new(program)
            .args(args)
            .env("DISPLAY", &self.display)
            .output()
            .unwrap_or_else(|err| panic!("cannot run {program}: {err}"));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The whole screen as RGBA.
    pub fn screenshot(&self) -> Image {
        let output = Command::new("import")
            .args(["-window", "root", "png:-"])
            .env("DISPLAY", &self.display)
            .output()
            .unwrap_or_else(|err| panic!("cannot run import (imagemagick): {err}"));
        Image::decode_png(&output.stdout)
    }

    /// Where the X pointer is.
    pub fn pointer(&self) -> (i32, i32) {
        let text = self.run("xdotool", &["getmouselocation", "--shell"]);
        let value = |key: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(key))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(-1)
        };
        (value("X="), value("Y="))
    }

    /// Starts an xterm at the top left whose shell runs `command`; returns once its
    /// window is mapped.
    pub fn xterm(&self, geometry: &str, command: &str) -> Guarded {
        let xterm = self.spawn(
            "xterm",
            &[
                "-geometry",
                geometry,
                "-fa",
                "",
                "-fn",
                "9x15",
                "-e",
                "sh",
                "-c",
                command,
            ],
        );
        let mapped = wait_until(Duration::from_secs(15), || {
            !self
                .run("xdotool", &["search", "--onlyvisible", "--class", "xterm"])
                .trim()
                .is_empty()
        });
        assert!(mapped, "the xterm did not appear on {}", self.display);
        xterm
    }
}

/// An RGBA picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// RGBA bytes.
    pub rgba: Vec<u8>,
}

impl Image {
    /// Decodes a PNG (RGB or RGBA, 8 bits).
    pub fn decode_png(bytes: &[u8]) -> Self {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().expect("a PNG");
        let mut buffer = vec![0; reader.output_buffer_size().expect("a sane PNG size")];
        let info = reader.next_frame(&mut buffer).expect("a PNG frame");
        buffer.truncate(info.buffer_size());
        let rgba = match info.color_type {
            png::ColorType::Rgba => buffer,
            png::ColorType::Rgb => buffer
                .chunks(3)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect(),
            png::ColorType::Grayscale => buffer.iter().flat_map(|g| [*g, *g, *g, 255]).collect(),
            png::ColorType::GrayscaleAlpha => buffer
                .chunks(2)
                .flat_map(|p| [p[0], p[0], p[0], p[1]])
                .collect(),
            other => panic!("unexpected PNG colour type {other:?}"),
        };
        Self {
            width: info.width,
            height: info.height,
            rgba,
        }
    }

    /// Reads a PNG file.
    pub fn load(path: &Path) -> Self {
        Self::decode_png(
            &std::fs::read(path)
                .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display())),
        )
    }

    /// PSNR against `other` in dB (same size required), with lifeline-codec's metric.
    pub fn psnr(&self, other: &Image) -> f64 {
        assert_eq!(
            (self.width, self.height),
            (other.width, other.height),
            "sizes differ"
        );
        let stride = self.width as usize * 4;
        let a = lifeline_codec::BgraFrame::new(&self.rgba, self.width, self.height, stride)
            .expect("a frame");
        let b = lifeline_codec::BgraFrame::new(&other.rgba, other.width, other.height, stride)
            .expect("a frame");
        lifeline_codec::psnr(&a, &b).expect("comparable frames")
    }
}

/// A free UDP port on 127.0.0.1.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|socket| socket.local_addr())
        .map(|address| address.port())
        .expect("a free UDP port")
}

/// A running agent with terminal consent, its output collected.
#[derive(Debug)]
pub struct Agent {
    /// Its address.
    pub address: String,
    /// Its data directory (key, audit log).
    pub data_dir: tempfile::TempDir,
    stdin: Option<ChildStdin>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    process: Guarded,
}

impl Agent {
    /// Starts an agent on `display` with `--consent tty`.
    pub fn start(display: &str) -> Self {
        Self::start_with(display, &[])
    }

    /// Starts an agent with extra arguments.
    pub fn start_with(display: &str, extra: &[&str]) -> Self {
        Self::start_on(display, &format!("127.0.0.1:{}", free_udp_port()), extra)
    }

    /// Starts an agent listening on `address`, with extra arguments.
    pub fn start_on(display: &str, address: &str, extra: &[&str]) -> Self {
        Self::start_wrapped(&[], display, address, extra)
    }

    /// Like [`Agent::start_on`], run through `wrapper` (e.g. `ip netns exec NAME`,
    /// see [`netns::Link::agent_wrapper`]).
    pub fn start_wrapped(wrapper: &[String], display: &str, address: &str, extra: &[&str]) -> Self {
        let data_dir = tempfile::tempdir().expect("a temporary directory");
        let address = address.to_owned();
        let code_file = data_dir.path().join("code");
        let mut child = wrapped_command(wrapper, &workspace_binary("lifeline-agent"))
            .args([
                "--listen",
                &address,
                "--display",
                display,
                "--consent",
                "tty",
                "--lang",
                "en",
            ])
            .arg("--data-dir")
            .arg(data_dir.path())
            .arg("--code-file")
            .arg(&code_file)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the agent binary runs (cargo build --workspace --bins)");
        let stdin = child.stdin.take();
        let stdout = collect(child.stdout.take().expect("piped stdout"));
        let stderr = collect(child.stderr.take().expect("piped stderr"));
        let agent = Self {
            address,
            data_dir,
            stdin,
            stdout,
            stderr,
            process: Guarded(child),
        };
        assert!(
            wait_until(Duration::from_secs(20), || {
                // Attended agents show a code; services say who may connect without one.
                let out = agent.stdout();
                out.contains("one-time code") || out.contains("without a code")
            }),
            "the agent did not start: {}",
            agent.stderr()
        );
        agent
    }

    /// The current code, from the code file.
    pub fn code(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join("code"))
            .expect("the code file")
            .trim()
            .to_owned()
    }

    /// Types a line on the agent's terminal.
    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{line}").expect("the agent reads its terminal");
        stdin.flush().expect("flush");
    }

    /// Everything printed on standard output so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Everything logged so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Waits until standard output contains `text`.
    pub fn wait_for_output(&self, text: &str, timeout: Duration) -> bool {
        wait_until(timeout, || self.stdout().contains(text))
    }

    /// The audit log's lines.
    pub fn audit_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.data_dir.path().join("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// The agent's process id.
    pub fn pid(&self) -> u32 {
        self.process.0.id()
    }

    /// Whether the agent is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.process.0.try_wait(), Ok(None))
    }
}

/// `program`, or `wrapper… program` when a wrapper is given.
fn wrapped_command(wrapper: &[String], program: &Path) -> Command {
    match wrapper.split_first() {
        None => Command::new(program),
        Some((first, rest)) => {
            let mut command = Command::new(first);
            command.args(rest).arg(program);
            command
        }
    }
}

fn collect(stream: impl std::io::Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&text);
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let Ok(mut text) = sink.lock() {
                text.push_str(&line);
                text.push('\n');
            }
        }
    });
    text
}

/// The outcome of a headless viewer run.
#[derive(Debug)]
pub struct ViewerRun {
    /// Whether it exited with status 0.
    pub success: bool,
    /// What it logged.
    pub stderr: String,
    /// Its statistics, when written.
    pub stats: Option<serde_json::Value>,
    /// Its saved frame, when written.
    pub frame: Option<Image>,
}

/// Runs `lifeline-viewer connect ADDRESS --code CODE --headless ARGS…` to completion,
/// with its own data directory, saving a frame and statistics.
pub fn run_headless_viewer(address: &str, code: &str, args: &[&str]) -> ViewerRun {
    let dir = tempfile::tempdir().expect("a temporary directory");
    run_headless_viewer_in(dir.path(), address, code, args)
}

/// Starts a headless viewer on a thread of its own against `agent`, asking for
/// `scopes` and replaying the input `script`; join it for the run.
pub fn spawn_scripted_viewer(
    agent: &Agent,
    scopes: &str,
    script: &str,
) -> std::thread::JoinHandle<ViewerRun> {
    let (address, code) = (agent.address.clone(), agent.code());
    let (scopes, script) = (scopes.to_owned(), script.to_owned());
    std::thread::spawn(move || {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("script.txt");
        std::fs::write(&path, script).expect("the script is written");
        let path = path.display().to_string();
        run_headless_viewer(
            &address,
            &code,
            &["--scopes", &scopes, "--input-script", &path],
        )
    })
}

/// Like [`run_headless_viewer`], with a given data directory (to keep known agents).
pub fn run_headless_viewer_in(dir: &Path, address: &str, code: &str, args: &[&str]) -> ViewerRun {
    run_headless_viewer_wrapped(&[], dir, address, code, args)
}

/// Like [`run_headless_viewer_in`], run through `wrapper` (e.g. `ip netns exec NAME`,
/// see [`netns::Link::viewer_wrapper`]).
pub fn run_headless_viewer_wrapped(
    wrapper: &[String],
    dir: &Path,
    address: &str,
    code: &str,
    args: &[&str],
) -> ViewerRun {
    let frame_path = dir.join("frame.png");
    let stats_path = dir.join("stats.json");
    // Nothing from an earlier run in the same directory may pass for this run's output.
    let _ = std::fs::remove_file(&frame_path);
    let _ = std::fs::remove_file(&stats_path);
    let output = wrapped_command(wrapper, &workspace_binary("lifeline-viewer"))
        .arg("--data-dir")
        .arg(dir)
        .args(["connect", address])
        // No code: the caller passes another credential (--resume, --unattended).
        .args(if code.is_empty() {
            vec![]
        } else {
            vec!["--code", code]
        })
        .args(["--headless", "--name", "Test Technician"])
        .arg("--save-frame")
        .arg(&frame_path)
        .arg("--stats")
        .arg(&stats_path)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the viewer binary runs (cargo build --workspace --bins)");
    ViewerRun {
        success: output.status.success(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        stats: std::fs::read(&stats_path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok()),
        frame: frame_path.exists().then(|| Image::load(&frame_path)),
    }
}
