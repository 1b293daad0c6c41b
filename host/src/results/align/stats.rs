//! The agreement statistics of a judge with human labels, and their
//! bootstrap intervals.
//!
//! "Positive" is `yes`, the judge's "good quality": a false positive is a
//! response the judge passed and the humans failed, the error that lets a
//! bad answer through. A statistic whose denominator is zero is undefined
//! (`None`, `null` in JSON), never NaN.

use serde::Serialize;

/// The 2x2 table of judge ratings against human labels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Confusion {
    /// The judge said yes, the humans yes.
    pub true_positive: u64,
    /// The judge said yes, the humans no.
    pub false_positive: u64,
    /// The judge said no, the humans yes.
    pub false_negative: u64,
    /// The judge said no, the humans no.
    pub true_negative: u64,
}

impl Confusion {
    pub fn add(&mut self, judge_yes: bool, human_yes: bool) {
        match (judge_yes, human_yes) {
            (true, true) => self.true_positive += 1,
            (true, false) => self.false_positive += 1,
            (false, true) => self.false_negative += 1,
            (false, false) => self.true_negative += 1,
        }
    }

    pub fn n(&self) -> u64 {
        self.true_positive + self.false_positive + self.false_negative + self.true_negative
    }

    /// Share of rows where the judge and the humans agree.
    pub fn accuracy(&self) -> Option<f64> {
        ratio(self.true_positive + self.true_negative, self.n())
    }

    /// Cohen's kappa: (p_o - p_e) / (1 - p_e), p_o the observed agreement,
    /// p_e the agreement expected by chance from each side's share of yes.
    /// Undefined when p_e = 1: both sides gave one and the same rating to
    /// every row, so agreement says nothing beyond chance.
    pub fn kappa(&self) -> Option<f64> {
        let n = self.n() as f64;
        let observed = self.accuracy()?;
        let judge_yes = (self.true_positive + self.false_positive) as f64 / n;
        let human_yes = (self.true_positive + self.false_negative) as f64 / n;
        let expected = judge_yes * human_yes + (1.0 - judge_yes) * (1.0 - human_yes);
        // Exactly 1 only when both sides are constant and equal; a margin
        // keeps rounding from turning that into a huge quotient.
        (1.0 - expected > 1e-12).then(|| (observed - expected) / (1.0 - expected))
    }

    /// Of the rows the judge passed, the share the humans passed.
    pub fn precision(&self) -> Option<f64> {
        ratio(self.true_positive, self.true_positive + self.false_positive)
    }

    /// Of the rows the humans passed, the share the judge passed.
    pub fn recall(&self) -> Option<f64> {
        ratio(self.true_positive, self.true_positive + self.false_negative)
    }

    /// The harmonic mean of precision and recall: 2TP / (2TP + FP + FN).
    pub fn f1(&self) -> Option<f64> {
        ratio(
            2 * self.true_positive,
            2 * self.true_positive + self.false_positive + self.false_negative,
        )
    }

    /// Of the rows the humans failed, the share the judge passed.
    pub fn false_positive_rate(&self) -> Option<f64> {
        ratio(
            self.false_positive,
            self.false_positive + self.true_negative,
        )
    }

    /// Of the rows the humans passed, the share the judge failed.
    pub fn false_negative_rate(&self) -> Option<f64> {
        ratio(
            self.false_negative,
            self.false_negative + self.true_positive,
        )
    }
}

fn ratio(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

/// The 5x5 table of judge scores against human scores, for rows where both
/// gave a 1-5 score.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScoreTable {
    /// `counts[judge - 1][human - 1]`.
    counts: [[u64; 5]; 5],
}

impl ScoreTable {
    /// Adds a pair of scores, each 1-5 (others are a caller's bug and
    /// ignored).
    pub fn add(&mut self, judge: u8, human: u8) {
        if (1..=5).contains(&judge) && (1..=5).contains(&human) {
            self.counts[usize::from(judge - 1)][usize::from(human - 1)] += 1;
        }
    }

