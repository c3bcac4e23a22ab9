//! Small pieces shared by the screens.

use egui::{Atom, Button, RichText, Ui};

/// A line in the warning colour on a tinted, framed background.
pub(super) fn warning_ui(ui: &mut Ui, text: &str) {
    let colour = ui.visuals().warn_fg_color;
    egui::Frame::new()
        .fill(colour.gamma_multiply(0.12))
        .stroke(egui::Stroke::new(1.5, colour))
        .corner_radius(6.0)
        .inner_margin(10.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(text).color(colour).strong());
        });
}

/// A button as wide as `width` and `height` tall, its text centred.
pub(super) fn wide_button(text: RichText, width: f32, height: f32) -> Button<'static> {
    Button::new((Atom::grow(), text, Atom::grow())).min_size(egui::vec2(width, height))
}
