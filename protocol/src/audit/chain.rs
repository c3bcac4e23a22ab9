//! The line format of an audit log: record lines and checkpoint lines, their hashes,
//! and the bytes a checkpoint signs.
//!
//! # Format
//!
//! One JSON object per line. A record line is the [`AuditRecord`] with its own stable
//! field names, plus two chain fields in front:
//!
//! ```text
//! {"seq":0,"prev":"000…000","time":1700000000123,"session":null,"actor":"agent",…}
//! ```
//!
//! `seq` counts lines from 0, and `prev` is the SHA-256 of the previous line's exact
//! bytes (without the newline; 64 zeros on the first line). Editing, deleting or
//! reordering a line therefore breaks `seq` or `prev` on the lines after it. Anyone can
//! recompute such a chain, so the log's owner (the agent, or the technician's viewer)
//! also signs it with its identity key: a checkpoint line
//!
//! ```text
//! {"seq":7,"prev":"<hash of line seq 6>","checkpoint":{"head":"<same hash>",
//!  "signer":"<Ed25519 public key>","signature":"<hex>","time":1700000000456}}
//! ```
//!
//! signs `"lifeline audit checkpoint v1\0" || seq || head || time` (see
//! [`signed_message`]). The latest checkpoint line is also kept in a separate head file,
//! so that cutting lines off the end of the log is noticed as long as the head file
//! survives (see [`super::verify`]).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::AuditRecord;
use super::verify::Problem;
use crate::identity::{KeyPair, PublicKey, hex};
use crate::time::Timestamp;

/// What a checkpoint signs, before the sequence number, head and time.
const SIGNING_CONTEXT: &[u8] = b"lifeline audit checkpoint v1\0";

/// A SHA-256 hash of one line's bytes (without its newline); 64 hex digits in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The `prev` of the first line: 64 zeros.
    pub const GENESIS: Hash = Hash([0; 32]);

    /// The hash of a line's exact bytes.
    pub fn of(line: &[u8]) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, line);
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(digest.as_ref());
        Self(bytes)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl From<Hash> for String {
    fn from(hash: Hash) -> Self {
        hash.to_string()
    }
}

impl TryFrom<String> for Hash {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        from_hex(&text)
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .map(Hash)
            .ok_or_else(|| "expected a SHA-256 hash as 64 hex digits".to_owned())
    }
}

/// An Ed25519 signature, hex in JSON.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Signature(pub Vec<u8>);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex(&self.0))
    }
}

impl From<Signature> for String {
    fn from(signature: Signature) -> Self {
        hex(&signature.0)
    }
}

impl TryFrom<String> for Signature {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        from_hex(&text)
            .map(Signature)
            .ok_or_else(|| "expected a signature in hex".to_owned())
    }
}

/// The owner's signature over the chain so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The hash of the line before the checkpoint (equal to the line's `prev`).
    pub head: Hash,
    /// The signer's public key.
    pub signer: PublicKey,
    /// Ed25519 over [`signed_message`].
    pub signature: Signature,
    /// When it was signed.
    pub time: Timestamp,
}

impl Checkpoint {
    /// Signs the chain up to `head` as the line numbered `seq`, at `time`.
    pub fn sign(key: &KeyPair, seq: u64, head: Hash, time: Timestamp) -> Self {
        Self {
            head,
            signer: key.public_key(),
            signature: Signature(key.sign(&signed_message(seq, head, time))),
            time,
        }
    }

    /// Checks that this checkpoint, on the line numbered `seq` whose `prev` is `prev`,
    /// signs that chain with its own `signer` key. Who the signer is is the caller's
    /// question.
    pub fn check(&self, seq: u64, prev: Hash) -> Result<(), Problem> {
        if self.head != prev {
            return Err(Problem::HeadMismatch);
        }
        self.signer
            .verify(
                &signed_message(seq, self.head, self.time),
                &self.signature.0,
            )
            .map_err(|_| Problem::BadSignature)
    }
}

#[derive(Serialize)]
struct RecordLine<'a> {
    seq: u64,
    prev: Hash,
    #[serde(flatten)]
    record: &'a AuditRecord,
}

#[derive(Serialize)]
struct CheckpointLine<'a> {
    seq: u64,
    prev: Hash,
    checkpoint: &'a Checkpoint,
}

/// The bytes of a record line (no newline): the record's own fields, with `seq` and
/// `prev` in front.
pub fn record_line(seq: u64, prev: Hash, record: &AuditRecord) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&RecordLine { seq, prev, record })
}

/// The bytes of a checkpoint line (no newline).
pub fn checkpoint_line(
    seq: u64,
    prev: Hash,
    checkpoint: &Checkpoint,
) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&CheckpointLine {
        seq,
        prev,
        checkpoint,
    })
}

/// What a checkpoint at `seq` over `head` at `time` signs.
pub fn signed_message(seq: u64, head: Hash, time: Timestamp) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNING_CONTEXT.len() + 8 + 32 + 8);
    message.extend_from_slice(SIGNING_CONTEXT);
    message.extend_from_slice(&seq.to_be_bytes());
    message.extend_from_slice(&head.0);
    message.extend_from_slice(&time.as_unix_millis().to_be_bytes());
    message
}

