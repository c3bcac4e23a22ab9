//! The pointer and the monitor layout on X11, on a connection of their own, so that
//! the viewer can draw the pointer without a video frame for every move.
//!
//! The position comes from `QueryPointer` (one small round trip per call). The image
//! comes from XFixes `GetCursorImage`, fetched only at the start and after the server
//! announced a new one (`CursorNotify`, selected on the root window), so a moving
//! pointer costs no image transfers.

use x11rb::connection::Connection;
use x11rb::protocol::Event;
use x11rb::protocol::xfixes::{ConnectionExt as _, CursorNotifyMask};
use x11rb::protocol::xproto::{ConnectionExt as _, Window};
use x11rb::rust_connection::RustConnection;

use super::capture::cursor_shape;
use super::monitors::{backend, has_extension, has_randr_monitors, monitors};
use crate::platform::{CaptureError, Monitor, PointerState, PointerWatcher};

/// Watches the pointer of an X11 display. See the module documentation.
#[derive(Debug)]
pub struct X11PointerWatcher {
    conn: RustConnection,
    root: Window,
    has_randr: bool,
    has_xfixes: bool,
    image_changed: bool,
}

impl X11PointerWatcher {
    /// Connects to `display` (`None`: `$DISPLAY`).
    ///
    /// # Errors
    /// [`CaptureError::NoDisplay`] if no X server can be reached there;
    /// [`CaptureError::Backend`] if the server fails.
    pub fn open(display: Option<&str>) -> Result<Self, CaptureError> {
        let (conn, screen_num) = super::connect(display)
            .map_err(|(display, reason)| CaptureError::NoDisplay { display, reason })?;
        let root = conn
            .setup()
            .roots
            .get(screen_num)
            .map(|screen| screen.root)
            .ok_or_else(|| {
                CaptureError::Backend(format!("the server has no screen {screen_num}"))
            })?;
        let has_randr = has_randr_monitors(&conn)?;
        let has_xfixes = has_extension(&conn, x11rb::protocol::xfixes::X11_EXTENSION_NAME)?;
        if has_xfixes {
            // XFixes answers nothing else before the version is negotiated.
            conn.xfixes_query_version(5, 0)
                .map_err(backend)?
                .reply()
                .map_err(backend)?;
            conn.xfixes_select_cursor_input(root, CursorNotifyMask::DISPLAY_CURSOR)
                .map_err(backend)?
                .check()
                .map_err(backend)?;
        } else {
            tracing::warn!("the X server has no XFixes; the viewer draws a plain arrow");
        }
        Ok(Self {
            conn,
            root,
            has_randr,
            has_xfixes,
            image_changed: true,
        })
    }
}

impl PointerWatcher for X11PointerWatcher {
    fn monitors(&mut self) -> Result<Vec<Monitor>, CaptureError> {
        monitors(&self.conn, self.root, self.has_randr)
    }

    fn pointer(&mut self) -> Result<PointerState, CaptureError> {
        while let Some(event) = self.conn.poll_for_event().map_err(backend)? {
            if let Event::XfixesCursorNotify(_) = event {
                self.image_changed = true;
            }
        }
        let shape = if self.has_xfixes && self.image_changed {
            let reply = self
                .conn
                .xfixes_get_cursor_image()
                .map_err(backend)?
                .reply()
                .map_err(backend)?;
            self.image_changed = false;
            Some(cursor_shape(&reply)?)
        } else {
            None
        };
        let pointer = self
            .conn
            .query_pointer(self.root)
            .map_err(backend)?
            .reply()
            .map_err(backend)?;
        Ok(PointerState {
            x: pointer.root_x.into(),
            y: pointer.root_y.into(),
            shape,
        })
    }
}
