//! Input scripts for the headless viewer: one event per line.
//!
//! ```text
//! # comments and blank lines are ignored
//! move 640 360        # pointer to (640, 360) in remote pixels
//! click left          # press and release (left, right, middle)
//! down left / up left # press or release only
//! scroll 3            # wheel notches, positive down
//! type hello, world   # text, as typed
//! key Return          # a key by name: Return, Escape, Tab, BackSpace, Delete, space,
//!                     # Up, Down, Left, Right, Home, End, F1..F12, a..z, 0..9;
//!                     # with modifiers: ctrl+c, alt+Tab, shift+a, super
//! wait 200            # milliseconds
//! run df -h /         # run a command on the end user's computer (`commands`); the
//!                     # headless viewer waits for its result before it ends
//! sysinfo             # ask for the end user's system report (`sysinfo`); waited for
//! diagnose dns localhost # run a diagnostic (`diagnostics`): disk, memory,
//!                     # dns HOST, tcp HOST:PORT; waited for
//! monitor 1           # show the agent's monitor 1 (0: the first in its list)
//! chat Hello, I am on it   # write in the chat (the end user's lines go to the stats)
//! send ./fix.sh       # send a local file into the end user's Downloads folder
//!                     # (`files`); waited for
//! fetch ~/report.pdf  # fetch a file from the end user's computer into this
//!                     # computer's Downloads folder (`files`); waited for
//! ```

use std::time::Duration;

use lifeline_protocol::message::{KeyEvent, Modifiers, MouseButton};
use lifeline_protocol::system::Diagnostic;

use crate::link::Command;

/// One step of a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send these commands, in order.
    Send(Vec<Command>),
    /// Wait.
    Wait(Duration),
}

/// A line that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("input script line {line}: {problem}")]
pub struct ScriptError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

/// Parses a whole script.
pub fn parse(text: &str) -> Result<Vec<Step>, ScriptError> {
    text.lines()
        .enumerate()
        .filter_map(|(index, raw)| {
            let line = raw.split_once('#').map_or(raw, |(before, _)| before).trim();
            (!line.is_empty()).then(|| {
                parse_line(line).map_err(|problem| ScriptError {
                    line: index + 1,
                    problem,
                })
            })
        })
        .collect()
}

fn parse_line(line: &str) -> Result<Step, String> {
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    let number = |text: &str| {
        text.trim()
            .parse::<i64>()
            .map_err(|_| format!("{text:?} is not a number"))
    };
    let step = match verb {
        "move" => {
            let (x, y) = rest.trim().split_once(' ').ok_or("move needs X and Y")?;
            let x = u32::try_from(number(x)?).map_err(|_| "X must be positive")?;
            let y = u32::try_from(number(y)?).map_err(|_| "Y must be positive")?;
            Step::Send(vec![Command::PointerMove { x, y }])
        }
        "click" | "down" | "up" => {
            let button = parse_button(rest.trim())?;
            let press = Command::Button {
                button,
                pressed: true,
            };
            let release = Command::Button {
                button,
                pressed: false,
            };
            Step::Send(match verb {
                "click" => vec![press, release],
                "down" => vec![press],
                _ => vec![release],
            })
        }
        "scroll" => {
            let dy = i32::try_from(number(rest)?).map_err(|_| "too many notches")?;
            Step::Send(vec![Command::Wheel { dx: 0, dy }])
        }
        "type" => Step::Send(vec![Command::TypeText(rest.to_owned())]),
        "chat" if !rest.trim().is_empty() => {
            Step::Send(vec![Command::Chat(rest.trim().to_owned())])
        }
        "run" if !rest.trim().is_empty() => {
            Step::Send(vec![Command::RunCommand(rest.trim().to_owned())])
        }
        "key" => Step::Send(key_combo(rest.trim())?),
        "sysinfo" => {
            if !rest.trim().is_empty() {
                return Err("sysinfo takes no argument".to_owned());
            }
            Step::Send(vec![Command::RequestSystemInfo])
        }
        "diagnose" => {
            let (name, argument) = rest
                .trim()
                .split_once(' ')
                .map_or((rest.trim(), None), |(name, argument)| {
                    (name, Some(argument))
                });
            let diagnostic = Diagnostic::parse(name, argument).map_err(|err| err.to_string())?;
            Step::Send(vec![Command::RunDiagnostic(diagnostic)])
        }
        "send" if !rest.trim().is_empty() => {
            Step::Send(vec![Command::SendFile(rest.trim().into())])
        }
        "fetch" if !rest.trim().is_empty() => {
            Step::Send(vec![Command::FetchFile(rest.trim().to_owned())])
        }
        "monitor" => {
            let index = u32::try_from(number(rest)?).map_err(|_| "no such monitor number")?;
            Step::Send(vec![Command::SelectMonitor(index)])
        }
        "wait" => Step::Wait(Duration::from_millis(
            u64::try_from(number(rest)?).map_err(|_| "wait must be positive")?,
        )),
        other => {
            return Err(format!(
                "unknown command {other:?} (move, click, down, up, scroll, type, key, wait, \
                 run, monitor, send, fetch)"
            ));
        }
    };
    Ok(step)
}

