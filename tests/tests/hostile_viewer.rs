//! A viewer that ignores its own permission checks: the agent must refuse what was not
//! granted, say so, and write the refusal to its audit log.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::time::Duration;

use lifeline_protocol::framing::{ControlReader, encode_control, encode_datagram};
use lifeline_protocol::message::{Capabilities, ControlMessage, Datagram, ErrorKind};
use lifeline_protocol::session::{Credential, Phase, ViewerConfig, ViewerSession};
use lifeline_protocol::version::SUPPORTED_VERSIONS;
use lifeline_protocol::{OneTimeCode, Scope, ScopeSet};
use lifeline_tests::{Agent, Xvfb, wait_until};

async fn exchange(
    viewer: &mut ViewerSession,
    send: &mut quinn::SendStream,
    recv: &mut quinn::RecvStream,
    reader: &mut ControlReader,
    until: impl Fn(&ViewerSession) -> bool,
) -> Vec<ControlMessage> {
    let mut seen = Vec::new();
    let mut buffer = vec![0u8; 65536];
    while !until(viewer) {
        while let Some(message) = viewer.poll_transmit() {
            send.write_all(&encode_control(&message).unwrap())
                .await
                .unwrap();
        }
        let n = tokio::time::timeout(Duration::from_secs(20), recv.read(&mut buffer))
            .await
            .expect("the agent answers")
            .unwrap()
            .expect("the stream stays open");
        for message in reader.feed(&buffer[..n]).unwrap() {
            seen.push(message.clone());
            viewer.handle_control(message).unwrap();
        }
        while viewer.poll_event().is_some() {}
    }
    seen
}

#[test]
fn input_without_the_input_permission_is_refused_and_audited() {
    let x = Xvfb::start(800, 600);
    let dir = tempfile::tempdir().unwrap();
    let typed = dir.path().join("typed.txt");
    let _xterm = x.xterm(
        "60x10+100+100",
        &format!("stty -icanon -echo; exec cat > {}", typed.display()),
    );
    // Keys go to the window under the pointer: over the xterm, refused text would land.
    x.run("xdotool", &["mousemove", "200", "150"]);
    let mut agent = Agent::start(&x.display);
    agent.type_line("view");
    let code = OneTimeCode::parse(&agent.code()).unwrap();
    let identity = lifeline_viewer::identity::load_or_create(dir.path()).unwrap();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let refusals = runtime.block_on(async {
        let connection = lifeline_viewer::net::connect(&identity, &agent.address)
            .await
            .unwrap();
        let (mut send, mut recv) = connection.open_bi().await.unwrap();
        let mut viewer = ViewerSession::new(ViewerConfig {
            local: identity.key.public_key().fingerprint(),
            peer: lifeline_viewer::net::peer_fingerprint(&connection).unwrap(),
            channel_binding: lifeline_viewer::net::channel_binding(&connection).unwrap(),
            credential: Credential::Code(code),
            certificate: None,
            technician_name: "Mallory".to_owned(),
            requested: ScopeSet::from([Scope::ViewScreen, Scope::ControlInput]),
            reason: String::new(),
            software_version: "hostile".to_owned(),
            versions: SUPPORTED_VERSIONS.to_vec(),
            capabilities: Capabilities::H264,
        });
        let mut reader = ControlReader::new();
        exchange(&mut viewer, &mut send, &mut recv, &mut reader, |v| {
            v.phase() == Phase::Active
        })
        .await;
        assert_eq!(
            viewer.granted(),
            Scope::ViewScreen.into(),
            "the end user granted view only"
        );

        // Bypass the viewer's own checks: raw input on the wire.
        let pointer = Datagram::PointerMove {
            sequence: 0,
            x: 400,
            y: 300,
        };
        connection
            .send_datagram(encode_datagram(&pointer).unwrap().into())
            .unwrap();
        send.write_all(&encode_control(&ControlMessage::TypeText("pwned".to_owned())).unwrap())
            .await
            .unwrap();
        let mut refusals = Vec::new();
        let mut buffer = vec![0u8; 65536];
        while refusals.is_empty() {
            let n = tokio::time::timeout(Duration::from_secs(20), recv.read(&mut buffer))
                .await
                .expect("the agent answers the refused input")
                .unwrap()
                .unwrap();
            for message in reader.feed(&buffer[..n]).unwrap() {
                if let ControlMessage::Error(report) = message {
                    refusals.push(report);
                }
            }
        }
        connection.close(quinn::VarInt::from_u32(0), b"done");
        refusals
    });
    assert_eq!(refusals[0].kind, ErrorKind::PermissionDenied);
    assert!(
        refusals[0].message.contains("\"input\" permission"),
        "{}",
        refusals[0].message
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        std::fs::read_to_string(&typed).unwrap_or_default(),
        "",
        "refused text was typed"
    );
    assert_eq!(
        x.pointer(),
        (200, 150),
        "the refused pointer move moved the pointer"
    );
    assert!(
        wait_until(Duration::from_secs(5), || agent.audit_lines().iter().any(
            |record| {
                record["action"]["refused"]["message"] == "type-text" && record["scope"] == "input"
            }
        )),
        "no audit record of the refusal: {:?}",
        agent.audit_lines()
    );
}
