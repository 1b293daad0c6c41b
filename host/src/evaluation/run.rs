//! A run (what `gavel eval` does): an evaluation set through the selected
//! judges, into a run directory.
//!
//! 1. Every record is read and validated first, so a bad row stops the run
//!    before any LLM call (or, with `skip_invalid`, becomes an error row).
//! 2. Rows stream through the judges, a bounded number at a time, each row's
//!    judgments concurrently. Results are appended in input order as they
//!    complete, so the finished rows of an interrupted run are a prefix of
//!    the input, and `resume` continues after them.
//! 3. A row with a failed judgment is held back while an endpoint is
//!    failing, and the rows after it with it: if the failures turn out to
//!    be an outage (the client halts), none of them is recorded as finished
//!    and a resumed run judges them again.

use std::future::Future;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures::StreamExt;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::evaluation::agent::Agent;
use crate::evaluation::columns::ColumnMap;
use crate::evaluation::dataset::{self, DatasetError, Record};
use crate::evaluation::input::GuidelineGroup;
use crate::evaluation::judge_row;
use crate::evaluation::judge_set::{JudgeSet, metric_source_of, source_of};
use crate::evaluation::selection::{Check, Selection};
use crate::results::metrics::Metrics;
use crate::results::report;
use crate::results::row_result::{self, RowOutcome, RowResult, Supplied};
use crate::results::run_dir::{self, OutputError, RunWriter};
use gavel_runtime::Host;

/// How to run an evaluation. [`EvalOptions::new`] gives the defaults the
/// command line uses, so an embedder sets only what differs.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub data: PathBuf,
    /// The run directory itself.
    pub out: PathBuf,
    /// Continue the run in `out` instead of starting one.
    pub resume: bool,
    pub run_id: String,
    /// A name for the run, in run.json, the run history and report.html.
    pub run_name: Option<String>,
    /// The configuration file the run was set up from, recorded with its
    /// SHA-256 in run.json.
    pub config_file: Option<PathBuf>,
    pub selection: Selection,
    /// From the configuration and `--guideline`.
    pub global_guidelines: Vec<GuidelineGroup>,
    /// Record unreadable rows as error rows instead of stopping.
    pub skip_invalid: bool,
    pub csv: bool,
    /// Also write `eval_results.parquet`.
    pub parquet: bool,
    /// Rows being judged at once; `None`: [`EvalOptions::rows_in_flight_for`]
    /// the endpoints' and the agent's concurrency.
    pub rows_in_flight: Option<usize>,
    /// Written to `run.json` besides what the run records itself.
    pub metadata: Map<String, Value>,
    /// Updated as rows finish, for a progress display.
    pub progress: Arc<Progress>,
    /// Called for rows without a response.
    pub agent: Option<Arc<Agent>>,
    /// Call the agent for rows that have a response, too.
    pub regenerate: bool,
}

impl EvalOptions {
    /// `data` into the run directory `out`, with a new run id, the default
    /// selection, no agent, and everything else off.
    pub fn new(data: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Self {
        EvalOptions {
            data: data.into(),
            out: out.into(),
            resume: false,
            run_id: crate::results::time::new_run_id(),
            run_name: None,
            config_file: None,
            selection: Selection::Default,
            global_guidelines: Vec::new(),
            skip_invalid: false,
            csv: false,
            parquet: false,
            rows_in_flight: None,
            metadata: Map::new(),
            progress: Arc::new(Progress::default()),
            agent: None,
            regenerate: false,
        }
    }

    /// Rows judged at once by default: enough that the judges' endpoints
    /// (twice their concurrency, at least 16) and the agent stay busy.
    pub fn rows_in_flight_for(endpoint_concurrency: usize, agent_concurrency: usize) -> usize {
        (2 * endpoint_concurrency).max(16) + agent_concurrency
    }
}

/// Counters a progress display reads while the run goes on.
#[derive(Debug, Default)]
pub struct Progress {
    pub total_rows: AtomicU64,
    /// Rows finished, in this session and earlier ones.
    pub finished_rows: AtomicU64,
    pub failed_judgments: AtomicU64,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Finished,
    /// Stopped by the caller (Ctrl-C); finished rows are kept.
    Interrupted,
    /// An endpoint kept failing; finished rows are kept.
    EndpointDown(String),
}

impl Status {
    /// `finished`, `interrupted` or `endpoint_down`, as run.json says.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Finished => "finished",
            Status::Interrupted => "interrupted",
            Status::EndpointDown(_) => "endpoint_down",
        }
    }
}

