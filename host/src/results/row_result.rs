//! The typed result of one input row, and its line in
//! `eval_results.jsonl` (column names from [`super::schema`]).

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::results::schema::{self, JudgedField, JudgedPrefix, MetricField};
use gavel_runtime::bindings::Chunk;
use gavel_runtime::{JudgeOutcome, Judgment, MetricOutcome, Rating};

/// Token counts of an agent's LLM calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenUsage {
    pub input: u64,
    pub output: u64,
    pub total: u64,
}

impl TokenUsage {
    pub fn add(&mut self, other: TokenUsage) {
        self.input += other.input;
        self.output += other.output;
        self.total += other.total;
    }
}

/// A row's overall assessment: yes when every judge that ran says yes,
/// else the root cause and what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverallAssessment {
    /// `None` when no judgment succeeded.
    pub rating: Option<Rating>,
    pub root_cause: Option<String>,
    pub rationale: String,
}

/// What happened to one input row.
pub struct RowResult {
    /// 0-based position in the evaluation set.
    pub index: usize,
    /// The input fields, as read (never changed: what the run supplied is
    /// in `supplied`).
    pub fields: Map<String, Value>,
    pub supplied: Supplied,
    pub outcome: RowOutcome,
}

/// What the run gave the row besides its input: the agent's response, and
/// retrieved context from the agent or the row's trace. Its result line
/// shows what was judged, so these replace the input's fields there.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Supplied {
    pub response: Option<String>,
    pub retrieved_context: Option<Vec<Chunk>>,
}

impl Supplied {
    /// The input fields with what was supplied in place of theirs.
    fn apply(&self, out: &mut Map<String, Value>) {
        if let Some(response) = &self.response {
            // MLflow's names for the response would hold the old one.
            for alias in ["predictions", "outputs"] {
                out.remove(alias);
            }
            out.insert("response".into(), json!(response));
        }
        if let Some(chunks) = &self.retrieved_context {
            let listed = chunks
                .iter()
                .map(|c| {
                    let mut chunk = Map::new();
                    chunk.insert("content".into(), json!(c.content));
                    if let Some(uri) = &c.doc_uri {
                        chunk.insert("doc_uri".into(), json!(uri));
                    }
                    Value::Object(chunk)
                })
                .collect();
            out.insert("retrieved_context".into(), Value::Array(listed));
        }
    }
}

pub enum RowOutcome {
    /// The row could not be read (kept with `--skip-invalid`).
    Invalid(String),
    /// The agent was asked for the response and failed; nothing was judged.
    AgentFailed {
        request_id: String,
        message: String,
    },
    Judged(JudgedRow),
}

/// The agent's cost and latency on one row, from the call that produced
/// the response or from the row's trace.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AgentMeasures {
    pub latency_seconds: Option<f64>,
    pub usage: Option<TokenUsage>,
}

impl AgentMeasures {
    fn put(&self, out: &mut Map<String, Value>) {
        if let Some(latency) = self.latency_seconds {
            out.insert(schema::AGENT_LATENCY_SECONDS.into(), json!(latency));
        }
        if let Some(usage) = self.usage {
            out.insert(schema::AGENT_TOTAL_TOKENS.into(), json!(usage.total));
            out.insert(schema::AGENT_INPUT_TOKENS.into(), json!(usage.input));
            out.insert(schema::AGENT_OUTPUT_TOKENS.into(), json!(usage.output));
        }
    }
}

pub struct JudgedRow {
    pub request_id: String,
    pub judgments: Vec<RowJudgment>,
    pub exact_match: Option<bool>,
    pub token_count: Option<usize>,
    /// Metric components' values (those that measured nothing on the row
    /// are in `skipped`).
    pub measurements: Vec<RowMeasurement>,
    pub document_recall: Option<f64>,
    /// Checks chosen for the row that could not run on it, and why.
    pub skipped: Vec<(String, String)>,
    pub overall: OverallAssessment,
    pub agent: AgentMeasures,
}

/// One judgment: a judge (or one guideline group of it) on the row.
pub struct RowJudgment {
    /// Where its columns go; its name in outputs (`correctness`,
    /// `guideline_adherence/tone`) and its assessment type.
    pub prefix: JudgedPrefix,
    /// The judge's own name.
    pub judge: String,
    /// Rates chunks one by one (lists and a precision in outputs).
    pub rates_chunks: bool,
    pub outcome: JudgeOutcome,
}

