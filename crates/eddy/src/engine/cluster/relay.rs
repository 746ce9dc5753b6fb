//! **Relays.** Timely's receive thread prints a read error with `println!`
//! — on stdout, among a run's rows — and then panics, which poisons queues
//! that workers still use. So timely never holds a bare connection to
//! another process: it gets a [`Relay`] per peer, the real connection
//! behind a guard that timely's network threads read and write through
//! directly (no copy, no thread of its own). A relay follows timely's
//! framing just enough to see the zero-length message that ends a stream
//! cleanly. When the real connection ends without it, fails to read or
//! fails to write, the relay makes that the run's error ("lost connection
//! to process N") and tells timely nothing until the workers have
//! returned: a read waits, a write is taken and dropped. Then
//! [`Relays::release`] lets the waiting reads see the end, so that
//! timely's threads end.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, Weak};

use timely::communication::allocator::zero_copy::stream::Stream;

use super::framing::{Frames, Layout};
use crate::base::signal::RunShared;
use crate::error::{EddyError, Result};

/// The relays of a clustered run: see the module docs.
#[derive(Debug)]
pub(crate) struct Relays {
    peers: Vec<Arc<RelayCtx>>,
}

#[derive(Debug, Default)]
struct RelayState {
    /// The workers have returned: timely may hear of breaks now.
    released: bool,
    /// The real connection broke; timely's reader waits to hear of it.
    withheld: bool,
}

/// What a relay needs to know about its peer and run.
#[derive(Debug)]
struct RelayCtx {
    peer: usize,
    address: String,
    shared: Weak<RunShared>,
    state: Mutex<RelayState>,
    /// Signalled on release.
    released: Condvar,
}

impl RelayCtx {
    /// The real connection broke: the run's error, unless the run is
    /// already stopping or its workers have returned.
    fn lost(&self) {
        let released = self.state.lock().map(|s| s.released).unwrap_or(true);
        if released {
            return;
        }
        if let Some(run) = self.shared.upgrade() {
            if !run.aborted() {
                run.fail(lost_peer(self.peer, &self.address));
            }
        }
    }

    /// A break, as timely's reader hears of it: nothing until the relays
    /// are released, then the end of the stream.
    fn withhold(&self) -> io::Result<usize> {
        let Ok(mut state) = self.state.lock() else {
            return Ok(0);
        };
        state.withheld = true;
        while !state.released {
            state = match self.released.wait(state) {
                Ok(state) => state,
                Err(_) => return Ok(0),
            };
        }
        Ok(0)
    }
}

/// The error of a broken connection to process `peer`.
pub(crate) fn lost_peer(peer: usize, address: &str) -> EddyError {
    EddyError::Engine(format!(
        "lost connection to process {peer} ({address}): it failed or exited"
    ))
}

/// Timely's end of the connection to one peer: the real connection behind
/// the guard the module docs describe. Timely clones it for its send and
/// its receive thread; each clone keeps its own view of the stream.
#[derive(Debug)]
pub(crate) struct Relay {
    stream: TcpStream,
    ctx: Arc<RelayCtx>,
    layout: Layout,
    /// What this handle has read, by timely's framing.
    frames: Frames,
    /// This handle's reads have met a break (or an end): only `withhold`
    /// from now on.
    broken: bool,
    /// This handle's writes still reach the peer.
    forwarding: bool,
}

