//! The end-user front-end on a terminal: for an administrator over SSH, a machine
//! without a desktop user at the keyboard, and the tests (`--consent tty`).
//!
//! It prints the code and the consent prompt, and reads answers from standard input:
//! `y` grants everything asked, `n` refuses, or a list of permissions
//! (`view,input`) grants those. During a session, `stop` ends it, `revoke input`
//! switches a permission off, and `quit` closes the agent. When standard input ends,
//! a pending prompt is refused.

use std::io::{BufRead, Write};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use lifeline_protocol::ScopeSet;
use lifeline_protocol::message::{TechnicianIdentity, Verification};
use lifeline_protocol::session::ConsentAnswer;
use tokio::sync::mpsc::error::TryRecvError;

use super::text::{Lang, Texts};
use super::{ConsentUi, UiEvent, UiLink, UserCommand};

/// The terminal front-end.
pub struct TtyUi {
    lang: Lang,
    input: Box<dyn BufRead + Send>,
    output: Box<dyn Write + Send>,
}

impl std::fmt::Debug for TtyUi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtyUi")
            .field("lang", &self.lang)
            .finish_non_exhaustive()
    }
}

/// Which question waits for an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    Consent(ScopeSet),
    ScopeRequest(ScopeSet),
    Continue,
    Action(u32),
}

impl TtyUi {
    /// A front-end on this process's standard input and output.
    pub fn stdio(lang: Lang) -> Self {
        Self::new(
            lang,
            Box::new(std::io::BufReader::new(std::io::stdin())),
            Box::new(std::io::stdout()),
        )
    }

    /// A front-end on any reader and writer (for tests).
    pub fn new(lang: Lang, input: Box<dyn BufRead + Send>, output: Box<dyn Write + Send>) -> Self {
        Self {
            lang,
            input,
            output,
        }
    }
}

impl ConsentUi for TtyUi {
    fn run(self: Box<Self>, mut link: UiLink) -> anyhow::Result<()> {
        let TtyUi {
            lang,
            input,
            mut output,
        } = *self;
        let texts = lang.texts();
        let lines = spawn_line_reader(input)?;
        let mut pending: Option<Pending> = None;
        // Lines typed before a question was asked answer the next question.
        let mut early: std::collections::VecDeque<String> = std::collections::VecDeque::new();
        let mut input_open = true;
        loop {
            match link.events.try_recv() {
                Ok(event) => {
                    if matches!(event, UiEvent::SessionEnded { .. }) {
                        // A question about a session that is over has no one to answer.
                        pending = None;
                    }
                    if let UiEvent::ActionWithdrawn { id } = event
                        && pending == Some(Pending::Action(id))
                    {
                        pending = None;
                    }
                    if let Some(question) = show(&mut output, texts, lang, &event)? {
                        pending = Some(question);
                        while let Some(line) = early.pop_front() {
                            if let Some(reply) = parse_answer(&line, question_scopes(question)) {
                                answer(&link, question, reply);
                                pending = None;
                                break;
                            }
                        }
                        if pending.is_some() && !input_open {
                            answer(
                                &link,
                                question,
                                ConsentAnswer::Deny {
                                    reason: String::new(),
                                },
                            );
                            pending = None;
                        }
                    }
                    continue;
                }
                Err(TryRecvError::Disconnected) => return Ok(()),
                Err(TryRecvError::Empty) => {}
            }
            if !input_open {
                // Nothing more can be asked; wait for events only.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            match lines.recv_timeout(Duration::from_millis(50)) {
                Ok(line) => {
                    if let Some(question) = pending {
                        match parse_answer(&line, question_scopes(question)) {
                            Some(reply) => {
                                answer(&link, question, reply);
                                pending = None;
                            }
                            None => write!(output, "{}", texts.tty_answer_prompt)?,
                        }
                    } else if let Some(command) = parse_command(&line) {
                        let quit = command == UserCommand::Quit;
                        send(&link, command);
                        if quit {
                            return Ok(());
                        }
                    } else if early.len() < 16 {
                        early.push_back(line);
                    }
                    output.flush()?;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    input_open = false;
                    if let Some(question) = pending.take() {
                        answer(
                            &link,
                            question,
                            ConsentAnswer::Deny {
                                reason: String::new(),
                            },
                        );
                    }
                }
            }
        }
    }
}

