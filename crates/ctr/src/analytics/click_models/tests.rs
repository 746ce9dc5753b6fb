//! Each model recovers the parameters its clicks were drawn from: a plain
//! simulator of the model (below, written from the model's definition)
//! draws searches from known parameters, and the fitted ones must lie
//! within the stated tolerance.

use super::*;

/// SplitMix64: the simulator's own random numbers.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

const QUERIES: usize = 12;
const CANDIDATES: usize = 14;
const SEARCHES_PER_QUERY: usize = 3_000;

/// True parameters of each (query, item).
struct Truth {
    attract: Vec<Vec<f64>>,
    satisfy: Vec<Vec<f64>>,
}

fn truth(rng: &mut Rng) -> Truth {
    let draw = |rng: &mut Rng, lo: f64, hi: f64| -> Vec<Vec<f64>> {
        (0..QUERIES)
            .map(|_| (0..CANDIDATES).map(|_| lo + (hi - lo) * rng.unit()).collect())
            .collect()
    };
    Truth {
        attract: draw(rng, 0.05, 0.9),
        satisfy: draw(rng, 0.2, 0.8),
    }
}

fn name(i: usize) -> CompactString {
    CompactString::new(format!("d{i}"))
}

/// A random list of [`DEPTH`] of the candidates (so every item is seen at
/// several positions, and every position shows several items).
fn list(rng: &mut Rng) -> Vec<usize> {
    let mut all: Vec<usize> = (0..CANDIDATES).collect();
    for i in (1..all.len()).rev() {
        all.swap(i, rng.below(i as u64 + 1) as usize);
    }
    all.truncate(DEPTH);
    all
}

/// Draws searches; `click(rng, q, list) -> mask`.
fn simulate(rng: &mut Rng, mut click: impl FnMut(&mut Rng, usize, &[usize]) -> u16) -> Searches {
    let mut searches = Searches::default();
    for q in 0..QUERIES {
        for _ in 0..SEARCHES_PER_QUERY {
            let shown = list(rng);
            let clicks = click(rng, q, &shown);
            let seen = Seen {
                items: shown.iter().map(|&i| name(i)).collect(),
                clicks,
            };
            searches.add(&format!("q{q}"), seen, 1);
        }
    }
    searches
}

/// Mean absolute error of the fitted attractiveness against the truth.
fn attract_error(f: &Fitted, t: &Truth) -> f64 {
    let mut sum = 0.0;
    let mut n = 0.0;
    for q in 0..QUERIES {
        for (d, a) in t.attract[q].iter().enumerate() {
            let est = f.pairs[&(CompactString::new(format!("q{q}")), name(d))];
            sum += (est.attractiveness - a).abs();
            n += 1.0;
        }
    }
    sum / n
}

#[test]
fn pbm_recovers_attractiveness_and_examination() {
    let mut rng = Rng::new(11);
    let t = truth(&mut rng);
    let theta: Vec<f64> = (1..=DEPTH).map(|r| 1.0 / (r as f64).powf(0.8)).collect();
    let searches = simulate(&mut rng, |rng, q, shown| {
        let mut mask = 0;
        for (r, &d) in shown.iter().enumerate() {
            if rng.unit() < theta[r] * t.attract[q][d] {
                mask |= 1 << r;
            }
        }
        mask
    });
    let f = fit(Model::Pbm, &searches);
    for (r, (fitted, true_)) in f.examination.iter().zip(&theta).enumerate() {
        assert!(
            (fitted - true_).abs() < 0.05,
            "θ at {}: {fitted} vs {true_}",
            r + 1
        );
    }
    let e = attract_error(&f, &t);
    let worst = f
        .examination
        .iter()
        .zip(&theta)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    eprintln!("PBM: mean |α error| {e:.4}, worst |θ error| {worst:.4}");
    assert!(e < 0.03, "mean |α error| {e}");
}

#[test]
fn cascade_recovers_attractiveness() {
    let mut rng = Rng::new(12);
    let t = truth(&mut rng);
    let searches = simulate(&mut rng, |rng, q, shown| {
        for (r, &d) in shown.iter().enumerate() {
            if rng.unit() < t.attract[q][d] {
                return 1 << r;
            }
        }
        0
    });
    let f = fit(Model::Cascade, &searches);
    // Items low in a list are seen rarely when those above attract: the
    // error is over the pairs examined at least 100 times.
    let e = attract_error(&f, &t);
    eprintln!("cascade: mean |α error| {e:.4}");
    assert!(e < 0.05, "mean |α error| {e}");
    assert_eq!(f.examination[0], 1.0);
    assert!(f.examination.windows(2).all(|w| w[1] <= w[0]));
}

#[test]
fn dbn_recovers_attractiveness_satisfaction_and_continuation() {
    let mut rng = Rng::new(13);
    let t = truth(&mut rng);
    let gamma = 0.8;
    let searches = simulate(&mut rng, |rng, q, shown| {
        let mut mask = 0;
        for (r, &d) in shown.iter().enumerate() {
            if rng.unit() < t.attract[q][d] {
                mask |= 1 << r;
                if rng.unit() < t.satisfy[q][d] {
                    break;
                }
            }
            if rng.unit() >= gamma {
                break;
            }
        }
        mask
    });
    let f = fit(Model::Dbn, &searches);
    let g = f.continuation.unwrap();
    assert!((g - gamma).abs() < 0.03, "γ {g}");
    let e = attract_error(&f, &t);
    assert!(e < 0.05, "mean |a error| {e}");
    // Satisfaction: over pairs clicked often enough to tell.
    let mut sum = 0.0;
    let mut n = 0.0;
    for q in 0..QUERIES {
        for d in 0..CANDIDATES {
            let est = f.pairs[&(CompactString::new(format!("q{q}")), name(d))];
            if t.attract[q][d] > 0.3 {
                sum += (est.satisfaction.unwrap() - t.satisfy[q][d]).abs();
                n += 1.0;
            }
        }
    }
    eprintln!(
        "DBN: |γ error| {:.4}, mean |a error| {e:.4}, mean |s error| {:.4}",
        (g - gamma).abs(),
        sum / n
    );
    assert!(sum / n < 0.08, "mean |s error| {}", sum / n);
}

#[test]
fn searches_count_alike_searches_together() {
    let mut s = Searches::default();
    let seen = Seen {
        items: vec!["a".into(), "b".into()],
        clicks: 0b10,
    };
    s.add("q", seen.clone(), 2);
    let mut other = Searches::default();
    other.add("q", seen.clone(), 3);
    s.merge(&other);
    assert_eq!(s.by_query["q"][&seen], 5);
    // Cascade: `b` below the first click was never examined.
    let f = fit(Model::Cascade, &s);
    let a = f.pairs[&("q".into(), "a".into())];
    assert_eq!(a.attractiveness, 0.0);
    let cascade_only = Searches {
        by_query: [(
            "q".into(),
            [(
                Seen {
                    items: vec!["a".into(), "b".into()],
                    clicks: 0b01,
                },
                4,
            )]
            .into_iter()
            .collect(),
        )]
        .into_iter()
        .collect(),
    };
    let f = fit(Model::Cascade, &cascade_only);
    assert_eq!(f.pairs[&("q".into(), "a".into())].attractiveness, 1.0);
    assert!(!f.pairs.contains_key(&("q".into(), "b".into())));
    // A fit of nothing is empty.
    assert!(fit(Model::Dbn, &Searches::default()).pairs.is_empty());
}
