//! `gavel align` end to end: a small labelled set through `gavel eval`
//! against the scripted LLM server, then its agreement with human labels
//! (table, JSON, report.html in a browser, gates, examples fed back to
//! `gavel eval`, bad labels), every number checked against a hand-worked
//! table.

use serde_json::{Value, json};

use crate::support::{Recorded, Reply, TestLlm, gavel, score, verdict, write_jsonl};

/// Nine rows: what the judges say, what the humans say, worked by hand.
///
/// correctness (yes/no) vs the humans: r1-r3 yes/yes, r4 yes/no, r5 no/yes,
/// r6-r7 no/no; on r8 the judge fails (HTTP 400); r9 has no label. So n = 7,
/// TP 3, FP 1, FN 1, TN 2: accuracy 5/7 = 0.714; p_e = (4/7)^2 + (3/7)^2 =
/// 25/49; kappa = (35/49 - 25/49) / (24/49) = 10/24 = 0.417; precision,
/// recall, F1 3/4; false-positive rate 1/3, false-negative rate 1/4.
///
/// tone (a 1-5 prompt judge, threshold 3) vs human scores, r1-r8:
/// (5,5) (4,5) (4,2) (2,2) (1,1) (3,4) (5,4) (4,4). Yes above 3: judge yes
/// r1 r2 r3 r7 r8, humans yes r1 r2 r6 r7 r8: TP 4, FP 1 (r3), FN 1 (r6),
/// TN 2; p_e = (5/8)^2 + (3/8)^2 = 34/64, kappa = (48 - 34) / 30 = 0.467.
/// Same score 4/8, within one point 7/8; quadratic weighted kappa: sum of
/// d^2 over the rows = 7, expected by chance 30, so 1 - 7/30 = 0.767. At
/// threshold 2 (3 and up are yes) the judge's yes are r1-r3 and r6-r8: TP 5,
/// FP 1, TN 2: kappa (56 - 36) / 28 = 0.714, the best threshold.
/// (the judge's correctness, the humans', the judge's tone, the humans').
const ROWS: [(&str, Option<&str>, u8, Option<u8>); 9] = [
    ("yes", Some("yes"), 5, Some(5)),
    ("yes", Some("yes"), 4, Some(5)),
    ("yes", Some("yes"), 4, Some(2)),
    ("yes", Some("no"), 2, Some(2)),
    ("no", Some("yes"), 1, Some(1)),
    ("no", Some("no"), 3, Some(4)),
    ("no", Some("no"), 5, Some(4)),
    ("error", Some("yes"), 4, Some(4)),
    ("yes", None, 2, None),
];

fn data() -> Vec<Value> {
    ROWS.iter()
        .enumerate()
        .map(|(i, (_, human, _, _))| {
            let n = i + 1;
            let mut row = json!({
                "request_id": format!("r{n}"),
                "request": format!("ROW{n} When did the Berlin Wall fall?"),
                // The marker the scripted judges answer by: tone's prompt
                // shows the response alone.
                "response": format!("ROW{n} It fell in 1989."),
                "expected_response": "In November 1989.",
            });
            // The same correctness labels as the labels file, as a column
            // of the data: gavel eval carries it into the results.
            if let Some(label) = human {
                row["human/correctness"] = json!(label);
            }
            row
        })
        .collect()
}

fn labels() -> Vec<Value> {
    let mut lines: Vec<Value> = ROWS
        .iter()
        .enumerate()
        .filter(|(_, (_, human, ..))| human.is_some())
        .map(|(i, (_, human, _, tone))| {
            let mut line =
                json!({"request_id": format!("r{}", i + 1), "correctness": human, "tone": tone});
            if i == 3 {
                line["correctness/rationale"] = json!("The answer gives the wrong year.");
            }
            if i == 4 {
                line["correctness/rationale"] =
                    json!("A paraphrase of the expected answer is correct.");
            }
            if i == 2 {
                line["tone/rationale"] = json!("Curt: no greeting, no thanks.");
            }
            line
        })
        .collect();
    lines[0]["reviewer"] = json!("kim");
    lines.push(json!({"request_id": "r99", "correctness": "no"}));
    lines
}

const CONFIG: &str = r#"
[judges.tone]
prompt = "Rate the tone of {response} from 1 (rude) to 5 (warm)."
"#;

