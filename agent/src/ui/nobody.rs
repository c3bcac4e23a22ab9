//! The front-end for a computer with nobody at it (`--consent none`, usually a
//! service): every question is answered "no", because no person can be asked, and
//! every event is written to the log.

use lifeline_protocol::session::ConsentAnswer;

use super::{ConsentUi, UiEvent, UiLink, UserCommand};

/// What the technician is told when a policy wants a click and no one can give it.
pub const NOBODY_HERE: &str = "nobody is at this computer to confirm (the agent runs \
                               without a screen for questions)";

/// Refuses every prompt; logs the rest.
#[derive(Debug)]
pub struct NobodyUi;

impl ConsentUi for NobodyUi {
    fn run(self: Box<Self>, mut link: UiLink) -> anyhow::Result<()> {
        while let Some(event) = link.events.blocking_recv() {
            let refusal = || ConsentAnswer::Deny {
                reason: NOBODY_HERE.to_owned(),
            };
            let answer = match event {
                UiEvent::ConsentNeeded(prompt) => {
                    tracing::info!(
                        "consent asked by {} for {}: refused, nobody here",
                        prompt.technician.display_name,
                        prompt.scopes
                    );
                    Some(UserCommand::AnswerConsent(refusal()))
                }
                UiEvent::ScopeRequestNeeded { scopes, .. } => {
                    tracing::info!("permissions {scopes} asked: refused, nobody here");
                    Some(UserCommand::AnswerScopeRequest(refusal()))
                }
                UiEvent::ActionConfirmationNeeded {
                    id, description, ..
                } => {
                    tracing::info!("action {description:?} asked: refused, nobody here");
                    Some(UserCommand::AnswerAction {
                        id,
                        approved: false,
                    })
                }
                UiEvent::Ready { .. } => None,
                other => {
                    tracing::info!("{other:?}");
                    None
                }
            };
            if let Some(answer) = answer
                && link.commands.blocking_send(answer).is_err()
            {
                break;
            }
        }
        Ok(())
    }
}
