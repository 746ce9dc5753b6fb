//! `nexmark-bench`: Nexmark query 11 ("user sessions": per-bidder session
//! windows, gap 10 s, the number of bids in each) written on `eddy` the way
//! a new user would, against a plain single-threaded loop doing the same job,
//! both fed by the `nexmark` crate's event generator in memory.
//!
//! ```text
//! nexmark-bench --system eddy|plain [--events N] [--workers W] [--rows FILE]
//! ```
//!
//! It prints one line: the system, the events generated, the bids, the rows
//! (sessions) and a digest of the sorted rows; `bench/nexmark.sh` runs it
//! under `/usr/bin/time` and checks that every run's digest is the
//! reference's. `--rows FILE` also writes the sorted rows as text.
//!
//! The query, as Nexmark's SQL has it:
//!
//! ```sql
//! SELECT bidder, count(*), SESSION_START(dateTime, INTERVAL '10' SECOND),
//!        SESSION_END(dateTime, INTERVAL '10' SECOND)
//! FROM bid GROUP BY bidder, SESSION(dateTime, INTERVAL '10' SECOND)
//! ```
//!
//! A row is `(bidder, start, end, bids)`: `start` is the session's first bid
//! (ms), `end` its last bid + the gap, as `SESSION_END` reports it. Sessions
//! follow eddy's [`SessionWindower`]: a bid at most `gap` (inclusive) after
//! the session's last one joins it (Flink's gap is exclusive; the two differ
//! only on bids exactly 10 s apart). The generator's defaults are Nexmark's
//! (10,000 events/s of event time, 92 % bids, 1,000 active people), with the
//! base time fixed so that every run sees the same events; with `W` workers
//! there are `W` generators, generator `p` making events `p, p + W, …` (the
//! `nexmark` crate's offset and step), so the events are the same for every
//! `W`. The eddy flow's clock waits 4 s for out-of-order bids (the watermark
//! delay of Nexmark's Flink tables), which covers the skew between the
//! generators of different workers; a late bid would change the rows, and
//! the run fails if there is one.

use std::collections::hash_map::Entry;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eddy::testing::IterSource;
use eddy::window::{EventClock, FoldOrder, SessionWindower, WindowMetadata};
use eddy::{run, RunConfig};
use nexmark::config::NexmarkConfig;
use nexmark::event::Event;
use nexmark::EventGenerator;
use rustc_hash::FxHashMap;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The session gap of query 11, in ms.
const GAP_MS: i64 = 10_000;
/// How far the eddy clock waits for out-of-order bids.
const WAIT: Duration = Duration::from_secs(4);
/// The generator's base time (ms since the epoch): fixed, so runs agree.
const BASE_TIME_MS: u64 = 1_700_000_000_000;

/// One output row: `(bidder, start, end, bids)`.
type Row = (u64, i64, i64, u64);

/// A closed session as the window step emits it: `(bidder, (window id,
/// (extent, bids)))`.
type Session = (u64, (i64, (WindowMetadata, u64)));

fn main() -> ExitCode {
    match Args::parse(std::env::args().skip(1)) {
        Ok(args) => match args.run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("nexmark-bench: {err}");
                ExitCode::from(1)
            }
        },
        Err(msg) => {
            eprintln!("nexmark-bench: {msg}\nusage: nexmark-bench --system eddy|plain [--events N] [--workers W] [--rows FILE]");
            ExitCode::from(2)
        }
    }
}

/// Which implementation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum System {
    Eddy,
    Plain,
}

/// The command line.
struct Args {
    system: System,
    events: u64,
    workers: usize,
    rows: Option<String>,
}

impl Args {
    fn parse(mut it: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut args = Args {
            system: System::Plain,
            events: 10_000_000,
            workers: 1,
            rows: None,
        };
        let mut system = None;
        while let Some(flag) = it.next() {
            let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--system" => {
                    system = Some(match value()?.as_str() {
                        "eddy" => System::Eddy,
                        "plain" => System::Plain,
                        other => return Err(format!("--system: expected eddy or plain, got {other:?}")),
                    })
                }
                "--events" => args.events = number(&flag, &value()?)?,
                "--workers" => args.workers = number(&flag, &value()?)?.max(1) as usize,
                "--rows" => args.rows = Some(value()?),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        args.system = system.ok_or("--system is required")?;
        if args.system == System::Plain && args.workers != 1 {
            return Err("the plain reference is single-threaded: --workers must be 1".into());
        }
        Ok(args)
    }

