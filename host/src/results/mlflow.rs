//! Logs a run directory to an MLflow tracking server, through MLflow's REST
//! API (no Python needed).
//!
//! One gavel run becomes one MLflow run ([`LogInto`]): a new run in a named
//! experiment (created when missing), a new run nested under a parent run,
//! or a run that exists already:
//!
//! - tags: `mlflow.runName`, `mlflow.source.name` (`gavel`) and
//!   `mlflow.parentRunId` (nested) on a run gavel creates; `gavel.run_id`,
//!   `gavel.dataset`, `gavel.dataset_sha256`, `gavel.status`;
//! - params: `judges` (their names, comma-separated), `judge.<name>.version`,
//!   `judge.<name>.sha256` (the component's digest),
//!   `judge.<name>.threshold`, `endpoint.<alias>.model`,
//!   `endpoint.<alias>.base_url`, `agent` (JSON text), `dataset`,
//!   `gavel_version`;
//! - metrics: every number in `metrics.json`, under its own name (nulls are
//!   left out), at step 0;
//! - artifacts: the run's own files (`eval_results.jsonl`, `metrics.json`,
//!   `run.json`, `report.html`, `eval_results.csv`), regular files in the
//!   run directory itself (a symbolic link is not followed), uploaded
//!   through the server's artifact proxy (`mlflow server` serves artifacts by
//!   default since MLflow 2.0);
//! - the per-request results as an MLflow table, `eval_results_table.json`,
//!   listed in the run's `mlflow.loggedArtifacts` tag, as `mlflow.log_table`
//!   logs one (see [`table`]): `mlflow.load_table` reads it back and the UI
//!   shows it as a table;
//! - on a run gavel creates, status `FINISHED` when `run.json` says the run
//!   finished, `FAILED` otherwise; start and end times from `run.json`. A run
//!   that existed keeps its name, status and end time.
//!
//! Credentials come from the environment, as MLflow's own clients read them:
//! `MLFLOW_TRACKING_USERNAME` and `MLFLOW_TRACKING_PASSWORD` (basic auth) or
//! `MLFLOW_TRACKING_TOKEN` (bearer); `MLFLOW_TRACKING_INSECURE_TLS=true` skips
//! certificate checks. They are sent to the tracking server's origin (scheme,
//! host and port) only: an artifact location on another host gets requests
//! without them, and a redirect to another origin is not followed.
//!
//! ```no_run
//! # async fn demo() -> Result<(), gavel::results::mlflow::MlflowError> {
//! use gavel::results::mlflow::{MlflowTarget, log_run};
//!
//! let target = MlflowTarget {
//!     tracking_uri: "http://127.0.0.1:5000".to_owned(),
//!     experiment: "my-app-evals".to_owned(),
//! };
//! let run_dir = "gavel-runs/20261123-091500-3fa2".as_ref();
//! let logged = log_run(&target, run_dir, "nightly").await?;
//! println!("{}", logged.url);
//!
//! // Or into a run that Python's `mlflow.start_run()` created:
//! use gavel::results::mlflow::{LogInto, MlflowAuth, log_run_into};
//! let into = LogInto::ExistingRun { run_id: "5f3c0e7b9a8d4e2f9b1c6d7e8f9a0b1c".to_owned() };
//! log_run_into(&target.tracking_uri, &into, run_dir, "nightly", MlflowAuth::from_env()).await?;
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use indexmap::IndexMap;
use reqwest::{Method, StatusCode, Url};
use serde_json::{Map, Value, json};

use crate::results::run_dir::RunDir;
use crate::results::time;

pub mod table;
use gavel_runtime::llm::error_chain;
use gavel_runtime::redact;
use gavel_runtime::retry::{RetryPolicy, retry_after};

/// The files of a run directory that are uploaded: those gavel writes.
const ARTIFACTS: [&str; 5] = [
    crate::results::run_dir::RESULTS,
    crate::results::run_dir::METRICS,
    crate::results::run_dir::RUN,
    crate::results::run_dir::CSV,
    crate::results::report::REPORT,
];
/// Redirects followed, within the tracking server's origin.
const MAX_REDIRECTS: usize = 5;
/// Params per `runs/log-batch` request (MLflow's limit).
pub const MAX_PARAMS_PER_BATCH: usize = 100;
/// Metrics per `runs/log-batch` request (MLflow's limit).
pub const MAX_METRICS_PER_BATCH: usize = 1000;
/// Characters in a param value (MLflow's limit); longer values are cut.
pub const MAX_PARAM_VALUE_CHARS: usize = 6000;
/// Characters in a tag value (MLflow's limit); longer values are cut.
const MAX_TAG_VALUE_CHARS: usize = 8000;

/// Where to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MlflowTarget {
    /// The tracking server's URL, `http://` or `https://` (e.g.
    /// `http://127.0.0.1:5000`), as `MLFLOW_TRACKING_URI` would hold it.
    pub tracking_uri: String,
    /// The experiment's name; created when missing.
    pub experiment: String,
}

/// What was logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRun {
    pub experiment_id: String,
    pub run_id: String,
    /// The run in the MLflow UI: `<tracking_uri>/#/experiments/<id>/runs/<run>`.
    pub url: String,
}

/// How to authenticate to the tracking server.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum MlflowAuth {
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// HTTP basic auth (MLflow's `basic-auth` app).
    Basic { username: String, password: String },
}

impl std::fmt::Debug for MlflowAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MlflowAuth::None => f.write_str("None"),
            MlflowAuth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            MlflowAuth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

impl MlflowAuth {
    /// As MLflow's clients choose: `MLFLOW_TRACKING_USERNAME` and
    /// `MLFLOW_TRACKING_PASSWORD` when both are set, else
    /// `MLFLOW_TRACKING_TOKEN`, else none.
    pub fn from_env() -> MlflowAuth {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        match (
            var("MLFLOW_TRACKING_USERNAME"),
            var("MLFLOW_TRACKING_PASSWORD"),
        ) {
            (Some(username), Some(password)) => MlflowAuth::Basic { username, password },
            _ => match var("MLFLOW_TRACKING_TOKEN") {
                Some(token) => MlflowAuth::Bearer(token),
                None => MlflowAuth::None,
            },
        }
    }
}

