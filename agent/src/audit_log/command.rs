//! `verify` and `show` for an audit log: `lifeline-agent audit …` and
//! `lifeline-viewer log …` (this module is shared, see [`super`]).
//!
//! Exit status: 0 when the log is intact (or was shown), 1 when it was tampered with,
//! 2 when it could not be read or the arguments were wrong.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use lifeline_protocol::KeyPair;

use super::{AUDIT_FILE, LogOwner, SessionFilter, Trusted, VerifyError, head_path, verify};

/// The audit subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check that the audit log is intact, or name its first bad line.
    ///
    /// Checks the hash chain, the signed checkpoints and the head file. Exit status: 0
    /// intact, 1 tampered with, 2 unreadable.
    Verify {
        /// The log to check (default: audit.jsonl in the data directory).
        path: Option<PathBuf>,
        /// The key that must have signed it: 64 hex digits of a public key or of its full
        /// fingerprint (default: the key in the data directory, whose log it is).
        #[arg(long)]
        signer: Option<String>,
    },
    /// Print the audit log for people: one line per record, times in UTC.
    ///
    /// Columns: time, sequence number, session, actor, action, scope, outcome.
    Show {
        /// The log to show (default: audit.jsonl in the data directory).
        path: Option<PathBuf>,
        /// Only this session's records: its id, or the first hex digits of it.
        #[arg(long)]
        session: Option<String>,
        /// Print the record lines as they are in the log (JSON, one per line).
        #[arg(long)]
        json: bool,
    },
}

const TAMPERED: u8 = 1;
const UNUSABLE: u8 = 2;

/// Runs an audit subcommand for `owner`; `data_dir` is the `--data-dir`, if given.
/// Results go to `out`, warnings and errors to `err`.
pub fn run(
    command: &AuditCommand,
    owner: &LogOwner,
    data_dir: Option<&Path>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> ExitCode {
    match execute(command, owner, data_dir, out, err) {
        Ok(code) => code,
        Err(message) => {
            // Nothing else can be done if the error stream itself is closed.
            let _ = writeln!(err, "error: {message}");
            ExitCode::from(UNUSABLE)
        }
    }
}

fn execute(
    command: &AuditCommand,
    owner: &LogOwner,
    data_dir: Option<&Path>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let data_dir = || -> anyhow::Result<PathBuf> {
        match data_dir {
            Some(dir) => Ok(dir.to_path_buf()),
            None => (owner.default_data_dir)(),
        }
    };
    match command {
        AuditCommand::Verify { path, signer } => {
            let path = match path {
                Some(path) => path.clone(),
                None => data_dir()?.join(AUDIT_FILE),
            };
            let trusted = match signer {
                Some(hex) => Some(Trusted::parse_hex(hex).ok_or_else(|| {
                    anyhow::anyhow!(
                        "--signer wants 64 hex digits (a public key or a full fingerprint), \
                         not {hex:?}"
                    )
                })?),
                None => own_key(owner, &data_dir()?)?,
            };
            verify_command(&path, trusted.as_ref(), out, err)
        }
        AuditCommand::Show {
            path,
            session,
            json,
        } => {
            let path = match path {
                Some(path) => path.clone(),
                None => data_dir()?.join(AUDIT_FILE),
            };
            let filter = session.as_deref().map(SessionFilter::parse).transpose()?;
            let log = std::fs::read(&path)
                .map_err(|source| anyhow::anyhow!("cannot read {}: {source}", path.display()))?;
            if *json {
                super::write_json(out, &log, filter.as_ref())?;
            } else {
                super::write_human(out, &log, filter.as_ref())?;
            }
            if let Err(VerifyError::Tampered(tamper)) = verify(&path, None) {
                writeln!(
                    err,
                    "warning: this log is not intact ({tamper}); run `{}` for details",
                    owner.verify_command
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn verify_command(
    path: &Path,
    trusted: Option<&Trusted>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    match verify(path, trusted) {
        Ok(report) => {
            let signer = report
                .signer
                .map(|key| format!(", signed by key {}", key.fingerprint()))
                .unwrap_or_default();
            writeln!(
                out,
                "intact: {}: {} records, {} checkpoints{signer}",
                path.display(),
                report.records,
                report.checkpoints
            )?;
            for warning in report.warnings(&head_path(path)) {
                writeln!(err, "warning: {warning}")?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(VerifyError::Tampered(tamper)) => {
            writeln!(out, "TAMPERED: {}: {tamper}", path.display())?;
            Ok(ExitCode::from(TAMPERED))
        }
        Err(other) => Err(other.into()),
    }
}

/// The public key of the owner whose data directory this is, if it has one. Never
/// creates a key.
fn own_key(owner: &LogOwner, dir: &Path) -> anyhow::Result<Option<Trusted>> {
    let path = dir.join(owner.key_file);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let key = KeyPair::from_pkcs8(&bytes).map_err(|_| {
                anyhow::anyhow!(
                    "{}'s key {} is damaged; pass --signer with its public key",
                    owner.program,
                    path.display()
                )
            })?;
            Ok(Some(Trusted::key(key.public_key())))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(anyhow::anyhow!("cannot read {}: {source}", path.display())),
    }
}
