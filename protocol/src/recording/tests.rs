//! Tests of the recording format: round trips, policy, index and seeking, and what
//! verification says about damaged, cut, reordered, truncated and forged files.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io::Cursor;

use proptest::prelude::*;

use super::chunk::{ChunkHead, HEAD_LEN, chunk_hash, read_head};
use super::*;
use crate::audit::{Actor, AuditAction, AuditRecord, Outcome};
use crate::identity::KeyPair;
use crate::message::{
    KeyEvent, Modifiers, MouseButton, PointerButton, VideoCodec, VideoFrameHeader,
};
use crate::scope::{Scope, ScopeSet};
use crate::time::Timestamp;

const START: u64 = 1_700_000_000_000;

fn header(policy: Policy) -> Header {
    Header {
        format: FORMAT_NAME.to_owned(),
        version: FORMAT_VERSION,
        recording_id: RecordingId([7; 16]),
        started: Timestamp(START),
        recorder: Recorder {
            side: Side::Technician,
            public_key: crate::identity::PublicKey([0; 32]),
            software: "lifeline-viewer test".to_owned(),
        },
        agent: AgentInfo {
            fingerprint: crate::identity::PublicKey([1; 32]).fingerprint(),
            software_version: Some("0.1.0".to_owned()),
        },
        technician: TechnicianInfo {
            name: "Tess".to_owned(),
            fingerprint: crate::identity::PublicKey([2; 32]).fingerprint(),
            verification: TechnicianVerification::Unverified,
        },
        session_id: None,
        protocol_version: Some(1),
        policy,
    }
}

fn frame(sequence: u64, keyframe: bool, width: u32, len: usize) -> (VideoFrameHeader, Vec<u8>) {
    let data: Vec<u8> = (0..len).map(|i| (i as u64 ^ sequence) as u8).collect();
    (
        VideoFrameHeader {
            sequence,
            capture_time: Timestamp(START + sequence),
            keyframe,
            width,
            height: 720,
            codec: VideoCodec::H264,
            payload_len: len as u32,
        },
        data,
    )
}

/// A recording of `seconds` seconds: a frame every 100 ms, a keyframe every 10 s,
/// a pointer move every 500 ms and a chat line every 5 s. Returns the bytes and the
/// key that signed it.
fn sample(seconds: u64) -> (Vec<u8>, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let signer = KeyPair::from_pkcs8(key.to_pkcs8()).unwrap();
    let mut writer = RecordingWriter::new(Vec::new(), signer, header(Policy::default())).unwrap();
    for tick in 0..seconds * 10 {
        let time = Timestamp(START + tick * 100);
        let (head, data) = frame(tick, tick % 100 == 0, 1280, 200 + (tick % 7) as usize * 50);
        assert!(writer.write_video(time, &head, &data).unwrap());
        if tick % 5 == 0 {
            writer
                .write_pointer(time, tick as u32, 2 * tick as u32)
                .unwrap();
        }
        if tick % 50 == 25 {
            writer
                .write_event(
                    time,
                    &Event::Chat {
                        from: Side::Agent,
                        bytes: 5,
                        text: Some("hello".to_owned()),
                    },
                )
                .unwrap();
        }
        writer.tick(time).unwrap();
    }
    (
        writer.finish(Timestamp(START + seconds * 1000)).unwrap(),
        key,
    )
}

/// Like [`sample`] but stops without finishing: what a killed recorder leaves.
fn sample_unfinished(seconds: u64) -> Vec<u8> {
    let (bytes, _) = sample(seconds);
    let chunks = chunks(&bytes);
    // Drop the index and final seal, and any seal right before them.
    let keep = chunks
        .iter()
        .rev()
        .find(|(_, _, head)| head.kind == ChunkKind::Records)
        .map(|(offset, len, _)| offset + len)
        .unwrap();
    bytes[..keep as usize].to_vec()
}

