//! Which partitions a list of inputs makes, and their keys.
//!
//! Inputs expand in order: `-` is stdin; a directory is every regular file
//! under it, at any depth, sorted by its whole path (byte order), hidden
//! files and directories (name starting with `.`) skipped and counted;
//! anything else is a file. A gzip file (recognised by its first two bytes,
//! `1f 8b`, whatever its name) is one partition; a plain file larger than the
//! chunk size is split into byte ranges `[k*chunk, (k+1)*chunk)`, the last
//! one ending at the file's size.
//!
//! Keys carry everything needed to open the partition again (kind, byte range,
//! path), so any worker can build any partition from its key alone:
//! `file:PATH`, `chunk:START-END:PATH`, `gz:PATH`, `stdin`.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::{ConnectorError, Result};

/// One partition of a [`FileSource`](super::FileSource).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// A whole plain file, read to its end.
    Whole(Arc<Path>),
    /// The lines of a plain file whose first byte lies in `[start, end)`.
    Chunk {
        /// The file.
        path: Arc<Path>,
        /// First byte of the range.
        start: u64,
        /// One past the last byte of the range.
        end: u64,
    },
    /// A gzip file, decompressed on the fly.
    Gz(Arc<Path>),
    /// Standard input.
    Stdin,
}

/// The path partitions of stdin report.
pub(crate) const STDIN: &str = "-";

impl Part {
    /// The partition's stable key.
    pub(crate) fn key(&self) -> String {
        // Paths were checked to be UTF-8 when the parts were listed.
        match self {
            Part::Whole(p) => format!("file:{}", p.display()),
            Part::Chunk { path, start, end } => format!("chunk:{start}-{end}:{}", path.display()),
            Part::Gz(p) => format!("gz:{}", p.display()),
            Part::Stdin => "stdin".to_owned(),
        }
    }

    /// The partition a key names, if it is one of ours.
    pub(crate) fn parse(key: &str) -> Option<Part> {
        let path = |s: &str| Arc::from(Path::new(s));
        if key == "stdin" {
            return Some(Part::Stdin);
        }
        if let Some(p) = key.strip_prefix("file:") {
            return Some(Part::Whole(path(p)));
        }
        if let Some(p) = key.strip_prefix("gz:") {
            return Some(Part::Gz(path(p)));
        }
        let rest = key.strip_prefix("chunk:")?;
        let (range, p) = rest.split_once(':')?;
        let (start, end) = range.split_once('-')?;
        let (start, end) = (start.parse().ok()?, end.parse().ok()?);
        (start < end).then(|| Part::Chunk {
            path: path(p),
            start,
            end,
        })
    }

    /// The file this partition reads (`-` for stdin).
    pub(crate) fn path(&self) -> Arc<Path> {
        match self {
            Part::Whole(p) | Part::Gz(p) | Part::Chunk { path: p, .. } => p.clone(),
            Part::Stdin => Arc::from(Path::new(STDIN)),
        }
    }
}

/// The two bytes every gzip member starts with (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Whether the regular file at `path` is gzip data: it starts with the gzip
/// magic bytes, whatever its name.
pub(crate) fn is_gz(path: &Path) -> Result<bool> {
    let mut file = fs::File::open(path).map_err(|e| ConnectorError::io(path, e))?;
    let mut head = [0u8; 2];
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ConnectorError::io(path, e)),
        }
    }
    Ok(got == head.len() && head == GZIP_MAGIC)
}

/// The files a list of inputs stands for, and what was left out.
#[derive(Debug, Default)]
pub(crate) struct Expanded {
    /// The files, in reading order.
    pub(crate) files: Vec<PathBuf>,
    /// Hidden files (name starting with `.`) skipped inside directories.
    pub(crate) hidden_files: u64,
    /// Hidden directories skipped inside directories (their contents are
    /// not looked at, so not counted).
    pub(crate) hidden_dirs: u64,
}

/// Whether a directory entry's name marks it hidden.
fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().starts_with(b".")
}

/// The files every input stands for, in input order.
pub(crate) fn expand_all(inputs: &[PathBuf]) -> Result<Expanded> {
    let mut out = Expanded::default();
    for input in inputs {
        expand(input, &mut out)?;
    }
    Ok(out)
}

/// The files an input stands for: itself, or a directory's regular files at
/// any depth, sorted by path.
fn expand(input: &Path, out: &mut Expanded) -> Result<()> {
    if input.as_os_str() == STDIN {
        out.files.push(input.to_path_buf());
        return Ok(());
    }
    let meta = fs::metadata(input).map_err(|e| ConnectorError::io(input, e))?;
    if !meta.is_dir() {
        out.files.push(input.to_path_buf());
        return Ok(());
    }
    let mut files = Vec::new();
    walk(input, &mut files, out)?;
    // Every path starts with `input`, so this is the order of the paths
    // relative to it, byte by byte.
    files.sort_by(|a, b| {
        a.as_os_str()
            .as_encoded_bytes()
            .cmp(b.as_os_str().as_encoded_bytes())
    });
    out.files.extend(files);
    Ok(())
}

