//! Remuxing a recording's H.264 into MP4 without re-encoding: Annex-B access units
//! become length-prefixed samples, SPS and PPS go into the `avcC` sample entry (a new
//! entry when the resolution changes), and each frame lasts until the next one.
//!
//! The muxer (`shiguredo_mp4`) is sans-IO: samples are written here as they are read,
//! and only their sizes and times stay in memory until the `moov` box is written.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::num::{NonZeroU16, NonZeroU32};
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use lifeline_protocol::Timestamp;
use lifeline_protocol::recording::{ReadError, Record, RecordingReader};
use shiguredo_mp4::TrackKind;
use shiguredo_mp4::boxes::{Avc1Box, AvccBox, SampleEntry, VisualSampleEntryFields};
use shiguredo_mp4::mux::{Mp4FileMuxer, Mp4FileMuxerOptions, Sample};

/// Milliseconds: recording times are in ms.
const TIMESCALE: NonZeroU32 = NonZeroU32::new(1000).unwrap();
/// How long the last frame lasts when nothing follows it.
const LAST_FRAME_MS: u32 = 33;

/// What an export wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mp4Summary {
    /// Frames in the MP4.
    pub frames: u64,
    /// Its duration in milliseconds.
    pub duration_ms: u64,
}

struct Pending {
    time: Timestamp,
    keyframe: bool,
    offset: u64,
    size: usize,
    entry: Option<SampleEntry>,
}

/// Writes the recording's video to `out` as MP4. A recording cut short exports up to
/// its last whole chunk (with a warning); returns an error when it holds no video.
pub fn export_mp4<R: Read + Seek>(
    reader: &mut RecordingReader<R>,
    out: &Path,
) -> anyhow::Result<Mp4Summary> {
    let started = reader.header().started;
    let creation = Duration::from_millis(started.as_unix_millis());
    let mut muxer = Mp4FileMuxer::with_options(Mp4FileMuxerOptions {
        creation_timestamp: creation,
        ..Mp4FileMuxerOptions::default()
    })
    .map_err(|err| anyhow::anyhow!("cannot start the MP4 muxer: {err:?}"))?;
    let file = File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut file = BufWriter::new(file);
    file.write_all(muxer.initial_boxes_bytes())?;
    let mut position = muxer.initial_boxes_bytes().len() as u64;
    let mut current_entry: Option<SampleEntry> = None;
    let mut pending: Option<Pending> = None;
    let mut summary = Mp4Summary {
        frames: 0,
        duration_ms: 0,
    };
    let mut last_time = started;
    let mut sample = Vec::new();
    reader.rewind();
    loop {
        let record = match reader.next_record() {
            Ok(Some(record)) => record,
            Ok(None) => break,
            Err(err @ (ReadError::Truncated { .. } | ReadError::Damaged { .. })) => {
                tracing::warn!("{err}; exporting what comes before it");
                break;
            }
            Err(err) => return Err(err.into()),
        };
        last_time = record.time;
        let Record::Video { header, data } = record.record else {
            continue;
        };
        let (sps, pps) = annex_b_to_sample(&data, &mut sample);
        let entry = match (sps, pps) {
            (Some(sps), Some(pps)) => Some(sample_entry(sps, pps, header.width, header.height)),
            _ => None,
        };
        let new_entry = match entry {
            Some(entry) if current_entry.as_ref() != Some(&entry) => {
                current_entry = Some(entry.clone());
                Some(entry)
            }
            _ => None,
        };
        if current_entry.is_none() || sample.is_empty() {
            continue;
        }
        if let Some(previous) = pending.take() {
            let duration = duration_ms(previous.time, record.time);
            append(&mut muxer, previous, duration, &mut summary)?;
        }
        file.write_all(&sample)?;
        pending = Some(Pending {
            time: record.time,
            keyframe: header.keyframe,
            offset: position,
            size: sample.len(),
            entry: new_entry,
        });
        position += sample.len() as u64;
    }
    let Some(last) = pending.take() else {
        anyhow::bail!("the recording holds no video to export");
    };
    let duration = match duration_ms(last.time, last_time) {
        0 | 1 => LAST_FRAME_MS,
        ms => ms,
    };
    append(&mut muxer, last, duration, &mut summary)?;
    let finalized = muxer
        .finalize()
        .map_err(|err| anyhow::anyhow!("cannot finish the MP4: {err:?}"))?;
    for (offset, bytes) in finalized.offset_and_bytes_pairs() {
        file.seek(SeekFrom::Start(offset))?;
        file.write_all(bytes)?;
    }
    file.flush()?;
    Ok(summary)
}

fn duration_ms(from: Timestamp, to: Timestamp) -> u32 {
    let ms = to.saturating_duration_since(from).as_millis();
    u32::try_from(ms).unwrap_or(u32::MAX).max(1)
}