/// Every chunk: offset, total length and head.
fn chunks(bytes: &[u8]) -> Vec<(u64, u64, ChunkHead)> {
    let mut out = Vec::new();
    let mut offset = 0u64;
    while (offset as usize) < bytes.len() {
        let head = read_head(&mut &bytes[offset as usize..]).unwrap();
        out.push((offset, head.total_len(), head));
        offset += head.total_len();
    }
    out
}

fn read_all(bytes: &[u8]) -> (Vec<TimedRecord>, Option<ReadError>) {
    let mut reader = RecordingReader::open(Cursor::new(bytes)).unwrap();
    let mut records = Vec::new();
    loop {
        match reader.next_record() {
            Ok(Some(record)) => records.push(record),
            Ok(None) => return (records, None),
            Err(err) => return (records, Some(err)),
        }
    }
}

fn check(bytes: &[u8]) -> Report {
    verify(Cursor::new(bytes), None).unwrap()
}

#[test]
fn records_come_back_as_written() {
    let key = KeyPair::generate().unwrap();
    let public = key.public_key();
    let mut writer = RecordingWriter::new(Vec::new(), key, header(Policy::default())).unwrap();
    let t = |ms: u64| Timestamp(START + ms);
    let (delta, delta_data) = frame(1, false, 1280, 10);
    assert!(
        !writer.write_video(t(1), &delta, &delta_data).unwrap(),
        "video before the first keyframe is left out"
    );
    let (key_head, key_data) = frame(2, true, 1280, 5000);
    assert!(writer.write_video(t(2), &key_head, &key_data).unwrap());
    writer.write_pointer(t(3), 10, 20).unwrap();
    let click = Event::PointerButton(PointerButton {
        button: MouseButton::Left,
        pressed: true,
    });
    writer.write_event(t(4), &click).unwrap();
    let audit = Event::Audit(AuditRecord {
        time: t(5),
        session: None,
        actor: Actor::EndUser,
        action: AuditAction::ScopesRevoked {
            scopes: Scope::ControlInput.into(),
        },
        scope: None,
        outcome: Outcome::Succeeded,
    });
    writer.write_event(t(5), &audit).unwrap();
    let (next, next_data) = frame(3, false, 1280, 30);
    // Times never go backwards, even if the caller's do.
    assert!(writer.write_video(t(0), &next, &next_data).unwrap());
    let bytes = writer.finish(t(10)).unwrap();

    let reader = RecordingReader::open(Cursor::new(&bytes)).unwrap();
    assert_eq!(reader.header().recorder.public_key, public);
    assert_eq!(reader.header().technician.name, "Tess");
    assert!(reader.is_finished());
    let (records, error) = read_all(&bytes);
    assert!(error.is_none());
    let expected = vec![
        TimedRecord {
            time: t(2),
            record: Record::Event(Event::Resolution {
                width: 1280,
                height: 720,
            }),
        },
        TimedRecord {
            time: t(2),
            record: Record::Video {
                header: key_head,
                data: key_data,
            },
        },
        TimedRecord {
            time: t(3),
            record: Record::PointerMove { x: 10, y: 20 },
        },
        TimedRecord {
            time: t(4),
            record: Record::Event(click),
        },
        TimedRecord {
            time: t(5),
            record: Record::Event(audit),
        },
        TimedRecord {
            time: t(5),
            record: Record::Video {
                header: next,
                data: next_data,
            },
        },
    ];
    assert_eq!(records, expected);
    let report = check(&bytes);
    assert!(report.is_valid(), "{:?}", report.problem);
    assert_eq!(report.video_frames, 2);
    assert_eq!(report.records, 6);
    assert_eq!(report.span, Some((t(2), t(5))));
    assert_eq!(report.signer(), Some(public.fingerprint()));
}

