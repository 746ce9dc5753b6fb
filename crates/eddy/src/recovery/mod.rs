//! Recovery: consistent snapshots of every stateful step, source position
//! and sink, kept in an embedded SQLite store, so that a crashed run resumes
//! with nothing lost and nothing written twice (see `ARCHITECTURE.md`,
//! "Recovery").
//!
//! - [`RecoveryConfig`]: where the store is and how often to snapshot; set
//!   it on [`RunConfig::recovery`](crate::RunConfig).
//! - [`init_store`] creates a store; [`inspect`] describes one.
//! - inside (crate-private): `codec`, the versioned, checksummed part
//!   encoding; `store`, the SQLite tables and their write methods.
//!
//! ```
//! use eddy::recovery::{init_store, inspect, RecoveryConfig};
//! use eddy::testing::{TestingSink, TestingSource};
//! use eddy::{run, RunConfig};
//!
//! let dir = std::env::temp_dir().join(format!("eddy-doc-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! init_store(&dir)?;
//! let config = RunConfig::workers(2).with_recovery(RecoveryConfig::new(&dir));
//! let sink = TestingSink::new();
//! let out = sink.clone();
//! run("sums", &config, move |flow| {
//!     flow.input("inp", TestingSource::new(1..=100i64))
//!         .key_on("parity", |x: &i64| (x % 2).to_string())
//!         .fold_final("sum", || 0i64, |acc, x| acc + x)
//!         .output("out", out.clone());
//!     Ok(())
//! })?;
//! let mut sums = sink.take();
//! sums.sort();
//! assert_eq!(sums, vec![("0".to_string(), 2550), ("1".to_string(), 2500)]);
//! // The end-of-input snapshot is complete: a crash from here on loses nothing.
//! let info = inspect(&dir)?;
//! assert!(info.epochs.last().is_some_and(|e| e.complete() && e.mark == u64::MAX));
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), eddy::EddyError>(())
//! ```

pub(crate) mod codec;
pub(crate) mod store;
pub(crate) mod writer;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::connectors::{InputRecord, RecordedInput};
pub use crate::error::{parameter_changes, CodecError, Owner, RecoveryError};
pub use store::EpochRow;
use store::Result;
pub(crate) use store::Store;

/// Where snapshots go and how often they are taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// The recovery directory (made by [`init_store`]).
    pub dir: PathBuf,
    /// Wall-clock time between snapshots (Bytewax's `-s`).
    pub snapshot_interval: Duration,
    /// How long a snapshot is kept after a newer one is complete (Bytewax's
    /// `backup_interval`): time to copy the store elsewhere.
    pub backup_interval: Duration,
    /// How long a run stopped from outside ([`crate::StopHandle`]) waits for
    /// its last snapshot before it stops without it (one process only; the
    /// previous complete snapshot then stays the one to resume from).
    pub stop_timeout: Duration,
    /// What must not change between a run and its resume: the run's
    /// parameters (inputs, options). A resume with another fingerprint is
    /// refused. Written as `name = value` lines, the refusal names each
    /// parameter that changed and both its values.
    pub fingerprint: String,
    /// What each input's connector says identifies it (files:
    /// [`input_records`](crate::connectors::files::input_records); a Kafka
    /// topic: `connectors::kafka::input_record`): recorded when the run
    /// starts afresh, compared when it resumes. The store keeps the records
    /// without reading them; a resume whose inputs changed in a way their
    /// connector refuses is refused, naming the input and what changed.
    pub inputs: Vec<InputRecord>,
    /// Called once a resume has passed every check (store, dataflow,
    /// fingerprint, inputs, every part of the snapshot), before any output
    /// is reopened: the place to say "resuming from snapshot N".
    pub on_resume: Option<ResumeHook>,
}

/// A callback given the snapshot a run resumes from (see
/// [`RecoveryConfig::on_resume`]).
#[derive(Clone)]
pub struct ResumeHook(Arc<dyn Fn(&EpochRow) + Send + Sync>);

impl ResumeHook {
    /// Calls the hook with the snapshot resumed from.
    pub(crate) fn call(&self, epoch: &EpochRow) {
        (self.0)(epoch);
    }

