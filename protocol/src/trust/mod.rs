//! Trust beyond the one-time code: organisation keys, technician certificates,
//! unattended access and its second factor.
//!
//! - An organisation key (Ed25519, kept offline by the organisation's admin) signs
//!   [`TechnicianCertificate`]s binding a technician's name and maximum scopes to the
//!   technician's own key (the viewer's identity key).
//! - The agent's deployment policy lists the organisation keys it trusts ([`Trust`]) and
//!   whether unattended access is allowed ([`UnattendedPolicy`]).
//! - In an attended session a valid certificate lets the consent prompt show the
//!   verified organisation and name; without one the prompt says "unverified".
//! - In an unattended session the technician proves possession of the certified key by
//!   signing the TLS channel binding ([`unattended_proof_bytes`]), so a recorded proof
//!   is worthless on any other connection, and, when the policy asks, gives a TOTP code
//!   ([`totp`]).
//!
//! What it does not do: read files or policy formats (the agent parses its TOML into
//! these types), or keep the organisation's private key.

pub mod certificate;
pub mod totp;

use std::sync::Arc;

pub use certificate::{CertificateBody, CertificateFormatError, TechnicianCertificate};
pub use totp::{TotpRejected, TotpSecret, TotpVerifier};

use crate::identity::{Fingerprint, KeyPair, PublicKey};
use crate::scope::ScopeSet;
use crate::time::Timestamp;

/// How far an agent's clock may lag the organisation's when a certificate was issued.
pub const CLOCK_SKEW_MILLIS: u64 = 5 * 60 * 1000;

/// Signed before the channel binding in an unattended proof.
pub const UNATTENDED_PROOF_CONTEXT: &[u8] = b"lifeline unattended access v1\0";

/// An organisation whose certificates the agent accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedOrganisation {
    /// The name the agent's admin gave it; this is what end users see.
    pub name: String,
    /// Its public key.
    pub key: PublicKey,
}

/// What an agent trusts and allows, from its deployment policy. The default trusts no
/// organisation and refuses unattended access.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    /// Organisations whose technician certificates are accepted.
    pub organisations: Vec<TrustedOrganisation>,
    /// Unattended access, when allowed at all.
    pub unattended: Option<UnattendedPolicy>,
    /// No one-time codes are accepted (a service with nobody to read a code out):
    /// only unattended access.
    pub refuse_codes: bool,
    /// Actions under these scopes (e.g. `commands`) are confirmed by the end user one
    /// by one, in attended and unattended sessions alike.
    pub confirm_actions: ScopeSet,
}

/// The rules of unattended access.
#[derive(Clone, Debug)]
pub struct UnattendedPolicy {
    /// The most an unattended session may be granted.
    pub max_scopes: ScopeSet,
    /// Scopes that need a click from a present user even in an unattended session.
    pub confirm_scopes: ScopeSet,
    /// The second factor, when required.
    pub second_factor: Option<Arc<TotpVerifier>>,
}

/// A technician whose certificate the agent verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTechnician {
    /// The organisation's name as the agent's policy names it.
    pub organisation: String,
    /// The technician's name from the certificate.
    pub technician: String,
    /// The certificate's scope limit.
    pub scopes: ScopeSet,
    /// When the certificate expires.
    pub expires_at: Timestamp,
}

/// Why a certificate was not accepted. Messages are for the technician and the log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateRejected {
    /// Signed by a key this agent does not trust.
    #[error("the certificate's organisation key is not trusted by this device's policy")]
    UnknownOrganisation,
    /// The signature does not verify.
    #[error("the certificate's signature is invalid (edited or forged)")]
    BadSignature,
    /// It certifies another key than the one this connection was made with.
    #[error("the certificate belongs to another technician key than this connection's")]
    NotYourKey,
    /// Expired.
    #[error("the certificate has expired; ask your organisation for a new one")]
    Expired,
    /// Issued in the future (clocks too far apart).
    #[error("the certificate is not valid yet; check the clocks of both machines")]
    NotYetValid,
}

