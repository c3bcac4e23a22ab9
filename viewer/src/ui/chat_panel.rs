//! The "Chat" window: the technician and the end user write to each other. Chat needs
//! no permission; it opens by itself when the end user writes.

use egui::RichText;

/// Lines kept in the window.
const KEPT: usize = 200;

/// One line of the chat.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Line {
    from_end_user: bool,
    text: String,
}

/// The window's state.
#[derive(Debug, Default)]
pub struct ChatPanel {
    /// Whether the window is open.
    pub open: bool,
    /// The field takes the keyboard on the next frame.
    focus_field: bool,
    input: String,
    lines: Vec<Line>,
}

impl ChatPanel {
    /// The end user wrote `text`: show it, opening the window.
    pub fn received(&mut self, text: String) {
        self.push(true, text);
        self.open = true;
    }

    /// Opens the window with the keyboard in the field.
    pub fn open_for_typing(&mut self) {
        self.open = true;
        self.focus_field = true;
    }

    /// Forgets everything (a new session).
    pub fn clear(&mut self) {
        self.lines.clear();
        self.input.clear();
        self.open = false;
    }

    fn push(&mut self, from_end_user: bool, text: String) {
        if self.lines.len() == KEPT {
            self.lines.remove(0);
        }
        self.lines.push(Line {
            from_end_user,
            text,
        });
    }

    /// Draws the window; returns a line to send when the technician writes one.
    pub fn show(&mut self, ctx: &egui::Context) -> Option<String> {
        let mut sent = None;
        let mut open = self.open;
        // Over the "Chat…" button: the pointer that clicked it is over the window, so
        // keys go to its field, not to the remote screen under it.
        let corner = ctx.content_rect().right_bottom() - egui::vec2(8.0, 8.0);
        egui::Window::new("Chat")
            .open(&mut open)
            .pivot(egui::Align2::RIGHT_BOTTOM)
            .default_pos(corner)
            .default_width(380.0)
            .default_height(300.0)
            .show(ctx, |ui| {
                egui::ScrollArea::vertical()
                    .stick_to_bottom(true)
                    .max_height(220.0)
                    .show(ui, |ui| {
                        if self.lines.is_empty() {
                            ui.label(RichText::new("Nothing written yet.").weak());
                        }
                        for line in &self.lines {
                            let who = if line.from_end_user {
                                "End user"
                            } else {
                                "You"
                            };
                            ui.horizontal_wrapped(|ui| {
                                ui.label(RichText::new(format!("{who}:")).strong());
                                ui.label(&line.text);
                            });
                        }
                    });
                ui.separator();
                ui.horizontal(|ui| {
                    let label = ui.label("Message");
                    let field = ui
                        .add(
                            egui::TextEdit::singleline(&mut self.input)
                                .hint_text("Write to the end user")
                                .desired_width(220.0),
                        )
                        .labelled_by(label.id);
                    if std::mem::take(&mut self.focus_field) {
                        field.request_focus();
                    }
                    let entered =
                        field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                    let clicked = ui.button("Send").clicked();
                    if (entered || clicked) && !self.input.trim().is_empty() {
                        sent = Some(std::mem::take(&mut self.input).trim().to_owned());
                        self.focus_field = true;
                    }
                });
            });
        self.open = open;
        if let Some(text) = &sent {
            self.push(false, text.clone());
        }
        sent
    }
}

/// The button that opens the Chat window, at the bottom right beside "System…".
pub fn chat_button_ui(ui: &egui::Ui) -> bool {
    egui::Area::new(egui::Id::unique("chat-button"))
        .anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-96.0, -8.0))
        .show(ui.ctx(), |ui| ui.button("Chat…").clicked())
        .inner
}