    /// Wraps `f`.
    pub fn new(f: impl Fn(&EpochRow) + Send + Sync + 'static) -> Self {
        ResumeHook(Arc::new(f))
    }
}

impl std::fmt::Debug for ResumeHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResumeHook(..)")
    }
}

impl PartialEq for ResumeHook {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ResumeHook {}

impl RecoveryConfig {
    /// Snapshots to `dir` every 10 s, keeping no old ones.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        RecoveryConfig {
            dir: dir.into(),
            snapshot_interval: Duration::from_secs(10),
            backup_interval: Duration::ZERO,
            stop_timeout: Duration::from_millis(800),
            fingerprint: String::new(),
            inputs: Vec::new(),
            on_resume: None,
        }
    }

    /// The same, recording and comparing these input identities (see
    /// [`RecoveryConfig::inputs`](struct@RecoveryConfig#structfield.inputs)).
    pub fn inputs(mut self, inputs: Vec<InputRecord>) -> Self {
        self.inputs = inputs;
        self
    }

    /// The same, calling `f` once a resume has passed every check.
    pub fn on_resume(mut self, f: impl Fn(&EpochRow) + Send + Sync + 'static) -> Self {
        self.on_resume = Some(ResumeHook::new(f));
        self
    }
}

/// The store's file in `dir` (it need not exist).
pub fn store_file(dir: &Path) -> PathBuf {
    Store::file(dir)
}

/// Creates an empty recovery store in `dir` and returns its file.
pub fn init_store(dir: &Path) -> Result<PathBuf> {
    Store::init(dir)
}

/// What a store holds, for `recovery inspect`.
#[derive(Debug, Clone)]
pub struct StoreInfo {
    /// The store's file.
    pub path: PathBuf,
    /// The dataflow that wrote it (`None` before the first run).
    pub flow_id: Option<String>,
    /// The run fingerprint it was written with.
    pub fingerprint: Option<String>,
    /// The inputs recorded when its run started.
    pub inputs: Vec<RecordedInput>,
    /// Every epoch kept, oldest first.
    pub epochs: Vec<EpochRow>,
    /// Steps of the latest complete epoch: `(step, parts, bytes)`.
    pub steps: Vec<(String, u64, u64)>,
    /// Size of the store's file.
    pub file_bytes: u64,
}

/// Opens `dir`'s store, verifies it and describes it.
pub fn inspect(dir: &Path) -> Result<StoreInfo> {
    let store = Store::open(dir, true)?;
    let epochs = store.epochs()?;
    let steps = match epochs.iter().rev().find(|e| e.complete()) {
        Some(e) => store.steps(e.epoch)?,
        None => Vec::new(),
    };
    let file_bytes = std::fs::metadata(store.path()).map_or(0, |m| m.len());
    Ok(StoreInfo {
        path: store.path().to_path_buf(),
        flow_id: store.meta("flow_id")?,
        fingerprint: store.meta("fingerprint")?,
        inputs: store.inputs()?,
        epochs,
        steps,
        file_bytes,
    })
}

/// The latest complete snapshot in `dir`'s store: the one a run would
/// resume from (no page check: the run makes it).
pub fn latest_complete(dir: &Path) -> Result<Option<EpochRow>> {
    Store::open(dir, false)?.latest_complete()
}

/// The snapshot a run resumes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResumeFrom {
    /// Its epoch.
    pub epoch: u64,
    /// Its progress mark: state holds exactly the records below it.
    pub mark: u64,
    /// Workers of the run that wrote it.
    pub workers: u64,
}

