//! Output safety, checked and arranged before anything is opened for
//! writing:
//!
//! - an output is never an input, nor another output, nor inside the
//!   recovery store, and no input is given twice — paths are compared by
//!   what they are (device and inode; for a file still to be made, its
//!   canonical directory and name), however they are spelled (`x`, `./x`,
//!   absolute, through a symlink or a directory);
//! - [`Staging`]: without `--recovery-dir`, a file output is written under a
//!   temporary name in its directory (`.NAME.eddy-tmp-PID`, hidden, so a
//!   directory input never reads it) and renamed into place only when the
//!   run succeeds; whatever way a run fails, dropping the staging removes the
//!   temporary files and a previous file stays as it was.
//!
//! `-` (stdout) and special files (`/dev/null`, FIFOs, devices) are exempt:
//! they are written directly, and never clash.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use eddy::connectors::files::FileSource;
use eddy::connectors::Source;

use crate::usage::UsageError;

/// A path option as given on the command line: `("--output", "x.jsonl")`.
pub type Named<'a> = (&'static str, &'a Path);

/// What a path is on disk, to compare paths however they are spelled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Identity {
    /// An existing regular file (symlinks followed): device and inode.
    File(u64, u64),
    /// A file still to be made: its canonical directory joined with its name.
    New(PathBuf),
    /// Stdout, a device, a FIFO, a socket: written directly, never compared.
    Special,
}

/// `-` is stdin or stdout.
fn is_dash(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// What input `path` is on disk (`-`: what stdin is connected to: a file it
/// is redirected from, a pipe, a terminal), symlinks followed.
pub fn input_metadata(path: &Path) -> std::io::Result<fs::Metadata> {
    if is_dash(path) {
        fs::metadata("/dev/stdin")
    } else {
        fs::metadata(path)
    }
}

/// The directory a path's file lives in (`.` for a bare name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The identity of output `path` (given as `option`).
fn output_identity(option: &str, path: &Path) -> anyhow::Result<Identity> {
    if is_dash(path) {
        return Ok(Identity::Special);
    }
    match fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(Identity::File(m.dev(), m.ino())),
        Ok(m) if m.is_dir() => Err(UsageError(format!(
            "{option} {} is a directory; it must name a file",
            path.display()
        ))
        .into()),
        Ok(_) => Ok(Identity::Special),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let name = path
                .file_name()
                .ok_or_else(|| UsageError(format!("{option} {} does not name a file", path.display())))?;
            let dir = parent_dir(path);
            let dir = fs::canonicalize(dir).with_context(|| {
                format!(
                    "{option} {}: cannot use its directory {}",
                    path.display(),
                    dir.display()
                )
            })?;
            Ok(Identity::New(dir.join(name)))
        }
        Err(e) => Err(e).with_context(|| format!("{option} {}", path.display())),
    }
}

/// One file an input stands for, and the input as given.
struct InputFile<'a> {
    given: &'a Path,
    file: PathBuf,
}

impl std::fmt::Display for InputFile<'_> {
    /// `--input logs/a.jsonl`, or `--input logs (its file logs/a.jsonl)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if is_dash(self.given) {
            write!(f, "--input - (stdin, redirected from that file)")
        } else if self.given == self.file {
            write!(f, "--input {}", self.given.display())
        } else {
            write!(
                f,
                "--input {} (its file {})",
                self.given.display(),
                self.file.display()
            )
        }
    }
}

/// The files `inputs` stand for, as the file source lists them (a
/// directory is the files in it), each with the input that named it.
fn input_files(inputs: &[PathBuf]) -> anyhow::Result<Vec<InputFile<'_>>> {
    let mut files = Vec::new();
    for given in inputs {
        if is_dash(given) {
            continue;
        }
        // Whole files (chunk size 0): keys `file:PATH` or `gz:PATH`.
        let keys = FileSource::new(vec![given.clone()], |_| ())
            .chunk_bytes(0)
            .list_parts()?;
        for key in keys {
            let path = key
                .strip_prefix("file:")
                .or_else(|| key.strip_prefix("gz:"))
                .or_else(|| {
                    key.strip_prefix("chunk:")
                        .and_then(|k| k.split_once(':'))
                        .map(|(_, p)| p)
                });
            if let Some(path) = path {
                files.push(InputFile {
                    given,
                    file: PathBuf::from(path),
                });
            }
        }
    }
    Ok(files)
}

