//! The headless viewer: connect, get consent, receive and decode frames, replay an
//! input script, then save the last frame and statistics. For scripts, benchmarks and
//! the tests. Exit status 0 only when the session did all that was asked.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lifeline_protocol::message::{MonitorList, QualityPreference};
use lifeline_protocol::{Scope, ScopeSet};
use serde::Serialize;

use crate::cursor::RemoteCursor;
use crate::link::{Command, CommandUpdate, ConnectRequest, Status, Update, VideoFrame, link};
use crate::recording::RecordTarget;
use crate::script::{self, Step};
use crate::session::{FrameRecord, SessionContext, now, run_connection};

mod files;
mod inspections;
pub use files::FileRecord;
pub use inspections::{DiagnosticRecord, SystemInfoRecord};

/// What the headless run should do.
#[derive(Clone, Debug)]
pub struct HeadlessOptions {
    /// Where and how to connect.
    pub request: ConnectRequest,
    /// Stop after this many decoded frames.
    pub frames: Option<usize>,
    /// Stop after this many seconds of active session.
    pub seconds: Option<f64>,
    /// Save the last decoded frame here as PNG.
    pub save_frame: Option<PathBuf>,
    /// Draw the agent's pointer into the saved frame, as the window shows it.
    pub draw_cursor: bool,
    /// Write statistics here as JSON.
    pub stats: Option<PathBuf>,
    /// Replay this input script once the session is active.
    pub input_script: Option<PathBuf>,
    /// Give up when the session is not active after this long (consent included).
    pub consent_timeout: Duration,
    /// Sharp text or fluid motion first on a slow link.
    pub preference: QualityPreference,
    /// Record the session into this new file (the record permission is asked for too).
    pub record: Option<PathBuf>,
}

/// Statistics written by `--stats`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct HeadlessStats {
    /// Frames decoded.
    pub frames: usize,
    /// Seconds from the first to the last decoded frame.
    pub seconds: f64,
    /// Decoded frames per second.
    pub fps: f64,
    /// Encoded video bytes received.
    pub bytes_received: usize,
    /// Capture-to-decode latency percentiles, in milliseconds.
    pub latency_ms: Percentiles,
    /// Decode time percentiles, in milliseconds.
    pub decode_ms: Percentiles,
    /// Permissions granted.
    pub granted: String,
    /// How the session ended.
    pub end_reason: String,
    /// Every decoded frame: when (ms since the Unix epoch), its size in bytes and its
    /// capture-to-decode latency in ms, for benchmarks that measure a time window.
    pub timeline: Vec<(u64, usize, f64)>,
    /// Every change of what the agent sends: when (ms since the Unix epoch), picture
    /// width and height, target bitrate (bit/s) and frame rate.
    pub quality_changes: Vec<(u64, u32, u32, u32, u32)>,
    /// Commands run by the input script, in order.
    pub commands: Vec<CommandRecord>,
    /// System reports asked for by the input script (`sysinfo`), in order.
    pub system_info: Vec<SystemInfoRecord>,
    /// Diagnostics run by the input script (`diagnose`), in order.
    pub diagnostics: Vec<DiagnosticRecord>,
    /// Files sent or fetched by the input script (`send`, `fetch`), in order.
    pub files: Vec<FileRecord>,
    /// The agent's monitors, as last listed (names, in its order).
    pub monitors: Vec<String>,
    /// The index of the monitor shown, as the agent last said.
    pub monitor_selected: Option<u32>,
    /// The agent's pointer as last reported: hot spot (x, y) in pixels of the monitor
    /// shown, and whether it is on that monitor.
    pub cursor: Option<(i32, i32, bool)>,
    /// Whether the agent sent the pointer's image (else the viewer draws an arrow).
    pub cursor_image: bool,
    /// What the end user wrote in the chat, in order.
    pub chat_received: Vec<String>,
}

/// A command the script ran, and what became of it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CommandRecord {
    /// The command line.
    pub command_line: String,
    /// Whether the end user was asked to confirm it.
    pub waited_for_approval: bool,
    /// `finished`, `refused`, or `pending` when the session ended first.
    pub outcome: String,
    /// Why it was refused.
    pub refusal: Option<String>,
    /// Its exit code.
    pub exit_code: Option<i32>,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

