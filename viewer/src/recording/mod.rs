//! Session recordings on the technician's side: recording what the viewer receives
//! (`connect … --record FILE`), and the `recording verify` and `recording export`
//! commands. The format itself (chunks, chain, seals, index) is
//! `lifeline_protocol::recording`.
//!
//! - [`recorder`]: the recorder thread and the handle the session feeds.
//! - [`command`]: verify (integrity, signature, first bad chunk) and export (events as
//!   JSON, a picture at a time as PNG).
//! - [`mp4`]: remuxing the H.264 into MP4 without re-encoding.
//! - [`player`]: the player core without UI: play, pause, seek, speed, the picture of
//!   the moment; [`playback`] runs it on a thread for the window (`lifeline-viewer play
//!   FILE`, `ui::player`), with a second thread that lists the [`events`] and verifies
//!   the file.
//! - [`synthetic`]: recordings of real H.264 made up for tests and measurements.

pub mod command;
pub mod events;
pub mod mp4;
pub mod playback;
pub mod player;
pub mod recorder;
pub mod synthetic;

pub use recorder::{RecordTarget, Recorder, RecorderHandle};
