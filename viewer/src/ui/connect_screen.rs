//! The first screen: where to connect, with which code, asking for which permissions;
//! the recent devices; and where the connection stands, in plain words.

use egui::{Color32, RichText};
use lifeline_protocol::{Scope, ScopeSet};

use super::recent::{RecentDevices, describe_age};
use crate::link::{ConnectRequest, RequestCredential, Status};

/// Digits in a one-time code.
pub const CODE_DIGITS: usize = 9;

/// What the technician has typed so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectForm {
    /// `host:port` of the agent.
    pub address: String,
    /// The one-time code as typed.
    pub code: String,
    /// The technician's name, shown to the end user.
    pub technician_name: String,
    /// Why, shown to the end user (optional).
    pub reason: String,
    /// Permissions to ask for.
    pub scopes: ScopeSet,
    /// Unattended access with the technician's certificate instead of a code.
    pub unattended: bool,
    /// Unattended: the second-factor code from the authenticator app (if the device
    /// asks for one).
    pub totp: String,
    /// Unattended: the device key's full fingerprint, for a device not met before.
    pub agent_fingerprint: String,
    /// Why the last attempt to connect was not sent, if it was not.
    pub problem: Option<String>,
    /// The path of a recording to play, as typed.
    pub recording: String,
}

impl Default for ConnectForm {
    fn default() -> Self {
        Self {
            address: String::new(),
            code: String::new(),
            technician_name: String::new(),
            reason: String::new(),
            scopes: ScopeSet::from([Scope::ViewScreen, Scope::ControlInput]),
            unattended: false,
            totp: String::new(),
            agent_fingerprint: String::new(),
            problem: None,
            recording: String::new(),
        }
    }
}

impl ConnectForm {
    /// The request to send, or what to fix first, in words.
    pub fn request(&self) -> Result<ConnectRequest, String> {
        let address = self.address.trim();
        if address.is_empty() {
            return Err("Type the device's address (host:port) first.".to_owned());
        }
        let credential = if self.unattended {
            let totp: String = self.totp.split_whitespace().collect();
            if !totp.is_empty() && (totp.len() != 6 || !totp.bytes().all(|b| b.is_ascii_digit())) {
                return Err("The second-factor code has 6 digits.".to_owned());
            }
            RequestCredential::Unattended {
                totp: (!totp.is_empty()).then_some(totp),
            }
        } else {
            check_code(&self.code)?;
            RequestCredential::Code(self.code.trim().to_owned())
        };
        let agent_fingerprint = match self.agent_fingerprint.trim() {
            "" => None,
            text => Some(
                crate::known_agents::parse_fingerprint(text)
                    .map_err(|_| "The device key has 64 hex digits.".to_owned())?,
            ),
        };
        if self.technician_name.trim().is_empty() {
            return Err("Type your name: the person you are helping sees it.".to_owned());
        }
        if self.scopes.is_empty() {
            return Err("Tick at least one permission to ask for.".to_owned());
        }
        Ok(ConnectRequest {
            address: address.to_owned(),
            credential,
            agent_fingerprint,
            scopes: self.scopes,
            technician_name: self.technician_name.trim().to_owned(),
            reason: self.reason.trim().to_owned(),
        })
    }
}

/// Checks that `code` is nine digits, spaces allowed between them.
pub fn check_code(code: &str) -> Result<(), String> {
    if code.chars().any(|c| !c.is_ascii_digit() && c != ' ') {
        return Err("The code has digits only (spaces are fine).".to_owned());
    }
    let digits = code.chars().filter(char::is_ascii_digit).count();
    if digits != CODE_DIGITS {
        return Err(format!(
            "The code has {CODE_DIGITS} digits; {digits} typed. Ask the person to read it again."
        ));
    }
    Ok(())
}

/// A permission in the words the technician reads.
pub const fn scope_words(scope: Scope) -> &'static str {
    match scope {
        Scope::ViewScreen => "See the screen",
        Scope::ControlInput => "Control mouse and keyboard",
        Scope::Clipboard => "Use the clipboard",
        Scope::FileTransfer => "Send and receive files",
        Scope::SystemInfo => "Read system information",
        Scope::Diagnostics => "Run diagnostics",
        Scope::RunCommands => "Run commands",
        Scope::RecordSession => "Record the session",
        _ => "Another permission",
    }
}

/// Where the connection stands, in words, and whether it is a failure.
pub fn status_words(status: &Status) -> Option<(String, bool)> {
    match status {
        Status::Idle | Status::Active => None,
        Status::Connecting => Some(("Connecting…".to_owned(), false)),
        Status::Authenticating => Some(("Checking the code…".to_owned(), false)),
        Status::WaitingForConsent => Some((
            "Waiting for the end user to allow the connection…".to_owned(),
            false,
        )),
        Status::Ended(reason) => Some((format!("Not connected: {reason}"), true)),
    }
}

