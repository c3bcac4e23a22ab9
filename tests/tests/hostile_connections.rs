//! Attacks on connections and on the one-time code, against the real agent on Xvfb:
//! slowloris (connections that never say hello, handshakes left half-open), code
//! guessing at a high rate, a replayed authentication transcript, and a man in the
//! middle that terminates TLS on both sides.
//!
//! `code_guessing_is_held_to_three_guesses` measures what the attacker achieves; set
//! `LIFELINE_GUESS_SECONDS` (and `--ignored`) to run the long measurement of
//! `code_guessing_over_a_long_run` whose numbers are in the README.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "tests fail loudly on purpose, and report what they measured"
)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lifeline_protocol::framing::{ControlReader, encode_control};
use lifeline_protocol::message::{AuthMessage, AuthRejection, ControlMessage, EndReason};
use lifeline_protocol::session::Phase;
use lifeline_protocol::{Scope, ScopeSet};
use lifeline_tests::hostile::{
    AGENT_PEAK_RSS_LIMIT_KIB, ATTACKER_IP, Case, Fixture, RawPeer, Technician, connect_from,
    is_authentication, is_violation, peak_rss_kib, run_cases,
};
use lifeline_tests::run_headless_viewer_in;

fn view() -> ScopeSet {
    ScopeSet::from([Scope::ViewScreen])
}

/// A second attacker address, so that its refusals are audited apart from the first's.
const SECOND_ATTACKER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));

/// Whether an audit record is a connection refused at the door for `reason`.
fn is_admission_refusal(record: &serde_json::Value, address: IpAddr, reason: &str) -> bool {
    record["action"]["connection_attempt"]["peer_address"]
        .as_str()
        .is_some_and(|peer| peer.starts_with(&address.to_string()))
        && record["outcome"]["refused"]["reason"]
            .as_str()
            .is_some_and(|text| text.contains(reason))
}

fn connections_that_never_say_hello(fixture: &mut Fixture) {
    let mark = fixture.audit_mark();
    let technician = Arc::new(Technician::new());
    let address = fixture.agent.address.clone();
    // Forty connections at once, each stopping half-way through a length prefix.
    let (held, refused) = fixture.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..40 {
            let technician = Arc::clone(&technician);
            let address = address.clone();
            tasks.spawn(async move {
                let connection = connect_from(&technician, ATTACKER_IP, &address)
                    .await
                    .ok()?;
                let (mut send, recv) = connection.open_bi().await.ok()?;
                send.write_all(&[0, 0]).await.ok()?;
                Some((connection, send, recv))
            });
        }
        let mut held = Vec::new();
        let mut refused = 0;
        while let Some(result) = tasks.join_next().await {
            match result.unwrap() {
                Some(stalled) => held.push(stalled),
                None => refused += 1,
            }
        }
        (held, refused)
    });
    assert!(
        held.len() <= 8,
        "{} silent connections from one address were let in",
        held.len()
    );
    assert!(refused >= 32, "only {refused} of 40 were refused");
    fixture.expect_audit(mark, "the refused connections", |r| {
        is_admission_refusal(r, ATTACKER_IP, "already waiting to authenticate")
    });
    // Meanwhile an honest technician gets in.
    fixture.assert_serves_honest_viewer("during the attack");
    // The silent ones are dropped once their time to authenticate is up.
    let ends = fixture.block_on(async {
        let mut ends = Vec::new();
        for (connection, _send, mut recv) in held {
            let mut reader = ControlReader::new();
            let mut goodbye = None;
            let mut buffer = vec![0u8; 4096];
            while let Ok(Ok(Some(n))) =
                tokio::time::timeout(Duration::from_secs(30), recv.read(&mut buffer)).await
            {
                for message in reader.feed(&buffer[..n]).unwrap_or_default() {
                    if let ControlMessage::SessionEnd(end) = message {
                        goodbye = Some(end.reason);
                    }
                }
            }
            connection.close(quinn::VarInt::from_u32(0), b"");
            ends.push(goodbye);
        }
        ends
    });
    for end in &ends {
        match end {
            Some(EndReason::ProtocolViolation { detail }) => assert!(
                detail.contains("did not prove the one-time code within 20 s"),
                "{detail}"
            ),
            other => panic!("a silent connection ended with {other:?}"),
        }
    }
    fixture.expect_audit(mark, "the dropped silent connections", |r| {
        is_violation(r, "did not prove the one-time code within 20 s")
    });
}

