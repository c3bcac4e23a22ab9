//! Checking the bytes of a file as they arrive, and hashing a file before it is sent.

use std::io::Read;

use ring::digest;

use super::{Sha256, human_size};

/// Why received bytes are not the file that was announced.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// More bytes arrived than announced.
    #[error("more bytes arrived than the {} announced", human_size(*.expected))]
    TooLong {
        /// The size announced.
        expected: u64,
    },
    /// The stream ended early.
    #[error("the transfer stopped after {received} of {expected} bytes")]
    TooShort {
        /// The size announced.
        expected: u64,
        /// The bytes that arrived.
        received: u64,
    },
    /// Every byte arrived, but they are not the announced file.
    #[error(
        "the file's SHA-256 is not the one announced: it was damaged or changed on the way \
         (announced {expected}, received {received})"
    )]
    HashMismatch {
        /// The hash announced.
        expected: Sha256,
        /// The hash of what arrived.
        received: Sha256,
    },
}

/// Follows the bytes of one file as they arrive: never more than announced, and at the
/// end exactly the size and SHA-256 announced.
pub struct FileCheck {
    expected_size: u64,
    expected_sha256: Sha256,
    received: u64,
    digest: digest::Context,
}

impl std::fmt::Debug for FileCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileCheck")
            .field("expected_size", &self.expected_size)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl FileCheck {
    /// A check for a file of `size` bytes whose hash is `sha256`.
    pub fn new(size: u64, sha256: Sha256) -> Self {
        Self {
            expected_size: size,
            expected_sha256: sha256,
            received: 0,
            digest: digest::Context::new(&digest::SHA256),
        }
    }

    /// Takes the next bytes.
    ///
    /// # Errors
    /// [`TransferError::TooLong`] as soon as they go past the announced size (the
    /// caller stops writing: nothing past the size is ever kept).
    pub fn update(&mut self, bytes: &[u8]) -> Result<(), TransferError> {
        let received = self.received.saturating_add(bytes.len() as u64);
        if received > self.expected_size {
            return Err(TransferError::TooLong {
                expected: self.expected_size,
            });
        }
        self.received = received;
        self.digest.update(bytes);
        Ok(())
    }

    /// Bytes taken so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The size announced.
    pub fn expected_size(&self) -> u64 {
        self.expected_size
    }

    /// The stream ended: checks the size and the hash.
    pub fn finish(self) -> Result<(), TransferError> {
        if self.received != self.expected_size {
            return Err(TransferError::TooShort {
                expected: self.expected_size,
                received: self.received,
            });
        }
        let received = to_sha256(self.digest.finish());
        if received != self.expected_sha256 {
            return Err(TransferError::HashMismatch {
                expected: self.expected_sha256,
                received,
            });
        }
        Ok(())
    }
}

fn to_sha256(digest: digest::Digest) -> Sha256 {
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(digest.as_ref());
    Sha256(bytes)
}

/// Reads `reader` to its end in 64 KiB pieces: its size and SHA-256.
pub fn sha256_of(mut reader: impl Read) -> std::io::Result<(u64, Sha256)> {
    let mut context = digest::Context::new(&digest::SHA256);
    let mut buffer = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        size += n as u64;
        context.update(&buffer[..n]);
    }
    Ok((size, to_sha256(context.finish())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn hash(bytes: &[u8]) -> Sha256 {
        sha256_of(bytes).unwrap().1
    }

    #[test]
    fn the_announced_bytes_pass_in_any_pieces() {
        let content = b"hello, lifeline".repeat(1000);
        let (size, sha256) = sha256_of(&content[..]).unwrap();
        assert_eq!(size, content.len() as u64);
        let mut check = FileCheck::new(size, sha256);
        for piece in content.chunks(777) {
            check.update(piece).unwrap();
        }
        assert_eq!(check.received(), size);
        check.finish().unwrap();
        // The known SHA-256 of the empty input.
        assert_eq!(
            hash(b"").to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn too_many_too_few_and_different_bytes_are_named() {
        let mut check = FileCheck::new(3, hash(b"abc"));
        assert_eq!(
            check.update(b"abcd"),
            Err(TransferError::TooLong { expected: 3 })
        );
        assert_eq!(check.received(), 0, "nothing past the size is taken");

        let mut check = FileCheck::new(3, hash(b"abc"));
        check.update(b"ab").unwrap();
        let short = check.finish().unwrap_err();
        assert_eq!(short.to_string(), "the transfer stopped after 2 of 3 bytes");

        let mut check = FileCheck::new(3, hash(b"abc"));
        check.update(b"abd").unwrap();
        assert!(matches!(
            check.finish(),
            Err(TransferError::HashMismatch { .. })
        ));
    }
}
