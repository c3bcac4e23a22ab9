//! Writing a recording: records are gathered into a chunk in memory (at most about
//! [`CHUNK_TARGET_BYTES`](super::CHUNK_TARGET_BYTES), or one large frame) and each
//! finished chunk is written and flushed at once, so a crash loses at most the chunk
//! being gathered.

use std::borrow::Cow;
use std::io::Write;

use crate::framing::VIDEO_PAYLOAD_LIMIT;
use crate::identity::KeyPair;
use crate::message::VideoFrameHeader;
use crate::time::Timestamp;

use super::chunk::{ChunkHead, ChunkKind, FLAG_KEYFRAME, Hash, encode_chunk};
use super::event::Event;
use super::header::{HEADER_LIMIT, Header, Policy};
use super::index::{Index, IndexEntry};
use super::record::{
    ENVELOPE_LEN, TYPE_EVENT, TYPE_POINTER, TYPE_VIDEO, VIDEO_HEAD_LEN, push_envelope,
    push_video_head,
};
use super::{CHUNK_MAX_AGE, CHUNK_TARGET_BYTES, SEAL_INTERVAL};

/// Largest event, in bytes of JSON.
pub(crate) const EVENT_LIMIT: usize = 4 * 1024 * 1024;
pub(crate) const SEAL_DOMAIN: &[u8] = b"lifeline recording seal v1\0";
pub(crate) const SEAL_SIGNED_BODY: usize = 9;
pub(crate) const SEAL_BODY_LEN: usize = SEAL_SIGNED_BODY + 64;

/// The bytes a seal's signature covers.
pub(crate) fn seal_message(head: &[u8], signed_body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SEAL_DOMAIN.len() + head.len() + signed_body.len());
    message.extend_from_slice(SEAL_DOMAIN);
    message.extend_from_slice(head);
    message.extend_from_slice(signed_body);
    message
}

