//! Deterministic synthetic search logs, for tests and benchmarks.
//!
//! [`generate`] writes JSON Lines in the input format of `docs/input-format.md`:
//! many users with Zipf-like activity (a few heavy users, a long tail), each
//! with sessions separated by gaps much longer than 30 minutes; inside a
//! session `app_open`, searches each followed by `results` and about half the
//! time by one or more `click_result`, then `app_close` (or `timeout`, or
//! nothing). A few events have types the contract does not know ("other").
//!
//! The output is roughly sorted by event time. Each session carries a client
//! clock skew and some events a jitter, so a line's time may lie up to
//! [`GenerateConfig::disorder_ms`] behind lines before it; keep that at most
//! the `wait` a run uses and no event is late except those made late on
//! purpose ([`GenerateConfig::late_rate`]), whose time lies more than
//! `10 s + disorder` behind the latest time of their user. A fraction
//! [`GenerateConfig::invalid_rate`] of lines is invalid (truncated JSON, a
//! field of the wrong type, a bad or missing timestamp…).
//!
//! Disorder never moves an event before the first event of its own session:
//! Bytewax 0.19.1's session windower loses a session's earlier events when
//! one arrives before the session's start (it merges the sessions under the
//! new window's key and orphans the old window's state), and the benchmarks
//! compare against it on these logs. Reordering inside a session does occur.
//!
//! For variety, some lines write the user as an integer, the time as integer
//! milliseconds or with a non-UTC offset, or the type in CamelCase; some carry
//! fields the contract ignores.
//!
//! With [`Profile::Search`] (`search-ctr generate --profile search`) the
//! logs also exercise the search analytics (`docs/analytics.md`): queries
//! come from a vocabulary of [`QUERY_VOCABULARY`] queries with Zipf-like
//! popularity, a few written with other case, spacing or full-width
//! letters; each query shows the same result list every time (two
//! neighbours sometimes swapped), some queries show none (zero-result
//! searches); clicks favour the top positions (position `p` with weight
//! `1/p`), a few go to unlisted items; an unclicked search is often
//! followed by a related one (a reformulation). The default
//! [`Profile::Classic`] writes the same bytes as before the profile
//! existed.
//!
//! **Deterministic:** the same config gives byte-identical output on every
//! machine. Randomness comes from an explicit xoshiro256** generator seeded
//! through SplitMix64, and only integer arithmetic (plus correctly rounded
//! float comparisons) decides anything — no platform math library.
//!
//! **Streaming:** events are produced in time order from a min-heap of the
//! active sessions keyed by their next event time. Memory holds the active
//! sessions and one small word per user; it does not grow with
//! [`GenerateConfig::events`].

use crate::analytics::click_models::Model;
use crate::timestamp::civil_from_days;
use std::collections::binary_heap::PeekMut;
use std::collections::BinaryHeap;
use std::io::{self, Write};

/// 2024-01-01T00:00:00Z in milliseconds since the Unix epoch.
const START_2024_MS: i64 = 1_704_067_200_000;
/// Shortest pause between two sessions of one user (event time).
const MIN_SESSION_GAP_MS: i64 = 45 * 60 * 1000;
/// Sessions started per user per day, on average, before heavy users are
/// capped by [`MIN_SESSION_GAP_MS`].
const SESSIONS_PER_USER_PER_DAY: i64 = 2;
/// How far behind `wait` a late event is pushed, on top of the disorder.
const LATE_BASE_MS: i64 = 11_000;
/// Flush the output buffer once it holds this much.
const FLUSH_AT: usize = 1 << 16;

/// What to generate. `Clone`, plain data; [`Default`] gives a 1 M-event log.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateConfig {
    /// Lines to write (invalid lines included).
    pub events: u64,
    /// Number of distinct users (at least 1 is used).
    pub users: u64,
    /// Seed of the pseudo-random generator; same seed, same bytes.
    pub seed: u64,
    /// Largest amount a line's time may lie behind the times of lines before
    /// it (client clock skew plus jitter), in milliseconds. Keep it at most
    /// the `wait` of the run that reads the log.
    pub disorder_ms: i64,
    /// Fraction of events made late on purpose (0.0–1.0).
    pub late_rate: f64,
    /// Fraction of lines made invalid (0.0–1.0).
    pub invalid_rate: f64,
    /// Event time of the first session, milliseconds since the Unix epoch.
    pub start_ms: i64,
    /// What the queries, result lists and clicks look like.
    pub profile: Profile,
    /// With [`Profile::Search`]: draw clicks from this click model with
    /// the true parameters of [`truth`] (each search then shows its
    /// query's list in a random order, as a randomization experiment does,
    /// so that position bias can be measured); `None`: rank-biased clicks.
    pub click_model: Option<Model>,
}

/// Generator profiles: how searches, results and clicks are drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Profile {
    /// Random queries, random item ids in results and clicks (the default;
    /// its bytes are pinned by the tests).
    #[default]
    Classic,
    /// Repeated queries, stable result lists, zero-result searches,
    /// rank-biased clicks and reformulations, for search analytics.
    Search,
}

