//! Several processes: connecting them (with a deadline, binding only the
//! address this process was given), agreeing before anything runs,
//! watching that every peer still answers, and keeping timely's network
//! threads from ever meeting a broken connection.
//!
//! **Connections.** Process `i` dials every process before it and accepts
//! every one after it, on each process's one address. A pair of processes
//! has two connections, told apart by the handshake (magic, process index,
//! channel): the *data* connection, which carries timely's messages, and
//! the *heartbeat* connection.
//!
//! **Agreement.** Before timely gets anything, every process sends every
//! peer its identity on the data connection — named items: the dataflow id,
//! the caller's run parameters ([`ClusterConfig::fingerprint`]), the worker
//! count, recovery on or off — reads every peer's, and compares them item
//! by item. The first difference is [`EddyError::ClusterMismatch`], naming
//! the item and both processes; as every process reads every identity
//! before it goes on, each of them finds a difference and stops.
//!
//! **Heartbeats.** A thread per process sends a byte on every heartbeat
//! connection every 250 ms and reads what its peers send; a peer silent
//! for [`ClusterConfig::peer_timeout`] (stopped, hung, cut off: TCP itself
//! notices none of these, a stopped process's kernel even answers
//! keepalives) ends the run with "process N stopped answering". The
//! heartbeat connection is separate so that beats never wait behind data.
//!
//! **Relays.** Timely's receive thread prints a read error with `println!`
//! — on stdout, among a run's rows — and then panics, which poisons queues
//! that workers still use. So timely never holds a connection to another
//! process: it gets one end of a loopback connection per peer, and two
//! relay threads copy between the other end and the real connection. A
//! relay follows timely's framing just enough to see the zero-length
//! message that ends a stream cleanly. When the real connection ends
//! without it, the relay makes that the run's error ("lost connection to
//! process N") and tells timely nothing until the workers have returned;
//! then [`Relays::release`] closes timely's ends so that its threads end.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use timely::communication::networking::MessageHeader;

use crate::base::signal::RunShared;
use crate::engine::run::ClusterConfig;
use crate::error::{EddyError, Result};

/// The handshake: this magic number, the connecting process's index and
/// the channel, each a little-endian `u64`.
const HANDSHAKE_MAGIC: u64 = 0xc2f1_fb77_0118_add9;

/// Starts an identity message (then its length and its bincode).
const IDENTITY_MAGIC: u64 = u64::from_le_bytes(*b"eddy-id1");

/// The largest identity accepted from a peer.
const MAX_IDENTITY_BYTES: u64 = 64 << 20;

/// How often a heartbeat is sent to every peer.
pub(crate) const BEAT_EVERY: Duration = Duration::from_millis(250);

/// How often the heartbeat thread wakes up.
const BEAT_TICK: Duration = Duration::from_millis(50);

/// A heartbeat byte.
const BEAT: u8 = 1;

/// The last byte on a heartbeat connection: "my run is over, stop
/// watching me".
const BYE: u8 = 2;

/// The two connections between a pair of processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    /// Timely's messages (after the agreement).
    Data,
    /// Heartbeats.
    Heartbeat,
}

impl Channel {
    fn tag(self) -> u64 {
        match self {
            Channel::Data => 0,
            Channel::Heartbeat => 1,
        }
    }

    fn from_tag(tag: u64) -> Option<Self> {
        match tag {
            0 => Some(Channel::Data),
            1 => Some(Channel::Heartbeat),
            _ => None,
        }
    }
}

/// This process's connections to every other (`None` at its own index),
/// made and agreed upon.
#[derive(Debug)]
pub(crate) struct Connections {
    /// For timely's messages.
    pub(crate) data: Vec<Option<TcpStream>>,
    /// For heartbeats.
    pub(crate) heartbeat: Vec<Option<TcpStream>>,
}

impl Connections {
    /// Every connection (clones), for [`RunShared`] to shut down on failure.
    pub(crate) fn all(&self) -> impl Iterator<Item = &TcpStream> {
        self.data.iter().chain(&self.heartbeat).flatten()
    }
}