/// Why a run could not be logged.
#[derive(Debug, thiserror::Error)]
pub enum MlflowError {
    /// The tracking URI is not an `http(s)://` URL.
    #[error("MLflow tracking URI {uri:?} is not supported: {reason}")]
    UnsupportedTrackingUri { uri: String, reason: String },
    /// The run directory is missing a file or holds something unreadable.
    #[error("cannot log run directory {}: {message}", dir.display())]
    RunDir { dir: PathBuf, message: String },
    /// No answer from the server, after retries.
    #[error(
        "cannot reach the MLflow tracking server at {tracking_uri} ({method} {url}): {message}; \
         is `mlflow server` running there?"
    )]
    Unreachable {
        tracking_uri: String,
        method: String,
        url: String,
        message: String,
    },
    /// The server answered with an error status (the last one, after retries
    /// for 429 and 5xx).
    #[error("MLflow {method} {url} failed with HTTP {status}: {}", describe_api_error(.error_code, .message))]
    Api {
        method: String,
        url: String,
        status: u16,
        /// MLflow's `error_code`, e.g. `RESOURCE_DOES_NOT_EXIST`.
        error_code: Option<String>,
        /// MLflow's `message`, or the start of the body.
        message: String,
    },
    /// The server answered 2xx with something that is not what MLflow sends.
    #[error("MLflow {method} {url} answered unexpectedly: {message}")]
    BadResponse {
        method: String,
        url: String,
        message: String,
    },
    /// The experiment cannot take runs.
    #[error("MLflow experiment {experiment:?}: {message}")]
    Experiment { experiment: String, message: String },
    /// The run to log into, or to nest the new run under, cannot take it:
    /// there is no such run, it is deleted, or it holds something in the way.
    #[error("{role} {run_id:?} at {tracking_uri}: {message}")]
    Run {
        /// `MLflow run` or `MLflow parent run`.
        role: &'static str,
        run_id: String,
        tracking_uri: String,
        message: String,
    },
    /// The run's artifact location is one the REST API cannot upload to.
    #[error("cannot upload artifacts to the MLflow artifact location {artifact_uri:?}: {message}")]
    UnsupportedArtifactUri {
        artifact_uri: String,
        message: String,
    },
}

fn describe_api_error(error_code: &Option<String>, message: &str) -> String {
    match error_code {
        Some(code) => format!("{code}: {message}"),
        None => message.to_owned(),
    }
}

impl MlflowError {
    /// MLflow's `error_code`, when the server sent one.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            MlflowError::Api { error_code, .. } => error_code.as_deref(),
            _ => None,
        }
    }
}

/// Which MLflow run a gavel run is logged as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogInto {
    /// A new run in the named experiment (created when missing).
    NewRun { experiment: String },
    /// A new run nested under the run `parent_run_id` (the tag
    /// `mlflow.parentRunId`, by which MLflow nests runs): in the named
    /// experiment, or in the parent's when `None`. MLflow accepts a child in
    /// another experiment than its parent's, but its UI nests runs only
    /// within one experiment.
    NestedRun {
        parent_run_id: String,
        experiment: Option<String>,
    },
    /// A run that exists, as `mlflow.start_run(run_id=...)` resumes one: the
    /// params, metrics, artifacts, results table and `gavel.*` tags are
    /// added to it. Its name, status and end time stay as they are: the run
    /// is its creator's to end (gavel's outcome is its `gavel.status` tag).
    /// Params it holds already keep their values (MLflow does not let a
    /// param change).
    ExistingRun { run_id: String },
}

impl MlflowTarget {
    /// Where [`log_run`] logs: a new run in the target's experiment.
    pub fn log_into(&self) -> LogInto {
        LogInto::NewRun {
            experiment: self.experiment.clone(),
        }
    }
}

/// Logs the run directory `run_dir` as one new MLflow run named `run_name`,
/// with credentials from the environment ([`MlflowAuth::from_env`]).
pub async fn log_run(
    target: &MlflowTarget,
    run_dir: &Path,
    run_name: &str,
) -> Result<LoggedRun, MlflowError> {
    log_run_with_auth(target, run_dir, run_name, MlflowAuth::from_env()).await
}

/// [`log_run`] with explicit credentials.
pub async fn log_run_with_auth(
    target: &MlflowTarget,
    run_dir: &Path,
    run_name: &str,
    auth: MlflowAuth,
) -> Result<LoggedRun, MlflowError> {
    log_run_into(
        &target.tracking_uri,
        &target.log_into(),
        run_dir,
        run_name,
        auth,
    )
    .await
}

/// Checks, before anything is evaluated, what can be checked of `into`
/// without writing: the run it names (to log into or to nest under) exists
/// and is not deleted, and a run to log into has artifacts the REST API can
/// upload to.
pub async fn check_log_into(
    tracking_uri: &str,
    into: &LogInto,
    auth: MlflowAuth,
) -> Result<(), MlflowError> {
    let client = Client::new(tracking_uri, auth)?;
    check_experiment_name(into)?;
    match into {
        LogInto::NewRun { .. } => Ok(()),
        LogInto::NestedRun { parent_run_id, .. } => {
            client.active_run(parent_run_id, PARENT_RUN).await.map(drop)
        }
        LogInto::ExistingRun { run_id } => {
            let run = client.active_run(run_id, EXISTING_RUN).await?;
            client.artifact_base(&run.artifact_uri).map(drop)
        }
    }
}

