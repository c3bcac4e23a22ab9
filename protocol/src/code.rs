//! One-time codes: generation, and the guard that counts wrong attempts.
//!
//! A code is 9 random digits from the system CSPRNG, read aloud in groups of three
//! (`482 193 705`). The [`CodeGuard`] holds the agent's current code and decides whether
//! an authentication attempt may start:
//!
//! - at most [`CodePolicy::failures_before_rotation`] attempts count against one code:
//!   failed ones plus those still running, so parallel connections gain nothing. Every
//!   wrong attempt counts, whichever code it was made against, and only a rotation for
//!   wrong attempts or a successful session clears the count: a code that expires does
//!   not, or an attacker could make two guesses per code lifetime forever, and guesses
//!   started just before an expiry would be free;
//! - after that many failures the code is replaced, and attempts are refused for a
//!   back-off that doubles with each such rotation (reset by a successful session);
//! - a code expires after [`CodePolicy::lifetime`] and is replaced;
//! - a code that authenticated a session is used up and replaced.
//!
//! Every change is reported as a [`CodeNotice`] so the end user can be told.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};

use crate::identity::KeyError;
use crate::time::Timestamp;

/// Digits in a code.
pub const CODE_DIGITS: usize = 9;

/// A one-time code. Secret: its `Debug` does not show it, and it must never be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeCode([u8; CODE_DIGITS]);

impl OneTimeCode {
    /// A new random code.
    pub fn generate() -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        // Rejection sampling keeps every code equally likely: 4_000_000_000 is the
        // largest multiple of 10^9 below 2^32.
        let value = loop {
            let mut bytes = [0u8; 4];
            rng.fill(&mut bytes).map_err(|_| KeyError::Random)?;
            let candidate = u32::from_be_bytes(bytes);
            if candidate < 4_000_000_000 {
                break candidate % 1_000_000_000;
            }
        };
        let mut digits = [0u8; CODE_DIGITS];
        let mut rest = value;
        for digit in digits.iter_mut().rev() {
            // `rest % 10` is below 10 and fits in a u8.
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        Ok(Self(digits))
    }

    /// Reads a code as a person typed it: spaces, dashes and dots are ignored.
    pub fn parse(typed: &str) -> Result<Self, BadCode> {
        let mut digits = [0u8; CODE_DIGITS];
        let mut count = 0;
        for c in typed.chars() {
            match c {
                ' ' | '-' | '.' | '\t' => {}
                '0'..='9' if count < CODE_DIGITS => {
                    // An ASCII digit is one byte.
                    digits[count] = c as u8;
                    count += 1;
                }
                '0'..='9' => return Err(BadCode::WrongLength),
                _ => return Err(BadCode::NotADigit),
            }
        }
        if count != CODE_DIGITS {
            return Err(BadCode::WrongLength);
        }
        Ok(Self(digits))
    }

    /// The code as the SPAKE2 password: its 9 ASCII digits.
    pub(crate) fn as_password(&self) -> &[u8] {
        &self.0
    }

    /// The code grouped for reading aloud: `482 193 705`.
    pub fn grouped(&self) -> String {
        let mut out = String::with_capacity(CODE_DIGITS + 2);
        for (i, digit) in self.0.iter().enumerate() {
            if i > 0 && i % 3 == 0 {
                out.push(' ');
            }
            out.push(char::from(*digit));
        }
        out
    }
}

impl fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeCode(<secret>)")
    }
}

/// A typed code that cannot be one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadCode {
    /// Not 9 digits.
    #[error("a code has exactly 9 digits, like 482 193 705")]
    WrongLength,
    /// Something other than digits, spaces or dashes.
    #[error("a code has only digits, like 482 193 705")]
    NotADigit,
}

/// How strict the guard is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodePolicy {
    /// Wrong attempts one code tolerates before it is replaced.
    pub failures_before_rotation: u32,
    /// How long a code lives.
    pub lifetime: Duration,
    /// Back-off after the first rotation for wrong attempts; doubled for each further one.
    pub first_backoff: Duration,
    /// The longest back-off.
    pub max_backoff: Duration,
}

impl Default for CodePolicy {
    fn default() -> Self {
        Self {
            failures_before_rotation: 3,
            lifetime: Duration::from_secs(10 * 60),
            first_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(60 * 60),
        }
    }
}

