//! Session windows: a key's values that lie within `gap` of each other.
//!
//! Rules (Bytewax's `SessionWindower`, the newer, inclusive form):
//! a time inside a session, or within `gap` (inclusive) before its start or
//! after its end, joins it and stretches it; a stretched session that comes
//! within `gap` of another merges with it (the earlier survives); anything
//! else opens a new session. A session closes once the watermark is
//! strictly past `end + gap`. Ids count up from 0 per key.

use std::num::NonZeroU64;
use std::time::Duration;

use super::slots::Slots;
use super::windower::{Windower, WindowerLogic};
use super::{millis, WindowMetadata, LATE_SESSION_ID};

/// Session windows separated by more than `gap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionWindower {
    gap: i64,
}

impl SessionWindower {
    /// Sessions whose values lie within `gap` of each other.
    pub fn new(gap: Duration) -> Self {
        SessionWindower { gap: millis(gap) }
    }
}

/// A session id, held with a niche (its top bit flipped into a
/// `NonZeroU64`: `i64::MIN` is never an id, ids count up from 0 and a
/// snapshot holding it is refused), so that the windower's [`Slots`] tag
/// lives in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Id(NonZeroU64);

impl Id {
    const FLIP: u64 = 1 << 63;

    fn new(id: i64) -> Self {
        Id(NonZeroU64::new(id.cast_unsigned() ^ Self::FLIP).unwrap_or(NonZeroU64::MAX))
    }

    fn get(self) -> i64 {
        (self.0.get() ^ Self::FLIP).cast_signed()
    }
}

/// One open session: its id, extent and the ids merged into it.
///
/// 32 bytes, with a niche; the merged ids (rare) are boxed, so that the
/// usual session costs no allocation of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Open {
    id: Id,
    open_time: i64,
    close_time: i64,
    // Boxed on purpose: 8 bytes in every session, not a 24-byte `Vec`.
    #[allow(clippy::box_collection)]
    merged_ids: Option<Box<Vec<i64>>>,
}

impl Open {
    fn new(id: i64, time: i64) -> Self {
        Open {
            id: Id::new(id),
            open_time: time,
            close_time: time,
            merged_ids: None,
        }
    }

    fn meta(self) -> (i64, WindowMetadata) {
        let meta = WindowMetadata {
            open_time: self.open_time,
            close_time: self.close_time,
            merged_ids: self.merged_ids.map_or_else(Vec::new, |ids| *ids),
        };
        (self.id.get(), meta)
    }
}

/// One key's open sessions, ordered by start time. The usual single open
/// session is held inline (no heap allocation per key); the gap is the
/// step's ([`SessionWindower`]), not repeated per key.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "Wire", into = "Wire")]
pub struct SessionWindowerLogic {
    next_id: i64,
    sessions: Slots<Open>,
}

/// [`SessionWindowerLogic`]'s snapshot form.
#[derive(serde::Serialize, serde::Deserialize)]
struct Wire {
    next_id: i64,
    sessions: Vec<(i64, WindowMetadata)>,
}

impl TryFrom<Wire> for SessionWindowerLogic {
    type Error = String;

    fn try_from(w: Wire) -> Result<Self, String> {
        if w.next_id == i64::MIN || w.sessions.iter().any(|(id, _)| *id == i64::MIN) {
            return Err(format!(
                "a session id of {} in a session windower's state",
                i64::MIN
            ));
        }
        let sessions: Vec<Open> = w
            .sessions
            .into_iter()
            .map(|(id, m)| Open {
                id: Id::new(id),
                open_time: m.open_time,
                close_time: m.close_time,
                merged_ids: (!m.merged_ids.is_empty()).then(|| Box::new(m.merged_ids)),
            })
            .collect();
        Ok(SessionWindowerLogic {
            next_id: w.next_id,
            sessions: Slots::from(sessions),
        })
    }
}

impl From<SessionWindowerLogic> for Wire {
    fn from(l: SessionWindowerLogic) -> Self {
        let sessions = match l.sessions {
            Slots::One(s) => vec![s.meta()],
            Slots::Many(v) => v.into_iter().map(Open::meta).collect(),
        };
        Wire {
            next_id: l.next_id,
            sessions,
        }
    }
}