/// Collects the regular files under `dir` into `files` (unsorted), counting
/// hidden entries in `out`. A symbolic link to a file is read; one to a
/// directory is not followed (so no cycle can form); one whose target cannot
/// be read (dangling, a loop) is an error naming it.
fn walk(dir: &Path, files: &mut Vec<PathBuf>, out: &mut Expanded) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(|e| ConnectorError::io(dir, e))? {
        let entry = entry.map_err(|e| ConnectorError::io(dir, e))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| ConnectorError::io(&path, e))?;
        let hidden = is_hidden(&entry.file_name());
        if kind.is_dir() {
            if hidden {
                out.hidden_dirs += 1;
            } else {
                walk(&path, files, out)?;
            }
            continue;
        }
        // Follows symlinks: a link to a regular file is read; one that leads
        // nowhere (dangling, or a loop) fails the run naming it.
        let is_file = kind.is_file()
            || (kind.is_symlink()
                && fs::metadata(&path)
                    .map_err(|e| {
                        let why = format!(
                            "a symbolic link in input directory {} whose target cannot be read ({e}); \
                             remove it, or make it point to a file",
                            dir.display()
                        );
                        ConnectorError::io(&path, std::io::Error::new(e.kind(), why))
                    })?
                    .is_file());
        if !is_file {
            continue;
        }
        if hidden {
            out.hidden_files += 1;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// The partitions of `inputs`, in input order then chunk order.
pub(crate) fn plan(inputs: &[PathBuf], chunk_bytes: u64) -> Result<Vec<Part>> {
    let files = expand_all(inputs)?.files;
    let mut parts = Vec::new();
    let mut seen = HashSet::new();
    for file in files {
        if file.to_str().is_none() {
            return Err(ConnectorError::io(
                &file,
                io::Error::new(io::ErrorKind::InvalidInput, "path is not valid UTF-8"),
            ));
        }
        if !seen.insert(file.clone()) {
            return Err(ConnectorError::Build(format!(
                "input {} is given more than once",
                file.display()
            )));
        }
        if file.as_os_str() == STDIN {
            parts.push(Part::Stdin);
            continue;
        }
        let path: Arc<Path> = Arc::from(file.as_path());
        let meta = fs::metadata(&path).map_err(|e| ConnectorError::io(&file, e))?;
        // Only a regular file is sniffed: reading a pipe would consume it.
        if meta.is_file() && is_gz(&path)? {
            parts.push(Part::Gz(path));
            continue;
        }
        let len = meta.len();
        if !meta.is_file() || chunk_bytes == 0 || len <= chunk_bytes {
            parts.push(Part::Whole(path));
            continue;
        }
        let mut start = 0;
        while start < len {
            let end = start.saturating_add(chunk_bytes).min(len);
            parts.push(Part::Chunk {
                path: path.clone(),
                start,
                end,
            });
            start = end;
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let p: Arc<Path> = Arc::from(Path::new("dir/we:ird-name#1.log"));
        for part in [
            Part::Whole(p.clone()),
            Part::Gz(p.clone()),
            Part::Chunk {
                path: p.clone(),
                start: 16,
                end: 32,
            },
            Part::Stdin,
        ] {
            assert_eq!(Part::parse(&part.key()), Some(part));
        }
        assert_eq!(Part::parse("chunk:5-3:x"), None);
        assert_eq!(Part::parse("chunk:x-3:x"), None);
        assert_eq!(Part::parse("what"), None);
    }

    #[test]
    fn gz_by_magic_bytes_not_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            fs::write(&p, bytes).unwrap();
            p
        };
        assert!(is_gz(&write("x.log", &[0x1f, 0x8b, 8, 0])).unwrap());
        assert!(!is_gz(&write("x.gz", b"plain\n")).unwrap());
        assert!(!is_gz(&write("one.gz", &[0x1f])).unwrap());
        assert!(!is_gz(&write("empty.gz", b"")).unwrap());
        let err = is_gz(&dir.path().join("missing.gz")).unwrap_err();
        assert!(err.to_string().contains("missing.gz"), "{err}");
    }

    #[test]
    fn directories_are_walked_sorted_by_whole_path_skipping_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["a", "a/b", "a-c", ".git", "z/.cache"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        for f in [
            "b.log",
            "a/b/x.log",
            "a/y.log",
            "a-c/z.log",
            ".hidden",
            "a/.h2",
            ".git/config",
            "z/.cache/c",
        ] {
            fs::write(root.join(f), "1\n").unwrap();
        }
        let got = expand_all(&[root.to_path_buf()]).unwrap();
        let rel: Vec<String> = got
            .files
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().to_str().unwrap().to_owned())
            .collect();
        // Byte order of the whole path: '-' (0x2d) sorts before '/' (0x2f).
        assert_eq!(rel, ["a-c/z.log", "a/b/x.log", "a/y.log", "b.log"]);
        assert_eq!((got.hidden_files, got.hidden_dirs), (2, 2));
    }
}