/// The judges' answers: by row marker and `X-Gavel-Judge`.
fn script(request: &Recorded) -> Reply {
    let prompt = request.last_user();
    let judge = request.judge.clone().unwrap_or_default();
    let Some(row) = (1..=ROWS.len())
        .rev()
        .find(|n| prompt.contains(&format!("ROW{n} ")))
    else {
        return Reply::Status(500, "no row marker".into());
    };
    let (correctness, _, tone, _) = ROWS[row - 1];
    match judge.as_str() {
        "correctness" if correctness == "error" => Reply::Status(400, "bad request".into()),
        "correctness" => Reply::Content(verdict(correctness, &format!("Judge on row {row}."))),
        "tone" => Reply::Content(score(tone, &format!("Tone of row {row}."))),
        _ => Reply::Status(500, format!("unexpected judge {judge}")),
    }
}

fn close(value: &Value, expected: f64, what: &str) {
    let actual = value.as_f64().unwrap_or_else(|| panic!("{what}: {value}"));
    assert!(
        (actual - expected).abs() < 1e-9,
        "{what}: {actual}, expected {expected}"
    );
}

fn judge<'a>(alignment: &'a Value, name: &str) -> &'a Value {
    alignment["judges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["judge"] == name)
        .unwrap_or_else(|| panic!("no {name} in {alignment}"))
}

