//! `FileSource` against a plain reference: partitions, chunks, gzip,
//! directories, too-long lines, errors and resume.

use std::io::Write;
use std::path::{Path, PathBuf};

use eddy_io::files::{FileSource, LineRef};
use eddy_io::{ConnectorError, Poll, Source, SourcePartition};
use proptest::prelude::*;

/// What the test decoder keeps of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    bytes: Vec<u8>,
    too_long: bool,
    offset: u64,
    number: u64,
    path: PathBuf,
    len: u64,
}

fn decode(l: &LineRef<'_>) -> Line {
    Line {
        bytes: l.bytes().to_vec(),
        too_long: l.too_long(),
        offset: l.offset(),
        number: l.line_number(),
        path: l.path().to_path_buf(),
        len: l.line_len(),
    }
}

fn source(inputs: &[&Path]) -> FileSource<Line> {
    FileSource::new(inputs.iter().map(|p| p.to_path_buf()).collect(), decode)
}

/// The reference: `split('\n')` minus the empty piece after a final newline.
fn reference(content: &[u8], path: &Path, max: usize) -> Vec<Line> {
    let mut pieces: Vec<&[u8]> = content.split(|&b| b == b'\n').collect();
    if content.is_empty() || content.ends_with(b"\n") {
        pieces.pop();
    }
    let mut offset = 0;
    let mut out = Vec::new();
    for (i, p) in pieces.into_iter().enumerate() {
        out.push(Line {
            bytes: p[..p.len().min(max)].to_vec(),
            too_long: p.len() > max,
            offset,
            number: i as u64 + 1,
            path: path.to_path_buf(),
            len: p.len() as u64,
        });
        offset += p.len() as u64 + 1;
    }
    out
}

/// Reads a partition to its end in batches of `max`.
fn drain(part: &mut dyn SourcePartition<Line>, max: usize) -> Vec<Line> {
    let mut out = Vec::new();
    loop {
        let before = out.len();
        match part.next_batch(&mut out, max).expect("read") {
            Poll::Ready => assert!(out.len() - before <= max),
            Poll::Pending(_) => panic!("a file is never pending"),
            Poll::Done => {
                assert_eq!(out.len(), before, "Done adds nothing");
                return out;
            }
        }
    }
}

fn read_all(src: &FileSource<Line>, max: usize) -> Vec<Line> {
    let mut out = Vec::new();
    for key in src.list_parts().expect("list") {
        let mut part = src.build_part(&key, None).expect("build");
        out.extend(drain(&mut *part, max));
    }
    out
}

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write");
    path
}

fn gzip(parts: &[&[u8]]) -> Vec<u8> {
    // Several members, as `cat a.gz b.gz` makes.
    let mut out = Vec::new();
    for p in parts {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(p).unwrap();
        out.extend(enc.finish().unwrap());
    }
    out
}

fn content_strategy() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![Just(String::new()), "[ab]{1,3}", "[ab ]{0,20}\r", "[a-z]{20,90}",];
    (proptest::collection::vec(line, 0..30), any::<bool>()).prop_map(|(lines, final_nl)| {
        let mut s = lines.join("\n");
        if final_nl {
            s.push('\n');
        }
        s.into_bytes()
    })
}

