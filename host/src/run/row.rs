//! One row's evaluation, and its line in `eval_results.jsonl`.

use serde_json::{Map, Value, json};

use crate::agent::{Agent, AgentRequest};
use crate::bindings::{AssessmentType, Chunk, Row};
use crate::deterministic;
use crate::host::Host;
use crate::judge::{Evaluation, Judgment, describe_missing, input_name};
use crate::overall::{self, Overall, Verdict};
use crate::registry::Registry;
use crate::selection::{Check, Selection, root_cause_rank};
use crate::trace::TokenUsage;

/// What happened to one input row.
pub struct RowResult {
    /// 0-based position in the evaluation set.
    pub index: usize,
    /// The input fields, as read.
    pub fields: Map<String, Value>,
    pub outcome: RowOutcome,
}

pub enum RowOutcome {
    /// The row could not be read (kept with `--skip-invalid`).
    Invalid(String),
    /// The agent was asked for the response and failed; nothing was judged.
    AgentFailed {
        request_id: String,
        message: String,
    },
    Judged(Judged),
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
            out.insert("agent/latency_seconds".into(), json!(latency));
        }
        if let Some(usage) = self.usage {
            out.insert("agent/total_token_count".into(), json!(usage.total));
            out.insert("agent/total_input_token_count".into(), json!(usage.input));
            out.insert("agent/total_output_token_count".into(), json!(usage.output));
        }
    }
}

pub struct Judged {
    pub request_id: String,
    pub judgments: Vec<JudgmentResult>,
    pub exact_match: Option<bool>,
    pub token_count: Option<usize>,
    pub document_recall: Option<f64>,
    /// Checks chosen for the row that could not run on it, and why.
    pub skipped: Vec<(String, String)>,
    pub overall: Overall,
    pub agent: AgentMeasures,
}

/// One judgment: a judge (or one guideline group of it) on the row.
pub struct JudgmentResult {
    /// Name in outputs: `correctness`, `guideline_adherence/tone`.
    pub output: String,
    /// The judge's own name.
    pub judge: String,
    pub kind: AssessmentType,
    /// Rates chunks one by one (lists and a precision in outputs).
    pub rates_chunks: bool,
    pub evaluation: Evaluation,
}

impl JudgmentResult {
    /// `response/llm_judged/<name>` or `retrieval/llm_judged/<name>`.
    pub fn prefix(&self) -> String {
        match self.kind {
            AssessmentType::Answer => format!("response/llm_judged/{}", self.output),
            AssessmentType::Retrieval => format!("retrieval/llm_judged/{}", self.output),
        }
    }

    pub fn judgment(&self) -> Option<&Judgment> {
        self.evaluation.outcome.as_ref().ok()
    }

    /// Whether anything failed: the whole judgment or a chunk of it.
    pub fn has_error(&self) -> bool {
        match &self.evaluation.outcome {
            Ok(judgment) => judgment.chunks.iter().any(Result::is_err),
            Err(_) => true,
        }
    }
}