    pub fn n(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    fn share_within(&self, distance: usize) -> Option<f64> {
        let close = (0..5usize)
            .flat_map(|j| (0..5usize).map(move |h| (j, h)))
            .filter(|&(j, h)| j.abs_diff(h) <= distance)
            .map(|(j, h)| self.counts[j][h])
            .sum();
        ratio(close, self.n())
    }

    /// Share of rows with the same score.
    pub fn exact(&self) -> Option<f64> {
        self.share_within(0)
    }

    /// Share of rows whose scores differ by at most one point.
    pub fn within_one(&self) -> Option<f64> {
        self.share_within(1)
    }

    /// Cohen's kappa with quadratic weights, the usual measure for ordinal
    /// ratings: 1 - sum(w O) / sum(w E) with w = (i - j)^2 / 16, O the
    /// observed table and E the table expected by chance from its margins.
    /// A 4 against a 5 costs 1/16 of a 1 against a 5. Undefined when sum(w E)
    /// = 0 (both sides gave every row the same score).
    pub fn weighted_kappa(&self) -> Option<f64> {
        let n = self.n() as f64;
        if n == 0.0 {
            return None;
        }
        let judge_margin: Vec<f64> = (0..5)
            .map(|j| self.counts[j].iter().sum::<u64>() as f64)
            .collect();
        let human_margin: Vec<f64> = (0..5)
            .map(|h| (0..5).map(|j| self.counts[j][h]).sum::<u64>() as f64)
            .collect();
        let (mut observed, mut expected) = (0.0, 0.0);
        for (j, (row, judge_total)) in self.counts.iter().zip(&judge_margin).enumerate() {
            for (h, (count, human_total)) in row.iter().zip(&human_margin).enumerate() {
                let weight = (j as f64 - h as f64).powi(2) / 16.0;
                observed += weight * *count as f64;
                expected += weight * judge_total * human_total / n;
            }
        }
        (expected > 1e-12).then(|| 1.0 - observed / expected)
    }
}

/// One compared row, as the statistics need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    pub judge_yes: bool,
    pub human_yes: bool,
    /// Both scores, when the judge and the humans each gave one.
    pub scores: Option<(u8, u8)>,
}

/// What the statistics are computed from: the 2x2 table and the score
/// table of a set of pairs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub confusion: Confusion,
    pub scores: ScoreTable,
}

impl Tally {
    pub fn add(&mut self, pair: &Pair) {
        self.confusion.add(pair.judge_yes, pair.human_yes);
        if let Some((judge, human)) = pair.scores {
            self.scores.add(judge, human);
        }
    }

    pub fn of(pairs: &[Pair]) -> Tally {
        let mut tally = Tally::default();
        pairs.iter().for_each(|pair| tally.add(pair));
        tally
    }
}

/// Every statistic reported with an interval, by its name in JSON, the
/// table and `--fail-under`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    Accuracy,
    Kappa,
    Precision,
    Recall,
    F1,
    FalsePositiveRate,
    FalseNegativeRate,
    /// Quadratic-weighted kappa of the 1-5 scores.
    WeightedKappa,
    /// Same score.
    ExactAgreement,
    /// Scores at most one point apart.
    WithinOneAgreement,
}

impl Statistic {
    /// The yes/no statistics.
    pub const BINARY: [Statistic; 7] = [
        Statistic::Accuracy,
        Statistic::Kappa,
        Statistic::Precision,
        Statistic::Recall,
        Statistic::F1,
        Statistic::FalsePositiveRate,
        Statistic::FalseNegativeRate,
    ];
    /// The 1-5 score statistics.
    pub const SCORE: [Statistic; 3] = [
        Statistic::WeightedKappa,
        Statistic::ExactAgreement,
        Statistic::WithinOneAgreement,
    ];

