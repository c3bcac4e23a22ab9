//! The player core, without UI or threads: plays a recording at a speed, pauses,
//! seeks, and keeps the picture of the moment.
//!
//! It reads with `lifeline_protocol::recording::RecordingReader`: opening reads the
//! header and the keyframe index (at the end of a finished file) and the stretch from
//! the last keyframe to the end (for the duration); a seek starts from the keyframe at
//! or before its target (the recorder asks for one every 240 frames) and decodes up to
//! it with lifeline-codec's H.264 decoder. Memory is bounded whatever the length: the
//! reader's one chunk and index, the decoder, one picture and one record read ahead.
//!
//! Time is passed in ([`Instant`]s): the caller (a thread, a test) owns the clock. The
//! media clock runs at the chosen [`Speed`] from where it was last set; work per call is
//! bounded ([`Player::advance`] decodes at most a given number of frames), and a player
//! that falls more than [`JUMP_AFTER`] behind skips ahead to the keyframe before the
//! clock rather than decode everything in between.

use std::io::{Read, Seek, SeekFrom};
use std::time::{Duration, Instant};

use lifeline_codec::OpenH264Decoder;
use lifeline_protocol::Timestamp;
use lifeline_protocol::recording::{Header, ReadError, Record, RecordingReader, TimedRecord};

use crate::link::VideoFrame;
use crate::session::decode::decode_into;

/// A player behind by more than this skips ahead to the keyframe before its clock.
pub const JUMP_AFTER: Duration = Duration::from_secs(1);
/// The most the timeline reaches past damage (to the last chunk's time): a larger gap
/// means that time is itself garbage.
const PLAUSIBLE_TAIL: Duration = Duration::from_secs(24 * 3600);
/// Frames decoded per [`Player::advance`] call by default; the rest waits for the next
/// call, so that whoever drives the player stays responsive.
pub const FRAMES_PER_STEP: usize = 24;

/// How fast a recording plays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Speed {
    /// Half speed.
    Half,
    /// As recorded.
    #[default]
    Normal,
    /// Twice as fast.
    Double,
    /// Four times as fast.
    Quadruple,
    /// Eight times as fast.
    Octuple,
}

impl Speed {
    /// Every speed, slowest first.
    pub const ALL: [Speed; 5] = [
        Speed::Half,
        Speed::Normal,
        Speed::Double,
        Speed::Quadruple,
        Speed::Octuple,
    ];

    /// Media time per wall-clock time, as a fraction `numerator / 2`.
    const fn halves(self) -> u32 {
        match self {
            Speed::Half => 1,
            Speed::Normal => 2,
            Speed::Double => 4,
            Speed::Quadruple => 8,
            Speed::Octuple => 16,
        }
    }

    /// The factor, e.g. 0.5 or 4.
    pub fn factor(self) -> f64 {
        f64::from(self.halves()) / 2.0
    }

    /// As people write it: `0.5×`, `1×`, … `8×`.
    pub const fn label(self) -> &'static str {
        match self {
            Speed::Half => "0.5×",
            Speed::Normal => "1×",
            Speed::Double => "2×",
            Speed::Quadruple => "4×",
            Speed::Octuple => "8×",
        }
    }

    /// Media time that passes in `wall` at this speed.
    pub fn media(self, wall: Duration) -> Duration {
        wall * self.halves() / 2
    }

    /// Wall-clock time that `media` takes at this speed.
    pub fn wall(self, media: Duration) -> Duration {
        media * 2 / self.halves()
    }
}

/// A recording could not be played.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlayerError {
    /// Reading the file failed, or it is not a recording.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The H.264 decoder could not start.
    #[error("cannot start the H.264 decoder: {0}")]
    Decoder(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Clock {
    Paused,
    /// Playing since `since`, when the media clock stood at `from`.
    Playing {
        since: Instant,
        from: Timestamp,
    },
}

/// What one [`Player::advance`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// A new picture is there.
    pub new_picture: bool,
    /// Frames are still due: call again soon.
    pub behind: bool,
    /// Playback reached the end (or the damage) and paused.
    pub reached_end: bool,
}

