//! The query of a search, normalised (`docs/analytics.md`, "Queries").

use compact_str::CompactString;
use unicode_normalization::UnicodeNormalization;

/// A search's query as analytics groups it: Unicode NFKC, then lower case,
/// then whitespace trimmed and every run of whitespace made one space.
///
/// ```
/// use ctr::analytics::query::normalize_query;
/// assert_eq!(normalize_query("  Rust\t STREAMS "), "rust streams");
/// assert_eq!(normalize_query("ＲＵＳＴ"), "rust"); // full-width letters
/// ```
pub fn normalize_query(query: &str) -> CompactString {
    if is_normal_ascii(query) {
        // Nearly every query: already normal, copied as it is.
        return CompactString::new(query);
    }
    let mut out = CompactString::default();
    if query.is_ascii() {
        // ASCII is already NFKC, and its lower case is ASCII.
        push_words(query.split_ascii_whitespace(), &mut out, |w, out| {
            out.extend(w.chars().map(|c| c.to_ascii_lowercase()))
        });
    } else {
        let lower = query.nfkc().collect::<String>().to_lowercase();
        push_words(lower.split_whitespace(), &mut out, |w, out| out.push_str(w));
    }
    out
}

/// [`normalize_query`] of an owned query: an already normal one (nearly
/// every query) is returned as it is, without a copy.
pub fn normalize_query_owned(query: CompactString) -> CompactString {
    if is_normal_ascii(&query) {
        query
    } else {
        normalize_query(&query)
    }
}

/// ASCII without upper case, other white space than single spaces
/// between words, or a space at either end: its own normal form.
fn is_normal_ascii(query: &str) -> bool {
    let b = query.as_bytes();
    let mut prev_space = true; // no leading space
    for &c in b {
        let space = c == b' ';
        if !c.is_ascii()
            || c.is_ascii_uppercase()
            || (c.is_ascii_whitespace() && !space)
            || (space && prev_space)
        {
            return false;
        }
        prev_space = space;
    }
    !prev_space || b.is_empty()
}

fn push_words<'a>(
    words: impl Iterator<Item = &'a str>,
    out: &mut CompactString,
    push: impl Fn(&str, &mut CompactString),
) {
    for (i, word) in words.enumerate() {
        if i > 0 {
            out.push(' ');
        }
        push(word, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_fast_path_keeps_only_normal_queries(q in "[ a-zA-Z\t\n\x0b\x0c\r\u{a0}\u{3000}é]{0,8}") {
            if is_normal_ascii(&q) {
                let mut slow = CompactString::default();
                push_words(q.split_ascii_whitespace(), &mut slow, |w, out| {
                    out.extend(w.chars().map(|c| c.to_ascii_lowercase()))
                });
                prop_assert_eq!(slow.as_str(), q.as_str());
            }
            let once = normalize_query(&q);
            prop_assert_eq!(normalize_query(&once), once.clone());
            prop_assert_eq!(normalize_query_owned(CompactString::new(&q)), once.clone());
            prop_assert_eq!(is_normal_ascii(&q), q.is_ascii() && once == q);
        }
    }

    #[test]
    fn case_whitespace_and_compatibility_forms_are_one_query() {
        for q in [
            "dogs",
            "DOGS",
            " dogs ",
            "Dogs\n",
            "ｄｏｇｓ",
            "ＤＯＧＳ",
            "\u{3000}dogs\u{3000}",
        ] {
            assert_eq!(normalize_query(q), "dogs", "{q:?}");
        }
        assert_eq!(normalize_query("hot  \t dogs"), "hot dogs");
        assert_eq!(normalize_query("hot\u{3000}dogs"), "hot dogs");
        // The ligature ﬁ (U+FB01) is "fi" under NFKC; é composed either way.
        assert_eq!(normalize_query("ﬁle"), "file");
        assert_eq!(normalize_query("Cafe\u{301}"), "café");
        assert_eq!(normalize_query("CAFÉ"), "café");
        assert_eq!(normalize_query(""), "");
        assert_eq!(normalize_query(" \t "), "");
    }
}