fn question_scopes(question: Pending) -> ScopeSet {
    match question {
        Pending::Consent(scopes) | Pending::ScopeRequest(scopes) => scopes,
        Pending::Continue | Pending::Action(_) => ScopeSet::empty(),
    }
}

fn answer(link: &UiLink, question: Pending, reply: ConsentAnswer) {
    let command = match question {
        Pending::Consent(_) => UserCommand::AnswerConsent(reply),
        Pending::ScopeRequest(_) => UserCommand::AnswerScopeRequest(reply),
        Pending::Action(id) => UserCommand::AnswerAction {
            id,
            approved: !matches!(reply, ConsentAnswer::Deny { .. }),
        },
        Pending::Continue => match reply {
            ConsentAnswer::Deny { .. } => UserCommand::Stop,
            _ => UserCommand::ContinueSession,
        },
    };
    send(link, command);
}

fn send(link: &UiLink, command: UserCommand) {
    if link.commands.blocking_send(command).is_err() {
        tracing::debug!("the agent stopped before the answer arrived");
    }
}

fn spawn_line_reader(input: Box<dyn BufRead + Send>) -> std::io::Result<Receiver<String>> {
    let (lines, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("lifeline-tty-input".to_owned())
        .spawn(move || {
            for line in input.lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        })?;
    Ok(receiver)
}

/// Reads an answer to a prompt asking for `asked`: `y`, `n`, or a list of scopes.
fn parse_answer(line: &str, asked: ScopeSet) -> Option<ConsentAnswer> {
    match line.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" | "是" => Some(ConsentAnswer::Allow(asked)),
        "n" | "no" | "否" => Some(ConsentAnswer::Deny {
            reason: String::new(),
        }),
        list => list.parse::<ScopeSet>().ok().map(ConsentAnswer::Allow),
    }
}

/// Reads a command typed during a session.
fn parse_command(line: &str) -> Option<UserCommand> {
    let line = line.trim();
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    match word.to_ascii_lowercase().as_str() {
        "stop" => Some(UserCommand::Stop),
        "quit" | "exit" => Some(UserCommand::Quit),
        "revoke" => rest.parse::<ScopeSet>().ok().map(UserCommand::Revoke),
        "no" if rest.trim().eq_ignore_ascii_case("reconnect") => Some(UserCommand::RefuseResume),
        "say" if !rest.trim().is_empty() => Some(UserCommand::Chat(rest.trim().to_owned())),
        _ => None,
    }
}

fn describe(texts: &Texts, technician: &TechnicianIdentity) -> String {
    let verification = match &technician.verification {
        Verification::Organisation { organisation } => {
            format!("{} {organisation}", texts.verified_by)
        }
        _ => texts.unverified.to_owned(),
    };
    format!("{} ({verification})", technician.display_name)
}