/// Runs the checks selected for `row` on it.
pub async fn evaluate(
    host: &Host,
    registry: &Registry,
    selection: &Selection,
    mut row: Row,
    global_guidelines: &[crate::row::GuidelineGroup],
) -> Judged {
    row.global_guidelines = global_guidelines.to_vec();
    let mut skipped = Vec::new();
    let mut exact_match = None;
    let mut token_count = None;
    let mut planned = Vec::new();
    for check in selection.for_row(registry, &row) {
        match check {
            Check::Judge(judge) => {
                let missing = judge.missing_inputs(&row);
                if missing.is_empty() {
                    planned.push(judge);
                } else {
                    let needs = describe_missing(&missing, |i| input_name(i).to_owned());
                    skipped.push((judge.name().to_owned(), format!("needs {needs}")));
                }
            }
            Check::ExactMatch => {
                exact_match = deterministic::exact_match(&row);
                if exact_match.is_none() {
                    skipped.push((
                        check.name().to_owned(),
                        "needs response and expected_response".to_owned(),
                    ));
                }
            }
            Check::TokenCount => {
                token_count = deterministic::token_count(&row);
                if token_count.is_none() {
                    skipped.push((check.name().to_owned(), "needs response".to_owned()));
                }
            }
        }
    }
    let targets: Vec<_> = planned
        .iter()
        .flat_map(|judge| {
            judge
                .targets(&row)
                .into_iter()
                .map(move |target| (judge, target))
        })
        .collect();
    let evaluations = futures::future::join_all(
        targets
            .iter()
            .map(|(judge, target)| host.evaluate(judge, &target.row)),
    )
    .await;
    let judgments: Vec<JudgmentResult> = targets
        .into_iter()
        .zip(evaluations)
        .map(|((judge, target), evaluation)| JudgmentResult {
            output: target.name,
            judge: judge.name().to_owned(),
            kind: judge.assessment_type(),
            rates_chunks: judge.rates_chunks(),
            evaluation,
        })
        .collect();
    let verdicts: Vec<Verdict> = judgments
        .iter()
        .map(|j| Verdict {
            judge: &j.judge,
            output: &j.output,
            rating: j.judgment().map(|judgment| judgment.rating),
            rationale: j
                .judgment()
                .map_or("", |judgment| judgment.rationale.as_str()),
            rank: root_cause_rank(registry, &j.judge),
        })
        .collect();
    let overall = overall::assess(&verdicts);
    Judged {
        request_id: row.request_id.clone(),
        document_recall: deterministic::document_recall(&row),
        judgments,
        exact_match,
        token_count,
        skipped,
        overall,
        agent: AgentMeasures::default(),
    }
}

/// What the row's MLflow trace (JSON text, checked when the row was read)
/// says about the agent's cost and latency. A row without retrieved
/// context gets its retrievers' chunks, as the reference reads traces.
pub fn read_trace(row: &mut Row, fields: &mut Map<String, Value>) -> AgentMeasures {
    let summary = row
        .trace
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .and_then(|value| crate::trace::summarize(&value).ok())
        .unwrap_or_default();
    if row.retrieved_context.is_empty()
        && let Some(chunks) = summary.retrieved_context
    {
        set_retrieved_context(row, fields, chunks);
    }
    AgentMeasures {
        latency_seconds: summary.latency_seconds,
        usage: summary.usage,
    }
}

fn set_retrieved_context(row: &mut Row, fields: &mut Map<String, Value>, chunks: Vec<Chunk>) {
    let listed: Vec<Value> = chunks
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
    fields.insert("retrieved_context".into(), Value::Array(listed));
    row.retrieved_context = chunks;
}

