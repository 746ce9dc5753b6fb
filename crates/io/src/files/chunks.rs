//! Which partitions a list of inputs makes, and their keys.
//!
//! Inputs expand in order: `-` is stdin; a directory is every regular file
//! directly in it, sorted by name, hidden files (name starting with `.`)
//! skipped; anything else is a file. A `.gz` file is one partition; a plain
//! file larger than the chunk size is split into byte ranges
//! `[k*chunk, (k+1)*chunk)`, the last one ending at the file's size.
//!
//! Keys carry everything needed to open the partition again (kind, byte range,
//! path), so any worker can build any partition from its key alone:
//! `file:PATH`, `chunk:START-END:PATH`, `gz:PATH`, `stdin`.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::{EddyError, Result};

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

/// Whether `path` names a gzip file (by extension, any case).
pub(crate) fn is_gz(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// The files an input stands for: itself, or a directory's regular files.
fn expand(input: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if input.as_os_str() == STDIN {
        out.push(input.to_path_buf());
        return Ok(());
    }
    let meta = fs::metadata(input).map_err(|e| EddyError::io(input, e))?;
    if !meta.is_dir() {
        out.push(input.to_path_buf());
        return Ok(());
    }
    let mut files = Vec::new();
    for entry in fs::read_dir(input).map_err(|e| EddyError::io(input, e))? {
        let entry = entry.map_err(|e| EddyError::io(input, e))?;
        if entry.file_name().as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let path = entry.path();
        // Follows symlinks: a link to a regular file is read.
        let meta = fs::metadata(&path).map_err(|e| EddyError::io(&path, e))?;
        if meta.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    out.extend(files);
    Ok(())
}

/// The partitions of `inputs`, in input order then chunk order.
pub(crate) fn plan(inputs: &[PathBuf], chunk_bytes: u64) -> Result<Vec<Part>> {
    let mut files = Vec::new();
    for input in inputs {
        expand(input, &mut files)?;
    }
    let mut parts = Vec::new();
    let mut seen = HashSet::new();
    for file in files {
        if file.to_str().is_none() {
            return Err(EddyError::io(
                &file,
                io::Error::new(io::ErrorKind::InvalidInput, "path is not valid UTF-8"),
            ));
        }
        if !seen.insert(file.clone()) {
            return Err(EddyError::Build(format!(
                "input {} is given more than once",
                file.display()
            )));
        }
        if file.as_os_str() == STDIN {
            parts.push(Part::Stdin);
            continue;
        }
        let path: Arc<Path> = Arc::from(file.as_path());
        if is_gz(&path) {
            parts.push(Part::Gz(path));
            continue;
        }
        let meta = fs::metadata(&path).map_err(|e| EddyError::io(&file, e))?;
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
    fn gz_by_extension() {
        assert!(is_gz(Path::new("a/b.log.gz")));
        assert!(is_gz(Path::new("B.GZ")));
        assert!(!is_gz(Path::new("gz")));
        assert!(!is_gz(Path::new("a.gzip")));
    }
}