/// Something the end user should be told about their code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeNotice {
    /// A wrong code was tried.
    WrongCodeTried {
        /// Wrong attempts against the current code so far.
        failures: u32,
    },
    /// The code was replaced because wrong codes were tried too often; attempts are
    /// refused until `locked_until`.
    RotatedAfterWrongCodes {
        /// When attempts are accepted again.
        locked_until: Timestamp,
    },
    /// The code expired and was replaced.
    Expired,
    /// The code was used by a successful session and was replaced.
    Used,
}

/// An authentication attempt in progress against one code. Hand it back to the guard
/// with [`CodeGuard::record_success`] or [`CodeGuard::record_failure`].
#[derive(Debug)]
#[must_use = "an attempt must be recorded as a success or a failure"]
pub struct Attempt {
    code: OneTimeCode,
    generation: u64,
}

impl Attempt {
    pub(crate) fn code(&self) -> &OneTimeCode {
        &self.code
    }
}

/// The guard refused to start an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("authentication attempts are refused for another {retry_after:?}")]
pub struct AttemptRefused {
    /// How long until attempts are accepted again (at least one second).
    pub retry_after: Duration,
}

/// What a failure did to the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureOutcome {
    /// Whether the code was replaced.
    pub rotated: bool,
}

/// The agent's current code and its attempt counters (see the module docs).
pub struct CodeGuard {
    policy: CodePolicy,
    code: OneTimeCode,
    generation: u64,
    issued_at: Timestamp,
    failures: u32,
    in_flight: u32,
    rotations_for_failures: u32,
    locked_until: Option<Timestamp>,
    notices: VecDeque<CodeNotice>,
}

impl fmt::Debug for CodeGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeGuard")
            .field("generation", &self.generation)
            .field("failures", &self.failures)
            .field("in_flight", &self.in_flight)
            .field("locked_until", &self.locked_until)
            .finish_non_exhaustive()
    }
}

impl CodeGuard {
    /// A guard with a fresh code.
    pub fn new(policy: CodePolicy, now: Timestamp) -> Result<Self, KeyError> {
        Ok(Self {
            policy,
            code: OneTimeCode::generate()?,
            generation: 0,
            issued_at: now,
            failures: 0,
            in_flight: 0,
            rotations_for_failures: 0,
            locked_until: None,
            notices: VecDeque::new(),
        })
    }

    /// The code to show the end user now (replaced first if it expired).
    pub fn current(&mut self, now: Timestamp) -> Result<&OneTimeCode, KeyError> {
        self.expire_if_due(now)?;
        Ok(&self.code)
    }

    /// When the current code expires.
    pub fn expires_at(&self) -> Timestamp {
        self.issued_at.saturating_add(self.policy.lifetime)
    }

    /// Until when attempts are refused, if they are.
    pub fn locked_until(&self, now: Timestamp) -> Option<Timestamp> {
        self.locked_until.filter(|until| *until > now)
    }

    /// The next thing to tell the end user, oldest first.
    pub fn poll_notice(&mut self) -> Option<CodeNotice> {
        self.notices.pop_front()
    }

    /// Starts an attempt, unless the back-off or the count of attempts refuses it.
    pub fn begin_attempt(&mut self, now: Timestamp) -> Result<Attempt, AttemptRefused> {
        if let Some(until) = self.locked_until(now) {
            return Err(AttemptRefused {
                retry_after: until
                    .saturating_duration_since(now)
                    .max(Duration::from_secs(1)),
            });
        }
        // A failing random generator leaves the old code in place; it is still secret.
        let _ = self.expire_if_due(now);
        if self.failures + self.in_flight >= self.policy.failures_before_rotation {
            // Other attempts are running against the last tries of this code.
            return Err(AttemptRefused {
                retry_after: Duration::from_secs(1),
            });
        }
        self.in_flight += 1;
        Ok(Attempt {
            code: self.code.clone(),
            generation: self.generation,
        })
    }

    /// The attempt proved the code: the code is used up and replaced.
    pub fn record_success(&mut self, attempt: Attempt, now: Timestamp) -> Result<(), KeyError> {
        self.finish();
        self.rotations_for_failures = 0;
        self.failures = 0;
        if attempt.generation == self.generation {
            self.rotate(now)?;
            self.notices.push_back(CodeNotice::Used);
        }
        Ok(())
    }

