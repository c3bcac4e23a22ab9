//! Shows the agent's window against a scripted fake session, to look at each screen.
//!
//! ```text
//! cargo run -p lifeline-agent --example ui_demo -- [--lang en|zh] [--screen NAME]
//! ```
//!
//! `NAME` opens straight on one screen: `waiting` (with a wrong-code warning),
//! `consent`, `banner`, `request` (more permissions during a session), `ended`, `lost`
//! (a lost connection the technician may resume), `service` (waiting without a code),
//! `unattended` (a certified technician's request
//! for a permission the policy wants confirmed), `action` (a command to approve), `file`
//! (a file transfer to approve) or
//! `continue` (the "continue?" question).
//! Without `--screen` the code shows, a wrong code is reported after 2 s and the
//! consent prompt comes after 5 s. Either way the fake session then answers like a
//! real one: Allow opens the banner, switches revoke, Stop or Deny end the session and
//! a new code follows.

use std::time::Duration;

use anyhow::{Context as _, bail};
use lifeline_agent::ui::text::Lang;
use lifeline_agent::ui::window::WindowUi;
use lifeline_agent::ui::{ConsentUi, UiEvent, UiNotifier, UserCommand, link};
use lifeline_protocol::message::{TechnicianIdentity, Verification};
use lifeline_protocol::session::{ConsentAnswer, ConsentPrompt};
use lifeline_protocol::{Fingerprint, Scope, ScopeSet};
use tokio::sync::mpsc;

/// Where the demo starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    Scripted,
    Waiting,
    Consent,
    Banner,
    Request,
    Ended,
    Lost,
    Service,
    Unattended,
    Action,
    File,
    Continue,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let (lang, start) = parse_args(std::env::args().skip(1))?;

    let (notifier, ui_link, commands) = link();
    let session = std::thread::spawn(move || -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .context("no runtime for the fake session")?;
        runtime.block_on(fake_session(notifier, commands, lang, start));
        Ok(())
    });
    Box::new(WindowUi::new(lang)).run(ui_link)?;
    match session.join() {
        Ok(result) => result,
        Err(_) => bail!("the fake session panicked"),
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<(Lang, Start)> {
    let mut lang = Lang::from_env();
    let mut start = Start::Scripted;
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--lang" => {
                lang = Lang::parse(&value).with_context(|| format!("unknown language {value}"))?
            }
            "--screen" => {
                start = match value.as_str() {
                    "waiting" => Start::Waiting,
                    "consent" => Start::Consent,
                    "banner" => Start::Banner,
                    "request" => Start::Request,
                    "ended" => Start::Ended,
                    "lost" => Start::Lost,
                    "service" => Start::Service,
                    "unattended" => Start::Unattended,
                    "action" => Start::Action,
                    "file" => Start::File,
                    "continue" => Start::Continue,
                    other => bail!("unknown screen {other}"),
                }
            }
            other => bail!("unknown argument {other}; use --lang and --screen"),
        }
    }
    Ok((lang, start))
}

fn technician() -> TechnicianIdentity {
    TechnicianIdentity {
        display_name: "Alice Tech".to_owned(),
        fingerprint: Fingerprint([
            0x3f, 0x2a, 0x9c, 0x01, 0x77, 0x10, 0xbe, 0xef, 0x42, 0x05, 0xd1, 0x6c, 0x88, 0x31,
            0x0a, 0xe4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ]),
        verification: Verification::Unverified,
    }
}

fn words(lang: Lang, english: &str, chinese: &str) -> String {
    match lang {
        Lang::En => english.to_owned(),
        Lang::ZhCn => chinese.to_owned(),
    }
}