/// Control characters replaced, so a command line cannot rewrite the terminal.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// Prints an event; returns the question it asks, if any.
fn show(
    out: &mut dyn Write,
    texts: &Texts,
    lang: Lang,
    event: &UiEvent,
) -> std::io::Result<Option<Pending>> {
    let mut question = None;
    match event {
        UiEvent::Ready {
            device_id,
            code,
            expires_in,
        } => {
            writeln!(out, "\n{}", texts.app_title)?;
            writeln!(out, "{}: {device_id}", texts.your_device_id)?;
            writeln!(
                out,
                "{}: {code} ({} min)",
                texts.your_code,
                expires_in.as_secs().div_ceil(60)
            )?;
            writeln!(out, "{}", texts.read_code_hint)?;
        }
        UiEvent::UnattendedOnly {
            device_id,
            organisations,
        } => {
            writeln!(out, "\n{}", texts.app_title)?;
            writeln!(out, "{}: {device_id}", texts.your_device_id)?;
            writeln!(
                out,
                "{} {}",
                texts.unattended_only,
                organisations.join(", ")
            )?;
            writeln!(out, "{}", texts.unattended_only_hint)?;
        }
        UiEvent::WrongCodeTried { failures } => {
            writeln!(out, "! {} ({failures})", texts.wrong_code_tried)?
        }
        UiEvent::CodeLocked { seconds } => writeln!(out, "! {} {seconds} s", texts.code_locked)?,
        UiEvent::ConsentNeeded(prompt) => {
            writeln!(out, "\n{}", texts.consent_title)?;
            writeln!(
                out,
                "{} {}",
                describe(texts, &prompt.technician),
                texts.wants_to_connect
            )?;
            writeln!(
                out,
                "{}: {}",
                texts.key_fingerprint, prompt.technician.fingerprint
            )?;
            if prompt.unattended {
                writeln!(out, "{}", texts.unattended_prompt)?;
            }
            if !prompt.reason.is_empty() {
                writeln!(out, "{}: {}", texts.reason, prompt.reason)?;
            }
            print_scopes(out, texts, texts.asks_permission_to, prompt.scopes)?;
            writeln!(out, "{}", texts.scam_warning)?;
            write!(out, "{}", texts.tty_answer_prompt)?;
            question = Some(Pending::Consent(prompt.scopes));
        }
        UiEvent::ScopeRequestNeeded {
            technician,
            scopes,
            reason,
        } => {
            writeln!(out, "\n{}", describe(texts, technician))?;
            if !reason.is_empty() {
                writeln!(out, "{}: {reason}", texts.reason)?;
            }
            print_scopes(out, texts, texts.asks_permission_to, *scopes)?;
            write!(out, "{}", texts.tty_answer_prompt)?;
            question = Some(Pending::ScopeRequest(*scopes));
        }
        UiEvent::SessionActive {
            technician,
            granted,
        } => {
            writeln!(
                out,
                "\n{} {}",
                texts.connected_to,
                describe(texts, technician)
            )?;
            print_scopes(out, texts, texts.may_now, *granted)?;
            writeln!(out, "{}", session_help(lang))?;
        }
        UiEvent::ScopesChanged(granted) => print_scopes(out, texts, texts.may_now, *granted)?,
        UiEvent::ActionConfirmationNeeded {
            id,
            technician,
            scope,
            description,
        } => {
            writeln!(
                out,
                "\n{} {}",
                describe(texts, technician),
                texts.question_for(*scope)
            )?;
            writeln!(out, "    {}", printable(description))?;
            write!(out, "{} {}", texts.allow_once, texts.tty_answer_prompt)?;
            question = Some(Pending::Action(*id));
        }
        UiEvent::RecordingChanged {
            by_technician,
            by_policy,
        } => {
            if *by_technician {
                writeln!(out, "{}", texts.being_recorded)?;
            }
            if *by_policy {
                writeln!(out, "{}", texts.recorded_by_policy)?;
            }
            if !by_technician && !by_policy {
                writeln!(out, "{}", texts.recording_stopped)?;
            }
        }
        UiEvent::ContinueQuestion { answer_within } => {
            writeln!(
                out,
                "\n{} ({} {} s)",
                texts.continue_question,
                texts.continue_ends_in,
                answer_within.as_secs()
            )?;
            write!(out, "{}", texts.tty_answer_prompt)?;
            question = Some(Pending::Continue);
        }
        UiEvent::SessionEnded { reason, may_resume } => {
            writeln!(out, "\n{}: {reason}", texts.session_ended)?;
            if *may_resume {
                writeln!(
                    out,
                    "{} {} s. {}",
                    texts.may_resume_within,
                    lifeline_protocol::session::resume::RESUME_WINDOW.as_secs(),
                    texts.tty_refuse_resume
                )?;
            }
        }
        UiEvent::ActionWithdrawn { .. } => writeln!(out, "\n{}", texts.action_withdrawn)?,
        UiEvent::ChatFromTechnician(text) => writeln!(
            out,
            "\n{}: {text} {}",
            texts.tty_chat_from, texts.tty_chat_hint
        )?,
        UiEvent::Error(message) => writeln!(out, "! {message}")?,
    }
    out.flush()?;
    Ok(question)
}

