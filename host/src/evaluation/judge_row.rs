//! Judging one row: the checks selected for it, the agent's answer where
//! it has no response, and the overall assessment of what the judges said.

use serde_json::{Map, Value, json};

use gavel_runtime::Host;
use gavel_runtime::bindings::Row;
use gavel_runtime::judge::{GUIDELINES_CONTEXT, input_name};

use crate::evaluation::agent::{Agent, AgentRequest};
use crate::evaluation::deterministic;
use crate::evaluation::judge_set::JudgeSet;
use crate::evaluation::root_cause::{self, Vote};
use crate::evaluation::selection::{Check, Selection, root_cause_rank};
use crate::results::row_result::{AgentMeasures, JudgedRow, RowJudgment, RowMeasurement, Supplied};
use crate::results::schema::JudgedPrefix;

/// Runs the checks selected for `row` on it; `agent` is what the agent's
/// call or the row's trace measured.
pub async fn judge(
    host: &Host,
    judge_set: &JudgeSet,
    selection: &Selection,
    mut row: Row,
    global_guidelines: &[crate::evaluation::input::GuidelineGroup],
    agent: AgentMeasures,
) -> JudgedRow {
    row.global_guidelines = global_guidelines.to_vec();
    let mut skipped = Vec::new();
    let mut exact_match = None;
    let mut token_count = None;
    let mut planned = Vec::new();
    let mut metrics = Vec::new();
    for check in selection.for_row(judge_set, &row) {
        match check {
            Check::Judge(judge) => {
                let missing = judge.missing_inputs(&row);
                if missing.is_empty() {
                    planned.push(judge);
                } else {
                    let needs = judge.describe_missing_in(
                        &row,
                        &missing,
                        |i| input_name(i).to_owned(),
                        GUIDELINES_CONTEXT,
                    );
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
            Check::Metric(metric) => metrics.push(metric),
            Check::Latency => {
                if agent.latency_seconds.is_none() {
                    skipped.push((
                        check.name().to_owned(),
                        "needs an agent call or a trace with its latency".to_owned(),
                    ));
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
    let (outcomes, measured) = futures::future::join(
        futures::future::join_all(
            targets
                .iter()
                .map(|(judge, target)| host.judge(judge, &target.row)),
        ),
        futures::future::join_all(metrics.iter().map(|metric| host.measure(metric, &row))),
    )
    .await;
    let mut measurements = Vec::new();
    for (metric, outcome) in metrics.iter().zip(measured) {
        // A metric that measured nothing did not run on the row: not a
        // value, not an error (as a judge without its inputs).
        if matches!(outcome.value, Ok(None)) {
            skipped.push((
                metric.name().to_owned(),
                "the row has nothing it measures".to_owned(),
            ));
        } else {
            measurements.push(RowMeasurement {
                metric: metric.name().to_owned(),
                outcome,
            });
        }
    }
    let judgments: Vec<RowJudgment> = targets
        .into_iter()
        .zip(outcomes)
        .map(|((judge, target), outcome)| RowJudgment {
            prefix: JudgedPrefix::new(judge.assessment_type(), target.name),
            judge: judge.name().to_owned(),
            rates_chunks: judge.rates_chunks(),
            outcome,
        })
        .collect();
    let votes: Vec<Vote> = judgments
        .iter()
        .map(|j| Vote {
            judge: &j.judge,
            output: &j.prefix.name,
            rating: j.judgment().map(|judgment| judgment.rating),
            rationale: j
                .judgment()
                .map_or("", |judgment| judgment.rationale.as_str()),
            rank: root_cause_rank(judge_set, &j.judge),
        })
        .collect();
    let overall = root_cause::assess(&votes);
    JudgedRow {
        request_id: row.request_id.clone(),
        document_recall: deterministic::document_recall(&row),
        judgments,
        exact_match,
        token_count,
        measurements,
        skipped,
        overall,
        agent,
    }
}

/// What the row's MLflow trace (JSON text, checked when the row was read)
/// says about the agent's cost and latency. A row without retrieved
/// context gets its retrievers' chunks, as the reference reads traces.
pub fn read_trace(row: &mut Row, supplied: &mut Supplied) -> AgentMeasures {
    let summary = row
        .trace
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .and_then(|value| crate::evaluation::trace::summarize(&value).ok())
        .unwrap_or_default();
    if row.retrieved_context.is_empty()
        && let Some(chunks) = summary.retrieved_context
    {
        supplied.retrieved_context = Some(chunks.clone());
        row.retrieved_context = chunks;
    }
    AgentMeasures {
        latency_seconds: summary.latency_seconds,
        usage: summary.usage,
    }
}

/// Asks the agent for the row's response (sending the request as the
/// input `fields` give it), and puts the answer (response, retrieved
/// context, trace) into the row and what it supplied into `supplied`.
pub async fn ask_agent(
    agent: &Agent,
    row: &mut Row,
    fields: &Map<String, Value>,
    supplied: &mut Supplied,
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
    supplied.response = Some(answer.response.clone());
    row.response = Some(answer.response);
    if let Some(chunks) = answer.retrieved_context {
        supplied.retrieved_context = Some(chunks.clone());
        row.retrieved_context = chunks;
    }
    if let Some(trace) = answer.trace {
        row.trace = Some(trace.to_string());
    }
    Ok(AgentMeasures {
        latency_seconds: Some(reply.latency_seconds),
        usage: answer.usage,
    })
}

/// One judgment as `gavel judge --json` prints it (and `gavel.judge` in
/// Python returns it): rating, score, threshold, rationale, per-chunk
/// ratings, or the error; the judge's usage and time.
pub fn outcome_json(
    judge: &gavel_runtime::Judge,
    name: &str,
    outcome: &gavel_runtime::JudgeOutcome,
) -> Value {
    let mut out = json!({
        "judge": name,
        "plugin": format!("{}@{}", judge.plugin().name(), judge.plugin().version()),
        "usage": outcome.usage,
        "elapsed_seconds": outcome.elapsed.as_secs_f64(),
    });
    match &outcome.judgment {
        Ok(judgment) => {
            out["rating"] = json!(judgment.rating);
            out["score"] = json!(judgment.score);
            out["threshold"] = json!(judge.threshold());
            out["rationale"] = json!(judgment.rationale);
            if !judgment.chunks.is_empty() {
                out["precision"] = json!(judgment.precision());
                out["chunks"] = judgment
                    .chunks
                    .iter()
                    .map(|chunk| match chunk {
                        Ok(chunk) => json!({"rating": chunk.rating, "score": chunk.score, "rationale": chunk.rationale}),
                        Err(error) => json!({"error": error}),
                    })
                    .collect();
            }
        }
        Err(failure) => out["error"] = json!(failure.to_string()),
    }
    out
}
