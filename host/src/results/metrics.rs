//! Run-level metrics (named in [`schema::metric`]), accumulated from the
//! result rows as they are written, so a run of any size keeps constant memory and a resumed
//! run counts the rows of every session alike.

use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use gavel_runtime::builtins;

use crate::results::row_result::ResultView;
use crate::results::schema::{self, JudgedPrefix, metric};

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    yes: u64,
    rated: u64,
    errors: u64,
}

impl Tally {
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

#[derive(Debug, Default, Clone, Copy)]
struct Cost {
    calls: u64,
    tokens: u64,
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
    /// By judgment (`response/llm_judged/correctness`).
    ratings: IndexMap<JudgedPrefix, Tally>,
    /// By judgment, for judges that rate chunks.
    precisions: IndexMap<JudgedPrefix, Mean>,
    /// By judge name.
    costs: IndexMap<String, Cost>,
    document_recall: Mean,
    exact_match: Tally,
    token_count: Mean,
    overall: Tally,
    agent_latency: Mean,
    agent_total_tokens: Mean,
    agent_input_tokens: Mean,
    agent_output_tokens: Mean,
    /// Rows on which the agent failed (nothing was judged on them).
    pub agent_errors: u64,
    pub rows: u64,
    pub invalid_rows: u64,
    pub judgments: u64,
    pub failed_judgments: u64,
    /// The first failure's message, for a run in which everything failed.
    pub first_failure: Option<String>,
}

impl Metrics {
    /// Counts one line of `eval_results.jsonl`.
    pub fn add(&mut self, row: &Map<String, Value>) {
        let row = ResultView(row);
        self.rows += 1;
        if row.is_invalid() {
            self.invalid_rows += 1;
            return;
        }
        for judgment in row.judgments() {
            if let Some(rating) = judgment.rating {
                self.judgments += 1;
                let tally = self.ratings.entry(judgment.prefix.clone()).or_default();
                tally.rated += 1;
                tally.yes += u64::from(rating == "yes");
            }
            // Judges that rate chunks count by their precision, failed or not.
            if let Some(precision) = judgment.precision {
                self.judgments += 1;
                let mean = self.precisions.entry(judgment.prefix.clone()).or_default();
                if let Some(precision) = precision.as_f64() {
                    mean.add(precision);
                }
                mean.errors += u64::from(judgment.chunk_errors || judgment.error.is_some());
            }
            if let Some(message) = judgment.error {
                self.failed_judgments += 1;
                self.first_failure.get_or_insert_with(|| message.to_owned());
                if judgment.precision.is_none() {
                    self.judgments += 1;
                    self.ratings
                        .entry(judgment.prefix.clone())
                        .or_default()
                        .errors += 1;
                }
            }
            let cost = self
                .costs
                .entry(judgment.prefix.judge().to_owned())
                .or_default();
            cost.calls += judgment.llm_calls;
            cost.tokens += judgment.tokens;
        }
        if let Some(rating) = row.exact_match() {
            self.exact_match.rated += 1;
            self.exact_match.yes += u64::from(rating == "yes");
        }
        if let Some(tokens) = row.number(schema::TOKEN_COUNT) {
            self.token_count.add(tokens);
        }
        if row.agent_failed() {
            self.agent_errors += 1;
        }
        for (column, mean) in [
            (schema::AGENT_LATENCY_SECONDS, &mut self.agent_latency),
            (schema::AGENT_TOTAL_TOKENS, &mut self.agent_total_tokens),
            (schema::AGENT_INPUT_TOKENS, &mut self.agent_input_tokens),
            (schema::AGENT_OUTPUT_TOKENS, &mut self.agent_output_tokens),
        ] {
            if let Some(value) = row.number(column) {
                mean.add(value);
            }
        }
        if let Some(recall) = row.number(schema::DOCUMENT_RECALL) {
            self.document_recall.add(recall);
        }
        match row.overall_rating() {
            Some(Some(rating)) => {
                self.overall.rated += 1;
                self.overall.yes += u64::from(rating == "yes");
            }
            Some(None) => self.overall.errors += 1,
            None => {}
        }
    }