/// Initial packets of `count` QUIC connections that will never go further: a real
/// client starts each against a socket that never answers, and the test keeps the
/// first datagram of each.
fn captured_initials(fixture: &Fixture, count: usize) -> Vec<Vec<u8>> {
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    sink.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let sink_address = sink.local_addr().unwrap();
    let technician = Technician::new();
    // The client endpoint and its connections live until the packets are captured.
    let _pending = fixture.block_on(async {
        let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
        endpoint.set_default_client_config(
            lifeline_viewer::net::client_config(&technician.identity).unwrap(),
        );
        let connecting: Vec<quinn::Connecting> = (0..count)
            .map(|_| endpoint.connect(sink_address, "lifeline").unwrap())
            .collect();
        (endpoint, connecting)
    });
    let mut initials: Vec<Vec<u8>> = Vec::new();
    let mut buffer = vec![0u8; 2048];
    while initials.len() < count {
        let n = sink
            .recv(&mut buffer)
            .expect("the client's initial packets");
        // Retransmissions repeat a connection's id: keep each connection once.
        let packet = buffer[..n].to_vec();
        // (byte 0 is masked by header protection; the connection ids follow it).
        if n >= 24 && !initials.iter().any(|seen| seen[1..24] == packet[1..24]) {
            initials.push(packet);
        }
    }
    initials
}

fn half_open_handshakes(fixture: &mut Fixture) {
    let mark = fixture.audit_mark();
    let before = peak_rss_kib(fixture.agent.pid()).unwrap();
    let initials = captured_initials(fixture, 300);
    let agent: SocketAddr = fixture.agent.address.parse().unwrap();
    let attacker = UdpSocket::bind(SocketAddr::new(SECOND_ATTACKER_IP, 0)).unwrap();
    for initial in &initials {
        attacker.send_to(initial, agent).unwrap();
    }
    fixture.expect_audit(mark, "the refused handshakes", |r| {
        is_admission_refusal(r, SECOND_ATTACKER_IP, "already waiting to authenticate")
    });
    // An honest technician still gets in while the half-open ones wait.
    fixture.assert_serves_honest_viewer("during the attack");
    let after = peak_rss_kib(fixture.agent.pid()).unwrap();
    eprintln!(
        "half-open handshakes: {} initial packets sent from one address; agent peak \
         memory {before} -> {after} KiB",
        initials.len()
    );
    assert!(
        after < before + 32 * 1024,
        "the agent's peak memory grew from {before} to {after} KiB"
    );
}

fn a_replayed_authentication_transcript(fixture: &mut Fixture) {
    let mark = fixture.audit_mark();
    let code = fixture.agent.code();
    // The original: an honest viewer with the right code, up to its key confirmation,
    // which it holds back for now.
    let mut original = fixture.peer(view());
    let transcript = fixture.block_on(async {
        let mut sent = Vec::new();
        loop {
            let Some(message) = original.viewer.poll_transmit() else {
                for message in original.read_messages().await.unwrap() {
                    original.viewer.handle_control(message).unwrap();
                }
                continue;
            };
            let confirmation = matches!(message, ControlMessage::Auth(AuthMessage::Confirm(_)));
            if !confirmation {
                original.send_raw(&message).await.unwrap();
            }
            sent.push(message);
            if confirmation {
                return sent;
            }
        }
    });
    assert_eq!(
        transcript.len(),
        3,
        "hello, SPAKE2, confirmation: {transcript:?}"
    );
    // The replay: the same technician key, the same messages, a new connection, while
    // the code is still valid.
    let mut replay = fixture
        .block_on(RawPeer::open(
            &fixture.technician,
            ATTACKER_IP,
            &fixture.agent.address,
            &code,
            view(),
        ))
        .unwrap();
    let mut bytes = Vec::new();
    for message in &transcript {
        bytes.extend(encode_control(message).unwrap());
    }
    fixture.block_on(replay.send_bytes(&bytes)).unwrap();
    let ending = fixture.block_on(replay.until_ended());
    assert!(
        matches!(ending.auth_rejected, Some(AuthRejection::WrongCode { .. })),
        "the replay was not rejected as a wrong code: {ending:?}"
    );
    fixture.expect_audit(mark, "the replay's failed authentication", |r| {
        is_authentication(r, "failed", "wrong code")
    });
    // The code was valid all along: the original still proves it.
    fixture
        .block_on(async {
            original.send_raw(&transcript[2]).await?;
            original.drive(|phase| phase != Phase::Authenticating).await
        })
        .unwrap();
    assert_eq!(original.viewer.phase(), Phase::AwaitingConsent);
    fixture.block_on(original.leave());
}