/// One metric component on the row.
pub struct RowMeasurement {
    /// The metric's name in outputs.
    pub metric: String,
    pub outcome: MetricOutcome,
}

impl RowJudgment {
    pub fn judgment(&self) -> Option<&Judgment> {
        self.outcome.judgment.as_ref().ok()
    }

    /// Whether anything failed: the whole judgment or a chunk of it.
    pub fn has_error(&self) -> bool {
        match &self.outcome.judgment {
            Ok(judgment) => judgment.chunks.iter().any(Result::is_err),
            Err(_) => true,
        }
    }
}

impl RowResult {
    /// Whether the agent failed on this row.
    pub fn agent_failed(&self) -> bool {
        matches!(self.outcome, RowOutcome::AgentFailed { .. })
    }

    /// Judgments that failed as a whole.
    pub fn failed_judgments(&self) -> u64 {
        match &self.outcome {
            RowOutcome::Invalid(_) | RowOutcome::AgentFailed { .. } => 0,
            RowOutcome::Judged(judged) => judged
                .judgments
                .iter()
                .filter(|j| j.outcome.judgment.is_err())
                .count() as u64,
        }
    }

    /// The row's line in `eval_results.jsonl`: every input field, then the
    /// judges' results, then the overall assessment.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut out: Map<String, Value> = self
            .fields
            .iter()
            .filter(|(key, _)| !schema::is_reserved(key))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.supplied.apply(&mut out);
        let judged = match &self.outcome {
            RowOutcome::Invalid(message) => {
                if !out.contains_key(schema::REQUEST_ID) {
                    out.insert(schema::REQUEST_ID.into(), json!(self.index.to_string()));
                }
                out.insert(schema::ERROR_MESSAGE.into(), json!(message));
                return out;
            }
            RowOutcome::AgentFailed {
                request_id,
                message,
            } => {
                if !out.contains_key(schema::REQUEST_ID) {
                    out.insert(schema::REQUEST_ID.into(), json!(request_id));
                }
                out.insert(schema::AGENT_ERROR_MESSAGE.into(), json!(message));
                return out;
            }
            RowOutcome::Judged(judged) => judged,
        };
        if !out.contains_key(schema::REQUEST_ID) {
            out.insert(schema::REQUEST_ID.into(), json!(judged.request_id));
        }
        judged.agent.put(&mut out);
        for result in &judged.judgments {
            let mut put = |field: JudgedField, value: Value| {
                out.insert(result.prefix.column(field), value);
            };
            match &result.outcome.judgment {
                Err(failure) => {
                    put(JudgedField::ErrorMessage, json!(failure.to_string()));
                    if result.rates_chunks {
                        put(JudgedField::Precision, Value::Null);
                    }
                }
                Ok(judgment) if judgment.chunks.is_empty() => {
                    put(JudgedField::Rating, json!(judgment.rating));
                    put(JudgedField::Rationale, json!(judgment.rationale));
                    if let Some(score) = judgment.score {
                        put(JudgedField::Score, json!(score));
                    }
                }
                Ok(judgment) => {
                    let chunks = &judgment.chunks;
                    put(
                        JudgedField::Ratings,
                        chunks
                            .iter()
                            .map(|c| c.as_ref().ok().map(|c| json!(c.rating)))
                            .collect(),
                    );
                    put(
                        JudgedField::Rationales,
                        chunks
                            .iter()
                            .map(|c| c.as_ref().ok().map(|c| json!(c.rationale)))
                            .collect(),
                    );
                    if chunks
                        .iter()
                        .any(|c| matches!(c, Ok(c) if c.score.is_some()))
                    {
                        put(
                            JudgedField::Scores,
                            chunks
                                .iter()
                                .map(|c| c.as_ref().ok().and_then(|c| c.score))
                                .collect::<Vec<_>>()
                                .into(),
                        );
                    }
                    if chunks.iter().any(Result::is_err) {
                        put(
                            JudgedField::ErrorMessages,
                            chunks
                                .iter()
                                .map(|c| c.as_ref().err().map(|e| json!(e)))
                                .collect(),
                        );
                    }
                    put(JudgedField::Precision, json!(judgment.precision()));
                }
            }
            let usage = result.outcome.usage;
            put(JudgedField::LlmCallCount, json!(usage.llm_calls));
            put(
                JudgedField::TotalTokenCount,
                json!(usage.input_tokens + usage.output_tokens),
            );
        }
        if let Some(matched) = judged.exact_match {
            out.insert(
                schema::EXACT_MATCH_RATING.into(),
                json!(if matched { "yes" } else { "no" }),
            );
        }
        if let Some(tokens) = judged.token_count {
            out.insert(schema::TOKEN_COUNT.into(), json!(tokens));
        }
        for measured in &judged.measurements {
            let column = |field| schema::metric_column(&measured.metric, field);
            match &measured.outcome.value {
                Ok(Some(value)) => {
                    out.insert(column(MetricField::Score), json!(value));
                }
                Ok(None) => {}
                Err(failure) => {
                    out.insert(
                        column(MetricField::ErrorMessage),
                        json!(failure.to_string()),
                    );
                }
            }
        }
        if let Some(recall) = judged.document_recall {
            out.insert(schema::DOCUMENT_RECALL.into(), json!(recall));
        }
        out.insert(schema::OVERALL_RATING.into(), json!(judged.overall.rating));
        out.insert(
            schema::OVERALL_ROOT_CAUSE.into(),
            json!(judged.overall.root_cause),
        );
        out.insert(
            schema::OVERALL_RATIONALE.into(),
            json!(judged.overall.rationale),
        );
        if !judged.skipped.is_empty() {
            let skipped: Map<String, Value> = judged
                .skipped
                .iter()
                .map(|(name, why)| (name.clone(), json!(why)))
                .collect();
            out.insert(schema::SKIPPED_JUDGES.into(), Value::Object(skipped));
        }
        out
    }
}

