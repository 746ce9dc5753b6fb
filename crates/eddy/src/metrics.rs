//! What every flow counts as it runs, for Prometheus: items into and out
//! of each step, keys held by each stateful step, and snapshots.
//!
//! The counters are process-wide (one set per process, summed over its
//! workers and over every run in it, as Prometheus counters are) and
//! cheap: operators add a batch's size once per batch, never once per
//! item. Step ids (`flow.step`) label them, so flows with different ids
//! never share a counter.
//!
//! ```
//! use eddy::testing::run_collect;
//! let out = run_collect(vec![1, 2, 3], |s| s.filter("odd", |x: &i64| x % 2 == 1));
//! assert_eq!(out, vec![1, 3]);
//! let steps = eddy::metrics::global();
//! // `run_collect`'s flow is called "test".
//! assert!(steps.items_in("test.odd") >= 3);
//! assert!(steps.items_out("test.odd") >= 2);
//!
//! let mut registry = prometheus_client::registry::Registry::default();
//! steps.register(&mut registry);
//! let mut text = String::new();
//! prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
//! assert!(text.contains("eddy_step_items_in_total{step=\"test.odd\"}"));
//! ```

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, OnceLock};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

/// The label set of a step's metrics: `step="flow.step"`.
pub type StepLabels = Vec<(String, String)>;

/// The process's metrics of every flow (see [`global`]).
#[derive(Debug, Default)]
pub struct Metrics {
    items_in: Family<StepLabels, Counter>,
    items_out: Family<StepLabels, Counter>,
    keys: Family<StepLabels, Gauge>,
    snapshots: Counter,
    snapshot_seconds: Gauge<f64, AtomicU64>,
    snapshot_bytes: Gauge,
    /// Epochs being written: (announced at, ms since the epoch; bytes so far).
    pending: Mutex<HashMap<u64, (i64, u64)>>,
}

/// This process's metrics: every flow run in it counts here.
pub fn global() -> &'static Metrics {
    static GLOBAL: OnceLock<Metrics> = OnceLock::new();
    GLOBAL.get_or_init(Metrics::default)
}

fn labels(step: &str) -> StepLabels {
    vec![("step".to_owned(), step.to_owned())]
}

impl Metrics {
    /// Adds the metrics to `registry`: `eddy_step_items_in_total`,
    /// `eddy_step_items_out_total`, `eddy_step_keys` (labelled by step),
    /// `eddy_snapshots_total`, `eddy_snapshot_last_duration_seconds`,
    /// `eddy_snapshot_last_bytes`. They stay live: a scrape reads the
    /// current values.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("eddy");
        r.register(
            "step_items_in",
            "Items a step received (for an output: items written)",
            self.items_in.clone(),
        );
        r.register(
            "step_items_out",
            "Items a step emitted (for an input: items read)",
            self.items_out.clone(),
        );
        r.register(
            "step_keys",
            "Keys holding state in a stateful step (for a window step: the keys tracked)",
            self.keys.clone(),
        );
        r.register("snapshots", "Complete snapshots written", self.snapshots.clone());
        r.register_with_unit(
            "snapshot_last_duration",
            "Time from announcing the last complete snapshot to its last part written",
            Unit::Seconds,
            self.snapshot_seconds.clone(),
        );
        r.register_with_unit(
            "snapshot_last",
            "Size of the last complete snapshot's parts",
            Unit::Bytes,
            self.snapshot_bytes.clone(),
        );
    }

    /// Items step `step` (a full id, `flow.step`) received so far.
    pub fn items_in(&self, step: &str) -> u64 {
        self.items_in.get_or_create(&labels(step)).get()
    }

    /// Items step `step` emitted so far.
    pub fn items_out(&self, step: &str) -> u64 {
        self.items_out.get_or_create(&labels(step)).get()
    }

    /// Keys holding state in step `step` now (all workers of the process).
    pub fn keys(&self, step: &str) -> i64 {
        self.keys.get_or_create(&labels(step)).get()
    }

    /// Complete snapshots written by this process so far.
    pub fn snapshots(&self) -> u64 {
        self.snapshots.get()
    }

    /// The counters of step `step`, for one operator on one worker.
    pub(crate) fn meter(&self, step: &str) -> Meter {
        let l = labels(step);
        Meter {
            items_in: self.items_in.get_or_create(&l).clone(),
            items_out: self.items_out.get_or_create(&l).clone(),
            keys: self.keys.get_or_create(&l).clone(),
            held: 0,
        }
    }

    /// A snapshot was announced at `created_ms` (ms since the Unix epoch).
    pub(crate) fn snapshot_started(&self, epoch: u64, created_ms: i64) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        p.insert(epoch, (created_ms, 0));
    }

    /// One part of snapshot `epoch` was written.
    pub(crate) fn snapshot_part(&self, epoch: u64, bytes: usize) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = p.get_mut(&epoch) {
            e.1 += bytes as u64;
        }
    }

    /// Snapshot `epoch` is complete.
    pub(crate) fn snapshot_completed(&self, epoch: u64) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((created_ms, bytes)) = p.remove(&epoch) {
            let now = crate::base::now_ms();
            let seconds = now.saturating_sub(created_ms).max(0) as f64 / 1000.0;
            self.snapshot_seconds.set(seconds);
            self.snapshot_bytes.set(i64::try_from(bytes).unwrap_or(i64::MAX));
            tracing::debug!(epoch, bytes, seconds, "snapshot complete");
        }
        p.retain(|e, _| *e > epoch);
        self.snapshots.inc();
    }
}

