//! Hostile peers for the end-to-end tests, and the checks every hostile case ends with.
//!
//! - [`RawPeer`]: a viewer that speaks the protocol honestly when asked to and breaks it
//!   on purpose otherwise (raw bytes on the control stream, messages out of phase,
//!   floods), over the viewer's real QUIC and TLS set-up, from any loopback address
//!   ([`ATTACKER_IP`] keeps the attacker apart from the honest viewer on 127.0.0.1).
//! - [`Fixture`]: one Xvfb with a typing target and one agent, shared by the cases of
//!   a test. [`Fixture::assert_survived`] checks what must hold after every case: the
//!   agent is still running, its peak memory stayed under [`AGENT_PEAK_RSS_LIMIT_KIB`],
//!   nothing was typed and the pointer did not move, and an honest headless viewer
//!   still gets a session and a frame.
//! - [`peak_rss_kib`] and [`rss_kib`] read a process's memory from `/proc`.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use lifeline_protocol::framing::{ControlReader, encode_control};
use lifeline_protocol::message::{
    AuthRejection, Capabilities, ControlMessage, ErrorReport, SessionEnd,
};
use lifeline_protocol::session::{Credential, Phase, ViewerConfig, ViewerEvent, ViewerSession};
use lifeline_protocol::version::SUPPORTED_VERSIONS;
use lifeline_protocol::{OneTimeCode, ScopeSet};

use crate::{Agent, Guarded, Xvfb, run_headless_viewer, wait_until};

/// The attacker's address: loopback, but not the honest viewer's 127.0.0.1.
pub const ATTACKER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
/// The honest viewer's address.
pub const HONEST_IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// The agent's peak resident memory must stay below this through every hostile case.
/// On a 640x480 display an agent holds about 15 MB at start and its peak reaches about
/// 70 MB after a dozen sessions (encoder, buffers the allocator keeps).
pub const AGENT_PEAK_RSS_LIMIT_KIB: u64 = 160 * 1024;
/// Where the fixture keeps the pointer: over the xterm that records typed keys.
pub const POINTER_HOME: (i32, i32) = (200, 150);

/// Puts the pointer back at [`POINTER_HOME`] on `x`.
pub fn put_pointer_home(x: &Xvfb) {
    let (column, row) = POINTER_HOME;
    x.run(
        "xdotool",
        &["mousemove", &column.to_string(), &row.to_string()],
    );
}

/// Longest wait for any answer from the agent.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// A process's current resident memory in KiB (`VmRSS`), if it runs.
pub fn rss_kib(pid: u32) -> Option<u64> {
    proc_status_kib(pid, "VmRSS:")
}

/// A process's peak resident memory in KiB (`VmHWM`), if it runs.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    proc_status_kib(pid, "VmHWM:")
}

fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A technician key of its own, kept in a temporary directory.
#[derive(Debug)]
pub struct Technician {
    /// The key and its certificate.
    pub identity: lifeline_viewer::identity::Identity,
    _dir: tempfile::TempDir,
}

impl Technician {
    /// A fresh key.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let identity = lifeline_viewer::identity::load_or_create(dir.path()).expect("a key");
        Self {
            identity,
            _dir: dir,
        }
    }
}

impl Default for Technician {
    fn default() -> Self {
        Self::new()
    }
}

/// Opens a QUIC connection to `address` from `source` (port chosen by the system), with
/// the viewer's own TLS and transport configuration.
pub async fn connect_from(
    technician: &Technician,
    source: IpAddr,
    address: &str,
) -> Result<quinn::Connection, String> {
    let target: SocketAddr = address.parse().map_err(|err| format!("{address}: {err}"))?;
    let mut endpoint =
        quinn::Endpoint::client(SocketAddr::new(source, 0)).map_err(|err| err.to_string())?;
    endpoint.set_default_client_config(
        lifeline_viewer::net::client_config(&technician.identity).map_err(|e| e.to_string())?,
    );
    let connecting = endpoint
        .connect(target, "lifeline")
        .map_err(|err| err.to_string())?;
    match tokio::time::timeout(ANSWER_TIMEOUT, connecting).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err("no QUIC handshake within 20 s".to_owned()),
    }
}