/// Logs the run directory `run_dir` into MLflow where `into` says;
/// `run_name` names a run it creates.
pub async fn log_run_into(
    tracking_uri: &str,
    into: &LogInto,
    run_dir: &Path,
    run_name: &str,
    auth: MlflowAuth,
) -> Result<LoggedRun, MlflowError> {
    let client = Client::new(tracking_uri, auth)?;
    check_experiment_name(into)?;
    // Everything local is read before anything is sent, so a broken run
    // directory leaves nothing half-logged.
    let run = RunDirContents::read(run_dir)?;

    let (target, created) = match into {
        LogInto::NewRun { experiment } => {
            let experiment = client.experiment(experiment).await?;
            let created = client.create_run(&experiment, &run, run_name, None).await?;
            (created, true)
        }
        LogInto::NestedRun {
            parent_run_id,
            experiment,
        } => {
            let parent = client.active_run(parent_run_id, PARENT_RUN).await?;
            let experiment = match experiment {
                Some(name) => client.experiment(name).await?,
                None => client.experiment_by_id(&parent.experiment_id).await?,
            };
            let created = client
                .create_run(&experiment, &run, run_name, Some(&parent.run_id))
                .await?;
            (created, true)
        }
        LogInto::ExistingRun { run_id } => (client.active_run(run_id, EXISTING_RUN).await?, false),
    };
    if let Err(error) = client.log_contents(&target, &run, run_dir, created).await {
        if created {
            // Leave no run RUNNING forever; the first error is the one to
            // report.
            let _ = client
                .post(
                    "runs/update",
                    json!({"run_id": target.run_id, "status": "FAILED", "end_time": now_millis()}),
                )
                .await;
        }
        return Err(error);
    }
    Ok(LoggedRun {
        url: format!(
            "{}/#/experiments/{}/runs/{}",
            client.tracking_uri, target.experiment_id, target.run_id
        ),
        experiment_id: target.experiment_id,
        run_id: target.run_id,
    })
}

/// An experiment name `into` gives must name something.
fn check_experiment_name(into: &LogInto) -> Result<(), MlflowError> {
    let name = match into {
        LogInto::NewRun { experiment } => Some(experiment),
        LogInto::NestedRun { experiment, .. } => experiment.as_ref(),
        LogInto::ExistingRun { .. } => None,
    };
    match name {
        Some(name) if name.trim().is_empty() => Err(MlflowError::Experiment {
            experiment: name.clone(),
            message: "the experiment name is empty".to_owned(),
        }),
        _ => Ok(()),
    }
}

/// How errors name the run asked for.
const EXISTING_RUN: &str = "MLflow run";
const PARENT_RUN: &str = "MLflow parent run";

/// A run on the tracking server, as `runs/get` or `runs/create` describe it.
struct RemoteRun {
    run_id: String,
    experiment_id: String,
    artifact_uri: String,
    /// When it started (ms), for a run gavel created.
    start_time: Option<i64>,
    tags: IndexMap<String, String>,
    params: IndexMap<String, String>,
}

impl RemoteRun {
    /// `run` of a `runs/get` or `runs/create` answer.
    fn parse(run: &Value) -> Option<RemoteRun> {
        let info = &run["info"];
        let pairs = |list: &Value| -> IndexMap<String, String> {
            list.as_array()
                .into_iter()
                .flatten()
                .filter_map(|kv| {
                    Some((
                        kv["key"].as_str()?.to_owned(),
                        kv["value"].as_str().unwrap_or_default().to_owned(),
                    ))
                })
                .collect()
        };
        Some(RemoteRun {
            run_id: info["run_id"]
                .as_str()
                .or_else(|| info["run_uuid"].as_str())?
                .to_owned(),
            experiment_id: info["experiment_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            artifact_uri: info["artifact_uri"].as_str().unwrap_or_default().to_owned(),
            start_time: None,
            tags: pairs(&run["data"]["tags"]),
            params: pairs(&run["data"]["params"]),
        })
    }
}

/// What is logged from a run directory.
struct RunDirContents {
    run: Map<String, Value>,
    metrics: Map<String, Value>,
    /// The run's own files that exist, by name.
    files: Vec<(String, PathBuf)>,
}

impl RunDirContents {
    fn read(dir: &Path) -> Result<RunDirContents, MlflowError> {
        let fail = |message: String| MlflowError::RunDir {
            dir: dir.to_owned(),
            message,
        };
        let run_dir = RunDir::open(dir);
        let run = run_dir.run().map_err(|e| fail(e.message))?;
        let metrics = run_dir.metrics().map_err(|e| fail(e.message))?;
        let mut files = Vec::new();
        for name in ARTIFACTS {
            let path = dir.join(name);
            match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_file() => files.push((name.to_owned(), path)),
                Ok(_) => tracing::warn!(
                    path = %path.display(),
                    "not uploaded to MLflow: not a regular file (a symbolic link is not followed)"
                ),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(fail(format!("cannot read {}: {e}", path.display()))),
            }
        }
        files.sort();
        Ok(RunDirContents {
            run,
            metrics,
            files,
        })
    }

    fn text(&self, key: &str) -> Option<&str> {
        self.run.get(key).and_then(Value::as_str)
    }

    /// The `gavel.*` tags: which gavel run, on which data, how it ended.
    fn gavel_tags(&self) -> Vec<(String, String)> {
        [
            ("gavel.run_id", "run_id"),
            ("gavel.dataset", "dataset"),
            ("gavel.dataset_sha256", "dataset_sha256"),
            ("gavel.status", "status"),
        ]
        .into_iter()
        .filter_map(|(tag, key)| Some((tag.to_owned(), self.text(key)?.to_owned())))
        .collect()
    }

    /// When the last session of the run ended.
    fn end_time(&self) -> Option<i64> {
        self.run
            .get("sessions")?
            .as_array()?
            .iter()
            .filter_map(|s| {
                s.get("finished_at")?
                    .as_str()
                    .and_then(time::parse_rfc3339_millis)
            })
            .max()
    }

