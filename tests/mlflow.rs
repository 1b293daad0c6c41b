//! Logging run directories to a real MLflow tracking server (`mlflow server`
//! from the venv `tests/mlflow/setup.sh` makes, on 127.0.0.1), and reading
//! everything back through MLflow's own REST API.
//!
//! The venv is made on first use when missing; without Python these tests
//! fail, they do not skip.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gavel::results::mlflow::table::{LOGGED_ARTIFACTS_TAG, TABLE};
use gavel::results::mlflow::{
    LogInto, LoggedRun, MlflowAuth, MlflowError, MlflowTarget, log_run, log_run_into,
    log_run_with_auth,
};
use serde_json::{Map, Value, json};

use crate::support::{self, Reply, TestLlm, gavel, read_metrics, read_results, write_jsonl};

/// An `mlflow server` in a temporary directory; killed, with its workers,
/// when dropped.
struct MlflowServer {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl MlflowServer {
    /// Starts `mlflow server` with a SQLite store and artifact serving to
    /// `<tmp>/artifacts` (or the `extra` flags instead of the latter), and
    /// waits until `/health` answers.
    async fn start(serve_artifacts: bool) -> MlflowServer {
        let mlflow = install_mlflow().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let port = support::free_port();
        let db = format!("sqlite:///{}", dir.path().join("mlflow.db").display());
        let log_path = dir.path().join("server.log");
        let log = std::fs::File::create(&log_path).expect("server log");
        let mut command = Command::new(&mlflow);
        command
            .args(["server", "--backend-store-uri", &db])
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--workers", "1"]);
        if serve_artifacts {
            command
                .arg("--artifacts-destination")
                .arg(dir.path().join("artifacts"));
        } else {
            command.arg("--no-serve-artifacts");
        }
        command
            .current_dir(dir.path())
            // No background job runner, no telemetry: a lighter server that
            // talks to nobody.
            .env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
            .env("MLFLOW_DISABLE_TELEMETRY", "true")
            .env("DO_NOT_TRACK", "true")
            .env_remove("MLFLOW_TRACKING_URI")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("server log"))
            .stderr(log)
            // Its own process group, so Drop kills uvicorn's workers too.
            .process_group(0);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", mlflow.display()));
        let mut server = MlflowServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
            dir,
            http: reqwest::Client::new(),
        };
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "mlflow server exited ({status}) before answering:\n{}",
                    server.log()
                );
            }
            let health = server
                .http
                .get(format!("{}/health", server.url))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if let Ok(response) = health
                && response.status().is_success()
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "mlflow server did not answer /health within 60 s:\n{}",
                server.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        eprintln!(
            "mlflow server up at {} in {:.1} s",
            server.url,
            started.elapsed().as_secs_f64()
        );
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn target(&self, experiment: &str) -> MlflowTarget {
        MlflowTarget {
            tracking_uri: self.url.clone(),
            experiment: experiment.to_owned(),
        }
    }

    /// `GET /api/2.0/mlflow/<path>` with `query`; the JSON answer.
    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let url = format!("{}/api/2.0/mlflow/{path}", self.url);
        let response = self
            .http
            .get(&url)
            .query(query)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = response.status();
        let text = response.text().await.expect("body");
        assert!(status.is_success(), "GET {url} {query:?}: {status} {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {url}: {e}: {text}"))
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let url = format!("{}/api/2.0/mlflow/{path}", self.url);
        let response = self.http.post(&url).json(&body).send().await.unwrap();
        let status = response.status();
        let text = response.text().await.expect("body");
        assert!(status.is_success(), "POST {url}: {status} {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// The artifact `name` of a run, as JSON.
    async fn artifact(&self, logged: &LoggedRun, name: &str) -> Value {
        let url = format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{}/{}/artifacts/{name}",
            self.url, logged.experiment_id, logged.run_id
        );
        let response = self.http.get(&url).send().await.unwrap();
        assert!(response.status().is_success(), "GET {url}");
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
    }

    /// A run's tags and params, as `runs/get` gives them.
    async fn run(&self, run_id: &str) -> (Value, BTreeMap<String, Value>, BTreeMap<String, Value>) {
        let run = self.get("runs/get", &[("run_id", run_id)]).await;
        let tags = key_values(&run["run"]["data"]["tags"]);
        let params = key_values(&run["run"]["data"]["params"]);
        (run["run"]["info"].clone(), tags, params)
    }

    /// The experiments named `name`, active or deleted.
    async fn experiments_named(&self, name: &str) -> Vec<Value> {
        let answer = self
            .post(
                "experiments/search",
                json!({"max_results": 1000, "view_type": "ALL"}),
            )
            .await;
        answer["experiments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["name"] == name)
            .cloned()
            .collect()
    }

    async fn runs_in(&self, experiment_id: &str) -> Vec<Value> {
        let answer = self
            .post(
                "runs/search",
                json!({"experiment_ids": [experiment_id], "max_results": 1000}),
            )
            .await;
        answer["runs"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for MlflowServer {
    fn drop(&mut self) {
        if let Some(group) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `mlflow` command of the venv `tests/mlflow/setup.sh` makes (the script
/// returns at once when it is already there).
async fn install_mlflow() -> PathBuf {
    support::run_setup_script(
        "tests/mlflow/setup.sh",
        "the MLflow tests need python3 (3.10+) with venv and pip, and access to PyPI, \
         to install mlflow into target/tools/mlflow-venv",
    )
    .await;
    let mlflow = support::workspace().join("target/tools/mlflow-venv/bin/mlflow");
    assert!(
        mlflow.exists(),
        "{} is missing after setup",
        mlflow.display()
    );
    mlflow
}

/// `[{"key": k, "value": v}, ...]` as a map.
fn key_values(list: &Value) -> BTreeMap<String, Value> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|kv| (kv["key"].as_str().unwrap().to_owned(), kv["value"].clone()))
        .collect()
}

fn read_run_json(dir: &Path) -> Map<String, Value> {
    serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap()
}

/// The regular files at the top of `dir`: name -> contents.
fn files_in(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// What `eval_results_table.json` holds for a run directory: every line of
/// `eval_results.jsonl`, under the columns of all of them in first-seen order
/// (null where a row lacks one), as pandas' split orient.
fn expected_table(run_dir: &Path) -> Value {
    let rows = read_results(run_dir);
    let mut columns: Vec<String> = Vec::new();
    for row in &rows {
        for key in row.keys() {
            if !columns.contains(key) {
                columns.push(key.clone());
            }
        }
    }
    let data: Vec<Value> = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|c| row.get(c).cloned().unwrap_or(Value::Null))
                .collect()
        })
        .collect();
    json!({"columns": columns, "data": data})
}

/// Runs `script` with the Python of the MLflow venv, MLflow's own client
/// pointed at `server`; its last line of output, as JSON.
async fn mlflow_python(server: &MlflowServer, script: &str, args: &[&str]) -> Value {
    let python = support::workspace().join("target/tools/mlflow-venv/bin/python");
    let mut command = Command::new(&python);
    command
        .arg("-c")
        .arg(script)
        .args(args)
        .env("MLFLOW_TRACKING_URI", &server.url)
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .env("DO_NOT_TRACK", "true")
        .stdin(Stdio::null());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the MLflow client script failed:\n{stdout}\n{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        server.log()
    );
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// Whether a cell pandas read back is the value gavel wrote: numbers by
/// value (pandas reads an integer column with gaps as floats).
fn same_cell(read: &Value, written: &Value) -> bool {
    match (read, written) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_cell(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| same_cell(v, w)))
        }
        _ => read == written,
    }
}

