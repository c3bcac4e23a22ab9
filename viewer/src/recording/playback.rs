//! Playing a recording for a window: the [`Player`] on its own thread, driven by
//! commands (play, pause, seek, speed) through a bounded channel, and a second thread
//! that lists the events and verifies the whole file meanwhile.
//!
//! The window reads a snapshot of [`PlaybackState`] and takes the newest picture from a
//! [`FrameSlot`]; both threads wake it when something changed. Neither ever waits for
//! the window. Closing (dropping [`Playback`]) stops both threads.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lifeline_protocol::Timestamp;
use lifeline_protocol::recording::{Header, RecordingReader, Side, verify};

use super::events::{EventList, list_events};
use super::player::{FRAMES_PER_STEP, Player, Speed};
use crate::link::{FrameSlot, VideoFrame, Waker};

/// While playing, the state (the clock) is published at least this often.
const TICK: Duration = Duration::from_millis(40);
/// Commands queued at most; the window sends a handful per click.
const QUEUE: usize = 64;

/// What the window asks of the player.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaybackCommand {
    /// Start the clock (from the start again at the end).
    Play,
    /// Stop the clock.
    Pause,
    /// Play when paused, pause when playing.
    Toggle,
    /// Go to this time.
    Seek(Timestamp),
    /// Play at this speed.
    Speed(Speed),
    /// Stop at this time at the latest (damage follows it).
    LimitTo(Timestamp),
}

/// Where opening stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Reading the header and the index, decoding the first picture.
    Opening,
    /// Playable.
    Ready,
    /// It cannot be played, in words.
    Failed(String),
}

/// What verification found, in the terms the window shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Integrity {
    /// Still checking (the fraction of the file read, 0 to 1).
    Checking(f32),
    /// Finished, intact and signed throughout.
    Intact {
        /// The signing key's fingerprint.
        signer: String,
        /// Whether that key is the recording side's own (named in the header).
        signer_is_recorder: bool,
    },
    /// Intact but cut short: the recorder stopped (crash, kill).
    CutShort {
        /// What verify said.
        words: String,
    },
    /// Damaged or tampered with at a chunk; plays up to the last good record before it.
    Damaged {
        /// The first bad chunk.
        chunk: Option<u64>,
        /// What verify said.
        words: String,
        /// The last good record's time.
        playable_until: Option<Timestamp>,
    },
    /// The check itself failed (the file could not be read).
    Unchecked(String),
}

/// The events as far as they are known.
#[derive(Clone, Debug, PartialEq)]
pub enum EventsState {
    /// Reading the file (the fraction read, 0 to 1).
    Listing(f32),
    /// Done.
    Listed(Arc<EventList>),
    /// The file could not be read.
    Failed(String),
}

/// A snapshot of the playback for the window.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaybackState {
    /// The file played.
    pub file: PathBuf,
    /// Where opening stands.
    pub phase: Phase,
    /// The recording's header, once open.
    pub header: Option<Header>,
    /// Whether the recording was finished.
    pub finished: bool,
    /// The start of the timeline.
    pub start: Timestamp,
    /// The end of the timeline (the last record).
    pub end: Timestamp,
    /// Where playback stops (the end, or before damage).
    pub limit: Timestamp,
    /// The media clock.
    pub position: Timestamp,
    /// Whether the clock runs.
    pub playing: bool,
    /// The speed.
    pub speed: Speed,
    /// What stopped reading, if anything, in words.
    pub problem: Option<String>,
    /// The events.
    pub events: EventsState,
    /// What verification found.
    pub integrity: Integrity,
    /// From starting to open until the first picture was there.
    pub first_picture_after: Option<Duration>,
    /// The sequence number of the picture shown.
    pub picture_sequence: Option<u64>,
    /// A seek is decoding toward its target.
    pub seeking: bool,
}

