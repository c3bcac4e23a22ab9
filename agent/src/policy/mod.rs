//! The deployment policy: which organisations the agent trusts, whether unattended
//! access is allowed and on what terms, and how long attended sessions run before the
//! end user is asked whether to continue.
//!
//! It is a TOML file written by the admin who deploys the agent (see
//! `assets/policy.example.toml`). Looked for, in order: `--policy PATH`, then
//! `/etc/lifeline/policy.toml`, then the user's config directory
//! (`~/.config/lifeline-agent/policy.toml` on Linux). Without a file the agent trusts no
//! organisation and allows no unattended access. A file that cannot be read or has a
//! mistake stops the agent with the line at fault: a security policy is never half
//! applied.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lifeline_protocol::trust::{
    TotpSecret, TotpVerifier, Trust, TrustedOrganisation, UnattendedPolicy,
};
use lifeline_protocol::{PublicKey, Scope, ScopeSet};
use serde::Deserialize;

/// The system-wide policy file (services and silent deployments).
pub const SYSTEM_POLICY: &str = "/etc/lifeline/policy.toml";

/// The policy in force.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Trusted organisations and unattended access.
    pub trust: Trust,
    /// Attended sessions ask "continue?" after this long (none: never).
    pub continue_after: Option<Duration>,
    /// How long the end user has to answer "continue?" before the session ends.
    pub continue_answer_window: Duration,
    /// Every session recorded by the agent itself, when set.
    pub recording: Option<RecordingPolicy>,
    /// Where it was read from (none: built-in defaults).
    pub source: Option<PathBuf>,
}

/// The agent records every session itself (organisations that must keep evidence).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordingPolicy {
    /// Where recordings go (none: `recordings/` in the agent's data directory).
    pub directory: Option<PathBuf>,
    /// Oldest recordings are deleted beyond this total size.
    pub max_total_bytes: u64,
    /// Recordings older than this are deleted.
    pub max_age: Duration,
    /// Keep key presses and typed text (off: typed passwords stay out).
    pub keys: bool,
    /// Keep clipboard and chat texts (off: only their sizes).
    pub contents: bool,
}

/// Without a policy saying otherwise, each command and each file transfer is shown to
/// the end user for approval.
pub fn default_confirmed_actions() -> ScopeSet {
    ScopeSet::from([Scope::RunCommands, Scope::FileTransfer])
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            trust: Trust {
                confirm_actions: default_confirmed_actions(),
                ..Trust::default()
            },
            continue_after: Some(Duration::from_secs(60 * 60)),
            continue_answer_window: Duration::from_secs(5 * 60),
            recording: None,
            source: None,
        }
    }
}

