//! Search analytics, domain only: a generated `--profile search` log,
//! parsed beforehand, split into sessions beforehand; measured are the
//! per-session extraction (`SessionSearches`: push every event, finish)
//! and the aggregation of the records (`Aggregates::add_session`), then
//! the rows of every window (`finish`, COEC included).
//!
//! `cargo bench -p ctr --bench analytics`
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ctr::analytics::aggregate::{Aggregates, MIN_IMPRESSIONS};
use ctr::analytics::searches::SessionSearches;
use ctr::analytics::window::Window;
use ctr::event::Event;
use ctr::generate::{generate, GenerateConfig, Profile};
use ctr::parse::{parse_line_detailed, Parsed};
use ctr::timestamp::TimeUnit;

const EVENTS: u64 = 200_000;
const GAP_MS: i64 = 30 * 60 * 1000;
const WAIT_MS: i64 = 10_000;

/// The generated log's sessions, each its events in arrival order.
fn sessions() -> Vec<Vec<Event>> {
    let cfg = GenerateConfig {
        events: EVENTS,
        users: EVENTS / 50,
        late_rate: 0.0,
        profile: Profile::Search,
        ..GenerateConfig::default()
    };
    let mut log = Vec::new();
    if let Err(e) = generate(&cfg, &mut log) {
        panic!("generate: {e}");
    }
    let mut by_user: std::collections::HashMap<String, Vec<Event>> = Default::default();
    for line in log.split(|&b| b == b'\n') {
        if let Ok(Parsed::Event(e)) = parse_line_detailed(line, TimeUnit::Millis) {
            by_user.entry(e.user.to_string()).or_default().push(e);
        }
    }
    let mut users: Vec<_> = by_user.into_iter().collect();
    users.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::new();
    for (_, events) in users {
        // Sessions: cut where sorted times jump by more than the gap;
        // each session keeps its events in arrival order.
        let mut times: Vec<i64> = events.iter().map(|e| e.time_ms).collect();
        times.sort_unstable();
        let mut starts = vec![times[0]];
        starts.extend(times.windows(2).filter(|w| w[1] - w[0] > GAP_MS).map(|w| w[1]));
        for (i, &start) in starts.iter().enumerate() {
            let end = starts.get(i + 1).copied().unwrap_or(i64::MAX);
            out.push(
                events
                    .iter()
                    .filter(|e| e.time_ms >= start && e.time_ms < end)
                    .cloned()
                    .collect(),
            );
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let sessions = sessions();
    let events: u64 = sessions.iter().map(|s| s.len() as u64).sum();
    let mut group = c.benchmark_group("analytics");
    group.throughput(Throughput::Elements(events));
    group.sample_size(20);
    group.bench_function("extract", |b| {
        b.iter(|| {
            let mut searches = 0;
            for s in &sessions {
                let mut acc = SessionSearches::new(WAIT_MS);
                for e in s {
                    acc.push_event(e);
                }
                searches += acc.finish().len();
            }
            black_box(searches)
        })
    });
    let records: Vec<_> = sessions
        .iter()
        .map(|s| {
            let mut acc = SessionSearches::new(WAIT_MS);
            s.iter().for_each(|e| acc.push_event(e));
            acc.finish()
        })
        .collect();
    let searches: usize = records.iter().map(Vec::len).sum();
    eprintln!(
        "{} sessions, {events} events, {searches} searches",
        sessions.len()
    );
    group.bench_function("aggregate+rows", |b| {
        b.iter(|| {
            let mut aggs = Aggregates::new(Window::DAY);
            records.iter().for_each(|r| aggs.add_session(r));
            black_box(aggs.finish(MIN_IMPRESSIONS))
        })
    });
    group.bench_function("extract+aggregate+rows", |b| {
        b.iter(|| {
            let mut aggs = Aggregates::new(Window::DAY);
            for s in &sessions {
                let mut acc = SessionSearches::new(WAIT_MS);
                for e in s {
                    acc.push_event(e);
                }
                aggs.add_session(&acc.finish());
            }
            black_box(aggs.finish(MIN_IMPRESSIONS))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