/// What the relay saw, in both directions.
#[derive(Debug, Default)]
struct Relayed {
    messages: Vec<ControlMessage>,
    bytes: Vec<u8>,
}

fn a_man_in_the_middle(fixture: &mut Fixture) {
    let mark = fixture.audit_mark();
    let prompts_before = fixture.agent.stdout().matches("wants to connect").count();
    let code = fixture.agent.code();
    let relay_dir = tempfile::tempdir().unwrap();
    let relay_identity = lifeline_agent::identity::load_or_create(relay_dir.path()).unwrap();
    let relay_technician = Technician::new();
    // The relay terminates TLS towards the viewer with its own key, and opens its own
    // TLS connection to the agent; it passes every byte of the control stream along
    // and reads them all.
    let (relay_address, relay) = {
        let _guard = fixture.runtime.enter();
        let endpoint =
            lifeline_agent::net::listen(&relay_identity, SocketAddr::from(([127, 0, 0, 1], 0)))
                .unwrap();
        let relay_address = endpoint.local_addr().unwrap().to_string();
        let agent_address = fixture.agent.address.clone();
        let relay = fixture.runtime.spawn(async move {
            let viewer = endpoint.accept().await.unwrap().await.unwrap();
            let (mut to_viewer, mut from_viewer) = viewer.accept_bi().await.unwrap();
            let agent = connect_from(&relay_technician, ATTACKER_IP, &agent_address)
                .await
                .unwrap();
            let (mut to_agent, mut from_agent) = agent.open_bi().await.unwrap();
            let mut seen = Relayed::default();
            let (mut up, mut down) = (ControlReader::new(), ControlReader::new());
            let mut up_buffer = vec![0u8; 65536];
            let mut down_buffer = vec![0u8; 65536];
            loop {
                tokio::select! {
                    read = from_viewer.read(&mut up_buffer) => {
                        let Ok(Some(n)) = read else { break };
                        seen.bytes.extend_from_slice(&up_buffer[..n]);
                        seen.messages.extend(up.feed(&up_buffer[..n]).unwrap_or_default());
                        if to_agent.write_all(&up_buffer[..n]).await.is_err() { break }
                    }
                    read = from_agent.read(&mut down_buffer) => {
                        let Ok(Some(n)) = read else { break };
                        seen.bytes.extend_from_slice(&down_buffer[..n]);
                        seen.messages.extend(down.feed(&down_buffer[..n]).unwrap_or_default());
                        if to_viewer.write_all(&down_buffer[..n]).await.is_err() { break }
                    }
                    () = tokio::time::sleep(Duration::from_secs(20)) => break,
                }
            }
            // Let the last words reach the viewer before hanging up.
            let _ = to_viewer.finish();
            let _ = tokio::time::timeout(Duration::from_secs(5), viewer.closed()).await;
            viewer.close(quinn::VarInt::from_u32(0), b"");
            agent.close(quinn::VarInt::from_u32(0), b"");
            seen
        });
        (relay_address, relay)
    };
    // The technician connects to the relay (believing it is the agent) with the code
    // the end user read out.
    let viewer_dir = tempfile::tempdir().unwrap();
    let run = run_headless_viewer_in(viewer_dir.path(), &relay_address, &code, &["--frames", "1"]);
    let seen = fixture.block_on(relay).unwrap();
    assert!(!run.success, "the viewer got a session through the relay");
    assert!(
        run.stderr.contains("wrong code"),
        "the viewer did not explain what happened: {}",
        run.stderr
    );
    assert!(
        seen.messages
            .iter()
            .all(|message| !matches!(message, ControlMessage::ConsentDecision(_))),
        "the relay saw a consent decision: {:?}",
        seen.messages
    );
    assert!(
        seen.messages
            .iter()
            .any(|message| matches!(message, ControlMessage::AuthRejected(_))),
        "the agent did not reject the relayed proof: {:?}",
        seen.messages
    );
    let digits = code.replace(' ', "");
    for secret in [digits.as_bytes(), code.as_bytes()] {
        assert!(
            !seen
                .bytes
                .windows(secret.len())
                .any(|window| window == secret),
            "the code crossed the relay in the clear"
        );
    }
    fixture.expect_audit(mark, "the relayed proof's failure", |r| {
        is_authentication(r, "failed", "wrong code")
    });
    assert_eq!(
        fixture.agent.stdout().matches("wants to connect").count(),
        prompts_before,
        "the end user was asked to let the relay in"
    );
}

