//! The "System" window: with the `sysinfo` permission the technician reads the end
//! user's system report (asked for when the window opens, again with "Refresh"); with
//! `diagnostics` they pick a check of the fixed menu, give its argument where it takes
//! one (checked here before anything is sent), and read each result: ok, warning or
//! failed, one line, details. Nothing here runs a command.

use egui::{Color32, RichText};
use lifeline_protocol::system::{
    DIAGNOSTICS, Diagnostic, DiagnosticInfo, DiagnosticReport, DiagnosticStatus, SystemInfoResult,
    SystemReport, format_bytes,
};
use lifeline_protocol::{Scope, ScopeSet};

use crate::link::{Command, InspectionUpdate};

/// Diagnostic results kept in the window.
const KEPT: usize = 20;

/// The system report as the window knows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum ReportState {
    /// Not asked for yet.
    #[default]
    NotAsked,
    /// Asked for (with this id, once the session sent it).
    Waiting(Option<u32>),
    /// Here.
    Ready(Box<SystemReport>),
    /// None, and why.
    Unavailable(String),
}

/// One diagnostic and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    id: u32,
    description: String,
    result: Option<DiagnosticReport>,
}

/// The window's state.
#[derive(Debug, Default)]
pub struct SystemPanel {
    /// Whether the window is open.
    pub open: bool,
    report: ReportState,
    /// The argument typed for each entry of [`DIAGNOSTICS`].
    arguments: [String; DIAGNOSTICS.len()],
    /// Why the last diagnostic was not sent (a bad argument).
    problem: Option<String>,
    entries: Vec<Entry>,
}

impl SystemPanel {
    /// Follows a request's progress.
    pub fn apply(&mut self, update: InspectionUpdate) {
        match update {
            InspectionUpdate::SystemInfoSent { id } => self.report = ReportState::Waiting(Some(id)),
            InspectionUpdate::SystemInfo { id, result } => {
                if self.report != ReportState::Waiting(Some(id)) {
                    return;
                }
                self.report = match result {
                    SystemInfoResult::Report(report) => ReportState::Ready(report),
                    SystemInfoResult::Unavailable { reason } => ReportState::Unavailable(reason),
                };
            }
            InspectionUpdate::DiagnosticSent { id, diagnostic } => {
                self.entries.push(Entry {
                    id,
                    description: diagnostic.describe(),
                    result: None,
                });
                if self.entries.len() > KEPT {
                    self.entries.remove(0);
                }
            }
            InspectionUpdate::DiagnosticResult(report) => {
                if let Some(entry) = self.entries.iter_mut().find(|e| e.id == report.id) {
                    entry.result = Some(report);
                }
            }
        }
    }

