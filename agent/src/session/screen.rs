//! What accompanies the video of one session, on a thread of its own: the pointer's
//! position and image, and the monitor list.
//!
//! The pointer is looked at about 60 times a second while it moves and 20 times a
//! second once it has been still for a second; its position goes out whenever it
//! changed (and once a second while still, in case a datagram was lost), its image
//! only when it changed. Positions are in pixels of the monitor the video shows (from
//! the geometry the video pipeline publishes), so they follow a monitor switch and do
//! not depend on the size the picture is sent at. The monitor list is read every two
//! seconds and sent when it changed. Capture never includes the pointer, so a pointer move costs a
//! datagram, never a video frame.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lifeline_protocol::LocalMisuse;
use lifeline_protocol::framing::encode_datagram;
use lifeline_protocol::message::screen::MAX_MONITORS;
use lifeline_protocol::message::{
    Capabilities, ControlMessage, CursorImage, MonitorInfo, MonitorList,
};
use lifeline_protocol::session::AgentSession;
use tokio::sync::mpsc;

use super::PointerWatcherFactory;
use super::video::{ScreenGeometry, VideoControl, VideoPipeline};
use crate::platform::{CaptureError, CursorShape, Monitor, PointerWatcher};

/// How often the pointer is looked at while it moves.
const MOVING_INTERVAL: Duration = Duration::from_millis(16);
/// How often the pointer is looked at once it has been still for [`STILL_AFTER`].
const STILL_INTERVAL: Duration = Duration::from_millis(50);
/// How long the pointer must be still before it is looked at less often.
const STILL_AFTER: Duration = Duration::from_secs(1);
/// How often an unchanged position is sent again (datagrams may be lost).
const REPEAT_POSITION: Duration = Duration::from_secs(1);
/// How often the monitor list is read.
const MONITOR_INTERVAL: Duration = Duration::from_secs(2);

/// What the session should tell the viewer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScreenUpdate {
    /// The monitors changed (or are reported for the first time).
    Monitors(Vec<Monitor>),
    /// The pointer has a new image.
    CursorImage(CursorShape),
    /// The pointer's hot spot is at (x, y) in pixels of the monitor shown.
    Cursor {
        /// Column in monitor pixels.
        x: i32,
        /// Row in monitor pixels.
        y: i32,
        /// Whether it is on the monitor shown.
        visible: bool,
    },
}

/// The session's side of it: runs the watch while the view permission is granted and
/// turns its updates into messages for the viewer; switches monitors on request.
#[derive(Debug)]
pub struct ScreenShare {
    watch: Option<ScreenWatch>,
    updates_tx: mpsc::Sender<ScreenUpdate>,
    updates: mpsc::Receiver<ScreenUpdate>,
    monitors: Vec<Monitor>,
    selected: u32,
}

impl ScreenShare {
    /// Nothing running yet; `selected` is the monitor the video starts with.
    pub fn new(selected: u32) -> Self {
        let (updates_tx, updates) = mpsc::channel(32);
        Self {
            watch: None,
            updates_tx,
            updates,
            monitors: Vec::new(),
            selected,
        }
    }

    /// Where the watch's updates arrive; hand each to [`ScreenShare::on_update`].
    pub fn updates(&mut self) -> &mut mpsc::Receiver<ScreenUpdate> {
        &mut self.updates
    }

    /// Starts the watch (if not running) when the viewer wants any of it.
    pub fn start(
        &mut self,
        factory: Option<&PointerWatcherFactory>,
        agent: &AgentSession,
        geometry: Arc<Mutex<Option<ScreenGeometry>>>,
    ) {
        let wanted = agent.peer_supports(Capabilities::CURSOR)
            || agent.peer_supports(Capabilities::MULTI_MONITOR);
        let Some(factory) = factory.filter(|_| wanted && self.watch.is_none()) else {
            return;
        };
        match factory().and_then(|watcher| {
            ScreenWatch::spawn(watcher, geometry, self.updates_tx.clone())
                .map_err(|err| CaptureError::Backend(err.to_string()))
        }) {
            Ok(watch) => self.watch = Some(watch),
            Err(err) => tracing::warn!("the pointer and monitors are not sent: {err}"),
        }
    }

    /// Stops the watch (the view permission was revoked, or the session ended).
    pub fn stop(&mut self) {
        self.watch = None;
        // What it sent before stopping is stale now.
        while self.updates.try_recv().is_ok() {}
    }