/// Connects this process to every other one and checks that they all
/// have the same `identity` (item by item). Connecting and the agreement
/// each wait at most `connect_timeout`.
pub(crate) fn connect(cluster: &ClusterConfig, identity: &[(String, String)]) -> Result<Connections> {
    let me = cluster.process_id;
    let addrs = &cluster.addresses;
    let timeout = cluster.connect_timeout;
    let deadline = Instant::now() + timeout;
    let listener = TcpListener::bind(&addrs[me])
        .map_err(|e| EddyError::Engine(format!("process {me}: cannot listen on {}: {e}", addrs[me])))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| EddyError::Engine(format!("process {me}: {e}")))?;
    let none = || (0..addrs.len()).map(|_| None).collect::<Vec<Option<TcpStream>>>();
    let mut conns = Connections {
        data: none(),
        heartbeat: none(),
    };
    for (peer, addr) in addrs.iter().enumerate().take(me) {
        for channel in [Channel::Data, Channel::Heartbeat] {
            let stream = dial(me, peer, addr, channel, deadline, timeout)?;
            *conns.slot(channel, peer) = Some(stream);
        }
    }
    let mut waiting = 2 * (addrs.len() - me - 1);
    while waiting > 0 {
        match listener.accept() {
            Ok((mut stream, _)) => {
                let (peer, channel) = read_handshake(&mut stream, deadline).map_err(|e| {
                    EddyError::Engine(format!("process {me}: bad handshake from a peer: {e}"))
                })?;
                if peer <= me || peer >= addrs.len() || conns.slot(channel, peer).is_some() {
                    return Err(EddyError::Engine(format!(
                        "process {me}: unexpected connection claiming to be process {peer}"
                    )));
                }
                stream
                    .set_nonblocking(false)
                    .and_then(|()| stream.set_nodelay(true))
                    .map_err(|e| EddyError::Engine(format!("process {me}: {e}")))?;
                *conns.slot(channel, peer) = Some(stream);
                waiting -= 1;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    let missing: Vec<String> = (me + 1..addrs.len())
                        .filter(|p| conns.data[*p].is_none() || conns.heartbeat[*p].is_none())
                        .map(|p| format!("process {p} ({})", addrs[p]))
                        .collect();
                    return Err(EddyError::Engine(format!(
                        "process {me}: no connection from {} within {timeout:?}",
                        missing.join(", ")
                    )));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(EddyError::Engine(format!("process {me}: accept failed: {e}"))),
        }
    }
    agree(me, addrs, &conns.data, identity, timeout)?;
    Ok(conns)
}

impl Connections {
    fn slot(&mut self, channel: Channel, peer: usize) -> &mut Option<TcpStream> {
        match channel {
            Channel::Data => &mut self.data[peer],
            Channel::Heartbeat => &mut self.heartbeat[peer],
        }
    }
}

/// Connects to process `peer`'s `channel`, retrying until the deadline.
fn dial(
    me: usize,
    peer: usize,
    addr: &str,
    channel: Channel,
    deadline: Instant,
    timeout: Duration,
) -> Result<TcpStream> {
    let mut last_error = String::from("not tried");
    while Instant::now() < deadline {
        let target = addr.to_socket_addrs().ok().and_then(|mut a| a.next());
        match target.map(|t| TcpStream::connect_timeout(&t, Duration::from_millis(500))) {
            Some(Ok(mut stream)) => {
                let mut hello = [0u8; 24];
                hello[..8].copy_from_slice(&HANDSHAKE_MAGIC.to_le_bytes());
                hello[8..16].copy_from_slice(&(me as u64).to_le_bytes());
                hello[16..].copy_from_slice(&channel.tag().to_le_bytes());
                stream
                    .set_nodelay(true)
                    .and_then(|()| stream.write_all(&hello))
                    .map_err(|e| {
                        EddyError::Engine(format!("process {me}: handshake with process {peer}: {e}"))
                    })?;
                return Ok(stream);
            }
            Some(Err(e)) => last_error = e.to_string(),
            None => last_error = format!("cannot resolve {addr}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(EddyError::Engine(format!(
        "process {me}: cannot reach process {peer} at {addr} within {timeout:?} ({last_error})"
    )))
}

