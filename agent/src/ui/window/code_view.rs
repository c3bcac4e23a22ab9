//! The screens without a decision: starting, waiting with the code, session ended.

use std::time::{Duration, Instant};

use egui::{RichText, Ui};

use super::state::{Notice, Waiting};
use super::widgets::warning_ui;
use crate::ui::UserCommand;
use crate::ui::text::Texts;

/// Size of the one-time code's digits, in points.
pub const CODE_TEXT_SIZE: f32 = 40.0;

/// Before the first code: the title and a spinner.
pub fn starting_ui(ui: &mut Ui, texts: &Texts) {
    ui.heading(texts.app_title);
    ui.add_space(12.0);
    ui.horizontal(|ui| {
        ui.spinner();
        ui.label(texts.starting);
    });
}

/// Service mode: the device ID and whose technicians may connect without a code.
pub fn unattended_only_ui(ui: &mut Ui, device_id: &str, organisations: &[String], texts: &Texts) {
    ui.heading(texts.app_title);
    ui.add_space(8.0);
    ui.label(texts.your_device_id);
    ui.label(RichText::new(device_id).monospace().size(20.0));
    ui.add_space(8.0);
    ui.label(texts.unattended_only);
    for organisation in organisations {
        ui.label(RichText::new(format!("• {organisation}")).strong());
    }
    ui.add_space(8.0);
    ui.label(texts.unattended_only_hint);
}

/// The device ID and the code to read out, the code's time left and any warnings.
/// The code to read out, with the warnings; returns the user's refusal of a
/// reconnection when they click it.
pub fn waiting_ui(
    ui: &mut Ui,
    waiting: &mut Waiting,
    texts: &Texts,
    now: Instant,
) -> Option<UserCommand> {
    let mut command = None;
    ui.heading(texts.app_title);
    ui.add_space(8.0);

    ui.label(texts.your_device_id);
    ui.label(RichText::new(&waiting.device_id).monospace().size(20.0));
    ui.add_space(8.0);

    ui.label(RichText::new(texts.your_code).strong());
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(&waiting.code)
                .monospace()
                .size(CODE_TEXT_SIZE)
                .strong(),
        );
        ui.add_space(8.0);
        let copy_label = if waiting.copied {
            texts.copied
        } else {
            texts.copy
        };
        if ui.button(copy_label).clicked() {
            // The technician types the digits; spaces are only there for reading aloud.
            let digits: String = waiting.code.split_whitespace().collect();
            ui.ctx().copy_text(digits);
            waiting.copied = true;
        }
    });
    match waiting.remaining(now) {
        Some(left) => {
            ui.label(
                RichText::new(format!(
                    "{} {}",
                    texts.code_valid_for,
                    minutes_seconds(left)
                ))
                .weak(),
            );
        }
        None => {
            ui.colored_label(ui.visuals().warn_fg_color, texts.code_expired);
        }
    }
    ui.add_space(4.0);
    ui.label(texts.read_code_hint);

    for notice in &waiting.notices {
        let text = match notice {
            Notice::WrongCodeTried { .. } => texts.wrong_code_tried.to_owned(),
            Notice::CodeLocked { until } => match until.checked_duration_since(now) {
                Some(left) if !left.is_zero() => {
                    let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                    format!("{} {seconds} {}", texts.code_locked, texts.seconds)
                }
                _ => continue,
            },
            Notice::MayResume { until } => match until.checked_duration_since(now) {
                Some(left) if !left.is_zero() => {
                    format!("{} {}", texts.may_resume_within, minutes_seconds(left))
                }
                _ => continue,
            },
        };
        ui.add_space(4.0);
        warning_ui(ui, &text);
        if matches!(notice, Notice::MayResume { .. }) && ui.button(texts.refuse_resume).clicked() {
            command = Some(UserCommand::RefuseResume);
        }
    }
    command
}

/// The session has ended: why, and that a new code comes.
pub fn ended_ui(ui: &mut Ui, reason: &str, texts: &Texts) {
    ui.heading(texts.session_ended);
    ui.add_space(8.0);
    if !reason.is_empty() {
        ui.label(reason);
    }
    ui.horizontal(|ui| {
        ui.spinner();
        ui.label(RichText::new(texts.waiting_for_new_code).weak());
    });
}

/// `4:05` for four minutes and five seconds, rounded up so it never shows `0:00` early.
fn minutes_seconds(left: Duration) -> String {
    let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_as_minutes_and_seconds() {
        assert_eq!(minutes_seconds(Duration::from_secs(245)), "4:05");
        assert_eq!(minutes_seconds(Duration::from_millis(59_001)), "1:00");
        assert_eq!(minutes_seconds(Duration::from_secs(9)), "0:09");
    }
}
