//! End of input: keyed steps finish their keys in slices of the hash space,
//! so the output writes the end-of-input values a slice at a time instead of
//! holding the whole burst; the rows and their order stay the same for 1, 2
//! and 4 workers, with keyed steps chained, and a crash in the middle of the
//! burst resumes to the uninterrupted output.

use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eddy::connectors::{Sink, SinkPartition};
use eddy::recovery::{init_store, RecoveryConfig};
use eddy::testing::{TestingSink, TestingSource};
use eddy::{run, RunConfig};

mod common;
use common::{has_complete_snapshot, Crashing};

/// Distinct keys of the tests: many more than a keyed step finishes in one
/// activation (4096).
const KEYS: usize = 20_000;

/// A sink that keeps the size of every batch written to it.
#[derive(Clone, Default)]
struct Batches {
    inner: TestingSink<String>,
    sizes: Arc<Mutex<Vec<usize>>>,
}

struct BatchesWriter {
    inner: Box<dyn SinkPartition<String>>,
    sizes: Arc<Mutex<Vec<usize>>>,
}

impl Sink<String> for Batches {
    fn build(
        &self,
        w: usize,
        n: usize,
    ) -> eddy::Result<Box<dyn SinkPartition<String>>, eddy::ConnectorError> {
        Ok(Box::new(BatchesWriter {
            inner: self.inner.build(w, n)?,
            sizes: self.sizes.clone(),
        }))
    }
}

impl SinkPartition<String> for BatchesWriter {
    fn write_batch(&mut self, items: &mut Vec<String>) -> eddy::Result<(), eddy::ConnectorError> {
        self.sizes.lock().expect("sizes").push(items.len());
        self.inner.write_batch(items)
    }

    fn close(&mut self) -> eddy::Result<(), eddy::ConnectorError> {
        self.inner.close()
    }
}

/// `KEYS` keys with `per_key` values each, interleaved.
fn items(per_key: usize) -> Vec<(String, u64)> {
    (0..KEYS * per_key)
        .map(|i| (format!("k{}", i % KEYS), i as u64))
        .collect()
}

/// Per key: its count (a `_final` fold, all of it emitted at end of input);
/// then, keyed by count modulo 7, the sum of the keys' counts (a second
/// keyed step that only learns its values from the first one's end of
/// input), to its own output: an output fed by both would have to hold the
/// first step's rows until the second has finished, since the second's may
/// come before any of them.
fn counts_flow<S: Sink<String> + 'static>(
    config: &RunConfig,
    per_key: usize,
    sink: impl Fn() -> S + Send + Sync + 'static,
    sums_sink: TestingSink<String>,
) -> eddy::Result<()> {
    let items = items(per_key);
    run("eof", config, move |flow| {
        let source = TestingSource::partitioned(vec![items.clone()]).batch_size(500);
        let by_key = flow
            .input("inp", source)
            .key_on("key", |(k, _): &(String, u64)| k.clone());
        let counts = by_key.fold_final("count", || 0u64, |n, _| n + 1);
        let sums = counts
            .key_on("by_mod", |(_, n): &(String, u64)| format!("m{}", n % 7))
            .fold_final("sum", || 0u64, |s, (_, n)| s + n);
        let count_rows = counts.map("count_fmt", |(k, n)| format!("count {k} {n}"));
        let sum_rows = sums.map("sum_fmt", |(m, s)| format!("sum {m} {s}"));
        count_rows.output("out", sink());
        sum_rows.output("sums_out", sums_sink.clone());
        Ok(())
    })
}

#[test]
fn end_of_input_rows_reach_the_output_in_slices_not_in_one_burst() {
    let sink = Batches::default();
    let sums = TestingSink::new();
    counts_flow(
        &RunConfig::workers(1),
        1,
        {
            let sink = sink.clone();
            move || sink.clone()
        },
        sums.clone(),
    )
    .expect("run");
    assert_eq!(sink.inner.take().len(), KEYS, "a count per key");
    assert_eq!(sums.take(), vec![format!("sum m1 {KEYS}")]);
    let sizes = sink.sizes.lock().expect("sizes").clone();
    assert_eq!(sizes.iter().sum::<usize>(), KEYS);
    // Every row is an end-of-input row; before, they were written in one
    // batch once the last key had closed.
    let largest = sizes.iter().copied().max().unwrap_or(0);
    assert!(
        sizes.len() >= 3 && largest <= KEYS / 2,
        "end-of-input rows written in {} batches, the largest {largest}",
        sizes.len()
    );
}

#[test]
fn end_of_input_rows_and_their_order_are_the_same_for_1_2_and_4_workers() {
    let (one, sums) = (TestingSink::new(), TestingSink::new());
    counts_flow(
        &RunConfig::workers(1),
        3,
        {
            let one = one.clone();
            move || one.clone()
        },
        sums.clone(),
    )
    .expect("run -w1");
    let one = one.take();
    assert_eq!(sums.take(), vec![format!("sum m3 {}", KEYS * 3)]);
    let mut expected: Vec<String> = (0..KEYS).map(|k| format!("count k{k} 3")).collect();
    let mut sorted = one.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected);
    for workers in [2, 4] {
        let (sink, sums) = (TestingSink::new(), TestingSink::new());
        counts_flow(
            &RunConfig::workers(workers),
            3,
            {
                let sink = sink.clone();
                move || sink.clone()
            },
            sums.clone(),
        )
        .expect("run");
        assert!(
            sink.take() == one,
            "-w {workers}: not the rows of -w 1 in the same order"
        );
        assert_eq!(sums.take(), vec![format!("sum m3 {}", KEYS * 3)], "-w {workers}");
    }
}

#[test]
fn a_crash_in_the_middle_of_the_end_of_input_burst_resumes_to_the_same_rows() {
    let reference = TestingSink::new();
    counts_flow(
        &RunConfig::workers(1),
        2,
        {
            let r = reference.clone();
            move || r.clone()
        },
        TestingSink::new(),
    )
    .expect("reference run");
    let reference = reference.take();

    let dir = tempfile::tempdir().expect("tempdir");
    init_store(dir.path()).expect("init");
    let (sink, sums) = (TestingSink::new(), TestingSink::new());
    let recovery = RecoveryConfig {
        snapshot_interval: Duration::from_millis(0),
        ..RecoveryConfig::new(dir.path())
    };
    // Every row is an end-of-input row: the first run dies halfway
    // through them, on 2 workers; the second resumes on 3.
    let budget = Arc::new(AtomicI64::new((KEYS / 2) as i64));
    let crashing = {
        let sink = sink.clone();
        move || Crashing {
            inner: sink.clone(),
            budget: budget.clone(),
        }
    };
    let first = counts_flow(
        &RunConfig::workers(2).with_recovery(recovery.clone()),
        2,
        crashing,
        sums.clone(),
    );
    let err = first.expect_err("the sink fails halfway through the burst");
    assert!(err.to_string().contains("simulated disk full"), "{err}");
    assert!(has_complete_snapshot(dir.path()), "a snapshot to resume from");
    counts_flow(
        &RunConfig::workers(3).with_recovery(recovery),
        2,
        {
            let sink = sink.clone();
            move || sink.clone()
        },
        sums.clone(),
    )
    .expect("resumed run");
    assert!(sink.take() == reference, "the resumed run's rows differ");
    assert_eq!(sums.take(), vec![format!("sum m2 {}", KEYS * 2)]);
}
