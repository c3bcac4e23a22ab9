//! Screen capture on X11: MIT-SHM `GetImage` of one monitor, RandR 1.5 monitors, the
//! pointer through XFixes.
//!
//! Each [`Capturer::capture`] asks RandR for the current monitors (one round trip),
//! so a monitor that was resized or moved is captured at its new geometry and the
//! shared memory segment is re-created at the new size. Without MIT-SHM (a remote
//! server, another IPC namespace) a plain `GetImage` is used, which copies every frame
//! through the socket.
//!
//! Pixels: a ZPixmap of a 24- or 32-bit TrueColor screen on a little-endian server is
//! B, G, R, X in memory, which is what `lifeline_codec` takes. The fourth byte is left
//! as the server wrote it (often 0): the codec ignores alpha, so no pass over the frame
//! is spent on it.

use lifeline_codec::BgraFrame;
use x11rb::connection::Connection;
use x11rb::protocol::shm::ConnectionExt as _;
use x11rb::protocol::xfixes::{ConnectionExt as _, GetCursorImageReply};
use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat, ImageOrder, Window};
use x11rb::rust_connection::RustConnection;
use x11rb::{NONE, protocol};

use super::damage::DamageWatch;
use super::monitors::{
    RawMonitor, backend, has_extension, has_randr_monitors, monitors, raw_monitors, to_monitor,
};
use super::shm::ShmSegment;
use crate::platform::{CaptureError, Capturer, CursorShape, CursorState, Monitor};

/// Captures one monitor of an X11 display. See the module documentation.
#[derive(Debug)]
pub struct X11Capturer {
    conn: RustConnection,
    root: Window,
    has_randr: bool,
    has_xfixes: bool,
    transfer: Transfer,
    selected: Selected,
    last_cursor_serial: Option<u32>,
    /// Drawing notifications, when the server has DAMAGE.
    damage: Option<DamageWatch>,
}

/// Where the pixels travel.
#[derive(Debug)]
enum Transfer {
    /// Through a shared segment, sized for the selected monitor once one was captured.
    Shm(Option<ShmSegment>),
    /// Through the socket, into this buffer.
    Plain(Vec<u8>),
}

/// The monitor [`Capturer::capture`] returns, found again by name after changes.
#[derive(Debug, Clone, Copy)]
struct Selected {
    index: u32,
    monitor: RawMonitor,
}

impl X11Capturer {
    /// Connects to `display` (`None`: `$DISPLAY`) and selects monitor 0.
    ///
    /// # Errors
    /// [`CaptureError::NoDisplay`] if no X server can be reached there;
    /// [`CaptureError::Backend`] if the screen's pixel format is not 32-bit BGRX or the
    /// server fails.
    pub fn open(display: Option<&str>) -> Result<Self, CaptureError> {
        let (conn, screen_num) = super::connect(display)
            .map_err(|(display, reason)| CaptureError::NoDisplay { display, reason })?;
        let root = check_pixel_format(&conn, screen_num)?;
        let has_randr = has_randr_monitors(&conn)?;
        let has_xfixes = has_extension(&conn, protocol::xfixes::X11_EXTENSION_NAME)?;
        if has_xfixes {
            // XFixes answers nothing else before the version is negotiated.
            conn.xfixes_query_version(5, 0)
                .map_err(backend)?
                .reply()
                .map_err(backend)?;
        }
        let has_shm = has_extension(&conn, protocol::shm::X11_EXTENSION_NAME)?;
        if !has_shm {
            tracing::warn!("the X server has no MIT-SHM; capturing through the socket");
        }
        let placeholder = RawMonitor {
            name: NONE,
            primary: true,
            x: 0,
            y: 0,
            width: 0,
            height: 0,
        };
        let mut capturer = Self {
            conn,
            root,
            has_randr,
            has_xfixes,
            transfer: if has_shm {
                Transfer::Shm(None)
            } else {
                Transfer::Plain(Vec::new())
            },
            selected: Selected {
                index: 0,
                monitor: placeholder,
            },
            last_cursor_serial: None,
            damage: None,
        };
        capturer.damage = DamageWatch::create(&capturer.conn, root)?;
        if capturer.damage.is_none() {
            tracing::warn!("the X server has no DAMAGE; a still screen is polled");
        }
        capturer.select_monitor(0)?;
        if has_shm {
            // Sets up the segment now, so that a server that cannot attach it is
            // noticed (and the fallback chosen) at start.
            capturer.prepare_segment()?;
        }
        Ok(capturer)
    }

