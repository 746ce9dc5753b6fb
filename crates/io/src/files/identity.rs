//! What an input file was when a run started: enough to tell, when the run
//! resumes after a crash, that it is still the same file.
//!
//! A resume re-reads the inputs from the positions in its snapshot; if a
//! file changed in between, the resumed run would mix rows of the old file
//! (in its state) with rows of the new one. An [`InputIdentity`] is the
//! size, the modification time and an xxh3 hash of the whole contents
//! (one sequential read of every input when a resumable run starts or
//! resumes): any change of any byte refuses the resume, whatever was done
//! to the modification time. Hashes of the first and last [`EDGE_BYTES`]
//! and of the [`BOUNDARY_BYTES`] on each side of every chunk start (what
//! decides which chunk owns the lines there) are kept beside it, to say
//! where a change is when it is there.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use xxhash_rust::xxh3::Xxh3;

use super::chunks::{plan, Part};
use crate::{ConnectorError, InputRecord, Result};

/// Bytes hashed at the start and at the end of a file.
pub const EDGE_BYTES: u64 = 64 * 1024;

/// Bytes hashed on each side of a chunk start.
pub const BOUNDARY_BYTES: u64 = 4 * 1024;

/// The identity of one input file (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputIdentity {
    /// The path, as the inputs list it (UTF-8).
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its modification time, in nanoseconds since the Unix epoch.
    pub modified_ns: i64,
    /// xxh3 of its first `min(size, EDGE_BYTES)` bytes.
    pub head: u64,
    /// xxh3 of its last `min(size, EDGE_BYTES)` bytes.
    pub tail: u64,
    /// For each chunk start after the first: `(start, xxh3 of the bytes in
    /// [start - BOUNDARY_BYTES, start + BOUNDARY_BYTES))`, clipped to the
    /// file.
    pub boundaries: Vec<(u64, u64)>,
    /// xxh3 of the whole file.
    pub content: u64,
}

impl InputIdentity {
    /// The identity of the regular file at `path`, with the chunk starts
    /// `starts` (each below the file's size). Anything but a regular file
    /// is an error: it cannot be read again after a crash.
    pub fn of(path: &Path, starts: &[u64]) -> Result<InputIdentity> {
        let err = |e| ConnectorError::io(path, e);
        let name = path.to_str().ok_or_else(|| {
            err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "path is not valid UTF-8",
            ))
        })?;
        // Looked at before it is opened: opening a FIFO would wait for a
        // writer.
        let meta = std::fs::metadata(path).map_err(err)?;
        if !meta.is_file() {
            return Err(err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "{} cannot be read again after a crash; a resumable run needs regular files",
                    kind_of(&meta)
                ),
            )));
        }
        let mut file = File::open(path).map_err(err)?;
        let meta = file.metadata().map_err(err)?;
        let size = meta.len();
        let modified_ns = match meta
            .modified()
            .map_err(err)?
            .duration_since(std::time::UNIX_EPOCH)
        {
            Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
        };
        let edge = EDGE_BYTES.min(size);
        let head = hash_range(&mut file, 0, edge).map_err(err)?;
        let tail = hash_range(&mut file, size - edge, size).map_err(err)?;
        let mut boundaries = Vec::with_capacity(starts.len());
        for &start in starts {
            let (from, to) = (
                start.saturating_sub(BOUNDARY_BYTES),
                start.saturating_add(BOUNDARY_BYTES).min(size),
            );
            boundaries.push((start, hash_range(&mut file, from, to).map_err(err)?));
        }
        let content = hash_range(&mut file, 0, size).map_err(err)?;
        Ok(InputIdentity {
            path: name.to_owned(),
            size,
            modified_ns,
            head,
            tail,
            boundaries,
            content,
        })
    }

    /// What differs in `now` from this identity (the same file, as it is
    /// now), in words; empty when nothing does.
    pub fn changes(&self, now: &InputIdentity) -> Vec<String> {
        let mut out = Vec::new();
        if self.size != now.size {
            let how = if now.size > self.size {
                "it grew"
            } else {
                "it shrank"
            };
            out.push(format!("size {} → {} bytes: {how}", self.size, now.size));
        }
        if self.head != now.head {
            out.push(format!("its first {} bytes differ", EDGE_BYTES.min(now.size)));
        }
        if self.size == now.size && self.tail != now.tail {
            out.push(format!("its last {} bytes differ", EDGE_BYTES.min(now.size)));
        }
        if self.size == now.size {
            let moved: Vec<String> = self
                .boundaries
                .iter()
                .zip(&now.boundaries)
                .filter(|(a, b)| a != b)
                .map(|((start, _), _)| start.to_string())
                .collect();
            if !moved.is_empty() || self.boundaries.len() != now.boundaries.len() {
                out.push(format!(
                    "the bytes around chunk start(s) {} differ",
                    moved.join(", ")
                ));
            }
        }
        if self.size == now.size && out.is_empty() && self.content != now.content {
            out.push("its contents differ (xxh3 of the whole file)".to_owned());
        }
        if self.modified_ns != now.modified_ns {
            out.push(format!(
                "modification time {} → {}",
                show_time(self.modified_ns),
                show_time(now.modified_ns)
            ));
        }
        out
    }
}