    pub fn all() -> impl Iterator<Item = Statistic> {
        Self::BINARY.into_iter().chain(Self::SCORE)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Statistic::Accuracy => "accuracy",
            Statistic::Kappa => "kappa",
            Statistic::Precision => "precision",
            Statistic::Recall => "recall",
            Statistic::F1 => "f1",
            Statistic::FalsePositiveRate => "false_positive_rate",
            Statistic::FalseNegativeRate => "false_negative_rate",
            Statistic::WeightedKappa => "weighted_kappa",
            Statistic::ExactAgreement => "exact_agreement",
            Statistic::WithinOneAgreement => "within_one_agreement",
        }
    }

    pub fn parse(text: &str) -> Option<Statistic> {
        Statistic::all().find(|s| s.as_str() == text)
    }

    /// Error rates are better low: a minimum for them makes no sense.
    pub fn higher_is_better(self) -> bool {
        !matches!(
            self,
            Statistic::FalsePositiveRate | Statistic::FalseNegativeRate
        )
    }

    pub fn of(self, tally: &Tally) -> Option<f64> {
        let c = &tally.confusion;
        match self {
            Statistic::Accuracy => c.accuracy(),
            Statistic::Kappa => c.kappa(),
            Statistic::Precision => c.precision(),
            Statistic::Recall => c.recall(),
            Statistic::F1 => c.f1(),
            Statistic::FalsePositiveRate => c.false_positive_rate(),
            Statistic::FalseNegativeRate => c.false_negative_rate(),
            Statistic::WeightedKappa => tally.scores.weighted_kappa(),
            Statistic::ExactAgreement => tally.scores.exact(),
            Statistic::WithinOneAgreement => tally.scores.within_one(),
        }
    }
}

/// A statistic and its 95% interval; each `None` when undefined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Estimate {
    pub value: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// How intervals are computed: percentile bootstrap over the compared rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bootstrap {
    /// Resamples per judge; 0 computes no intervals.
    pub resamples: usize,
    /// The same seed, rows and labels give the same intervals.
    pub seed: u64,
}

impl Bootstrap {
    pub const DEFAULT_RESAMPLES: usize = 1000;
    pub const DEFAULT_SEED: u64 = 16;
    /// The interval's coverage.
    pub const CONFIDENCE: f64 = 0.95;

    /// Each statistic of `pairs` with its interval: `resamples` times, draw
    /// as many pairs as there are with replacement and compute every
    /// statistic; the interval runs from the 2.5th to the 97.5th percentile
    /// of the resamples where the statistic is defined. `stream` (the
    /// judge's name) gives each judge its own random numbers, so a judge's
    /// intervals do not change when another judge is labelled.
    pub fn estimate(
        &self,
        pairs: &[Pair],
        stream: &str,
        statistics: &[Statistic],
    ) -> Vec<Estimate> {
        let point = Tally::of(pairs);
        let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(self.resamples); statistics.len()];
        if !pairs.is_empty() {
            let mut random = SplitMix64::new(self.seed ^ fnv1a(stream.as_bytes()));
            for _ in 0..self.resamples {
                let mut tally = Tally::default();
                for _ in 0..pairs.len() {
                    tally.add(&pairs[random.below(pairs.len())]);
                }
                for (statistic, values) in statistics.iter().zip(&mut samples) {
                    values.extend(statistic.of(&tally));
                }
            }
        }
        let tail = (1.0 - Self::CONFIDENCE) / 2.0;
        statistics
            .iter()
            .zip(samples)
            .map(|(statistic, mut values)| {
                values.sort_by(f64::total_cmp);
                Estimate {
                    value: statistic.of(&point),
                    low: percentile(&values, tail),
                    high: percentile(&values, 1.0 - tail),
                }
            })
            .collect()
    }
}

/// The `q` quantile of sorted `values`, interpolating linearly between
/// neighbours (Hyndman and Fan's type 7, the default of R and NumPy).
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let at = q.clamp(0.0, 1.0) * last as f64;
    let below = at.floor() as usize;
    let above = (below + 1).min(last);
    Some(sorted[below] + (at - below as f64) * (sorted[above] - sorted[below]))
}