fn read_handshake(stream: &mut TcpStream, deadline: Instant) -> io::Result<(usize, Channel)> {
    stream.set_nonblocking(false)?;
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(100));
    stream.set_read_timeout(Some(left))?;
    let mut hello = [0u8; 24];
    stream.read_exact(&mut hello)?;
    stream.set_read_timeout(None)?;
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&hello[i * 8..i * 8 + 8]);
        u64::from_le_bytes(w)
    };
    let channel = Channel::from_tag(word(2));
    match (word(0) == HANDSHAKE_MAGIC, channel) {
        (true, Some(channel)) => Ok((usize::try_from(word(1)).unwrap_or(usize::MAX), channel)),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not an eddy process of this version",
        )),
    }
}

/// Sends `identity` to every peer, reads every peer's, and returns the
/// first difference (or a peer that did not answer) as the error.
///
/// Every identity is read in full before this returns, so a process that
/// stops here leaves no unread data behind (its close is not a reset that
/// could destroy what a peer has yet to read).
fn agree(
    me: usize,
    addrs: &[String],
    data: &[Option<TcpStream>],
    identity: &[(String, String)],
    timeout: Duration,
) -> Result<()> {
    let body = bincode::serialize(identity)
        .map_err(|e| EddyError::Engine(format!("process {me}: cannot encode its identity: {e}")))?;
    let mut message = Vec::with_capacity(body.len() + 16);
    message.extend_from_slice(&IDENTITY_MAGIC.to_le_bytes());
    message.extend_from_slice(&(body.len() as u64).to_le_bytes());
    message.extend_from_slice(&body);
    let deadline = Instant::now() + timeout;
    std::thread::scope(|scope| {
        // Each peer is sent its copy from a thread of its own: a peer reads
        // only once it has sent its own, however big.
        let message = &message;
        let sends: Vec<_> = data
            .iter()
            .enumerate()
            .filter_map(|(peer, s)| s.as_ref().map(|s| (peer, s)))
            .map(|(peer, stream)| {
                let send = scope.spawn(move || {
                    stream
                        .set_write_timeout(Some(timeout))
                        .and_then(|()| (&*stream).write_all(message))
                        .and_then(|()| stream.set_write_timeout(None))
                });
                (peer, send)
            })
            .collect();
        let mut verdict = Ok(());
        for (peer, stream) in data.iter().enumerate() {
            let Some(stream) = stream else { continue };
            match read_identity(stream, deadline) {
                Ok(theirs) => {
                    if let (Ok(()), Some(e)) = (&verdict, disagreement(me, identity, peer, &theirs)) {
                        verdict = Err(e);
                    }
                }
                Err(e) => {
                    if verdict.is_ok() {
                        verdict = Err(EddyError::Engine(format!(
                            "process {me}: process {peer} ({}) did not send its run parameters: {e} \
                             (see its own error)",
                            addrs[peer]
                        )));
                    }
                }
            }
        }
        for (peer, send) in sends {
            let sent = send
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the sending thread panicked")));
            if let (Ok(()), Err(e)) = (&verdict, sent) {
                verdict = Err(EddyError::Engine(format!(
                    "process {me}: cannot send its run parameters to process {peer} ({}): {e}",
                    addrs[peer]
                )));
            }
        }
        verdict
    })
}

/// Reads a peer's identity message.
fn read_identity(stream: &TcpStream, deadline: Instant) -> io::Result<Vec<(String, String)>> {
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(100));
    stream.set_read_timeout(Some(left))?;
    let mut reader = stream;
    let mut head = [0u8; 16];
    reader.read_exact(&mut head).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => io::Error::new(e.kind(), "it closed the connection"),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            io::Error::new(io::ErrorKind::TimedOut, "timed out")
        }
        _ => e,
    })?;
    let (magic, len) = head.split_at(8);
    let magic = u64::from_le_bytes(magic.try_into().unwrap_or_default());
    let len = u64::from_le_bytes(len.try_into().unwrap_or_default());
    if magic != IDENTITY_MAGIC || len > MAX_IDENTITY_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not an eddy identity message (another version?)",
        ));
    }
    let mut body = vec![0u8; usize::try_from(len).unwrap_or(0)];
    reader.read_exact(&mut body)?;
    stream.set_read_timeout(None)?;
    bincode::deserialize(&body).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// The first item on which process `me` (with `mine`) and `peer` (with
