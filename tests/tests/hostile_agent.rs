//! A malicious agent against the real `lifeline-viewer connect --headless`: corrupt
//! H.264, giant dimensions (in the frame header and in the H.264 parameter set), a flood
//! of frames, a flood of the largest frames the protocol allows, and a 4 GB length
//! prefix on the control stream.
//!
//! The fake agent is written here with quinn and the protocol crate's `AgentSession`,
//! on the agent's own TLS set-up: it authenticates honestly (the viewer accepts it),
//! grants what is asked, then attacks. Each case asserts that the viewer neither
//! crashes nor runs out of memory (its peak resident memory, read from /proc while it
//! runs, stays under a bound) and that it says clearly how the session ended.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "tests fail loudly on purpose, and report what they measured"
)]

use std::net::SocketAddr;
use std::time::Duration;

use lifeline_codec::{EncodeOptions, Encoder, EncoderSettings, I420Image, OpenH264Encoder};
use lifeline_protocol::code::{CodeGuard, CodePolicy};
use lifeline_protocol::framing::{
    ControlReader, VIDEO_PAYLOAD_LIMIT, encode_control, encode_video_frame,
};
use lifeline_protocol::message::{Capabilities, ControlMessage, SessionId, VideoCodec};
use lifeline_protocol::session::{AgentConfig, AgentEvent, AgentSession, ConsentAnswer, Phase};
use lifeline_protocol::version::SUPPORTED_VERSIONS;
use lifeline_protocol::{Timestamp, VideoFrameHeader};
use lifeline_tests::hostile::{ViewerWatch, watch_headless_viewer};

/// The viewer's peak resident memory must stay below this whatever the agent sends.
const VIEWER_PEAK_RSS_LIMIT_KIB: u64 = 256 * 1024;

fn now() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    Timestamp(u64::try_from(millis).unwrap())
}

/// An authenticated, active session on the fake agent's side.
struct Active {
    connection: quinn::Connection,
    send: quinn::SendStream,
    recv: quinn::RecvStream,
    session: AgentSession,
    guard: CodeGuard,
    reader: ControlReader,
}

impl Active {
    async fn flush(&mut self) {
        while let Some(message) = self.session.poll_transmit() {
            let _ = self
                .send
                .write_all(&encode_control(&message).unwrap())
                .await;
        }
    }

    /// Reads what the viewer sent so far (without waiting long).
    async fn drain(&mut self) -> Vec<ControlMessage> {
        let mut seen = Vec::new();
        let mut buffer = vec![0u8; 65536];
        while let Ok(Ok(Some(n))) =
            tokio::time::timeout(Duration::from_millis(200), self.recv.read(&mut buffer)).await
        {
            seen.extend(self.reader.feed(&buffer[..n]).unwrap_or_default());
        }
        seen
    }

    /// Ends the session as an end user's Stop would.
    async fn stop(&mut self) {
        self.session.stop(now());
        self.flush().await;
        let _ = self.send.finish();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.connection.closed()).await;
    }

    /// Sends one video frame on a stream of its own.
    async fn send_frame(&self, header: &VideoFrameHeader, payload: &[u8]) -> bool {
        send_frame(&self.connection, header, payload).await
    }
}

/// Sends one video frame on a stream of its own; false once the viewer is gone.
async fn send_frame(
    connection: &quinn::Connection,
    header: &VideoFrameHeader,
    payload: &[u8],
) -> bool {
    let bytes = encode_video_frame(header, payload).unwrap();
    let Ok(mut stream) = connection.open_uni().await else {
        return false;
    };
    stream.write_all(&bytes).await.is_ok() && stream.finish().is_ok()
}

fn header(
    sequence: u64,
    keyframe: bool,
    width: u32,
    height: u32,
    payload: &[u8],
) -> VideoFrameHeader {
    VideoFrameHeader {
        sequence,
        capture_time: now(),
        keyframe,
        width,
        height,
        codec: VideoCodec::H264,
        payload_len: u32::try_from(payload.len()).unwrap(),
    }
}

/// A fake agent on 127.0.0.1 with the agent's own TLS set-up and a fresh key.
struct FakeAgent {
    endpoint: quinn::Endpoint,
    identity: lifeline_agent::identity::Identity,
    guard: CodeGuard,
    _dir: tempfile::TempDir,
}

