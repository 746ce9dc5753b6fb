//! A fast hasher for the per-query maps of the analytics hot path.
//!
//! The standard `HashMap` hashes with SipHash-1-3, which resists hash
//! flooding but costs ~20 ns for a short string; a search is looked up by
//! its query once per search. [`FxHasher`] is rustc's FxHash (the
//! algorithm of the `rustc-hash` crate, 1.x): a rotate, xor and multiply
//! per 8 bytes. Not flooding-resistant: a log written to collide its
//! queries could slow a run down (never change its rows, which are sorted
//! when made and depend on no map order).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` hashed with [`FxHasher`].
pub type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// FxHash: `hash = (hash.rotate_left(5) ^ word) * SEED` per word.
///
/// ```
/// use std::hash::{BuildHasher, BuildHasherDefault};
/// use ctr::analytics::hash::FxHasher;
/// let b = BuildHasherDefault::<FxHasher>::default();
/// assert_eq!(b.hash_one("dogs"), b.hash_one("dogs"));
/// assert_ne!(b.hash_one("dogs"), b.hash_one("cats"));
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            // The length keeps "a\0" and "a" apart.
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // The multiply carries differences up only: bring the well mixed
        // high bits down to where a table takes its bucket index (as
        // `rustc-hash` 2 does).
        self.hash.rotate_left(26)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_of_many_queries_finds_each() {
        let mut m: FxHashMap<String, usize> = FxHashMap::default();
        for i in 0..10_000 {
            m.insert(format!("query {i}"), i);
        }
        assert_eq!(m.len(), 10_000);
        assert!((0..10_000).all(|i| m.get(format!("query {i}").as_str()) == Some(&i)));
        assert_eq!(m.get("query 10000"), None);
    }

    #[test]
    fn keys_that_differ_late_spread_over_the_low_bits() {
        use std::collections::HashSet;
        use std::hash::BuildHasher;
        let b = BuildHasherDefault::<FxHasher>::default();
        let buckets: HashSet<u64> = (0..4096)
            .map(|i| b.hash_one(format!("query {i:04}")) & 0xfff)
            .collect();
        // Uniform hashes fill ~63 % of 4096 buckets.
        assert!(buckets.len() > 2000, "{}", buckets.len());
    }
}