    fn run(&self) -> Result<(), String> {
        let started = Instant::now();
        let (mut rows, bids) = match self.system {
            System::Plain => plain_q11(self.events),
            System::Eddy => eddy_q11(self.events, self.workers)?,
        };
        let secs = started.elapsed().as_secs_f64();
        rows.sort_unstable();
        let counted: u64 = rows.iter().map(|r| r.3).sum();
        if counted != bids {
            return Err(format!("{bids} bids generated but {counted} counted in sessions"));
        }
        if let Some(path) = &self.rows {
            let text: String = rows
                .iter()
                .map(|(b, s, e, n)| format!("{b} {s} {e} {n}\n"))
                .collect();
            std::fs::write(path, text).map_err(|e| format!("{path}: {e}"))?;
        }
        let system = match self.system {
            System::Eddy => format!("eddy-w{}", self.workers),
            System::Plain => "plain".into(),
        };
        println!(
            "q11 {system}: {} events, {bids} bids, {} rows, digest {:016x}, {secs:.3} s, {:.0} events/s",
            self.events,
            rows.len(),
            digest(&rows),
            self.events as f64 / secs
        );
        Ok(())
    }
}

fn number(flag: &str, v: &str) -> Result<u64, String> {
    v.replace('_', "")
        .parse()
        .map_err(|_| format!("{flag}: expected a whole number, got {v:?}"))
}

/// Nexmark's default generator configuration, at a fixed base time.
fn config() -> NexmarkConfig {
    NexmarkConfig {
        base_time: BASE_TIME_MS,
        ..NexmarkConfig::default()
    }
}

/// The events of generator `part` of `parts`: `part, part + parts, …`, below
/// `events`.
fn generator(events: u64, part: u64, parts: u64) -> impl Iterator<Item = Event> {
    let count = events.saturating_sub(part).div_ceil(parts);
    EventGenerator::new(config())
        .with_offset(part)
        .with_step(parts)
        .take(count as usize)
}

/// How many of the first `events` events are bids: of every
/// `proportion_denominator` events, the first `person_proportion +
/// auction_proportion` are people and auctions, the rest bids.
fn bids_among(events: u64) -> u64 {
    let c = config();
    let cycle = (c.person_proportion + c.auction_proportion + c.bid_proportion) as u64;
    let others = (c.person_proportion + c.auction_proportion) as u64;
    events / cycle * (cycle - others) + (events % cycle).saturating_sub(others)
}

