//! "Continue?" for long attended sessions: after the policy's interval the end user is
//! asked whether the session should go on; without an answer within the answer window
//! the session ends, since nobody may be watching any more.
//!
//! Unattended sessions are not asked: nobody is expected at the computer.

use std::time::{Duration, Instant};

/// What the connection must do when the timer fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ContinueStep {
    /// Ask the end user, who has this long to answer.
    Ask(Duration),
    /// Nobody answered: end the session.
    EndUnanswered,
}

/// The timer of one session.
#[derive(Debug)]
pub(crate) struct ContinueCheck {
    after: Option<Duration>,
    answer_window: Duration,
    ask_at: Option<Instant>,
    end_at: Option<Instant>,
}

impl ContinueCheck {
    /// A timer asking every `after` (none: never), allowing `answer_window` to answer.
    pub(crate) fn new(after: Option<Duration>, answer_window: Duration) -> Self {
        Self {
            after,
            answer_window,
            ask_at: None,
            end_at: None,
        }
    }

    /// An attended session became active: start counting.
    pub(crate) fn start(&mut self, now: Instant) {
        if self.ask_at.is_none() && self.end_at.is_none() {
            self.ask_at = self.after.map(|after| now + after);
        }
    }

    /// The session is unattended or over: never ask.
    pub(crate) fn disable(&mut self) {
        self.after = None;
        self.ask_at = None;
        self.end_at = None;
    }

    /// When [`ContinueCheck::fire`] must be called next.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.end_at.or(self.ask_at)
    }

    /// The deadline passed: what to do.
    pub(crate) fn fire(&mut self, now: Instant) -> Option<ContinueStep> {
        if let Some(end) = self.end_at {
            return (now >= end).then_some(ContinueStep::EndUnanswered);
        }
        match self.ask_at {
            Some(ask) if now >= ask => {
                self.ask_at = None;
                self.end_at = Some(now + self.answer_window);
                Some(ContinueStep::Ask(self.answer_window))
            }
            _ => None,
        }
    }

    /// The end user chose to continue: ask again after the interval.
    pub(crate) fn answered(&mut self, now: Instant) {
        self.end_at = None;
        self.ask_at = self.after.map(|after| now + after);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_after_the_interval_and_ends_without_an_answer() {
        let t0 = Instant::now();
        let mut check =
            ContinueCheck::new(Some(Duration::from_secs(3600)), Duration::from_secs(300));
        assert_eq!(check.deadline(), None);
        check.start(t0);
        assert_eq!(check.deadline(), Some(t0 + Duration::from_secs(3600)));
        assert_eq!(check.fire(t0 + Duration::from_secs(10)), None);
        let asked = t0 + Duration::from_secs(3600);
        assert_eq!(
            check.fire(asked),
            Some(ContinueStep::Ask(Duration::from_secs(300)))
        );
        assert_eq!(check.deadline(), Some(asked + Duration::from_secs(300)));
        assert_eq!(check.fire(asked + Duration::from_secs(299)), None);
        assert_eq!(
            check.fire(asked + Duration::from_secs(300)),
            Some(ContinueStep::EndUnanswered)
        );
    }

    #[test]
    fn an_answer_restarts_the_interval_and_unattended_never_asks() {
        let t0 = Instant::now();
        let mut check = ContinueCheck::new(Some(Duration::from_secs(60)), Duration::from_secs(30));
        check.start(t0);
        let asked = t0 + Duration::from_secs(60);
        assert!(matches!(check.fire(asked), Some(ContinueStep::Ask(_))));
        check.answered(asked + Duration::from_secs(5));
        assert_eq!(check.deadline(), Some(asked + Duration::from_secs(65)));
        check.disable();
        assert_eq!(check.deadline(), None);
        check.start(asked);
        assert_eq!(check.deadline(), None);
        let mut never = ContinueCheck::new(None, Duration::from_secs(30));
        never.start(t0);
        assert_eq!(never.deadline(), None);
    }
}
