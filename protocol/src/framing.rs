//! Wire framing: how messages become bytes on each channel, with hard size limits.
//!
//! - Control stream: frames of a 4-byte big-endian length followed by that many bytes
//!   of postcard, at most [`CONTROL_FRAME_LIMIT`]. [`ControlReader`] turns arriving
//!   bytes back into messages and refuses an oversized prefix before buffering anything.
//! - Video: each unidirectional stream holds one length-prefixed [`VideoFrameHeader`]
//!   and then its payload, at most [`VIDEO_PAYLOAD_LIMIT`] bytes.
//! - Datagrams: one postcard [`Datagram`] per QUIC datagram, at most
//!   [`DATAGRAM_LIMIT`] bytes.
//!
//! Decoding never panics and never allocates more than the limit, whatever the bytes
//! claim; every failure is a [`PeerMisbehaved`].

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{LocalMisuse, PeerMisbehaved};
use crate::message::{ControlMessage, Datagram, VideoFrameHeader};

/// Largest control frame body, in bytes.
pub const CONTROL_FRAME_LIMIT: usize = 1024 * 1024;
/// Largest video frame header body, in bytes.
pub const VIDEO_HEADER_LIMIT: usize = 256;
/// Largest encoded video frame, in bytes.
pub const VIDEO_PAYLOAD_LIMIT: usize = 16 * 1024 * 1024;
/// Largest whole video stream (prefix, header, payload), for readers that read a
/// stream to its end.
pub const VIDEO_STREAM_LIMIT: usize = LENGTH_PREFIX_LEN + VIDEO_HEADER_LIMIT + VIDEO_PAYLOAD_LIMIT;
/// Largest datagram, in bytes (below QUIC's usual datagram size).
pub const DATAGRAM_LIMIT: usize = 1200;
/// Largest frame width or height, in pixels.
pub const MAX_FRAME_DIMENSION: u32 = 16_384;

const LENGTH_PREFIX_LEN: usize = 4;

fn encode_prefixed<T: Serialize>(
    message: &T,
    channel: &'static str,
    limit: usize,
) -> Result<Vec<u8>, LocalMisuse> {
    let mut out = vec![0u8; LENGTH_PREFIX_LEN];
    let mut out = postcard::to_extend(message, std::mem::take(&mut out))
        .map_err(|err| LocalMisuse::Encode(err.to_string()))?;
    let len = out.len() - LENGTH_PREFIX_LEN;
    if len > limit {
        return Err(LocalMisuse::MessageTooLarge {
            channel,
            len,
            limit,
        });
    }
    // `len <= limit`, and every limit fits in a u32.
    let prefix = u32::try_from(len).map_err(|_| LocalMisuse::MessageTooLarge {
        channel,
        len,
        limit,
    })?;
    out[..LENGTH_PREFIX_LEN].copy_from_slice(&prefix.to_be_bytes());
    Ok(out)
}

fn decode_exact<T: DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
) -> Result<T, PeerMisbehaved> {
    let (value, rest) =
        postcard::take_from_bytes(bytes).map_err(|err| PeerMisbehaved::Malformed {
            what,
            detail: err.to_string(),
        })?;
    if !rest.is_empty() {
        return Err(PeerMisbehaved::Malformed {
            what,
            detail: format!("{} bytes after the end of the message", rest.len()),
        });
    }
    Ok(value)
}

/// Encodes a control message as one frame, ready to write to the control stream.
pub fn encode_control(message: &ControlMessage) -> Result<Vec<u8>, LocalMisuse> {
    message.check_limits()?;
    encode_prefixed(message, "control", CONTROL_FRAME_LIMIT)
}

/// Reads control frames from a byte stream that arrives in pieces.
///
/// It buffers at most one incomplete frame (`4 + CONTROL_FRAME_LIMIT` bytes).
#[derive(Debug, Default)]
pub struct ControlReader {
    pending: Vec<u8>,
}

