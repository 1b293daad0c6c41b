//! JUnit XML for CI systems: one test case per row (a failure carries the
//! root cause and the failing judges' rationales; an error, what broke),
//! and one per `--fail-under` gate.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Map, Value};

use crate::results::markup::escape;

use crate::results::gate::GateResult;
use crate::results::row_result::{ResultView, request_id_of};
use crate::results::run_dir::RunDir;
use crate::results::schema::{self, JudgedField};

/// What the file reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JunitCounts {
    pub tests: usize,
    pub failures: usize,
    pub errors: usize,
    pub skipped: usize,
}

enum Outcome {
    Passed,
    Failed { message: String, details: String },
    Error { message: String },
    Skipped { message: String },
}

/// Writes `out` from the run in `run_dir` and the gates' results.
pub fn write(
    run_dir: &Path,
    suite: &str,
    gates: &[GateResult],
    out: &Path,
) -> std::io::Result<JunitCounts> {
    let run = RunDir::open(run_dir);
    let results = run.rows().map_err(|e| std::io::Error::other(e.message))?;
    let mut rows = JunitCounts::default();
    let mut cases = String::new();
    // A torn last line (a killed run) is left out.
    for row in results.filter_map(Result::ok) {
        let id = request_id_of(&row);
        let time = row
            .get(schema::AGENT_LATENCY_SECONDS)
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        let outcome = outcome(&row);
        add_case(&mut cases, &mut rows, suite, &id, time, &outcome);
    }
    let mut gate_counts = JunitCounts::default();
    let mut gate_cases = String::new();
    for gate in gates {
        let outcome = if gate.passed {
            Outcome::Passed
        } else {
            Outcome::Failed {
                message: gate.to_string(),
                details: String::new(),
            }
        };
        add_case(
            &mut gate_cases,
            &mut gate_counts,
            "gavel.gates",
            &format!("{} >= {}", gate.gate.metric, gate.gate.minimum),
            0.0,
            &outcome,
        );
    }
    let total = |f: fn(&JunitCounts) -> usize| f(&rows) + f(&gate_counts);
    let mut xml = String::with_capacity(cases.len() + gate_cases.len() + 512);
    xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"gavel\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
        total(|c| c.tests),
        total(|c| c.failures),
        total(|c| c.errors),
        total(|c| c.skipped)
    );
    for (name, counts, body) in [
        (suite, &rows, &cases),
        ("gavel.gates", &gate_counts, &gate_cases),
    ] {
        if counts.tests == 0 && name == "gavel.gates" {
            continue;
        }
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
            escape(name),
            counts.tests,
            counts.failures,
            counts.errors,
            counts.skipped
        );
        xml.push_str(body);
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(out, xml)?;
    Ok(JunitCounts {
        tests: total(|c| c.tests),
        failures: total(|c| c.failures),
        errors: total(|c| c.errors),
        skipped: total(|c| c.skipped),
    })
}

fn outcome(row: &Map<String, Value>) -> Outcome {
    let row = ResultView(row);
    if let Some(message) = row.invalid() {
        return Outcome::Error {
            message: format!("invalid row: {message}"),
        };
    }
    if let Some(message) = row.agent_error() {
        return Outcome::Error {
            message: format!("agent: {message}"),
        };
    }
    match row.text(schema::OVERALL_RATING) {
        Some("yes") => Outcome::Passed,
        Some(_) => {
            let root_cause = row.text(schema::OVERALL_ROOT_CAUSE).unwrap_or("unknown");
            let mut details = String::new();
            if let Some(rationale) = row.text(schema::OVERALL_RATIONALE) {
                let _ = writeln!(details, "{rationale}");
            }
            // Every judge that said no, with its reason.
            for judgment in row.judgments() {
                if judgment.rating == Some("no") {
                    let rationale = judgment.rationale.unwrap_or("");
                    let _ = writeln!(details, "{}: no. {rationale}", judgment.prefix.name);
                }
            }
            if row.exact_match() == Some("no") {
                let _ = writeln!(details, "response/exact_match: no. ");
            }
            Outcome::Failed {
                message: format!("root cause: {root_cause}"),
                details,
            }
        }
        None => {
            let errors: Vec<String> = row
                .judgments()
                .into_iter()
                .filter_map(|judgment| {
                    let message = judgment.error?;
                    Some(format!(
                        "{}: {message}",
                        judgment.prefix.column(JudgedField::ErrorMessage)
                    ))
                })
                .collect();
            if errors.is_empty() {
                Outcome::Skipped {
                    message: row
                        .text(schema::OVERALL_RATIONALE)
                        .unwrap_or("no judge ran on this row")
                        .to_owned(),
                }
            } else {
                Outcome::Error {
                    message: errors.join("\n"),
                }
            }
        }
    }
}

fn add_case(
    out: &mut String,
    counts: &mut JunitCounts,
    class: &str,
    name: &str,
    time: f64,
    outcome: &Outcome,
) {
    counts.tests += 1;
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\" time=\"{time:.3}\"",
        escape(class),
        escape(name)
    );
    match outcome {
        Outcome::Passed => out.push_str("/>\n"),
        Outcome::Failed { message, details } => {
            counts.failures += 1;
            let _ = writeln!(
                out,
                ">\n      <failure message=\"{}\" type=\"judged_no\">{}</failure>\n    </testcase>",
                escape(message),
                escape(details.trim_end())
            );
        }
        Outcome::Error { message } => {
            counts.errors += 1;
            let _ = writeln!(
                out,
                ">\n      <error message=\"{}\" type=\"error\">{}</error>\n    </testcase>",
                escape(message.lines().next().unwrap_or_default()),
                escape(message)
            );
        }
        Outcome::Skipped { message } => {
            counts.skipped += 1;
            let _ = writeln!(
                out,
                ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                escape(message)
            );
        }
    }
}
