//! Temporary speed check.
use eddy_io::files::{FileSource, LineRef};
use eddy_io::{Poll, Source};
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let chunk: u64 = std::env::args().nth(2).unwrap().parse().unwrap();
    let t = std::time::Instant::now();
    let src = FileSource::new(vec![path.into()], |l: &LineRef<'_>| l.bytes().len());
    let src = src.chunk_bytes(chunk);
    let (mut n, mut b) = (0u64, 0u64);
    for key in src.list_parts().unwrap() {
        let mut p = src.build_part(&key, None).unwrap();
        let mut out = Vec::new();
        loop {
            let r = p.next_batch(&mut out, 1024).unwrap();
            n += out.len() as u64;
            b += out.drain(..).sum::<usize>() as u64;
            if r == Poll::Done { break; }
        }
    }
    println!("{n} lines {b} bytes in {:?}", t.elapsed());
}