/// What a run produced.
pub struct RunReport {
    pub out: PathBuf,
    pub status: Status,
    pub metrics: Metrics,
    pub total_rows: u64,
    /// Rows finished in earlier sessions of a resumed run.
    pub resumed_rows: u64,
    pub elapsed_seconds: f64,
}

impl RunReport {
    /// Why the run did not finish, if it did not, in the command line's
    /// words, saying how to continue (`data` is the evaluation set): it
    /// was interrupted or an endpoint went down (finished rows are kept),
    /// or the agent failed on every row, or every judgment failed.
    pub fn unfinished(&self, data: &Path) -> Option<String> {
        let metrics = &self.metrics;
        let resume = format!(
            "gavel eval {} --out {} --resume",
            data.display(),
            self.out.display()
        );
        match &self.status {
            Status::Finished => {}
            Status::Interrupted => {
                return Some(format!(
                    "interrupted with {} of {} rows finished; they are kept. Continue with: {resume}",
                    metrics.rows, self.total_rows
                ));
            }
            Status::EndpointDown(why) => {
                return Some(format!(
                    "{why}. The run stopped with {} of {} rows finished; they are kept. Once the endpoint is back, continue with: {resume}",
                    metrics.rows, self.total_rows
                ));
            }
        }
        let judged_rows = metrics.rows - metrics.invalid_rows;
        if judged_rows > 0 && metrics.agent_errors == judged_rows {
            return Some(format!(
                "the agent failed on every row, so the run did not finish; see agent/error_message in {}",
                self.out.join(crate::results::run_dir::RESULTS).display()
            ));
        }
        if metrics.judgments > 0 && metrics.failed_judgments == metrics.judgments {
            return Some(format!(
                "every judgment failed, so the run did not finish; the first error: {}",
                metrics.first_failure.as_deref().unwrap_or("unknown")
            ));
        }
        None
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The evaluation set cannot be read at all.
    #[error("{0}")]
    Dataset(DatasetError),
    /// Rows that cannot be read, without `skip_invalid`: nothing was judged.
    #[error("{} invalid row{} (nothing was evaluated; --skip-invalid records them as error rows instead):\n{}",
        .errors.len(), if .errors.len() == 1 { "" } else { "s" }, list(.errors))]
    InvalidRows { errors: Vec<DatasetError> },
    /// `resume` on a run of another dataset or other judges.
    #[error("cannot resume the run in {}: {why}", .out.display())]
    ResumeMismatch { out: PathBuf, why: String },
    #[error("{0}")]
    Output(#[from] OutputError),
}

fn list(errors: &[DatasetError]) -> String {
    const SHOWN: usize = 20;
    let mut text: Vec<String> = errors
        .iter()
        .take(SHOWN)
        .map(|e| format!("  {e}"))
        .collect();
    if errors.len() > SHOWN {
        text.push(format!("  ... and {} more", errors.len() - SHOWN));
    }
    text.join("\n")
}

/// What a first pass over the evaluation set found.
pub struct Validation {
    /// Each row's `request_id` (its index when it has none), in order.
    pub request_ids: Vec<String>,
    pub invalid: Vec<DatasetError>,
    /// SHA-256 of the file: a resumed run must see the same data.
    pub sha256: String,
}

/// Reads every record once, with `columns` mapped. An error about the
/// whole file (a mapped column no record has, too) comes back as `Err`.
pub fn validate(path: &Path, columns: &Arc<ColumnMap>) -> Result<Validation, DatasetError> {
    let mut request_ids = Vec::new();
    let mut invalid = Vec::new();
    let mut reserved_seen = false;
    let mut records = dataset::open(path)?.with_columns(columns.clone());
    for (index, record) in records.by_ref().enumerate() {
        match record {
            Ok(record) => {
                if !reserved_seen
                    && record
                        .fields
                        .keys()
                        .any(|k| crate::results::schema::is_reserved(k))
                {
                    reserved_seen = true;
                    tracing::warn!(
                        "{}, {}: fields named like gavel's outputs (response/..., retrieval/..., judge/..., agent/...) are not copied to the results",
                        path.display(),
                        record.position
                    );
                }
                request_ids.push(request_id(&record));
                if let Err(error) = record.row() {
                    invalid.push(DatasetError::field(path, &record, error));
                }
            }
            Err(error) => {
                request_ids.push(index.to_string());
                invalid.push(error);
            }
        }
    }
    if let Some(error) = records.missing_column() {
        return Err(error);
    }
    let sha256 = file_sha256(path).map_err(|e| DatasetError {
        file: path.to_owned(),
        position: None,
        field: None,
        message: format!("cannot read it: {e}"),
    })?;
    Ok(Validation {
        request_ids,
        invalid,
        sha256,
    })
}

