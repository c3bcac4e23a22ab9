//! Impaired networks for the end-to-end tests: the agent and the viewer each in a
//! network namespace of their own, joined by a veth pair, with a rate cap (`tc ...
//! tbf`) and a relay ([`Relay`], the `impaired-link` binary) that delays, drops and
//! cuts packets.
//!
//! Everything is created by the test and removed when its [`Link`] is dropped, panic
//! or not; names carry the test process's id so parallel tests never share one, and
//! namespaces left behind by a killed test process are removed by the next one. The
//! addresses (10.77.x.y/24) exist only inside these namespaces. The X display is
//! reached through its unix socket in /tmp, which every namespace sees.
//!
//! Needs root (or CAP_NET_ADMIN) and iproute2. [`Link::create_or_skip`] says what is
//! missing; under CI (`CI=true`) a missing capability fails the test instead of
//! skipping it.

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::Guarded;

/// Prefix of every namespace these helpers create.
const PREFIX: &str = "lltest";

/// Runs `ip ARGS`, returning its error output when it fails.
fn ip(args: &[&str]) -> Result<(), String> {
    run("ip", args)
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("cannot run {program}: {err} (is iproute2 installed?)"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Removes namespaces whose creating test process has gone (killed before its
/// [`Link`] was dropped).
fn remove_leftovers() {
    let Ok(output) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

/// Two namespaces joined by a veth pair: the agent's side and the viewer's side.
#[derive(Debug)]
pub struct Link {
    /// The agent's namespace.
    pub agent_ns: String,
    /// The viewer's namespace.
    pub viewer_ns: String,
    /// The agent's address.
    pub agent_ip: String,
    /// The viewer's current address.
    pub viewer_ip: String,
    subnet: String,
    agent_dev: String,
    viewer_dev: String,
}

impl Link {
    /// Creates the namespaces and the veth pair, both ends up.
    pub fn create() -> Result<Self, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        remove_leftovers();
        let pid = std::process::id();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        // The third octet only has to differ between the links of one process (the
        // namespaces keep links of different processes apart); varying it by process
        // too keeps logs readable.
        let subnet = format!("10.77.{}", (pid.wrapping_mul(7).wrapping_add(n)) % 250 + 1);
        let link = Self {
            agent_ns: format!("{PREFIX}{pid}-{n}a"),
            viewer_ns: format!("{PREFIX}{pid}-{n}v"),
            agent_ip: format!("{subnet}.1"),
            viewer_ip: format!("{subnet}.2"),
            subnet,
            agent_dev: format!("lla{n}"),
            viewer_dev: format!("llv{n}"),
        };
        // From here on, dropping `link` removes whatever was made.
        ip(&["netns", "add", &link.agent_ns])?;
        ip(&["netns", "add", &link.viewer_ns])?;
        ip(&[
            "link",
            "add",
            &link.agent_dev,
            "netns",
            &link.agent_ns,
            "type",
            "veth",
            "peer",
            "name",
            &link.viewer_dev,
            "netns",
            &link.viewer_ns,
        ])?;
        for (ns, dev, address) in [
            (&link.agent_ns, &link.agent_dev, &link.agent_ip),
            (&link.viewer_ns, &link.viewer_dev, &link.viewer_ip),
        ] {
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{address}/24"),
                "dev",
                dev,
            ])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        // A new address in the same subnet stays when the old one is removed.
        link.in_viewer_ns(
            "sh",
            &[
                "-c",
                &format!(
                    "echo 1 > /proc/sys/net/ipv4/conf/{}/promote_secondaries",
                    link.viewer_dev
                ),
            ],
        )?;
        Ok(link)
    }

    /// [`Link::create`], or: under CI a panic that says what is missing; elsewhere
    /// `None` after printing why the test is skipped.
    pub fn create_or_skip(test: &str) -> Option<Self> {
        match Self::create() {
            Ok(link) => Some(link),
            Err(reason) => {
                let message =
                    format!("{test}: needs network namespaces (root and iproute2): {reason}");
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "{message}. CI runs the tests as root; run them as root (or with \
                     CAP_NET_ADMIN) to test impaired networks."
                );
                #[allow(
                    clippy::print_stderr,
                    reason = "tells a developer why a test was skipped"
                )]
                {
                    eprintln!("SKIPPED {message}");
                }
                None
            }
        }
    }

    /// The words that run a program in the agent's namespace.
    pub fn agent_wrapper(&self) -> Vec<String> {
        ["ip", "netns", "exec", &self.agent_ns]
            .map(str::to_owned)
            .to_vec()
    }

    /// The words that run a program in the viewer's namespace.
    pub fn viewer_wrapper(&self) -> Vec<String> {
        ["ip", "netns", "exec", &self.viewer_ns]
            .map(str::to_owned)
            .to_vec()
    }

    fn in_viewer_ns(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let mut all = vec!["netns", "exec", &self.viewer_ns, program];
        all.extend_from_slice(args);
        ip(&all)
    }

    /// Caps both directions at `kbit_per_s` with a token bucket whose queue holds
    /// `queue_ms` of traffic (beyond that, packets are dropped, as a router does).
    pub fn cap(&self, kbit_per_s: u32, queue_ms: u32) {
        let rate = format!("{kbit_per_s}kbit");
        // At least two full packets per burst, or tbf cannot send one.
        let burst = format!("{}", (kbit_per_s * 1000 / 8 / 100).max(4000));
        let latency = format!("{queue_ms}ms");
        for (ns, dev) in [
            (&self.agent_ns, &self.agent_dev),
            (&self.viewer_ns, &self.viewer_dev),
        ] {
            run(
                "tc",
                &[
                    "-n", ns, "qdisc", "replace", "dev", dev, "root", "tbf", "rate", &rate,
                    "burst", &burst, "latency", &latency,
                ],
            )
            .unwrap_or_else(|err| panic!("cannot cap the link: {err}"));
        }
    }

    /// Removes the cap.
    pub fn uncap(&self) {
        for (ns, dev) in [
            (&self.agent_ns, &self.agent_dev),
            (&self.viewer_ns, &self.viewer_dev),
        ] {
            let _ = run("tc", &["-n", ns, "qdisc", "del", "dev", dev, "root"]);
        }
    }

    /// Gives the viewer's side a new address (host number `host` in the subnet) and
    /// removes the old one: the viewer's packets leave from the new address from now
    /// on, as when a laptop changes networks.
    pub fn move_viewer(&mut self, host: u8) {
        let new = format!("{}.{host}", self.subnet);
        ip(&[
            "-n",
            &self.viewer_ns,
            "addr",
            "add",
            &format!("{new}/24"),
            "dev",
            &self.viewer_dev,
        ])
        .unwrap_or_else(|err| panic!("cannot add the viewer's new address: {err}"));
        ip(&[
            "-n",
            &self.viewer_ns,
            "addr",
            "del",
            &format!("{}/24", self.viewer_ip),
            "dev",
            &self.viewer_dev,
        ])
        .unwrap_or_else(|err| panic!("cannot remove the viewer's old address: {err}"));
        self.viewer_ip = new;
    }

    /// Starts a relay in the viewer's namespace that forwards to `agent_address`
    /// with `delay_ms` each way and `loss_percent` loss each way.
    pub fn relay(&self, agent_address: &str, delay_ms: f64, loss_percent: f64) -> Relay {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.viewer_ns])
            .arg(crate::workspace_binary("impaired-link"))
            .args(["--listen", "127.0.0.1:0", "--to", agent_address])
            .args(["--delay-ms", &delay_ms.to_string()])
            .args(["--loss-percent", &loss_percent.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("impaired-link runs (cargo build -p lifeline-tests --bins)");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let process = Guarded(child);
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("impaired-link says where it listens");
        let address = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("impaired-link did not start: {line:?}"))
            .to_owned();
        Relay {
            address,
            stdin,
            _process: process,
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // Deleting a namespace deletes its end of the veth pair, and with it the pair.
        for ns in [&self.agent_ns, &self.viewer_ns] {
            let _ = ip(&["netns", "del", ns]);
        }
    }
}

/// The relay between the viewer and the agent (see the `impaired-link` binary).
#[derive(Debug)]
pub struct Relay {
    /// Where the viewer connects, inside the viewer's namespace.
    pub address: String,
    stdin: ChildStdin,
    _process: Guarded,
}

impl Relay {
    fn command(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("impaired-link takes commands");
        self.stdin.flush().expect("flush");
        // The relay applies a command at once; a moment for its thread to read it.
        std::thread::sleep(Duration::from_millis(20));
    }

    /// Cuts the link both ways.
    pub fn down(&mut self) {
        self.command("down");
    }

    /// Brings the link back.
    pub fn up(&mut self) {
        self.command("up");
    }

    /// Sets the one-way delay of each direction.
    pub fn set_delay_ms(&mut self, delay_ms: f64) {
        self.command(&format!("delay {delay_ms}"));
    }

    /// Sets the loss of each direction.
    pub fn set_loss_percent(&mut self, loss_percent: f64) {
        self.command(&format!("loss {loss_percent}"));
    }
}