/// One operator's counters on one worker: what it adds once per batch.
#[derive(Debug)]
pub(crate) struct Meter {
    items_in: Counter,
    items_out: Counter,
    keys: Gauge,
    /// What this operator last added to `keys`.
    held: i64,
}

impl Meter {
    /// `n` items received.
    #[inline]
    pub(crate) fn received(&self, n: usize) {
        if n > 0 {
            self.items_in.inc_by(n as u64);
        }
    }

    /// `n` items emitted.
    #[inline]
    pub(crate) fn emitted(&self, n: usize) {
        if n > 0 {
            self.items_out.inc_by(n as u64);
        }
    }

    /// This operator now holds state for `n` keys.
    #[inline]
    pub(crate) fn holding(&mut self, n: usize) {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        if n != self.held {
            self.keys.inc_by(n - self.held);
            self.held = n;
        }
    }
}

impl Drop for Meter {
    /// A finished operator holds no keys.
    fn drop(&mut self) {
        self.holding(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meters_of_one_step_add_up_and_give_back_their_keys() {
        let m = Metrics::default();
        let mut a = m.meter("f.s");
        let mut b = m.meter("f.s");
        a.received(3);
        b.received(4);
        a.emitted(0);
        b.emitted(2);
        a.holding(5);
        b.holding(2);
        a.holding(4);
        assert_eq!((m.items_in("f.s"), m.items_out("f.s"), m.keys("f.s")), (7, 2, 6));
        drop(a);
        assert_eq!(m.keys("f.s"), 2);
        drop(b);
        assert_eq!(m.keys("f.s"), 0);
        assert_eq!(m.items_in("other.s"), 0);
    }

    #[test]
    fn a_flow_counts_its_steps_and_the_keys_its_stateful_steps_hold() {
        use std::sync::atomic::{AtomicI64, Ordering};
        use std::sync::Arc;
        let seen = Arc::new(AtomicI64::new(-1));
        let seen_in_flow = seen.clone();
        let words: Vec<String> = ["a", "b", "a", "c"].map(String::from).to_vec();
        let out = crate::testing::run_collect(words, move |s| {
            let seen = seen_in_flow.clone();
            s.filter("metrics_keep", |w: &String| !w.is_empty())
                .count_final("metrics_count", |w: &String| w.clone())
                .inspect("metrics_look", move |_| {
                    seen.store(global().keys("test.metrics_count"), Ordering::SeqCst)
                })
        });
        assert_eq!(out.len(), 3);
        let g = global();
        assert_eq!(g.items_in("test.metrics_keep"), 4);
        assert_eq!(g.items_out("test.metrics_keep"), 4);
        assert_eq!(g.items_in("test.metrics_count"), 4);
        assert_eq!(g.items_out("test.metrics_count"), 3);
        assert_eq!(g.items_in("test.metrics_look"), 3);
        // Its three keys while it emitted; none once the run is over.
        assert_eq!(seen.load(Ordering::SeqCst), 3);
        assert_eq!(g.keys("test.metrics_count"), 0);
    }

    #[test]
    fn a_snapshot_counts_when_complete_with_its_size() {
        let m = Metrics::default();
        m.snapshot_started(1, crate::base::now_ms());
        m.snapshot_part(1, 100);
        m.snapshot_part(1, 23);
        m.snapshot_part(9, 1000);
        assert_eq!(m.snapshots(), 0);
        m.snapshot_completed(1);
        assert_eq!(m.snapshots(), 1);
        assert_eq!(m.snapshot_bytes.get(), 123);
        assert!(m.snapshot_seconds.get() >= 0.0);
        let mut registry = Registry::default();
        m.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("eddy_snapshots_total 1"), "{text}");
        assert!(text.contains("eddy_snapshot_last_bytes 123"), "{text}");
    }
}
