//! Organisation certificates and unattended access, both sides in memory: what a
//! valid certificate opens, and the attacks it must stop (forged, stolen, expired,
//! replayed proofs, missing or replayed second factors, a policy that forbids it).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use lifeline_protocol::audit::{AuditAction, Outcome};
use lifeline_protocol::message::{AuthRejection, EndReason, Verification};
use lifeline_protocol::session::{
    AgentEvent, AgentSession, ConsentAnswer, Credential, Phase, ViewerEvent, ViewerSession,
};
use lifeline_protocol::trust::{
    CertificateBody, TechnicianCertificate, TotpSecret, TotpVerifier, Trust, TrustedOrganisation,
    UnattendedPolicy, sign_unattended_proof,
};
use lifeline_protocol::{KeyPair, Scope, ScopeSet, Timestamp};

struct World {
    organisation: KeyPair,
    technician: KeyPair,
    agent_key: KeyPair,
    trust: Trust,
}

fn scopes(list: &[Scope]) -> ScopeSet {
    list.iter().copied().collect()
}

impl World {
    fn new(unattended: Option<UnattendedPolicy>) -> Self {
        let organisation = KeyPair::generate().unwrap();
        let trust = Trust {
            organisations: vec![TrustedOrganisation {
                name: "Example IT".to_owned(),
                key: organisation.public_key(),
            }],
            unattended,
            ..Trust::default()
        };
        Self {
            organisation,
            technician: KeyPair::generate().unwrap(),
            agent_key: KeyPair::generate().unwrap(),
            trust,
        }
    }

    fn certificate(&self, limit: ScopeSet, signer: &KeyPair) -> TechnicianCertificate {
        CertificateBody {
            organisation: "Example IT Ltd".to_owned(),
            organisation_key: self.organisation.public_key(),
            technician: "Ada Lovelace".to_owned(),
            technician_key: self.technician.public_key(),
            scopes: limit,
            issued_at: T0,
            expires_at: T0.saturating_add(Duration::from_secs(86_400)),
        }
        .sign(signer)
    }

    /// An agent and a viewer on one connection with this channel binding; the viewer
    /// presents `credential` built by `make`.
    fn pair(
        &self,
        channel_binding: &[u8],
        requested: ScopeSet,
        credential: Credential,
        certificate: Option<TechnicianCertificate>,
    ) -> Pair {
        let viewer_fingerprint = self.technician.public_key().fingerprint();
        let agent_fingerprint = self.agent_key.public_key().fingerprint();
        let mut agent = agent_config(channel_binding);
        agent.local = agent_fingerprint;
        agent.peer = viewer_fingerprint;
        agent.trust = self.trust.clone();
        let code = lifeline_protocol::OneTimeCode::parse("123 456 789").unwrap();
        let mut viewer = viewer_config(&code, requested, channel_binding);
        viewer.local = viewer_fingerprint;
        viewer.peer = agent_fingerprint;
        viewer.credential = credential;
        viewer.certificate = certificate;
        Pair::new(AgentSession::new(agent), ViewerSession::new(viewer), T0)
    }

    fn unattended(
        &self,
        certificate: TechnicianCertificate,
        signed_binding: &[u8],
        totp: Option<String>,
    ) -> Credential {
        Credential::Unattended {
            certificate: Box::new(certificate),
            proof: sign_unattended_proof(
                &self.technician,
                &self.agent_key.public_key().fingerprint(),
                signed_binding,
            ),
            totp,
        }
    }
}

fn policy(max: ScopeSet, confirm: ScopeSet, totp: Option<TotpSecret>) -> UnattendedPolicy {
    UnattendedPolicy {
        max_scopes: max,
        confirm_scopes: confirm,
        second_factor: totp.map(|secret| Arc::new(TotpVerifier::new(secret))),
    }
}

fn refusal(pair: &Pair) -> String {
    pair.viewer_events
        .iter()
        .find_map(|event| match event {
            ViewerEvent::Ended(end) => match &end.reason {
                EndReason::AuthenticationFailed(AuthRejection::UnattendedRefused { reason }) => {
                    Some(reason.clone())
                }
                other => Some(format!("ended otherwise: {other}")),
            },
            _ => None,
        })
        .expect("the session ended")
}

fn audited_refusal(pair: &Pair) -> bool {
    pair.agent_events.iter().any(|event| {
        matches!(event, AgentEvent::Audit(record)
            if record.action == AuditAction::Authentication
                && matches!(record.outcome, Outcome::Refused { .. }))
    })
}