    /// Forgets everything (a new session).
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Draws the window with what `granted` allows; returns what to send.
    pub fn show(&mut self, ctx: &egui::Context, granted: ScopeSet) -> Vec<Command> {
        let mut commands = Vec::new();
        let sysinfo = granted.contains(Scope::SystemInfo);
        if self.open && sysinfo && self.report == ReportState::NotAsked {
            // Opening the window is asking for the report.
            self.report = ReportState::Waiting(None);
            commands.push(Command::RequestSystemInfo);
        }
        let mut open = self.open;
        egui::Window::new("System")
            .open(&mut open)
            .default_width(560.0)
            .default_height(680.0)
            .show(ctx, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    ui.heading("System information");
                    if sysinfo {
                        self.report_ui(ui, &mut commands);
                    } else {
                        not_granted_ui(ui, Scope::SystemInfo);
                    }
                    ui.separator();
                    ui.heading("Diagnostics");
                    if granted.contains(Scope::Diagnostics) {
                        self.diagnostics_ui(ui, &mut commands);
                    } else {
                        not_granted_ui(ui, Scope::Diagnostics);
                    }
                });
            });
        self.open = open;
        commands
    }

    fn report_ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        // A request the session never sent (e.g. refused) does not block a new one.
        let waiting = matches!(self.report, ReportState::Waiting(Some(_)));
        ui.horizontal(|ui| {
            ui.label("Read from the end user's computer; no program is run.");
            if ui
                .add_enabled(!waiting, egui::Button::new("Refresh"))
                .clicked()
            {
                self.report = ReportState::Waiting(None);
                commands.push(Command::RequestSystemInfo);
            }
        });
        match &self.report {
            ReportState::NotAsked => {}
            ReportState::Waiting(_) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Asking the end user's computer…");
                });
            }
            ReportState::Unavailable(reason) => {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!("No system information: {reason}."),
                );
            }
            ReportState::Ready(report) => report_grid_ui(ui, report),
        }
    }

    fn diagnostics_ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        ui.label("Read-only checks run on the end user's computer.");
        egui::Grid::new("diagnostics-menu")
            .num_columns(2)
            .spacing([12.0, 6.0])
            .show(ui, |ui| {
                for (info, argument) in DIAGNOSTICS.iter().zip(self.arguments.iter_mut()) {
                    let clicked = ui.button(info.title).clicked();
                    argument_ui(ui, info, argument);
                    ui.end_row();
                    if clicked {
                        match Diagnostic::parse(info.name, Some(argument.as_str())) {
                            Ok(diagnostic) => {
                                self.problem = None;
                                commands.push(Command::RunDiagnostic(diagnostic));
                            }
                            Err(err) => self.problem = Some(err.to_string()),
                        }
                    }
                }
            });
        if let Some(problem) = &self.problem {
            ui.colored_label(ui.visuals().error_fg_color, format!("Not run: {problem}."));
        }
        ui.add_space(6.0);
        for entry in self.entries.iter().rev() {
            entry_ui(ui, entry);
        }
    }
}

fn not_granted_ui(ui: &mut egui::Ui, scope: Scope) {
    ui.label(
        RichText::new(format!(
            "Not allowed: ask the end user for the \"{}\" permission in the toolbar.",
            super::toolbar::scope_chip(scope)
        ))
        .weak(),
    );
}