/// The row's `request_id` as given, else its index.
fn request_id(record: &Record) -> String {
    match record.fields.get("request_id") {
        Some(Value::String(id)) => id.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => record.index.to_string(),
    }
}

/// The SHA-256 of a file, in hex: the fingerprint of data and configuration.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(gavel_runtime::digest::hex(&hasher.finalize()))
}

/// Runs the evaluation described by `options`, reading the data's
/// `columns` as their fields, until it finishes, an endpoint goes down, or
/// `interrupt` completes.
pub async fn run(
    host: &Host,
    judge_set: &JudgeSet,
    columns: &Arc<ColumnMap>,
    options: &EvalOptions,
    interrupt: impl Future<Output = ()>,
) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let data = options.data.clone();
    let mapped = columns.clone();
    let validation = tokio::task::spawn_blocking(move || validate(&data, &mapped))
        .await
        .expect("validation does not panic")
        .map_err(RunError::Dataset)?;
    if !validation.invalid.is_empty() && !options.skip_invalid {
        return Err(RunError::InvalidRows {
            errors: validation.invalid,
        });
    }
    if options.selection.names_latency() && options.agent.is_none() {
        // Not an error: rows with a trace carry their latency.
        tracing::warn!(
            "`latency` is measured from the agent's calls and from the rows' traces, and no agent is given: only rows whose trace says how long it took have one (the others say so under skipped_judges)"
        );
    }
    let total_rows = validation.request_ids.len() as u64;
    let judges = judges_metadata(judge_set, &options.selection);
    let mut metrics = Metrics::default();
    metrics.set_run_checks(&judges);
    let mut finished_ids = Vec::new();
    let (mut dir, mut metadata) = if options.resume {
        let (dir, previous) = RunWriter::resume(&options.out, |row| {
            metrics.add(row);
            finished_ids.push(row_result::request_id_of(row));
        })?;
        check_resumable(options, &previous, &validation, &judges, &finished_ids)?;
        let mapping = match columns.is_empty() {
            true => Value::Null,
            false => columns.to_json(),
        };
        if previous.get("columns").unwrap_or(&Value::Null) != &mapping {
            return Err(RunError::ResumeMismatch {
                out: options.out.clone(),
                why: "its column mapping differs from this command's (compare run.json's \"columns\")".to_owned(),
            });
        }
        let Value::Object(mut metadata) = previous else {
            unreachable!("checked to be an object")
        };
        metadata.extend(setup_metadata(host, options)?);
        metadata.extend(options.metadata.clone());
        (dir, metadata)
    } else {
        let dir = RunWriter::create(&options.out)?;
        let mut metadata = setup_metadata(host, options)?;
        metadata.extend(options.metadata.clone());
        metadata.insert("run_id".into(), json!(options.run_id));
        metadata.insert(
            "started_at".into(),
            json!(crate::results::time::utc_timestamp()),
        );
        metadata.insert("dataset".into(), json!(options.data.display().to_string()));
        metadata.insert("dataset_sha256".into(), json!(validation.sha256));
        if !columns.is_empty() {
            metadata.insert("columns".into(), columns.to_json());
        }
        metadata.insert("rows".into(), json!(total_rows));
        metadata.insert("judges".into(), judges);
        metadata.insert("agent".into(), agent_metadata(options));
        (dir, metadata)
    };
    let resumed_rows = finished_ids.len() as u64;
    let session_started = crate::results::time::utc_timestamp();
    metadata.insert("status".into(), json!("running"));
    dir.write_json(run_dir::RUN, &Value::Object(metadata.clone()))?;

    let progress = &options.progress;
    progress.total_rows.store(total_rows, Ordering::Relaxed);
    progress
        .finished_rows
        .store(resumed_rows, Ordering::Relaxed);
    let llm = host.llm();
    let rows_in_flight = options.rows_in_flight.unwrap_or_else(|| {
        EvalOptions::rows_in_flight_for(
            llm.max_concurrency().unwrap_or(1),
            options
                .agent
                .as_ref()
                .map_or(0, |a| a.spec().max_concurrency),
        )
    });
    let records = dataset::open(&options.data)
        .map_err(RunError::Dataset)?
        .with_columns(columns.clone());
    let data = options.data.as_path();
    let mut results = futures::stream::iter(records.enumerate().skip(finished_ids.len()))
        .map(|(index, record)| async move {
            let record = match record {
                Err(error) => {
                    return RowResult {
                        index,
                        fields: Map::new(),
                        supplied: Supplied::default(),
                        outcome: RowOutcome::Invalid(error.to_string()),
                    };
                }
                Ok(record) => record,
            };
            let index = record.index;
            let mut row = match record.row() {
                Err(error) => {
                    return RowResult {
                        index,
                        outcome: RowOutcome::Invalid(
                            DatasetError::field(data, &record, error).to_string(),
                        ),
                        fields: record.fields,
                        supplied: Supplied::default(),
                    };
                }
                Ok(row) => row,
            };
            let fields = record.fields;
            let mut supplied = Supplied::default();
            let mut agent_measures = judge_row::read_trace(&mut row, &mut supplied);
            let agent = options.agent.as_deref();
            if let Some(agent) = agent.filter(|_| row.response.is_none() || options.regenerate) {
                match judge_row::ask_agent(agent, &mut row, &fields, &mut supplied).await {
                    Ok(measures) => agent_measures = measures,
                    Err(message) => {
                        return RowResult {
                            index,
                            fields,
                            supplied,
                            outcome: RowOutcome::AgentFailed {
                                request_id: row.request_id,
                                message,
                            },
                        };
                    }
                }
            }
            let judged = judge_row::judge(
                host,
                judge_set,
                &options.selection,
                row,
                &options.global_guidelines,
                agent_measures,
            )
            .await;
            RowResult {
                index,
                fields,
                supplied,
                outcome: RowOutcome::Judged(judged),
            }
        })
        .buffered(rows_in_flight.max(1));

    let mut status = Status::Finished;
    let mut held: Vec<Map<String, Value>> = Vec::new();
    let mut interrupt = std::pin::pin!(interrupt);
    loop {
        let result = tokio::select! {
            _ = &mut interrupt => {
                status = Status::Interrupted;
                break;
            }
            next = results.next() => match next {
                Some(result) => result,
                None => break,
            },
        };
        if let Some(why) = llm
            .halted()
            .or_else(|| options.agent.as_ref().and_then(|a| a.halted()))
        {
            status = Status::EndpointDown(why);
            break;
        }
        let line = result.to_json();
        let failed = result.failed_judgments();
        progress
            .failed_judgments
            .fetch_add(failed, Ordering::Relaxed);
        // Rows go out in input order, so a row after a held one waits too,
        // until the endpoint answers again (the failures were isolated). A
        // row that finished cleanly says nothing about the endpoint: its
        // calls may have been answered before the failures.
        let waiting = !held.is_empty();
        let agent_failing = options.agent.as_ref().is_some_and(|a| a.failing());
        if (llm.failing() && (failed > 0 || waiting))
            || (agent_failing && (result.agent_failed() || waiting))
        {
            held.push(line);
            continue;
        }
        for row in held.drain(..).chain(std::iter::once(line)) {
            dir.write_row(&row)?;
            metrics.add(&row);
            progress.finished_rows.fetch_add(1, Ordering::Relaxed);
        }
    }
    drop(results);
    if let Some(agent) = &options.agent {
        agent.shutdown().await;
    }
    if status == Status::Finished {
        // The failures were isolated after all.
        for row in held.drain(..) {
            dir.write_row(&row)?;
            metrics.add(&row);
            progress.finished_rows.fetch_add(1, Ordering::Relaxed);
        }
    }

    let elapsed_seconds = started.elapsed().as_secs_f64();
    dir.write_json(run_dir::METRICS, &Value::Object(metrics.to_json()))?;
    if options.csv && status == Status::Finished {
        dir.write_csv()?;
    }
    if options.parquet && status == Status::Finished {
        dir.write_parquet()?;
    }
    let stats = llm.stats();
    let sessions = metadata
        .entry("sessions")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(sessions) = sessions {
        sessions.push(json!({
            "started_at": session_started,
            "finished_at": crate::results::time::utc_timestamp(),
            "elapsed_seconds": elapsed_seconds,
            "status": status.as_str(),
            "rows_finished": metrics.rows - resumed_rows,
            "llm_calls_sent": stats.sent,
            "llm_calls_cached": stats.cached,
            "llm_calls_failed": stats.failed,
            "llm_tokens": stats.tokens,
        }));
    }
    // What each endpoint accepted, so the next run (and a reader) knows.
    for (alias, mode) in llm.structured_output() {
        let endpoints = metadata
            .entry("endpoints")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(endpoints) = endpoints {
            let endpoint = endpoints
                .entry(alias)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(endpoint) = endpoint {
                endpoint.insert("structured_output".into(), json!(mode.as_str()));
            }
        }
    }
    metadata.insert("status".into(), json!(status.as_str()));
    metadata.insert("finished_rows".into(), json!(metrics.rows));
    metadata.insert("invalid_rows".into(), json!(metrics.invalid_rows));
    dir.write_json(run_dir::RUN, &Value::Object(metadata))?;
    // The report is made from what is on disk, so it also shows the rows of
    // earlier sessions.
    dir.flush()?;
    report::write(dir.path()).map_err(|source| OutputError::Io {
        path: dir.path().join(report::REPORT),
        source,
    })?;
    Ok(RunReport {
        out: dir.path().to_owned(),
        status,
        metrics,
        total_rows,
        resumed_rows,
        elapsed_seconds,
    })
}