/// FNV-1a over the rows' fields, in order.
fn digest(rows: &[Row]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &(b, s, e, n) in rows {
        for v in [b, s as u64, e as u64, n] {
            for byte in v.to_le_bytes() {
                h = (h ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    h
}

/// An open session of the plain loop.
struct Open {
    start: i64,
    last: i64,
    bids: u64,
}

impl Open {
    fn row(&self, bidder: u64) -> Row {
        (bidder, self.start, self.last + GAP_MS, self.bids)
    }
}

/// The plain reference: one pass over the generator, one hash map of open
/// sessions; every second of event time, sessions more than a gap behind
/// are emitted and dropped (so its memory follows the active bidders, as a
/// streaming job's must). Returns the rows and the bids seen.
fn plain_q11(events: u64) -> (Vec<Row>, u64) {
    let mut open: FxHashMap<u64, Open> = FxHashMap::default();
    let mut rows = Vec::new();
    let (mut bids, mut next_sweep) = (0u64, i64::MIN);
    for event in generator(events, 0, 1) {
        let Event::Bid(bid) = event else { continue };
        bids += 1;
        let t = bid.date_time as i64;
        let bidder = bid.bidder as u64;
        match open.entry(bidder) {
            Entry::Occupied(mut o) => {
                let s = o.get_mut();
                if t > s.last + GAP_MS {
                    rows.push(s.row(bidder));
                    *s = Open {
                        start: t,
                        last: t,
                        bids: 1,
                    };
                } else {
                    s.last = s.last.max(t);
                    s.bids += 1;
                }
            }
            Entry::Vacant(v) => {
                v.insert(Open {
                    start: t,
                    last: t,
                    bids: 1,
                });
            }
        }
        if t >= next_sweep {
            open.retain(|&bidder, s| {
                let keep = s.last + GAP_MS >= t;
                if !keep {
                    rows.push(s.row(bidder));
                }
                keep
            });
            next_sweep = t + 1_000;
        }
    }
    rows.extend(open.iter().map(|(&bidder, s)| s.row(bidder)));
    (rows, bids)
}

/// Query 11 on eddy: the generator as a source (one partition per worker),
/// the bids picked out, keyed by bidder, counted per session window.
fn eddy_q11(events: u64, workers: usize) -> Result<(Vec<Row>, u64), String> {
    let rows: Arc<Mutex<Vec<Row>>> = Arc::default();
    let late = Arc::new(AtomicU64::new(0));
    let shared = (rows.clone(), late.clone());
    run("nexmark-q11", &RunConfig::workers(workers), move |flow| {
        let (rows, late) = shared.clone();
        let parts = workers as u64;
        let source = IterSource::partitioned(workers, move |p| generator(events, p as u64, parts));
        let sessions = flow
            .input_timed("events", source, |e: &Event| Some(e.timestamp() as i64))
            .filter_map("bids", |e: Event| match e {
                Event::Bid(b) => Some((b.bidder as u64, b.date_time as i64)),
                _ => None,
            })
            .key_on("bidder", |&(bidder, _): &(u64, i64)| bidder)
            .fold_window_extent(
                "sessions",
                EventClock::new(|&(_, t): &(u64, i64)| t, WAIT),
                SessionWindower::new(Duration::from_millis(GAP_MS as u64)),
                || 0u64,
                |n: &mut u64, _| *n += 1,
                |a: &mut u64, b| *a += b,
                FoldOrder::ByArrival,
            );
        sessions.late.output_fn("late", move |_, _| {
            let late = late.clone();
            move |batch: &mut Vec<_>| {
                late.fetch_add(batch.len() as u64, Ordering::Relaxed);
                batch.clear();
            }
        });
        sessions.down.output_fn("rows", move |_, _| {
            let rows = rows.clone();
            move |batch: &mut Vec<Session>| {
                let mut rows = rows.lock().unwrap_or_else(|e| e.into_inner());
                rows.extend(
                    batch.drain(..).map(|(bidder, (_, (meta, n)))| {
                        (bidder, meta.open_time, meta.close_time + GAP_MS, n)
                    }),
                );
            }
        });
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    let late = late.load(Ordering::Relaxed);
    if late > 0 {
        return Err(format!(
            "{late} bids came later than the clock's wait of {WAIT:?}"
        ));
    }
    let rows = std::mem::take(&mut *rows.lock().unwrap_or_else(|e| e.into_inner()));
    Ok((rows, bids_among(events)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Enough events for sessions to close mid-run (the generator makes
    /// 10,000 events per second of event time, the gap is 10 s).
    const EVENTS: u64 = 250_000;

    #[test]
    fn eddy_gives_the_plain_loops_rows_for_1_and_2_workers() {
        let (mut plain, bids) = plain_q11(EVENTS);
        plain.sort_unstable();
        assert_eq!(bids, bids_among(EVENTS));
        assert!(plain.len() > 1_000, "{} sessions", plain.len());
        // Many sessions ended well before the input did: windows closed
        // mid-run, not only at the end.
        let last = plain.iter().map(|r| r.2).max().expect("rows");
        let early = plain.iter().filter(|r| r.2 + GAP_MS < last).count();
        assert!(early * 4 > plain.len(), "{early} of {} ended early", plain.len());
        for workers in [1, 2] {
            let (mut rows, eddy_bids) = eddy_q11(EVENTS, workers).expect("eddy run");
            rows.sort_unstable();
            assert_eq!(eddy_bids, bids);
            assert_eq!(rows, plain, "{workers} worker(s)");
        }
    }

    #[test]
    fn every_generator_split_makes_the_same_events() {
        let one: Vec<u64> = generator(1_000, 0, 1).map(|e| e.timestamp()).collect();
        let mut two: Vec<(u64, u64)> = (0..3)
            .flat_map(|p| {
                generator(1_000, p, 3)
                    .enumerate()
                    .map(move |(i, e)| (i as u64 * 3 + p, e.timestamp()))
            })
            .collect();
        two.sort_unstable();
        assert_eq!(two.into_iter().map(|(_, t)| t).collect::<Vec<_>>(), one);
    }

    #[test]
    fn arguments_are_checked() {
        let args = |a: &[&str]| Args::parse(a.iter().map(|s| s.to_string()));
        assert!(args(&["--events", "10"]).is_err(), "--system is required");
        assert!(args(&["--system", "plain", "--workers", "2"]).is_err());
        assert!(args(&["--system", "flink"]).is_err());
        let a = args(&["--system", "eddy", "--events", "1_000", "--workers", "2"]).expect("valid");
        assert_eq!((a.system, a.events, a.workers), (System::Eddy, 1_000, 2));
    }
}