#[test]
fn the_policy_leaves_out_keys_and_contents() {
    let key = KeyPair::generate().unwrap();
    let policy = Policy {
        keys: false,
        clipboard_contents: false,
        chat_contents: false,
    };
    let mut writer = RecordingWriter::new(Vec::new(), key, header(policy)).unwrap();
    let time = Timestamp(START);
    writer
        .write_event(
            time,
            &Event::Key(KeyEvent {
                usb_hid_usage: 4,
                keysym: None,
                text: Some('a'),
                modifiers: Modifiers::default(),
                pressed: true,
            }),
        )
        .unwrap();
    writer
        .write_event(
            time,
            &Event::TypeText {
                text: "hunter2".to_owned(),
            },
        )
        .unwrap();
    writer
        .write_event(
            time,
            &Event::Clipboard {
                from: Side::Technician,
                bytes: 6,
                text: Some("secret".to_owned()),
            },
        )
        .unwrap();
    writer
        .write_event(
            time,
            &Event::Chat {
                from: Side::Agent,
                bytes: 2,
                text: Some("hi".to_owned()),
            },
        )
        .unwrap();
    let bytes = writer.finish(time).unwrap();
    assert!(!bytes.windows(7).any(|w| w == b"hunter2"));
    assert!(!bytes.windows(6).any(|w| w == b"secret"));
    let (records, _) = read_all(&bytes);
    let events: Vec<_> = records.into_iter().map(|r| r.record).collect();
    assert_eq!(
        events,
        vec![
            Record::Event(Event::Clipboard {
                from: Side::Technician,
                bytes: 6,
                text: None
            }),
            Record::Event(Event::Chat {
                from: Side::Agent,
                bytes: 2,
                text: None
            }),
        ]
    );
}