/// One parsed line.
#[derive(Debug)]
pub struct Entry {
    /// Its sequence number.
    pub seq: u64,
    /// The hash of the line before it.
    pub prev: Hash,
    /// What it holds.
    pub body: Body,
}

/// What a line holds.
#[derive(Debug)]
pub enum Body {
    /// An audit record's fields, kept as JSON so that records of newer versions still
    /// verify.
    Record(Map<String, Value>),
    /// A signed checkpoint.
    Checkpoint(Checkpoint),
}

impl Body {
    /// The record, if this is a record line this version understands.
    pub fn record(&self) -> Option<AuditRecord> {
        match self {
            Body::Record(fields) => serde_json::from_value(Value::Object(fields.clone())).ok(),
            Body::Checkpoint(_) => None,
        }
    }
}

/// Parses one line (without its newline).
pub fn parse(line: &[u8]) -> Result<Entry, Problem> {
    let mut fields: Map<String, Value> =
        serde_json::from_slice(line).map_err(|err| Problem::NotJson(err.to_string()))?;
    let (Some(seq), Some(prev)) = (fields.remove("seq"), fields.remove("prev")) else {
        return Err(if fields.contains_key("action") {
            Problem::Unchained
        } else {
            Problem::Malformed("it has no `seq` and `prev`".to_owned())
        });
    };
    let seq = seq
        .as_u64()
        .ok_or_else(|| Problem::Malformed("`seq` is not a whole number".to_owned()))?;
    let prev: Hash =
        serde_json::from_value(prev).map_err(|err| Problem::Malformed(format!("`prev`: {err}")))?;
    let body = match fields.remove("checkpoint") {
        Some(checkpoint) => {
            if let Some(extra) = fields.keys().next() {
                return Err(Problem::Malformed(format!(
                    "a checkpoint line has an extra field `{extra}`"
                )));
            }
            Body::Checkpoint(
                serde_json::from_value(checkpoint)
                    .map_err(|err| Problem::Malformed(format!("`checkpoint`: {err}")))?,
            )
        }
        None => {
            if !fields.contains_key("action") || !fields.contains_key("time") {
                return Err(Problem::Malformed(
                    "a record line has no `time` or `action`".to_owned(),
                ));
            }
            Body::Record(fields)
        }
    };
    Ok(Entry { seq, prev, body })
}

/// Reads hex digits (either case); `None` if `text` is not an even number of them.
pub(crate) fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{Actor, AuditAction, Outcome};
    use super::*;

    #[test]
    fn record_lines_keep_the_records_own_field_names() {
        let record = AuditRecord {
            time: Timestamp(5),
            session: None,
            actor: Actor::EndUser,
            action: AuditAction::Authentication,
            scope: None,
            outcome: Outcome::Succeeded,
        };
        let line = record_line(3, Hash::GENESIS, &record).unwrap();
        let json: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(json["seq"], 3);
        assert_eq!(json["prev"], "0".repeat(64));
        assert_eq!(json["actor"], "end_user");
        assert_eq!(json["time"], 5);
        let entry = parse(&line).unwrap();
        assert_eq!(entry.seq, 3);
        assert_eq!(entry.body.record(), Some(record));
    }

    #[test]
    fn hex_round_trips_and_rejects_odd_or_foreign_text() {
        assert_eq!(from_hex(&hex(&[0, 0xab, 0xff])), Some(vec![0, 0xab, 0xff]));
        assert_eq!(from_hex("ABcd"), Some(vec![0xab, 0xcd]));
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex("é1"), None);
    }

    #[test]
    fn checkpoints_sign_their_place_in_the_chain() {
        let key = KeyPair::generate().unwrap();
        let head = Hash::of(b"a line");
        let checkpoint = Checkpoint::sign(&key, 4, head, Timestamp(9));
        assert_eq!(checkpoint.check(4, head), Ok(()));
        assert_eq!(checkpoint.check(5, head), Err(Problem::BadSignature));
        assert_eq!(
            checkpoint.check(4, Hash::GENESIS),
            Err(Problem::HeadMismatch)
        );
        let line = checkpoint_line(4, head, &checkpoint).unwrap();
        let entry = parse(&line).unwrap();
        assert!(matches!(entry.body, Body::Checkpoint(parsed) if parsed == checkpoint));
    }

    #[test]
    fn lines_that_are_not_entries_are_named() {
        assert!(matches!(parse(b"not json"), Err(Problem::NotJson(_))));
        assert_eq!(
            parse(br#"{"time":1,"action":"authentication"}"#).unwrap_err(),
            Problem::Unchained
        );
        let zeros = "0".repeat(64);
        let extra = format!(r#"{{"seq":0,"prev":"{zeros}","checkpoint":{{}},"x":1}}"#);
        assert!(matches!(
            parse(extra.as_bytes()),
            Err(Problem::Malformed(text)) if text.contains("extra field `x`")
        ));
        let bare = format!(r#"{{"seq":0,"prev":"{zeros}"}}"#);
        assert!(matches!(parse(bare.as_bytes()), Err(Problem::Malformed(_))));
    }
}
