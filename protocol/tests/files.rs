//! Moving files both ways, confirmed one by one when the policy says so: both sides in
//! memory, with the file streams' headers, the audit trail and the attacks (no
//! permission, unknown ids, traversal names, floods, wrong sizes and hashes, a
//! permission withdrawn while bytes move), and transfers the technician withdraws
//! while the end user is asked, with the answers and streams that cross them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use common::*;
use lifeline_protocol::action::{CommandRequest, MAX_ACTIONS_IN_FLIGHT};
use lifeline_protocol::audit::{AuditAction, Outcome};
use lifeline_protocol::message::{Capabilities, ControlMessage};
use lifeline_protocol::session::{
    AgentConfig, AgentEvent, AgentSession, ConsentAnswer, SendError, ViewerEvent, ViewerSession,
};
use lifeline_protocol::transfer::{
    FileAccepted, FileCheck, FileFetch, FileJob, FileOffer, FileReceived, MAX_FILE_SIZE, Sha256,
    decode_stream_header, encode_stream_header, safe_file_name, sha256_of, stream_header_len,
};
use lifeline_protocol::{CodeGuard, LocalMisuse, PeerMisbehaved, Scope, ScopeSet};

const CONTENT: &[u8] = b"%PDF-1.7 quarterly report";

fn files() -> ScopeSet {
    ScopeSet::from([Scope::ViewScreen, Scope::FileTransfer, Scope::RunCommands])
}

fn content_hash() -> Sha256 {
    sha256_of(CONTENT).unwrap().1
}

/// An active session granting `granted`, on an agent that confirms `confirm` actions.
fn active(granted: ScopeSet, confirm: ScopeSet) -> (Pair, CodeGuard) {
    active_on(agent_config(b"exporter"), granted, confirm)
}

/// [`active`], on an agent with `config` (its `confirm_actions` set to `confirm`).
fn active_on(mut config: AgentConfig, granted: ScopeSet, confirm: ScopeSet) -> (Pair, CodeGuard) {
    let mut guard = new_guard();
    let code = current_code(&mut guard, T0);
    config.trust.confirm_actions = confirm;
    let mut pair = Pair::new(
        AgentSession::new(config),
        ViewerSession::new(viewer_config(&code, files(), b"exporter")),
        T0,
    );
    pair.run(&mut guard);
    pair.agent
        .answer_consent(ConsentAnswer::Allow(granted), pair.now)
        .unwrap();
    pair.run(&mut guard);
    pair.take_agent_events();
    pair.take_viewer_events();
    (pair, guard)
}

fn audit_records(events: &[AgentEvent]) -> Vec<(AuditAction, Outcome)> {
    events
        .iter()
        .filter_map(|event| match event {
            AgentEvent::Audit(record) => Some((record.action.clone(), record.outcome.clone())),
            _ => None,
        })
        .collect()
}

/// A file stream's header as the receiving side reads it off the stream.
fn read_header(bytes: &[u8]) -> FileOffer {
    let prefix: [u8; 8] = bytes[..8].try_into().unwrap();
    let len = stream_header_len(&prefix).unwrap();
    assert_eq!(bytes.len(), 8 + len);
    decode_stream_header(&bytes[8..]).unwrap()
}

/// Neither side saw a violation, and the session is still active.
fn assert_session_goes_on(pair: &Pair) {
    assert!(pair.agent_errors.is_empty(), "{:?}", pair.agent_errors);
    assert!(pair.viewer_errors.is_empty(), "{:?}", pair.viewer_errors);
    assert_eq!(
        pair.agent.phase(),
        lifeline_protocol::session::Phase::Active
    );
}

/// The offer of the report, as its stream header announces it.
fn report_offer(id: u32) -> FileOffer {
    FileOffer {
        id,
        name: "report.pdf".to_owned(),
        size: CONTENT.len() as u64,
        sha256: content_hash(),
    }
}

/// Offers the report and lets the agent check it with `description`; returns its id.
fn offer_checked(pair: &mut Pair, guard: &mut CodeGuard, description: &str) -> u32 {
    let id = pair
        .viewer
        .send_file(
            "report.pdf".to_owned(),
            CONTENT.len() as u64,
            content_hash(),
        )
        .unwrap();
    pair.run(guard);
    let events = pair.take_agent_events();
    assert!(events.iter().any(|e| matches!(e,
        AgentEvent::CheckFile(FileJob::Receive(offer)) if offer.id == id)));
    pair.agent
        .file_checked(id, Ok(description.to_owned()), pair.now)
        .unwrap();
    pair.run(guard);
    id
}

