//! Tests of the player core on synthetic recordings of real H.264: the picture after a
//! seek is the one a decoder shows playing from the start, the clock follows the speed
//! and stops when paused and at the end, damage stops playback before it, and opening
//! and seeking read little of a long file.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::cell::Cell;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::rc::Rc;
use std::time::{Duration, Instant};

use lifeline_codec::OpenH264Decoder;
use lifeline_protocol::Timestamp;
use lifeline_protocol::recording::{Record, RecordingReader};

use super::*;
use crate::recording::synthetic::{SYNTHETIC_START, SyntheticSpec, write_synthetic};
use crate::session::decode::decode_into;

fn make(spec: &SyntheticSpec) -> Vec<u8> {
    let mut bytes = Vec::new();
    write_synthetic(&mut bytes, spec).unwrap();
    bytes
}

/// Ten seconds, a frame every 100 ms, a keyframe every 30 frames.
fn short_spec() -> SyntheticSpec {
    SyntheticSpec {
        frames: 100,
        keyframe_every: 30,
        distinct_intervals: 4,
        ..SyntheticSpec::default()
    }
}

/// Every frame's picture as a decoder playing from the start shows it.
fn pictures_from_the_start(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut reader = RecordingReader::open(Cursor::new(bytes)).unwrap();
    let mut decoder = OpenH264Decoder::new().unwrap();
    let mut pictures = Vec::new();
    while let Some(record) = reader.next_record().unwrap() {
        if let Record::Video { header, data } = record.record {
            let mut rgba = Vec::new();
            decode_into(&mut decoder, &data, &header, &mut rgba)
                .unwrap()
                .unwrap();
            assert_eq!(header.sequence as usize, pictures.len());
            pictures.push(rgba);
        }
    }
    pictures
}

fn at(ms: u64) -> Timestamp {
    SYNTHETIC_START.saturating_add(Duration::from_millis(ms))
}

fn sequence<R: Read + Seek>(player: &Player<R>) -> u64 {
    player.picture().expect("a picture").sequence
}

#[test]
fn opening_shows_the_first_picture_paused_at_the_start() {
    let spec = short_spec();
    let bytes = make(&spec);
    let player = Player::open(Cursor::new(bytes)).unwrap();
    assert_eq!(player.start(), SYNTHETIC_START);
    assert_eq!(player.end(), spec.frame_time(99));
    assert_eq!(player.position(), SYNTHETIC_START);
    assert!(!player.is_playing());
    assert!(player.is_finished());
    assert_eq!(player.header().technician.name, "Tess Tester");
    let picture = player.picture().unwrap();
    assert_eq!((picture.width, picture.height), (320, 240));
    assert_eq!(
        picture.sequence, 0,
        "before the first frame, the first frame"
    );
    assert_eq!(player.problem(), None);
}

#[test]
fn a_seek_lands_on_the_picture_a_decoder_from_the_start_shows() {
    let spec = short_spec();
    let bytes = make(&spec);
    let truth = pictures_from_the_start(&bytes);
    assert_eq!(truth.len(), 100);
    let mut player = Player::open(Cursor::new(bytes)).unwrap();
    let now = Instant::now();
    // Forward and back, on keyframes, just before and after them, and past the end.
    for ms in [5_050, 3_100, 3_000, 2_950, 9_999, 450, 50, 7_777, 60_000] {
        player.seek(at(ms), now).unwrap();
        player.settle().unwrap();
        let expected = spec.frame_at(at(ms));
        assert_eq!(
            sequence(&player),
            expected,
            "the frame shown {ms} ms after the start"
        );
        assert!(
            player.picture().unwrap().rgba == truth[expected as usize],
            "the picture at {ms} ms is the one playing from the start shows"
        );
        assert_eq!(player.position(), at(ms).min(player.end()));
    }
}

