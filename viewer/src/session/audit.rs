//! The technician's audit log: what the viewer records of each connection in
//! `audit.jsonl` in its data directory, in the agent's format and signed with the
//! technician's key (the files are [`crate::audit_log`]).
//!
//! Recorded, with the technician's fingerprint as the actor unless someone else acted:
//! the connection (agent address and key fingerprint), authentication (code or
//! unattended, and the organisation of the certificate presented), the permissions
//! asked for, granted, refused, withdrawn and given up, the first use of input in a
//! session, the size of each clipboard text received, each command with its command
//! line, the end user's answer and its exit code, a recording started, and the end of
//! the session with its reason. Never recorded: codes, TOTP codes, typed text, keys,
//! clipboard contents or command output.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use lifeline_protocol::audit::{Actor, AuditAction, AuditRecord, Outcome};
use lifeline_protocol::message::{ControlMessage, EndReason, SessionId};
use lifeline_protocol::session::{ViewerEvent, ViewerSession};
use lifeline_protocol::{Fingerprint, Scope, ScopeSet};

use super::{SessionContext, now};
use crate::audit_log::{AuditLog, LogOwner};
use crate::link::{Command, ConnectRequest, RequestCredential};

/// The viewer's audit log: what its messages say, its key file, data directory and
/// clock.
pub static AUDIT_LOG: LogOwner = LogOwner {
    program: "the viewer",
    verify_command: "lifeline-viewer log verify",
    key_file: crate::identity::KEY_FILE,
    default_data_dir: || Ok(crate::identity::default_data_dir()?),
    now,
};

/// The log, shared by the viewer's connections one after the other.
pub type SharedAuditLog = Arc<Mutex<AuditLog>>;

/// What a command the technician gave is recorded as, once it was sent.
#[derive(Debug)]
pub(crate) enum Audited {
    /// Input of this kind (recorded on its first use in the session).
    Input(&'static str),
    /// More permissions asked for.
    Request(ScopeSet),
    /// Permissions given up.
    GiveUp(ScopeSet),
}

/// What a command given in the window or a script is recorded as.
pub(crate) fn audited_of(command: &Command) -> Option<Audited> {
    Some(match command {
        Command::PointerMove { .. } => Audited::Input("pointer-move"),
        Command::Button { .. } => Audited::Input("pointer-button"),
        Command::Wheel { .. } => Audited::Input("wheel"),
        Command::Key(_) => Audited::Input("key"),
        Command::TypeText(_) => Audited::Input("type-text"),
        Command::RequestScopes(scopes) => Audited::Request(*scopes),
        Command::GiveUp(scopes) => Audited::GiveUp(*scopes),
        _ => return None,
    })
}

/// A command sent and not yet answered or finished.
#[derive(Clone, Debug)]
struct SentCommand {
    command_line: String,
    /// The end user was asked to confirm it.
    asked: bool,
}

/// The audit of one connection.
#[derive(Clone, Debug)]
pub(crate) struct SessionAudit {
    log: SharedAuditLog,
    technician: Fingerprint,
    address: String,
    agent: Option<Fingerprint>,
    unattended: bool,
    organisation: Option<String>,
    requested: ScopeSet,
    reason: String,
    session: Option<SessionId>,
    authenticated: bool,
    /// What the end user granted, as last recorded (none before their answer).
    granted: Option<ScopeSet>,
    input_used: bool,
    commands: HashMap<u32, SentCommand>,
    recording: bool,
}

impl SessionAudit {
    /// The audit of a connection about to be made for `request`.
    pub(crate) fn new(context: &SessionContext, request: &ConnectRequest) -> Self {
        Self {
            log: Arc::clone(&context.audit),
            technician: context.identity.key.public_key().fingerprint(),
            address: request.address.clone(),
            agent: None,
            unattended: matches!(request.credential, RequestCredential::Unattended { .. }),
            organisation: context
                .certificate
                .as_ref()
                .map(|certificate| certificate.body.organisation.clone()),
            requested: request.scopes,
            reason: request.reason.clone(),
            session: None,
            authenticated: false,
            granted: None,
            input_used: false,
            commands: HashMap::new(),
            recording: false,
        }
    }

    /// The agent answered with this key.
    pub(crate) fn met_agent(&mut self, agent: Fingerprint) {
        self.agent = Some(agent);
    }