#[test]
fn slow_replayed_and_relayed_connections_get_nothing() {
    let mut fixture = Fixture::start();
    let cases: &[Case] = &[
        (
            "connections that never say hello",
            connections_that_never_say_hello,
        ),
        ("half-open handshakes", half_open_handshakes),
        (
            "a replayed authentication transcript",
            a_replayed_authentication_transcript,
        ),
        ("a man in the middle", a_man_in_the_middle),
    ];
    run_cases(&mut fixture, cases);
}

/// What a code-guessing attacker achieved.
#[derive(Debug, Default)]
struct Guessing {
    /// Connections tried.
    attempts: u32,
    /// Guesses the agent actually checked (answered "wrong code").
    guesses: u32,
    /// Attempts the code guard refused without checking ("too many attempts").
    locked_out: u32,
    /// Connections refused at the door (too many from this address).
    refused: u32,
    /// The longest wait the agent announced.
    longest_retry_after_secs: u32,
    /// Whether a guess rotated the code.
    rotated: bool,
    /// When the agent said it would accept attempts again, at the latest.
    unlocked_at: Option<Instant>,
}

/// Guesses wrong codes from 8 parallel connections as fast as the agent lets them,
/// for `duration`; a worker turned away at the door waits `pause_after_refusal`.
fn guess_codes(fixture: &Fixture, duration: Duration, pause_after_refusal: Duration) -> Guessing {
    let technician = Arc::new(Technician::new());
    let address = fixture.agent.address.clone();
    let code_file = fixture.agent.data_dir.path().join("code");
    fixture.block_on(async move {
        let deadline = Instant::now() + duration;
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..8u64 {
            let technician = Arc::clone(&technician);
            let address = address.clone();
            let code_file = code_file.clone();
            tasks.spawn(async move {
                let mut result = Guessing::default();
                let mut guess = 100_000_000 + worker * 37_000_001;
                while Instant::now() < deadline {
                    guess = (guess + 7_919) % 1_000_000_000;
                    let mut code = format!("{guess:09}");
                    // Never the real code by accident (a 1 in 10^9 chance, but a test
                    // that can fail by luck is worse than this line).
                    let current = std::fs::read_to_string(&code_file).unwrap_or_default();
                    if current.replace(' ', "").trim() == code {
                        code = format!("{:09}", (guess + 1) % 1_000_000_000);
                    }
                    result.attempts += 1;
                    let Ok(mut peer) =
                        RawPeer::open(&technician, ATTACKER_IP, &address, &code, view()).await
                    else {
                        result.refused += 1;
                        tokio::time::sleep(pause_after_refusal).await;
                        continue;
                    };
                    let _ = peer.drive(|phase| phase == Phase::Closed).await;
                    let rejection = peer.received.iter().find_map(|message| match message {
                        ControlMessage::AuthRejected(rejection) => Some(rejection.clone()),
                        _ => None,
                    });
                    match rejection {
                        Some(AuthRejection::WrongCode { code_rotated }) => {
                            result.guesses += 1;
                            result.rotated |= code_rotated;
                        }
                        Some(AuthRejection::TooManyAttempts { retry_after_secs }) => {
                            result.locked_out += 1;
                            result.longest_retry_after_secs =
                                result.longest_retry_after_secs.max(retry_after_secs);
                            let unlock =
                                Instant::now() + Duration::from_secs(u64::from(retry_after_secs));
                            result.unlocked_at = result.unlocked_at.max(Some(unlock));
                        }
                        other => panic!("an unexpected answer to a wrong code: {other:?}"),
                    }
                    peer.connection.close(quinn::VarInt::from_u32(0), b"");
                }
                result
            });
        }
        let mut total = Guessing::default();
        while let Some(result) = tasks.join_next().await {
            let result = result.unwrap();
            total.attempts += result.attempts;
            total.guesses += result.guesses;
            total.locked_out += result.locked_out;
            total.refused += result.refused;
            total.longest_retry_after_secs = total
                .longest_retry_after_secs
                .max(result.longest_retry_after_secs);
            total.rotated |= result.rotated;
            total.unlocked_at = total.unlocked_at.max(result.unlocked_at);
        }
        total
    })
}

