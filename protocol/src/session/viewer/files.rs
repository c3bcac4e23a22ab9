//! The viewer's side of moving files (see [`crate::transfer`]).
//!
//! The technician offers a file ([`ViewerSession::send_file`]) or asks for one
//! ([`ViewerSession::fetch_file`]). The agent answers as for any action (pending,
//! refused), then: an offer is accepted ([`ViewerEvent::FileAccepted`]: send the bytes
//! on a file stream) and ends with the agent's [`ViewerEvent::FileReceived`] or
//! [`ViewerEvent::FileFailed`]; a fetch arrives as a file stream
//! ([`ViewerSession::file_stream_opened`]) and ends with this side's
//! [`ViewerSession::file_finished`]. Answers about transfers this viewer never asked
//! for, or at the wrong step, are peer misbehaviour.

use std::collections::VecDeque;

use super::{SendError, State, ViewerEvent, ViewerSession};
use crate::action::truncate_to;
use crate::authorize::authorize;
use crate::error::{LocalMisuse, PeerMisbehaved};
use crate::message::{Capabilities, ControlMessage, MAX_REASON_LEN};
use crate::session::Phase;
use crate::transfer::{
    FileFailure, FileFetch, FileOffer, FileReceived, MAX_FILE_NAME_LEN, MAX_FILE_SIZE, Sha256,
};

/// Ids of ended transfers remembered, so that a conclusion crossing ours is ignored.
const REMEMBERED_ENDS: usize = 32;

/// The transfers of one session.
#[derive(Debug, Default)]
pub(super) struct Transfers {
    list: Vec<Transfer>,
    recently_ended: VecDeque<u32>,
    /// Of those, the ones this side withdrew before they moved: the agent's answers,
    /// acceptance or file stream may still be on their way.
    withdrawn: VecDeque<u32>,
}

#[derive(Debug)]
struct Transfer {
    id: u32,
    /// The offer sent, or none for a fetch.
    offer: Option<FileOffer>,
    streaming: bool,
}

impl Transfers {
    fn position(&self, id: u32) -> Option<usize> {
        self.list.iter().position(|t| t.id == id)
    }

    fn remove(&mut self, index: usize) -> Transfer {
        let transfer = self.list.remove(index);
        remember(&mut self.recently_ended, transfer.id);
        transfer
    }

    fn was_withdrawn(&self, id: u32) -> bool {
        self.withdrawn.contains(&id) && self.position(id).is_none()
    }
}

/// Adds `id` to a bounded list of remembered ids.
fn remember(ids: &mut VecDeque<u32>, id: u32) {
    if ids.len() == REMEMBERED_ENDS {
        ids.pop_front();
    }
    ids.push_back(id);
}

impl ViewerSession {
    /// Offers the end user a file: its name, size and SHA-256 (the bytes follow once the
    /// agent accepts, [`ViewerEvent::FileAccepted`]). Returns the transfer's id. Needs
    /// the `files` permission.
    pub fn send_file(&mut self, name: String, size: u64, sha256: Sha256) -> Result<u32, SendError> {
        let id = self.next_action_id;
        if size > MAX_FILE_SIZE {
            return Err(SendError::Local(LocalMisuse::MessageTooLarge {
                channel: "file transfer",
                len: usize::try_from(size).unwrap_or(usize::MAX),
                limit: usize::try_from(MAX_FILE_SIZE).unwrap_or(usize::MAX),
            }));
        }
        let offer = FileOffer {
            id,
            name,
            size,
            sha256,
        };
        self.ask(ControlMessage::FileOffer(offer.clone()), "send a file")?;
        self.files.list.push(Transfer {
            id,
            offer: Some(offer),
            streaming: false,
        });
        Ok(id)
    }

