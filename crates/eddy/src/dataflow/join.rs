//! Keyed joins (Bytewax's `join`): gather the values of one key from
//! several keyed streams.
//!
//! Each side's values are labelled with their side and merged into one
//! stream; a keyed step keeps, per key, the values seen on each side (how
//! many: [`JoinInsert`]) and emits rows (when: [`JoinEmit`]). A row holds
//! one value per side — with [`JoinInsert::Product`], every combination,
//! first side varying slowest. A key's values reach the step in canonical
//! order, so the rows and their order per key are the same for any number
//! of workers. (Values of two sides that come from the *same* input item
//! have no order between them; the rows they make may then differ in
//! order, not in content, in `Running` mode.)

use serde::{Deserialize, Serialize};

use crate::base::routing::Key;
use crate::dataflow::{Data, Stream};

/// How a join keeps several values from one side (Bytewax's
/// `JoinInsertMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JoinInsert {
    /// Keep only the first value of a side.
    First,
    /// Keep only the latest value of a side (Bytewax's default).
    #[default]
    Last,
    /// Keep every value: rows are every combination (a cross join).
    Product,
}

/// When a join emits its rows (Bytewax's `JoinEmitMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JoinEmit {
    /// Once every side has a value; then the key's state is dropped (a
    /// later value starts a new row). Keys missing a side emit nothing.
    #[default]
    Complete,
    /// Once, at end of input (or when the window closes), with `None` for
    /// the sides that saw nothing. Bounded inputs only.
    Final,
    /// At every value, with what every side holds so far (`None` for the
    /// sides that saw nothing yet); the state is kept forever.
    Running,
}

/// A value of a two-sided join: from the left (`self`) or the right
/// (`other`) stream. Window joins read times through it (see
/// [`JoinSide::either`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinSide<V, W> {
    /// A value of the stream the join was called on.
    Left(V),
    /// A value of the other stream.
    Right(W),
}

impl<V, W> JoinSide<V, W> {
    /// Applies `left` or `right` to the value (e.g. to read its time).
    ///
    /// ```
    /// use eddy::dataflow::join::JoinSide;
    /// let s: JoinSide<i64, (String, i64)> = JoinSide::Right(("x".into(), 7));
    /// assert_eq!(s.either(|t| *t, |r| r.1), 7);
    /// ```
    pub fn either<T>(&self, left: impl FnOnce(&V) -> T, right: impl FnOnce(&W) -> T) -> T {
        match self {
            JoinSide::Left(v) => left(v),
            JoinSide::Right(w) => right(w),
        }
    }

    pub(crate) fn side(&self) -> usize {
        match self {
            JoinSide::Left(_) => 0,
            JoinSide::Right(_) => 1,
        }
    }
}

/// A two-sided join's row: the left and the right value, `None` for a
/// side without one.
pub type JoinRow<V, W> = (Option<V>, Option<W>);

/// A two-sided row before it is split into a [`JoinRow`].
type SideRow<V, W> = Vec<Option<JoinSide<V, W>>>;

/// A value with its side index (the N-sided join's merged stream).
pub(crate) type Labelled<V> = (usize, V);

/// A key's join state: the values kept per side.
pub(crate) type Seen<X> = Vec<Vec<X>>;

/// Adds a side's value to the state, as `mode` says.
pub(crate) fn insert<X>(seen: &mut Seen<X>, side: usize, value: X, mode: JoinInsert) {
    let vals = &mut seen[side];
    match mode {
        JoinInsert::First => {
            if vals.is_empty() {
                vals.push(value);
            }
        }
        JoinInsert::Last => {
            vals.clear();
            vals.push(value);
        }
        JoinInsert::Product => vals.push(value),
    }
}