/// After a lost connection: the offer to resume the session without a new code, for
/// as long as the agent keeps it (`left`). True when the technician clicks Reconnect.
pub fn reconnect_offer_ui(ui: &mut egui::Ui, address: &str, left: std::time::Duration) -> bool {
    let mut clicked = false;
    ui.add_space(16.0);
    ui.vertical_centered(|ui| {
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.label(
                egui::RichText::new(format!("The connection to {address} was lost.")).strong(),
            );
            let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            ui.label(format!(
                "You can reconnect without a new code, with the permissions the end user \
                 gave, for {}:{:02} more.",
                seconds / 60,
                seconds % 60
            ));
            clicked = ui.button("Reconnect").clicked();
        });
    });
    ui.ctx()
        .request_repaint_after(std::time::Duration::from_secs(1));
    clicked
}

/// Whether a connection attempt is under way (the form is locked meanwhile).
pub fn is_connecting(status: &Status) -> bool {
    matches!(
        status,
        Status::Connecting | Status::Authenticating | Status::WaitingForConsent
    )
}

/// What the technician asked for on this screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectAction {
    /// Connect with this request.
    Connect(ConnectRequest),
    /// Stop the attempt under way.
    Cancel,
    /// Play this recording.
    PlayRecording(std::path::PathBuf),
}

/// Draws the connect screen; returns what was asked for.
pub fn connect_screen_ui(
    ui: &mut egui::Ui,
    form: &mut ConnectForm,
    recent: &RecentDevices,
    status: &Status,
    now_unix: u64,
) -> Option<ConnectAction> {
    let mut action = None;
    let busy = is_connecting(status);
    // One centred column: the form's card and the recent devices' card side by side.
    let column_width = 820.0_f32.min(ui.available_width());
    let left_margin = ((ui.available_width() - column_width) / 2.0).max(0.0);
    ui.add_space(32.0);
    ui.horizontal_top(|ui| {
        ui.add_space(left_margin);
        ui.vertical(|ui| {
            ui.set_width(column_width);
            ui.label(RichText::new("Connect to a device").size(26.0).strong());
            ui.label(
                "Ask the person you are helping for the address and the code shown in \
                 their Lifeline window.",
            );
            ui.add_space(16.0);
            ui.horizontal_top(|ui| {
                card_ui(ui, 470.0, |ui| {
                    ui.add_enabled_ui(!busy, |ui| form_ui(ui, form));
                    ui.add_space(12.0);
                    action = connect_row_ui(ui, form, status, busy);
                });
                ui.add_space(16.0);
                card_ui(ui, 300.0, |ui| {
                    ui.add_enabled_ui(!busy, |ui| {
                        if let Some(address) = recent_ui(ui, recent, now_unix) {
                            form.address = address;
                            form.problem = None;
                        }
                        ui.add_space(16.0);
                        if let Some(play) = super::player::open_recording_ui(ui, form) {
                            action = Some(play);
                        }
                    });
                });
            });
        });
    });
    action
}

fn card_ui(ui: &mut egui::Ui, width: f32, add_contents: impl FnOnce(&mut egui::Ui)) {
    egui::Frame::group(ui.style())
        .inner_margin(16)
        .corner_radius(8)
        .show(ui, |ui| {
            ui.vertical(|ui| {
                ui.set_width(width);
                add_contents(ui);
            });
        });
}

/// The Connect (or Cancel) button, what is wrong with the form, and the status.
fn connect_row_ui(
    ui: &mut egui::Ui,
    form: &mut ConnectForm,
    status: &Status,
    busy: bool,
) -> Option<ConnectAction> {
    let mut action = None;
    ui.horizontal(|ui| {
        if busy {
            if ui.button("Cancel").clicked() {
                action = Some(ConnectAction::Cancel);
            }
            ui.spinner();
        } else {
            let connect = ui.add(
                egui::Button::new(RichText::new("Connect").strong().color(Color32::WHITE))
                    .fill(Color32::from_rgb(38, 110, 190))
                    .min_size(egui::vec2(120.0, 30.0)),
            );
            let enter = ui.input(|i| i.key_pressed(egui::Key::Enter));
            if connect.clicked() || (enter && !form.address.is_empty()) {
                match form.request() {
                    Ok(request) => {
                        form.problem = None;
                        action = Some(ConnectAction::Connect(request));
                    }
                    Err(problem) => form.problem = Some(problem),
                }
            }
        }
        if let Some((words, failed)) = status_words(status) {
            let color = if failed {
                ui.visuals().error_fg_color
            } else {
                ui.visuals().strong_text_color()
            };
            ui.add(egui::Label::new(RichText::new(words).color(color)).wrap());
        }
    });
    if let Some(problem) = &form.problem {
        ui.colored_label(ui.visuals().error_fg_color, problem);
    }
    action
}

