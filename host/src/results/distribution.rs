//! Statistics of a numeric column over a run's rows: mean, variance and
//! 90th percentile, as MLflow reports every score metric
//! (`<metric>/mean`, `/variance`, `/p90`).
//!
//! MLflow computes them with numpy (`np.mean`, `np.var`, `np.percentile(.., 90)`),
//! so the variance is the population variance and the percentile
//! interpolates linearly between the two nearest ranks; the same rules here
//! make gavel's figures equal MLflow's on the same scores.

/// The values of one column, kept so that the percentile is exact. Eight
/// bytes a row: a million-row run holds 8 MB per statistic column.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Distribution {
    values: Vec<f64>,
}

impl Distribution {
    /// Counts a value; NaN and infinities (no statistic means anything
    /// with them) are not counted.
    pub fn add(&mut self, value: f64) {
        if value.is_finite() {
            self.values.push(value);
        }
    }

    pub fn count(&self) -> u64 {
        self.values.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn mean(&self) -> Option<f64> {
        if self.values.is_empty() {
            return None;
        }
        Some(self.values.iter().sum::<f64>() / self.values.len() as f64)
    }

    /// Population variance (numpy's `var`, `ddof=0`).
    pub fn variance(&self) -> Option<f64> {
        let mean = self.mean()?;
        let squares: f64 = self.values.iter().map(|v| (v - mean).powi(2)).sum();
        Some(squares / self.values.len() as f64)
    }

    /// The `q`-th percentile (0-100) with linear interpolation (numpy's
    /// default): the value at rank `q/100 * (n-1)` of the sorted values.
    pub fn percentile(&self, q: f64) -> Option<f64> {
        if self.values.is_empty() {
            return None;
        }
        let mut sorted = self.values.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = (q.clamp(0.0, 100.0) / 100.0) * (sorted.len() - 1) as f64;
        let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
        let fraction = rank - low as f64;
        Some(sorted[low] + (sorted[high] - sorted[low]) * fraction)
    }

    pub fn p90(&self) -> Option<f64> {
        self.percentile(90.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(values: &[f64]) -> Distribution {
        let mut d = Distribution::default();
        for v in values {
            d.add(*v);
        }
        d
    }

    #[test]
    fn empty_has_no_statistics() {
        let d = Distribution::default();
        assert_eq!((d.mean(), d.variance(), d.p90()), (None, None, None));
    }

    /// Figures from numpy 2.x: `np.mean`, `np.var` and
    /// `np.percentile(x, 90)` of `[1, 2, 3, 4, 5, 5]` are 3.3333..,
    /// 2.2222.. and 5.0; of `[1, 3]` they are 2.0, 1.0 and 2.8.
    #[test]
    fn statistics_equal_numpys() {
        let d = of(&[5.0, 1.0, 4.0, 2.0, 5.0, 3.0]);
        assert!((d.mean().unwrap() - 10.0 / 3.0).abs() < 1e-12);
        assert!((d.variance().unwrap() - 20.0 / 9.0).abs() < 1e-12);
        assert_eq!(d.p90(), Some(5.0));
        let d = of(&[3.0, 1.0]);
        assert_eq!((d.mean(), d.variance()), (Some(2.0), Some(1.0)));
        assert!((d.p90().unwrap() - 2.8).abs() < 1e-12);
        let d = of(&[4.0]);
        assert_eq!(
            (d.mean(), d.variance(), d.p90()),
            (Some(4.0), Some(0.0), Some(4.0))
        );
    }

    #[test]
    fn non_finite_values_are_not_counted() {
        let d = of(&[f64::NAN, 2.0, f64::INFINITY]);
        assert_eq!(d.count(), 1);
        assert_eq!(d.mean(), Some(2.0));
    }
}