    /// The connection is open: records it, and returns the audit the connection keeps.
    pub(crate) fn connected(&mut self) -> Self {
        self.connection(Outcome::Succeeded);
        self.clone()
    }

    /// The connection failed or was refused before a session could start.
    pub(crate) fn not_connected(&mut self, reason: &str) {
        self.connection(Outcome::Failed {
            reason: reason.to_owned(),
        });
    }

    fn connection(&mut self, outcome: Outcome) {
        let action = AuditAction::AgentConnection {
            address: self.address.clone(),
            fingerprint: self.agent,
        };
        self.write(self.technician(), action, None, outcome);
    }

    /// Records what an event of the session says the technician did or got.
    pub(crate) fn on_event(&mut self, event: &ViewerEvent, viewer: &ViewerSession) {
        self.session = self.session.or(viewer.session_id());
        match event {
            ViewerEvent::Authenticated { session_id } => {
                self.session = session_id.or(self.session);
                self.authenticated = true;
                let action = AuditAction::AgentAuthentication {
                    unattended: self.unattended,
                    organisation: self.organisation.clone(),
                };
                self.write(self.technician(), action, None, Outcome::Succeeded);
                let asked = AuditAction::ConsentAsked {
                    scopes: self.requested,
                    reason: self.reason.clone(),
                };
                self.write(self.technician(), asked, None, Outcome::Succeeded);
            }
            ViewerEvent::ScopesChanged(granted) => self.scopes_changed(*granted),
            ViewerEvent::ScopeRefused { scopes, reason } => {
                let action = AuditAction::ScopesGranted { scopes: *scopes };
                self.write(self.granter(), action, None, refused(reason));
            }
            ViewerEvent::ActionPending { id } => {
                if let Some(command) = self.commands.get_mut(id) {
                    command.asked = true;
                }
            }
            ViewerEvent::ActionRefused { id, reason } => {
                if let Some(command) = self.commands.remove(id) {
                    self.answered(&command, false, refused(reason));
                }
            }
            ViewerEvent::CommandOutput(output) => {
                let Some(command) = self.commands.remove(&output.id) else {
                    return;
                };
                if command.asked {
                    self.answered(&command, true, Outcome::Succeeded);
                }
                let outcome = match output.exit_code {
                    Some(0) => Outcome::Succeeded,
                    Some(code) => Outcome::Failed {
                        reason: format!("exit code {code}"),
                    },
                    None => Outcome::Failed {
                        reason: "stopped by a signal or the time limit".to_owned(),
                    },
                };
                let action = AuditAction::CommandFinished {
                    id: output.id,
                    command_line: command.command_line,
                    exit_code: output.exit_code,
                };
                self.write(self.technician(), action, Some(Scope::RunCommands), outcome);
            }
            ViewerEvent::Deliver(message @ ControlMessage::ClipboardText(text)) => {
                let action = AuditAction::Action {
                    message: message.kind().to_owned(),
                    summary: format!("{} bytes of text received", text.len()),
                };
                let scope = Some(Scope::Clipboard);
                self.write(self.technician(), action, scope, Outcome::Succeeded);
            }
            ViewerEvent::Ended(end) if !self.authenticated => {
                let action = AuditAction::AgentAuthentication {
                    unattended: self.unattended,
                    organisation: self.organisation.clone(),
                };
                let reason = end.reason.detail();
                self.write(self.technician(), action, None, Outcome::Failed { reason });
            }
            ViewerEvent::Ended(end) => {
                if let (None, EndReason::ConsentRefused { .. }) = (self.granted, &end.reason) {
                    let action = AuditAction::ConsentAnswered {
                        granted: ScopeSet::empty(),
                    };
                    let outcome = refused(&end.reason.detail());
                    self.write(self.granter(), action, None, outcome);
                }
            }
            _ => {}
        }
    }

    fn scopes_changed(&mut self, granted: ScopeSet) {
        let Some(before) = self.granted.replace(granted) else {
            let action = AuditAction::ConsentAnswered { granted };
            self.write(self.granter(), action, None, Outcome::Succeeded);
            return;
        };
        let added = granted.difference(before);
        if !added.is_empty() {
            let action = AuditAction::ScopesGranted { scopes: added };
            self.write(self.granter(), action, None, Outcome::Succeeded);
        }
        let removed = before.difference(granted);
        if !removed.is_empty() {
            let action = AuditAction::ScopesRevoked { scopes: removed };
            self.write(self.granter(), action, None, Outcome::Succeeded);
        }
    }