const INTO_DOWNLOADS: &str = "receive the file report.pdf (25 bytes) into /home/ann/Downloads";

#[test]
fn an_approved_file_arrives_checked_and_the_technician_learns_its_name() {
    let (mut pair, mut guard) = active(files(), Scope::FileTransfer.into());
    let id = pair
        .viewer
        .send_file(
            "report.pdf".to_owned(),
            CONTENT.len() as u64,
            content_hash(),
        )
        .unwrap();
    pair.run(&mut guard);
    let events = pair.take_agent_events();
    let offer = report_offer(id);
    assert!(events.contains(&AgentEvent::CheckFile(FileJob::Receive(offer.clone()))));
    // The request is audited with name, size and hash, never the contents.
    assert!(
        audit_records(&events)
            .iter()
            .any(|(action, _)| matches!(action,
        AuditAction::ActionRequested { message, summary, needs_confirmation: true }
            if message == "file-offer"
                && summary.contains("\"report.pdf\"")
                && summary.contains("25 bytes")
                && summary.contains(&content_hash().to_string())))
    );

    // The agent says where it would go; the end user reads exactly that.
    pair.agent
        .file_checked(id, Ok(INTO_DOWNLOADS.to_owned()), pair.now)
        .unwrap();
    pair.run(&mut guard);
    assert!(
        pair.take_viewer_events()
            .contains(&ViewerEvent::ActionPending { id })
    );
    let events = pair.take_agent_events();
    assert!(events.contains(&AgentEvent::ActionConfirmationNeeded {
        id,
        scope: Scope::FileTransfer,
        description: INTO_DOWNLOADS.to_owned(),
    }));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, AgentEvent::ReceiveFile(_)))
    );

    pair.agent.answer_action(id, true, pair.now).unwrap();
    pair.run(&mut guard);
    assert!(
        pair.take_agent_events()
            .contains(&AgentEvent::ReceiveFile(offer.clone()))
    );
    let viewer_events = pair.take_viewer_events();
    assert!(viewer_events.contains(&ViewerEvent::FileAccepted(offer.clone())));

    // The viewer's file stream: header, then the bytes, checked as they arrive.
    let header = read_header(&encode_stream_header(&offer).unwrap());
    pair.agent
        .file_stream_opened(&header, &mut guard, pair.now)
        .unwrap();
    let mut check = FileCheck::new(header.size, header.sha256);
    check.update(CONTENT).unwrap();
    check.finish().unwrap();
    pair.agent
        .file_finished(id, Ok("report (1).pdf".to_owned()), pair.now)
        .unwrap();
    pair.run(&mut guard);
    assert!(
        pair.take_viewer_events()
            .contains(&ViewerEvent::FileReceived {
                id,
                saved_as: "report (1).pdf".to_owned()
            })
    );
    assert!(
        audit_records(&pair.take_agent_events())
            .iter()
            .any(|(action, outcome)| {
                matches!(action, AuditAction::Action { message, summary }
            if message == "file-offer" && summary.starts_with("saved as \"report (1).pdf\""))
                    && *outcome == Outcome::Succeeded
            })
    );

    // A second stream for the same transfer is an attack: the session ends.
    assert!(
        pair.agent
            .file_stream_opened(&header, &mut guard, pair.now)
            .is_err()
    );
    assert_eq!(
        pair.agent.phase(),
        lifeline_protocol::session::Phase::Closed
    );
}

#[test]
fn a_refused_file_never_moves_and_the_technician_is_told() {
    let (mut pair, mut guard) = active(files(), Scope::FileTransfer.into());
    let id = offer_checked(&mut pair, &mut guard, INTO_DOWNLOADS);
    pair.take_viewer_events();
    pair.take_agent_events();
    pair.agent.answer_action(id, false, pair.now).unwrap();
    pair.run(&mut guard);
    let events = pair.take_agent_events();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, AgentEvent::ReceiveFile(_)))
    );
    assert!(
        audit_records(&events)
            .iter()
            .any(|(action, _)| matches!(action,
        AuditAction::ActionAnswered { message, summary, approved: false }
            if message == "file-offer" && summary == INTO_DOWNLOADS))
    );
    assert!(pair.take_viewer_events().iter().any(|event| matches!(event,
        ViewerEvent::ActionRefused { id: refused, reason }
            if *refused == id && reason.contains("refused to receive"))));
    // The bytes cannot come anyway.
    let offer = report_offer(id);
    assert!(
        pair.agent
            .file_stream_opened(&offer, &mut guard, pair.now)
            .is_err()
    );
}

