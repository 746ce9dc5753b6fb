//! Micro-benchmarks of the per-event path: key (the routing hash), window
//! insert (the session windower), a keyed count through the whole engine
//! (exchange, stash, state map) on 1 and 2 workers, and session windows
//! through the engine to the output (insert, close, emit: the end-of-input
//! slices and the output's canonical order). Parsing is `ctr`'s bench
//! (`cargo bench -p ctr --bench parse`). Run with `cargo bench -p eddy`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use compact_str::CompactString;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use eddy::testing::{run_collect_with, TestingSource};
use eddy::window::{EventClock, FoldOrder, SessionWindower, Windower};
use eddy::{Key, RunConfig};

fn keys(n: usize) -> Vec<CompactString> {
    (0..n)
        .map(|i| CompactString::from(format!("u{}", i * 7919 % 100_000)))
        .collect()
}

fn routing(c: &mut Criterion) {
    let keys = keys(10_000);
    let mut g = c.benchmark_group("route_hash");
    g.throughput(Throughput::Elements(keys.len() as u64));
    g.bench_function("xxh3 of 10k user keys", |b| {
        b.iter(|| {
            keys.iter()
                .map(|k| black_box(k).route_hash())
                .fold(0u64, u64::wrapping_add)
        })
    });
    g.finish();
}

fn session_windower(c: &mut Criterion) {
    // One user's events, mostly in order, with a session break every 50.
    let times: Vec<i64> = (0..10_000i64)
        .map(|i| i * 1_000 + (i / 50) * 3_600_000 - (i % 3) * 400)
        .collect();
    let mut g = c.benchmark_group("session_windower");
    g.throughput(Throughput::Elements(times.len() as u64));
    g.bench_function("open_for + close_for, 10k events", |b| {
        b.iter_batched(
            || SessionWindower::new(Duration::from_secs(1_800)).build(),
            |mut logic| {
                let windower = SessionWindower::new(Duration::from_secs(1_800));
                let (mut ids, mut merges, mut closed) = (Vec::new(), Vec::new(), Vec::new());
                for &t in &times {
                    ids.clear();
                    merges.clear();
                    windower.open_for(&mut logic, t, &mut ids, &mut merges);
                    windower.close_for(&mut logic, t - 10_000, &mut closed);
                }
                black_box(closed.len())
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn keyed_engine(c: &mut Criterion) {
    let items: Vec<(String, i64)> = keys(200_000).into_iter().map(|k| (k.to_string(), 1)).collect();
    let mut g = c.benchmark_group("engine_keyed_count");
    g.sample_size(10);
    g.throughput(Throughput::Elements(items.len() as u64));
    for workers in [1, 2] {
        g.bench_function(format!("200k items, {workers} workers"), |b| {
            b.iter(|| {
                let out = run_collect_with(
                    &RunConfig::workers(workers),
                    TestingSource::new(items.clone()),
                    |s| s.reduce_final("sum", |a, b| a + b),
                )
                .expect("run");
                black_box(out.len())
            })
        });
    }
    g.finish();
}

fn session_windows_engine(c: &mut Criterion) {
    // 20k users with 10 events each, 1 s apart within a user, interleaved:
    // one session per user, all closed (and emitted) at end of input.
    let users = 20_000usize;
    let items: Vec<(String, i64)> = (0..users * 10)
        .map(|i| (format!("u{}", i % users), (i / users) as i64 * 1_000))
        .collect();
    let mut g = c.benchmark_group("engine_session_windows");
    g.sample_size(10);
    g.throughput(Throughput::Elements(items.len() as u64));
    for workers in [1, 2] {
        g.bench_function(format!("200k events, 20k users, {workers} workers"), |b| {
            b.iter(|| {
                let out = run_collect_with(
                    &RunConfig::workers(workers),
                    TestingSource::new(items.clone()),
                    |s| {
                        let clock = EventClock::new(|e: &(String, i64)| e.1, Duration::from_secs(10));
                        s.key_on("user", |e: &(String, i64)| e.0.clone())
                            .fold_window(
                                "sessions",
                                clock,
                                SessionWindower::new(Duration::from_secs(1_800)),
                                || 0u64,
                                |n: &mut u64, _| *n += 1,
                                |a: &mut u64, b| *a += b,
                                FoldOrder::ByArrival,
                            )
                            .down
                    },
                )
                .expect("run");
                black_box(out.len())
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    routing,
    session_windower,
    keyed_engine,
    session_windows_engine
);
criterion_main!(benches);