/// A result line's `request_id` as text (ids may be numbers).
pub fn request_id_of(row: &Map<String, Value>) -> String {
    match row.get(schema::REQUEST_ID) {
        Some(Value::String(id)) => id.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// A result line read back, by meaning: what the columns of
/// [`RowResult::to_json`] say, named through [`schema`]. Readers (metrics,
/// compare, JUnit) use this instead of picking at column names.
#[derive(Debug, Clone, Copy)]
pub struct ResultView<'a>(pub &'a Map<String, Value>);

/// One judgment's columns in a result line.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgmentView<'a> {
    pub prefix: JudgedPrefix,
    /// `yes` or `no`, when the judgment succeeded (judges that do not rate
    /// chunks).
    pub rating: Option<&'a str>,
    pub rationale: Option<&'a str>,
    /// The 1-5 score, for score judges.
    pub score: Option<f64>,
    /// `Some` for judges that rate chunks: the precision, `null` when
    /// nothing could be rated.
    pub precision: Option<&'a Value>,
    /// Why the judgment failed as a whole.
    pub error: Option<&'a str>,
    /// Some of its chunks could not be judged.
    pub chunk_errors: bool,
    pub llm_calls: u64,
    pub tokens: u64,
}

impl<'a> ResultView<'a> {
    pub fn text(&self, column: &str) -> Option<&'a str> {
        self.0.get(column).and_then(Value::as_str)
    }

    pub fn number(&self, column: &str) -> Option<f64> {
        self.0.get(column).and_then(Value::as_f64)
    }

    /// The row's `request_id` as text (ids may be numbers).
    pub fn request_id(&self) -> String {
        request_id_of(self.0)
    }

    /// Why the row could not be read, for a row kept with `--skip-invalid`.
    pub fn invalid(&self) -> Option<&'a str> {
        self.text(schema::ERROR_MESSAGE)
    }

    /// Whether the row is an unreadable one (whatever its message).
    pub fn is_invalid(&self) -> bool {
        self.0.contains_key(schema::ERROR_MESSAGE)
    }

    /// Why the agent gave no response, when it failed on the row.
    pub fn agent_error(&self) -> Option<&'a str> {
        self.text(schema::AGENT_ERROR_MESSAGE)
    }

    pub fn agent_failed(&self) -> bool {
        self.0.contains_key(schema::AGENT_ERROR_MESSAGE)
    }

    /// The overall rating: `Some(None)` when the row was judged but every
    /// judgment failed, `None` when the row has no overall assessment.
    pub fn overall_rating(&self) -> Option<Option<&'a str>> {
        self.0
            .get(schema::OVERALL_RATING)
            .map(|rating| rating.as_str())
    }

    pub fn exact_match(&self) -> Option<&'a str> {
        self.text(schema::EXACT_MATCH_RATING)
    }

    /// The metrics measured on the row: each metric's value, or `Err` with
    /// why measuring it failed.
    pub fn measurements(&self) -> Vec<(&'a str, Result<f64, &'a str>)> {
        self.0
            .iter()
            .filter_map(|(column, value)| {
                let (metric, field) = schema::parse_metric_column(column)?;
                match field {
                    MetricField::Score => value.as_f64().map(|v| (metric, Ok(v))),
                    MetricField::ErrorMessage => Some((metric, Err(value.as_str().unwrap_or("")))),
                }
            })
            .collect()
    }

    /// The row's judgments, in the order of their columns.
    pub fn judgments(&self) -> Vec<JudgmentView<'a>> {
        let mut judgments: Vec<JudgmentView<'a>> = Vec::new();
        for (column, value) in self.0 {
            let Some((prefix, field)) = schema::judged_column(column) else {
                continue;
            };
            let index = match judgments.iter().position(|j| j.prefix == prefix) {
                Some(index) => index,
                None => {
                    judgments.push(JudgmentView {
                        prefix,
                        rating: None,
                        rationale: None,
                        score: None,
                        precision: None,
                        error: None,
                        chunk_errors: false,
                        llm_calls: 0,
                        tokens: 0,
                    });
                    judgments.len() - 1
                }
            };
            let judgment = &mut judgments[index];
            match field {
                JudgedField::Rating => judgment.rating = value.as_str(),
                JudgedField::Rationale => judgment.rationale = value.as_str(),
                JudgedField::Score => judgment.score = value.as_f64(),
                JudgedField::Precision => judgment.precision = Some(value),
                JudgedField::ErrorMessage => judgment.error = value.as_str().or(Some("")),
                JudgedField::ErrorMessages => judgment.chunk_errors = true,
                JudgedField::LlmCallCount => judgment.llm_calls = value.as_u64().unwrap_or(0),
                JudgedField::TotalTokenCount => judgment.tokens = value.as_u64().unwrap_or(0),
                JudgedField::Ratings | JudgedField::Rationales | JudgedField::Scores => {}
            }
        }
        judgments
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gavel_runtime::bindings::AssessmentType;

    #[test]
    fn a_result_line_reads_back_by_meaning() {
        let line = json!({
            "request_id": 7,
            "request": "q",
            "agent/latency_seconds": 0.5,
            "response/llm_judged/safety/rating": "yes",
            "response/llm_judged/safety/rationale": "fine",
            "response/llm_judged/safety/llm_call_count": 1,
            "response/llm_judged/safety/total_token_count": 120,
            "response/llm_judged/guideline_adherence/tone/rating": "no",
            "response/llm_judged/guideline_adherence/tone/rationale": "rude",
            "response/llm_judged/guideline_adherence/tone/llm_call_count": 1,
            "response/llm_judged/guideline_adherence/tone/total_token_count": 90,
            "retrieval/llm_judged/chunk_relevance/error_message": "timed out",
            "retrieval/llm_judged/chunk_relevance/precision": null,
            "retrieval/llm_judged/chunk_relevance/llm_call_count": 2,
            "retrieval/llm_judged/chunk_relevance/total_token_count": 0,
            "response/exact_match/rating": "no",
            "response/overall_assessment/rating": "no",
        });
        let row = ResultView(line.as_object().unwrap());
        assert_eq!(row.request_id(), "7");
        assert!(!row.is_invalid() && !row.agent_failed());
        assert_eq!(row.overall_rating(), Some(Some("no")));
        assert_eq!(row.exact_match(), Some("no"));
        assert_eq!(row.number(schema::AGENT_LATENCY_SECONDS), Some(0.5));
        let judgments = row.judgments();
        let names: Vec<&str> = judgments.iter().map(|j| j.prefix.name.as_str()).collect();
        assert_eq!(
            names,
            ["safety", "guideline_adherence/tone", "chunk_relevance"]
        );
        assert_eq!(judgments[0].rating, Some("yes"));
        assert_eq!((judgments[0].llm_calls, judgments[0].tokens), (1, 120));
        assert_eq!(judgments[1].prefix.judge(), "guideline_adherence");
        assert_eq!(judgments[1].rationale, Some("rude"));
        let chunks = &judgments[2];
        assert_eq!(chunks.prefix.assessment_type, AssessmentType::Retrieval);
        assert_eq!(
            (chunks.error, chunks.precision),
            (Some("timed out"), Some(&Value::Null))
        );
        assert_eq!(chunks.rating, None);

        let failed = json!({"request_id": "x", "agent/error_message": "down"});
        let row = ResultView(failed.as_object().unwrap());
        assert_eq!(
            (row.agent_error(), row.overall_rating()),
            (Some("down"), None)
        );
        assert!(row.judgments().is_empty());
    }
}