/// `theirs`) differ, as the error both report.
pub(crate) fn disagreement(
    me: usize,
    mine: &[(String, String)],
    peer: usize,
    theirs: &[(String, String)],
) -> Option<EddyError> {
    let describe = |item: Option<&(String, String)>| match item {
        Some((name, value)) => format!("{name} = {value}"),
        None => "nothing".to_owned(),
    };
    let (item, ours, other) =
        (0..mine.len().max(theirs.len())).find_map(|i| match (mine.get(i), theirs.get(i)) {
            (Some((a, ours)), Some((b, other))) if a == b => {
                (ours != other).then(|| (a.clone(), ours.clone(), other.clone()))
            }
            (a, b) => Some(("the list of run parameters".to_owned(), describe(a), describe(b))),
        })?;
    // The higher id first: both processes report the same text.
    let ((process, value), (other, other_value)) = if me > peer {
        ((me, ours), (peer, other))
    } else {
        ((peer, other), (me, ours))
    };
    Some(EddyError::ClusterMismatch {
        item,
        process,
        value,
        other,
        other_value,
    })
}

/// The heartbeat thread of a clustered run: see the module docs.
#[derive(Debug)]
pub(crate) struct Heartbeat {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// A peer as the heartbeat thread sees it.
struct Watched {
    index: usize,
    address: String,
    stream: TcpStream,
    last_heard: Instant,
    /// Still expected to beat.
    watching: bool,
    /// Still to be sent beats.
    sending: bool,
}

impl Heartbeat {
    /// Starts beating on `links` (one per process, `None` at this one's
    /// index) and, unless `timeout` is zero, failing `shared`'s run when a
    /// peer stays silent for longer than `timeout`.
    pub(crate) fn start(
        links: Vec<Option<TcpStream>>,
        addresses: &[String],
        timeout: Duration,
        shared: Weak<RunShared>,
    ) -> Result<Heartbeat> {
        let now = Instant::now();
        let mut peers = Vec::new();
        for (index, link) in links.into_iter().enumerate() {
            let Some(stream) = link else { continue };
            stream
                .set_nonblocking(true)
                .map_err(|e| EddyError::Engine(format!("heartbeat connection to process {index}: {e}")))?;
            peers.push(Watched {
                index,
                address: addresses.get(index).cloned().unwrap_or_default(),
                stream,
                last_heard: now,
                watching: true,
                sending: true,
            });
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("eddy-heartbeat".to_owned())
            .spawn(move || beat(peers, timeout, &shared, &flag))
            .map_err(|e| EddyError::Engine(format!("cannot start the heartbeat thread: {e}")))?;
        Ok(Heartbeat {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Heartbeat {
    /// Says goodbye to every peer (this run is over) and stops.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The heartbeat thread's loop.
fn beat(mut peers: Vec<Watched>, timeout: Duration, shared: &Weak<RunShared>, stop: &AtomicBool) {
    let mut next_beat = Instant::now();
    let mut buf = [0u8; 64];
    loop {
        if stop.load(Ordering::SeqCst) {
            for p in peers.iter().filter(|p| p.sending) {
                let _ = (&p.stream).write(&[BYE]);
            }
            return;
        }
        let Some(run) = shared.upgrade() else { return };
        if run.aborted() {
            return;
        }
        let now = Instant::now();
        if now >= next_beat {
            for p in peers.iter_mut().filter(|p| p.sending) {
                match (&p.stream).write(&[BEAT]) {
                    Ok(_) => {}
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
                    // Gone: its data connection tells the run.
                    Err(_) => p.sending = false,
                }
            }
            next_beat = now + BEAT_EVERY;
        }
        for p in peers.iter_mut().filter(|p| p.watching) {
            loop {
                match (&p.stream).read(&mut buf) {
                    // Closed: the peer exited (its data connection tells
                    // whether that was the end of its run).
                    Ok(0) => p.watching = false,
                    Ok(n) => {
                        p.last_heard = now;
                        if buf[..n].contains(&BYE) {
                            p.watching = false;
                        } else {
                            continue;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => p.watching = false,
                }
                break;
            }
        }
        if !timeout.is_zero() {
            let silent = peers
                .iter()
                .find(|p| p.watching && now.saturating_duration_since(p.last_heard) > timeout);
            if let Some(p) = silent {
                run.fail(EddyError::Engine(format!(
                    "process {} ({}) stopped answering for {timeout:?} (stopped, hung or cut off)",
                    p.index, p.address
                )));
                return;
            }
        }
        drop(run);
        std::thread::sleep(BEAT_TICK);
    }
}

/// Where timely's framing keeps a message's length: see [`Frames`].
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// The header's size in bytes.
    header: usize,
    /// Where the length (a `u64`) starts in the header.
    length_at: usize,
    /// Whether the length is big-endian (timely 0.32 writes every header
    /// field as a big-endian `u64`; older versions wrote native words).
    big_endian: bool,
}

impl Layout {
    /// Found by encoding a header with distinct fields, so that a change
    /// of timely's framing is an error at the start of a clustered run
    /// rather than a relay that misreads the stream.
    fn of_timely() -> io::Result<Layout> {
        const LENGTH: u64 = 0x0102_0304_0506_0708;
        let probe = MessageHeader {
            channel: 11,
            source: 12,
            target_lower: 13,
            target_upper: 14,
            length: LENGTH as usize,
            seqno: 15,
        };
        let mut bytes = Vec::new();
        probe.write_to(&mut bytes)?;
        if bytes.len() != probe.header_bytes() {
            return Err(io::Error::other(format!(
                "timely's message header is {} bytes, not the {} it reports",
                bytes.len(),
                probe.header_bytes()
            )));
        }
        let found = |encoded: [u8; 8]| bytes.windows(8).position(|w| w == encoded);
        let (length_at, big_endian) = match (found(LENGTH.to_be_bytes()), found(LENGTH.to_le_bytes())) {
            (Some(at), _) => (at, true),
            (None, Some(at)) => (at, false),
            (None, None) => {
                return Err(io::Error::other(
                    "cannot find the length in timely's message header",
                ));
            }
        };
        Ok(Layout {
            header: bytes.len(),
            length_at,
            big_endian,
        })
    }

    /// The length field of a whole header.
    fn length(&self, header: &[u8]) -> u64 {
        let mut word = [0u8; 8];
        word.copy_from_slice(&header[self.length_at..self.length_at + 8]);
        if self.big_endian {
            u64::from_be_bytes(word)
        } else {
            u64::from_le_bytes(word)
        }
    }
}

/// Follows timely's framing (header, `length` bytes, ...) to see the
/// zero-length message that ends a stream cleanly.
#[derive(Debug)]
struct Frames {
    layout: Layout,
    partial: Vec<u8>,
    left: usize,
    /// The end message has been seen, and nothing after it.
    ended: bool,
    /// Bytes came after the end message.
    spoiled: bool,
}

impl Frames {
    fn new(layout: Layout) -> Self {
        Frames {
            layout,
            partial: Vec::with_capacity(layout.header),
            left: 0,
            ended: false,
            spoiled: false,
        }
    }

    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.ended || self.spoiled {
                self.ended = false;
                self.spoiled = true;
                return;
            }
            if self.left > 0 {
                let take = self.left.min(bytes.len());
                self.left -= take;
                bytes = &bytes[take..];
                continue;
            }
            let take = (self.layout.header - self.partial.len()).min(bytes.len());
            self.partial.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.partial.len() == self.layout.header {
                let length = self.layout.length(&self.partial);
                self.partial.clear();
                match usize::try_from(length) {
                    Ok(0) => self.ended = true,
                    Ok(n) => self.left = n,
                    // Not timely's framing: never a clean end.
                    Err(_) => {
                        self.spoiled = true;
                        return;
                    }
                }
            }
        }
    }

    /// Whether the stream so far ended cleanly.
    fn clean(&self) -> bool {
        self.ended && !self.spoiled
    }
}

/// The relays of a clustered run: see the module docs.
#[derive(Debug)]
pub(crate) struct Relays {
    peers: Vec<RelayEnds>,
}

#[derive(Debug)]
struct RelayEnds {
    /// The relay's end of timely's loopback connection.
    local: TcpStream,
    state: Arc<Mutex<RelayState>>,
    threads: Vec<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct RelayState {
    /// The workers have returned: timely may hear of breaks now.
    released: bool,
    /// The real connection broke; timely has not been told.
    withheld: bool,
}

/// What a relay needs to know about its peer and run.
#[derive(Clone)]
struct RelayCtx {
    peer: usize,
    address: String,
    shared: Weak<RunShared>,
    state: Arc<Mutex<RelayState>>,
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
}

/// The error of a broken connection to process `peer`.
pub(crate) fn lost_peer(peer: usize, address: &str) -> EddyError {
    EddyError::Engine(format!(
        "lost connection to process {peer} ({address}): it failed or exited"
    ))
}

/// Puts a relay between timely and each real connection in `data`;
/// returns timely's ends (one per process, `None` at this one's index).
pub(crate) fn relay(
    data: Vec<Option<TcpStream>>,
    addresses: &[String],
    shared: &Arc<RunShared>,
) -> Result<(Vec<Option<TcpStream>>, Relays)> {
    let engine = |e: io::Error| EddyError::Engine(format!("cannot set up the connection relays: {e}"));
    let layout = Layout::of_timely().map_err(engine)?;
    let mut timely_ends = Vec::with_capacity(data.len());
    let mut peers = Vec::new();
    for (peer, real) in data.into_iter().enumerate() {
        let Some(real) = real else {
            timely_ends.push(None);
            continue;
        };
        let (theirs, local) = loopback_pair().map_err(engine)?;
        let ctx = RelayCtx {
            peer,
            address: addresses.get(peer).cloned().unwrap_or_default(),
            shared: Arc::downgrade(shared),
            state: Arc::new(Mutex::new(RelayState::default())),
        };
        let inbound = {
            let (real, local, ctx) = (
                real.try_clone().map_err(engine)?,
                local.try_clone().map_err(engine)?,
                ctx.clone(),
            );
            std::thread::Builder::new()
                .name(format!("eddy-relay-in-{peer}"))
                .spawn(move || relay_in(real, local, layout, &ctx))
                .map_err(engine)?
        };
        let outbound = {
            let (local, ctx) = (local.try_clone().map_err(engine)?, ctx.clone());
            std::thread::Builder::new()
                .name(format!("eddy-relay-out-{peer}"))
                .spawn(move || relay_out(local, real, &ctx))
                .map_err(engine)?
        };
        timely_ends.push(Some(theirs));
        peers.push(RelayEnds {
            local,
            state: ctx.state,
            threads: vec![inbound, outbound],
        });
    }
    Ok((timely_ends, Relays { peers }))
}

/// A connected pair of loopback sockets: (timely's end, the relay's end).
fn loopback_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
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

/// Copies the peer's bytes to timely. A clean end (timely's end message,
/// then the end of the stream) is passed on; a break is the run's error,
/// passed on to timely only once released.
fn relay_in(mut real: TcpStream, mut local: TcpStream, layout: Layout, ctx: &RelayCtx) {
    let mut frames = Frames::new(layout);
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match real.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => 0,
        };
        if n == 0 {
            break;
        }
        frames.feed(&buf[..n]);
        if local.write_all(&buf[..n]).is_err() {
            // Timely's side is gone (released): nobody to tell.
            return;
        }
    }
    if frames.clean() {
        let _ = local.shutdown(Shutdown::Write);
        return;
    }
    ctx.lost();
    if let Ok(mut state) = ctx.state.lock() {
        if state.released {
            let _ = local.shutdown(Shutdown::Both);
        } else {
            state.withheld = true;
        }
    }
}

/// Copies timely's bytes to the peer. If the peer cannot take them, that
/// is the run's error, and timely's bytes are read and dropped from then
/// on, so that its writes never fail.
fn relay_out(mut local: TcpStream, mut real: TcpStream, ctx: &RelayCtx) {
    let mut buf = vec![0u8; 64 << 10];
    let mut forwarding = true;
    loop {
        let n = match local.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        if n == 0 {
            if forwarding {
                let _ = real.shutdown(Shutdown::Write);
            }
            return;
        }
        if forwarding && real.write_all(&buf[..n]).is_err() {
            forwarding = false;
            ctx.lost();
        }
    }
}

impl Relays {
    /// The workers have returned: from now on a break reaches timely at
    /// once, and the breaks held back so far are passed on (timely's
    /// threads for those peers end).
    pub(crate) fn release(&self) {
        for p in &self.peers {
            if let Ok(mut state) = p.state.lock() {
                state.released = true;
                if state.withheld {
                    let _ = p.local.shutdown(Shutdown::Both);
                }
            }
        }
    }

    /// Waits for every relay thread (after a successful run, once timely's
    /// threads have ended): everything timely sent has been handed to the
    /// peers' connections.
    pub(crate) fn join(self) {
        for p in self.peers {
            for t in p.threads {
                let _ = t.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn the_first_differing_item_is_named_with_both_processes() {
        let zero = items(&[("dataflow", "f"), ("--gap", "10m"), ("--wait", "1s")]);
        let one = items(&[("dataflow", "f"), ("--gap", "30m"), ("--wait", "2s")]);
        let seen_by_0 = disagreement(0, &zero, 1, &one).map(|e| e.to_string());
        let seen_by_1 = disagreement(1, &one, 0, &zero).map(|e| e.to_string());
        assert_eq!(seen_by_0, seen_by_1);
        let text = seen_by_0.unwrap_or_default();
        assert!(
            text.starts_with(
                "process 1 disagrees with process 0 on --gap: 30m (process 1) vs 10m (process 0)"
            ),
            "{text}"
        );
        assert!(disagreement(0, &zero, 1, &zero).is_none());
        // Another list (another program): named as such.
        let short = items(&[("dataflow", "f")]);
        let e = disagreement(2, &short, 0, &zero)
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("on the list of run parameters: nothing (process 2) vs --gap = 10m (process 0)"),
            "{e}"
        );
    }

    fn header(length: usize) -> Vec<u8> {
        let mut bytes = Vec::new();
        MessageHeader {
            channel: 7,
            source: 1,
            target_lower: 2,
            target_upper: 3,
            length,
            seqno: 9,
        }
        .write_to(&mut bytes)
        .unwrap();
        bytes
    }

    #[test]
    fn frames_see_a_clean_end_however_the_bytes_are_split() {
        let layout = Layout::of_timely().unwrap();
        let mut stream = Vec::new();
        for len in [3, 0x0100, 1] {
            stream.extend(header(len));
            stream.extend(std::iter::repeat_n(0u8, len));
        }
        let body = stream.clone();
        stream.extend(header(0));
        for cut in 0..stream.len() {
            let mut f = Frames::new(layout);
            f.feed(&stream[..cut]);
            assert!(!f.clean(), "cut {cut}");
            f.feed(&stream[cut..]);
            assert!(f.clean(), "cut {cut}");
        }
        // Only messages, no end: a break.
        let mut f = Frames::new(layout);
        f.feed(&body);
        assert!(!f.clean());
        // Bytes after the end message: not clean.
        let mut f = Frames::new(layout);
        f.feed(&stream);
        f.feed(&[0]);
        assert!(!f.clean());
    }

    fn cluster(id: usize, addresses: &[String]) -> ClusterConfig {
        ClusterConfig {
            connect_timeout: Duration::from_secs(10),
            ..ClusterConfig::new(id, addresses.to_vec())
        }
    }

    fn free_ports(n: usize) -> Vec<String> {
        let listeners: Vec<TcpListener> = (0..n)
            .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        listeners
            .iter()
            .map(|l| format!("127.0.0.1:{}", l.local_addr().unwrap().port()))
            .collect()
    }

    /// Connects processes `0..n` (threads) with the given identities.
    fn connect_all(identities: Vec<Vec<(String, String)>>) -> Vec<Result<Connections>> {
        let addrs = free_ports(identities.len());
        let handles: Vec<_> = identities
            .into_iter()
            .enumerate()
            .map(|(i, id)| {
                let c = cluster(i, &addrs);
                std::thread::spawn(move || connect(&c, &id))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    }

    #[test]
    fn processes_that_agree_connect_and_any_difference_stops_them_all() {
        let same = items(&[("dataflow", "f"), ("--gap", "10m")]);
        for r in connect_all(vec![same.clone(), same.clone(), same.clone()]) {
            let c = r.unwrap();
            assert_eq!(c.all().count(), 4);
        }
        let odd = items(&[("dataflow", "f"), ("--gap", "30m")]);
        let results = connect_all(vec![same.clone(), same, odd]);
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Err(EddyError::ClusterMismatch { item, process: 2, .. }) => {
                    assert_eq!(item, "--gap", "process {i}")
                }
                other => panic!("process {i}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_silent_peer_fails_the_run_and_a_goodbye_does_not() {
        let (a, b) = loopback_pair().unwrap();
        let shared = Arc::new(RunShared::default());
        // `b` never beats: the peer is frozen.
        let heartbeat = Heartbeat::start(
            vec![None, Some(a)],
            &["x".into(), "127.0.0.1:9".into()],
            Duration::from_millis(300),
            Arc::downgrade(&shared),
        )
        .unwrap();
        // Waits for the verdict (a hang guard, not a timing assertion).
        let started = Instant::now();
        while !shared.aborted() && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(heartbeat);
        let e = shared.take_error().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            e.contains("process 1 (127.0.0.1:9) stopped answering for 300ms"),
            "{e}"
        );
        drop(b);

        // A peer that says goodbye and goes quiet is no failure.
        let (a, mut b) = loopback_pair().unwrap();
        let shared = Arc::new(RunShared::default());
        b.write_all(&[BEAT, BYE]).unwrap();
        let heartbeat = Heartbeat::start(
            vec![Some(a), None],
            &["127.0.0.1:9".into(), "x".into()],
            Duration::from_millis(100),
            Arc::downgrade(&shared),
        )
        .unwrap();
        // Its beats arrive meanwhile.
        let mut got = [0u8; 1];
        b.read_exact(&mut got).unwrap();
        assert_eq!(got[0], BEAT);
        std::thread::sleep(Duration::from_millis(400));
        assert!(!shared.aborted());
        drop(heartbeat);
        // Its own goodbye comes last.
        let mut rest = Vec::new();
        b.read_to_end(&mut rest).unwrap();
        assert_eq!(rest.last(), Some(&BYE));
    }

    #[test]
    fn a_break_is_the_runs_error_and_reaches_timely_only_when_released() {
        let (peer_side, real) = loopback_pair().unwrap();
        let shared = Arc::new(RunShared::default());
        let (mut ends, relays) =
            relay(vec![None, Some(real)], &["x".into(), "peer:1".into()], &shared).unwrap();
        let mut timely = ends[1].take().unwrap();
        let mut peer = peer_side;
        peer.write_all(&header(2)).unwrap();
        peer.write_all(&[1, 2]).unwrap();
        timely.write_all(b"from timely").unwrap();
        let mut got = vec![0u8; 11];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(got, b"from timely");
        // The peer dies mid-stream (no end message).
        drop(peer);
        let mut seen = vec![0u8; header(2).len() + 2];
        timely.read_exact(&mut seen).unwrap();
        let started = Instant::now();
        while !shared.aborted() && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let e = shared.take_error().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            e,
            "engine error: lost connection to process 1 (peer:1): it failed or exited"
        );
        // Timely hears nothing yet: its reader would panic on an end.
        timely.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut one = [0u8; 1];
        let pending = timely.read(&mut one).unwrap_err();
        assert!(matches!(
            pending.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ));
        relays.release();
        timely.set_read_timeout(None).unwrap();
        assert_eq!(timely.read(&mut one).unwrap(), 0);
    }

    #[test]
    fn a_clean_end_is_passed_on() {
        let (mut peer, real) = loopback_pair().unwrap();
        let shared = Arc::new(RunShared::default());
        let (mut ends, relays) =
            relay(vec![Some(real), None], &["peer:0".into(), "x".into()], &shared).unwrap();
        let mut timely = ends[0].take().unwrap();
        peer.write_all(&header(0)).unwrap();
        peer.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        timely.read_to_end(&mut got).unwrap();
        assert_eq!(got, header(0));
        timely.shutdown(Shutdown::Write).unwrap();
        relays.join();
        assert!(!shared.aborted());
        let mut rest = Vec::new();
        peer.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    }
}
