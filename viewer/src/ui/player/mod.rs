//! The player window (`lifeline-viewer play FILE`, or "Open recording" on the connect
//! screen): the picture scaled to fit, play/pause, the [`timeline`] with event markers,
//! the speed, the time, the [`events_panel`], and the recording's header and integrity.
//!
//! It draws a [`Playback`] (the player on its own thread) and never waits for it:
//! [`PlayerUi::logic`] takes a snapshot of its state and the newest picture,
//! [`PlayerUi::window_ui`] draws and sends commands.

pub mod events_panel;
pub mod timeline;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use egui::{Color32, Key, RichText, TextureOptions};
use lifeline_protocol::Timestamp;
use lifeline_protocol::recording::{Header, Side, TechnicianVerification};

use self::events_panel::{ListView, events_ui};
use self::timeline::{Timeline, format_offset, timeline_ui};
use super::geometry::Placement;
use super::remote_screen::RemoteTexture;
use crate::recording::command::format_utc;
use crate::recording::playback::{
    EventsState, Integrity, Phase, Playback, PlaybackCommand, PlaybackState,
};
use crate::recording::player::Speed;

/// How far the arrow keys move the clock.
const ARROW_STEP: Duration = Duration::from_secs(5);

/// What the player window asks of whoever shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlayerAction {
    /// Close the player (back to the connect screen).
    Close,
}

/// The player window's state.
#[derive(Debug)]
pub struct PlayerUi {
    playback: Playback,
    state: PlaybackState,
    screen: RemoteTexture,
    waker_set: bool,
    list: ListView,
    closable: bool,
}

impl PlayerUi {
    /// Starts playing `path`; `closable`: offer a Close button (when the player stands
    /// in for the connect screen).
    pub fn open(path: &Path, closable: bool) -> Self {
        let playback = Playback::open(path);
        let state = playback.state();
        Self {
            playback,
            state,
            screen: RemoteTexture::default(),
            waker_set: false,
            list: ListView::default(),
            closable,
        }
    }

    /// The playback's state as drawn this frame.
    pub fn state(&self) -> &PlaybackState {
        &self.state
    }

    /// The picture's texture.
    pub fn screen(&self) -> &RemoteTexture {
        &self.screen
    }

    /// State updates, no drawing: the snapshot and the newest picture.
    pub fn logic(&mut self, ctx: &egui::Context) {
        if !self.waker_set {
            let waker_ctx = ctx.clone();
            self.playback
                .set_waker(Box::new(move || waker_ctx.request_repaint()));
            self.waker_set = true;
        }
        self.state = self.playback.state();
        if let Some(frame) = self.playback.frames().take() {
            if let Err(error) = self.screen.upload(ctx, &frame) {
                tracing::warn!(%error, "a picture of the recording could not be shown");
            }
            self.playback.frames().recycle(frame.rgba);
        }
        self.screen.set_options(TextureOptions::LINEAR);
        let checking = matches!(self.state.events, EventsState::Listing(_))
            || matches!(self.state.integrity, Integrity::Checking(_));
        if checking {
            // Progress is counted, not announced: look again now and then.
            ctx.request_repaint_after(Duration::from_millis(250));
        }
    }

    fn send(&self, command: PlaybackCommand) {
        self.playback.send(command);
    }

    /// Draws the window; returns what was asked of the caller.
    pub fn window_ui(&mut self, ui: &mut egui::Ui) -> Option<PlayerAction> {
        let mut action = None;
        egui::Panel::top("player-header").show(ui, |ui| {
            if header_ui(ui, &self.state, self.closable) {
                action = Some(PlayerAction::Close);
            }
        });
        if self.state.phase == Phase::Ready {
            egui::Panel::bottom("player-controls").show(ui, |ui| self.controls_ui(ui));
            egui::Panel::right("player-events")
                .resizable(true)
                .default_size(360.0)
                .min_size(220.0)
                .show(ui, |ui| {
                    // A resizable panel keeps the width of its content: keep all of it,
                    // so that a short "Reading the events…" does not shrink the panel.
                    ui.set_min_width(ui.available_width());
                    let seek = events_ui(
                        ui,
                        &self.state.events,
                        self.state.start,
                        self.state.position,
                        &mut self.list,
                    );
                    if let Some(time) = seek {
                        self.send(PlaybackCommand::Seek(time));
                    }
                });
            self.keys_ui(ui);
        }
        egui::CentralPanel::default()
            .frame(egui::Frame::NONE.fill(Color32::BLACK))
            .show(ui, |ui| picture_ui(ui, &self.screen, &self.state));
        action
    }

    /// Space plays or pauses; the arrows go five seconds back or forward.
    fn keys_ui(&self, ui: &egui::Ui) {
        if ui.ctx().memory(|m| m.focused().is_some()) {
            return;
        }
        let (space, left, right) = ui.input(|i| {
            (
                i.key_pressed(Key::Space),
                i.key_pressed(Key::ArrowLeft),
                i.key_pressed(Key::ArrowRight),
            )
        });
        if space {
            self.send(PlaybackCommand::Toggle);
        }
        let position = self.state.position;
        if left {
            let back = Timestamp(
                position
                    .as_unix_millis()
                    .saturating_sub(ARROW_STEP.as_millis() as u64),
            );
            self.send(PlaybackCommand::Seek(back));
        }
        if right {
            self.send(PlaybackCommand::Seek(position.saturating_add(ARROW_STEP)));
        }
    }

