//! Time-based one-time passwords (RFC 6238) as the second factor of unattended access.
//!
//! HMAC-SHA1, 30-second steps, 6 digits: what every authenticator app speaks. The
//! secret is enrolled at deployment (in the agent's policy and in the technician's
//! authenticator app). The agent accepts the current step and one step either side
//! for clock drift, never the same step twice (a code seen once cannot be replayed),
//! and after [`MAX_FAILURES`] wrong codes in a row refuses every code for a back-off
//! that doubles from 30 s up to an hour.

use std::sync::Mutex;
use std::time::Duration;

use ring::hmac;

use crate::time::Timestamp;

/// Seconds per step.
pub const STEP_SECS: u64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Wrong codes in a row before the back-off starts.
pub const MAX_FAILURES: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// A shared TOTP secret (at least 128 bits).
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

/// A secret could not be read or made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TotpSecretError {
    /// Not base32 (RFC 4648, as authenticator apps show it).
    #[error("the TOTP secret is not base32 (letters A-Z and digits 2-7)")]
    NotBase32,
    /// Shorter than 128 bits.
    #[error("the TOTP secret is too short: it needs at least 26 base32 characters (128 bits)")]
    TooShort,
    /// The random generator failed.
    #[error("the system random number generator failed")]
    Random,
}

impl TotpSecret {
    /// A new random 160-bit secret.
    pub fn generate() -> Result<Self, TotpSecretError> {
        use ring::rand::SecureRandom;
        let mut bytes = vec![0u8; 20];
        ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| TotpSecretError::Random)?;
        Ok(Self(bytes))
    }

    /// Raw secret bytes (for tests and known-answer vectors).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TotpSecretError> {
        if bytes.len() < 16 {
            return Err(TotpSecretError::TooShort);
        }
        Ok(Self(bytes.to_vec()))
    }

    /// Reads base32 as authenticator apps show it (case, spaces and `=` ignored).
    pub fn from_base32(text: &str) -> Result<Self, TotpSecretError> {
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '=' && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let bytes = data_encoding::BASE32_NOPAD
            .decode(cleaned.as_bytes())
            .map_err(|_| TotpSecretError::NotBase32)?;
        Self::from_bytes(&bytes)
    }

    /// The base32 form to enrol in an authenticator app.
    pub fn to_base32(&self) -> String {
        data_encoding::BASE32_NOPAD.encode(&self.0)
    }

    /// An `otpauth://` URI for authenticator apps (usually shown as a QR code).
    pub fn otpauth_uri(&self, label: &str) -> String {
        let label: String = label
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        format!(
            "otpauth://totp/Lifeline:{label}?secret={}&issuer=Lifeline&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            self.to_base32()
        )
    }

    /// The code for a time step (RFC 4226 HOTP with the step as counter).
    pub fn code_at_step(&self, step: u64) -> u32 {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &self.0);
        let tag = hmac::sign(&key, &step.to_be_bytes());
        let mac = tag.as_ref();
        let offset = usize::from(mac[mac.len() - 1] & 0x0f);
        let binary = u32::from_be_bytes([
            mac[offset] & 0x7f,
            mac[offset + 1],
            mac[offset + 2],
            mac[offset + 3],
        ]);
        binary % 10u32.pow(DIGITS)
    }

    /// The code shown at `now`, as six digits.
    pub fn code_at(&self, now: Timestamp) -> String {
        format!(
            "{:06}",
            self.code_at_step(now.as_unix_millis() / 1000 / STEP_SECS)
        )
    }
}

/// Why a code was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TotpRejected {
    /// Wrong, or already used.
    #[error("the second-factor code is wrong or was already used; wait for the next code")]
    Wrong,
    /// Too many wrong codes recently.
    #[error("too many wrong second-factor codes; try again in {} s", retry_after.as_secs().max(1))]
    LockedOut {
        /// How long until codes are accepted again.
        retry_after: Duration,
    },
}

/// Checks codes for one secret, remembering used steps and failures across sessions.
#[derive(Debug)]
pub struct TotpVerifier {
    secret: TotpSecret,
    state: Mutex<VerifierState>,
}

#[derive(Debug, Default)]
struct VerifierState {
    last_used_step: Option<u64>,
    failures: u32,
    lockouts: u32,
    locked_until: Option<Timestamp>,
}

impl TotpVerifier {
    /// A verifier for this secret.
    pub fn new(secret: TotpSecret) -> Self {
        Self {
            secret,
            state: Mutex::new(VerifierState::default()),
        }
    }

