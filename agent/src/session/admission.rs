//! Who may start a connection: limits on peers that have not proven the code yet.
//!
//! Before authentication a peer costs the agent a QUIC connection, a task and a place
//! in the code guard's count, and it gives nothing back. Without limits, a slow or
//! silent peer (slowloris: many handshakes left half-open, connections that never send
//! `Hello`) or a fast one (a flood of handshakes) wears the agent down. So:
//!
//! - at most [`MAX_UNAUTHENTICATED_PER_ADDRESS`] unauthenticated connections from one
//!   IP address, and [`MAX_UNAUTHENTICATED`] in all;
//! - at most [`CONNECTIONS_BURST`] new connections from one address at once, refilled at
//!   [`CONNECTIONS_PER_MINUTE`] a minute;
//! - past [`RETRY_ABOVE`] unauthenticated connections, a peer whose address QUIC has not
//!   validated gets a stateless Retry first, so forged source addresses cost nothing;
//! - a peer that has not proven the code [`AUTHENTICATION_DEADLINE`] after it connected
//!   is dropped (the connection does that; the deadline lives here with the other
//!   limits).
//!
//! A refused connection is logged and audited once per address per
//! [`REFUSAL_AUDIT_INTERVAL`], so that a flood cannot flood the audit log either.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Unauthenticated connections allowed from one IP address at a time.
pub const MAX_UNAUTHENTICATED_PER_ADDRESS: u32 = 8;
/// Unauthenticated connections allowed in all.
pub const MAX_UNAUTHENTICATED: u32 = 64;
/// Above this many unauthenticated connections, unvalidated addresses must do a Retry.
pub const RETRY_ABOVE: u32 = 16;
/// New connections one address may open at once.
pub const CONNECTIONS_BURST: u32 = 30;
/// New connections one address may open per minute, after its burst.
pub const CONNECTIONS_PER_MINUTE: u32 = 60;
/// From the first packet to the proof of the code (TLS, control stream, hello, SPAKE2
/// and key confirmation take well under a second when nobody stalls).
pub const AUTHENTICATION_DEADLINE: Duration = Duration::from_secs(20);
/// How often refusals of one address reach the audit log.
pub const REFUSAL_AUDIT_INTERVAL: Duration = Duration::from_secs(60);
/// Addresses remembered at most; quiet ones are forgotten first.
const MAX_ADDRESSES: usize = 4096;

/// What to do with a new connection.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Go on; the ticket holds the connection's place until it authenticates or ends.
    Admit(Ticket),
    /// Ask the peer to prove its address first (QUIC Retry).
    Retry,
    /// Refuse.
    Refuse {
        /// Why, for the log and the audit record.
        reason: String,
        /// Whether this refusal should be audited (the first in a while from this
        /// address).
        audit: bool,
    },
}

/// The limits' state, shared by the accept loop and every connection.
#[derive(Debug, Default)]
pub(crate) struct Admission {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    unauthenticated: u32,
    addresses: HashMap<IpAddr, Address>,
}

#[derive(Debug)]
struct Address {
    unauthenticated: u32,
    /// Connections it may still open now (a token bucket).
    tokens: f64,
    refilled_at: Instant,
    refusal_audited_at: Option<Instant>,
}

impl Address {
    fn new(now: Instant) -> Self {
        Self {
            unauthenticated: 0,
            tokens: f64::from(CONNECTIONS_BURST),
            refilled_at: now,
            refusal_audited_at: None,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        let refill = elapsed * f64::from(CONNECTIONS_PER_MINUTE) / 60.0;
        self.tokens = (self.tokens + refill).min(f64::from(CONNECTIONS_BURST));
        self.refilled_at = now;
    }

    fn is_quiet(&self) -> bool {
        self.unauthenticated == 0 && self.tokens >= f64::from(CONNECTIONS_BURST)
    }

    /// Whether a refusal now should be audited, and notes that it was.
    fn audit_refusal(&mut self, now: Instant) -> bool {
        let due = self
            .refusal_audited_at
            .is_none_or(|at| now.saturating_duration_since(at) >= REFUSAL_AUDIT_INTERVAL);
        if due {
            self.refusal_audited_at = Some(now);
        }
        due
    }
}

impl Admission {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Decides about a new connection from `address`; `validated` says whether QUIC has
    /// already validated the address (after a Retry).
    pub(crate) fn decide(
        self: &Arc<Self>,
        address: IpAddr,
        validated: bool,
        now: Instant,
    ) -> Decision {
        let mut state = self.lock();
        if state.unauthenticated >= RETRY_ABOVE && !validated {
            return Decision::Retry;
        }
        if state.addresses.len() >= MAX_ADDRESSES {
            state.addresses.retain(|_, entry| {
                entry.refill(now);
                !entry.is_quiet()
            });
        }
        let total = state.unauthenticated;
        if state.addresses.len() >= MAX_ADDRESSES && !state.addresses.contains_key(&address) {
            return Decision::Refuse {
                reason: format!(
                    "connections from more than {MAX_ADDRESSES} addresses are waiting to authenticate"
                ),
                audit: false,
            };
        }
        let entry = state
            .addresses
            .entry(address)
            .or_insert_with(|| Address::new(now));
        entry.refill(now);
        let refusal = if total >= MAX_UNAUTHENTICATED {
            Some(format!(
                "{MAX_UNAUTHENTICATED} connections are already waiting to authenticate"
            ))
        } else if entry.unauthenticated >= MAX_UNAUTHENTICATED_PER_ADDRESS {
            Some(format!(
                "{MAX_UNAUTHENTICATED_PER_ADDRESS} connections from {address} are already waiting to authenticate"
            ))
        } else if entry.tokens < 1.0 {
            Some(format!(
                "{address} opened more than {CONNECTIONS_BURST} connections in a short time \
                 ({CONNECTIONS_PER_MINUTE} a minute allowed)"
            ))
        } else {
            None
        };
        if let Some(reason) = refusal {
            let audit = entry.audit_refusal(now);
            return Decision::Refuse { reason, audit };
        }
        entry.tokens -= 1.0;
        entry.unauthenticated += 1;
        state.unauthenticated += 1;
        Decision::Admit(Ticket {
            admission: Arc::clone(self),
            address,
            held: true,
        })
    }