/// Reads every partition, resuming each from a fresh build after `cut`
/// lines (when it has that many).
fn read_with_resume(src: &FileSource<Line>, cut: usize, max: usize) -> Vec<Line> {
    let mut out = Vec::new();
    for key in src.list_parts().unwrap() {
        let mut part = src.build_part(&key, None).unwrap();
        let mut got = Vec::new();
        while got.len() < cut {
            let room = (cut - got.len()).min(max);
            if part.next_batch(&mut got, room).unwrap() == Poll::Done {
                break;
            }
        }
        let pos = part.position();
        drop(part);
        let mut part = src.build_part(&key, Some(&pos)).unwrap();
        got.extend(drain(&mut *part, max));
        out.extend(got);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn chunks_match_reference(
        content in content_strategy(),
        chunk in prop_oneof![1u64..64, 64u64..2000],
        max in 1usize..20,
        buffer in prop_oneof![1usize..16, Just(256 * 1024)],
        cut in 0usize..12,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "in.log", &content);
        let expected = reference(&content, &path, usize::MAX);
        let src = source(&[&path]).chunk_bytes(chunk).buffer_bytes(buffer);
        let keys = src.list_parts().unwrap();
        if content.len() as u64 > chunk {
            prop_assert_eq!(keys.len() as u64, (content.len() as u64).div_ceil(chunk));
        } else {
            prop_assert_eq!(keys.len(), 1);
        }
        prop_assert_eq!(read_all(&src, max), expected.clone());
        // Nothing but the chunk size decides the partitions.
        let other = source(&[&path]).chunk_bytes(chunk).buffer_bytes(7);
        prop_assert_eq!(other.list_parts().unwrap(), keys);
        prop_assert_eq!(read_with_resume(&src, cut, max), expected);
    }

    #[test]
    fn too_long_lines_match_reference(
        content in content_strategy(),
        chunk in prop_oneof![Just(0u64), 1u64..64],
        max_line in 0usize..30,
        buffer in 1usize..40,
        cut in 0usize..12,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "in.log", &content);
        let expected = reference(&content, &path, max_line);
        let src = source(&[&path]).chunk_bytes(chunk).buffer_bytes(buffer).max_line_bytes(max_line);
        prop_assert_eq!(read_all(&src, 3), expected.clone());
        prop_assert_eq!(read_with_resume(&src, cut, 2), expected);
    }

    #[test]
    fn gz_matches_reference(content in content_strategy(), split in 0usize..200, cut in 0usize..12) {
        let dir = tempfile::tempdir().unwrap();
        let split = split.min(content.len());
        let path = write(dir.path(), "in.log.gz", &gzip(&[&content[..split], &content[split..]]));
        let expected = reference(&content, &path, usize::MAX);
        let src = source(&[&path]).chunk_bytes(1);
        prop_assert_eq!(src.list_parts().unwrap().len(), 1);
        prop_assert_eq!(read_all(&src, 4), expected.clone());
        prop_assert_eq!(read_with_resume(&src, cut, 3), expected);
    }
}

#[test]
fn partitions_follow_input_order_then_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let b = write(dir.path(), "b.log", b"b1\nb2\nb3\n");
    let a = write(dir.path(), "a.log", b"a1\n");
    let src = source(&[&b, &a]).chunk_bytes(4);
    let keys = src.list_parts().unwrap();
    let bk = b.display();
    assert_eq!(
        keys,
        vec![
            format!("chunk:0-4:{bk}"),
            format!("chunk:4-8:{bk}"),
            format!("chunk:8-9:{bk}"),
            format!("file:{}", a.display()),
        ]
    );
    let lines: Vec<_> = read_all(&src, 10).into_iter().map(|l| l.bytes).collect();
    assert_eq!(lines, vec![&b"b1"[..], b"b2", b"b3", b"a1"]);
}

#[test]
fn directory_reads_its_files_recursively_sorted_skipping_hidden() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "b.log", b"b\n");
    write(dir.path(), "a.log", b"a\n");
    write(dir.path(), "c.log.gz", &gzip(&[b"c\n"]));
    write(dir.path(), ".hidden", b"hidden\n");
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    write(&dir.path().join("sub"), "d.log", b"d\n");
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    write(&dir.path().join(".git"), "e.log", b"e\n");
    let src = source(&[dir.path()]);
    let lines = read_all(&src, 10);
    let got: Vec<_> = lines.iter().map(|l| (l.bytes.clone(), l.path.clone())).collect();
    assert_eq!(
        got,
        vec![
            (b"a".to_vec(), dir.path().join("a.log")),
            (b"b".to_vec(), dir.path().join("b.log")),
            (b"c".to_vec(), dir.path().join("c.log.gz")),
            (b"d".to_vec(), dir.path().join("sub/d.log")),
        ]
    );
    let report = src.plan_report().unwrap();
    assert_eq!(
        (
            report.files,
            report.hidden_files,
            report.hidden_dirs,
            report.plain_bytes
        ),
        (4, 1, 1, None)
    );
}