#[test]
fn without_a_confirmation_policy_an_offer_is_accepted_once_checked() {
    let (mut pair, mut guard) = active(files(), ScopeSet::empty());
    let id = offer_checked(&mut pair, &mut guard, INTO_DOWNLOADS);
    let viewer_events = pair.take_viewer_events();
    assert!(!viewer_events.contains(&ViewerEvent::ActionPending { id }));
    assert!(
        viewer_events
            .iter()
            .any(|e| matches!(e, ViewerEvent::FileAccepted(offer) if offer.id == id))
    );
}

#[test]
fn a_fetched_file_is_asked_for_then_streamed_and_its_receipt_audited() {
    let (mut pair, mut guard) = active(files(), Scope::FileTransfer.into());
    let path = "/home/ann/Documents/report.pdf";
    let id = pair.viewer.fetch_file(path.to_owned()).unwrap();
    pair.run(&mut guard);
    let events = pair.take_agent_events();
    assert!(
        events.contains(&AgentEvent::CheckFile(FileJob::Send(FileFetch {
            id,
            path: path.to_owned()
        })))
    );
    let description = format!("send the file {path} (25 bytes) to the technician");
    pair.agent
        .file_checked(id, Ok(description.clone()), pair.now)
        .unwrap();
    pair.run(&mut guard);
    assert!(
        pair.take_agent_events()
            .contains(&AgentEvent::ActionConfirmationNeeded {
                id,
                scope: Scope::FileTransfer,
                description,
            })
    );
    assert!(
        pair.take_viewer_events()
            .contains(&ViewerEvent::ActionPending { id })
    );
    pair.agent.answer_action(id, true, pair.now).unwrap();
    pair.run(&mut guard);
    assert!(
        pair.take_agent_events()
            .contains(&AgentEvent::SendFile(FileFetch {
                id,
                path: path.to_owned()
            }))
    );
    let header_bytes = pair
        .agent
        .file_ready(
            FileOffer {
                id,
                name: "report.pdf".to_owned(),
                size: CONTENT.len() as u64,
                sha256: content_hash(),
            },
            pair.now,
        )
        .unwrap();
    let header = read_header(&header_bytes);
    assert!(pair.viewer.file_stream_opened(&header).unwrap());
    // The agent wrote the last byte; the viewer checked and saved it.
    pair.agent
        .file_finished(id, Ok(String::new()), pair.now)
        .unwrap();
    pair.viewer
        .file_finished(id, Ok("report.pdf".to_owned()))
        .unwrap();
    pair.run(&mut guard);
    assert!(pair.agent_errors.is_empty() && pair.viewer_errors.is_empty());
    assert!(
        audit_records(&pair.take_agent_events())
            .iter()
            .any(|(action, outcome)| {
                matches!(action, AuditAction::Action { message, summary }
            if message == "file-fetch"
                && summary.contains(path)
                && summary.contains(&content_hash().to_string())
                && summary.ends_with("the technician saved it as \"report.pdf\""))
                    && *outcome == Outcome::Succeeded
            })
    );
}