/// Counters, for tests and measurements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlayerStats {
    /// Frames given to the decoder.
    pub frames_decoded: u64,
    /// Pictures converted for showing.
    pub pictures: u64,
    /// Frames that did not decode.
    pub decode_errors: u64,
    /// Skips ahead to a keyframe because the player fell behind.
    pub jumps: u64,
}

/// Plays one recording. See the [module documentation](self).
pub struct Player<R> {
    reader: RecordingReader<R>,
    decoder: OpenH264Decoder,
    header: Header,
    finished: bool,
    start: Timestamp,
    end: Timestamp,
    limit: Timestamp,
    position: Timestamp,
    clock: Clock,
    speed: Speed,
    /// The next record, read and not yet acted on.
    pending: Option<TimedRecord>,
    /// The reader has nothing more from where it stands.
    exhausted: bool,
    /// The time of the last record acted on.
    consumed: Timestamp,
    /// Since the last seek, a picture was decoded (before it, the first frame after the
    /// target is shown rather than nothing).
    decoded_since_seek: bool,
    /// Decoding toward a seek target: no picture is shown before it is reached.
    seeking: bool,
    need_keyframe: bool,
    picture: Option<VideoFrame>,
    picture_version: u64,
    rgba: Vec<u8>,
    problem: Option<String>,
    stats: PlayerStats,
}

