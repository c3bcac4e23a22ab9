//! The keyframe index: where records chunks that start with a keyframe are, by time.
//! At most [`MAX_INDEX_ENTRIES`] entries whatever the length: when full, every other
//! entry is dropped and from then on only every other keyframe is kept.

use crate::time::Timestamp;

/// Most entries an index holds (in memory and on disk).
pub const MAX_INDEX_ENTRIES: usize = 4096;
const ENTRY_LEN: usize = 24;

/// A records chunk that starts with a keyframe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// The keyframe's time.
    pub time: Timestamp,
    /// The chunk's offset in the file.
    pub offset: u64,
    /// The chunk's `seq`.
    pub seq: u64,
}

/// A bounded, thinning list of entries.
#[derive(Clone, Debug, Default)]
pub(crate) struct Index {
    pub(crate) entries: Vec<IndexEntry>,
    seen: u64,
    stride: u64,
}

impl Index {
    pub(crate) fn new() -> Self {
        Self {
            entries: Vec::new(),
            seen: 0,
            stride: 1,
        }
    }

    pub(crate) fn push(&mut self, entry: IndexEntry) {
        let take = self.seen.is_multiple_of(self.stride);
        self.seen += 1;
        if !take {
            return;
        }
        if self.entries.len() >= MAX_INDEX_ENTRIES {
            let mut keep = false;
            self.entries.retain(|_| {
                keep = !keep;
                keep
            });
            self.stride *= 2;
        }
        self.entries.push(entry);
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.entries.len() * ENTRY_LEN);
        // At most MAX_INDEX_ENTRIES entries: fits a u32.
        out.extend_from_slice(&u32::try_from(self.entries.len()).unwrap_or(0).to_be_bytes());
        for entry in &self.entries {
            out.extend_from_slice(&entry.time.as_unix_millis().to_be_bytes());
            out.extend_from_slice(&entry.offset.to_be_bytes());
            out.extend_from_slice(&entry.seq.to_be_bytes());
        }
        out
    }

    pub(crate) fn decode(body: &[u8]) -> Result<Vec<IndexEntry>, String> {
        let (count, rest) = body
            .split_first_chunk::<4>()
            .ok_or("the index is shorter than its count")?;
        let count = usize::try_from(u32::from_be_bytes(*count)).map_err(|err| err.to_string())?;
        if count > MAX_INDEX_ENTRIES || rest.len() != count * ENTRY_LEN {
            return Err(format!(
                "the index claims {count} entries in {} bytes",
                rest.len()
            ));
        }
        let u64_at = |bytes: &[u8], at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            u64::from_be_bytes(b)
        };
        Ok(rest
            .chunks_exact(ENTRY_LEN)
            .map(|e| IndexEntry {
                time: Timestamp(u64_at(e, 0)),
                offset: u64_at(e, 8),
                seq: u64_at(e, 16),
            })
            .collect())
    }
}