fn form_ui(ui: &mut egui::Ui, form: &mut ConnectForm) {
    egui::Grid::new("connect-form")
        .num_columns(2)
        .spacing([12.0, 8.0])
        .show(ui, |ui| {
            labelled_field_ui(ui, "Address", &mut form.address, "host:port");
            if form.unattended {
                labelled_field_ui(ui, "2nd factor", &mut form.totp, "6 digits, if asked");
                labelled_field_ui(
                    ui,
                    "Device key",
                    &mut form.agent_fingerprint,
                    "full fingerprint, first time only",
                );
            } else {
                labelled_field_ui(ui, "Code", &mut form.code, "123 456 789");
            }
            labelled_field_ui(
                ui,
                "Your name",
                &mut form.technician_name,
                "shown to the end user",
            );
            labelled_field_ui(
                ui,
                "Reason",
                &mut form.reason,
                "optional, shown to the end user",
            );
        });
    ui.checkbox(
        &mut form.unattended,
        "Unattended: no code, with my organisation's certificate",
    );
    ui.add_space(8.0);
    ui.label(RichText::new("Permissions to ask for").strong());
    for scope in Scope::ALL {
        let mut ticked = form.scopes.contains(scope);
        if ui.checkbox(&mut ticked, scope_words(scope)).changed() {
            if ticked {
                form.scopes.insert(scope);
            } else {
                form.scopes.remove(scope);
            }
        }
    }
}

fn labelled_field_ui(ui: &mut egui::Ui, label: &str, value: &mut String, hint: &str) {
    let label = ui.label(label);
    ui.add(
        egui::TextEdit::singleline(value)
            .hint_text(hint)
            .desired_width(280.0),
    )
    .labelled_by(label.id);
    ui.end_row();
}

/// The recent devices; returns the address clicked.
fn recent_ui(ui: &mut egui::Ui, recent: &RecentDevices, now_unix: u64) -> Option<String> {
    ui.label(RichText::new("Recent devices").strong());
    if recent.devices.is_empty() {
        ui.label(RichText::new("None yet.").color(Color32::GRAY));
        return None;
    }
    let mut picked = None;
    for device in &recent.devices {
        ui.horizontal(|ui| {
            if ui
                .button(&device.address)
                .on_hover_text("Fill in this address")
                .clicked()
            {
                picked = Some(device.address.clone());
            }
            ui.label(
                RichText::new(describe_age(device.last_used_unix, now_unix)).color(Color32::GRAY),
            );
        });
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled() -> ConnectForm {
        ConnectForm {
            address: " 10.0.0.5:7070 ".into(),
            code: "123 456 789".into(),
            technician_name: "Sam".into(),
            ..ConnectForm::default()
        }
    }

    #[test]
    fn a_complete_form_makes_a_request() {
        let request = filled().request().expect("complete");
        assert_eq!(request.address, "10.0.0.5:7070");
        assert_eq!(
            request.credential,
            RequestCredential::Code("123 456 789".into())
        );
        assert_eq!(request.scopes.to_string(), "view,input");
    }

    #[test]
    fn codes_need_nine_digits() {
        assert!(check_code("123456789").is_ok());
        assert!(check_code(" 123 456 789 ").is_ok());
        assert!(check_code("12345678").is_err_and(|e| e.contains("8 typed")));
        assert!(check_code("12345678a").is_err());
        assert!(check_code("1234567890").is_err());
    }

    #[test]
    fn missing_fields_are_named() {
        let mut form = filled();
        form.address.clear();
        assert!(form.request().is_err_and(|e| e.contains("address")));
        let mut form = filled();
        form.technician_name = "  ".into();
        assert!(form.request().is_err_and(|e| e.contains("name")));
        let mut form = filled();
        form.scopes = ScopeSet::empty();
        assert!(form.request().is_err_and(|e| e.contains("permission")));
    }

    #[test]
    fn the_status_reads_in_plain_words() {
        assert_eq!(status_words(&Status::Idle), None);
        assert!(
            status_words(&Status::WaitingForConsent)
                .is_some_and(|(w, failed)| w.contains("Waiting for the end user") && !failed)
        );
        assert_eq!(
            status_words(&Status::Ended("wrong code".into())),
            Some(("Not connected: wrong code".to_owned(), true))
        );
    }
}