/// A run continues only over the same data, with the same judges, and
/// only where its finished rows are the first rows of that data.
fn check_resumable(
    options: &EvalOptions,
    previous: &Value,
    validation: &Validation,
    judges: &Value,
    finished_ids: &[String],
) -> Result<(), RunError> {
    let mismatch = |why: String| RunError::ResumeMismatch {
        out: options.out.clone(),
        why,
    };
    if !previous.is_object() {
        return Err(mismatch("its run.json is not an object".to_owned()));
    }
    if previous["dataset_sha256"] != json!(validation.sha256) {
        return Err(mismatch(format!(
            "{} is not the data it started with ({})",
            options.data.display(),
            previous["dataset"].as_str().unwrap_or("unknown")
        )));
    }
    if previous.get("agent").unwrap_or(&Value::Null) != &agent_metadata(options) {
        return Err(mismatch(
            "its agent differs from this command's (compare run.json's \"agent\")".to_owned(),
        ));
    }
    if &previous["judges"] != judges {
        return Err(mismatch(
            "its judges or their settings differ from this command's (compare run.json's \"judges\")".to_owned(),
        ));
    }
    if finished_ids.len() > validation.request_ids.len() {
        return Err(mismatch(
            "it has more results than the data has rows".to_owned(),
        ));
    }
    if let Some(i) = (0..finished_ids.len()).find(|&i| finished_ids[i] != validation.request_ids[i])
    {
        return Err(mismatch(format!(
            "result {} is for request_id '{}' but row {} of the data is '{}'",
            i + 1,
            finished_ids[i],
            i + 1,
            validation.request_ids[i]
        )));
    }
    Ok(())
}