/// Merges a later window's state into an earlier one (session merges), as
/// Bytewax: `First` keeps the earlier side where it has one, `Last` the
/// later, `Product` keeps both.
pub(crate) fn merge_seen<X>(earlier: &mut Seen<X>, later: Seen<X>, mode: JoinInsert) {
    for (e, l) in earlier.iter_mut().zip(later) {
        match mode {
            JoinInsert::First => {
                if e.is_empty() {
                    *e = l;
                }
            }
            JoinInsert::Last => {
                if !l.is_empty() {
                    *e = l;
                }
            }
            JoinInsert::Product => e.extend(l),
        }
    }
}

/// The rows of a state: every combination of one value per side (`None`
/// for an empty side), first side varying slowest.
pub(crate) fn rows<X: Clone>(seen: &Seen<X>) -> Vec<Vec<Option<X>>> {
    let mut out: Vec<Vec<Option<X>>> = vec![Vec::with_capacity(seen.len())];
    for vals in seen {
        let choices: Vec<Option<X>> = if vals.is_empty() {
            vec![None]
        } else {
            vals.iter().cloned().map(Some).collect()
        };
        out = out
            .into_iter()
            .flat_map(|row| {
                choices.iter().map(move |c| {
                    let mut r = row.clone();
                    r.push(c.clone());
                    r
                })
            })
            .collect();
    }
    out
}

impl<'a, K: Key, X: Data> Stream<'a, (K, X)> {
    /// The join core: `side(x)` says which of `sides` a value is from.
    pub(crate) fn join_core(
        &self,
        step: &str,
        sides: usize,
        side: fn(&X) -> usize,
        insert_mode: JoinInsert,
        emit: JoinEmit,
    ) -> Stream<'a, (K, Vec<Option<X>>)> {
        match emit {
            JoinEmit::Final => self
                .fold_final(
                    step,
                    move || vec![Vec::new(); sides],
                    move |mut seen: Seen<X>, x| {
                        let s = side(&x);
                        insert(&mut seen, s, x, insert_mode);
                        seen
                    },
                )
                .flat_map(&format!("{step}_rows"), |(k, seen)| {
                    rows(&seen)
                        .into_iter()
                        .map(move |r| (k.clone(), r))
                        .collect::<Vec<_>>()
                }),
            JoinEmit::Complete | JoinEmit::Running => {
                self.stateful_flat_map(step, move |state: &mut Option<Seen<X>>, x: X| {
                    let seen = state.get_or_insert_with(|| vec![Vec::new(); sides]);
                    let s = side(&x);
                    insert(seen, s, x, insert_mode);
                    if emit == JoinEmit::Running {
                        rows(seen)
                    } else if seen.iter().all(|v| !v.is_empty()) {
                        let out = rows(seen);
                        *state = None;
                        out
                    } else {
                        Vec::new()
                    }
                })
            }
        }
    }
}

/// Splits a two-sided row into its pair.
pub(crate) fn pair<V, W>(row: SideRow<V, W>) -> JoinRow<V, W> {
    let mut it = row.into_iter();
    let left = match it.next().flatten() {
        Some(JoinSide::Left(v)) => Some(v),
        _ => None,
    };
    let right = match it.next().flatten() {
        Some(JoinSide::Right(w)) => Some(w),
        _ => None,
    };
    (left, right)
}