fn parse_button(name: &str) -> Result<MouseButton, String> {
    match name {
        "" | "left" => Ok(MouseButton::Left),
        "right" => Ok(MouseButton::Right),
        "middle" => Ok(MouseButton::Middle),
        other => Err(format!("unknown button {other:?} (left, right, middle)")),
    }
}

/// `ctrl+alt+Delete` -> modifier presses, the key press and release, modifier releases.
fn key_combo(combo: &str) -> Result<Vec<Command>, String> {
    let parts: Vec<&str> = combo.split('+').map(str::trim).collect();
    let (key_name, modifier_names) = parts.split_last().ok_or("key needs a name")?;
    let mut held = Vec::new();
    let mut modifiers = Modifiers::default();
    for name in modifier_names {
        let (usage, flag) = match name.to_ascii_lowercase().as_str() {
            "ctrl" | "control" => (0xE0, Modifiers::CTRL),
            "shift" => (0xE1, Modifiers::SHIFT),
            "alt" => (0xE2, Modifiers::ALT),
            "super" | "win" | "meta" => (0xE3, Modifiers::SUPER),
            other => {
                return Err(format!(
                    "unknown modifier {other:?} (ctrl, shift, alt, super)"
                ));
            }
        };
        modifiers = Modifiers(modifiers.0 | flag.0);
        held.push((usage, modifiers));
    }
    let usage = usb_usage(key_name).ok_or_else(|| format!("unknown key {key_name:?}"))?;
    let event = |usage: u16, modifiers: Modifiers, pressed: bool| {
        Command::Key(KeyEvent {
            usb_hid_usage: usage,
            keysym: None,
            text: None,
            modifiers,
            pressed,
        })
    };
    let mut commands: Vec<Command> = held
        .iter()
        .map(|(usage, mods)| event(*usage, *mods, true))
        .collect();
    commands.push(event(usage, modifiers, true));
    commands.push(event(usage, modifiers, false));
    commands.extend(
        held.iter()
            .rev()
            .map(|(usage, mods)| event(*usage, *mods, false)),
    );
    Ok(commands)
}