/// What run.json records about how the run was set up: its name, gavel's
/// version, the configuration file and its SHA-256, the endpoints.
fn setup_metadata(host: &Host, options: &EvalOptions) -> Result<Map<String, Value>, RunError> {
    let mut metadata = Map::new();
    if let Some(name) = &options.run_name {
        metadata.insert("name".into(), json!(name));
    }
    metadata.insert("gavel_version".into(), json!(env!("CARGO_PKG_VERSION")));
    let config_sha256 = match &options.config_file {
        Some(path) => Some(file_sha256(path).map_err(|source| {
            RunError::Output(OutputError::Io {
                path: path.clone(),
                source,
            })
        })?),
        None => None,
    };
    metadata.insert("config_sha256".into(), json!(config_sha256));
    metadata.insert(
        "config".into(),
        json!(
            options
                .config_file
                .as_ref()
                .map(|p| p.display().to_string())
        ),
    );
    let endpoints: Map<String, Value> = host
        .llm()
        .endpoint_summaries()
        .into_iter()
        .map(|e| (e.alias, json!({"base_url": e.base_url, "model": e.model})))
        .collect();
    metadata.insert("endpoints".into(), Value::Object(endpoints));
    Ok(metadata)
}

/// The agent a run calls, and when.
fn agent_metadata(options: &EvalOptions) -> Value {
    match &options.agent {
        None => Value::Null,
        Some(agent) => {
            let mut described = agent.spec().describe();
            described["regenerate"] = json!(options.regenerate);
            described
        }
    }
}

/// The judges a run may use, with versions and sources.
fn judges_metadata(judge_set: &JudgeSet, selection: &Selection) -> Value {
    selection
        .checks(judge_set)
        .iter()
        .map(|check| match check {
            Check::Judge(judge) => json!({
                "name": judge.name(),
                "plugin": judge.plugin().name(),
                "version": judge.plugin().version(),
                "sha256": judge.plugin().sha256(),
                "source": source_of(judge),
                "threshold": judge.threshold(),
            }),
            Check::Metric(metric) => json!({
                "name": metric.name(),
                "plugin": metric.plugin().name(),
                "version": metric.plugin().version(),
                "sha256": metric.plugin().sha256(),
                "source": metric_source_of(metric),
            }),
            other => json!({"name": other.name(), "source": "built-in metric"}),
        })
        .collect()
}
