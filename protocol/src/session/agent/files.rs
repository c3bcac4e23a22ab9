//! The agent's side of moving files (see [`crate::transfer`]).
//!
//! Each transfer goes through these steps, all under the `files` permission:
//!
//! ```text
//! offer or fetch -> checking -> (awaiting confirmation) -> accepted -> streaming
//!                -> [fetch: sent] -> ended (received or failed)
//! ```
//!
//! - **checking**: the caller looks at the file system ([`AgentEvent::CheckFile`]):
//!   where an offered file would be saved, or the size of a fetched one, and answers
//!   [`AgentSession::file_checked`] with the sentence the end user will read.
//! - **awaiting confirmation**: when the policy confirms `files`, the technician is
//!   told it waits and the end user is asked ([`AgentEvent::ActionConfirmationNeeded`],
//!   answered by [`AgentSession::answer_action`]). Until a transfer is accepted the
//!   technician may withdraw it (a `FileFailed` from the viewer): the question goes
//!   away ([`AgentEvent::ActionWithdrawn`]).
//! - **accepted**: an offered file: the viewer is told to send it
//!   ([`AgentEvent::ReceiveFile`]; its stream is checked by
//!   [`AgentSession::file_stream_opened`]); a fetched one: the caller reads and hashes
//!   it ([`AgentEvent::SendFile`]) and gets its stream header from
//!   [`AgentSession::file_ready`].
//! - the caller reports the end with [`AgentSession::file_finished`]; a fetched file
//!   ends when the viewer says it has it.
//!
//! Requests are limited to [`MAX_ACTIONS_IN_FLIGHT`] transfers at once and share their
//! ids with commands (an answer names one action only). A permission withdrawn stops
//! every transfer that moves bytes ([`AgentEvent::CancelFile`]). Every step is audited
//! with the name, size and SHA-256, never the contents.

use std::collections::VecDeque;

use super::{Active, AgentEvent, AgentSession, State};
use crate::action::{ActionPending, ActionRefusal, MAX_ACTIONS_IN_FLIGHT, truncate_to};
use crate::audit::{Actor, AuditAction, Outcome};
use crate::authorize::authorize;
use crate::code::CodeGuard;
use crate::error::{LocalMisuse, PeerMisbehaved};
use crate::message::{ControlMessage, MAX_REASON_LEN};
use crate::scope::{Scope, ScopeSet};
use crate::session::Phase;
use crate::time::Timestamp;
use crate::transfer::{
    FileAccepted, FileFailure, FileJob, FileOffer, FileReceived, MAX_FILE_NAME_LEN, MAX_FILE_SIZE,
    check_offer, encode_stream_header, human_size, safe_file_name,
};

/// Ids of ended transfers remembered, so that a conclusion crossing ours is ignored.
const REMEMBERED_ENDS: usize = 32;

/// The transfers of one session.
#[derive(Debug, Default)]
pub(super) struct Transfers {
    list: Vec<Transfer>,
    recently_ended: VecDeque<u32>,
}

#[derive(Debug)]
struct Transfer {
    job: FileJob,
    step: Step,
    /// What the end user read (or would have read), once checked.
    description: String,
    /// A fetched file's name, size and hash, once read.
    sent: Option<FileOffer>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Checking,
    AwaitingConfirmation,
    Accepted,
    Streaming,
    /// A fetched file's last byte was sent; the viewer's receipt is awaited.
    Sent,
}

impl Transfer {
    fn id(&self) -> u32 {
        self.job.id()
    }

    fn kind(&self) -> &'static str {
        match self.job {
            FileJob::Receive(_) => "file-offer",
            FileJob::Send(_) => "file-fetch",
        }
    }

    /// What moves, for audit records: the offer's name, size and hash, or the path
    /// (with size and hash once read).
    fn summary(&self) -> String {
        match (&self.job, &self.sent) {
            (FileJob::Receive(offer), _) => offer.summary(),
            (FileJob::Send(fetch), None) => format!("{:?}", fetch.path),
            (FileJob::Send(fetch), Some(sent)) => format!(
                "{:?}: {} ({} bytes), SHA-256 {}",
                fetch.path,
                human_size(sent.size),
                sent.size,
                sent.sha256
            ),
        }
    }
}

impl Transfers {
    fn position(&self, id: u32) -> Option<usize> {
        self.list.iter().position(|t| t.id() == id)
    }