    /// Asks the agent for the file at `path` on the end user's computer; it arrives as a
    /// file stream ([`ViewerSession::file_stream_opened`]). Returns the transfer's id.
    /// Needs the `files` permission.
    pub fn fetch_file(&mut self, path: String) -> Result<u32, SendError> {
        let id = self.next_action_id;
        self.ask(
            ControlMessage::FileFetch(FileFetch { id, path }),
            "fetch a file",
        )?;
        self.files.list.push(Transfer {
            id,
            offer: None,
            streaming: false,
        });
        Ok(id)
    }

    fn ask(&mut self, message: ControlMessage, action: &'static str) -> Result<(), SendError> {
        let State::Active { granted, .. } = self.state else {
            return Err(SendError::Local(LocalMisuse::WrongPhase {
                action,
                phase: self.phase().name(),
            }));
        };
        authorize(&message, granted)?;
        message.check_limits().map_err(LocalMisuse::from)?;
        self.next_action_id = self.next_action_id.wrapping_add(1).max(1);
        self.transmit.push_back(message);
        Ok(())
    }

    /// A file stream from the agent announced `header`: it must answer a fetch of this
    /// viewer that has no stream yet. `Ok(true)`: the caller then writes and checks the
    /// bytes and calls [`ViewerSession::file_finished`]; `Ok(false)`: the fetch was
    /// withdrawn and the stream crossed the withdrawal: drop it unread.
    ///
    /// # Errors
    /// [`PeerMisbehaved`] otherwise; the session ends.
    pub fn file_stream_opened(&mut self, header: &FileOffer) -> Result<bool, PeerMisbehaved> {
        if matches!(self.state, State::Closed) {
            return Err(PeerMisbehaved::OutOfPhase {
                message: "file stream",
                phase: Phase::Closed.name(),
            });
        }
        if self.files.was_withdrawn(header.id) {
            // One stream may cross the withdrawal; a second one is a violation.
            self.files.withdrawn.retain(|&id| id != header.id);
            return Ok(false);
        }
        let index = matches!(self.state, State::Active { .. })
            .then(|| self.files.position(header.id))
            .flatten()
            .filter(|&i| {
                let transfer = &self.files.list[i];
                transfer.offer.is_none() && !transfer.streaming
            });
        let Some(index) = index else {
            let violation = PeerMisbehaved::OutOfPhase {
                message: "file stream",
                phase: "no fetch with this number is waiting for its file",
            };
            self.close_for_violation(&violation);
            return Err(violation);
        };
        self.files.list[index].streaming = true;
        Ok(true)
    }

    /// A transfer ended on this side: a fetched file was written and checked (`Ok` with
    /// the name it was saved under, told to the agent), or a transfer failed or was
    /// cancelled (`Err` with why, told to the agent): one moving, or one not moving yet
    /// (withdrawn while the agent checks it or the end user is asked; an answer, an
    /// acceptance or a file stream that crosses the withdrawal is ignored). A sent
    /// file's success is the agent's to report.
    ///
    /// # Errors
    /// [`LocalMisuse`] when no such transfer is moving (it may have ended first).
    pub fn file_finished(
        &mut self,
        id: u32,
        result: Result<String, String>,
    ) -> Result<(), LocalMisuse> {
        let wrong = LocalMisuse::WrongPhase {
            action: "end a file transfer",
            phase: "active, without a file transfer with this number moving",
        };
        if !matches!(self.state, State::Active { .. }) {
            return Err(LocalMisuse::WrongPhase {
                action: "end a file transfer",
                phase: self.phase().name(),
            });
        }
        let index = self
            .files
            .position(id)
            .filter(|&i| {
                let transfer = &self.files.list[i];
                // Failing or withdrawing ends any transfer; success is a fetch's whose
                // stream arrived.
                result.is_err() || (transfer.offer.is_none() && transfer.streaming)
            })
            .ok_or(wrong)?;
        if !self.files.list[index].streaming && !self.peer_supports(Capabilities::WITHDRAW_TRANSFER)
        {
            return Err(LocalMisuse::NotSupportedByPeer {
                message: "withdrawing a file transfer before it is accepted",
            });
        }
        let transfer = self.files.remove(index);
        // Not moving yet: the agent may still answer about it.
        if !transfer.streaming {
            remember(&mut self.files.withdrawn, id);
        }
        let message = match result {
            Ok(mut saved_as) => {
                truncate_to(&mut saved_as, MAX_FILE_NAME_LEN);
                ControlMessage::FileReceived(FileReceived { id, saved_as })
            }
            Err(mut reason) => {
                truncate_to(&mut reason, MAX_REASON_LEN);
                ControlMessage::FileFailed(FileFailure { id, reason })
            }
        };
        self.transmit.push_back(message);
        Ok(())
    }