    /// Passes an update on to the viewer: control messages through `agent`, pointer
    /// positions as datagrams on `connection`.
    pub fn on_update(
        &mut self,
        update: ScreenUpdate,
        agent: &mut AgentSession,
        connection: &quinn::Connection,
    ) {
        let result = match update {
            ScreenUpdate::Monitors(monitors) => {
                self.monitors = monitors;
                self.send_monitor_list(agent)
            }
            ScreenUpdate::CursorImage(shape) => {
                if !agent.peer_supports(Capabilities::CURSOR) {
                    return;
                }
                agent.send_screen_info(ControlMessage::CursorImage(CursorImage {
                    width: shape.width,
                    height: shape.height,
                    hot_x: shape.hot_x,
                    hot_y: shape.hot_y,
                    rgba: shape.rgba,
                }))
            }
            ScreenUpdate::Cursor { x, y, visible } => {
                if !agent.peer_supports(Capabilities::CURSOR) {
                    return;
                }
                agent.cursor_position(x, y, visible).and_then(|datagram| {
                    let bytes = encode_datagram(&datagram)?;
                    if let Err(err) = connection.send_datagram(bytes.into()) {
                        tracing::debug!("a pointer position was not sent: {err}");
                    }
                    Ok(())
                })
            }
        };
        if let Err(err) = result {
            tracing::debug!("not sent to the viewer: {err}");
        }
    }

    /// The viewer asked for another monitor: the video switches, and the viewer gets
    /// the list again with the new selection (or the old one, when `index` is gone).
    pub fn select(&mut self, index: u32, agent: &mut AgentSession, video: Option<&VideoPipeline>) {
        let exists = usize::try_from(index).is_ok_and(|i| i < self.monitors.len());
        if exists && let Some(video) = video {
            tracing::info!("the technician switched to monitor {index}");
            video.send(VideoControl::SelectMonitor(index));
            self.selected = index;
        }
        if let Err(err) = self.send_monitor_list(agent) {
            tracing::debug!("the monitor list was not sent: {err}");
        }
    }

    fn send_monitor_list(&self, agent: &mut AgentSession) -> Result<(), LocalMisuse> {
        if !agent.peer_supports(Capabilities::MULTI_MONITOR) || self.monitors.is_empty() {
            return Ok(());
        }
        let monitors: Vec<MonitorInfo> = self
            .monitors
            .iter()
            .take(MAX_MONITORS)
            .map(|monitor| MonitorInfo {
                name: monitor.name.chars().take(64).collect(),
                x: monitor.x,
                y: monitor.y,
                width: monitor.width,
                height: monitor.height,
                primary: monitor.primary,
            })
            .collect();
        let last = u32::try_from(monitors.len().saturating_sub(1)).unwrap_or(0);
        agent.send_screen_info(ControlMessage::MonitorList(MonitorList {
            monitors,
            selected: self.selected.min(last),
        }))
    }
}

