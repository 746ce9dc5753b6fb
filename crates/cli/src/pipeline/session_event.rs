//! What the sessions step keeps of an event: its time, what the session's
//! accumulator needs of it, and its line if late events are written back.
//! The user is the step's key, so it is not kept twice.

use bytes::Bytes;
use ctr::analytics::searches::Step;
use ctr::event::{EventKind, UserKey};
use serde::{Deserialize, Serialize};

use super::item::LogEvent;

/// An event as the sessions step holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionEvent {
    /// Event time, milliseconds since the Unix epoch (UTC).
    pub time_ms: i64,
    /// What the session's accumulator needs.
    pub what: What,
    /// The original line, without its `\n`; empty unless late events are
    /// written back (`--late-output`).
    pub raw: Bytes,
}

/// What a session's accumulator needs of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum What {
    /// Its kind (a run without analytics: the session's totals).
    Kind(EventKind),
    /// Its analytics step (query normalised, result list, clicked item),
    /// made on the worker that parsed the event, so that the parse's
    /// allocation of the detail is freed there, not on the session's
    /// worker, and the step travels inline.
    Step(Step),
}

impl SessionEvent {
    /// `e` keyed by its user, as the sessions step holds it: with
    /// `analytics` its step, else its kind; its line only if `keep_line`.
    pub fn keyed(e: LogEvent, analytics: bool, keep_line: bool) -> (UserKey, SessionEvent) {
        let LogEvent { mut event, raw } = e;
        let user = std::mem::take(&mut event.user);
        let time_ms = event.time_ms;
        let what = if analytics {
            What::Step(Step::from_event(event))
        } else {
            What::Kind(event.kind)
        };
        let raw = if keep_line { raw } else { Bytes::new() };
        (user, SessionEvent { time_ms, what, raw })
    }

    /// The event's kind as the session's totals count it (a step's `Other`
    /// stands for `app_open`, `app_close` and `timeout` alike, which the
    /// totals count alike).
    pub fn kind(&self) -> EventKind {
        match &self.what {
            What::Kind(kind) => *kind,
            What::Step(Step::Search(_)) => EventKind::Search,
            What::Step(Step::Results(_)) => EventKind::Results,
            What::Step(Step::Click { .. }) => EventKind::ClickResult,
            What::Step(Step::Other) => EventKind::AppOpen,
        }
    }

    /// The event's analytics step (from its kind alone if its detail was
    /// not kept).
    pub fn into_step(self) -> Step {
        match self.what {
            What::Kind(kind) => Step::of_kind(kind),
            What::Step(step) => step,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctr::event::{Detail, Event};

    fn log_event(kind: EventKind, detail: Option<Detail>) -> LogEvent {
        LogEvent {
            event: Event {
                user: "u7".into(),
                time_ms: 42,
                kind,
                integer_time: false,
                detail: detail.map(Box::new),
            },
            raw: Bytes::from_static(b"{...}"),
        }
    }

    #[test]
    fn the_user_becomes_the_key_and_the_step_is_made_with_analytics() {
        let e = log_event(EventKind::Search, Some(Detail::Query(" Cheap  Flights".into())));
        let (user, s) = SessionEvent::keyed(e, true, false);
        assert_eq!(user, "u7");
        assert_eq!(s.time_ms, 42);
        assert_eq!(s.what, What::Step(Step::Search("cheap flights".into())));
        assert!(s.raw.is_empty(), "no line without --late-output");
        assert_eq!(s.kind(), EventKind::Search);
    }

    #[test]
    fn without_analytics_only_the_kind_and_with_late_output_the_line() {
        let e = log_event(EventKind::ClickResult, None);
        let (_, s) = SessionEvent::keyed(e, false, true);
        assert_eq!(s.what, What::Kind(EventKind::ClickResult));
        assert_eq!(&s.raw[..], b"{...}");
        assert_eq!(
            s.into_step(),
            Step::Click {
                item: "".into(),
                reported: None
            }
        );
    }

    #[test]
    fn a_session_event_is_no_larger_than_the_parsed_event_and_its_line() {
        // The record the sessions step moves: without the user (the key),
        // with the step inline, it must not outgrow what it replaces.
        assert!(std::mem::size_of::<SessionEvent>() <= std::mem::size_of::<LogEvent>());
    }
}
