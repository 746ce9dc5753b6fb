//! Property test: reading a file in chunks of any size, with 1 to 4
//! workers, gives the same sessions as reading it whole on one worker.
//!
//! The data keep their disorder within `wait` (the condition under which
//! chunk boundaries cannot change a lateness verdict, see ARCHITECTURE.md).

use std::io::Write;
use std::time::Duration;

use eddy::connectors::files::{FileSource, LineRef};
use eddy::testing::TestingSink;
use eddy::window::{EventClock, SessionWindower};
use eddy::{run, RunConfig};
use proptest::prelude::*;

type Event = (String, i64);

fn decode(line: &LineRef<'_>) -> Option<Event> {
    let text = std::str::from_utf8(line.bytes()).ok()?;
    let (user, time) = text.split_once(',')?;
    Some((user.to_string(), time.parse().ok()?))
}

fn sessions(path: &std::path::Path, chunk: u64, workers: usize) -> Vec<(String, Vec<i64>)> {
    let sink = TestingSink::new();
    let out = sink.clone();
    let path = path.to_path_buf();
    run("chunks", &RunConfig::workers(workers), move |flow| {
        let source = FileSource::new(vec![path.clone()], decode).chunk_bytes(chunk);
        let clock = EventClock::new(|e: &Event| e.1, Duration::from_millis(500));
        flow.input_timed("read", source, |e: &Option<Event>| e.as_ref().map(|e| e.1))
            .filter_map("valid", |e| e)
            .key_on("user", |e: &Event| e.0.clone())
            .collect_window("sessions", clock, SessionWindower::new(Duration::from_secs(2)))
            .down
            .map("times", |(user, (_id, events))| {
                (user, events.into_iter().map(|e| e.1).collect::<Vec<_>>())
            })
            .output("out", out.clone());
        Ok(())
    })
    .expect("run");
    let mut rows = sink.take();
    rows.sort();
    rows
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn chunked_reading_gives_the_rows_of_whole_reading(
        steps in prop::collection::vec((0u8..5, 0i64..800, 0i64..500), 1..300),
        chunk in 1u64..400,
        workers in 1usize..=4,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("events.csv");
        let mut file = std::fs::File::create(&path).expect("create");
        let mut clock = 0i64;
        for (user, step, jitter) in steps {
            clock += step;
            writeln!(file, "u{user},{}", clock - jitter).expect("write");
        }
        drop(file);
        let whole = sessions(&path, 0, 1);
        prop_assert_eq!(sessions(&path, chunk, workers), whole);
    }
}
