//! Timely's exchange for keyed steps must send every key to worker
//! `route_hash(key) % workers` (`eddy::owner`): recovery
//! reloads each key's state on that worker after a rescale, so a keyed
//! step that received a key anywhere else would run without its state.

use eddy::owner;
use eddy::testing::{TestingSink, TestingSource};
use eddy::{run, Key, RunConfig};

/// Runs a keyed step over `keys` (spread over several partitions, so they
/// start on every worker) with `workers` workers; returns, for each value,
/// its key and the worker the keyed step saw it on.
fn seen_on<K: Key>(keys: Vec<K>, workers: usize) -> Vec<(K, usize)> {
    let parts: Vec<Vec<(K, u32)>> = (0..5)
        .map(|p| {
            keys.iter()
                .enumerate()
                .filter(|(i, _)| i % 5 == p)
                .map(|(i, k)| (k.clone(), i as u32))
                .collect()
        })
        .collect();
    let sink = TestingSink::new();
    let out = sink.clone();
    run("routing", &RunConfig::workers(workers), move |flow| {
        let worker = flow.ctx().worker();
        flow.input("inp", TestingSource::partitioned(parts.clone()).batch_size(3))
            .stateful_map("where", move |_: &mut Option<()>, _v: u32| worker)
            .output("out", out.clone());
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{workers} workers: {e}"));
    sink.take()
}

fn check<K: Key + std::fmt::Debug>(keys: Vec<K>) {
    // 3: timely routes by `hash % peers`; 4: by `hash & (peers - 1)`.
    for workers in [3, 4] {
        let seen = seen_on(keys.clone(), workers);
        assert_eq!(seen.len(), keys.len(), "{workers} workers: one value per key");
        let mut used = vec![false; workers];
        for (key, worker) in &seen {
            let expected = owner(key.route_hash(), workers);
            assert_eq!(
                *worker, expected,
                "{workers} workers: key {key:?} went to worker {worker}"
            );
            used[*worker] = true;
        }
        assert!(
            used.iter().all(|u| *u),
            "{workers} workers: every worker owns some key"
        );
    }
}

#[test]
fn keyed_steps_run_each_key_on_route_hash_mod_workers() {
    check((0..200).map(|i| format!("user-{i}")).collect::<Vec<String>>());
    check((0..200u64).map(|i| i * 7919).collect::<Vec<u64>>());
}
