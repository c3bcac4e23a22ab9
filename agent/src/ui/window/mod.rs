//! Small eframe windows for the end user: the one-time code, the consent prompt and
//! the session banner.
//!
//! The state ([`AgentUiState`]) is plain data fed by [`UiEvent`](crate::ui::UiEvent)s;
//! the `_ui` functions draw it and return the [`UserCommand`] a click produced, so both
//! are tested without a window (`egui_kittest`). [`WindowUi`] runs them in a real
//! window (eframe, glow renderer) on the calling thread.

use std::time::Instant;

use egui::{RichText, Ui};

use super::UserCommand;
use super::text::{Lang, Texts};

mod app;
pub mod banner;
pub mod code_view;
pub mod consent;
pub mod fonts;
pub mod state;
mod widgets;

pub use banner::banner_ui;
pub use code_view::{ended_ui, starting_ui, unattended_only_ui, waiting_ui};
pub use consent::consent_ui;
pub use state::{AgentUiState, Phase, WindowMode};

/// The windowed front-end (eframe, glow renderer).
#[derive(Debug)]
pub struct WindowUi {
    lang: Lang,
}

impl WindowUi {
    /// A window front-end showing texts in `lang`.
    pub fn new(lang: Lang) -> Self {
        Self { lang }
    }
}

impl super::ConsentUi for WindowUi {
    fn run(self: Box<Self>, link: super::UiLink) -> anyhow::Result<()> {
        app::run(self.lang, link)
    }
}

/// Draws the current screen, and the last error above it; returns the command a click
/// produced, after moving `state` on accordingly ([`AgentUiState::on_command`]).
///
/// `now` dates the code's time left.
pub fn agent_ui(
    ui: &mut Ui,
    state: &mut AgentUiState,
    texts: &Texts,
    now: Instant,
) -> Option<UserCommand> {
    if let Some(message) = &state.error {
        let mut dismissed = false;
        egui::Panel::top("agent_error")
            .resizable(false)
            .show(ui, |ui| dismissed = error_ui(ui, message, texts));
        if dismissed {
            state.error = None;
        }
    }
    let command = match &mut state.phase {
        Phase::Consent(consent) => consent_ui(ui, consent, texts),
        Phase::Session(session) => banner_ui(ui, session, texts, now),
        phase => {
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| match phase {
                    Phase::WaitingForTechnician(waiting) => waiting_ui(ui, waiting, texts, now),
                    Phase::UnattendedOnly {
                        device_id,
                        organisations,
                    } => {
                        unattended_only_ui(ui, device_id, organisations, texts);
                        None
                    }
                    Phase::Ended { reason } => {
                        ended_ui(ui, reason, texts);
                        None
                    }
                    _ => {
                        starting_ui(ui, texts);
                        None
                    }
                })
                .inner
        }
    };
    if let Some(command) = &command {
        state.on_command(command);
    }
    command
}

/// An error in the error colour with a button to hide it; returns whether it was hidden.
fn error_ui(ui: &mut Ui, message: &str, texts: &Texts) -> bool {
    let mut dismissed = false;
    ui.add_space(4.0);
    ui.horizontal_wrapped(|ui| {
        let colour = ui.visuals().error_fg_color;
        ui.label(RichText::new(message).color(colour).strong());
        dismissed = ui.button(texts.dismiss).clicked();
    });
    ui.add_space(4.0);
    dismissed
}
