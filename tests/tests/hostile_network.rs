//! A viewer that sends bad bytes and floods, against the real agent on Xvfb: frames
//! over the limit, a 4 GB length prefix, garbage on the control stream, on extra
//! streams and in datagrams, a thousand streams at once, datagram and ping floods.
//!
//! Every case ends with the checks of `Fixture::assert_survived`: the agent runs, its
//! memory stayed bounded, nothing reached the desktop, and an honest viewer still gets
//! a session.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::time::Duration;

use lifeline_protocol::framing::{CONTROL_FRAME_LIMIT, encode_datagram};
use lifeline_protocol::message::{ControlMessage, Datagram, EndReason};
use lifeline_protocol::session::Phase;
use lifeline_protocol::{Scope, ScopeSet};
use lifeline_tests::hostile::{
    Case, Fixture, RawPeer, is_refusal, is_session_end, is_violation, peak_rss_kib,
    put_pointer_home, run_cases,
};
use lifeline_tests::wait_until;

/// Deterministic noise (xorshift64*), so that a failure can be replayed.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.max(1);
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

fn view_and_input() -> ScopeSet {
    ScopeSet::from([Scope::ViewScreen, Scope::ControlInput])
}

/// Expects the agent to end the session for a protocol violation mentioning `detail`,
/// and to have audited it.
fn expect_violation(fixture: &Fixture, mark: usize, peer: &mut RawPeer, detail: &str) {
    let ending = fixture.block_on(peer.until_ended());
    match ending.session_end.as_ref().map(|end| &end.reason) {
        Some(EndReason::ProtocolViolation { detail: said }) => {
            assert!(said.contains(detail), "the agent said: {said}");
        }
        other => panic!("expected a protocol violation about {detail}, got {other:?}"),
    }
    fixture.expect_audit(mark, &format!("a violation about {detail}"), |record| {
        is_violation(record, detail)
    });
}

/// An active session with `granted` (typed on the agent's terminal).
fn active_peer(fixture: &mut Fixture, granted: &str) -> RawPeer {
    fixture.agent.type_line(granted);
    let mut peer = fixture.peer(view_and_input());
    fixture.block_on(peer.activate()).unwrap();
    peer
}

/// Sends a ping and waits for its pong: the agent still answers this session.
fn assert_answers(fixture: &Fixture, peer: &mut RawPeer, nonce: u64) {
    fixture.block_on(async {
        peer.send_raw(&ControlMessage::Ping(nonce)).await.unwrap();
        loop {
            let messages = peer.read_messages().await.unwrap();
            assert!(!messages.is_empty(), "the agent ended the session");
            if messages.contains(&ControlMessage::Pong(nonce)) {
                return;
            }
        }
    });
}

fn frame_over_the_limit(fixture: &mut Fixture) {
    let mark = fixture.audit_mark();
    let mut peer = fixture.peer(view_and_input());
    let declared = u32::try_from(CONTROL_FRAME_LIMIT + 1).unwrap();
    let mut bytes = declared.to_be_bytes().to_vec();
    bytes.extend(noise(1, 64 * 1024));
    // The agent may close while the rest is still on its way.
    let _ = fixture.block_on(peer.send_bytes(&bytes));
    expect_violation(
        fixture,
        mark,
        &mut peer,
        "1048577-byte frame on the control channel",
    );
}

