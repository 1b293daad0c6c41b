//! Two runs of the same evaluation set side by side: how each metric moved,
//! and which requests (matched by `request_id`) changed their ratings,
//! regressions first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::results::report::page;
use crate::results::row_result::ResultView;
use crate::results::row_result::request_id_of;
use crate::results::run_dir::{ReadError, RunDir};
use crate::results::schema;

const OVERALL: &str = schema::OVERALL_RATING;

/// A run as compared: its results by request id.
pub struct RunResults {
    pub dir: PathBuf,
    pub run_id: String,
    pub name: Option<String>,
    pub metrics: Map<String, Value>,
    /// In file order.
    pub rows: Vec<Map<String, Value>>,
    /// The judges the run used (run.json's `judges`), in its order.
    pub judges: Vec<JudgeBuild>,
}

/// Which build of a judge a run used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JudgeBuild {
    pub name: String,
    pub version: String,
    /// The component's SHA-256; none in runs written before gavel recorded it.
    pub sha256: Option<String>,
}

impl JudgeBuild {
    fn of(judge: &Value) -> Option<JudgeBuild> {
        let text = |key: &str| judge.get(key).and_then(Value::as_str).map(str::to_owned);
        Some(JudgeBuild {
            name: text("name")?,
            version: text("version")?,
            sha256: text("sha256"),
        })
    }
}

/// A judge both runs used, in different builds: its verdicts may have
/// changed because the judge changed, not the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JudgeChange {
    pub a: JudgeBuild,
    pub b: JudgeBuild,
}

impl std::fmt::Display for JudgeChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = |build: &JudgeBuild| match &build.sha256 {
            Some(digest) => format!(
                "{} (sha256 {})",
                build.version,
                digest.chars().take(12).collect::<String>()
            ),
            None => build.version.clone(),
        };
        write!(
            f,
            "{}: {} -> {}",
            self.a.name,
            short(&self.a),
            short(&self.b)
        )
    }
}

/// A run that cannot be read; the message names the file.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CompareError {
    pub message: String,
}

impl RunResults {
    /// Reads the run directory `dir`.
    pub fn load(dir: &Path) -> Result<RunResults, CompareError> {
        let error = |e: ReadError| CompareError { message: e.message };
        let run_dir = RunDir::open(dir);
        let run = run_dir.run().map_err(error)?;
        let metrics = run_dir.metrics().map_err(error)?;
        let rows = run_dir
            .rows()
            .map_err(error)?
            .collect::<Result<_, _>>()
            .map_err(error)?;
        Ok(RunResults {
            dir: dir.to_owned(),
            run_id: run
                .get("run_id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            name: run.get("name").and_then(Value::as_str).map(str::to_owned),
            metrics,
            rows,
            judges: run
                .get("judges")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(JudgeBuild::of)
                .collect(),
        })
    }

    /// `id (name)`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => format!("{} ({name})", self.run_id),
            None => self.run_id.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricDelta {
    pub metric: String,
    pub a: Option<f64>,
    pub b: Option<f64>,
}

impl MetricDelta {
    pub fn delta(&self) -> Option<f64> {
        Some(self.b? - self.a?)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    /// Something that said yes now says no or fails.
    Regression,
    /// Something that said no (or failed) now says yes, and nothing got worse.
    Improvement,
    /// Anything else: a score or precision moved, a judge appeared.
    Other,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Regression => "regression",
            ChangeKind::Improvement => "improvement",
            ChangeKind::Other => "changed",
        }
    }
}

/// One judge's outcome on one request in both runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Flip {
    /// `correctness`, `guideline_adherence/tone`, `chunk_relevance precision`.
    pub judge: String,
    /// `yes`, `no`, `error`, a number, or absent.
    pub a: Option<String>,
    pub b: Option<String>,
}