/// Writing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The output failed; the recording is unusable from here (what was written before
    /// still plays).
    #[error("cannot write the recording: {0}")]
    Io(#[from] std::io::Error),
    /// A record is larger than the format allows.
    #[error("a {what} of {len} bytes is larger than a recording allows ({limit} bytes)")]
    TooLarge {
        /// What.
        what: &'static str,
        /// Its size.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Serialising the header or an event failed.
    #[error("cannot encode the recording's {what}: {detail}")]
    Encode {
        /// What.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// An earlier write failed, so nothing more is written.
    #[error("the recording stopped after an earlier write error")]
    Stopped,
}

/// Writes one recording (see the [module documentation](super) for the format).
///
/// Call [`tick`](Self::tick) about once a second even when nothing happens, so that
/// gathered records reach the file and the chain gets signed; call
/// [`finish`](Self::finish) at the end.
pub struct RecordingWriter<W: Write> {
    out: W,
    key: KeyPair,
    policy: Policy,
    prev: Hash,
    next_seq: u64,
    offset: u64,
    body: Vec<u8>,
    body_time: Option<Timestamp>,
    body_flags: u8,
    body_has_video: bool,
    last_time: Timestamp,
    last_seal: Timestamp,
    unsigned: bool,
    index: Index,
    size: Option<(u32, u32)>,
    wants_keyframe: bool,
    stopped: bool,
}

impl<W: Write> std::fmt::Debug for RecordingWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingWriter")
            .field("next_seq", &self.next_seq)
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

impl<W: Write> RecordingWriter<W> {
    /// Starts a recording: writes its header chunk. The header's
    /// `recorder.public_key` is set to `key`'s, which signs the seals.
    pub fn new(out: W, key: KeyPair, mut header: Header) -> Result<Self, WriteError> {
        header.recorder.public_key = key.public_key();
        let body = serde_json::to_vec(&header).map_err(|err| WriteError::Encode {
            what: "header",
            detail: err.to_string(),
        })?;
        if body.len() > HEADER_LIMIT {
            return Err(WriteError::TooLarge {
                what: "header",
                len: body.len(),
                limit: HEADER_LIMIT,
            });
        }
        let mut writer = Self {
            out,
            key,
            policy: header.policy,
            prev: [0; 32],
            next_seq: 0,
            offset: 0,
            body: Vec::new(),
            body_time: None,
            body_flags: 0,
            body_has_video: false,
            last_time: header.started,
            last_seal: header.started,
            unsigned: false,
            index: Index::new(),
            size: None,
            wants_keyframe: true,
            stopped: false,
        };
        writer.write_chunk(ChunkKind::Header, 0, header.started, &body)?;
        Ok(writer)
    }

    /// Bytes written to the output so far.
    pub fn bytes_written(&self) -> u64 {
        self.offset
    }

    /// Records a video frame. Returns false when it was left out: a recording's video
    /// starts at a keyframe (see [`require_keyframe`](Self::require_keyframe)), so
    /// frames before one could not be decoded and are skipped.
    pub fn write_video(
        &mut self,
        time: Timestamp,
        header: &VideoFrameHeader,
        payload: &[u8],
    ) -> Result<bool, WriteError> {
        self.check()?;
        if self.wants_keyframe && !header.keyframe {
            return Ok(false);
        }
        if payload.len() > VIDEO_PAYLOAD_LIMIT {
            return Err(WriteError::TooLarge {
                what: "video frame",
                len: payload.len(),
                limit: VIDEO_PAYLOAD_LIMIT,
            });
        }
        let time = self.clamp(time);
        if header.keyframe {
            self.close_chunk()?;
        }
        if self.size != Some((header.width, header.height)) {
            self.size = Some((header.width, header.height));
            self.push_event(
                time,
                &Event::Resolution {
                    width: header.width,
                    height: header.height,
                },
            )?;
        }
        let len = VIDEO_HEAD_LEN + payload.len();
        self.make_room(len)?;
        if header.keyframe && !self.body_has_video {
            self.body_flags |= FLAG_KEYFRAME;
        }
        self.start_record(time);
        self.body_has_video = true;
        // `len` is at most VIDEO_PAYLOAD_LIMIT + 26: fits a u32.
        push_envelope(
            &mut self.body,
            TYPE_VIDEO,
            time,
            u32::try_from(len).unwrap_or(0),
        );
        push_video_head(&mut self.body, header);
        self.body.extend_from_slice(payload);
        self.wants_keyframe = false;
        self.after_record(time)?;
        Ok(true)
    }

    /// Records a pointer move of the technician.
    pub fn write_pointer(&mut self, time: Timestamp, x: u32, y: u32) -> Result<(), WriteError> {
        self.check()?;
        let time = self.clamp(time);
        self.make_room(8)?;
        self.start_record(time);
        push_envelope(&mut self.body, TYPE_POINTER, time, 8);
        self.body.extend_from_slice(&x.to_be_bytes());
        self.body.extend_from_slice(&y.to_be_bytes());
        self.after_record(time)
    }

    /// Records an event, as the policy allows: key and typed-text events are left out
    /// when keys are not kept, and clipboard and chat texts when their contents are not.
    pub fn write_event(&mut self, time: Timestamp, event: &Event) -> Result<(), WriteError> {
        self.check()?;
        let Some(event) = apply_policy(self.policy, event) else {
            return Ok(());
        };
        let time = self.clamp(time);
        self.push_event(time, &event)?;
        self.after_record(time)
    }

    /// The next video frame recorded must be a keyframe (after a pause, or a gap).
    pub fn require_keyframe(&mut self) {
        self.wants_keyframe = true;
    }

    /// Whether the writer waits for a keyframe before recording video.
    pub fn wants_keyframe(&self) -> bool {
        self.wants_keyframe
    }

    /// Writes out gathered records older than a second, and signs the chain when the
    /// last seal is older than [`SEAL_INTERVAL`]. Call it about once a second.
    pub fn tick(&mut self, now: Timestamp) -> Result<(), WriteError> {
        self.check()?;
        if self
            .body_time
            .is_some_and(|first| now.saturating_duration_since(first) >= CHUNK_MAX_AGE)
        {
            self.close_chunk()?;
        }
        if self.unsigned && now.saturating_duration_since(self.last_seal) >= SEAL_INTERVAL {
            self.seal(now, false, 0)?;
        }
        Ok(())
    }

    /// Ends the recording: the last records, the index and the final seal.
    pub fn finish(mut self, now: Timestamp) -> Result<W, WriteError> {
        self.check()?;
        let now = self.clamp(now);
        self.close_chunk()?;
        let index_offset = self.offset;
        let body = self.index.encode();
        self.write_chunk(ChunkKind::Index, 0, now, &body)?;
        self.seal(now, true, index_offset)?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn check(&self) -> Result<(), WriteError> {
        if self.stopped {
            return Err(WriteError::Stopped);
        }
        Ok(())
    }

    fn clamp(&mut self, time: Timestamp) -> Timestamp {
        self.last_time = self.last_time.max(time);
        self.last_time
    }

    fn push_event(&mut self, time: Timestamp, event: &Event) -> Result<(), WriteError> {
        let json = serde_json::to_vec(event).map_err(|err| WriteError::Encode {
            what: "event",
            detail: err.to_string(),
        })?;
        if json.len() > EVENT_LIMIT {
            return Err(WriteError::TooLarge {
                what: "event",
                len: json.len(),
                limit: EVENT_LIMIT,
            });
        }
        self.make_room(json.len())?;
        self.start_record(time);
        // At most EVENT_LIMIT bytes: fits a u32.
        push_envelope(
            &mut self.body,
            TYPE_EVENT,
            time,
            u32::try_from(json.len()).unwrap_or(0),
        );
        self.body.extend_from_slice(&json);
        Ok(())
    }

    /// Closes the current chunk first when a payload of `len` bytes would take it past
    /// the target size.
    fn make_room(&mut self, len: usize) -> Result<(), WriteError> {
        if !self.body.is_empty() && self.body.len() + ENVELOPE_LEN + len > CHUNK_TARGET_BYTES {
            self.close_chunk()?;
        }
        Ok(())
    }

    fn start_record(&mut self, time: Timestamp) {
        if self.body_time.is_none() {
            self.body_time = Some(time);
        }
    }

    fn after_record(&mut self, time: Timestamp) -> Result<(), WriteError> {
        if self.body.len() >= CHUNK_TARGET_BYTES {
            self.close_chunk()?;
        }
        self.tick(time)
    }

    fn close_chunk(&mut self) -> Result<(), WriteError> {
        let Some(time) = self.body_time.take() else {
            return Ok(());
        };
        let body = std::mem::take(&mut self.body);
        let flags = std::mem::take(&mut self.body_flags);
        self.body_has_video = false;
        let offset = self.offset;
        let seq = self.next_seq;
        let result = self.write_chunk(ChunkKind::Records, flags, time, &body);
        self.body = body;
        self.body.clear();
        result?;
        if flags & FLAG_KEYFRAME != 0 {
            self.index.push(IndexEntry { time, offset, seq });
        }
        self.unsigned = true;
        Ok(())
    }

    fn seal(&mut self, now: Timestamp, last: bool, index_offset: u64) -> Result<(), WriteError> {
        let head = ChunkHead {
            kind: ChunkKind::Seal,
            flags: 0,
            seq: self.next_seq,
            time: now,
            body_len: SEAL_BODY_LEN as u32,
            prev: self.prev,
        };
        let mut body = Vec::with_capacity(SEAL_BODY_LEN);
        body.push(u8::from(last));
        body.extend_from_slice(&index_offset.to_be_bytes());
        let signature = self.key.sign(&seal_message(&head.encode(), &body));
        body.extend_from_slice(&signature);
        self.write_chunk(ChunkKind::Seal, 0, now, &body)?;
        self.last_seal = now;
        self.unsigned = false;
        Ok(())
    }

    fn write_chunk(
        &mut self,
        kind: ChunkKind,
        flags: u8,
        time: Timestamp,
        body: &[u8],
    ) -> Result<(), WriteError> {
        let body_len = u32::try_from(body.len()).map_err(|_| WriteError::TooLarge {
            what: "chunk",
            len: body.len(),
            limit: super::CHUNK_BODY_LIMIT,
        })?;
        let head = ChunkHead {
            kind,
            flags,
            seq: self.next_seq,
            time,
            body_len,
            prev: self.prev,
        };
        let (bytes, hash) = encode_chunk(&head, body);
        if let Err(err) = self.out.write_all(&bytes).and_then(|()| self.out.flush()) {
            self.stopped = true;
            return Err(err.into());
        }
        self.prev = hash;
        self.next_seq += 1;
        self.offset += bytes.len() as u64;
        Ok(())
    }
}

/// The event as the policy lets it be recorded, or `None` when it is left out.
fn apply_policy(policy: Policy, event: &Event) -> Option<Cow<'_, Event>> {
    match event {
        Event::Key(_) | Event::TypeText { .. } if !policy.keys => None,
        Event::Clipboard { from, bytes, .. } if !policy.clipboard_contents => {
            Some(Cow::Owned(Event::Clipboard {
                from: *from,
                bytes: *bytes,
                text: None,
            }))
        }
        Event::Chat { from, bytes, .. } if !policy.chat_contents => Some(Cow::Owned(Event::Chat {
            from: *from,
            bytes: *bytes,
            text: None,
        })),
        other => Some(Cow::Borrowed(other)),
    }
}
