//! Long-term Ed25519 identities of agents and technicians, and their fingerprints.
//!
//! Keys are generated and used here; storing them on disk is the agent's and viewer's
//! job. TLS certificates are made from the same key by the I/O side.

use std::fmt;

use ring::rand::SystemRandom;
use ring::signature::{self, Ed25519KeyPair, KeyPair as _};
use serde::{Deserialize, Serialize};

/// An Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PublicKey(#[serde(with = "hex_array")] pub [u8; 32]);

impl PublicKey {
    /// The key's fingerprint, which people compare and logs record.
    pub fn fingerprint(&self) -> Fingerprint {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.0);
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(digest.as_ref());
        Fingerprint(bytes)
    }

    /// Checks an Ed25519 signature by this key.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), BadSignature> {
        signature::UnparsedPublicKey::new(&signature::ED25519, &self.0)
            .verify(message, signature)
            .map_err(|_| BadSignature)
    }
}

/// Text prefix of a public key in configuration files.
pub const PUBLIC_KEY_PREFIX: &str = "ed25519:";

/// A public key in text form could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a Lifeline public key: expected `ed25519:` followed by 64 hex digits")]
pub struct BadPublicKeyText;

impl PublicKey {
    /// The form used in policy files and on the command line: `ed25519:` and 64 hex
    /// digits.
    pub fn to_text(&self) -> String {
        format!("{PUBLIC_KEY_PREFIX}{}", hex(&self.0))
    }

    /// Reads [`PublicKey::to_text`]'s form.
    pub fn from_text(text: &str) -> Result<Self, BadPublicKeyText> {
        let digits = text
            .trim()
            .strip_prefix(PUBLIC_KEY_PREFIX)
            .ok_or(BadPublicKeyText)?;
        if digits.len() != 64 || !digits.is_ascii() {
            return Err(BadPublicKeyText);
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(digits.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| BadPublicKeyText)?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| BadPublicKeyText)?;
        }
        Ok(Self(bytes))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.fingerprint())
    }
}

/// A signature did not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the signature does not match the key")]
pub struct BadSignature;

/// The SHA-256 of a public key.
///
/// Shown to people as the first 16 bytes in eight groups of four hex digits
/// (`3f2a-9c01-…`), enough to compare over the phone; compared in full.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Fingerprint(#[serde(with = "hex_array")] pub [u8; 32]);

impl Fingerprint {
    /// The full fingerprint in hex, for files and logs.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, pair) in self.0[..16].chunks(2).enumerate() {
            if i > 0 {
                f.write_str("-")?;
            }
            f.write_str(&hex(pair))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Serde helpers for fixed-size byte arrays: hex strings in human-readable formats
/// (JSON logs), raw bytes in postcard.
pub(crate) mod hex_array {
    use std::fmt;

    use serde::de::Visitor;
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&super::hex(bytes))
        } else {
            serializer.serialize_bytes(bytes)
        }
    }

    struct ArrayVisitor<const N: usize>;

    impl<const N: usize> Visitor<'_> for ArrayVisitor<N> {
        type Value = [u8; N];

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{N} bytes, or {} hex digits", 2 * N)
        }

        fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<Self::Value, E> {
            <[u8; N]>::try_from(bytes).map_err(|_| E::invalid_length(bytes.len(), &self))
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
            if text.len() != 2 * N || !text.is_ascii() {
                return Err(E::invalid_length(text.len(), &self));
            }
            let mut out = [0u8; N];
            for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks(2)) {
                let pair = std::str::from_utf8(pair).map_err(E::custom)?;
                *byte = u8::from_str_radix(pair, 16).map_err(E::custom)?;
            }
            Ok(out)
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        deserializer: D,
    ) -> Result<[u8; N], D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_str(ArrayVisitor::<N>)
        } else {
            deserializer.deserialize_bytes(ArrayVisitor::<N>)
        }
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// A long-term Ed25519 key pair.
pub struct KeyPair {
    inner: Ed25519KeyPair,
    pkcs8: Vec<u8>,
}

/// A key could not be created or read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// The bytes are not an Ed25519 PKCS#8 key.
    #[error("the key file is not an Ed25519 private key in PKCS#8 form")]
    Malformed,
}

impl KeyPair {
    /// Generates a new key from the system's CSPRNG.
    pub fn generate() -> Result<Self, KeyError> {
        let pkcs8 =
            Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| KeyError::Random)?;
        Self::from_pkcs8(pkcs8.as_ref())
    }

    /// Reads a key stored with [`KeyPair::to_pkcs8`].
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, KeyError> {
        let inner = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| KeyError::Malformed)?;
        Ok(Self {
            inner,
            pkcs8: pkcs8.to_vec(),
        })
    }

    /// The PKCS#8 bytes to store. Secret: never log them.
    pub fn to_pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(self.inner.public_key().as_ref());
        PublicKey(bytes)
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.inner.sign(message).as_ref().to_vec()
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &self.public_key())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_with_the_right_key_and_message() {
        let key = KeyPair::generate().unwrap();
        let other = KeyPair::generate().unwrap();
        let sig = key.sign(b"chain head");
        assert_eq!(key.public_key().verify(b"chain head", &sig), Ok(()));
        assert_eq!(
            key.public_key().verify(b"chain head!", &sig),
            Err(BadSignature)
        );
        assert_eq!(
            other.public_key().verify(b"chain head", &sig),
            Err(BadSignature)
        );
    }

    #[test]
    fn stored_key_reloads_to_the_same_identity() {
        let key = KeyPair::generate().unwrap();
        let again = KeyPair::from_pkcs8(key.to_pkcs8()).unwrap();
        assert_eq!(key.public_key(), again.public_key());
        assert_eq!(
            KeyPair::from_pkcs8(b"not a key").unwrap_err(),
            KeyError::Malformed
        );
        assert!(!format!("{key:?}").contains(&hex(key.to_pkcs8())));
    }

    #[test]
    fn public_key_text_round_trips_and_rejects_junk() {
        let key = KeyPair::generate().unwrap().public_key();
        assert_eq!(PublicKey::from_text(&key.to_text()), Ok(key));
        for junk in ["", "ed25519:", "ed25519:zz", "rsa:00", &key.to_text()[1..]] {
            assert_eq!(PublicKey::from_text(junk), Err(BadPublicKeyText));
        }
        assert_eq!(
            PublicKey::from_text(&format!("ed25519:{}", "é".repeat(32))),
            Err(BadPublicKeyText)
        );
    }

    #[test]
    fn fingerprint_display_is_grouped_hex() {
        let fp = PublicKey([7; 32]).fingerprint();
        let shown = fp.to_string();
        assert_eq!(shown.len(), 8 * 4 + 7);
        assert_eq!(shown.split('-').count(), 8);
        assert!(fp.to_hex().starts_with(&shown.replace('-', "")));
    }
}