    /// Whether frames come through MIT-SHM (false: the slower socket fallback).
    #[must_use]
    pub fn uses_shared_memory(&self) -> bool {
        matches!(self.transfer, Transfer::Shm(_))
    }

    /// The current monitors, primary first, then in the server's order.
    fn raw_monitors(&self) -> Result<Vec<RawMonitor>, CaptureError> {
        raw_monitors(&self.conn, self.root, self.has_randr)
    }

    /// Finds the selected monitor in `monitors` (by name, else by index) and updates
    /// the selection to it.
    fn refresh_selected(&mut self, monitors: &[RawMonitor]) -> Result<RawMonitor, CaptureError> {
        let name = self.selected.monitor.name;
        let found = monitors
            .iter()
            .position(|m| name != NONE && m.name == name)
            .or_else(|| usize::try_from(self.selected.index).ok())
            .and_then(|i| Some((i, *monitors.get(i)?)));
        let Some((index, monitor)) = found else {
            return Err(CaptureError::NoSuchMonitor(self.selected.index));
        };
        self.selected = Selected {
            index: u32::try_from(index).map_err(backend)?,
            monitor,
        };
        Ok(monitor)
    }

    /// Makes sure the segment fits the selected monitor, re-creating it if the size
    /// changed. Falls back to the socket (with a warning) if the server cannot attach
    /// it.
    fn prepare_segment(&mut self) -> Result<(), CaptureError> {
        let len = frame_len(&self.selected.monitor);
        let Transfer::Shm(current) = &mut self.transfer else {
            return Ok(());
        };
        if current.as_ref().is_some_and(|segment| segment.len() == len) {
            return Ok(());
        }
        if let Some(old) = current.take() {
            old.detach(&self.conn).map_err(backend)?;
        }
        match ShmSegment::create(&self.conn, len) {
            Ok(segment) => *current = Some(segment),
            Err(error) => {
                tracing::warn!(%error, "MIT-SHM is unusable; capturing through the socket");
                self.transfer = Transfer::Plain(Vec::new());
            }
        }
        Ok(())
    }

    fn to_monitor(&self, index: u32, raw: &RawMonitor) -> Result<Monitor, CaptureError> {
        to_monitor(&self.conn, index, raw)
    }
}

impl Capturer for X11Capturer {
    fn monitors(&mut self) -> Result<Vec<Monitor>, CaptureError> {
        monitors(&self.conn, self.root, self.has_randr)
    }

    fn select_monitor(&mut self, index: u32) -> Result<Monitor, CaptureError> {
        let raw = self.raw_monitors()?;
        let monitor = usize::try_from(index)
            .ok()
            .and_then(|i| raw.get(i))
            .ok_or(CaptureError::NoSuchMonitor(index))?;
        self.selected = Selected {
            index,
            monitor: *monitor,
        };
        self.to_monitor(index, monitor)
    }

