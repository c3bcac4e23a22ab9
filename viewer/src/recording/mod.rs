//! Session recordings on the technician's side: recording what the viewer receives
//! (`connect … --record FILE`), and the `recording verify` and `recording export`
//! commands. The format itself (chunks, chain, seals, index) is
//! `lifeline_protocol::recording`.
//!
//! - [`recorder`]: the recorder thread and the handle the session feeds.
//! - [`command`]: verify (integrity, signature, first bad chunk) and export (events as
//!   JSON, a picture at a time as PNG).
//! - [`mp4`]: remuxing the H.264 into MP4 without re-encoding.
//!
//! Playback in the window is not here yet; `RecordingReader` (open, index, seek, next
//! record) and [`command::picture_at`] are what a player builds on.

pub mod command;
pub mod mp4;
pub mod recorder;

pub use recorder::{RecordTarget, Recorder, RecorderHandle};