    fn release(&self, address: IpAddr) {
        let mut state = self.lock();
        state.unauthenticated = state.unauthenticated.saturating_sub(1);
        if let Some(entry) = state.addresses.get_mut(&address) {
            entry.unauthenticated = entry.unauthenticated.saturating_sub(1);
        }
    }

    /// Unauthenticated connections now (for tests).
    #[cfg(test)]
    fn unauthenticated(&self) -> u32 {
        self.lock().unauthenticated
    }
}

/// A connection's place among the unauthenticated ones; given back when it
/// authenticates ([`Ticket::authenticated`]) or ends (drop).
#[derive(Debug)]
pub(crate) struct Ticket {
    admission: Arc<Admission>,
    address: IpAddr,
    held: bool,
}

impl Ticket {
    /// The peer proved the code: it no longer counts as unauthenticated.
    pub(crate) fn authenticated(&mut self) {
        if std::mem::take(&mut self.held) {
            self.admission.release(self.address);
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.authenticated();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    fn admit(admission: &Arc<Admission>, address: IpAddr, now: Instant) -> Ticket {
        match admission.decide(address, true, now) {
            Decision::Admit(ticket) => ticket,
            other => panic!("expected admission, got {other:?}"),
        }
    }

    #[test]
    fn one_address_holds_a_few_places_and_others_still_get_in() {
        let admission = Arc::new(Admission::default());
        let now = Instant::now();
        let held: Vec<Ticket> = (0..MAX_UNAUTHENTICATED_PER_ADDRESS)
            .map(|_| admit(&admission, A, now))
            .collect();
        let Decision::Refuse { reason, audit } = admission.decide(A, true, now) else {
            panic!("a ninth connection from one address was admitted");
        };
        assert!(reason.contains("already waiting"), "{reason}");
        assert!(audit, "the first refusal is audited");
        assert!(
            matches!(
                admission.decide(A, true, now),
                Decision::Refuse { audit: false, .. }
            ),
            "the second refusal within a minute is not audited again"
        );
        let _other = admit(&admission, B, now);
        drop(held);
        assert_eq!(admission.unauthenticated(), 1);
        let _again = admit(&admission, A, now);
    }

    #[test]
    fn authenticated_connections_give_their_place_back_once() {
        let admission = Arc::new(Admission::default());
        let now = Instant::now();
        let mut ticket = admit(&admission, A, now);
        ticket.authenticated();
        ticket.authenticated();
        drop(ticket);
        assert_eq!(admission.unauthenticated(), 0);
    }

    #[test]
    fn a_burst_of_connections_is_cut_and_refills_over_time() {
        let admission = Arc::new(Admission::default());
        let now = Instant::now();
        for _ in 0..CONNECTIONS_BURST {
            drop(admit(&admission, A, now));
        }
        let Decision::Refuse { reason, .. } = admission.decide(A, true, now) else {
            panic!("the burst was not cut");
        };
        assert!(reason.contains("in a short time"), "{reason}");
        let later = now + Duration::from_secs(1);
        drop(admit(&admission, A, later));
        assert!(matches!(
            admission.decide(A, true, later),
            Decision::Refuse { .. }
        ));
    }

    #[test]
    fn under_load_unvalidated_addresses_must_retry() {
        let admission = Arc::new(Admission::default());
        let now = Instant::now();
        let mut held = Vec::new();
        for i in 0..RETRY_ABOVE {
            let address = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, i as u8));
            held.push(admit(&admission, address, now));
        }
        assert!(matches!(admission.decide(B, false, now), Decision::Retry));
        assert!(matches!(admission.decide(B, true, now), Decision::Admit(_)));
    }

    #[test]
    fn the_total_is_capped() {
        let admission = Arc::new(Admission::default());
        let now = Instant::now();
        let held: Vec<Ticket> = (0..MAX_UNAUTHENTICATED)
            .map(|i| {
                let address = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 1, i as u8));
                admit(&admission, address, now)
            })
            .collect();
        assert!(matches!(
            admission.decide(B, true, now),
            Decision::Refuse { .. }
        ));
        drop(held);
        assert!(matches!(admission.decide(B, true, now), Decision::Admit(_)));
    }
}
