//! The bodies of Lifeline's fuzz targets, one function per target.
//!
//! The cargo-fuzz binaries in `fuzz_targets/` call these functions; the workspace's
//! regression test (`tests/tests/fuzz_corpus.rs`, which includes this file) feeds every
//! file of the committed corpus (`fuzz/regression/<target>/`) through the same functions
//! under plain `cargo test`, so what the fuzzer once found stays fixed. Each function
//! panics on a broken property and returns quietly otherwise.
//!
//! Only `lifeline-protocol` and `lifeline-codec` are used here, so that the file builds
//! both in this crate (nightly, sanitizers) and in the workspace.

use lifeline_codec::{DEFAULT_MAX_DECODE_DIMENSION, Decoder, OpenH264Decoder};
use lifeline_protocol::OneTimeCode;
use lifeline_protocol::certificate::certificate_public_key;
use lifeline_protocol::code::{CodeGuard, CodePolicy};
use lifeline_protocol::framing::{
    CONTROL_FRAME_LIMIT, ControlReader, MAX_FRAME_DIMENSION, VIDEO_PAYLOAD_LIMIT, decode_datagram,
    decode_video_frame, encode_control, encode_datagram,
};
use lifeline_protocol::message::{Capabilities, SessionId};
use lifeline_protocol::session::{
    AgentConfig, AgentEvent, AgentSession, Credential, Phase, ViewerConfig, ViewerSession,
};
use lifeline_protocol::version::SUPPORTED_VERSIONS;
use lifeline_protocol::{PublicKey, ScopeSet, Timestamp};

/// A target: its name (the folder of its corpus) and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: &[Target] = &[
    ("control_stream", control_stream),
    ("datagram", datagram),
    ("video_frame", video_frame),
    ("agent_session", agent_session),
    ("viewer_session", viewer_session),
    ("certificate", certificate),
    ("h264_decoder", h264_decoder),
    ("recording_reader", recording_reader),
];

/// Arbitrary bytes on the control stream, delivered in two pieces (the first byte says
/// where to cut): never a panic, and whatever decodes encodes again within the limit.
pub fn control_stream(data: &[u8]) {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let cut = usize::from(split).min(rest.len());
    let mut reader = ControlReader::new();
    for piece in [&rest[..cut], &rest[cut..]] {
        match reader.feed(piece) {
            Ok(messages) => {
                for message in messages {
                    let bytes = encode_control(&message).expect("a decoded message re-encodes");
                    assert!(bytes.len() <= 4 + CONTROL_FRAME_LIMIT);
                }
            }
            Err(_) => return,
        }
    }
}

/// Arbitrary datagrams: never a panic; whatever decodes re-encodes identically.
pub fn datagram(data: &[u8]) {
    if let Ok(datagram) = decode_datagram(data) {
        let again = encode_datagram(&datagram).expect("a decoded datagram re-encodes");
        assert_eq!(decode_datagram(&again).ok(), Some(datagram));
    }
}

/// Arbitrary video streams: never a panic; accepted frames respect every limit.
pub fn video_frame(data: &[u8]) {
    if let Ok((header, payload)) = decode_video_frame(data) {
        assert!(header.width <= MAX_FRAME_DIMENSION && header.height <= MAX_FRAME_DIMENSION);
        assert!(payload.len() <= VIDEO_PAYLOAD_LIMIT);
        assert_eq!(payload.len() as u64, u64::from(header.payload_len));
    }
}

