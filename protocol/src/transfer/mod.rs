//! Moving files between the technician and the end user, each transfer confirmed by the
//! end user when the deployment policy asks for it (the `files` permission).
//!
//! Two directions, one shape:
//!
//! - **Sending a file to the end user.** The viewer sends a [`FileOffer`] (name, size,
//!   SHA-256). The agent picks where it would be saved (the end user's Downloads folder,
//!   never a path the technician chooses; the name made safe by [`safe_file_name`] and
//!   never overwriting: [`numbered_name`]), asks the end user when the policy says so
//!   (the technician sees [`crate::action::ActionPending`]), then answers
//!   [`FileAccepted`]. The viewer opens a file stream and sends the bytes; the agent
//!   checks size and hash ([`FileCheck`]) and answers [`FileReceived`] with the name it
//!   saved, or [`FileFailure`].
//! - **Fetching a file from the end user.** The viewer sends a [`FileFetch`] (a path on
//!   the end user's computer). The agent looks at the file, asks the end user (showing
//!   the full path and size), then opens a file stream whose header announces the
//!   file's name, size and hash, and sends the bytes; the viewer checks them and
//!   answers [`FileReceived`] or [`FileFailure`].
//!
//! A refusal before any byte moves is an [`crate::action::ActionRefusal`]. Once bytes
//! move, either side may end a transfer with a [`FileFailure`] (cancelled, wrong size or
//! hash, a full disk, a file that cannot be read); the receiver removes its partial
//! file. Each transfer ends with exactly one [`FileReceived`] or [`FileFailure`]; one
//! that crosses the other side's conclusion is ignored.
//!
//! # File streams
//!
//! The bytes travel on a QUIC unidirectional stream of their own, so the control stream
//! stays free for input and chat:
//!
//! ```text
//! offset size  field
//! 0      4     tag "LLFS" (a video stream starts with a header length of at most 256)
//! 4      4     header length H, big-endian, at most FILE_HEADER_LIMIT
//! 8      H     header: a postcard FileOffer (id, name, size, SHA-256)
//! 8+H    size  the file's bytes, then the end of the stream
//! ```
//!
//! What it does not do: open, name or rename files. The agent and the viewer own the
//! file system; this module gives them the checks that must be the same on both sides.

use serde::{Deserialize, Serialize};

use crate::error::{LocalMisuse, PeerMisbehaved};

mod check;
mod name;

pub use check::{FileCheck, TransferError, sha256_of};
pub use name::{human_size, numbered_name, safe_file_name};

/// Largest file moved, in bytes (4 GiB).
pub const MAX_FILE_SIZE: u64 = 4 * 1024 * 1024 * 1024;
/// Longest file name offered or saved, in bytes (what common file systems allow).
pub const MAX_FILE_NAME_LEN: usize = 255;
/// Longest path the technician may ask for, in bytes.
pub const MAX_FILE_PATH_LEN: usize = 4096;
/// The first bytes of every file stream.
pub const FILE_STREAM_TAG: [u8; 4] = *b"LLFS";
/// Largest file stream header body, in bytes.
pub const FILE_HEADER_LIMIT: usize = 1024;
/// Length of the tag and the header length, before the header body.
pub const FILE_STREAM_PREFIX_LEN: usize = 8;

/// A SHA-256 digest: raw bytes on the wire, hex in JSON and for people.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sha256(#[serde(with = "crate::identity::hex_array")] pub [u8; 32]);

impl std::fmt::Display for Sha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::identity::hex(&self.0))
    }
}

impl std::fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sha256({self})")
    }
}

/// A file about to move: viewer to agent as an offer, and at the head of every file
/// stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileOffer {
    /// The transfer's id: chosen by the viewer, unique among its actions in flight.
    pub id: u32,
    /// The file's name as the sender knows it (the receiver makes it safe).
    pub name: String,
    /// Its size in bytes, at most [`MAX_FILE_SIZE`].
    pub size: u64,
    /// The SHA-256 of its bytes.
    pub sha256: Sha256,
}

