//! `FileSink`: header, items, truncation, position and errors.

use eddy_io::files::FileSink;
use eddy_io::{ConnectorError, Sink, SinkPartition, SinkRouting};

fn csv(n: &u32, out: &mut Vec<u8>) {
    out.extend_from_slice(format!("{n},{}\n", n * 2).as_bytes());
}

#[test]
fn writes_header_then_items_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    std::fs::write(&path, "old content that must disappear\n".repeat(100)).unwrap();
    let sink = FileSink::new(&path, csv).header("n,double\n");
    assert_eq!(Sink::<u32>::routing(&sink), SinkRouting::Single);
    let mut w = sink.build(0, 1).unwrap();
    let mut batch: Vec<u32> = (1..=3).collect();
    w.write_batch(&mut batch).unwrap();
    assert!(batch.is_empty(), "the batch is consumed");
    w.write_batch(&mut vec![10]).unwrap();
    w.close().unwrap();
    w.close().unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "n,double\n1,2\n2,4\n3,6\n10,20\n"
    );
}

#[test]
fn header_is_written_without_items() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    let mut w = FileSink::new(&path, csv).header("h\n").open().unwrap();
    w.close().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"h\n");
}

#[test]
fn written_counts_every_byte_and_flush_makes_them_visible() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.jsonl");
    let sink = FileSink::new(&path, csv).header("hh\n");
    let mut w = sink.open().unwrap();
    assert_eq!(w.written(), 3);
    let mut items: Vec<u32> = (0..100_000).collect();
    w.write_batch(&mut items).unwrap();
    w.flush().unwrap();
    let len = std::fs::metadata(&path).unwrap().len();
    assert_eq!(len, w.written());
    assert_eq!(w.path(), path.as_path());
    w.close().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 100_001);
    assert_eq!(text.lines().last(), Some("99999,199998"));
}

#[test]
fn an_encoder_that_clears_its_buffer_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.txt");
    let sink = FileSink::new(&path, |n: &u32, out: &mut Vec<u8>| {
        out.clear();
        out.extend_from_slice(format!("{n}\n").as_bytes());
    });
    let mut w = sink.open().unwrap();
    w.write_batch(&mut vec![1, 2, 3]).unwrap();
    w.close().unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "1\n2\n3\n");
}

#[test]
fn unwritable_path_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("out.csv");
    let err = FileSink::new(&path, csv).build(0, 1).err().expect("an error");
    assert!(
        matches!(&err, ConnectorError::Io { path: p, .. } if p == &path),
        "{err:?}"
    );
    assert!(err.to_string().contains("no-such-dir"), "{err}");
}

#[test]
fn write_after_close_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    let mut w = FileSink::new(&path, csv).open().unwrap();
    w.close().unwrap();
    let err = w.write_batch(&mut vec![1]).unwrap_err();
    assert!(err.to_string().contains("out.csv"), "{err}");
}

#[cfg(target_os = "linux")]
#[test]
fn disk_full_is_an_error_naming_the_file() {
    // /dev/full fails every write with ENOSPC.
    let full = std::path::Path::new("/dev/full");
    if !full.exists() {
        return;
    }
    let mut w = FileSink::new(full, csv).open().unwrap();
    let mut items: Vec<u32> = (0..1_000_000).collect();
    let err = match w.write_batch(&mut items) {
        Err(e) => e,
        Ok(()) => w.close().unwrap_err(),
    };
    assert!(err.to_string().starts_with("/dev/full: "), "{err}");
}

#[test]
fn resume_truncates_back_to_the_snapshot_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    let sink = FileSink::new(&path, csv).header("n,double\n");
    let mut w = sink.build(0, 1).unwrap();
    w.write_batch(&mut vec![1, 2]).unwrap();
    let state = w.snapshot().unwrap();
    // Everything up to the snapshot is in the file, synced.
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "n,double\n1,2\n2,4\n");
    // Written after the snapshot, then a crash (a torn last line too).
    w.write_batch(&mut vec![3, 4]).unwrap();
    drop(w);
    let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    std::io::Write::write_all(&mut f, b"5,1").unwrap();
    drop(f);
    let mut w = sink.resume(0, 1, &state).unwrap();
    w.write_batch(&mut vec![3, 4]).unwrap();
    w.close().unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "n,double\n1,2\n2,4\n3,6\n4,8\n"
    );
}

#[test]
fn resume_refuses_a_missing_or_shorter_output_and_bad_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    let sink = FileSink::new(&path, csv);
    let mut w = sink.build(0, 1).unwrap();
    w.write_batch(&mut vec![1, 2, 3]).unwrap();
    let state = w.snapshot().unwrap();
    w.close().unwrap();
    std::fs::write(&path, "1,2\n").unwrap();
    let err = sink.resume(0, 1, &state).err().expect("shorter");
    assert!(matches!(err, ConnectorError::Resume(_)), "{err}");
    assert!(err.to_string().contains("fewer than"), "{err}");
    std::fs::remove_file(&path).unwrap();
    let err = sink.resume(0, 1, &state).err().expect("missing");
    assert!(err.to_string().contains("cannot reopen"), "{err}");
    for bad in [&[][..], &[9, 0, 0, 0, 0, 0, 0, 0, 0][..], &[1, 2, 3][..]] {
        let err = sink.resume(0, 1, bad).err().expect("bad state");
        assert!(matches!(err, ConnectorError::Resume(_)), "{err}");
    }
}

#[test]
fn devices_and_pipes_need_no_sync() {
    let sink = FileSink::new("/dev/null", csv);
    let mut w = sink.build(0, 1).unwrap();
    w.write_batch(&mut vec![1]).unwrap();
    assert!(w.snapshot().is_ok());
    assert!(w.close().is_ok());
}

/// `flush_each_batch`: each batch is in the file as soon as it is written
/// (whole lines, no close needed); without it, small batches wait in the
/// buffer.
#[test]
fn flush_each_batch_puts_every_batch_in_the_file_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let line = |n: &u32, out: &mut Vec<u8>| out.extend_from_slice(format!("{n}\n").as_bytes());
    let live = dir.path().join("live.txt");
    let mut writer = FileSink::new(&live, line)
        .header("n\n")
        .flush_each_batch(true)
        .build(0, 1)
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&live).unwrap(),
        "n\n",
        "the header at once"
    );
    writer.write_batch(&mut vec![1, 2]).unwrap();
    assert_eq!(std::fs::read_to_string(&live).unwrap(), "n\n1\n2\n");
    writer.write_batch(&mut vec![3]).unwrap();
    assert_eq!(std::fs::read_to_string(&live).unwrap(), "n\n1\n2\n3\n");
    let buffered = dir.path().join("buffered.txt");
    let mut writer = FileSink::new(&buffered, line).build(0, 1).unwrap();
    writer.write_batch(&mut vec![1, 2]).unwrap();
    assert_eq!(
        std::fs::read_to_string(&buffered).unwrap(),
        "",
        "buffered until close"
    );
    writer.close().unwrap();
    assert_eq!(std::fs::read_to_string(&buffered).unwrap(), "1\n2\n");
}
