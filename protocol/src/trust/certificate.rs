//! Technician certificates: an organisation key vouches for a technician's key.
//!
//! A certificate is the postcard encoding of [`CertificateBody`] signed with the
//! organisation's Ed25519 key over [`CERTIFICATE_CONTEXT`] followed by that encoding.
//! Files hold it as text: a `-----BEGIN LIFELINE TECHNICIAN CERTIFICATE-----` line,
//! base64 of the postcard bytes of [`TechnicianCertificate`], and an `END` line, so it
//! can be mailed or pasted.

use serde::{Deserialize, Serialize};

use crate::identity::{KeyPair, PublicKey};
use crate::message::MAX_NAME_LEN;
use crate::scope::ScopeSet;
use crate::time::Timestamp;

/// Signed before the body, so a certificate signature cannot be mistaken for any other
/// signature made with an organisation key.
pub const CERTIFICATE_CONTEXT: &[u8] = b"lifeline technician certificate v1\0";

/// Longest certificate in bytes, on the wire and in files.
pub const MAX_CERTIFICATE_LEN: usize = 1024;

const BEGIN: &str = "-----BEGIN LIFELINE TECHNICIAN CERTIFICATE-----";
const END: &str = "-----END LIFELINE TECHNICIAN CERTIFICATE-----";

/// What the organisation vouches for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateBody {
    /// The organisation's name, as it signed it.
    pub organisation: String,
    /// The organisation's public key (the signer).
    pub organisation_key: PublicKey,
    /// The technician's name, shown to end users.
    pub technician: String,
    /// The technician's key: the viewer's identity key.
    pub technician_key: PublicKey,
    /// The most this technician may ever be granted through this certificate.
    pub scopes: ScopeSet,
    /// When it was signed.
    pub issued_at: Timestamp,
    /// When it stops being valid.
    pub expires_at: Timestamp,
}

/// A [`CertificateBody`] and the organisation's signature of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TechnicianCertificate {
    /// What is vouched for.
    pub body: CertificateBody,
    /// Ed25519 signature by `body.organisation_key` over
    /// [`CERTIFICATE_CONTEXT`] ‖ postcard(`body`).
    #[serde(with = "crate::identity::hex_array")]
    pub signature: [u8; 64],
}

/// A certificate file could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateFormatError {
    /// The BEGIN/END lines are missing.
    #[error("this is not a Lifeline technician certificate (no BEGIN/END lines)")]
    NotACertificate,
    /// The text between them is not base64 or not a certificate.
    #[error("the technician certificate is damaged: {0}")]
    Damaged(String),
    /// A name is longer than the protocol allows, or the body too large.
    #[error("the technician certificate is too large or has a name over 128 bytes")]
    TooLarge,
}

impl CertificateBody {
    /// The bytes the organisation signs.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut bytes = CERTIFICATE_CONTEXT.to_vec();
        // Encoding a plain struct of strings, keys and integers into a Vec cannot fail.
        bytes.extend(postcard::to_allocvec(self).unwrap_or_default());
        bytes
    }

    /// Signs this body with the organisation's key. The key must be
    /// `self.organisation_key`; otherwise the certificate will never verify.
    pub fn sign(self, organisation: &KeyPair) -> TechnicianCertificate {
        let mut signature = [0u8; 64];
        let made = organisation.sign(&self.signed_bytes());
        signature.copy_from_slice(&made[..64.min(made.len())]);
        TechnicianCertificate {
            body: self,
            signature,
        }
    }

    fn check_limits(&self) -> Result<(), CertificateFormatError> {
        if self.organisation.len() > MAX_NAME_LEN || self.technician.len() > MAX_NAME_LEN {
            return Err(CertificateFormatError::TooLarge);
        }
        Ok(())
    }
}

impl TechnicianCertificate {
    /// Whether the signature is the organisation key's (nothing else is checked here:
    /// see [`crate::trust::Trust::verify_technician`]).
    pub fn signature_is_valid(&self) -> bool {
        self.body
            .organisation_key
            .verify(&self.body.signed_bytes(), &self.signature)
            .is_ok()
    }

