//! The recovery store: one SQLite file (`recovery.sqlite3`) in the recovery
//! directory, shared by every worker of every process (each worker has its
//! own connection).
//!
//! Tables: `meta` (format, dataflow id, run fingerprint), `inputs` (each
//! input's record, as its connector made it when the run started afresh:
//! a name, a summary and opaque bytes, compared at every resume), `epochs` (one row per announced snapshot: its progress
//! mark and how many parts make it complete) and `parts` (one checksummed
//! blob per epoch, step and worker).
//! A snapshot is complete when all its parts are there; resuming uses the
//! latest complete one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::connectors::{InputRecord, RecordedInput};
use crate::error::{CodecError, Owner, RecoveryError};

/// The store's results: a [`RecoveryError`] names the store and the case.
pub type Result<T, E = RecoveryError> = std::result::Result<T, E>;

/// The file name of the store inside the recovery directory.
pub const STORE_FILE: &str = "recovery.sqlite3";

/// Marks an eddy store (SQLite `application_id`: "EDDY").
const APPLICATION_ID: i64 = 0x4544_4459;
/// The store's format version (SQLite `user_version`). Version 2 added the
/// `inputs` table; version 3 is the compact per-key window state (the
/// session windower without its gap, the session accumulators' `u32`
/// counts and relative pending times); version 4 adds to each key's event
/// clock the input's progress when its watermark was set (windows close as
/// the input advances); version 5 records each input's whole-content hash:
/// a store of an older version holds states this build cannot read (or
/// inputs it cannot check), so it is refused when opened; version 6 keeps
/// opaque input records (each connector's own).
pub const STORE_VERSION: i64 = 6;

/// How long a writer waits for another worker's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// One announced snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochRow {
    /// Sequence number, from 1.
    pub epoch: u64,
    /// The progress mark of the cut (`u64::MAX`: end of input).
    pub mark: u64,
    /// Parts that make it complete.
    pub expected: u64,
    /// Parts written.
    pub written: u64,
    /// Bytes in its parts.
    pub bytes: u64,
    /// Workers of the run that wrote it.
    pub workers: u64,
    /// When it was announced, ms since the Unix epoch.
    pub created_ms: i64,
}

impl EpochRow {
    /// Whether every part is there.
    pub fn complete(&self) -> bool {
        self.written == self.expected
    }
}

/// An open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// Whether the store file exists and is empty (0 bytes, no write-ahead
/// log that could hold its pages).
fn is_empty_store(path: &Path) -> bool {
    let empty = |p: &Path| std::fs::metadata(p).map_or(true, |m| m.len() == 0);
    path.is_file() && empty(path) && empty(&wal_file(path, "-wal"))
}