fn append(
    muxer: &mut Mp4FileMuxer,
    frame: Pending,
    duration: u32,
    summary: &mut Mp4Summary,
) -> anyhow::Result<()> {
    muxer
        .append_sample(&Sample {
            track_kind: TrackKind::Video,
            sample_entry: frame.entry,
            keyframe: frame.keyframe,
            timescale: TIMESCALE,
            duration,
            data_offset: frame.offset,
            data_size: frame.size,
        })
        .map_err(|err| anyhow::anyhow!("cannot add a frame to the MP4: {err:?}"))?;
    summary.frames += 1;
    summary.duration_ms += u64::from(duration);
    Ok(())
}

/// Splits an Annex-B access unit into NAL units: SPS and PPS are returned, the others
/// are written to `sample` with 4-byte big-endian lengths (access unit delimiters are
/// dropped).
fn annex_b_to_sample<'a>(
    data: &'a [u8],
    sample: &mut Vec<u8>,
) -> (Option<&'a [u8]>, Option<&'a [u8]>) {
    sample.clear();
    let (mut sps, mut pps) = (None, None);
    for nal in nal_units(data) {
        match nal[0] & 0x1f {
            7 => sps = Some(nal),
            8 => pps = Some(nal),
            9 => {}
            _ => {
                // A NAL unit is smaller than the 16 MiB frame limit: fits a u32.
                sample.extend_from_slice(&u32::try_from(nal.len()).unwrap_or(0).to_be_bytes());
                sample.extend_from_slice(nal);
            }
        }
    }
    (sps, pps)
}

/// The NAL units of an Annex-B stream (between `00 00 01` start codes, trailing zero
/// bytes trimmed).
fn nal_units(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let ends: Vec<usize> = starts
        .iter()
        .skip(1)
        .map(|next| next - 3)
        .chain(std::iter::once(data.len()))
        .collect();
    starts
        .into_iter()
        .zip(ends)
        .filter_map(move |(start, end)| {
            let mut end = end;
            while end > start && data[end - 1] == 0 {
                end -= 1;
            }
            (end > start).then(|| &data[start..end])
        })
}

fn sample_entry(sps: &[u8], pps: &[u8], width: u32, height: u32) -> SampleEntry {
    let byte = |i: usize| sps.get(i).copied().unwrap_or(0);
    let profile = byte(1);
    // High profiles carry the chroma format and bit depths in avcC.
    let high = matches!(profile, 100 | 110 | 122 | 144);
    SampleEntry::Avc1(Avc1Box {
        visual: VisualSampleEntryFields {
            data_reference_index: NonZeroU16::MIN,
            width: u16::try_from(width).unwrap_or(u16::MAX),
            height: u16::try_from(height).unwrap_or(u16::MAX),
            horizresolution: VisualSampleEntryFields::DEFAULT_HORIZRESOLUTION,
            vertresolution: VisualSampleEntryFields::DEFAULT_VERTRESOLUTION,
            frame_count: VisualSampleEntryFields::DEFAULT_FRAME_COUNT,
            compressorname: VisualSampleEntryFields::NULL_COMPRESSORNAME,
            depth: VisualSampleEntryFields::DEFAULT_DEPTH,
        },
        avcc_box: AvccBox {
            avc_profile_indication: profile,
            profile_compatibility: byte(2),
            avc_level_indication: byte(3),
            length_size_minus_one: shiguredo_mp4::Uint::new(3),
            sps_list: vec![sps.to_vec()],
            pps_list: vec![pps.to_vec()],
            chroma_format: high.then(|| shiguredo_mp4::Uint::new(1)),
            bit_depth_luma_minus8: high.then(|| shiguredo_mp4::Uint::new(0)),
            bit_depth_chroma_minus8: high.then(|| shiguredo_mp4::Uint::new(0)),
            sps_ext_list: Vec::new(),
        },
        unknown_boxes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annex_b_becomes_length_prefixed_without_parameter_sets() {
        let data = [
            0, 0, 0, 1, 0x67, 1, 2, // SPS
            0, 0, 1, 0x68, 3, // PPS
            0, 0, 0, 1, 0x65, 4, 5, 6, 0, // IDR slice, trailing zero
        ];
        let mut sample = Vec::new();
        let (sps, pps) = annex_b_to_sample(&data, &mut sample);
        assert_eq!(sps, Some(&[0x67, 1, 2][..]));
        assert_eq!(pps, Some(&[0x68, 3][..]));
        assert_eq!(sample, vec![0, 0, 0, 4, 0x65, 4, 5, 6]);
        let mut empty = Vec::new();
        assert_eq!(annex_b_to_sample(&[1, 2, 3], &mut empty), (None, None));
        assert!(empty.is_empty());
    }
}