#[test]
fn code_guessing_is_held_to_three_guesses() {
    let mut fixture = Fixture::start();
    let mark = fixture.audit_mark();
    let first_code = fixture.agent.code();
    let window = Duration::from_secs(12);
    let started = Instant::now();
    let result = guess_codes(&fixture, window, Duration::from_millis(20));
    let elapsed = started.elapsed();
    eprintln!(
        "code guessing for {:.1} s from 8 parallel connections: {} attempts ({:.1}/s), \
         {} guesses checked, {} locked out, {} refused at the door, retry after up to {} s",
        elapsed.as_secs_f64(),
        result.attempts,
        f64::from(result.attempts) / elapsed.as_secs_f64(),
        result.guesses,
        result.locked_out,
        result.refused,
        result.longest_retry_after_secs
    );
    // Three wrong codes rotate the code and lock attempts out for 30 s: within the
    // window, exactly three guesses are checked, however fast the attacker is.
    assert_eq!(result.guesses, 3, "{result:?}");
    assert!(
        result.rotated,
        "the third wrong code did not rotate the code"
    );
    assert!(
        result.locked_out + result.refused > 0,
        "nothing was refused: {result:?}"
    );
    assert!(
        (1..=30).contains(&result.longest_retry_after_secs),
        "{result:?}"
    );
    assert_ne!(
        fixture.agent.code(),
        first_code,
        "the code was not replaced"
    );
    let records = fixture.expect_audit(mark, "the lockout", |r| {
        is_authentication(r, "refused", "too many wrong codes")
    });
    let failures = records
        .iter()
        .filter(|r| is_authentication(r, "failed", ""))
        .count();
    assert_eq!(failures, 3, "three checked guesses, three audited failures");
    assert!(
        fixture.agent.is_running(),
        "the agent died: {}",
        fixture.agent.stderr()
    );
    let peak = peak_rss_kib(fixture.agent.pid()).unwrap_or(0);
    assert!(
        peak < AGENT_PEAK_RSS_LIMIT_KIB,
        "the agent's peak memory under the guessing was {peak} KiB"
    );
    // Once the lockout is over, the end user's new code works for an honest technician.
    if let Some(unlocked_at) = result.unlocked_at {
        std::thread::sleep(unlocked_at.saturating_duration_since(Instant::now()));
    }
    fixture.assert_serves_honest_viewer("after the lockout");
}

/// The long measurement for the README: guesses per hour against the real agent.
#[test]
#[ignore = "runs for LIFELINE_GUESS_SECONDS (default an hour)"]
fn code_guessing_over_a_long_run() {
    let seconds: u64 = std::env::var("LIFELINE_GUESS_SECONDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(3600);
    let fixture = Fixture::start();
    let started = Instant::now();
    // Gentler at the door than the short test (the door lets one connection a second
    // through anyway): the hour-long run must not load the machine.
    let result = guess_codes(
        &fixture,
        Duration::from_secs(seconds),
        Duration::from_millis(250),
    );
    let hours = started.elapsed().as_secs_f64() / 3600.0;
    eprintln!(
        "code guessing for {:.2} h: {} attempts, {} guesses checked ({:.1} per hour), \
         {} locked out, {} refused at the door, longest retry-after {} s",
        hours,
        result.attempts,
        result.guesses,
        f64::from(result.guesses) / hours,
        result.locked_out,
        result.refused,
        result.longest_retry_after_secs
    );
    // The back-off doubles from 30 s to at most an hour: 7 rotations (21 guesses) in the
    // first hour, then one an hour (3 guesses).
    let allowed = 21.0 + 3.0 * (hours - 1.0).max(0.0).ceil();
    assert!(
        f64::from(result.guesses) <= allowed,
        "{} guesses in {hours:.2} h, more than the back-off allows ({allowed})",
        result.guesses
    );
}
