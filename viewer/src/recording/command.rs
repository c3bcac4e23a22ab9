//! `lifeline-viewer recording verify` and `lifeline-viewer recording export`.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use lifeline_codec::OpenH264Decoder;
use lifeline_protocol::Timestamp;
use lifeline_protocol::recording::{
    Header, ReadError, Record, RecordingReader, Report, Side, verify,
};

use crate::link::VideoFrame;

/// `lifeline-viewer recording …`.
#[derive(Debug, clap::Subcommand)]
pub enum RecordingCommand {
    /// Check a recording: every chunk's checksum, the hash chain and the signatures.
    /// Exit status 0: intact, finished and signed; 1: damaged or tampered with (the
    /// first bad chunk is named); 2: intact but cut short (the recorder stopped).
    Verify {
        /// The recording.
        file: PathBuf,
        /// The signer's key fingerprint that must match (as `lifeline-viewer
        /// fingerprint` prints it, or in full hex).
        #[arg(long)]
        signer: Option<String>,
    },
    /// Export a recording: the video as MP4 (no re-encoding), the events as JSON, or
    /// the picture at a time as PNG.
    Export {
        /// The recording.
        file: PathBuf,
        /// Write the video here as MP4.
        #[arg(long)]
        mp4: Option<PathBuf>,
        /// Write every event (not the video) here as JSON.
        #[arg(long)]
        events: Option<PathBuf>,
        /// Save the picture at T (seconds from the start, or `end`) as PNG.
        #[arg(long, num_args = 2, value_names = ["T", "OUT.png"])]
        screenshot: Option<Vec<String>>,
    },
}

/// Runs a `recording` subcommand and prints its outcome.
pub fn run(command: &RecordingCommand) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let result = match command {
        RecordingCommand::Verify { file, signer } => {
            verify_command(file, signer.as_deref(), &mut out)
        }
        RecordingCommand::Export {
            file,
            mp4,
            events,
            screenshot,
        } => {
            let options = ExportOptions {
                mp4: mp4.clone(),
                events: events.clone(),
                screenshot: screenshot
                    .as_ref()
                    .and_then(|pair| Some((pair.first()?.clone(), PathBuf::from(pair.get(1)?)))),
            };
            export_command(file, &options)
                .and_then(|summary| writeln!(out, "{summary}").map_err(Into::into))
                .map(|()| ExitCode::SUCCESS)
        }
    };
    result.unwrap_or_else(|err| {
        tracing::error!("{err:#}");
        ExitCode::FAILURE
    })
}

/// Exit status of `verify` for a recording that is intact but incomplete (the recorder
/// stopped: crash or kill). Damage or tampering exits with 1.
pub const EXIT_INCOMPLETE: u8 = 2;

/// Checks a recording and prints what it found; the exit status is 0 for a finished,
/// intact and signed recording, [`EXIT_INCOMPLETE`] for one cut short, 1 otherwise.
pub fn verify_command(
    path: &Path,
    signer: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let report = verify(BufReader::new(file), None)
        .with_context(|| format!("cannot read {}", path.display()))?;
    writeln!(out, "recording {}", path.display())?;
    if let Some(header) = &report.header {
        describe(header, &report, out)?;
    }
    let wrong_signer = match (signer, report.signer()) {
        (Some(expected), Some(found)) => {
            let expected = expected.trim().to_ascii_lowercase();
            (expected != found.to_hex() && expected != found.to_string())
                .then(|| format!("it is signed by {found}, not by the expected key {expected}"))
        }
        _ => None,
    };
    let code = match (&report.problem, wrong_signer) {
        (_, Some(why)) => {
            writeln!(out, "result: NOT TRUSTED: {why}")?;
            ExitCode::FAILURE
        }
        (None, None) => {
            writeln!(
                out,
                "result: OK: intact, finished and signed throughout by {}",
                report.signer().map(|s| s.to_string()).unwrap_or_default()
            )?;
            ExitCode::SUCCESS
        }
        (Some(problem), None) if problem.is_incomplete_only() => {
            writeln!(out, "result: INCOMPLETE: {problem}")?;
            match report.signed_through {
                Some(seal) => writeln!(
                    out,
                    "chunks before chunk {seal} are signed; later ones are intact but unsigned"
                )?,
                None => writeln!(out, "no chunk was signed yet")?,
            }
            ExitCode::from(EXIT_INCOMPLETE)
        }
        (Some(problem), None) => {
            writeln!(out, "result: DAMAGED OR TAMPERED WITH: {problem}")?;
            writeln!(
                out,
                "the {} chunks before it are intact{}",
                report.chunks,
                match report.signed_through {
                    Some(seal) => format!(" (signed before chunk {seal})"),
                    None => String::new(),
                }
            )?;
            ExitCode::FAILURE
        }
    };
    Ok(code)
}