    fn remove(&mut self, index: usize) -> Transfer {
        let transfer = self.list.remove(index);
        if self.recently_ended.len() == REMEMBERED_ENDS {
            self.recently_ended.pop_front();
        }
        self.recently_ended.push_back(transfer.id());
        transfer
    }

    fn ended_recently(&self, id: u32) -> bool {
        self.recently_ended.contains(&id)
    }
}

impl AgentSession {
    /// Whether a file transfer in progress has this id (ids are shared with commands).
    pub(super) fn file_id_in_use(&self, id: u32) -> bool {
        self.files.position(id).is_some()
    }

    /// A [`ControlMessage::FileOffer`] or [`ControlMessage::FileFetch`] from the viewer,
    /// in an active session.
    pub(super) fn on_file_request(
        &mut self,
        active: &mut Active,
        message: ControlMessage,
        now: Timestamp,
    ) {
        let job = match &message {
            ControlMessage::FileOffer(offer) => FileJob::Receive(offer.clone()),
            ControlMessage::FileFetch(fetch) => FileJob::Send(fetch.clone()),
            _ => return,
        };
        let id = job.id();
        if let Err(denied) = authorize(&message, active.granted) {
            self.refuse(active, &message, &denied, now);
            self.refuse_file(id, denied.to_string());
            return;
        }
        let duplicate = self.file_id_in_use(id)
            || active.running.contains(&id)
            || active.awaiting_confirmation.iter().any(|c| c.id == id);
        if duplicate {
            self.refuse_file(
                id,
                "an action with this number is still in progress".to_owned(),
            );
            return;
        }
        if self.files.list.len() >= MAX_ACTIONS_IN_FLIGHT {
            self.refuse_file(
                id,
                format!(
                    "at most {MAX_ACTIONS_IN_FLIGHT} file transfers may wait or run at once; \
                     wait for the earlier ones"
                ),
            );
            return;
        }
        let invalid = match &job {
            FileJob::Receive(offer) => check_offer(offer).err(),
            FileJob::Send(fetch) if fetch.path.trim().is_empty() => {
                Some("no path was given".to_owned())
            }
            FileJob::Send(fetch) if fetch.path.contains('\0') => {
                Some("the path contains a NUL character".to_owned())
            }
            FileJob::Send(_) => None,
        };
        let transfer = Transfer {
            job,
            step: Step::Checking,
            description: String::new(),
            sent: None,
        };
        if let Some(reason) = invalid {
            self.audit(
                now,
                AuditAction::Refused {
                    message: transfer.kind().to_owned(),
                },
                Some(Scope::FileTransfer),
                Outcome::Refused {
                    reason: reason.clone(),
                },
            );
            self.refuse_file(id, reason);
            return;
        }
        self.audit(
            now,
            AuditAction::ActionRequested {
                message: transfer.kind().to_owned(),
                summary: transfer.summary(),
                needs_confirmation: self.files_need_confirmation(),
            },
            Some(Scope::FileTransfer),
            Outcome::Succeeded,
        );
        self.events
            .push_back(AgentEvent::CheckFile(transfer.job.clone()));
        self.files.list.push(transfer);
    }

    fn files_need_confirmation(&self) -> bool {
        self.config
            .trust
            .confirm_actions
            .contains(Scope::FileTransfer)
    }

    fn refuse_file(&mut self, id: u32, mut reason: String) {
        truncate_to(&mut reason, MAX_REASON_LEN);
        self.transmit
            .push_back(ControlMessage::ActionRefused(ActionRefusal { id, reason }));
    }