impl ControlReader {
    /// A reader at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next bytes of the stream and returns every message they complete.
    ///
    /// After an error the stream is unusable: the session must end.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<Vec<ControlMessage>, PeerMisbehaved> {
        let mut messages = Vec::new();
        while !bytes.is_empty() {
            let wanted = match self.frame_len()? {
                None => LENGTH_PREFIX_LEN - self.pending.len(),
                Some(body) => LENGTH_PREFIX_LEN + body - self.pending.len(),
            };
            let take = wanted.min(bytes.len());
            self.grow_for(take, wanted);
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if let Some(body) = self.frame_len()?
                && self.pending.len() == LENGTH_PREFIX_LEN + body
            {
                let message: ControlMessage =
                    decode_exact(&self.pending[LENGTH_PREFIX_LEN..], "control message")?;
                message.check_limits()?;
                messages.push(message);
                self.pending.clear();
            }
        }
        Ok(messages)
    }

    /// Makes room for `take` more bytes, doubling as a `Vec` would but never past the
    /// end of the current frame (`wanted` bytes away), so the buffer stays within
    /// `4 + CONTROL_FRAME_LIMIT` bytes.
    fn grow_for(&mut self, take: usize, wanted: usize) {
        let len = self.pending.len();
        if len + take <= self.pending.capacity() {
            return;
        }
        let target = (self.pending.capacity() * 2).clamp(len + take, len + wanted);
        self.pending.reserve_exact(target - len);
    }

    /// Whether the stream stopped between frames (no partial frame held).
    pub fn is_at_frame_boundary(&self) -> bool {
        self.pending.is_empty()
    }

    /// The body length of the frame being read, once its prefix is complete.
    fn frame_len(&self) -> Result<Option<usize>, PeerMisbehaved> {
        let Some(prefix) = self.pending.first_chunk::<LENGTH_PREFIX_LEN>() else {
            return Ok(None);
        };
        let declared = u32::from_be_bytes(*prefix);
        match usize::try_from(declared) {
            Ok(len) if len <= CONTROL_FRAME_LIMIT => Ok(Some(len)),
            _ => Err(PeerMisbehaved::FrameTooLarge {
                channel: "control",
                declared: u64::from(declared),
                limit: CONTROL_FRAME_LIMIT,
            }),
        }
    }
}

/// Encodes one video frame: its header and payload, the whole content of one stream.
pub fn encode_video_frame(
    header: &VideoFrameHeader,
    payload: &[u8],
) -> Result<Vec<u8>, LocalMisuse> {
    if payload.len() > VIDEO_PAYLOAD_LIMIT
        || usize::try_from(header.payload_len) != Ok(payload.len())
    {
        return Err(LocalMisuse::MessageTooLarge {
            channel: "video",
            len: payload.len(),
            limit: VIDEO_PAYLOAD_LIMIT,
        });
    }
    let mut out = encode_prefixed(header, "video header", VIDEO_HEADER_LIMIT)?;
    out.extend_from_slice(payload);
    Ok(out)
}

/// Decodes the content of one video stream into its header and payload.
pub fn decode_video_frame(stream: &[u8]) -> Result<(VideoFrameHeader, &[u8]), PeerMisbehaved> {
    let truncated = || PeerMisbehaved::Malformed {
        what: "video frame",
        detail: "the stream ends inside the header".to_owned(),
    };
    let (prefix, rest) = stream
        .split_first_chunk::<LENGTH_PREFIX_LEN>()
        .ok_or_else(truncated)?;
    let declared = u32::from_be_bytes(*prefix);
    let header_len = usize::try_from(declared)
        .ok()
        .filter(|len| *len <= VIDEO_HEADER_LIMIT)
        .ok_or(PeerMisbehaved::FrameTooLarge {
            channel: "video header",
            declared: u64::from(declared),
            limit: VIDEO_HEADER_LIMIT,
        })?;
    let (header_bytes, payload) = rest.split_at_checked(header_len).ok_or_else(truncated)?;
    let header: VideoFrameHeader = decode_exact(header_bytes, "video frame header")?;
    if header.width > MAX_FRAME_DIMENSION || header.height > MAX_FRAME_DIMENSION {
        return Err(PeerMisbehaved::FrameDimensions {
            width: header.width,
            height: header.height,
            max: MAX_FRAME_DIMENSION,
        });
    }
    if usize::try_from(header.payload_len).map_or(true, |len| len > VIDEO_PAYLOAD_LIMIT) {
        return Err(PeerMisbehaved::FrameTooLarge {
            channel: "video",
            declared: u64::from(header.payload_len),
            limit: VIDEO_PAYLOAD_LIMIT,
        });
    }
    if usize::try_from(header.payload_len) != Ok(payload.len()) {
        return Err(PeerMisbehaved::Malformed {
            what: "video frame",
            detail: format!(
                "the header announces {} payload bytes but the stream holds {}",
                header.payload_len,
                payload.len()
            ),
        });
    }
    Ok((header, payload))
}

/// Encodes a datagram.
pub fn encode_datagram(datagram: &Datagram) -> Result<Vec<u8>, LocalMisuse> {
    let bytes =
        postcard::to_allocvec(datagram).map_err(|err| LocalMisuse::Encode(err.to_string()))?;
    if bytes.len() > DATAGRAM_LIMIT {
        return Err(LocalMisuse::MessageTooLarge {
            channel: "datagram",
            len: bytes.len(),
            limit: DATAGRAM_LIMIT,
        });
    }
    Ok(bytes)
}

/// Decodes a datagram.
pub fn decode_datagram(bytes: &[u8]) -> Result<Datagram, PeerMisbehaved> {
    if bytes.len() > DATAGRAM_LIMIT {
        return Err(PeerMisbehaved::FrameTooLarge {
            channel: "datagram",
            declared: bytes.len() as u64,
            limit: DATAGRAM_LIMIT,
        });
    }
    decode_exact(bytes, "datagram")
}
