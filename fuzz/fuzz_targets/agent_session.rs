//! A hostile viewer: an honest hello and SPAKE2 start, then arbitrary frames fed to
//! the agent's state machine. The agent must never panic, never act before consent,
//! and never hold scopes the user did not grant.
//!
//! The body is [`lifeline_fuzz::agent_session`], shared with the workspace's corpus regression
//! test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lifeline_fuzz::agent_session(data));
