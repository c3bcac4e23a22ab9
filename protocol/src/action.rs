//! Actions the technician asks the agent to carry out, each confirmed by the end user
//! when the deployment policy asks for it: today, running a command.
//!
//! The flow: the viewer sends [`CommandRequest`] (needs the `commands` permission). When
//! the policy wants a confirmation for each command, the agent answers
//! [`ActionPending`] — the technician's viewer shows that it waits — and asks the end
//! user, showing the exact command line; a refusal is an [`ActionRefusal`]. The command's
//! result comes back as [`CommandOutput`]. Each step is audited with the command line.

use serde::{Deserialize, Serialize};

/// Longest command line, in bytes.
pub const MAX_COMMAND_LINE_LEN: usize = 4096;
/// Longest standard output or standard error returned, in bytes (the rest is cut).
pub const MAX_COMMAND_OUTPUT_LEN: usize = 64 * 1024;
/// Actions waiting for the end user or running at once, per session.
pub const MAX_ACTIONS_IN_FLIGHT: usize = 4;

/// Viewer to agent: run this command line with the system shell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRequest {
    /// Chosen by the viewer, unique among its actions in flight.
    pub id: u32,
    /// The command line, as the end user will see it.
    pub command_line: String,
}

/// Agent to viewer: the end user is being asked to confirm this action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionPending {
    /// The action's id.
    pub id: u32,
}

/// Agent to viewer: the action will not be carried out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRefusal {
    /// The action's id.
    pub id: u32,
    /// Why, for the technician.
    pub reason: String,
}

/// Agent to viewer: how a command ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandOutput {
    /// The action's id.
    pub id: u32,
    /// The exit code; none when killed by a signal or the time limit.
    pub exit_code: Option<i32>,
    /// Standard output (lossy UTF-8), at most [`MAX_COMMAND_OUTPUT_LEN`] bytes.
    pub stdout: String,
    /// Standard error (lossy UTF-8), at most [`MAX_COMMAND_OUTPUT_LEN`] bytes.
    pub stderr: String,
    /// Whether output was cut, or the command was stopped at the time limit.
    pub truncated: bool,
}

/// Cuts `text` to at most `limit` bytes on a character boundary; says whether it cut.
pub fn truncate_to(text: &mut String, limit: usize) -> bool {
    if text.len() <= limit {
        return false;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_whole_characters() {
        let mut text = "aé".repeat(10);
        assert!(truncate_to(&mut text, 4));
        assert_eq!(text, "aéa");
        let mut short = "abc".to_owned();
        assert!(!truncate_to(&mut short, 10));
        assert_eq!(short, "abc");
    }
}