#[test]
fn files_without_the_permission_are_refused_on_both_sides() {
    let (mut pair, mut guard) = active(Scope::ViewScreen.into(), ScopeSet::empty());
    assert!(matches!(
        pair.viewer.send_file("a.txt".to_owned(), 1, content_hash()),
        Err(SendError::Denied(_))
    ));
    assert!(matches!(
        pair.viewer.fetch_file("/etc/shadow".to_owned()),
        Err(SendError::Denied(_))
    ));
    // A viewer that skips its own check: refused by the agent, audited, answered, and
    // the session goes on.
    for message in [
        ControlMessage::FileOffer(FileOffer {
            id: 9,
            name: "a.txt".to_owned(),
            size: 1,
            sha256: content_hash(),
        }),
        ControlMessage::FileFetch(FileFetch {
            id: 10,
            path: "/etc/shadow".to_owned(),
        }),
    ] {
        pair.agent
            .handle_control(message, &mut guard, pair.now)
            .unwrap();
    }
    let events: Vec<AgentEvent> = std::iter::from_fn(|| pair.agent.poll_event()).collect();
    assert!(!events.iter().any(|e| matches!(e, AgentEvent::CheckFile(_))));
    let audited = audit_records(&events);
    for kind in ["file-offer", "file-fetch"] {
        assert!(audited.iter().any(|(action, _)| matches!(action,
            AuditAction::Refused { message } if message == kind)));
    }
    let sent: Vec<ControlMessage> = std::iter::from_fn(|| pair.agent.poll_transmit()).collect();
    assert!(sent.iter().any(|m| matches!(m,
        ControlMessage::ActionRefused(refusal) if refusal.id == 9)));
    assert_eq!(
        pair.agent.phase(),
        lifeline_protocol::session::Phase::Active
    );
}

#[test]
fn answers_about_transfers_nobody_asked_for_end_the_session() {
    let (mut pair, mut guard) = active(files(), Scope::FileTransfer.into());
    assert!(matches!(
        pair.viewer
            .handle_control(ControlMessage::FileAccepted(FileAccepted { id: 77 })),
        Err(PeerMisbehaved::OutOfPhase { .. })
    ));

    let (mut pair2, _) = active(files(), Scope::FileTransfer.into());
    assert!(matches!(
        pair2.agent.handle_control(
            ControlMessage::FileReceived(FileReceived {
                id: 99,
                saved_as: "x".to_owned()
            }),
            &mut guard,
            pair2.now
        ),
        Err(PeerMisbehaved::OutOfPhase { .. })
    ));
    // Only the agent accepts offers.
    let (mut pair3, _) = active(files(), Scope::FileTransfer.into());
    assert!(matches!(
        pair3.agent.handle_control(
            ControlMessage::FileAccepted(FileAccepted { id: 1 }),
            &mut guard,
            pair3.now
        ),
        Err(PeerMisbehaved::WrongDirection { .. })
    ));
    // A file stream nobody asked for.
    let (mut pair4, _) = active(files(), Scope::FileTransfer.into());
    let stray = FileOffer {
        id: 5,
        name: "x".to_owned(),
        size: 1,
        sha256: content_hash(),
    };
    assert!(pair4.viewer.file_stream_opened(&stray).is_err());
    assert_eq!(
        pair4.viewer.phase(),
        lifeline_protocol::session::Phase::Closed
    );
}

#[test]
fn a_traversal_name_is_audited_as_offered_and_a_fetched_name_is_sent_safe() {
    let (mut pair, mut guard) = active(files(), Scope::FileTransfer.into());
    let id = pair
        .viewer
        .send_file("../../.bashrc".to_owned(), 3, content_hash())
        .unwrap();
    pair.run(&mut guard);
    let events = pair.take_agent_events();
    // The agent's file system code gets the name as offered and makes it safe.
    assert!(events.iter().any(|e| matches!(e,
        AgentEvent::CheckFile(FileJob::Receive(offer))
            if offer.id == id && offer.name == "../../.bashrc")));
    assert_eq!(safe_file_name("../../.bashrc"), "_._.bashrc");
    assert!(
        audit_records(&events)
            .iter()
            .any(|(action, _)| matches!(action,
        AuditAction::ActionRequested { summary, .. } if summary.contains("\"../../.bashrc\"")))
    );

    // The other way, the header names the file safely whatever the agent's file is called.
    let fetch = pair.viewer.fetch_file("/tmp/x".to_owned()).unwrap();
    pair.run(&mut guard);
    pair.agent
        .file_checked(fetch, Ok("send /tmp/x".to_owned()), pair.now)
        .unwrap();
    pair.agent.answer_action(fetch, true, pair.now).unwrap();
    pair.run(&mut guard);
    let header = pair
        .agent
        .file_ready(
            FileOffer {
                id: fetch,
                name: "..\u{202E}gpj.exe".to_owned(),
                size: 3,
                sha256: content_hash(),
            },
            pair.now,
        )
        .unwrap();
    assert_eq!(read_header(&header).name, "_gpj.exe");
}

