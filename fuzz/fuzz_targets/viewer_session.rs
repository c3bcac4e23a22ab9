//! A hostile agent: arbitrary frames fed to the viewer's state machine. The viewer must
//! never panic and never believe it is active without both proofs of the code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeline_protocol::OneTimeCode;
use lifeline_protocol::framing::ControlReader;
use lifeline_protocol::message::Capabilities;
use lifeline_protocol::session::{Phase, ViewerConfig, ViewerSession};
use lifeline_protocol::version::SUPPORTED_VERSIONS;
use lifeline_protocol::{PublicKey, ScopeSet};

fuzz_target!(|data: &[u8]| {
    let mut viewer = ViewerSession::new(ViewerConfig {
        local: PublicKey([2; 32]).fingerprint(),
        peer: PublicKey([1; 32]).fingerprint(),
        channel_binding: b"exporter".to_vec(),
        code: OneTimeCode::parse("123456789").expect("valid code"),
        technician_name: "fuzz".to_owned(),
        requested: ScopeSet::all(),
        reason: String::new(),
        software_version: "fuzz".to_owned(),
        versions: SUPPORTED_VERSIONS.to_vec(),
        capabilities: Capabilities::H264,
    });
    let mut reader = ControlReader::new();
    let Ok(messages) = reader.feed(data) else {
        return;
    };
    for message in messages {
        let _ = viewer.handle_control(message);
        while viewer.poll_transmit().is_some() {}
        while viewer.poll_event().is_some() {}
        // Without the agent's valid proof (which random bytes cannot forge), the
        // viewer never reaches consent or activity.
        assert!(matches!(
            viewer.phase(),
            Phase::AwaitingHello | Phase::Authenticating | Phase::Closed
        ));
    }
});
