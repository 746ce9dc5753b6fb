//! Which worker owns a key: a fixed, documented hash.
//!
//! A key is routed to worker `route_hash(key) % workers`, where `route_hash`
//! is XXH3-64 (seed 0) of the key's bytes — a string's UTF-8 bytes, an
//! integer's little-endian bytes. The function is the same on every platform,
//! process and run, so each key's state lives on exactly one worker, and a
//! recovered state is found again after rescaling.

use compact_str::CompactString;
use xxhash_rust::xxh3::xxh3_64;

/// A key of a keyed stream: hashed for routing, ordered for deterministic
/// end-of-input emission.
pub trait Key: crate::Data + std::hash::Hash + Eq + Ord + std::fmt::Debug {
    /// The routing hash (see the module docs).
    fn route_hash(&self) -> u64;
}

impl Key for String {
    fn route_hash(&self) -> u64 {
        xxh3_64(self.as_bytes())
    }
}

impl Key for CompactString {
    fn route_hash(&self) -> u64 {
        xxh3_64(self.as_bytes())
    }
}

macro_rules! int_key {
    ($($t:ty),*) => {$(
        impl Key for $t {
            fn route_hash(&self) -> u64 {
                xxh3_64(&self.to_le_bytes())
            }
        }
    )*};
}
int_key!(u8, u16, u32, u64, i8, i16, i32, i64);

/// The worker (of `workers`) that owns a key with this routing hash.
#[inline]
pub fn owner(hash: u64, workers: usize) -> usize {
    (hash % workers.max(1) as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_forms_route_alike() {
        let a = String::from("user-1");
        let b = CompactString::from("user-1");
        assert_eq!(a.route_hash(), b.route_hash());
        // Pinned value: changing the hash would strand recovered state.
        assert_eq!(a.route_hash(), xxh3_64(b"user-1"));
        assert_ne!(a.route_hash(), String::from("user-2").route_hash());
    }

    #[test]
    fn owner_is_in_range() {
        for h in [0u64, 1, 7, u64::MAX] {
            for w in 1..5 {
                assert!(owner(h, w) < w);
            }
        }
        assert_eq!(owner(5, 0), 0);
    }
}
