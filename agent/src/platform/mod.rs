//! What the agent needs from the operating system, one trait per capability.
//!
//! - [`Capturer`]: frames of a chosen monitor, the monitor list, the pointer.
//! - [`InputInjector`]: pointer, buttons, wheel, keys by physical code, and text.
//! - [`PointerWatcher`]: the pointer's position and image and the monitor list, apart
//!   from capture, so the viewer draws the pointer without a video frame per move.
//! - [`SystemInspector`]: what the technician may read about the computer (`sysinfo`)
//!   and the figures the diagnostics judge, read without running any program.
//!
//! Each OS has its own module, chosen here with `#[cfg]`; session logic never names an
//! OS. Linux/X11 is implemented (`x11`); other systems get a clear error from
//! [`open_capturer`] and [`open_injector`] until their backends exist.
//! [`fake`] provides in-memory implementations for tests.

use lifeline_codec::BgraFrame;
use lifeline_protocol::message::{KeyEvent, MouseButton};

pub mod fake;
#[cfg(target_os = "linux")]
pub mod linux;
#[cfg(target_os = "linux")]
pub mod x11;

/// One monitor of the desktop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Monitor {
    /// Stable index in the list, as chosen by the backend.
    pub index: u32,
    /// Name, e.g. `DP-1`.
    pub name: String,
    /// Left edge in desktop coordinates.
    pub x: i32,
    /// Top edge in desktop coordinates.
    pub y: i32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Whether it is the primary monitor.
    pub primary: bool,
}

/// The pointer as the capture backend sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CursorState {
    /// Column relative to the selected monitor's left edge.
    pub x: i32,
    /// Row relative to the selected monitor's top edge.
    pub y: i32,
    /// Changes whenever the shape changes.
    pub shape_serial: u32,
    /// The shape, when the backend has it and it changed since the last call.
    pub shape: Option<CursorShape>,
}

/// A pointer image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CursorShape {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Hot spot column.
    pub hot_x: u32,
    /// Hot spot row.
    pub hot_y: u32,
    /// Premultiplied RGBA, `width * height * 4` bytes.
    pub rgba: Vec<u8>,
}

/// The pointer in desktop coordinates, as [`PointerWatcher::pointer`] sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointerState {
    /// Column of the hot spot, in desktop coordinates.
    pub x: i32,
    /// Row of the hot spot, in desktop coordinates.
    pub y: i32,
    /// The image, on the first call and whenever it changed since the previous one.
    pub shape: Option<CursorShape>,
}

/// Screen capture failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// No display to capture (no X server, wrong `DISPLAY`).
    #[error(
        "cannot open the display {display:?}: {reason}. Start the agent inside a desktop session, or pass --display"
    )]
    NoDisplay {
        /// The display asked for.
        display: String,
        /// What went wrong.
        reason: String,
    },
    /// The monitor index does not exist.
    #[error("there is no monitor {0}")]
    NoSuchMonitor(u32),
    /// The platform has no capture backend in this build.
    #[error("screen capture is not implemented for this operating system yet")]
    Unsupported,
    /// The display server reported an error.
    #[error("screen capture failed: {0}")]
    Backend(String),
}

/// Input injection failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// No display to send input to.
    #[error("cannot open the display {display:?} for input: {reason}")]
    NoDisplay {
        /// The display asked for.
        display: String,
        /// What went wrong.
        reason: String,
    },
    /// The key has no equivalent on this system.
    #[error("the key with USB HID usage {0:#x} has no equivalent here")]
    UnknownKey(u16),
    /// The platform has no input backend in this build.
    #[error("input injection is not implemented for this operating system yet")]
    Unsupported,
    /// The display server reported an error.
    #[error("input injection failed: {0}")]
    Backend(String),
}

/// Captures the screen of one monitor at a time.
pub trait Capturer: Send {
    /// The monitors of the desktop, primary first when there is one.
    fn monitors(&mut self) -> Result<Vec<Monitor>, CaptureError>;

    /// Chooses which monitor [`Capturer::capture`] returns. Index 0 after opening.
    fn select_monitor(&mut self, index: u32) -> Result<Monitor, CaptureError>;

    /// The selected monitor's current picture. The frame borrows the capturer's own
    /// buffer until the next call; nothing is copied on the way.
    fn capture(&mut self) -> Result<BgraFrame<'_>, CaptureError>;

    /// Waits until the screen may have changed since the previous call, or `timeout`
    /// passes; returns whether it may have changed. Backends that the system notifies
    /// of drawing (X11 DAMAGE) sleep until then, so a still screen costs no captures;
    /// the default waits `timeout` and answers "maybe", which makes the caller poll.
    fn wait_for_change(&mut self, timeout: std::time::Duration) -> Result<bool, CaptureError> {
        std::thread::sleep(timeout);
        Ok(true)
    }

    /// Whether [`Capturer::wait_for_change`] is told of drawing by the system (so the
    /// caller need not capture between reports).
    fn notifies_changes(&self) -> bool {
        false
    }

