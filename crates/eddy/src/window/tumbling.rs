//! Tumbling windows: back-to-back windows of one length — sliding windows
//! whose offset is their length.

use std::time::Duration;

use super::sliding::{SlidingWindower, SlidingWindowerLogic};
use super::windower::Windower;
use super::{EventTime, WindowMetadata};
use crate::error::Result;

/// Back-to-back windows of `length`, aligned to `align_to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TumblingWindower {
    inner: SlidingWindower,
}

impl TumblingWindower {
    /// Windows `[align_to + i·length, align_to + (i+1)·length)`.
    pub fn new(length: Duration, align_to: EventTime) -> Result<Self> {
        Ok(TumblingWindower {
            inner: SlidingWindower::new(length, length, align_to)?,
        })
    }

    /// The one window id holding `time`.
    pub fn id_for(&self, time: i64) -> i64 {
        *self.inner.ids_for(time).start()
    }
}

impl Windower for TumblingWindower {
    type Logic = SlidingWindowerLogic;
    fn build(&self) -> Self::Logic {
        self.inner.build()
    }

    fn open_for(&self, logic: &mut Self::Logic, time: i64, out: &mut Vec<i64>, merges: &mut Vec<(i64, i64)>) {
        self.inner.open_for(logic, time, out, merges);
    }

    fn late_for(&self, logic: &Self::Logic, time: i64, out: &mut Vec<i64>) {
        self.inner.late_for(logic, time, out);
    }

    fn close_for(&self, logic: &mut Self::Logic, watermark: i64, out: &mut Vec<(i64, WindowMetadata)>) {
        self.inner.close_for(logic, watermark, out);
    }

    fn next_close(&self, logic: &Self::Logic) -> Option<i64> {
        self.inner.next_close(logic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_matches_bytewax() {
        let w = TumblingWindower::new(Duration::from_secs(10), EventTime::EPOCH).unwrap();
        for (t, id) in [(15, 1), (-5, -1), (20, 2), (-10, -1), (0, 0), (10, 1), (-11, -2)] {
            assert_eq!(w.id_for(t * 1_000), id, "t = {t} s");
        }
        let aligned = TumblingWindower::new(Duration::from_secs(10), EventTime::from_millis(3_000)).unwrap();
        assert_eq!(aligned.id_for(3_000), 0);
        assert_eq!(aligned.id_for(2_999), -1);
    }
}
