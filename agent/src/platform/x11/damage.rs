//! Change notification through the X DAMAGE extension, so that a still screen costs no
//! captures: the capturer sleeps until the X server reports drawing.
//!
//! One `Damage` object watches the root window at report level `NonEmpty`: the server
//! sends one `DamageNotify` when the damaged region goes from empty to non-empty.
//! [`DamageWatch::wait`] takes that notification and empties the region again
//! *before* the caller captures, so drawing that happens during the capture raises a
//! new notification and is never missed.
#![allow(
    unsafe_code,
    reason = "poll(2) on the X connection's socket, to wait for an event with a timeout"
)]

use std::os::fd::AsRawFd as _;
use std::time::{Duration, Instant};

use x11rb::NONE;
use x11rb::connection::{Connection, RequestConnection as _};
use x11rb::protocol::Event;
use x11rb::protocol::damage::{self, ConnectionExt as _, ReportLevel};
use x11rb::protocol::xproto::Window;
use x11rb::rust_connection::RustConnection;

use crate::platform::CaptureError;

fn backend(error: impl std::fmt::Display) -> CaptureError {
    CaptureError::Backend(error.to_string())
}

/// A damage watch on the root window.
#[derive(Debug)]
pub(super) struct DamageWatch {
    damage: damage::Damage,
}

impl DamageWatch {
    /// Starts watching `root`, or `None` when the server has no DAMAGE extension.
    pub(super) fn create(
        conn: &RustConnection,
        root: Window,
    ) -> Result<Option<Self>, CaptureError> {
        if conn
            .extension_information(damage::X11_EXTENSION_NAME)
            .map_err(backend)?
            .is_none()
        {
            return Ok(None);
        }
        // DAMAGE answers nothing else before the version is negotiated.
        conn.damage_query_version(1, 1)
            .map_err(backend)?
            .reply()
            .map_err(backend)?;
        let id = conn.generate_id().map_err(backend)?;
        conn.damage_create(id, root, ReportLevel::NON_EMPTY)
            .map_err(backend)?
            .check()
            .map_err(backend)?;
        Ok(Some(Self { damage: id }))
    }

    /// Waits until something was drawn since the previous call, or `timeout` passes.
    /// Returns whether something was drawn.
    pub(super) fn wait(
        &self,
        conn: &RustConnection,
        timeout: Duration,
    ) -> Result<bool, CaptureError> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut damaged = false;
            while let Some(event) = conn.poll_for_event().map_err(backend)? {
                damaged |= matches!(event, Event::DamageNotify(_));
            }
            if damaged {
                conn.damage_subtract(self.damage, NONE, NONE)
                    .map_err(backend)?;
                conn.flush().map_err(backend)?;
                return Ok(true);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            wait_readable(conn, left)?;
        }
    }

    /// Stops watching.
    pub(super) fn destroy(&self, conn: &RustConnection) {
        if let Ok(cookie) = conn.damage_destroy(self.damage) {
            let _ = cookie.check();
        }
    }
}

/// Blocks until the X connection's socket has data, or `timeout` passes.
fn wait_readable(conn: &RustConnection, timeout: Duration) -> Result<(), CaptureError> {
    let mut pollfd = libc::pollfd {
        fd: conn.stream().as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let millis = libc::c_int::try_from(timeout.as_millis().max(1)).unwrap_or(libc::c_int::MAX);
    // SAFETY: `pollfd` is a valid, exclusively borrowed array of one element that
    // lives across the call; the descriptor belongs to the open connection.
    let ready = unsafe { libc::poll(&mut pollfd, 1, millis) };
    if ready < 0 {
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(backend(error));
        }
    }
    Ok(())
}