/// The viewer's state machine for `connection`, proving `code`.
pub fn viewer_session(
    technician: &Technician,
    connection: &quinn::Connection,
    code: &str,
    requested: ScopeSet,
) -> ViewerSession {
    ViewerSession::new(ViewerConfig {
        local: technician.identity.key.public_key().fingerprint(),
        peer: lifeline_viewer::net::peer_fingerprint(connection).expect("the agent's key"),
        channel_binding: lifeline_viewer::net::channel_binding(connection)
            .expect("a channel binding"),
        credential: Credential::Code(OneTimeCode::parse(code).expect("a well-formed code")),
        certificate: None,
        technician_name: "Mallory".to_owned(),
        requested,
        reason: "hostile test".to_owned(),
        software_version: "hostile".to_owned(),
        versions: SUPPORTED_VERSIONS.to_vec(),
        capabilities: Capabilities::H264,
    })
}

/// How the agent ended a session, as the peer saw it.
#[derive(Debug, Default)]
pub struct Ending {
    /// The agent's goodbye, if it sent one.
    pub session_end: Option<SessionEnd>,
    /// An authentication rejection, if one came.
    pub auth_rejected: Option<AuthRejection>,
    /// Error reports received.
    pub errors: Vec<ErrorReport>,
    /// Whether the agent finished the stream or closed the connection.
    pub closed: bool,
}

impl Ending {
    /// The goodbye's reason in words, or what happened instead.
    pub fn reason(&self) -> String {
        match &self.session_end {
            Some(end) => end.reason.detail(),
            None if self.closed => "closed without a goodbye".to_owned(),
            None => "still open".to_owned(),
        }
    }
}

/// A viewer connection whose every byte the test controls.
#[derive(Debug)]
pub struct RawPeer {
    /// The QUIC connection.
    pub connection: quinn::Connection,
    /// The control stream, sending half.
    pub send: quinn::SendStream,
    /// The control stream, receiving half.
    pub recv: quinn::RecvStream,
    /// An honest viewer state machine, used by [`RawPeer::drive`].
    pub viewer: ViewerSession,
    reader: ControlReader,
    /// Every message the agent sent so far.
    pub received: Vec<ControlMessage>,
}

impl RawPeer {
    /// Connects from `source` and opens the control stream; nothing is sent yet. The
    /// state machine will prove `code` (which may be wrong) and ask for `requested`.
    pub async fn open(
        technician: &Technician,
        source: IpAddr,
        address: &str,
        code: &str,
        requested: ScopeSet,
    ) -> Result<Self, String> {
        let connection = connect_from(technician, source, address).await?;
        let viewer = viewer_session(technician, &connection, code, requested);
        let (send, recv) = connection.open_bi().await.map_err(|err| err.to_string())?;
        Ok(Self {
            connection,
            send,
            recv,
            viewer,
            reader: ControlReader::new(),
            received: Vec::new(),
        })
    }

