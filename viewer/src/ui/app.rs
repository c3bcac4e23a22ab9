//! The window's state and its two halves: [`ViewerUi::logic`] (drain updates, upload
//! the newest frame) and [`ViewerUi::window_ui`] (draw, forward input). Both run
//! without a network, so tests drive them through an `egui_kittest::Harness`.

use std::path::PathBuf;

use egui::{EventFilter, TextureOptions, ViewportCommand};
use lifeline_protocol::{Scope, ScopeSet};

use super::WindowOptions;
use super::chat_panel::{ChatPanel, chat_button_ui};
use super::commands_panel::CommandsPanel;
use super::connect_screen::{ConnectAction, ConnectForm, connect_screen_ui, reconnect_offer_ui};
use super::cursor_overlay::CursorOverlay;
use super::files_panel::{FilesAction, FilesPanel, files_button_ui};
use super::forward::{InputContext, InputForwarder, TOOLBAR_KEY};
use super::geometry::ScaleMode;
use super::recent::{RecentDevices, now_unix};
use super::remote_screen::{RemoteTexture, remote_screen_ui, stats_overlay_ui};
use super::system_panel::{SystemPanel, system_button_ui};
use super::toolbar::{QualityBar, ToolbarAction, ViewSettings, toolbar_handle_ui, toolbar_ui};
use crate::link::{
    Command, ConnectRequest, ReconnectOffer, RequestCredential, Stats, Status, Update, WindowEnd,
};
use lifeline_protocol::message::{MonitorList, QualityPreference, VideoQuality};

/// How long a notice stays on screen, in seconds.
const NOTICE_SECONDS: f64 = 6.0;
/// How long the window manager gets to carry out full screen, in seconds.
const COVER_DELAY_SECONDS: f64 = 0.5;

/// Everything the window knows.
#[derive(Debug)]
pub struct ViewerUi {
    window: WindowEnd,
    waker_set: bool,
    /// A recording being played instead of the connect screen.
    player: Option<super::player::PlayerUi>,
    status: Status,
    granted: ScopeSet,
    stats: Option<Stats>,
    quality: Option<VideoQuality>,
    preference: QualityPreference,
    notice: Option<(String, Option<f64>)>,
    form: ConnectForm,
    recent: RecentDevices,
    data_dir: Option<PathBuf>,
    view: ViewSettings,
    screen: RemoteTexture,
    forwarder: InputForwarder,
    request_choice: ScopeSet,
    outbox: Vec<Command>,
    reported_fullscreen: Option<bool>,
    fullscreen_since: Option<f64>,
    size_before_cover: Option<egui::Vec2>,
    minimized: Option<bool>,
    commands_panel: CommandsPanel,
    chat_panel: ChatPanel,
    system_panel: SystemPanel,
    files_panel: FilesPanel,
    monitors: Option<MonitorList>,
    /// The last session's connection was lost: it may be resumed without a new code.
    reconnect: Option<ReconnectOffer>,
    pointer: CursorOverlay,
    times: crate::stages::WindowTimes,
}