/// Distinct queries of [`Profile::Search`].
pub const QUERY_VOCABULARY: u64 = 500;

impl Default for GenerateConfig {
    fn default() -> Self {
        Self {
            events: 1_000_000,
            users: 20_000,
            seed: 42,
            disorder_ms: 2_000,
            late_rate: 0.001,
            invalid_rate: 0.0,
            start_ms: START_2024_MS,
            profile: Profile::Classic,
            click_model: None,
        }
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenerateStats {
    /// Lines written (equals [`GenerateConfig::events`]).
    pub events: u64,
    /// Invalid lines among them.
    pub invalid: u64,
    /// Events made late on purpose (valid lines whose time lies more than
    /// `10 s + disorder` behind their user's latest time).
    pub late: u64,
    /// Valid events of a type the contract does not know ("other").
    pub other: u64,
    /// Sessions started.
    pub sessions: u64,
}

/// Writes `cfg.events` lines of synthetic search log to `out`; see the
/// module docs for what they look like. Output is buffered here, so `out`
/// need not be. Same config, same bytes.
///
/// # Errors
/// Only those of `out`.
pub fn generate(cfg: &GenerateConfig, out: &mut impl Write) -> io::Result<GenerateStats> {
    let mut gen = Generator::new(cfg);
    let mut buf = Vec::with_capacity(FLUSH_AT + 1024);
    while gen.stats.events < cfg.events {
        gen.next_line(&mut buf);
        if buf.len() >= FLUSH_AT {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    out.flush()?;
    Ok(gen.stats)
}

/// xoshiro256** seeded through SplitMix64: small, fast, the same everywhere.
struct Rng {
    s: [u64; 4],
}

/// SplitMix64's output mix of `z`.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The top 53 bits of `x` as a number in `[0, 1)`.
fn unit_of(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

impl Rng {
    fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut splitmix = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            mix64(x)
        };
        Self {
            s: [splitmix(), splitmix(), splitmix(), splitmix()],
        }
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (0 when `n` is 0), by multiply-shift.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        unit_of(self.next_u64())
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// True with probability `per_mille / 1000`.
    fn permille(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// True with probability `p` (a comparison of exact floats: portable).
    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }
}

/// The kinds of line a session emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    AppOpen,
    Search,
    Results,
    Click,
    AppClose,
    Timeout,
}

impl Kind {
    fn name(self, camel: bool) -> &'static [u8] {
        match (self, camel) {
            (Kind::AppOpen, false) => b"app_open",
            (Kind::Search, false) => b"search",
            (Kind::Results, false) => b"results",
            (Kind::Click, false) => b"click_result",
            (Kind::AppClose, false) => b"app_close",
            (Kind::Timeout, false) => b"timeout",
            (Kind::AppOpen, true) => b"AppOpen",
            (Kind::Search, true) => b"Search",
            (Kind::Results, true) => b"Results",
            (Kind::Click, true) => b"ClickResult",
            (Kind::AppClose, true) => b"AppClose",
            (Kind::Timeout, true) => b"Timeout",
        }
    }
}

/// How a session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Close,
    Timeout,
    Nothing,
}

/// One active session; ordered in the heap by `(next_time, seq)`, earliest
/// first.
#[derive(Debug)]
struct Session {
    /// True (unskewed) time of the next event.
    next_time: i64,
    /// Start order: breaks ties deterministically.
    seq: u64,
    user: u64,
    /// Client clock skew, subtracted from every time.
    skew: i64,
    /// Latest written time of a valid, known, non-late event (`i64::MIN`: none).
    max_written: i64,
    /// Written time of the first valid, known event (`i64::MIN`: none yet);
    /// no later event is written earlier (see the module docs).
    first_written: i64,
    next: Kind,
    searches_left: u8,
    clicks_left: u8,
    in_search: bool,
    end: End,
    /// [`Profile::Search`] only: the current search's query id
    /// (`u64::MAX`: none yet), whether its list is empty, whether two
    /// neighbours of its list are swapped (at this index), and whether it
    /// has a click.
    query: u64,
    zero_result: bool,
    swap: Option<u64>,
    clicked: bool,
    /// With a click model: the model, the current list's order (a seed;
    /// 0: the query's own order) and the positions still to click (bit
    /// `p − 1`).
    click_model: Option<Model>,
    order: u64,
    planned: u16,
}

impl PartialEq for Session {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Session {}
impl PartialOrd for Session {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Session {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Reversed: BinaryHeap is a max-heap.
        (other.next_time, other.seq).cmp(&(self.next_time, self.seq))
    }
}

impl Session {
    /// Think time before the next event: `lo..=hi`, sometimes zero (ties),
    /// sometimes a long pause (still well inside a 30-minute gap).
    fn delay(rng: &mut Rng, lo: i64, hi: i64) -> i64 {
        match rng.below(1000) {
            0..=19 => 0,
            20..=59 => rng.range(60_000, 720_000),
            _ => rng.range(lo, hi),
        }
    }

