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

use gavel::results::mlflow::{
    LoggedRun, MlflowAuth, MlflowError, MlflowTarget, log_run, log_run_with_auth,
};
use serde_json::{Map, Value, json};

use crate::support::{self, Reply, TestLlm, gavel, read_metrics, write_jsonl};

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

    // Artifacts: every file, byte for byte.
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
    let local_sizes: BTreeMap<String, u64> = local
        .iter()
        .map(|(name, bytes)| (name.clone(), bytes.len() as u64))
        .collect();
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
    let url = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("MLflow: "))
        .unwrap_or_else(|| panic!("the run's MLflow URL in {}", out.stdout));
    let (experiment_id, run_id) = url
        .rsplit_once("/runs/")
        .map(|(head, run)| (head.rsplit('/').next().unwrap(), run))
        .unwrap();
    let second = LoggedRun {
        experiment_id: experiment_id.to_owned(),
        run_id: run_id.to_owned(),
        url: url.to_owned(),
    };
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
