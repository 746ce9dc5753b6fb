//! [`Slots`]: zero, one or more values, the usual single one held inline.
//!
//! A key almost always has one open window and one accumulator. Held in a
//! `Vec`, each costs a heap allocation per key (and a `Vec` header beside
//! it); held here, the single case costs no allocation, and only keys with
//! several windows at once pay for a `Vec`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Zero, one (inline) or several values, in order. Serialized as a
/// sequence, exactly as a `Vec<T>` is. Two variants, so that the tag can
/// live in a niche of `T`: where `T` has a free one that the `Vec` can
/// sit beside (a `NonZero` id, an enum), `Slots<T>` is no larger than `T`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Slots<T> {
    /// One value, inline.
    One(T),
    /// No value (an empty `Vec`: no allocation), or two or more values
    /// (or fewer, until the next [`Slots::shrink`]).
    Many(Vec<T>),
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots::Many(Vec::new())
    }
}

impl<T> Slots<T> {
    /// The values, in order.
    pub(crate) fn as_slice(&self) -> &[T] {
        match self {
            Slots::One(t) => std::slice::from_ref(t),
            Slots::Many(v) => v,
        }
    }

    /// The values, in order, mutably.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        match self {
            Slots::One(t) => std::slice::from_mut(t),
            Slots::Many(v) => v,
        }
    }

    /// The number of values.
    pub(crate) fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether there is no value.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Inserts `value` at `at` (≤ `len`), shifting later values.
    pub(crate) fn insert(&mut self, at: usize, value: T) {
        *self = match std::mem::take(self) {
            Slots::One(first) => {
                let mut v = Vec::with_capacity(2);
                v.push(first);
                v.insert(at.min(1), value);
                Slots::Many(v)
            }
            Slots::Many(v) if v.is_empty() => Slots::One(value),
            Slots::Many(mut v) => {
                v.insert(at.min(v.len()), value);
                Slots::Many(v)
            }
        };
    }

    /// Appends `value`.
    pub(crate) fn push(&mut self, value: T) {
        let at = self.len();
        self.insert(at, value);
    }

    /// Removes and returns the value at `at` (< `len`).
    ///
    /// # Panics
    /// If `at` is out of bounds, as `Vec::remove`.
    pub(crate) fn remove(&mut self, at: usize) -> T {
        match self {
            Slots::Many(v) => {
                let value = v.remove(at);
                if v.len() == 1 {
                    if let Some(last) = v.pop() {
                        *self = Slots::One(last);
                    }
                }
                value
            }
            Slots::One(_) if at == 0 => match std::mem::take(self) {
                Slots::One(value) => value,
                _ => unreachable!("matched One above"),
            },
            _ => panic!("Slots::remove: index {at} out of bounds (len {})", self.len()),
        }
    }

    /// Frees the heap room of an emptied `Many`.
    pub(crate) fn shrink(&mut self) {
        if self.is_empty() {
            *self = Slots::default();
        }
    }
}

impl<T> From<Vec<T>> for Slots<T> {
    fn from(mut v: Vec<T>) -> Self {
        match v.len() {
            0 => Slots::default(),
            1 => v.pop().map_or_else(Slots::default, Slots::One),
            _ => Slots::Many(v),
        }
    }
}

impl<T: Serialize> Serialize for Slots<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.as_slice())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Slots<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<T>::deserialize(d).map(Slots::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_value_is_inline_and_several_keep_their_order() {
        let mut s = Slots::default();
        assert!(s.is_empty());
        s.push(2);
        assert!(matches!(s, Slots::One(2)));
        s.insert(0, 1);
        s.push(3);
        assert_eq!(s.as_slice(), &[1, 2, 3]);
        assert_eq!(s.remove(1), 2);
        assert_eq!(s.remove(0), 1);
        // Back to one value: inline again.
        assert!(matches!(s, Slots::One(3)));
        s.as_mut_slice()[0] = 4;
        assert_eq!(s.remove(0), 4);
        assert!(matches!(&s, Slots::Many(v) if v.capacity() == 0));
        // The tag takes a niche of the value where it has one.
        assert_eq!(
            std::mem::size_of::<Slots<(std::num::NonZeroU64, i64, i64, i64)>>(),
            32
        );
    }

    #[test]
    fn serializes_exactly_as_a_vec() {
        for v in [vec![], vec![7i64], vec![7, 8, 9]] {
            let slots = Slots::from(v.clone());
            assert_eq!(
                bincode::serialize(&slots).unwrap(),
                bincode::serialize(&v).unwrap()
            );
            let back: Slots<i64> = bincode::deserialize(&bincode::serialize(&v).unwrap()).unwrap();
            assert_eq!(back, slots);
        }
    }
}
