//! `impaired-link`: a UDP relay that delays, drops and cuts packets, for the
//! impaired-network tests and benchmark.
//!
//! The kernel's `netem` queueing discipline would do this in `tc`, but kernels built
//! without `CONFIG_NET_SCH_NETEM` (such as the one CI runs on) do not have it; rate
//! caps stay in the kernel (`tc ... tbf`), delay, loss and outages are done here. The
//! relay runs inside the viewer's network namespace: the viewer connects to its
//! `--listen` address, and it forwards to the agent (`--to`) over the veth pair.
//!
//! ```text
//! impaired-link --listen 127.0.0.1:0 --to 10.77.1.1:4000 [--delay-ms 25] [--loss-percent 2] [--seed 7]
//! ```
//!
//! It prints `listening on ADDRESS` once ready, then reads commands on standard input,
//! one a line: `delay MS` (one-way, each direction), `loss PERCENT` (each direction),
//! `down` (drop everything both ways), `up`. It exits when standard input closes.
//! Loss is drawn from a seeded generator, so a run is repeatable.

#![allow(
    clippy::print_stderr,
    reason = "a small tool: errors go to standard error"
)]

use std::io::{BufRead, Write};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The impairments in force, shared by both directions.
struct Impairment {
    delay_us: AtomicU64,
    /// Loss probability in millionths.
    loss_ppm: AtomicU32,
    down: AtomicBool,
    random: Mutex<u64>,
}

impl Impairment {
    /// Whether this packet is lost (outage or random loss).
    fn drops(&self) -> bool {
        if self.down.load(Ordering::Relaxed) {
            return true;
        }
        let ppm = self.loss_ppm.load(Ordering::Relaxed);
        if ppm == 0 {
            return false;
        }
        let mut state = self.random.lock().unwrap_or_else(|p| p.into_inner());
        // xorshift64*: plenty for drawing losses.
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        let draw = state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32;
        draw % 1_000_000 < u64::from(ppm)
    }

    fn delay(&self) -> Duration {
        Duration::from_micros(self.delay_us.load(Ordering::Relaxed))
    }
}