/// p50, p95 and maximum of a series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    /// Percentiles of `values` (zeros when empty).
    pub fn of(mut values: Vec<f64>) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        values.sort_by(f64::total_cmp);
        let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
        Self {
            p50: at(0.5),
            p95: at(0.95),
            max: at(1.0),
        }
    }
}

/// Runs a headless session; returns an error (with the reason in words) when it did not
/// do what was asked.
pub async fn run(
    mut context: SessionContext,
    options: HeadlessOptions,
) -> anyhow::Result<HeadlessStats> {
    let steps = match &options.input_script {
        Some(path) => script::parse(&std::fs::read_to_string(path).map_err(|err| {
            anyhow::anyhow!("cannot read the input script {}: {err}", path.display())
        })?)?,
        None => Vec::new(),
    };
    let frame_log = Arc::new(Mutex::new(Vec::<FrameRecord>::new()));
    context.frame_log = Some(Arc::clone(&frame_log));
    let mut request = options.request.clone();
    if let Some(path) = &options.record {
        request.scopes.insert(Scope::RecordSession);
        context.record = Some(RecordTarget {
            path: path.clone(),
            policy: lifeline_protocol::recording::Policy::default(),
        });
    }
    let (mut session_end, mut window) = link();
    let session =
        tokio::spawn(async move { run_connection(&context, request, &mut session_end).await });

    let started = Instant::now();
    let mut active_since: Option<Instant> = None;
    let mut granted = ScopeSet::empty();
    let mut last_frame: Option<VideoFrame> = None;
    let mut failure: Option<String> = None;
    let mut script = steps.into_iter().peekable();
    let mut script_wait_until: Option<Instant> = None;
    let mut script_done = options.input_script.is_none();
    let mut disconnecting = false;
    let mut quality_changes = Vec::new();
    let mut chat_received = Vec::new();
    let _ = window
        .commands
        .send(Command::Prefer(options.preference))
        .await;
    let mut commands: Vec<(u32, CommandRecord)> = Vec::new();
    let mut commands_sent = 0usize;
    let mut inspections = inspections::Inspections::default();
    let mut files = files::FileTransfers::default();
    let mut cursor = RemoteCursor::default();
    let mut monitors: Option<MonitorList> = None;
    loop {
        tokio::select! {
            update = window.updates.recv() => match update {
                Some(Update::Status(Status::Active)) => active_since = Some(Instant::now()),
                Some(Update::Status(Status::Ended(reason))) => {
                    failure.get_or_insert(reason);
                }
                Some(Update::Granted(scopes)) => granted = scopes,
                Some(Update::Command(update)) => {
                    track_command(&mut commands, update);
                }
                Some(Update::Inspection(update)) => inspections.apply(update),
                Some(Update::File(update)) => files.apply(update),
                Some(Update::ChatFromEndUser(text)) => chat_received.push(text),
                Some(Update::Quality(quality)) => quality_changes.push((
                    now().as_unix_millis(),
                    quality.frame_width,
                    quality.frame_height,
                    quality.bitrate_bps,
                    quality.frame_rate_hz,
                )),
                Some(Update::Notice(notice)) => {
                    tracing::warn!("{notice}");
                    if notice.contains("permission") {
                        failure.get_or_insert(format!("input was refused: {notice}"));
                    }
                }
                Some(update @ (Update::Monitors(_) | Update::CursorImage(_) | Update::Cursor { .. })) => {
                    if let Update::Monitors(list) = &update {
                        monitors = Some(list.clone());
                    }
                    cursor.apply(&update);
                }
                Some(_) => {}
                None => break,
            },
            () = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
        if let Some(frame) = window.frames.take()
            && let Some(old) = last_frame.replace(frame)
        {
            window.frames.recycle(old.rgba);
        }
        if session.is_finished() {
            break;
        }
        if disconnecting {
            continue;
        }
        let Some(since) = active_since else {
            if started.elapsed() > options.consent_timeout {
                failure.get_or_insert("the end user did not answer in time".to_owned());
                disconnecting = window.commands.send(Command::Disconnect).await.is_ok();
            }
            continue;
        };
        // At most as many reports and diagnostics wait for answers as the agent takes.
        if !script_done
            && script_wait_until.is_none_or(|until| Instant::now() >= until)
            && !inspections.must_wait_before(script.peek())
        {
            script_wait_until = None;
            match script.next() {
                Some(Step::Send(to_send)) => {
                    for command in to_send {
                        commands_sent += usize::from(matches!(command, Command::RunCommand(_)));
                        inspections.sent += usize::from(matches!(
                            command,
                            Command::RequestSystemInfo | Command::RunDiagnostic(_)
                        ));
                        files.sent += usize::from(matches!(
                            command,
                            Command::SendFile(_) | Command::FetchFile(_)
                        ));
                        let _ = window.commands.send(command).await;
                    }
                }
                Some(Step::Wait(duration)) => script_wait_until = Some(Instant::now() + duration),
                None => script_done = true,
            }
        }
        let decoded = frame_log.lock().unwrap_or_else(|p| p.into_inner()).len();
        let enough_frames = options.frames.is_none_or(|wanted| decoded >= wanted);
        let enough_time = options
            .seconds
            .is_none_or(|seconds| since.elapsed().as_secs_f64() >= seconds);
        let waiting_for_first = options.frames.is_none()
            && options.seconds.is_none()
            && granted.contains(Scope::ViewScreen)
            && decoded == 0;
        // Every command the script sent has an answer (a refusal or its output).
        let commands_done = commands.len() >= commands_sent
            && commands.iter().all(|(_, record)| record.outcome != PENDING);
        // Every report and diagnostic asked for has its answer (unless something was
        // refused already: then nothing more is waited for).
        let inspections_done = inspections.done() || failure.is_some();
        if script_done
            && enough_frames
            && enough_time
            && !waiting_for_first
            && commands_done
            && inspections_done
            && files.done()
        {
            disconnecting = window.commands.send(Command::Disconnect).await.is_ok();
        }
    }
    let outcome = session.await?;
    if let Some(offer) = &outcome.reconnect {
        tracing::warn!("{}", reconnect_advice(offer));
    }
    // Active, and over without this viewer asking: the other side ended it before what
    // was asked was done.
    let ended_early = outcome.was_active && !disconnecting;
    // The newest frame may have arrived after the last look.
    if let Some(frame) = window.frames.take() {
        last_frame = Some(frame);
    }
    let records = frame_log.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut stats = summarise(&records, granted, &outcome.reason);
    stats.quality_changes = quality_changes;
    stats.chat_received = chat_received;
    stats.commands = commands.into_iter().map(|(_, record)| record).collect();
    (stats.system_info, stats.diagnostics) = inspections.into_records();
    stats.files = files.into_records();
    if let Some(list) = &monitors {
        stats.monitors = list.monitors.iter().map(|m| m.name.clone()).collect();
        stats.monitor_selected = Some(list.selected);
    }
    stats.cursor = cursor.position();
    stats.cursor_image = cursor.has_agent_image();
    if let Some(path) = &options.stats {
        std::fs::write(path, serde_json::to_vec_pretty(&stats)?)
            .map_err(|err| anyhow::anyhow!("cannot write {}: {err}", path.display()))?;
    }
    if let (Some(path), Some(frame)) = (&options.save_frame, &last_frame) {
        if options.draw_cursor {
            let mut drawn = frame.clone();
            cursor.draw_into(&mut drawn);
            save_png(path, &drawn)?;
        } else {
            save_png(path, frame)?;
        }
    }
    check_success(
        &options,
        &stats,
        outcome.was_active,
        failure,
        last_frame.is_some(),
    )?;
    if ended_early {
        anyhow::bail!(
            "the session ended before what was asked was done: {}",
            stats.end_reason
        );
    }
    if let (Some(path), Some(err)) = (&options.record, outcome.recording_error) {
        anyhow::bail!(
            "the session was not fully recorded into {}: {err}",
            path.display()
        );
    }
    Ok(stats)
}

const PENDING: &str = "pending";

/// Follows a command's progress in the statistics.
fn track_command(commands: &mut Vec<(u32, CommandRecord)>, update: CommandUpdate) {
    fn find(commands: &mut [(u32, CommandRecord)], id: u32) -> Option<&mut CommandRecord> {
        commands
            .iter_mut()
            .find(|(known, _)| *known == id)
            .map(|(_, record)| record)
    }
    match update {
        CommandUpdate::Sent { id, command_line } => {
            tracing::info!("command {id} sent: {command_line}");
            commands.push((
                id,
                CommandRecord {
                    command_line,
                    outcome: PENDING.to_owned(),
                    ..CommandRecord::default()
                },
            ));
        }
        CommandUpdate::WaitingForApproval { id } => {
            tracing::info!("command {id}: waiting for the end user's approval");
            if let Some(record) = find(commands, id) {
                record.waited_for_approval = true;
            }
        }
        CommandUpdate::Refused { id, reason } => {
            tracing::warn!("command {id} refused: {reason}");
            if let Some(record) = find(commands, id) {
                record.outcome = "refused".to_owned();
                record.refusal = Some(reason);
            }
        }
        CommandUpdate::Finished(output) => {
            tracing::info!(
                "command {} finished with exit code {:?}",
                output.id,
                output.exit_code
            );
            if let Some(record) = find(commands, output.id) {
                record.outcome = "finished".to_owned();
                record.exit_code = output.exit_code;
                record.stdout = output.stdout;
                record.stderr = output.stderr;
            }
        }
    }
}

fn check_success(
    options: &HeadlessOptions,
    stats: &HeadlessStats,
    was_active: bool,
    failure: Option<String>,
    have_frame: bool,
) -> anyhow::Result<()> {
    if !was_active {
        anyhow::bail!("{}", failure.unwrap_or_else(|| stats.end_reason.clone()));
    }
    if let Some(reason) = failure.filter(|reason| reason.starts_with("input was refused")) {
        anyhow::bail!("{reason}; then the session ended: {}", stats.end_reason);
    }
    if let Some(wanted) = options.frames
        && stats.frames < wanted
    {
        anyhow::bail!(
            "only {} of {wanted} frames arrived before: {}",
            stats.frames,
            stats.end_reason
        );
    }
    if options.save_frame.is_some() && !have_frame {
        anyhow::bail!("no frame arrived to save ({})", stats.end_reason);
    }
    Ok(())
}

fn summarise(records: &[FrameRecord], granted: ScopeSet, reason: &str) -> HeadlessStats {
    let seconds = match (records.first(), records.last()) {
        (Some(first), Some(last)) => last
            .decoded_at
            .duration_since(first.decoded_at)
            .as_secs_f64(),
        _ => 0.0,
    };
    let fps = if seconds > 0.0 {
        (records.len() - 1) as f64 / seconds
    } else {
        0.0
    };
    HeadlessStats {
        frames: records.len(),
        seconds,
        fps,
        bytes_received: records.iter().map(|r| r.bytes).sum(),
        latency_ms: Percentiles::of(records.iter().map(|r| r.latency_ms).collect()),
        decode_ms: Percentiles::of(records.iter().map(|r| r.decode_ms).collect()),
        granted: granted.to_string(),
        end_reason: reason.to_owned(),
        timeline: records
            .iter()
            .map(|r| (r.decoded_unix_ms, r.bytes, r.latency_ms))
            .collect(),
        quality_changes: Vec::new(),
        commands: Vec::new(),
        ..HeadlessStats::default()
    }
}

/// Saves an RGBA frame as PNG.
pub fn save_png(path: &Path, frame: &VideoFrame) -> anyhow::Result<()> {
    let file = std::fs::File::create(path)
        .map_err(|err| anyhow::anyhow!("cannot create {}: {err}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), frame.width, frame.height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&frame.rgba)?;
    writer.finish()?;
    Ok(())
}

/// What to run to resume a lost session without a new code.
fn reconnect_advice(offer: &crate::link::ReconnectOffer) -> String {
    let request = &offer.request;
    let (crate::link::RequestCredential::Resume(session), Some(agent)) =
        (&request.credential, &request.agent_fingerprint)
    else {
        return String::new();
    };
    let seconds = offer
        .until
        .saturating_duration_since(Instant::now())
        .as_secs();
    format!(
        "The connection was lost. For the next {seconds} s the session can be resumed without \
         a new code, with the permissions the end user gave:\n  lifeline-viewer connect {} \
         --resume {session} --agent-fingerprint {} --scopes {} --name '{}'",
        request.address,
        agent.to_hex(),
        request.scopes,
        request.technician_name.replace('\'', "'\\''"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_series() {
        let p = Percentiles::of((1..=100).map(f64::from).collect());
        assert_eq!(p.p50, 51.0);
        assert_eq!(p.p95, 95.0);
        assert_eq!(p.max, 100.0);
        assert_eq!(Percentiles::of(vec![]), Percentiles::default());
    }
}