#[test]
fn a_flood_of_offers_is_capped_and_ids_are_never_shared_with_commands() {
    let (mut pair, mut guard) = active(files(), Scope::FileTransfer.into());
    for n in 0..MAX_ACTIONS_IN_FLIGHT + 2 {
        pair.agent
            .handle_control(
                ControlMessage::FileOffer(FileOffer {
                    id: u32::try_from(n).unwrap() + 100,
                    name: "big.iso".to_owned(),
                    size: 1,
                    sha256: content_hash(),
                }),
                &mut guard,
                pair.now,
            )
            .unwrap();
    }
    let events: Vec<AgentEvent> = std::iter::from_fn(|| pair.agent.poll_event()).collect();
    let asked = events
        .iter()
        .filter(|e| matches!(e, AgentEvent::CheckFile(_)))
        .count();
    assert_eq!(asked, MAX_ACTIONS_IN_FLIGHT);
    let refused = std::iter::from_fn(|| pair.agent.poll_transmit())
        .filter(|m| matches!(m, ControlMessage::ActionRefused(r) if r.reason.contains("at most")))
        .count();
    assert_eq!(refused, 2);

    // A command may not take the number of a file transfer in progress: the end user's
    // answer names one action only.
    pair.agent
        .handle_control(
            ControlMessage::RunCommand(CommandRequest {
                id: 100,
                command_line: "id".to_owned(),
            }),
            &mut guard,
            pair.now,
        )
        .unwrap();
    assert!(
        !std::iter::from_fn(|| pair.agent.poll_event())
            .any(|e| matches!(e, AgentEvent::ActionConfirmationNeeded { .. }))
    );
    assert!(
        std::iter::from_fn(|| pair.agent.poll_transmit()).any(|m| matches!(m,
        ControlMessage::ActionRefused(r) if r.id == 100 && r.reason.contains("still in progress")))
    );
}

#[test]
fn wrong_sizes_and_hashes_fail_the_transfer_on_both_sides() {
    let (mut pair, mut guard) = active(files(), ScopeSet::empty());
    // Too large to offer at all.
    assert!(
        pair.viewer
            .send_file("huge.bin".to_owned(), MAX_FILE_SIZE + 1, content_hash())
            .is_err()
    );
    pair.agent
        .handle_control(
            ControlMessage::FileOffer(FileOffer {
                id: 50,
                name: "huge.bin".to_owned(),
                size: MAX_FILE_SIZE + 1,
                sha256: content_hash(),
            }),
            &mut guard,
            pair.now,
        )
        .unwrap();
    assert!(
        std::iter::from_fn(|| pair.agent.poll_transmit()).any(|m| matches!(m,
        ControlMessage::ActionRefused(r) if r.id == 50 && r.reason.contains("larger than")))
    );

    // Damaged on the way: the agent's check names it, and both sides hear it.
    let id = offer_checked(&mut pair, &mut guard, INTO_DOWNLOADS);
    pair.take_viewer_events();
    let offer = report_offer(id);
    pair.agent
        .file_stream_opened(&offer, &mut guard, pair.now)
        .unwrap();
    let mut check = FileCheck::new(offer.size, offer.sha256);
    let mut damaged = CONTENT.to_vec();
    damaged[3] ^= 1;
    check.update(&damaged).unwrap();
    let reason = check.finish().unwrap_err().to_string();
    pair.agent.file_finished(id, Err(reason), pair.now).unwrap();
    pair.run(&mut guard);
    assert!(pair.take_viewer_events().iter().any(|e| matches!(e,
        ViewerEvent::FileFailed { id: failed, reason }
            if *failed == id && reason.contains("SHA-256"))));
    assert!(
        audit_records(&pair.take_agent_events())
            .iter()
            .any(|(action, outcome)| {
                matches!(action, AuditAction::Action { message, .. } if message == "file-offer")
                    && matches!(outcome, Outcome::Failed { reason } if reason.contains("SHA-256"))
            })
    );
}

