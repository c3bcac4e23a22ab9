//! The line format of the audit log: record lines and checkpoint lines, their hashes,
//! and the bytes a checkpoint signs.

use std::fmt;

use lifeline_protocol::audit::AuditRecord;
use lifeline_protocol::{PublicKey, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::verify::Problem;

/// What a checkpoint signs, before the sequence number, head and time.
const SIGNING_CONTEXT: &[u8] = b"lifeline audit checkpoint v1\0";

/// A SHA-256 hash of one line's bytes (without its newline).
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub(crate) struct Hash(pub(crate) [u8; 32]);

impl Hash {
    /// The `prev` of the first line: 64 zeros.
    pub(crate) const GENESIS: Hash = Hash([0; 32]);

    /// The hash of a line's exact bytes.
    pub(crate) fn of(line: &[u8]) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, line);
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(digest.as_ref());
        Self(bytes)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&to_hex(&self.0))
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
pub(crate) struct Signature(pub(crate) Vec<u8>);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", to_hex(&self.0))
    }
}

impl From<Signature> for String {
    fn from(signature: Signature) -> Self {
        to_hex(&signature.0)
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

/// The agent's signature over the chain so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Checkpoint {
    /// The hash of the line before the checkpoint (equal to the line's `prev`).
    pub(crate) head: Hash,
    /// The agent's public key.
    pub(crate) signer: PublicKey,
    /// Ed25519 over [`signed_message`].
    pub(crate) signature: Signature,
    /// When it was signed.
    pub(crate) time: Timestamp,
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
pub(crate) fn record_line(
    seq: u64,
    prev: Hash,
    record: &AuditRecord,
) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&RecordLine { seq, prev, record })
}

/// The bytes of a checkpoint line (no newline).
pub(crate) fn checkpoint_line(
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
pub(crate) fn signed_message(seq: u64, head: Hash, time: Timestamp) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNING_CONTEXT.len() + 8 + 32 + 8);
    message.extend_from_slice(SIGNING_CONTEXT);
    message.extend_from_slice(&seq.to_be_bytes());
    message.extend_from_slice(&head.0);
    message.extend_from_slice(&time.as_unix_millis().to_be_bytes());
    message
}

/// One parsed line.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) seq: u64,
    pub(crate) prev: Hash,
    pub(crate) body: Body,
}

/// What a line holds.
#[derive(Debug)]
pub(crate) enum Body {
    /// An audit record's fields, kept as JSON so that records of newer agents still
    /// verify.
    Record(Map<String, Value>),
    /// A signed checkpoint.
    Checkpoint(Checkpoint),
}

impl Body {
    /// The record, if this is a record line this version of the agent understands.
    pub(crate) fn record(&self) -> Option<AuditRecord> {
        match self {
            Body::Record(fields) => serde_json::from_value(Value::Object(fields.clone())).ok(),
            Body::Checkpoint(_) => None,
        }
    }
}

/// Parses one line (without its newline).
pub(crate) fn parse(line: &[u8]) -> Result<Entry, Problem> {
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

/// Lower-case hex.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
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
    use lifeline_protocol::audit::{Actor, AuditAction, Outcome};

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
        assert_eq!(
            from_hex(&to_hex(&[0, 0xab, 0xff])),
            Some(vec![0, 0xab, 0xff])
        );
        assert_eq!(from_hex("ABcd"), Some(vec![0xab, 0xcd]));
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex("é1"), None);
    }
}
