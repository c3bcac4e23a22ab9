//! An hour-long 1080p recording: opening it and seeking to its middle read a small part
//! of the file (the index at its end and the keyframe intervals needed), whatever its
//! length. The time to the first picture is printed (run with `--nocapture`), not
//! asserted: timings belong in the README's numbers, not in tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a test that reports what it measured"
)]

use std::cell::Cell;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write as _};
use std::rc::Rc;
use std::time::{Duration, Instant};

use lifeline_protocol::Timestamp;
use lifeline_viewer::recording::player::Player;
use lifeline_viewer::recording::synthetic::{SYNTHETIC_START, SyntheticSpec, write_synthetic};

/// A file that counts what is read from it.
struct Counting {
    file: File,
    read: Rc<Cell<u64>>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

impl Seek for Counting {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.file.seek(pos)
    }
}

#[test]
fn an_hour_long_recording_opens_and_seeks_reading_little() {
    // An hour at 10 frames a second, 1920x1080, a keyframe every 240 frames (24 s).
    let spec = SyntheticSpec {
        width: 1920,
        height: 1080,
        frame_interval: Duration::from_millis(100),
        frames: 36_000,
        chat_every: Some(300),
        // One interval encoded and repeated: 1080p encoding is the slow part.
        distinct_intervals: 1,
        ..SyntheticSpec::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hour.llrec");
    let made = Instant::now();
    let mut out = BufWriter::new(File::create(&path).unwrap());
    let summary = write_synthetic(&mut out, &spec).unwrap();
    out.flush().unwrap();
    drop(out);
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "made a {:.1} min recording of {:.1} MB in {:.1} s",
        summary
            .end
            .saturating_duration_since(SYNTHETIC_START)
            .as_secs_f64()
            / 60.0,
        size as f64 / 1e6,
        made.elapsed().as_secs_f64()
    );

    let read = Rc::new(Cell::new(0));
    let source = Counting {
        file: File::open(&path).unwrap(),
        read: Rc::clone(&read),
    };
    let opening = Instant::now();
    let mut player = Player::open(BufReader::new(source)).unwrap();
    let first_picture = opening.elapsed();
    assert_eq!(player.picture().unwrap().sequence, 0);
    assert!(player.end() >= spec.frame_time(35_999));
    let opened_read = read.get();

    // The middle, 200 frames after a keyframe: the worst case is 239.
    let middle = spec.frame_time(18_000 + 200);
    let seeking = Instant::now();
    player.seek(middle, Instant::now()).unwrap();
    player.settle().unwrap();
    let seek_time = seeking.elapsed();
    assert_eq!(player.picture().unwrap().sequence, 18_200);
    let total_read = read.get();
    println!(
        "time to first picture: {:.0} ms (read {:.2} MB of {:.1} MB); seek to the middle \
         (200 frames after a keyframe): {:.0} ms; read in all {:.2} MB; {} frames decoded",
        first_picture.as_secs_f64() * 1000.0,
        opened_read as f64 / 1e6,
        size as f64 / 1e6,
        seek_time.as_secs_f64() * 1000.0,
        total_read as f64 / 1e6,
        player.stats().frames_decoded
    );
    assert!(
        total_read * 20 < size,
        "opening and seeking read {total_read} of {size} bytes"
    );
    assert_eq!(player.position(), Timestamp(middle.as_unix_millis()));
}