fn print_scopes(
    out: &mut dyn Write,
    texts: &Texts,
    heading: &str,
    scopes: ScopeSet,
) -> std::io::Result<()> {
    writeln!(out, "{heading}")?;
    for scope in scopes.iter() {
        writeln!(out, "  [{}] {}", scope.id(), texts.scope(scope))?;
    }
    Ok(())
}

fn session_help(lang: Lang) -> &'static str {
    match lang {
        Lang::En => {
            "Type 'stop' to end the session, 'revoke input' (or another permission) to switch it off."
        }
        Lang::ZhCn => "输入 'stop' 结束会话，输入 'revoke input'（或其他权限）关闭该权限。",
    }
}

#[cfg(test)]
mod tests {
    use lifeline_protocol::Scope;

    use super::*;

    #[test]
    fn answers_and_commands_parse() {
        let asked = ScopeSet::from([Scope::ViewScreen, Scope::ControlInput]);
        assert_eq!(parse_answer("y", asked), Some(ConsentAnswer::Allow(asked)));
        assert_eq!(
            parse_answer(" N ", asked),
            Some(ConsentAnswer::Deny {
                reason: String::new()
            })
        );
        assert_eq!(
            parse_answer("view", asked),
            Some(ConsentAnswer::Allow(Scope::ViewScreen.into()))
        );
        assert_eq!(parse_answer("maybe", asked), None);
        assert_eq!(parse_command("stop"), Some(UserCommand::Stop));
        assert_eq!(
            parse_command("no reconnect"),
            Some(UserCommand::RefuseResume)
        );
        assert_eq!(parse_command("no"), None);
        assert_eq!(
            parse_command("say  It works now, thanks "),
            Some(UserCommand::Chat("It works now, thanks".to_owned()))
        );
        assert_eq!(parse_command("say"), None);
        assert_eq!(
            parse_command("revoke input"),
            Some(UserCommand::Revoke(Scope::ControlInput.into()))
        );
        assert_eq!(parse_command("revoke teleport"), None);
    }

    #[test]
    fn a_consent_answer_typed_on_stdin_reaches_the_session() {
        let (notifier, link, mut commands) = super::super::link();
        let prompt = lifeline_protocol::session::ConsentPrompt {
            technician: TechnicianIdentity {
                display_name: "Sam".to_owned(),
                fingerprint: lifeline_protocol::PublicKey([1; 32]).fingerprint(),
                verification: Verification::Unverified,
            },
            scopes: ScopeSet::from([Scope::ViewScreen, Scope::ControlInput]),
            reason: "printer".to_owned(),
            unattended: false,
        };
        let output = SharedBuffer::default();
        let ui = TtyUi::new(
            Lang::En,
            Box::new(std::io::Cursor::new(b"view\n".to_vec())),
            Box::new(output.clone()),
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let thread = std::thread::spawn(move || Box::new(ui).run(link));
        runtime.block_on(async {
            notifier.send(UiEvent::ConsentNeeded(prompt)).await;
            let command = commands.recv().await.unwrap();
            assert_eq!(
                command,
                UserCommand::AnswerConsent(ConsentAnswer::Allow(Scope::ViewScreen.into()))
            );
        });
        drop(notifier);
        thread.join().unwrap().unwrap();
        let printed = output.text();
        assert!(
            printed.contains("Sam (Identity not verified) wants to connect"),
            "{printed}"
        );
        assert!(
            printed.contains("[input] Control your mouse and keyboard"),
            "{printed}"
        );
        assert!(
            printed.contains("Only allow someone you contacted yourself"),
            "{printed}"
        );
    }

    #[derive(Clone, Default)]
    struct SharedBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl SharedBuffer {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    impl Write for SharedBuffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
