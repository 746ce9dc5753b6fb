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
pub trait Key: crate::base::Data + std::hash::Hash + Eq + Ord + std::fmt::Debug {
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
int_key!(u8, u16, u32, u64, u128, i8, i16, i32, i64, i128);

/// `usize` and `isize` hash as `u64` and `i64`: the same on every platform.
impl Key for usize {
    fn route_hash(&self) -> u64 {
        xxh3_64(&(*self as u64).to_le_bytes())
    }
}

impl Key for isize {
    fn route_hash(&self) -> u64 {
        xxh3_64(&(*self as i64).to_le_bytes())
    }
}

/// A `char` routes as the one-character string.
impl Key for char {
    fn route_hash(&self) -> u64 {
        xxh3_64(self.encode_utf8(&mut [0; 4]).as_bytes())
    }
}

/// A tuple key hashes the little-endian concatenation of its parts'
/// routing hashes: `(user, day)` keys route like any other key.
macro_rules! tuple_key {
    ($(($($t:ident . $i:tt),+)),*) => {$(
        impl<$($t: Key),+> Key for ($($t,)+) {
            fn route_hash(&self) -> u64 {
                let mut bytes = Vec::with_capacity(8 * [$($i),+].len());
                $(bytes.extend_from_slice(&self.$i.route_hash().to_le_bytes());)+
                xxh3_64(&bytes)
            }
        }
    )*};
}
tuple_key!((A.0, B.1), (A.0, B.1, C.2), (A.0, B.1, C.2, D.3));

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
    fn composite_and_wide_keys_route_by_fixed_hashes() {
        // Pinned: a tuple is the hash of its parts' hashes, little-endian.
        let (a, b) = (String::from("u"), 7u32);
        let mut bytes = a.route_hash().to_le_bytes().to_vec();
        bytes.extend_from_slice(&b.route_hash().to_le_bytes());
        assert_eq!((a.clone(), b).route_hash(), xxh3_64(&bytes));
        assert_ne!((a.clone(), b).route_hash(), (b, a.clone()).route_hash());
        assert_ne!(
            ("x".to_string(), "y".to_string()).route_hash(),
            ("y".to_string(), "x".to_string()).route_hash()
        );
        assert_eq!(5usize.route_hash(), 5u64.route_hash());
        assert_eq!((-5isize).route_hash(), (-5i64).route_hash());
        assert_eq!('é'.route_hash(), String::from("é").route_hash());
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