    /// Sends bytes on the control stream exactly as given.
    pub async fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.send
            .write_all(bytes)
            .await
            .map_err(|err| err.to_string())
    }

    /// Sends one framed message, without any of the viewer's own checks.
    pub async fn send_raw(&mut self, message: &ControlMessage) -> Result<(), String> {
        let bytes = encode_control(message).map_err(|err| err.to_string())?;
        self.send_bytes(&bytes).await
    }

    /// Sends what the honest state machine queued.
    pub async fn flush(&mut self) -> Result<(), String> {
        while let Some(message) = self.viewer.poll_transmit() {
            self.send_raw(&message).await?;
        }
        Ok(())
    }

    /// Reads the next messages from the agent (waiting up to 20 s); an empty list when
    /// the stream ended.
    pub async fn read_messages(&mut self) -> Result<Vec<ControlMessage>, String> {
        let mut buffer = vec![0u8; 65536];
        let read = tokio::time::timeout(ANSWER_TIMEOUT, self.recv.read(&mut buffer))
            .await
            .map_err(|_| "the agent did not answer within 20 s".to_owned())?;
        match read {
            Ok(Some(n)) => {
                let messages = self
                    .reader
                    .feed(&buffer[..n])
                    .map_err(|err| format!("the agent's bytes do not decode: {err}"))?;
                self.received.extend(messages.iter().cloned());
                Ok(messages)
            }
            Ok(None) => Ok(Vec::new()),
            Err(err) => Err(format!("the control stream failed: {err}")),
        }
    }

    /// Plays the honest protocol until `until` holds for the viewer's phase.
    /// Messages the state machine queued when `until` came to hold stay unsent (the
    /// caller may send them with [`RawPeer::flush`], or not).
    pub async fn drive(&mut self, until: impl Fn(Phase) -> bool) -> Result<(), String> {
        loop {
            if until(self.viewer.phase()) {
                return Ok(());
            }
            self.flush().await?;
            if self.viewer.phase() == Phase::Closed {
                return Err(format!(
                    "the session ended: {:?}",
                    self.received.last().map(ControlMessage::kind)
                ));
            }
            let messages = self.read_messages().await?;
            if messages.is_empty() {
                return Err("the agent ended the control stream".to_owned());
            }
            for message in messages {
                let _ = self.viewer.handle_control(message);
            }
            while let Some(event) = self.viewer.poll_event() {
                if let ViewerEvent::Ended(end) = event {
                    return Err(format!("the session ended: {}", end.reason.detail()));
                }
            }
        }
    }

    /// Plays the honest protocol up to an active session (someone must say yes on the
    /// agent's terminal).
    pub async fn activate(&mut self) -> Result<(), String> {
        self.drive(|phase| phase == Phase::Active).await
    }

    /// Says goodbye as an honest viewer would, and waits for the agent to close.
    pub async fn leave(&mut self) -> Ending {
        let goodbye = ControlMessage::SessionEnd(SessionEnd {
            by: lifeline_protocol::version::Role::Viewer,
            reason: lifeline_protocol::message::EndReason::DisconnectedByTechnician,
        });
        let _ = self.send_raw(&goodbye).await;
        self.until_ended().await
    }

    /// Reads until the agent ends the session (a goodbye and the end of the stream, or
    /// the connection closed), then closes the connection.
    pub async fn until_ended(&mut self) -> Ending {
        let mut ending = Ending::default();
        loop {
            match self.read_messages().await {
                Ok(messages) if messages.is_empty() => {
                    ending.closed = true;
                    break;
                }
                Ok(messages) => {
                    for message in messages {
                        match message {
                            ControlMessage::SessionEnd(end) => ending.session_end = Some(end),
                            ControlMessage::AuthRejected(rejection) => {
                                ending.auth_rejected = Some(rejection);
                            }
                            ControlMessage::Error(report) => ending.errors.push(report),
                            _ => {}
                        }
                    }
                }
                Err(err) => {
                    ending.closed = !err.contains("did not answer");
                    break;
                }
            }
        }
        self.connection
            .close(quinn::VarInt::from_u32(0), b"hostile test done");
        ending
    }
}

/// One Xvfb with a typing target and one agent, shared by the cases of a test.
#[derive(Debug)]
pub struct Fixture {
    /// The agent.
    pub agent: Agent,
    /// The attacker's technician key.
    pub technician: Technician,
    /// The runtime the hostile peers run on.
    pub runtime: tokio::runtime::Runtime,
    typed: PathBuf,
    _xterm: Guarded,
    /// The display (dropped last).
    pub x: Xvfb,
    _dir: tempfile::TempDir,
}

impl Fixture {
    /// Starts a 640x480 display with an xterm that records every key typed into it, puts
    /// the pointer at [`POINTER_HOME`] over it (keys go to the window under the pointer:
    /// anything typed on this display lands in the file), and starts an agent with
    /// terminal consent.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Like [`Fixture::start`], with extra agent arguments.
    pub fn start_with(agent_args: &[&str]) -> Self {
        let x = Xvfb::start(640, 480);
        let dir = tempfile::tempdir().expect("a temporary directory");
        let typed = dir.path().join("typed.txt");
        let xterm = x.xterm(
            "60x10+100+100",
            &format!("stty -icanon -echo; exec cat > {}", typed.display()),
        );
        put_pointer_home(&x);
        let agent = Agent::start_with(&x.display, agent_args);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        Self {
            agent,
            technician: Technician::new(),
            runtime,
            typed,
            _xterm: xterm,
            x,
            _dir: dir,
        }
    }