impl InputIdentity {
    /// This identity as the record a recovery store keeps (named by its
    /// path; every change refuses a resume).
    pub fn record(&self) -> InputRecord {
        let mut data = Vec::with_capacity(48 + 16 * self.boundaries.len());
        for word in [
            self.size,
            self.modified_ns as u64,
            self.head,
            self.tail,
            self.content,
        ] {
            data.extend_from_slice(&word.to_le_bytes());
        }
        for (start, hash) in &self.boundaries {
            data.extend_from_slice(&start.to_le_bytes());
            data.extend_from_slice(&hash.to_le_bytes());
        }
        data.extend_from_slice(self.path.as_bytes());
        data.extend_from_slice(&(self.path.len() as u64).to_le_bytes());
        InputRecord {
            name: self.path.clone(),
            summary: format!("{} bytes, modified {}", self.size, show_time(self.modified_ns)),
            data,
            refusals: file_refusals,
        }
    }

    /// The identity [`InputIdentity::record`] encoded (`None`: not one).
    pub fn from_record(data: &[u8]) -> Option<InputIdentity> {
        let word = |at: usize| -> Option<u64> {
            let b = data.get(at..at + 8)?;
            let mut w = [0u8; 8];
            w.copy_from_slice(b);
            Some(u64::from_le_bytes(w))
        };
        let path_len = usize::try_from(word(data.len().checked_sub(8)?)?).ok()?;
        let path_at = data.len().checked_sub(8 + path_len)?;
        let path = std::str::from_utf8(data.get(path_at..path_at + path_len)?).ok()?;
        let pairs = path_at.checked_sub(40)?;
        if pairs % 16 != 0 {
            return None;
        }
        let boundaries = (0..pairs / 16)
            .map(|i| Some((word(40 + 16 * i)?, word(48 + 16 * i)?)))
            .collect::<Option<Vec<_>>>()?;
        Some(InputIdentity {
            path: path.to_owned(),
            size: word(0)?,
            modified_ns: word(8)? as i64,
            head: word(16)?,
            tail: word(24)?,
            content: word(32)?,
            boundaries,
        })
    }
}

/// [`InputRecord::refusals`] of a file: every change, with the `touch`
/// that restores a modification time when only that changed.
fn file_refusals(then: &[u8], now: &[u8]) -> Vec<String> {
    let (Some(then), Some(now)) = (InputIdentity::from_record(then), InputIdentity::from_record(now)) else {
        return vec!["its recorded identity cannot be read".to_owned()];
    };
    let mut changes = then.changes(&now);
    if changes.len() == 1 && then.modified_ns != now.modified_ns {
        changes.push(format!(
            "if its contents are unchanged, restore its time with `touch -m -d @{} {}` and resume",
            show_time(then.modified_ns),
            then.path
        ));
    }
    if changes.is_empty() {
        // The data differ, yet no field does: an encoding from elsewhere.
        changes.push("its recorded identity differs".to_owned());
    }
    changes
}

/// The [`InputRecord`]s of every file `inputs` stand for (see
/// [`input_identities`]).
pub fn input_records(inputs: &[std::path::PathBuf], chunk_bytes: u64) -> Result<Vec<InputRecord>> {
    Ok(input_identities(inputs, chunk_bytes)?
        .iter()
        .map(InputIdentity::record)
        .collect())
}

/// `seconds.nanoseconds` since the Unix epoch, as `touch -d @…` takes it.
pub fn show_time(ns: i64) -> String {
    let (secs, frac) = (ns.div_euclid(1_000_000_000), ns.rem_euclid(1_000_000_000));
    format!("{secs}.{frac:09}")
}

/// What a non-regular file is, in words.
fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "not a regular file: it"
    }
}

/// xxh3 of the bytes in `[from, to)` of `file`.
fn hash_range(file: &mut File, from: u64, to: u64) -> io::Result<u64> {
    let mut hasher = Xxh3::new();
    file.seek(SeekFrom::Start(from))?;
    let mut left = to.saturating_sub(from);
    let mut buf = vec![0u8; usize::try_from(left.min(1 << 20)).unwrap_or(1 << 20)];
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        match file.read(&mut buf[..want]) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file got shorter while it was read",
                ))
            }
            Ok(n) => {
                hasher.update(&buf[..n]);
                left -= n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(hasher.digest())
}

