//! The "Files" window: with the `files` permission the technician sends a file (by its
//! path on this computer) into the end user's Downloads folder, or fetches a file by its
//! path on the end user's computer into this computer's Downloads folder; sees "waiting
//! for the end user's approval" when the agent's policy asks the end user, the
//! progress, and where the file was saved or why it was not.

use std::path::PathBuf;

use egui::RichText;
use lifeline_protocol::transfer::human_size;

use crate::link::{FileDirection, FileUpdate};

/// Transfers kept in the window.
const KEPT: usize = 20;

/// What the technician asked the window to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilesAction {
    /// Send this local file.
    Send(PathBuf),
    /// Fetch the file at this path on the end user's computer.
    Fetch(String),
    /// Stop the transfer with this ticket.
    Cancel(u32),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    ticket: u32,
    direction: FileDirection,
    name: String,
    state: EntryState,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum EntryState {
    Started,
    WaitingForApproval,
    Moving {
        done: u64,
        total: u64,
    },
    Done {
        saved_as: String,
        size: u64,
        sha256: String,
    },
    Refused(String),
    Failed(String),
    Withdrawn,
}

/// The window's state.
#[derive(Debug, Default)]
pub struct FilesPanel {
    /// Whether the window is open.
    pub open: bool,
    send_path: String,
    fetch_path: String,
    entries: Vec<Entry>,
}

impl FilesPanel {
    /// Follows a transfer's progress.
    pub fn apply(&mut self, update: FileUpdate) {
        let (ticket, state) = match update {
            FileUpdate::Started {
                ticket,
                direction,
                name,
            } => {
                self.entries.push(Entry {
                    ticket,
                    direction,
                    name,
                    state: EntryState::Started,
                });
                if self.entries.len() > KEPT {
                    self.entries.remove(0);
                }
                return;
            }
            FileUpdate::WaitingForApproval { ticket } => (ticket, EntryState::WaitingForApproval),
            FileUpdate::Progress {
                ticket,
                done,
                total,
            } => (ticket, EntryState::Moving { done, total }),
            FileUpdate::Done {
                ticket,
                saved_as,
                size,
                sha256,
            } => (
                ticket,
                EntryState::Done {
                    saved_as,
                    size,
                    sha256,
                },
            ),
            FileUpdate::Refused { ticket, reason } => (ticket, EntryState::Refused(reason)),
            FileUpdate::Failed { ticket, reason } => (ticket, EntryState::Failed(reason)),
            FileUpdate::Withdrawn { ticket } => (ticket, EntryState::Withdrawn),
        };
        if let Some(entry) = self.entries.iter_mut().find(|e| e.ticket == ticket) {
            entry.state = state;
        }
    }

    /// Forgets everything (a new session).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.send_path.clear();
        self.fetch_path.clear();
        self.open = false;
    }

    /// Draws the window; returns what the technician asked for, if anything.
    pub fn show(&mut self, ctx: &egui::Context) -> Option<FilesAction> {
        let mut action = None;
        let mut open = self.open;
        egui::Window::new("Files")
            .open(&mut open)
            .default_width(560.0)
            .default_height(360.0)
            .show(ctx, |ui| {
                ui.label(
                    "Files you send go to the end user's Downloads folder; files you fetch \
                     go to yours. The end user may be asked to approve each one.",
                );
                let send = path_row_ui(
                    ui,
                    "File to send",
                    &mut self.send_path,
                    "e.g. /home/you/fix.sh",
                    "Send",
                );
                if let Some(path) = send {
                    action = Some(FilesAction::Send(PathBuf::from(path)));
                }
                let fetch = path_row_ui(
                    ui,
                    "File to fetch",
                    &mut self.fetch_path,
                    "e.g. ~/Documents/report.pdf",
                    "Fetch",
                );
                if let Some(path) = fetch {
                    action = Some(FilesAction::Fetch(path));
                }
                ui.separator();
                egui::ScrollArea::vertical()
                    .stick_to_bottom(true)
                    .show(ui, |ui| {
                        for entry in &self.entries {
                            if let Some(ticket) = entry_ui(ui, entry) {
                                action = Some(FilesAction::Cancel(ticket));
                            }
                        }
                    });
            });
        self.open = open;
        action
    }
}