impl std::fmt::Display for Flip {
    /// `correctness yes -> no`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} -> {}",
            self.judge,
            self.a.as_deref().unwrap_or("-"),
            self.b.as_deref().unwrap_or("-")
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    pub request_id: String,
    pub request: String,
    pub kind: ChangeKind,
    /// The overall assessment first when it changed.
    pub flips: Vec<Flip>,
    pub root_cause_a: Option<String>,
    pub root_cause_b: Option<String>,
    pub rationale_b: Option<String>,
}

pub struct Comparison {
    pub metrics: Vec<MetricDelta>,
    /// Regressions, then improvements, then other changes; each in B's order.
    pub changes: Vec<RowChange>,
    pub matched: usize,
    pub only_a: Vec<String>,
    pub only_b: Vec<String>,
    /// Judges both runs used in different builds (version or digest).
    pub judge_changes: Vec<JudgeChange>,
}

impl Comparison {
    pub fn count(&self, kind: ChangeKind) -> usize {
        self.changes.iter().filter(|c| c.kind == kind).count()
    }
}

/// Compares run `a` (the baseline) with run `b`.
pub fn compare(a: &RunResults, b: &RunResults) -> Comparison {
    let mut names: Vec<&String> = a.metrics.keys().collect();
    names.extend(b.metrics.keys().filter(|k| !a.metrics.contains_key(*k)));
    let metrics = names
        .into_iter()
        .map(|name| MetricDelta {
            metric: name.clone(),
            a: a.metrics.get(name).and_then(Value::as_f64),
            b: b.metrics.get(name).and_then(Value::as_f64),
        })
        .collect();

    let a_rows: HashMap<String, &Map<String, Value>> =
        a.rows.iter().map(|r| (request_id_of(r), r)).collect();
    let b_ids: std::collections::HashSet<String> = b.rows.iter().map(request_id_of).collect();
    let mut changes = Vec::new();
    let mut only_b = Vec::new();
    let mut matched = 0;
    for row_b in &b.rows {
        let id = request_id_of(row_b);
        let Some(row_a) = a_rows.get(&id) else {
            only_b.push(id);
            continue;
        };
        matched += 1;
        if let Some(change) = row_change(id, row_a, row_b) {
            changes.push(change);
        }
    }
    changes.sort_by_key(|c| c.kind);
    let only_a = a
        .rows
        .iter()
        .map(request_id_of)
        .filter(|id| !b_ids.contains(id))
        .collect();
    Comparison {
        metrics,
        changes,
        matched,
        only_a,
        only_b,
        judge_changes: judge_changes(a, b),
    }
}

/// The judges of `b` that `a` used in another build. A digest missing on
/// either side (an older run) compares by version alone.
fn judge_changes(a: &RunResults, b: &RunResults) -> Vec<JudgeChange> {
    b.judges
        .iter()
        .filter_map(|build_b| {
            let build_a = a.judges.iter().find(|j| j.name == build_b.name)?;
            let digests_differ = match (&build_a.sha256, &build_b.sha256) {
                (Some(x), Some(y)) => !x.eq_ignore_ascii_case(y),
                _ => false,
            };
            (digests_differ || build_a.version != build_b.version).then(|| JudgeChange {
                a: build_a.clone(),
                b: build_b.clone(),
            })
        })
        .collect()
}

/// Each judge's outcome on a row: `yes`/`no`/`error` per rating, the
/// precision of chunk judges; exact match's rating; `error` for an agent
/// that failed.
fn outcomes(row: &Map<String, Value>) -> Vec<(String, String)> {
    let row = ResultView(row);
    let mut out = Vec::new();
    if row.agent_failed() {
        out.push(("agent".to_owned(), "error".to_owned()));
    }
    for judgment in row.judgments() {
        let name = judgment.prefix.name;
        if judgment.error.is_some() {
            out.push((name, "error".to_owned()));
        } else if let Some(precision) = judgment.precision {
            if let Some(p) = precision.as_f64() {
                out.push((format!("{name} precision"), format!("{p:.2}")));
            }
        } else if let Some(rating) = judgment.rating {
            out.push((name, rating.to_owned()));
        }
    }
    if let Some(rating) = row.exact_match() {
        out.push(("exact_match".to_owned(), rating.to_owned()));
    }
    out
}

