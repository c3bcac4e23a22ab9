//! The session toolbar: permissions held, asking for more, special keys, scaling, full
//! screen, stats and Disconnect.

use egui::{Color32, CornerRadius, RichText};
use lifeline_protocol::{Scope, ScopeSet};

use super::connect_screen::scope_words;
use super::geometry::ScaleMode;
use super::special_keys::SpecialKey;

/// How the session is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ViewSettings {
    /// Fit to the window or 1:1.
    pub mode: ScaleMode,
    /// Whether the window covers the screen.
    pub fullscreen: bool,
    /// Whether the toolbar is shown (hidden by default in full screen).
    pub toolbar_visible: bool,
    /// Whether the stats overlay is shown.
    pub stats_visible: bool,
}

/// What the technician asked for on the toolbar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolbarAction {
    /// Ask the end user for these permissions.
    RequestScopes(ScopeSet),
    /// Send a key combination.
    SendKeys(SpecialKey),
    /// Change the scaling.
    SetMode(ScaleMode),
    /// Enter or leave full screen.
    ToggleFullscreen,
    /// Show or hide the stats overlay.
    ToggleStats,
    /// Hide the toolbar (F11 or the handle brings it back).
    HideToolbar,
    /// End the session.
    Disconnect,
}

/// A permission's short name on a chip.
pub const fn scope_chip(scope: Scope) -> &'static str {
    match scope {
        Scope::ViewScreen => "Screen",
        Scope::ControlInput => "Input",
        Scope::Clipboard => "Clipboard",
        Scope::FileTransfer => "Files",
        Scope::SystemInfo => "System info",
        Scope::Diagnostics => "Diagnostics",
        Scope::RunCommands => "Commands",
        Scope::RecordSession => "Recording",
        _ => "Other",
    }
}

/// Draws the toolbar. `request_choice` holds what is ticked in "Request more…".
pub fn toolbar_ui(
    ui: &mut egui::Ui,
    granted: ScopeSet,
    view: &ViewSettings,
    request_choice: &mut ScopeSet,
) -> Option<ToolbarAction> {
    let mut action = None;
    ui.horizontal(|ui| {
        ui.label("Allowed:");
        if granted.is_empty() {
            ui.label(RichText::new("nothing").color(Color32::GRAY));
        }
        for scope in granted.iter() {
            chip_ui(ui, scope);
        }
        let missing = ScopeSet::all().difference(granted);
        ui.add_enabled_ui(!missing.is_empty(), |ui| {
            // Ticking a box keeps the menu open; "Ask" or a click outside closes it.
            let config = egui::containers::menu::MenuConfig::new()
                .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside);
            egui::containers::menu::MenuButton::new("Request more…")
                .config(config)
                .ui(ui, |ui| {
                    if let Some(scopes) = request_menu_ui(ui, missing, request_choice) {
                        action = Some(ToolbarAction::RequestScopes(scopes));
                        ui.close();
                    }
                });
        });
        ui.separator();
        ui.add_enabled_ui(granted.contains(Scope::ControlInput), |ui| {
            ui.menu_button("Send keys", |ui| {
                for key in SpecialKey::ALL {
                    if ui.button(key.label()).clicked() {
                        action = Some(ToolbarAction::SendKeys(key));
                        ui.close();
                    }
                }
            });
        });
        ui.separator();
        if ui
            .selectable_label(view.mode == ScaleMode::Fit, "Fit")
            .on_hover_text("Scale the remote screen to the window")
            .clicked()
        {
            action = Some(ToolbarAction::SetMode(ScaleMode::Fit));
        }
        if ui
            .selectable_label(view.mode == ScaleMode::Actual, "1:1")
            .on_hover_text("One remote pixel per screen pixel; scroll to see the rest")
            .clicked()
        {
            action = Some(ToolbarAction::SetMode(ScaleMode::Actual));
        }
        if ui
            .selectable_label(view.fullscreen, "Full screen")
            .clicked()
        {
            action = Some(ToolbarAction::ToggleFullscreen);
        }
        if ui.selectable_label(view.stats_visible, "Stats").clicked() {
            action = Some(ToolbarAction::ToggleStats);
        }
        if ui
            .button("Hide toolbar")
            .on_hover_text("F11 or the handle at the top brings it back")
            .clicked()
        {
            action = Some(ToolbarAction::HideToolbar);
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let disconnect = egui::Button::new(RichText::new("Disconnect").color(Color32::WHITE))
                .fill(Color32::from_rgb(170, 40, 40));
            if ui.add(disconnect).clicked() {
                action = Some(ToolbarAction::Disconnect);
            }
        });
    });
    action
}

fn chip_ui(ui: &mut egui::Ui, scope: Scope) {
    egui::Frame::new()
        .fill(Color32::from_rgb(32, 96, 64))
        .corner_radius(CornerRadius::same(9))
        .inner_margin(egui::Margin::symmetric(8, 2))
        .show(ui, |ui| {
            ui.label(RichText::new(scope_chip(scope)).color(Color32::WHITE));
        })
        .response
        .on_hover_text(scope_words(scope));
}

/// The "Request more…" menu: tick permissions not yet held, then ask.
fn request_menu_ui(
    ui: &mut egui::Ui,
    missing: ScopeSet,
    choice: &mut ScopeSet,
) -> Option<ScopeSet> {
    ui.label(RichText::new("Ask the end user for:").strong());
    for scope in missing.iter() {
        let mut ticked = choice.contains(scope);
        if ui.checkbox(&mut ticked, scope_words(scope)).changed() {
            if ticked {
                choice.insert(scope);
            } else {
                choice.remove(scope);
            }
        }
    }
    let wanted = choice.intersection(missing);
    let ask = ui.add_enabled(!wanted.is_empty(), egui::Button::new("Ask"));
    if ask.clicked() {
        *choice = ScopeSet::empty();
        return Some(wanted);
    }
    None
}

/// A small button at the top centre that brings the toolbar back; shown while the
/// pointer is near the top edge, so it never covers the picture otherwise. Returns
/// whether it was clicked.
pub fn toolbar_handle_ui(ui: &mut egui::Ui) -> bool {
    let screen = ui.max_rect();
    let near_top = ui
        .input(|i| i.pointer.hover_pos())
        .is_some_and(|pos| pos.y <= screen.min.y + 24.0);
    let id = egui::Id::unique("toolbar-handle");
    let was_hovered = ui.ctx().data(|d| d.get_temp::<bool>(id)).unwrap_or(false);
    if !near_top && !was_hovered {
        return false;
    }
    let response = egui::Area::new(id)
        .order(egui::Order::Foreground)
        .anchor(egui::Align2::CENTER_TOP, [0.0, 0.0])
        .show(ui.ctx(), |ui| ui.button("Show toolbar (F11)"))
        .inner;
    ui.ctx().data_mut(|d| d.insert_temp(id, response.hovered()));
    response.clicked()
}
