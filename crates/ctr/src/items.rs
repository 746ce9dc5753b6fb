//! [`ItemList`]: a search's result list in one compact buffer.
//!
//! A result list lives from the parse of its `results` event until its
//! session closes and its window counts it; most of a run's open sessions
//! hold a few. As a `Vec` of 24-byte strings a list of 8 short items takes
//! 192 bytes; here it takes one allocation of its items' bytes plus one
//! length prefix each (about 60 bytes), and two lists compare as two byte
//! strings.
//!
//! Layout: for each item, its length in bytes as a base-32768 number
//! written with chars (the leading digits as `U+E000 + d`, the last as
//! `U+0000 + d`; one char, one byte below 128 bytes), then the item's
//! text. The encoding is injective, so lists are equal exactly when
//! their buffers are. The serialized form is a sequence of strings, as a
//! `Vec<String>`'s.
//!
//! The buffer is shared (`Arc<str>`): a log shows the same few lists again
//! and again (2,394 distinct lists among 517,306 `results` events of the
//! benchmark's log), so a parse looks each new list up in a small cache of
//! the lists it built lately ([`ListCache`]) and shares the one it finds:
//! no allocation, less memory, and lists that are the same buffer compare
//! equal at once.

use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;

use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Digits of a length prefix are base `RADIX`.
const RADIX: usize = 0x8000;
/// A leading (non-final) digit `d` is the char `LEAD + d`.
const LEAD: u32 = 0xE000;

/// A result list: its items, in order, in one (shared) buffer.
#[derive(Clone, Default, Eq)]
pub struct ItemList {
    buf: Arc<str>,
    len: u32,
}

impl PartialEq for ItemList {
    fn eq(&self, other: &ItemList) -> bool {
        Arc::ptr_eq(&self.buf, &other.buf) || (self.len == other.len && self.buf == other.buf)
    }
}

/// By content, as [`PartialEq`] compares (the pointer shortcut aside).
impl std::hash::Hash for ItemList {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.buf.hash(h);
        self.len.hash(h);
    }
}

impl ItemList {
    /// The list of `items`, in order. `capacity` is a hint of the bytes
    /// needed (the items' bytes plus one each is usually enough).
    pub fn from_items<'a>(items: impl IntoIterator<Item = &'a str>, capacity: usize) -> ItemList {
        let mut b = ItemListBuilder::with_capacity(capacity);
        for item in items {
            b.push(item);
        }
        b.finish()
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the list has no item.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The items, in order.
    pub fn iter(&self) -> Items<'_> {
        Items { rest: &self.buf }
    }

    /// 0-based index of the first occurrence of `item`.
    pub fn position(&self, item: &str) -> Option<usize> {
        self.iter().position(|i| i == item)
    }
}

/// Builds an [`ItemList`] one item at a time.
#[derive(Debug, Default)]
pub struct ItemListBuilder {
    buf: String,
    len: u32,
}

impl ItemListBuilder {
    /// An empty builder with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> ItemListBuilder {
        ItemListBuilder {
            buf: String::with_capacity(capacity),
            len: 0,
        }
    }

    /// Appends `item`.
    pub fn push(&mut self, item: &str) {
        let n = item.len();
        if n < RADIX {
            self.buf.push(final_digit(n));
        } else {
            let mut digits = Vec::new();
            let mut rest = n;
            while rest > 0 {
                digits.push(rest % RADIX);
                rest /= RADIX;
            }
            // digits[0] is the last (final) digit.
            for (i, &d) in digits.iter().enumerate().rev() {
                self.buf.push(if i == 0 { final_digit(d) } else { lead_digit(d) });
            }
        }
        self.buf.push_str(item);
        self.len = self.len.saturating_add(1);
    }

    /// The list so far, in an allocation of its exact size; the builder
    /// is left empty, its buffer kept for the next list (a parse reuses
    /// one builder for every line).
    pub fn finish_copy(&mut self) -> ItemList {
        let list = ItemList {
            buf: Arc::from(self.buf.as_str()),
            len: self.len,
        };
        self.buf.clear();
        self.len = 0;
        list
    }

    /// [`finish_copy`](Self::finish_copy), sharing the buffer of an equal
    /// list in `cache` if it holds one (then nothing is allocated); the
    /// new list takes its slot otherwise.
    pub fn finish_cached(&mut self, cache: &mut ListCache) -> ItemList {
        let at = cache.slot(&self.buf);
        let list = match &cache.slots[at] {
            Some(hit) if hit.len == self.len && *hit.buf == *self.buf => hit.clone(),
            _ => {
                let list = self.finish_copy();
                cache.slots[at] = Some(list.clone());
                return list;
            }
        };
        self.buf.clear();
        self.len = 0;
        list
    }

    /// The list.
    pub fn finish(self) -> ItemList {
        ItemList {
            buf: Arc::from(self.buf),
            len: self.len,
        }
    }
}