impl<R> std::fmt::Debug for Player<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Player")
            .field("start", &self.start)
            .field("end", &self.end)
            .field("position", &self.position)
            .field("clock", &self.clock)
            .field("speed", &self.speed)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<R: Read + Seek> Player<R> {
    /// Opens a recording and decodes its first picture; the player is paused at the
    /// start.
    pub fn open(mut source: R) -> Result<Self, PlayerError> {
        let last_chunk = last_chunk_time(&mut source);
        source.seek(SeekFrom::Start(0)).map_err(ReadError::from)?;
        let mut reader = RecordingReader::open(source)?;
        let header = reader.header().clone();
        let finished = reader.is_finished();
        let start = header.started;
        let (readable_end, problem) = find_end(&mut reader, start)?;
        // Damage before the end: the timeline still spans the whole recording (up to its
        // last chunk, when that is plausible), and playback stops at the damage.
        let end = match (&problem, last_chunk) {
            (Some(_), Some(last))
                if last > readable_end
                    && last.saturating_duration_since(readable_end) < PLAUSIBLE_TAIL =>
            {
                last
            }
            _ => readable_end,
        };
        let decoder =
            OpenH264Decoder::new().map_err(|err| PlayerError::Decoder(err.to_string()))?;
        let mut player = Self {
            reader,
            decoder,
            header,
            finished,
            start,
            end,
            limit: readable_end,
            position: start,
            clock: Clock::Paused,
            speed: Speed::Normal,
            pending: None,
            exhausted: false,
            consumed: start,
            decoded_since_seek: false,
            seeking: false,
            need_keyframe: false,
            picture: None,
            picture_version: 0,
            rgba: Vec::new(),
            problem,
            stats: PlayerStats::default(),
        };
        player.reposition(start)?;
        player.settle()?;
        Ok(player)
    }

    /// The recording's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Whether the recording was finished (an unfinished one plays up to its last whole
    /// chunk).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The start of the timeline: when recording started.
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// The end of the timeline: the time of the last record (past damage, of the last
    /// chunk).
    pub fn end(&self) -> Timestamp {
        self.end
    }

    /// Where playback stops: the end, or the last good record before damage.
    pub fn limit(&self) -> Timestamp {
        self.limit
    }

    /// The media clock.
    pub fn position(&self) -> Timestamp {
        self.position
    }

    /// Whether the clock runs.
    pub fn is_playing(&self) -> bool {
        matches!(self.clock, Clock::Playing { .. })
    }

    /// The speed.
    pub fn speed(&self) -> Speed {
        self.speed
    }

    /// The picture at the position (the last frame at or before it; before the first
    /// frame, the first frame).
    pub fn picture(&self) -> Option<&VideoFrame> {
        self.picture.as_ref()
    }

    /// Whether a seek is still decoding toward its target (the picture is the one from
    /// before the seek until then).
    pub fn is_seeking(&self) -> bool {
        self.seeking
    }

    /// Goes up by one with every new picture.
    pub fn picture_version(&self) -> u64 {
        self.picture_version
    }

    /// What stopped reading (a damaged or cut-off chunk), in words.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// Counters.
    pub fn stats(&self) -> PlayerStats {
        self.stats
    }

    /// Starts the clock (from the start again when at the end).
    pub fn play(&mut self, now: Instant) -> Result<(), PlayerError> {
        if self.is_playing() {
            return Ok(());
        }
        if self.position >= self.limit {
            self.seek(self.start, now)?;
        }
        self.clock = Clock::Playing {
            since: now,
            from: self.position,
        };
        Ok(())
    }

    /// Stops the clock where it is.
    pub fn pause(&mut self, now: Instant) {
        self.position = self.clock_position(now);
        self.clock = Clock::Paused;
    }

    /// Plays when paused, pauses when playing.
    pub fn toggle(&mut self, now: Instant) -> Result<(), PlayerError> {
        if self.is_playing() {
            self.pause(now);
            Ok(())
        } else {
            self.play(now)
        }
    }

    /// Changes the speed from now on.
    pub fn set_speed(&mut self, speed: Speed, now: Instant) {
        self.position = self.clock_position(now);
        self.speed = speed;
        if self.is_playing() {
            self.clock = Clock::Playing {
                since: now,
                from: self.position,
            };
        }
    }

    /// Stops playback at `limit` at the latest (verification found damage after it).
    pub fn limit_to(&mut self, limit: Timestamp, now: Instant) -> Result<(), PlayerError> {
        let limit = limit.clamp(self.start, self.end);
        if limit >= self.limit {
            return Ok(());
        }
        self.limit = limit;
        if self.clock_position(now) > limit {
            self.seek(limit, now)?;
        }
        Ok(())
    }

    /// Goes to `time` (clamped to the timeline) and shows the picture there; playing
    /// goes on from there. Decodes from the keyframe before it, at most
    /// [`FRAMES_PER_STEP`] frames now and the rest in later [`advance`](Self::advance)
    /// calls (the picture changes once the target is reached).
    pub fn seek(&mut self, time: Timestamp, now: Instant) -> Result<(), PlayerError> {
        let time = time.clamp(self.start, self.limit);
        self.position = time;
        if self.is_playing() {
            self.clock = Clock::Playing {
                since: now,
                from: time,
            };
        }
        self.reposition(time)?;
        self.catch_up(FRAMES_PER_STEP)?;
        Ok(())
    }

    /// Moves the clock to `now` and decodes what is due, at most `max_frames` frames.
    pub fn advance(&mut self, now: Instant, max_frames: usize) -> Result<Step, PlayerError> {
        let mut step = Step::default();
        if self.is_playing() {
            let position = self.clock_position(now);
            if position >= self.limit {
                self.position = self.limit;
                self.clock = Clock::Paused;
                step.reached_end = true;
            } else {
                self.position = position;
            }
            if self.is_playing() && self.should_jump() {
                self.stats.jumps += 1;
                self.reposition(self.position)?;
                // Not a seek: pictures on the way show while catching up.
                self.seeking = false;
            }
        }
        let version = self.picture_version;
        step.behind = self.catch_up(max_frames)?;
        step.new_picture = self.picture_version != version;
        if self.is_playing() && self.position >= self.limit {
            // Reading stopped at damage: that is where playback stops.
            self.position = self.limit;
            self.clock = Clock::Paused;
            step.reached_end = true;
        }
        Ok(step)
    }

    /// Decodes everything due (for tests and one-shot use: no bound on the work).
    pub fn settle(&mut self) -> Result<(), PlayerError> {
        while self.catch_up(usize::MAX)? {}
        Ok(())
    }

    /// When the next record falls due while playing (now, when frames are waiting);
    /// `None` when paused or at the end.
    pub fn next_due(&self, now: Instant) -> Option<Instant> {
        let Clock::Playing { since, from } = self.clock else {
            return None;
        };
        let due_time = match &self.pending {
            Some(record) => record.time.min(self.limit),
            None if self.exhausted => self.limit,
            None => return Some(now),
        };
        let media = due_time.saturating_duration_since(from);
        Some(since + self.speed.wall(media))
    }

    fn clock_position(&self, now: Instant) -> Timestamp {
        match self.clock {
            Clock::Paused => self.position,
            Clock::Playing { since, from } => from
                .saturating_add(self.speed.media(now.saturating_duration_since(since)))
                .min(self.limit),
        }
    }

    /// Far enough behind that a later keyframe before the clock saves work.
    fn should_jump(&self) -> bool {
        if self.seeking || self.position.saturating_duration_since(self.consumed) <= JUMP_AFTER {
            return false;
        }
        let index = self.reader.index();
        let at = index.partition_point(|entry| entry.time <= self.position);
        at.checked_sub(1)
            .and_then(|i| index.get(i))
            .is_some_and(|entry| entry.time.saturating_duration_since(self.consumed) > JUMP_AFTER)
    }

    /// Points the reader at the keyframe before `time`; the picture follows in
    /// [`catch_up`](Self::catch_up).
    fn reposition(&mut self, time: Timestamp) -> Result<(), PlayerError> {
        let keyframe = self.reader.seek(time)?;
        self.pending = None;
        self.exhausted = false;
        self.consumed = keyframe.unwrap_or(self.start).min(time).max(self.start);
        // Without video there is no picture to wait for.
        self.decoded_since_seek = keyframe.is_none();
        self.seeking = true;
        self.need_keyframe = false;
        Ok(())
    }

    /// Reads the next record into `pending` if there is none; false at the end (or at
    /// damage, which then limits playback).
    fn fill(&mut self) -> Result<bool, PlayerError> {
        if self.pending.is_some() {
            return Ok(true);
        }
        if self.exhausted {
            return Ok(false);
        }
        match self.reader.next_record() {
            Ok(Some(record)) => {
                self.pending = Some(record);
                Ok(true)
            }
            Ok(None) => {
                self.exhausted = true;
                Ok(false)
            }
            Err(err @ (ReadError::Damaged { .. } | ReadError::Truncated { .. })) => {
                self.exhausted = true;
                self.limit = self.limit.min(self.consumed);
                let words = format!("{err}; playback stops before it");
                if self.problem.as_ref() != Some(&words) {
                    tracing::warn!("{words}");
                    self.problem = Some(words);
                }
                Ok(false)
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Whether the next record is due: it is not after the clock, or no picture was
    /// decoded since the last seek (then everything up to the first frame is).
    fn pending_is_due(&self) -> bool {
        self.pending
            .as_ref()
            .is_some_and(|record| record.time <= self.position || !self.decoded_since_seek)
    }

    /// Acts on due records other than video; true when a due video frame is next.
    fn due_frame_waiting(&mut self) -> Result<bool, PlayerError> {
        loop {
            if !self.fill()? || !self.pending_is_due() {
                return Ok(false);
            }
            if matches!(
                self.pending.as_ref().map(|record| &record.record),
                Some(Record::Video { .. })
            ) {
                return Ok(true);
            }
            if let Some(record) = self.pending.take() {
                self.consumed = self.consumed.max(record.time);
            }
        }
    }

    /// Decodes the due frames, at most `max_frames`; true when more are due.
    fn catch_up(&mut self, max_frames: usize) -> Result<bool, PlayerError> {
        let mut decoded = 0usize;
        while self.due_frame_waiting()? {
            if decoded >= max_frames {
                return Ok(true);
            }
            let Some(TimedRecord {
                time,
                record: Record::Video { header, data },
            }) = self.pending.take()
            else {
                continue;
            };
            self.consumed = self.consumed.max(time);
            if self.need_keyframe && !header.keyframe {
                continue;
            }
            decoded += 1;
            self.stats.frames_decoded += 1;
            // Only the last frame due now is converted for showing (or the last of this
            // call's share, when playing behind); the ones before it are only decoded.
            // Which frames are due once this one is decoded: those up to the clock.
            let decoded_before = std::mem::replace(&mut self.decoded_since_seek, true);
            let another = self.due_frame_waiting()?;
            let show = !another || (decoded >= max_frames && !self.seeking);
            let result = if show {
                decode_into(&mut self.decoder, &data, &header, &mut self.rgba)
            } else {
                self.decoder
                    .decode_with(&data, |image| (image.width(), image.height()))
                    .map_err(|err| err.to_string())
            };
            match result {
                Ok(Some((width, height))) => {
                    self.need_keyframe = false;
                    if show {
                        self.present(width, height, header.sequence);
                    }
                }
                Ok(None) => self.decoded_since_seek = decoded_before,
                Err(err) => {
                    self.decoded_since_seek = decoded_before;
                    self.stats.decode_errors += 1;
                    tracing::warn!("frame {} does not decode: {err}", header.sequence);
                    self.need_keyframe = true;
                }
            }
        }
        self.seeking = false;
        Ok(false)
    }

    fn present(&mut self, width: u32, height: u32, sequence: u64) {
        let picture = self.picture.get_or_insert_with(VideoFrame::default);
        picture.width = width;
        picture.height = height;
        // The old picture's buffer is the next one to decode into.
        std::mem::swap(&mut picture.rgba, &mut self.rgba);
        picture.sequence = sequence;
        self.picture_version += 1;
        self.stats.pictures += 1;
    }
}

/// The time in the head of the file's last chunk (the final seal's: when recording
/// ended), read with the documented layout: the file ends with that chunk's body length,
/// and its head holds the magic at 0 and the time at 14. `None` when that does not make
/// sense (a file cut inside its last chunk).
fn last_chunk_time<R: Read + Seek>(source: &mut R) -> Option<Timestamp> {
    const HEAD: u64 = 58;
    const TAIL: u64 = 36;
    let len = source.seek(SeekFrom::End(0)).ok()?;
    source.seek(SeekFrom::Start(len.checked_sub(4)?)).ok()?;
    let mut body_len = [0u8; 4];
    source.read_exact(&mut body_len).ok()?;
    let chunk = HEAD + u64::from(u32::from_be_bytes(body_len)) + TAIL;
    source.seek(SeekFrom::Start(len.checked_sub(chunk)?)).ok()?;
    let mut head = [0u8; 22];
    source.read_exact(&mut head).ok()?;
    if &head[..4] != b"LLRC" {
        return None;
    }
    let mut time = [0u8; 8];
    time.copy_from_slice(&head[14..22]);
    Some(Timestamp(u64::from_be_bytes(time)))
}

/// The time of the last record: read from the last keyframe to the end. A damaged
/// chunk on the way ends it there, in words.
fn find_end<R: Read + Seek>(
    reader: &mut RecordingReader<R>,
    start: Timestamp,
) -> Result<(Timestamp, Option<String>), ReadError> {
    reader.seek(Timestamp(u64::MAX))?;
    let mut end = start;
    loop {
        match reader.next_record() {
            Ok(Some(record)) => end = end.max(record.time),
            Ok(None) => return Ok((end, None)),
            Err(err @ (ReadError::Damaged { .. } | ReadError::Truncated { .. })) => {
                return Ok((end, Some(format!("{err}; playback stops before it"))));
            }
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
#[path = "player_tests.rs"]
mod tests;