fn four_gigabyte_length_prefix(fixture: &mut Fixture) {
    let before = peak_rss_kib(fixture.agent.pid()).unwrap();
    let mark = fixture.audit_mark();
    let mut peer = fixture.peer(view_and_input());
    let _ = fixture.block_on(peer.send_bytes(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    expect_violation(
        fixture,
        mark,
        &mut peer,
        "4294967295-byte frame on the control channel",
    );
    let after = peak_rss_kib(fixture.agent.pid()).unwrap();
    assert!(
        after < before + 16 * 1024,
        "the agent's peak memory grew from {before} to {after} KiB"
    );
}

fn a_full_size_frame_of_garbage(fixture: &mut Fixture) {
    let mark = fixture.audit_mark();
    let mut peer = fixture.peer(view_and_input());
    let declared = u32::try_from(CONTROL_FRAME_LIMIT).unwrap();
    let mut bytes = declared.to_be_bytes().to_vec();
    bytes.extend(noise(2, CONTROL_FRAME_LIMIT));
    let _ = fixture.block_on(peer.send_bytes(&bytes));
    expect_violation(fixture, mark, &mut peer, "not a valid control message");
}

fn garbage_on_the_control_stream_before_hello(fixture: &mut Fixture) {
    let mark = fixture.audit_mark();
    let mut peer = fixture.peer(view_and_input());
    // A small length prefix, so that the garbage is decoded rather than refused unread.
    let mut bytes = vec![0, 0, 0, 200];
    bytes.extend(noise(3, 200));
    let _ = fixture.block_on(peer.send_bytes(&bytes));
    expect_violation(fixture, mark, &mut peer, "");
}

fn garbage_on_the_control_stream_of_an_active_session(fixture: &mut Fixture) {
    let mut peer = active_peer(fixture, "view");
    let mark = fixture.audit_mark();
    let _ = fixture.block_on(peer.send_bytes(&noise(4, 16 * 1024)));
    expect_violation(fixture, mark, &mut peer, "");
}

fn garbage_datagrams_before_authentication(fixture: &mut Fixture) {
    let mark = fixture.audit_mark();
    let mut peer = fixture.peer(view_and_input());
    fixture.block_on(peer.flush()).unwrap();
    let size = peer.connection.max_datagram_size().unwrap().min(1000);
    for seed in 0..20 {
        let _ = peer
            .connection
            .send_datagram(noise(100 + seed, size).into());
    }
    expect_violation(fixture, mark, &mut peer, "datagram");
}

fn garbage_datagrams_in_an_active_session(fixture: &mut Fixture) {
    let mut peer = active_peer(fixture, "y");
    let mark = fixture.audit_mark();
    let size = peer.connection.max_datagram_size().unwrap().min(1000);
    peer.connection
        .send_datagram(noise(200, size).into())
        .unwrap();
    expect_violation(fixture, mark, &mut peer, "datagram");
}

fn garbage_on_streams_the_agent_never_granted(fixture: &mut Fixture) {
    let mut peer = active_peer(fixture, "view");
    let mark = fixture.audit_mark();
    // The agent grants no unidirectional streams and one bidirectional stream (the
    // control stream, in use): QUIC flow control keeps these writes from ever leaving.
    let connection = peer.connection.clone();
    let extra = fixture.runtime.spawn(async move {
        let uni = async {
            let mut stream = connection.open_uni().await.ok()?;
            stream.write_all(&noise(5, 4096)).await.ok()
        };
        let bi = async {
            let (mut stream, _recv) = connection.open_bi().await.ok()?;
            stream.write_all(&noise(6, 4096)).await.ok()
        };
        tokio::select! {
            Some(()) = uni => "a unidirectional stream",
            Some(()) = bi => "a second bidirectional stream",
            else => "no stream: the connection closed",
        }
    });
    // The session goes on meanwhile: pings are answered, several times over.
    for nonce in 0..5 {
        assert_answers(fixture, &mut peer, nonce);
    }
    if extra.is_finished() {
        panic!("{} was opened", fixture.block_on(extra).unwrap());
    }
    extra.abort();
    assert_eq!(peer.viewer.phase(), Phase::Active);
    fixture.block_on(peer.leave());
    fixture.expect_audit(mark, "the end of the session", |r| {
        is_session_end(r, "the technician disconnected")
    });
}

fn a_thousand_streams_at_once(fixture: &mut Fixture) {
    let mark = fixture.audit_mark();
    let before = peak_rss_kib(fixture.agent.pid()).unwrap();
    let connection = fixture
        .block_on(lifeline_tests::hostile::connect_from(
            &fixture.technician,
            lifeline_tests::hostile::ATTACKER_IP,
            &fixture.agent.address,
        ))
        .unwrap();
    let opened = fixture.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for seed in 0..1000u64 {
            let connection = connection.clone();
            tasks.spawn(async move {
                let (mut send, _recv) = connection.open_bi().await.ok()?;
                send.write_all(&noise(1000 + seed, 256)).await.ok()?;
                Some(())
            });
        }
        // The agent answers the first stream's garbage by closing the connection; the
        // other 999 never get flow-control credit.
        let closed = tokio::time::timeout(Duration::from_secs(20), connection.closed()).await;
        assert!(closed.is_ok(), "the agent did not close the connection");
        let mut opened = 0;
        while let Some(result) = tasks.join_next().await {
            if matches!(result, Ok(Some(()))) {
                opened += 1;
            }
        }
        opened
    });
    // The agent grants one stream at a time: the first, and one more once the agent
    // has closed the first (it never accepts a second).
    assert!(opened <= 2, "{opened} streams got through");
    let records = fixture.expect_audit(mark, "the garbage on the first stream", |r| {
        is_violation(r, "")
    });
    let attempts = records
        .iter()
        .filter(|r| !r["action"]["connection_attempt"].is_null())
        .count();
    assert_eq!(attempts, 1, "one connection, one session: {records:#?}");
    let violations = records.iter().filter(|r| is_violation(r, "")).count();
    assert_eq!(violations, 1, "one session, one violation: {records:#?}");
    let after = peak_rss_kib(fixture.agent.pid()).unwrap();
    assert!(
        after < before + 32 * 1024,
        "the agent's peak memory grew from {before} to {after} KiB"
    );
}