fn describe(header: &Header, report: &Report, out: &mut impl Write) -> std::io::Result<()> {
    let signer = header.recorder.public_key.fingerprint();
    let side = match header.recorder.side {
        Side::Technician => "the technician's viewer",
        Side::Agent => "the end user's agent",
    };
    writeln!(
        out,
        "  recorded by: {side} ({}), signing key {signer}",
        header.recorder.software
    )?;
    let matches = match header.recorder.side {
        Side::Technician => signer == header.technician.fingerprint,
        Side::Agent => signer == header.agent.fingerprint,
    };
    if !matches {
        writeln!(
            out,
            "  warning: the signing key is not the recording side's identity named below"
        )?;
    }
    writeln!(
        out,
        "  technician: {:?} (key {}, {})",
        header.technician.name,
        header.technician.fingerprint,
        match &header.technician.verification {
            lifeline_protocol::recording::TechnicianVerification::Organisation { name } =>
                format!("verified by {name}"),
            _ => "name not verified".to_owned(),
        }
    )?;
    writeln!(
        out,
        "  agent: key {}, software {}",
        header.agent.fingerprint,
        header
            .agent
            .software_version
            .as_deref()
            .unwrap_or("unknown")
    )?;
    writeln!(
        out,
        "  started: {} UTC{}",
        format_utc(header.started),
        header
            .session_id
            .map(|id| format!(", session {id}"))
            .unwrap_or_default()
    )?;
    let seconds = report
        .span
        .map(|(first, last)| last.saturating_duration_since(first).as_secs_f64())
        .unwrap_or(0.0);
    writeln!(
        out,
        "  contents: {} records ({} video frames) over {seconds:.1} s in {} intact chunks",
        report.records, report.video_frames, report.chunks
    )
}

/// `YYYY-MM-DD HH:MM:SS.mmm` for a timestamp.
pub fn format_utc(time: Timestamp) -> String {
    time.utc().to_string()
}

/// What `recording export` should write.
#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// The video as MP4.
    pub mp4: Option<PathBuf>,
    /// Every record but video as JSON.
    pub events: Option<PathBuf>,
    /// The picture at a time (seconds from the start, or `end`) as PNG.
    pub screenshot: Option<(String, PathBuf)>,
}

/// Writes what `options` asks for; returns a summary for the person.
pub fn export_command(path: &Path, options: &ExportOptions) -> anyhow::Result<String> {
    if options.mp4.is_none() && options.events.is_none() && options.screenshot.is_none() {
        anyhow::bail!("nothing to export: give --mp4, --events or --screenshot");
    }
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = RecordingReader::open(BufReader::new(file))
        .with_context(|| format!("cannot read {}", path.display()))?;
    if !reader.is_finished() {
        tracing::warn!(
            "{} was not finished (the recorder stopped): exporting what it holds",
            path.display()
        );
    }
    let mut summary = Vec::new();
    if let Some(out) = &options.mp4 {
        let written = super::mp4::export_mp4(&mut reader, out)?;
        summary.push(format!(
            "{}: {} frames, {:.3} s",
            out.display(),
            written.frames,
            written.duration_ms as f64 / 1000.0
        ));
    }
    if let Some(out) = &options.events {
        let count = export_events(&mut reader, out)?;
        summary.push(format!("{}: {count} records", out.display()));
    }
    if let Some((at, out)) = &options.screenshot {
        let time = parse_time(at, reader.header().started)?;
        let frame = picture_at(&mut reader, time)?;
        crate::headless::save_png(out, &frame)?;
        summary.push(format!(
            "{}: {}x{} frame {}",
            out.display(),
            frame.width,
            frame.height,
            frame.sequence
        ));
    }
    Ok(summary.join("\n"))
}