/// Refuses (as a usage error) an input given twice under any spelling, an
/// output that is an input or another output, and an output inside the
/// recovery directory. Reads the file system only.
pub fn check_paths(
    inputs: &[PathBuf],
    outputs: &[Named<'_>],
    recovery_dir: Option<&Path>,
) -> anyhow::Result<()> {
    if inputs.iter().filter(|p| is_dash(p)).count() > 1 {
        return Err(UsageError("--input - (stdin) is given more than once".into()).into());
    }
    let files = input_files(inputs)?;
    let mut by_id: HashMap<Identity, &InputFile<'_>> = HashMap::new();
    for input in &files {
        let m = fs::metadata(&input.file).with_context(|| format!("{input}"))?;
        if !m.is_file() {
            continue;
        }
        let id = Identity::File(m.dev(), m.ino());
        if let Some(first) = by_id.get(&id) {
            return Err(UsageError(format!(
                "{input} is the same file as {first}; give each input once"
            ))
            .into());
        }
        by_id.insert(id, input);
    }
    // Stdin redirected from a file (`< logs.jsonl`) is that file: an input
    // like any other, which no output may be and no input may repeat.
    let stdin = InputFile {
        given: Path::new("-"),
        file: PathBuf::from("-"),
    };
    if inputs.iter().any(|p| is_dash(p)) {
        if let Ok(m) = input_metadata(Path::new("-")) {
            if m.is_file() {
                let id = Identity::File(m.dev(), m.ino());
                if let Some(first) = by_id.get(&id) {
                    return Err(UsageError(format!(
                        "{stdin} is the same file as {first}; give each input once"
                    ))
                    .into());
                }
                by_id.insert(id, &stdin);
            }
        }
    }
    // A missing store is the run's to report.
    let store = recovery_dir.and_then(|d| Some((d, fs::canonicalize(d).ok()?)));
    let mut seen: Vec<(Identity, Named<'_>)> = Vec::new();
    for &(option, path) in outputs {
        let id = output_identity(option, path)?;
        if id == Identity::Special {
            continue;
        }
        if let Some(input) = by_id.get(&id) {
            return Err(UsageError(format!(
                "{option} {} is also {input}; an output must never be an input",
                path.display()
            ))
            .into());
        }
        if let Some((_, (other, other_path))) = seen.iter().find(|(i, _)| *i == id) {
            return Err(UsageError(format!(
                "{option} {} is also {other} {}; each output needs its own file",
                path.display(),
                other_path.display()
            ))
            .into());
        }
        if let Some((given, store)) = &store {
            let at = match &id {
                Identity::New(p) => p.clone(),
                _ => fs::canonicalize(path).with_context(|| format!("{option} {}", path.display()))?,
            };
            if at.starts_with(store) {
                return Err(UsageError(format!(
                    "{option} {} is inside --recovery-dir {}; outputs must be outside the recovery store",
                    path.display(),
                    given.display()
                ))
                .into());
            }
        }
        seen.push((id, (option, path)));
    }
    Ok(())
}

/// A file output being written under a temporary name.
#[derive(Debug)]
struct Staged {
    /// The option and path as given (for messages).
    option: &'static str,
    given: PathBuf,
    /// The file that is replaced at the end (a symlink's target).
    target: PathBuf,
    /// The file being written.
    temp: PathBuf,
}

/// The file outputs of one run, written under temporary names until
/// [`commit`](Staging::commit); dropping it uncommitted removes them.
#[derive(Debug, Default)]
pub struct Staging {
    staged: Vec<Staged>,
}

impl Staging {
    /// The path to write output `path` (given as `option`) to: for a regular
    /// file (existing or not), a new, empty temporary file next to it,
    /// checked to be writable now, so that a run does not fail for it at the
    /// end; `-` and special files as they are.
    pub fn stage(&mut self, option: &'static str, path: &Path) -> anyhow::Result<PathBuf> {
        if is_dash(path) {
            return Ok(path.to_path_buf());
        }
        let target = match fs::metadata(path) {
            Ok(m) if !m.is_file() => return Ok(path.to_path_buf()),
            Ok(_) => {
                // Replace the file a symlink points to, not the link.
                let target =
                    fs::canonicalize(path).with_context(|| format!("{option} {}", path.display()))?;
                OpenOptions::new()
                    .write(true)
                    .open(&target)
                    .with_context(|| format!("{option} {}: cannot write it", path.display()))?;
                target
            }
            Err(_) => path.to_path_buf(),
        };
        let name = target
            .file_name()
            .ok_or_else(|| UsageError(format!("{option} {} does not name a file", path.display())))?;
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".eddy-tmp-{}", std::process::id()));
        let temp = parent_dir(&target).join(temp_name);
        File::create(&temp).with_context(|| {
            format!(
                "{option} {}: cannot create the temporary file {}",
                path.display(),
                temp.display()
            )
        })?;
        crate::signals::note_temporary(temp.clone());
        self.staged.push(Staged {
            option,
            given: path.to_path_buf(),
            target,
            temp: temp.clone(),
        });
        Ok(temp)
    }

    /// Whether any output is staged.
    pub fn is_empty(&self) -> bool {
        self.staged.is_empty()
    }

    /// The staged outputs as given: `--output x.jsonl, --late-output l.jsonl`.
    pub fn describe(&self) -> String {
        self.staged
            .iter()
            .map(|s| format!("{} {}", s.option, s.given.display()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Puts every output in place: each temporary file is synced, takes the
    /// permissions of the file it replaces, is renamed over it, and its
    /// directory is synced.
    pub fn commit(&mut self) -> anyhow::Result<()> {
        while let Some(s) = self.staged.first() {
            let what = || {
                format!(
                    "{} {}: cannot put the output in place",
                    s.option,
                    s.given.display()
                )
            };
            File::open(&s.temp)
                .and_then(|f| f.sync_all())
                .with_context(what)?;
            if let Ok(m) = fs::metadata(&s.target) {
                if m.is_file() {
                    keep_owner(&s.temp, &m, s.option, &s.given);
                    fs::set_permissions(&s.temp, m.permissions()).with_context(what)?;
                }
            }
            fs::rename(&s.temp, &s.target).with_context(what)?;
            crate::signals::forget_temporary(&s.temp);
            let dir = parent_dir(&s.target);
            File::open(dir)
                .and_then(|d| d.sync_all())
                .with_context(|| format!("{}: cannot sync the directory", dir.display()))?;
            self.staged.remove(0);
        }
        Ok(())
    }
}

/// Gives the new file `temp` the owner and group of the file it replaces
/// (`old`), as an edit in place would keep them. Only a privileged user can
/// give a file away: when that fails, the new file stays the user's, and a
/// warning says so (the run's output is complete either way).
fn keep_owner(temp: &Path, old: &fs::Metadata, option: &str, given: &Path) {
    let Ok(new) = fs::metadata(temp) else { return };
    if new.uid() == old.uid() && new.gid() == old.gid() {
        return;
    }
    if let Err(e) = std::os::unix::fs::chown(temp, Some(old.uid()), Some(old.gid())) {
        tracing::warn!(
            "{option} {}: the new file could not keep the old one's owner (uid {}, gid {}): {e}; it belongs to you",
            given.display(),
            old.uid(),
            old.gid()
        );
    }
}

impl Drop for Staging {
    /// Removes the temporary files not put in place: a failed or
    /// interrupted run leaves no trace.
    fn drop(&mut self) {
        for s in &self.staged {
            let _ = fs::remove_file(&s.temp);
            crate::signals::forget_temporary(&s.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn dropping_uncommitted_staging_removes_the_temporary_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.csv");
        fs::write(&old, b"previous").unwrap();
        let new = dir.path().join("new.csv");
        let mut staging = Staging::default();
        let temps = [
            staging.stage("--output", &old).unwrap(),
            staging.stage("--late-output", &new).unwrap(),
        ];
        for t in &temps {
            assert!(
                t.file_name().unwrap().to_string_lossy().starts_with('.'),
                "{t:?} is hidden"
            );
            fs::write(t, b"half a run").unwrap();
        }
        drop(staging);
        assert_eq!(names(dir.path()), ["old.csv"]);
        assert_eq!(fs::read(&old).unwrap(), b"previous");
    }

    #[test]
    fn commit_puts_each_output_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.csv");
        fs::write(&out, b"previous").unwrap();
        let mut staging = Staging::default();
        let temp = staging.stage("--output", &out).unwrap();
        assert_eq!(
            staging.stage("--late-output", Path::new("-")).unwrap(),
            Path::new("-")
        );
        assert_eq!(
            staging.stage("--dead-letter", Path::new("/dev/null")).unwrap(),
            Path::new("/dev/null")
        );
        fs::write(&temp, b"rows").unwrap();
        staging.commit().unwrap();
        drop(staging);
        assert_eq!(names(dir.path()), ["out.csv"]);
        assert_eq!(fs::read(&out).unwrap(), b"rows");
    }

    #[test]
    fn a_file_still_to_be_made_is_known_by_its_directory_and_name() {
        let dir = tempfile::tempdir().unwrap();
        let a = output_identity("--output", &dir.path().join("x.jsonl")).unwrap();
        let b = output_identity("--output", &dir.path().join(".").join("x.jsonl")).unwrap();
        assert_eq!(a, b);
        assert!(matches!(a, Identity::New(_)));
        assert_eq!(
            output_identity("--output", Path::new("/dev/null")).unwrap(),
            Identity::Special
        );
    }
}