impl Windower for SessionWindower {
    type Logic = SessionWindowerLogic;
    fn build(&self) -> Self::Logic {
        SessionWindowerLogic::default()
    }

    #[inline]
    fn open_for(&self, logic: &mut Self::Logic, time: i64, out: &mut Vec<i64>, merges: &mut Vec<(i64, i64)>) {
        logic.open_for(self.gap, time, out, merges);
    }

    fn late_for(&self, _logic: &Self::Logic, _time: i64, out: &mut Vec<i64>) {
        out.push(LATE_SESSION_ID);
    }

    #[inline]
    fn close_for(&self, logic: &mut Self::Logic, watermark: i64, out: &mut Vec<(i64, WindowMetadata)>) {
        logic.close_for(self.gap, watermark, out);
    }

    fn next_close(&self, logic: &Self::Logic) -> Option<i64> {
        // A session closes once the watermark is strictly past its end + gap.
        logic
            .sessions
            .as_slice()
            .iter()
            .map(|m| m.close_time.saturating_add(self.gap).saturating_add(1))
            .min()
    }

    fn earliest_close(&self, time: i64) -> i64 {
        // Its session ends at `time` or later.
        time.saturating_add(self.gap).saturating_add(1)
    }
}

impl SessionWindowerLogic {
    /// Merges neighbours that came within `gap` after session `i` grew.
    fn merge_around(&mut self, gap: i64, mut i: usize, merges: &mut Vec<(i64, i64)>) {
        while i > 0 && {
            let s = self.sessions.as_slice();
            s[i].open_time - s[i - 1].close_time <= gap
        } {
            i -= 1;
            self.absorb(i, merges);
        }
        while i + 1 < self.sessions.len() && {
            let s = self.sessions.as_slice();
            s[i + 1].open_time - s[i].close_time <= gap
        } {
            self.absorb(i, merges);
        }
    }

    /// Merges session `i + 1` into session `i`.
    fn absorb(&mut self, i: usize, merges: &mut Vec<(i64, i64)>) {
        let later = self.sessions.remove(i + 1);
        let into = &mut self.sessions.as_mut_slice()[i];
        into.close_time = into.close_time.max(later.close_time);
        let ids = into.merged_ids.get_or_insert_with(Default::default);
        ids.push(later.id.get());
        ids.extend(later.merged_ids.into_iter().flat_map(|v| *v));
        merges.push((later.id.get(), into.id.get()));
    }

    /// The open sessions (id, extent), by start time.
    pub fn sessions(&self) -> Vec<(i64, WindowMetadata)> {
        self.sessions.as_slice().iter().cloned().map(Open::meta).collect()
    }

    /// [`Windower::open_for`] with the step's gap.
    fn open_for(&mut self, gap: i64, time: i64, out: &mut Vec<i64>, merges: &mut Vec<(i64, i64)>) {
        // A session whose reach (start − gap ..= end + gap) holds `time`.
        // If two do, they merge anyway, so any one will do: look from the
        // latest, where in-order data lands.
        let found = self.sessions.as_slice().iter().rposition(|m| {
            time >= m.open_time.saturating_sub(gap) && time <= m.close_time.saturating_add(gap)
        });
        match found {
            Some(i) => {
                let m = &mut self.sessions.as_mut_slice()[i];
                if time < m.open_time || time > m.close_time {
                    m.open_time = m.open_time.min(time);
                    m.close_time = m.close_time.max(time);
                    self.merge_around(gap, i, merges);
                    // Merges only fold later sessions into earlier ones, so
                    // the session holding `time` is the last one starting
                    // at or before it.
                    let s = self.sessions.as_slice();
                    let at = s.partition_point(|m| m.open_time <= time);
                    out.push(s[at.saturating_sub(1)].id.get());
                } else {
                    out.push(m.id.get());
                }
            }
            None => {
                let id = self.next_id;
                self.next_id = self.next_id.saturating_add(1);
                let at = self.sessions.as_slice().partition_point(|m| m.open_time < time);
                self.sessions.insert(at, Open::new(id, time));
                out.push(id);
            }
        }
    }