    /// The params, in order, each key once.
    fn params(&self) -> IndexMap<String, String> {
        let mut params = IndexMap::new();
        let mut add = |key: String, value: String| {
            params
                .entry(param_key(&key))
                .or_insert_with(|| truncate(&value, MAX_PARAM_VALUE_CHARS));
        };
        let judges: Vec<&Map<String, Value>> = self
            .run
            .get("judges")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .collect();
        let names: Vec<&str> = judges
            .iter()
            .filter_map(|j| j.get("name").and_then(Value::as_str))
            .collect();
        add("judges".to_owned(), names.join(","));
        for judge in &judges {
            let Some(name) = judge.get("name").and_then(Value::as_str) else {
                continue;
            };
            for field in ["version", "sha256", "threshold"] {
                if let Some(value) = judge.get(field).and_then(scalar_text) {
                    add(format!("judge.{name}.{field}"), value);
                }
            }
        }
        // run.json holds URLs and commands with their secrets masked; they
        // are masked again (which changes nothing then) in case it was
        // written by hand or by an older gavel.
        if let Some(endpoints) = self.run.get("endpoints").and_then(Value::as_object) {
            for (alias, endpoint) in endpoints {
                for field in ["model", "base_url"] {
                    if let Some(value) = endpoint.get(field).and_then(scalar_text) {
                        add(
                            format!("endpoint.{alias}.{field}"),
                            redact::urls_in_text(&value),
                        );
                    }
                }
            }
        }
        match self.run.get("agent") {
            None | Some(Value::Null) => {}
            Some(agent) => {
                let mut agent = agent.clone();
                if let Some(url) = agent.get_mut("url")
                    && let Some(text) = url.as_str()
                {
                    *url = Value::String(redact::urls_in_text(text));
                }
                if let Some(command) = agent.get_mut("command")
                    && let Some(text) = command.as_str()
                {
                    *command = Value::String(redact::command(text));
                }
                add("agent".to_owned(), agent.to_string());
            }
        }
        if let Some(dataset) = self.text("dataset") {
            add("dataset".to_owned(), dataset.to_owned());
        }
        let version = self
            .text("gavel_version")
            .unwrap_or(env!("CARGO_PKG_VERSION"));
        add("gavel_version".to_owned(), version.to_owned());
        params
    }

    /// Every number in `metrics.json`, under its own name.
    fn metrics(&self) -> Vec<(&str, f64)> {
        self.metrics
            .iter()
            .filter_map(|(name, value)| match value {
                Value::Number(n) => n.as_f64().map(|v| (name.as_str(), v)),
                Value::Null => None,
                other => {
                    tracing::debug!(%name, %other, "not a number; not logged to MLflow");
                    None
                }
            })
            .collect()
    }
}

/// A string, number or boolean as text; null and structures as nothing.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// MLflow takes param keys of letters, digits, `_ - . / :` and spaces; a
/// judge or endpoint name with anything else gets `_` there.
fn param_key(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | '/' | ':') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// At most `max` characters of `text`.
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// An experiment runs can be created in.
struct Experiment {
    id: String,
    artifact_location: Option<String>,
}

