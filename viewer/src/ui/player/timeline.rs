//! The player's timeline: a track from the start to the end of the recording, what has
//! played, a handle at the clock, event markers above it (coloured by kind, their text
//! on hover) and the stretch after damage shaded red. A click or a drag asks to seek.

use egui::{Color32, Pos2, Rect, Sense, Stroke, StrokeKind, pos2, vec2};
use lifeline_protocol::Timestamp;

use crate::recording::events::{EventEntry, EventKind};

/// How near (in points) the pointer must be to a marker for its text to show.
const HOVER_REACH: f32 = 4.0;
/// Most events named in one hover.
const HOVER_LINES: usize = 6;

/// A kind's colour, the same in the list and on the timeline.
pub fn kind_color(kind: EventKind) -> Color32 {
    match kind {
        EventKind::Consent => Color32::from_rgb(70, 180, 90),
        EventKind::Scopes => Color32::from_rgb(235, 170, 40),
        EventKind::Chat => Color32::from_rgb(70, 145, 235),
        EventKind::Command => Color32::from_rgb(180, 110, 230),
        EventKind::Clipboard => Color32::from_rgb(40, 180, 180),
        EventKind::Audit => Color32::from_rgb(160, 160, 160),
        EventKind::Recording => Color32::from_rgb(120, 125, 150),
        EventKind::SessionEnd => Color32::from_rgb(225, 75, 60),
        EventKind::Input => Color32::from_rgb(100, 100, 100),
    }
}

/// `m:ss.d`, or `h:mm:ss` from an hour on, for a time from the start.
pub fn format_offset(millis: u64) -> String {
    let seconds = millis / 1000;
    if seconds >= 3600 {
        format!(
            "{}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        )
    } else {
        format!(
            "{}:{:02}.{}",
            seconds / 60,
            seconds % 60,
            millis % 1000 / 100
        )
    }
}

/// What the timeline shows.
#[derive(Clone, Copy, Debug)]
pub struct Timeline<'a> {
    /// The start of the recording.
    pub start: Timestamp,
    /// Its last record.
    pub end: Timestamp,
    /// Where playback stops (before damage).
    pub limit: Timestamp,
    /// The clock.
    pub position: Timestamp,
    /// The events (those whose kind is a marker are drawn).
    pub events: &'a [EventEntry],
}

impl Timeline<'_> {
    fn span_ms(&self) -> f32 {
        (self
            .end
            .as_unix_millis()
            .saturating_sub(self.start.as_unix_millis()))
        .max(1) as f32
    }

    fn x_of(&self, track: Rect, time: Timestamp) -> f32 {
        let offset = time
            .as_unix_millis()
            .saturating_sub(self.start.as_unix_millis()) as f32;
        track.left() + track.width() * (offset / self.span_ms()).clamp(0.0, 1.0)
    }

    fn time_at(&self, track: Rect, x: f32) -> Timestamp {
        let fraction = ((x - track.left()) / track.width().max(1.0)).clamp(0.0, 1.0);
        let offset = (self.span_ms() * fraction).round() as u64;
        Timestamp(self.start.as_unix_millis().saturating_add(offset))
    }
}