/// A hostile viewer: arbitrary frames fed to the agent's state machine. The agent never
/// panics, never acts before consent, and never holds scopes nobody granted.
pub fn agent_session(data: &[u8]) {
    let now = Timestamp(1_750_000_000_000);
    let mut guard = CodeGuard::new(CodePolicy::default(), now).expect("random code");
    let mut agent = AgentSession::new(AgentConfig {
        local: PublicKey([1; 32]).fingerprint(),
        peer: PublicKey([2; 32]).fingerprint(),
        channel_binding: b"exporter".to_vec(),
        session_id: SessionId([0; 16]),
        software_version: "fuzz".to_owned(),
        versions: SUPPORTED_VERSIONS.to_vec(),
        capabilities: Capabilities::H264,
        trust: Default::default(),
    });
    let mut reader = ControlReader::new();
    let Ok(messages) = reader.feed(data) else {
        return;
    };
    for message in messages {
        if agent.handle_control(message, &mut guard, now).is_err() {
            assert_eq!(agent.phase(), Phase::Closed);
        }
        while agent.poll_transmit().is_some() {}
        while let Some(event) = agent.poll_event() {
            // Nobody answered the consent prompt, so nothing may be acted upon.
            assert!(!matches!(
                event,
                AgentEvent::Deliver(_) | AgentEvent::PointerMove { .. }
            ));
        }
        assert_eq!(agent.granted(), ScopeSet::empty());
    }
}

/// A hostile agent: arbitrary frames fed to the viewer's state machine. The viewer never
/// panics and never believes it is active without both proofs of the code.
pub fn viewer_session(data: &[u8]) {
    let mut viewer = ViewerSession::new(ViewerConfig {
        local: PublicKey([2; 32]).fingerprint(),
        peer: PublicKey([1; 32]).fingerprint(),
        channel_binding: b"exporter".to_vec(),
        credential: Credential::Code(OneTimeCode::parse("123456789").expect("valid code")),
        certificate: None,
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
        // Without the agent's valid proof (which random bytes cannot forge), the viewer
        // never reaches consent or activity.
        assert!(matches!(
            viewer.phase(),
            Phase::AwaitingHello | Phase::Authenticating | Phase::Closed
        ));
    }
}

/// Arbitrary bytes as a peer's TLS certificate: never a panic.
pub fn certificate(data: &[u8]) {
    let _ = certificate_public_key(data);
}

/// Arbitrary bytes as H.264 access units from a hostile agent (split at 0xA5 bytes into
/// up to four units, to exercise state across frames): errors, never a panic, and never
/// a picture above the decoder's size limit.
pub fn h264_decoder(data: &[u8]) {
    let Ok(mut decoder) = OpenH264Decoder::new() else {
        return;
    };
    for unit in data.split(|byte| *byte == 0xA5).take(4) {
        if let Ok(Some(image)) = decoder.decode(unit) {
            assert!(image.width() <= DEFAULT_MAX_DECODE_DIMENSION);
            assert!(image.height() <= DEFAULT_MAX_DECODE_DIMENSION);
        }
    }
}

/// Arbitrary bytes as a recording file (someone hands the technician a file): opening,
/// iterating, seeking and verifying never panic; the index stays within its limit; and a
/// file that verifies as intact and finished plays exactly the records verify counted.
pub fn recording_reader(data: &[u8]) {
    use lifeline_protocol::recording::{MAX_INDEX_ENTRIES, Record, RecordingReader, verify};
    use std::io::Cursor;

    let report = verify(Cursor::new(data), None).expect("reading memory does not fail");
    let Ok(mut reader) = RecordingReader::open(Cursor::new(data)) else {
        assert!(!report.is_valid(), "a valid recording opens");
        return;
    };
    assert!(reader.index().len() <= MAX_INDEX_ENTRIES);
    let (mut records, mut frames, mut failed) = (0u64, 0u64, false);
    loop {
        match reader.next_record() {
            Ok(Some(record)) => {
                records += 1;
                frames += u64::from(matches!(record.record, Record::Video { .. }));
            }
            Ok(None) => break,
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    if report.is_valid() {
        assert!(reader.is_finished());
        assert!(!failed, "an intact recording reads to its end");
        assert_eq!((records, frames), (report.records, report.video_frames));
    }
    // Seeks to the times the file names (and past both ends) land and read on.
    let mut times: Vec<u64> = reader.index().iter().map(|e| e.time.0).take(8).collect();
    times.extend([0, u64::MAX, report.span.map_or(0, |(first, _)| first.0)]);
    for time in times {
        if reader.seek(Timestamp(time)).is_err() {
            continue;
        }
        for _ in 0..64 {
            if !matches!(reader.next_record(), Ok(Some(_))) {
                break;
            }
        }
    }
}
