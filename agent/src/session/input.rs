//! Input injection on its own thread, so a slow display server never stalls the
//! network loop. Actions arrive already authorized by the protocol's `authorize()`.
//!
//! At most [`INPUT_QUEUE`] actions wait for the thread: typing text is slow (each
//! character is a key press), and a viewer sending text faster than it can be typed
//! would otherwise grow the queue without limit. Past that, actions are dropped and
//! the drop is logged. Pointer moves never fill the queue: a move that arrives while
//! the previous waiting action is also a move replaces it, so only the newest
//! position is injected and a flood of moves costs one slot. Order between moves,
//! clicks and keys is kept, so a click still lands where the pointer was sent.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
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

/// The actions waiting for the input thread, shared with it.
#[derive(Debug, Default)]
struct Pending {
    state: Mutex<PendingState>,
    /// Signalled when an action is queued or the worker closes.
    changed: Condvar,
}

#[derive(Debug, Default)]
struct PendingState {
    actions: VecDeque<InputAction>,
    /// Set when the worker is dropped: actions still queued are then discarded, so a
    /// revoked permission stops input at once.
    closed: bool,
}

impl Pending {
    fn lock(&self) -> MutexGuard<'_, PendingState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next action, waiting for one; `None` once closed.
    fn next(&self) -> Option<InputAction> {
        let mut state = self.lock();
        loop {
            if state.closed {
                return None;
            }
            if let Some(action) = state.actions.pop_front() {
                return Some(action);
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

/// The thread that injects input.
#[derive(Debug)]
pub struct InputWorker {
    pending: Arc<Pending>,
    /// Whether actions are being dropped for a full queue (logged once per burst).
    dropping: AtomicBool,
    thread: Option<JoinHandle<()>>,
}

impl InputWorker {
    /// Starts the thread. Pointer positions are mapped through `geometry`.
    pub fn spawn(
        mut injector: Box<dyn InputInjector>,
        geometry: Arc<Mutex<Option<ScreenGeometry>>>,
    ) -> std::io::Result<Self> {
        let pending = Arc::new(Pending::default());
        let queue = Arc::clone(&pending);
        let thread = std::thread::Builder::new()
            .name("lifeline-input".to_owned())
            .spawn(move || {
                while let Some(action) = queue.next() {
                    if let Err(err) = apply(injector.as_mut(), &geometry, action) {
                        tracing::warn!("input could not be injected: {err}");
                    }
                }
            })?;
        Ok(Self {
            pending,
            dropping: AtomicBool::new(false),
            thread: Some(thread),
        })
    }

    /// Queues an action. A move right after a waiting move replaces it; anything else
    /// is dropped when [`INPUT_QUEUE`] actions already wait.
    pub fn send(&self, action: InputAction) {
        let mut state = self.pending.lock();
        if state.closed {
            return;
        }
        if let (InputAction::MoveTo(..), Some(InputAction::MoveTo(..))) =
            (&action, state.actions.back())
        {
            if let Some(waiting) = state.actions.back_mut() {
                *waiting = action;
            }
        } else if state.actions.len() < INPUT_QUEUE {
            state.actions.push_back(action);
            self.dropping.store(false, Ordering::Relaxed);
        } else {
            if !self.dropping.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "input arrives faster than it can be injected: {INPUT_QUEUE} actions \
                     wait, further ones are dropped"
                );
            }
            return;
        }
        drop(state);
        self.pending.changed.notify_one();
    }
}

impl Drop for InputWorker {
    fn drop(&mut self) {
        self.pending.lock().closed = true;
        self.pending.changed.notify_all();
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
    fn a_flood_of_moves_ends_at_the_newest_and_keeps_clicks_in_order() {
        let fake = FakeInjector::default();
        let log = Arc::clone(&fake.log);
        let geometry = Arc::new(Mutex::new(Some(ScreenGeometry {
            monitor: crate::platform::Monitor {
                index: 0,
                name: "test".to_owned(),
                x: 0,
                y: 0,
                width: 1000,
                height: 1000,
                primary: true,
            },
            frame_width: 1000,
            frame_height: 1000,
        })));
        let worker = InputWorker::spawn(Box::new(Slow(fake)), geometry).unwrap();
        // The slow text holds the thread while everything else queues behind it.
        worker.send(InputAction::Text("a".to_owned()));
        for x in 0..10_000 {
            worker.send(InputAction::MoveTo(x % 500, 10));
        }
        worker.send(InputAction::MoveTo(600, 20));
        worker.send(InputAction::Button(MouseButton::Left, true));
        for x in 0..10_000 {
            worker.send(InputAction::MoveTo(x % 500, 30));
        }
        worker.send(InputAction::MoveTo(700, 40));
        assert!(
            !worker.dropping.load(Ordering::Relaxed),
            "moves filled the queue"
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while log.lock().unwrap().len() < 4 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(worker);
        assert_eq!(
            *log.lock().unwrap(),
            vec![
                RecordedInput::Text("a".to_owned()),
                RecordedInput::Move(600, 20),
                RecordedInput::Button(MouseButton::Left, true),
                RecordedInput::Move(700, 40),
            ]
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