/// Prepares a run (once per process, before the workers start): checks
/// the store belongs to this dataflow and fingerprint, finds the snapshot
/// to resume from, and either records the inputs (a fresh start, process 0)
/// or checks everything a resume needs before anything is changed: the
/// inputs are the same, and every part of the snapshot is there and intact
/// (checksums). Then (process 0) it drops the incomplete snapshots after
/// the one resumed. It returns the snapshot resumed from, the process's
/// lock on the store, and the snapshot to announce
/// ([`RecoveryConfig::on_resume`]) once the dataflow is built — once every
/// output has checked its state, so that a resume refused by an output
/// never says it resumed.
pub(crate) fn prepare(
    config: &RecoveryConfig,
    flow_id: &str,
    process: usize,
) -> Result<(Option<ResumeFrom>, std::fs::File, Option<EpochRow>)> {
    let store = Store::open(&config.dir, true)?;
    let lock = lock_process(&config.dir, process)?;
    let foreign = |owner| RecoveryError::Foreign {
        path: store.path().to_path_buf(),
        owner,
    };
    match store.meta("flow_id")? {
        Some(id) if id != flow_id => {
            return Err(foreign(Owner::Dataflow {
                theirs: id,
                ours: flow_id.to_owned(),
            }))
        }
        Some(_) => {}
        None if process == 0 => store.set_meta("flow_id", flow_id)?,
        None => {}
    }
    match store.meta("fingerprint")? {
        Some(f) if f != config.fingerprint => {
            return Err(foreign(Owner::Parameters {
                theirs: f,
                ours: config.fingerprint.clone(),
            }))
        }
        Some(_) => {}
        None if process == 0 => store.set_meta("fingerprint", &config.fingerprint)?,
        None => {}
    }
    let latest = store.latest_complete()?;
    match &latest {
        None if process == 0 => store.set_inputs(&config.inputs)?,
        None => {}
        Some(e) => {
            check_inputs(&store.inputs()?, &config.inputs).map_err(|m| RecoveryError::Mismatch {
                detail: format!(
                    "{m}; a resume needs the same inputs: restore them, or start a new run with a new \
                     recovery store (nothing was resumed or truncated)"
                ),
            })?;
            check_snapshot(&store, e)?;
        }
    }
    if process == 0 {
        store.drop_after(latest.as_ref().map_or(0, |e| e.epoch))?;
    }
    let resume = latest.as_ref().map(|e| ResumeFrom {
        epoch: e.epoch,
        mark: e.mark,
        workers: e.workers,
    });
    Ok((resume, lock, latest))
}

/// Reads every part of the snapshot `epoch` and checks its header and
/// checksum, and that all its parts are there: a damaged snapshot is
/// refused before any output is truncated back to it.
fn check_snapshot(store: &Store, epoch: &EpochRow) -> Result<()> {
    let found = store.check_parts(epoch.epoch, |_, _, data| codec::payload(data).map(drop))?;
    if found != epoch.expected {
        return Err(RecoveryError::Damaged {
            path: store.path().to_path_buf(),
            detail: format!(
                "snapshot {} has {found} parts, {} expected: the store was changed outside eddy \
                 (nothing was resumed or truncated)",
                epoch.epoch, epoch.expected
            ),
            source: None,
        });
    }
    Ok(())
}

/// Compares the inputs recorded when the run started (`then`) with the
/// inputs now: `Err` says which changed and how. Each input's connector
/// says which changes refuse a resume ([`InputRecord::refusals`]: every
/// change of a file, an append and a modification time alone included); an
/// input added, removed or moved in the order refuses too.
pub(crate) fn check_inputs(then: &[RecordedInput], now: &[InputRecord]) -> std::result::Result<(), String> {
    let mut problems = Vec::new();
    for old in then {
        match now.iter().find(|n| n.name == old.name) {
            None => problems.push(format!("input {} is no longer among the inputs", old.name)),
            Some(new) => {
                let refusals = new.refusals_since(&old.data);
                if !refusals.is_empty() {
                    problems.push(format!(
                        "input {} changed since the snapshot ({})",
                        old.name,
                        refusals.join("; ")
                    ));
                }
            }
        }
    }
    for new in now {
        if !then.iter().any(|o| o.name == new.name) {
            problems.push(format!(
                "input {} was not among the inputs of the snapshot",
                new.name
            ));
        }
    }
    if problems.is_empty() {
        let then: Vec<&str> = then.iter().map(|i| i.name.as_str()).collect();
        let now: Vec<&str> = now.iter().map(|i| i.name.as_str()).collect();
        if then != now {
            problems.push(format!(
                "the inputs are in another order (then {then:?}, now {now:?})"
            ));
        }
    }
    match problems.len() {
        0 => Ok(()),
        1..=3 => Err(problems.join("; ")),
        n => Err(format!("{}; and {} more", problems[..3].join("; "), n - 3)),
    }
}