impl Read for Relay {
    /// Reads the peer's bytes. A clean end (timely's end message, then the
    /// end of the stream) is passed on; a break is the run's error, passed
    /// on to timely (as an end) only once released.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.broken {
            return self.ctx.withhold();
        }
        loop {
            match self.stream.read(buf) {
                Ok(0) if self.frames.clean() => return Ok(0),
                Ok(0) => break,
                Ok(n) => {
                    self.frames.feed(&buf[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        self.broken = true;
        self.ctx.lost();
        self.ctx.withhold()
    }
}

impl Write for Relay {
    /// Sends timely's bytes to the peer. If the peer cannot take them, that
    /// is the run's error, and timely's bytes are taken and dropped from
    /// then on, so that its writes never fail.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        while self.forwarding {
            match self.stream.write(buf) {
                Ok(n) if n > 0 || buf.is_empty() => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(_) | Err(_) => {
                    self.forwarding = false;
                    self.ctx.lost();
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stream for Relay {
    fn try_clone(&self) -> io::Result<Self> {
        Ok(Relay {
            stream: self.stream.try_clone()?,
            ctx: self.ctx.clone(),
            layout: self.layout,
            frames: Frames::new(self.layout),
            broken: false,
            forwarding: true,
        })
    }

    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.stream.set_nonblocking(nonblocking)
    }

    /// Timely's send thread ends its stream with a shutdown of the write
    /// side: passed on unless the peer is gone (then there is nobody to
    /// tell, and timely must not see an error).
    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let _ = self.stream.shutdown(how);
        Ok(())
    }
}

/// Puts a relay on each real connection in `data`; returns timely's ends
/// (one per process, `None` at this one's index).
pub(crate) fn relay(
    data: Vec<Option<TcpStream>>,
    addresses: &[String],
    shared: &Arc<RunShared>,
) -> Result<(Vec<Option<Relay>>, Relays)> {
    let engine = |e: io::Error| EddyError::network("cannot set up the connection relays", e);
    let layout = Layout::of_timely().map_err(engine)?;
    let mut timely_ends = Vec::with_capacity(data.len());
    let mut peers = Vec::new();
    for (peer, real) in data.into_iter().enumerate() {
        let Some(stream) = real else {
            timely_ends.push(None);
            continue;
        };
        let ctx = Arc::new(RelayCtx {
            peer,
            address: addresses.get(peer).cloned().unwrap_or_default(),
            shared: Arc::downgrade(shared),
            state: Mutex::new(RelayState::default()),
            released: Condvar::new(),
        });
        peers.push(ctx.clone());
        timely_ends.push(Some(Relay {
            stream,
            ctx,
            layout,
            frames: Frames::new(layout),
            broken: false,
            forwarding: true,
        }));
    }
    Ok((timely_ends, Relays { peers }))
}

impl Relays {
    /// The workers have returned: from now on a break reaches timely at
    /// once, and the breaks held back so far are passed on (timely's
    /// threads for those peers end).
    pub(crate) fn release(&self) {
        for ctx in &self.peers {
            if let Ok(mut state) = ctx.state.lock() {
                state.released = true;
            }
            ctx.released.notify_all();
        }
    }

    /// Whether a reader of peer `peer`'s connection is waiting to hear of
    /// a break (for tests).
    #[cfg(test)]
    fn withheld(&self, peer: usize) -> bool {
        self.peers
            .iter()
            .filter(|c| c.peer == peer)
            .any(|c| c.state.lock().map(|s| s.withheld).unwrap_or(false))
    }
}

/// A connected pair of loopback sockets (for tests).
#[cfg(test)]
pub(super) fn loopback_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    let theirs = TcpStream::connect(listener.local_addr()?)?;
    let expected = theirs.local_addr()?;
    loop {
        let (local, from) = listener.accept()?;
        // Anyone else who raced to this port is dropped.
        if from == expected {
            theirs.set_nodelay(true)?;
            local.set_nodelay(true)?;
            return Ok((theirs, local));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::engine::cluster::framing::tests::header;

    /// Waits (a hang guard, not a timing assertion) until `done`.
    fn wait_for(done: impl Fn() -> bool) {
        let started = Instant::now();
        while !done() && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_break_is_the_runs_error_and_reaches_timely_only_when_released() {
        let (peer_side, real) = loopback_pair().unwrap();
        let shared = Arc::new(RunShared::default());
        let (mut ends, relays) =
            relay(vec![None, Some(real)], &["x".into(), "peer:1".into()], &shared).unwrap();
        let end = ends[1].take().unwrap();
        // Timely's two threads hold clones.
        let (mut reader, mut writer) = (end.try_clone().unwrap(), end.try_clone().unwrap());
        drop(end);
        let mut peer = peer_side;
        peer.write_all(&header(2)).unwrap();
        peer.write_all(&[1, 2]).unwrap();
        writer.write_all(b"from timely").unwrap();
        let mut got = vec![0u8; 11];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(got, b"from timely");
        let mut seen = vec![0u8; header(2).len() + 2];
        reader.read_exact(&mut seen).unwrap();
        // The peer dies mid-stream (no end message).
        drop(peer);
        let (tx, rx) = mpsc::channel();
        let read = std::thread::spawn(move || {
            let mut one = [0u8; 1];
            let _ = tx.send(reader.read(&mut one).map_err(|e| e.kind()));
        });
        wait_for(|| shared.aborted() && relays.withheld(1));
        let e = shared.take_error().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            e,
            "engine error: lost connection to process 1 (peer:1): it failed or exited"
        );
        // Timely hears nothing yet (its reader would panic on an end): the
        // read waits for the release, which has not happened.
        assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Empty));
        // Its writes are taken and dropped, never an error.
        for _ in 0..64 {
            writer.write_all(&[0u8; 1 << 16]).unwrap();
        }
        writer.shutdown(Shutdown::Write).unwrap();
        relays.release();
        assert_eq!(rx.recv().unwrap(), Ok(0));
        read.join().unwrap();
    }

    #[test]
    fn a_clean_end_is_passed_on() {
        let (mut peer, real) = loopback_pair().unwrap();
        let shared = Arc::new(RunShared::default());
        let (mut ends, _relays) =
            relay(vec![Some(real), None], &["peer:0".into(), "x".into()], &shared).unwrap();
        let end = ends[0].take().unwrap();
        let (mut reader, writer) = (end.try_clone().unwrap(), end.try_clone().unwrap());
        drop(end);
        peer.write_all(&header(0)).unwrap();
        peer.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        reader.read_to_end(&mut got).unwrap();
        assert_eq!(got, header(0));
        writer.shutdown(Shutdown::Write).unwrap();
        assert!(!shared.aborted());
        let mut rest = Vec::new();
        peer.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    }
}