impl FileOffer {
    /// Name, size and hash in one line, for audit records.
    pub fn summary(&self) -> String {
        format!(
            "{:?}, {} ({} bytes), SHA-256 {}",
            self.name,
            human_size(self.size),
            self.size,
            self.sha256
        )
    }
}

/// Viewer to agent: send me the file at this path on the end user's computer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFetch {
    /// The transfer's id, as for [`FileOffer::id`].
    pub id: u32,
    /// The path, as the technician typed it and the end user will read it.
    pub path: String,
}

/// One transfer as the agent's session hands it to the agent's file system code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileJob {
    /// The technician sends this file to the end user.
    Receive(FileOffer),
    /// The technician asks for the file at this path on the end user's computer.
    Send(FileFetch),
}

impl FileJob {
    /// The transfer's id.
    pub fn id(&self) -> u32 {
        match self {
            FileJob::Receive(offer) => offer.id,
            FileJob::Send(fetch) => fetch.id,
        }
    }
}

/// Agent to viewer: the offer is accepted (by the end user when the policy asks); send
/// the bytes now on a file stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileAccepted {
    /// The transfer's id.
    pub id: u32,
}

/// Either side, from the receiver: the file arrived intact and was saved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileReceived {
    /// The transfer's id.
    pub id: u32,
    /// The name it was saved under (in the receiver's Downloads folder).
    pub saved_as: String,
}

/// Either side: the transfer stopped; a partial file was removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFailure {
    /// The transfer's id.
    pub id: u32,
    /// What happened, for a person.
    pub reason: String,
}