/// A labelled path field with its button; returns the path when sent.
fn path_row_ui(
    ui: &mut egui::Ui,
    label: &str,
    text: &mut String,
    hint: &str,
    button: &str,
) -> Option<String> {
    ui.horizontal(|ui| {
        let label = ui.label(label);
        let field = ui
            .add(
                egui::TextEdit::singleline(text)
                    .hint_text(hint)
                    .desired_width(320.0)
                    .font(egui::TextStyle::Monospace),
            )
            .labelled_by(label.id);
        let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let clicked = ui.button(button).clicked();
        ((entered || clicked) && !text.trim().is_empty())
            .then(|| std::mem::take(text).trim().to_owned())
    })
    .inner
}

/// Draws one transfer; returns its ticket when Cancel is clicked.
fn entry_ui(ui: &mut egui::Ui, entry: &Entry) -> Option<u32> {
    let mut cancel = None;
    let heading = match entry.direction {
        FileDirection::Send => format!("→ {}", entry.name),
        FileDirection::Fetch => format!("← {}", entry.name),
    };
    ui.label(RichText::new(heading).monospace().strong());
    match &entry.state {
        EntryState::Started => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(match entry.direction {
                    FileDirection::Send => "Reading the file…",
                    FileDirection::Fetch => "Asked…",
                });
            });
        }
        EntryState::WaitingForApproval => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Waiting for the end user to approve this file…");
                // Withdrawn, the end user's question goes away.
                if ui.button("Withdraw").clicked() {
                    cancel = Some(entry.ticket);
                }
            });
        }
        EntryState::Moving { done, total } => {
            ui.horizontal(|ui| {
                let fraction = if *total == 0 {
                    1.0
                } else {
                    *done as f32 / *total as f32
                };
                ui.add(
                    egui::ProgressBar::new(fraction)
                        .desired_width(260.0)
                        .text(format!("{} of {}", human_size(*done), human_size(*total))),
                );
                if ui.button("Cancel").clicked() {
                    cancel = Some(entry.ticket);
                }
            });
        }
        EntryState::Done {
            saved_as,
            size,
            sha256,
        } => {
            let place = match entry.direction {
                FileDirection::Send => "Saved in their Downloads as",
                FileDirection::Fetch => "Saved as",
            };
            ui.label(format!("{place} {saved_as} ({}).", human_size(*size)));
            ui.label(
                RichText::new(format!("SHA-256 {sha256}"))
                    .monospace()
                    .weak(),
            );
        }
        EntryState::Refused(reason) => {
            ui.colored_label(ui.visuals().warn_fg_color, format!("Not moved: {reason}."));
        }
        EntryState::Failed(reason) => {
            ui.colored_label(ui.visuals().error_fg_color, format!("Failed: {reason}."));
        }
        EntryState::Withdrawn => {
            ui.weak("Withdrawn before the end user answered; nothing moved.");
        }
    }
    ui.add_space(6.0);
    cancel
}

/// A small "Files" button in the bottom-left corner, next to "Commands", that opens
/// the window again.
pub fn files_button_ui(ui: &egui::Ui) -> bool {
    egui::Area::new(egui::Id::unique("files-button"))
        .anchor(egui::Align2::LEFT_BOTTOM, egui::vec2(110.0, -8.0))
        .show(ui.ctx(), |ui| ui.button("Files…").clicked())
        .inner
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_follow_one_transfer_to_its_end() {
        let mut panel = FilesPanel::default();
        panel.apply(FileUpdate::Started {
            ticket: 1,
            direction: FileDirection::Send,
            name: "fix.sh".to_owned(),
        });
        panel.apply(FileUpdate::WaitingForApproval { ticket: 1 });
        assert_eq!(panel.entries[0].state, EntryState::WaitingForApproval);
        panel.apply(FileUpdate::Progress {
            ticket: 1,
            done: 10,
            total: 20,
        });
        assert_eq!(
            panel.entries[0].state,
            EntryState::Moving {
                done: 10,
                total: 20
            }
        );
        panel.apply(FileUpdate::Done {
            ticket: 1,
            saved_as: "fix.sh".to_owned(),
            size: 20,
            sha256: "ab".repeat(32),
        });
        assert!(matches!(panel.entries[0].state, EntryState::Done { .. }));
        // Updates about unknown transfers change nothing.
        panel.apply(FileUpdate::Failed {
            ticket: 9,
            reason: "no".to_owned(),
        });
        assert_eq!(panel.entries.len(), 1);
    }
}