    /// Chooses the event after `emitted`; `None` when the session is over.
    fn after(&mut self, emitted: Kind, rng: &mut Rng) -> Option<(Kind, i64)> {
        match emitted {
            Kind::AppOpen => {
                if rng.permille(30) {
                    // A click before any search (a recommendation).
                    self.clicks_left = 1;
                    Some((Kind::Click, Self::delay(rng, 1_000, 20_000)))
                } else {
                    self.next_search_or_end(rng)
                }
            }
            Kind::Search => {
                if rng.permille(950) {
                    Some((Kind::Results, Self::delay(rng, 100, 1_500)))
                } else {
                    self.next_search_or_end(rng)
                }
            }
            Kind::Results => {
                if self.zero_result {
                    // Nothing to click (only in the search profile).
                    self.next_search_or_end(rng)
                } else if let Some(model) = self.click_model.filter(|_| self.query != u64::MAX) {
                    self.planned = truth::draw_clicks(model, self, rng);
                    if self.planned == 0 {
                        self.next_search_or_end(rng)
                    } else {
                        self.clicks_left = self.planned.count_ones() as u8;
                        Some((Kind::Click, Self::delay(rng, 1_000, 30_000)))
                    }
                } else if rng.permille(500) {
                    self.clicks_left = 1;
                    while self.clicks_left < 4 && rng.permille(400) {
                        self.clicks_left += 1;
                    }
                    Some((Kind::Click, Self::delay(rng, 1_000, 30_000)))
                } else {
                    self.next_search_or_end(rng)
                }
            }
            Kind::Click => {
                self.clicks_left = self.clicks_left.saturating_sub(1);
                if self.clicks_left > 0 {
                    Some((Kind::Click, Self::delay(rng, 2_000, 40_000)))
                } else {
                    self.next_search_or_end(rng)
                }
            }
            Kind::AppClose | Kind::Timeout => None,
        }
    }

