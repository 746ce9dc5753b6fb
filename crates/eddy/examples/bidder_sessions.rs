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

use std::time::Duration;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use eddy::connectors::{Poll, Sink, SinkPartition, Source, SourcePartition};
use eddy::window::{EventClock, FoldOrder, SessionWindower};
use eddy::{run, RunConfig};

/// `(bidder, event time in ms)`.
type Bid = (u64, i64);

/// Bids generated on the fly: bid `i` is at `i` ms, from a bidder drawn
/// from a fixed pseudo-random sequence.
#[derive(Clone)]
struct Bids {
    total: u64,
    bidders: u64,
}

struct BidPartition {
    next: u64,
    total: u64,
    bidders: u64,
}

impl Source<Bid> for Bids {
    fn list_parts(&self) -> eddy::connectors::Result<Vec<String>> {
        Ok(vec!["bids".into()])
    }

    fn build_part(
        &self,
        _key: &str,
        resume: Option<&[u8]>,
    ) -> eddy::connectors::Result<Box<dyn SourcePartition<Bid>>> {
        let next = resume
            .and_then(|b| b.try_into().ok())
            .map_or(0, u64::from_le_bytes);
        Ok(Box::new(BidPartition {
            next,
            total: self.total,
            bidders: self.bidders,
        }))
    }
}

/// A bidder for bid `i` (splitmix64 of `i`, so the same on every run).
fn bidder(i: u64, bidders: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) % bidders
}

impl SourcePartition<Bid> for BidPartition {
    fn next_batch(&mut self, out: &mut Vec<Bid>, max: usize) -> eddy::connectors::Result<Poll> {
        if self.next >= self.total {
            return Ok(Poll::Done);
        }
        let end = (self.next + max as u64).min(self.total);
        out.extend((self.next..end).map(|i| (bidder(i, self.bidders), i as i64)));
        self.next = end;
        Ok(Poll::Ready)
    }

    fn position(&self) -> Vec<u8> {
        self.next.to_le_bytes().to_vec()
    }
}

/// The output: counts sessions and the bids in them (an output step is
/// what the input's backpressure waits on).
#[derive(Clone)]
struct Tally {
    sessions: Arc<AtomicU64>,
    bids: Arc<AtomicU64>,
}

impl Sink<(u64, (i64, u64))> for Tally {
    fn build(
        &self,
        _worker: usize,
        _workers: usize,
    ) -> eddy::connectors::Result<Box<dyn SinkPartition<(u64, (i64, u64))>>> {
        Ok(Box::new(self.clone()))
    }
}

impl SinkPartition<(u64, (i64, u64))> for Tally {
    fn write_batch(&mut self, items: &mut Vec<(u64, (i64, u64))>) -> eddy::connectors::Result<()> {
        self.sessions.fetch_add(items.len() as u64, Ordering::Relaxed);
        let bids: u64 = items.drain(..).map(|(_, (_, n))| n).sum();
        self.bids.fetch_add(bids, Ordering::Relaxed);
        Ok(())
    }

    fn close(&mut self) -> eddy::connectors::Result<()> {
        Ok(())
    }
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
    let tally = Tally {
        sessions: Arc::new(AtomicU64::new(0)),
        bids: Arc::new(AtomicU64::new(0)),
    };
    let out = tally.clone();
    run("q11", &RunConfig::workers(workers), move |flow| {
        let clock = EventClock::new(|b: &Bid| b.1, Duration::ZERO).horizon(horizon);
        flow.input_timed("bids", Bids { total, bidders }, |b: &Bid| Some(b.1))
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
            .output("tally", out.clone());
        Ok(())
    })?;
    let counted = tally.bids.load(Ordering::Relaxed);
    println!(
        "{total} bids of {bidders} bidders, {workers} worker(s), horizon {horizon:?}: {} sessions, {counted} bids counted",
        tally.sessions.load(Ordering::Relaxed)
    );
    assert_eq!(counted, total, "every bid in one session");
    Ok(())
}