/// The USB HID usage (page 7) of a key name.
pub fn usb_usage(name: &str) -> Option<u16> {
    let lower = name.to_ascii_lowercase();
    if let [c] = lower.as_bytes() {
        return match c {
            b'a'..=b'z' => Some(0x04 + u16::from(c - b'a')),
            b'1'..=b'9' => Some(0x1E + u16::from(c - b'1')),
            b'0' => Some(0x27),
            _ => None,
        };
    }
    if let Some(number) = lower.strip_prefix('f').and_then(|n| n.parse::<u16>().ok())
        && (1..=12).contains(&number)
    {
        return Some(0x3A + number - 1);
    }
    Some(match lower.as_str() {
        "return" | "enter" => 0x28,
        "escape" | "esc" => 0x29,
        "backspace" => 0x2A,
        "tab" => 0x2B,
        "space" => 0x2C,
        "delete" => 0x4C,
        "insert" => 0x49,
        "home" => 0x4A,
        "pageup" | "prior" => 0x4B,
        "end" => 0x4D,
        "pagedown" | "next" => 0x4E,
        "right" => 0x4F,
        "left" => 0x50,
        "down" => 0x51,
        "up" => 0x52,
        "print" | "printscreen" => 0x46,
        "super" => 0xE3,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_parses_into_commands() {
        let steps =
            parse("# demo\nmove 10 20\nclick\ntype hi there\nkey ctrl+c\nwait 5\n").unwrap();
        assert_eq!(
            steps[0],
            Step::Send(vec![Command::PointerMove { x: 10, y: 20 }])
        );
        assert_eq!(
            steps[1],
            Step::Send(vec![
                Command::Button {
                    button: MouseButton::Left,
                    pressed: true
                },
                Command::Button {
                    button: MouseButton::Left,
                    pressed: false
                },
            ])
        );
        assert_eq!(
            steps[2],
            Step::Send(vec![Command::TypeText("hi there".to_owned())])
        );
        let Step::Send(keys) = &steps[3] else {
            panic!()
        };
        assert_eq!(keys.len(), 4, "ctrl down, c down, c up, ctrl up");
        assert_eq!(steps[4], Step::Wait(Duration::from_millis(5)));
    }

    #[test]
    fn mistakes_name_their_line() {
        let err = parse("move 1 2\njump 3").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.to_string().contains("unknown command \"jump\""));
        assert_eq!(usb_usage("Return"), Some(0x28));
        assert_eq!(usb_usage("F12"), Some(0x45));
        assert_eq!(usb_usage("q"), Some(0x14));
    }

    #[test]
    fn a_chat_step_writes_its_line() {
        assert_eq!(
            parse("chat  Hello, I am on it ").unwrap(),
            vec![Step::Send(vec![Command::Chat(
                "Hello, I am on it".to_owned()
            )])]
        );
        assert!(parse("chat").is_err(), "an empty line is a mistake");
    }

    #[test]
    fn a_monitor_step_switches_the_picture() {
        assert_eq!(
            parse("monitor 1").unwrap(),
            vec![Step::Send(vec![Command::SelectMonitor(1)])]
        );
        assert!(parse("monitor -1").is_err());
        assert!(parse("monitor left").is_err());
    }
}

#[cfg(test)]
mod inspection_tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn sysinfo_and_diagnose_lines() {
        assert_eq!(
            parse("sysinfo\ndiagnose disk\ndiagnose tcp localhost:22").unwrap(),
            vec![
                Step::Send(vec![Command::RequestSystemInfo]),
                Step::Send(vec![Command::RunDiagnostic(Diagnostic::DiskSpace)]),
                Step::Send(vec![Command::RunDiagnostic(Diagnostic::TcpConnect {
                    host: "localhost".to_owned(),
                    port: 22,
                })]),
            ]
        );
        let err = parse("diagnose dns a;b").unwrap_err();
        assert!(err.to_string().contains("letters, digits"), "{err}");
        assert!(parse("diagnose shell ls").is_err());
        assert!(parse("sysinfo now").is_err());
    }
}

#[cfg(test)]
mod file_tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn send_and_fetch_steps_name_a_file() {
        assert_eq!(
            parse("send /tmp/fix me.sh\nfetch ~/Documents/report.pdf").unwrap(),
            vec![
                Step::Send(vec![Command::SendFile("/tmp/fix me.sh".into())]),
                Step::Send(vec![Command::FetchFile(
                    "~/Documents/report.pdf".to_owned()
                )]),
            ]
        );
        assert!(parse("send").is_err());
        assert!(parse("fetch   ").is_err());
    }
}
