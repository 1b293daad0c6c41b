//! `evaluate` and `judge`: what `gavel eval` and `gavel judge` do, with
//! their arguments as keywords and their results as JSON for the Python
//! package to shape.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use gavel::evaluation::agent::{Agent, AgentOverrides, AgentSpec};
use gavel::evaluation::config::{Config, EndpointOverrides};
use gavel::evaluation::evaluator::{Evaluator, SetupError, SetupOptions};
use gavel::evaluation::input::{GuidelineGroup, row_from_json};
use gavel::evaluation::run::{EvalOptions, Progress, RunError as EvalRunError};
use gavel::evaluation::selection::{Check, Selection};
use gavel::results::mlflow::{LogInto, MlflowAuth};
use gavel::results::run_dir::OutputError;
use pyo3::prelude::*;
use serde_json::{Value, json};

use crate::agent::PythonAgent;
use crate::{InputError, RunError, runtime};

/// How often a running evaluation looks for Ctrl-C and reports progress.
const TICK: Duration = Duration::from_millis(100);

fn input_error(error: impl std::fmt::Display) -> PyErr {
    InputError::new_err(error.to_string())
}

fn setup_error(error: SetupError) -> PyErr {
    if error.is_bad_input() {
        input_error(error)
    } else {
        RunError::new_err(error.to_string())
    }
}

/// `config_path` (a gavel.toml), else `config_json` (the same keys as
/// data, relative paths against the working directory), else ./gavel.toml
/// when there is one.
fn load_config(config_path: Option<PathBuf>, config_json: Option<String>) -> PyResult<Config> {
    match (config_path, config_json) {
        (Some(path), _) => Config::load(&path).map_err(input_error),
        (None, Some(text)) => {
            let value: Value = serde_json::from_str(&text).map_err(input_error)?;
            let dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
            Config::from_json(value, &dir, "config").map_err(input_error)
        }
        (None, None) => Config::load_default().map_err(input_error),
    }
}

fn setup_options(
    run_id: &str,
    base_url: Option<String>,
    model: Option<String>,
    cache: bool,
) -> SetupOptions {
    SetupOptions {
        endpoints: EndpointOverrides { base_url, model },
        response_cache: cache,
        ..SetupOptions::new(run_id)
    }
}

/// Refuses judges whose endpoint reads its key from an unset variable:
/// every one of their judgments would fail.
fn require_keys<'a>(
    evaluator: &Evaluator,
    judges: impl IntoIterator<Item = &'a gavel::Judge>,
) -> PyResult<()> {
    match evaluator.missing_key(judges) {
        None => Ok(()),
        Some((judge, alias, var)) => Err(input_error(format!(
            "environment variable {var} is not set; endpoint '{alias}' reads its API key from it \
             (judge '{}' uses it; or pass judge_base_url= for a server that needs no key)",
            judge.name()
        ))),
    }
}

/// The agent: a Python callable, a URL or a command, else the
/// configuration's `[agent]` table, if any.
#[allow(clippy::too_many_arguments)]
fn agent(
    config: &Config,
    run_id: &str,
    function: Option<(Py<PyAny>, String)>,
    url: Option<String>,
    command: Option<String>,
    concurrency: Option<usize>,
    timeout: Option<f64>,
) -> PyResult<Option<Arc<Agent>>> {
    if let Some((callable, name)) = function {
        let mut spec = AgentSpec::function(name);
        if let Some(concurrency) = concurrency {
            if concurrency == 0 {
                return Err(input_error("agent_concurrency must be at least 1"));
            }
            spec.max_concurrency = concurrency;
        }
        if let Some(secs) = timeout {
            if !(secs.is_finite() && secs > 0.0) {
                return Err(input_error(format!(
                    "agent_timeout must be a positive number of seconds, not {secs}"
                )));
            }
            spec.timeout = Duration::from_secs_f64(secs);
        }
        return Ok(Some(Arc::new(Agent::with_function(
            spec,
            Arc::new(PythonAgent::new(callable)),
        ))));
    }
    let overrides = AgentOverrides {
        url,
        command,
        max_concurrency: concurrency,
        timeout_secs: timeout,
        ..AgentOverrides::default()
    };
    AgentSpec::resolve(config.agent.as_ref(), &overrides)
        .map_err(input_error)?
        .map(|spec| Agent::new(spec, run_id).map(Arc::new))
        .transpose()
        .map_err(input_error)
}