/// Asks the agent for the row's response, and puts the answer (response,
/// retrieved context, trace) into the row and into the input fields that
/// are written with the results.
pub async fn ask_agent(
    agent: &Agent,
    row: &mut Row,
    fields: &mut Map<String, Value>,
) -> Result<AgentMeasures, String> {
    let request = AgentRequest {
        request_id: row.request_id.clone(),
        request: fields
            .get("request")
            .or_else(|| fields.get("inputs"))
            .cloned()
            .unwrap_or_else(|| json!(row.request)),
        messages: row.conversation.clone(),
    };
    let reply = agent.call(&request).await?;
    let answer = reply.answer;
    // The results show what was judged: the agent's answer, not the old one.
    for alias in ["predictions", "outputs"] {
        fields.remove(alias);
    }
    fields.insert("response".into(), json!(answer.response));
    row.response = Some(answer.response);
    if let Some(chunks) = answer.retrieved_context {
        set_retrieved_context(row, fields, chunks);
    }
    if let Some(trace) = answer.trace {
        row.trace = Some(trace.to_string());
    }
    Ok(AgentMeasures {
        latency_seconds: Some(reply.latency_seconds),
        usage: answer.usage,
    })
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
                .filter(|j| j.evaluation.outcome.is_err())
                .count() as u64,
        }
    }

    /// The row's line in `eval_results.jsonl`: every input field, then the
    /// judges' results, then the overall assessment.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut out: Map<String, Value> = self
            .fields
            .iter()
            .filter(|(key, _)| !is_reserved(key))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let judged = match &self.outcome {
            RowOutcome::Invalid(message) => {
                if !out.contains_key("request_id") {
                    out.insert("request_id".into(), json!(self.index.to_string()));
                }
                out.insert("error_message".into(), json!(message));
                return out;
            }
            RowOutcome::AgentFailed {
                request_id,
                message,
            } => {
                if !out.contains_key("request_id") {
                    out.insert("request_id".into(), json!(request_id));
                }
                out.insert("agent/error_message".into(), json!(message));
                return out;
            }
            RowOutcome::Judged(judged) => judged,
        };
        if !out.contains_key("request_id") {
            out.insert("request_id".into(), json!(judged.request_id));
        }
        judged.agent.put(&mut out);
        for result in &judged.judgments {
            let prefix = result.prefix();
            let mut put = |key: &str, value: Value| {
                out.insert(format!("{prefix}/{key}"), value);
            };
            match &result.evaluation.outcome {
                Err(failure) => {
                    put("error_message", json!(failure.to_string()));
                    if result.rates_chunks {
                        put("precision", Value::Null);
                    }
                }
                Ok(judgment) if judgment.chunks.is_empty() => {
                    put("rating", json!(judgment.rating));
                    put("rationale", json!(judgment.rationale));
                    if let Some(score) = judgment.score {
                        put("score", json!(score));
                    }
                }
                Ok(judgment) => {
                    let chunks = &judgment.chunks;
                    put(
                        "ratings",
                        chunks
                            .iter()
                            .map(|c| c.as_ref().ok().map(|c| json!(c.rating)))
                            .collect(),
                    );
                    put(
                        "rationales",
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
                            "scores",
                            chunks
                                .iter()
                                .map(|c| c.as_ref().ok().and_then(|c| c.score))
                                .collect::<Vec<_>>()
                                .into(),
                        );
                    }
                    if chunks.iter().any(Result::is_err) {
                        put(
                            "error_messages",
                            chunks
                                .iter()
                                .map(|c| c.as_ref().err().map(|e| json!(e)))
                                .collect(),
                        );
                    }
                    put("precision", json!(judgment.precision()));
                }
            }
            let usage = result.evaluation.usage;
            put("llm_call_count", json!(usage.llm_calls));
            put(
                "total_token_count",
                json!(usage.input_tokens + usage.output_tokens),
            );
        }
        if let Some(matched) = judged.exact_match {
            out.insert(
                "response/exact_match/rating".into(),
                json!(if matched { "yes" } else { "no" }),
            );
        }
        if let Some(tokens) = judged.token_count {
            out.insert("response/token_count".into(), json!(tokens));
        }
        if let Some(recall) = judged.document_recall {
            out.insert(
                "retrieval/ground_truth/document_recall".into(),
                json!(recall),
            );
        }
        out.insert(
            "response/overall_assessment/rating".into(),
            json!(judged.overall.rating),
        );
        out.insert(
            "response/overall_assessment/root_cause".into(),
            json!(judged.overall.root_cause),
        );
        out.insert(
            "response/overall_assessment/rationale".into(),
            json!(judged.overall.rationale),
        );
        if !judged.skipped.is_empty() {
            let skipped: Map<String, Value> = judged
                .skipped
                .iter()
                .map(|(name, why)| (name.clone(), json!(why)))
                .collect();
            out.insert("skipped_judges".into(), Value::Object(skipped));
        }
        out
    }
}

/// A result line's `request_id` as text (ids may be numbers).
pub fn request_id_of(row: &Map<String, Value>) -> String {
    match row.get("request_id") {
        Some(Value::String(id)) => id.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// Output names: an input field with one of them (a results file evaluated
/// again) would be mistaken for this run's results, so it is not copied.
pub fn is_reserved(field: &str) -> bool {
    ["response/", "retrieval/", "judge/", "agent/"]
        .iter()
        .any(|prefix| field.starts_with(prefix))
        || field == "error_message"
        || field == "skipped_judges"
}