/// Draws the timeline across the available width; returns where to seek when it was
/// clicked or dragged.
pub fn timeline_ui(ui: &mut egui::Ui, timeline: &Timeline<'_>) -> Option<Timestamp> {
    let size = vec2(ui.available_width(), 36.0);
    let (rect, response) = ui.allocate_exact_size(size, Sense::click_and_drag());
    let offset_ms = timeline
        .position
        .as_unix_millis()
        .saturating_sub(timeline.start.as_unix_millis());
    response.widget_info(|| egui::WidgetInfo::slider(true, offset_ms as f64 / 1000.0, "Timeline"));
    let track = Rect::from_min_max(
        pos2(rect.left() + 8.0, rect.top() + 18.0),
        pos2(rect.right() - 8.0, rect.top() + 26.0),
    );
    let painter = ui.painter_at(rect);
    let visuals = ui.visuals();
    painter.rect_filled(track, 4.0, visuals.extreme_bg_color);
    if timeline.limit < timeline.end {
        let bad = Rect::from_min_max(
            pos2(timeline.x_of(track, timeline.limit), track.top()),
            track.right_bottom(),
        );
        painter.rect_filled(bad, 0.0, Color32::from_rgb(150, 40, 40));
    }
    let played = Rect::from_min_max(
        track.left_top(),
        pos2(timeline.x_of(track, timeline.position), track.bottom()),
    );
    painter.rect_filled(played, 4.0, visuals.selection.bg_fill);
    paint_markers(&painter, timeline, track);
    let handle = pos2(timeline.x_of(track, timeline.position), track.center().y);
    painter.circle(
        handle,
        7.0,
        visuals.strong_text_color(),
        Stroke::new(1.5, visuals.extreme_bg_color),
    );
    painter.rect_stroke(
        track,
        4.0,
        visuals.widgets.noninteractive.bg_stroke,
        StrokeKind::Inside,
    );
    let seek = (response.clicked() || response.dragged())
        .then(|| response.interact_pointer_pos())
        .flatten()
        .map(|pointer| timeline.time_at(track, pointer.x));
    if let Some(pointer) = response.hover_pos() {
        let near = markers_near(timeline, track, pointer);
        let time = timeline.time_at(track, pointer.x);
        let (start, damaged) = (timeline.start, time > timeline.limit);
        response.on_hover_ui_at_pointer(|ui| {
            hover_ui(ui, start, time, &near);
            if damaged {
                ui.colored_label(ui.visuals().error_fg_color, "After the damage: not shown.");
            }
        });
    }
    seek
}

/// One mark per pixel column (the first event's kind there), so thousands of events
/// cost no more than the width.
fn paint_markers(painter: &egui::Painter, timeline: &Timeline<'_>, track: Rect) {
    let mut last_column = None;
    for event in timeline.events.iter().filter(|e| e.kind.is_marker()) {
        let x = timeline.x_of(track, event.time);
        let column = x.round() as i64;
        if last_column == Some(column) {
            continue;
        }
        last_column = Some(column);
        painter.line_segment(
            [pos2(x, track.top() - 14.0), pos2(x, track.top() - 2.0)],
            Stroke::new(2.0, kind_color(event.kind)),
        );
    }
}

fn markers_near<'a>(timeline: &Timeline<'a>, track: Rect, pointer: Pos2) -> Vec<&'a EventEntry> {
    let from = timeline.time_at(track, pointer.x - HOVER_REACH);
    let to = timeline.time_at(track, pointer.x + HOVER_REACH);
    let first = timeline.events.partition_point(|event| event.time < from);
    timeline.events[first..]
        .iter()
        .take_while(|event| event.time <= to)
        .filter(|event| event.kind.is_marker())
        .collect()
}

fn hover_ui(ui: &mut egui::Ui, start: Timestamp, time: Timestamp, near: &[&EventEntry]) {
    let since = |t: Timestamp| t.as_unix_millis().saturating_sub(start.as_unix_millis());
    if near.is_empty() {
        ui.label(format_offset(since(time)));
        return;
    }
    for event in near.iter().take(HOVER_LINES) {
        ui.horizontal(|ui| {
            ui.label(format_offset(since(event.time)));
            ui.colored_label(kind_color(event.kind), event.kind.label());
            ui.label(&event.text);
        });
    }
    if near.len() > HOVER_LINES {
        ui.label(format!("and {} more here", near.len() - HOVER_LINES));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_as_minutes_then_hours() {
        assert_eq!(format_offset(0), "0:00.0");
        assert_eq!(format_offset(83_450), "1:23.4");
        assert_eq!(format_offset(3_600_000), "1:00:00");
        assert_eq!(format_offset(3_725_900), "1:02:05");
    }

    #[test]
    fn the_track_maps_times_both_ways() {
        let timeline = Timeline {
            start: Timestamp(1_000),
            end: Timestamp(11_000),
            limit: Timestamp(11_000),
            position: Timestamp(1_000),
            events: &[],
        };
        let track = Rect::from_min_max(pos2(100.0, 0.0), pos2(200.0, 10.0));
        assert_eq!(timeline.x_of(track, Timestamp(6_000)), 150.0);
        assert_eq!(timeline.time_at(track, 150.0), Timestamp(6_000));
        assert_eq!(timeline.time_at(track, 0.0), Timestamp(1_000), "clamped");
        assert_eq!(timeline.time_at(track, 500.0), Timestamp(11_000), "clamped");
    }
}
