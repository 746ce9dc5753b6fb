//! A live input that never ends: with an idle timeout, a user's session is
//! emitted after that much wall-clock silence, while the input is still
//! open; without one, it waits for the end of input.

mod common;

use std::time::Duration;

use common::live::{LiveSessions, Rows};
use eddy::window::EventClock;
use eddy::RunConfig;

/// Runs a live flow (2 workers); returns what came before the input was
/// closed (within `open_for`), and everything at the end, sorted.
fn live_run(idle: Option<Duration>, open_for: Duration) -> (Rows, Rows) {
    let items = vec![("a".into(), 1_000), ("a".into(), 2_000), ("b".into(), 1_500)];
    let clock = move || {
        let clock = EventClock::new(|e: &common::live::Event| e.1, Duration::from_secs(1));
        match idle {
            Some(d) => clock.idle_timeout(d),
            None => clock,
        }
    };
    let run = LiveSessions::start(
        "live",
        RunConfig::workers(2),
        vec![items],
        clock,
        Duration::from_secs(60),
    );
    // Wait for the rows (or the whole `open_for`, when none are expected).
    let seen = run.rows_while_open(open_for, |seen| idle.is_some() && seen.len() >= 2);
    let mut all = seen.clone();
    all.extend(run.finish());
    all.sort();
    (seen, all)
}

#[test]
fn idle_users_sessions_close_while_the_input_is_open() {
    // Generous: the bound only guards against a hang, it measures nothing.
    let (before_close, all) = live_run(Some(Duration::from_millis(100)), Duration::from_secs(60));
    let expected = vec![("a".to_string(), 2), ("b".to_string(), 1)];
    assert_eq!(before_close, expected, "rows must come before the input ends");
    assert_eq!(all, expected, "and only once");
}

#[test]
fn without_an_idle_timeout_sessions_wait_for_the_end_of_input() {
    let (before_close, all) = live_run(None, Duration::from_millis(500));
    assert!(before_close.is_empty(), "{before_close:?}");
    assert_eq!(all, vec![("a".to_string(), 2), ("b".to_string(), 1)]);
}