impl Trust {
    /// Checks a technician certificate presented on a connection whose client key has
    /// fingerprint `peer`, at `now`.
    pub fn verify_technician(
        &self,
        certificate: &TechnicianCertificate,
        peer: Fingerprint,
        now: Timestamp,
    ) -> Result<VerifiedTechnician, CertificateRejected> {
        let body = &certificate.body;
        let organisation = self
            .organisations
            .iter()
            .find(|org| org.key == body.organisation_key)
            .ok_or(CertificateRejected::UnknownOrganisation)?;
        if !certificate.signature_is_valid() {
            return Err(CertificateRejected::BadSignature);
        }
        if body.technician_key.fingerprint() != peer {
            return Err(CertificateRejected::NotYourKey);
        }
        if now.as_unix_millis().saturating_add(CLOCK_SKEW_MILLIS) < body.issued_at.as_unix_millis()
        {
            return Err(CertificateRejected::NotYetValid);
        }
        if now >= body.expires_at {
            return Err(CertificateRejected::Expired);
        }
        Ok(VerifiedTechnician {
            organisation: organisation.name.clone(),
            technician: body.technician.clone(),
            scopes: body.scopes,
            expires_at: body.expires_at,
        })
    }
}

/// The bytes a technician signs to prove, on this connection only, that they hold the
/// certified key: the context, the agent's and the viewer's fingerprints and the TLS
/// channel binding (unique per connection).
pub fn unattended_proof_bytes(
    agent: &Fingerprint,
    viewer: &Fingerprint,
    channel_binding: &[u8],
) -> Vec<u8> {
    let mut bytes = UNATTENDED_PROOF_CONTEXT.to_vec();
    bytes.extend_from_slice(&agent.0);
    bytes.extend_from_slice(&viewer.0);
    bytes.extend_from_slice(channel_binding);
    bytes
}

/// Signs the unattended proof for this connection with the technician's key.
pub fn sign_unattended_proof(
    technician: &KeyPair,
    agent: &Fingerprint,
    channel_binding: &[u8],
) -> Vec<u8> {
    let viewer = technician.public_key().fingerprint();
    technician.sign(&unattended_proof_bytes(agent, &viewer, channel_binding))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use crate::scope::Scope;

    struct Fixture {
        org: KeyPair,
        tech: KeyPair,
        trust: Trust,
    }

    fn fixture() -> Fixture {
        let org = KeyPair::generate().unwrap();
        let tech = KeyPair::generate().unwrap();
        let trust = Trust {
            organisations: vec![TrustedOrganisation {
                name: "Example IT (as configured)".to_owned(),
                key: org.public_key(),
            }],
            unattended: None,
            ..Trust::default()
        };
        Fixture { org, tech, trust }
    }

    fn certificate(f: &Fixture, signer: &KeyPair) -> TechnicianCertificate {
        CertificateBody {
            organisation: "Example IT".to_owned(),
            organisation_key: f.org.public_key(),
            technician: "Ada".to_owned(),
            technician_key: f.tech.public_key(),
            scopes: ScopeSet::from_iter([Scope::ViewScreen]),
            issued_at: Timestamp(1_000_000),
            expires_at: Timestamp(2_000_000),
        }
        .sign(signer)
    }

    #[test]
    fn a_valid_certificate_shows_the_policy_name_of_the_organisation() {
        let f = fixture();
        let verified = f
            .trust
            .verify_technician(
                &certificate(&f, &f.org),
                f.tech.public_key().fingerprint(),
                Timestamp(1_500_000),
            )
            .unwrap();
        assert_eq!(verified.organisation, "Example IT (as configured)");
        assert_eq!(verified.technician, "Ada");
    }

    #[test]
    fn forged_stolen_expired_and_untrusted_certificates_are_refused() {
        let f = fixture();
        let peer = f.tech.public_key().fingerprint();
        let at = Timestamp(1_500_000);
        // Signed by someone else claiming to be the organisation.
        let forger = KeyPair::generate().unwrap();
        assert_eq!(
            f.trust
                .verify_technician(&certificate(&f, &forger), peer, at),
            Err(CertificateRejected::BadSignature)
        );
        // A real certificate presented on a connection made with another key.
        let thief = KeyPair::generate().unwrap().public_key().fingerprint();
        assert_eq!(
            f.trust
                .verify_technician(&certificate(&f, &f.org), thief, at),
            Err(CertificateRejected::NotYourKey)
        );
        assert_eq!(
            f.trust
                .verify_technician(&certificate(&f, &f.org), peer, Timestamp(2_000_000)),
            Err(CertificateRejected::Expired)
        );
        assert_eq!(
            f.trust
                .verify_technician(&certificate(&f, &f.org), peer, Timestamp(0)),
            Err(CertificateRejected::NotYetValid)
        );
        assert_eq!(
            Trust::default().verify_technician(&certificate(&f, &f.org), peer, at),
            Err(CertificateRejected::UnknownOrganisation)
        );
    }
}