    /// Checks `code` at `now`. A code is used up when accepted.
    pub fn verify(&self, code: &str, now: Timestamp) -> Result<(), TotpRejected> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(until) = state.locked_until {
            if now < until {
                return Err(TotpRejected::LockedOut {
                    retry_after: until.saturating_duration_since(now),
                });
            }
            state.locked_until = None;
        }
        let step = now.as_unix_millis() / 1000 / STEP_SECS;
        let given = parse_code(code);
        let matched = given.and_then(|given| {
            [step.saturating_sub(1), step, step.saturating_add(1)]
                .into_iter()
                .filter(|candidate| state.last_used_step.is_none_or(|used| *candidate > used))
                .find(|candidate| constant_time_eq(self.secret.code_at_step(*candidate), given))
        });
        match matched {
            Some(used) => {
                state.last_used_step = Some(used);
                state.failures = 0;
                state.lockouts = 0;
                Ok(())
            }
            None => {
                state.failures += 1;
                if state.failures >= MAX_FAILURES {
                    state.failures = 0;
                    let backoff = FIRST_BACKOFF
                        .saturating_mul(1u32 << state.lockouts.min(16))
                        .min(MAX_BACKOFF);
                    state.lockouts = state.lockouts.saturating_add(1);
                    state.locked_until = Some(now.saturating_add(backoff));
                }
                Err(TotpRejected::Wrong)
            }
        }
    }
}

fn parse_code(code: &str) -> Option<u32> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != DIGITS as usize || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Compares without an early exit, so timing does not tell how many digits matched.
fn constant_time_eq(a: u32, b: u32) -> bool {
    std::hint::black_box(a ^ b) == 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890").unwrap()
    }

    #[test]
    fn rfc_6238_sha1_vectors_truncated_to_six_digits() {
        // RFC 6238 appendix B (SHA1, 8 digits) — the last six digits are the 6-digit code.
        let secret = rfc_secret();
        for (unix, eight) in [
            (59u64, 94_287_082u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            assert_eq!(
                secret.code_at(Timestamp(unix * 1000)),
                format!("{:06}", eight % 1_000_000),
                "at {unix}"
            );
        }
    }

    #[test]
    fn base32_round_trip_and_errors() {
        let secret = TotpSecret::generate().unwrap();
        let text = secret.to_base32();
        assert_eq!(
            TotpSecret::from_base32(&text.to_lowercase()).unwrap(),
            secret
        );
        assert_eq!(
            TotpSecret::from_base32("not base32!"),
            Err(TotpSecretError::NotBase32)
        );
        assert_eq!(
            TotpSecret::from_base32("GEZDGNBV"),
            Err(TotpSecretError::TooShort)
        );
        assert!(
            secret
                .otpauth_uri("Ada L")
                .contains("Lifeline:Ada-L?secret=")
        );
    }

    #[test]
    fn a_code_is_accepted_once_and_never_replayed() {
        let now = Timestamp(1_700_000_000_000);
        let verifier = TotpVerifier::new(rfc_secret());
        let code = rfc_secret().code_at(now);
        verifier.verify(&code, now).unwrap();
        assert_eq!(verifier.verify(&code, now), Err(TotpRejected::Wrong));
        // An older step than the one used is refused too, even within the drift window.
        let previous = rfc_secret().code_at(Timestamp(now.0 - 30_000));
        assert_eq!(verifier.verify(&previous, now), Err(TotpRejected::Wrong));
    }

    #[test]
    fn one_step_of_drift_is_allowed_two_are_not() {
        let now = Timestamp(1_700_000_000_000);
        let verifier = TotpVerifier::new(rfc_secret());
        let ahead = rfc_secret().code_at(Timestamp(now.0 + 30_000));
        verifier.verify(&ahead, now).unwrap();
        let verifier = TotpVerifier::new(rfc_secret());
        let far = rfc_secret().code_at(Timestamp(now.0 - 60_000));
        assert_eq!(verifier.verify(&far, now), Err(TotpRejected::Wrong));
    }

    #[test]
    fn three_wrong_codes_lock_out_even_the_right_one_with_growing_backoff() {
        let mut now = Timestamp(1_700_000_000_000);
        let verifier = TotpVerifier::new(rfc_secret());
        for _ in 0..3 {
            assert_eq!(verifier.verify("000000", now), Err(TotpRejected::Wrong));
        }
        let right = rfc_secret().code_at(now);
        assert!(matches!(
            verifier.verify(&right, now),
            Err(TotpRejected::LockedOut { retry_after }) if retry_after == Duration::from_secs(30)
        ));
        now = now.saturating_add(Duration::from_secs(31));
        for _ in 0..3 {
            let _ = verifier.verify("000000", now);
        }
        assert!(matches!(
            verifier.verify(&rfc_secret().code_at(now), now),
            Err(TotpRejected::LockedOut { retry_after }) if retry_after == Duration::from_secs(60)
        ));
        now = now.saturating_add(Duration::from_secs(61));
        verifier.verify(&rfc_secret().code_at(now), now).unwrap();
    }

    #[test]
    fn malformed_codes_are_wrong_not_panics() {
        for bad in [
            "",
            "12345",
            "1234567",
            "abcdef",
            "１２３４５６",
            "99999999999999999999",
        ] {
            let verifier = TotpVerifier::new(rfc_secret());
            assert_eq!(
                verifier.verify(bad, Timestamp(59_000)),
                Err(TotpRejected::Wrong)
            );
        }
    }
}