    /// The caller looked at the file system for [`AgentEvent::CheckFile`]: `Ok` with the
    /// sentence the end user reads (e.g. "receive the file report.pdf (2.3 MB) into
    /// /home/ann/Downloads"), or `Err` with why it cannot be done (told to the
    /// technician).
    ///
    /// # Errors
    /// [`LocalMisuse`] when no transfer with this id is being checked.
    pub fn file_checked(
        &mut self,
        id: u32,
        result: Result<String, String>,
        now: Timestamp,
    ) -> Result<(), LocalMisuse> {
        let granted = self.active_granted("report a checked file")?;
        let index = self
            .files
            .position(id)
            .filter(|&i| self.files.list[i].step == Step::Checking)
            .ok_or_else(|| no_such_transfer("report a checked file"))?;
        let description = match result {
            Ok(description) => description,
            Err(reason) => {
                let transfer = self.files.remove(index);
                self.audit_file(
                    &transfer,
                    Outcome::Failed {
                        reason: reason.clone(),
                    },
                    now,
                );
                self.refuse_file(id, reason);
                return Ok(());
            }
        };
        if !granted.contains(Scope::FileTransfer) {
            self.files.remove(index);
            self.refuse_file(id, "the permission to move files was withdrawn".to_owned());
            return Ok(());
        }
        let needs_confirmation = self.files_need_confirmation();
        let transfer = &mut self.files.list[index];
        transfer.description.clone_from(&description);
        if needs_confirmation {
            transfer.step = Step::AwaitingConfirmation;
            self.transmit
                .push_back(ControlMessage::ActionPending(ActionPending { id }));
            self.events.push_back(AgentEvent::ActionConfirmationNeeded {
                id,
                scope: Scope::FileTransfer,
                description,
            });
        } else {
            self.start_transfer(index);
        }
        Ok(())
    }

    /// Moves an approved transfer on: the viewer may send an offered file; the caller
    /// reads a fetched one.
    fn start_transfer(&mut self, index: usize) {
        let transfer = &mut self.files.list[index];
        transfer.step = Step::Accepted;
        match &transfer.job {
            FileJob::Receive(offer) => {
                self.transmit
                    .push_back(ControlMessage::FileAccepted(FileAccepted { id: offer.id }));
                self.events
                    .push_back(AgentEvent::ReceiveFile(offer.clone()));
            }
            FileJob::Send(fetch) => self.events.push_back(AgentEvent::SendFile(fetch.clone())),
        }
    }

    /// The end user's answer about a file transfer; `None` when `id` is not a transfer
    /// waiting for one (it may be a command).
    pub(super) fn answer_file(
        &mut self,
        id: u32,
        approved: bool,
        now: Timestamp,
    ) -> Option<Result<(), LocalMisuse>> {
        let State::Active(active) = &self.state else {
            return None;
        };
        let still_allowed = active.granted.contains(Scope::FileTransfer);
        let index = self
            .files
            .position(id)
            .filter(|&i| self.files.list[i].step == Step::AwaitingConfirmation)?;
        let transfer = &self.files.list[index];
        self.audit_as(
            Actor::EndUser,
            now,
            AuditAction::ActionAnswered {
                message: transfer.kind().to_owned(),
                summary: transfer.description.clone(),
                approved,
            },
            Some(Scope::FileTransfer),
            Outcome::Succeeded,
        );
        if approved && still_allowed {
            self.start_transfer(index);
        } else {
            let transfer = self.files.remove(index);
            let reason = match (approved, &transfer.job) {
                (true, _) => "the permission to move files was withdrawn",
                (false, FileJob::Receive(_)) => "the end user refused to receive this file",
                (false, FileJob::Send(_)) => "the end user refused to send this file",
            };
            self.refuse_file(id, reason.to_owned());
        }
        Some(Ok(()))
    }

    /// A file stream from the viewer announced `header`: it must be an offer this
    /// session accepted, announced the same, and not yet streaming.
    ///
    /// # Errors
    /// [`PeerMisbehaved`] otherwise; the session ends.
    pub fn file_stream_opened(
        &mut self,
        header: &FileOffer,
        guard: &mut CodeGuard,
        now: Timestamp,
    ) -> Result<(), PeerMisbehaved> {
        if matches!(self.state, State::Closed) {
            return Err(PeerMisbehaved::OutOfPhase {
                message: "file stream",
                phase: Phase::Closed.name(),
            });
        }
        let accepted = matches!(self.state, State::Active(_))
            .then(|| self.files.position(header.id))
            .flatten()
            .filter(|&i| {
                let transfer = &self.files.list[i];
                transfer.step == Step::Accepted
                    && matches!(&transfer.job, FileJob::Receive(offer) if offer == header)
            });
        match accepted {
            Some(index) => {
                self.files.list[index].step = Step::Streaming;
                Ok(())
            }
            None => {
                let violation = PeerMisbehaved::OutOfPhase {
                    message: "file stream",
                    phase: "no accepted file offer has this number and header",
                };
                self.close_for_violation(&violation, guard, now);
                Err(violation)
            }
        }
    }

