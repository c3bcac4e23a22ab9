//! The player's side panel: the recording's events by time, coloured by kind; a click
//! seeks there. Input events (clicks, keys) are listed only on request.

use egui::{Color32, RichText};
use lifeline_protocol::Timestamp;

use super::timeline::{format_offset, kind_color};
use crate::recording::command::format_utc;
use crate::recording::events::{EventEntry, EventKind, EventList};
use crate::recording::playback::EventsState;

/// How the list is shown: input events or not, and the row last scrolled to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListView {
    /// List clicks and keys too.
    pub show_input: bool,
    /// The current row when the list last followed the clock.
    pub followed: Option<usize>,
}

/// Draws the list; returns the time of the event clicked. The list scrolls to the
/// current event (the last one at or before the clock) whenever that changes.
pub fn events_ui(
    ui: &mut egui::Ui,
    events: &EventsState,
    start: Timestamp,
    position: Timestamp,
    view: &mut ListView,
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
        ui.checkbox(
            &mut view.show_input,
            format!("Show input ({inputs} clicks, keys)"),
        );
    }
    notes_ui(ui, list);
    ui.separator();
    let shown: Vec<&EventEntry> = list
        .entries
        .iter()
        .filter(|e| view.show_input || e.kind != EventKind::Input)
        .collect();
    let current = shown.partition_point(|e| e.time <= position).checked_sub(1);
    let row_height = ui.spacing().interact_size.y;
    let mut scroll = egui::ScrollArea::vertical().auto_shrink([false, false]);
    if current != view.followed {
        view.followed = current;
        if let Some(row) = current {
            // The current row a few rows from the top.
            let pitch = row_height + ui.spacing().item_spacing.y;
            scroll = scroll.vertical_scroll_offset((row.saturating_sub(3) as f32) * pitch);
        }
    }
    let mut clicked = None;
    scroll.show_rows(ui, row_height, shown.len(), |ui, rows| {
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