/// SQLite's `-wal` or `-shm` file next to the store.
fn wal_file(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// SQLite's error `e` on the store `path`: [`RecoveryError::Damaged`] when
/// SQLite finds no database or a corrupt one there, else
/// [`RecoveryError::Sqlite`]. Either way `e` is the source.
fn sqlite(path: &Path, e: rusqlite::Error) -> RecoveryError {
    use rusqlite::ffi::ErrorCode::{DatabaseCorrupt, NotADatabase};
    match e.sqlite_error_code() {
        Some(NotADatabase | DatabaseCorrupt) => RecoveryError::Damaged {
            path: path.to_path_buf(),
            detail: "the recovery store is damaged: SQLite cannot read it".into(),
            source: Some(Box::new(e)),
        },
        _ => RecoveryError::Sqlite {
            path: path.to_path_buf(),
            source: e,
        },
    }
}

/// An I/O error on a file of the recovery directory.
fn io(path: &Path, error: std::io::Error) -> RecoveryError {
    RecoveryError::Io {
        path: path.to_path_buf(),
        error,
    }
}

impl Store {
    /// The store file of `dir`.
    pub fn file(dir: &Path) -> PathBuf {
        dir.join(STORE_FILE)
    }

    /// Creates a new, empty store in `dir` (creating `dir`). An existing
    /// store is an error: it may hold a run's state. An empty (0-byte) file
    /// holds none: it is replaced.
    pub fn init(dir: &Path) -> Result<PathBuf> {
        let path = Self::file(dir);
        if is_empty_store(&path) {
            for stale in [path.clone(), wal_file(&path, "-wal"), wal_file(&path, "-shm")] {
                match std::fs::remove_file(&stale) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(&stale, e)),
                }
            }
        }
        if path.exists() {
            return Err(RecoveryError::Exists { path });
        }
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let conn = Connection::open(&path).map_err(|e| sqlite(&path, e))?;
        conn.execute_batch(&format!(
            "PRAGMA page_size = 65536;
             PRAGMA application_id = {APPLICATION_ID};
             PRAGMA user_version = {STORE_VERSION};
             PRAGMA journal_mode = WAL;
             BEGIN;
             CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE inputs (idx INTEGER PRIMARY KEY, name TEXT NOT NULL, summary TEXT NOT NULL,
                 data BLOB NOT NULL);
             CREATE TABLE epochs (epoch INTEGER PRIMARY KEY, mark INTEGER NOT NULL,
                 expected INTEGER NOT NULL, workers INTEGER NOT NULL, created_ms INTEGER NOT NULL);
             CREATE TABLE parts (epoch INTEGER NOT NULL, step TEXT NOT NULL, worker INTEGER NOT NULL,
                 data BLOB NOT NULL, PRIMARY KEY (epoch, step, worker));
             COMMIT;"
        ))
        .map_err(|e| sqlite(&path, e))?;
        Ok(path)
    }

    /// Opens the store in `dir` and checks that it is an eddy store of this
    /// version. `check` also verifies every page (`PRAGMA quick_check`).
    pub fn open(dir: &Path, check: bool) -> Result<Store> {
        let path = Self::file(dir);
        if !path.is_file() {
            return Err(RecoveryError::Missing {
                dir: dir.to_path_buf(),
                path,
            });
        }
        if is_empty_store(&path) {
            return Err(RecoveryError::Empty {
                dir: dir.to_path_buf(),
                path,
            });
        }
        let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_WRITE)
            .map_err(|e| sqlite(&path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| sqlite(&path, e))?;
        let store = Store { conn, path };
        store.check_header(check)?;
        Ok(store)
    }

    /// The value of a one-row `PRAGMA`.
    fn pragma<T: rusqlite::types::FromSql>(&self, name: &str) -> Result<T> {
        self.conn
            .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    fn check_header(&self, check: bool) -> Result<()> {
        if self.pragma::<i64>("application_id")? != APPLICATION_ID {
            return Err(RecoveryError::Foreign {
                path: self.path.clone(),
                owner: Owner::NotEddy,
            });
        }
        let version: i64 = self.pragma("user_version")?;
        if version != STORE_VERSION {
            return Err(RecoveryError::OtherVersion {
                path: self.path.clone(),
                found: version,
                expected: STORE_VERSION,
            });
        }
        if check {
            let verdict: String = self.pragma("quick_check")?;
            if verdict != "ok" {
                return Err(RecoveryError::Damaged {
                    path: self.path.clone(),
                    detail: format!("the recovery store is damaged (SQLite's page check: {verdict})"),
                    source: None,
                });
            }
        }
        self.conn
            .execute_batch("PRAGMA synchronous = NORMAL")
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: rusqlite::Error) -> RecoveryError {
        sqlite(&self.path, e)
    }

    /// A `meta` value.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Sets a `meta` value.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Records the run's inputs (replacing any recorded before): what a
    /// resume compares.
    pub fn set_inputs(&self, inputs: &[InputRecord]) -> Result<()> {
        self.transaction(|| {
            self.conn
                .execute("DELETE FROM inputs", [])
                .map_err(|e| self.err(e))?;
            let mut stmt = self
                .conn
                .prepare("INSERT INTO inputs (idx, name, summary, data) VALUES (?1, ?2, ?3, ?4)")
                .map_err(|e| self.err(e))?;
            for (i, input) in inputs.iter().enumerate() {
                stmt.execute(params![i as i64, input.name, input.summary, input.data])
                    .map_err(|e| self.err(e))?;
            }
            Ok(())
        })
    }

    /// The inputs recorded by [`set_inputs`](Self::set_inputs), in input
    /// order.
    pub fn inputs(&self) -> Result<Vec<RecordedInput>> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, summary, data FROM inputs ORDER BY idx")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(RecordedInput {
                    name: r.get(0)?,
                    summary: r.get(1)?,
                    data: r.get(2)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))
    }

    /// Reads every part of `epoch` and checks each with `check` (its step,
    /// worker and bytes); the first error is returned, naming the part.
    pub fn check_parts(
        &self,
        epoch: u64,
        mut check: impl FnMut(&str, usize, &[u8]) -> Result<(), CodecError>,
    ) -> Result<u64> {
        let mut stmt = self
            .conn
            .prepare("SELECT step, worker, data FROM parts WHERE epoch = ?1 ORDER BY step, worker")
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([epoch as i64]).map_err(|e| self.err(e))?;
        let mut count = 0;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let step: String = row.get(0).map_err(|e| self.err(e))?;
            let worker = row.get::<_, i64>(1).map_err(|e| self.err(e))? as usize;
            let data = row.get_ref(2).map_err(|e| self.err(e))?;
            let bytes = data.as_blob().map_err(|e| self.err(e.into()))?;
            check(&step, worker, bytes).map_err(|e| RecoveryError::Damaged {
                path: self.path.clone(),
                detail: format!(
                    "snapshot {epoch}, step {step}, worker {worker}: the snapshot cannot be resumed \
                     (nothing was resumed or truncated)"
                ),
                source: Some(Box::new(e)),
            })?;
            count += 1;
        }
        Ok(count)
    }

    /// Every epoch, oldest first, with its parts counted.
    pub fn epochs(&self) -> Result<Vec<EpochRow>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT e.epoch, e.mark, e.expected, e.workers, e.created_ms,
                        COUNT(p.worker), COALESCE(SUM(LENGTH(p.data)), 0)
                 FROM epochs e LEFT JOIN parts p ON p.epoch = e.epoch
                 GROUP BY e.epoch ORDER BY e.epoch",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(EpochRow {
                    epoch: r.get::<_, i64>(0)? as u64,
                    mark: r.get::<_, i64>(1)? as u64,
                    expected: r.get::<_, i64>(2)? as u64,
                    workers: r.get::<_, i64>(3)? as u64,
                    created_ms: r.get(4)?,
                    written: r.get::<_, i64>(5)? as u64,
                    bytes: r.get::<_, i64>(6)? as u64,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// The latest complete epoch.
    pub fn latest_complete(&self) -> Result<Option<EpochRow>> {
        Ok(self.epochs()?.into_iter().rev().find(EpochRow::complete))
    }

    /// Steps of an epoch: `(step, parts, bytes)`.
    pub fn steps(&self, epoch: u64) -> Result<Vec<(String, u64, u64)>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT step, COUNT(*), SUM(LENGTH(data)) FROM parts WHERE epoch = ?1
                 GROUP BY step ORDER BY step",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([epoch as i64], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// Records a new epoch.
    pub fn add_epoch(
        &self,
        epoch: u64,
        mark: u64,
        expected: u64,
        workers: u64,
        created_ms: i64,
    ) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO epochs (epoch, mark, expected, workers, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    epoch as i64,
                    mark as i64,
                    expected as i64,
                    workers as i64,
                    created_ms
                ],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Writes one part.
    pub fn put_part(&self, epoch: u64, step: &str, worker: usize, data: &[u8]) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO parts (epoch, step, worker, data) VALUES (?1, ?2, ?3, ?4)",
                params![epoch as i64, step, worker as i64, data],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Every part of `step` in `epoch`: `(worker, data)`.
    pub fn parts(&self, epoch: u64, step: &str) -> Result<Vec<(usize, Vec<u8>)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT worker, data FROM parts WHERE epoch = ?1 AND step = ?2 ORDER BY worker")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![epoch as i64, step], |r| {
                Ok((r.get::<_, i64>(0)? as usize, r.get(1)?))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// Deletes the epochs after `epoch` (left incomplete by a crash).
    pub fn drop_after(&self, epoch: u64) -> Result<()> {
        self.conn
            .execute_batch(&format!(
                "BEGIN; DELETE FROM parts WHERE epoch > {e}; DELETE FROM epochs WHERE epoch > {e}; COMMIT;",
                e = epoch as i64
            ))
            .map_err(|e| self.err(e))
    }

    /// Runs `f` in one transaction (committed if it returns `Ok`).
    pub fn transaction(&self, f: impl FnOnce() -> Result<()>) -> Result<()> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.err(e))?;
        match f() {
            Ok(()) => self.conn.execute_batch("COMMIT").map_err(|e| self.err(e)),
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Deletes the epochs before the latest complete one that were
    /// announced at or before `older_than_ms` (the backup interval has
    /// passed; with none, every one: two announced in the same millisecond
    /// used to keep the older).
    pub fn collect_garbage(&self, older_than_ms: i64) -> Result<()> {
        let Some(keep) = self.latest_complete()? else {
            return Ok(());
        };
        self.conn
            .execute(
                "DELETE FROM parts WHERE epoch IN
                   (SELECT epoch FROM epochs WHERE epoch < ?1 AND created_ms <= ?2)",
                params![keep.epoch as i64, older_than_ms],
            )
            .map_err(|e| self.err(e))?;
        self.conn
            .execute(
                "DELETE FROM epochs WHERE epoch < ?1 AND created_ms <= ?2",
                params![keep.epoch as i64, older_than_ms],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }
}
