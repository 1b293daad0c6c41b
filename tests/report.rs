//! `report.html` in a real headless browser (Debian's Chromium, driven by
//! playwright-core from tests/browser): it loads with no console errors
//! and no network, shows the right counts, and its failing-only filter,
//! root-cause filter, search and detail view work.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::support::{Recorded, Reply, TestLlm, gavel, verdict, workspace, write_jsonl};

fn rows() -> Vec<Value> {
    vec![
        json!({"request_id": "good", "request": "ROW1 What is MLflow?", "response": "MLflow is an ML lifecycle platform.",
               "expected_response": "MLflow manages the ML lifecycle."}),
        json!({"request_id": "wrong", "request": "ROW2 What is Spark?", "response": "Spark is a spreadsheet.",
               "expected_response": "Spark is a distributed data engine."}),
        json!({"request_id": "ungrounded", "request": "ROW3 What is Delta Lake?", "response": "Delta Lake is a lake in Ohio.",
               "retrieved_context": [
                   {"content": "Delta Lake is a storage layer with ACID transactions.", "doc_uri": "docs/delta.md"},
                   {"content": "Bananas are yellow.", "doc_uri": "docs/fruit.md"}]}),
        json!({"request_id": "hostile", "request": "ROW4 Say hi.",
               "response": "<script>window.__gavel_xss = 1</script><img src=x onerror=\"window.__gavel_xss = 2\">Hi!"}),
        json!({"request_id": "broken", "request": "ROW5 Is this safe?", "response": "Yes."}),
    ]
}

fn judges(request: &Recorded) -> Reply {
    let prompt = request.last_user();
    let judge = request.judge.clone().unwrap_or_default();
    if prompt.contains("ROW2") && judge == "correctness" {
        return Reply::Content(verdict("no", "Spark is not a spreadsheet."));
    }
    if prompt.contains("ROW3") && judge == "groundedness" {
        return Reply::Content(verdict("no", "Ohio is not in the context."));
    }
    if prompt.contains("Bananas") {
        return Reply::Content(verdict("no", "Fruit is off topic."));
    }
    if prompt.contains("ROW5") && judge == "safety" {
        return Reply::Status(400, "bad request".into());
    }
    Reply::Content(verdict("yes", "Fine."))
}

/// tests/browser with playwright-core installed (tests/run does it).
pub(crate) fn browser_checker() -> PathBuf {
    let dir = workspace().join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed in {}: run tests/run (or `npm ci --prefix tests/browser`)",
        dir.display()
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "no Chromium at {chromium}: run tests/run (it installs Debian's chromium) or set CHROMIUM"
    );
    dir.join("check_report.mjs")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_works_in_a_headless_browser() {
    let checker = browser_checker();
    let llm = TestLlm::start().await;
    llm.script(judges);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_jsonl(&d.join("set.jsonl"), &rows());
    let url = llm.base_url();
    let out = gavel(
        d,
        &[
            "eval",
            "set.jsonl",
            "--out",
            "run",
            "--judge-base-url",
            &url,
            "--run-name",
            "browser test",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let report = d.join("run/report.html");
    assert!(report.is_file(), "every run directory has report.html");

    let expect = json!({
        "rows": 5,
        "passing": 3,
        "failing": 2,
        "errors": 1,
        "root_causes": {"correctness": 1, "groundedness": 1},
        "judges": {"correctness": 1, "groundedness": 1, "safety": 1},
        "search": [{"text": "Delta Lake", "rows": 1}, {"text": "What is", "rows": 3}],
        "detail": [
            {"request_id": "ungrounded", "contains": ["Ohio is not in the context.", "Fruit is off topic.", "docs/delta.md"]},
            {"request_id": "hostile", "contains": ["<script>window.__gavel_xss = 1</script>"]},
            {"request_id": "broken", "contains": ["HTTP 400"]},
        ],
    });
    std::fs::write(d.join("expect.json"), expect.to_string()).unwrap();
    let screenshot = d.join("report.png");
    let output = tokio::task::spawn_blocking({
        let (report, expect, screenshot) =
            (report.clone(), d.join("expect.json"), screenshot.clone());
        move || {
            std::process::Command::new("node")
                .arg(&checker)
                .arg(&report)
                .arg(&expect)
                .arg(&screenshot)
                .output()
                .expect("run node")
        }
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "the browser check failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        std::fs::metadata(&screenshot).unwrap().len() > 10_000,
        "a screenshot was taken"
    );
}

/// A 1-5 score judge's mean, variance and p90 show under its bar.
#[tokio::test(flavor = "multi_thread")]
async fn the_report_shows_score_statistics() {
    let checker = browser_checker();
    let llm = TestLlm::start().await;
    llm.script(|request| {
        let prompt = request.last_user();
        let score = (1..=5u8)
            .find(|s| prompt.contains(&format!("S{s} ")))
            .unwrap_or(3);
        Reply::Content(crate::support::score(score, "Compared."))
    });
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_jsonl(
        &d.join("set.jsonl"),
        &[
            json!({"request_id": "a", "request": "q1", "response": "S5 one", "expected_response": "one"}),
            json!({"request_id": "b", "request": "q2", "response": "S1 two", "expected_response": "two"}),
            json!({"request_id": "c", "request": "q3", "response": "S4 six", "expected_response": "three"}),
        ],
    );
    let url = llm.base_url();
    let args = [
        "eval",
        "set.jsonl",
        "--judges",
        "answer_similarity",
        "--out",
        "run",
        "--judge-base-url",
        &url,
    ];
    let out = gavel(d, &args, &[]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let expect = json!({"rows": 3, "passing": 2, "failing": 1, "errors": 0});
    std::fs::write(d.join("expect.json"), expect.to_string()).unwrap();
    let report = d.join("run/report.html");
    let output = tokio::task::spawn_blocking({
        let expect = d.join("expect.json");
        move || {
            std::process::Command::new("node")
                .arg(&checker)
                .arg(&report)
                .arg(&expect)
                .output()
                .expect("run node")
        }
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "the browser check failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
