//! The eframe application around [`AgentUiState`]: drains the session's events each
//! frame, sends the user's commands, sizes the window for the screen shown.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use egui::{ViewportCommand, WindowLevel};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::{TryRecvError, TrySendError};

use super::banner::{BANNER_WIDTH, banner_height};
use super::state::{AgentUiState, Phase, WindowMode};
use super::{agent_ui, fonts};
use crate::ui::text::{Lang, Texts};
use crate::ui::{UiEvent, UiLink, UserCommand};

/// Size of the window showing the code (and the end of a session), in points.
const CODE_SIZE: egui::Vec2 = egui::vec2(520.0, 460.0);

/// Size of the window showing a consent prompt, in points.
const PROMPT_SIZE: egui::Vec2 = egui::vec2(520.0, 660.0);

/// Opens the window on this thread and runs it until it is closed.
pub(super) fn run(lang: Lang, link: UiLink) -> anyhow::Result<()> {
    let texts = lang.texts();
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(texts.app_title)
            .with_app_id("lifeline-agent")
            .with_inner_size(CODE_SIZE)
            .with_min_inner_size(egui::vec2(BANNER_WIDTH, banner_height(0, 0))),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    eframe::run_native(
        "lifeline-agent",
        options,
        Box::new(move |creation| {
            let ctx = creation.egui_ctx.clone();
            link.set_waker(Box::new(move || ctx.request_repaint()));
            fonts::install_cjk_font(&creation.egui_ctx, lang, fonts::CJK_FONT_CANDIDATES);
            fonts::apply_style(&creation.egui_ctx);
            Ok(Box::new(AgentApp::new(texts, link)))
        }),
    )
    .map_err(|error| anyhow::anyhow!("the agent's window could not be shown: {error}"))
}

/// The running window.
struct AgentApp {
    state: AgentUiState,
    texts: &'static Texts,
    events: mpsc::Receiver<UiEvent>,
    commands: mpsc::Sender<UserCommand>,
    /// Commands not yet accepted by the session's channel, oldest first.
    pending: VecDeque<UserCommand>,
    /// The window mode last applied to the viewport.
    mode: WindowMode,
    quit_sent: bool,
}

impl AgentApp {
    fn new(texts: &'static Texts, link: UiLink) -> Self {
        Self {
            state: AgentUiState::new(),
            texts,
            events: link.events,
            commands: link.commands,
            pending: VecDeque::new(),
            mode: WindowMode::Code,
            quit_sent: false,
        }
    }

    fn drain_events(&mut self, ctx: &egui::Context) {
        let now = Instant::now();
        loop {
            match self.events.try_recv() {
                Ok(event) => self.state.apply(event, now),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    tracing::debug!("the session closed the link; closing the window");
                    ctx.send_viewport_cmd(ViewportCommand::Close);
                    break;
                }
            }
        }
    }

    /// Sends queued commands without blocking; keeps the rest for the next frame.
    fn flush(&mut self, ctx: &egui::Context) {
        while let Some(command) = self.pending.pop_front() {
            match self.commands.try_send(command) {
                Ok(()) => {}
                Err(TrySendError::Full(command)) => {
                    self.pending.push_front(command);
                    ctx.request_repaint_after(Duration::from_millis(50));
                    break;
                }
                Err(TrySendError::Closed(command)) => {
                    tracing::debug!(?command, "the session is gone; command dropped");
                    self.pending.clear();
                    break;
                }
            }
        }
    }

    /// Resizes the window and keeps the banner on top when the screen needs it.
    fn apply_window_mode(&mut self, ctx: &egui::Context) {
        let mode = self.state.window_mode();
        if mode == self.mode {
            return;
        }
        self.mode = mode;
        let (size, level) = match mode {
            WindowMode::Code => (CODE_SIZE, WindowLevel::Normal),
            WindowMode::Prompt => (PROMPT_SIZE, WindowLevel::Normal),
            WindowMode::Banner {
                permissions,
                chat_lines,
            } => (
                egui::vec2(BANNER_WIDTH, banner_height(permissions, chat_lines)),
                WindowLevel::AlwaysOnTop,
            ),
        };
        ctx.send_viewport_cmd(ViewportCommand::WindowLevel(level));
        ctx.send_viewport_cmd(ViewportCommand::InnerSize(size));
    }
}

impl eframe::App for AgentApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.drain_events(ctx);
        self.apply_window_mode(ctx);
        if ctx.input(|input| input.viewport().close_requested()) && !self.quit_sent {
            self.quit_sent = true;
            self.pending.push_back(UserCommand::Quit);
        }
        self.flush(ctx);
        let counting_down = match &self.state.phase {
            Phase::WaitingForTechnician(_) => true,
            Phase::Session(session) => session.continue_until.is_some(),
            _ => false,
        };
        if counting_down {
            // The code's time left and the lock count down each second.
            ctx.request_repaint_after(Duration::from_secs(1));
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let command = egui::CentralPanel::default_margins()
            .show(ui, |ui| {
                agent_ui(ui, &mut self.state, self.texts, Instant::now())
            })
            .inner;
        if let Some(command) = command {
            tracing::debug!(?command, "user decided");
            self.pending.push_back(command);
            self.flush(ui.ctx());
        }
    }
}