fn argument_ui(ui: &mut egui::Ui, info: &DiagnosticInfo, argument: &mut String) {
    match info.argument {
        Some(hint) => {
            ui.horizontal(|ui| {
                let label = ui.label(capitalised(hint));
                ui.add(
                    egui::TextEdit::singleline(argument)
                        .hint_text(match hint {
                            "host:port" => "e.g. example.com:443",
                            _ => "e.g. example.com",
                        })
                        .desired_width(220.0),
                )
                .labelled_by(label.id);
            });
        }
        None => {
            ui.label("");
        }
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn report_grid_ui(ui: &mut egui::Ui, report: &SystemReport) {
    egui::Grid::new("system-report")
        .num_columns(2)
        .spacing([16.0, 4.0])
        .striped(true)
        .show(ui, |ui| {
            let mut row = |name: &str, value: String| {
                ui.label(RichText::new(name).strong());
                // One label per line, so that each reads (and is found) on its own.
                ui.vertical(|ui| {
                    for line in value.lines() {
                        ui.label(line);
                    }
                });
                ui.end_row();
            };
            row("Computer", report.host_name.clone());
            row("User", report.user.clone());
            row(
                "System",
                format!("{} {}", report.os_name, report.os_version)
                    .trim()
                    .to_owned(),
            );
            row("Kernel", report.kernel.clone());
            row("Running for", format_uptime(report.uptime_secs));
            row(
                "Processor",
                format!(
                    "{} ({} logical processors)",
                    report.cpu_model, report.cpu_count
                ),
            );
            row(
                "Memory",
                format!(
                    "{} available of {}",
                    format_bytes(report.memory_available_bytes),
                    format_bytes(report.memory_total_bytes)
                ),
            );
            let disks: Vec<String> = report
                .disks
                .iter()
                .map(|disk| {
                    format!(
                        "{}: {} free of {} ({}, {})",
                        disk.mount_point,
                        format_bytes(disk.free_bytes),
                        format_bytes(disk.total_bytes),
                        disk.file_system,
                        disk.device
                    )
                })
                .collect();
            row("Disks", lines_or_none(disks));
            let interfaces: Vec<String> = report
                .interfaces
                .iter()
                .map(|interface| {
                    let addresses: Vec<String> = interface
                        .addresses
                        .iter()
                        .map(|a| format!("{}/{}", a.address, a.prefix_len))
                        .collect();
                    let mut parts = vec![format!(
                        "{} ({})",
                        interface.name,
                        if interface.up { "up" } else { "down" }
                    )];
                    if !addresses.is_empty() {
                        parts.push(addresses.join(", "));
                    }
                    if let Some(mac) = &interface.mac {
                        parts.push(format!("[{mac}]"));
                    }
                    parts.join(" ")
                })
                .collect();
            row("Network", lines_or_none(interfaces));
            let displays: Vec<String> = report
                .displays
                .iter()
                .map(|display| {
                    format!(
                        "{} {}×{}{}",
                        display.name,
                        display.width,
                        display.height,
                        if display.primary { " (primary)" } else { "" }
                    )
                })
                .collect();
            row("Displays", lines_or_none(displays));
            row("Lifeline", report.lifeline_version.clone());
        });
    if report.truncated {
        ui.label(RichText::new("Some lists were cut to the protocol's limits.").weak());
    }
}

fn lines_or_none(lines: Vec<String>) -> String {
    if lines.is_empty() {
        "none reported".to_owned()
    } else {
        lines.join("\n")
    }
}

/// `3 days 4 h 5 min`, `2 h 0 min`, `42 min`.
fn format_uptime(seconds: u64) -> String {
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60);
    match (days, hours) {
        (0, 0) => format!("{minutes} min"),
        (0, _) => format!("{hours} h {minutes} min"),
        (1, _) => format!("1 day {hours} h {minutes} min"),
        _ => format!("{days} days {hours} h {minutes} min"),
    }
}

fn status_chip(status: DiagnosticStatus) -> (&'static str, Color32) {
    match status {
        DiagnosticStatus::Ok => ("OK", Color32::from_rgb(0x2e, 0x9d, 0x4f)),
        DiagnosticStatus::Warning => ("Warning", Color32::from_rgb(0xd0, 0x8c, 0x00)),
        DiagnosticStatus::Failed => ("Failed", Color32::from_rgb(0xd0, 0x30, 0x30)),
        _ => ("Not run", Color32::GRAY),
    }
}

fn entry_ui(ui: &mut egui::Ui, entry: &Entry) {
    match &entry.result {
        None => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("{}: running…", entry.description));
            });
        }
        Some(report) => {
            let (word, colour) = status_chip(report.status);
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(word).strong().color(colour));
                ui.label(RichText::new(&entry.description).monospace());
                ui.label(&report.summary);
            });
            for line in &report.details {
                ui.label(RichText::new(format!("    {line}")).weak());
            }
        }
    }
    ui.add_space(4.0);
}

/// A small "System…" button in the bottom-right corner that opens the window again.
pub fn system_button_ui(ui: &egui::Ui) -> bool {
    egui::Area::new(egui::Id::unique("system-button"))
        .anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-8.0, -8.0))
        .show(ui.ctx(), |ui| ui.button("System…").clicked())
        .inner
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_in_words() {
        assert_eq!(format_uptime(42 * 60), "42 min");
        assert_eq!(format_uptime(2 * 3600), "2 h 0 min");
        assert_eq!(format_uptime(86_400 + 3600 + 60), "1 day 1 h 1 min");
        assert_eq!(format_uptime(3 * 86_400), "3 days 0 h 0 min");
    }

    #[test]
    fn only_the_answer_to_the_latest_request_is_shown() {
        let mut panel = SystemPanel::default();
        panel.apply(InspectionUpdate::SystemInfoSent { id: 4 });
        panel.apply(InspectionUpdate::SystemInfo {
            id: 3,
            result: SystemInfoResult::Unavailable {
                reason: "old".to_owned(),
            },
        });
        assert_eq!(panel.report, ReportState::Waiting(Some(4)));
        panel.apply(InspectionUpdate::SystemInfo {
            id: 4,
            result: SystemInfoResult::Report(Box::default()),
        });
        assert!(matches!(panel.report, ReportState::Ready(_)));
    }
}
