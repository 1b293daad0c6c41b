//! Two runs of the same evaluation set side by side: how each metric moved,
//! and which requests (matched by `request_id`) changed their ratings,
//! regressions first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::markup::escape;

use crate::run::output::{METRICS, RESULTS, RUN, read_object};
use crate::run::row::request_id_of;

const OVERALL: &str = "response/overall_assessment/rating";

/// A run as compared: its results by request id.
pub struct RunResults {
    pub dir: PathBuf,
    pub run_id: String,
    pub name: Option<String>,
    pub metrics: Map<String, Value>,
    /// In file order.
    pub rows: Vec<Map<String, Value>>,
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
        let error = |message: String| CompareError { message };
        let run = read_object(dir, RUN).map_err(error)?;
        let metrics = read_object(dir, METRICS).map_err(error)?;
        let path = dir.join(RESULTS);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| error(format!("cannot read {}: {e}", path.display())))?;
        let rows = text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| match serde_json::from_str(line) {
                Ok(Value::Object(row)) => Ok(row),
                Ok(_) => Err(error(format!(
                    "{}, line {}: not an object",
                    path.display(),
                    i + 1
                ))),
                Err(e) => Err(error(format!("{}, line {}: {e}", path.display(), i + 1))),
            })
            .collect::<Result<_, _>>()?;
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
    }
}

/// Each judge's outcome on a row: `yes`/`no`/`error` per rating, the
/// precision of chunk judges.
fn outcomes(row: &Map<String, Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, value) in row {
        let Some(prefix) = key
            .strip_suffix("/rating")
            .or_else(|| key.strip_suffix("/precision"))
            .or_else(|| key.strip_suffix("/error_message"))
        else {
            continue;
        };
        if key == OVERALL {
            continue;
        }
        let judge = prefix
            .strip_prefix("response/llm_judged/")
            .or_else(|| prefix.strip_prefix("retrieval/llm_judged/"))
            .or_else(|| prefix.strip_prefix("response/"))
            .unwrap_or(prefix);
        let (judge, outcome) = if key.ends_with("/error_message") {
            (judge.to_owned(), "error".to_owned())
        } else if key.ends_with("/precision") {
            match value.as_f64() {
                Some(p) => (format!("{judge} precision"), format!("{p:.2}")),
                None => continue,
            }
        } else {
            match value.as_str() {
                Some(rating) => (judge.to_owned(), rating.to_owned()),
                None => continue,
            }
        };
        out.push((judge, outcome));
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
        if row.contains_key("error_message") || row.contains_key("agent/error_message") {
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
        root_cause_a: text(a, "response/overall_assessment/root_cause"),
        root_cause_b: text(b, "response/overall_assessment/root_cause"),
        rationale_b: text(b, "response/overall_assessment/rationale"),
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

/// `compare.html`: one self-contained page, rendered here (no script).
pub fn to_html(a: &RunResults, b: &RunResults, comparison: &Comparison) -> String {
    let mut page = String::with_capacity(16 * 1024);
    let title = format!("gavel: {} vs {}", a.label(), b.label());
    page.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    page.push_str(&format!("<title>{}</title>", escape(&title)));
    page.push_str(STYLE);
    page.push_str("</head><body>");
    page.push_str(&format!(
        "<h1>Comparing runs</h1><p class=\"runs\"><b>A</b> {} <span class=\"dir\">{}</span><br><b>B</b> {} <span class=\"dir\">{}</span></p>",
        escape(&a.label()),
        escape(&a.dir.display().to_string()),
        escape(&b.label()),
        escape(&b.dir.display().to_string()),
    ));
    page.push_str(&format!(
        "<p data-testid=\"counts\">{} requests matched by request_id; {} regressions, {} improvements, {} other changes; {} only in A, {} only in B.</p>",
        comparison.matched,
        comparison.count(ChangeKind::Regression),
        comparison.count(ChangeKind::Improvement),
        comparison.count(ChangeKind::Other),
        comparison.only_a.len(),
        comparison.only_b.len(),
    ));
    page.push_str("<h2>Metrics</h2><table><thead><tr><th>metric</th><th>A</th><th>B</th><th>delta</th></tr></thead><tbody>");
    for m in &comparison.metrics {
        let class = match m.delta() {
            Some(d) if d < 0.0 && higher_is_better(&m.metric) => "worse",
            Some(d) if d > 0.0 && higher_is_better(&m.metric) => "better",
            _ => "",
        };
        page.push_str(&format!(
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num {class}\">{}</td></tr>",
            escape(&m.metric),
            number(m.a),
            number(m.b),
            m.delta().map_or("-".to_owned(), |d| format!("{d:+.3}")),
        ));
    }
    page.push_str("</tbody></table>");
    page.push_str("<h2>Requests whose ratings changed</h2>");
    if comparison.changes.is_empty() {
        page.push_str("<p>None.</p>");
    } else {
        page.push_str("<table><thead><tr><th>change</th><th>request_id</th><th>request</th><th>what changed (A → B)</th><th>root cause A → B</th><th>rationale in B</th></tr></thead><tbody>");
        for change in &comparison.changes {
            let flips: Vec<String> = change
                .flips
                .iter()
                .map(|f| escape(&f.to_string()))
                .collect();
            page.push_str(&format!(
                "<tr class=\"{kind}\" data-testid=\"change\"><td>{kind}</td><td>{}</td><td>{}</td><td>{}</td><td>{} → {}</td><td>{}</td></tr>",
                escape(&change.request_id),
                escape(&change.request),
                flips.join("<br>"),
                escape(change.root_cause_a.as_deref().unwrap_or("-")),
                escape(change.root_cause_b.as_deref().unwrap_or("-")),
                escape(change.rationale_b.as_deref().unwrap_or("")),
                kind = change.kind.as_str(),
            ));
        }
        page.push_str("</tbody></table>");
    }
    page.push_str("</body></html>\n");
    page
}

/// Ratings, precision and recall are better higher; errors, tokens and
/// latency are not.
pub fn higher_is_better(metric: &str) -> bool {
    metric.ends_with("/percentage") || metric.contains("precision") || metric.contains("recall")
}

fn number(value: Option<f64>) -> String {
    value.map_or("-".to_owned(), |v| format!("{v:.3}"))
}

const STYLE: &str = "<style>
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem;color:#1f2328;background:#fff}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
.dir{color:#59636e;font-size:.85em}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #d1d9e0;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.worse{color:#b42318;font-weight:600}.better{color:#1a7f37;font-weight:600}
tr.regression td:first-child{color:#b42318;font-weight:600}
tr.improvement td:first-child{color:#1a7f37;font-weight:600}
</style>";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(rows: Vec<Value>, metrics: Value) -> RunResults {
        RunResults {
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
