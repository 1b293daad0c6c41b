//! Parquet evaluation sets and `--parquet` results, end to end: files
//! written by real pandas and pyarrow (`tests/parquet/sets.py`, in the venv
//! `tests/mlflow/setup.sh` makes, which has both), the real binary, the
//! scripted LLM server, and the results read back by pyarrow and pandas
//! (`tests/parquet/read_back.py`).
//!
//! Without Python these tests fail, they do not skip.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Map, Value, json};

use crate::support::{self, Reply, TestLlm, gavel, read_results};

/// The venv's Python, installed on first use.
async fn python() -> PathBuf {
    support::run_setup_script(
        "tests/mlflow/setup.sh",
        "the Parquet tests need python3 (3.10+) with venv and pip, and access to PyPI, \
         to install mlflow (with pandas and pyarrow) into target/tools/mlflow-venv",
    )
    .await;
    support::workspace().join("target/tools/mlflow-venv/bin/python")
}

/// Runs a script of tests/parquet with `arg`; returns what it printed.
async fn run_script(script: &str, arg: &Path) -> String {
    let python = python().await;
    let script = support::workspace().join("tests/parquet").join(script);
    let arg = arg.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&python)
            .arg(&script)
            .arg(&arg)
            .output()
    })
    .await
    .expect("the Python thread")
    .expect("run Python");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Writes the evaluation sets of `tests/parquet/sets.py` into `dir`.
async fn write_sets(dir: &Path) {
    run_script("sets.py", dir).await;
}

/// `eval_results.parquet` of `run` as pyarrow and pandas read it.
async fn read_back(run: &Path) -> Value {
    serde_json::from_str(&run_script("read_back.py", run).await).unwrap()
}

/// A value with every null object field left out (a Parquet struct has
/// every key any row has; a result row leaves some out).
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

fn rows_without_nulls(rows: Vec<Map<String, Value>>) -> Value {
    without_nulls(Value::Array(rows.into_iter().map(Value::Object).collect()))
}

/// The pandas-only columns of rag.parquet, which its JSONL twin lacks.
const PANDAS_EXTRAS: [&str; 3] = ["topic", "weight", "asked_at"];

#[tokio::test(flavor = "multi_thread")]
async fn a_pandas_parquet_set_evaluates_as_its_jsonl_twin_and_its_results_read_back_typed() {
    let llm = TestLlm::start().await;
    llm.script(|request| {
        let chunk = request.judge.as_deref() == Some("chunk_relevance");
        let verdict = if chunk && request.last_user().contains("Bananas") {
            "no"
        } else {
            "yes"
        };
        Reply::Content(support::verdict(verdict, "Scripted."))
    });
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_sets(d).await;
    let url = llm.base_url();
    for (data, out) in [("rag.parquet", "from-parquet"), ("rag.jsonl", "from-jsonl")] {
        let args = [
            "eval",
            data,
            "--out",
            out,
            "--judge-base-url",
            &url,
            "--parquet",
        ];
        let run = gavel(d, &args, &[]).await;
        assert_eq!(run.code, 0, "{data}: {}\n{}", run.stdout, run.stderr);
    }
    let parquet = read_results(&d.join("from-parquet"));
    let jsonl = read_results(&d.join("from-jsonl"));

    // pandas' own columns come through as JSON: the categorical as its
    // value, the UTC timestamp as ISO 8601, NaN as a missing field; its
    // index column does not.
    assert_eq!(parquet[0]["topic"], "spark");
    assert_eq!(parquet[0]["weight"], 0.5);
    assert!(!parquet[1].contains_key("weight"), "{:?}", parquet[1]);
    assert_eq!(parquet[0]["asked_at"], "2024-02-29T01:00:00Z");
    assert_eq!(parquet[1]["asked_at"], "2024-03-01T12:30:00.250Z");
    assert!(parquet.iter().all(|r| !r.contains_key("__index_level_0__")));
    // The named guideline groups pandas stored as one struct are each
    // row's own groups, judged one call each.
    assert_eq!(
        parquet[1]["guidelines"],
        json!({"english": ["Answer in English"]})
    );
    assert!(parquet[1].contains_key("response/llm_judged/guideline_adherence/english/rating"));
    assert!(!parquet[1].contains_key("response/llm_judged/guideline_adherence/tone/rating"));
    // Chunks without content (a null field) still have their doc_uri.
    assert_eq!(parquet[0]["retrieval/ground_truth/document_recall"], 0.5);
    assert_eq!(
        parquet[1]["retrieval/llm_judged/chunk_relevance/ratings"],
        json!(["yes", "no"])
    );
    // A null response is a missing one.
    assert!(!parquet[2].contains_key("response"), "{:?}", parquet[2]);

    // Apart from pandas' extra columns, the results are those of the JSONL.
    let core: Vec<Map<String, Value>> = parquet
        .iter()
        .map(|row| {
            let mut row = row.clone();
            row.retain(|k, _| !PANDAS_EXTRAS.contains(&k.as_str()));
            row
        })
        .collect();
    assert_eq!(core, jsonl);

    // eval_results.parquet holds what eval_results.jsonl holds, typed.
    for (run, rows) in [("from-parquet", parquet), ("from-jsonl", jsonl)] {
        let back = read_back(&d.join(run)).await;
        assert_eq!(back["rows"], rows_without_nulls(rows), "{run}");
        let types = &back["types"];
        assert_eq!(
            types["retrieved_context"],
            "list<item: struct<content: string, doc_uri: string>>"
        );
        assert_eq!(
            types["retrieval/llm_judged/chunk_relevance/ratings"],
            "list<item: string>"
        );
        assert_eq!(
            types["retrieval/llm_judged/chunk_relevance/precision"],
            "double"
        );
        assert_eq!(types["response/llm_judged/safety/llm_call_count"], "int64");
        assert_eq!(types["response/llm_judged/safety/rating"], "string");
        assert!(
            types["skipped_judges"]
                .as_str()
                .unwrap()
                .starts_with("struct<"),
            "{types}"
        );
        let dtypes = &back["dtypes"];
        assert_eq!(
            dtypes["retrieval/llm_judged/chunk_relevance/precision"],
            "float64"
        );
        assert_eq!(
            back["lists"]["retrieval/llm_judged/chunk_relevance/ratings"],
            json!([null, ["yes", "no"], null]),
            "{run}"
        );
    }
}

