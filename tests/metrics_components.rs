//! Metric components (the `metric-plugin` world: a number per row, no LLM):
//! the built-in `flesch_kincaid_grade_level` and `ari_grade_level` against
//! textstat's figures, `latency` from a real HTTP agent, their statistics
//! in metrics.json, a user's metric from a `[judges.NAME] plugin` table,
//! and a hostile metric stopped by the same limits as a judge.

use std::time::{Duration, Instant};

use gavel::Host;
use gavel::runtime::{FailureKind, LimitOverrides, Limits, Loaded, Metric, MetricOutcome};
use serde_json::{Map, Value, json};

use crate::support::{self, Reply, TestLlm, components, gavel, read_metrics, read_results};

/// MLflow's documentation answers, textstat's short test text and a text
/// with contractions, with the grades textstat 0.7.11 gives them
/// (`flesch_kincaid_grade`, `automated_readability_index`).
const TEXTS: [(&str, &str, f64, f64); 4] = [
    (
        "mlflow",
        "MLflow is an open-source platform for managing the end-to-end machine learning (ML) lifecycle. It was developed by Databricks, a company that specializes in big data and machine learning solutions. MLflow is designed to address the challenges that data scientists and machine learning engineers face when developing, training, and deploying machine learning models.",
        12.273846153846154,
        15.67782051282051,
    ),
    (
        "spark",
        "Apache Spark is an open-source, distributed computing system designed for big data processing and analytics. It was developed in response to limitations of the Hadoop MapReduce computing model, offering improvements in speed and ease of use.",
        13.063333333333333,
        14.521666666666668,
    ),
    (
        "dogs",
        "Cool dogs wear da sunglasses.",
        2.879999999999999,
        4.620000000000001,
    ),
    (
        "given",
        "Don't panic! It's only a test, isn't it? Yes.",
        3.653333333333336,
        2.43333333333333,
    ),
];

fn by_id(
    results: Vec<Map<String, Value>>,
) -> std::collections::HashMap<String, Map<String, Value>> {
    results
        .into_iter()
        .map(|r| (r["request_id"].as_str().unwrap().to_owned(), r))
        .collect()
}

fn close(metrics: &Map<String, Value>, name: &str, expected: f64) {
    let value = metrics[name]
        .as_f64()
        .unwrap_or_else(|| panic!("{name}: {metrics:?}"));
    assert!(
        (value - expected).abs() < 1e-9,
        "{name}: {value}, expected {expected}"
    );
}

/// numpy's `mean`, `var` and `percentile(.., 90)`, computed here
/// independently of gavel's statistics.
fn numpy_statistics(values: &[f64]) -> (f64, f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = 0.9 * (n - 1.0);
    let low = rank.floor() as usize;
    let high = rank.ceil() as usize;
    let p90 = sorted[low] + (sorted[high] - sorted[low]) * (rank - low as f64);
    (mean, variance, p90)
}

