//! What `gavel.spark` needs from the library beside a run: the rows of a
//! data file checked before any task judges them, the metrics of result
//! rows (computed as a run computes them, so a Spark run's equal a single
//! machine's), and a run directory assembled from many tasks' results
//! finished as a run finishes its own (metrics.json, eval_results.csv,
//! report.html, the run history).

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use gavel::evaluation::dataset::Position;
use gavel::evaluation::run::validate;
use gavel::results::metrics::Metrics;
use gavel::results::run_dir::{METRICS, OutputError, RunWriter};
use pyo3::prelude::*;
use serde_json::{Map, Value, json};

use crate::{InputError, RunError};

/// Adds this module's functions to `gavel._gavel`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(metrics_of, m)?)?;
    m.add_function(wrap_pyfunction!(check_rows, m)?)?;
    m.add_function(wrap_pyfunction!(finish_run, m)?)?;
    Ok(())
}

/// Result rows counted into metrics, with the columns they hold.
struct Tally {
    metrics: Metrics,
    /// Every column of every row, in first-seen order.
    columns: Vec<String>,
    seen: HashSet<String>,
}

impl Tally {
    fn new() -> Self {
        Tally {
            metrics: Metrics::default(),
            columns: Vec::new(),
            seen: HashSet::new(),
        }
    }

    /// Counts one result row, as the run counts each row it writes.
    fn add(&mut self, row: &Map<String, Value>) {
        self.metrics.add(row);
        for column in row.keys() {
            if !self.seen.contains(column) {
                self.seen.insert(column.clone());
                self.columns.push(column.clone());
            }
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "metrics": Value::Object(self.metrics.to_json()),
            "columns": self.columns,
            "rows": self.metrics.rows,
            "invalid_rows": self.metrics.invalid_rows,
            "agent_errors": self.metrics.agent_errors,
            "judgments": self.metrics.judgments,
            "failed_judgments": self.metrics.failed_judgments,
        })
    }
}

/// Reads a results file (JSON lines, blank lines skipped) in order into a
/// [`Tally`]; a line that is not a JSON object is an error naming it.
fn tally_file(path: &Path) -> Result<Tally, String> {
    let file = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut tally = Tally::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let row: Map<String, Value> = serde_json::from_str(&line)
            .map_err(|e| format!("{}, line {}: {e}", path.display(), i + 1))?;
        tally.add(&row);
    }
    Ok(tally)
}

/// The metrics of the result rows in `results` (an `eval_results.jsonl`),
/// as JSON with the names of metrics.json: every row counted in file
/// order, exactly as a run counts the rows it writes.
#[pyfunction]
pub fn metrics_of(py: Python<'_>, results: PathBuf) -> PyResult<String> {
    let tally = py
        .detach(|| tally_file(&results))
        .map_err(InputError::new_err)?;
    Ok(Value::Object(tally.metrics.to_json()).to_string())
}

/// Checks every record of the data file `data` as a run does before it
/// judges anything. Returns JSON: `rows` (the number of records) and
/// `invalid`, one `{line, element, row, field, message}` per bad record
/// (`line` 1-based for JSONL and CSV, `element` 0-based in a JSON array,
/// `row` 1-based in a Parquet file).
/// A file that cannot be read at all raises InputError.
#[pyfunction]
pub fn check_rows(py: Python<'_>, data: PathBuf) -> PyResult<String> {
    let validation = py
        .detach(|| validate(&data, &Default::default()))
        .map_err(|e| InputError::new_err(e.to_string()))?;
    let invalid: Vec<Value> = validation
        .invalid
        .iter()
        .map(|error| {
            let (line, element, row) = match error.position {
                Some(Position::Line(line)) => (Some(line), None, None),
                Some(Position::Element(index)) => (None, Some(index), None),
                Some(Position::Row(row)) => (None, None, Some(row)),
                None => (None, None, None),
            };
            json!({
                "line": line,
                "element": element,
                "row": row,
                "field": error.field,
                "message": error.message,
            })
        })
        .collect();
    Ok(json!({"rows": validation.request_ids.len(), "invalid": invalid}).to_string())
}

/// Finishes the run directory `run_dir`, whose `eval_results.jsonl` and
/// `run.json` were written outside a run (by `gavel.spark`, from its
/// tasks' results): writes `metrics.json` from the rows (as
/// [`metrics_of`]), `eval_results.csv` when `csv`, `report.html`, and
/// records the run in the run history when `history`. Returns JSON:
/// `metrics`, `columns` (every result column in first-seen order),
/// `rows`, `invalid_rows`, `agent_errors`, `judgments`,
/// `failed_judgments`.
#[pyfunction]
#[pyo3(signature = (run_dir, *, csv=false, history=false))]
pub fn finish_run(py: Python<'_>, run_dir: PathBuf, csv: bool, history: bool) -> PyResult<String> {
    let summary = py.detach(|| finish(&run_dir, csv, history))?;
    Ok(summary.to_string())
}

fn finish(run_dir: &Path, csv: bool, history: bool) -> PyResult<Value> {
    let output_error = |error: OutputError| RunError::new_err(error.to_string());
    let mut tally = Tally::new();
    // Reopened as a run resumes: the rows are read back in order and a
    // torn last line (none is expected) dropped.
    let (mut writer, run) =
        RunWriter::resume(run_dir, |row| tally.add(row)).map_err(output_error)?;
    // The checks the run named decide some statistics (`latency`'s).
    tally.metrics.set_run_checks(&run["judges"]);
    writer
        .write_json(METRICS, &Value::Object(tally.metrics.to_json()))
        .map_err(output_error)?;
    if csv {
        writer.write_csv().map_err(output_error)?;
    }
    writer.flush().map_err(output_error)?;
    gavel::results::report::write(run_dir).map_err(|e| {
        RunError::new_err(format!(
            "cannot write {}: {e}",
            run_dir.join(gavel::results::report::REPORT).display()
        ))
    })?;
    if history {
        crate::run::record_in_history(run_dir);
    }
    Ok(tally.to_json())
}