#[test]
fn the_clock_follows_the_speed() {
    let spec = short_spec();
    let mut player = Player::open(Cursor::new(make(&spec))).unwrap();
    let t0 = Instant::now();
    player.play(t0).unwrap();
    player
        .advance(t0 + Duration::from_secs(1), usize::MAX)
        .unwrap();
    assert_eq!(player.position(), at(1_000));
    assert_eq!(sequence(&player), spec.frame_at(at(1_000)));

    player.set_speed(Speed::Quadruple, t0 + Duration::from_secs(1));
    player
        .advance(t0 + Duration::from_secs(2), usize::MAX)
        .unwrap();
    assert_eq!(player.position(), at(5_000), "one second at 4x is four");
    assert_eq!(sequence(&player), spec.frame_at(at(5_000)));

    player.set_speed(Speed::Half, t0 + Duration::from_secs(2));
    player
        .advance(t0 + Duration::from_secs(4), usize::MAX)
        .unwrap();
    assert_eq!(player.position(), at(6_000), "two seconds at 0.5x are one");
    assert_eq!(player.speed(), Speed::Half);
    assert_eq!(
        player.next_due(t0 + Duration::from_secs(4)),
        Some(t0 + Duration::from_secs(4) + Duration::from_millis(200)),
        "the next frame (100 ms later) is due in 200 ms at half speed"
    );
}

#[test]
fn pausing_stops_the_clock_and_the_picture() {
    let spec = short_spec();
    let mut player = Player::open(Cursor::new(make(&spec))).unwrap();
    let t0 = Instant::now();
    player.toggle(t0).unwrap();
    assert!(player.is_playing());
    player
        .advance(t0 + Duration::from_millis(2_500), usize::MAX)
        .unwrap();
    player.toggle(t0 + Duration::from_millis(2_500)).unwrap();
    assert!(!player.is_playing());
    let version = player.picture_version();
    let step = player
        .advance(t0 + Duration::from_secs(30), usize::MAX)
        .unwrap();
    assert_eq!(player.position(), at(2_500));
    assert!(!step.new_picture);
    assert_eq!(player.picture_version(), version);
    assert_eq!(player.next_due(t0 + Duration::from_secs(30)), None);

    // Resuming goes on from where it stopped.
    player.play(t0 + Duration::from_secs(30)).unwrap();
    player
        .advance(t0 + Duration::from_secs(31), usize::MAX)
        .unwrap();
    assert_eq!(player.position(), at(3_500));
    assert_eq!(sequence(&player), spec.frame_at(at(3_500)));
}

#[test]
fn playback_pauses_at_the_end_and_play_starts_again() {
    let spec = short_spec();
    let mut player = Player::open(Cursor::new(make(&spec))).unwrap();
    let t0 = Instant::now();
    player.set_speed(Speed::Octuple, t0);
    player.play(t0).unwrap();
    let step = player
        .advance(t0 + Duration::from_secs(2), usize::MAX)
        .unwrap();
    assert!(step.reached_end);
    assert!(!player.is_playing());
    assert_eq!(player.position(), player.end());
    assert_eq!(sequence(&player), 99);

    player.play(t0 + Duration::from_secs(3)).unwrap();
    assert!(player.is_playing());
    assert_eq!(player.position(), player.start());
    assert_eq!(sequence(&player), 0);
}

#[test]
fn a_player_far_behind_skips_to_the_keyframe_before_the_clock() {
    let spec = short_spec();
    let mut player = Player::open(Cursor::new(make(&spec))).unwrap();
    let t0 = Instant::now();
    player.set_speed(Speed::Octuple, t0);
    player.play(t0).unwrap();
    // A slow machine: two frames per step, while the clock runs 8x.
    let mut now = t0;
    for _ in 0..4 {
        now += Duration::from_millis(250);
        player.advance(now, 2).unwrap();
    }
    assert!(player.stats().jumps >= 1, "{:?}", player.stats());
    assert!(
        player.stats().frames_decoded < 40,
        "skipping ahead decodes less than everything: {:?}",
        player.stats()
    );
    player.pause(now);
    player.settle().unwrap();
    assert_eq!(sequence(&player), spec.frame_at(player.position()));
}

#[test]
fn an_unfinished_recording_plays_to_its_last_frame() {
    let spec = SyntheticSpec {
        finish: false,
        ..short_spec()
    };
    let mut player = Player::open(Cursor::new(make(&spec))).unwrap();
    assert!(!player.is_finished());
    assert_eq!(player.end(), spec.frame_time(99));
    player.seek(player.end(), Instant::now()).unwrap();
    player.settle().unwrap();
    assert_eq!(sequence(&player), 99);
}