#[test]
fn gzip_is_known_by_its_bytes_not_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let gz_log = write(dir.path(), "packed.log", &gzip(&[b"1\n2\n"]));
    let plain_gz = write(dir.path(), "plain.gz", b"3\n");
    let src = source(&[&gz_log, &plain_gz]);
    let keys = src.list_parts().unwrap();
    assert!(
        keys[0].starts_with("gz:") && keys[1].starts_with("file:"),
        "{keys:?}"
    );
    let lines: Vec<_> = read_all(&src, 10).into_iter().map(|l| l.bytes).collect();
    assert_eq!(lines, vec![&b"1"[..], b"2", b"3"]);
    let plain = src.plan_report().unwrap();
    assert_eq!(plain.plain_bytes, None);
    assert_eq!(source(&[&plain_gz]).plan_report().unwrap().plain_bytes, Some(2));
}

#[test]
fn damaged_gz_names_the_last_line_read() {
    let dir = tempfile::tempdir().unwrap();
    let content: String = (1..=5000).map(|i| format!("line {i}\n")).collect();
    let whole = gzip(&[content.as_bytes()]);
    let path = write(dir.path(), "logs.gz", &whole[..whole.len() / 2]);
    let src = source(&[&path]);
    let key = src.list_parts().unwrap().remove(0);
    let mut part = src.build_part(&key, None).unwrap();
    let mut out = Vec::new();
    let err = loop {
        match part.next_batch(&mut out, 100) {
            Ok(Poll::Done) => panic!("a truncated gzip file must fail"),
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    let last = out.last().map_or(0, |l| l.number);
    assert!(last > 0);
    let text = err.to_string();
    let want = format!("logs.gz: corrupt gzip data after line {last}: ");
    assert!(
        text.starts_with(&format!("{}", path.display())) && text.contains(&want),
        "{text}"
    );
}

#[test]
fn empty_directory_and_empty_file_have_no_lines() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.log", b"");
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let src = source(&[&empty, &sub]);
    assert_eq!(src.list_parts().unwrap().len(), 1);
    assert!(read_all(&src, 10).is_empty());
}

#[test]
fn missing_input_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such.log");
    let err = source(&[&missing]).list_parts().unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Io { path, .. } if path == &missing),
        "{err:?}"
    );
    assert!(err.to_string().contains("no-such.log"), "{err}");
}

#[test]
fn file_removed_after_listing_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "gone.log", b"x\n");
    let src = source(&[&path]);
    let key = src.list_parts().unwrap().remove(0);
    std::fs::remove_file(&path).unwrap();
    let err = src.build_part(&key, None).err().expect("an error");
    assert!(err.to_string().contains("gone.log"), "{err}");
}

#[test]
fn corrupt_gz_is_a_read_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "bad.gz", b"\x1f\x8bthis is not gzip at all\n");
    let src = source(&[&path]);
    let key = src.list_parts().unwrap().remove(0);
    let mut part = src.build_part(&key, None).unwrap();
    let err = part.next_batch(&mut Vec::new(), 10).unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Io { path: p, .. } if p == &path),
        "{err:?}"
    );
}

#[test]
fn input_given_twice_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "a.log", b"a\n");
    let err = source(&[&path, dir.path()]).list_parts().unwrap_err();
    assert!(matches!(err, ConnectorError::Build(_)), "{err:?}");
    assert!(err.to_string().contains("a.log"), "{err}");
}

#[test]
fn too_long_line_is_cut_once_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut content = b"ok\n".to_vec();
    content.extend(std::iter::repeat_n(b'x', 1_000_000));
    content.extend(b"\nafter\n");
    let path = write(dir.path(), "long.log", &content);
    let src = source(&[&path]).max_line_bytes(8).buffer_bytes(1024);
    let lines = read_all(&src, 10);
    let got: Vec<_> = lines
        .iter()
        .map(|l| (l.bytes.clone(), l.too_long, l.number, l.len))
        .collect();
    assert_eq!(
        got,
        vec![
            (b"ok".to_vec(), false, 1, 2),
            (b"xxxxxxxx".to_vec(), true, 2, 1_000_000),
            (b"after".to_vec(), false, 3, 5),
        ]
    );
}