/// The MLflow run a `gavel eval --mlflow` printed.
fn logged_from(stdout: &str) -> LoggedRun {
    let url = stdout
        .lines()
        .find_map(|l| l.strip_prefix("MLflow: "))
        .unwrap_or_else(|| panic!("the run's MLflow URL in {stdout}"));
    let (experiment_id, run_id) = url
        .rsplit_once("/runs/")
        .map(|(head, run)| (head.rsplit('/').next().unwrap(), run))
        .unwrap();
    LoggedRun {
        experiment_id: experiment_id.to_owned(),
        run_id: run_id.to_owned(),
        url: url.to_owned(),
    }
}

/// Checks everything MLflow holds for `logged` against the run directory.
async fn assert_logged(
    server: &MlflowServer,
    logged: &LoggedRun,
    run_dir: &Path,
    run_name: &str,
    status: &str,
) {
    let run_json = read_run_json(run_dir);
    let run = server
        .get("runs/get", &[("run_id", logged.run_id.as_str())])
        .await;
    let info = &run["run"]["info"];
    let data = &run["run"]["data"];
    assert_eq!(info["experiment_id"], logged.experiment_id.as_str());
    assert_eq!(info["status"], status, "{run:#}");
    assert_eq!(info["run_name"], run_name);
    assert_eq!(
        logged.url,
        format!(
            "{}/#/experiments/{}/runs/{}",
            server.url, logged.experiment_id, logged.run_id
        )
    );
    // Start and end come from run.json's whole-second times, not the clock.
    let start = info["start_time"].as_i64().unwrap();
    let end = info["end_time"].as_i64().unwrap();
    assert_eq!(
        start % 1000,
        0,
        "start_time {start} is run.json's started_at"
    );
    assert!(start <= end, "{start} <= {end}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        (now - start).abs() < 3_600_000,
        "start_time {start} is about now"
    );

    // Tags.
    let tags = key_values(&data["tags"]);
    assert_eq!(tags["mlflow.runName"], run_name);
    assert_eq!(tags["mlflow.source.name"], "gavel");
    assert_eq!(tags["gavel.run_id"], run_json["run_id"]);
    assert_eq!(tags["gavel.dataset"], run_json["dataset"]);
    assert_eq!(tags["gavel.dataset_sha256"], run_json["dataset_sha256"]);
    assert_eq!(tags["gavel.status"], run_json["status"]);

    // Params: judges and their versions and thresholds, endpoints, agent.
    let params = key_values(&data["params"]);
    let judges = run_json["judges"].as_array().unwrap();
    let names: Vec<&str> = judges.iter().map(|j| j["name"].as_str().unwrap()).collect();
    assert_eq!(params["judges"], names.join(","));
    let mut expected_params = BTreeSet::from([
        "judges".to_owned(),
        "dataset".to_owned(),
        "gavel_version".to_owned(),
    ]);
    for judge in judges {
        let name = judge["name"].as_str().unwrap();
        for field in ["version", "sha256", "threshold"] {
            let key = format!("judge.{name}.{field}");
            match &judge.get(field).cloned().unwrap_or(Value::Null) {
                Value::Null => assert!(!params.contains_key(&key), "{key}"),
                Value::String(text) => assert_eq!(params[&key], text.as_str(), "{key}"),
                other => assert_eq!(params[&key], other.to_string(), "{key}"),
            }
            if judge.get(field).is_some_and(|v| !v.is_null()) {
                expected_params.insert(key);
            }
        }
    }
    for (alias, endpoint) in run_json["endpoints"].as_object().unwrap() {
        for field in ["model", "base_url"] {
            let key = format!("endpoint.{alias}.{field}");
            assert_eq!(params[&key], endpoint[field], "{key}");
            expected_params.insert(key);
        }
    }
    match &run_json["agent"] {
        Value::Null => {}
        agent => {
            let logged_agent: Value =
                serde_json::from_str(params["agent"].as_str().unwrap()).unwrap();
            assert_eq!(&logged_agent, agent, "the agent param is run.json's agent");
            expected_params.insert("agent".to_owned());
        }
    }
    assert_eq!(params["dataset"], run_json["dataset"]);
    assert_eq!(params["gavel_version"], run_json["gavel_version"]);
    assert_eq!(
        params.keys().cloned().collect::<BTreeSet<_>>(),
        expected_params
    );

    // Metrics: metrics.json's numbers under their exact names; no nulls.
    let metrics = read_metrics(run_dir);
    let expected: BTreeMap<String, f64> = metrics
        .iter()
        .filter_map(|(k, v)| v.as_f64().map(|v| (k.clone(), v)))
        .collect();
    let logged_metrics: BTreeMap<String, f64> = data["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["step"].as_i64().unwrap_or(0), 0, "{m}");
            (
                m["key"].as_str().unwrap().to_owned(),
                m["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(logged_metrics, expected);
    for (name, value) in &metrics {
        if value.is_null() {
            assert!(
                !logged_metrics.contains_key(name),
                "null {name} is left out"
            );
        }
    }
    // One value per metric, even for names with slashes.
    let name = expected.keys().next().unwrap();
    let history = server
        .get(
            "metrics/get-history",
            &[("run_id", logged.run_id.as_str()), ("metric_key", name)],
        )
        .await;
    assert_eq!(history["metrics"].as_array().unwrap().len(), 1, "{history}");

    // The results table, listed as MLflow's client lists one.
    assert_eq!(
        tags[LOGGED_ARTIFACTS_TAG],
        r#"[{"path": "eval_results_table.json", "type": "table"}]"#
    );
    assert_eq!(
        server.artifact(logged, TABLE).await,
        expected_table(run_dir),
        "{TABLE} holds eval_results.jsonl"
    );

    // Artifacts: every file, byte for byte, and the table.
    let local = files_in(run_dir);
    let listed = server
        .get("artifacts/list", &[("run_id", logged.run_id.as_str())])
        .await;
    let listed: BTreeMap<String, u64> = listed["files"]
        .as_array()
        .unwrap_or_else(|| panic!("no artifacts: {listed}"))
        .iter()
        .map(|f| {
            assert_ne!(f["is_dir"], true, "{f}");
            (
                f["path"].as_str().unwrap().to_owned(),
                f["file_size"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let mut local_sizes: BTreeMap<String, u64> = local
        .iter()
        .map(|(name, bytes)| (name.clone(), bytes.len() as u64))
        .collect();
    local_sizes.insert(TABLE.to_owned(), listed.get(TABLE).copied().unwrap_or(0));
    assert_eq!(listed, local_sizes);
    for (name, bytes) in &local {
        let url = format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{}/{}/artifacts/{name}",
            server.url, logged.experiment_id, logged.run_id
        );
        let response = server.http.get(&url).send().await.unwrap();
        assert!(response.status().is_success(), "GET {url}");
        assert_eq!(&response.bytes().await.unwrap()[..], &bytes[..], "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_are_logged_to_a_real_mlflow_server_and_read_back() {
    let server = MlflowServer::start(true).await;

    // A run with LLM judges: one judge answers, one fails on every row (its
    // rating percentage is null in metrics.json).
    let llm = TestLlm::start().await;
    llm.script(|request| match request.judge.as_deref() {
        Some("correctness") if request.last_user().contains("green") => {
            Reply::Content(support::verdict("no", "The sky is blue."))
        }
        Some("correctness") => Reply::Content(support::verdict("yes", "Matches.")),
        _ => Reply::Status(400, "this judge is broken".to_owned()),
    });
    let dir = tempfile::tempdir().unwrap();
    write_jsonl(
        &dir.path().join("set.jsonl"),
        &[
            json!({"request": "What is 2+2?", "response": "4", "expected_response": "4"}),
            json!({"request": "Capital of France?", "response": "Paris", "expected_response": "Paris"}),
            json!({"request": "Color of the sky?", "response": "green", "expected_response": "blue"}),
            json!({"request": "Largest planet?", "response": "Jupiter is the largest.", "expected_response": "Jupiter"}),
        ],
    );
    let url = llm.base_url();
    let out = gavel(
        dir.path(),
        &[
            "eval",
            "set.jsonl",
            "--judges",
            "exact_match,token_count,correctness,safety",
            "--judge-base-url",
            &url,
            "--judge-model",
            "test-model",
            "--csv",
            "--out",
            "run",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let run_dir = dir.path().join("run");
    let metrics = read_metrics(&run_dir);
    assert!(
        metrics.values().any(Value::is_null),
        "a null metric to leave out: {metrics:?}"
    );
    assert!(
        metrics
            .keys()
            .any(|k| k.starts_with("response/llm_judged/")),
        "LLM metrics: {metrics:?}"
    );
    let run_id = read_run_json(&run_dir)["run_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let target = server.target("gavel e2e");
    let first = log_run(&target, &run_dir, &run_id)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
    assert_logged(&server, &first, &run_dir, &run_id, "FINISHED").await;
    let experiments = server.experiments_named("gavel e2e").await;
    assert_eq!(experiments.len(), 1, "{experiments:?}");
    assert_eq!(
        experiments[0]["experiment_id"],
        first.experiment_id.as_str()
    );

    // A second run, with an agent, logged by `gavel eval --mlflow` itself,
    // goes to the same experiment.
    let examples = support::workspace().join("examples");
    let agent_cmd = format!("python3 {}", examples.join("agent.py").display());
    let questions = examples.join("questions.jsonl");
    let out = gavel(
        dir.path(),
        &[
            "eval",
            questions.to_str().unwrap(),
            "--agent-cmd",
            &agent_cmd,
            "--judges",
            "exact_match,token_count",
            "--out",
            "agent-run",
            "--run-name",
            "with an agent",
            "--mlflow",
            "--mlflow-experiment",
            "gavel e2e",
        ],
        &[("MLFLOW_TRACKING_URI", server.url.as_str())],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let agent_dir = dir.path().join("agent-run");
    assert!(!read_run_json(&agent_dir)["agent"].is_null());
    let second = logged_from(&out.stdout);
    assert_eq!(second.experiment_id, first.experiment_id);
    assert_ne!(second.run_id, first.run_id);
    assert_logged(&server, &second, &agent_dir, "with an agent", "FINISHED").await;

    // A run that did not finish is logged as FAILED.
    let interrupted_dir = dir.path().join("interrupted");
    std::fs::create_dir(&interrupted_dir).unwrap();
    for (name, bytes) in files_in(&run_dir) {
        std::fs::write(interrupted_dir.join(name), bytes).unwrap();
    }
    let mut run_json = read_run_json(&interrupted_dir);
    run_json.insert("status".into(), json!("interrupted"));
    std::fs::write(
        interrupted_dir.join("run.json"),
        Value::Object(run_json).to_string(),
    )
    .unwrap();
    let third = log_run(&target, &interrupted_dir, "interrupted")
        .await
        .unwrap();
    assert_logged(&server, &third, &interrupted_dir, "interrupted", "FAILED").await;
    assert_eq!(server.experiments_named("gavel e2e").await.len(), 1);
    assert_eq!(server.runs_in(&first.experiment_id).await.len(), 3);

    // Two loggers racing to create the same experiment both use it.
    let race = server.target("raced");
    let (a, b) = tokio::join!(log_run(&race, &run_dir, "a"), log_run(&race, &run_dir, "b"));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.experiment_id, b.experiment_id);
    assert_eq!(server.experiments_named("raced").await.len(), 1);
    assert_eq!(server.runs_in(&a.experiment_id).await.len(), 2);

    // An experiment whose artifacts live on the server's disk cannot take
    // uploads: a clear error, and no run left behind.
    let elsewhere = server.dir.path().join("elsewhere");
    let created = server
        .post(
            "experiments/create",
            json!({"name": "local artifacts", "artifact_location": format!("file://{}", elsewhere.display())}),
        )
        .await;
    let error = log_run(&server.target("local artifacts"), &run_dir, "x")
        .await
        .unwrap_err();
    assert!(
        matches!(error, MlflowError::UnsupportedArtifactUri { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("--no-serve-artifacts"), "{message}");
    assert!(message.contains("file://"), "{message}");
    let id = created["experiment_id"].as_str().unwrap();
    assert!(server.runs_in(id).await.is_empty());

    // A deleted experiment is named as such, with the way out.
    let created = server
        .post("experiments/create", json!({"name": "deleted"}))
        .await;
    server
        .post(
            "experiments/delete",
            json!({"experiment_id": created["experiment_id"]}),
        )
        .await;
    let error = log_run(&server.target("deleted"), &run_dir, "x")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("deleted") && error.contains("mlflow experiments restore"),
        "{error}"
    );
}

/// `mlflow server --no-serve-artifacts` stores artifacts on its own disk,
/// where only the Python client (on that machine) can write them.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_without_artifact_serving_is_refused_with_the_fix() {
    let server = MlflowServer::start(false).await;
    let dir = tempfile::tempdir().unwrap();
    write_jsonl(
        &dir.path().join("set.jsonl"),
        &[json!({"request": "Hi", "response": "Hello", "expected_response": "Hello"})],
    );
    let out = gavel(
        dir.path(),
        &[
            "eval",
            "set.jsonl",
            "--judges",
            "exact_match",
            "--out",
            "run",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let error = log_run(&server.target("no serving"), &dir.path().join("run"), "x")
        .await
        .unwrap_err();
    let MlflowError::UnsupportedArtifactUri { artifact_uri, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(
        artifact_uri.starts_with(server.dir.path().to_str().unwrap()),
        "the server's local store: {artifact_uri}"
    );
    let message = error.to_string();
    assert!(
        message.contains("drop `--no-serve-artifacts`") && message.contains("new experiment"),
        "{message}"
    );
    let experiment = &server.experiments_named("no serving").await[0];
    let id = experiment["experiment_id"].as_str().unwrap();
    assert!(server.runs_in(id).await.is_empty(), "no run was created");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_tracking_uris_and_run_directories_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    std::fs::create_dir(&run_dir).unwrap();
    std::fs::write(
        run_dir.join("run.json"),
        r#"{"run_id": "r", "status": "finished"}"#,
    )
    .unwrap();
    std::fs::write(run_dir.join("metrics.json"), r#"{"m": 1}"#).unwrap();

    // `gavel eval --mlflow` checks where it would log before it runs.
    write_jsonl(
        &dir.path().join("set.jsonl"),
        &[json!({"request": "q", "response": "a"})],
    );
    let eval = ["eval", "set.jsonl", "--judges", "token_count", "--mlflow"];
    let out = gavel(dir.path(), &eval, &[]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--mlflow needs a tracking server: give --mlflow-tracking-uri URI or set MLFLOW_TRACKING_URI"), "{}", out.stderr);
    let out = gavel(dir.path(), &eval, &[("MLFLOW_TRACKING_URI", "./mlruns")]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the tracking URI must be http(s)://..., not \"./mlruns\""),
        "{}",
        out.stderr
    );
    assert!(!dir.path().join("gavel-runs").exists(), "nothing ran");

    for uri in [
        "file:///tmp/mlruns",
        "./mlruns",
        "/tmp/mlruns",
        "databricks",
        "sqlite:///mlflow.db",
    ] {
        let target = MlflowTarget {
            tracking_uri: uri.to_owned(),
            experiment: "e".to_owned(),
        };
        let error = log_run(&target, &run_dir, "x").await.unwrap_err();
        assert!(
            matches!(error, MlflowError::UnsupportedTrackingUri { .. }),
            "{uri}: {error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains("only http(s) tracking URIs are supported") && message.contains(uri),
            "{uri}: {message}"
        );
    }

    // Nothing listens there: the error names the tracking URI, after a few
    // quick retries.
    let uri = format!("http://127.0.0.1:{}", support::free_port());
    let target = MlflowTarget {
        tracking_uri: uri.clone(),
        experiment: "e".to_owned(),
    };
    let started = Instant::now();
    let error = log_run(&target, &run_dir, "x").await.unwrap_err();
    assert!(
        matches!(error, MlflowError::Unreachable { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("cannot reach the MLflow tracking server at {uri}"))
            && message.contains("4 attempts"),
        "{message}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    // A directory without metrics.json is refused before anything is sent.
    std::fs::remove_file(run_dir.join("metrics.json")).unwrap();
    let error = log_run(&target, &run_dir, "x").await.unwrap_err();
    assert!(matches!(error, MlflowError::RunDir { .. }), "{error:?}");
    assert!(error.to_string().contains("metrics.json"), "{error}");
}

/// Credentials are sent as MLflow's clients send them; 5xx answers are
/// retried; MLflow's error code and message reach the error.
#[tokio::test(flavor = "multi_thread")]
async fn credentials_retries_and_mlflow_errors() {
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;

    // Each request's path and query, and its Authorization header.
    type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;
    let seen: Seen = Arc::default();
    let app = axum::Router::new().fallback({
        let seen = seen.clone();
        move |uri: axum::http::Uri, headers: HeaderMap| {
            let seen = seen.clone();
            async move {
                let authorization = headers
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_owned());
                let count = {
                    let mut seen = seen.lock().unwrap();
                    seen.push((uri.to_string(), authorization));
                    seen.len()
                };
                if count % 3 != 0 {
                    (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response()
                } else {
                    (
                        StatusCode::UNAUTHORIZED,
                        [("content-type", "application/json")],
                        r#"{"error_code": "UNAUTHENTICATED", "message": "You are not authenticated."}"#,
                    )
                        .into_response()
                }
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("run.json"), r#"{"run_id": "r"}"#).unwrap();
    std::fs::write(dir.path().join("metrics.json"), "{}").unwrap();
    let target = MlflowTarget {
        tracking_uri: format!("http://127.0.0.1:{port}/"),
        experiment: "my experiment".to_owned(),
    };
    let error = log_run_with_auth(
        &target,
        dir.path(),
        "x",
        MlflowAuth::Bearer("secret-token".to_owned()),
    )
    .await
    .unwrap_err();
    assert_eq!(error.error_code(), Some("UNAUTHENTICATED"));
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "GET http://127.0.0.1:{port}/api/2.0/mlflow/experiments/get-by-name?experiment_name=my+experiment"
        )) && message.contains("HTTP 401")
            && message.contains("UNAUTHENTICATED: You are not authenticated."),
        "{message}"
    );
    let basic = MlflowAuth::Basic {
        username: "user".to_owned(),
        password: "pass".to_owned(),
    };
    assert!(
        !format!("{basic:?}").contains("pass\""),
        "no password in Debug"
    );
    log_run_with_auth(&target, dir.path(), "x", basic)
        .await
        .unwrap_err();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 6, "two 503s retried each time: {seen:?}");
    for (i, (uri, authorization)) in seen.iter().enumerate() {
        assert!(
            uri.starts_with("/api/2.0/mlflow/experiments/get-by-name?"),
            "{uri}"
        );
        let expected = if i < 3 {
            "Bearer secret-token"
        } else {
            "Basic dXNlcjpwYXNz"
        };
        assert_eq!(authorization.as_deref(), Some(expected));
    }
    server.abort();
}

/// Scores 5, 1, 4, 2, 3 from answer_similarity (mean 3, variance 2, p90
/// 4.6, as numpy computes them), one safety judgment failing, lists, a
/// conversation and text with quotes, newlines and non-ASCII characters.
fn scored_rows() -> Vec<Value> {
    vec![
        json!({"request_id": "q-1", "request": "What is MLflow?", "response": "S5 MLflow is a platform.",
               "expected_response": "MLflow is a platform."}),
        json!({"request_id": "q-2", "request": {"messages": [{"role": "user", "content": "And Spark?"}]},
               "response": "S1 Spark is a spreadsheet.", "expected_response": "Spark is an engine.",
               "retrieved_context": [{"content": "Spark docs", "doc_uri": "docs/spark.md"}]}),
        json!({"request_id": "q-3", "request": "Quote \"this\"\nand é ✓", "response": "S4 UNSAFE",
               "expected_response": "x"}),
        json!({"request_id": "q-4", "request": "q4", "response": "S2 answer", "expected_response": "answer",
               "tags": ["a", "b"]}),
        json!({"request_id": "q-5", "request": "q5", "response": "S3 again", "expected_response": "again"}),
    ]
}

fn scoring_llm(request: &support::Recorded) -> Reply {
    let prompt = request.last_user();
    match request.judge.as_deref() {
        Some("answer_similarity") => {
            let score = (1..=5u8)
                .find(|s| prompt.contains(&format!("S{s} ")))
                .expect("a score marker in the response");
            Reply::Content(support::score(score, &format!("Scored {score}.")))
        }
        Some("safety") if prompt.contains("UNSAFE") => {
            Reply::Status(400, "this judgment fails".to_owned())
        }
        _ => Reply::Content(support::verdict("yes", "Fine.")),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn score_statistics_and_the_results_table_read_back_with_mlflows_own_client() {
    let server = MlflowServer::start(true).await;
    let llm = TestLlm::start().await;
    llm.script(scoring_llm);
    let dir = tempfile::tempdir().unwrap();
    write_jsonl(&dir.path().join("set.jsonl"), &scored_rows());
    let url = llm.base_url();
    let out = gavel(
        dir.path(),
        &[
            "eval",
            "set.jsonl",
            "--judges",
            "answer_similarity,safety,exact_match,token_count",
            "--judge-base-url",
            &url,
            "--judge-model",
            "test-model",
            "--out",
            "run",
            "--mlflow",
            "--mlflow-experiment",
            "tables",
        ],
        &[("MLFLOW_TRACKING_URI", server.url.as_str())],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let run_dir = dir.path().join("run");
    let logged = logged_from(&out.stdout);
    assert_logged(
        &server,
        &logged,
        &run_dir,
        read_run_json(&run_dir)["run_id"].as_str().unwrap(),
        "FINISHED",
    )
    .await;

    // The score statistics are MLflow metrics, with numpy's figures.
    let run = server
        .get("runs/get", &[("run_id", logged.run_id.as_str())])
        .await;
    let metrics: BTreeMap<String, f64> = run["run"]["data"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["key"].as_str().unwrap().to_owned(),
                m["value"].as_f64().unwrap(),
            )
        })
        .collect();
    let similarity = "response/llm_judged/answer_similarity";
    assert_eq!(metrics[&format!("{similarity}/score/mean")], 3.0);
    assert_eq!(metrics[&format!("{similarity}/score/variance")], 2.0);
    assert!((metrics[&format!("{similarity}/score/p90")] - 4.6).abs() < 1e-9);
    assert!(metrics.contains_key(&format!("{similarity}/rating/percentage")));
    assert!(
        !metrics.keys().any(|k| k.contains("/safety/score")),
        "a yes/no judge has no score statistics"
    );

    // MLflow's own client reads the table back: the same frame as the one
    // its log_table writes from the same rows, and every cell as written.
    let script = r#"
import json, sys
import mlflow, pandas as pd
run_id, experiment_id, results = sys.argv[1:4]
mlflow.set_experiment(experiment_id=experiment_id)
ours = mlflow.load_table("eval_results_table.json", run_ids=[run_id])
rows = [json.loads(line) for line in open(results, encoding="utf-8") if line.strip()]
with mlflow.start_run(run_name="written by mlflow.log_table") as reference:
    mlflow.log_table(pd.DataFrame(rows), artifact_file="eval_results_table.json")
theirs = mlflow.load_table("eval_results_table.json", run_ids=[reference.info.run_id])
pd.testing.assert_frame_equal(ours, theirs)
found = mlflow.search_runs(
    filter_string="tags.mlflow.loggedArtifacts LIKE '%\"path\"%:%\"eval_results_table.json\",%\"type\"%:%\"table\"%'")
print(json.dumps({
    "columns": list(ours.columns),
    "records": json.loads(ours.to_json(orient="records", force_ascii=False)),
    "runs_with_the_table": sorted(found["run_id"]),
    "reference": reference.info.run_id,
}))
"#;
    let results = run_dir.join("eval_results.jsonl");
    let read = mlflow_python(
        &server,
        script,
        &[
            &logged.run_id,
            &logged.experiment_id,
            results.to_str().unwrap(),
        ],
    )
    .await;
    let expected = expected_table(&run_dir);
    assert_eq!(read["columns"], expected["columns"]);
    let records = read["records"].as_array().unwrap();
    let rows = read_results(&run_dir);
    assert_eq!(records.len(), rows.len());
    assert_eq!(rows.len(), scored_rows().len());
    let columns: Vec<&str> = expected["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for (record, row) in records.iter().zip(&rows) {
        for column in &columns {
            let written = row.get(*column).unwrap_or(&Value::Null);
            assert!(
                same_cell(&record[*column], written),
                "{column}: read {} for {written}",
                record[*column]
            );
        }
    }
    for column in [
        "request",
        "response",
        "expected_response",
        "retrieved_context",
        &format!("{similarity}/rating"),
        &format!("{similarity}/rationale"),
        &format!("{similarity}/score"),
        "response/llm_judged/safety/error_message",
        "response/overall_assessment/rating",
        "response/overall_assessment/root_cause",
    ] {
        assert!(columns.contains(&column), "{column} in {columns:?}");
    }
    let mut found: Vec<String> = read["runs_with_the_table"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    found.retain(|id| *id != read["reference"]);
    assert_eq!(found, [logged.run_id], "the tag finds gavel's run");
}

#[tokio::test(flavor = "multi_thread")]
async fn logging_into_an_existing_run_or_under_a_parent() {
    let server = MlflowServer::start(true).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_jsonl(
        &d.join("set.jsonl"),
        &[
            json!({"request_id": "a", "request": "Hi", "response": "Hello", "expected_response": "Hello"}),
            json!({"request_id": "b", "request": "Bye", "response": "Ciao", "expected_response": "Bye"}),
        ],
    );
    // Runs made by MLflow's Python client: one still RUNNING with a param,
    // a metric and a table of its own; one with a results table already;
    // a parent; one deleted; one the agent below deletes.
    let setup = r#"
import json
import mlflow
from mlflow import MlflowClient
client = MlflowClient()
experiment = client.create_experiment("training")
training = client.create_run(experiment, run_name="training").info.run_id
client.log_param(training, "learning_rate", "0.1")
client.log_param(training, "dataset", "someone else's")
client.log_metric(training, "train/loss", 0.25)
client.log_table(training, {"x": [1, 2]}, "other_table.json")
earlier = client.create_run(experiment, run_name="earlier").info.run_id
client.log_table(earlier, {"request_id": ["earlier"], "inputs": ["from before"]}, "eval_results_table.json")
parent = client.create_run(client.create_experiment("parents"), run_name="parent").info.run_id
deleted = client.create_run(experiment, run_name="deleted").info.run_id
client.delete_run(deleted)
doomed = client.create_run(experiment, run_name="doomed").info.run_id
print(json.dumps({"experiment": experiment, "training": training, "earlier": earlier, "parent": parent,
                  "deleted": deleted, "doomed": doomed}))
"#;
    let ids = mlflow_python(&server, setup, &[]).await;
    let id = |name: &str| ids[name].as_str().unwrap().to_owned();
    let env = [("MLFLOW_TRACKING_URI", server.url.as_str())];
    let eval = |out: &str| {
        [
            "eval",
            "set.jsonl",
            "--judges",
            "exact_match,token_count",
            "--out",
            out,
            "--mlflow",
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let with = |mut args: Vec<String>, extra: &[&str]| {
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        args
    };
    fn strs(args: &[String]) -> Vec<&str> {
        args.iter().map(String::as_str).collect()
    }

    // Into the training run: its id, name and status stay; gavel's params,
    // metrics, files and table are added; its own param keeps its value.
    let training = id("training");
    let args = with(eval("into"), &["--mlflow-run-id", &training]);
    let out = gavel(d, &strs(&args), &env).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let logged = logged_from(&out.stdout);
    assert_eq!(logged.run_id, training);
    assert_eq!(logged.experiment_id, id("experiment"));
    let (info, tags, params) = server.run(&training).await;
    assert_eq!(info["status"], "RUNNING", "the run is its creator's to end");
    assert_eq!(info["run_name"], "training");
    assert_eq!(params["learning_rate"], "0.1");
    assert_eq!(
        params["dataset"], "someone else's",
        "MLflow params do not change"
    );
    assert_eq!(params["judges"], "exact_match,token_count");
    assert_eq!(
        tags["gavel.run_id"],
        read_run_json(&d.join("into"))["run_id"]
    );
    assert_eq!(
        tags[LOGGED_ARTIFACTS_TAG],
        r#"[{"path": "other_table.json", "type": "table"}, {"path": "eval_results_table.json", "type": "table"}]"#
    );
    let run = server
        .get("runs/get", &[("run_id", training.as_str())])
        .await;
    let metric_names: BTreeSet<&str> = run["run"]["data"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["key"].as_str().unwrap())
        .collect();
    let expected_metrics: BTreeSet<String> = read_metrics(&d.join("into"))
        .into_iter()
        .filter(|(_, v)| v.is_number())
        .map(|(k, _)| k)
        .chain(["train/loss".to_owned()])
        .collect();
    assert_eq!(
        metric_names,
        expected_metrics.iter().map(String::as_str).collect()
    );
    assert_eq!(
        server.artifact(&logged, TABLE).await,
        expected_table(&d.join("into"))
    );

    // Into a run holding a results table: the rows are appended, as
    // mlflow.log_table appends them.
    let earlier = id("earlier");
    let args = with(eval("appended"), &["--mlflow-run-id", &earlier]);
    let out = gavel(d, &strs(&args), &env).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);

    // Nested under the parent: in the parent's experiment, or another one.
    let parent = id("parent");
    let args = with(
        eval("child"),
        &["--mlflow-parent-run-id", &parent, "--run-name", "child"],
    );
    let out = gavel(d, &strs(&args), &env).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let child = logged_from(&out.stdout);
    let args = with(
        eval("elsewhere"),
        &[
            "--mlflow-parent-run-id",
            &parent,
            "--mlflow-experiment",
            "elsewhere",
        ],
    );
    let out = gavel(d, &strs(&args), &env).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let elsewhere = logged_from(&out.stdout);
    for (logged, dir) in [(&child, "child"), (&elsewhere, "elsewhere")] {
        let (info, tags, _) = server.run(&logged.run_id).await;
        assert_eq!(tags["mlflow.parentRunId"], parent.as_str());
        assert_eq!(info["status"], "FINISHED");
        assert_eq!(
            server.artifact(logged, TABLE).await,
            expected_table(&d.join(dir))
        );
    }
    assert_eq!(server.run(&child.run_id).await.0["run_name"], "child");
    let (parent_info, _, _) = server.run(&parent).await;
    assert_eq!(
        child.experiment_id,
        parent_info["experiment_id"].as_str().unwrap()
    );
    assert_eq!(
        server.experiments_named("elsewhere").await[0]["experiment_id"],
        elsewhere.experiment_id.as_str()
    );

    // MLflow's client sees all of it: the tables (appending to gavel's
    // as to its own) and the nesting.
    let check = r#"
import json, sys
import mlflow
training, earlier, parent, parent_experiment, elsewhere_experiment = sys.argv[1:6]
mlflow.set_experiment(experiment_id=mlflow.get_run(training).info.experiment_id)
ours = mlflow.load_table("eval_results_table.json", run_ids=[training])
other = mlflow.load_table("other_table.json", run_ids=[training])
appended = mlflow.load_table("eval_results_table.json", run_ids=[earlier])
mlflow.log_table({"request_id": ["later"]}, "eval_results_table.json", run_id=training)
extended = mlflow.load_table("eval_results_table.json", run_ids=[training])
children = mlflow.search_runs(
    experiment_ids=[parent_experiment, elsewhere_experiment],
    filter_string=f"tags.mlflow.parentRunId = '{parent}'")
print(json.dumps({
    "ours": list(ours["request_id"]), "other": list(other["x"]),
    "appended": list(appended["request_id"]), "appended_columns": list(appended.columns),
    "appended_inputs": json.loads(appended["inputs"].to_json(orient="values")),
    "extended": list(extended["request_id"]),
    "tag": mlflow.get_run(training).data.tags["mlflow.loggedArtifacts"],
    "children": sorted(children["run_id"]),
}))
"#;
    let read = mlflow_python(
        &server,
        check,
        &[
            &training,
            &earlier,
            &parent,
            &child.experiment_id,
            &elsewhere.experiment_id,
        ],
    )
    .await;
    assert_eq!(read["ours"], json!(["a", "b"]));
    assert_eq!(read["other"], json!([1, 2]));
    assert_eq!(read["appended"], json!(["earlier", "a", "b"]));
    let appended_columns = read["appended_columns"].as_array().unwrap();
    assert_eq!(
        appended_columns[..2],
        [json!("request_id"), json!("inputs")]
    );
    assert_eq!(read["appended_inputs"], json!(["from before", null, null]));
    assert_eq!(read["extended"], json!(["a", "b", "later"]));
    assert_eq!(read["tag"], tags[LOGGED_ARTIFACTS_TAG], "listed once");
    let mut children = vec![child.run_id.clone(), elsewhere.run_id.clone()];
    children.sort();
    assert_eq!(read["children"], json!(children));

    // A run that is not there stops gavel before anything is evaluated,
    // naming the run.
    let unknown = "0123456789abcdef0123456789abcdef";
    for (flag, id, expected) in [
        ("--mlflow-run-id", unknown.to_owned(), "no such run"),
        ("--mlflow-parent-run-id", unknown.to_owned(), "no such run"),
        (
            "--mlflow-run-id",
            id("deleted"),
            "mlflow runs restore --run-id",
        ),
    ] {
        let args = with(eval("never"), &[flag, &id]);
        let out = gavel(d, &strs(&args), &env).await;
        assert_eq!(out.code, 2, "{flag} {id}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!("{flag}: MLflow"))
                && out.stderr.contains(&format!("{id:?}"))
                && out.stderr.contains(expected)
                && out.stderr.contains(&server.url),
            "{}",
            out.stderr
        );
        assert!(!d.join("never").exists(), "nothing was evaluated");
    }
    // The two flags conflict; a run to log into has its own experiment.
    for extra in [
        ["--mlflow-run-id", "a", "--mlflow-parent-run-id", "b"],
        ["--mlflow-run-id", "a", "--mlflow-experiment", "e"],
    ] {
        let args = with(eval("never"), &extra);
        let out = gavel(d, &strs(&args), &env).await;
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.contains("cannot be used with"), "{}", out.stderr);
    }

    // A run deleted while gavel evaluates: the results stay on disk, the
    // error names the run, exit 3.
    let doomed = id("doomed");
    let agent = format!(
        "python3 {}",
        support::workspace()
            .join("tests/mlflow/deleting_agent.py")
            .display()
    );
    std::fs::write(
        d.join("no-responses.jsonl"),
        "{\"request_id\": \"a\", \"request\": \"Hi\"}\n{\"request_id\": \"b\", \"request\": \"Bye\"}\n",
    )
    .unwrap();
    let out = gavel(
        d,
        &[
            "eval",
            "no-responses.jsonl",
            "--agent-cmd",
            &agent,
            "--judges",
            "token_count",
            "--out",
            "kept",
            "--mlflow",
            "--mlflow-run-id",
            &doomed,
        ],
        &[
            ("MLFLOW_TRACKING_URI", server.url.as_str()),
            ("GAVEL_TEST_DELETE_RUN", doomed.as_str()),
        ],
    )
    .await;
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("the run is complete in")
            && out.stderr.contains("logging it to MLflow failed")
            && out.stderr.contains(&format!("{doomed:?}"))
            && out.stderr.contains("deleted"),
        "{}",
        out.stderr
    );
    let kept = read_results(&d.join("kept"));
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[1]["response"], "answer to b");

    // The library says the same.
    let error = log_run_into(
        &server.url,
        &LogInto::ExistingRun {
            run_id: unknown.to_owned(),
        },
        &d.join("into"),
        "x",
        MlflowAuth::None,
    )
    .await
    .unwrap_err();
    assert!(matches!(error, MlflowError::Run { .. }), "{error:?}");
    assert!(error.to_string().contains(unknown), "{error}");
}
