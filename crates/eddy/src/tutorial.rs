//! Bytewax's tutorial "Building Sessions from Search Logs", step by step in
//! Eddy: key search events by user, group them into session windows over
//! event time, and compute each session's click-through rate. Read this
//! module's source as the tutorial; [`run_tutorial`] runs it and prints
//!
//! ```text
//! User 1: 1 searches, 1 clicks
//! User 2: 1 searches, 2 clicks
//! ('1', 1.0)
//! ('2', 2.0)
//! ```
//!
//! `cargo run -p eddy --example search_sessions` and `search-ctr` with no
//! arguments both run it (one copy of the tutorial).

use std::io::Write;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::connectors::stdio::StdOutSink;
use crate::testing::TestingSource;
use crate::window::{EventClock, SessionWindower};
use crate::{run, RunConfig};

/// Milliseconds since the Unix epoch of 2024-01-01T00:00:00Z, the
/// tutorial's `align_to`.
const ALIGN_TO: i64 = 1_704_067_200_000;

/// The tutorial's event classes (fields: the user, ms since the Unix
/// epoch, and what was searched, shown or clicked).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClientEvent {
    /// The user opened the app.
    AppOpen { user: u32, time: i64 },
    /// The user searched.
    Search { user: u32, query: String, time: i64 },
    /// Results were shown.
    Results {
        user: u32,
        items: Vec<String>,
        time: i64,
    },
    /// The user clicked a result.
    ClickResult { user: u32, item: String, time: i64 },
    /// The user closed the app.
    AppClose { user: u32, time: i64 },
}

impl ClientEvent {
    /// Who did it.
    pub fn user(&self) -> u32 {
        match self {
            ClientEvent::AppOpen { user, .. }
            | ClientEvent::Search { user, .. }
            | ClientEvent::Results { user, .. }
            | ClientEvent::ClickResult { user, .. }
            | ClientEvent::AppClose { user, .. } => *user,
        }
    }

    /// When (ms since the Unix epoch).
    pub fn time(&self) -> i64 {
        match self {
            ClientEvent::AppOpen { time, .. }
            | ClientEvent::Search { time, .. }
            | ClientEvent::Results { time, .. }
            | ClientEvent::ClickResult { time, .. }
            | ClientEvent::AppClose { time, .. } => *time,
        }
    }
}

/// The tutorial's simulated events.
pub fn client_events() -> Vec<ClientEvent> {
    let at = |s: i64| ALIGN_TO + s * 1_000;
    let items = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect();
    vec![
        ClientEvent::Search {
            user: 1,
            query: "dogs".into(),
            time: at(5),
        },
        ClientEvent::Results {
            user: 1,
            items: items(&["fido", "rover", "buddy"]),
            time: at(6),
        },
        ClientEvent::ClickResult {
            user: 1,
            item: "rover".into(),
            time: at(7),
        },
        ClientEvent::Search {
            user: 2,
            query: "cats".into(),
            time: at(5),
        },
        ClientEvent::Results {
            user: 2,
            items: items(&["fluffy", "burrito", "kathy"]),
            time: at(6),
        },
        ClientEvent::ClickResult {
            user: 2,
            item: "fluffy".into(),
            time: at(7),
        },
        ClientEvent::ClickResult {
            user: 2,
            item: "kathy".into(),
            time: at(8),
        },
    ]
}

/// `calc_ctr`: searches and clicks of one session, printed, and the
/// clicks-per-search ratio the tutorial calls its CTR.
pub fn calc_ctr(window_out: (String, (i64, Vec<ClientEvent>))) -> (String, f64) {
    let (user, (_window_id, events)) = window_out;
    let searches = events
        .iter()
        .filter(|e| matches!(e, ClientEvent::Search { .. }))
        .count();
    let clicks = events
        .iter()
        .filter(|e| matches!(e, ClientEvent::ClickResult { .. }))
        .count();
    // Not `println!`, which panics on a full or closed stdout: a failed
    // write is left to the output step, which writes to the same stdout
    // next and reports it (a closed pipe quietly, as `… | head` expects).
    let _ = writeln!(
        std::io::stdout().lock(),
        "User {user}: {searches} searches, {clicks} clicks"
    );
    let ctr = if searches > 0 {
        clicks as f64 / searches as f64
    } else {
        0.0
    };
    (user, ctr)
}

/// Builds and runs the tutorial's dataflow on one worker.
pub fn run_tutorial() -> crate::Result<()> {
    run("search_ctr", &RunConfig::workers(1), |flow| {
        let inp = flow.input("inp", TestingSource::new(client_events()));
        let user_event_map = inp.key_on("user_event", |e: &ClientEvent| e.user().to_string());
        let event_time_config = EventClock::new(|e: &ClientEvent| e.time(), Duration::from_secs(1));
        let clock_config = SessionWindower::new(Duration::from_secs(10));
        let window = user_event_map.collect_window("windowed_data", event_time_config, clock_config);
        let calc = window.down.map("calc_ctr", calc_ctr);
        calc.output(
            "out",
            StdOutSink::new(|(user, ctr): &(String, f64), out: &mut Vec<u8>| {
                out.extend_from_slice(format!("('{user}', {ctr:?})\n").as_bytes());
            }),
        );
        Ok(())
    })
}