/// The identity of every file `inputs` stand for (directories expanded as a
/// [`FileSource`](super::FileSource) with this `chunk_bytes` expands them),
/// in reading order. Stdin and any file that is not a regular file are an
/// error naming it: they cannot be read again after a crash.
pub fn input_identities(inputs: &[std::path::PathBuf], chunk_bytes: u64) -> Result<Vec<InputIdentity>> {
    let mut out: Vec<(std::sync::Arc<Path>, Vec<u64>)> = Vec::new();
    for part in plan(inputs, chunk_bytes)? {
        match part {
            Part::Stdin => {
                return Err(ConnectorError::io(
                    "-",
                    io::Error::new(
                        io::ErrorKind::Unsupported,
                        "stdin cannot be read again after a crash; a resumable run needs regular files",
                    ),
                ))
            }
            Part::Whole(p) | Part::Gz(p) => out.push((p, Vec::new())),
            Part::Chunk { path, start: 0, .. } => out.push((path, Vec::new())),
            Part::Chunk { path, start, .. } => match out.last_mut() {
                Some((p, starts)) if *p == path => starts.push(start),
                _ => out.push((path, vec![start])),
            },
        }
    }
    out.iter()
        .map(|(path, starts)| InputIdentity::of(path, starts))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn an_identity_samples_edges_and_chunk_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let p = write(dir.path(), "big.log", &big);
        let ids = input_identities(std::slice::from_ref(&p), 50_000).unwrap();
        assert_eq!(ids.len(), 1);
        let id = &ids[0];
        assert_eq!(id.size, 200_000);
        assert_eq!(
            id.boundaries.iter().map(|b| b.0).collect::<Vec<_>>(),
            [50_000, 100_000, 150_000]
        );
        assert!(id.changes(id).is_empty());

        // A byte in the middle of a boundary region (not in the edges).
        let mut changed = big.clone();
        changed[100_001] = b'!';
        std::fs::write(&p, &changed).unwrap();
        let mut now = InputIdentity::of(&p, &[50_000, 100_000, 150_000]).unwrap();
        now.modified_ns = id.modified_ns;
        let what = id.changes(&now);
        assert_eq!(what, ["the bytes around chunk start(s) 100000 differ"]);

        // A byte far from every sampled place (issue 25, item 4): the
        // whole-file hash sees it.
        let mut inside = big.clone();
        inside[75_000] = b'!';
        std::fs::write(&p, &inside).unwrap();
        let mut now = InputIdentity::of(&p, &[50_000, 100_000, 150_000]).unwrap();
        now.modified_ns = id.modified_ns;
        assert_eq!(id.changes(&now), ["its contents differ (xxh3 of the whole file)"]);

        // The last bytes, and the size.
        changed[199_999] = b'!';
        std::fs::write(&p, &changed).unwrap();
        let now = InputIdentity::of(&p, &[50_000, 100_000, 150_000]).unwrap();
        assert!(id.changes(&now).iter().any(|c| c.contains("last 65536 bytes")));
        let grown = InputIdentity {
            size: 200_010,
            ..id.clone()
        };
        assert_eq!(id.changes(&grown), ["size 200000 → 200010 bytes: it grew"]);
    }

    #[test]
    fn small_files_and_modification_times() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "a.log", b"one\ntwo\n");
        let id = InputIdentity::of(&p, &[]).unwrap();
        let e = write(dir.path(), "e.log", b"");
        let empty = InputIdentity::of(&e, &[]).unwrap();
        assert_eq!((empty.size, empty.head), (0, empty.tail));
        let touched = InputIdentity {
            modified_ns: id.modified_ns + 1_500_000_000,
            ..id.clone()
        };
        let what = id.changes(&touched);
        assert_eq!(what.len(), 1);
        assert!(what[0].starts_with("modification time "), "{what:?}");
        assert_eq!(show_time(1_500_000_001), "1.500000001");
        assert_eq!(show_time(-1), "-1.999999999");
    }

    #[cfg(unix)]
    #[test]
    fn stdin_and_special_files_have_no_identity() {
        let err = input_identities(&["-".into()], 0).unwrap_err();
        assert!(err.to_string().contains("stdin cannot be read again"), "{err}");
        let err = InputIdentity::of(Path::new("/dev/null"), &[]).unwrap_err();
        assert!(err.to_string().contains("/dev/null: a character device"), "{err}");
        // A FIFO is refused without being opened (that would wait for a
        // writer).
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("live.log");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let err = input_identities(std::slice::from_ref(&fifo), 0).unwrap_err();
        assert!(
            err.to_string()
                .contains("a FIFO (named pipe) cannot be read again"),
            "{err}"
        );
    }
}