impl PlaybackState {
    fn new(file: PathBuf) -> Self {
        Self {
            file,
            phase: Phase::Opening,
            header: None,
            finished: false,
            start: Timestamp(0),
            end: Timestamp(0),
            limit: Timestamp(0),
            position: Timestamp(0),
            playing: false,
            speed: Speed::Normal,
            problem: None,
            events: EventsState::Listing(0.0),
            integrity: Integrity::Checking(0.0),
            first_picture_after: None,
            picture_sequence: None,
            seeking: false,
        }
    }

    /// Milliseconds from the start of the timeline to `time`.
    pub fn offset_ms(&self, time: Timestamp) -> u64 {
        time.as_unix_millis()
            .saturating_sub(self.start.as_unix_millis())
    }
}

/// Shared between the threads and the window.
struct Shared {
    state: Mutex<PlaybackState>,
    frames: FrameSlot,
    waker: Mutex<Option<Waker>>,
    cancel: AtomicBool,
    /// Bytes the check thread has read, and the file's length.
    checked: AtomicU64,
    length: AtomicU64,
}

impl Shared {
    fn update(&self, change: impl FnOnce(&mut PlaybackState)) {
        change(
            &mut self
                .state
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        self.wake();
    }

    fn wake(&self) {
        let waker = self
            .waker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(wake) = waker.as_ref() {
            wake();
        }
    }
}

/// A recording being played: the handle the window holds.
pub struct Playback {
    commands: SyncSender<Option<PlaybackCommand>>,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Playback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Playback").finish_non_exhaustive()
    }
}

impl Playback {
    /// Starts playing `path` (paused at the start once open). Failures are in the
    /// state's [`Phase`], in words.
    pub fn open(path: &Path) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(PlaybackState::new(path.to_path_buf())),
            frames: FrameSlot::default(),
            waker: Mutex::new(None),
            cancel: AtomicBool::new(false),
            checked: AtomicU64::new(0),
            length: AtomicU64::new(0),
        });
        let (commands, receiver) = std::sync::mpsc::sync_channel(QUEUE);
        let mut threads = Vec::new();
        let player_shared = Arc::clone(&shared);
        let player_path = path.to_path_buf();
        let spawned = std::thread::Builder::new()
            .name("lifeline-play".to_owned())
            .spawn(move || play_loop(&player_path, &receiver, &player_shared));
        match spawned {
            Ok(thread) => threads.push(thread),
            Err(err) => shared.update(|state| {
                state.phase = Phase::Failed(format!("cannot start the player thread: {err}"));
            }),
        }
        let check_shared = Arc::clone(&shared);
        let check_path = path.to_path_buf();
        let check_commands = commands.clone();
        let spawned = std::thread::Builder::new()
            .name("lifeline-check".to_owned())
            .spawn(move || check(&check_path, &check_shared, &check_commands));
        match spawned {
            Ok(thread) => threads.push(thread),
            Err(err) => shared.update(|state| {
                let words = format!("cannot start the checking thread: {err}");
                state.events = EventsState::Failed(words.clone());
                state.integrity = Integrity::Unchecked(words);
            }),
        }
        Self {
            commands,
            shared,
            threads,
        }
    }

    /// Registers how to wake the window.
    pub fn set_waker(&self, waker: Waker) {
        *self
            .shared
            .waker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(waker);
    }

    /// Asks the player to do something (dropped, with a log line, if it is hopelessly
    /// behind).
    pub fn send(&self, command: PlaybackCommand) {
        if self.commands.try_send(Some(command)).is_err() {
            tracing::warn!("the player is not taking commands; {command:?} was dropped");
        }
    }

    /// The state now, with the progress of listing and checking.
    pub fn state(&self) -> PlaybackState {
        let mut state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let length = self.shared.length.load(Ordering::Relaxed).max(1);
        let read = self.shared.checked.load(Ordering::Relaxed);
        let fraction = (read as f64 / length as f64).clamp(0.0, 1.0) as f32;
        if let EventsState::Listing(done) = &mut state.events {
            *done = fraction;
        }
        if let Integrity::Checking(done) = &mut state.integrity {
            *done = fraction;
        }
        state
    }

    /// The newest picture, once per picture.
    pub fn frames(&self) -> &FrameSlot {
        &self.shared.frames
    }
}