#[test]
fn event_json_names_are_stable() {
    let json = |event: &Event| serde_json::to_string(event).unwrap();
    assert_eq!(
        json(&Event::ScopesChanged {
            granted: ScopeSet::from([Scope::ViewScreen, Scope::RecordSession])
        }),
        r#"{"scopes_changed":{"granted":["view","record"]}}"#
    );
    assert_eq!(
        json(&Event::Chat {
            from: Side::Agent,
            bytes: 5,
            text: Some("hello".into())
        }),
        r#"{"chat":{"from":"agent","bytes":5,"text":"hello"}}"#
    );
    assert_eq!(json(&Event::RecordingResumed), r#""recording_resumed""#);
    let header = serde_json::to_value(header(Policy::default())).unwrap();
    assert_eq!(header["format"], "lifeline-recording");
    assert_eq!(header["technician"]["verification"], "unverified");
    assert_eq!(header["recorder"]["side"], "technician");
    assert_eq!(header["policy"]["keys"], true);
}

#[test]
fn chunks_close_every_second_and_keyframes_start_chunks() {
    let (bytes, _) = sample(30);
    let chunks = chunks(&bytes);
    assert_eq!(chunks[0].2.kind, ChunkKind::Header);
    let records: Vec<_> = chunks
        .iter()
        .filter(|(_, _, head)| head.kind == ChunkKind::Records)
        .collect();
    // 30 s of records in chunks of at most a second (plus a little).
    assert!(records.len() >= 29, "{} records chunks", records.len());
    assert_eq!(
        records
            .iter()
            .filter(|(_, _, head)| head.starts_with_keyframe())
            .count(),
        3
    );
    let seals = chunks
        .iter()
        .filter(|(_, _, head)| head.kind == ChunkKind::Seal)
        .count();
    assert!((3..=4).contains(&seals), "{seals} seals in 30 s");
    let last = chunks.last().unwrap().2;
    assert_eq!(last.kind, ChunkKind::Seal);
}

#[test]
fn the_index_finds_keyframes_and_seeking_lands_on_the_last_one_before() {
    let (bytes, _) = sample(60);
    let mut reader = RecordingReader::open(Cursor::new(&bytes)).unwrap();
    let times: Vec<u64> = reader.index().iter().map(|e| e.time.0 - START).collect();
    assert_eq!(times, vec![0, 10_000, 20_000, 30_000, 40_000, 50_000]);
    let landed = reader.seek(Timestamp(START + 35_500)).unwrap();
    assert_eq!(landed, Some(Timestamp(START + 30_000)));
    let first_video = loop {
        match reader.next_record().unwrap().unwrap().record {
            Record::Video { header, .. } => break header,
            _ => continue,
        }
    };
    assert!(first_video.keyframe);
    assert_eq!(first_video.sequence, 300);
    // Before the first keyframe: the first one.
    assert_eq!(reader.seek(Timestamp(0)).unwrap(), Some(Timestamp(START)));
}

#[test]
fn an_unfinished_recording_rebuilds_the_same_index_and_plays() {
    let (finished, _) = sample(40);
    let cut = sample_unfinished(40);
    let full = RecordingReader::open(Cursor::new(&finished)).unwrap();
    let partial = RecordingReader::open(Cursor::new(&cut)).unwrap();
    assert!(!partial.is_finished());
    assert_eq!(full.index(), partial.index());
    let (records, error) = read_all(&cut);
    assert!(error.is_none());
    assert_eq!(records, read_all(&finished).0);
    let report = check(&cut);
    assert!(matches!(report.problem, Some(Problem::Unfinished { .. })));
    assert!(report.problem.as_ref().unwrap().is_incomplete_only());
    assert!(report.signed_through.is_some());
}

#[test]
fn a_flipped_byte_is_named_by_its_chunk() {
    let (bytes, _) = sample(20);
    let chunks = chunks(&bytes);
    let (offset, len, head) = chunks[7];
    for at in [
        offset + 2,
        offset + 30,
        offset + 60,
        offset + len - 10,
        offset + len - 1,
    ] {
        let mut bad = bytes.clone();
        bad[at as usize] ^= 0x20;
        let report = check(&bad);
        assert_eq!(
            report.problem.as_ref().and_then(Problem::chunk),
            Some(head.seq),
            "flip at {at}: {:?}",
            report.problem
        );
        assert!(matches!(report.problem, Some(Problem::Damaged { .. })));
        assert_eq!(report.chunks, head.seq);
    }
    // The reader plays up to it and then says which chunk is damaged.
    let mut bad = bytes.clone();
    bad[(offset + 70) as usize] ^= 1;
    let (records, error) = read_all(&bad);
    assert!(!records.is_empty());
    assert!(
        matches!(error, Some(ReadError::Damaged { chunk, .. }) if chunk == head.seq),
        "{error:?}"
    );
}

#[test]
fn a_cut_chunk_and_swapped_chunks_are_named() {
    let (bytes, _) = sample(20);
    let chunks = chunks(&bytes);
    let (a_off, a_len, a) = chunks[5];
    let (b_off, b_len, _) = chunks[6];
    let mut cut = bytes[..a_off as usize].to_vec();
    cut.extend_from_slice(&bytes[(a_off + a_len) as usize..]);
    let report = check(&cut);
    assert_eq!(
        report.problem,
        Some(Problem::Missing {
            chunk: a.seq,
            found: a.seq + 1,
            offset: a_off
        })
    );
    assert_eq!(
        report.problem.unwrap().to_string(),
        "chunk 5 is missing: chunk 6 follows chunk 4 (at byte ".to_owned()
            + &a_off.to_string()
            + ")"
    );

    let mut swapped = bytes[..a_off as usize].to_vec();
    swapped.extend_from_slice(&bytes[b_off as usize..(b_off + b_len) as usize]);
    swapped.extend_from_slice(&bytes[a_off as usize..(a_off + a_len) as usize]);
    swapped.extend_from_slice(&bytes[(b_off + b_len) as usize..]);
    let report = check(&swapped);
    assert_eq!(
        report.problem,
        Some(Problem::OutOfOrder {
            chunk: 5,
            found: 6,
            offset: a_off
        })
    );
}

#[test]
fn a_truncated_tail_plays_to_the_last_whole_chunk() {
    let (bytes, _) = sample(20);
    let chunks = chunks(&bytes);
    let (offset, _, head) = chunks[12];
    let cut = &bytes[..(offset + 100) as usize];
    let report = check(cut);
    assert_eq!(
        report.problem,
        Some(Problem::Truncated {
            chunk: head.seq,
            offset
        })
    );
    let (records, error) = read_all(cut);
    assert!(matches!(error, Some(ReadError::Truncated { chunk, .. }) if chunk == head.seq));
    let whole = read_all(&bytes[..offset as usize]).0;
    assert_eq!(records, whole);
    assert!(!records.is_empty());
}

#[test]
fn a_rewritten_chain_fails_at_the_next_seal_and_a_stranger_key_is_named() {
    let (bytes, key) = sample(30);
    let chunks = chunks(&bytes);
    // Edit a records chunk early on and recompute every hash after it, as a forger
    // without the key would.
    let target = chunks
        .iter()
        .position(|(_, _, head)| head.kind == ChunkKind::Records)
        .unwrap();
    let mut forged = Vec::new();
    let mut prev = [0u8; 32];
    for (i, (offset, len, head)) in chunks.iter().enumerate() {
        let mut body =
            bytes[(*offset as usize + HEAD_LEN)..(*offset + *len - 36) as usize].to_vec();
        if i == target {
            let last = body.len() - 1;
            body[last] ^= 1;
        }
        let mut head = *head;
        if i > 0 {
            head.prev = prev;
        }
        let head_bytes = head.encode();
        prev = chunk_hash(&head_bytes, &body);
        forged.extend_from_slice(&head_bytes);
        forged.extend_from_slice(&body);
        forged.extend_from_slice(&prev);
        forged.extend_from_slice(&head.body_len.to_be_bytes());
    }
    let first_seal = chunks
        .iter()
        .find(|(_, _, head)| head.kind == ChunkKind::Seal)
        .unwrap();
    let report = check(&forged);
    assert!(
        matches!(report.problem, Some(Problem::BadSignature { chunk, .. }) if chunk == first_seal.2.seq),
        "{:?}",
        report.problem
    );
    // Signed by the right key, but the caller expects another.
    let other = KeyPair::generate().unwrap().public_key();
    let report = verify(Cursor::new(&bytes), Some(&other)).unwrap();
    assert!(matches!(report.problem, Some(Problem::WrongSigner { .. })));
    let report = verify(Cursor::new(&bytes), Some(&key.public_key())).unwrap();
    assert!(report.is_valid());
}

#[test]
fn chunks_after_the_final_seal_are_reported() {
    let (bytes, _) = sample(5);
    let chunks = chunks(&bytes);
    let (offset, len, _) = chunks[2];
    let mut extra = bytes.clone();
    extra.extend_from_slice(&bytes[offset as usize..(offset + len) as usize]);
    assert!(matches!(
        check(&extra).problem,
        Some(Problem::AfterEnd { .. })
    ));
}

#[test]
fn the_index_stays_bounded_and_evenly_thinned() {
    let mut index = index::Index::new();
    for i in 0..20_000u64 {
        index.push(IndexEntry {
            time: Timestamp(i),
            offset: i,
            seq: i,
        });
    }
    assert!(index.entries.len() <= MAX_INDEX_ENTRIES);
    assert!(index.entries.len() > MAX_INDEX_ENTRIES / 2);
    let gaps: Vec<u64> = index
        .entries
        .windows(2)
        .map(|w| w[1].seq - w[0].seq)
        .collect();
    assert!(gaps.iter().all(|gap| *gap == gaps[0]), "uneven gaps");
    let decoded = index::Index::decode(&index.encode()).unwrap();
    assert_eq!(decoded, index.entries);
}

#[test]
fn an_hour_long_recording_seeks_without_reading_it_all() {
    // An hour at 5 frames a second with a keyframe every 10 s: the reader opens it
    // from the final index and a seek reads one chunk head.
    let key = KeyPair::generate().unwrap();
    let mut writer =
        RecordingWriter::new(CountingWriter::default(), key, header(Policy::default())).unwrap();
    for tick in 0..3600 * 5u64 {
        let time = Timestamp(START + tick * 200);
        let (head, data) = frame(tick, tick % 50 == 0, 1920, 64);
        writer.write_video(time, &head, &data).unwrap();
    }
    let out = writer.finish(Timestamp(START + 3_600_000)).unwrap();
    let mut source = CountingReader {
        inner: Cursor::new(out.bytes),
        read: 0,
    };
    let mut reader = RecordingReader::open(&mut source).unwrap();
    assert_eq!(reader.index().len(), 360);
    assert_eq!(
        reader.seek(Timestamp(START + 1_800_000 + 4_000)).unwrap(),
        Some(Timestamp(START + 1_800_000))
    );
    let record = reader.next_record().unwrap().unwrap();
    assert!(matches!(record.record, Record::Video { header, .. } if header.keyframe));
    drop(reader);
    assert!(
        source.read < 64 * 1024,
        "opening and seeking read {} bytes",
        source.read
    );
}

#[derive(Default)]
struct CountingWriter {
    bytes: Vec<u8>,
}

impl std::io::Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct CountingReader {
    inner: Cursor<Vec<u8>>,
    read: u64,
}

impl std::io::Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for CountingReader {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = verify(Cursor::new(&bytes), None).unwrap();
        if let Ok(mut reader) = RecordingReader::open(Cursor::new(&bytes)) {
            while let Ok(Some(_)) = reader.next_record() {}
            let _ = reader.seek(Timestamp(START));
        }
    }

    #[test]
    fn any_flipped_byte_is_found_in_its_chunk(position in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (bytes, _) = sample(4);
        let at = position.index(bytes.len());
        let chunk = chunks(&bytes)
            .iter()
            .find(|(offset, len, _)| (*offset..offset + len).contains(&(at as u64)))
            .unwrap()
            .2
            .seq;
        let mut bad = bytes.clone();
        bad[at] ^= 1 << bit;
        let report = check(&bad);
        let problem = report.problem.expect("a flipped byte is always noticed");
        prop_assert_eq!(problem.chunk(), Some(chunk), "{}", problem);
        // Reading never panics, and never returns a record from the bad chunk.
        if let Ok(mut reader) = RecordingReader::open(Cursor::new(&bad)) {
            while let Ok(Some(_)) = reader.next_record() {}
        }
    }

    #[test]
    fn any_truncation_plays_a_prefix(cut in any::<prop::sample::Index>()) {
        let (bytes, _) = sample(4);
        let (all, _) = read_all(&bytes);
        let len = cut.index(bytes.len());
        let short = &bytes[..len];
        let report = check(short);
        if let Some(problem) = &report.problem {
            prop_assert!(
                problem.is_incomplete_only() || matches!(problem, Problem::NotARecording { .. }),
                "{}", problem
            );
        }
        if let Ok(mut reader) = RecordingReader::open(Cursor::new(short)) {
            let mut got = Vec::new();
            while let Ok(Some(record)) = reader.next_record() {
                got.push(record);
            }
            prop_assert!(got.len() <= all.len());
            prop_assert_eq!(&all[..got.len()], &got[..]);
        }
    }

    #[test]
    fn random_records_round_trip(
        events in proptest::collection::vec((0u64..5000, 0u32..4000, 0u32..4000, ".{0,40}"), 1..60)
    ) {
        let key = KeyPair::generate().unwrap();
        let mut writer = RecordingWriter::new(Vec::new(), key, header(Policy::default())).unwrap();
        let mut expected = Vec::new();
        let mut last = START;
        for (delay, x, y, text) in events {
            last += delay;
            let time = Timestamp(last);
            writer.write_pointer(time, x, y).unwrap();
            let chat = Event::Chat { from: Side::Technician, bytes: text.len(), text: Some(text) };
            writer.write_event(time, &chat).unwrap();
            expected.push(TimedRecord { time, record: Record::PointerMove { x, y } });
            expected.push(TimedRecord { time, record: Record::Event(chat) });
        }
        let bytes = writer.finish(Timestamp(last)).unwrap();
        let (records, error) = read_all(&bytes);
        prop_assert!(error.is_none());
        prop_assert_eq!(records, expected);
        prop_assert!(check(&bytes).is_valid());
    }
}
