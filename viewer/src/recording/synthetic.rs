//! Synthetic recordings for tests and measurements: real H.264 from lifeline-codec's
//! encoder, of a picture that differs in every frame (a bar moves across a background
//! whose shade names the keyframe interval), with a keyframe every
//! [`KEYFRAME_EVERY_FRAMES`](super::recorder::KEYFRAME_EVERY_FRAMES) frames like the
//! recorder asks for, and the events of a session (consent, a scope change, chat lines,
//! a command, the end).
//!
//! Only a few keyframe intervals are encoded; the rest of the recording repeats their
//! encoded frames (each interval starts with a keyframe, so the stream stays valid), so
//! that an hour-long file takes seconds to make. Frame `n` of such a file shows the
//! picture of frame `n` of the first intervals' pattern: see [`SyntheticSpec::picture`].
//!
//! It does not simulate a network or the recorder thread; the session e2e tests record
//! real sessions.

use std::io::Write;
use std::time::Duration;

use lifeline_codec::{
    BgraFrame, EncodeOptions, Encoder as _, EncoderSettings, I420Image, OpenH264Encoder,
    bgra_to_i420,
};
use lifeline_protocol::audit::{Actor, AuditAction, AuditRecord, Outcome};
use lifeline_protocol::message::VideoCodec;
use lifeline_protocol::recording::{
    AgentInfo, Event, FORMAT_NAME, FORMAT_VERSION, Header, Policy, Recorder, RecordingId,
    RecordingWriter, Side, TechnicianInfo, TechnicianVerification,
};
use lifeline_protocol::{KeyPair, PublicKey, Scope, ScopeSet, Timestamp, VideoFrameHeader};

/// When a synthetic recording starts (2023-11-14 22:13:20 UTC).
pub const SYNTHETIC_START: Timestamp = Timestamp(1_700_000_000_000);

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntheticSpec {
    /// Picture width in pixels.
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
    /// Time between frames.
    pub frame_interval: Duration,
    /// Frames in all.
    pub frames: u64,
    /// A keyframe starts every this many frames.
    pub keyframe_every: u64,
    /// How many keyframe intervals are really encoded; later ones repeat them.
    pub distinct_intervals: u64,
    /// A chat line every this many frames (alternately from the end user and the
    /// technician).
    pub chat_every: Option<u64>,
    /// Write the index and the final seal (false: as if the recorder was killed after
    /// the last frame).
    pub finish: bool,
}

impl Default for SyntheticSpec {
    fn default() -> Self {
        Self {
            width: 320,
            height: 240,
            frame_interval: Duration::from_millis(100),
            frames: 100,
            keyframe_every: super::recorder::KEYFRAME_EVERY_FRAMES,
            distinct_intervals: 2,
            chat_every: Some(40),
            finish: true,
        }
    }
}

/// What was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntheticSummary {
    /// The time of each frame, by frame number.
    pub frame_times: Vec<Timestamp>,
    /// Events written, with their times.
    pub events: Vec<(Timestamp, Event)>,
    /// The time of the last record.
    pub end: Timestamp,
}

impl SyntheticSpec {
    /// The time of frame `n`: the first frame comes one interval after the start.
    pub fn frame_time(&self, n: u64) -> Timestamp {
        let millis = u64::try_from(self.frame_interval.as_millis()).unwrap_or(u64::MAX);
        SYNTHETIC_START.saturating_add(Duration::from_millis(millis.saturating_mul(n + 1)))
    }