struct Options {
    listen: SocketAddr,
    to: SocketAddr,
    delay_ms: f64,
    loss_percent: f64,
    seed: u64,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut listen = None;
    let mut to = None;
    let mut delay_ms = 0.0;
    let mut loss_percent = 0.0;
    let mut seed = 0x5eed;
    let mut iter = args.iter();
    while let Some(flag) = iter.next() {
        let value = iter.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |err: &dyn std::fmt::Display| format!("{flag} {value}: {err}");
        match flag.as_str() {
            "--listen" => listen = Some(value.parse().map_err(|e| bad(&e))?),
            "--to" => to = Some(value.parse().map_err(|e| bad(&e))?),
            "--delay-ms" => delay_ms = value.parse().map_err(|e| bad(&e))?,
            "--loss-percent" => loss_percent = value.parse().map_err(|e| bad(&e))?,
            "--seed" => seed = value.parse().map_err(|e| bad(&e))?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(Options {
        listen: listen.ok_or("--listen ADDRESS is required")?,
        to: to.ok_or("--to ADDRESS is required")?,
        delay_ms,
        loss_percent,
        seed,
    })
}

fn loss_ppm(percent: f64) -> u32 {
    (percent.clamp(0.0, 100.0) * 10_000.0).round() as u32
}

fn delay_us(ms: f64) -> u64 {
    (ms.max(0.0) * 1000.0).round() as u64
}

/// Sends each packet when its time has come. One per direction: the delay is the same
/// for every packet of a direction, so first in is first out.
fn sender(
    queue: Receiver<(Instant, Vec<u8>)>,
    socket: Arc<UdpSocket>,
    peer: Arc<Mutex<Option<SocketAddr>>>,
) {
    for (due, packet) in queue {
        let wait = due.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        let target = *peer.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(target) = target {
            // A full socket buffer or an unreachable peer is a lost packet, as on a link.
            let _ = socket.send_to(&packet, target);
        }
    }
}

/// Reads packets from `socket` and queues those that survive for the other side.
/// `learn`: remember the source as the peer to answer (the viewer's side).
fn receiver(
    socket: Arc<UdpSocket>,
    queue: Sender<(Instant, Vec<u8>)>,
    impairment: Arc<Impairment>,
    learn: Option<Arc<Mutex<Option<SocketAddr>>>>,
) {
    let mut buffer = vec![0u8; 65_536];
    loop {
        let (len, from) = match socket.recv_from(&mut buffer) {
            Ok(received) => received,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            // ICMP errors from an earlier send surface here on Linux: not fatal.
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionRefused => continue,
            Err(err) => {
                eprintln!("impaired-link: receive failed: {err}");
                return;
            }
        };
        if let Some(peer) = &learn {
            // The viewer may move (a new port or address): answer where it now is.
            *peer.lock().unwrap_or_else(|p| p.into_inner()) = Some(from);
        }
        if impairment.drops() {
            continue;
        }
        let due = Instant::now() + impairment.delay();
        if queue.send((due, buffer[..len].to_vec())).is_err() {
            return;
        }
    }
}

fn apply(command: &str, impairment: &Impairment) -> Result<(), String> {
    let mut words = command.split_whitespace();
    let number = |word: Option<&str>| -> Result<f64, String> {
        word.ok_or_else(|| format!("{command}: a number is missing"))?
            .parse::<f64>()
            .map_err(|err| format!("{command}: {err}"))
    };
    match words.next() {
        Some("delay") => impairment
            .delay_us
            .store(delay_us(number(words.next())?), Ordering::Relaxed),
        Some("loss") => impairment
            .loss_ppm
            .store(loss_ppm(number(words.next())?), Ordering::Relaxed),
        Some("down") => impairment.down.store(true, Ordering::Relaxed),
        Some("up") => impairment.down.store(false, Ordering::Relaxed),
        None => {}
        Some(other) => return Err(format!("unknown command {other:?}")),
    }
    Ok(())
}

fn run(options: &Options) -> Result<(), String> {
    let viewer_side = Arc::new(
        UdpSocket::bind(options.listen)
            .map_err(|err| format!("cannot listen on {}: {err}", options.listen))?,
    );
    let any: SocketAddr = if options.to.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()
    .map_err(|err| format!("{err}"))?;
    let agent_side =
        Arc::new(UdpSocket::bind(any).map_err(|err| format!("cannot open a socket: {err}"))?);
    let impairment = Arc::new(Impairment {
        delay_us: AtomicU64::new(delay_us(options.delay_ms)),
        loss_ppm: AtomicU32::new(loss_ppm(options.loss_percent)),
        down: AtomicBool::new(false),
        random: Mutex::new(options.seed | 1),
    });
    let viewer = Arc::new(Mutex::new(None));
    let agent = Arc::new(Mutex::new(Some(options.to)));
    let (to_agent, to_agent_queue) = channel();
    let (to_viewer, to_viewer_queue) = channel();
    let threads = [
        {
            let (socket, peer) = (Arc::clone(&agent_side), Arc::clone(&agent));
            std::thread::spawn(move || sender(to_agent_queue, socket, peer))
        },
        {
            let (socket, peer) = (Arc::clone(&viewer_side), Arc::clone(&viewer));
            std::thread::spawn(move || sender(to_viewer_queue, socket, peer))
        },
        {
            let (socket, impairment) = (Arc::clone(&viewer_side), Arc::clone(&impairment));
            std::thread::spawn(move || receiver(socket, to_agent, impairment, Some(viewer)))
        },
        {
            let (socket, impairment) = (Arc::clone(&agent_side), Arc::clone(&impairment));
            std::thread::spawn(move || receiver(socket, to_viewer, impairment, None))
        },
    ];
    let address = viewer_side
        .local_addr()
        .map_err(|err| format!("no local address: {err}"))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {address}").map_err(|err| err.to_string())?;
    out.flush().map_err(|err| err.to_string())?;
    drop(out);
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|err| err.to_string())?;
        if let Err(err) = apply(&line, &impairment) {
            eprintln!("impaired-link: {err}");
        }
    }
    // Standard input closed: the test is done with this link. The threads block on
    // their sockets; leaving the process ends them.
    drop(threads);
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse(&args).and_then(|options| run(&options)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("impaired-link: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