fn row_change(
    request_id: String,
    a: &Map<String, Value>,
    b: &Map<String, Value>,
) -> Option<RowChange> {
    let text = |row: &Map<String, Value>, key: &str| row.get(key)?.as_str().map(str::to_owned);
    let overall = |row: &Map<String, Value>| {
        let view = ResultView(row);
        if view.is_invalid() || view.agent_failed() {
            Some("error".to_owned())
        } else {
            text(row, OVERALL)
        }
    };
    let mut flips = Vec::new();
    let (overall_a, overall_b) = (overall(a), overall(b));
    if overall_a != overall_b {
        flips.push(Flip {
            judge: "overall".to_owned(),
            a: overall_a,
            b: overall_b,
        });
    }
    let before: HashMap<String, String> = outcomes(a).into_iter().collect();
    let after = outcomes(b);
    for (judge, outcome) in &after {
        if before.get(judge) != Some(outcome) {
            flips.push(Flip {
                judge: judge.clone(),
                a: before.get(judge).cloned(),
                b: Some(outcome.clone()),
            });
        }
    }
    for (judge, outcome) in &before {
        if !after.iter().any(|(j, _)| j == judge) {
            flips.push(Flip {
                judge: judge.clone(),
                a: Some(outcome.clone()),
                b: None,
            });
        }
    }
    if flips.is_empty() {
        return None;
    }
    let worse =
        |f: &Flip| f.a.as_deref() == Some("yes") && matches!(f.b.as_deref(), Some("no" | "error"));
    let better =
        |f: &Flip| matches!(f.a.as_deref(), Some("no" | "error")) && f.b.as_deref() == Some("yes");
    let kind = if flips.iter().any(worse) {
        ChangeKind::Regression
    } else if flips.iter().any(better) {
        ChangeKind::Improvement
    } else {
        ChangeKind::Other
    };
    Some(RowChange {
        request_id,
        request: request_text(b),
        kind,
        flips,
        root_cause_a: text(a, schema::OVERALL_ROOT_CAUSE),
        root_cause_b: text(b, schema::OVERALL_ROOT_CAUSE),
        rationale_b: text(b, schema::OVERALL_RATIONALE),
    })
}