    /// The frame shown at `time`: the last one at or before it (the first one before
    /// the first frame).
    pub fn frame_at(&self, time: Timestamp) -> u64 {
        let millis = u64::try_from(self.frame_interval.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let since = time
            .as_unix_millis()
            .saturating_sub(SYNTHETIC_START.as_unix_millis());
        (since / millis)
            .saturating_sub(1)
            .min(self.frames.saturating_sub(1))
    }

    /// The source picture (BGRA) of frame `n`: a background whose shade says which of
    /// the distinct keyframe intervals it belongs to, and a bright bar whose place says
    /// which frame of the interval it is.
    pub fn picture(&self, n: u64) -> Vec<u8> {
        let every = self.keyframe_every.max(1);
        let interval = (n / every) % self.distinct_intervals.max(1);
        let within = n % every;
        let (width, height) = (self.width as usize, self.height as usize);
        let shade = 40 + (interval * 50 % 160) as u8;
        let bar_width = (width / 40).max(2);
        let step = ((width - bar_width) / every as usize).max(1);
        let bar = (within as usize * step) % (width - bar_width).max(1);
        // Two row patterns (the checkerboard's phases) copied row by row, then the bar.
        let row_of = |phase: usize| -> Vec<u8> {
            (0..width)
                .flat_map(|x| {
                    if (x / 16 + phase).is_multiple_of(2) {
                        [shade, shade / 2, 255 - shade, 255]
                    } else {
                        [shade / 2, shade, 200, 255]
                    }
                })
                .collect()
        };
        let rows = [row_of(0), row_of(1)];
        let mut bgra = vec![0u8; width * height * 4];
        for (y, row) in bgra.chunks_exact_mut(width * 4).enumerate() {
            row.copy_from_slice(&rows[(y / 16) % 2]);
            row[bar * 4..(bar + bar_width) * 4].fill(250);
        }
        bgra
    }
}

/// Writes a synthetic recording to `out`, signed with a fresh key.
pub fn write_synthetic<W: Write>(
    out: &mut W,
    spec: &SyntheticSpec,
) -> Result<SyntheticSummary, String> {
    let key = KeyPair::generate().map_err(|err| err.to_string())?;
    let header = synthetic_header(key.public_key());
    let mut writer = RecordingWriter::new(out, key, header).map_err(|err| err.to_string())?;
    let intervals = encode_intervals(spec)?;
    let mut summary = SyntheticSummary {
        frame_times: Vec::new(),
        events: Vec::new(),
        end: SYNTHETIC_START,
    };
    let mut event = |writer: &mut RecordingWriter<&mut W>, time: Timestamp, event: Event| {
        summary.events.push((time, event.clone()));
        writer
            .write_event(time, &event)
            .map_err(|err| err.to_string())
    };
    let granted = ScopeSet::from([Scope::ViewScreen, Scope::RecordSession]);
    event(
        &mut writer,
        SYNTHETIC_START,
        Event::ConsentGranted { scopes: granted },
    )?;
    let every = spec.keyframe_every.max(1);
    let mut last_tick = SYNTHETIC_START;
    for n in 0..spec.frames {
        let time = spec.frame_time(n);
        let (keyframe, data) = usize::try_from((n / every) % intervals.len() as u64)
            .ok()
            .and_then(|interval| intervals.get(interval))
            .and_then(|interval| interval.get(usize::try_from(n % every).ok()?))
            .ok_or_else(|| format!("synthetic frame {n} was not encoded"))?;
        let head = VideoFrameHeader {
            sequence: n,
            capture_time: time,
            keyframe: *keyframe,
            width: spec.width,
            height: spec.height,
            codec: VideoCodec::H264,
            payload_len: u32::try_from(data.len()).map_err(|err| err.to_string())?,
        };
        writer
            .write_video(time, &head, data)
            .map_err(|err| err.to_string())?;
        summary.frame_times.push(time);
        if n == spec.frames / 3 {
            let mut more = granted;
            more.insert(Scope::ControlInput);
            event(&mut writer, time, Event::ScopesChanged { granted: more })?;
        }
        if n == spec.frames * 2 / 3 {
            event(&mut writer, time, command_event(time))?;
        }
        if let Some(chat) = spec.chat_every
            && chat > 0
            && n % chat == chat / 2
        {
            let from = if (n / chat).is_multiple_of(2) {
                Side::Agent
            } else {
                Side::Technician
            };
            let text = format!("chat line at frame {n}");
            event(
                &mut writer,
                time,
                Event::Chat {
                    from,
                    bytes: text.len(),
                    text: Some(text),
                },
            )?;
        }
        if time.saturating_duration_since(last_tick) >= Duration::from_secs(1) {
            writer.tick(time).map_err(|err| err.to_string())?;
            last_tick = time;
        }
    }
    let end = spec.frame_time(spec.frames.saturating_sub(1));
    event(
        &mut writer,
        end,
        Event::SessionEnded {
            by: Side::Technician,
            reason: "the technician disconnected".to_owned(),
        },
    )?;
    summary.end = end;
    if spec.finish {
        writer.finish(end).map_err(|err| err.to_string())?;
    } else {
        // What a killed recorder leaves, once a last tick has written out what it
        // gathered: no index, no final seal.
        writer
            .tick(end.saturating_add(Duration::from_secs(2)))
            .map_err(|err| err.to_string())?;
    }
    Ok(summary)
}

fn synthetic_header(key: PublicKey) -> Header {
    Header {
        format: FORMAT_NAME.to_owned(),
        version: FORMAT_VERSION,
        recording_id: RecordingId([0x5a; 16]),
        started: SYNTHETIC_START,
        recorder: Recorder {
            side: Side::Technician,
            public_key: key,
            software: "lifeline-viewer synthetic".to_owned(),
        },
        agent: AgentInfo {
            fingerprint: PublicKey([1; 32]).fingerprint(),
            software_version: Some("0.1.0".to_owned()),
        },
        technician: TechnicianInfo {
            name: "Tess Tester".to_owned(),
            fingerprint: key.fingerprint(),
            verification: TechnicianVerification::Organisation {
                name: "Example Support".to_owned(),
            },
        },
        session_id: None,
        protocol_version: Some(1),
        policy: Policy::default(),
    }
}

fn command_event(time: Timestamp) -> Event {
    Event::Audit(AuditRecord {
        time,
        session: None,
        actor: Actor::Technician {
            fingerprint: PublicKey([2; 32]).fingerprint(),
        },
        action: AuditAction::CommandSent {
            id: 1,
            command_line: "uptime".to_owned(),
        },
        scope: Some(Scope::RunCommands),
        outcome: Outcome::Succeeded,
    })
}

/// One keyframe interval's frames as (keyframe, H.264).
type Interval = Vec<(bool, Vec<u8>)>;

/// Encodes the distinct keyframe intervals.
fn encode_intervals(spec: &SyntheticSpec) -> Result<Vec<Interval>, String> {
    let every = spec.keyframe_every.max(1);
    let needed = spec
        .frames
        .div_ceil(every)
        .clamp(1, spec.distinct_intervals.max(1));
    let mut encoder =
        OpenH264Encoder::new(EncoderSettings::default()).map_err(|err| err.to_string())?;
    let mut image = I420Image::new(spec.width, spec.height).map_err(|err| err.to_string())?;
    let mut intervals = Vec::new();
    for interval in 0..needed {
        let frames = every.min(spec.frames.saturating_sub(interval * every).max(1));
        let mut encoded = Vec::new();
        for within in 0..frames {
            let n = interval * every + within;
            let bgra = spec.picture(n);
            let frame = BgraFrame::new(&bgra, spec.width, spec.height, spec.width as usize * 4)
                .map_err(|err| err.to_string())?;
            bgra_to_i420(&frame, &mut image).map_err(|err| err.to_string())?;
            let options = EncodeOptions {
                force_keyframe: within == 0,
            };
            let out = encoder
                .encode(&image, options)
                .map_err(|err| err.to_string())?;
            if out.annex_b.is_empty() {
                return Err(format!("the encoder skipped synthetic frame {n}"));
            }
            encoded.push((out.frame_type.is_keyframe(), out.annex_b));
        }
        // Only whole intervals repeat: a short one is the file's last.
        intervals.push(encoded);
    }
    Ok(intervals)
}
