//! TLS certificates made from, and read back to, Lifeline's Ed25519 identity keys.
//!
//! Certificates here are only envelopes for a public key: nobody signs them but the key
//! itself, and trust comes from the one-time code (attended) or an organisation
//! signature (unattended), never from a certificate authority. The I/O side gives the
//! DER to rustls and, after the handshake (whose signature proves possession of the
//! key), reads the peer's key back with [`certificate_public_key`].

use crate::identity::{KeyPair, PublicKey};

/// A certificate could not be made or read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// Making the certificate failed.
    #[error("could not create the TLS certificate: {0}")]
    Create(String),
    /// The peer's certificate is not DER, or its key is not Ed25519.
    #[error("the peer's certificate does not hold an Ed25519 key ({0})")]
    NotEd25519(&'static str),
}

/// A self-signed X.509 certificate (DER) carrying `key`'s public key.
pub fn self_signed_certificate(key: &KeyPair) -> Result<Vec<u8>, CertificateError> {
    let pkcs8 = rustls_pki_types::PrivatePkcs8KeyDer::from(key.to_pkcs8());
    let signing_key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_ED25519)
        .map_err(|err| CertificateError::Create(err.to_string()))?;
    let mut params = rcgen::CertificateParams::new(vec!["lifeline".to_owned()])
        .map_err(|err| CertificateError::Create(err.to_string()))?;
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        key.public_key().fingerprint().to_string(),
    );
    let certificate = params
        .self_signed(&signing_key)
        .map_err(|err| CertificateError::Create(err.to_string()))?;
    Ok(certificate.der().to_vec())
}

/// The DER encoding of an Ed25519 SubjectPublicKeyInfo, up to the 32 key bytes.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Reads the Ed25519 public key of an X.509 certificate (DER).
///
/// Walks `Certificate -> TBSCertificate -> subjectPublicKeyInfo` with bounds checks on
/// every length; any other shape is an error. It does not check the certificate's own
/// signature or dates, which mean nothing for self-signed identity certificates.
pub fn certificate_public_key(der: &[u8]) -> Result<PublicKey, CertificateError> {
    let (certificate, _) = Tlv::read(der)?.expect_tag(SEQUENCE)?;
    let (tbs, _) = Tlv::read(certificate)?.expect_tag(SEQUENCE)?;
    let mut rest = tbs;
    // [0] EXPLICIT version, optional.
    let first = Tlv::read(rest)?;
    if first.tag == VERSION_TAG {
        rest = first.rest;
    }
    // serialNumber, signature, issuer, validity, subject.
    for expected in [INTEGER, SEQUENCE, SEQUENCE, SEQUENCE, SEQUENCE] {
        rest = Tlv::read(rest)?.expect_tag(expected)?.1;
    }
    let spki = Tlv::read(rest)?;
    let whole = &rest[..rest.len() - spki.rest.len()];
    match whole.strip_prefix(&ED25519_SPKI_PREFIX[..]) {
        Some(key) if key.len() == 32 => {
            let mut bytes = [0u8; 32];
            bytes.copy_from_slice(key);
            Ok(PublicKey(bytes))
        }
        _ => Err(CertificateError::NotEd25519("its key is of another kind")),
    }
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const VERSION_TAG: u8 = 0xa0;

/// One DER tag-length-value, and what follows it.
struct Tlv<'a> {
    tag: u8,
    value: &'a [u8],
    rest: &'a [u8],
}

impl<'a> Tlv<'a> {
    fn read(bytes: &'a [u8]) -> Result<Self, CertificateError> {
        let malformed = || CertificateError::NotEd25519("malformed DER");
        let (&tag, bytes) = bytes.split_first().ok_or_else(malformed)?;
        let (&first, mut bytes) = bytes.split_first().ok_or_else(malformed)?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 {
                return Err(malformed());
            }
            let (len_bytes, after) = bytes.split_at_checked(count).ok_or_else(malformed)?;
            bytes = after;
            len_bytes
                .iter()
                .fold(0usize, |len, byte| (len << 8) | usize::from(*byte))
        };
        let (value, rest) = bytes.split_at_checked(len).ok_or_else(malformed)?;
        Ok(Self { tag, value, rest })
    }

    fn expect_tag(self, tag: u8) -> Result<(&'a [u8], &'a [u8]), CertificateError> {
        if self.tag != tag {
            return Err(CertificateError::NotEd25519("unexpected DER structure"));
        }
        Ok((self.value, self.rest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_carries_its_key_back() {
        let key = KeyPair::generate().unwrap();
        let der = self_signed_certificate(&key).unwrap();
        assert_eq!(certificate_public_key(&der), Ok(key.public_key()));
    }

    #[test]
    fn truncated_or_foreign_certificates_are_errors() {
        let key = KeyPair::generate().unwrap();
        let der = self_signed_certificate(&key).unwrap();
        for len in 0..der.len() {
            assert!(
                certificate_public_key(&der[..len]).is_err(),
                "truncated at {len}"
            );
        }
        let mut other_algorithm = der.clone();
        let at = other_algorithm
            .windows(ED25519_SPKI_PREFIX.len())
            .position(|w| w == ED25519_SPKI_PREFIX)
            .unwrap();
        other_algorithm[at + 8] ^= 1; // 1.3.101.112 -> 1.3.101.113 (Ed448)
        assert!(certificate_public_key(&other_algorithm).is_err());
        assert!(certificate_public_key(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
    }
}
