//! The recorder thread: takes what the session saw and did through a bounded channel and
//! writes it with `lifeline_protocol::recording::RecordingWriter`, so that a slow disk
//! never stalls the network task.
//!
//! Video comes from the decode thread (the frames it decoded, in the order it decoded
//! them, so that playback decodes exactly the same pictures); events and input come
//! from the session. While the end user has withdrawn the record permission the
//! recording is paused: only scope changes and the end of the session are written.
//!
//! This file is compiled into the agent as well (`#[path]` in `agent/src/lib.rs`), which
//! records sessions itself when its deployment policy says so, so that the recorder
//! exists once. It may use only `std`, `lifeline_protocol` and `tracing`, never
//! `crate::`.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use lifeline_protocol::recording::{Event, Header, Policy, RecordingWriter};
use lifeline_protocol::{KeyPair, Timestamp, VideoFrameHeader};

/// The current time (this file is also compiled into the agent: see below).
fn now() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    Timestamp::from_unix_millis(millis)
}

/// The recorder asks for a keyframe after this many frames without one, so that
/// seeking never has to decode more than this many frames.
pub const KEYFRAME_EVERY_FRAMES: u64 = 240;

/// Messages queued for the recorder at most; past that, input and events are counted
/// as lost and video waits (the decode thread slows down rather than skip a frame).
const QUEUE: usize = 64;

/// Where and how to record a session.
#[derive(Clone, Debug)]
pub struct RecordTarget {
    /// The file to create.
    pub path: PathBuf,
    /// What the recording keeps.
    pub policy: Policy,
}

enum Message {
    Video(Timestamp, VideoFrameHeader, Vec<u8>),
    Pointer(Timestamp, u32, u32),
    Event(Timestamp, Event),
    Finish,
}

#[derive(Debug, Default)]
struct Shared {
    lost: AtomicU64,
    paused: AtomicBool,
    frames_since_keyframe: AtomicU64,
    wants_keyframe: AtomicBool,
    failure: Mutex<Option<String>>,
}

/// The session's end of a running recorder. Cheap to clone; every method returns at
/// once except [`video`](Self::video), which waits when the recorder is behind.
#[derive(Clone, Debug)]
pub struct RecorderHandle {
    messages: SyncSender<Message>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Message::Video(_, header, _) => write!(f, "Video({})", header.sequence),
            Message::Pointer(..) => f.write_str("Pointer"),
            Message::Event(_, event) => write!(f, "Event({})", event.name()),
            Message::Finish => f.write_str("Finish"),
        }
    }
}

/// The running recorder: its handle and its thread.
#[derive(Debug)]
pub struct Recorder {
    handle: RecorderHandle,
    thread: Option<JoinHandle<Result<(), String>>>,
    path: PathBuf,
}

/// Creates the file and writes its header; the caller then feeds the handle.
pub fn start(target: &RecordTarget, key: KeyPair, header: Header) -> Result<Recorder, String> {
    let file = create_file(&target.path)?;
    let writer = RecordingWriter::new(BufWriter::new(file), key, header).map_err(|err| {
        format!(
            "cannot start the recording {}: {err}",
            target.path.display()
        )
    })?;
    let (messages, receiver) = std::sync::mpsc::sync_channel(QUEUE);
    // The agent's first frame is a keyframe; a recording that starts later (or a
    // delta frame first) asks for one when the writer skips a frame.
    let shared = Arc::new(Shared::default());
    let thread_shared = Arc::clone(&shared);
    let path = target.path.clone();
    let thread = std::thread::Builder::new()
        .name("lifeline-record".to_owned())
        .spawn(move || record_loop(writer, &receiver, &thread_shared))
        .map_err(|err| format!("cannot start the recorder thread: {err}"))?;
    Ok(Recorder {
        handle: RecorderHandle { messages, shared },
        thread: Some(thread),
        path,
    })
}

fn create_file(path: &Path) -> Result<File, String> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|err| {
            format!(
                "cannot create the recording {}: {err} (choose a new file name; an existing \
                 recording is never overwritten)",
                path.display()
            )
        })
}

impl Recorder {
    /// The handle to feed.
    pub fn handle(&self) -> &RecorderHandle {
        &self.handle
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes what is queued, then the index and the final seal, and waits for the
    /// thread. An error says why the recording is incomplete.
    pub fn finish(mut self) -> Result<(), String> {
        // A full queue drains as the thread writes; a gone thread has its result.
        let _ = self.handle.messages.send(Message::Finish);
        let result = match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err("the recorder thread failed".to_owned()),
            None => Ok(()),
        };
        result.map_err(|err| format!("the recording {} is incomplete: {err}", self.path.display()))
    }
}