#[test]
fn a_certified_technician_gets_an_unattended_session_within_policy_and_certificate() {
    let everything = ScopeSet::all();
    let world = World::new(Some(policy(
        scopes(&[Scope::ViewScreen, Scope::ControlInput, Scope::SystemInfo]),
        scopes(&[Scope::ControlInput]),
        None,
    )));
    let certificate = world.certificate(
        scopes(&[Scope::ViewScreen, Scope::ControlInput, Scope::RunCommands]),
        &world.organisation,
    );
    let credential = world.unattended(certificate, b"binding-1", None);
    let mut pair = world.pair(b"binding-1", everything, credential, None);
    let mut guard = new_guard();
    let code_before = current_code(&mut guard, T0);
    pair.run(&mut guard);

    // View is granted by the policy; input needs a present user; commands are beyond
    // the policy and system information beyond the certificate.
    assert_eq!(pair.agent.phase(), Phase::Active);
    assert_eq!(pair.agent.granted(), scopes(&[Scope::ViewScreen]));
    assert_eq!(pair.viewer.granted(), scopes(&[Scope::ViewScreen]));
    assert!(pair.agent_events.iter().any(|event| matches!(event,
        AgentEvent::ScopeRequestNeeded { scopes: asked, .. } if *asked == scopes(&[Scope::ControlInput]))));
    assert!(pair.agent_events.iter().any(|event| matches!(event,
    AgentEvent::Audit(record) if record.action == AuditAction::TechnicianVerified {
        organisation: "Example IT".to_owned(),
        technician: "Ada Lovelace".to_owned(),
        unattended: true,
    })));
    // A present user allows input; the viewer learns it.
    pair.agent
        .answer_scope_request(ConsentAnswer::Allow(ScopeSet::all()), pair.now)
        .unwrap();
    pair.run(&mut guard);
    assert_eq!(
        pair.viewer.granted(),
        scopes(&[Scope::ViewScreen, Scope::ControlInput])
    );
    // The attended code was neither used nor rotated.
    assert_eq!(current_code(&mut guard, T0), code_before);
}

#[test]
fn when_every_scope_needs_a_click_the_present_user_is_asked_and_told_it_is_unattended() {
    let world = World::new(Some(policy(
        ScopeSet::all(),
        scopes(&[Scope::ViewScreen, Scope::ControlInput]),
        None,
    )));
    let certificate = world.certificate(ScopeSet::all(), &world.organisation);
    let credential = world.unattended(certificate, b"b", None);
    let mut pair = world.pair(b"b", scopes(&[Scope::ViewScreen]), credential, None);
    let mut guard = new_guard();
    pair.run(&mut guard);
    let prompt = pair
        .agent_events
        .iter()
        .find_map(|event| match event {
            AgentEvent::ConsentNeeded(prompt) => Some(prompt.clone()),
            _ => None,
        })
        .expect("a prompt for the present user");
    assert!(prompt.unattended);
    assert_eq!(prompt.scopes, scopes(&[Scope::ViewScreen]));
    assert_eq!(prompt.technician.display_name, "Ada Lovelace");
    assert_eq!(
        prompt.technician.verification,
        Verification::Organisation {
            organisation: "Example IT".to_owned()
        }
    );
}

#[test]
fn a_policy_without_unattended_access_refuses_even_a_valid_certificate() {
    let world = World::new(None);
    let certificate = world.certificate(ScopeSet::all(), &world.organisation);
    let credential = world.unattended(certificate, b"b", None);
    let mut pair = world.pair(b"b", ScopeSet::all(), credential, None);
    pair.run(&mut new_guard());
    assert_eq!(pair.agent.phase(), Phase::Closed);
    assert!(refusal(&pair).contains("does not allow unattended access"));
    assert!(audited_refusal(&pair));
}

#[test]
fn forged_stolen_and_expired_certificates_are_refused() {
    let world = World::new(Some(policy(ScopeSet::all(), ScopeSet::empty(), None)));
    let forger = KeyPair::generate().unwrap();

    let forged = world.certificate(ScopeSet::all(), &forger);
    let mut pair = world.pair(
        b"b",
        ScopeSet::all(),
        world.unattended(forged, b"b", None),
        None,
    );
    pair.run(&mut new_guard());
    assert!(
        refusal(&pair).contains("signature is invalid"),
        "{}",
        refusal(&pair)
    );

    // A real certificate copied by someone with another key: the proof is theirs, the
    // certificate names the technician's key.
    let stolen = world.certificate(ScopeSet::all(), &world.organisation);
    let thief = World {
        technician: KeyPair::generate().unwrap(),
        organisation: KeyPair::from_pkcs8(world.organisation.to_pkcs8()).unwrap(),
        agent_key: KeyPair::from_pkcs8(world.agent_key.to_pkcs8()).unwrap(),
        trust: world.trust.clone(),
    };
    let mut pair = thief.pair(
        b"b",
        ScopeSet::all(),
        thief.unattended(stolen, b"b", None),
        None,
    );
    pair.run(&mut new_guard());
    assert!(
        refusal(&pair).contains("another technician key"),
        "{}",
        refusal(&pair)
    );

    let expired = world.certificate(ScopeSet::all(), &world.organisation);
    let mut pair = world.pair(
        b"b",
        ScopeSet::all(),
        world.unattended(expired, b"b", None),
        None,
    );
    pair.now = T0.saturating_add(Duration::from_secs(86_401));
    pair.run(&mut new_guard());
    assert!(refusal(&pair).contains("expired"), "{}", refusal(&pair));
}

