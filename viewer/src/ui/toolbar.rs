//! The session toolbar: permissions held, asking for more, special keys, the monitor
//! shown, scaling, full screen, stats and Disconnect.

use egui::{Color32, CornerRadius, RichText};
use lifeline_protocol::message::{MonitorList, QualityPreference, VideoQuality};
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
    /// Show another of the agent's monitors.
    SelectMonitor(u32),
    /// Change the scaling.
    SetMode(ScaleMode),
    /// Enter or leave full screen.
    ToggleFullscreen,
    /// Show or hide the stats overlay.
    ToggleStats,
    /// Keep text sharp or motion fluid on a slow link.
    Prefer(QualityPreference),
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

/// The video quality as the toolbar shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QualityBar {
    /// What the agent last reported sending (none yet, or an agent that does not say).
    pub quality: Option<VideoQuality>,
    /// The technician's choice.
    pub preference: QualityPreference,
}

/// The agent's quality in a few words, e.g. `2/3 size · 1.2 Mbit/s · 15 fps`.
pub fn quality_words(quality: &VideoQuality) -> String {
    let size = match quality.scale_percent() {
        100.. => "full size".to_owned(),
        65..=67 => "2/3 size".to_owned(),
        49..=51 => "1/2 size".to_owned(),
        percent => format!("{percent}% size"),
    };
    format!(
        "{size} · {:.1} Mbit/s · {} fps",
        f64::from(quality.bitrate_bps) / 1_000_000.0,
        quality.frame_rate_hz
    )
}

/// Draws the toolbar. `request_choice` holds what is ticked in "Request more…".
pub fn toolbar_ui(
    ui: &mut egui::Ui,
    granted: ScopeSet,
    view: &ViewSettings,
    request_choice: &mut ScopeSet,
    quality: QualityBar,
    monitors: Option<&MonitorList>,
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
        if let Some(index) = monitors.and_then(|list| monitor_picker_ui(ui, list)) {
            action = Some(ToolbarAction::SelectMonitor(index));
        }
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
        ui.separator();
        if let Some(preference) = quality_ui(ui, quality) {
            action = Some(ToolbarAction::Prefer(preference));
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

/// A monitor's entry in the picker, e.g. `2: HDMI-1 (1280x720)`.
pub fn monitor_words(index: usize, monitor: &lifeline_protocol::message::MonitorInfo) -> String {
    let primary = if monitor.primary { ", primary" } else { "" };
    format!(
        "{}: {} ({}x{}{primary})",
        index + 1,
        monitor.name,
        monitor.width,
        monitor.height
    )
}

/// The monitor picker, when the agent has more than one monitor; returns the index
/// chosen.
fn monitor_picker_ui(ui: &mut egui::Ui, list: &MonitorList) -> Option<u32> {
    if list.monitors.len() < 2 {
        return None;
    }
    let mut chosen = None;
    egui::ComboBox::from_id_salt("monitor-picker")
        .selected_text(format!("Monitor {}", list.selected + 1))
        .show_ui(ui, |ui| {
            for (index, monitor) in (0..).zip(&list.monitors) {
                let words = monitor_words(index as usize, monitor);
                if ui.selectable_label(index == list.selected, words).clicked()
                    && index != list.selected
                {
                    chosen = Some(index);
                }
            }
        });
    chosen
}

/// What the agent sends now, and the choice between sharp text and fluid motion.
fn quality_ui(ui: &mut egui::Ui, bar: QualityBar) -> Option<QualityPreference> {
    let mut chosen = None;
    let choices = [
        (
            QualityPreference::Quality,
            "Sharp text",
            "On a slow link, keep the full resolution and lower the frame rate",
        ),
        (
            QualityPreference::Speed,
            "Fluid motion",
            "On a slow link, keep the frame rate and send a smaller picture",
        ),
    ];
    for (preference, label, hint) in choices {
        if ui
            .selectable_label(bar.preference == preference, label)
            .on_hover_text(hint)
            .clicked()
            && bar.preference != preference
        {
            chosen = Some(preference);
        }
    }
    if let Some(quality) = &bar.quality {
        let scaled = quality.scale_percent() < 100;
        let text = RichText::new(quality_words(quality)).color(if scaled {
            Color32::from_rgb(230, 170, 60)
        } else {
            Color32::GRAY
        });
        ui.label(text).on_hover_text(
            "What the agent sends now; it follows the link. A smaller picture is \
             scaled back to the remote screen's size.",
        );
    }
    chosen
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

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable as _;

    use super::*;

    fn two_thirds() -> VideoQuality {
        VideoQuality {
            screen_width: 1920,
            screen_height: 1080,
            frame_width: 1280,
            frame_height: 720,
            bitrate_bps: 700_000,
            frame_rate_hz: 16,
            preference: QualityPreference::Speed,
        }
    }

    #[test]
    fn the_quality_reads_in_words() {
        assert_eq!(
            quality_words(&two_thirds()),
            "2/3 size · 0.7 Mbit/s · 16 fps"
        );
        let full = VideoQuality {
            frame_width: 1920,
            frame_height: 1080,
            bitrate_bps: 4_000_000,
            frame_rate_hz: 30,
            ..two_thirds()
        };
        assert_eq!(quality_words(&full), "full size · 4.0 Mbit/s · 30 fps");
    }

    #[test]
    fn the_technician_chooses_fluid_motion_and_sees_the_quality() {
        let chosen = Rc::new(Cell::new(None));
        let sink = Rc::clone(&chosen);
        let bar = QualityBar {
            quality: Some(two_thirds()),
            preference: QualityPreference::Quality,
        };
        let mut harness = Harness::new_ui(move |ui| {
            if let Some(preference) = quality_ui(ui, bar) {
                sink.set(Some(preference));
            }
        });
        harness.get_by_label("2/3 size · 0.7 Mbit/s · 16 fps");
        harness.get_by_label("Sharp text").click();
        harness.run();
        assert_eq!(chosen.get(), None, "the current choice asks for nothing");
        harness.get_by_label("Fluid motion").click();
        harness.run();
        assert_eq!(chosen.get(), Some(QualityPreference::Speed));
    }
}
