//! Latency percentiles for the benchmarks' reports.

use std::fmt;

/// Nearest-rank percentiles of a set of latencies in milliseconds.
pub struct Percentiles(Vec<f64>);

impl Percentiles {
    pub fn of(mut samples: Vec<f64>) -> Self {
        samples.sort_by(f64::total_cmp);
        Self(samples)
    }

    pub fn count(&self) -> usize {
        self.0.len()
    }

    /// The sample at quantile `q` (0 < q ≤ 1); `NaN` without samples.
    pub fn at(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let rank = (self.0.len() as f64 * q).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1]
    }
}

impl fmt::Display for Percentiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50 {:.1} ms   p90 {:.1} ms   p99 {:.1} ms   max {:.1} ms   (n = {})",
            self.at(0.50),
            self.at(0.90),
            self.at(0.99),
            self.at(1.0),
            self.count()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let p = Percentiles::of((1..=100).rev().map(f64::from).collect());
        assert_eq!((p.at(0.5), p.at(0.99), p.at(1.0)), (50.0, 99.0, 100.0));
        assert_eq!(Percentiles::of(vec![7.0]).at(0.5), 7.0);
        assert!(Percentiles::of(Vec::new()).at(0.5).is_nan());
    }
}