fn parse_time(text: &str, started: Timestamp) -> anyhow::Result<Timestamp> {
    if text.trim() == "end" {
        return Ok(Timestamp(u64::MAX));
    }
    let seconds: f64 = text
        .trim()
        .parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s >= 0.0)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{text:?} is not a time: give seconds from the start (e.g. 12.5) or `end`"
            )
        })?;
    Ok(started.saturating_add(std::time::Duration::from_secs_f64(seconds)))
}

/// Decodes from the last keyframe before `time` up to the last frame at or before it.
pub fn picture_at<R: Read + Seek>(
    reader: &mut RecordingReader<R>,
    time: Timestamp,
) -> anyhow::Result<VideoFrame> {
    if reader.seek(time)?.is_none() {
        anyhow::bail!("the recording holds no video");
    }
    let mut decoder = OpenH264Decoder::new().map_err(|err| anyhow::anyhow!("{err}"))?;
    let mut picture: Option<VideoFrame> = None;
    let mut rgba = Vec::new();
    loop {
        let record = match reader.next_record() {
            Ok(Some(record)) => record,
            Ok(None) => break,
            Err(err @ (ReadError::Truncated { .. } | ReadError::Damaged { .. })) => {
                tracing::warn!("{err}; the picture is the last one before it");
                break;
            }
            Err(err) => return Err(err.into()),
        };
        if record.time > time {
            break;
        }
        let Record::Video { header, data } = record.record else {
            continue;
        };
        match crate::session::decode::decode_into(&mut decoder, &data, &header, &mut rgba) {
            Ok(Some((width, height))) => {
                picture = Some(VideoFrame {
                    width,
                    height,
                    rgba: rgba.clone(),
                    sequence: header.sequence,
                });
            }
            Ok(None) => {}
            Err(err) => tracing::warn!("frame {} does not decode: {err}", header.sequence),
        }
    }
    picture.ok_or_else(|| anyhow::anyhow!("no frame decodes up to that time"))
}

/// Writes every record except video frames as JSON (video frames are counted), one
/// record at a time: `{"header": …, "records": [{"time": …, "offset_ms": …, …}, …]}`.
fn export_events<R: Read + Seek>(
    reader: &mut RecordingReader<R>,
    out: &Path,
) -> anyhow::Result<u64> {
    let file = File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut file = BufWriter::new(file);
    let started = reader.header().started;
    write!(file, "{{\"header\":")?;
    serde_json::to_writer(&mut file, reader.header())?;
    write!(file, ",\"records\":[")?;
    reader.rewind();
    let (mut count, mut frames) = (0u64, 0u64);
    let mut stopped = None;
    loop {
        let record = match reader.next_record() {
            Ok(Some(record)) => record,
            Ok(None) => break,
            Err(err @ (ReadError::Truncated { .. } | ReadError::Damaged { .. })) => {
                stopped = Some(err.to_string());
                break;
            }
            Err(err) => return Err(err.into()),
        };
        let value = match record.record {
            Record::Video { .. } => {
                frames += 1;
                continue;
            }
            Record::PointerMove { x, y } => serde_json::json!({"pointer_move": {"x": x, "y": y}}),
            Record::Event(event) => serde_json::to_value(&event)?,
            _ => continue,
        };
        if count > 0 {
            write!(file, ",")?;
        }
        serde_json::to_writer(
            &mut file,
            &serde_json::json!({
                "time": record.time,
                "offset_ms": record.time.as_unix_millis().saturating_sub(started.as_unix_millis()),
                "record": value,
            }),
        )?;
        count += 1;
    }
    write!(
        file,
        "],\"video_frames\":{frames},\"finished\":{},",
        reader.is_finished()
    )?;
    write!(file, "\"stopped_by\":")?;
    serde_json::to_writer(&mut file, &stopped)?;
    writeln!(file, "}}")?;
    file.flush()?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(Timestamp(0)), "1970-01-01 00:00:00.000");
        assert_eq!(
            format_utc(Timestamp(1_700_000_000_123)),
            "2023-11-14 22:13:20.123"
        );
        assert_eq!(
            format_utc(Timestamp(951_782_400_000)),
            "2000-02-29 00:00:00.000"
        );
    }

    #[test]
    fn times_are_seconds_or_end() {
        let start = Timestamp(1_000);
        assert_eq!(parse_time("2.5", start).unwrap(), Timestamp(3_500));
        assert_eq!(parse_time("end", start).unwrap(), Timestamp(u64::MAX));
        assert!(parse_time("-1", start).is_err());
        assert!(parse_time("soon", start).is_err());
    }
}