    fn next_search_or_end(&mut self, rng: &mut Rng) -> Option<(Kind, i64)> {
        if self.searches_left > 0 {
            self.searches_left -= 1;
            let lo = if self.in_search { 3_000 } else { 1_000 };
            self.in_search = true;
            Some((Kind::Search, Self::delay(rng, lo, 60_000)))
        } else {
            match self.end {
                End::Close => Some((Kind::AppClose, Self::delay(rng, 2_000, 60_000))),
                End::Timeout => Some((Kind::Timeout, rng.range(60_000, 300_000))),
                End::Nothing => None,
            }
        }
    }
}

/// Words queries are made of.
const WORDS: [&str; 32] = [
    "cats", "dogs", "rust", "bikes", "pizza", "weather", "news", "jobs", "shoes", "maps", "flights",
    "hotels", "music", "movies", "recipes", "python", "stream", "bread", "coffee", "garden", "chess",
    "guitar", "camera", "laptop", "tea", "yoga", "books", "paris", "tokyo", "berlin", "lamp", "phone",
];
/// Types the contract does not know.
const OTHER_TYPES: [&str; 4] = ["heartbeat", "page_view", "ad_impression", "settings"];
/// Devices, an ignored field on some lines.
const DEVICES: [&str; 4] = ["ios", "android", "web", "desktop"];
/// Offsets (minutes) some lines write their time with.
const OFFSETS_MIN: [i64; 5] = [60, 120, -300, 330, -480];

/// The state of one generation run.
struct Generator {
    rng: Rng,
    heap: BinaryHeap<Session>,
    /// Per user: true time before which it may not start a session
    /// (`i64::MAX` while one is active).
    busy_until: Vec<i64>,
    users: u64,
    /// Rank → user id: `(rank * perm_mul + perm_add) % users`.
    perm_mul: u64,
    perm_add: u64,
    /// Next session arrival, microseconds since the epoch.
    arrival_us: i64,
    mean_arrival_us: i64,
    next_seq: u64,
    disorder_ms: i64,
    late_rate: f64,
    invalid_rate: f64,
    profile: Profile,
    click_model: Option<Model>,
    times: TimeFormatter,
    stats: GenerateStats,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Generator {
    fn new(cfg: &GenerateConfig) -> Self {
        let users = cfg.users.max(1);
        let mut rng = Rng::new(cfg.seed);
        let mut perm_mul = (rng.next_u64() % users) | 1;
        while gcd(perm_mul, users) != 1 {
            perm_mul += 2;
        }
        let perm_add = rng.below(users);
        let day_us: i64 = 86_400_000_000;
        let mean_arrival_us =
            (day_us / SESSIONS_PER_USER_PER_DAY / i64::try_from(users).unwrap_or(i64::MAX)).max(1);
        Self {
            rng,
            heap: BinaryHeap::new(),
            busy_until: vec![i64::MIN; usize::try_from(users).unwrap_or(usize::MAX)],
            users,
            perm_mul,
            perm_add,
            arrival_us: cfg.start_ms.saturating_mul(1000),
            mean_arrival_us,
            next_seq: 0,
            disorder_ms: cfg.disorder_ms.max(0),
            late_rate: cfg.late_rate,
            invalid_rate: cfg.invalid_rate,
            profile: cfg.profile,
            click_model: cfg.click_model.filter(|_| cfg.profile == Profile::Search),
            times: TimeFormatter::new(),
            stats: GenerateStats::default(),
        }
    }

    /// A user rank: half the time log-uniform (Zipf with exponent 1: rank
    /// `k` has weight about `1/k`), half the time uniform.
    fn pick_rank(&mut self) -> u64 {
        if self.rng.permille(500) {
            let top_bit = 63 - u64::leading_zeros(self.users) as u64;
            let b = self.rng.below(top_bit + 1);
            let lo = 1u64 << b;
            let hi = (lo << 1).min(self.users + 1);
            lo + self.rng.below(hi - lo) - 1
        } else {
            self.rng.below(self.users)
        }
    }

    fn user_of_rank(&self, rank: u64) -> u64 {
        ((u128::from(rank) * u128::from(self.perm_mul) + u128::from(self.perm_add)) % u128::from(self.users))
            as u64
    }

    /// Starts a session at `now` (true time) for a free user, if one is
    /// found in a few tries (heavy users are often busy).
    fn start_session(&mut self, now: i64) {
        let mut user = None;
        for _ in 0..8 {
            let rank = self.pick_rank();
            let u = self.user_of_rank(rank);
            if self.busy_until[u as usize] <= now {
                user = Some(u);
                break;
            }
        }
        let Some(user) = user else { return };
        let rng = &mut self.rng;
        let mut searches_left = 0;
        if !rng.permille(100) {
            searches_left = 1;
            while searches_left < 10 && rng.permille(550) {
                searches_left += 1;
            }
        }
        let end = match rng.below(100) {
            0..=84 => End::Close,
            85..=89 => End::Timeout,
            _ => End::Nothing,
        };
        let skew = rng.range(0, self.disorder_ms);
        let mut s = Session {
            next_time: now,
            seq: self.next_seq,
            user,
            skew,
            max_written: i64::MIN,
            first_written: i64::MIN,
            next: Kind::AppOpen,
            searches_left,
            clicks_left: 0,
            in_search: false,
            end,
            query: u64::MAX,
            zero_result: false,
            swap: None,
            clicked: false,
            click_model: self.click_model,
            order: 0,
            planned: 0,
        };
        self.next_seq += 1;
        if !rng.permille(950) {
            // No app_open: the session starts with its first search.
            match s.next_search_or_end(rng) {
                Some((kind, _)) => s.next = kind,
                None => {
                    self.busy_until[user as usize] = now + MIN_SESSION_GAP_MS;
                    return;
                }
            }
        }
        self.busy_until[user as usize] = i64::MAX;
        self.stats.sessions += 1;
        self.heap.push(s);
    }

    /// Appends one line (with its newline) to `buf`.
    fn next_line(&mut self, buf: &mut Vec<u8>) {
        loop {
            let arrival_ms = self.arrival_us.div_euclid(1000);
            if self.heap.peek().is_some_and(|s| s.next_time < arrival_ms) {
                break;
            }
            self.start_session(arrival_ms);
            self.arrival_us += self.rng.range(0, 2 * self.mean_arrival_us);
        }
        let Some(mut top) = self.heap.peek_mut() else {
            unreachable!("the loop above leaves at least one session in the heap")
        };
        let s = &mut *top;
        let rng = &mut self.rng;
        let times = &mut self.times;
        let start = buf.len();
        self.stats.events += 1;

        let jitter = if rng.permille(200) {
            rng.range(0, self.disorder_ms - s.skew)
        } else {
            0
        };
        let mut written = (s.next_time - s.skew - jitter).max(s.first_written);

        if rng.permille(10) {
            // An event of a type the contract does not know; the session's
            // next event comes a little later.
            let other = OTHER_TYPES[rng.below(OTHER_TYPES.len() as u64) as usize];
            write_line(buf, rng, times, other.as_bytes(), s.user, written, |_, _| {});
            s.next_time += rng.range(0, 3_000);
            if rng.chance(self.invalid_rate) {
                self.stats.invalid += 1;
                make_invalid(buf, start, rng, times, other.as_bytes(), s.user, written);
            } else {
                self.stats.other += 1;
            }
            return;
        }

        let kind = s.next;
        let invalid = rng.chance(self.invalid_rate);
        let late = !invalid && s.max_written != i64::MIN && rng.chance(self.late_rate);
        if late {
            written = s.max_written - LATE_BASE_MS - self.disorder_ms - rng.range(0, 50_000);
            self.stats.late += 1;
        } else if !invalid {
            s.max_written = s.max_written.max(written);
            if s.first_written == i64::MIN {
                s.first_written = written;
            }
        }
        let camel = rng.permille(30);
        let user = s.user;
        match self.profile {
            Profile::Classic => write_line(buf, rng, times, kind.name(camel), user, written, |buf, rng| {
                write_payload(buf, rng, kind)
            }),
            Profile::Search => write_line(buf, rng, times, kind.name(camel), user, written, |buf, rng| {
                write_search_payload(buf, rng, kind, s)
            }),
        }
        if invalid {
            self.stats.invalid += 1;
            make_invalid(buf, start, rng, times, kind.name(false), s.user, written);
        }

        match s.after(kind, rng) {
            Some((next, delay)) => {
                s.next = next;
                s.next_time += delay;
            }
            None => {
                let end = s.next_time;
                let user = s.user;
                PeekMut::pop(top);
                self.busy_until[user as usize] =
                    end + MIN_SESSION_GAP_MS + self.rng.range(0, MIN_SESSION_GAP_MS);
            }
        }
    }
}

/// Writes `{"type":T,"user":U,<payload>"time":X}\n`.
fn write_line(
    buf: &mut Vec<u8>,
    rng: &mut Rng,
    times: &mut TimeFormatter,
    type_name: &[u8],
    user: u64,
    time_ms: i64,
    payload: impl FnOnce(&mut Vec<u8>, &mut Rng),
) {
    buf.extend_from_slice(b"{\"type\":\"");
    buf.extend_from_slice(type_name);
    buf.extend_from_slice(b"\",\"user\":");
    write_user(buf, rng, user);
    buf.push(b',');
    payload(buf, rng);
    buf.extend_from_slice(b"\"time\":");
    match rng.below(100) {
        0..=92 => {
            buf.push(b'"');
            times.utc(time_ms, buf);
            buf.push(b'"');
        }
        93..=97 => buf.extend_from_slice(itoa::Buffer::new().format(time_ms).as_bytes()),
        _ => {
            let offset = OFFSETS_MIN[rng.below(OFFSETS_MIN.len() as u64) as usize];
            buf.push(b'"');
            times.with_offset(time_ms, offset, buf);
            buf.push(b'"');
        }
    }
    buf.extend_from_slice(b"}\n");
}

/// Users whose id is a multiple of 3 are named `"u<id>"`; the others are
/// numbers, written as a string or (one line in ten) as an integer.
fn write_user(buf: &mut Vec<u8>, rng: &mut Rng, user: u64) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(user).as_bytes();
    if user.is_multiple_of(3) {
        buf.extend_from_slice(b"\"u");
        buf.extend_from_slice(digits);
        buf.push(b'"');
    } else if rng.permille(100) {
        buf.extend_from_slice(digits);
    } else {
        buf.push(b'"');
        buf.extend_from_slice(digits);
        buf.push(b'"');
    }
}

/// The kind-specific fields, each followed by a comma.
fn write_payload(buf: &mut Vec<u8>, rng: &mut Rng, kind: Kind) {
    let mut num = itoa::Buffer::new();
    match kind {
        Kind::AppOpen => {
            buf.extend_from_slice(b"\"device\":\"");
            buf.extend_from_slice(DEVICES[rng.below(DEVICES.len() as u64) as usize].as_bytes());
            buf.extend_from_slice(b"\",\"version\":\"3.");
            buf.extend_from_slice(num.format(rng.below(20)).as_bytes());
            buf.extend_from_slice(b"\",");
        }
        Kind::Search => {
            buf.extend_from_slice(b"\"query\":\"");
            let words = 1 + rng.below(3);
            for i in 0..words {
                if i > 0 {
                    buf.push(b' ');
                }
                buf.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes());
            }
            buf.extend_from_slice(b"\",");
        }
        Kind::Results => {
            buf.extend_from_slice(b"\"items\":[");
            let items = 3 + rng.below(4);
            for i in 0..items {
                if i > 0 {
                    buf.push(b',');
                }
                buf.extend_from_slice(b"\"d");
                buf.extend_from_slice(num.format(rng.below(100_000)).as_bytes());
                buf.push(b'"');
            }
            buf.extend_from_slice(b"],");
        }
        Kind::Click => {
            buf.extend_from_slice(b"\"item\":\"d");
            buf.extend_from_slice(num.format(rng.below(100_000)).as_bytes());
            buf.extend_from_slice(b"\",\"rank\":");
            buf.extend_from_slice(num.format(1 + rng.below(6)).as_bytes());
            buf.push(b',');
        }
        Kind::AppClose | Kind::Timeout => {}
    }
}

/// [`Profile::Search`]'s kind-specific fields, each followed by a comma;
/// keeps the session's current query, list and click state.
fn write_search_payload(buf: &mut Vec<u8>, rng: &mut Rng, kind: Kind, s: &mut Session) {
    let mut num = itoa::Buffer::new();
    match kind {
        Kind::Search => {
            // After an unclicked search, often a related query (the next
            // id); otherwise a Zipf-like pick (id `k` has weight ~ 1/(k+1)).
            s.query = if s.query != u64::MAX && !s.clicked && rng.permille(600) {
                (s.query + 1) % QUERY_VOCABULARY
            } else {
                let top_bit = 63 - u64::leading_zeros(QUERY_VOCABULARY) as u64;
                let lo = 1u64 << rng.below(top_bit + 1);
                let hi = (lo << 1).min(QUERY_VOCABULARY + 1);
                lo + rng.below(hi - lo) - 1
            };
            s.clicked = false;
            s.zero_result = s.query % 23 == 22 || rng.permille(10);
            s.swap = rng.permille(100).then(|| rng.below(4));
            if s.click_model.is_some() {
                s.order = rng.next_u64() | 1;
                s.swap = None;
            }
            buf.extend_from_slice(b"\"query\":\"");
            write_query_text(buf, rng, s.query);
            buf.extend_from_slice(b"\",");
        }
        Kind::Results => {
            buf.extend_from_slice(b"\"items\":[");
            if !s.zero_result {
                for p in 1..=list_len(s.query) {
                    if p > 1 {
                        buf.push(b',');
                    }
                    write_listed_item(buf, s, p);
                }
            }
            buf.extend_from_slice(b"],");
        }
        Kind::Click => {
            s.clicked = true;
            if s.planned != 0 {
                // The click model's next click, top down.
                let p = u64::from(s.planned.trailing_zeros()) + 1;
                s.planned &= s.planned - 1;
                buf.extend_from_slice(b"\"item\":");
                write_listed_item(buf, s, p);
                buf.extend_from_slice(b",\"rank\":");
                buf.extend_from_slice(num.format(p).as_bytes());
                buf.push(b',');
                return;
            }
            let len = list_len(s.query);
            if s.zero_result || s.query == u64::MAX || rng.permille(30) {
                // A recommendation, or an item from outside the list.
                buf.extend_from_slice(b"\"item\":\"x");
                buf.extend_from_slice(num.format(rng.below(100_000)).as_bytes());
                buf.extend_from_slice(b"\",");
                return;
            }
            // Position p with weight 2520 / p (2520 is divisible by 1..=10).
            let total: u64 = (1..=len).map(|p| 2520 / p).sum();
            let mut r = rng.below(total);
            let mut p = 1;
            while r >= 2520 / p {
                r -= 2520 / p;
                p += 1;
            }
            buf.extend_from_slice(b"\"item\":");
            write_listed_item(buf, s, p);
            buf.extend_from_slice(b",\"rank\":");
            buf.extend_from_slice(num.format(p).as_bytes());
            buf.push(b',');
        }
        Kind::AppOpen | Kind::AppClose | Kind::Timeout => write_payload(buf, rng, kind),
    }
}

/// The true parameters `generate --click-model` draws clicks from
/// ([`GenerateConfig::click_model`]), for checking what a model fits.
pub mod truth {
    use super::{list_len, listed_item_id, mix64, unit_of, Rng, Session};
    use crate::analytics::click_models::Model;