    /// The caller read a fetched file ([`AgentEvent::SendFile`]): its name (made safe
    /// here), size and SHA-256. Returns the bytes that open its file stream; the file's
    /// bytes follow, then [`AgentSession::file_finished`].
    ///
    /// # Errors
    /// [`LocalMisuse`] when no fetch with this id was approved, or the file is larger
    /// than [`MAX_FILE_SIZE`] (the transfer then fails: check the size first and report
    /// it with `file_finished`).
    pub fn file_ready(
        &mut self,
        mut offer: FileOffer,
        now: Timestamp,
    ) -> Result<Vec<u8>, LocalMisuse> {
        self.active_granted("send a fetched file")?;
        let index = self
            .files
            .position(offer.id)
            .filter(|&i| {
                let transfer = &self.files.list[i];
                transfer.step == Step::Accepted && matches!(transfer.job, FileJob::Send(_))
            })
            .ok_or_else(|| no_such_transfer("send a fetched file"))?;
        if offer.size > MAX_FILE_SIZE {
            // The caller should have said so with `file_finished`; end it here.
            let reason = format!(
                "the file ({}) is larger than the {} limit",
                human_size(offer.size),
                human_size(MAX_FILE_SIZE)
            );
            let transfer = self.files.remove(index);
            self.audit_file(
                &transfer,
                Outcome::Failed {
                    reason: reason.clone(),
                },
                now,
            );
            self.transmit
                .push_back(ControlMessage::FileFailed(FileFailure {
                    id: offer.id,
                    reason,
                }));
            return Err(LocalMisuse::WrongPhase {
                action: "send a file larger than the size limit",
                phase: "active",
            });
        }
        offer.name = safe_file_name(&offer.name);
        let header = encode_stream_header(&offer)?;
        let transfer = &mut self.files.list[index];
        transfer.step = Step::Streaming;
        transfer.sent = Some(offer);
        Ok(header)
    }

    /// A transfer this side moves ended: an offered file was written and checked
    /// (`Ok` with the name it was saved under), a fetched file's last byte was sent
    /// (`Ok`, any text), or it failed (`Err` with why, for both people). The partial
    /// file must already be gone.
    ///
    /// # Errors
    /// [`LocalMisuse`] when no such transfer is moving (e.g. it was cancelled first).
    pub fn file_finished(
        &mut self,
        id: u32,
        result: Result<String, String>,
        now: Timestamp,
    ) -> Result<(), LocalMisuse> {
        self.active_granted("report the end of a file transfer")?;
        let index = self
            .files
            .position(id)
            .filter(|&i| {
                let transfer = &self.files.list[i];
                match result {
                    Ok(_) => transfer.step == Step::Streaming,
                    Err(_) => matches!(transfer.step, Step::Accepted | Step::Streaming),
                }
            })
            .ok_or_else(|| no_such_transfer("report the end of a file transfer"))?;
        match result {
            Ok(_) if matches!(self.files.list[index].job, FileJob::Send(_)) => {
                self.files.list[index].step = Step::Sent;
            }
            Ok(mut saved_as) => {
                truncate_to(&mut saved_as, MAX_FILE_NAME_LEN);
                let transfer = self.files.remove(index);
                let summary = format!("saved as {saved_as:?}: {}", transfer.summary());
                self.audit(
                    now,
                    AuditAction::Action {
                        message: transfer.kind().to_owned(),
                        summary,
                    },
                    Some(Scope::FileTransfer),
                    Outcome::Succeeded,
                );
                self.transmit
                    .push_back(ControlMessage::FileReceived(FileReceived { id, saved_as }));
            }
            Err(mut reason) => {
                truncate_to(&mut reason, MAX_REASON_LEN);
                let transfer = self.files.remove(index);
                self.audit_file(
                    &transfer,
                    Outcome::Failed {
                        reason: reason.clone(),
                    },
                    now,
                );
                self.transmit
                    .push_back(ControlMessage::FileFailed(FileFailure { id, reason }));
            }
        }
        Ok(())
    }