#[tokio::test(flavor = "multi_thread")]
async fn readability_grades_and_latency_of_an_agents_answers() {
    // The agent: an OpenAI-compatible server answering each question with
    // one of the texts, after a delay of its own.
    let agent = TestLlm::start().await;
    agent.script(|request| {
        let question = request.last_user();
        let (delay, answer) = TEXTS
            .iter()
            .enumerate()
            .find(|(_, (id, ..))| question.contains(id))
            .map(|(i, (_, text, ..))| (50 * (i as u64 + 1), *text))
            .unwrap_or((0, "?"));
        Reply::Delayed(
            Duration::from_millis(delay),
            Box::new(Reply::Content(answer.to_owned())),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let mut rows: Vec<Value> = TEXTS[..3]
        .iter()
        .map(|(id, ..)| json!({"request_id": id, "request": format!("Tell me about {id}")}))
        .collect();
    // A row with its own response: measured, but the agent is not called,
    // so it has no latency.
    rows.push(json!({"request_id": "given", "request": "Is this a test?", "response": TEXTS[3].1}));
    support::write_jsonl(&dir.path().join("set.jsonl"), &rows);
    let agent_url = format!("{}/chat/completions", agent.base_url());
    let out = gavel(
        dir.path(),
        &[
            "eval",
            "set.jsonl",
            "--out",
            "run",
            "--agent",
            &agent_url,
            "--judges",
            "flesch_kincaid_grade_level,ari_grade_level,latency",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        agent.requests().len(),
        3,
        "no LLM judge ran; only the agent was asked"
    );

    let results = by_id(read_results(&dir.path().join("run")));
    for (id, text, fk, ari) in TEXTS {
        let row = &results[id];
        assert_eq!(row["response"], text, "{id}");
        assert_eq!(row["response/flesch_kincaid_grade_level/score"], fk, "{id}");
        assert_eq!(row["response/ari_grade_level/score"], ari, "{id}");
        assert!(
            !row.keys().any(|k| k.contains("llm_judged")),
            "metrics are not judges: {row:?}"
        );
    }
    let mut latencies = Vec::new();
    for (i, (id, ..)) in TEXTS[..3].iter().enumerate() {
        let latency = results[*id]["agent/latency_seconds"].as_f64().unwrap();
        assert!(latency >= 0.05 * (i as f64 + 1.0), "{id}: {latency}");
        latencies.push(latency);
    }
    assert!(!results["given"].contains_key("agent/latency_seconds"));
    assert_eq!(
        results["given"]["skipped_judges"]["latency"],
        "needs an agent call or a trace with its latency"
    );

    // Mean, population variance and p90 over the rows, as MLflow reports
    // them; the readability figures are numpy's on textstat's grades.
    let metrics = read_metrics(&dir.path().join("run"));
    close(
        &metrics,
        "response/flesch_kincaid_grade_level/mean",
        7.9676282051282055,
    );
    close(
        &metrics,
        "response/flesch_kincaid_grade_level/variance",
        22.251706192472057,
    );
    close(
        &metrics,
        "response/flesch_kincaid_grade_level/p90",
        12.826487179487179,
    );
    close(&metrics, "response/ari_grade_level/mean", 9.313205128205128);
    close(
        &metrics,
        "response/ari_grade_level/variance",
        34.24880272024984,
    );
    close(&metrics, "response/ari_grade_level/p90", 15.330974358974357);
    assert_eq!(
        metrics["response/flesch_kincaid_grade_level/error_count"],
        0
    );
    let (mean, variance, p90) = numpy_statistics(&latencies);
    close(&metrics, "agent/latency_seconds/mean", mean);
    close(&metrics, "agent/latency_seconds/variance", variance);
    close(&metrics, "agent/latency_seconds/p90", p90);
    close(&metrics, "agent/latency_seconds/average", mean);
    for line in [
        "response/flesch_kincaid_grade_level/mean",
        "response/ari_grade_level/p90",
        "agent/latency_seconds/variance",
    ] {
        assert!(
            out.stdout.contains(line),
            "the summary shows {line}:\n{}",
            out.stdout
        );
    }
    let run = support::read_run(&dir.path().join("run"));
    let fk = run["judges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == "flesch_kincaid_grade_level")
        .expect("run.json lists the metric");
    assert_eq!(fk["source"], "built-in");
    assert_eq!(fk["sha256"].as_str().unwrap().len(), 64);

    // Without `latency` named, the average alone, as before.
    let out = gavel(
        dir.path(),
        &[
            "eval",
            "set.jsonl",
            "--out",
            "plain",
            "--agent",
            &agent_url,
            "--judges",
            "ari_grade_level",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let metrics = read_metrics(&dir.path().join("plain"));
    assert!(metrics["agent/latency_seconds/average"].as_f64().unwrap() > 0.0);
    assert!(
        !metrics.contains_key("agent/latency_seconds/mean"),
        "{metrics:?}"
    );

    // `gavel judges list` shows the metrics as what they are.
    let out = gavel(dir.path(), &["judges", "list"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    for name in [
        "flesch_kincaid_grade_level",
        "ari_grade_level",
        "latency",
        "exact_match",
    ] {
        let line = out
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} is listed:\n{}", out.stdout));
        assert!(line.contains("metric (no LLM)"), "{line}");
    }
    let out = gavel(dir.path(), &["judges", "list", "--json"], &[]).await;
    let listed: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ari = listed
        .iter()
        .find(|l| l["name"] == "ari_grade_level")
        .unwrap();
    assert_eq!(
        (
            &ari["assessment_type"],
            &ari["deterministic"],
            &ari["source"]
        ),
        (&json!("metric"), &json!(true), &json!("built-in"))
    );
}

// --- A hostile metric ----------------------------------------------------------

async fn hostile_metric(host: &Host, limits: LimitOverrides) -> Metric {
    let loaded = host
        .load_any_file_pinned(&components::hostile_metric(), None)
        .await
        .expect("the hostile metric loads");
    let Loaded::Metric(plugin) = loaded else {
        panic!("its exports make it a metric")
    };
    let limits = Limits::DEFAULT
        .with_overrides(&limits, host.maxima())
        .unwrap();
    Metric::named(plugin, "hostile_metric", limits)
}

async fn measure(host: &Host, metric: &Metric, attack: &str) -> MetricOutcome {
    let row = support::row(json!({"request": attack, "response": "abcd"}));
    host.measure(metric, &row).await
}

fn failure(outcome: &MetricOutcome) -> FailureKind {
    match &outcome.value {
        Ok(value) => panic!("the attack was not stopped: {value:?}"),
        Err(failure) => {
            assert_eq!(failure.plugin, "hostile_metric@6.6.6");
            failure.kind.clone()
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_metric_fails_only_its_own_measurement() {
    let llm = TestLlm::start().await;
    let host = support::host(&llm);
    let metric = hostile_metric(
        &host,
        LimitOverrides {
            cpu_secs: Some(0.5),
            wall_secs: Some(1.0),
            memory_mib: Some(16),
            ..Default::default()
        },
    )
    .await;
    let recovers = || async {
        let outcome = measure(&host, &metric, "harmless").await;
        assert_eq!(outcome.value, Ok(Some(4.0)), "the next row is measured");
    };

    let started = Instant::now();
    let outcome = measure(&host, &metric, "loop").await;
    assert_eq!(
        failure(&outcome),
        FailureKind::CpuTimeout(Duration::from_millis(500))
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        outcome.value.unwrap_err().to_string(),
        "metric hostile_metric@6.6.6 timed out: ran for more than 0.5 s of CPU time (limit `cpu_secs`)"
    );
    recovers().await;

    let outcome = measure(&host, &metric, "sleep").await;
    assert_eq!(
        failure(&outcome),
        FailureKind::WallTimeout(Duration::from_secs(1))
    );
    recovers().await;

    let outcome = measure(&host, &metric, "memory").await;
    assert_eq!(
        failure(&outcome),
        FailureKind::OutOfMemory { limit_mib: 16 }
    );
    recovers().await;

    for attack in ["stack", "panic"] {
        match failure(&measure(&host, &metric, attack).await) {
            FailureKind::Trap { message, stderr } => {
                assert!(message.contains("wasm trap"), "{attack}: {message}");
                if attack == "panic" {
                    assert!(stderr.contains("panicked on purpose"), "{stderr}");
                }
            }
            other => panic!("{attack}: expected a trap, got {other:?}"),
        }
        recovers().await;
    }

    for (attack, why) in [
        ("nan", "NaN is not a finite number"),
        ("infinity", "inf is not a finite number"),
        (
            "huge",
            "1e300 is outside ±2^53, the range a metric's value may take",
        ),
    ] {
        let outcome = measure(&host, &metric, attack).await;
        assert_eq!(
            failure(&outcome),
            FailureKind::InvalidValue(why.into()),
            "{attack}"
        );
        recovers().await;
    }

    // Its own error is kept, bounded and without escapes.
    let message = measure(&host, &metric, "fail")
        .await
        .value
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("metric hostile_metric@6.6.6 failed: \u{fffd}[31mred"),
        "{}",
        &message[..80]
    );
    assert!(message.len() < 17 << 10, "{}", message.len());

    // Floods of log and stderr are capped; the value still comes back.
    assert_eq!(measure(&host, &metric, "log").await.value, Ok(Some(2.0)));
    assert_eq!(measure(&host, &metric, "print").await.value, Ok(Some(3.0)));
    // And it has no files to read.
    assert_eq!(
        measure(&host, &metric, "read_file").await.value,
        Ok(Some(4.0))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_metric_cannot_import_the_llm() {
    let llm = TestLlm::start().await;
    let host = support::host(&llm);
    let error = host
        .load_any_file_pinned(&components::llm_metric(), None)
        .await
        .expect_err("a metric that imports llm is refused");
    let message = error.to_string();
    assert!(
        message.contains(
            "does not fit the gavel:judge metric world (a metric may import only `log`, and WASI)"
        ) && message.contains("gavel:judge/llm@0.1.2"),
        "{message}"
    );
    assert!(llm.requests().is_empty());
}

// --- A user's metric, configured like a plugin judge ---------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_metric_plugin_from_gavel_toml_runs_under_its_limits() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gavel.toml"),
        format!(
            "[judges.hostile_metric]\nplugin = {:?}\nlimits = {{ cpu_secs = 0.5 }}\n",
            components::hostile_metric().display().to_string()
        ),
    )
    .unwrap();
    let rows: Vec<Value> = ["loop", "nan", "huge", "ok", "also ok"]
        .iter()
        .map(|attack| json!({"request_id": attack, "request": attack, "response": "abc"}))
        .collect();
    support::write_jsonl(&dir.path().join("set.jsonl"), &rows);
    let out = gavel(
        dir.path(),
        &[
            "eval",
            "set.jsonl",
            "--out",
            "run",
            "--judges",
            "hostile_metric,latency",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("`latency` is measured from the agent's calls and from the rows' traces, and no agent is given"),
        "{}",
        out.stderr
    );
    let results = by_id(read_results(&dir.path().join("run")));
    assert_eq!(
        results["loop"]["response/hostile_metric/error_message"],
        "metric hostile_metric@6.6.6 timed out: ran for more than 0.5 s of CPU time (limit `cpu_secs`)"
    );
    assert_eq!(
        results["nan"]["response/hostile_metric/error_message"],
        "metric hostile_metric@6.6.6 returned an invalid value: NaN is not a finite number"
    );
    assert!(results["huge"].contains_key("response/hostile_metric/error_message"));
    for id in ["ok", "also ok"] {
        assert_eq!(results[id]["response/hostile_metric/score"], 3.0);
        assert_eq!(
            results[id]["skipped_judges"]["latency"],
            "needs an agent call or a trace with its latency"
        );
    }
    let metrics = read_metrics(&dir.path().join("run"));
    assert_eq!(metrics["response/hostile_metric/error_count"], 3);
    assert_eq!(metrics["response/hostile_metric/mean"], 3.0);
    assert_eq!(metrics["response/hostile_metric/variance"], 0.0);
    assert!(!metrics.contains_key("agent/latency_seconds/mean"));

    // Settings a metric would ignore are refused, naming the table.
    std::fs::write(
        dir.path().join("gavel.toml"),
        "[judges.ari_grade_level]\nthreshold = 3\n",
    )
    .unwrap();
    let out = gavel(
        dir.path(),
        &["eval", "set.jsonl", "--judges", "ari_grade_level"],
        &[],
    )
    .await;
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("[judges.ari_grade_level]: 'ari_grade_level' is a built-in metric (a number per row, no LLM): only `limits` apply to it, not `threshold`"),
        "{}",
        out.stderr
    );
    // An unknown name lists the metrics among what exists.
    std::fs::remove_file(dir.path().join("gavel.toml")).unwrap();
    let out = gavel(
        dir.path(),
        &["eval", "set.jsonl", "--judges", "fk_grade"],
        &[],
    )
    .await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(
            "flesch_kincaid_grade_level, ari_grade_level, exact_match, token_count, latency"
        ),
        "{}",
        out.stderr
    );
}
