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
pub fn banner_height(permissions: usize) -> f32 {
    // Title, verification, "They may now:", Stop and margins, then one row per switch.
    let rows = u16::try_from(permissions).unwrap_or(u16::MAX);
    200.0 + 30.0 * f32::from(rows)
}

/// Draws the banner; returns `Revoke` when a permission is switched off and `Stop` when
/// Stop is clicked.
pub fn banner_ui(ui: &mut Ui, session: &Session, texts: &Texts) -> Option<UserCommand> {
    let mut command = None;
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
            ui.add_space(4.0);
            ui.label(RichText::new(texts.may_now).strong());
            for scope in session.granted.iter() {
                let mut allowed = true;
                if ui.checkbox(&mut allowed, texts.scope(scope)).changed() && !allowed {
                    command = Some(UserCommand::Revoke(scope.into()));
                }
            }
        });
    command
}
