//! Session windows: a key's values that lie within `gap` of each other.
//!
//! Rules (Bytewax's `SessionWindower`, the newer, inclusive form):
//! a time inside a session, or within `gap` (inclusive) before its start or
//! after its end, joins it and stretches it; a stretched session that comes
//! within `gap` of another merges with it (the earlier survives); anything
//! else opens a new session. A session closes once the watermark is
//! strictly past `end + gap`. Ids count up from 0 per key.

use std::time::Duration;

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

/// One key's open sessions, ordered by start time.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SessionWindowerLogic {
    gap: i64,
    next_id: i64,
    sessions: Vec<(i64, WindowMetadata)>,
    merges: Vec<(i64, i64)>,
}

impl Windower for SessionWindower {
    type Logic = SessionWindowerLogic;
    fn build(&self) -> Self::Logic {
        SessionWindowerLogic {
            gap: self.gap,
            ..Default::default()
        }
    }
}

impl SessionWindowerLogic {
    /// Merges neighbours that came within `gap` after session `i` grew.
    fn merge_around(&mut self, mut i: usize) {
        while i > 0 && self.sessions[i].1.open_time - self.sessions[i - 1].1.close_time <= self.gap {
            i -= 1;
            self.absorb(i);
        }
        while i + 1 < self.sessions.len()
            && self.sessions[i + 1].1.open_time - self.sessions[i].1.close_time <= self.gap
        {
            self.absorb(i);
        }
    }

    /// Merges session `i + 1` into session `i`.
    fn absorb(&mut self, i: usize) {
        let (later_id, later) = self.sessions.remove(i + 1);
        let (into_id, into) = &mut self.sessions[i];
        into.close_time = into.close_time.max(later.close_time);
        into.merged_ids.push(later_id);
        into.merged_ids.extend(later.merged_ids);
        self.merges.push((later_id, *into_id));
    }

    /// The open sessions (id, extent), by start time.
    pub fn sessions(&self) -> &[(i64, WindowMetadata)] {
        &self.sessions
    }
}

impl WindowerLogic for SessionWindowerLogic {
    fn open_for(&mut self, time: i64, out: &mut Vec<i64>) {
        // A session whose reach (start − gap ..= end + gap) holds `time`.
        // If two do, they merge anyway, so any one will do: look from the
        // latest, where in-order data lands.
        let gap = self.gap;
        let found = self.sessions.iter().rposition(|(_, m)| {
            time >= m.open_time.saturating_sub(gap) && time <= m.close_time.saturating_add(gap)
        });
        match found {
            Some(i) => {
                let m = &mut self.sessions[i].1;
                if time < m.open_time || time > m.close_time {
                    m.open_time = m.open_time.min(time);
                    m.close_time = m.close_time.max(time);
                    self.merge_around(i);
                    // Merges only fold later sessions into earlier ones, so
                    // the session holding `time` is the last one starting
                    // at or before it.
                    let at = self.sessions.partition_point(|(_, m)| m.open_time <= time);
                    out.push(self.sessions[at.saturating_sub(1)].0);
                } else {
                    out.push(self.sessions[i].0);
                }
            }
            None => {
                let id = self.next_id;
                self.next_id += 1;
                let at = self.sessions.partition_point(|(_, m)| m.open_time < time);
                // Most keys have one session at a time: no spare room.
                self.sessions.reserve_exact(1);
                self.sessions.insert(at, (id, WindowMetadata::new(time, time)));
                out.push(id);
            }
        }
    }

    fn late_for(&self, _time: i64, out: &mut Vec<i64>) {
        out.push(LATE_SESSION_ID);
    }

    fn merged(&mut self, out: &mut Vec<(i64, i64)>) {
        out.append(&mut self.merges);
    }

    fn close_for(&mut self, watermark: i64, out: &mut Vec<(i64, WindowMetadata)>) {
        let gap = self.gap;
        let closes =
            |m: &WindowMetadata| watermark > m.close_time.saturating_add(gap) || watermark == i64::MAX;
        if !self.sessions.iter().any(|(_, m)| closes(m)) {
            return;
        }
        let mut i = 0;
        while i < self.sessions.len() {
            if closes(&self.sessions[i].1) {
                out.push(self.sessions.remove(i));
            } else {
                i += 1;
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    fn shrink(&mut self) {
        if self.sessions.is_empty() {
            self.sessions = Vec::new();
        }
        if self.merges.is_empty() {
            self.merges = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GAP: Duration = Duration::from_secs(10);

    fn open(l: &mut SessionWindowerLogic, t: i64) -> i64 {
        let mut out = Vec::new();
        l.open_for(t, &mut out);
        assert_eq!(out.len(), 1);
        out[0]
    }

    fn extent(l: &SessionWindowerLogic, id: i64) -> (i64, i64) {
        let m = &l.sessions().iter().find(|(i, _)| *i == id).expect("open").1;
        (m.open_time, m.close_time)
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
        assert_eq!(open(&mut l, 5_000), 0);
        assert_eq!(extent(&l, 0), (0, 10_000));
        let mut merged = Vec::new();
        l.merged(&mut merged);
        assert!(merged.is_empty());
    }

    #[test]
    fn bridging_value_merges_into_the_earlier_session() {
        let mut l = SessionWindower::new(GAP).build();
        assert_eq!(open(&mut l, 20_000), 0);
        assert_eq!(open(&mut l, 0), 1);
        assert_eq!(open(&mut l, 10_000), 1);
        let mut merged = Vec::new();
        l.merged(&mut merged);
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
        open(&mut l, 30_000);
        open(&mut l, 10_000);
        let mut merged = Vec::new();
        l.merged(&mut merged);
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
        l.close_for(15_000, &mut closed);
        assert!(closed.is_empty(), "watermark == end + gap keeps it open");
        l.close_for(15_001, &mut closed);
        assert_eq!(closed, vec![(0, WindowMetadata::new(0, 5_000))]);
        assert!(l.is_empty());
    }

    #[test]
    fn end_of_input_closes_everything() {
        let mut l = SessionWindower::new(GAP).build();
        open(&mut l, 0);
        open(&mut l, 100_000);
        let mut closed = Vec::new();
        l.close_for(i64::MAX, &mut closed);
        assert_eq!(closed.len(), 2);
        assert!(l.is_empty());
    }

    #[test]
    fn late_values_go_to_the_late_session_id() {
        let l = SessionWindower::new(GAP).build();
        let mut out = Vec::new();
        l.late_for(0, &mut out);
        assert_eq!(out, vec![LATE_SESSION_ID]);
    }
}
