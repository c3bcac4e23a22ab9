//! The session banner: who is connected, what they may do (each switchable off), and a
//! big red Stop.

use egui::{Color32, RichText, Ui};

use super::consent::verification_ui;
use super::state::Session;
use super::widgets::wide_button;
use crate::ui::UserCommand;
use crate::ui::text::Texts;

/// The Stop button's red.
const STOP_RED: Color32 = Color32::from_rgb(0xc6, 0x28, 0x28);

/// Banner width in points.
pub const BANNER_WIDTH: f32 = 380.0;

/// Banner height for `permissions` switches, in points: everything shows without
/// scrolling.
pub fn banner_height(permissions: usize, chat_lines: usize) -> f32 {
    // Title, verification, "They may now:", Stop and margins, then one row per switch;
    // the chat's heading and field, then one row per line shown.
    let rows = u16::try_from(permissions).unwrap_or(u16::MAX);
    let lines = u16::try_from(chat_lines).unwrap_or(u16::MAX);
    200.0 + 30.0 * f32::from(rows) + 64.0 + 22.0 * f32::from(lines)
}

/// Draws the banner; returns `Revoke` when a permission is switched off and `Stop` when
/// Stop is clicked.
pub fn banner_ui(
    ui: &mut Ui,
    session: &mut Session,
    texts: &Texts,
    now: std::time::Instant,
) -> Option<UserCommand> {
    let mut command = None;
    if let Some((id, scope, description)) = &session.pending_action {
        egui::Panel::top("banner_action")
            .resizable(false)
            .show(ui, |ui| {
                ui.add_space(6.0);
                ui.label(
                    RichText::new(format!(
                        "{} {}",
                        session.technician.display_name,
                        texts.question_for(*scope)
                    ))
                    .strong(),
                );
                ui.label(RichText::new(description).monospace().size(15.0));
                ui.columns(2, |columns| {
                    let width = columns[0].available_width();
                    let deny = wide_button(RichText::new(texts.deny).size(16.0), width, 34.0);
                    if columns[0].add(deny).clicked() {
                        command = Some(UserCommand::AnswerAction {
                            id: *id,
                            approved: false,
                        });
                    }
                    let allow =
                        wide_button(RichText::new(texts.allow_once).size(16.0), width, 34.0);
                    if columns[1].add(allow).clicked() {
                        command = Some(UserCommand::AnswerAction {
                            id: *id,
                            approved: true,
                        });
                    }
                });
                ui.add_space(4.0);
            });
    }
    if let Some(until) = session.continue_until {
        egui::Panel::top("banner_continue")
            .resizable(false)
            .show(ui, |ui| {
                ui.add_space(6.0);
                ui.label(RichText::new(texts.continue_question).size(16.0).strong());
                let left = until.saturating_duration_since(now).as_secs();
                ui.label(format!(
                    "{} {}:{:02}",
                    texts.continue_ends_in,
                    left / 60,
                    left % 60
                ));
                let button = wide_button(
                    RichText::new(texts.continue_yes).size(18.0),
                    ui.available_width(),
                    36.0,
                );
                if ui.add(button).clicked() {
                    command = Some(UserCommand::ContinueSession);
                }
                ui.add_space(4.0);
            });
    }
    egui::Panel::bottom("banner_stop")
        .resizable(false)
        .show(ui, |ui| {
            ui.add_space(8.0);
            let text = RichText::new(texts.stop)
                .size(22.0)
                .strong()
                .color(Color32::WHITE);
            let stop = wide_button(text, ui.available_width(), 44.0).fill(STOP_RED);
            if ui.add(stop).clicked() {
                command = Some(UserCommand::Stop);
            }
            ui.add_space(4.0);
        });

    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.label(texts.connected_to);
                ui.label(
                    RichText::new(&session.technician.display_name)
                        .size(18.0)
                        .strong(),
                );
            });
            verification_ui(ui, &session.technician, texts);
            if session.recorded {
                ui.label(RichText::new(texts.being_recorded).color(STOP_RED).strong());
            }
            if session.recorded_by_policy {
                ui.label(
                    RichText::new(texts.recorded_by_policy)
                        .color(STOP_RED)
                        .strong(),
                );
            }
            ui.add_space(4.0);
            ui.label(RichText::new(texts.may_now).strong());
            for scope in session.granted.iter() {
                let mut allowed = true;
                if ui.checkbox(&mut allowed, texts.scope(scope)).changed() && !allowed {
                    command = Some(UserCommand::Revoke(scope.into()));
                }
            }
            ui.add_space(6.0);
            if let Some(chat) = chat_ui(ui, session, texts) {
                command = Some(chat);
            }
        });
    command
}

/// The chat with the technician: the lines so far and a field to write in.
fn chat_ui(ui: &mut Ui, session: &mut Session, texts: &Texts) -> Option<UserCommand> {
    ui.label(RichText::new(texts.chat).strong());
    for line in &session.chat {
        let who = if line.from_technician {
            session.technician.display_name.as_str()
        } else {
            texts.you
        };
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(format!("{who}:")).strong());
            ui.label(&line.text);
        });
    }
    let mut send = false;
    ui.horizontal(|ui| {
        let field = ui.add(
            egui::TextEdit::singleline(&mut session.chat_draft)
                .hint_text(texts.chat_hint)
                .desired_width(ui.available_width() - 70.0),
        );
        let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        send = ui.button(texts.send).clicked() || entered;
    });
    let text = session.chat_draft.trim();
    (send && !text.is_empty()).then(|| UserCommand::Chat(text.to_owned()))
}