#[test]
fn a_proof_recorded_on_one_connection_is_refused_on_another() {
    let world = World::new(Some(policy(ScopeSet::all(), ScopeSet::empty(), None)));
    let certificate = world.certificate(ScopeSet::all(), &world.organisation);
    // Signed over connection A's channel binding, replayed on connection B.
    let replayed = world.unattended(certificate, b"connection A", None);
    let mut pair = world.pair(b"connection B", ScopeSet::all(), replayed, None);
    pair.run(&mut new_guard());
    assert_eq!(pair.agent.phase(), Phase::Closed);
    assert!(
        refusal(&pair).contains("replayed or forged"),
        "{}",
        refusal(&pair)
    );
    assert!(audited_refusal(&pair));
}

#[test]
fn the_second_factor_is_required_checked_and_single_use() {
    let secret = TotpSecret::generate().unwrap();
    let world = World::new(Some(policy(
        ScopeSet::all(),
        ScopeSet::empty(),
        Some(secret.clone()),
    )));
    let connect = |binding: &[u8], totp: Option<String>, now: Timestamp| {
        let certificate = world.certificate(ScopeSet::all(), &world.organisation);
        let credential = world.unattended(certificate, binding, totp);
        let mut pair = world.pair(binding, scopes(&[Scope::ViewScreen]), credential, None);
        pair.now = now;
        pair.run(&mut new_guard());
        pair
    };
    let now = T0.saturating_add(Duration::from_secs(60));
    let missing = connect(b"1", None, now);
    assert!(refusal(&missing).contains("requires a second-factor code"));

    let right = secret.code_at(now);
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    let wrong = connect(b"2", Some(wrong.to_owned()), now);
    assert!(refusal(&wrong).contains("second-factor code is wrong"));

    let good = connect(b"3", Some(right.clone()), now);
    assert_eq!(good.agent.phase(), Phase::Active);

    // Someone who saw that code cannot use it again, even on a fresh connection.
    let replay = connect(b"4", Some(right), now);
    assert!(refusal(&replay).contains("second-factor code is wrong"));
}

#[test]
fn attended_prompts_show_a_verified_organisation_only_for_a_trusted_valid_certificate() {
    let world = World::new(None);
    let prompt_for = |certificate: Option<TechnicianCertificate>, trust: Trust| {
        let mut guard = new_guard();
        let code = current_code(&mut guard, T0);
        let mut pair = world.pair(
            b"b",
            scopes(&[Scope::ViewScreen]),
            Credential::Code(code),
            certificate,
        );
        let mut config = agent_config(b"b");
        config.local = world.agent_key.public_key().fingerprint();
        config.peer = world.technician.public_key().fingerprint();
        config.trust = trust;
        pair.agent = AgentSession::new(config);
        pair.run(&mut guard);
        pair.agent_events
            .iter()
            .find_map(|event| match event {
                AgentEvent::ConsentNeeded(prompt) => Some(prompt.clone()),
                _ => None,
            })
            .expect("a consent prompt")
    };
    let valid = world.certificate(scopes(&[Scope::ViewScreen]), &world.organisation);
    let prompt = prompt_for(Some(valid.clone()), world.trust.clone());
    assert!(!prompt.unattended);
    assert_eq!(prompt.technician.display_name, "Ada Lovelace");
    assert_eq!(
        prompt.technician.verification,
        Verification::Organisation {
            organisation: "Example IT".to_owned()
        }
    );
    // The same certificate on an agent that does not trust the organisation, a forged
    // one, and none at all: the typed name, plainly unverified.
    for (certificate, trust) in [
        (Some(valid), Trust::default()),
        (
            Some(world.certificate(ScopeSet::all(), &KeyPair::generate().unwrap())),
            world.trust.clone(),
        ),
        (None, world.trust.clone()),
    ] {
        let prompt = prompt_for(certificate, trust);
        assert_eq!(prompt.technician.verification, Verification::Unverified);
        assert_eq!(prompt.technician.display_name, "Sam from IT");
    }
}

#[test]
fn a_service_that_refuses_codes_says_so_and_leaves_the_code_guard_alone() {
    let mut world = World::new(Some(policy(ScopeSet::all(), ScopeSet::empty(), None)));
    world.trust.refuse_codes = true;
    let mut guard = new_guard();
    let code = current_code(&mut guard, T0);
    let mut pair = world.pair(b"b", ScopeSet::all(), Credential::Code(code.clone()), None);
    pair.run(&mut guard);
    assert_eq!(pair.agent.phase(), Phase::Closed);
    assert!(pair.viewer_events.iter().any(|event| matches!(event,
        ViewerEvent::Ended(end) if end.reason
            == EndReason::AuthenticationFailed(AuthRejection::CodesNotAccepted))));
    assert_eq!(current_code(&mut guard, T0), code);
    // Unattended access still works on the same agent.
    let certificate = world.certificate(ScopeSet::all(), &world.organisation);
    let credential = world.unattended(certificate, b"c", None);
    let mut pair = world.pair(b"c", ScopeSet::all(), credential, None);
    pair.run(&mut guard);
    assert_eq!(pair.agent.phase(), Phase::Active);
    assert!(
        pair.agent_events.iter().any(|event| matches!(event,
        AgentEvent::UnattendedSession { technician } if technician.display_name == "Ada Lovelace"))
    );
}