    /// Runs a hostile peer to completion.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// A hostile peer from [`ATTACKER_IP`] with the current code, connected, with its
    /// control stream open.
    pub fn peer(&self, requested: ScopeSet) -> RawPeer {
        let code = self.agent.code();
        self.block_on(RawPeer::open(
            &self.technician,
            ATTACKER_IP,
            &self.agent.address,
            &code,
            requested,
        ))
        .expect("the attacker connects")
    }

    /// Where the audit log is now (its number of records).
    pub fn audit_mark(&self) -> usize {
        self.agent.audit_lines().len()
    }

    /// Waits until a record after `mark` satisfies `wanted`; fails with `what` and the new
    /// records otherwise. Returns the new records.
    pub fn expect_audit(
        &self,
        mark: usize,
        what: &str,
        wanted: impl Fn(&serde_json::Value) -> bool,
    ) -> Vec<serde_json::Value> {
        let found = wait_until(Duration::from_secs(10), || {
            self.agent.audit_lines().iter().skip(mark).any(&wanted)
        });
        let records: Vec<serde_json::Value> =
            self.agent.audit_lines().into_iter().skip(mark).collect();
        if !found {
            let log = self.agent.stderr();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            panic!(
                "no audit record of {what}; new records: {records:#?}\nthe agent logged, \
                 last first:\n{}",
                tail.join("\n")
            );
        }
        records
    }

    /// How many sessions the agent's terminal has shown ending so far for a reason
    /// that mentions `reason`.
    pub fn sessions_ended_on_terminal(&self, reason: &str) -> usize {
        self.agent
            .stdout()
            .lines()
            .filter(|line| line.starts_with("The session has ended") && line.contains(reason))
            .count()
    }

    /// Waits until the agent's terminal shows more than `before` sessions ended for
    /// `reason`: a question it asked for that session is then withdrawn, and the next
    /// answer typed goes to the next question.
    pub fn wait_for_session_end_on_terminal(&self, reason: &str, before: usize) {
        assert!(
            wait_until(Duration::from_secs(10), || {
                self.sessions_ended_on_terminal(reason) > before
            }),
            "the agent's terminal did not show the end of the session: {}",
            self.agent.stdout()
        );
    }

    /// Everything typed into the xterm so far.
    pub fn typed(&self) -> String {
        std::fs::read_to_string(&self.typed).unwrap_or_default()
    }

    /// The checks after every case: the agent runs, its peak memory stayed bounded,
    /// nothing reached the desktop, and an honest viewer still gets a session and a
    /// frame.
    pub fn assert_survived(&mut self, case: &str) {
        assert!(
            self.agent.is_running(),
            "{case}: the agent died: {}",
            self.agent.stderr()
        );
        let peak = peak_rss_kib(self.agent.pid()).unwrap_or(0);
        assert!(
            peak < AGENT_PEAK_RSS_LIMIT_KIB,
            "{case}: the agent's peak memory is {peak} KiB (limit {AGENT_PEAK_RSS_LIMIT_KIB})"
        );
        assert_eq!(self.typed(), "", "{case}: text reached the desktop");
        assert_eq!(self.x.pointer(), POINTER_HOME, "{case}: the pointer moved");
        self.assert_serves_honest_viewer(case);
    }

