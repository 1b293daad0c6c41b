//! Run-level metrics (SPEC §4), accumulated row by row so a run of any
//! size keeps constant memory.

use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use crate::judge::Rating;
use crate::selection::ROOT_CAUSE_ORDER;

use super::row::{RowOutcome, RowResult};

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    yes: u64,
    rated: u64,
    errors: u64,
}

impl Tally {
    fn add(&mut self, rating: Option<Rating>) {
        match rating {
            Some(rating) => {
                self.rated += 1;
                self.yes += u64::from(rating == Rating::Yes);
            }
            None => self.errors += 1,
        }
    }

    fn percentage(&self) -> Value {
        if self.rated == 0 {
            Value::Null
        } else {
            json!(self.yes as f64 / self.rated as f64)
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Mean {
    sum: f64,
    count: u64,
    errors: u64,
}

impl Mean {
    fn add(&mut self, value: f64) {
        self.sum += value;
        self.count += 1;
    }

    fn average(&self) -> Value {
        if self.count == 0 {
            Value::Null
        } else {
            json!(self.sum / self.count as f64)
        }
    }
}

/// One line of the summary table.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryLine {
    pub metric: String,
    pub value: Value,
    /// Rows the value is computed over.
    pub rows: u64,
    pub errors: u64,
}

#[derive(Debug, Default)]
pub struct Metrics {
    /// By output prefix (`response/llm_judged/correctness`): ratings.
    ratings: IndexMap<String, Tally>,
    /// By output prefix: per-chunk precision.
    precisions: IndexMap<String, Mean>,
    document_recall: Mean,
    exact_match: Tally,
    token_count: Mean,
    overall: Tally,
    judge_tokens: u64,
    judge_calls: u64,
    pub rows: u64,
    pub invalid_rows: u64,
    pub judgments: u64,
    pub failed_judgments: u64,
    /// The first failure's message, for a run in which everything failed.
    pub first_failure: Option<String>,
}

impl Metrics {
    pub fn add(&mut self, result: &RowResult) {
        self.rows += 1;
        let judged = match &result.outcome {
            RowOutcome::Invalid(_) => {
                self.invalid_rows += 1;
                return;
            }
            RowOutcome::Judged(judged) => judged,
        };
        for judgment in &judged.judgments {
            let prefix = judgment.prefix();
            let usage = judgment.evaluation.usage;
            self.judge_calls += u64::from(usage.llm_calls);
            self.judge_tokens += usage.input_tokens + usage.output_tokens;
            self.judgments += 1;
            match &judgment.evaluation.outcome {
                Err(failure) => {
                    self.failed_judgments += 1;
                    self.first_failure
                        .get_or_insert_with(|| failure.to_string());
                    if judgment.rates_chunks {
                        self.precisions.entry(prefix).or_default().errors += 1;
                    } else {
                        self.ratings.entry(prefix).or_default().add(None);
                    }
                }
                Ok(j) if j.chunks.is_empty() => {
                    self.ratings.entry(prefix).or_default().add(Some(j.rating))
                }
                Ok(j) => {
                    let mean = self.precisions.entry(prefix).or_default();
                    if let Some(precision) = j.precision() {
                        mean.add(precision);
                    }
                    if judgment.has_error() {
                        mean.errors += 1;
                    }
                }
            }
        }
        if let Some(matched) = judged.exact_match {
            self.exact_match
                .add(Some(if matched { Rating::Yes } else { Rating::No }));
        }
        if let Some(tokens) = judged.token_count {
            self.token_count.add(tokens as f64);
        }
        if let Some(recall) = judged.document_recall {
            self.document_recall.add(recall);
        }
        if let Some(rating) = judged.overall.rating {
            self.overall.add(Some(rating));
        }
    }

    /// Every metric with the rows it covers and their errors, in a stable
    /// order: judges as first seen, then deterministic metrics, overall, cost.
    pub fn summary(&self) -> Vec<SummaryLine> {
        let mut lines = Vec::new();
        let line = |metric: String, value: Value, rows: u64, errors: u64| SummaryLine {
            metric,
            value,
            rows,
            errors,
        };
        let mut judges: Vec<(&String, [SummaryLine; 2])> = Vec::new();
        for (prefix, tally) in &self.ratings {
            judges.push((
                prefix,
                [
                    line(
                        format!("{prefix}/rating/percentage"),
                        tally.percentage(),
                        tally.rated,
                        tally.errors,
                    ),
                    line(
                        format!("{prefix}/error_count"),
                        json!(tally.errors),
                        tally.rated + tally.errors,
                        tally.errors,
                    ),
                ],
            ));
        }
        for (prefix, mean) in &self.precisions {
            judges.push((
                prefix,
                [
                    line(
                        format!("{prefix}/precision/average"),
                        mean.average(),
                        mean.count,
                        mean.errors,
                    ),
                    line(
                        format!("{prefix}/error_count"),
                        json!(mean.errors),
                        mean.count,
                        mean.errors,
                    ),
                ],
            ));
        }
        // SPEC's judge order, each judge's guideline groups after it, custom
        // judges last in the order first seen.
        judges.sort_by_key(|(prefix, _)| {
            let judge = prefix.split('/').nth(2).unwrap_or_default();
            let rank = ROOT_CAUSE_ORDER
                .iter()
                .position(|name| *name == judge)
                .unwrap_or(ROOT_CAUSE_ORDER.len());
            (rank, prefix.split('/').count())
        });
        lines.extend(judges.into_iter().flat_map(|(_, pair)| pair));
        if self.document_recall.count > 0 {
            let m = &self.document_recall;
            lines.push(line(
                "retrieval/ground_truth/document_recall/average".into(),
                m.average(),
                m.count,
                0,
            ));
        }
        if self.exact_match.rated > 0 {
            let t = &self.exact_match;
            lines.push(line(
                "response/exact_match/rating/percentage".into(),
                t.percentage(),
                t.rated,
                0,
            ));
        }
        if self.token_count.count > 0 {
            let m = &self.token_count;
            lines.push(line(
                "response/token_count/average".into(),
                m.average(),
                m.count,
                0,
            ));
        }
        if self.judgments > 0 {
            let t = &self.overall;
            lines.push(line(
                "response/overall_assessment/rating/percentage".into(),
                t.percentage(),
                t.rated,
                self.rows - self.invalid_rows - t.rated,
            ));
            lines.push(line(
                "judge/total_token_count".into(),
                json!(self.judge_tokens),
                self.rows,
                0,
            ));
            lines.push(line(
                "judge/llm_call_count".into(),
                json!(self.judge_calls),
                self.rows,
                0,
            ));
        }
        lines
    }

    /// `metrics.json`: one flat object.
    pub fn to_json(&self) -> Map<String, Value> {
        self.summary()
            .into_iter()
            .map(|l| (l.metric, l.value))
            .collect()
    }
}