/// Takes this process's lock in the recovery directory for the run (the
/// operating system frees it when the process ends, however it ends): a
/// second run of the same process on the same store would corrupt its
/// outputs.
fn lock_process(dir: &Path, process: usize) -> Result<std::fs::File> {
    let path = dir.join(format!("process-{process}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|error| RecoveryError::Io {
            path: path.clone(),
            error,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(RecoveryError::InUse {
            dir: dir.to_path_buf(),
            process,
        }),
        Err(std::fs::TryLockError::Error(error)) => Err(RecoveryError::Io { path, error }),
    }
}

/// One worker's side of recovery: its store connection, the snapshot it
/// resumes from, and the count of parts each of its snapshots has.
pub(crate) struct WorkerRecovery {
    /// For reading the snapshot resumed from.
    pub store: Store,
    pub config: RecoveryConfig,
    pub resume: Option<ResumeFrom>,
    participants: Cell<u64>,
    writer: SyncSender<writer::Msg>,
}

impl WorkerRecovery {
    pub fn open(
        config: &RecoveryConfig,
        resume: Option<ResumeFrom>,
        writer: SyncSender<writer::Msg>,
    ) -> crate::error::Result<Self> {
        Ok(WorkerRecovery {
            store: Store::open(&config.dir, false)?,
            config: config.clone(),
            resume,
            participants: Cell::new(0),
            writer,
        })
    }

    fn send(&self, msg: writer::Msg) -> crate::error::Result<()> {
        self.writer
            .send(msg)
            .map_err(|_| RecoveryError::WriterStopped.into())
    }

    /// Records a new epoch (and lets old ones go).
    pub fn announce(
        &self,
        epoch: u64,
        mark: u64,
        expected: u64,
        workers: u64,
        collect_before_ms: i64,
    ) -> crate::error::Result<()> {
        self.send(writer::Msg::Epoch {
            epoch,
            mark,
            expected,
            workers,
            created_ms: crate::base::now_ms(),
            collect_before_ms,
        })
    }

    /// Hands a sealed part (see [`codec::seal`]) to the writer.
    pub fn save_sealed(
        &self,
        epoch: u64,
        step: &str,
        worker: usize,
        data: Vec<u8>,
    ) -> crate::error::Result<()> {
        self.send(writer::Msg::Part {
            epoch,
            step: step.to_owned(),
            worker,
            data,
        })
    }

    /// Registers a step that writes a part at every snapshot.
    pub fn participate(&self) {
        self.participants.set(self.participants.get() + 1);
    }

    /// Parts per worker in each snapshot.
    pub fn participants(&self) -> u64 {
        self.participants.get()
    }

    /// The first epoch number this run announces.
    pub fn next_epoch(&self) -> u64 {
        self.resume.map_or(1, |r| r.epoch + 1)
    }

    /// The resume mark (records below it are in the snapshot).
    pub fn resume_mark(&self) -> Option<u64> {
        self.resume.map(|r| r.mark)
    }

    /// Writes this worker's part of `step` for `epoch`.
    pub fn save<T: Serialize + ?Sized>(
        &self,
        epoch: u64,
        step: &str,
        worker: usize,
        value: &T,
    ) -> crate::error::Result<()> {
        let data = codec::encode(value).map_err(|source| RecoveryError::Codec {
            step: step.to_owned(),
            what: "its state cannot be saved".into(),
            source,
        })?;
        // Through the writer thread like every part: it alone writes the
        // store, and it knows when an epoch is complete.
        self.save_sealed(epoch, step, worker, data)
    }

    /// Every worker's part of `step` in the snapshot resumed from (empty
    /// when not resuming). A snapshot without parts for the step means the
    /// dataflow changed: an error.
    pub fn load<T: DeserializeOwned>(&self, step: &str) -> crate::error::Result<Vec<(usize, T)>> {
        self.load_with(step, |data| codec::decode(data))
    }

    /// Every worker's part of `step`, decoded by `decode`.
    fn load_with<T>(
        &self,
        step: &str,
        decode: impl Fn(&[u8]) -> crate::error::Result<T, CodecError>,
    ) -> crate::error::Result<Vec<(usize, T)>> {
        let Some(resume) = self.resume else {
            return Ok(Vec::new());
        };
        let parts = self.store.parts(resume.epoch, step)?;
        if parts.is_empty() {
            return Err(RecoveryError::Mismatch {
                detail: format!(
                    "{}: snapshot {} has no state for step {step}: the dataflow changed since it was written",
                    self.store.path().display(),
                    resume.epoch
                ),
            }
            .into());
        }
        parts
            .into_iter()
            .map(|(worker, data)| {
                decode(&data)
                    .map(|v| (worker, v))
                    .map_err(|source| RecoveryError::Codec {
                        step: step.to_owned(),
                        what: format!(
                            "{}: snapshot {}, worker {worker}",
                            self.store.path().display(),
                            resume.epoch
                        ),
                        source,
                    })
            })
            .collect::<Result<_>>()
            .map_err(Into::into)
    }

    /// The keyed states of `step` whose keys this worker owns (`owns`: the
    /// engine's routing rule; recovery does not know it): each part is a run
    /// of framed `(key, state)` pairs.
    pub fn load_keyed<K: DeserializeOwned>(
        &self,
        step: &str,
        owns: impl Fn(&K) -> bool,
    ) -> crate::error::Result<Vec<(K, Vec<u8>)>> {
        let parts = self.load_with(step, |data| {
            let mut body = codec::payload(data)?;
            let mut mine = Vec::new();
            while !body.is_empty() {
                let key: K = codec::decode_value(codec::unframe(&mut body)?)?;
                let state = codec::unframe(&mut body)?;
                if owns(&key) {
                    mine.push((key, state.to_vec()));
                }
            }
            Ok(mine)
        })?;
        Ok(parts.into_iter().flat_map(|(_, states)| states).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::tests::report;

    use crate::connectors::files::InputIdentity;

    /// A file's identity.
    fn file(path: &str, size: u64) -> InputIdentity {
        InputIdentity {
            path: path.into(),
            size,
            modified_ns: 1_700_000_000_000_000_000,
            head: 1,
            tail: 2,
            boundaries: vec![(16, 3)],
            content: u64::MAX - 4,
        }
    }

    fn id(path: &str, size: u64) -> InputRecord {
        file(path, size).record()
    }

    /// What the store gives back of `records`.
    fn stored(records: &[InputRecord]) -> Vec<RecordedInput> {
        records.iter().map(RecordedInput::from).collect()
    }

    #[test]
    fn the_same_inputs_pass() {
        let then = vec![id("a.log", 10), id("b.log", 20)];
        assert_eq!(check_inputs(&stored(&then), &then), Ok(()));
        assert_eq!(check_inputs(&[], &[]), Ok(()));
    }

    #[test]
    fn every_change_is_refused_naming_the_file() {
        let then = vec![id("a.log", 10), id("logs.jsonl", 1234)];
        let grown = vec![id("a.log", 10), id("logs.jsonl", 1300)];
        let e = check_inputs(&stored(&then), &grown).unwrap_err();
        assert_eq!(
            e,
            "input logs.jsonl changed since the snapshot (size 1234 → 1300 bytes: it grew)"
        );
        let same_size = vec![
            id("a.log", 10),
            InputIdentity {
                head: 9,
                ..file("logs.jsonl", 1234)
            }
            .record(),
        ];
        let e = check_inputs(&stored(&then), &same_size).unwrap_err();
        assert!(
            e.contains("input logs.jsonl changed") && e.contains("first 1234 bytes differ"),
            "{e}"
        );
        let middle = vec![
            InputIdentity {
                boundaries: vec![(16, 7)],
                ..file("a.log", 10)
            }
            .record(),
            id("logs.jsonl", 1234),
        ];
        let e = check_inputs(&stored(&then), &middle).unwrap_err();
        assert!(
            e.contains("input a.log changed") && e.contains("chunk start(s) 16"),
            "{e}"
        );
    }

    #[test]
    fn a_touched_file_is_refused_with_the_time_to_restore() {
        let then = vec![id("a.log", 10)];
        let touched = vec![InputIdentity {
            modified_ns: file("a.log", 10).modified_ns + 5_000_000_000,
            ..file("a.log", 10)
        }
        .record()];
        let e = check_inputs(&stored(&then), &touched).unwrap_err();
        assert!(
            e.starts_with("input a.log changed since the snapshot (modification time "),
            "{e}"
        );
        assert!(e.contains("`touch -m -d @1700000000.000000000 a.log`"), "{e}");
    }

    #[test]
    fn files_added_removed_or_reordered_are_refused() {
        let then = vec![id("a.log", 10), id("b.log", 20)];
        let e = check_inputs(&stored(&then), &then[..1]).unwrap_err();
        assert_eq!(e, "input b.log is no longer among the inputs");
        let e = check_inputs(&stored(&then[..1]), &then).unwrap_err();
        assert_eq!(e, "input b.log was not among the inputs of the snapshot");
        let swapped = vec![then[1].clone(), then[0].clone()];
        let e = check_inputs(&stored(&then), &swapped).unwrap_err();
        assert!(e.starts_with("the inputs are in another order"), "{e}");
        let many: Vec<_> = (0..5).map(|i| id(&format!("f{i}"), 1)).collect();
        let e = check_inputs(&stored(&many), &[]).unwrap_err();
        assert!(e.ends_with("and 2 more"), "{e}");
    }

    #[test]
    fn a_store_keeps_input_identities_and_names_an_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = init_store(dir.path()).unwrap();
        let store = Store::open(dir.path(), true).unwrap();
        let ids = vec![
            id("a.log", 10),
            InputIdentity {
                boundaries: vec![],
                ..file("b.log", 0)
            }
            .record(),
        ];
        store.set_inputs(&ids).unwrap();
        assert_eq!(store.inputs().unwrap(), stored(&ids));
        store.set_inputs(&ids[1..]).unwrap();
        assert_eq!(store.inputs().unwrap(), stored(&ids[1..]));
        drop(store);

        std::fs::write(&path, b"").unwrap();
        let e = Store::open(dir.path(), true).err().unwrap();
        assert!(
            matches!(&e, RecoveryError::Empty { path: p, .. } if p == &path),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .contains("recovery.sqlite3 is empty (0 bytes): it was never initialised or was truncated"),
            "{e}"
        );
        // `init` replaces an empty store.
        init_store(dir.path()).unwrap();
        assert!(Store::open(dir.path(), true).is_ok());
        assert!(init_store(dir.path()).is_err(), "a real store is never replaced");
    }

    #[test]
    fn an_older_store_is_named_as_such() {
        // Version 2: the window state before it was made compact (a
        // session windower with its gap, `u64` session counts).
        for old in [1, 2, 3, 4] {
            let dir = tempfile::tempdir().unwrap();
            let path = init_store(dir.path()).unwrap();
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch(&format!("PRAGMA user_version = {old}"))
                .unwrap();
            drop(conn);
            let e = Store::open(dir.path(), true).err().unwrap();
            assert!(
                matches!(&e, RecoveryError::OtherVersion { path: p, found, expected: 6 } if p == &path && *found == old),
                "{e:?}"
            );
            assert!(
                e.to_string().contains(&format!(
                    "format version {old}; this build reads version 6; it was made by an older build"
                )),
                "{e}"
            );
        }
    }

    /// The run parameters of the tests below.
    fn config(dir: &Path) -> RecoveryConfig {
        RecoveryConfig {
            fingerprint: "v1".into(),
            ..RecoveryConfig::new(dir)
        }
    }

    #[test]
    fn a_missing_store_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let nowhere = dir.path().join("nowhere");
        let e = prepare(&config(&nowhere), "f", 0).err().unwrap();
        assert!(
            matches!(&e, RecoveryError::Missing { dir, path } if dir == &nowhere && path == &store_file(&nowhere)),
            "{e:?}"
        );
        assert!(matches!(inspect(&nowhere), Err(RecoveryError::Missing { .. })));
    }

    #[test]
    fn a_store_of_another_flow_is_foreign() {
        let dir = tempfile::tempdir().unwrap();
        init_store(dir.path()).unwrap();
        drop(prepare(&config(dir.path()), "flow_a", 0).unwrap());
        let e = prepare(&config(dir.path()), "flow_b", 0).err().unwrap();
        assert!(
            matches!(&e, RecoveryError::Foreign { owner: Owner::Dataflow { theirs, ours }, .. }
                if theirs == "flow_a" && ours == "flow_b"),
            "{e:?}"
        );
        let other = RecoveryConfig {
            fingerprint: "v2".into(),
            ..config(dir.path())
        };
        let e = prepare(&other, "flow_a", 0).err().unwrap();
        assert!(
            matches!(&e, RecoveryError::Foreign { owner: Owner::Parameters { theirs, ours }, .. }
                if theirs == "v1" && ours == "v2"),
            "{e:?}"
        );
        // Another application's SQLite database.
        let foreign = tempfile::tempdir().unwrap();
        let conn = rusqlite::Connection::open(store_file(foreign.path())).unwrap();
        conn.execute_batch("CREATE TABLE t (x);").unwrap();
        drop(conn);
        let e = inspect(foreign.path()).err().unwrap();
        assert!(
            matches!(
                e,
                RecoveryError::Foreign {
                    owner: Owner::NotEddy,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn a_corrupted_sqlite_file_is_damaged_with_sqlite_as_source() {
        let dir = tempfile::tempdir().unwrap();
        let path = init_store(dir.path()).unwrap();
        std::fs::write(&path, [0xA5u8; 8192]).unwrap();
        let e = inspect(dir.path()).err().unwrap();
        assert!(
            matches!(&e, RecoveryError::Damaged { path: p, .. } if p == &path),
            "{e:?}"
        );
        let source = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<rusqlite::Error>());
        assert_eq!(
            source.and_then(rusqlite::Error::sqlite_error_code),
            Some(rusqlite::ErrorCode::NotADatabase),
            "{e:?}"
        );
        // The run's error keeps the chain: SQLite's text is printed once.
        let run_error = crate::EddyError::from(e);
        let text = report(&run_error);
        assert_eq!(text.matches("file is not a database").count(), 1, "{text}");
        assert!(text.starts_with(&format!("{}: ", path.display())), "{text}");
    }

    #[test]
    fn a_damaged_part_is_damaged_with_the_codec_error_as_source() {
        let dir = tempfile::tempdir().unwrap();
        init_store(dir.path()).unwrap();
        let store = Store::open(dir.path(), true).unwrap();
        store.add_epoch(1, 10, 1, 1, 0).unwrap();
        let mut part = codec::encode(&vec![1u64, 2, 3]).unwrap();
        *part.last_mut().unwrap() ^= 1;
        store.put_part(1, "f.sum", 0, &part).unwrap();
        let epoch = store.latest_complete().unwrap().unwrap();
        let e = check_snapshot(&store, &epoch).err().unwrap();
        let source = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<CodecError>());
        assert!(
            matches!(e, RecoveryError::Damaged { .. }) && matches!(source, Some(CodecError::Checksum)),
            "{e:?}"
        );
    }

    #[test]
    fn a_store_locked_by_a_live_run_is_in_use() {
        let dir = tempfile::tempdir().unwrap();
        init_store(dir.path()).unwrap();
        // The first run holds its process lock until its guard is dropped.
        let (_, lock, _) = prepare(&config(dir.path()), "f", 0).unwrap();
        let e = prepare(&config(dir.path()), "f", 0).err().unwrap();
        assert!(
            matches!(&e, RecoveryError::InUse { dir: d, process: 0 } if d == dir.path()),
            "{e:?}"
        );
        // Another process id has its own lock; the first run's end frees it.
        assert!(prepare(&config(dir.path()), "f", 1).is_ok());
        drop(lock);
        assert!(prepare(&config(dir.path()), "f", 0).is_ok());
    }

    #[test]
    fn an_sqlite_failure_keeps_rusqlite_as_source() {
        let dir = tempfile::tempdir().unwrap();
        init_store(dir.path()).unwrap();
        let store = Store::open(dir.path(), true).unwrap();
        // A statement SQLite refuses: the store is fine, the call is not.
        let e = store.transaction(|| store.transaction(|| Ok(()))).err().unwrap();
        assert!(matches!(&e, RecoveryError::Sqlite { .. }), "{e:?}");
        let source = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<rusqlite::Error>());
        assert!(
            matches!(source, Some(rusqlite::Error::SqliteFailure(..))),
            "{e:?}"
        );
        assert!(
            !e.to_string().contains("transaction"),
            "the cause is not flattened: {e}"
        );
    }
}