    /// The pointer's position (and shape, when it changed), if the platform tells.
    fn cursor(&mut self) -> Result<Option<CursorState>, CaptureError>;
}

/// Watches the pointer and the monitor layout. Capture never includes the pointer (on
/// X11 `GetImage` leaves it out), so the viewer draws it from what this reports.
pub trait PointerWatcher: Send {
    /// The monitors of the desktop, in the order [`Capturer::monitors`] gives.
    fn monitors(&mut self) -> Result<Vec<Monitor>, CaptureError>;

    /// Where the pointer is now, and its image when it changed.
    fn pointer(&mut self) -> Result<PointerState, CaptureError>;
}

/// Sends input to the desktop as if from local devices.
pub trait InputInjector: Send {
    /// Moves the pointer to (x, y) in desktop coordinates.
    fn move_pointer(&mut self, x: i32, y: i32) -> Result<(), InputError>;

    /// Presses or releases a button at the current position.
    fn button(&mut self, button: MouseButton, pressed: bool) -> Result<(), InputError>;

    /// Scrolls by wheel notches (positive: down / right).
    fn wheel(&mut self, dx: i32, dy: i32) -> Result<(), InputError>;

    /// Presses or releases a key by its physical position (USB HID usage).
    fn key(&mut self, key: &KeyEvent) -> Result<(), InputError>;

    /// Types text, whatever the keyboard layout.
    fn type_text(&mut self, text: &str) -> Result<(), InputError>;
}

/// Opens the screen capture backend of this OS on `display` (X11: a display name such
/// as `:0`; `None`: the session's default).
pub fn open_capturer(display: Option<&str>) -> Result<Box<dyn Capturer>, CaptureError> {
    #[cfg(target_os = "linux")]
    {
        Ok(Box::new(x11::X11Capturer::open(display)?))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = display;
        Err(CaptureError::Unsupported)
    }
}

/// Opens the pointer watcher of this OS on `display`.
pub fn open_pointer_watcher(
    display: Option<&str>,
) -> Result<Box<dyn PointerWatcher>, CaptureError> {
    #[cfg(target_os = "linux")]
    {
        Ok(Box::new(x11::X11PointerWatcher::open(display)?))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = display;
        Err(CaptureError::Unsupported)
    }
}

/// Opens the input backend of this OS on `display`.
pub fn open_injector(display: Option<&str>) -> Result<Box<dyn InputInjector>, InputError> {
    #[cfg(target_os = "linux")]
    {
        Ok(Box::new(x11::X11Injector::open(display)?))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = display;
        Err(InputError::Unsupported)
    }
}

/// Memory figures, for the memory diagnostic.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MemoryStatus {
    /// Physical memory, in bytes.
    pub total_bytes: u64,
    /// Memory available to start programs without swapping, in bytes.
    pub available_bytes: u64,
    /// Swap space, in bytes.
    pub swap_total_bytes: u64,
    /// Swap space unused, in bytes.
    pub swap_free_bytes: u64,
    /// Share of the last 10 seconds in which some task waited for memory, in percent,
    /// where the kernel reports it (Linux pressure stall information).
    pub pressure_some_avg10: Option<f32>,
}

/// System information could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SystemInfoError {
    /// This platform has no backend yet.
    #[error("system information is not supported on this platform yet")]
    Unsupported,
    /// A source could not be read.
    #[error("cannot read {what}: {reason}")]
    Read {
        /// What was read, e.g. `/proc/meminfo`.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
}

/// Reads what the technician may see about this computer, and the figures the
/// diagnostics judge. Nothing here runs a program or changes anything.
pub trait SystemInspector: Send + Sync {
    /// The system report, without the displays (the session adds what capture sees).
    fn report(&self) -> Result<lifeline_protocol::system::SystemReport, SystemInfoError>;

    /// Memory and swap now.
    fn memory(&self) -> Result<MemoryStatus, SystemInfoError>;

    /// Mounted file systems that hold files, with their size and free space.
    fn disks(&self) -> Result<Vec<lifeline_protocol::system::DiskInfo>, SystemInfoError>;
}

/// A platform without a system information backend: every call says so.
#[derive(Debug, Default)]
pub struct UnsupportedSystem;

impl SystemInspector for UnsupportedSystem {
    fn report(&self) -> Result<lifeline_protocol::system::SystemReport, SystemInfoError> {
        Err(SystemInfoError::Unsupported)
    }

    fn memory(&self) -> Result<MemoryStatus, SystemInfoError> {
        Err(SystemInfoError::Unsupported)
    }

    fn disks(&self) -> Result<Vec<lifeline_protocol::system::DiskInfo>, SystemInfoError> {
        Err(SystemInfoError::Unsupported)
    }
}

/// The system information backend of this OS (on others, [`UnsupportedSystem`]).
pub fn system_inspector() -> Box<dyn SystemInspector> {
    #[cfg(target_os = "linux")]
    {
        Box::new(linux::LinuxSystem)
    }
    #[cfg(not(target_os = "linux"))]
    {
        Box::new(UnsupportedSystem)
    }
}