    /// PBM's examination probability at positions 1…10 (about `r^-0.8`,
    /// written out so that every platform draws the same clicks).
    pub const EXAMINATION: [f64; 10] = [1.0, 0.574, 0.415, 0.330, 0.276, 0.239, 0.211, 0.189, 0.172, 0.158];

    /// DBN's continuation probability.
    pub const CONTINUATION: f64 = 0.8;

    /// A number in `[0, 1)` fixed by `(query, item, which)` (SplitMix64).
    fn fixed(query: u64, item: u64, which: u64) -> f64 {
        let z = query
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(item.wrapping_mul(0xBF58_476D_1CE4_E5B9))
            .wrapping_add(which);
        unit_of(mix64(z))
    }

    /// The attractiveness of item `item` for query `query` (0.05 to 0.9).
    pub fn attractiveness(query: u64, item: u64) -> f64 {
        0.05 + 0.85 * fixed(query, item, 1)
    }

    /// DBN's satisfaction after a click on `item` for `query` (0.2 to 0.8).
    pub fn satisfaction(query: u64, item: u64) -> f64 {
        0.2 + 0.6 * fixed(query, item, 2)
    }

    /// The positions `model` clicks in the current search's list (bit
    /// `p − 1`).
    pub(super) fn draw_clicks(model: Model, s: &Session, rng: &mut Rng) -> u16 {
        let len = list_len(s.query);
        let mut clicks = 0u16;
        for p in 1..=len {
            let item = listed_item_id(s, p);
            let a = attractiveness(s.query, item);
            let at = 1u16 << (p - 1);
            match model {
                Model::Pbm => {
                    if rng.unit() < EXAMINATION[p as usize - 1] * a {
                        clicks |= at;
                    }
                }
                Model::Cascade => {
                    if rng.unit() < a {
                        return at;
                    }
                }
                Model::Dbn => {
                    if rng.unit() < a {
                        clicks |= at;
                        if rng.unit() < satisfaction(s.query, item) {
                            break;
                        }
                    }
                    if rng.unit() >= CONTINUATION {
                        break;
                    }
                }
            }
        }
        clicks
    }
}

/// Length of query `q`'s result list (5 to 10).
fn list_len(q: u64) -> u64 {
    5 + q % 6
}

/// The id of the item at 1-based position `p` of the current search's
/// list.
fn listed_item_id(s: &Session, p: u64) -> u64 {
    let slot = if s.order != 0 {
        // A random order of the query's list (Fisher–Yates, seeded).
        let len = list_len(s.query) as usize;
        let mut slots: [u64; 10] = std::array::from_fn(|i| i as u64 + 1);
        let mut rng = Rng::new(s.order);
        for i in (1..len).rev() {
            slots.swap(i, rng.below(i as u64 + 1) as usize);
        }
        slots[(p as usize - 1).min(len - 1)]
    } else {
        match s.swap {
            Some(i) if p == i + 1 => p + 1,
            Some(i) if p == i + 2 => p - 1,
            _ => p,
        }
    };
    item_id(s.query, slot)
}

/// The id of query `q`'s item in slot `slot` of its own list.
pub fn item_id(q: u64, slot: u64) -> u64 {
    (q * 7_919 + slot * 104_729) % 100_000
}

/// The item at 1-based position `p` of the current search's list, quoted.
fn write_listed_item(buf: &mut Vec<u8>, s: &Session, p: u64) {
    let id = listed_item_id(s, p);
    buf.extend_from_slice(b"\"d");
    buf.extend_from_slice(itoa::Buffer::new().format(id).as_bytes());
    buf.push(b'"');
}

/// Query `q`'s words (one to three of [`WORDS`]); now and then in upper
/// case, with extra spaces, or in full-width letters — the same query once
/// normalised.
fn write_query_text(buf: &mut Vec<u8>, rng: &mut Rng, q: u64) {
    let n = WORDS.len() as u64;
    let mut words = vec![WORDS[(q % n) as usize]];
    if q >= n {
        words.push(WORDS[((q / n + q) % n) as usize]);
    }
    if q >= 4 * n {
        words.push(WORDS[((q / 7) % n) as usize]);
    }
    let variant = rng.below(100);
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            buf.extend_from_slice(if variant == 0 { b"  " } else { b" " });
        }
        match variant {
            1..=3 => buf.extend_from_slice(w.to_ascii_uppercase().as_bytes()),
            4 => {
                for c in w.chars() {
                    // Full-width forms: U+FF41 is 'a'.
                    let wide = char::from_u32(c as u32 - 'a' as u32 + 0xFF41).unwrap_or(c);
                    let mut tmp = [0u8; 4];
                    buf.extend_from_slice(wide.encode_utf8(&mut tmp).as_bytes());
                }
            }
            _ => buf.extend_from_slice(w.as_bytes()),
        }
    }
    if variant == 0 {
        buf.push(b' ');
    }
}