impl FakeAgent {
    fn start(runtime: &tokio::runtime::Runtime) -> Self {
        let _entered = runtime.enter();
        let dir = tempfile::tempdir().unwrap();
        let identity = lifeline_agent::identity::load_or_create(dir.path()).unwrap();
        let endpoint =
            lifeline_agent::net::listen(&identity, SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let guard = CodeGuard::new(CodePolicy::default(), now()).unwrap();
        Self {
            endpoint,
            identity,
            guard,
            _dir: dir,
        }
    }

    fn address(&self) -> String {
        self.endpoint.local_addr().unwrap().to_string()
    }

    fn code(&mut self) -> String {
        self.guard.current(now()).unwrap().grouped()
    }

    /// Accepts one viewer and runs the protocol honestly until the session is active,
    /// granting everything asked.
    async fn accept(mut self) -> Active {
        let connection = self.endpoint.accept().await.unwrap().await.unwrap();
        let (send, recv) = connection.accept_bi().await.unwrap();
        let session = AgentSession::new(AgentConfig {
            local: self.identity.key.public_key().fingerprint(),
            peer: lifeline_agent::net::peer_fingerprint(&connection).unwrap(),
            channel_binding: lifeline_agent::net::channel_binding(&connection).unwrap(),
            session_id: SessionId::random().unwrap(),
            software_version: "malicious".to_owned(),
            versions: SUPPORTED_VERSIONS.to_vec(),
            capabilities: Capabilities::H264,
            trust: Default::default(),
        });
        let mut active = Active {
            connection,
            send,
            recv,
            session,
            guard: std::mem::replace(
                &mut self.guard,
                CodeGuard::new(CodePolicy::default(), now()).unwrap(),
            ),
            reader: ControlReader::new(),
        };
        let mut buffer = vec![0u8; 65536];
        while active.session.phase() != Phase::Active {
            let n = active.recv.read(&mut buffer).await.unwrap().unwrap();
            for message in active.reader.feed(&buffer[..n]).unwrap() {
                active
                    .session
                    .handle_control(message, &mut active.guard, now())
                    .unwrap();
            }
            while let Some(event) = active.session.poll_event() {
                if let AgentEvent::ConsentNeeded(prompt) = event {
                    active
                        .session
                        .answer_consent(ConsentAnswer::Allow(prompt.scopes), now())
                        .unwrap();
                }
            }
            active.flush().await;
        }
        // Keep the endpoint alive as long as the connection.
        std::mem::forget(self.endpoint);
        active
    }
}

/// Runs `attack` against a headless viewer that connects to a fake agent and asks for
/// `frames` frames; returns what the viewer did and what it sent during the attack.
fn against_the_viewer<F, Fut>(frames: &str, attack: F) -> (ViewerWatch, Vec<ControlMessage>)
where
    F: FnOnce(Active) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Vec<ControlMessage>> + Send,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut agent = FakeAgent::start(&runtime);
    let address = agent.address();
    let code = agent.code();
    let task = runtime.spawn(async move {
        let active = agent.accept().await;
        attack(active).await
    });
    let watch = watch_headless_viewer(&address, &code, &["--frames", frames]);
    let seen = runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("the attack finishes")
            .unwrap()
    });
    eprintln!(
        "viewer peak memory {} KiB, exit {:?}",
        watch.peak_rss_kib, watch.status
    );
    assert!(
        watch.status.code().is_some(),
        "the viewer was killed by a signal: {:?}\n{}",
        watch.status,
        watch.stderr
    );
    assert!(
        watch.peak_rss_kib < VIEWER_PEAK_RSS_LIMIT_KIB,
        "the viewer's peak memory was {} KiB (limit {VIEWER_PEAK_RSS_LIMIT_KIB})",
        watch.peak_rss_kib
    );
    (watch, seen)
}

/// Valid H.264 of a moving 320x240 picture: a keyframe, then P frames.
fn valid_stream(count: usize) -> Vec<(bool, Vec<u8>)> {
    let mut encoder = OpenH264Encoder::new(EncoderSettings::default()).unwrap();
    (0..count)
        .map(|i| {
            let mut frame = lifeline_codec::OwnedBgraFrame::new(320, 240).unwrap();
            for y in 0..240 {
                for (x, pixel) in frame.row_mut(y).chunks_mut(4).enumerate() {
                    let shade = ((x + y as usize + i * 7) % 256) as u8;
                    pixel.copy_from_slice(&[shade, 255 - shade, 128, 255]);
                }
            }
            let mut image = I420Image::empty();
            lifeline_codec::bgra_to_i420(&frame.as_frame(), &mut image).unwrap();
            let encoded = encoder
                .encode(
                    &image,
                    EncodeOptions {
                        force_keyframe: i == 0,
                    },
                )
                .unwrap();
            (encoded.frame_type.is_keyframe(), encoded.annex_b)
        })
        .collect()
}

/// Deterministic noise (xorshift64*).
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

#[test]
fn corrupt_h264_is_dropped_and_a_keyframe_asked_for() {
    let (watch, seen) = against_the_viewer("1", |mut active| async move {
        for sequence in 1..=200u64 {
            let mut payload = vec![0, 0, 0, 1, 0x65];
            payload.extend(noise(sequence, 20_000));
            active
                .send_frame(&header(sequence, true, 640, 480, &payload), &payload)
                .await;
        }
        let seen = active.drain().await;
        active.stop().await;
        seen
    });
    assert!(
        !watch.success(),
        "no frame decoded, yet the viewer reported success"
    );
    assert!(
        watch.stderr.contains("does not decode"),
        "the viewer did not say the video is broken: {}",
        watch.stderr
    );
    assert!(
        watch.stderr.contains("the end user stopped the session"),
        "the viewer did not say how the session ended: {}",
        watch.stderr
    );
    assert!(
        seen.contains(&ControlMessage::KeyframeRequest),
        "the viewer did not ask for a keyframe: {seen:?}"
    );
}