    /// The text form for files.
    pub fn to_text(&self) -> String {
        use data_encoding::BASE64;
        let bytes = postcard::to_allocvec(self).unwrap_or_default();
        let encoded = BASE64.encode(&bytes);
        let mut text = String::from(BEGIN);
        text.push('\n');
        for line in encoded.as_bytes().chunks(64) {
            text.push_str(&String::from_utf8_lossy(line));
            text.push('\n');
        }
        text.push_str(END);
        text.push('\n');
        text
    }

    /// Reads the text form written by [`TechnicianCertificate::to_text`].
    pub fn from_text(text: &str) -> Result<Self, CertificateFormatError> {
        let start = text
            .find(BEGIN)
            .ok_or(CertificateFormatError::NotACertificate)?;
        let rest = &text[start + BEGIN.len()..];
        let end = rest
            .find(END)
            .ok_or(CertificateFormatError::NotACertificate)?;
        let encoded: String = rest[..end].chars().filter(|c| !c.is_whitespace()).collect();
        if encoded.len() > MAX_CERTIFICATE_LEN * 2 {
            return Err(CertificateFormatError::TooLarge);
        }
        let bytes = data_encoding::BASE64
            .decode(encoded.as_bytes())
            .map_err(|e| CertificateFormatError::Damaged(e.to_string()))?;
        Self::from_bytes(&bytes)
    }

    /// Decodes the postcard form, checking size limits.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CertificateFormatError> {
        if bytes.len() > MAX_CERTIFICATE_LEN {
            return Err(CertificateFormatError::TooLarge);
        }
        let (certificate, rest): (Self, _) = postcard::take_from_bytes(bytes)
            .map_err(|e| CertificateFormatError::Damaged(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CertificateFormatError::Damaged(
                "bytes after the certificate".to_owned(),
            ));
        }
        certificate.body.check_limits()?;
        Ok(certificate)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use crate::scope::Scope;

    fn sample(organisation: &KeyPair, technician: &KeyPair) -> TechnicianCertificate {
        CertificateBody {
            organisation: "Example IT".to_owned(),
            organisation_key: organisation.public_key(),
            technician: "Ada Lovelace".to_owned(),
            technician_key: technician.public_key(),
            scopes: ScopeSet::from_iter([Scope::ViewScreen, Scope::ControlInput]),
            issued_at: Timestamp(1_000),
            expires_at: Timestamp(2_000),
        }
        .sign(organisation)
    }

    #[test]
    fn text_round_trip_keeps_a_valid_signature() {
        let org = KeyPair::generate().unwrap();
        let tech = KeyPair::generate().unwrap();
        let certificate = sample(&org, &tech);
        assert!(certificate.signature_is_valid());
        let text = certificate.to_text();
        assert!(text.starts_with(BEGIN));
        let read = TechnicianCertificate::from_text(&format!("junk before\n{text}")).unwrap();
        assert_eq!(read, certificate);
    }

    #[test]
    fn any_edit_of_the_body_breaks_the_signature() {
        let org = KeyPair::generate().unwrap();
        let tech = KeyPair::generate().unwrap();
        let mut certificate = sample(&org, &tech);
        certificate.body.scopes = ScopeSet::all();
        assert!(!certificate.signature_is_valid());
        let mut certificate = sample(&org, &tech);
        certificate.body.expires_at = Timestamp(u64::MAX);
        assert!(!certificate.signature_is_valid());
    }

    #[test]
    fn damaged_text_is_an_error_not_a_panic() {
        assert_eq!(
            TechnicianCertificate::from_text("hello"),
            Err(CertificateFormatError::NotACertificate)
        );
        let broken = format!("{BEGIN}\n!!!!\n{END}\n");
        assert!(matches!(
            TechnicianCertificate::from_text(&broken),
            Err(CertificateFormatError::Damaged(_))
        ));
    }
}