/// Replaces the line that starts at `start` in `buf` by an invalid one.
fn make_invalid(
    buf: &mut Vec<u8>,
    start: usize,
    rng: &mut Rng,
    times: &mut TimeFormatter,
    type_name: &[u8],
    user: u64,
    time_ms: i64,
) {
    let variant = rng.below(7);
    if variant == 0 {
        // Truncated: a proper prefix of an object is never valid JSON.
        let len = buf.len() - start - 1; // without the newline
        buf.truncate(start + 1 + rng.below(len as u64 - 1) as usize);
        buf.push(b'\n');
        return;
    }
    buf.truncate(start);
    let mut num = itoa::Buffer::new();
    let user = num.format(user).as_bytes();
    let mut time = Vec::with_capacity(24);
    times.utc(time_ms, &mut time);
    let parts: [&[u8]; 7] = match variant {
        // The user has the wrong type.
        1 => [
            b"{\"type\":\"",
            type_name,
            b"\",\"user\":true,\"time\":\"",
            &time,
            b"\"}",
            b"",
            b"",
        ],
        // A timestamp that is not one.
        2 => {
            let bad: &[u8] = match rng.below(3) {
                0 => b"yesterday",
                1 => b"2024-13-01T00:00:00Z",
                _ => b"2024-01-01T24:61:00Z",
            };
            [
                b"{\"type\":\"",
                type_name,
                b"\",\"user\":\"",
                user,
                b"\",\"time\":\"",
                bad,
                b"\"}",
            ]
        }
        // No time.
        3 => [
            b"{\"type\":\"",
            type_name,
            b"\",\"user\":\"",
            user,
            b"\"}",
            b"",
            b"",
        ],
        // The type is not a string.
        4 => [
            b"{\"type\":4,\"user\":\"",
            user,
            b"\",\"time\":\"",
            &time,
            b"\"}",
            b"",
            b"",
        ],
        // Not an object.
        5 => [b"[\"", type_name, b"\",\"", user, b"\",\"", &time, b"\"]"],
        // No user.
        _ => [
            b"{\"type\":\"",
            type_name,
            b"\",\"time\":\"",
            &time,
            b"\"}",
            b"",
            b"",
        ],
    };
    for part in parts {
        buf.extend_from_slice(part);
    }
    buf.push(b'\n');
}