#[test]
fn withdrawing_the_permission_stops_a_file_in_flight() {
    let (mut pair, mut guard) = active(files(), ScopeSet::empty());
    let id = offer_checked(&mut pair, &mut guard, INTO_DOWNLOADS);
    pair.take_agent_events();
    pair.take_viewer_events();
    pair.agent
        .revoke(Scope::FileTransfer.into(), pair.now)
        .unwrap();
    pair.run(&mut guard);
    assert!(
        pair.take_agent_events()
            .contains(&AgentEvent::CancelFile { id })
    );
    assert!(pair.take_viewer_events().iter().any(|e| matches!(e,
        ViewerEvent::FileFailed { id: failed, reason }
            if *failed == id && reason.contains("end user withdrew"))));
    // The agent's own late report changes nothing.
    assert!(
        pair.agent
            .file_finished(id, Ok("report.pdf".to_owned()), pair.now)
            .is_err()
    );
}

#[test]
fn the_technician_cancels_and_the_agent_stops_and_audits_it() {
    let (mut pair, mut guard) = active(files(), ScopeSet::empty());
    let id = offer_checked(&mut pair, &mut guard, INTO_DOWNLOADS);
    pair.take_agent_events();
    pair.take_viewer_events();
    // Accepted at once (no confirmation policy): the technician cancels while it moves.
    pair.viewer
        .file_finished(id, Err("cancelled by the technician".to_owned()))
        .unwrap();
    pair.run(&mut guard);
    let events = pair.take_agent_events();
    assert!(events.contains(&AgentEvent::CancelFile { id }));
    assert!(
        audit_records(&events)
            .iter()
            .any(|(_, outcome)| matches!(outcome,
        Outcome::Failed { reason }
            if reason == "on the technician's side: cancelled by the technician"))
    );
    // The agent's late report changes nothing.
    assert!(
        pair.agent
            .file_finished(id, Err("the stream was reset".to_owned()), pair.now)
            .is_err()
    );
}

#[test]
fn conclusions_that_cross_are_ignored_on_both_sides() {
    let (mut pair, mut guard) = active(files(), ScopeSet::empty());
    let id = offer_checked(&mut pair, &mut guard, INTO_DOWNLOADS);
    pair.take_agent_events();
    pair.take_viewer_events();
    pair.viewer
        .file_finished(id, Err("cancelled by the technician".to_owned()))
        .unwrap();
    // Before the cancellation arrives, the agent's side fails too.
    let offer = report_offer(id);
    pair.agent
        .file_stream_opened(&offer, &mut guard, pair.now)
        .unwrap();
    pair.agent
        .file_finished(id, Err("the stream was reset".to_owned()), pair.now)
        .unwrap();
    pair.run(&mut guard);
    assert_session_goes_on(&pair);
}

#[test]
fn the_technician_withdraws_an_offer_while_the_end_user_is_asked() {
    let (mut pair, mut guard) = active(files(), Scope::FileTransfer.into());
    let id = offer_checked(&mut pair, &mut guard, INTO_DOWNLOADS);
    assert!(pair.take_agent_events().iter().any(|e| matches!(e,
        AgentEvent::ActionConfirmationNeeded { id: asked, .. } if *asked == id)));
    pair.take_viewer_events();
    pair.viewer
        .file_finished(id, Err("withdrawn by the technician".to_owned()))
        .unwrap();
    pair.run(&mut guard);
    let events = pair.take_agent_events();
    assert!(events.contains(&AgentEvent::ActionWithdrawn { id }));
    assert!(events.contains(&AgentEvent::CancelFile { id }));
    assert!(
        audit_records(&events)
            .iter()
            .any(|(_, outcome)| matches!(outcome,
        Outcome::Failed { reason } if reason.starts_with(
            "withdrawn by the technician before it was accepted"))),
        "{events:?}"
    );
    // An answer clicked as the question went away changes nothing: no file is let in.
    assert!(pair.agent.answer_action(id, true, pair.now).is_err());
    pair.run(&mut guard);
    assert!(
        !pair
            .take_agent_events()
            .iter()
            .any(|e| matches!(e, AgentEvent::ReceiveFile(_)))
    );
    assert_session_goes_on(&pair);
    // A stream for it now is a violation.
    let offer = report_offer(id);
    assert!(
        pair.agent
            .file_stream_opened(&offer, &mut guard, pair.now)
            .is_err()
    );
}