#[test]
fn giant_dimensions_in_the_frame_header_end_the_session() {
    let (watch, _) = against_the_viewer("1", |mut active| async move {
        let payload = vec![0, 0, 0, 1, 0x65, 1, 2, 3];
        active
            .send_frame(&header(1, true, 100_000, 100_000, &payload), &payload)
            .await;
        let seen = active.drain().await;
        let _ = tokio::time::timeout(Duration::from_secs(10), active.connection.closed()).await;
        seen
    });
    assert!(!watch.success());
    assert!(
        watch
            .stderr
            .contains("100000x100000 video frame, larger than the 16384x16384 limit"),
        "the viewer did not explain the end: {}",
        watch.stderr
    );
}

#[test]
fn giant_dimensions_in_the_h264_parameter_set_are_refused_before_decoding() {
    let (watch, seen) = against_the_viewer("1", |mut active| async move {
        // A baseline SPS announcing 16384x16384 (1024x1024 macroblocks), then a slice.
        let mut payload = vec![
            0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x28, 0xf4, 0x00, 0x20, 0x00, 0x08, 0x00, 0x20,
        ];
        payload.extend([0, 0, 0, 1, 0x65]);
        payload.extend(noise(9, 1000));
        for sequence in 1..=5u64 {
            active
                .send_frame(&header(sequence, true, 16_384, 16_384, &payload), &payload)
                .await;
        }
        let seen = active.drain().await;
        active.stop().await;
        seen
    });
    assert!(
        watch.stderr.contains("does not decode"),
        "the viewer did not refuse the picture size: {}",
        watch.stderr
    );
    assert!(seen.contains(&ControlMessage::KeyframeRequest), "{seen:?}");
}

#[test]
fn a_flood_of_frames_is_absorbed() {
    let stream = valid_stream(30);
    let (watch, seen) = against_the_viewer("1000000", move |mut active| async move {
        // Thirty thousand frames as fast as QUIC takes them, keyframe every thirtieth.
        for sequence in 1..=30_000u64 {
            let (keyframe, payload) = &stream[(sequence as usize - 1) % stream.len()];
            if !active
                .send_frame(&header(sequence, *keyframe, 320, 240, payload), payload)
                .await
            {
                break;
            }
        }
        let seen = active.drain().await;
        active.stop().await;
        seen
    });
    eprintln!(
        "frames decoded under the flood: {:?}",
        watch.stats.as_ref().map(|s| &s["frames"])
    );
    assert!(
        watch.stderr.contains("the end user stopped the session"),
        "the viewer did not last through the flood: {}",
        watch.stderr
    );
    assert!(
        seen.iter()
            .any(|message| matches!(message, ControlMessage::ReceiverReport(_))),
        "the viewer decoded nothing: {seen:?}"
    );
}

#[test]
fn a_flood_of_the_largest_frames_stays_within_memory() {
    let (watch, _) = against_the_viewer("1", |mut active| async move {
        // Forty frames of 16 MiB, sixteen at a time (as many streams as the viewer
        // allows at once).
        let payload = std::sync::Arc::new(noise(11, VIDEO_PAYLOAD_LIMIT));
        let mut sends = tokio::task::JoinSet::new();
        for sequence in 1..=40u64 {
            if sends.len() >= 16 {
                sends.join_next().await;
            }
            let connection = active.connection.clone();
            let payload = std::sync::Arc::clone(&payload);
            sends.spawn(async move {
                let header = header(sequence, true, 1920, 1080, &payload);
                // A stream the viewer stopped reading may leave its sender waiting:
                // give up on it after a while.
                let send = send_frame(&connection, &header, &payload);
                tokio::time::timeout(Duration::from_secs(5), send)
                    .await
                    .unwrap_or(false)
            });
        }
        while sends.join_next().await.is_some() {}
        let seen = active.drain().await;
        active.stop().await;
        seen
    });
    assert!(
        watch.stderr.contains("the end user stopped the session"),
        "the viewer did not last through the flood: {}",
        watch.stderr
    );
}

#[test]
fn a_four_gigabyte_length_prefix_from_the_agent_ends_the_session() {
    let (watch, _) = against_the_viewer("1", |mut active| async move {
        let _ = active.send.write_all(&[0xff, 0xff, 0xff, 0xff, 0, 0]).await;
        let seen = active.drain().await;
        let _ = tokio::time::timeout(Duration::from_secs(10), active.connection.closed()).await;
        seen
    });
    assert!(!watch.success());
    assert!(
        watch
            .stderr
            .contains("4294967295-byte frame on the control channel"),
        "the viewer did not explain the end: {}",
        watch.stderr
    );
}