    fn controls_ui(&self, ui: &mut egui::Ui) {
        ui.add_space(4.0);
        let markers = match &self.state.events {
            EventsState::Listed(list) => list.entries.as_slice(),
            _ => &[],
        };
        let timeline = Timeline {
            start: self.state.start,
            end: self.state.end,
            limit: self.state.limit,
            position: self.state.position,
            events: markers,
        };
        if let Some(time) = timeline_ui(ui, &timeline) {
            self.send(PlaybackCommand::Seek(time));
        }
        ui.horizontal(|ui| {
            let label = if self.state.playing { "Pause" } else { "Play" };
            let button =
                egui::Button::new(RichText::new(label).size(16.0)).min_size(egui::vec2(96.0, 30.0));
            if ui.add(button).on_hover_text("Space").clicked() {
                self.send(if self.state.playing {
                    PlaybackCommand::Pause
                } else {
                    PlaybackCommand::Play
                });
            }
            ui.add_space(8.0);
            ui.label(
                RichText::new(format!(
                    "{} / {}",
                    format_offset(self.state.offset_ms(self.state.position)),
                    format_offset(self.state.offset_ms(self.state.end))
                ))
                .monospace()
                .size(15.0),
            );
            ui.add_space(16.0);
            ui.label("Speed");
            for speed in Speed::ALL {
                if ui
                    .selectable_label(self.state.speed == speed, speed.label())
                    .clicked()
                {
                    self.send(PlaybackCommand::Speed(speed));
                }
            }
        });
        ui.add_space(4.0);
    }
}

/// The file, who and when, and whether it is intact. True when Close was clicked.
fn header_ui(ui: &mut egui::Ui, state: &PlaybackState, closable: bool) -> bool {
    let mut close = false;
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        let name = state.file.file_name().map_or_else(
            || state.file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        ui.label(
            RichText::new(format!("Recording {name}"))
                .strong()
                .size(18.0),
        )
        .on_hover_text(state.file.display().to_string());
        if closable {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                close = ui.button("Close recording").clicked();
            });
        }
    });
    match (&state.phase, &state.header) {
        (Phase::Opening, _) => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Opening…");
            });
        }
        (Phase::Failed(words), _) => {
            ui.colored_label(ui.visuals().error_fg_color, words);
        }
        (Phase::Ready, Some(header)) => {
            header_lines_ui(ui, header);
            integrity_ui(ui, state);
        }
        (Phase::Ready, None) => {}
    }
    ui.add_space(4.0);
    close
}

fn header_lines_ui(ui: &mut egui::Ui, header: &Header) {
    let technician = &header.technician;
    let verified = match &technician.verification {
        TechnicianVerification::Organisation { name } => format!("verified by {name}"),
        _ => "name not verified".to_owned(),
    };
    let recorder = match header.recorder.side {
        Side::Technician => "the technician's viewer",
        Side::Agent => "the end user's agent",
    };
    egui::Grid::new("recording-header")
        .num_columns(2)
        .spacing([12.0, 2.0])
        .show(ui, |ui| {
            ui.label(RichText::new("Technician").color(Color32::GRAY));
            ui.label(format!(
                "{} ({verified}), key {}",
                technician.name, technician.fingerprint
            ));
            ui.end_row();
            ui.label(RichText::new("Agent").color(Color32::GRAY));
            ui.label(format!(
                "key {}, software {}",
                header.agent.fingerprint,
                header
                    .agent
                    .software_version
                    .as_deref()
                    .unwrap_or("unknown")
            ));
            ui.end_row();
            ui.label(RichText::new("Recorded").color(Color32::GRAY));
            ui.label(format!(
                "from {} UTC by {recorder} ({})",
                format_utc(header.started),
                header.recorder.software
            ));
            ui.end_row();
        });
}

