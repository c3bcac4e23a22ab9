//! Runs a technician's command on the end user's computer, once it is authorized (and
//! confirmed when the policy asks): with the system shell, no standard input, a time
//! limit, and output cut at [`MAX_COMMAND_OUTPUT_LEN`] so a chatty command cannot fill
//! memory. A command still running when its session ends is killed.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lifeline_protocol::action::{CommandOutput, CommandRequest, MAX_COMMAND_OUTPUT_LEN};
use tokio::sync::mpsc;

/// How long a command may run before it is killed.
pub(crate) const COMMAND_TIME_LIMIT: Duration = Duration::from_secs(60);

/// The commands of one session; dropping it kills those still running.
#[derive(Debug)]
pub(crate) struct CommandRunner {
    results: mpsc::UnboundedSender<CommandOutput>,
    running: Arc<Mutex<Vec<(u32, u32)>>>,
}

impl CommandRunner {
    /// A runner sending each result to `results`.
    pub(crate) fn new(results: mpsc::UnboundedSender<CommandOutput>) -> Self {
        Self {
            results,
            running: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Starts `request` on a thread of its own.
    pub(crate) fn start(&self, request: CommandRequest) {
        let results = self.results.clone();
        let running = Arc::clone(&self.running);
        let spawned = std::thread::Builder::new()
            .name("lifeline-command".to_owned())
            .spawn(move || {
                let output = run(&request, &running);
                let _ = results.send(output);
            });
        if let Err(err) = spawned {
            tracing::error!("cannot start a thread for a command: {err}");
        }
    }
}

impl Drop for CommandRunner {
    fn drop(&mut self) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (id, pid) in running.iter() {
            tracing::info!("the session ended: stopping command {id} (pid {pid})");
            kill(*pid);
        }
    }
}

fn shell(command_line: &str) -> Command {
    #[cfg(windows)]
    {
        let mut command = Command::new("cmd");
        command.args(["/C", command_line]);
        command
    }
    #[cfg(not(windows))]
    {
        let mut command = Command::new("/bin/sh");
        command.args(["-c", command_line]);
        command
    }
}

fn run(request: &CommandRequest, running: &Mutex<Vec<(u32, u32)>>) -> CommandOutput {
    let failed = |why: String| CommandOutput {
        id: request.id,
        exit_code: None,
        stdout: String::new(),
        stderr: why,
        truncated: false,
    };
    let mut child = match shell(&request.command_line)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(err) => return failed(format!("the command could not start: {err}")),
    };
    let pid = child.id();
    lock(running).push((request.id, pid));
    let stdout = child.stdout.take().map(read_bounded);
    let stderr = child.stderr.take().map(read_bounded);
    let (status, timed_out) = wait_with_limit(&mut child, request.id, running);
    let (stdout, cut_out) = stdout.and_then(|t| t.join().ok()).unwrap_or_default();
    let (mut stderr, cut_err) = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    if timed_out {
        stderr.push_str(&format!(
            "\n[stopped by Lifeline after {} s]",
            COMMAND_TIME_LIMIT.as_secs()
        ));
    }
    CommandOutput {
        id: request.id,
        exit_code: status,
        stdout,
        stderr,
        truncated: cut_out || cut_err || timed_out,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reads a pipe to its end, keeping at most the limit (the rest is read and dropped so
/// the command never blocks on a full pipe).
fn read_bounded(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<(String, bool)> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut cut = false;
        let mut buffer = [0u8; 8192];
        loop {
            match pipe.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = MAX_COMMAND_OUTPUT_LEN.saturating_sub(kept.len());
                    kept.extend_from_slice(&buffer[..n.min(room)]);
                    cut |= n > room;
                }
            }
        }
        let mut text = String::from_utf8_lossy(&kept).into_owned();
        cut |= lifeline_protocol::action::truncate_to(&mut text, MAX_COMMAND_OUTPUT_LEN);
        (text, cut)
    })
}

/// Waits for the child, killing it at [`COMMAND_TIME_LIMIT`]. Returns its exit code
/// (none when killed) and whether the limit was hit. The child is reaped and taken off
/// `running` under one lock, so the session's end never signals a reused pid.
fn wait_with_limit(
    child: &mut Child,
    id: u32,
    running: &Mutex<Vec<(u32, u32)>>,
) -> (Option<i32>, bool) {
    let started = Instant::now();
    loop {
        let mut list = lock(running);
        let result = match child.try_wait() {
            Ok(Some(status)) => Some((status.code(), false)),
            Ok(None) if started.elapsed() >= COMMAND_TIME_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                Some((None, true))
            }
            Ok(None) => None,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Some((None, false))
            }
        };
        if let Some(result) = result {
            list.retain(|(running_id, _)| *running_id != id);
            return result;
        }
        drop(list);
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(target_os = "linux")]
#[allow(
    unsafe_code,
    reason = "kill(2) of a child this agent started, by its pid"
)]
fn kill(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill has no memory effects; the pid is of a child we spawned and
        // have not reaped yet (it is reaped and taken off the list under the same lock
        // the caller holds).
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn kill(pid: u32) {
    tracing::warn!("cannot stop command process {pid} on this platform when the session ends");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn run_line(line: &str) -> CommandOutput {
        run(
            &CommandRequest {
                id: 1,
                command_line: line.to_owned(),
            },
            &Mutex::new(Vec::new()),
        )
    }

    #[test]
    fn output_and_exit_code_come_back() {
        let output = run_line("echo out; echo err >&2; exit 3");
        assert_eq!(output.stdout, "out\n");
        assert_eq!(output.stderr, "err\n");
        assert_eq!(output.exit_code, Some(3));
        assert!(!output.truncated);
    }

    #[test]
    fn endless_output_is_cut_without_filling_memory() {
        let output = run_line("head -c 1000000 /dev/zero | tr '\\0' x");
        assert_eq!(output.stdout.len(), MAX_COMMAND_OUTPUT_LEN);
        assert!(output.truncated);
        assert_eq!(output.exit_code, Some(0));
    }
}