    /// An honest headless viewer gets a session and a frame.
    pub fn assert_serves_honest_viewer(&mut self, case: &str) {
        self.agent.type_line("y");
        let mut last = String::new();
        // The hostile session may still be saying goodbye, holding the end user's
        // attention for a moment: the honest viewer is then turned away and tries again
        // (the "y" typed above waits for its prompt).
        for _ in 0..5 {
            let run =
                run_headless_viewer(&self.agent.address, &self.agent.code(), &["--frames", "1"]);
            if run.success {
                return;
            }
            last = run.stderr;
            if !last.contains("another technician") {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        let agent_said = self.agent.stdout();
        let tail: String = agent_said
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        panic!(
            "{case}: an honest viewer no longer gets a session: {last}\nthe agent's terminal \
             ended with:\n{tail}"
        );
    }
}

/// Whether an audit record is the refusal of a protocol violation whose reason
/// mentions `detail`.
pub fn is_violation(record: &serde_json::Value, detail: &str) -> bool {
    record["action"]["refused"]["message"] == "protocol violation"
        && record["outcome"]["refused"]["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains(detail))
}

/// Whether an audit record is a session's end whose reason mentions `reason`.
pub fn is_session_end(record: &serde_json::Value, reason: &str) -> bool {
    record["action"]["session_ended"]["reason"]
        .as_str()
        .is_some_and(|text| text.contains(reason))
}

/// Whether an audit record is an authentication whose outcome is `outcome` (`failed`,
/// `refused`) for a reason that mentions `reason`.
pub fn is_authentication(record: &serde_json::Value, outcome: &str, reason: &str) -> bool {
    record["action"] == "authentication"
        && record["outcome"][outcome]["reason"]
            .as_str()
            .is_some_and(|text| text.contains(reason))
}

/// Whether an audit record is the refusal of a `message` kind for lack of `scope`.
pub fn is_refusal(record: &serde_json::Value, message: &str, scope: &str) -> bool {
    record["action"]["refused"]["message"] == message && record["scope"] == scope
}

/// A named hostile case: it runs against the fixture and asserts its own outcome;
/// [`run_cases`] then checks [`Fixture::assert_survived`].
pub type Case = (&'static str, fn(&mut Fixture));

/// Runs every case in order against one fixture, each followed by
/// [`Fixture::assert_survived`]; a failing case does not stop the others, and the test
/// fails at the end naming every case that failed.
pub fn run_cases(fixture: &mut Fixture, cases: &[Case]) {
    let mut failed = Vec::new();
    // LIFELINE_HOSTILE_CASE=words runs only the cases whose name contains them.
    let only = std::env::var("LIFELINE_HOSTILE_CASE").unwrap_or_default();
    for (name, case) in cases.iter().filter(|(name, _)| name.contains(&only)) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            case(fixture);
            fixture.assert_survived(name);
        }));
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failed.push(format!("{name}: {message}"));
        }
    }
    assert!(
        failed.is_empty(),
        "{} hostile cases failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

/// A headless viewer run, watched while it ran.
#[derive(Debug)]
pub struct ViewerWatch {
    /// How it exited.
    pub status: std::process::ExitStatus,
    /// What it logged.
    pub stderr: String,
    /// Its peak resident memory, in KiB, as last seen before it exited.
    pub peak_rss_kib: u64,
    /// Its statistics, when written.
    pub stats: Option<serde_json::Value>,
}

impl ViewerWatch {
    /// Whether it exited with status 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }
}

/// Runs `lifeline-viewer connect ADDRESS --code CODE --headless ARGS…` to completion
/// (at most two minutes), reading its peak memory from /proc every 20 ms meanwhile.
pub fn watch_headless_viewer(address: &str, code: &str, args: &[&str]) -> ViewerWatch {
    use std::io::Read;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let stats_path = dir.path().join("stats.json");
    let mut child = std::process::Command::new(crate::workspace_binary("lifeline-viewer"))
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "connect",
            address,
            "--code",
            code,
            "--headless",
            "--name",
            "Test Technician",
        ])
        .arg("--stats")
        .arg(&stats_path)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the viewer binary runs (cargo build --workspace --bins)");
    let mut stderr_pipe = child.stderr.take().expect("piped stderr");
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    let pid = child.id();
    let mut child = Guarded(child);
    let mut peak = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Ok(Some(status)) = child.0.try_wait() {
            break status;
        }
        peak = peak.max(peak_rss_kib(pid).unwrap_or(0));
        if std::time::Instant::now() > deadline {
            let _ = child.0.kill();
            let _ = child.0.wait();
            let log = stderr.join().unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            panic!(
                "the viewer did not finish within two minutes; it logged, last first:\n{}",
                tail.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    ViewerWatch {
        status,
        stderr: stderr.join().unwrap_or_default(),
        peak_rss_kib: peak,
        stats: std::fs::read(&stats_path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok()),
    }
}