    /// The attempt failed (wrong code, or abandoned before proving anything).
    pub fn record_failure(
        &mut self,
        attempt: Attempt,
        now: Timestamp,
    ) -> Result<FailureOutcome, KeyError> {
        // A wrong attempt counts even when the code it was made against has expired
        // meanwhile.
        let Attempt { .. } = attempt;
        self.finish();
        self.failures += 1;
        self.notices.push_back(CodeNotice::WrongCodeTried {
            failures: self.failures,
        });
        if self.failures < self.policy.failures_before_rotation {
            return Ok(FailureOutcome { rotated: false });
        }
        self.rotations_for_failures = self.rotations_for_failures.saturating_add(1);
        let doublings = self.rotations_for_failures.saturating_sub(1).min(20);
        let backoff = self
            .policy
            .first_backoff
            .saturating_mul(1 << doublings)
            .min(self.policy.max_backoff);
        let locked_until = now.saturating_add(backoff);
        self.locked_until = Some(locked_until);
        self.failures = 0;
        self.rotate(now)?;
        self.notices
            .push_back(CodeNotice::RotatedAfterWrongCodes { locked_until });
        Ok(FailureOutcome { rotated: true })
    }

    /// An attempt is over, whichever code it was made against.
    fn finish(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    fn expire_if_due(&mut self, now: Timestamp) -> Result<(), KeyError> {
        if now >= self.expires_at() {
            self.rotate(now)?;
            self.notices.push_back(CodeNotice::Expired);
        }
        Ok(())
    }

    /// Draws a new code. The counts of wrong and running attempts stay: callers clear
    /// `failures` where the rules say so.
    fn rotate(&mut self, now: Timestamp) -> Result<(), KeyError> {
        self.code = OneTimeCode::generate()?;
        self.generation += 1;
        self.issued_at = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp(1_700_000_000_000);

    fn guard() -> CodeGuard {
        CodeGuard::new(CodePolicy::default(), T0).unwrap()
    }

    #[test]
    fn codes_are_nine_digits_grouped_for_reading() {
        let code = OneTimeCode::generate().unwrap();
        let grouped = code.grouped();
        assert_eq!(grouped.len(), 11);
        assert!(grouped.chars().all(|c| c.is_ascii_digit() || c == ' '));
        assert_eq!(OneTimeCode::parse(&grouped), Ok(code.clone()));
        assert_eq!(
            OneTimeCode::parse(&grouped.replace(' ', "-")),
            Ok(code.clone())
        );
        assert_eq!(format!("{code:?}"), "OneTimeCode(<secret>)");
    }

    #[test]
    fn typed_codes_are_checked() {
        assert_eq!(
            OneTimeCode::parse("482 193 705").unwrap().grouped(),
            "482 193 705"
        );
        assert_eq!(OneTimeCode::parse("48219370"), Err(BadCode::WrongLength));
        assert_eq!(OneTimeCode::parse("4821937051"), Err(BadCode::WrongLength));
        assert_eq!(OneTimeCode::parse("48219370x"), Err(BadCode::NotADigit));
    }

    #[test]
    fn codes_differ_between_generations() {
        let codes: std::collections::HashSet<String> = (0..50)
            .map(|_| OneTimeCode::generate().unwrap().grouped())
            .collect();
        assert!(codes.len() >= 49, "50 random codes collided: {codes:?}");
    }

    #[test]
    fn three_failures_rotate_the_code_and_lock_with_doubling_backoff() {
        let mut guard = guard();
        let first = guard.current(T0).unwrap().clone();
        for expected in 1..=2 {
            let attempt = guard.begin_attempt(T0).unwrap();
            assert_eq!(
                guard.record_failure(attempt, T0).unwrap(),
                FailureOutcome { rotated: false }
            );
            assert_eq!(
                guard.poll_notice(),
                Some(CodeNotice::WrongCodeTried { failures: expected })
            );
        }
        let attempt = guard.begin_attempt(T0).unwrap();
        assert!(guard.record_failure(attempt, T0).unwrap().rotated);
        assert_ne!(guard.current(T0).unwrap(), &first);
        assert_eq!(
            guard.poll_notice(),
            Some(CodeNotice::WrongCodeTried { failures: 3 })
        );
        let locked_until = T0.saturating_add(Duration::from_secs(30));
        assert_eq!(
            guard.poll_notice(),
            Some(CodeNotice::RotatedAfterWrongCodes { locked_until })
        );
        let refused = guard
            .begin_attempt(T0.saturating_add(Duration::from_secs(10)))
            .unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_secs(20));

        // Second rotation: 60 s.
        let t1 = locked_until;
        for _ in 0..3 {
            let attempt = guard.begin_attempt(t1).unwrap();
            guard.record_failure(attempt, t1).unwrap();
        }
        assert_eq!(
            guard.locked_until(t1),
            Some(t1.saturating_add(Duration::from_secs(60)))
        );
    }

    #[test]
    fn parallel_attempts_cannot_exceed_the_failure_budget() {
        let mut guard = guard();
        let attempts: Vec<Attempt> = (0..3).map(|_| guard.begin_attempt(T0).unwrap()).collect();
        assert!(
            guard.begin_attempt(T0).is_err(),
            "a fourth parallel guess was allowed"
        );
        for attempt in attempts {
            guard.record_failure(attempt, T0).unwrap();
        }
        assert!(guard.locked_until(T0).is_some());
    }

    #[test]
    fn success_uses_up_the_code_and_resets_the_backoff() {
        let mut guard = guard();
        let first = guard.current(T0).unwrap().clone();
        let attempt = guard.begin_attempt(T0).unwrap();
        assert_eq!(attempt.code(), &first);
        guard.record_success(attempt, T0).unwrap();
        assert_ne!(guard.current(T0).unwrap(), &first);
        assert_eq!(guard.poll_notice(), Some(CodeNotice::Used));
    }

    #[test]
    fn an_expiring_code_does_not_clear_the_count_of_wrong_attempts() {
        let mut guard = CodeGuard::new(
            CodePolicy {
                lifetime: Duration::from_secs(60),
                ..CodePolicy::default()
            },
            T0,
        )
        .unwrap();
        // Two wrong codes, then the code expires, then one more wrong code: that is
        // three, and the third rotates the code with a back-off.
        for _ in 0..2 {
            let attempt = guard.begin_attempt(T0).unwrap();
            assert!(!guard.record_failure(attempt, T0).unwrap().rotated);
        }
        let later = T0.saturating_add(Duration::from_secs(61));
        let attempt = guard.begin_attempt(later).unwrap();
        assert!(guard.record_failure(attempt, later).unwrap().rotated);
        assert!(guard.locked_until(later).is_some());
    }

    #[test]
    fn guesses_running_across_an_expiry_still_count() {
        let mut guard = CodeGuard::new(
            CodePolicy {
                lifetime: Duration::from_secs(60),
                ..CodePolicy::default()
            },
            T0,
        )
        .unwrap();
        let just_before = T0.saturating_add(Duration::from_secs(59));
        let running: Vec<Attempt> = (0..3)
            .map(|_| guard.begin_attempt(just_before).unwrap())
            .collect();
        // The code expires while they run: no room for more guesses.
        let after = T0.saturating_add(Duration::from_secs(61));
        assert_ne!(guard.current(after).unwrap(), running[0].code());
        assert!(
            guard.begin_attempt(after).is_err(),
            "a fourth guess was allowed"
        );
        let mut rotated = false;
        for attempt in running {
            rotated |= guard.record_failure(attempt, after).unwrap().rotated;
        }
        assert!(rotated, "three wrong guesses did not rotate the code");
        assert!(guard.locked_until(after).is_some());
    }

    #[test]
    fn codes_expire() {
        let mut guard = CodeGuard::new(
            CodePolicy {
                lifetime: Duration::from_secs(60),
                ..CodePolicy::default()
            },
            T0,
        )
        .unwrap();
        let first = guard.current(T0).unwrap().clone();
        let later = T0.saturating_add(Duration::from_secs(61));
        assert_ne!(guard.current(later).unwrap(), &first);
        assert_eq!(guard.poll_notice(), Some(CodeNotice::Expired));
        assert_eq!(
            guard.expires_at(),
            later.saturating_add(Duration::from_secs(60))
        );
    }
}