    /// An action update about a file transfer: `None` when `id` is not one (it may be a
    /// command).
    pub(super) fn on_file_action_update(
        &mut self,
        message: &ControlMessage,
    ) -> Option<Result<(), PeerMisbehaved>> {
        let (id, refusal) = match message {
            ControlMessage::ActionPending(pending) => (pending.id, None),
            ControlMessage::ActionRefused(refusal) => (refusal.id, Some(refusal.reason.clone())),
            _ => return None,
        };
        let Some(index) = self.files.position(id) else {
            // An answer about a transfer this side withdrew, crossing the withdrawal.
            return self.files.was_withdrawn(id).then_some(Ok(()));
        };
        if self.files.list[index].streaming || self.accepted(index) {
            return Some(Err(PeerMisbehaved::OutOfPhase {
                message: message.kind(),
                phase: "the file transfer is already moving",
            }));
        }
        match refusal {
            None => self.events.push_back(ViewerEvent::ActionPending { id }),
            Some(reason) => {
                self.files.remove(index);
                self.events
                    .push_back(ViewerEvent::ActionRefused { id, reason });
            }
        }
        Some(Ok(()))
    }

    /// Whether the offer at `index` was accepted (it moves from then on).
    fn accepted(&self, index: usize) -> bool {
        let transfer = &self.files.list[index];
        transfer.offer.is_some() && transfer.streaming
    }

    /// [`ControlMessage::FileAccepted`], [`ControlMessage::FileReceived`] or
    /// [`ControlMessage::FileFailed`] from the agent, in an active session.
    pub(super) fn on_file_update(&mut self, message: ControlMessage) -> Result<(), PeerMisbehaved> {
        let id = match &message {
            ControlMessage::FileAccepted(accepted) => accepted.id,
            ControlMessage::FileReceived(received) => received.id,
            ControlMessage::FileFailed(failure) => failure.id,
            _ => return Ok(()),
        };
        let conclusion = !matches!(message, ControlMessage::FileAccepted(_));
        if (conclusion && self.files.recently_ended.contains(&id)) || self.files.was_withdrawn(id) {
            // It crossed our own conclusion, or the withdrawal of an offer the agent
            // accepted meanwhile: nothing left to end or send.
            return Ok(());
        }
        let unknown = PeerMisbehaved::OutOfPhase {
            message: message.kind(),
            phase: "no file transfer with this number is at that step",
        };
        let Some(index) = self.files.position(id) else {
            return Err(unknown);
        };
        let transfer = &self.files.list[index];
        match message {
            ControlMessage::FileAccepted(_) if transfer.offer.is_some() && !transfer.streaming => {
                let transfer = &mut self.files.list[index];
                transfer.streaming = true;
                if let Some(offer) = transfer.offer.clone() {
                    self.events.push_back(ViewerEvent::FileAccepted(offer));
                }
            }
            ControlMessage::FileReceived(received) if self.accepted(index) => {
                self.files.remove(index);
                self.events.push_back(ViewerEvent::FileReceived {
                    id,
                    saved_as: received.saved_as,
                });
            }
            // The agent may give up on an accepted offer, or on a fetch before or while
            // sending it.
            ControlMessage::FileFailed(failure)
                if transfer.streaming || transfer.offer.is_none() =>
            {
                self.files.remove(index);
                self.events.push_back(ViewerEvent::FileFailed {
                    id,
                    reason: failure.reason,
                });
            }
            _ => return Err(unknown),
        }
        Ok(())
    }
}