/// A request body.
enum Body {
    None,
    Json(Value),
    Bytes(Bytes, &'static str),
}

/// The tracking server.
struct Client {
    http: reqwest::Client,
    auth: MlflowAuth,
    /// As given, without a trailing `/`.
    tracking_uri: String,
    base: Url,
}

impl Client {
    fn new(tracking_uri: &str, auth: MlflowAuth) -> Result<Client, MlflowError> {
        let unsupported = |reason: &str| MlflowError::UnsupportedTrackingUri {
            uri: tracking_uri.to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = tracking_uri.trim().trim_end_matches('/');
        let only_http = "only http(s) tracking URIs are supported (the URL of an `mlflow server`, \
                         e.g. http://127.0.0.1:5000)";
        if trimmed.starts_with("databricks") {
            return Err(unsupported(&format!(
                "{only_http}; Databricks workspaces are not supported"
            )));
        }
        let base = match Url::parse(trimmed) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => url,
            Ok(url) if matches!(url.scheme(), "http" | "https") => {
                return Err(unsupported(&format!("{only_http}; this one has no host")));
            }
            Ok(url) if url.scheme() == "file" => {
                return Err(unsupported(&format!(
                    "{only_http}; a local file store can't be logged to over REST: run \
                     `mlflow server --backend-store-uri {trimmed}` and pass its URL"
                )));
            }
            Ok(url) => {
                return Err(unsupported(&format!(
                    "{only_http}; {}: URIs are not",
                    url.scheme()
                )));
            }
            Err(_) => {
                return Err(unsupported(&format!(
                    "{only_http}; a local path can't be logged to over REST: run `mlflow \
                     server --backend-store-uri <store>` and pass its URL"
                )));
            }
        };
        if !base.username().is_empty() || base.password().is_some() {
            return Err(unsupported(
                "credentials in the URL are not supported; set MLFLOW_TRACKING_USERNAME and \
                 MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) instead",
            ));
        }
        let insecure = std::env::var("MLFLOW_TRACKING_INSECURE_TLS")
            .is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        // Redirects within the tracking server's origin are followed; one
        // to another origin comes back as the answer (and fails the request
        // with where it pointed), so credentials never follow it there.
        let origin = base.origin();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if attempt.url().origin() == origin {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let http = reqwest::Client::builder()
            .redirect(redirects)
            .user_agent(concat!("gavel/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .danger_accept_invalid_certs(insecure)
            .build()
            .map_err(|e| unsupported(&format!("cannot make an HTTP client: {e}")))?;
        Ok(Client {
            http,
            auth,
            tracking_uri: trimmed.to_owned(),
            base,
        })
    }

    /// `<tracking_uri>/api/2.0/mlflow/<path>`.
    fn api_url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let prefix = self.base.path().trim_end_matches('/');
        url.set_path(&format!("{prefix}/api/2.0/mlflow/{path}"));
        url
    }

    fn bad_response(&self, path: &str, message: &str) -> MlflowError {
        MlflowError::BadResponse {
            method: "POST".to_owned(),
            url: self.api_url(path).to_string(),
            message: message.to_owned(),
        }
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, MlflowError> {
        self.send(Method::POST, self.api_url(path), Body::Json(body))
            .await
    }

    /// Sends a request, retrying connection errors, 429 and 5xx as
    /// [`RetryPolicy::MLFLOW`] says; returns the JSON answer (`null` for an
    /// empty one).
    async fn send(&self, method: Method, url: Url, body: Body) -> Result<Value, MlflowError> {
        let policy = RetryPolicy::MLFLOW;
        let mut attempt = 1;
        // Credentials go to the tracking server's origin only: not to an
        // artifact location the server names on another host.
        let auth = if url.origin() == self.base.origin() {
            &self.auth
        } else {
            &MlflowAuth::None
        };
        loop {
            let mut request = self.http.request(method.clone(), url.clone());
            request = match auth {
                MlflowAuth::None => request,
                MlflowAuth::Bearer(token) => request.bearer_auth(token),
                MlflowAuth::Basic { username, password } => {
                    request.basic_auth(username, Some(password))
                }
            };
            request = match &body {
                Body::None => request,
                Body::Json(value) => request.json(value),
                Body::Bytes(bytes, content_type) => request
                    .header(reqwest::header::CONTENT_TYPE, *content_type)
                    .body(bytes.clone()),
            };
            let unreachable = |error: &reqwest::Error| MlflowError::Unreachable {
                tracking_uri: self.tracking_uri.clone(),
                method: method.to_string(),
                url: url.to_string(),
                message: format!(
                    "{} (after {attempt} attempt{})",
                    error_chain(error),
                    if attempt == 1 { "" } else { "s" }
                ),
            };
            let retry = |delay: Option<Duration>| {
                let retries = attempt - 1;
                policy
                    .may_retry(retries)
                    .then(|| policy.wait(retries, delay))
            };
            let response = match request.send().await {
                Ok(response) => response,
                Err(error) => match retry(None).filter(|_| !error.is_builder()) {
                    Some(delay) => {
                        tracing::debug!(%url, error = %error_chain(&error), "retrying MLflow request");
                        tokio::time::sleep(delay).await;
                        attempt += 1;
                        continue;
                    }
                    None => return Err(unreachable(&error)),
                },
            };
            let status = response.status();
            let response_location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let retry_after = retry_after(response.headers());
            let text = match response.bytes().await {
                Ok(text) => text,
                Err(error) => match retry(None) {
                    Some(delay) => {
                        tokio::time::sleep(delay).await;
                        attempt += 1;
                        continue;
                    }
                    None => return Err(unreachable(&error)),
                },
            };
            if status.is_success() {
                if text.iter().all(u8::is_ascii_whitespace) {
                    return Ok(Value::Null);
                }
                return serde_json::from_slice(&text).map_err(|e| MlflowError::BadResponse {
                    method: method.to_string(),
                    url: url.to_string(),
                    message: format!("not JSON ({e}): {}", snippet(&text)),
                });
            }
            // 429 and 5xx only, not all of `is_retryable_status`: a 408 or
            // 409 from a tracking server is not known to pass.
            if (status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error())
                && let Some(delay) = retry(retry_after)
            {
                tracing::debug!(%url, %status, "retrying MLflow request");
                tokio::time::sleep(delay).await;
                attempt += 1;
                continue;
            }
            let (error_code, mut message) = api_error(&text);
            if status.is_redirection() {
                let location = response_location.as_deref().unwrap_or("nowhere");
                message = format!(
                    "redirected to {} on another origin, which is not followed: credentials \
                     are sent only to the tracking server's origin; use the URL that \
                     answers as the tracking URI",
                    redact::urls_in_text(location)
                );
            }
            if status == StatusCode::NOT_FOUND && error_code.is_none() {
                message.push_str(&format!(
                    " (is {} an MLflow tracking server?)",
                    self.tracking_uri
                ));
            }
            return Err(MlflowError::Api {
                method: method.to_string(),
                url: url.to_string(),
                status: status.as_u16(),
                error_code,
                message,
            });
        }
    }

    /// The experiment named `name`, created when missing.
    async fn experiment(&self, name: &str) -> Result<Experiment, MlflowError> {
        if let Some(experiment) = self.experiment_by_name(name).await? {
            return Ok(experiment);
        }
        match self.post("experiments/create", json!({"name": name})).await {
            Ok(_) => {}
            // Created by someone else meanwhile.
            Err(error) if error.error_code() == Some("RESOURCE_ALREADY_EXISTS") => {}
            Err(error) => return Err(error),
        }
        self.experiment_by_name(name)
            .await?
            .ok_or_else(|| MlflowError::Experiment {
                experiment: name.to_owned(),
                message: "created, but the server cannot find it by name".to_owned(),
            })
    }

    async fn experiment_by_name(&self, name: &str) -> Result<Option<Experiment>, MlflowError> {
        let mut url = self.api_url("experiments/get-by-name");
        url.query_pairs_mut().append_pair("experiment_name", name);
        let answer = match self.send(Method::GET, url.clone(), Body::None).await {
            Ok(answer) => answer,
            Err(error) if error.error_code() == Some("RESOURCE_DOES_NOT_EXIST") => {
                return Ok(None);
            }
            Err(error) => return Err(error),
        };
        Self::experiment_of(&answer, &url, name).map(Some)
    }

    /// The experiment with the id `id` (a parent run's).
    async fn experiment_by_id(&self, id: &str) -> Result<Experiment, MlflowError> {
        let mut url = self.api_url("experiments/get");
        url.query_pairs_mut().append_pair("experiment_id", id);
        let answer = self.send(Method::GET, url.clone(), Body::None).await?;
        let name = answer["experiment"]["name"]
            .as_str()
            .map_or_else(|| format!("id {id}"), str::to_owned);
        Self::experiment_of(&answer, &url, &name)
    }

    /// The experiment in an `experiments/get` or `get-by-name` answer, when
    /// runs can be created in it.
    fn experiment_of(answer: &Value, url: &Url, name: &str) -> Result<Experiment, MlflowError> {
        let experiment = &answer["experiment"];
        let Some(id) = experiment["experiment_id"].as_str() else {
            return Err(MlflowError::BadResponse {
                method: "GET".to_owned(),
                url: url.to_string(),
                message: format!(
                    "no experiment.experiment_id in {}",
                    snippet(answer.to_string().as_bytes())
                ),
            });
        };
        if experiment["lifecycle_stage"].as_str() == Some("deleted") {
            return Err(MlflowError::Experiment {
                experiment: name.to_owned(),
                message: format!(
                    "it is deleted (id {id}); restore it (`mlflow experiments restore \
                     --experiment-id {id}`), delete it for good (`mlflow gc`), or log to \
                     another experiment"
                ),
            });
        }
        Ok(Experiment {
            id: id.to_owned(),
            artifact_location: experiment["artifact_location"]
                .as_str()
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        })
    }

    /// The run `run_id`, which must exist and not be deleted; `role` names
    /// it in errors.
    async fn active_run(&self, run_id: &str, role: &'static str) -> Result<RemoteRun, MlflowError> {
        let refuse = |message: String| MlflowError::Run {
            role,
            run_id: run_id.to_owned(),
            tracking_uri: self.tracking_uri.clone(),
            message,
        };
        if run_id.trim().is_empty() {
            return Err(refuse("the run id is empty".to_owned()));
        }
        let mut url = self.api_url("runs/get");
        url.query_pairs_mut().append_pair("run_id", run_id);
        let answer = match self.send(Method::GET, url.clone(), Body::None).await {
            Ok(answer) => answer,
            // The file store answers a malformed id with INVALID_PARAMETER_VALUE.
            Err(error)
                if matches!(
                    error.error_code(),
                    Some("RESOURCE_DOES_NOT_EXIST" | "INVALID_PARAMETER_VALUE")
                ) =>
            {
                return Err(refuse(
                    "there is no such run on this tracking server (a run's id is the 32 hex \
                     digits on its page in the MLflow UI, or `run.info.run_id` in Python)"
                        .to_owned(),
                ));
            }
            Err(error) => return Err(error),
        };
        let parsed = RemoteRun::parse(&answer["run"]).filter(|run| !run.experiment_id.is_empty());
        let run = parsed.ok_or_else(|| MlflowError::BadResponse {
            method: "GET".to_owned(),
            url: url.to_string(),
            message: format!(
                "no run.info.run_id or experiment_id in {}",
                snippet(answer.to_string().as_bytes())
            ),
        })?;
        if answer["run"]["info"]["lifecycle_stage"].as_str() == Some("deleted") {
            return Err(refuse(format!(
                "it is deleted; restore it (`mlflow runs restore --run-id {}`) or name another run",
                run.run_id
            )));
        }
        Ok(run)
    }

    /// A new run in `experiment`, tagged as gavel's (and as a child of
    /// `parent_run_id`).
    async fn create_run(
        &self,
        experiment: &Experiment,
        run: &RunDirContents,
        run_name: &str,
        parent_run_id: Option<&str>,
    ) -> Result<RemoteRun, MlflowError> {
        // An experiment whose artifacts the REST API cannot reach fails
        // here, before a run is created in it.
        if let Some(location) = &experiment.artifact_location {
            self.artifact_base(location)?;
        }
        let mut tags = vec![
            ("mlflow.runName".to_owned(), run_name.to_owned()),
            ("mlflow.source.name".to_owned(), "gavel".to_owned()),
        ];
        if let Some(parent) = parent_run_id {
            tags.push(("mlflow.parentRunId".to_owned(), parent.to_owned()));
        }
        tags.extend(run.gavel_tags());
        let start_time = run
            .text("started_at")
            .and_then(time::parse_rfc3339_millis)
            .unwrap_or_else(now_millis);
        let created = self
            .post(
                "runs/create",
                json!({
                    "experiment_id": experiment.id,
                    "run_name": run_name,
                    "start_time": start_time,
                    "tags": tag_list(&tags),
                }),
            )
            .await?;
        let mut remote = RemoteRun::parse(&created["run"])
            .ok_or_else(|| self.bad_response("runs/create", "no run.info.run_id in the answer"))?;
        remote.experiment_id.clone_from(&experiment.id);
        remote.start_time = Some(start_time);
        tracing::debug!(run_id = %remote.run_id, artifact_uri = %remote.artifact_uri, "created MLflow run");
        Ok(remote)
    }

    /// Logs the run directory's params, metrics, files and results table
    /// into `target`; ends a run gavel `created`.
    async fn log_contents(
        &self,
        target: &RemoteRun,
        run: &RunDirContents,
        run_dir: &Path,
        created: bool,
    ) -> Result<(), MlflowError> {
        let run_id = &target.run_id;
        if target.artifact_uri.is_empty() {
            let path = if created { "runs/create" } else { "runs/get" };
            return Err(self.bad_response(path, "no run.info.artifact_uri in the answer"));
        }
        let base = self.artifact_base(&target.artifact_uri)?;
        if base.origin() != self.base.origin() && self.auth != MlflowAuth::None {
            tracing::warn!(
                artifact_uri = %redact::urls_in_text(&target.artifact_uri),
                "the run's artifacts go to another host than the tracking server: they are \
                 uploaded without the tracking server's credentials"
            );
        }
        // A table the run holds is read (and found readable) before
        // anything is added to the run.
        let results = run
            .files
            .iter()
            .find(|(name, _)| name == crate::results::run_dir::RESULTS);
        let existing_table = match results {
            Some(_) if !created => self.existing_table(&base, target).await?,
            _ => None,
        };

        let mut params = run.params();
        if !created {
            let mut kept = Vec::new();
            params.retain(|key, value| match target.params.get(key) {
                None => true,
                Some(old) => {
                    if old != value {
                        kept.push(key.clone());
                    }
                    false
                }
            });
            if !kept.is_empty() {
                tracing::warn!(
                    run_id = %run_id,
                    params = %kept.join(", "),
                    "the MLflow run has these params with other values already; they keep \
                     them (MLflow does not let a param change)"
                );
            }
        }
        // A run gavel created got its tags when created.
        let tags = if created {
            Vec::new()
        } else {
            run.gavel_tags()
        };
        self.log_batches(run_id, &params, &tags, &run.metrics())
            .await?;
        for (name, path) in &run.files {
            self.upload(&base, name, path, run_dir).await?;
        }
        if let Some((_, path)) = results {
            let owned = path.clone();
            let table = tokio::task::spawn_blocking(move || {
                read_regular_file(&owned).map(|results| table::build(&results, existing_table))
            })
            .await
            .map_err(std::io::Error::other)
            .and_then(|read| read)
            .map_err(|e| MlflowError::RunDir {
                dir: run_dir.to_owned(),
                message: format!("cannot read {}: {e}", path.display()),
            })?;
            self.upload_bytes(&base, table::TABLE, table).await?;
            // Listed once uploaded, as mlflow.log_table does: a listed
            // table is always there.
            let current = target.tags.get(table::LOGGED_ARTIFACTS_TAG);
            if let Some(value) = table::logged_artifacts_tag(current.map(String::as_str)) {
                self.post(
                    "runs/set-tag",
                    json!({"run_id": run_id, "key": table::LOGGED_ARTIFACTS_TAG, "value": value}),
                )
                .await?;
            }
        }
        if created {
            let status = if run.text("status") == Some("finished") {
                "FINISHED"
            } else {
                "FAILED"
            };
            let start_time = target.start_time.unwrap_or(0);
            let end_time = run.end_time().filter(|&end| end >= start_time);
            self.post(
                "runs/update",
                json!({
                    "run_id": run_id,
                    "status": status,
                    "end_time": end_time.unwrap_or_else(now_millis),
                }),
            )
            .await?;
        }
        Ok(())
    }

    /// The results table `run` holds already, which the new rows are
    /// appended to; `None` when it holds none.
    async fn existing_table(
        &self,
        base: &Url,
        run: &RemoteRun,
    ) -> Result<Option<table::ExistingTable>, MlflowError> {
        let url = artifact_url(base, table::TABLE)?;
        let unreadable = |message: String| MlflowError::Run {
            role: EXISTING_RUN,
            run_id: run.run_id.clone(),
            tracking_uri: self.tracking_uri.clone(),
            message: format!(
                "it holds an artifact {} that is not a table as mlflow.log_table writes one \
                 ({message}), so the results cannot be added to it; log into another run",
                table::TABLE
            ),
        };
        match self.send(Method::GET, url, Body::None).await {
            Ok(answer) => table::ExistingTable::parse(answer)
                .map(Some)
                .map_err(unreadable),
            Err(MlflowError::Api { status: 404, .. }) => Ok(None),
            Err(MlflowError::BadResponse { message, .. }) => Err(unreadable(message)),
            Err(error) => Err(error),
        }
    }

    /// The URL artifacts under `artifact_uri` are uploaded below, as MLflow's
    /// own client resolves it: `mlflow-artifacts:` URIs go through the
    /// tracking server's artifact proxy, `http(s)` URIs are used as they are.
    fn artifact_base(&self, artifact_uri: &str) -> Result<Url, MlflowError> {
        let unsupported = |message: String| MlflowError::UnsupportedArtifactUri {
            artifact_uri: artifact_uri.to_owned(),
            message,
        };
        let new_experiment = "and log to a new experiment (an experiment keeps the artifact \
                              location it was created with)";
        match Url::parse(artifact_uri) {
            Ok(uri) if uri.scheme() == "mlflow-artifacts" => {
                let mut url = self.base.clone();
                if let Some(host) = uri.host_str() {
                    url.set_host(Some(host))
                        .map_err(|e| unsupported(format!("bad host: {e}")))?;
                    url.set_port(uri.port())
                        .map_err(|()| unsupported("bad port".to_owned()))?;
                }
                let path = format!(
                    "{}/api/2.0/mlflow-artifacts/artifacts/{}",
                    self.base.path().trim_end_matches('/'),
                    uri.path().trim_matches('/')
                );
                let mut collapsed = String::with_capacity(path.len());
                for c in path.chars() {
                    if !(c == '/' && collapsed.ends_with('/')) {
                        collapsed.push(c);
                    }
                }
                url.set_path(collapsed.trim_end_matches('/'));
                Ok(url)
            }
            Ok(uri) if matches!(uri.scheme(), "http" | "https") => Ok(uri),
            Ok(uri) if uri.scheme() == "file" => Err(unsupported(format!(
                "it is a path on the tracking server's disk, which the REST API cannot upload \
                 to; the server does not serve artifacts. Start `mlflow server` with artifact \
                 serving (the default: drop `--no-serve-artifacts`, leave \
                 `--default-artifact-root` unset or set it to `mlflow-artifacts:/`, and choose \
                 where files go with `--artifacts-destination`) {new_experiment}"
            ))),
            Ok(uri) if uri.scheme().len() > 1 => Err(unsupported(format!(
                "MLflow clients write {}: locations directly, without the server; gavel uploads \
                 only through the server's artifact proxy. Start `mlflow server \
                 --artifacts-destination {}://...` (artifact serving on, the default, and \
                 `--default-artifact-root` unset) {new_experiment}",
                uri.scheme(),
                uri.scheme()
            ))),
            // A plain path (or a Windows one, `C:\...`).
            _ => Err(unsupported(format!(
                "it is a path on the tracking server's disk, which the REST API cannot upload \
                 to; the server does not serve artifacts. Start `mlflow server` with artifact \
                 serving (the default: drop `--no-serve-artifacts`, leave \
                 `--default-artifact-root` unset or set it to `mlflow-artifacts:/`, and choose \
                 where files go with `--artifacts-destination`) {new_experiment}"
            ))),
        }
    }

    /// Params, tags, then metrics, in batches within MLflow's limits.
    async fn log_batches(
        &self,
        run_id: &str,
        params: &IndexMap<String, String>,
        tags: &[(String, String)],
        metrics: &[(&str, f64)],
    ) -> Result<(), MlflowError> {
        let params: Vec<Value> = params
            .iter()
            .map(|(key, value)| json!({"key": key, "value": value}))
            .collect();
        for batch in params.chunks(MAX_PARAMS_PER_BATCH) {
            self.post(
                "runs/log-batch",
                json!({"run_id": run_id, "params": batch, "metrics": [], "tags": []}),
            )
            .await?;
        }
        if !tags.is_empty() {
            self.post(
                "runs/log-batch",
                json!({"run_id": run_id, "params": [], "metrics": [], "tags": tag_list(tags)}),
            )
            .await?;
        }
        let timestamp = now_millis();
        let metrics: Vec<Value> = metrics
            .iter()
            .map(|(key, value)| json!({"key": key, "value": value, "timestamp": timestamp, "step": 0}))
            .collect();
        for batch in metrics.chunks(MAX_METRICS_PER_BATCH) {
            self.post(
                "runs/log-batch",
                json!({"run_id": run_id, "params": [], "metrics": batch, "tags": []}),
            )
            .await?;
        }
        Ok(())
    }

    /// Uploads the file at `path` as the artifact `name` below `base`.
    async fn upload(
        &self,
        base: &Url,
        name: &str,
        path: &Path,
        run_dir: &Path,
    ) -> Result<(), MlflowError> {
        let owned = path.to_owned();
        let contents = tokio::task::spawn_blocking(move || read_regular_file(&owned))
            .await
            .map_err(std::io::Error::other)
            .and_then(|read| read)
            .map_err(|e| MlflowError::RunDir {
                dir: run_dir.to_owned(),
                message: format!("cannot read {}: {e}", path.display()),
            })?;
        self.upload_bytes(base, name, contents).await
    }

    /// Uploads `contents` as the artifact `name` below `base`.
    async fn upload_bytes(
        &self,
        base: &Url,
        name: &str,
        contents: Vec<u8>,
    ) -> Result<(), MlflowError> {
        let url = artifact_url(base, name)?;
        tracing::debug!(%url, bytes = contents.len(), "uploading artifact");
        self.send(
            Method::PUT,
            url,
            Body::Bytes(Bytes::from(contents), content_type(name)),
        )
        .await?;
        Ok(())
    }
}

/// The URL of the artifact `name` below `base`.
fn artifact_url(base: &Url, name: &str) -> Result<Url, MlflowError> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| MlflowError::UnsupportedArtifactUri {
            artifact_uri: base.to_string(),
            message: "not a URL files can be put below".to_owned(),
        })?
        .pop_if_empty()
        .push(name);
    Ok(url)
}

/// Tags as MLflow's REST API takes them, each value cut to MLflow's limit.
fn tag_list(tags: &[(String, String)]) -> Vec<Value> {
    tags.iter()
        .map(|(key, value)| json!({"key": key, "value": truncate(value, MAX_TAG_VALUE_CHARS)}))
        .collect()
}

/// The contents of `path` when it is a regular file, not a symbolic link:
/// the file opened is checked to be the one looked at, so a link put in its
/// place meanwhile is not followed out of the run directory.
fn read_regular_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let refused = || {
        std::io::Error::other("not a regular file in the run directory (links are not followed)")
    };
    let looked = std::fs::symlink_metadata(path)?;
    if !looked.is_file() {
        return Err(refused());
    }
    let mut file = std::fs::File::open(path)?;
    let opened = file.metadata()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if (looked.dev(), looked.ino()) != (opened.dev(), opened.ino()) {
            return Err(refused());
        }
    }
    if !opened.is_file() {
        return Err(refused());
    }
    let mut contents = Vec::with_capacity(opened.len() as usize);
    file.read_to_end(&mut contents)?;
    Ok(contents)
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("json") => "application/json",
        Some("jsonl" | "txt" | "log") => "text/plain",
        Some("csv") => "text/csv",
        Some("html") => "text/html",
        Some("xml") => "application/xml",
        _ => "application/octet-stream",
    }
}

