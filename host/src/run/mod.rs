//! `gavel eval`: an evaluation set through the selected judges, into a run
//! directory.
//!
//! 1. Every record is read and validated first, so a bad row stops the run
//!    before any LLM call (or, with `skip_invalid`, becomes an error row).
//! 2. Rows stream through the judges, a bounded number at a time, each row's
//!    judgments concurrently; results are written in input order as they
//!    complete, and metrics are accumulated as they go.

pub mod gate;
pub mod metrics;
pub mod output;
pub mod row;

use std::path::{Path, PathBuf};
use std::time::Instant;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::dataset::{self, DatasetError};
use crate::host::Host;
use crate::registry::{Registry, source_of};
use crate::row::GuidelineGroup;
use crate::selection::{Check, Selection};
use metrics::Metrics;
use output::{OutputError, RunDir};
use row::{RowOutcome, RowResult};

/// How to run an evaluation.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub data: PathBuf,
    /// The run directory itself.
    pub out: PathBuf,
    pub run_id: String,
    pub selection: Selection,
    /// From the configuration and `--guideline`.
    pub global_guidelines: Vec<GuidelineGroup>,
    /// Record unreadable rows as error rows instead of stopping.
    pub skip_invalid: bool,
    pub csv: bool,
    /// Rows being judged at once.
    pub rows_in_flight: usize,
    /// Written to `run.json`, for the record.
    pub metadata: serde_json::Map<String, Value>,
}

/// What a finished run produced.
pub struct RunReport {
    pub out: PathBuf,
    pub metrics: Metrics,
    pub elapsed_seconds: f64,
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

/// Reads every record once: how many there are, and those that cannot be
/// read. An error about the whole file comes back as `Err`.
pub fn validate(path: &Path) -> Result<(usize, Vec<DatasetError>), DatasetError> {
    let mut rows = 0;
    let mut invalid = Vec::new();
    for record in dataset::open(path)? {
        rows += 1;
        match record {
            Ok(record) => {
                if let Err(error) = record.row() {
                    invalid.push(DatasetError::field(path, &record, error));
                }
            }
            Err(error) => invalid.push(error),
        }
    }
    Ok((rows, invalid))
}

/// Runs the evaluation described by `options`.
pub async fn run(
    host: &Host,
    registry: &Registry,
    options: &EvalOptions,
) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let data = options.data.clone();
    let (rows, invalid) = tokio::task::spawn_blocking(move || validate(&data))
        .await
        .expect("validation does not panic")
        .map_err(RunError::Dataset)?;
    if !invalid.is_empty() && !options.skip_invalid {
        return Err(RunError::InvalidRows { errors: invalid });
    }
    let mut dir = RunDir::create(&options.out)?;
    let mut metadata = options.metadata.clone();
    metadata.insert("run_id".into(), json!(options.run_id));
    metadata.insert("started_at".into(), json!(crate::run_id::utc_timestamp()));
    metadata.insert("dataset".into(), json!(options.data.display().to_string()));
    metadata.insert("rows".into(), json!(rows));
    metadata.insert(
        "judges".into(),
        judges_metadata(registry, &options.selection),
    );
    metadata.insert("status".into(), json!("running"));
    dir.write_json(output::RUN, &Value::Object(metadata.clone()))?;

    let records = dataset::open(&options.data).map_err(RunError::Dataset)?;
    let data = options.data.as_path();
    let mut results = futures::stream::iter(records)
        .map(|record| async move {
            match record {
                Err(error) => RowResult {
                    fields: Default::default(),
                    outcome: RowOutcome::Invalid(error.to_string()),
                },
                Ok(record) => match record.row() {
                    Err(error) => RowResult {
                        outcome: RowOutcome::Invalid(
                            DatasetError::field(data, &record, error).to_string(),
                        ),
                        fields: record.fields,
                    },
                    Ok(row) => {
                        let judged = row::evaluate(
                            host,
                            registry,
                            &options.selection,
                            row,
                            &options.global_guidelines,
                        )
                        .await;
                        RowResult {
                            fields: record.fields,
                            outcome: RowOutcome::Judged(judged),
                        }
                    }
                },
            }
        })
        .buffered(options.rows_in_flight.max(1));
    let mut metrics = Metrics::default();
    while let Some(result) = results.next().await {
        dir.write_row(&result.to_json())?;
        metrics.add(&result);
    }
    drop(results);

    let elapsed_seconds = started.elapsed().as_secs_f64();
    dir.write_json(output::METRICS, &Value::Object(metrics.to_json()))?;
    if options.csv {
        dir.write_csv()?;
    }
    metadata.insert("finished_at".into(), json!(crate::run_id::utc_timestamp()));
    metadata.insert("elapsed_seconds".into(), json!(elapsed_seconds));
    metadata.insert("invalid_rows".into(), json!(metrics.invalid_rows));
    metadata.insert("status".into(), json!("finished"));
    dir.write_json(output::RUN, &Value::Object(metadata))?;
    Ok(RunReport {
        out: dir.path().to_owned(),
        metrics,
        elapsed_seconds,
    })
}

/// The judges a run may use, with versions and sources.
fn judges_metadata(registry: &Registry, selection: &Selection) -> Value {
    let judges: Vec<_> = match selection {
        Selection::Named(checks) => checks.clone(),
        Selection::Default => registry
            .judges()
            .iter()
            .filter(|j| j.name() != "answer_similarity")
            .cloned()
            .map(Check::Judge)
            .collect(),
    };
    judges
        .iter()
        .map(|check| match check {
            Check::Judge(judge) => json!({
                "name": judge.name(),
                "plugin": judge.plugin().name(),
                "version": judge.plugin().version(),
                "source": source_of(judge),
                "threshold": judge.threshold(),
            }),
            other => json!({"name": other.name(), "source": "built-in metric"}),
        })
        .collect()
}