impl Drop for Playback {
    fn drop(&mut self) {
        self.shared.cancel.store(true, Ordering::Relaxed);
        // `None` stops the player thread even while the check thread still holds a
        // sender; the player drains its queue constantly, so this does not wait long.
        let _ = self.commands.send(None);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn open_file(path: &Path) -> Result<File, String> {
    File::open(path).map_err(|err| format!("cannot open {}: {err}", path.display()))
}

fn play_loop(path: &Path, commands: &Receiver<Option<PlaybackCommand>>, shared: &Shared) {
    let started = Instant::now();
    let opened = open_file(path).and_then(|file| {
        Player::open(BufReader::new(file))
            .map_err(|err| format!("cannot play {}: {err}", path.display()))
    });
    let mut player = match opened {
        Ok(player) => player,
        Err(words) => {
            tracing::error!("{words}");
            shared.update(|state| state.phase = Phase::Failed(words));
            return;
        }
    };
    let first_picture_after = started.elapsed();
    tracing::info!(
        "{}: first picture after {} ms",
        path.display(),
        first_picture_after.as_millis()
    );
    shared.update(|state| {
        state.phase = Phase::Ready;
        state.header = Some(player.header().clone());
        state.finished = player.is_finished();
        state.start = player.start();
        state.end = player.end();
        state.first_picture_after = Some(first_picture_after);
    });
    let mut shown = None;
    publish(&player, shared, &mut shown);
    let mut behind = false;
    loop {
        let now = Instant::now();
        let wait = if behind {
            Some(Duration::ZERO)
        } else {
            player
                .next_due(now)
                .map(|due| due.saturating_duration_since(now).min(TICK))
        };
        let first = match wait {
            Some(wait) => match commands.recv_timeout(wait) {
                Ok(command) => Some(command),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            },
            None => match commands.recv() {
                Ok(command) => Some(command),
                Err(_) => return,
            },
        };
        let mut batch = Vec::new();
        if let Some(command) = first {
            batch.push(command);
        }
        loop {
            match commands.try_recv() {
                Ok(command) => batch.push(command),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
        if batch.contains(&None) {
            return;
        }
        if let Err(err) = apply(&mut player, batch.into_iter().flatten().collect()) {
            shared.update(|state| state.problem = Some(err.to_string()));
        }
        match player.advance(Instant::now(), FRAMES_PER_STEP) {
            Ok(step) => behind = step.behind,
            Err(err) => {
                behind = false;
                player.pause(Instant::now());
                shared.update(|state| state.problem = Some(err.to_string()));
            }
        }
        publish(&player, shared, &mut shown);
    }
}

/// Carries out a batch of commands; of several seeks only the last counts (a dragged
/// timeline sends one per frame).
fn apply<R: Read + Seek>(
    player: &mut Player<R>,
    batch: Vec<PlaybackCommand>,
) -> Result<(), super::player::PlayerError> {
    let last_seek = batch
        .iter()
        .rposition(|command| matches!(command, PlaybackCommand::Seek(_)));
    for (i, command) in batch.into_iter().enumerate() {
        let now = Instant::now();
        match command {
            PlaybackCommand::Play => player.play(now)?,
            PlaybackCommand::Pause => player.pause(now),
            PlaybackCommand::Toggle => player.toggle(now)?,
            PlaybackCommand::Seek(time) if Some(i) == last_seek => player.seek(time, now)?,
            PlaybackCommand::Seek(_) => {}
            PlaybackCommand::Speed(speed) => player.set_speed(speed, now),
            PlaybackCommand::LimitTo(time) => player.limit_to(time, now)?,
        }
    }
    Ok(())
}

/// Publishes the clock, and the picture when it changed.
fn publish<R: Read + Seek>(player: &Player<R>, shared: &Shared, shown: &mut Option<u64>) {
    let version = player.picture_version();
    let mut sequence = None;
    if *shown != Some(version)
        && let Some(picture) = player.picture()
    {
        let mut rgba = shared.frames.buffer();
        rgba.clone_from(&picture.rgba);
        shared.frames.put(VideoFrame {
            width: picture.width,
            height: picture.height,
            rgba,
            sequence: picture.sequence,
        });
        *shown = Some(version);
        sequence = Some(picture.sequence);
    }
    shared.update(|state| {
        state.position = player.position();
        state.limit = player.limit();
        state.playing = player.is_playing();
        state.speed = player.speed();
        state.seeking = player.is_seeking();
        if let Some(sequence) = sequence {
            state.picture_sequence = Some(sequence);
        }
        if let Some(problem) = player.problem() {
            state.problem = Some(problem.to_owned());
        }
    });
}

/// A file that counts what is read into the shared progress, and stops when the
/// playback is closed.
struct Counted<'a> {
    file: File,
    shared: &'a Shared,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.shared.cancel.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("the recording was closed"));
        }
        let read = self.file.read(buf)?;
        self.shared
            .checked
            .fetch_add(read as u64, Ordering::Relaxed);
        Ok(read)
    }
}

impl Seek for Counted<'_> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let at = self.file.seek(pos)?;
        // Progress is how far into the file reading got (both passes read in order).
        self.shared.checked.store(at, Ordering::Relaxed);
        Ok(at)
    }
}