/// MLflow's `error_code` and `message` from an error body (or FastAPI's
/// `detail`), else the start of the body.
fn api_error(body: &[u8]) -> (Option<String>, String) {
    if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) {
        let code = object
            .get("error_code")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let message = object
            .get("message")
            .or_else(|| object.get("detail"))
            .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned));
        if code.is_some() || message.is_some() {
            return (code, message.unwrap_or_default());
        }
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return (None, "(empty body)".to_owned());
    }
    (None, snippet(body))
}

/// The start of a body, for messages.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let short = truncate(text, 300);
    if short.len() < text.len() {
        format!("{short}...")
    } else {
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_uris_must_be_http() {
        for uri in [
            "http://127.0.0.1:5000",
            "https://mlflow.example.com/prefix/",
        ] {
            assert!(Client::new(uri, MlflowAuth::None).is_ok(), "{uri}");
        }
        for uri in [
            "file:///tmp/mlruns",
            "./mlruns",
            "/tmp/mlruns",
            "databricks",
            "databricks://profile",
            "sqlite:///m.db",
            "http://",
        ] {
            let error = Client::new(uri, MlflowAuth::None)
                .err()
                .expect(uri)
                .to_string();
            assert!(
                error.contains("only http(s) tracking URIs are supported"),
                "{uri}: {error}"
            );
        }
    }

    #[test]
    fn artifact_uris_resolve_as_mlflow_does() {
        let client = Client::new("http://127.0.0.1:5000/prefix/", MlflowAuth::None).unwrap();
        let resolve = |uri: &str| client.artifact_base(uri).map(|u| u.to_string());
        assert_eq!(
            resolve("mlflow-artifacts:/1/abc/artifacts").unwrap(),
            "http://127.0.0.1:5000/prefix/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts"
        );
        assert_eq!(
            resolve("mlflow-artifacts://other:6000/1/abc/artifacts").unwrap(),
            "http://other:6000/prefix/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts"
        );
        assert_eq!(
            resolve("https://store.example.com/x/artifacts").unwrap(),
            "https://store.example.com/x/artifacts"
        );
        for uri in [
            "/srv/mlruns/1/abc/artifacts",
            "file:///srv/mlruns/1",
            "s3://bucket/1/abc/artifacts",
        ] {
            let error = resolve(uri).unwrap_err().to_string();
            assert!(error.contains("mlflow server"), "{uri}: {error}");
        }
    }

    #[test]
    fn params_are_cut_and_keys_cleaned() {
        assert_eq!(truncate("héllo", 2), "hé");
        assert_eq!(truncate("hi", 6000), "hi");
        assert_eq!(
            param_key("endpoint.my alias!.model"),
            "endpoint.my alias_.model"
        );
    }

    #[cfg(unix)]
    #[test]
    fn only_regular_files_are_read_for_upload() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, "secret").unwrap();
        let run = dir.path().join("run");
        std::fs::create_dir(&run).unwrap();
        std::fs::write(run.join("run.json"), "{}").unwrap();
        std::os::unix::fs::symlink(&outside, run.join("metrics.json")).unwrap();
        assert_eq!(read_regular_file(&run.join("run.json")).unwrap(), b"{}");
        let error = read_regular_file(&run.join("metrics.json")).unwrap_err();
        assert!(
            error.to_string().contains("links are not followed"),
            "{error}"
        );
        assert!(read_regular_file(&run).is_err(), "a directory");
    }

    #[test]
    fn api_errors_name_mlflow_codes() {
        let (code, message) =
            api_error(br#"{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "nope"}"#);
        assert_eq!(code.as_deref(), Some("RESOURCE_DOES_NOT_EXIST"));
        assert_eq!(message, "nope");
        assert_eq!(
            api_error(br#"{"detail": "disabled"}"#),
            (None, "disabled".to_owned())
        );
        assert_eq!(
            api_error(b"<html>oops</html>"),
            (None, "<html>oops</html>".to_owned())
        );
    }
}
