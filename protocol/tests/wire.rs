//! Every message survives the wire; arbitrary bytes never panic the decoders.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use lifeline_protocol::action::{ActionPending, ActionRefusal, CommandOutput, CommandRequest};
use lifeline_protocol::framing::{
    CONTROL_FRAME_LIMIT, ControlReader, DATAGRAM_LIMIT, MAX_FRAME_DIMENSION, decode_datagram,
    decode_video_frame, encode_control, encode_datagram, encode_video_frame,
};
use lifeline_protocol::message::{
    AuthMessage, AuthRejection, Capabilities, ConsentDecision, ConsentRequest, ControlMessage,
    Datagram, EndReason, ErrorKind, ErrorReport, Hello, KeyEvent, Modifiers, MouseButton,
    PointerButton, ReceiverReport, ScopeRefusal, ScopeRequest, SessionEnd, SessionId,
    TechnicianIdentity, UnattendedAuth, Verification, VideoCodec, VideoFrameHeader, Wheel,
};
use lifeline_protocol::trust::CertificateBody;
use lifeline_protocol::version::Role;
use lifeline_protocol::{LocalMisuse, PeerMisbehaved, PublicKey, Scope, ScopeSet, Timestamp};
use proptest::prelude::*;

fn every_control_message() -> Vec<ControlMessage> {
    let certificate = CertificateBody {
        organisation: "Example IT".to_owned(),
        organisation_key: PublicKey([1; 32]),
        technician: "Sam".to_owned(),
        technician_key: PublicKey([3; 32]),
        scopes: ScopeSet::all(),
        issued_at: Timestamp(1),
        expires_at: Timestamp(2),
    }
    .sign(&lifeline_protocol::KeyPair::generate().unwrap());
    let technician = TechnicianIdentity {
        display_name: "Sam 山姆".to_owned(),
        fingerprint: PublicKey([3; 32]).fingerprint(),
        verification: Verification::Organisation {
            organisation: "Example IT".to_owned(),
        },
    };
    vec![
        ControlMessage::Hello(Hello {
            versions: vec![1, 2],
            role: Role::Viewer,
            capabilities: Capabilities::H264.union(Capabilities::CURSOR),
            software_version: "0.1.0".to_owned(),
            session_id: Some(SessionId([9; 16])),
        }),
        ControlMessage::Auth(AuthMessage::Spake2(vec![0x41; 33])),
        ControlMessage::Auth(AuthMessage::Confirm(vec![1; 32])),
        ControlMessage::AuthRejected(AuthRejection::WrongCode { code_rotated: true }),
        ControlMessage::AuthRejected(AuthRejection::TooManyAttempts {
            retry_after_secs: 60,
        }),
        ControlMessage::ConsentRequest(ConsentRequest {
            technician: technician.clone(),
            scopes: ScopeSet::all(),
            reason: "fix e-mail".to_owned(),
            certificate: None,
        }),
        ControlMessage::ConsentRequest(ConsentRequest {
            technician,
            scopes: ScopeSet::all(),
            reason: "fix e-mail".to_owned(),
            certificate: Some(Box::new(certificate.clone())),
        }),
        ControlMessage::Auth(AuthMessage::Unattended(Box::new(UnattendedAuth {
            certificate,
            proof: vec![7; 64],
            totp: Some("123456".to_owned()),
        }))),
        ControlMessage::Auth(AuthMessage::UnattendedAccepted),
        ControlMessage::RunCommand(CommandRequest {
            id: 7,
            command_line: "journalctl -n 50 | grep -i ошибка".to_owned(),
        }),
        ControlMessage::ActionPending(ActionPending { id: 7 }),
        ControlMessage::ActionRefused(ActionRefusal {
            id: 7,
            reason: "refused".to_owned(),
        }),
        ControlMessage::CommandOutput(CommandOutput {
            id: 7,
            exit_code: Some(-1),
            stdout: "out\n".to_owned(),
            stderr: "err\n".to_owned(),
            truncated: true,
        }),
        ControlMessage::AuthRejected(AuthRejection::UnattendedRefused {
            reason: "policy".to_owned(),
        }),
        ControlMessage::ConsentDecision(ConsentDecision::Granted(Scope::ViewScreen.into())),
        ControlMessage::ConsentDecision(ConsentDecision::Refused {
            reason: "no".to_owned(),
        }),
        ControlMessage::ScopeRequest(ScopeRequest {
            scopes: Scope::FileTransfer.into(),
            reason: "send the log".to_owned(),
        }),
        ControlMessage::ScopeGrant(Scope::FileTransfer.into()),
        ControlMessage::ScopeRefused(ScopeRefusal {
            scopes: Scope::RunCommands.into(),
            reason: String::new(),
        }),
        ControlMessage::ScopeRevoke(ScopeSet::from([Scope::ControlInput, Scope::Clipboard])),
        ControlMessage::KeyframeRequest,
        ControlMessage::ReceiverReport(ReceiverReport {
            last_sequence: 1234,
            frames_received: 30,
            frames_decoded: 29,
            frames_dropped: 1,
            decode_time_us: 2100,
            bitrate_hint_bps: 2_000_000,
        }),
        ControlMessage::Ping(u64::MAX),
        ControlMessage::Pong(7),
        ControlMessage::PointerButton(PointerButton {
            button: MouseButton::Right,
            pressed: false,
        }),
        ControlMessage::Wheel(Wheel { dx: -1, dy: 3 }),
        ControlMessage::Key(KeyEvent {
            usb_hid_usage: 0xE0,
            keysym: None,
            text: Some('é'),
            modifiers: Modifiers(Modifiers::CTRL.0 | Modifiers::ALT.0),
            pressed: true,
        }),
        ControlMessage::TypeText("hello, 世界".to_owned()),
        ControlMessage::ClipboardText("clip".repeat(1000)),
        ControlMessage::Chat("Can you see my screen?".to_owned()),
        ControlMessage::SessionEnd(SessionEnd {
            by: Role::Agent,
            reason: EndReason::StoppedByUser,
        }),
        ControlMessage::SessionEnd(SessionEnd {
            by: Role::Viewer,
            reason: EndReason::AuthenticationFailed(AuthRejection::WrongCode {
                code_rotated: false,
            }),
        }),
        ControlMessage::Error(ErrorReport {
            kind: ErrorKind::PermissionDenied,
            message: "key needs input".to_owned(),
        }),
    ]
}