/// The verification result in words and colour; a read problem even before it.
fn integrity_ui(ui: &mut egui::Ui, state: &PlaybackState) {
    let good = Color32::from_rgb(80, 190, 100);
    let warn = ui.visuals().warn_fg_color;
    let bad = ui.visuals().error_fg_color;
    match &state.integrity {
        Integrity::Checking(done) => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Checking integrity… {:.0}%", done * 100.0));
            });
        }
        Integrity::Intact {
            signer,
            signer_is_recorder,
        } => {
            ui.colored_label(
                good,
                format!("Intact: finished and signed throughout by {signer}."),
            );
            if !signer_is_recorder {
                ui.colored_label(
                    warn,
                    "Warning: the signing key is not the recording side's key named above.",
                );
            }
        }
        Integrity::CutShort { words } => {
            ui.colored_label(
                warn,
                format!("Cut short: {words}. Everything before it plays."),
            );
        }
        Integrity::Damaged {
            chunk,
            words,
            playable_until,
        } => {
            let at = chunk.map_or_else(String::new, |chunk| format!(" at chunk {chunk}"));
            let until = playable_until.map_or_else(String::new, |until| {
                format!(
                    " It plays up to {}; what follows is not shown.",
                    format_offset(state.offset_ms(until))
                )
            });
            ui.colored_label(
                bad,
                RichText::new(format!("Damaged or altered{at}: {words}.{until}")).strong(),
            );
        }
        Integrity::Unchecked(words) => {
            ui.colored_label(warn, format!("Integrity not checked: {words}"));
        }
    }
    if let Some(problem) = &state.problem
        && !matches!(state.integrity, Integrity::Damaged { .. })
    {
        ui.colored_label(warn, format!("{problem}."));
    }
}

/// The picture scaled to fit (framed: a black screen on black shows its edges), or
/// where opening stands.
fn picture_ui(ui: &mut egui::Ui, screen: &RemoteTexture, state: &PlaybackState) {
    let area = ui.max_rect();
    let phase = &state.phase;
    let (Some(texture), Some([width, height])) = (screen.texture_id(), screen.size()) else {
        let words = match phase {
            Phase::Opening => "Opening the recording…",
            Phase::Failed(_) => "This recording cannot be played.",
            Phase::Ready => "This recording holds no picture.",
        };
        ui.put(
            egui::Rect::from_center_size(area.center(), egui::vec2(area.width(), 40.0)),
            egui::Label::new(RichText::new(words).size(18.0).color(Color32::GRAY)),
        );
        return;
    };
    let placement = Placement::fit(area, [width as u32, height as u32]);
    let uv = egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));
    ui.painter()
        .image(texture, placement.rect(), uv, Color32::WHITE);
    ui.painter().rect_stroke(
        placement.rect(),
        0.0,
        egui::Stroke::new(1.0, Color32::from_gray(70)),
        egui::StrokeKind::Outside,
    );
    if state.seeking {
        let corner = placement.rect().intersect(area).left_top() + egui::vec2(12.0, 12.0);
        egui::Area::new(egui::Id::unique("player-seeking"))
            .fixed_pos(corner)
            .show(ui.ctx(), |ui| {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("Seeking…");
                    });
                });
            });
    }
}

/// The eframe app around [`PlayerUi`].
struct PlayerApp {
    player: PlayerUi,
}

impl eframe::App for PlayerApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.player.logic(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.player.window_ui(ui);
    }
}

/// `lifeline-viewer play FILE`: opens the player window and runs it until it is closed.
pub fn run_player_window(path: PathBuf) -> anyhow::Result<()> {
    if !path.is_file() {
        anyhow::bail!(
            "there is no recording at {}: give the path of a .llrec file",
            path.display()
        );
    }
    let title = format!(
        "Lifeline recording – {}",
        path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned()
        )
    );
    let viewport = egui::ViewportBuilder::default()
        .with_title(title)
        .with_app_id("lifeline-viewer")
        .with_inner_size([1280.0, 800.0])
        .with_min_inner_size([640.0, 420.0]);
    let native_options = eframe::NativeOptions {
        viewport,
        renderer: eframe::Renderer::Glow,
        dithering: false,
        ..eframe::NativeOptions::default()
    };
    let player = PlayerUi::open(&path, false);
    eframe::run_native(
        "lifeline-viewer",
        native_options,
        Box::new(move |_creation| Ok(Box::new(PlayerApp { player }))),
    )
    .map_err(|error| anyhow::anyhow!("{error}"))
    .context("the player window failed")
}

/// The connect screen's "Play a recording" entry: a path and a button. Returns the
/// request to play once the path names a file.
pub fn open_recording_ui(
    ui: &mut egui::Ui,
    form: &mut super::connect_screen::ConnectForm,
) -> Option<super::connect_screen::ConnectAction> {
    let problem_id = egui::Id::unique("connect-recording-problem");
    ui.label(RichText::new("Play a recording").strong());
    let label = ui.label("Recording file");
    ui.add(
        egui::TextEdit::singleline(&mut form.recording)
            .hint_text("/path/to/session.llrec")
            .desired_width(f32::INFINITY),
    )
    .labelled_by(label.id);
    let mut action = None;
    if ui.button("Open recording").clicked() {
        let typed = form.recording.trim();
        let path = PathBuf::from(typed);
        let problem = if typed.is_empty() {
            Some("Type the path of a recording (.llrec) first.".to_owned())
        } else if !path.is_file() {
            Some(format!("There is no file at {}.", path.display()))
        } else {
            action = Some(super::connect_screen::ConnectAction::PlayRecording(path));
            None
        };
        ui.data_mut(|data| data.insert_temp(problem_id, problem));
    }
    if let Some(Some(problem)) = ui.data(|data| data.get_temp::<Option<String>>(problem_id)) {
        ui.colored_label(ui.visuals().error_fg_color, problem);
    }
    action
}
