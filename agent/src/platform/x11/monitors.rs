//! The monitors of an X11 screen (RandR 1.5 `GetMonitors`, else the whole root
//! window), shared by capture and the pointer watcher.

use x11rb::connection::RequestConnection as _;
use x11rb::protocol::randr::ConnectionExt as _;
use x11rb::protocol::xproto::{Atom, ConnectionExt as _, Window};
use x11rb::rust_connection::RustConnection;
use x11rb::{NONE, protocol};

use crate::platform::{CaptureError, Monitor};

/// A monitor as the server describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RawMonitor {
    /// RandR name atom; `NONE` for the whole root window.
    pub(super) name: Atom,
    pub(super) primary: bool,
    pub(super) x: i16,
    pub(super) y: i16,
    pub(super) width: u16,
    pub(super) height: u16,
}

pub(super) fn backend(error: impl std::fmt::Display) -> CaptureError {
    CaptureError::Backend(error.to_string())
}

pub(super) fn has_extension(
    conn: &RustConnection,
    name: &'static str,
) -> Result<bool, CaptureError> {
    Ok(conn.extension_information(name).map_err(backend)?.is_some())
}

/// Whether the server speaks RandR 1.5 (monitors).
pub(super) fn has_randr_monitors(conn: &RustConnection) -> Result<bool, CaptureError> {
    Ok(has_extension(conn, protocol::randr::X11_EXTENSION_NAME)?
        && conn
            .randr_query_version(1, 5)
            .map_err(backend)?
            .reply()
            .map_err(backend)
            .map(|v| (v.major_version, v.minor_version) >= (1, 5))?)
}

/// The current monitors, primary first, then in the server's order; the whole root
/// window when RandR lists none.
pub(super) fn raw_monitors(
    conn: &RustConnection,
    root: Window,
    has_randr: bool,
) -> Result<Vec<RawMonitor>, CaptureError> {
    let mut monitors = Vec::new();
    if has_randr {
        let reply = conn
            .randr_get_monitors(root, true)
            .map_err(backend)?
            .reply()
            .map_err(backend)?;
        monitors.extend(
            reply
                .monitors
                .iter()
                .filter(|m| m.width > 0 && m.height > 0)
                .map(|m| RawMonitor {
                    name: m.name,
                    primary: m.primary,
                    x: m.x,
                    y: m.y,
                    width: m.width,
                    height: m.height,
                }),
        );
        // Stable: non-primary monitors keep the server's order.
        monitors.sort_by_key(|m| !m.primary);
    }
    if monitors.is_empty() {
        let geometry = conn
            .get_geometry(root)
            .map_err(backend)?
            .reply()
            .map_err(backend)?;
        monitors.push(RawMonitor {
            name: NONE,
            primary: true,
            x: 0,
            y: 0,
            width: geometry.width,
            height: geometry.height,
        });
    }
    Ok(monitors)
}

fn monitor_name(conn: &RustConnection, name: Atom) -> Result<String, CaptureError> {
    if name == NONE {
        return Ok("screen".to_owned());
    }
    let reply = conn
        .get_atom_name(name)
        .map_err(backend)?
        .reply()
        .map_err(backend)?;
    Ok(String::from_utf8_lossy(&reply.name).into_owned())
}

pub(super) fn to_monitor(
    conn: &RustConnection,
    index: u32,
    raw: &RawMonitor,
) -> Result<Monitor, CaptureError> {
    Ok(Monitor {
        index,
        name: monitor_name(conn, raw.name)?,
        x: raw.x.into(),
        y: raw.y.into(),
        width: raw.width.into(),
        height: raw.height.into(),
        primary: raw.primary,
    })
}

/// Every monitor, numbered in list order.
pub(super) fn monitors(
    conn: &RustConnection,
    root: Window,
    has_randr: bool,
) -> Result<Vec<Monitor>, CaptureError> {
    let raw = raw_monitors(conn, root, has_randr)?;
    (0..)
        .zip(&raw)
        .map(|(index, monitor)| to_monitor(conn, index, monitor))
        .collect()
}
