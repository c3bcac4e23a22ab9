//! The "Commands" window: with the `commands` permission the technician types a command
//! line, sends it, sees "waiting for the end user's approval" when the agent's policy
//! asks the end user to confirm each command, and reads the output or the refusal.

use egui::RichText;

use crate::link::CommandUpdate;

/// Commands kept in the window.
const KEPT: usize = 20;

/// One command and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    id: u32,
    command_line: String,
    state: EntryState,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum EntryState {
    Sent,
    WaitingForApproval,
    Refused(String),
    Finished {
        exit_code: Option<i32>,
        output: String,
        truncated: bool,
    },
}

/// The window's state.
#[derive(Debug, Default)]
pub struct CommandsPanel {
    /// Whether the window is open.
    pub open: bool,
    /// The command field takes the keyboard on the next frame.
    focus_field: bool,
    input: String,
    entries: Vec<Entry>,
}

impl CommandsPanel {
    /// Follows a command's progress.
    pub fn apply(&mut self, update: CommandUpdate) {
        fn entry(entries: &mut [Entry], id: u32) -> Option<&mut Entry> {
            entries.iter_mut().find(|e| e.id == id)
        }
        match update {
            CommandUpdate::Sent { id, command_line } => {
                self.entries.push(Entry {
                    id,
                    command_line,
                    state: EntryState::Sent,
                });
                if self.entries.len() > KEPT {
                    self.entries.remove(0);
                }
            }
            CommandUpdate::WaitingForApproval { id } => {
                if let Some(entry) = entry(&mut self.entries, id) {
                    entry.state = EntryState::WaitingForApproval;
                }
            }
            CommandUpdate::Refused { id, reason } => {
                if let Some(entry) = entry(&mut self.entries, id) {
                    entry.state = EntryState::Refused(reason);
                }
            }
            CommandUpdate::Finished(output) => {
                if let Some(entry) = entry(&mut self.entries, output.id) {
                    let mut text = output.stdout;
                    if !output.stderr.is_empty() {
                        text.push_str(&output.stderr);
                    }
                    entry.state = EntryState::Finished {
                        exit_code: output.exit_code,
                        output: text,
                        truncated: output.truncated,
                    };
                }
            }
        }
    }

    /// Opens the window with the keyboard in the command field.
    pub fn open_for_typing(&mut self) {
        self.open = true;
        self.focus_field = true;
    }

    /// Forgets everything (a new session).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.input.clear();
        self.open = false;
    }

    /// Draws the window; returns a command line to run when the technician sends one.
    pub fn show(&mut self, ctx: &egui::Context) -> Option<String> {
        let mut run = None;
        let mut open = self.open;
        egui::Window::new("Commands")
            .open(&mut open)
            .default_width(520.0)
            .default_height(360.0)
            .show(ctx, |ui| {
                ui.label(
                    "Runs on the end user's computer with their account. The end user may be \
                     asked to approve each command.",
                );
                ui.horizontal(|ui| {
                    let label = ui.label("Command");
                    let field = ui
                        .add(
                            egui::TextEdit::singleline(&mut self.input)
                                .hint_text("e.g. df -h")
                                .desired_width(320.0)
                                .font(egui::TextStyle::Monospace),
                        )
                        .labelled_by(label.id);
                    if std::mem::take(&mut self.focus_field) {
                        field.request_focus();
                    }
                    let entered =
                        field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                    let clicked = ui.button("Run").clicked();
                    if (entered || clicked) && !self.input.trim().is_empty() {
                        run = Some(std::mem::take(&mut self.input).trim().to_owned());
                        // Ready for the next command.
                        self.focus_field = true;
                    }
                });
                ui.separator();
                egui::ScrollArea::vertical()
                    .stick_to_bottom(true)
                    .show(ui, |ui| {
                        for entry in &self.entries {
                            entry_ui(ui, entry);
                        }
                    });
            });
        self.open = open;
        run
    }
}

fn entry_ui(ui: &mut egui::Ui, entry: &Entry) {
    ui.label(
        RichText::new(format!("$ {}", entry.command_line))
            .monospace()
            .strong(),
    );
    match &entry.state {
        EntryState::Sent => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Sent…");
            });
        }
        EntryState::WaitingForApproval => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Waiting for the end user to approve this command…");
            });
        }
        EntryState::Refused(reason) => {
            ui.colored_label(ui.visuals().warn_fg_color, format!("Not run: {reason}."));
        }
        EntryState::Finished {
            exit_code,
            output,
            truncated,
        } => {
            if !output.is_empty() {
                ui.label(RichText::new(output).monospace());
            }
            let status = match exit_code {
                Some(0) => "Exit code 0.".to_owned(),
                Some(code) => format!("Exit code {code}."),
                None => "Stopped (no exit code).".to_owned(),
            };
            let cut = if *truncated { " Output was cut." } else { "" };
            ui.label(RichText::new(format!("{status}{cut}")).weak());
        }
    }
    ui.add_space(6.0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifeline_protocol::action::CommandOutput;

    #[test]
    fn updates_follow_one_command_to_its_output() {
        let mut panel = CommandsPanel::default();
        panel.apply(CommandUpdate::Sent {
            id: 1,
            command_line: "uptime".to_owned(),
        });
        panel.apply(CommandUpdate::WaitingForApproval { id: 1 });
        assert_eq!(panel.entries[0].state, EntryState::WaitingForApproval);
        panel.apply(CommandUpdate::Finished(CommandOutput {
            id: 1,
            exit_code: Some(0),
            stdout: "up 3 days\n".to_owned(),
            stderr: String::new(),
            truncated: false,
        }));
        assert!(matches!(
            &panel.entries[0].state,
            EntryState::Finished { output, .. } if output == "up 3 days\n"
        ));
        // Answers about unknown commands change nothing.
        panel.apply(CommandUpdate::Refused {
            id: 9,
            reason: "no".to_owned(),
        });
        assert_eq!(panel.entries.len(), 1);
    }
}
