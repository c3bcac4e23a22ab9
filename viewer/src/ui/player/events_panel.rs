//! The player's side panel: the recording's events by time, coloured by kind; a click
//! seeks there. Input events (clicks, keys) are listed only on request.

use egui::{Color32, RichText};
use lifeline_protocol::Timestamp;

use super::timeline::{format_offset, kind_color};
use crate::recording::command::format_utc;
use crate::recording::events::{EventEntry, EventKind, EventList};
use crate::recording::playback::EventsState;

/// Draws the list; returns the time of the event clicked.
pub fn events_ui(
    ui: &mut egui::Ui,
    events: &EventsState,
    start: Timestamp,
    position: Timestamp,
    show_input: &mut bool,
) -> Option<Timestamp> {
    ui.add_space(6.0);
    ui.label(RichText::new("Events").strong().size(16.0));
    let list = match events {
        EventsState::Listing(done) => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Reading the events… {:.0}%", done * 100.0));
            });
            return None;
        }
        EventsState::Failed(words) => {
            ui.colored_label(ui.visuals().error_fg_color, words);
            return None;
        }
        EventsState::Listed(list) => list,
    };
    let inputs = list
        .entries
        .iter()
        .filter(|e| e.kind == EventKind::Input)
        .count();
    ui.label(
        RichText::new(format!(
            "{} events; click one to go there.",
            list.entries.len() - inputs
        ))
        .color(Color32::GRAY),
    );
    if inputs > 0 {
        ui.checkbox(show_input, format!("Show input ({inputs} clicks, keys)"));
    }
    notes_ui(ui, list);
    ui.separator();
    let shown: Vec<&EventEntry> = list
        .entries
        .iter()
        .filter(|e| *show_input || e.kind != EventKind::Input)
        .collect();
    let current = shown.partition_point(|e| e.time <= position).checked_sub(1);
    let row_height = ui.spacing().interact_size.y;
    let mut clicked = None;
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show_rows(ui, row_height, shown.len(), |ui, rows| {
            for i in rows {
                let event = shown[i];
                if row_ui(ui, event, start, current == Some(i)) {
                    clicked = Some(event.time);
                }
            }
        });
    clicked
}

fn notes_ui(ui: &mut egui::Ui, list: &EventList) {
    if list.left_out > 0 {
        ui.label(
            RichText::new(format!(
                "{} later events are not listed (too many).",
                list.left_out
            ))
            .color(Color32::GRAY),
        );
    }
    if let Some(stopped) = &list.stopped_by {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!("Events after this point could not be read: {stopped}."),
        );
    }
}

/// One event: its time from the start, a dot of its kind's colour, its text. True when
/// clicked.
fn row_ui(ui: &mut egui::Ui, event: &EventEntry, start: Timestamp, current: bool) -> bool {
    let offset = event
        .time
        .as_unix_millis()
        .saturating_sub(start.as_unix_millis());
    ui.horizontal(|ui| {
        let (dot, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
        ui.painter()
            .circle_filled(dot.center(), 4.0, kind_color(event.kind));
        let text = format!("{}  {}", format_offset(offset), event.text);
        ui.add(egui::Button::selectable(current, text).truncate())
            .on_hover_text(format!(
                "{} UTC, {}\n{}",
                format_utc(event.time),
                event.kind.label(),
                event.text
            ))
            .clicked()
    })
    .inner
}