/// SplitMix64 (Steele, Lea and Flood 2014): a small, fast generator whose
/// output is fixed by its seed on every platform, which is what a
/// reproducible interval needs; no cryptographic property is wanted.
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0), by Lemire's multiply-shift: its bias,
    /// n / 2^64, is far below anything a bootstrap could show.
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }
}

/// FNV-1a: a stable hash of a judge's name (std's hasher may change between
/// Rust releases, which would change the intervals).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The yes/no statistics of a score judge at one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ThresholdRow {
    /// The judge's score means yes when it is above this, as gavel.toml's
    /// `threshold` does.
    pub threshold: u8,
    pub confusion: Confusion,
    pub accuracy: Option<f64>,
    pub kappa: Option<f64>,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
    pub false_positive_rate: Option<f64>,
    pub false_negative_rate: Option<f64>,
}

impl ThresholdRow {
    fn new(threshold: u8, confusion: Confusion) -> Self {
        ThresholdRow {
            threshold,
            confusion,
            accuracy: confusion.accuracy(),
            kappa: confusion.kappa(),
            precision: confusion.precision(),
            recall: confusion.recall(),
            f1: confusion.f1(),
            false_positive_rate: confusion.false_positive_rate(),
            false_negative_rate: confusion.false_negative_rate(),
        }
    }
}

/// The thresholds a score judge can be given that change its ratings: yes
/// when the score is above 0 (every score), 1, 2, 3 or 4 (only a 5).
pub const THRESHOLDS: std::ops::RangeInclusive<u8> = 0..=4;

/// Each threshold's agreement, from the judge's 1-5 scores and the human
/// yes/no of the same rows.
pub fn sweep(scored: &[(u8, bool)]) -> Vec<ThresholdRow> {
    THRESHOLDS
        .map(|threshold| {
            let mut confusion = Confusion::default();
            for &(score, human_yes) in scored {
                confusion.add(score > threshold, human_yes);
            }
            ThresholdRow::new(threshold, confusion)
        })
        .collect()
}

