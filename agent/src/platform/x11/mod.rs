//! Linux/X11 backends: screen capture ([`X11Capturer`]) and input injection
//! ([`X11Injector`]), each on its own connection to the X server.
//!
//! - `capture`: MIT-SHM `GetImage` of the selected monitor (RandR 1.5 monitors), with a
//!   plain `GetImage` fallback, and the pointer through XFixes.
//! - `pointer`: the pointer's position and image, and the monitor list, on a
//!   connection of their own ([`X11PointerWatcher`]).
//! - `monitors`: RandR 1.5 monitors, shared by the two.
//! - `shm`: the System V shared memory segment, the only `unsafe` code here.
//! - `input`: XTest for pointer, buttons, wheel and keys by physical code; enigo for
//!   text.
//! - `keymap`: USB HID usages to Linux evdev codes (X keycode = evdev + 8).
//!
//! It does not handle Wayland sessions (other than through Xwayland, which shows only
//! X11 windows), nor screens whose pixels are not 32-bit little-endian BGRX.

mod capture;
mod damage;
mod input;
mod keymap;
mod monitors;
mod pointer;
mod shm;

pub use capture::X11Capturer;
pub use input::X11Injector;
pub use pointer::X11PointerWatcher;

use x11rb::rust_connection::RustConnection;

/// Connects to `display` (`None`: `$DISPLAY`). On failure returns the display name as
/// the user should see it and a reason that says what to do.
fn connect(display: Option<&str>) -> Result<(RustConnection, usize), (String, String)> {
    let shown = match display {
        Some(name) => name.to_owned(),
        None => std::env::var("DISPLAY").unwrap_or_default(),
    };
    if shown.is_empty() {
        return Err((
            shown,
            "DISPLAY is not set; run the agent inside an X11 desktop session, or pass the \
             display explicitly (for example --display :0)"
                .to_owned(),
        ));
    }
    x11rb::connect(display).map_err(|error| {
        let reason = format!(
            "{error}; check that an X server runs on {shown} and that this user may connect to \
             it (XAUTHORITY, xhost), or pass another display"
        );
        (shown, reason)
    })
}
