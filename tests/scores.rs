//! Score statistics: a judge that scores 1-5 gets `<prefix>/<judge>/score/mean`,
//! `/variance` and `/p90` (numpy's population variance and interpolated
//! percentile, as MLflow reports them) in metrics.json and the summary;
//! gates, `gavel compare` and `--resume` take them like any metric.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use serde_json::{Value, json};

use crate::support::{self, Reply, TestLlm, gavel, read_metrics, read_results, write_jsonl};

const SIMILARITY: &str = "response/llm_judged/answer_similarity";

/// Five rows scored by the marker `S<n>` in their response, and one without
/// an expected response (answer_similarity does not run on it).
fn rows() -> Vec<Value> {
    let mut rows: Vec<Value> = [5, 1, 4, 2, 3]
        .iter()
        .enumerate()
        .map(|(i, score)| {
            json!({"request_id": format!("q{i}"), "request": format!("question {i}"),
                   "response": format!("S{score} answer {i}"), "expected_response": format!("answer {i}")})
        })
        .collect();
    rows.push(json!({"request_id": "unscored", "request": "q", "response": "S5 r"}));
    rows
}

/// Scores each response by its marker, plus `bonus` (at most 5).
fn scorer(llm: &TestLlm, bonus: Arc<AtomicU8>) {
    llm.script(move |request| {
        let prompt = request.last_user();
        let marker = (1..=5u8)
            .find(|s| prompt.contains(&format!("S{s} ")))
            .expect("a score marker");
        let score = (marker + bonus.load(Ordering::SeqCst)).min(5);
        Reply::Content(support::score(score, "Compared."))
    });
}

fn eval<'a>(url: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "eval",
        "set.jsonl",
        "--judges",
        "answer_similarity",
        "--judge-base-url",
        url,
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

/// The summary's line for `metric`: value, rows, errors.
fn summary_line(stdout: &str, metric: &str) -> Vec<String> {
    let line = stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(metric))
        .unwrap_or_else(|| panic!("no summary line for {metric} in\n{stdout}"));
    line.split_whitespace().skip(1).map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn score_statistics_in_metrics_the_summary_gates_compare_and_resume() {
    let llm = TestLlm::start().await;
    let bonus = Arc::new(AtomicU8::new(0));
    scorer(&llm, bonus.clone());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_jsonl(&d.join("set.jsonl"), &rows());
    let url = llm.base_url();

    // numpy: mean([5, 1, 4, 2, 3]) = 3, var = 2, percentile(.., 90) = 4.6.
    let mean = format!("{SIMILARITY}/score/mean");
    let gates = [
        "--fail-under",
        "response/llm_judged/answer_similarity/score/mean=3",
        "--fail-under",
        "response/llm_judged/answer_similarity/score/p90=4.6",
    ];
    let out = gavel(d, &eval(&url, "a", &gates), &[]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let metrics = read_metrics(&d.join("a"));
    assert_eq!(metrics[&mean], 3.0);
    assert_eq!(metrics[&format!("{SIMILARITY}/score/variance")], 2.0);
    let p90 = metrics[&format!("{SIMILARITY}/score/p90")]
        .as_f64()
        .unwrap();
    assert!((p90 - 4.6).abs() < 1e-12, "{p90}");
    assert_eq!(metrics[&format!("{SIMILARITY}/rating/percentage")], 0.4);
    let names: Vec<&String> = metrics.keys().collect();
    let at = |name: &str| names.iter().position(|n| *n == name).unwrap();
    assert_eq!(
        at(&mean),
        at(&format!("{SIMILARITY}/rating/percentage")) + 1,
        "beside the rating percentage: {names:?}"
    );
    // The summary: value, rows scored, errors.
    assert_eq!(summary_line(&out.stdout, &mean), ["3.000", "5", "0"]);
    assert_eq!(
        summary_line(&out.stdout, &format!("{SIMILARITY}/score/variance")),
        ["2.000", "5", "0"]
    );
    assert_eq!(
        summary_line(&out.stdout, &format!("{SIMILARITY}/score/p90")),
        ["4.600", "5", "0"]
    );
    assert!(
        out.stdout.contains(
            "pass: response/llm_judged/answer_similarity/score/mean = 3.0000 (minimum 3)"
        ),
        "{}",
        out.stdout
    );

    // A gate on the mean fails below its minimum.
    let gate = [
        "--fail-under",
        "response/llm_judged/answer_similarity/score/mean=3.5",
    ];
    let out = gavel(d, &eval(&url, "gated", &gate), &[]).await;
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "FAIL: response/llm_judged/answer_similarity/score/mean = 3.0000 (minimum 3.5)"
        ),
        "{}",
        out.stdout
    );

    // A run interrupted after two rows and resumed counts the rows of both
    // sessions: the same statistics.
    let partial = d.join("resumed");
    std::fs::create_dir(&partial).unwrap();
    for file in ["run.json", "metrics.json"] {
        std::fs::copy(d.join("a").join(file), partial.join(file)).unwrap();
    }
    let finished = std::fs::read_to_string(d.join("a/eval_results.jsonl")).unwrap();
    let first_two: String = finished.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(partial.join("eval_results.jsonl"), first_two).unwrap();
    llm.clear();
    let out = gavel(d, &eval(&url, "resumed", &["--resume"]), &[]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(read_results(&partial).len(), rows().len());
    let resumed = read_metrics(&partial);
    for statistic in ["mean", "variance", "p90"] {
        let name = format!("{SIMILARITY}/score/{statistic}");
        assert_eq!(resumed[&name], metrics[&name], "{name}");
    }
    assert_eq!(
        summary_line(&out.stdout, &mean),
        ["3.000", "5", "0"],
        "the summary covers both sessions"
    );

    // One point more on every row: compare shows the deltas, and the mean
    // and p90 got better, the variance is not "better" or "worse".
    bonus.store(1, Ordering::SeqCst);
    let out = gavel(d, &eval(&url, "b", &["--no-cache"]), &[]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(read_metrics(&d.join("b"))[&mean], 3.8);
    let out = gavel(d, &["compare", "a", "b", "--html", "compare.html"], &[]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        summary_line(&out.stdout, &mean),
        ["3.000", "3.800", "+0.800"]
    );
    let html = std::fs::read_to_string(d.join("compare.html")).unwrap();
    let row = |metric: &str| {
        html.lines()
            .find(|l| l.contains(&format!(">{metric}<")))
            .unwrap_or_else(|| panic!("{metric} in compare.html"))
            .to_owned()
    };
    assert!(row(&mean).contains("num better"), "{}", row(&mean));
    assert!(
        row(&format!("{SIMILARITY}/score/p90")).contains("num better"),
        "{}",
        row(&format!("{SIMILARITY}/score/p90"))
    );
    let variance = row(&format!("{SIMILARITY}/score/variance"));
    assert!(
        !variance.contains("better") && !variance.contains("worse"),
        "{variance}"
    );
}