/// Chunks as (offset, length), from the documented layout.
fn chunks(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset + 58 <= bytes.len() {
        let body = u32::from_be_bytes(bytes[offset + 22..offset + 26].try_into().unwrap());
        let len = 58 + body as usize + 36;
        out.push((offset, len));
        offset += len;
    }
    out
}

#[test]
fn a_damaged_chunk_stops_playback_before_it_with_words() {
    let spec = short_spec();
    let mut bytes = make(&spec);
    let list = chunks(&bytes);
    // A records chunk in the middle (kind byte 1).
    let (offset, len) = list
        .iter()
        .copied()
        .filter(|(offset, _)| bytes[offset + 4] == 1)
        .nth(4)
        .unwrap();
    bytes[offset + 58 + (len - 94) / 2] ^= 0x40;
    let mut player = Player::open(Cursor::new(bytes)).unwrap();
    let t0 = Instant::now();
    player.set_speed(Speed::Octuple, t0);
    player.play(t0).unwrap();
    let mut now = t0;
    let mut reached_end = false;
    for _ in 0..20 {
        now += Duration::from_millis(100);
        reached_end |= player.advance(now, usize::MAX).unwrap().reached_end;
    }
    assert!(reached_end);
    assert!(!player.is_playing());
    assert!(player.position() < player.end(), "stopped before the end");
    assert_eq!(player.limit(), player.position());
    let problem = player.problem().expect("the damage is named");
    assert!(problem.contains("is damaged"), "{problem}");
    assert!(problem.contains("playback stops before it"), "{problem}");
    // Seeking past the damage stays before it.
    player.seek(player.end(), now).unwrap();
    assert_eq!(player.position(), player.limit());
}

#[test]
fn damage_in_the_only_keyframe_interval_keeps_the_whole_timeline() {
    // One keyframe interval: finding the end reads through the damage.
    let spec = SyntheticSpec {
        keyframe_every: 240,
        ..short_spec()
    };
    let mut bytes = make(&spec);
    let (offset, len) = chunks(&bytes)
        .into_iter()
        .filter(|(offset, _)| bytes[offset + 4] == 1)
        .nth(4)
        .unwrap();
    bytes[offset + 58 + (len - 94) / 2] ^= 0x40;
    let player = Player::open(Cursor::new(bytes)).unwrap();
    assert!(
        player.end() >= spec.frame_time(99),
        "the timeline reaches the end of the recording"
    );
    assert!(
        player.limit() < spec.frame_time(60),
        "playback stops at the damage"
    );
    assert!(player.limit() > player.start());
    assert!(player.problem().unwrap().contains("is damaged"));
    assert_eq!(sequence(&player), 0);
}

/// A source that counts the bytes read from it.
struct Counting<R> {
    inner: R,
    read: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[test]
fn opening_and_seeking_to_the_middle_of_a_long_recording_reads_little() {
    // An hour at 10 frames a second, a keyframe every 240 frames (small pictures: the
    // hour-long 1080p file is in tests/player_long.rs).
    let spec = SyntheticSpec {
        width: 160,
        height: 120,
        frames: 36_000,
        chat_every: Some(600),
        ..SyntheticSpec::default()
    };
    let bytes = make(&spec);
    let total = bytes.len() as u64;
    let read = Rc::new(Cell::new(0));
    let source = Counting {
        inner: Cursor::new(bytes),
        read: Rc::clone(&read),
    };
    let mut player = Player::open(source).unwrap();
    let middle = at(1_800_000 + 1_234);
    player.seek(middle, Instant::now()).unwrap();
    player.settle().unwrap();
    assert_eq!(sequence(&player), spec.frame_at(middle));
    let read = read.get();
    assert!(
        read * 20 < total,
        "opening and seeking read {read} of {total} bytes"
    );
    assert!(
        player.stats().frames_decoded <= 2 * 240 + 1,
        "{:?}",
        player.stats()
    );
}