/// Slots of a [`ListCache`] (a power of two).
/// (4,096: on the benchmark's log, 2,394 distinct lists, 95 % of lists
/// are found, against 85 % with 1,024; ~100 KB per thread plus the lists.)
const CACHE_SLOTS: usize = 1 << CACHE_BITS;
/// log2 of [`CACHE_SLOTS`].
const CACHE_BITS: u32 = 12;

/// The result lists a parse built lately, by hash of their buffer, one
/// per slot (a new list takes its slot's place): bounded, at most
/// [`CACHE_SLOTS`] lists kept alive. See [`ItemListBuilder::finish_cached`].
#[derive(Debug)]
pub struct ListCache {
    slots: Vec<Option<ItemList>>,
}

impl Default for ListCache {
    fn default() -> ListCache {
        ListCache {
            slots: vec![None; CACHE_SLOTS],
        }
    }
}

impl ListCache {
    fn slot(&self, buf: &str) -> usize {
        let h = rustc_hash::FxBuildHasher.hash_one(buf);
        // The high bits: FxHash mixes them best.
        (h >> (64 - CACHE_BITS)) as usize
    }
}

/// The char of a final digit (`d < RADIX`, below the surrogates).
fn final_digit(d: usize) -> char {
    u32::try_from(d).ok().and_then(char::from_u32).unwrap_or('\0')
}

/// The char of a leading digit (`d < RADIX`: `U+E000`…`U+15FFF`).
fn lead_digit(d: usize) -> char {
    u32::try_from(d)
        .ok()
        .and_then(|d| char::from_u32(LEAD + d))
        .unwrap_or('\u{E000}')
}

/// The items of an [`ItemList`], in order.
#[derive(Clone)]
pub struct Items<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Items<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.rest.as_bytes();
        let first = *bytes.first()?;
        if first < 0x80 {
            // The common case: an item shorter than 128 bytes.
            let n = usize::from(first);
            let item = self.rest.get(1..1 + n)?;
            self.rest = self.rest.get(1 + n..)?;
            return Some(item);
        }
        let mut n = 0usize;
        let mut chars = self.rest.char_indices();
        let start = loop {
            let (at, c) = chars.next()?;
            let v = c as u32;
            if v < LEAD {
                n = n * RADIX + v as usize;
                break at + c.len_utf8();
            }
            n = n * RADIX + (v - LEAD) as usize;
        };
        let item = self.rest.get(start..start + n)?;
        self.rest = self.rest.get(start + n..)?;
        Some(item)
    }
}

impl<'a> IntoIterator for &'a ItemList {
    type Item = &'a str;
    type IntoIter = Items<'a>;

    fn into_iter(self) -> Items<'a> {
        self.iter()
    }
}

impl<'a> FromIterator<&'a str> for ItemList {
    fn from_iter<I: IntoIterator<Item = &'a str>>(iter: I) -> ItemList {
        ItemList::from_items(iter, 0)
    }
}

impl<S: AsRef<str>> From<Vec<S>> for ItemList {
    fn from(items: Vec<S>) -> ItemList {
        let capacity = items.iter().map(|i| i.as_ref().len() + 1).sum();
        ItemList::from_items(items.iter().map(AsRef::as_ref), capacity)
    }
}

