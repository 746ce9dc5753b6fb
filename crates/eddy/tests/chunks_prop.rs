//! Property test, "one file, one answer": reading files in chunks of any
//! size, with 1 to 4 workers, gives the rows *and* the late events of
//! reading them whole on one worker, in the same order — also when the
//! disorder is far beyond `wait`, so that a chunk boundary would change
//! lateness verdicts if chunks were not taken in byte order.

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

/// A row, a late event, or an invalid line, in the order they were written.
type Out = (u8, String, Vec<i64>);

fn sessions(paths: &[std::path::PathBuf], chunk: u64, workers: usize) -> Vec<Out> {
    let sink = TestingSink::new();
    let out = sink.clone();
    let paths = paths.to_vec();
    run("chunks", &RunConfig::workers(workers), move |flow| {
        let source = FileSource::new(paths.clone(), decode).chunk_bytes(chunk);
        let clock = EventClock::new(|e: &Event| e.1, Duration::from_millis(500));
        let items = flow.input_timed("read", source, |e: &Option<Event>| e.as_ref().map(|e| e.1));
        let invalid = items
            .filter("invalid", |e: &Option<Event>| e.is_none())
            .map("as_out", |_| (2u8, String::new(), Vec::new()));
        let windows = items
            .filter_map("valid", |e| e)
            .key_on("user", |e: &Event| e.0.clone())
            .collect_window("sessions", clock, SessionWindower::new(Duration::from_secs(2)));
        let rows = windows.down.map("times", |(user, (_id, events))| {
            (0u8, user, events.into_iter().map(|e| e.1).collect::<Vec<_>>())
        });
        let late = windows
            .late
            .map("late", |(user, (_id, e))| (1u8, user, vec![e.1]));
        rows.merge("all", &[late, invalid]).output("out", out.clone());
        Ok(())
    })
    .expect("run");
    sink.take()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn chunked_reading_gives_the_output_of_whole_reading_in_the_same_order(
        steps in prop::collection::vec((0u8..5, 0i64..800, 0i64..3_000, 0u8..40), 1..300),
        files in 1usize..=2,
        chunk in 1u64..400,
        workers in 1usize..=4,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths: Vec<_> = (0..files).map(|i| dir.path().join(format!("events{i}.csv"))).collect();
        let mut writers: Vec<_> = paths.iter().map(|p| std::fs::File::create(p).expect("create")).collect();
        let mut clock = 0i64;
        for (i, (user, step, jitter, bad)) in steps.into_iter().enumerate() {
            clock += step;
            // Jitter up to 3 s against a wait of 0.5 s: many late events,
            // some of them right at chunk boundaries.
            let w = &mut writers[i % files];
            if bad == 0 {
                writeln!(w, "not an event").expect("write");
            } else {
                writeln!(w, "u{user},{}", clock - jitter).expect("write");
            }
        }
        drop(writers);
        let whole = sessions(&paths, 0, 1);
        prop_assert_eq!(sessions(&paths, chunk, workers), whole);
    }
}