    fn capture(&mut self) -> Result<BgraFrame<'_>, CaptureError> {
        let monitors = self.raw_monitors()?;
        let m = self.refresh_selected(&monitors)?;
        self.prepare_segment()?;
        let (width, height) = (u32::from(m.width), u32::from(m.height));
        let stride = width as usize * 4;
        let len = frame_len(&m);
        let all_planes = u32::MAX;
        let z_pixmap = ImageFormat::Z_PIXMAP;
        let data: &[u8] = match &mut self.transfer {
            Transfer::Shm(Some(segment)) => {
                let reply = self
                    .conn
                    .shm_get_image(
                        self.root,
                        m.x,
                        m.y,
                        m.width,
                        m.height,
                        all_planes,
                        z_pixmap.into(),
                        segment.seg(),
                        0,
                    )
                    .map_err(backend)?
                    .reply()
                    .map_err(backend)?;
                if (reply.size as usize) < len {
                    return Err(CaptureError::Backend(format!(
                        "the server wrote {} bytes for a {width}x{height} image",
                        reply.size
                    )));
                }
                &segment.bytes()[..len]
            }
            Transfer::Shm(None) => {
                return Err(CaptureError::Backend(
                    "no shared memory segment was set up".to_owned(),
                ));
            }
            Transfer::Plain(buffer) => {
                let reply = self
                    .conn
                    .get_image(z_pixmap, self.root, m.x, m.y, m.width, m.height, all_planes)
                    .map_err(backend)?
                    .reply()
                    .map_err(backend)?;
                *buffer = reply.data;
                buffer
            }
        };
        BgraFrame::new(data, width, height, stride).map_err(backend)
    }

    fn wait_for_change(&mut self, timeout: std::time::Duration) -> Result<bool, CaptureError> {
        match &self.damage {
            Some(watch) => watch.wait(&self.conn, timeout),
            None => {
                std::thread::sleep(timeout);
                Ok(true)
            }
        }
    }

    fn notifies_changes(&self) -> bool {
        self.damage.is_some()
    }

    fn cursor(&mut self) -> Result<Option<CursorState>, CaptureError> {
        if !self.has_xfixes {
            return Ok(None);
        }
        let reply = self
            .conn
            .xfixes_get_cursor_image()
            .map_err(backend)?
            .reply()
            .map_err(backend)?;
        let origin = self.selected.monitor;
        let shape = if self.last_cursor_serial == Some(reply.cursor_serial) {
            None
        } else {
            Some(cursor_shape(&reply)?)
        };
        self.last_cursor_serial = Some(reply.cursor_serial);
        Ok(Some(CursorState {
            x: i32::from(reply.x) - i32::from(origin.x),
            y: i32::from(reply.y) - i32::from(origin.y),
            shape_serial: reply.cursor_serial,
            shape,
        }))
    }
}

impl Drop for X11Capturer {
    fn drop(&mut self) {
        if let Some(watch) = self.damage.take() {
            watch.destroy(&self.conn);
        }
        if let Transfer::Shm(segment) = &mut self.transfer
            && let Some(segment) = segment.take()
            && let Err(error) = segment.detach(&self.conn)
        {
            tracing::warn!(%error, "could not detach the shared memory segment");
        }
    }
}

/// Bytes of one frame of `monitor` at 4 bytes per pixel.
fn frame_len(monitor: &RawMonitor) -> usize {
    usize::from(monitor.width) * usize::from(monitor.height) * 4
}

/// Checks that ZPixmaps of the screen are 32-bit little-endian BGRX; returns its root.
fn check_pixel_format(conn: &RustConnection, screen_num: usize) -> Result<Window, CaptureError> {
    let setup = conn.setup();
    let screen = setup
        .roots
        .get(screen_num)
        .ok_or_else(|| CaptureError::Backend(format!("the server has no screen {screen_num}")))?;
    let depth = screen.root_depth;
    let bits_per_pixel = setup
        .pixmap_formats
        .iter()
        .find(|f| f.depth == depth)
        .map(|f| f.bits_per_pixel);
    let visual = screen
        .allowed_depths
        .iter()
        .flat_map(|d| &d.visuals)
        .find(|v| v.visual_id == screen.root_visual);
    let masks = visual.map(|v| (v.red_mask, v.green_mask, v.blue_mask));
    let supported = bits_per_pixel == Some(32)
        && setup.image_byte_order == ImageOrder::LSB_FIRST
        && masks == Some((0x00ff_0000, 0x0000_ff00, 0x0000_00ff));
    if supported {
        Ok(screen.root)
    } else {
        Err(CaptureError::Backend(format!(
            "the screen's pixel format is not supported (depth {depth}, {bits_per_pixel:?} bits \
             per pixel, byte order {:?}, masks {masks:x?}); run the X server at 24-bit colour",
            setup.image_byte_order
        )))
    }
}