/// The bytes that open a file stream for `offer` (tag, header length, header).
pub fn encode_stream_header(offer: &FileOffer) -> Result<Vec<u8>, LocalMisuse> {
    let body = postcard::to_allocvec(offer).map_err(|err| LocalMisuse::Encode(err.to_string()))?;
    let len = u32::try_from(body.len())
        .ok()
        .filter(|len| *len as usize <= FILE_HEADER_LIMIT)
        .ok_or(LocalMisuse::MessageTooLarge {
            channel: "file stream header",
            len: body.len(),
            limit: FILE_HEADER_LIMIT,
        })?;
    let mut out = Vec::with_capacity(FILE_STREAM_PREFIX_LEN + body.len());
    out.extend_from_slice(&FILE_STREAM_TAG);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Whether a unidirectional stream starting with `first` is a file stream (else it is a
/// video frame).
pub fn is_file_stream(first: &[u8; 4]) -> bool {
    *first == FILE_STREAM_TAG
}

/// The header body length announced by a file stream's first
/// [`FILE_STREAM_PREFIX_LEN`] bytes; the caller then reads that many bytes for
/// [`decode_stream_header`].
pub fn stream_header_len(prefix: &[u8; FILE_STREAM_PREFIX_LEN]) -> Result<usize, PeerMisbehaved> {
    if prefix[..4] != FILE_STREAM_TAG {
        return Err(PeerMisbehaved::Malformed {
            what: "file stream",
            detail: "it does not start with the file stream tag".to_owned(),
        });
    }
    let declared = u32::from_be_bytes([prefix[4], prefix[5], prefix[6], prefix[7]]);
    usize::try_from(declared)
        .ok()
        .filter(|len| *len <= FILE_HEADER_LIMIT)
        .ok_or(PeerMisbehaved::FrameTooLarge {
            channel: "file stream header",
            declared: u64::from(declared),
            limit: FILE_HEADER_LIMIT,
        })
}

/// Decodes a file stream's header body and checks its limits.
pub fn decode_stream_header(body: &[u8]) -> Result<FileOffer, PeerMisbehaved> {
    let malformed = |detail: String| PeerMisbehaved::Malformed {
        what: "file stream header",
        detail,
    };
    let (offer, rest): (FileOffer, _) =
        postcard::take_from_bytes(body).map_err(|err| malformed(err.to_string()))?;
    if !rest.is_empty() {
        return Err(malformed(format!(
            "{} bytes after the end of the header",
            rest.len()
        )));
    }
    check_offer(&offer).map_err(malformed)?;
    Ok(offer)
}

/// The limits every offer and file stream header must respect: a name of at most
/// [`MAX_FILE_NAME_LEN`] bytes and a size of at most [`MAX_FILE_SIZE`].
pub(crate) fn check_offer(offer: &FileOffer) -> Result<(), String> {
    if offer.name.len() > MAX_FILE_NAME_LEN {
        return Err(format!(
            "the file name is longer than {MAX_FILE_NAME_LEN} bytes"
        ));
    }
    if offer.size > MAX_FILE_SIZE {
        return Err(format!(
            "the file ({}) is larger than the {} limit",
            human_size(offer.size),
            human_size(MAX_FILE_SIZE)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn offer() -> FileOffer {
        FileOffer {
            id: 7,
            name: "report.pdf".to_owned(),
            size: 2_412_345,
            sha256: Sha256([0xAB; 32]),
        }
    }

    #[test]
    fn a_stream_header_round_trips() {
        let bytes = encode_stream_header(&offer()).unwrap();
        let prefix: [u8; FILE_STREAM_PREFIX_LEN] = bytes[..8].try_into().unwrap();
        assert!(is_file_stream(&[bytes[0], bytes[1], bytes[2], bytes[3]]));
        let len = stream_header_len(&prefix).unwrap();
        assert_eq!(len, bytes.len() - 8);
        assert_eq!(decode_stream_header(&bytes[8..]).unwrap(), offer());
    }

    #[test]
    fn bad_stream_headers_are_refused() {
        assert!(matches!(
            stream_header_len(b"LLFS\xff\xff\xff\xff"),
            Err(PeerMisbehaved::FrameTooLarge { .. })
        ));
        assert!(stream_header_len(b"\0\0\0\x20\0\0\0\0").is_err());
        // A video stream's first bytes are a small length: never the tag.
        assert!(!is_file_stream(&[0, 0, 0, 40]));
        let mut big = offer();
        big.size = MAX_FILE_SIZE + 1;
        let bytes = encode_stream_header(&big).unwrap();
        assert!(decode_stream_header(&bytes[8..]).is_err());
        let mut trailing = encode_stream_header(&offer()).unwrap();
        trailing.push(0);
        assert!(decode_stream_header(&trailing[8..]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn random_stream_headers_never_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)
        ) {
            if let Some(prefix) = bytes.first_chunk::<FILE_STREAM_PREFIX_LEN>() {
                let _ = stream_header_len(prefix);
            }
            let _ = decode_stream_header(&bytes);
        }

        #[test]
        fn any_offer_within_the_limits_round_trips(
            id in proptest::prelude::any::<u32>(),
            name in "\\PC{0,60}",
            size in 0..=MAX_FILE_SIZE,
            sha256 in proptest::prelude::any::<[u8; 32]>(),
        ) {
            let offer = FileOffer { id, name, size, sha256: Sha256(sha256) };
            let bytes = encode_stream_header(&offer).unwrap();
            let prefix: [u8; FILE_STREAM_PREFIX_LEN] = bytes[..8].try_into().unwrap();
            proptest::prop_assert_eq!(stream_header_len(&prefix).unwrap(), bytes.len() - 8);
            proptest::prop_assert_eq!(decode_stream_header(&bytes[8..]).unwrap(), offer);
        }

        #[test]
        fn a_safe_name_is_always_one_plain_visible_name(name in "\\PC{0,300}|[./\\\\ ]{0,12}") {
            let safe = safe_file_name(&name);
            proptest::prop_assert!(!safe.is_empty());
            proptest::prop_assert!(!safe.contains('/') && !safe.contains('\\'));
            proptest::prop_assert!(!safe.contains(".."));
            proptest::prop_assert!(!safe.starts_with('.') && !safe.ends_with('.'));
            proptest::prop_assert!(!safe.chars().any(char::is_control));
            proptest::prop_assert!(numbered_name(&safe, 9999).len() <= MAX_FILE_NAME_LEN);
        }
    }

    #[test]
    fn summaries_name_size_and_hash() {
        assert_eq!(
            offer().summary(),
            format!(
                "\"report.pdf\", 2.4 MB (2412345 bytes), SHA-256 {}",
                "ab".repeat(32)
            )
        );
    }
}
