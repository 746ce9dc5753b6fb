//! A Nexmark-q11-shaped workload on the plain `fold_window`: per-bidder
//! session windows (gap 10 s) counting bids, over bids generated on the fly
//! (never held in memory) whose event time advances slowly — 1 ms per bid —
//! from a large population of bidders, most of whom bid once or twice and
//! leave. It measures what issue 24 is about: whether state follows the
//! bidders active within the last gap, or every bidder ever seen.
//!
//! ```text
//! cargo run --release -p eddy --example bidder_sessions -- [BIDS] [BIDDERS] [WORKERS] [off]
//! ```
//!
//! (defaults 5,000,000 bids, 1,000,000 bidders, 1 worker; `off`: the clock's
//! watermark follows each bidder's own bids only, `EventClock::horizon(None)`,
//! the rule before issue 24). It prints the
//! sessions closed and the bids counted; run it under `/usr/bin/time -f %M`
//! for the peak RSS (`bench/bidder_sessions.sh` does both).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use eddy::testing::IterSource;
use eddy::window::{EventClock, FoldOrder, SessionWindower};
use eddy::{run, RunConfig};

/// `(bidder, event time in ms)`.
type Bid = (u64, i64);

/// A bidder for bid `i` (splitmix64 of `i`, so the same on every run).
fn bidder(i: u64, bidders: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) % bidders
}

fn main() -> eddy::Result<()> {
    let arg = |i: usize, default: u64| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.replace('_', "").parse().ok())
            .unwrap_or(default)
    };
    let (total, bidders, workers) = (arg(1, 5_000_000), arg(2, 1_000_000), arg(3, 1) as usize);
    let horizon = match std::env::args().nth(4).as_deref() {
        Some("off") => None,
        _ => Some(Duration::ZERO),
    };
    // The output counts sessions and the bids in them (an output step is
    // what the input's backpressure waits on).
    let (sessions, bids) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let tally = (sessions.clone(), bids.clone());
    run("q11", &RunConfig::workers(workers), move |flow| {
        let clock = EventClock::new(|b: &Bid| b.1, Duration::ZERO).horizon(horizon);
        // Bid `i` is at `i` ms, generated as it is read (never held).
        let generated = IterSource::new(move |_| (0..total).map(move |i| (bidder(i, bidders), i as i64)));
        let tally = tally.clone();
        flow.input_timed("bids", generated, |b: &Bid| Some(b.1))
            .key_on("bidder", |b: &Bid| b.0)
            .fold_window(
                "sessions",
                clock,
                SessionWindower::new(Duration::from_secs(10)),
                || 0u64,
                |n: &mut u64, _| *n += 1,
                |a: &mut u64, b| *a += b,
                FoldOrder::ByArrival,
            )
            .down
            .output_fn("tally", move |_worker, _workers| {
                let (sessions, bids) = tally.clone();
                move |batch: &mut Vec<(u64, (i64, u64))>| {
                    sessions.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    bids.fetch_add(batch.drain(..).map(|(_, (_, n))| n).sum(), Ordering::Relaxed);
                }
            });
        Ok(())
    })?;
    let counted = bids.load(Ordering::Relaxed);
    println!(
        "{total} bids of {bidders} bidders, {workers} worker(s), horizon {horizon:?}: {} sessions, {counted} bids counted",
        sessions.load(Ordering::Relaxed)
    );
    assert_eq!(counted, total, "every bid in one session");
    Ok(())
}