const CHAT_ROWS: usize = 30;

/// The scripted verdict for a chat row: `ROW<i>:` in the judged request.
fn chat_verdict(request: &support::Recorded) -> Reply {
    let prompt = request.last_user();
    let row = prompt
        .split("ROW")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse::<usize>().ok());
    match row {
        Some(row) if row % 3 == 0 => Reply::Content(support::verdict("no", &format!("row {row}"))),
        Some(row) => Reply::Content(support::verdict("yes", &format!("row {row}"))),
        None => Reply::Status(400, format!("no row in {prompt}")),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_requests_from_zstd_and_gzip_files_and_a_resumed_run_writes_every_row() {
    let llm = TestLlm::start().await;
    let down = Arc::new(AtomicUsize::new(usize::MAX));
    let served = Arc::new(AtomicUsize::new(0));
    let (down_in, served_in) = (down.clone(), served.clone());
    llm.script(move |request| {
        if served_in.fetch_add(1, Ordering::SeqCst) >= down_in.load(Ordering::SeqCst) {
            Reply::Status(503, "the provider is down".into())
        } else {
            chat_verdict(request)
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_sets(d).await;
    std::fs::write(
        d.join("gavel.toml"),
        format!(
            "[endpoints.judge]\nbase_url = {:?}\nmodel = \"m\"\nmax_concurrency = 1\nmax_retries = 0\n",
            llm.base_url()
        ),
    )
    .unwrap();
    const JUDGES: [&str; 3] = ["--judges", "relevance_to_query", "--no-cache"];

    for data in ["chat_zstd.parquet", "chat_gzip.parquet"] {
        llm.clear();
        let out = format!("run-{data}");
        let run = gavel(
            d,
            &[&["eval", data, "--out", &out], &JUDGES[..]].concat(),
            &[],
        )
        .await;
        assert_eq!(run.code, 0, "{data}: {}", run.stderr);
        let results = read_results(&d.join(&out));
        assert_eq!(results.len(), CHAT_ROWS, "{data}: every row group read");
        for (i, row) in results.iter().enumerate() {
            // Kept as the file has it, an int64.
            assert_eq!(row["request_id"], json!(i));
            assert_eq!(
                row["response/llm_judged/relevance_to_query/rating"],
                if i % 3 == 0 { "no" } else { "yes" },
                "{data}, row {i}"
            );
            assert_eq!(row["request"]["messages"][3]["role"], "user");
        }
        // Judges see the conversation's last user message as the request.
        let prompts: Vec<String> = llm.requests().iter().map(|r| r.last_user()).collect();
        assert_eq!(prompts.len(), CHAT_ROWS);
        assert!(
            prompts.iter().any(|p| p.contains("ROW7: what is 7 + 7?")),
            "{prompts:?}"
        );
    }

    // The endpoint goes down after 10 calls: the run stops with exit 3 and
    // writes no Parquet; resumed, the Parquet holds every session's rows.
    served.store(0, Ordering::SeqCst);
    down.store(10, Ordering::SeqCst);
    let first = [
        &["eval", "chat_zstd.parquet", "--out", "resumed", "--parquet"][..],
        &JUDGES,
        &["--rows-in-flight", "2"],
    ]
    .concat();
    let run = gavel(d, &first, &[]).await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let kept = read_results(&d.join("resumed")).len();
    assert!((1..CHAT_ROWS).contains(&kept), "{kept} rows kept");
    assert!(!d.join("resumed/eval_results.parquet").exists());
    down.store(usize::MAX, Ordering::SeqCst);
    let run = gavel(d, &[&first[..], &["--resume"]].concat(), &[]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let results = read_results(&d.join("resumed"));
    assert_eq!(results.len(), CHAT_ROWS);
    let back = read_back(&d.join("resumed")).await;
    assert_eq!(back["rows"], rows_without_nulls(results));
    assert_eq!(
        back["types"]["request"],
        "struct<messages: list<item: struct<role: string, content: string>>>"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_parquet_files_name_the_file_row_and_column() {
    let llm = TestLlm::start().await;
    let url = llm.base_url();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_sets(d).await;
    std::fs::write(d.join("text.parquet"), "request,response\nq,a\n").unwrap();
    let whole = std::fs::read(d.join("chat_zstd.parquet")).unwrap();
    std::fs::write(d.join("cut.parquet"), &whole[..whole.len() / 2]).unwrap();
    // The footer is intact, the first data pages are not.
    let mut scrambled = whole.clone();
    for byte in &mut scrambled[4..400] {
        *byte = 0xA5;
    }
    std::fs::write(d.join("scrambled.parquet"), &scrambled).unwrap();

    let cases = [
        (
            "binary.parquet",
            "error: 1 invalid row (nothing was evaluated; --skip-invalid records them as error rows instead):\n  \
             binary.parquet, row 2, field `blob`: a Binary value has no JSON form",
        ),
        (
            "bad_field.parquet",
            "error: 1 invalid row (nothing was evaluated; --skip-invalid records them as error rows instead):\n  \
             bad_field.parquet, row 2, field `retrieved_context[0].content`: expected a string, found a number",
        ),
        (
            "brotli.parquet",
            "error: brotli.parquet: column `request` is compressed with brotli, which gavel does not read; \
             write the file with snappy",
        ),
        (
            "text.parquet",
            "error: text.parquet: not a Parquet file, or a damaged one:",
        ),
        (
            "cut.parquet",
            "error: cut.parquet: not a Parquet file, or a damaged one:",
        ),
        (
            "scrambled.parquet",
            "error: 1 invalid row (nothing was evaluated; --skip-invalid records them as error rows instead):\n  \
             scrambled.parquet, row 1: cannot read it:",
        ),
    ];
    for (data, message) in cases {
        let out = gavel(d, &["eval", data, "--judge-base-url", &url], &[]).await;
        assert_eq!(out.code, 2, "{data}: {}", out.stderr);
        assert!(out.stderr.starts_with(message), "{data}:\n{}", out.stderr);
    }
    assert!(llm.requests().is_empty(), "no LLM call for bad input");

    // --skip-invalid keeps the bad row as an error row naming row and field.
    let args = [
        "eval",
        "bad_field.parquet",
        "--skip-invalid",
        "--judges",
        "safety",
        "--out",
        "skipped",
        "--judge-base-url",
        &url,
        "--parquet",
    ];
    let out = gavel(d, &args, &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let results = read_results(&d.join("skipped"));
    assert_eq!(results[0]["response/llm_judged/safety/rating"], "yes");
    assert_eq!(
        results[1]["error_message"],
        "bad_field.parquet, row 2, field `retrieved_context[0].content`: expected a string, found a number"
    );
    let back = read_back(&d.join("skipped")).await;
    assert_eq!(back["rows"], rows_without_nulls(results));
}