    /// [`Windower::close_for`] with the step's gap.
    fn close_for(&mut self, gap: i64, watermark: i64, out: &mut Vec<(i64, WindowMetadata)>) {
        let closes = |m: &Open| watermark > m.close_time.saturating_add(gap) || watermark == i64::MAX;
        if !self.sessions.as_slice().iter().any(closes) {
            return;
        }
        let mut i = 0;
        while i < self.sessions.len() {
            if closes(&self.sessions.as_slice()[i]) {
                out.push(self.sessions.remove(i).meta());
            } else {
                i += 1;
            }
        }
    }
}

impl WindowerLogic for SessionWindowerLogic {
    fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    fn shrink(&mut self) {
        self.sessions.shrink();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GAP: Duration = Duration::from_secs(10);

    fn open(l: &mut SessionWindowerLogic, t: i64) -> i64 {
        open_merging(l, t, &mut Vec::new())
    }

    fn open_merging(l: &mut SessionWindowerLogic, t: i64, merges: &mut Vec<(i64, i64)>) -> i64 {
        let mut out = Vec::new();
        l.open_for(millis(GAP), t, &mut out, merges);
        assert_eq!(out.len(), 1);
        out[0]
    }

    fn extent(l: &SessionWindowerLogic, id: i64) -> (i64, i64) {
        let sessions = l.sessions();
        let m = &sessions.iter().find(|(i, _)| *i == id).expect("open").1;
        (m.open_time, m.close_time)
    }

    proptest::proptest! {
        /// `earliest_close` is a lower bound: after any values, the session
        /// a value at `t` lands in closes no earlier (the watermark it
        /// needs is at least `earliest_close(t)`).
        #[test]
        fn earliest_close_is_a_lower_bound(
            before in proptest::collection::vec(-60_000i64..60_000, 0..12),
            t in -60_000i64..60_000,
        ) {
            let w = SessionWindower::new(GAP);
            let mut l = w.build();
            for b in before {
                open(&mut l, b);
            }
            let id = open(&mut l, t);
            let (_, close) = extent(&l, id);
            let needed = close + millis(GAP) + 1;
            proptest::prop_assert!(w.earliest_close(t) <= needed);
            let mut closed = Vec::new();
            w.close_for(&mut l, w.earliest_close(t) - 1, &mut closed);
            proptest::prop_assert!(closed.iter().all(|(c, _)| *c != id));
        }
    }

    #[test]
    fn first_value_opens_session_zero() {
        let mut l = SessionWindower::new(GAP).build();
        assert_eq!(open(&mut l, 0), 0);
        assert_eq!(extent(&l, 0), (0, 0));
    }

    #[test]
    fn extends_forward_within_and_at_exactly_the_gap() {
        let mut l = SessionWindower::new(GAP).build();
        open(&mut l, 0);
        assert_eq!(open(&mut l, 5_000), 0);
        assert_eq!(open(&mut l, 15_000), 0);
        assert_eq!(extent(&l, 0), (0, 15_000));
        // Just past the gap: a new session.
        assert_eq!(open(&mut l, 25_001), 1);
    }

    #[test]
    fn extends_backward_within_and_at_exactly_the_gap() {
        let mut l = SessionWindower::new(GAP).build();
        open(&mut l, 20_000);
        assert_eq!(open(&mut l, 15_000), 0);
        assert_eq!(open(&mut l, 5_000), 0);
        assert_eq!(extent(&l, 0), (5_000, 20_000));
        assert_eq!(open(&mut l, -5_001), 1);
    }

    #[test]
    fn value_inside_a_session_changes_nothing() {
        let mut l = SessionWindower::new(GAP).build();
        open(&mut l, 0);
        open(&mut l, 10_000);
        let mut merged = Vec::new();
        assert_eq!(open_merging(&mut l, 5_000, &mut merged), 0);
        assert_eq!(extent(&l, 0), (0, 10_000));
        assert!(merged.is_empty());
    }

    #[test]
    fn bridging_value_merges_into_the_earlier_session() {
        let mut l = SessionWindower::new(GAP).build();
        assert_eq!(open(&mut l, 20_000), 0);
        assert_eq!(open(&mut l, 0), 1);
        let mut merged = Vec::new();
        assert_eq!(open_merging(&mut l, 10_000, &mut merged), 1);
        assert_eq!(merged, vec![(0, 1)]);
        assert_eq!(l.sessions().len(), 1);
        assert_eq!(extent(&l, 1), (0, 20_000));
        assert_eq!(l.sessions()[0].1.merged_ids, vec![0]);
    }

    #[test]
    fn three_way_merge() {
        let mut l = SessionWindower::new(GAP).build();
        open(&mut l, 0);
        open(&mut l, 40_000);
        open(&mut l, 20_000);
        assert_eq!(l.sessions().len(), 3);
        // 30 s bridges 20 s and 40 s; then 10 s bridges 0 s and 20-40 s.
        let mut merged = Vec::new();
        open_merging(&mut l, 30_000, &mut merged);
        open_merging(&mut l, 10_000, &mut merged);
        assert_eq!(merged, vec![(1, 2), (2, 0)]);
        assert_eq!(l.sessions().len(), 1);
        assert_eq!(extent(&l, 0), (0, 40_000));
    }

    #[test]
    fn closes_strictly_after_end_plus_gap() {
        let mut l = SessionWindower::new(GAP).build();
        open(&mut l, 0);
        open(&mut l, 5_000);
        let mut closed = Vec::new();
        l.close_for(millis(GAP), 15_000, &mut closed);
        assert!(closed.is_empty(), "watermark == end + gap keeps it open");
        l.close_for(millis(GAP), 15_001, &mut closed);
        assert_eq!(closed, vec![(0, WindowMetadata::new(0, 5_000))]);
        assert!(l.is_empty());
    }

    #[test]
    fn end_of_input_closes_everything() {
        let mut l = SessionWindower::new(GAP).build();
        open(&mut l, 0);
        open(&mut l, 100_000);
        let mut closed = Vec::new();
        l.close_for(millis(GAP), i64::MAX, &mut closed);
        assert_eq!(closed.len(), 2);
        assert!(l.is_empty());
    }

    #[test]
    fn late_values_go_to_the_late_session_id() {
        let l = SessionWindower::new(GAP).build();
        let mut out = Vec::new();
        SessionWindower::new(GAP).late_for(&l, 0, &mut out);
        assert_eq!(out, vec![LATE_SESSION_ID]);
    }

    #[test]
    fn one_open_session_is_inline_and_snapshots_keep_their_form() {
        let mut l = SessionWindower::new(GAP).build();
        open(&mut l, 0);
        assert!(matches!(l.sessions, Slots::One(_)), "one session: no Vec");
        // 10 s bridges 0 s and 20 s, then 30 s bridges 0–20 s and 40 s.
        for t in [40_000, 20_000, 10_000, 30_000, 100_000] {
            open(&mut l, t);
        }
        let bytes = bincode::serialize(&l).unwrap();
        let mut merged = WindowMetadata::new(0, 40_000);
        merged.merged_ids = vec![2, 1];
        let wire = Wire {
            next_id: 4,
            sessions: vec![(0, merged), (3, WindowMetadata::new(100_000, 100_000))],
        };
        assert_eq!(bytes, bincode::serialize(&wire).unwrap());
        let back: SessionWindowerLogic = bincode::deserialize(&bytes).unwrap();
        assert_eq!(back, l);
        let bad = Wire {
            next_id: 1,
            sessions: vec![(i64::MIN, WindowMetadata::new(0, 0))],
        };
        let e = bincode::deserialize::<SessionWindowerLogic>(&bincode::serialize(&bad).unwrap()).unwrap_err();
        assert!(
            e.to_string().contains("session id of -9223372036854775808"),
            "{e}"
        );
        // The logic of a key is small: a counter and one inline session
        // (32 bytes, the tag in its niche); the gap is the step's.
        assert_eq!(std::mem::size_of::<SessionWindowerLogic>(), 40);
    }
}