    /// A [`ControlMessage::FileReceived`] or [`ControlMessage::FileFailed`] from the
    /// viewer: the end of a transfer it takes part in.
    pub(super) fn on_file_conclusion(
        &mut self,
        active: &mut Active,
        message: ControlMessage,
        now: Timestamp,
    ) -> Result<(), PeerMisbehaved> {
        let id = match &message {
            ControlMessage::FileReceived(received) => received.id,
            ControlMessage::FileFailed(failure) => failure.id,
            _ => return Ok(()),
        };
        if self.files.ended_recently(id) {
            // It crossed our own conclusion (or a withdrawal): nothing left to end.
            return Ok(());
        }
        if let Err(denied) = authorize(&message, active.granted) {
            self.refuse(active, &message, &denied, now);
            return Ok(());
        }
        let unknown = PeerMisbehaved::OutOfPhase {
            message: message.kind(),
            phase: "no file transfer with this number is moving",
        };
        let Some(index) = self.files.position(id) else {
            return Err(unknown);
        };
        let transfer = &self.files.list[index];
        match message {
            ControlMessage::FileReceived(received)
                if matches!(transfer.job, FileJob::Send(_))
                    && matches!(transfer.step, Step::Streaming | Step::Sent) =>
            {
                let transfer = self.files.remove(index);
                let summary = format!(
                    "{}; the technician saved it as {:?}",
                    transfer.summary(),
                    received.saved_as
                );
                self.audit(
                    now,
                    AuditAction::Action {
                        message: transfer.kind().to_owned(),
                        summary,
                    },
                    Some(Scope::FileTransfer),
                    Outcome::Succeeded,
                );
            }
            ControlMessage::FileFailed(failure)
                if matches!(transfer.step, Step::Accepted | Step::Streaming | Step::Sent) =>
            {
                let transfer = self.files.remove(index);
                self.audit_file(
                    &transfer,
                    Outcome::Failed {
                        reason: format!("on the technician's side: {}", failure.reason),
                    },
                    now,
                );
                self.events.push_back(AgentEvent::CancelFile { id });
            }
            // The technician withdrew a transfer before it was accepted: the end user's
            // question goes away.
            ControlMessage::FileFailed(failure)
                if matches!(transfer.step, Step::Checking | Step::AwaitingConfirmation) =>
            {
                let asked = transfer.step == Step::AwaitingConfirmation;
                let transfer = self.files.remove(index);
                self.audit_file(
                    &transfer,
                    Outcome::Failed {
                        reason: format!(
                            "withdrawn by the technician before it was accepted: {}",
                            failure.reason
                        ),
                    },
                    now,
                );
                self.events.push_back(AgentEvent::CancelFile { id });
                if asked {
                    self.events.push_back(AgentEvent::ActionWithdrawn { id });
                }
            }
            _ => return Err(unknown),
        }
        Ok(())
    }

    /// The `files` permission is no longer in `granted`: every transfer moving bytes
    /// stops, and both sides are told why.
    pub(super) fn files_after_revoke(&mut self, granted: ScopeSet, by: &str, now: Timestamp) {
        if granted.contains(Scope::FileTransfer) {
            return;
        }
        while let Some(index) = self
            .files
            .list
            .iter()
            .position(|t| matches!(t.step, Step::Accepted | Step::Streaming | Step::Sent))
        {
            let transfer = self.files.remove(index);
            let id = transfer.id();
            let reason = format!("{by} withdrew the permission to move files");
            self.audit_file(
                &transfer,
                Outcome::Failed {
                    reason: reason.clone(),
                },
                now,
            );
            self.transmit
                .push_back(ControlMessage::FileFailed(FileFailure { id, reason }));
            self.events.push_back(AgentEvent::CancelFile { id });
        }
    }

    fn audit_file(&mut self, transfer: &Transfer, outcome: Outcome, now: Timestamp) {
        self.audit(
            now,
            AuditAction::Action {
                message: transfer.kind().to_owned(),
                summary: transfer.summary(),
            },
            Some(Scope::FileTransfer),
            outcome,
        );
    }

    /// The granted scopes, when the session is active.
    fn active_granted(&self, action: &'static str) -> Result<ScopeSet, LocalMisuse> {
        match &self.state {
            State::Active(active) => Ok(active.granted),
            _ => Err(LocalMisuse::WrongPhase {
                action,
                phase: self.phase().name(),
            }),
        }
    }
}

fn no_such_transfer(action: &'static str) -> LocalMisuse {
    LocalMisuse::WrongPhase {
        action,
        phase: "active, without a file transfer with this number at that step",
    }
}