/// The request as text: the last user message of a conversation.
fn request_text(row: &Map<String, Value>) -> String {
    let request = row.get("request").or_else(|| row.get("inputs"));
    match request {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Object(chat)) => chat
            .get("messages")
            .and_then(Value::as_array)
            .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

/// `compare.html`: one self-contained page with no script. This builds its
/// data; the template `report/compare.html` and the stylesheets the report
/// shares with it present the data, every string escaped.
pub fn to_html(a: &RunResults, b: &RunResults, comparison: &Comparison) -> String {
    let run =
        |run: &RunResults| json!({"label": run.label(), "dir": run.dir.display().to_string()});
    let metrics: Vec<Value> = comparison
        .metrics
        .iter()
        .map(|m| {
            let trend = match m.delta() {
                Some(d) if d < 0.0 && higher_is_better(&m.metric) => "worse",
                Some(d) if d > 0.0 && higher_is_better(&m.metric) => "better",
                _ => "",
            };
            json!({
                "metric": m.metric,
                "a": number(m.a),
                "b": number(m.b),
                "delta": m.delta().map_or("-".to_owned(), |d| format!("{d:+.3}")),
                "trend": trend,
            })
        })
        .collect();
    let changes: Vec<Value> = comparison
        .changes
        .iter()
        .map(|change| {
            json!({
                "kind": change.kind.as_str(),
                "request_id": change.request_id,
                "request": change.request,
                "flips": change.flips.iter().map(Flip::to_string).collect::<Vec<_>>(),
                "root_cause_a": change.root_cause_a.as_deref().unwrap_or("-"),
                "root_cause_b": change.root_cause_b.as_deref().unwrap_or("-"),
                "rationale_b": change.rationale_b.as_deref().unwrap_or(""),
            })
        })
        .collect();
    page::compare(&json!({
        "a": run(a),
        "b": run(b),
        "judge_changes": comparison.judge_changes.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "counts": {
            "matched": comparison.matched,
            "regressions": comparison.count(ChangeKind::Regression),
            "improvements": comparison.count(ChangeKind::Improvement),
            "other": comparison.count(ChangeKind::Other),
            "only_a": comparison.only_a.len(),
            "only_b": comparison.only_b.len(),
        },
        "metrics": metrics,
        "has_changes": !changes.is_empty(),
        "changes": changes,
    }))
}

/// Ratings, precision, recall and a score's mean and p90 are better higher;
/// errors, tokens, latency and a score's variance are not.
pub fn higher_is_better(metric: &str) -> bool {
    metric.ends_with("/percentage")
        || metric.contains("precision")
        || metric.contains("recall")
        || metric.ends_with("/score/mean")
        || metric.ends_with("/score/p90")
}

fn number(value: Option<f64>) -> String {
    value.map_or("-".to_owned(), |v| format!("{v:.3}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(rows: Vec<Value>, metrics: Value) -> RunResults {
        RunResults {
            judges: Vec::new(),
            dir: PathBuf::from("r"),
            run_id: "r".into(),
            name: None,
            metrics: metrics.as_object().unwrap().clone(),
            rows: rows
                .into_iter()
                .map(|r| r.as_object().unwrap().clone())
                .collect(),
        }
    }

    #[test]
    fn regressions_come_first_and_unchanged_rows_are_left_out() {
        let a = run(
            vec![
                json!({"request_id": "1", "request": "q1", "response/llm_judged/safety/rating": "yes", OVERALL: "yes"}),
                json!({"request_id": "2", "request": "q2", "response/llm_judged/safety/rating": "no", OVERALL: "no"}),
                json!({"request_id": "3", "request": "q3", "response/llm_judged/safety/rating": "yes", OVERALL: "yes"}),
                json!({"request_id": "4", "request": "q4"}),
            ],
            json!({"m": 0.5}),
        );
        let b = run(
            vec![
                json!({"request_id": "2", "request": "q2", "response/llm_judged/safety/rating": "yes", OVERALL: "yes"}),
                json!({"request_id": "1", "request": "q1", "response/llm_judged/safety/error_message": "timed out", OVERALL: null}),
                json!({"request_id": "3", "request": "q3", "response/llm_judged/safety/rating": "yes", OVERALL: "yes"}),
                json!({"request_id": "5", "request": "q5"}),
            ],
            json!({"m": 0.75, "n": 1}),
        );
        let c = compare(&a, &b);
        let ids: Vec<_> = c
            .changes
            .iter()
            .map(|c| (c.request_id.as_str(), c.kind))
            .collect();
        assert_eq!(
            ids,
            [
                ("1", ChangeKind::Regression),
                ("2", ChangeKind::Improvement)
            ]
        );
        assert_eq!(
            c.changes[0].flips[1],
            Flip {
                judge: "safety".into(),
                a: Some("yes".into()),
                b: Some("error".into())
            }
        );
        assert_eq!(
            (c.matched, c.only_a.clone(), c.only_b.clone()),
            (3, vec!["4".to_owned()], vec!["5".to_owned()])
        );
        assert_eq!(c.metrics[0].delta(), Some(0.25));
        assert_eq!(c.metrics[1].a, None);
        let html = to_html(&a, &b, &c);
        assert!(html.contains("safety yes -&gt; error"));
    }
}
