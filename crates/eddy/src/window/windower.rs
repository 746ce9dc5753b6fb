//! The windower contract: a `Clone` config ([`Windower`]) builds a per-key
//! runtime half ([`WindowerLogic`]) and does the work on it, so that a
//! key's half holds only its own windows, never a copy of the config.

use super::WindowMetadata;

/// A window definition (session, tumbling, sliding): cloneable config that
/// builds one logic per key and assigns and closes its windows.
pub trait Windower: Clone + 'static {
    /// The per-key runtime half.
    type Logic: WindowerLogic;
    /// A fresh logic for a new key.
    fn build(&self) -> Self::Logic;
    /// The windows a value at `time` goes into (opening or extending them
    /// in `logic`); pushes their ids to `out`, and to `merges` the merges
    /// this caused: `(merged away, merged into)`, the survivor being the
    /// earlier window.
    fn open_for(&self, logic: &mut Self::Logic, time: i64, out: &mut Vec<i64>, merges: &mut Vec<(i64, i64)>);
    /// The window ids a late value at `time` is reported under.
    fn late_for(&self, logic: &Self::Logic, time: i64, out: &mut Vec<i64>);
    /// Removes from `logic` and reports the windows that the watermark
    /// closes.
    fn close_for(&self, logic: &mut Self::Logic, watermark: i64, out: &mut Vec<(i64, WindowMetadata)>);
    /// The least watermark at which [`Windower::close_for`] closes a window
    /// of `logic` (`None`: none is open). A key asks to be woken when the
    /// input's progress brings its watermark there.
    fn next_close(&self, logic: &Self::Logic) -> Option<i64>;
    /// A lower bound on the watermark at which a window that a value at
    /// `time` opens or extends can close (never above the real one). A key
    /// whose queued values wait for the watermark needs to be woken for
    /// them no earlier: they are folded, in time order, on the key's next
    /// value or wake-up. The default, `time`, is always safe.
    fn earliest_close(&self, time: i64) -> i64 {
        time
    }
}

/// Per-key window bookkeeping. Ids are `i64`, unique per key. A snapshot
/// takes a copy of it (`Clone`) and saves that with serde.
pub trait WindowerLogic: Clone + serde::Serialize + serde::de::DeserializeOwned + 'static {
    /// Whether no window is open.
    fn is_empty(&self) -> bool;
    /// Frees memory held for windows that are gone (called when the key has
    /// no open window). Idle keys are many; they should cost little.
    fn shrink(&mut self) {}
}