fn a_flood_of_refused_pointer_moves(fixture: &mut Fixture) {
    let mut peer = active_peer(fixture, "view");
    let mark = fixture.audit_mark();
    for sequence in 0..50_000u64 {
        let datagram = encode_datagram(&Datagram::PointerMove {
            sequence,
            x: (sequence % 640) as u32,
            y: 300,
        })
        .unwrap();
        // A full send buffer drops datagrams, as the network would.
        let _ = peer.connection.send_datagram(datagram.into());
    }
    assert_answers(fixture, &mut peer, 7);
    fixture.expect_audit(mark, "the refused pointer moves", |r| {
        is_refusal(r, "pointer-move", "input")
    });
    let refusals = fixture
        .agent
        .audit_lines()
        .iter()
        .skip(mark)
        .filter(|r| is_refusal(r, "pointer-move", "input"))
        .count();
    assert_eq!(refusals, 1, "a flood must not flood the audit log");
    fixture.block_on(peer.leave());
}

fn a_flood_of_allowed_pointer_moves(fixture: &mut Fixture) {
    let mut peer = active_peer(fixture, "y");
    let before = peak_rss_kib(fixture.agent.pid()).unwrap();
    // Many moves, the newest of which ends at (600, 400).
    for sequence in 0..50_000u64 {
        let datagram = encode_datagram(&Datagram::PointerMove {
            sequence,
            x: if sequence == 49_999 {
                600
            } else {
                (sequence % 500) as u32
            },
            y: 400,
        })
        .unwrap();
        let _ = peer.connection.send_datagram(datagram.into());
    }
    let last = encode_datagram(&Datagram::PointerMove {
        sequence: 50_000,
        x: 600,
        y: 400,
    })
    .unwrap();
    peer.connection.send_datagram(last.into()).unwrap();
    assert_answers(fixture, &mut peer, 8);
    assert!(
        wait_until(Duration::from_secs(10), || fixture.x.pointer()
            == (600, 400)),
        "the newest pointer move did not land: {:?}",
        fixture.x.pointer()
    );
    let after = peak_rss_kib(fixture.agent.pid()).unwrap();
    assert!(
        after < before + 32 * 1024,
        "the agent's peak memory grew from {before} to {after} KiB"
    );
    fixture.block_on(peer.leave());
    // Put the pointer back where the survival check expects it.
    put_pointer_home(&fixture.x);
}

