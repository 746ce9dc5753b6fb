//! Sliding windows: `[align_to + i·offset, … + length)` for every integer
//! `i` (negative before `align_to`). A time belongs to every window that
//! holds it (open inclusive, close exclusive). A window closes once the
//! watermark reaches its close time.

use std::collections::BTreeMap;
use std::time::Duration;

use super::windower::{Windower, WindowerLogic};
use super::{millis, EventTime, WindowMetadata};
use crate::error::{EddyError, Result};

/// Windows of `length`, one starting every `offset`, aligned to `align_to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SlidingWindower {
    length: i64,
    offset: i64,
    align_to: i64,
}

impl SlidingWindower {
    /// Windows of `length` starting every `offset` (≤ `length`, > 0) from
    /// `align_to`.
    pub fn new(length: Duration, offset: Duration, align_to: EventTime) -> Result<Self> {
        let align_to = align_to.as_millis();
        let (length, offset) = (millis(length), millis(offset));
        if offset <= 0 || length <= 0 {
            return Err(EddyError::Build(
                "window length and offset must be at least 1 ms".into(),
            ));
        }
        if offset > length {
            return Err(EddyError::Build(format!(
                "sliding window offset ({offset} ms) must not exceed its length ({length} ms)"
            )));
        }
        Ok(SlidingWindower {
            length,
            offset,
            align_to,
        })
    }

    /// The ids of the windows holding `time`.
    pub fn ids_for(&self, time: i64) -> std::ops::RangeInclusive<i64> {
        let since = i128::from(time) - i128::from(self.align_to);
        let (len, off) = (i128::from(self.length), i128::from(self.offset));
        let first = (since - len).div_euclid(off) + 1;
        let last = since.div_euclid(off);
        let clamp = |x: i128| x.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        clamp(first)..=clamp(last)
    }

    /// The extent of window `id`.
    pub fn meta(&self, id: i64) -> WindowMetadata {
        let open = self.align_to.saturating_add(self.offset.saturating_mul(id));
        WindowMetadata::new(open, open.saturating_add(self.length))
    }
}

/// One key's open sliding windows (the config is the step's, not
/// repeated per key).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SlidingWindowerLogic {
    open: BTreeMap<i64, WindowMetadata>,
}

impl Windower for SlidingWindower {
    type Logic = SlidingWindowerLogic;
    fn build(&self) -> Self::Logic {
        SlidingWindowerLogic {
            open: BTreeMap::new(),
        }
    }

    fn open_for(
        &self,
        logic: &mut Self::Logic,
        time: i64,
        out: &mut Vec<i64>,
        _merges: &mut Vec<(i64, i64)>,
    ) {
        for id in self.ids_for(time) {
            logic.open.entry(id).or_insert_with(|| self.meta(id));
            out.push(id);
        }
    }

    fn late_for(&self, _logic: &Self::Logic, time: i64, out: &mut Vec<i64>) {
        out.extend(self.ids_for(time));
    }

    fn close_for(&self, logic: &mut Self::Logic, watermark: i64, out: &mut Vec<(i64, WindowMetadata)>) {
        while let Some(entry) = logic.open.first_entry() {
            if entry.get().close_time <= watermark {
                let (id, meta) = entry.remove_entry();
                out.push((id, meta));
            } else {
                break;
            }
        }
    }

    fn next_close(&self, logic: &Self::Logic) -> Option<i64> {
        // Ids follow open times, and every window has the same length.
        logic.open.values().next().map(|m| m.close_time)
    }
}

impl WindowerLogic for SlidingWindowerLogic {
    fn is_empty(&self) -> bool {
        self.open.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000;

    fn ids(w: &SlidingWindower, t: i64) -> Vec<i64> {
        w.ids_for(t).collect()
    }

    #[test]
    fn assignment_matches_bytewax_offset_5() {
        // align 0 (9:00 in Bytewax's tests), length 10 s, offset 5 s.
        let w =
            SlidingWindower::new(Duration::from_secs(10), Duration::from_secs(5), EventTime::EPOCH).unwrap();
        assert_eq!(ids(&w, 13 * S), vec![1, 2]);
        assert_eq!(ids(&w, -3 * S), vec![-2, -1]);
        assert_eq!(ids(&w, 0), vec![-1, 0]);
        assert_eq!(ids(&w, 10 * S), vec![1, 2]);
        assert_eq!(ids(&w, 15 * S), vec![2, 3]);
        assert_eq!(w.meta(1), WindowMetadata::new(5 * S, 15 * S));
    }

    #[test]
    fn assignment_matches_bytewax_offset_3_and_7() {
        let w =
            SlidingWindower::new(Duration::from_secs(10), Duration::from_secs(3), EventTime::EPOCH).unwrap();
        assert_eq!(ids(&w, 11 * S), vec![1, 2, 3]);
        assert_eq!(ids(&w, 11_500), vec![1, 2, 3]);
        assert_eq!(ids(&w, -S), vec![-3, -2, -1]);
        assert_eq!(ids(&w, 5 * S), vec![-1, 0, 1]);
        let w =
            SlidingWindower::new(Duration::from_secs(10), Duration::from_secs(7), EventTime::EPOCH).unwrap();
        assert_eq!(ids(&w, 14 * S), vec![1, 2]);
        assert_eq!(ids(&w, 17 * S), vec![2]);
        assert_eq!(ids(&w, 10 * S), vec![1]);
        assert_eq!(ids(&w, -4 * S), vec![-1]);
    }

    #[test]
    fn align_to_shifts_windows() {
        let w = SlidingWindower::new(
            Duration::from_secs(10),
            Duration::from_secs(5),
            EventTime::from_millis(1_000),
        )
        .unwrap();
        assert_eq!(ids(&w, 1_000), vec![-1, 0]);
        assert_eq!(ids(&w, 999), vec![-2, -1]);
        assert_eq!(w.meta(0), WindowMetadata::new(1_000, 11_000));
    }

    #[test]
    fn rejects_offset_longer_than_length() {
        assert!(
            SlidingWindower::new(Duration::from_secs(1), Duration::from_secs(2), EventTime::EPOCH).is_err()
        );
        assert!(SlidingWindower::new(Duration::ZERO, Duration::ZERO, EventTime::EPOCH).is_err());
    }

    #[test]
    fn closes_when_watermark_reaches_close_time() {
        let w =
            SlidingWindower::new(Duration::from_secs(10), Duration::from_secs(5), EventTime::EPOCH).unwrap();
        let mut l = w.build();
        let mut out = Vec::new();
        w.open_for(&mut l, 7 * S, &mut out, &mut Vec::new());
        assert_eq!(out, vec![0, 1]);
        let mut closed = Vec::new();
        w.close_for(&mut l, 10 * S - 1, &mut closed);
        assert!(closed.is_empty());
        w.close_for(&mut l, 10 * S, &mut closed);
        assert_eq!(closed, vec![(0, w.meta(0))]);
        w.close_for(&mut l, i64::MAX, &mut closed);
        assert_eq!(closed.len(), 2);
        assert!(l.is_empty());
    }
}
