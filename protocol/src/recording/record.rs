//! Records inside a records chunk: a 13-byte envelope (type, time, length) and a
//! payload, binary for video and pointer moves, JSON for events.

use crate::message::{VideoCodec, VideoFrameHeader};
use crate::time::Timestamp;

use super::event::Event;

pub(crate) const TYPE_VIDEO: u8 = 1;
pub(crate) const TYPE_POINTER: u8 = 2;
pub(crate) const TYPE_EVENT: u8 = 3;
pub(crate) const ENVELOPE_LEN: usize = 13;
pub(crate) const VIDEO_HEAD_LEN: usize = 26;
const CODEC_H264: u8 = 1;

/// One record read back.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Record {
    /// An encoded video frame as the agent sent it. `header.payload_len` is
    /// `data.len()`.
    Video {
        /// The frame's header (sequence, capture time, keyframe, size, codec).
        header: VideoFrameHeader,
        /// The encoded frame (an H.264 Annex-B access unit).
        data: Vec<u8>,
    },
    /// The technician's pointer moved to (x, y) in video pixels.
    PointerMove {
        /// Column.
        x: u32,
        /// Row.
        y: u32,
    },
    /// Anything else that happened.
    Event(Event),
}

/// A record with its time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedRecord {
    /// When it was recorded.
    pub time: Timestamp,
    /// What.
    pub record: Record,
}

pub(crate) fn push_envelope(body: &mut Vec<u8>, kind: u8, time: Timestamp, len: u32) {
    body.push(kind);
    body.extend_from_slice(&time.as_unix_millis().to_be_bytes());
    body.extend_from_slice(&len.to_be_bytes());
}

pub(crate) fn push_video_head(body: &mut Vec<u8>, header: &VideoFrameHeader) {
    body.extend_from_slice(&header.sequence.to_be_bytes());
    body.extend_from_slice(&header.capture_time.as_unix_millis().to_be_bytes());
    body.push(u8::from(header.keyframe));
    body.extend_from_slice(&header.width.to_be_bytes());
    body.extend_from_slice(&header.height.to_be_bytes());
    body.push(match header.codec {
        VideoCodec::H264 => CODEC_H264,
    });
}

fn be_u64(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[..8]);
    u64::from_be_bytes(b)
}

fn be_u32(bytes: &[u8]) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[..4]);
    u32::from_be_bytes(b)
}

/// Walks the records of one chunk body.
#[derive(Debug)]
pub(crate) struct BodyCursor {
    pub(crate) pos: usize,
}

impl BodyCursor {
    pub(crate) fn new() -> Self {
        Self { pos: 0 }
    }

    /// The next record of `body`: `Ok(None)` at its end; records of unknown types are
    /// skipped. An error says what is wrong.
    pub(crate) fn next(&mut self, body: &[u8]) -> Result<Option<TimedRecord>, String> {
        loop {
            let Some(rest) = body.get(self.pos..) else {
                return Err("the record position is past the chunk".to_owned());
            };
            if rest.is_empty() {
                return Ok(None);
            }
            if rest.len() < ENVELOPE_LEN {
                return Err(format!("a record envelope at byte {} is cut off", self.pos));
            }
            let kind = rest[0];
            let time = Timestamp(be_u64(&rest[1..9]));
            let len = usize::try_from(be_u32(&rest[9..13])).map_err(|err| err.to_string())?;
            let payload = rest
                .get(ENVELOPE_LEN..ENVELOPE_LEN.saturating_add(len))
                .ok_or_else(|| {
                    format!(
                        "the record at byte {} claims {len} bytes, more than the chunk holds",
                        self.pos
                    )
                })?;
            let at = self.pos;
            self.pos += ENVELOPE_LEN + len;
            let record = match kind {
                TYPE_VIDEO => decode_video(payload).map_err(|why| format!("{why} at byte {at}"))?,
                TYPE_POINTER => {
                    if payload.len() != 8 {
                        return Err(format!("a pointer record at byte {at} is not 8 bytes"));
                    }
                    Record::PointerMove {
                        x: be_u32(&payload[0..4]),
                        y: be_u32(&payload[4..8]),
                    }
                }
                TYPE_EVENT => Record::Event(
                    serde_json::from_slice(payload)
                        .map_err(|err| format!("an event at byte {at} is not valid: {err}"))?,
                ),
                _ => continue,
            };
            return Ok(Some(TimedRecord { time, record }));
        }
    }
}

fn decode_video(payload: &[u8]) -> Result<Record, String> {
    if payload.len() < VIDEO_HEAD_LEN {
        return Err("a video record is shorter than its header".to_owned());
    }
    let codec = match payload[25] {
        CODEC_H264 => VideoCodec::H264,
        other => return Err(format!("a video record has unknown codec {other}")),
    };
    let data = payload[VIDEO_HEAD_LEN..].to_vec();
    let header = VideoFrameHeader {
        sequence: be_u64(&payload[0..8]),
        capture_time: Timestamp(be_u64(&payload[8..16])),
        keyframe: payload[16] & 1 != 0,
        width: be_u32(&payload[17..21]),
        height: be_u32(&payload[21..25]),
        codec,
        payload_len: u32::try_from(data.len()).map_err(|err| err.to_string())?,
    };
    Ok(Record::Video { header, data })
}