/// Evaluates the rows of `data` (a JSONL, JSON or CSV file) into the run
/// directory `out`; returns the run as JSON (run_dir, status, metrics, ...).
#[pyfunction]
#[pyo3(signature = (
    data, *, out=None, config_path=None, config_json=None, judges=None, guidelines=None,
    agent_function=None, agent_name=None, agent_url=None, agent_command=None,
    agent_concurrency=None, agent_timeout=None, run_name=None, judge_base_url=None,
    judge_model=None, skip_invalid=false, csv=false, cache=true, history=true,
    mlflow_tracking_uri=None, mlflow_experiment=None, mlflow_run_id=None,
    mlflow_parent_run_id=None, progress=None,
))]
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    py: Python<'_>,
    data: PathBuf,
    out: Option<PathBuf>,
    config_path: Option<PathBuf>,
    config_json: Option<String>,
    judges: Option<Vec<String>>,
    guidelines: Option<Vec<String>>,
    agent_function: Option<Py<PyAny>>,
    agent_name: Option<String>,
    agent_url: Option<String>,
    agent_command: Option<String>,
    agent_concurrency: Option<usize>,
    agent_timeout: Option<f64>,
    run_name: Option<String>,
    judge_base_url: Option<String>,
    judge_model: Option<String>,
    skip_invalid: bool,
    csv: bool,
    cache: bool,
    history: bool,
    mlflow_tracking_uri: Option<String>,
    mlflow_experiment: Option<String>,
    mlflow_run_id: Option<String>,
    mlflow_parent_run_id: Option<String>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let config = load_config(config_path, config_json)?;
    let mlflow = mlflow_tracking_uri
        .map(|uri| {
            if !(uri.starts_with("http://") || uri.starts_with("https://")) {
                return Err(input_error(format!(
                    "mlflow_tracking_uri must be http(s)://... (gavel logs through MLflow's REST API), not {uri:?}"
                )));
            }
            let into = match (mlflow_run_id, mlflow_parent_run_id, mlflow_experiment) {
                (Some(_), Some(_), _) => {
                    return Err(input_error(
                        "mlflow_run_id and mlflow_parent_run_id cannot be used together: log into a run, or under it",
                    ));
                }
                (Some(_), None, Some(_)) => {
                    return Err(input_error(
                        "mlflow_run_id logs into that run's own experiment: leave out mlflow_experiment",
                    ));
                }
                (Some(run_id), None, None) => LogInto::ExistingRun { run_id },
                (None, Some(parent_run_id), experiment) => LogInto::NestedRun {
                    parent_run_id,
                    experiment,
                },
                (None, None, experiment) => LogInto::NewRun {
                    experiment: experiment.unwrap_or_else(|| "gavel".to_owned()),
                },
            };
            Ok((uri, into))
        })
        .transpose()?;
    let run_id = gavel::results::time::new_run_id();
    let options = setup_options(&run_id, judge_base_url, judge_model, cache);
    let function = agent_function.map(|f| (f, agent_name.unwrap_or_else(|| "agent".to_owned())));
    let (interrupted_tx, interrupted_rx) = tokio::sync::oneshot::channel::<()>();
    let progress_state = Arc::new(Progress::default());

    let report = py.detach(|| {
        runtime().block_on(async {
            // The run to log into (or under) is looked up before anything
            // is evaluated, as `gavel eval` does.
            if let Some((uri, into)) = &mlflow
                && !matches!(into, LogInto::NewRun { .. })
            {
                gavel::results::mlflow::check_log_into(uri, into, MlflowAuth::from_env())
                    .await
                    .map_err(input_error)?;
            }
            let evaluator = Evaluator::new(config, &options)
                .await
                .map_err(setup_error)?;
            let names = judges
                .or_else(|| evaluator.config.eval.judges.clone())
                .unwrap_or_default();
            let selection = if names.is_empty() {
                Selection::Default
            } else {
                Selection::named(&evaluator.judges, &names).map_err(input_error)?
            };
            let checks = selection.checks(&evaluator.judges);
            require_keys(
                &evaluator,
                checks.iter().filter_map(|check| match check {
                    Check::Judge(judge) => Some(judge),
                    _ => None,
                }),
            )?;
            let mut global_guidelines = evaluator
                .config
                .global_guideline_groups()
                .map_err(input_error)?;
            if let Some(rules) = guidelines.filter(|rules| !rules.is_empty()) {
                global_guidelines.push(GuidelineGroup { name: None, rules });
            }
            let agent = agent(
                &evaluator.config,
                &run_id,
                function,
                agent_url,
                agent_command,
                agent_concurrency,
                agent_timeout,
            )?;
            let out = out.unwrap_or_else(|| PathBuf::from("gavel-runs").join(&run_id));
            let eval_options = EvalOptions {
                run_id: run_id.clone(),
                run_name: run_name.clone(),
                config_file: evaluator.config.path.clone(),
                selection,
                global_guidelines,
                skip_invalid,
                csv,
                progress: progress_state.clone(),
                agent,
                ..EvalOptions::new(data.clone(), out)
            };
            let interrupt = async move {
                let _ = interrupted_rx.await;
            };
            let run = evaluator.run(&eval_options, interrupt);
            tokio::pin!(run);
            // Polled by this (the caller's) thread: the one where Python
            // runs its Ctrl-C handler when asked to check for signals.
            let mut interrupted_tx = Some(interrupted_tx);
            let mut tick = tokio::time::interval(TICK);
            let outcome = loop {
                tokio::select! {
                    outcome = &mut run => break outcome,
                    _ = tick.tick() => {
                        let signalled = Python::attach(|py| {
                            // Python runs the Ctrl-C handler at the next
                            // bytecode: in the callback, if there is one.
                            report_progress(py, progress.as_ref(), &progress_state)
                                || py.check_signals().is_err()
                        });
                        if signalled && let Some(tx) = interrupted_tx.take() {
                            let _ = tx.send(());
                        }
                    }
                }
            };
            Python::attach(|py| {
                report_progress(py, progress.as_ref(), &progress_state);
            });
            let report = outcome.map_err(|error| match error {
                EvalRunError::Output(OutputError::Io { .. }) => {
                    RunError::new_err(error.to_string())
                }
                other => input_error(other),
            })?;
            if history {
                record_in_history(&report.out);
            }
            let mut logged = None;
            if let Some((uri, into)) = &mlflow
                && report.unfinished(&data).is_none()
            {
                let name = run_name.as_deref().unwrap_or(&run_id);
                let auth = MlflowAuth::from_env();
                let run = gavel::results::mlflow::log_run_into(uri, into, &report.out, name, auth)
                    .await
                    .map_err(|e| {
                        RunError::new_err(format!(
                            "the run is complete in {}, but logging it to MLflow failed: {e}",
                            report.out.display()
                        ))
                    })?;
                logged = Some(run.url);
            }
            Ok::<_, PyErr>(json!({
                "run_dir": report.out,
                "results": report.out.join(gavel::results::run_dir::RESULTS),
                "run_id": run_id,
                "status": report.status.as_str(),
                "unfinished": report.unfinished(&data),
                "total_rows": report.total_rows,
                "rows": report.metrics.rows,
                "resumed_rows": report.resumed_rows,
                "elapsed_seconds": report.elapsed_seconds,
                "metrics": report.metrics.to_json(),
                "mlflow_url": logged,
            }))
        })
    })?;
    Ok(report.to_string())
}