/// Plays a session: the events of `start`, then answers the user's commands.
async fn fake_session(
    notifier: UiNotifier,
    mut commands: mpsc::Receiver<UserCommand>,
    lang: Lang,
    start: Start,
) {
    let ready = UiEvent::Ready {
        device_id: "192.168.1.23:4433".to_owned(),
        code: "482 193 705".to_owned(),
        expires_in: Duration::from_secs(300),
    };
    let consent = UiEvent::ConsentNeeded(ConsentPrompt {
        technician: technician(),
        scopes: ScopeSet::from([Scope::ViewScreen, Scope::ControlInput, Scope::Clipboard]),
        reason: words(
            lang,
            "Ticket #4411: your printer no longer prints. I need to check its settings.",
            "工单 #4411：您的打印机无法打印，我需要检查它的设置。",
        ),
        unattended: false,
    });
    let mut granted = ScopeSet::from([Scope::ViewScreen, Scope::ControlInput, Scope::Clipboard]);
    let active = |granted| UiEvent::SessionActive {
        technician: technician(),
        granted,
    };

    let mut script = vec![ready.clone()];
    match start {
        Start::Scripted => {
            notifier.send(ready.clone()).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            notifier.send(UiEvent::WrongCodeTried { failures: 1 }).await;
            tokio::time::sleep(Duration::from_secs(3)).await;
            script = vec![consent];
        }
        Start::Waiting => script.push(UiEvent::WrongCodeTried { failures: 1 }),
        Start::Consent => script.push(consent),
        Start::Banner => script.push(active(granted)),
        Start::Request => script.extend([
            active(granted),
            UiEvent::ScopeRequestNeeded {
                technician: technician(),
                scopes: Scope::FileTransfer.into(),
                reason: words(
                    lang,
                    "To send you the new printer driver.",
                    "为了把新的打印机驱动发给您。",
                ),
            },
        ]),
        Start::Service => {
            script = vec![UiEvent::UnattendedOnly {
                device_id: "192.168.1.23:4433".to_owned(),
                organisations: vec!["Example IT".to_owned()],
            }];
        }
        Start::Unattended => {
            script = vec![UiEvent::ConsentNeeded(ConsentPrompt {
                technician: TechnicianIdentity {
                    display_name: "Ada Lovelace".to_owned(),
                    verification: Verification::Organisation {
                        organisation: "Example IT".to_owned(),
                    },
                    ..technician()
                },
                scopes: Scope::ControlInput.into(),
                reason: words(lang, "Monthly maintenance.", "每月例行维护。"),
                unattended: true,
            })];
        }
        Start::Action => script.extend([
            active(granted.union(Scope::RunCommands.into())),
            UiEvent::ActionConfirmationNeeded {
                id: 1,
                technician: technician(),
                scope: Scope::RunCommands,
                description: "lpstat -t && systemctl restart cups".to_owned(),
            },
        ]),
        Start::File => script.extend([
            active(granted.union(Scope::FileTransfer.into())),
            UiEvent::ActionConfirmationNeeded {
                id: 2,
                technician: technician(),
                scope: Scope::FileTransfer,
                description: words(
                    lang,
                    "receive the file printer-driver.deb (2.3 MB) into /home/ann/Downloads",
                    "接收文件 printer-driver.deb（2.3 MB），保存到 /home/ann/Downloads",
                ),
            },
        ]),
        Start::Continue => script.extend([
            active(granted),
            UiEvent::ContinueQuestion {
                answer_within: Duration::from_secs(300),
            },
        ]),
        Start::Ended => script.extend([
            active(granted),
            UiEvent::SessionEnded {
                reason: words(lang, "The technician disconnected.", "技术人员已断开连接。"),
                may_resume: false,
            },
        ]),
        Start::Lost => script.extend([
            active(granted),
            UiEvent::SessionEnded {
                reason: words(lang, "The connection was lost.", "连接已中断。"),
                may_resume: true,
            },
            ready.clone(),
        ]),
    }
    for event in script {
        notifier.send(event).await;
    }

    while let Some(command) = commands.recv().await {
        tracing::info!(?command, "the user decided");
        let reply = match command {
            UserCommand::AnswerConsent(ConsentAnswer::Allow(scopes)) => {
                granted = scopes;
                vec![active(granted)]
            }
            UserCommand::AnswerScopeRequest(ConsentAnswer::Allow(scopes)) => {
                granted = granted.union(scopes);
                vec![UiEvent::ScopesChanged(granted)]
            }
            UserCommand::AnswerScopeRequest(ConsentAnswer::Deny { .. }) => Vec::new(),
            UserCommand::Revoke(scopes) => {
                granted = granted.difference(scopes);
                vec![UiEvent::ScopesChanged(granted)]
            }
            UserCommand::AnswerConsent(ConsentAnswer::Deny { .. }) | UserCommand::Stop => {
                let reason = words(lang, "You ended the session.", "您结束了会话。");
                notifier
                    .send(UiEvent::SessionEnded {
                        reason,
                        may_resume: false,
                    })
                    .await;
                tokio::time::sleep(Duration::from_secs(3)).await;
                vec![ready.clone()]
            }
            UserCommand::Quit => break,
            _ => Vec::new(),
        };
        for event in reply {
            notifier.send(event).await;
        }
    }
}