    /// Every metric with the rows it covers and their errors: judges in root-cause
    /// order (guideline groups after their judge, custom judges last), then
    /// deterministic metrics, overall, cost.
    pub fn summary(&self) -> Vec<SummaryLine> {
        let line = |metric: String, value: Value, rows: u64, errors: u64| SummaryLine {
            metric,
            value,
            rows,
            errors,
        };
        let mut judges: Vec<(&JudgedPrefix, [SummaryLine; 2])> = Vec::new();
        for (prefix, tally) in &self.ratings {
            let rows = tally.rated + tally.errors;
            judges.push((
                prefix,
                [
                    line(
                        metric::rating_percentage(prefix),
                        tally.percentage(),
                        tally.rated,
                        tally.errors,
                    ),
                    line(
                        metric::error_count(prefix),
                        json!(tally.errors),
                        rows,
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
                        metric::precision_average(prefix),
                        mean.average(),
                        mean.count,
                        mean.errors,
                    ),
                    line(
                        metric::error_count(prefix),
                        json!(mean.errors),
                        mean.count,
                        mean.errors,
                    ),
                ],
            ));
        }
        judges.sort_by_key(|(prefix, _)| {
            let rank = builtins::facts(prefix.judge())
                .and_then(|facts| facts.root_cause_rank)
                .map_or(usize::MAX, usize::from);
            (rank, prefix.name.split('/').count())
        });
        let mut lines: Vec<SummaryLine> = judges.into_iter().flat_map(|(_, pair)| pair).collect();
        if self.document_recall.count > 0 {
            let m = &self.document_recall;
            lines.push(line(
                metric::DOCUMENT_RECALL_AVERAGE.into(),
                m.average(),
                m.count,
                0,
            ));
        }
        if self.exact_match.rated > 0 {
            let t = &self.exact_match;
            lines.push(line(
                metric::EXACT_MATCH_PERCENTAGE.into(),
                t.percentage(),
                t.rated,
                0,
            ));
        }
        if self.token_count.count > 0 {
            let m = &self.token_count;
            lines.push(line(
                metric::TOKEN_COUNT_AVERAGE.into(),
                m.average(),
                m.count,
                0,
            ));
        }
        let agent_errors = self.agent_errors;
        for (metric, mean) in [
            (metric::AGENT_LATENCY_AVERAGE, &self.agent_latency),
            (metric::AGENT_TOTAL_TOKENS_AVERAGE, &self.agent_total_tokens),
            (metric::AGENT_INPUT_TOKENS_AVERAGE, &self.agent_input_tokens),
            (
                metric::AGENT_OUTPUT_TOKENS_AVERAGE,
                &self.agent_output_tokens,
            ),
        ] {
            if mean.count > 0 {
                lines.push(line(
                    metric.into(),
                    mean.average(),
                    mean.count,
                    agent_errors,
                ));
            }
        }
        if agent_errors > 0 || self.agent_latency.count > 0 {
            lines.push(line(
                metric::AGENT_ERROR_COUNT.into(),
                json!(agent_errors),
                self.agent_latency.count + agent_errors,
                agent_errors,
            ));
        }
        if self.judgments > 0 {
            let t = &self.overall;
            lines.push(line(
                metric::OVERALL_PERCENTAGE.into(),
                t.percentage(),
                t.rated,
                t.errors,
            ));
            let judged_rows = self.rows - self.invalid_rows;
            let (mut calls, mut tokens) = (0, 0);
            for (judge, cost) in &self.costs {
                calls += cost.calls;
                tokens += cost.tokens;
                lines.push(line(
                    metric::judge_llm_calls(judge),
                    json!(cost.calls),
                    judged_rows,
                    0,
                ));
                lines.push(line(
                    metric::judge_tokens(judge),
                    json!(cost.tokens),
                    judged_rows,
                    0,
                ));
            }
            lines.push(line(
                metric::TOTAL_TOKENS.into(),
                json!(tokens),
                judged_rows,
                0,
            ));
            lines.push(line(
                metric::TOTAL_LLM_CALLS.into(),
                json!(calls),
                judged_rows,
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