/// The running thread; stopped and joined when dropped.
#[derive(Debug)]
pub struct ScreenWatch {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ScreenWatch {
    /// Starts watching with `watcher`; positions are mapped with `geometry` (the video
    /// pipeline's) and updates go to `updates`.
    pub fn spawn(
        watcher: Box<dyn PointerWatcher>,
        geometry: Arc<Mutex<Option<ScreenGeometry>>>,
        updates: mpsc::Sender<ScreenUpdate>,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("lifeline-pointer".to_owned())
            .spawn(move || {
                let mut worker = Worker {
                    watcher,
                    geometry,
                    updates,
                    stop: stopped,
                };
                if let Err(err) = worker.run() {
                    tracing::warn!("the pointer is no longer sent: {err}");
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for ScreenWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Worker {
    watcher: Box<dyn PointerWatcher>,
    geometry: Arc<Mutex<Option<ScreenGeometry>>>,
    updates: mpsc::Sender<ScreenUpdate>,
    stop: Arc<AtomicBool>,
}

impl Worker {
    fn run(&mut self) -> Result<(), String> {
        let mut monitors: Option<Vec<Monitor>> = None;
        let mut next_monitor_check = Instant::now();
        let mut sent: Option<(i32, i32, bool)> = None;
        let mut sent_at = Instant::now();
        let mut moved_at = Instant::now();
        while !self.stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now >= next_monitor_check {
                next_monitor_check = now + MONITOR_INTERVAL;
                let current = self.watcher.monitors().map_err(|err| err.to_string())?;
                if monitors.as_ref() != Some(&current) {
                    self.send(ScreenUpdate::Monitors(current.clone()))?;
                    monitors = Some(current);
                }
            }
            let pointer = self.watcher.pointer().map_err(|err| err.to_string())?;
            if let Some(shape) = pointer.shape {
                self.send(ScreenUpdate::CursorImage(shape))?;
            }
            let geometry = self
                .geometry
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone();
            // Before the first frame there is nothing to place the pointer on.
            if let Some(geometry) = geometry {
                let position = on_monitor(&geometry.monitor, pointer.x, pointer.y);
                let changed = sent != Some(position);
                if changed {
                    moved_at = now;
                }
                if changed || now.duration_since(sent_at) >= REPEAT_POSITION {
                    let (x, y, visible) = position;
                    // A full channel drops this position; the next look sends it again.
                    if self
                        .updates
                        .try_send(ScreenUpdate::Cursor { x, y, visible })
                        .is_ok()
                    {
                        sent = Some(position);
                        sent_at = now;
                    }
                }
            }
            let interval = if moved_at.elapsed() < STILL_AFTER {
                MOVING_INTERVAL
            } else {
                STILL_INTERVAL
            };
            std::thread::sleep(interval);
        }
        Ok(())
    }

    fn send(&self, update: ScreenUpdate) -> Result<(), String> {
        self.updates
            .blocking_send(update)
            .map_err(|_| "the session ended".to_owned())
    }
}

/// Desktop coordinates relative to `monitor`'s top-left; visible when on it.
fn on_monitor(monitor: &Monitor, x: i32, y: i32) -> (i32, i32, bool) {
    let (dx, dy) = (x.saturating_sub(monitor.x), y.saturating_sub(monitor.y));
    let inside = |offset: i32, side: u32| u32::try_from(offset).is_ok_and(|o| o < side);
    (
        dx,
        dy,
        inside(dx, monitor.width) && inside(dy, monitor.height),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{CaptureError, PointerState};

    fn geometry(x: i32, frame_width: u32) -> ScreenGeometry {
        ScreenGeometry {
            monitor: Monitor {
                index: 1,
                name: "right".to_owned(),
                x,
                y: 0,
                width: 1280,
                height: 720,
                primary: false,
            },
            frame_width,
            frame_height: 720 * frame_width / 1280,
        }
    }

    #[test]
    fn desktop_positions_are_taken_from_the_monitor_shown() {
        let right = geometry(1280, 1280).monitor;
        assert_eq!(on_monitor(&right, 1280 + 100, 50), (100, 50, true));
        assert_eq!(
            on_monitor(&right, 100, 50),
            (-1180, 50, false),
            "on the other monitor"
        );
        assert!(!on_monitor(&right, 1280 + 1280, 0).2, "past the edge");
        assert!(on_monitor(&right, 1280 + 1279, 719).2, "the last pixel");
    }

    /// A pointer that moves once, changes its image once, and a monitor list that
    /// never changes.
    struct Scripted {
        calls: u32,
    }

    impl PointerWatcher for Scripted {
        fn monitors(&mut self) -> Result<Vec<Monitor>, CaptureError> {
            Ok(vec![geometry(0, 1280).monitor])
        }

        fn pointer(&mut self) -> Result<PointerState, CaptureError> {
            self.calls += 1;
            let moved = self.calls > 3;
            Ok(PointerState {
                x: if moved { 30 } else { 10 },
                y: 20,
                shape: (self.calls == 1 || self.calls == 5).then(|| CursorShape {
                    width: 1,
                    height: 1,
                    hot_x: 0,
                    hot_y: 0,
                    rgba: vec![255; 4],
                }),
            })
        }
    }

    #[test]
    fn moves_and_images_are_sent_when_they_change() {
        let (tx, mut rx) = mpsc::channel(64);
        let geometry = Arc::new(Mutex::new(Some(geometry(0, 1280))));
        let watch = ScreenWatch::spawn(Box::new(Scripted { calls: 0 }), geometry, tx).unwrap();
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while seen.len() < 5 && Instant::now() < deadline {
            match rx.try_recv() {
                Ok(update) => seen.push(update),
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        drop(watch);
        let position = |x| ScreenUpdate::Cursor {
            x,
            y: 20,
            visible: true,
        };
        assert!(matches!(seen[0], ScreenUpdate::Monitors(ref m) if m.len() == 1));
        assert!(matches!(seen[1], ScreenUpdate::CursorImage(_)));
        assert_eq!(seen[2], position(10));
        assert_eq!(
            seen[3],
            position(30),
            "the still pointer was not sent again"
        );
        assert!(matches!(seen[4], ScreenUpdate::CursorImage(_)));
    }
}