    /// A command of the technician's was sent.
    pub(crate) fn sent(&mut self, audited: Option<Audited>) {
        match audited {
            Some(Audited::Input(kind)) if !self.input_used => {
                self.input_used = true;
                let action = AuditAction::Action {
                    message: kind.to_owned(),
                    summary: "first use in this session".to_owned(),
                };
                let scope = Some(Scope::ControlInput);
                self.write(self.technician(), action, scope, Outcome::Succeeded);
            }
            Some(Audited::Request(scopes)) => {
                let action = AuditAction::ConsentAsked {
                    scopes,
                    reason: String::new(),
                };
                self.write(self.technician(), action, None, Outcome::Succeeded);
            }
            Some(Audited::GiveUp(scopes)) => {
                // The change that follows is the technician's, not the end user's.
                self.granted = self.granted.map(|granted| granted.difference(scopes));
                let action = AuditAction::ScopesRevoked { scopes };
                self.write(self.technician(), action, None, Outcome::Succeeded);
            }
            _ => {}
        }
    }

    /// A command line was sent to run, with this id.
    pub(crate) fn command_sent(&mut self, id: u32, command_line: &str) {
        self.commands.insert(
            id,
            SentCommand {
                command_line: command_line.to_owned(),
                asked: false,
            },
        );
        let action = AuditAction::CommandSent {
            id,
            command_line: command_line.to_owned(),
        };
        let scope = Some(Scope::RunCommands);
        self.write(self.technician(), action, scope, Outcome::Succeeded);
    }

    /// A file transfer started or ended: `message` is `file-offer` or `file-fetch`, the
    /// summary names the file, its size and SHA-256 (never its contents).
    pub(crate) fn file(&mut self, message: &'static str, summary: String, outcome: Outcome) {
        let action = AuditAction::Action {
            message: message.to_owned(),
            summary,
        };
        let scope = Some(Scope::FileTransfer);
        self.write(self.technician(), action, scope, outcome);
    }

    /// Where the session is being recorded, if it is: recorded once, when it starts.
    pub(crate) fn recording(&mut self, file: Option<&Path>) {
        let Some(file) = file else { return };
        if std::mem::replace(&mut self.recording, true) {
            return;
        }
        let action = AuditAction::RecordingStarted {
            file: file.display().to_string(),
        };
        let scope = Some(Scope::RecordSession);
        self.write(self.technician(), action, scope, Outcome::Succeeded);
    }

    /// The session is over (signs the log).
    pub(crate) fn ended(&mut self, reason: &str) {
        let action = AuditAction::SessionEnded {
            reason: reason.to_owned(),
        };
        self.write(self.technician(), action, None, Outcome::Succeeded);
    }

    fn answered(&mut self, command: &SentCommand, approved: bool, outcome: Outcome) {
        let action = AuditAction::ActionAnswered {
            message: "run-command".to_owned(),
            summary: command.command_line.clone(),
            approved,
        };
        // Without a question to the end user, the agent's policy decided.
        let actor = if command.asked {
            Actor::EndUser
        } else {
            Actor::Agent
        };
        self.write(actor, action, Some(Scope::RunCommands), outcome);
    }

    fn technician(&self) -> Actor {
        Actor::Technician {
            fingerprint: self.technician,
        }
    }

    /// Who grants permissions: the end user, or in unattended sessions the agent's
    /// policy.
    fn granter(&self) -> Actor {
        if self.unattended {
            Actor::Agent
        } else {
            Actor::EndUser
        }
    }

    fn write(&self, actor: Actor, action: AuditAction, scope: Option<Scope>, outcome: Outcome) {
        let record = AuditRecord {
            time: now(),
            session: self.session,
            actor,
            action,
            scope,
            outcome,
        };
        let mut log = self
            .log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Err(err) = log.append(&record) {
            tracing::error!("cannot write the audit log {}: {err}", log.path().display());
        }
    }
}

fn refused(reason: &str) -> Outcome {
    Outcome::Refused {
        reason: if reason.is_empty() {
            "no reason given".to_owned()
        } else {
            reason.to_owned()
        },
    }
}