/// Calls `progress(finished_rows, total_rows)`; whether it was
/// interrupted (KeyboardInterrupt). Another exception from the callback is
/// printed: it is not the run's problem.
fn report_progress(py: Python<'_>, callback: Option<&Py<PyAny>>, progress: &Progress) -> bool {
    let Some(callback) = callback else {
        return false;
    };
    let finished = progress.finished_rows.load(Ordering::Relaxed);
    let total = progress.total_rows.load(Ordering::Relaxed);
    match callback.call1(py, (finished, total)) {
        Ok(_) => false,
        Err(error) if error.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py) => true,
        Err(error) => {
            error.print(py);
            false
        }
    }
}

/// As `gavel eval` does; a history that cannot be written is a warning.
pub(crate) fn record_in_history(out: &Path) {
    let Some(path) = gavel::results::history::default_path() else {
        return;
    };
    let recorded = gavel::results::history::History::open(&path).and_then(|h| h.record(out));
    if let Err(error) = recorded {
        eprintln!("gavel: not recorded in the run history: {error}");
    }
}

/// Runs the judge `name` on one row (its fields as JSON); returns one
/// assessment per target (a guideline judge judges each named group) as
/// `gavel judge --json` prints them.
#[pyfunction]
#[pyo3(signature = (name, row, *, config_path=None, config_json=None, judge_base_url=None, judge_model=None, cache=true))]
#[allow(clippy::too_many_arguments)]
pub fn judge(
    py: Python<'_>,
    name: String,
    row: String,
    config_path: Option<PathBuf>,
    config_json: Option<String>,
    judge_base_url: Option<String>,
    judge_model: Option<String>,
    cache: bool,
) -> PyResult<String> {
    let config = load_config(config_path, config_json)?;
    let fields = match serde_json::from_str::<Value>(&row).map_err(input_error)? {
        Value::Object(fields) => fields,
        _ => return Err(input_error("a row is a mapping of fields")),
    };
    let mut row = row_from_json(fields, 0).map_err(input_error)?;
    let run_id = gavel::results::time::new_run_id();
    let options = setup_options(&run_id, judge_base_url, judge_model, cache);
    let outcomes = py.detach(|| {
        runtime().block_on(async {
            let evaluator = Evaluator::new(config, &options)
                .await
                .map_err(setup_error)?;
            let judge = evaluator.judges.get(&name).ok_or_else(|| {
                input_error(format!(
                    "no judge named '{name}'; the judges are: {}",
                    evaluator.judges.names().join(", ")
                ))
            })?;
            row.global_guidelines = evaluator
                .config
                .global_guideline_groups()
                .map_err(input_error)?;
            let missing = judge.missing_inputs(&row);
            if !missing.is_empty() {
                let needs = gavel::runtime::describe_missing(&missing, |input| {
                    format!("{}=", gavel::runtime::input_name(input))
                });
                return Err(input_error(format!(
                    "judge '{name}' needs more inputs: pass {needs}"
                )));
            }
            require_keys(&evaluator, [judge])?;
            let mut outcomes = Vec::new();
            for target in judge.targets(&row) {
                let outcome = evaluator.host.judge(judge, &target.row).await;
                outcomes.push(gavel::evaluation::judge_row::outcome_json(
                    judge,
                    &target.name,
                    &outcome,
                ));
            }
            Ok::<_, PyErr>(outcomes)
        })
    })?;
    Ok(Value::Array(outcomes).to_string())
}
