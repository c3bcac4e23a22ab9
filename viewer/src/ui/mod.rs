//! The viewer's window (eframe with the glow renderer): the connect screen, then the
//! remote screen with its toolbar, stats overlay and input forwarding.
//!
//! - [`app`]: the window's state; `logic` drains the session's updates and uploads the
//!   newest frame, `window_ui` draws and forwards input.
//! - [`connect_screen`], [`recent`]: the form, the recent devices (`recent.json`).
//! - [`remote_screen`], [`geometry`]: the texture and where it is drawn; the mapping
//!   from window to remote pixels. [`cursor_overlay`]: the agent's pointer over it.
//! - [`toolbar`], [`special_keys`]: the session's toolbar and its "Send keys" menu.
//! - [`forward`], [`input_map`]: egui events to protocol input; the key table.
//! - [`player`]: the recording player (`lifeline-viewer play FILE`, or "Open recording"
//!   on the connect screen).
//! - [`chat_panel`]: the "Chat" window (both ways, no permission needed).
//! - [`commands_panel`]: the "Commands" window (run a command, see its approval state and
//!   output).
//! - [`system_panel`]: the "System" window (the end user's system report and the
//!   diagnostics menu).
//! - [`files_panel`]: the "Files" window (send a file, fetch one, see approval, progress
//!   and where it was saved).
//!
//! The window never waits: it talks to the session only through [`crate::link`].

pub mod app;
pub mod chat_panel;
pub mod commands_panel;
pub mod connect_screen;
pub mod cursor_overlay;
pub mod files_panel;
pub mod forward;
pub mod geometry;
pub mod input_map;
pub mod player;
pub mod recent;
pub mod remote_screen;
pub mod special_keys;
pub mod system_panel;
pub mod toolbar;

use std::path::PathBuf;

use anyhow::Context as _;

pub use app::ViewerUi;

use crate::link::{ConnectRequest, WindowEnd};

/// How the window starts.
#[derive(Clone, Debug, Default)]
pub struct WindowOptions {
    /// Start in full screen, without the toolbar, showing the remote screen 1:1 from
    /// the top-left corner (F11 or the handle at the top shows the toolbar).
    pub fullscreen: bool,
    /// Connect at once (e.g. from the command line) instead of waiting for the form.
    pub initial: Option<ConnectRequest>,
    /// Where `recent.json` lives; default: the platform's data directory for
    /// `org.Lifeline.lifeline-viewer`.
    pub data_dir: Option<PathBuf>,
    /// Sharp text or fluid motion first on a slow link (the toolbar changes it).
    pub preference: lifeline_protocol::message::QualityPreference,
}

/// The eframe app: [`ViewerUi`] split over eframe's `logic` and `ui`.
#[derive(Debug)]
struct ViewerApp {
    state: ViewerUi,
}

impl eframe::App for ViewerApp {
    fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
        self.state.pass_done(frame.info().cpu_usage);
        self.state.logic(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.state.window_ui(ui);
    }

    fn clear_color(&self, _visuals: &egui::Visuals) -> [f32; 4] {
        [0.0, 0.0, 0.0, 1.0]
    }
}

/// Opens the viewer's window and runs it until it is closed.
pub fn run_window(window: WindowEnd, options: WindowOptions) -> anyhow::Result<()> {
    let viewport = egui::ViewportBuilder::default()
        .with_title("Lifeline viewer")
        .with_app_id("lifeline-viewer")
        .with_inner_size([1280.0, 800.0])
        .with_min_inner_size([480.0, 360.0])
        .with_fullscreen(options.fullscreen);
    let native_options = eframe::NativeOptions {
        viewport,
        renderer: eframe::Renderer::Glow,
        // Full-rate uploads of the remote screen gain nothing from dithering.
        dithering: false,
        ..eframe::NativeOptions::default()
    };
    let state = ViewerUi::new(window, options);
    eframe::run_native(
        "lifeline-viewer",
        native_options,
        Box::new(move |_creation| Ok(Box::new(ViewerApp { state }))),
    )
    .map_err(|error| anyhow::anyhow!("{error}"))
    .context("the viewer window failed")
}