#[test]
fn an_approval_crossing_the_withdrawal_moves_nothing_and_ends_nothing_else() {
    let (mut pair, mut guard) = active(files(), Scope::FileTransfer.into());
    let id = offer_checked(&mut pair, &mut guard, INTO_DOWNLOADS);
    pair.take_agent_events();
    pair.take_viewer_events();
    // Both at once: the end user allows it, the technician withdraws it.
    pair.agent.answer_action(id, true, pair.now).unwrap();
    pair.viewer
        .file_finished(id, Err("withdrawn by the technician".to_owned()))
        .unwrap();
    pair.run(&mut guard);
    // The viewer ignores the acceptance (no bytes are sent); the agent stops waiting.
    assert!(
        !pair
            .take_viewer_events()
            .iter()
            .any(|e| matches!(e, ViewerEvent::FileAccepted(_)))
    );
    assert!(
        pair.take_agent_events()
            .contains(&AgentEvent::CancelFile { id })
    );
    assert_session_goes_on(&pair);
}

/// Asks for the report and lets the agent check it; returns its id.
fn fetch_checked(pair: &mut Pair, guard: &mut CodeGuard) -> u32 {
    let id = pair
        .viewer
        .fetch_file("/home/ann/report.pdf".to_owned())
        .unwrap();
    pair.run(guard);
    pair.agent
        .file_checked(
            id,
            Ok("send the file /home/ann/report.pdf (25 bytes) to the technician".to_owned()),
            pair.now,
        )
        .unwrap();
    pair.run(guard);
    id
}

#[test]
fn a_fetch_withdrawn_while_the_end_user_is_asked_is_never_sent() {
    let (mut pair, mut guard) = active(files(), Scope::FileTransfer.into());
    let id = fetch_checked(&mut pair, &mut guard);
    pair.take_agent_events();
    pair.viewer
        .file_finished(id, Err("withdrawn by the technician".to_owned()))
        .unwrap();
    pair.run(&mut guard);
    let events = pair.take_agent_events();
    assert!(events.contains(&AgentEvent::ActionWithdrawn { id }));
    assert!(events.contains(&AgentEvent::CancelFile { id }));
    assert!(pair.agent.answer_action(id, true, pair.now).is_err());
    pair.run(&mut guard);
    assert!(
        !pair
            .take_agent_events()
            .iter()
            .any(|e| matches!(e, AgentEvent::SendFile(_)))
    );
    assert_session_goes_on(&pair);
}

#[test]
fn a_file_stream_crossing_a_withdrawn_fetch_is_dropped_once_then_a_violation() {
    let (mut pair, mut guard) = active(files(), Scope::FileTransfer.into());
    let id = fetch_checked(&mut pair, &mut guard);
    pair.agent.answer_action(id, true, pair.now).unwrap();
    pair.run(&mut guard);
    // The agent has read the file and opens its stream as the technician withdraws.
    let header = read_header(&pair.agent.file_ready(report_offer(id), pair.now).unwrap());
    pair.viewer
        .file_finished(id, Err("withdrawn by the technician".to_owned()))
        .unwrap();
    assert_eq!(pair.viewer.file_stream_opened(&header), Ok(false));
    pair.run(&mut guard);
    assert!(
        pair.take_agent_events()
            .contains(&AgentEvent::CancelFile { id })
    );
    assert_session_goes_on(&pair);
    // Only one stream can cross: another one for it is a violation.
    assert!(pair.viewer.file_stream_opened(&header).is_err());
}

#[test]
fn an_agent_that_cannot_take_a_question_back_is_never_sent_a_withdrawal() {
    // An older agent: it ends the session on a FileFailed before acceptance.
    let mut config = agent_config(b"exporter");
    config.capabilities = Capabilities::H264;
    let (mut pair, mut guard) = active_on(config, files(), Scope::FileTransfer.into());
    let id = offer_checked(&mut pair, &mut guard, INTO_DOWNLOADS);
    assert!(matches!(
        pair.viewer
            .file_finished(id, Err("withdrawn by the technician".to_owned())),
        Err(LocalMisuse::NotSupportedByPeer { .. })
    ));
    pair.run(&mut guard);
    assert_session_goes_on(&pair);
    // The end user's answer still counts.
    pair.agent.answer_action(id, false, pair.now).unwrap();
    pair.run(&mut guard);
    assert!(pair.take_viewer_events().iter().any(|event| matches!(event,
        ViewerEvent::ActionRefused { id: refused, .. } if *refused == id)));
}