/// The pointer image from XFixes as premultiplied RGBA.
pub(super) fn cursor_shape(reply: &GetCursorImageReply) -> Result<CursorShape, CaptureError> {
    let pixels = usize::from(reply.width) * usize::from(reply.height);
    if reply.cursor_image.len() != pixels {
        return Err(CaptureError::Backend(format!(
            "XFixes sent {} pixels for a {}x{} cursor",
            reply.cursor_image.len(),
            reply.width,
            reply.height
        )));
    }
    // X allows a hot spot outside the image (xterm hides the pointer while one types
    // with a 1x2 image whose hot spot is (0, 2)); the protocol does not, so it is
    // moved to the nearest pixel of the image.
    let inside = |hot: u16, size: u16| hot.min(size.saturating_sub(1));
    Ok(CursorShape {
        width: reply.width.into(),
        height: reply.height.into(),
        hot_x: inside(reply.xhot, reply.width).into(),
        hot_y: inside(reply.yhot, reply.height).into(),
        rgba: argb_to_premultiplied_rgba(&reply.cursor_image),
    })
}

/// XFixes cursor pixels are ARGB words, already premultiplied (they are Render ARGB
/// cursors). Reorders them to R, G, B, A bytes; a channel above alpha (not valid
/// premultiplied data, but a client may send it) is clamped to alpha.
fn argb_to_premultiplied_rgba(argb: &[u32]) -> Vec<u8> {
    argb.iter()
        .flat_map(|&pixel| {
            let [b, g, r, a] = pixel.to_le_bytes();
            [r.min(a), g.min(a), b.min(a), a]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_pixels_become_rgba_bytes() {
        let argb = [0xff11_2233, 0x8080_0000, 0x0000_0000, 0x40ff_ffff];
        assert_eq!(
            argb_to_premultiplied_rgba(&argb),
            [
                0x11, 0x22, 0x33, 0xff, // opaque
                0x80, 0x00, 0x00, 0x80, // half-transparent red, premultiplied
                0, 0, 0, 0, // transparent
                0x40, 0x40, 0x40, 0x40, // invalid: channels clamped to alpha
            ]
        );
    }

    #[test]
    fn cursor_with_wrong_pixel_count_is_an_error() {
        let reply = GetCursorImageReply {
            sequence: 0,
            length: 0,
            x: 0,
            y: 0,
            width: 2,
            height: 2,
            xhot: 0,
            yhot: 0,
            cursor_serial: 1,
            cursor_image: vec![0; 3],
        };
        assert!(matches!(
            cursor_shape(&reply),
            Err(CaptureError::Backend(_))
        ));
    }

    #[test]
    fn a_hot_spot_outside_the_image_is_moved_inside_it() {
        // What xterm shows while one types: a 1x2 blank pointer, hot spot (0, 2).
        let reply = GetCursorImageReply {
            sequence: 0,
            length: 0,
            x: 0,
            y: 0,
            width: 1,
            height: 2,
            xhot: 0,
            yhot: 2,
            cursor_serial: 1,
            cursor_image: vec![0; 2],
        };
        let shape = cursor_shape(&reply).expect("a valid shape");
        assert_eq!((shape.hot_x, shape.hot_y), (0, 1));
    }
}