// NOTE: private formatting helpers; `crate::timestamp::format_rfc3339_ms` was
// not written yet when this module was. The generator keeps its own copy on
// purpose anyway: the bytes it writes must never change with another module.

/// Writes times; remembers the last day's `YYYY-MM-DDT` (times come mostly
/// in order, so the calendar arithmetic runs about once a day).
struct TimeFormatter {
    day: i64,
    prefix: [u8; 11],
}

impl TimeFormatter {
    fn new() -> Self {
        Self {
            day: i64::MIN,
            prefix: [0; 11],
        }
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS.mmmZ` for `ms` since the epoch (UTC).
    fn utc(&mut self, ms: i64, out: &mut Vec<u8>) {
        self.local(ms, out);
        out.push(b'Z');
    }

    /// Appends the same instant as local time at `offset_min` from UTC,
    /// with a `+HH:MM` / `-HH:MM` suffix.
    fn with_offset(&mut self, ms: i64, offset_min: i64, out: &mut Vec<u8>) {
        self.local(ms + offset_min * 60_000, out);
        out.push(if offset_min < 0 { b'-' } else { b'+' });
        let abs = offset_min.abs();
        push2(out, abs / 60);
        out.push(b':');
        push2(out, abs % 60);
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS.mmm`.
    fn local(&mut self, ms: i64, out: &mut Vec<u8>) {
        let days = ms.div_euclid(86_400_000);
        let in_day = ms.rem_euclid(86_400_000);
        if self.day != days {
            let (y, m, d) = civil_from_days(days);
            let mut p = Vec::with_capacity(11);
            push2(&mut p, y / 100);
            push2(&mut p, y % 100);
            p.push(b'-');
            push2(&mut p, m);
            p.push(b'-');
            push2(&mut p, d);
            p.push(b'T');
            self.prefix.copy_from_slice(&p);
            self.day = days;
        }
        out.extend_from_slice(&self.prefix);
        push2(out, in_day / 3_600_000);
        out.push(b':');
        push2(out, in_day / 60_000 % 60);
        out.push(b':');
        push2(out, in_day / 1000 % 60);
        out.push(b'.');
        let frac = in_day % 1000;
        out.push(b'0' + (frac / 100) as u8);
        push2(out, frac % 100);
    }
}

/// Two decimal digits of `v` (0..=99).
fn push2(out: &mut Vec<u8>, v: i64) {
    out.push(b'0' + (v / 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_formatted_in_utc_and_with_offsets() {
        let mut f = TimeFormatter::new();
        let mut out = Vec::new();
        f.utc(START_2024_MS + 5_123, &mut out);
        out.push(b' ');
        f.with_offset(START_2024_MS + 5_123, -300, &mut out);
        out.push(b' ');
        f.utc(0, &mut out);
        out.push(b' ');
        f.with_offset(951_782_400_000, 330, &mut out); // 2000-02-29T00:00Z
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2024-01-01T00:00:05.123Z 2023-12-31T19:00:05.123-05:00 \
             1970-01-01T00:00:00.000Z 2000-02-29T05:30:00.000+05:30"
        );
    }

    #[test]
    fn civil_dates_round_the_calendar() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn every_invalid_variant_is_invalid_json_or_lacks_a_field() {
        let mut rng = Rng::new(1);
        let mut times = TimeFormatter::new();
        for _ in 0..200 {
            let mut buf = b"{\"x\":1}\n".to_vec();
            let start = buf.len();
            write_line(&mut buf, &mut rng, &mut times, b"search", 7, 0, |b, r| {
                write_payload(b, r, Kind::Search)
            });
            make_invalid(&mut buf, start, &mut rng, &mut times, b"search", 7, 0);
            assert!(buf.ends_with(b"\n"));
            let line = &buf[start..buf.len() - 1];
            let valid = match serde_json::from_slice::<serde_json::Value>(line) {
                Ok(serde_json::Value::Object(o)) => {
                    o.get("type").is_some_and(serde_json::Value::is_string)
                        && o.get("user").is_some_and(|u| u.is_string() || u.is_u64())
                        && o.get("time").is_some_and(|t| {
                            t.as_str().is_some_and(|t| t.parse::<jiff::Timestamp>().is_ok()) || t.is_u64()
                        })
                }
                _ => false,
            };
            assert!(!valid, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn the_rng_is_xoshiro256_starstar_seeded_by_splitmix64() {
        // Reference: splitmix64(0) = 0xe220a8397b1dcdaf (Vigna's generator).
        let mut r = Rng::new(0);
        assert_eq!(r.s[0], 0xe220_a839_7b1d_cdaf);
        // First outputs, from an independent implementation of the reference.
        assert_eq!(r.next_u64(), 0x99ec_5f36_cb75_f2b4);
        assert_eq!(r.next_u64(), 0xbf6e_1f78_4956_452a);
        assert!((0..1000).all(|_| r.below(10) < 10));
        assert!((0..1000).all(|_| (3..=5).contains(&r.range(3, 5))));
    }
}