impl<'a, K: Key, V: Data> Stream<'a, (K, V)> {
    /// Labels both sides and merges them (`{step}_left`, `{step}_right`,
    /// `{step}_merge`).
    pub(crate) fn join_sides<W: Data>(
        &self,
        step: &str,
        other: &Stream<'a, (K, W)>,
    ) -> Stream<'a, (K, JoinSide<V, W>)> {
        let left = self.map_value(&format!("{step}_left"), JoinSide::Left);
        let right = other.map_value(&format!("{step}_right"), JoinSide::Right);
        left.merge(&format!("{step}_merge"), &[right])
    }

    fn join_pairs<W: Data>(
        &self,
        step: &str,
        other: &Stream<'a, (K, W)>,
        insert_mode: JoinInsert,
        emit: JoinEmit,
    ) -> Stream<'a, (K, SideRow<V, W>)> {
        self.join_sides(step, other)
            .join_core(step, 2, JoinSide::side, insert_mode, emit)
    }

    /// Joins this keyed stream with `other` (Bytewax's `join`, emit mode
    /// `complete`): once a key has a value on both sides, emits
    /// `(key, (left, right))` — one row, or every combination with
    /// [`JoinInsert::Product`] — and forgets the key.
    ///
    /// ```
    /// use eddy::dataflow::join::JoinInsert;
    /// # use eddy::testing::run_collect;
    /// // (user, Ok(name) | Err(email)): two keyed streams from one input.
    /// let items: Vec<(String, Result<String, String>)> = vec![
    ///     ("1".into(), Ok("ann".into())), ("2".into(), Ok("bob".into())), ("1".into(), Err("a@x".into())),
    /// ];
    /// let out = run_collect(items, |s| {
    ///     let names = s.filter_map_value("names", |v: Result<String, String>| v.ok());
    ///     let emails = s.filter_map_value("emails", |v: Result<String, String>| v.err());
    ///     names.join("join", &emails, JoinInsert::Last)
    /// });
    /// assert_eq!(out, vec![("1".to_string(), ("ann".to_string(), "a@x".to_string()))]);
    /// ```
    pub fn join<W: Data>(
        &self,
        step: &str,
        other: &Stream<'a, (K, W)>,
        insert_mode: JoinInsert,
    ) -> Stream<'a, (K, (V, W))> {
        self.join_pairs(step, other, insert_mode, JoinEmit::Complete)
            .filter_map(&format!("{step}_pairs"), |(k, row)| match pair(row) {
                (Some(v), Some(w)) => Some((k, (v, w))),
                _ => None,
            })
    }

    /// Joins this keyed stream with `other`, emitting each key's rows once
    /// at end of input, `None` for a side that saw nothing (Bytewax's
    /// `join(…, emit_mode="final")`). Bounded inputs only.
    ///
    /// ```
    /// use eddy::dataflow::join::JoinInsert;
    /// # use eddy::testing::run_collect;
    /// let items: Vec<(String, Result<i64, i64>)> = vec![
    ///     ("a".into(), Ok(1)), ("a".into(), Err(10)), ("a".into(), Ok(2)), ("b".into(), Err(20)),
    /// ];
    /// let mut out = run_collect(items, |s| {
    ///     let l = s.filter_map_value("l", |v: Result<i64, i64>| v.ok());
    ///     let r = s.filter_map_value("r", |v: Result<i64, i64>| v.err());
    ///     l.join_final("join", &r, JoinInsert::Product)
    /// });
    /// out.sort();
    /// assert_eq!(out, vec![
    ///     ("a".to_string(), (Some(1), Some(10))),
    ///     ("a".to_string(), (Some(2), Some(10))),
    ///     ("b".to_string(), (None, Some(20))),
    /// ]);
    /// ```
    pub fn join_final<W: Data>(
        &self,
        step: &str,
        other: &Stream<'a, (K, W)>,
        insert_mode: JoinInsert,
    ) -> Stream<'a, (K, JoinRow<V, W>)> {
        self.join_pairs(step, other, insert_mode, JoinEmit::Final)
            .map(&format!("{step}_pairs"), |(k, row)| (k, pair(row)))
    }

    /// Joins this keyed stream with `other`, emitting at every value what
    /// both sides hold so far (Bytewax's `join(…, emit_mode="running")`).
    ///
    /// ```
    /// use eddy::dataflow::join::JoinInsert;
    /// # use eddy::testing::run_collect;
    /// let items: Vec<(String, Result<i64, i64>)> = vec![
    ///     ("a".into(), Ok(1)), ("a".into(), Err(10)), ("a".into(), Ok(2)),
    /// ];
    /// let out = run_collect(items, |s| {
    ///     let l = s.filter_map_value("l", |v: Result<i64, i64>| v.ok());
    ///     let r = s.filter_map_value("r", |v: Result<i64, i64>| v.err());
    ///     l.join_running("join", &r, JoinInsert::Last)
    /// });
    /// assert_eq!(out, vec![
    ///     ("a".to_string(), (Some(1), None)),
    ///     ("a".to_string(), (Some(1), Some(10))),
    ///     ("a".to_string(), (Some(2), Some(10))),
    /// ]);
    /// ```
    pub fn join_running<W: Data>(
        &self,
        step: &str,
        other: &Stream<'a, (K, W)>,
        insert_mode: JoinInsert,
    ) -> Stream<'a, (K, JoinRow<V, W>)> {
        self.join_pairs(step, other, insert_mode, JoinEmit::Running)
            .map(&format!("{step}_pairs"), |(k, row)| (k, pair(row)))
    }

    /// Joins this keyed stream with any number of others of the same value
    /// type (Bytewax's `join(step, *sides, …)`): rows hold one value per
    /// side, this stream first, `None` where a side has none (never in
    /// [`JoinEmit::Complete`] mode).
    ///
    /// ```
    /// use eddy::dataflow::join::{JoinEmit, JoinInsert};
    /// # use eddy::testing::run_collect;
    /// let items: Vec<(String, i64)> = vec![("a".into(), 1), ("a".into(), 12), ("a".into(), 23)];
    /// let out = run_collect(items, |s| {
    ///     let side = |n: i64| s.filter_value(&format!("side{n}"), move |v: &i64| v / 10 == n);
    ///     side(0).join_all("join", &[side(1), side(2)], JoinInsert::Last, JoinEmit::Complete)
    /// });
    /// assert_eq!(out, vec![("a".to_string(), vec![Some(1), Some(12), Some(23)])]);
    /// ```
    pub fn join_all(
        &self,
        step: &str,
        others: &[Stream<'a, (K, V)>],
        insert_mode: JoinInsert,
        emit: JoinEmit,
    ) -> Stream<'a, (K, Vec<Option<V>>)> {
        let label =
            |i: usize, s: &Stream<'a, (K, V)>| s.map_value(&format!("{step}_label_{i}"), move |v| (i, v));
        let first = label(0, self);
        let rest: Vec<_> = others.iter().enumerate().map(|(i, s)| label(i + 1, s)).collect();
        first
            .merge(&format!("{step}_merge"), &rest)
            .join_core(step, others.len() + 1, |x: &Labelled<V>| x.0, insert_mode, emit)
            .map(&format!("{step}_values"), |(k, row)| {
                (k, row.into_iter().map(|x| x.map(|(_, v)| v)).collect())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_the_product_first_side_slowest() {
        let seen = vec![vec![1, 2], vec![], vec![3, 4]];
        assert_eq!(
            rows(&seen),
            vec![
                vec![Some(1), None, Some(3)],
                vec![Some(1), None, Some(4)],
                vec![Some(2), None, Some(3)],
                vec![Some(2), None, Some(4)],
            ]
        );
    }

    #[test]
    fn insert_modes_keep_first_last_or_all() {
        for (mode, want) in [
            (JoinInsert::First, vec![1]),
            (JoinInsert::Last, vec![3]),
            (JoinInsert::Product, vec![1, 2, 3]),
        ] {
            let mut seen = vec![Vec::new()];
            for v in [1, 2, 3] {
                insert(&mut seen, 0, v, mode);
            }
            assert_eq!(seen[0], want, "{mode:?}");
        }
    }

    #[test]
    fn merges_follow_bytewax() {
        let merged = |mode| {
            let mut e = vec![vec![1], vec![]];
            merge_seen(&mut e, vec![vec![2], vec![3]], mode);
            e
        };
        assert_eq!(merged(JoinInsert::First), vec![vec![1], vec![3]]);
        assert_eq!(merged(JoinInsert::Last), vec![vec![2], vec![3]]);
        assert_eq!(merged(JoinInsert::Product), vec![vec![1, 2], vec![3]]);
    }
}
