//! Shared by the end-to-end tests.

#![allow(dead_code, unused_imports)]

pub mod components;
pub mod llm_server;
pub mod registry;

use std::path::PathBuf;
use std::sync::Arc;

use gavel::evaluation::input::row_from_json;
use gavel::runtime::llm::{Endpoint, OpenAiClient};
use gavel::{Host, HostOptions, Judge, Plugin, Row, Settings};
use serde_json::Value;

pub use llm_server::{Recorded, Reply, TestLlm};

/// What the `gavel` binary printed and returned.
pub struct GavelOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the `gavel` binary in `dir` (so no stray gavel.toml is read), with
/// the shared component cache and no key or log settings from outside.
pub async fn gavel(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> GavelOutput {
    // Cached judge answers of an earlier test run would answer a test whose
    // server happens to get the same port; within a run, tests rely on them.
    static FRESH_RESPONSES: std::sync::Once = std::sync::Once::new();
    FRESH_RESPONSES.call_once(|| {
        let _ = std::fs::remove_dir_all(cache_dir().join("responses"));
    });
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_gavel"));
    command
        .current_dir(dir)
        .args(args)
        .env("GAVEL_CACHE_DIR", cache_dir())
        // Each test's runs in its own history.
        .env("GAVEL_HISTORY", dir.join(".gavel-history.sqlite"))
        .env_remove("OPENAI_API_KEY")
        .env_remove("GAVEL_LOG")
        .env_remove("MLFLOW_TRACKING_URI");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the runner thread")
        .expect("run gavel");
    GavelOutput {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub fn write_jsonl(path: &std::path::Path, rows: &[Value]) {
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
}

/// The lines of a run directory's `eval_results.jsonl`.
pub fn read_results(dir: &std::path::Path) -> Vec<serde_json::Map<String, Value>> {
    std::fs::read_to_string(dir.join("eval_results.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

pub fn read_metrics(dir: &std::path::Path) -> serde_json::Map<String, Value> {
    serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap()
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One compiled-component cache for every test, so each component is
/// compiled once per machine, not once per test.
pub fn cache_dir() -> PathBuf {
    workspace().join("target").join("test-cache")
}

/// An endpoint on the test server, without retries unless asked.
pub fn endpoint(llm: &TestLlm) -> Endpoint {
    Endpoint {
        max_concurrency: 16,
        timeout_secs: 30.0,
        max_retries: 0,
        ..Endpoint::new(llm.base_url(), "test-judge-model")
    }
}

/// A host whose `judge` endpoint is the test server.
pub fn host(llm: &TestLlm) -> Host {
    host_with(vec![("judge".to_owned(), endpoint(llm))])
}

pub fn host_with(endpoints: Vec<(String, Endpoint)>) -> Host {
    let client = OpenAiClient::new(endpoints, "test-run").expect("HTTP client");
    Host::new(HostOptions {
        cache_dir: Some(cache_dir()),
        llm: Arc::new(client),
        ..HostOptions::default()
    })
    .expect("host")
}

pub async fn builtin(host: &Host, name: &str) -> Plugin {
    host.load_builtins()
        .await
        .expect("built-ins load")
        .into_iter()
        .find(|p| p.name() == name)
        .unwrap_or_else(|| panic!("no built-in {name}"))
}

pub async fn builtin_judge(host: &Host, name: &str) -> Judge {
    Judge::new(builtin(host, name).await, Settings::default())
}

/// `plugin` as a judge with `overrides` on the default limits.
pub fn judge_with_limits(
    host: &Host,
    plugin: Plugin,
    overrides: gavel::runtime::LimitOverrides,
) -> Judge {
    let limits = gavel::runtime::Limits::DEFAULT
        .with_overrides(&overrides, host.maxima())
        .expect("limits within the maxima");
    Judge::new(
        plugin,
        Settings {
            limits,
            ..Settings::default()
        },
    )
}

/// A row from JSON, as the evaluation-set reader makes it.
pub fn row(value: Value) -> Row {
    let Value::Object(object) = value else {
        panic!("rows are objects")
    };
    row_from_json(object, 0).expect("valid test row")
}

/// The README's local-model command: `gavel eval examples/rag.jsonl --config
/// examples/gavel.toml --judge-base-url URL --judge-model MODEL`, into
/// `dir/run` (returned), without the response cache.
pub async fn eval_rag_example(
    dir: &std::path::Path,
    base_url: &str,
    model: &str,
) -> (GavelOutput, PathBuf) {
    let examples = workspace().join("examples");
    let out_dir = dir.join("run");
    let out = gavel(
        dir,
        &[
            "eval",
            examples.join("rag.jsonl").to_str().unwrap(),
            "--config",
            examples.join("gavel.toml").to_str().unwrap(),
            "--judge-base-url",
            base_url,
            "--judge-model",
            model,
            "--out",
            out_dir.to_str().unwrap(),
            "--no-cache",
        ],
        &[],
    )
    .await;
    (out, out_dir)
}

/// Asserts that every judgment in a run's results has a rating and no
/// error; returns how many answer judgments and chunk ratings there are.
pub fn every_judgment_rated(results: &[serde_json::Map<String, Value>]) -> (usize, usize) {
    let (mut rated, mut chunks) = (0, 0);
    for row in results {
        for (key, value) in row {
            if key.ends_with("/error_message") {
                assert!(value.is_null(), "{key}: {value}");
            }
            if key.ends_with("/error_messages") {
                assert!(
                    value.as_array().unwrap().iter().all(Value::is_null),
                    "{key}: {value}"
                );
            }
            if key.starts_with("response/llm_judged/") && key.ends_with("/rating") {
                assert!(value == "yes" || value == "no", "{key}: {value}");
                rated += 1;
            }
            if key.starts_with("retrieval/llm_judged/") && key.ends_with("/ratings") {
                for rating in value.as_array().unwrap() {
                    assert!(rating == "yes" || rating == "no", "{key}: {value}");
                    chunks += 1;
                }
            }
        }
    }
    (rated, chunks)
}

/// A run directory's `run.json`.
pub fn read_run(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap()
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Runs a test set-up script (a path under the workspace; it returns at once
/// when its tools are installed) and returns what it printed. `needs` says
/// what the script installs from where, for the failure message.
pub async fn run_setup_script(script: &str, needs: &str) -> String {
    let script = workspace().join(script);
    let started = std::time::Instant::now();
    let output = tokio::task::spawn_blocking({
        let script = script.clone();
        move || std::process::Command::new("bash").arg(&script).output()
    })
    .await
    .expect("the setup thread")
    .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "{} failed ({}); {needs}:\n{}{}",
        script.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if started.elapsed() > std::time::Duration::from_secs(5) {
        eprintln!(
            "{} took {:.0} s",
            script.display(),
            started.elapsed().as_secs_f64()
        );
    }
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `{"rationale": ..., "result": ...}` as a judge LLM would answer.
pub fn verdict(result: &str, rationale: &str) -> String {
    serde_json::json!({"rationale": rationale, "result": result}).to_string()
}

pub fn score(score: u8, rationale: &str) -> String {
    serde_json::json!({"rationale": rationale, "score": score}).to_string()
}