/// The threshold with the highest kappa; among equals the judge's current
/// one, else the lowest. `None` when kappa is undefined at every threshold.
pub fn best_threshold(rows: &[ThresholdRow], current: u8) -> Option<u8> {
    let best = rows.iter().filter_map(|r| r.kappa).max_by(f64::total_cmp)?;
    let ties: Vec<u8> = rows
        .iter()
        .filter(|r| r.kappa.is_some_and(|k| best - k < 1e-12))
        .map(|r| r.threshold)
        .collect();
    Some(if ties.contains(&current) {
        current
    } else {
        ties[0]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: Option<f64>, expected: f64) {
        let actual = actual.expect("defined");
        assert!(
            (actual - expected).abs() < 1e-9,
            "{actual} is not {expected}"
        );
    }

    /// TP 20, FP 5, FN 10, TN 15 (n = 50): the textbook example worked by
    /// hand. p_o = 35/50 = 0.7; the judge says yes 25/50 = 0.5, the humans
    /// 30/50 = 0.6; p_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = 0.2/0.5 = 0.4.
    fn textbook() -> Confusion {
        Confusion {
            true_positive: 20,
            false_positive: 5,
            false_negative: 10,
            true_negative: 15,
        }
    }

    #[test]
    fn kappa_and_rates_match_a_table_worked_by_hand() {
        let c = textbook();
        assert_eq!(c.n(), 50);
        close(c.accuracy(), 0.7);
        close(c.kappa(), 0.4);
        close(c.precision(), 20.0 / 25.0);
        close(c.recall(), 20.0 / 30.0);
        // 2PR / (P + R) = 2 * 0.8 * 0.6667 / 1.4667 = 40 / 55.
        close(c.f1(), 40.0 / 55.0);
        close(c.false_positive_rate(), 5.0 / 20.0);
        close(c.false_negative_rate(), 10.0 / 30.0);
    }

    #[test]
    fn kappa_is_one_for_perfect_agreement_and_negative_below_chance() {
        let perfect = Confusion {
            true_positive: 3,
            true_negative: 2,
            ..Confusion::default()
        };
        close(perfect.kappa(), 1.0);
        // Always the opposite: p_o = 0, p_e = 0.5 * 0.5 * 2 = 0.5, kappa = -1.
        let opposite = Confusion {
            false_positive: 2,
            false_negative: 2,
            ..Confusion::default()
        };
        close(opposite.kappa(), -1.0);
    }

    #[test]
    fn undefined_statistics_are_none_not_nan() {
        // Both sides said yes to everything: p_e = 1.
        let all_yes = Confusion {
            true_positive: 4,
            ..Confusion::default()
        };
        assert_eq!(all_yes.kappa(), None);
        close(all_yes.accuracy(), 1.0);
        assert_eq!(all_yes.false_positive_rate(), None, "no human no");
        let empty = Confusion::default();
        for statistic in Statistic::all() {
            let value = statistic.of(&Tally {
                confusion: empty,
                scores: ScoreTable::default(),
            });
            assert_eq!(value, None, "{}", statistic.as_str());
        }
        // The judge always yes, the humans split: p_e = 0.5, kappa = 0.
        let judge_always_yes = Confusion {
            true_positive: 2,
            false_positive: 2,
            ..Confusion::default()
        };
        close(judge_always_yes.kappa(), 0.0);
        assert_eq!(
            serde_json::to_value(Estimate::default()).unwrap(),
            serde_json::json!({"value": null, "low": null, "high": null})
        );
    }

    #[test]
    fn score_agreement_by_hand() {
        // (judge, human): (5,5) (4,5) (2,4) (1,1).
        let mut t = ScoreTable::default();
        for (j, h) in [(5, 5), (4, 5), (2, 4), (1, 1)] {
            t.add(j, h);
        }
        close(t.exact(), 0.5);
        close(t.within_one(), 0.75);
        // Weights (d^2/16): observed = (0 + 1 + 4 + 0) / 16 = 5/16.
        // Margins: judge {1,2,4,5} once each; human 1 once, 4 once, 5 twice.
        // Expected = sum over judge j, human h of w(j,h) * m_j * m_h / 4:
        //   judge 1: (0*1 + 9*1 + 16*2)/16/4 = 41/64
        //   judge 2: (1*1 + 4*1 + 9*2)/16/4  = 23/64
        //   judge 4: (9*1 + 0*1 + 1*2)/16/4  = 11/64
        //   judge 5: (16*1 + 1*1 + 0*2)/16/4 = 17/64
        // sum = 92/64; kappa_w = 1 - (20/64) / (92/64) = 72/92.
        close(t.weighted_kappa(), 72.0 / 92.0);
        let mut same = ScoreTable::default();
        same.add(3, 3);
        same.add(3, 3);
        assert_eq!(same.weighted_kappa(), None, "both constant");
        close(same.exact(), 1.0);
    }

    fn pairs() -> Vec<Pair> {
        let c = textbook();
        let mut pairs = Vec::new();
        for (count, judge_yes, human_yes) in [
            (c.true_positive, true, true),
            (c.false_positive, true, false),
            (c.false_negative, false, true),
            (c.true_negative, false, false),
        ] {
            for _ in 0..count {
                pairs.push(Pair {
                    judge_yes,
                    human_yes,
                    scores: None,
                });
            }
        }
        pairs
    }

    #[test]
    fn bootstrap_intervals_hold_the_estimate_and_repeat_for_a_seed() {
        let pairs = pairs();
        let bootstrap = Bootstrap {
            resamples: 1000,
            seed: Bootstrap::DEFAULT_SEED,
        };
        let statistics: Vec<Statistic> = Statistic::BINARY.to_vec();
        let estimates = bootstrap.estimate(&pairs, "correctness", &statistics);
        for (statistic, e) in statistics.iter().zip(&estimates) {
            let (value, low, high) = (e.value.unwrap(), e.low.unwrap(), e.high.unwrap());
            assert!(
                low < value && value < high,
                "{}: {low} < {value} < {high}",
                statistic.as_str()
            );
        }
        // Kappa 0.4 on 50 rows: the interval is wide, about +-0.25.
        let kappa = estimates[1];
        assert!(kappa.high.unwrap() - kappa.low.unwrap() > 0.3, "{kappa:?}");
        assert!(kappa.high.unwrap() - kappa.low.unwrap() < 0.7, "{kappa:?}");
        assert_eq!(
            bootstrap.estimate(&pairs, "correctness", &statistics),
            estimates,
            "the same seed gives the same intervals"
        );
        let other_seed = Bootstrap {
            seed: 17,
            ..bootstrap
        };
        assert_ne!(
            other_seed.estimate(&pairs, "correctness", &statistics),
            estimates
        );
        assert_ne!(
            bootstrap.estimate(&pairs, "safety", &statistics),
            estimates,
            "each judge has its own stream"
        );
        let none = Bootstrap {
            resamples: 0,
            ..bootstrap
        };
        let points = none.estimate(&pairs, "correctness", &statistics);
        close(points[1].value, 0.4);
        assert_eq!((points[1].low, points[1].high), (None, None));
    }

    #[test]
    fn percentiles_interpolate_between_neighbours() {
        let values = [1.0, 2.0, 3.0, 4.0, 5.0];
        close(percentile(&values, 0.0), 1.0);
        close(percentile(&values, 0.5), 3.0);
        close(percentile(&values, 0.1), 1.4);
        close(percentile(&values, 1.0), 5.0);
        close(percentile(&[7.0], 0.975), 7.0);
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn the_threshold_sweep_on_a_hand_made_table() {
        // (judge score, human yes): humans pass 4s and 5s, and one 3.
        let scored = [
            (5, true),
            (4, true),
            (4, true),
            (3, true),
            (3, false),
            (2, false),
            (1, false),
            (1, false),
        ];
        let rows = sweep(&scored);
        assert_eq!(
            rows.iter().map(|r| r.threshold).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4]
        );
        // Threshold 0: every score is yes; the humans split 4/4: kappa 0.
        assert_eq!(
            rows[0].confusion,
            Confusion {
                true_positive: 4,
                false_positive: 4,
                ..Confusion::default()
            }
        );
        close(rows[0].kappa, 0.0);
        // Threshold 2 (3s and up are yes): TP 4, FP 1, FN 0, TN 3;
        // p_o = 7/8, p_e = (5/8)(4/8) + (3/8)(4/8) = 0.5, kappa = 0.75.
        assert_eq!(
            rows[2].confusion,
            Confusion {
                true_positive: 4,
                false_positive: 1,
                false_negative: 0,
                true_negative: 3
            }
        );
        close(rows[2].kappa, 0.75);
        close(rows[2].precision, 0.8);
        close(rows[2].recall, 1.0);
        // Threshold 3 (4s and up): TP 3, FP 0, FN 1, TN 4: also 0.75.
        close(rows[3].kappa, 0.75);
        close(rows[3].false_negative_rate, 0.25);
        // Threshold 4 (only 5s): TP 1, FN 3, TN 4; p_o = 5/8,
        // p_e = (1/8)(4/8) + (7/8)(4/8) = 0.5, kappa = 0.25.
        close(rows[4].kappa, 0.25);
        // 2 and 3 tie: the judge's current threshold wins, else the lowest.
        assert_eq!(best_threshold(&rows, 3), Some(3));
        assert_eq!(best_threshold(&rows, 0), Some(2));
        let constant = sweep(&[(5, true), (5, true)]);
        assert_eq!(best_threshold(&constant, 3), None);
    }
}