/// The policy file is wrong.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// It cannot be read.
    #[error("cannot read the policy file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Its contents are invalid.
    #[error("the policy file {path} is invalid: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line when known.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    organisation: Vec<OrganisationEntry>,
    #[serde(default)]
    unattended: Option<UnattendedEntry>,
    #[serde(default)]
    attended: Option<AttendedEntry>,
    #[serde(default)]
    actions: Option<ActionsEntry>,
    #[serde(default)]
    recording: Option<RecordingEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordingEntry {
    always: bool,
    #[serde(default)]
    directory: Option<PathBuf>,
    #[serde(default)]
    max_total_mb: Option<u64>,
    #[serde(default)]
    max_age_days: Option<u64>,
    #[serde(default)]
    keys: bool,
    #[serde(default)]
    contents: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionsEntry {
    confirm: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrganisationEntry {
    name: String,
    public_key: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnattendedEntry {
    allowed: bool,
    #[serde(default)]
    max_scopes: Option<String>,
    #[serde(default)]
    confirm_scopes: Option<String>,
    #[serde(default)]
    second_factor: Option<SecondFactor>,
    #[serde(default)]
    totp_secret_file: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum SecondFactor {
    None,
    Totp,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttendedEntry {
    #[serde(default)]
    continue_after_minutes: Option<f64>,
    #[serde(default)]
    continue_answer_seconds: Option<u64>,
}

impl Policy {
    /// Finds and reads the policy: `explicit` if given, else the first existing file of
    /// the search order, else the defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Self, PolicyError> {
        if let Some(path) = explicit {
            return Self::read(path);
        }
        let mut candidates = vec![PathBuf::from(SYSTEM_POLICY)];
        if let Some(dirs) = directories::ProjectDirs::from("org", "Lifeline", "lifeline-agent") {
            candidates.push(dirs.config_dir().join("policy.toml"));
        }
        match candidates.into_iter().find(|path| path.exists()) {
            Some(path) => Self::read(&path),
            None => Ok(Self::default()),
        }
    }

    /// Reads one policy file.
    pub fn read(path: &Path) -> Result<Self, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base)
            .map_err(|message| PolicyError::Invalid {
                path: path.to_path_buf(),
                message,
            })
            .map(|policy| Policy {
                source: Some(path.to_path_buf()),
                ..policy
            })
    }

    /// Parses policy text; relative secret paths are taken from `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, String> {
        let file: PolicyFile = toml::from_str(text).map_err(|err| err.to_string())?;
        let mut organisations = Vec::new();
        for entry in file.organisation {
            let key = PublicKey::from_text(&entry.public_key)
                .map_err(|err| format!("organisation {:?}: public_key: {err}", entry.name))?;
            if entry.name.trim().is_empty() {
                return Err("an organisation needs a name (shown to end users)".to_owned());
            }
            organisations.push(TrustedOrganisation {
                name: entry.name,
                key,
            });
        }
        let unattended = match file.unattended {
            Some(entry) if entry.allowed => Some(unattended_policy(entry, base)?),
            _ => None,
        };
        if unattended.is_some() && organisations.is_empty() {
            return Err(
                "unattended access is allowed but no [[organisation]] is trusted: \
                        add the organisation key that signs your technicians' certificates"
                    .to_owned(),
            );
        }
        let defaults = Self::default();
        let attended = file.attended.unwrap_or(AttendedEntry {
            continue_after_minutes: None,
            continue_answer_seconds: None,
        });
        let continue_after = match attended.continue_after_minutes {
            Some(minutes) if !(0.0..=10_000_000.0).contains(&minutes) => {
                return Err(
                    "attended.continue_after_minutes must be between 0 (never ask) and 10000000"
                        .to_owned(),
                );
            }
            Some(0.0) => None,
            Some(minutes) => Some(Duration::from_secs_f64(minutes * 60.0)),
            None => defaults.continue_after,
        };
        let continue_answer_window = match attended.continue_answer_seconds {
            Some(0) => {
                return Err("attended.continue_answer_seconds must be at least 1".to_owned());
            }
            Some(seconds) => Duration::from_secs(seconds),
            None => defaults.continue_answer_window,
        };
        let confirm_actions = match file.actions {
            Some(actions) => actions
                .confirm
                .parse::<ScopeSet>()
                .map_err(|err| format!("actions.confirm: {err}"))?,
            None => default_confirmed_actions(),
        };
        let confirmable = default_confirmed_actions();
        if !confirm_actions.difference(confirmable).is_empty() {
            return Err(format!(
                "actions.confirm: only {confirmable} can be confirmed one by one; \
                 {} are granted (or not) as a whole by the end user's consent",
                confirm_actions.difference(confirmable)
            ));
        }
        let recording = match file.recording {
            Some(entry) if entry.always => {
                let max_total_mb = entry.max_total_mb.unwrap_or(2048);
                if max_total_mb == 0 {
                    return Err("recording.max_total_mb must be at least 1".to_owned());
                }
                Some(RecordingPolicy {
                    directory: entry.directory.map(|dir| base.join(dir)),
                    max_total_bytes: max_total_mb.saturating_mul(1024 * 1024),
                    max_age: Duration::from_secs(
                        entry
                            .max_age_days
                            .unwrap_or(90)
                            .max(1)
                            .saturating_mul(86_400),
                    ),
                    keys: entry.keys,
                    contents: entry.contents,
                })
            }
            _ => None,
        };
        Ok(Self {
            recording,
            trust: Trust {
                organisations,
                unattended,
                confirm_actions,
                ..Trust::default()
            },
            continue_after,
            continue_answer_window,
            ..defaults
        })
    }
}

impl Policy {
    /// What the policy allows, for `lifeline-agent policy check` and support staff.
    pub fn describe(&self) -> String {
        let mut lines = vec![match &self.source {
            Some(path) => format!("policy file: {}", path.display()),
            None => "no policy file: built-in defaults".to_owned(),
        }];
        if self.trust.organisations.is_empty() {
            lines.push("trusted organisations: none".to_owned());
        }
        for org in &self.trust.organisations {
            lines.push(format!(
                "trusted organisation: {:?} key {} (fingerprint {})",
                org.name,
                org.key.to_text(),
                org.key.fingerprint()
            ));
        }
        match &self.trust.unattended {
            None => lines.push("unattended access: not allowed".to_owned()),
            Some(unattended) => {
                lines.push(format!(
                    "unattended access: allowed, at most {}",
                    unattended.max_scopes
                ));
                lines.push(format!(
                    "  needs a click from a person at the computer: {}",
                    unattended.confirm_scopes
                ));
                lines.push(format!(
                    "  second factor: {}",
                    if unattended.second_factor.is_some() {
                        "TOTP code required"
                    } else {
                        "none"
                    }
                ));
            }
        }
        lines.push(format!(
            "each action confirmed by the end user: {}",
            self.trust.confirm_actions
        ));
        lines.push(match &self.recording {
            None => "the agent does not record sessions itself".to_owned(),
            Some(recording) => format!(
                "every session recorded into {} (at most {} MB, {} days; keys {}, contents {})",
                recording.directory.as_ref().map_or_else(
                    || "recordings/ in the data directory".to_owned(),
                    |dir| dir.display().to_string()
                ),
                recording.max_total_bytes / (1024 * 1024),
                recording.max_age.as_secs() / 86_400,
                if recording.keys { "kept" } else { "left out" },
                if recording.contents {
                    "kept"
                } else {
                    "left out"
                },
            ),
        });
        lines.push(match self.continue_after {
            Some(after) => format!(
                "attended sessions ask \"continue?\" every {} min",
                after.as_secs() / 60
            ),
            None => "attended sessions never ask \"continue?\"".to_owned(),
        });
        lines.join("\n")
    }
}

fn unattended_policy(entry: UnattendedEntry, base: &Path) -> Result<UnattendedPolicy, String> {
    let scopes = |field: &str, value: Option<&str>, default: ScopeSet| match value {
        None => Ok(default),
        Some(text) => text
            .parse::<ScopeSet>()
            .map_err(|err| format!("unattended.{field}: {err}")),
    };
    let max_scopes = scopes("max_scopes", entry.max_scopes.as_deref(), ScopeSet::all())?;
    let confirm_scopes = scopes(
        "confirm_scopes",
        entry.confirm_scopes.as_deref(),
        ScopeSet::empty(),
    )?;
    let second_factor = match entry.second_factor.unwrap_or(SecondFactor::Totp) {
        SecondFactor::None => None,
        SecondFactor::Totp => {
            let Some(path) = entry.totp_secret_file else {
                return Err("unattended.second_factor is \"totp\" (the default) but \
                            unattended.totp_secret_file is not set; set it, or write \
                            second_factor = \"none\" to go without a second factor"
                    .to_owned());
            };
            let path = base.join(path);
            let text = std::fs::read_to_string(&path)
                .map_err(|err| format!("cannot read the TOTP secret {}: {err}", path.display()))?;
            let secret = TotpSecret::from_base32(&text)
                .map_err(|err| format!("{}: {err}", path.display()))?;
            Some(Arc::new(TotpVerifier::new(secret)))
        }
    };
    Ok(UnattendedPolicy {
        max_scopes,
        confirm_scopes,
        second_factor,
    })
}

#[cfg(test)]
mod tests;
