//! The stash: records held until the frontier passes their tag, handed out
//! in canonical `(tag, pos)` order.
//!
//! Records are kept in the batches they arrived in, each with its least and
//! greatest tag, so that taking the ready records costs time in proportion
//! to the batches that have (some) ready records, not to everything held:
//! a worker may hold a whole chunk of a file while an earlier chunk is read.

use crate::base::record::Rec;

/// Records waiting for the frontier.
#[derive(Debug)]
pub struct Stash<T> {
    batches: Vec<Batch<T>>,
    spare: Vec<Vec<Rec<T>>>,
}

#[derive(Debug)]
struct Batch<T> {
    min: u64,
    max: u64,
    recs: Vec<Rec<T>>,
}

impl<T> Default for Stash<T> {
    fn default() -> Self {
        Stash {
            batches: Vec::new(),
            spare: Vec::new(),
        }
    }
}

impl<T> Stash<T> {
    /// Holds a batch of records (the vector is taken; `recs` is left empty,
    /// with a recycled allocation when one is at hand).
    pub fn push(&mut self, recs: &mut Vec<Rec<T>>) {
        if recs.is_empty() {
            return;
        }
        let (min, max) = recs
            .iter()
            .fold((u64::MAX, 0), |(lo, hi), r| (lo.min(r.tag), hi.max(r.tag)));
        let fresh = self.spare.pop().unwrap_or_default();
        let recs = std::mem::replace(recs, fresh);
        self.batches.push(Batch { min, max, recs });
    }

    /// Whether nothing is held.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// Moves every record whose tag is below `frontier` (every record, at
    /// end of input: `None`) to `ready`, in canonical order. Records with
    /// equal positions keep their arrival order.
    pub fn take(&mut self, frontier: Option<u64>, ready: &mut Vec<Rec<T>>) {
        let f = frontier.unwrap_or(u64::MAX);
        let everything = frontier.is_none();
        let spare = &mut self.spare;
        // In arrival order: the sort below is stable, so records with equal
        // `(tag, pos)` (several values emitted for one record) keep the
        // order they arrived in.
        self.batches.retain_mut(|b| {
            if everything || b.max < f {
                ready.append(&mut b.recs);
                spare.push(std::mem::take(&mut b.recs));
                return false;
            }
            if b.min < f {
                let mut kept = Vec::with_capacity(b.recs.len());
                let mut min = u64::MAX;
                for r in b.recs.drain(..) {
                    if r.tag < f {
                        ready.push(r);
                    } else {
                        min = min.min(r.tag);
                        kept.push(r);
                    }
                }
                b.recs = kept;
                b.min = min;
            }
            true
        });
        self.spare.truncate(4);
        if !ready.is_sorted_by_key(Rec::order) {
            // Stable, and moves each record once (sorts indices).
            ready.sort_by_cached_key(Rec::order);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(tag: u64, pos: u64, val: u32) -> Rec<u32> {
        Rec { tag, pos, val }
    }

    #[test]
    fn takes_only_what_the_frontier_passed_in_canonical_order() {
        let mut s = Stash::default();
        s.push(&mut vec![rec(5, 1, 0), rec(9, 2, 1), rec(12, 3, 2)]);
        s.push(&mut vec![rec(4, 7, 3), rec(9, 1, 4)]);
        let mut ready = Vec::new();
        s.take(Some(10), &mut ready);
        let vals: Vec<u32> = ready.iter().map(|r| r.val).collect();
        assert_eq!(vals, vec![3, 0, 4, 1]);
        ready.clear();
        s.take(Some(12), &mut ready);
        assert!(ready.is_empty());
        s.take(None, &mut ready);
        assert_eq!(ready.iter().map(|r| r.val).collect::<Vec<_>>(), vec![2]);
        assert!(s.is_empty());
    }

    #[test]
    fn equal_positions_keep_arrival_order() {
        let mut s = Stash::default();
        s.push(&mut vec![rec(7, 1, 0), rec(7, 1, 1)]);
        s.push(&mut vec![rec(3, 0, 2), rec(7, 1, 3)]);
        let mut ready = Vec::new();
        s.take(None, &mut ready);
        assert_eq!(ready.iter().map(|r| r.val).collect::<Vec<_>>(), vec![2, 0, 1, 3]);
    }

    #[test]
    fn equal_positions_keep_arrival_order_across_many_batches() {
        // One record's values split over several batches (containers are
        // small for large values): taken together, they stay in order.
        let mut s = Stash::default();
        for val in 0..5 {
            s.push(&mut vec![rec(7, 1, val)]);
        }
        s.push(&mut vec![rec(9, 0, 5)]);
        let mut ready = Vec::new();
        s.take(Some(8), &mut ready);
        assert_eq!(
            ready.iter().map(|r| r.val).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
        for val in 6..9 {
            s.push(&mut vec![rec(9, 0, val)]);
        }
        ready.clear();
        s.take(None, &mut ready);
        assert_eq!(ready.iter().map(|r| r.val).collect::<Vec<_>>(), vec![5, 6, 7, 8]);
    }
}