/// Each statistic's 95% interval holds its value.
fn intervals_hold_values(judge: &Value) {
    for statistic in ["accuracy", "kappa", "precision", "recall", "f1"] {
        let e = &judge[statistic];
        let (low, value, high) = (
            e["low"].as_f64().unwrap(),
            e["value"].as_f64().unwrap(),
            e["high"].as_f64().unwrap(),
        );
        assert!(
            low <= value && value <= high,
            "{} {statistic}: {e}",
            judge["judge"]
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn align_compares_judges_with_human_labels_and_feeds_disagreements_back() {
    let llm = TestLlm::start().await;
    llm.script(script);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_jsonl(&d.join("set.jsonl"), &data());
    write_jsonl(&d.join("labels.jsonl"), &labels());
    std::fs::write(d.join("gavel.toml"), CONFIG).unwrap();
    let url = llm.base_url();
    let eval = |out: &'static str, name: &'static str| {
        let url = url.clone();
        async move {
            gavel(
                d,
                &[
                    "eval",
                    "set.jsonl",
                    "--judges",
                    "correctness,tone",
                    "--out",
                    out,
                    "--run-name",
                    name,
                    "--judge-base-url",
                    &url,
                ],
                &[],
            )
            .await
        }
    };
    let out = eval("runs/first", "labelled").await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);

    // JSON, the run found by its name in the history.
    let out = gavel(
        d,
        &["align", "labelled", "--labels", "labels.jsonl", "--json"],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let alignment: Value = serde_json::from_str(&out.stdout).expect("--json prints one document");
    assert_eq!(alignment["unmatched_requests"], json!(["r99"]));
    assert_eq!(alignment["ignored_fields"], json!(["reviewer"]));
    assert!(
        out.stderr
            .contains("1 labelled requests are not in this run (r99)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("name no judgment of this run: reviewer"),
        "{}",
        out.stderr
    );

    let correctness = judge(&alignment, "correctness");
    assert_eq!(correctness["n"], 7);
    assert_eq!(
        correctness["confusion"],
        json!({"true_positive": 3, "false_positive": 1, "false_negative": 1, "true_negative": 2})
    );
    assert_eq!(
        correctness["left_out"],
        json!({"judge_error": 1, "not_judged": 0, "unlabelled": 1})
    );
    close(&correctness["accuracy"]["value"], 5.0 / 7.0, "accuracy");
    close(&correctness["kappa"]["value"], 10.0 / 24.0, "kappa");
    close(&correctness["precision"]["value"], 0.75, "precision");
    close(&correctness["recall"]["value"], 0.75, "recall");
    close(&correctness["f1"]["value"], 0.75, "f1");
    close(
        &correctness["false_positive_rate"]["value"],
        1.0 / 3.0,
        "FPR",
    );
    close(&correctness["false_negative_rate"]["value"], 0.25, "FNR");
    intervals_hold_values(correctness);
    assert_eq!(correctness["scored"], false);
    assert_eq!(correctness["thresholds"], json!([]));
    let disagreements: Vec<(&str, &str, &str)> = correctness["disagreements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["request_id"].as_str().unwrap(),
                d["judge_rating"].as_str().unwrap(),
                d["human_rationale"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        disagreements,
        [
            ("r4", "yes", "The answer gives the wrong year."),
            (
                "r5",
                "no",
                "A paraphrase of the expected answer is correct."
            )
        ]
    );
    assert_eq!(
        correctness["disagreements"][0]["judge_rationale"],
        "Judge on row 4."
    );

    let tone = judge(&alignment, "tone");
    assert_eq!(
        (tone["n"].as_u64(), tone["threshold"].as_u64()),
        (Some(8), Some(3))
    );
    assert_eq!(tone["scored"], true);
    assert_eq!(
        tone["confusion"],
        json!({"true_positive": 4, "false_positive": 1, "false_negative": 1, "true_negative": 2})
    );
    close(&tone["kappa"]["value"], 14.0 / 30.0, "tone kappa");
    close(
        &tone["scores"]["exact_agreement"]["value"],
        0.5,
        "same score",
    );
    close(
        &tone["scores"]["within_one_agreement"]["value"],
        7.0 / 8.0,
        "within one",
    );
    close(
        &tone["scores"]["weighted_kappa"]["value"],
        23.0 / 30.0,
        "weighted kappa",
    );
    let thresholds: Vec<u64> = tone["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["threshold"].as_u64().unwrap())
        .collect();
    assert_eq!(thresholds, [0, 1, 2, 3, 4]);
    close(
        &tone["thresholds"][2]["kappa"],
        20.0 / 28.0,
        "kappa at threshold 2",
    );
    close(
        &tone["thresholds"][3]["kappa"],
        14.0 / 30.0,
        "kappa at threshold 3",
    );
    assert_eq!(tone["best_threshold"], 2);
    intervals_hold_values(tone);

    // The same seed gives the same intervals; alignment.json is what was
    // printed.
    let again = gavel(
        d,
        &["align", "labelled", "--labels", "labels.jsonl", "--json"],
        &[],
    )
    .await;
    assert_eq!(again.stdout, out.stdout, "deterministic for a seed");
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(d.join("runs/first/alignment.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(saved, alignment);

    // The table.
    let out = gavel(d, &["align", "labelled", "--labels", "labels.jsonl"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let line = |start: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line starting {start:?} in\n{}", out.stdout))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        line("judge "),
        [
            "judge",
            "rows",
            "accuracy",
            "kappa",
            "precision",
            "recall",
            "F1",
            "FPR",
            "FNR"
        ]
    );
    assert_eq!(
        line("correctness "),
        [
            "correctness",
            "7",
            "0.714",
            "0.417",
            "0.750",
            "0.750",
            "0.750",
            "0.333",
            "0.250"
        ]
    );
    assert_eq!(
        line("tone "),
        [
            "tone", "8", "0.750", "0.467", "0.800", "0.800", "0.800", "0.333", "0.200"
        ]
    );
    assert_eq!(
        line("  2 best"),
        [
            "2", "best", "0.714", "0.875", "0.833", "1.000", "0.909", "0.333", "0.000"
        ]
    );
    assert!(
        out.stdout
            .contains("  r4  judge yes, humans no: The answer gives the wrong year."),
        "{}",
        out.stdout
    );
    println!("{}", out.stdout);

    // Gates: pass, then fail with exit 1 naming the judge.
    let gate = |threshold: &'static str| async move {
        gavel(
            d,
            &[
                "align",
                "labelled",
                "--labels",
                "labels.jsonl",
                "--fail-under",
                threshold,
            ],
            &[],
        )
        .await
    };
    let pass = gate("kappa=0.4").await;
    assert_eq!(pass.code, 0, "{}\n{}", pass.stdout, pass.stderr);
    assert!(
        pass.stdout
            .contains("pass: correctness/kappa = 0.4167 (minimum 0.4)"),
        "{}",
        pass.stdout
    );
    let fail = gate("kappa=0.45").await;
    assert_eq!(fail.code, 1, "{}\n{}", fail.stdout, fail.stderr);
    assert!(
        fail.stdout
            .contains("FAIL: correctness/kappa = 0.4167 (minimum 0.45)"),
        "{}",
        fail.stdout
    );
    assert!(
        fail.stdout
            .contains("pass: tone/kappa = 0.4667 (minimum 0.45)"),
        "{}",
        fail.stdout
    );
    let one_judge = gate("tone/weighted_kappa=0.75").await;
    assert_eq!(one_judge.code, 0, "{}", one_judge.stderr);
    let misspelt = gate("kapa=0.5").await;
    assert_eq!(misspelt.code, 2, "{}", misspelt.stderr);
    assert!(
        misspelt.stderr.contains("`kapa` is not a statistic"),
        "{}",
        misspelt.stderr
    );

    // Labels from the data's human/correctness column give the same table.
    // (and a run directory names the run as well as an id does).
    let out = gavel(d, &["align", "runs/first", "--json", "--no-save"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let columns: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(columns["labels"], "human/<judge> columns");
    assert_eq!(columns["judges"].as_array().unwrap().len(), 1);
    assert_eq!(
        judge(&columns, "correctness")["confusion"],
        correctness["confusion"]
    );
    assert_eq!(
        judge(&columns, "correctness")["kappa"],
        correctness["kappa"]
    );

    // A bad label: exit 2 naming file, line and field.
    let mut bad = labels();
    bad[3]["correctness"] = json!("maybe");
    write_jsonl(&d.join("bad.jsonl"), &bad);
    let out = gavel(d, &["align", "labelled", "--labels", "bad.jsonl"], &[]).await;
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(
            "bad.jsonl, line 4, field `correctness`: \"maybe\" is not a label; use \"yes\", \"no\" or a score from 1 to 5"
        ),
        "{}",
        out.stderr
    );
    let out = gavel(
        d,
        &["align", "no-such-run", "--labels", "labels.jsonl"],
        &[],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);

    // The disagreements as few-shot examples, then read by gavel eval.
    let out = gavel(
        d,
        &[
            "align",
            "labelled",
            "--labels",
            "labels.jsonl",
            "--examples-out",
            "examples.jsonl",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("Examples: examples.jsonl (4 disagreements"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("1 of them have no human rationale"),
        "{}",
        out.stderr
    );
    let examples: Vec<Value> = std::fs::read_to_string(d.join("examples.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        examples[0],
        json!({
            "request_id": "r4",
            "request": "ROW4 When did the Berlin Wall fall?",
            "response": "ROW4 It fell in 1989.",
            "expected_response": "In November 1989.",
            "response/llm_judged/correctness/rating": "no",
            "response/llm_judged/correctness/rationale": "The answer gives the wrong year.",
        })
    );
    // A score judge's examples are scores, as it answers.
    assert_eq!(examples[2]["request_id"], "r3");
    assert_eq!(examples[2]["response/llm_judged/tone/score"], 2);
    assert_eq!(
        examples[2]["response/llm_judged/tone/rationale"],
        "Curt: no greeting, no thanks."
    );
    std::fs::write(
        d.join("gavel.toml"),
        format!("{CONFIG}examples = \"examples.jsonl\"\n\n[judges.correctness]\nexamples = \"examples.jsonl\"\n"),
    )
    .unwrap();
    llm.clear();
    let out = eval("runs/second", "with examples").await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let requests = llm.requests();
    let messages = |judge: &str| {
        requests
            .iter()
            .find(|r| r.judge.as_deref() == Some(judge))
            .unwrap_or_else(|| panic!("no {judge} request"))
            .messages()
    };
    let correctness = messages("correctness");
    assert_eq!(correctness.len(), 6, "system, two examples, the row");
    assert!(correctness[1].1.contains("ROW4"), "{}", correctness[1].1);
    assert_eq!(
        correctness[2].1,
        r#"{"rationale":"The answer gives the wrong year.","result":"no"}"#
    );
    assert!(
        !correctness[1].1.contains("human/"),
        "labels are not inputs"
    );
    let tone = messages("tone");
    assert_eq!(tone.len(), 6);
    assert_eq!(
        tone[2].1,
        r#"{"rationale":"Curt: no greeting, no thanks.","score":2}"#
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_shows_the_agreement_in_a_browser() {
    let checker = crate::report::browser_checker();
    let llm = TestLlm::start().await;
    llm.script(script);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_jsonl(&d.join("set.jsonl"), &data());
    write_jsonl(&d.join("labels.jsonl"), &labels());
    std::fs::write(d.join("gavel.toml"), CONFIG).unwrap();
    let url = llm.base_url();
    let out = gavel(
        d,
        &[
            "eval",
            "set.jsonl",
            "--judges",
            "correctness,tone",
            "--out",
            "run",
            "--judge-base-url",
            &url,
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = gavel(d, &["align", "run", "--labels", "labels.jsonl"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let expect = json!({
        "rows": 9, "passing": 4, "failing": 5, "errors": 1,
        "alignment": {"kappa": {"correctness": "0.417", "tone": "0.467"}, "open": "r4"},
    });
    std::fs::write(d.join("expect.json"), expect.to_string()).unwrap();
    let output = tokio::task::spawn_blocking({
        let (report, expect) = (d.join("run/report.html"), d.join("expect.json"));
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
