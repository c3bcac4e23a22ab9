//! In-memory capture and input for tests: a scripted screen and a record of input.

use std::sync::{Arc, Mutex};

use lifeline_codec::{BgraFrame, OwnedBgraFrame};
use lifeline_protocol::message::{KeyEvent, MouseButton};

use super::{CaptureError, Capturer, CursorState, InputError, InputInjector, Monitor};

/// A screen whose picture the test sets.
#[derive(Debug)]
pub struct FakeCapturer {
    screen: Arc<Mutex<OwnedBgraFrame>>,
    current: OwnedBgraFrame,
}

impl FakeCapturer {
    /// A capturer of `screen`, which the test may change at any time.
    pub fn new(screen: Arc<Mutex<OwnedBgraFrame>>) -> Self {
        let current = lock(&screen).clone();
        Self { screen, current }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Capturer for FakeCapturer {
    fn monitors(&mut self) -> Result<Vec<Monitor>, CaptureError> {
        Ok(vec![Monitor {
            index: 0,
            name: "fake".to_owned(),
            x: 0,
            y: 0,
            width: self.current.width(),
            height: self.current.height(),
            primary: true,
        }])
    }

    fn select_monitor(&mut self, index: u32) -> Result<Monitor, CaptureError> {
        let mut monitors = self.monitors()?;
        if index != 0 {
            return Err(CaptureError::NoSuchMonitor(index));
        }
        Ok(monitors.remove(0))
    }

    fn capture(&mut self) -> Result<BgraFrame<'_>, CaptureError> {
        self.current = lock(&self.screen).clone();
        Ok(self.current.as_frame())
    }

    fn cursor(&mut self) -> Result<Option<CursorState>, CaptureError> {
        Ok(None)
    }
}

/// One input action, as recorded by [`FakeInjector`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordedInput {
    /// Pointer moved to desktop (x, y).
    Move(i32, i32),
    /// Button pressed or released.
    Button(MouseButton, bool),
    /// Wheel notches.
    Wheel(i32, i32),
    /// A key event.
    Key(KeyEvent),
    /// Typed text.
    Text(String),
}

/// Records input instead of sending it.
#[derive(Clone, Debug, Default)]
pub struct FakeInjector {
    /// Everything received, in order.
    pub log: Arc<Mutex<Vec<RecordedInput>>>,
}

impl FakeInjector {
    fn push(&self, input: RecordedInput) -> Result<(), InputError> {
        lock(&self.log).push(input);
        Ok(())
    }
}

impl InputInjector for FakeInjector {
    fn move_pointer(&mut self, x: i32, y: i32) -> Result<(), InputError> {
        self.push(RecordedInput::Move(x, y))
    }

    fn button(&mut self, button: MouseButton, pressed: bool) -> Result<(), InputError> {
        self.push(RecordedInput::Button(button, pressed))
    }

    fn wheel(&mut self, dx: i32, dy: i32) -> Result<(), InputError> {
        self.push(RecordedInput::Wheel(dx, dy))
    }

    fn key(&mut self, key: &KeyEvent) -> Result<(), InputError> {
        self.push(RecordedInput::Key(key.clone()))
    }

    fn type_text(&mut self, text: &str) -> Result<(), InputError> {
        self.push(RecordedInput::Text(text.to_owned()))
    }
}
