//! Input injection on its own thread, so a slow display server never stalls the
//! network loop. Actions arrive already authorized by the protocol's `authorize()`.
//!
//! At most [`INPUT_QUEUE`] actions wait for the thread: typing text is slow (each
//! character is a key press), and a viewer sending text faster than it can be typed
//! would otherwise grow the queue without limit. Past that, actions are dropped and
//! the drop is logged.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use lifeline_protocol::message::{KeyEvent, MouseButton};

use super::video::ScreenGeometry;
use crate::platform::InputInjector;

/// One authorized input action, in video-frame coordinates for the pointer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputAction {
    /// Move to (x, y) in frame pixels.
    MoveTo(u32, u32),
    /// A button.
    Button(MouseButton, bool),
    /// Wheel notches.
    Wheel(i32, i32),
    /// A key.
    Key(KeyEvent),
    /// Text.
    Text(String),
}

/// Actions waiting for the input thread at most (up to 4 KiB of text each).
pub const INPUT_QUEUE: usize = 256;

/// The thread that injects input.
#[derive(Debug)]
pub struct InputWorker {
    actions: Option<SyncSender<InputAction>>,
    /// Whether actions are being dropped for a full queue (logged once per burst).
    dropping: AtomicBool,
    /// Cleared when the worker is dropped: actions still queued are then discarded,
    /// so a revoked permission stops input at once.
    enabled: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl InputWorker {
    /// Starts the thread. Pointer positions are mapped through `geometry`.
    pub fn spawn(
        mut injector: Box<dyn InputInjector>,
        geometry: Arc<Mutex<Option<ScreenGeometry>>>,
    ) -> std::io::Result<Self> {
        let (actions, receiver): (SyncSender<InputAction>, Receiver<InputAction>) =
            std::sync::mpsc::sync_channel(INPUT_QUEUE);
        let enabled = Arc::new(AtomicBool::new(true));
        let still_enabled = Arc::clone(&enabled);
        let thread = std::thread::Builder::new()
            .name("lifeline-input".to_owned())
            .spawn(move || {
                for action in receiver {
                    if !still_enabled.load(Ordering::Acquire) {
                        break;
                    }
                    if let Err(err) = apply(injector.as_mut(), &geometry, action) {
                        tracing::warn!("input could not be injected: {err}");
                    }
                }
            })?;
        Ok(Self {
            actions: Some(actions),
            dropping: AtomicBool::new(false),
            enabled,
            thread: Some(thread),
        })
    }

    /// Queues an action; drops it when [`INPUT_QUEUE`] actions already wait.
    pub fn send(&self, action: InputAction) {
        let Some(actions) = &self.actions else {
            return;
        };
        match actions.try_send(action) {
            Ok(()) => self.dropping.store(false, Ordering::Relaxed),
            Err(TrySendError::Full(_)) => {
                if !self.dropping.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "input arrives faster than it can be injected: {INPUT_QUEUE} actions \
                         wait, further ones are dropped"
                    );
                }
            }
            Err(TrySendError::Disconnected(_)) => tracing::warn!("the input thread has stopped"),
        }
    }
}

impl Drop for InputWorker {
    fn drop(&mut self) {
        self.enabled.store(false, Ordering::Release);
        self.actions.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn apply(
    injector: &mut dyn InputInjector,
    geometry: &Mutex<Option<ScreenGeometry>>,
    action: InputAction,
) -> Result<(), crate::platform::InputError> {
    match action {
        InputAction::MoveTo(x, y) => {
            let mapped = geometry
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .as_ref()
                .map(|geometry| geometry.to_desktop(x, y));
            match mapped {
                Some((x, y)) => injector.move_pointer(x, y),
                // No frame was sent yet, so the viewer cannot be pointing at anything.
                None => Ok(()),
            }
        }
        InputAction::Button(button, pressed) => injector.button(button, pressed),
        InputAction::Wheel(dx, dy) => injector.wheel(dx, dy),
        InputAction::Key(key) => injector.key(&key),
        InputAction::Text(text) => injector.type_text(&text),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::platform::fake::{FakeInjector, RecordedInput};

    /// An injector that takes a while per action, like a busy display server.
    struct Slow(FakeInjector);

    impl InputInjector for Slow {
        fn move_pointer(&mut self, x: i32, y: i32) -> Result<(), crate::platform::InputError> {
            self.0.move_pointer(x, y)
        }
        fn button(
            &mut self,
            button: MouseButton,
            pressed: bool,
        ) -> Result<(), crate::platform::InputError> {
            self.0.button(button, pressed)
        }
        fn wheel(&mut self, dx: i32, dy: i32) -> Result<(), crate::platform::InputError> {
            self.0.wheel(dx, dy)
        }
        fn key(&mut self, key: &KeyEvent) -> Result<(), crate::platform::InputError> {
            self.0.key(key)
        }
        fn type_text(&mut self, text: &str) -> Result<(), crate::platform::InputError> {
            std::thread::sleep(Duration::from_millis(50));
            self.0.type_text(text)
        }
    }

    #[test]
    fn dropping_the_worker_discards_queued_input() {
        let fake = FakeInjector::default();
        let log = Arc::clone(&fake.log);
        let worker = InputWorker::spawn(Box::new(Slow(fake)), Arc::default()).unwrap();
        for _ in 0..100 {
            worker.send(InputAction::Text("x".to_owned()));
        }
        drop(worker);
        let typed = log.lock().unwrap().len();
        assert!(
            typed < 100,
            "all {typed} queued actions were injected after the revocation"
        );
        assert!(
            log.lock()
                .unwrap()
                .iter()
                .all(|i| *i == RecordedInput::Text("x".to_owned()))
        );
    }

    #[test]
    fn input_faster_than_it_can_be_typed_is_dropped_past_the_queue() {
        let fake = FakeInjector::default();
        let log = Arc::clone(&fake.log);
        let worker = InputWorker::spawn(Box::new(Slow(fake)), Arc::default()).unwrap();
        // Each takes 50 ms to type: almost all of these arrive while the queue is full.
        for n in 0..INPUT_QUEUE * 4 {
            worker.send(InputAction::Text(n.to_string()));
        }
        assert!(
            worker.dropping.load(Ordering::Relaxed),
            "nothing was dropped"
        );
        drop(worker);
        // At most the queue and the one being typed when the flood began.
        let typed = log.lock().unwrap().len();
        assert!(typed <= INPUT_QUEUE + 1, "{typed} actions were typed");
    }
}
