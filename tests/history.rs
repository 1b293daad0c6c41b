//! The run history, `gavel runs`, `gavel compare` and JUnit output, on two
//! runs of the same set where some judgments flip.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{Recorded, Reply, TestLlm, gavel, verdict, write_jsonl};

fn rows() -> Vec<Value> {
    (1..=4)
        .map(|i| {
            json!({
                "request_id": format!("q{i}"),
                "request": format!("ROW{i}: what is {i} + {i}?"),
                "response": format!("{}", 2 * i),
                "expected_response": format!("{}", 2 * i),
            })
        })
        .collect()
}

/// Verdicts: `no` for the (judge, row) pairs listed.
fn judging(no: &'static [(&'static str, &'static str)]) -> impl Fn(&Recorded) -> Reply {
    move |request| {
        let judge = request.judge.clone().unwrap_or_default();
        let prompt = request.last_user();
        let says_no = no
            .iter()
            .any(|(j, row)| *j == judge && prompt.contains(&format!("{row}:")));
        if says_no {
            Reply::Content(verdict("no", &format!("{judge} finds a flaw")))
        } else {
            Reply::Content(verdict("yes", "Fine."))
        }
    }
}

fn run_json(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_are_recorded_listed_and_compared_with_regressions_first() {
    let llm = TestLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_jsonl(&d.join("set.jsonl"), &rows());
    let url = llm.base_url();
    let eval = ["eval", "set.jsonl", "--judge-base-url", &url, "--no-cache"];

    llm.script(judging(&[("correctness", "ROW3")]));
    let out = gavel(
        d,
        &[&eval[..], &["--out", "a", "--run-name", "baseline"]].concat(),
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    // Correctness flips on rows 1 (regression) and 3 (improvement); safety
    // on row 2 (regression).
    llm.script(judging(&[("correctness", "ROW1"), ("safety", "ROW2")]));
    let candidate = [
        &eval[..],
        &[
            "--out",
            "b",
            "--run-name",
            "candidate",
            "--junit",
            "ci/junit.xml",
        ],
        &[
            "--fail-under",
            "response/overall_assessment/rating/percentage=0.9",
        ],
    ]
    .concat();
    let out = gavel(d, &candidate, &[]).await;
    assert_eq!(
        out.code, 1,
        "the gate fails: {}\n{}",
        out.stdout, out.stderr
    );
    assert!(
        out.stdout
            .contains("JUnit: ci/junit.xml (5 tests, 3 failures, 0 errors, 0 skipped)"),
        "{}",
        out.stdout
    );
    assert_eq!(run_json(&d.join("b"))["name"], "candidate");
    assert_eq!(run_json(&d.join("b"))["config_sha256"], Value::Null);

    // JUnit: one case per row, failures carry the root cause and the
    // judges' rationales; the gate is a case of its own.
    let junit = std::fs::read_to_string(d.join("ci/junit.xml")).unwrap();
    assert!(junit.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert!(
        junit.contains(
            r#"<testsuite name="gavel.set" tests="4" failures="2" errors="0" skipped="0">"#
        ),
        "{junit}"
    );
    assert!(
        junit.contains(r#"<testcase classname="gavel.set" name="q4" time="0.000"/>"#),
        "{junit}"
    );
    let q1 = junit.split(r#"name="q1""#).nth(1).unwrap();
    assert!(
        q1.contains(r#"<failure message="root cause: correctness" type="judged_no">"#),
        "{q1}"
    );
    assert!(
        q1.contains("correctness: no. correctness finds a flaw"),
        "{q1}"
    );
    assert!(
        junit.contains(r#"<testsuite name="gavel.gates" tests="1" failures="1""#),
        "{junit}"
    );
    assert!(
        junit.contains("response/overall_assessment/rating/percentage"),
        "{junit}"
    );

    // `gavel runs`: newest first, with names and the overall rate.
    let out = gavel(d, &["runs"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("run_id") && lines[0].ends_with("overall_assessment"),
        "{}",
        out.stdout
    );
    assert!(
        lines[1].contains("candidate") && lines[1].ends_with("0.500"),
        "{}",
        out.stdout
    );
    assert!(
        lines[2].contains("baseline") && lines[2].ends_with("0.750"),
        "{}",
        out.stdout
    );
    let out = gavel(d, &["runs", "--json"], &[]).await;
    let listed: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed[1]["name"], "baseline");
    assert_eq!(listed[1]["dataset_sha256"], listed[0]["dataset_sha256"]);
    assert_eq!(listed[1]["judges"][0]["version"], "0.1.0");
    assert_eq!(
        listed[1]["metrics"]["response/llm_judged/correctness/rating/percentage"],
        0.75
    );

    // `gavel compare`: by name from the history.
    let out = gavel(
        d,
        &["compare", "baseline", "candidate", "--fail-on-regression"],
        &[],
    )
    .await;
    assert_eq!(
        out.code, 1,
        "a regression with --fail-on-regression: {}",
        out.stderr
    );
    let text = &out.stdout;
    let metric = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {text}"))
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        metric("response/llm_judged/correctness/rating/percentage"),
        ["0.750", "0.750", "+0.000"]
    );
    assert_eq!(
        metric("response/llm_judged/safety/rating/percentage"),
        ["1.000", "0.750", "-0.250"]
    );
    assert_eq!(
        metric("response/overall_assessment/rating/percentage"),
        ["0.750", "0.500", "-0.250"]
    );
    assert!(text.contains("4 requests matched by request_id (0 only in A, 0 only in B): 2 regressions, 1 improvements, 0 other changes"), "{text}");
    let changes: Vec<&str> = text.lines().filter(|l| l.starts_with("  ")).collect();
    assert_eq!(changes.len(), 3, "{text}");
    assert!(
        changes[0].contains("regression   q1  overall yes -> no, correctness yes -> no"),
        "{text}"
    );
    assert!(
        changes[1].contains("regression   q2  overall yes -> no, safety yes -> no"),
        "{text}"
    );
    assert!(
        changes[2].contains("improvement  q3  overall no -> yes, correctness no -> yes"),
        "{text}"
    );
    let html = std::fs::read_to_string(d.join("compare.html")).unwrap();
    assert_eq!(html.matches("data-testid=\"change\"").count(), 3);
    assert!(html.contains("correctness yes -&gt; no"));

    // By run directory too; and a run that does not exist.
    let out = gavel(d, &["compare", "a", "b", "--html", "out/c.html"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(d.join("out/c.html").is_file());
    let out = gavel(d, &["compare", "baseline", "nightly"], &[]).await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(
            "no run 'nightly': it is neither a run directory nor a run id or name in the history"
        ),
        "{}",
        out.stderr
    );
}
