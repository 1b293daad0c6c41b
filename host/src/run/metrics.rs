//! Run-level metrics (SPEC §4), accumulated from the result rows as they
//! are written, so a run of any size keeps constant memory and a resumed
//! run counts the rows of every session alike.

use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use crate::selection::ROOT_CAUSE_ORDER;

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
    /// By output prefix (`response/llm_judged/correctness`).
    ratings: IndexMap<String, Tally>,
    /// By output prefix, for judges that rate chunks.
    precisions: IndexMap<String, Mean>,
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

const JUDGED: [&str; 2] = ["response/llm_judged/", "retrieval/llm_judged/"];

/// `response/llm_judged/guideline_adherence/tone/rating` ->
/// (`response/llm_judged/guideline_adherence/tone`, `rating`).
fn judged_key(key: &str) -> Option<(&str, &str)> {
    JUDGED.iter().find(|p| key.starts_with(*p))?;
    key.rsplit_once('/')
}

/// The judge's own name in a prefix: `guideline_adherence` for every group.
fn judge_of(prefix: &str) -> &str {
    prefix.split('/').nth(2).unwrap_or_default()
}

impl Metrics {
    /// Counts one line of `eval_results.jsonl`.
    pub fn add(&mut self, row: &Map<String, Value>) {
        self.rows += 1;
        if row.contains_key("error_message") {
            self.invalid_rows += 1;
            return;
        }
        for (key, value) in row {
            let Some((prefix, field)) = judged_key(key) else {
                continue;
            };
            let rates_chunks = row.contains_key(&format!("{prefix}/precision"));
            match field {
                "rating" => {
                    self.judgments += 1;
                    let tally = self.ratings.entry(prefix.to_owned()).or_default();
                    tally.rated += 1;
                    tally.yes += u64::from(value == "yes");
                }
                "precision" => {
                    self.judgments += 1;
                    let mean = self.precisions.entry(prefix.to_owned()).or_default();
                    if let Some(precision) = value.as_f64() {
                        mean.add(precision);
                    }
                    let chunk_errors = row.contains_key(&format!("{prefix}/error_messages"));
                    let failed = row.contains_key(&format!("{prefix}/error_message"));
                    mean.errors += u64::from(chunk_errors || failed);
                }
                "error_message" => {
                    self.failed_judgments += 1;
                    if let Some(message) = value.as_str() {
                        self.first_failure.get_or_insert_with(|| message.to_owned());
                    }
                    if !rates_chunks {
                        self.judgments += 1;
                        self.ratings.entry(prefix.to_owned()).or_default().errors += 1;
                    }
                }
                "llm_call_count" => {
                    self.costs
                        .entry(judge_of(prefix).to_owned())
                        .or_default()
                        .calls += value.as_u64().unwrap_or(0);
                }
                "total_token_count" => {
                    self.costs
                        .entry(judge_of(prefix).to_owned())
                        .or_default()
                        .tokens += value.as_u64().unwrap_or(0);
                }
                _ => {}
            }
        }
        if let Some(rating) = row
            .get("response/exact_match/rating")
            .and_then(Value::as_str)
        {
            self.exact_match.rated += 1;
            self.exact_match.yes += u64::from(rating == "yes");
        }
        if let Some(tokens) = row.get("response/token_count").and_then(Value::as_f64) {
            self.token_count.add(tokens);
        }
        if row.contains_key("agent/error_message") {
            self.agent_errors += 1;
        }
        for (key, mean) in [
            ("agent/latency_seconds", &mut self.agent_latency),
            ("agent/total_token_count", &mut self.agent_total_tokens),
            (
                "agent/total_input_token_count",
                &mut self.agent_input_tokens,
            ),
            (
                "agent/total_output_token_count",
                &mut self.agent_output_tokens,
            ),
        ] {
            if let Some(value) = row.get(key).and_then(Value::as_f64) {
                mean.add(value);
            }
        }
        if let Some(recall) = row
            .get("retrieval/ground_truth/document_recall")
            .and_then(Value::as_f64)
        {
            self.document_recall.add(recall);
        }
        match row
            .get("response/overall_assessment/rating")
            .and_then(Value::as_str)
        {
            Some(rating) => {
                self.overall.rated += 1;
                self.overall.yes += u64::from(rating == "yes");
            }
            None if row.contains_key("response/overall_assessment/rating") => {
                self.overall.errors += 1
            }
            None => {}
        }
    }

    /// Every metric with the rows it covers and their errors: judges in SPEC
    /// order (guideline groups after their judge, custom judges last), then
    /// deterministic metrics, overall, cost.
    pub fn summary(&self) -> Vec<SummaryLine> {
        let line = |metric: String, value: Value, rows: u64, errors: u64| SummaryLine {
            metric,
            value,
            rows,
            errors,
        };
        let mut judges: Vec<(&String, [SummaryLine; 2])> = Vec::new();
        for (prefix, tally) in &self.ratings {
            let rows = tally.rated + tally.errors;
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
        judges.sort_by_key(|(prefix, _)| {
            let rank = ROOT_CAUSE_ORDER
                .iter()
                .position(|name| *name == judge_of(prefix))
                .unwrap_or(ROOT_CAUSE_ORDER.len());
            (rank, prefix.split('/').count())
        });
        let mut lines: Vec<SummaryLine> = judges.into_iter().flat_map(|(_, pair)| pair).collect();
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
        let agent_errors = self.agent_errors;
        for (metric, mean) in [
            ("agent/latency_seconds/average", &self.agent_latency),
            ("agent/total_token_count/average", &self.agent_total_tokens),
            ("agent/input_token_count/average", &self.agent_input_tokens),
            (
                "agent/output_token_count/average",
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
                "agent/error_count".into(),
                json!(agent_errors),
                self.agent_latency.count + agent_errors,
                agent_errors,
            ));
        }
        if self.judgments > 0 {
            let t = &self.overall;
            lines.push(line(
                "response/overall_assessment/rating/percentage".into(),
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
                    format!("judge/{judge}/llm_call_count"),
                    json!(cost.calls),
                    judged_rows,
                    0,
                ));
                lines.push(line(
                    format!("judge/{judge}/total_token_count"),
                    json!(cost.tokens),
                    judged_rows,
                    0,
                ));
            }
            lines.push(line(
                "judge/total_token_count".into(),
                json!(tokens),
                judged_rows,
                0,
            ));
            lines.push(line(
                "judge/llm_call_count".into(),
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