#[test]
fn every_control_message_round_trips_in_one_stream() {
    let messages = every_control_message();
    let mut stream = Vec::new();
    for message in &messages {
        stream.extend(encode_control(message).unwrap());
    }
    // Deliver the stream in awkward pieces.
    let mut reader = ControlReader::new();
    let mut decoded = Vec::new();
    for piece in stream.chunks(7) {
        decoded.extend(reader.feed(piece).unwrap());
    }
    assert_eq!(decoded, messages);
    assert!(reader.is_at_frame_boundary());
}

#[test]
fn datagrams_and_video_headers_round_trip() {
    let datagram = Datagram::PointerMove {
        sequence: 99,
        x: 1919,
        y: 1079,
    };
    let bytes = encode_datagram(&datagram).unwrap();
    assert!(bytes.len() <= DATAGRAM_LIMIT);
    assert_eq!(decode_datagram(&bytes).unwrap(), datagram);

    let payload = vec![0, 0, 0, 1, 0x65, 0x88];
    let header = VideoFrameHeader {
        sequence: 5,
        capture_time: Timestamp(1_750_000_000_000),
        keyframe: true,
        width: 1920,
        height: 1080,
        codec: VideoCodec::H264,
        payload_len: payload.len() as u32,
    };
    let stream = encode_video_frame(&header, &payload).unwrap();
    let (decoded, decoded_payload) = decode_video_frame(&stream).unwrap();
    assert_eq!(decoded, header);
    assert_eq!(decoded_payload, payload.as_slice());
}