/// Lists the events, then verifies the file.
fn check(path: &Path, shared: &Shared, commands: &SyncSender<Option<PlaybackCommand>>) {
    let listed = counted(path, shared).and_then(|source| {
        let mut reader = RecordingReader::open(source).map_err(|err| err.to_string())?;
        list_events(&mut reader).map_err(|err| err.to_string())
    });
    if shared.cancel.load(Ordering::Relaxed) {
        return;
    }
    shared.update(|state| {
        state.events = match listed {
            Ok(list) => EventsState::Listed(Arc::new(list)),
            Err(words) => EventsState::Failed(words),
        }
    });
    let report = counted(path, shared).and_then(|source| {
        verify(source, None).map_err(|err| format!("cannot check {}: {err}", path.display()))
    });
    if shared.cancel.load(Ordering::Relaxed) {
        return;
    }
    let integrity = match report {
        Err(words) => Integrity::Unchecked(words),
        Ok(report) => match &report.problem {
            None if report.finished => Integrity::Intact {
                signer: report
                    .signer()
                    .map(|signer| signer.to_string())
                    .unwrap_or_default(),
                signer_is_recorder: report.header.as_ref().is_some_and(|header| {
                    let signer = header.recorder.public_key.fingerprint();
                    match header.recorder.side {
                        Side::Technician => signer == header.technician.fingerprint,
                        Side::Agent => signer == header.agent.fingerprint,
                    }
                }),
            },
            None => Integrity::CutShort {
                words: "the recording ends without its final seal".to_owned(),
            },
            Some(problem) if problem.is_incomplete_only() => Integrity::CutShort {
                words: problem.to_string(),
            },
            Some(problem) => Integrity::Damaged {
                chunk: problem.chunk(),
                words: problem.to_string(),
                playable_until: report
                    .span
                    .map(|(_, last)| last)
                    .or(report.header.as_ref().map(|header| header.started)),
            },
        },
    };
    if let Integrity::Damaged {
        playable_until: Some(until),
        ..
    } = &integrity
    {
        let _ = commands.try_send(Some(PlaybackCommand::LimitTo(*until)));
    }
    shared.update(|state| state.integrity = integrity);
}

/// Opens `path` for one pass of the check, its progress counted from zero.
fn counted<'a>(path: &Path, shared: &'a Shared) -> Result<BufReader<Counted<'a>>, String> {
    let file = open_file(path)?;
    let length = file.metadata().map(|m| m.len()).unwrap_or(0);
    shared.length.store(length, Ordering::Relaxed);
    shared.checked.store(0, Ordering::Relaxed);
    Ok(BufReader::new(Counted { file, shared }))
}