impl ViewerUi {
    /// The window's state, connecting at once if `options.initial` says so.
    pub fn new(window: WindowEnd, options: WindowOptions) -> Self {
        let data_dir = options.data_dir.or_else(super::recent::default_data_dir);
        let recent = data_dir
            .as_deref()
            .map(RecentDevices::load)
            .unwrap_or_default();
        let form = ConnectForm {
            address: recent
                .devices
                .first()
                .map(|d| d.address.clone())
                .unwrap_or_default(),
            technician_name: recent.technician_name.clone(),
            ..ConnectForm::default()
        };
        let mut ui = Self {
            window,
            waker_set: false,
            player: None,
            status: Status::Idle,
            granted: ScopeSet::empty(),
            stats: None,
            quality: None,
            preference: options.preference,
            notice: None,
            form,
            recent,
            data_dir,
            view: ViewSettings {
                // Full screen is for working on the remote screen at its own size.
                mode: if options.fullscreen {
                    ScaleMode::Actual
                } else {
                    ScaleMode::Fit
                },
                fullscreen: options.fullscreen,
                toolbar_visible: !options.fullscreen,
                stats_visible: !options.fullscreen,
            },
            screen: RemoteTexture::default(),
            forwarder: InputForwarder::default(),
            request_choice: ScopeSet::empty(),
            outbox: Vec::new(),
            reported_fullscreen: None,
            fullscreen_since: None,
            size_before_cover: None,
            minimized: None,
            commands_panel: CommandsPanel::default(),
            chat_panel: ChatPanel::default(),
            system_panel: SystemPanel::default(),
            files_panel: FilesPanel::default(),
            monitors: None,
            reconnect: None,
            pointer: CursorOverlay::default(),
            times: crate::stages::WindowTimes::default(),
        };
        if let Some(request) = options.initial {
            ui.form.address.clone_from(&request.address);
            match &request.credential {
                RequestCredential::Code(code) => ui.form.code.clone_from(code),
                RequestCredential::Unattended { totp } => {
                    ui.form.unattended = true;
                    ui.form.totp = totp.clone().unwrap_or_default();
                }
                RequestCredential::Resume(_) => {}
            }
            ui.form.technician_name.clone_from(&request.technician_name);
            ui.form.reason.clone_from(&request.reason);
            ui.form.scopes = request.scopes;
            ui.connect(request);
        }
        ui
    }

    /// Where the session stands.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The permissions granted now.
    pub fn granted(&self) -> ScopeSet {
        self.granted
    }

    /// The remote screen's texture.
    pub fn screen(&self) -> &RemoteTexture {
        &self.screen
    }

    /// The previous pass took `cpu_seconds` (eframe's frame time, without the buffer
    /// swap): counted for the frame it drew, in the stage statistics.
    pub fn pass_done(&mut self, cpu_seconds: Option<f32>) {
        self.times.pass_done(cpu_seconds);
    }

    /// The agent's pointer, as drawn over the picture.
    pub fn remote_pointer(&self) -> &crate::cursor::RemoteCursor {
        self.pointer.cursor()
    }

    /// How the session is shown.
    pub fn view(&self) -> &ViewSettings {
        &self.view
    }

    /// The connect form.
    pub fn form(&self) -> &ConnectForm {
        &self.form
    }

    /// The recent devices.
    pub fn recent(&self) -> &RecentDevices {
        &self.recent
    }

    /// What the agent sends now, as it last reported.
    pub fn quality(&self) -> Option<&VideoQuality> {
        self.quality.as_ref()
    }

    /// The technician's preference on a slow link.
    pub fn preference(&self) -> QualityPreference {
        self.preference
    }

