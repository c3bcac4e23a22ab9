//! The consent prompt: who asks, why, each permission with its own checkbox, the scam
//! warning, Allow and Deny. The same form answers a request for more permissions.

use egui::{Color32, RichText, Ui};
use lifeline_protocol::message::{TechnicianIdentity, Verification};

use super::state::{Consent, PromptKind};
use super::widgets::{warning_ui, wide_button};
use crate::ui::UserCommand;
use crate::ui::text::Texts;

/// Green of a verified identity, readable on light and dark backgrounds.
const VERIFIED_GREEN: Color32 = Color32::from_rgb(0x2e, 0x9e, 0x4f);

/// Draws the prompt; returns the answer once Allow or Deny is clicked.
pub fn consent_ui(ui: &mut Ui, consent: &mut Consent, texts: &Texts) -> Option<UserCommand> {
    let mut command = None;
    egui::Panel::bottom("consent_actions")
        .resizable(false)
        .show(ui, |ui| {
            ui.add_space(8.0);
            warning_ui(ui, texts.scam_warning);
            ui.add_space(8.0);
            ui.columns(2, |columns| {
                let width = columns[0].available_width();
                let deny = wide_button(RichText::new(texts.deny).size(18.0), width, 40.0);
                if columns[0].add(deny).clicked() {
                    command = Some(consent.deny());
                }
                let allow = wide_button(RichText::new(texts.allow).size(18.0), width, 40.0);
                if columns[1].add(allow).clicked() {
                    command = Some(consent.allow());
                }
            });
            ui.add_space(4.0);
        });

    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| prompt_ui(ui, consent, texts));
    command
}

/// Everything above the buttons.
fn prompt_ui(ui: &mut Ui, consent: &mut Consent, texts: &Texts) {
    let title = match consent.kind {
        PromptKind::Connect => texts.consent_title,
        PromptKind::MorePermissions => texts.more_permissions_title,
    };
    ui.heading(title);
    ui.add_space(8.0);

    let technician = &consent.prompt.technician;
    ui.label(RichText::new(&technician.display_name).size(20.0).strong());
    if consent.kind == PromptKind::Connect {
        ui.label(texts.wants_to_connect);
    }
    verification_ui(ui, technician, texts);
    if consent.prompt.unattended {
        ui.label(RichText::new(texts.unattended_prompt).strong());
    }
    ui.horizontal_wrapped(|ui| {
        ui.label(texts.key_fingerprint);
        ui.label(RichText::new(technician.fingerprint.to_string()).monospace());
    });

    if !consent.prompt.reason.trim().is_empty() {
        ui.add_space(6.0);
        ui.label(texts.reason);
        egui::Frame::new()
            .fill(ui.visuals().faint_bg_color)
            .corner_radius(6.0)
            .inner_margin(8.0)
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(&consent.prompt.reason);
            });
    }

    ui.add_space(8.0);
    ui.label(RichText::new(texts.asks_permission_to).strong());
    for (scope, ticked) in &mut consent.checkboxes {
        ui.checkbox(ticked, texts.scope(*scope));
    }
}

/// "Identity not verified" in the warning colour, or "Verified by" and the organisation in
/// green.
pub fn verification_ui(ui: &mut Ui, technician: &TechnicianIdentity, texts: &Texts) {
    match &technician.verification {
        Verification::Organisation { organisation } => {
            let text = format!("{} {organisation}", texts.verified_by);
            ui.label(RichText::new(text).color(VERIFIED_GREEN).strong());
        }
        // Anything this version does not know how to check counts as unverified.
        _ => {
            let colour = ui.visuals().warn_fg_color;
            ui.label(RichText::new(texts.unverified).color(colour).strong());
        }
    }
}
