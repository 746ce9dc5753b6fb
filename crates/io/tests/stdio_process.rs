//! Stdin and stdout through a real child process (this test binary run again
//! with `EDDY_IO_CHILD` set): a stdout pipe closed early is success, and
//! stdin is read through its reader thread. No libtest harness: its own
//! output on stdout would break on the closed pipe.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

use eddy_io::files::{FileSource, LineRef};
use eddy_io::stdio::StdOutSink;
use eddy_io::{Poll, Sink, Source};

const CHILD: &str = "EDDY_IO_CHILD";

fn main() -> ExitCode {
    match std::env::var(CHILD).as_deref() {
        Ok("stdout") => child_stdout(),
        Ok("stdin") => child_stdin(),
        _ => {
            parent_broken_pipe();
            eprintln!("broken pipe: ok");
            parent_stdin();
            eprintln!("stdin: ok");
            ExitCode::SUCCESS
        }
    }
}

/// Writes 50 MB to stdout; exits 0 only if the sink never failed.
fn child_stdout() -> ExitCode {
    let sink =
        StdOutSink::new(|n: &u64, out: &mut Vec<u8>| out.extend_from_slice(format!("{n:09}\n").as_bytes()))
            .header("n\n");
    let Ok(mut w) = sink.build(0, 1) else {
        return ExitCode::from(3);
    };
    for chunk in 0..5_000u64 {
        let mut items: Vec<u64> = (chunk * 1000..(chunk + 1) * 1000).collect();
        if w.write_batch(&mut items).is_err() {
            return ExitCode::from(4);
        }
    }
    match w.close() {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(5),
    }
}

/// Reads stdin through a `FileSource` and prints `count,sum,max_line_number`.
fn child_stdin() -> ExitCode {
    let src = FileSource::new(vec![PathBuf::from("-")], |l: &LineRef<'_>| {
        let n = std::str::from_utf8(l.bytes())
            .ok()
            .and_then(|s| s.parse::<u64>().ok());
        (n, l.line_number())
    });
    let Ok(mut part) = src.build_part("stdin", None) else {
        return ExitCode::from(3);
    };
    let (mut count, mut sum, mut last, mut pending) = (0u64, 0u64, 0u64, 0u64);
    let mut out = Vec::new();
    loop {
        match part.next_batch(&mut out, 100) {
            Ok(Poll::Ready) => {}
            Ok(Poll::Pending(d)) => {
                pending += 1;
                std::thread::sleep(d);
            }
            Ok(Poll::Done) => break,
            Err(_) => return ExitCode::from(4),
        }
        for (n, line) in out.drain(..) {
            count += 1;
            sum += n.unwrap_or(0);
            last = line;
        }
    }
    println!("{count},{sum},{last},{}", pending > 0);
    ExitCode::SUCCESS
}

fn child(role: &str) -> Command {
    let exe = std::env::current_exe().expect("own path");
    let mut cmd = Command::new(exe);
    cmd.env(CHILD, role);
    cmd
}

fn parent_broken_pipe() {
    let mut c = child("stdout").stdout(Stdio::piped()).spawn().expect("spawn");
    let mut head = [0u8; 12];
    c.stdout
        .as_mut()
        .expect("stdout")
        .read_exact(&mut head)
        .expect("read");
    assert_eq!(&head, b"n\n000000000\n");
    drop(c.stdout.take());
    let status = c.wait().expect("wait");
    assert!(status.success(), "child failed: {status}");
}

fn parent_stdin() {
    let mut c = child("stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut input = c.stdin.take().expect("stdin");
    // Slow, in pieces that cut lines in two, without a final newline.
    for piece in ["1\n2", "0\n3", "\n", "4"] {
        input.write_all(piece.as_bytes()).expect("write");
        input.flush().expect("flush");
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    drop(input);
    let out = c.wait_with_output().expect("wait");
    assert!(out.status.success(), "child failed: {}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "4,28,4,true\n");
}
