//! Run-level metrics (named in [`schema::metric`]), accumulated from the
//! result rows as they are written, so a run of any size keeps constant memory and a resumed
//! run counts the rows of every session alike.

use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use gavel_runtime::builtins;

use crate::evaluation::selection::LATENCY;
use crate::results::distribution::Distribution;
use crate::results::row_result::ResultView;
use crate::results::schema::metric::Statistic;
use crate::results::schema::{self, JudgedField, JudgedPrefix, metric};

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

/// A metric component's values over the run, and the rows it failed on.
#[derive(Debug, Default, Clone)]
struct Measured {
    values: Distribution,
    errors: u64,
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
    /// By judgment, for judges that give 1-5 scores: the scores, whose
    /// statistics go beside the rating percentage.
    scores: IndexMap<JudgedPrefix, Distribution>,
    /// By judge name.
    costs: IndexMap<String, Cost>,
    document_recall: Mean,
    exact_match: Tally,
    token_count: Mean,
    /// By metric component (`flesch_kincaid_grade_level`).
    measured: IndexMap<String, Measured>,
    overall: Tally,
    agent_latency: Mean,
    /// The same latencies, for their mean, variance and p90 (MLflow's
    /// `latency` metric), reported when the run named `latency`.
    agent_latencies: Distribution,
    latency_statistics: bool,
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
    /// Takes the run's checks as run.json lists them (`judges`, objects
    /// with a `name`): a run that named `latency` reports its mean,
    /// variance and p90. Read from run.json rather than from the rows, so a
    /// resumed run and a run assembled from Spark tasks report alike.
    pub fn set_run_checks(&mut self, judges: &Value) {
        self.latency_statistics = judges
            .as_array()
            .is_some_and(|checks| checks.iter().any(|c| c["name"] == LATENCY));
    }

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
                if let Some(score) = judgment.score {
                    self.scores
                        .entry(judgment.prefix.clone())
                        .or_default()
                        .add(score);
                }
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
        for (metric, value) in row.measurements() {
            let measured = self.measured.entry(metric.to_owned()).or_default();
            match value {
                Ok(value) => measured.values.add(value),
                Err(_) => measured.errors += 1,
            }
        }
        if let Some(latency) = row.number(schema::AGENT_LATENCY_SECONDS) {
            self.agent_latencies.add(latency);
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
        let mut judges: Vec<(&JudgedPrefix, Vec<SummaryLine>)> = Vec::new();
        for (prefix, tally) in &self.ratings {
            let rows = tally.rated + tally.errors;
            let mut lines = vec![line(
                metric::rating_percentage(prefix),
                tally.percentage(),
                tally.rated,
                tally.errors,
            )];
            if let Some(scores) = self.scores.get(prefix) {
                let column = prefix.column(JudgedField::Score);
                lines.extend(statistic_lines(&column, scores, tally.errors));
            }
            lines.push(line(
                metric::error_count(prefix),
                json!(tally.errors),
                rows,
                tally.errors,
            ));
            judges.push((prefix, lines));
        }
        for (prefix, mean) in &self.precisions {
            judges.push((
                prefix,
                vec![
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
        let mut lines: Vec<SummaryLine> = judges.into_iter().flat_map(|(_, lines)| lines).collect();
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
        for (name, measured) in &self.measured {
            if !measured.values.is_empty() {
                let prefix = schema::metric_prefix(name);
                lines.extend(statistic_lines(&prefix, &measured.values, measured.errors));
            }
            lines.push(line(
                metric::metric_error_count(name),
                json!(measured.errors),
                measured.values.count() + measured.errors,
                measured.errors,
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
            // MLflow's `latency` statistics, beside the average.
            if metric == metric::AGENT_LATENCY_AVERAGE
                && self.latency_statistics
                && !self.agent_latencies.is_empty()
            {
                lines.extend(statistic_lines(
                    schema::AGENT_LATENCY_SECONDS,
                    &self.agent_latencies,
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

/// The summary lines of a numeric column's statistics (`<column>/mean`,
/// `/variance`, `/p90`, null while no row has a value), over the rows with a
/// value; `errors` counts the rows where producing one failed. Any metric
/// backed by a [`Distribution`] is summarised through this.
fn statistic_lines(column: &str, values: &Distribution, errors: u64) -> [SummaryLine; 3] {
    Statistic::ALL.map(|statistic| {
        let value = match statistic {
            Statistic::Mean => values.mean(),
            Statistic::Variance => values.variance(),
            Statistic::P90 => values.p90(),
        };
        SummaryLine {
            metric: metric::statistic(column, statistic),
            value: json!(value),
            rows: values.count(),
            errors,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(judge: &str, rating: &str, score: Option<u8>) -> Map<String, Value> {
        let prefix = format!("response/llm_judged/{judge}");
        let mut row = Map::new();
        row.insert(format!("{prefix}/rating"), json!(rating));
        row.insert(format!("{prefix}/rationale"), json!("why"));
        if let Some(score) = score {
            row.insert(format!("{prefix}/score"), json!(score));
        }
        row
    }

    fn value(metrics: &Map<String, Value>, name: &str) -> f64 {
        metrics[name]
            .as_f64()
            .unwrap_or_else(|| panic!("{name}: {metrics:?}"))
    }

    /// The scores of `Distribution`'s numpy example, one failed judgment
    /// (not a score), and a guideline group scored on its own.
    #[test]
    fn score_judges_get_mean_variance_and_p90_beside_their_percentage() {
        let mut metrics = Metrics::default();
        for (i, score) in [5, 1, 4, 2, 5, 3].into_iter().enumerate() {
            let mut row = judged(
                "answer_similarity",
                if score > 3 { "yes" } else { "no" },
                Some(score),
            );
            row.extend(judged(
                "guideline_adherence/tone",
                "yes",
                (i < 2).then_some(4),
            ));
            row.extend(judged("safety", "yes", None));
            metrics.add(&row);
        }
        let mut failed = Map::new();
        failed.insert(
            "response/llm_judged/answer_similarity/error_message".into(),
            json!("timed out"),
        );
        metrics.add(&failed);

        let summary = metrics.summary();
        let names: Vec<&str> = summary.iter().map(|l| l.metric.as_str()).collect();
        let similarity = "response/llm_judged/answer_similarity";
        let at = |name: &str| names.iter().position(|n| *n == name).unwrap();
        assert_eq!(
            names[at(&format!("{similarity}/rating/percentage"))..][..5],
            [
                format!("{similarity}/rating/percentage"),
                format!("{similarity}/score/mean"),
                format!("{similarity}/score/variance"),
                format!("{similarity}/score/p90"),
                format!("{similarity}/error_count"),
            ]
        );
        let mean = &summary[at(&format!("{similarity}/score/mean"))];
        assert_eq!((mean.rows, mean.errors), (6, 1), "over the scored rows");

        let json = metrics.to_json();
        assert!((value(&json, &format!("{similarity}/score/mean")) - 10.0 / 3.0).abs() < 1e-12);
        assert!((value(&json, &format!("{similarity}/score/variance")) - 20.0 / 9.0).abs() < 1e-12);
        assert_eq!(value(&json, &format!("{similarity}/score/p90")), 5.0);
        assert_eq!(
            value(&json, &format!("{similarity}/rating/percentage")),
            0.5
        );
        let tone = "response/llm_judged/guideline_adherence/tone";
        assert_eq!(value(&json, &format!("{tone}/score/mean")), 4.0);
        assert_eq!(value(&json, &format!("{tone}/score/variance")), 0.0);
        assert!(
            !json
                .keys()
                .any(|k| k.starts_with("response/llm_judged/safety/score")),
            "a yes/no judge has no score statistics: {json:?}"
        );
    }

    #[test]
    fn a_score_judge_that_always_failed_has_no_statistics() {
        let mut metrics = Metrics::default();
        let mut failed = Map::new();
        failed.insert(
            "response/llm_judged/answer_similarity/error_message".into(),
            json!("down"),
        );
        metrics.add(&failed);
        let json = metrics.to_json();
        assert_eq!(
            json["response/llm_judged/answer_similarity/rating/percentage"],
            Value::Null
        );
        assert!(!json.contains_key("response/llm_judged/answer_similarity/score/mean"));
    }
}
