//! Writes a synthetic recording of real H.264 (see
//! `lifeline_viewer::recording::synthetic`), to try the player on a long file and to
//! measure its time to the first picture:
//!
//! ```sh
//! cargo run --release -p lifeline-viewer --example synthetic_recording -- /tmp/hour.llrec 60
//! lifeline-viewer play /tmp/hour.llrec    # logs "first picture after N ms"
//! ```
//!
//! Arguments: the file, then optionally minutes (default 60), width and height (default
//! 1920 1080) and frames a second (default 10).

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::process::ExitCode;
use std::time::Duration;

use lifeline_viewer::recording::synthetic::{SyntheticSpec, write_synthetic};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            #[allow(clippy::print_stderr, reason = "a command-line example")]
            {
                eprintln!("synthetic_recording: {err}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .ok_or("give the file to write, then optionally minutes, width, height, fps")?;
    let number = |i: usize, default: u64| -> Result<u64, String> {
        args.get(i).map_or(Ok(default), |text| {
            text.parse()
                .map_err(|_| format!("{text:?} is not a whole number"))
        })
    };
    let (minutes, width, height, fps) = (
        number(1, 60)?,
        number(2, 1920)?,
        number(3, 1080)?,
        number(4, 10)?.max(1),
    );
    let spec = SyntheticSpec {
        width: u32::try_from(width).map_err(|err| err.to_string())?,
        height: u32::try_from(height).map_err(|err| err.to_string())?,
        frame_interval: Duration::from_millis(1000 / fps),
        frames: minutes * 60 * fps,
        chat_every: Some(fps * 45),
        distinct_intervals: 1,
        ..SyntheticSpec::default()
    };
    let file = File::create(path).map_err(|err| format!("cannot create {path}: {err}"))?;
    let mut out = BufWriter::new(file);
    write_synthetic(&mut out, &spec)?;
    out.flush()
        .map_err(|err| format!("cannot write {path}: {err}"))?;
    Ok(())
}