#[test]
fn a_length_prefix_of_4_gigabytes_is_refused_at_once() {
    let mut reader = ControlReader::new();
    let err = reader.feed(&[0xFF, 0xFF, 0xFF, 0xFF, 0, 0]).unwrap_err();
    assert_eq!(
        err,
        PeerMisbehaved::FrameTooLarge {
            channel: "control",
            declared: 0xFFFF_FFFF,
            limit: CONTROL_FRAME_LIMIT,
        }
    );
    // Just over the limit is refused too; exactly at it is waited for.
    let over = (CONTROL_FRAME_LIMIT as u32 + 1).to_be_bytes();
    assert!(ControlReader::new().feed(&over).is_err());
    let at = (CONTROL_FRAME_LIMIT as u32).to_be_bytes();
    assert_eq!(ControlReader::new().feed(&at).unwrap(), vec![]);
}

#[test]
fn oversized_and_inconsistent_video_frames_are_refused() {
    let mut header = VideoFrameHeader {
        sequence: 1,
        capture_time: Timestamp(0),
        keyframe: false,
        width: MAX_FRAME_DIMENSION + 1,
        height: 10,
        codec: VideoCodec::H264,
        payload_len: 3,
    };
    let stream = encode_video_frame(&header, &[1, 2, 3]).unwrap();
    assert!(matches!(
        decode_video_frame(&stream),
        Err(PeerMisbehaved::FrameDimensions { .. })
    ));

    header.width = 640;
    let mut stream = encode_video_frame(&header, &[1, 2, 3]).unwrap();
    stream.pop();
    assert!(matches!(
        decode_video_frame(&stream),
        Err(PeerMisbehaved::Malformed { .. })
    ));

    header.payload_len = u32::MAX;
    let stream = encode_video_frame(
        &VideoFrameHeader {
            payload_len: 0,
            ..header
        },
        &[],
    )
    .unwrap();
    let mut forged = stream.clone();
    // Re-encode the header with a giant payload length but no payload.
    let giant = postcard::to_allocvec(&header).unwrap();
    forged.truncate(0);
    forged.extend((giant.len() as u32).to_be_bytes());
    forged.extend(giant);
    assert!(matches!(
        decode_video_frame(&forged),
        Err(PeerMisbehaved::FrameTooLarge { .. })
    ));
}

#[test]
fn text_over_its_limit_is_refused_on_both_ends() {
    let long_chat = ControlMessage::Chat("x".repeat(lifeline_protocol::message::MAX_CHAT_LEN + 1));
    assert!(matches!(
        encode_control(&long_chat),
        Err(LocalMisuse::FieldTooLong(_))
    ));
    // A peer that skips the check is caught when its frame is read.
    let body = postcard::to_allocvec(&long_chat).unwrap();
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend(body);
    assert!(matches!(
        ControlReader::new().feed(&frame),
        Err(PeerMisbehaved::FieldTooLong(_))
    ));
}

#[test]
fn trailing_bytes_inside_a_frame_are_malformed() {
    let mut body = postcard::to_allocvec(&ControlMessage::Ping(1)).unwrap();
    body.push(0);
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend(body);
    assert!(matches!(
        ControlReader::new().feed(&frame),
        Err(PeerMisbehaved::Malformed { .. })
    ));
}

proptest! {
    #[test]
    fn arbitrary_control_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16)) {
        let mut reader = ControlReader::new();
        for chunk in chunks {
            if reader.feed(&chunk).is_err() {
                break;
            }
        }
    }

    #[test]
    fn arbitrary_frames_with_valid_prefix_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut frame = (body.len() as u32).to_be_bytes().to_vec();
        frame.extend(&body);
        let _ = ControlReader::new().feed(&frame);
    }

    #[test]
    fn arbitrary_datagrams_and_video_streams_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = decode_datagram(&bytes);
        let _ = decode_video_frame(&bytes);
    }

    #[test]
    fn mutated_valid_messages_never_panic(index in 0usize..26, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let messages = every_control_message();
        let mut bytes = encode_control(&messages[index % messages.len()]).unwrap();
        for (at, value) in flips {
            let len = bytes.len();
            bytes[at % len] ^= value;
        }
        let _ = ControlReader::new().feed(&bytes);
    }
}