fn a_flood_of_typed_text(fixture: &mut Fixture) {
    let mut peer = active_peer(fixture, "y");
    // Off the xterm: the text that does get typed goes to the bare root window.
    fixture.x.run("xdotool", &["mousemove", "10", "10"]);
    let before = peak_rss_kib(fixture.agent.pid()).unwrap();
    // 20 000 texts of 4 KiB (80 MB), far faster than keys can be typed.
    let text = ControlMessage::TypeText("x".repeat(lifeline_protocol::message::MAX_TYPED_TEXT_LEN));
    let frame = lifeline_protocol::framing::encode_control(&text).unwrap();
    fixture.block_on(async {
        for _ in 0..20_000 {
            peer.send_bytes(&frame).await.unwrap();
        }
    });
    assert_answers(fixture, &mut peer, 9);
    let after = peak_rss_kib(fixture.agent.pid()).unwrap();
    assert!(
        after < before + 32 * 1024,
        "the agent's peak memory grew from {before} to {after} KiB"
    );
    assert!(
        fixture
            .agent
            .stderr()
            .contains("input arrives faster than it can be injected"),
        "the agent did not say it dropped input"
    );
    fixture.block_on(peer.leave());
    put_pointer_home(&fixture.x);
}

fn a_ping_flood_from_a_viewer_that_never_reads(fixture: &mut Fixture) {
    let mut peer = active_peer(fixture, "view");
    let mark = fixture.audit_mark();
    // Every ping asks for a pong the viewer never reads, until the agent's writes stall
    // (the viewer's stream window holds about 180 000 pongs).
    let mut pings = Vec::new();
    for nonce in 0..250_000u64 {
        pings.extend(
            lifeline_protocol::framing::encode_control(&ControlMessage::Ping(nonce)).unwrap(),
        );
    }
    let _ = fixture.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), peer.send_bytes(&pings)).await
    });
    fixture.expect_audit(mark, "a viewer that stopped reading", |r| {
        is_violation(r, "stopped reading")
    });
    let closed = fixture.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), peer.connection.closed()).await
    });
    assert!(closed.is_ok(), "the agent kept the connection open");
}

#[test]
fn bad_bytes_end_the_session_and_are_audited() {
    let mut fixture = Fixture::start();
    let cases: &[Case] = &[
        ("a frame over the limit", frame_over_the_limit),
        ("a 4 GB length prefix", four_gigabyte_length_prefix),
        ("a full-size frame of garbage", a_full_size_frame_of_garbage),
        (
            "garbage on the control stream before hello",
            garbage_on_the_control_stream_before_hello,
        ),
        (
            "garbage on the control stream of an active session",
            garbage_on_the_control_stream_of_an_active_session,
        ),
        (
            "garbage datagrams before authentication",
            garbage_datagrams_before_authentication,
        ),
        (
            "garbage datagrams in an active session",
            garbage_datagrams_in_an_active_session,
        ),
    ];
    run_cases(&mut fixture, cases);
}

#[test]
fn streams_and_floods_stay_bounded() {
    let mut fixture = Fixture::start();
    let cases: &[Case] = &[
        (
            "garbage on streams the agent never granted",
            garbage_on_streams_the_agent_never_granted,
        ),
        ("a thousand streams at once", a_thousand_streams_at_once),
        (
            "a flood of refused pointer moves",
            a_flood_of_refused_pointer_moves,
        ),
        (
            "a flood of allowed pointer moves",
            a_flood_of_allowed_pointer_moves,
        ),
        ("a flood of typed text", a_flood_of_typed_text),
        (
            "a ping flood from a viewer that never reads",
            a_ping_flood_from_a_viewer_that_never_reads,
        ),
    ];
    run_cases(&mut fixture, cases);
}