impl RecorderHandle {
    /// Records a decoded frame. Waits when the recorder is behind.
    pub fn video(&self, header: &VideoFrameHeader, payload: &[u8]) {
        if self.shared.paused.load(Ordering::Relaxed) {
            return;
        }
        let _ = self
            .messages
            .send(Message::Video(now(), *header, payload.to_vec()));
    }

    /// Records a pointer move of the technician.
    pub fn pointer(&self, x: u32, y: u32) {
        if !self.shared.paused.load(Ordering::Relaxed) {
            self.offer(Message::Pointer(now(), x, y));
        }
    }

    /// Records an event (the recorder decides what a pause leaves out).
    pub fn event(&self, event: Event) {
        self.offer(Message::Event(now(), event));
    }

    /// Whether the session should ask the agent for a keyframe now: recording starts or
    /// resumes, or many frames passed since the last keyframe (for seeking). Asking
    /// resets the count.
    pub fn take_keyframe_wish(&self) -> bool {
        if self.shared.paused.load(Ordering::Relaxed) {
            return false;
        }
        let wanted = self.shared.wants_keyframe.swap(false, Ordering::Relaxed)
            || self.shared.frames_since_keyframe.load(Ordering::Relaxed) >= KEYFRAME_EVERY_FRAMES;
        if wanted {
            self.shared
                .frames_since_keyframe
                .store(0, Ordering::Relaxed);
        }
        wanted
    }

    /// Why the recording stopped early, if it did.
    pub fn failure(&self) -> Option<String> {
        self.shared
            .failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn offer(&self, message: Message) {
        match self.messages.try_send(message) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => {
                self.shared.lost.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Whether an event is still written while the recording is paused.
fn kept_while_paused(event: &Event) -> bool {
    matches!(
        event,
        Event::ScopesChanged { .. }
            | Event::ConsentGranted { .. }
            | Event::ConsentRefused { .. }
            | Event::ScopeRequested { .. }
            | Event::ScopeRefused { .. }
            | Event::RecordingPaused { .. }
            | Event::RecordingResumed
            | Event::SessionEnded { .. }
    )
}

fn record_loop(
    mut writer: RecordingWriter<BufWriter<File>>,
    receiver: &Receiver<Message>,
    shared: &Shared,
) -> Result<(), String> {
    let mut paused = false;
    let result = loop {
        let step = match receiver.recv_timeout(Duration::from_millis(500)) {
            Ok(Message::Finish) | Err(RecvTimeoutError::Disconnected) => break Ok(()),
            Err(RecvTimeoutError::Timeout) => writer.tick(now()),
            Ok(Message::Video(time, header, payload)) if !paused => {
                match writer.write_video(time, &header, &payload) {
                    Ok(true) if header.keyframe => {
                        shared.frames_since_keyframe.store(0, Ordering::Relaxed);
                        Ok(())
                    }
                    Ok(true) => {
                        shared.frames_since_keyframe.fetch_add(1, Ordering::Relaxed);
                        Ok(())
                    }
                    Ok(false) => {
                        shared.wants_keyframe.store(true, Ordering::Relaxed);
                        Ok(())
                    }
                    Err(err) => Err(err),
                }
            }
            Ok(Message::Pointer(time, x, y)) if !paused => writer.write_pointer(time, x, y),
            Ok(Message::Event(time, event)) => {
                match event {
                    Event::RecordingPaused { .. } => paused = true,
                    Event::RecordingResumed => {
                        paused = false;
                        writer.require_keyframe();
                        shared.wants_keyframe.store(true, Ordering::Relaxed);
                    }
                    _ => {}
                }
                shared.paused.store(paused, Ordering::Relaxed);
                if paused && !kept_while_paused(&event) {
                    Ok(())
                } else {
                    writer.write_event(time, &event)
                }
            }
            Ok(_) => Ok(()),
        };
        let lost = shared.lost.swap(0, Ordering::Relaxed);
        let step = step.and_then(|()| match lost {
            0 => Ok(()),
            count => writer.write_event(now(), &Event::RecordsLost { count }),
        });
        if let Err(err) = step {
            break Err(err.to_string());
        }
    };
    let result = result.and_then(|()| {
        writer
            .finish(now())
            .map(drop)
            .map_err(|err| err.to_string())
    });
    if let Err(err) = &result {
        tracing::error!("the recording stopped: {err}");
        *shared.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(err.clone());
    }
    result
}