#[test]
fn line_numbers_in_late_chunks_count_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let content: String = (1..=1000).map(|i| format!("line {i}\n")).collect();
    let path = write(dir.path(), "n.log", content.as_bytes());
    let src = source(&[&path]).chunk_bytes(1000);
    for l in read_all(&src, 64) {
        assert_eq!(l.bytes, format!("line {}", l.number).into_bytes());
    }
}

#[test]
fn lines_are_zero_copy_slices_of_one_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "z.log", b"aa\nbb\ncc\n");
    let src = FileSource::new(vec![path], |l: &LineRef<'_>| l.bytes().clone());
    let key = src.list_parts().unwrap().remove(0);
    let mut part = src.build_part(&key, None).unwrap();
    let mut out = Vec::new();
    part.next_batch(&mut out, 10).unwrap();
    assert_eq!(out.len(), 3);
    // Consecutive slices of one allocation: each starts 3 bytes after the last.
    let base = out[0].as_ptr() as usize;
    assert_eq!(out[1].as_ptr() as usize, base + 3);
    assert_eq!(out[2].as_ptr() as usize, base + 6);
}

#[test]
fn decoder_can_report_errors_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let content: String = (0..100).map(|i| format!("{i}\n")).collect::<String>() + "oops\n";
    let path = write(dir.path(), "e.log", content.as_bytes());
    let src = FileSource::new(vec![path.clone()], |l: &LineRef<'_>| {
        std::str::from_utf8(l.bytes())
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or_else(|| l.error("not a number"))
    })
    .chunk_bytes(50);
    let mut errors = Vec::new();
    for key in src.list_parts().unwrap() {
        let mut part = src.build_part(&key, None).unwrap();
        let mut out = Vec::new();
        while part.next_batch(&mut out, 7).unwrap() != Poll::Done {}
        errors.extend(out.into_iter().filter_map(Result::err));
    }
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].to_string(),
        format!("{}:101: not a number", path.display())
    );
}

#[test]
fn resume_position_after_done_yields_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "a.log", b"1\n2\n3");
    for chunk in [0, 2] {
        let src = source(&[&path]).chunk_bytes(chunk);
        for key in src.list_parts().unwrap() {
            let mut part = src.build_part(&key, None).unwrap();
            drain(&mut *part, 10);
            let pos = part.position();
            let mut part = src.build_part(&key, Some(&pos)).unwrap();
            assert!(drain(&mut *part, 10).is_empty(), "{key}");
        }
    }
}

#[test]
fn bad_positions_and_keys_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "a.log", b"1\n");
    let src = source(&[&path]);
    let key = src.list_parts().unwrap().remove(0);
    let err = src.build_part(&key, Some(&[42, 0, 1])).err().expect("error");
    assert!(err.to_string().contains("a.log"), "{err}");
    let err = src.build_part("nonsense", None).err().expect("error");
    assert!(matches!(err, ConnectorError::Build(_)), "{err:?}");
    let gz = write(dir.path(), "a.gz", &gzip(&[b"1\n"]));
    let src = source(&[&gz]);
    let key = src.list_parts().unwrap().remove(0);
    let mut part = src.build_part(&key, None).unwrap();
    drain(&mut *part, 10);
    let mut pos = part.position();
    pos[2] += 5; // offset past the end
    let err = src.build_part(&key, Some(&pos)).err().expect("error");
    assert!(err.to_string().contains("a.gz"), "{err}");
}

#[test]
fn stdin_cannot_be_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "a.log", b"1\n2\n");
    let src = source(&[&path]);
    let key = src.list_parts().unwrap().remove(0);
    let mut part = src.build_part(&key, None).unwrap();
    part.next_batch(&mut Vec::new(), 1).unwrap();
    let pos = part.position();
    let stdin = source(&[Path::new("-")]);
    assert_eq!(stdin.list_parts().unwrap(), vec!["stdin".to_owned()]);
    let err = stdin.build_part("stdin", Some(&pos)).err().expect("error");
    assert_eq!(err.to_string(), "-: stdin cannot be resumed");
}