    /// The notice shown, if any.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_ref().map(|(text, _)| text.as_str())
    }

    /// State updates, no drawing: wake-ups, session updates, the newest frame.
    pub fn logic(&mut self, ctx: &egui::Context) {
        if !self.waker_set {
            let waker_ctx = ctx.clone();
            // egui answers `request_repaint()` with two passes ("to settle"); a new frame
            // needs one, and on a machine without a GPU a pass of a full-screen picture
            // costs tens of milliseconds. A repaint after a delay, even a tiny one, is
            // one pass; updates that change the layout ask for the second pass below.
            self.window.set_waker(Box::new(move || {
                waker_ctx.request_repaint_after(std::time::Duration::from_millis(1));
            }));
            // Ctrl+plus/minus belong to the remote screen, not to egui's zoom.
            ctx.options_mut(|options| options.zoom_with_keyboard = false);
            self.waker_set = true;
        }
        let mut settle = false;
        while let Ok(update) = self.window.updates.try_recv() {
            settle |= !matches!(update, Update::Cursor { .. } | Update::Stats(_));
            self.apply(update);
        }
        if settle {
            ctx.request_repaint();
        }
        self.follow_the_window(ctx);
        if let Some(player) = &mut self.player {
            player.logic(ctx);
        }
        self.screen.set_options(match self.view.mode {
            ScaleMode::Fit => TextureOptions::LINEAR,
            ScaleMode::Actual => TextureOptions::NEAREST,
        });
        if let Some((frame, age)) = self.window.frames.take_with_age() {
            let upload_started = std::time::Instant::now();
            if let Err(error) = self.screen.upload(ctx, &frame) {
                tracing::warn!(%error, "a frame could not be shown");
                self.show_notice(format!("A picture could not be shown: {error}."));
            }
            self.times.taken(age, upload_started.elapsed());
            self.window.frames.recycle(frame.rgba);
        }
        if self.view.stats_visible && self.status == Status::Active {
            // The numbers arrive without waking the window.
            ctx.request_repaint_after_secs(0.5);
        }
        let now = ctx.input(|i| i.time);
        if let Some((_, until)) = &mut self.notice {
            let until = *until.get_or_insert(now + NOTICE_SECONDS);
            if now >= until {
                self.notice = None;
            } else {
                ctx.request_repaint_after_secs((until - now) as f32);
            }
        }
    }

    fn apply(&mut self, update: Update) {
        match update {
            Update::Status(status) => {
                if status != Status::Active && self.status == Status::Active {
                    // The session is over: the agent has released what it pressed.
                    self.forwarder.forget();
                    self.screen.clear();
                    self.granted = ScopeSet::empty();
                    self.stats = None;
                    self.quality = None;
                    self.commands_panel.clear();
                    self.chat_panel.clear();
                    self.system_panel.clear();
                    self.files_panel.clear();
                    self.monitors = None;
                    self.pointer.clear();
                }
                self.status = status;
            }
            Update::Granted(granted) => {
                if !granted.contains(Scope::ControlInput) {
                    self.forwarder.forget();
                }
                self.granted = granted;
            }
            Update::Refused { scopes } => {
                let words: Vec<_> = scopes.iter().map(super::toolbar::scope_chip).collect();
                self.show_notice(format!("The end user did not allow: {}.", words.join(", ")));
            }
            Update::Stats(stats) => self.stats = Some(stats),
            Update::Quality(quality) => self.quality = Some(quality),
            Update::Notice(text) => self.show_notice(text),
            Update::File(update) => {
                self.files_panel.open = true;
                self.files_panel.apply(update);
            }
            Update::Command(update) => {
                self.commands_panel.open = true;
                self.commands_panel.apply(update);
            }
            Update::Inspection(update) => {
                self.system_panel.open = true;
                self.system_panel.apply(update);
            }
            Update::ReconnectOffer(offer) => self.reconnect = Some(offer),
            Update::ChatFromEndUser(text) => self.chat_panel.received(text),
            update @ (Update::Monitors(_) | Update::CursorImage(_) | Update::Cursor { .. }) => {
                self.pointer.apply(&update);
                if let Update::Monitors(list) = update {
                    self.monitors = Some(list);
                }
            }
        }
    }

    /// Follows changes made outside the app: full screen left through the window
    /// manager, the window restored after being minimised.
    fn follow_the_window(&mut self, ctx: &egui::Context) {
        let (fullscreen, minimized) =
            ctx.input(|i| (i.viewport().fullscreen, i.viewport().minimized));
        if fullscreen.is_some() && fullscreen != self.reported_fullscreen {
            self.reported_fullscreen = fullscreen;
            if let Some(fullscreen) = fullscreen
                && fullscreen != self.view.fullscreen
            {
                self.view.fullscreen = fullscreen;
                self.view.toolbar_visible = !fullscreen;
            }
        }
        self.cover_the_screen_without_a_window_manager(ctx);
        if minimized.is_some() && minimized != self.minimized {
            if self.minimized == Some(true) && self.status == Status::Active {
                // Frames were skipped while hidden: ask for a fresh full picture.
                self.send(Command::RequestKeyframe);
            }
            self.minimized = minimized;
        }
    }

    /// Full screen is a request to the window manager; on a bare X server (Xvfb, kiosk)
    /// nobody carries it out. Half a second after asking, a window still smaller than
    /// its monitor is moved to the corner and sized to the monitor itself (and given
    /// its size back when full screen ends).
    fn cover_the_screen_without_a_window_manager(&mut self, ctx: &egui::Context) {
        let (now, inner, monitor) =
            ctx.input(|i| (i.time, i.viewport().inner_rect, i.viewport().monitor_size));
        if !self.view.fullscreen {
            self.fullscreen_since = None;
            if let Some(size) = self.size_before_cover.take() {
                ctx.send_viewport_cmd(ViewportCommand::InnerSize(size));
            }
            return;
        }
        let since = *self.fullscreen_since.get_or_insert(now);
        let waited = now - since;
        if waited < COVER_DELAY_SECONDS {
            ctx.request_repaint_after_secs((COVER_DELAY_SECONDS - waited) as f32);
            return;
        }
        if let (Some(inner), Some(monitor)) = (inner, monitor)
            && self.size_before_cover.is_none()
            && (inner.width() < monitor.x || inner.height() < monitor.y)
        {
            tracing::debug!(
                ?monitor,
                "full screen not carried out; covering the monitor"
            );
            self.size_before_cover = Some(inner.size());
            ctx.send_viewport_cmd(ViewportCommand::OuterPosition(egui::Pos2::ZERO));
            ctx.send_viewport_cmd(ViewportCommand::InnerSize(monitor));
        }
    }

    fn show_notice(&mut self, text: String) {
        self.notice = Some((text, None));
    }

    fn send(&self, command: Command) {
        if let Err(error) = self.window.commands.try_send(command) {
            tracing::warn!(%error, "the session is not taking commands; one was dropped");
        }
    }

    fn flush_outbox(&mut self) {
        for command in std::mem::take(&mut self.outbox) {
            self.send(command);
        }
    }

    fn connect(&mut self, request: ConnectRequest) {
        self.recent
            .remember(&request.address, &request.technician_name, now_unix());
        if let Some(dir) = &self.data_dir
            && let Err(error) = self.recent.save(dir)
        {
            tracing::warn!(path = %dir.display(), %error, "recent devices not saved");
        }
        self.granted = ScopeSet::empty();
        self.status = Status::Connecting;
        self.reconnect = None;
        self.send(Command::Connect(request));
        self.send(Command::Prefer(self.preference));
    }

    /// Draws the window: the connect screen, or the session once it is active.
    pub fn window_ui(&mut self, ui: &mut egui::Ui) {
        if self.status != Status::Active
            && let Some(player) = &mut self.player
        {
            if player.window_ui(ui) == Some(super::player::PlayerAction::Close) {
                self.player = None;
            }
            return;
        }
        if self.status == Status::Active {
            self.session_ui(ui);
        } else {
            egui::CentralPanel::default().show(ui, |ui| {
                if matches!(self.status, Status::Ended(_))
                    && let Some(offer) = &self.reconnect
                {
                    let left = offer
                        .until
                        .saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        self.reconnect = None;
                    } else if reconnect_offer_ui(ui, &offer.request.address, left) {
                        let request = offer.request.clone();
                        self.connect(request);
                        return;
                    }
                }
                let action =
                    connect_screen_ui(ui, &mut self.form, &self.recent, &self.status, now_unix());
                match action {
                    Some(ConnectAction::Connect(request)) => self.connect(request),
                    Some(ConnectAction::Cancel) => {
                        self.send(Command::Disconnect);
                        self.status = Status::Idle;
                    }
                    Some(ConnectAction::PlayRecording(path)) => {
                        self.player = Some(super::player::PlayerUi::open(&path, true));
                    }
                    None => {}
                }
                if let Some(notice) = self.notice() {
                    ui.label(notice);
                }
            });
        }
    }

    fn session_ui(&mut self, ui: &mut egui::Ui) {
        if ui.input(|i| i.key_pressed(TOOLBAR_KEY)) {
            self.view.toolbar_visible = !self.view.toolbar_visible;
        }
        if self.view.toolbar_visible {
            let action = egui::Panel::top("toolbar")
                .show(ui, |ui| {
                    let quality = QualityBar {
                        quality: self.quality,
                        preference: self.preference,
                    };
                    toolbar_ui(
                        ui,
                        self.granted,
                        &self.view,
                        &mut self.request_choice,
                        quality,
                        self.monitors.as_ref(),
                    )
                })
                .inner;
            if let Some(action) = action {
                self.act(ui.ctx(), action);
            }
        }
        egui::CentralPanel::default()
            .frame(egui::Frame::NONE)
            .show(ui, |ui| {
                let area = ui.max_rect();
                let drawn = remote_screen_ui(ui, &self.screen, self.view.mode);
                if let Some(drawn) = &drawn {
                    // While the technician's pointer drives the remote one, the remote
                    // pointer is drawn under it at once.
                    let driving = self.granted.contains(Scope::ControlInput)
                        && drawn.response.contains_pointer();
                    let local = ui.input(|i| i.pointer.hover_pos()).filter(|_| driving);
                    self.pointer.paint_ui(ui, &drawn.placement, area, local);
                }
                if self.view.stats_visible {
                    // In the picture's corner, not in the black bars around it.
                    let picture = drawn
                        .as_ref()
                        .map_or(area, |d| d.placement.rect().intersect(area));
                    stats_overlay_ui(ui, picture, &self.stats.unwrap_or_default());
                }
                if let Some(notice) = self.notice() {
                    notice_ui(ui, area, notice);
                }
                let input_allowed = self.granted.contains(Scope::ControlInput);
                // Not while a window (Chat, Commands…) lies over the picture under the
                // pointer: keys then go to that window's field.
                let under_a_window = ui
                    .ctx()
                    .pointer_hover_pos()
                    .and_then(|pos| ui.ctx().layer_id_at(pos))
                    .is_some_and(|layer| layer != ui.layer_id());
                let pointer_over = !under_a_window
                    && drawn
                        .as_ref()
                        .is_some_and(|d| d.response.contains_pointer());
                if let Some(drawn) = &drawn
                    && pointer_over
                    && input_allowed
                {
                    // Keys go to the remote screen, not to egui's focus navigation.
                    drawn.response.request_focus();
                    ui.memory_mut(|m| {
                        m.set_focus_lock_filter(
                            drawn.response.id,
                            EventFilter {
                                tab: true,
                                horizontal_arrows: true,
                                vertical_arrows: true,
                                escape: true,
                            },
                        );
                    });
                }
                let cx = InputContext {
                    placement: drawn.as_ref().map(|d| d.placement),
                    pointer_over,
                    input_allowed,
                    modifiers: ui.input(|i| i.modifiers),
                };
                // A discarded pass is run again with the same events: forward them once.
                if ui.ctx().current_pass_index() == 0 {
                    let (forwarder, outbox) = (&mut self.forwarder, &mut self.outbox);
                    ui.input(|i| {
                        for event in &i.events {
                            forwarder.handle(event, &cx, outbox);
                        }
                    });
                }
            });
        if !self.view.toolbar_visible && toolbar_handle_ui(ui) {
            self.view.toolbar_visible = true;
        }
        if !self.chat_panel.open && chat_button_ui(ui) {
            self.chat_panel.open_for_typing();
        }
        if let Some(text) = self.chat_panel.show(ui.ctx()) {
            self.send(Command::Chat(text));
        }
        if self.granted.contains(Scope::RunCommands) {
            if !self.commands_panel.open && commands_button_ui(ui) {
                self.commands_panel.open_for_typing();
            }
            if let Some(command_line) = self.commands_panel.show(ui.ctx()) {
                self.send(Command::RunCommand(command_line));
            }
        }
        if self.granted.contains(Scope::SystemInfo) || self.granted.contains(Scope::Diagnostics) {
            if !self.system_panel.open && system_button_ui(ui) {
                self.system_panel.open = true;
            }
            for command in self.system_panel.show(ui.ctx(), self.granted) {
                self.send(command);
            }
        }
        if self.granted.contains(Scope::FileTransfer) {
            if !self.files_panel.open && files_button_ui(ui) {
                self.files_panel.open = true;
            }
            match self.files_panel.show(ui.ctx()) {
                Some(FilesAction::Send(path)) => self.send(Command::SendFile(path)),
                Some(FilesAction::Fetch(path)) => self.send(Command::FetchFile(path)),
                Some(FilesAction::Cancel(ticket)) => self.send(Command::CancelFile(ticket)),
                None => {}
            }
        }
        self.flush_outbox();
    }

    fn act(&mut self, ctx: &egui::Context, action: ToolbarAction) {
        match action {
            ToolbarAction::RequestScopes(scopes) => {
                self.send(Command::RequestScopes(scopes));
                let words: Vec<_> = scopes.iter().map(super::toolbar::scope_chip).collect();
                self.show_notice(format!("Asked the end user for: {}.", words.join(", ")));
            }
            ToolbarAction::SendKeys(key) => {
                for event in key.events() {
                    self.send(Command::Key(event));
                }
            }
            ToolbarAction::SetMode(mode) => self.view.mode = mode,
            ToolbarAction::SelectMonitor(index) => self.send(Command::SelectMonitor(index)),
            ToolbarAction::ToggleFullscreen => {
                self.view.fullscreen = !self.view.fullscreen;
                self.view.toolbar_visible = !self.view.fullscreen;
                ctx.send_viewport_cmd(ViewportCommand::Fullscreen(self.view.fullscreen));
            }
            ToolbarAction::ToggleStats => self.view.stats_visible = !self.view.stats_visible,
            ToolbarAction::Prefer(preference) => {
                self.preference = preference;
                self.send(Command::Prefer(preference));
            }
            ToolbarAction::HideToolbar => self.view.toolbar_visible = false,
            ToolbarAction::Disconnect => {
                self.forwarder
                    .release_all(ctx.input(|i| i.modifiers), &mut self.outbox);
                self.flush_outbox();
                self.send(Command::Disconnect);
                self.forwarder.forget();
                self.screen.clear();
                self.granted = ScopeSet::empty();
                self.status = Status::Idle;
            }
        }
    }
}

fn notice_ui(ui: &mut egui::Ui, area: egui::Rect, notice: &str) {
    let painter = ui.painter_at(area);
    let galley = painter.layout(
        notice.to_owned(),
        egui::FontId::proportional(15.0),
        egui::Color32::WHITE,
        area.width() - 80.0,
    );
    let size = galley.size() + egui::vec2(24.0, 14.0);
    let rect = egui::Rect::from_center_size(
        egui::pos2(area.center().x, area.max.y - 24.0 - size.y / 2.0),
        size,
    );
    painter.rect_filled(rect, 8.0, egui::Color32::from_black_alpha(200));
    painter.galley(
        rect.min + egui::vec2(12.0, 7.0),
        galley,
        egui::Color32::WHITE,
    );
}

/// A small "Commands" button in the bottom-left corner that opens the window again.
fn commands_button_ui(ui: &egui::Ui) -> bool {
    egui::Area::new(egui::Id::unique("commands-button"))
        .anchor(egui::Align2::LEFT_BOTTOM, egui::vec2(8.0, -8.0))
        .show(ui.ctx(), |ui| ui.button("Commands…").clicked())
        .inner
}
