//! Recording every session by policy: when the deployment policy says `[recording]
//! always = true`, the agent records each session itself, signed with its own key,
//! into its recordings directory — what was sent (the encoded video, never
//! re-encoded), the technician's input (keys only when the policy keeps them), scope
//! changes and every audit event — and keeps the directory within the policy's size and
//! age quota. The end user's banner says the session is recorded.
//!
//! The file format is `lifeline_protocol::recording`; the recorder thread is the
//! viewer's (`crate::recorder`, the same source file), so a recording made by either
//! side plays and verifies with `lifeline-viewer play` and `recording verify`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use lifeline_protocol::message::{SessionId, TechnicianIdentity};
use lifeline_protocol::recording::{
    AgentInfo, Event, FORMAT_NAME, FORMAT_VERSION, Header, Policy as ContentPolicy,
    Recorder as RecorderInfo, RecordingId, Side, TechnicianInfo,
};
use lifeline_protocol::{KeyPair, VideoFrameHeader};

use crate::policy::RecordingPolicy;
use crate::recorder::{RecordTarget, Recorder, start};

/// File name extension of recordings.
pub(crate) const EXTENSION: &str = "llrec";

/// What the header needs to know about the session.
#[derive(Debug)]
pub(crate) struct SessionFacts<'a> {
    pub(crate) agent_key: &'a KeyPair,
    pub(crate) technician: &'a TechnicianIdentity,
    pub(crate) session_id: SessionId,
    pub(crate) protocol_version: Option<u16>,
}

/// One session being recorded by the agent.
#[derive(Debug)]
pub(crate) struct PolicyRecording {
    recorder: Recorder,
}

impl PolicyRecording {
    /// Makes room within the quota, then starts `directory/<time>-<session>.llrec`.
    pub(crate) fn start(
        policy: &RecordingPolicy,
        directory: &Path,
        facts: &SessionFacts<'_>,
        now: lifeline_protocol::Timestamp,
    ) -> Result<Self, String> {
        std::fs::create_dir_all(directory)
            .map_err(|err| format!("cannot create {}: {err}", directory.display()))?;
        for removed in enforce_quota(directory, policy.max_total_bytes, policy.max_age) {
            tracing::info!("recording quota: removed {}", removed.display());
        }
        let name = format!(
            "{}-{}.{EXTENSION}",
            now.utc().to_string().replace([':', '.'], "-"),
            facts.session_id
        );
        let key = KeyPair::from_pkcs8(facts.agent_key.to_pkcs8())
            .map_err(|err| format!("cannot use the agent's key: {err}"))?;
        let agent = facts.agent_key.public_key();
        let header = Header {
            format: FORMAT_NAME.to_owned(),
            version: FORMAT_VERSION,
            recording_id: RecordingId::random().map_err(|err| err.to_string())?,
            started: now,
            recorder: RecorderInfo {
                side: Side::Agent,
                public_key: agent,
                software: format!("lifeline-agent {}", env!("CARGO_PKG_VERSION")),
            },
            agent: AgentInfo {
                fingerprint: agent.fingerprint(),
                software_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            },
            technician: TechnicianInfo {
                name: facts.technician.display_name.clone(),
                fingerprint: facts.technician.fingerprint,
                verification: (&facts.technician.verification).into(),
            },
            session_id: Some(facts.session_id),
            protocol_version: facts.protocol_version,
            policy: ContentPolicy {
                keys: policy.keys,
                clipboard_contents: policy.contents,
                chat_contents: policy.contents,
            },
        };
        let target = RecordTarget {
            path: directory.join(name),
            policy: header.policy,
        };
        let recorder = start(&target, key, header)?;
        tracing::info!("recording this session into {}", recorder.path().display());
        Ok(Self { recorder })
    }

    /// Records a frame as it is sent. Waits only if the disk is far behind.
    pub(crate) fn video(&self, header: &VideoFrameHeader, payload: &[u8]) {
        let handle = self.recorder.handle();
        tokio::task::block_in_place(|| handle.video(header, payload));
    }

    /// Records the technician's pointer.
    pub(crate) fn pointer(&self, x: u32, y: u32) {
        self.recorder.handle().pointer(x, y);
    }

    /// Records an event (the recorder applies the policy's content rules).
    pub(crate) fn event(&self, event: Event) {
        self.recorder.handle().event(event);
    }

    /// Whether to ask the video pipeline for a keyframe (for seeking, or after a skip).
    pub(crate) fn wants_keyframe(&self) -> bool {
        self.recorder.handle().take_keyframe_wish()
    }

    /// Writes the end and the final seal.
    pub(crate) fn finish(self) {
        let path = self.recorder.path().to_path_buf();
        match self.recorder.finish() {
            Ok(()) => tracing::info!("recording finished: {}", path.display()),
            Err(err) => tracing::error!("{err}"),
        }
    }
}

/// Deletes recordings older than `max_age`, then the oldest until the rest fit in
/// `max_total_bytes`. Returns what was deleted. Only `*.llrec` files are touched.
pub(crate) fn enforce_quota(
    directory: &Path,
    max_total_bytes: u64,
    max_age: Duration,
) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return Vec::new();
    };
    let mut files: Vec<(SystemTime, u64, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == EXTENSION))
        .filter_map(|entry| {
            let meta = entry.metadata().ok()?;
            meta.is_file().then(|| {
                (
                    meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    meta.len(),
                    entry.path(),
                )
            })
        })
        .collect();
    files.sort();
    let now = SystemTime::now();
    let mut total: u64 = files.iter().map(|(_, size, _)| size).sum();
    let mut removed = Vec::new();
    for (modified, size, path) in files {
        let too_old = now.duration_since(modified).is_ok_and(|age| age > max_age);
        if (too_old || total > max_total_bytes) && std::fs::remove_file(&path).is_ok() {
            total = total.saturating_sub(size);
            removed.push(path);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn the_quota_removes_the_oldest_first_and_only_recordings() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, size: usize, age_secs: u64| {
            let path = dir.path().join(name);
            std::fs::write(&path, vec![0u8; size]).unwrap();
            let when = SystemTime::now() - Duration::from_secs(age_secs);
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(when)
                .unwrap();
        };
        write("old.llrec", 400, 300);
        write("middle.llrec", 400, 200);
        write("new.llrec", 400, 100);
        write("notes.txt", 10_000, 1_000_000);
        let removed = enforce_quota(dir.path(), 900, Duration::from_secs(3600));
        assert_eq!(removed, vec![dir.path().join("old.llrec")]);
        let removed = enforce_quota(dir.path(), 10_000, Duration::from_secs(150));
        assert_eq!(removed, vec![dir.path().join("middle.llrec")]);
        assert!(dir.path().join("new.llrec").exists());
        assert!(dir.path().join("notes.txt").exists());
    }
}