impl fmt::Debug for ItemList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for ItemList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The length up front: bincode (snapshots) needs it.
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for item in self {
            seq.serialize_element(item)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for ItemList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ItemList, D::Error> {
        Vec::<String>::deserialize(d).map(ItemList::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(items: &[&str]) {
        let list = ItemList::from(items.to_vec());
        assert_eq!(list.len(), items.len());
        assert_eq!(list.iter().collect::<Vec<_>>(), items);
    }

    #[test]
    fn items_come_back_in_order() {
        roundtrip(&[]);
        roundtrip(&[""]);
        roundtrip(&["a", "", "bc", "é\u{0}x", "\u{E000}\u{10FFFF}"]);
        let long127 = "x".repeat(127);
        let long128 = "y".repeat(128);
        let long = "z".repeat(RADIX - 1);
        let longer = "w".repeat(RADIX);
        let longest = "v".repeat(RADIX * 3 + 5);
        roundtrip(&[&long127, &long128, "a", &long, &longer, "b", &longest]);
    }

    #[test]
    fn a_reused_builder_starts_each_list_empty() {
        let mut b = ItemListBuilder::with_capacity(4);
        b.push("a");
        b.push("bc");
        let first = b.finish_copy();
        b.push("d");
        assert_eq!(first, ItemList::from(vec!["a", "bc"]));
        assert_eq!(b.finish_copy(), ItemList::from(vec!["d"]));
        assert_eq!(b.finish_copy(), ItemList::default());
    }

    #[test]
    fn a_cached_list_is_shared_and_equal_to_a_fresh_one() {
        let mut cache = ListCache::default();
        let mut b = ItemListBuilder::with_capacity(4);
        let mut build = |items: &[&str], cache: &mut ListCache| {
            items.iter().for_each(|i| b.push(i));
            b.finish_cached(cache)
        };
        let first = build(&["a", "bc"], &mut cache);
        let again = build(&["a", "bc"], &mut cache);
        assert!(Arc::ptr_eq(&first.buf, &again.buf));
        let other = build(&["a", "b"], &mut cache);
        assert!(!Arc::ptr_eq(&first.buf, &other.buf));
        assert_ne!(first, other);
        assert_eq!(other, ItemList::from(vec!["a", "b"]));
        assert_eq!(again, ItemList::from(vec!["a", "bc"]));
        // Many more lists than slots: each still comes back as built.
        for n in 0..3 * CACHE_SLOTS {
            let items = [n.to_string(), (n % 7).to_string()];
            let list = build(&[&items[0], &items[1]], &mut cache);
            assert_eq!(list.iter().collect::<Vec<_>>(), items);
        }
        assert!(cache.slots.len() == CACHE_SLOTS);
        assert_eq!(build(&[], &mut cache), ItemList::default());
    }

    #[test]
    fn equal_exactly_when_items_are() {
        let l = |items: &[&str]| ItemList::from(items.to_vec());
        assert_eq!(l(&["a", "b"]), l(&["a", "b"]));
        assert_ne!(l(&["ab"]), l(&["a", "b"]));
        assert_ne!(l(&["a", "b"]), l(&["b", "a"]));
        assert_ne!(l(&[]), l(&[""]));
        assert_eq!(l(&["a", "b"]).position("b"), Some(1));
        assert_eq!(l(&["a", "b"]).position("c"), None);
    }

    #[test]
    fn serializes_as_a_sequence_of_strings() {
        let list = ItemList::from(vec!["a", "b"]);
        let json = serde_json::to_string(&list).unwrap();
        assert_eq!(json, r#"["a","b"]"#);
        let back: ItemList = serde_json::from_str(&json).unwrap();
        assert_eq!(back, list);
    }

    #[test]
    fn snapshots_as_bincode_like_a_vec_of_strings() {
        // Bincode (the snapshots' encoding) needs a sequence's length up
        // front.
        let list = ItemList::from(vec!["a", "", "bc"]);
        let bytes = bincode::serialize(&list).unwrap();
        assert_eq!(bytes, bincode::serialize(&vec!["a", "", "bc"]).unwrap());
        let back: ItemList = bincode::deserialize(&bytes).unwrap();
        assert_eq!(back, list);
    }
}
