//! The run directory: `eval_results.jsonl` (appended row by row, so
//! finished rows survive an interruption), `metrics.json`, `run.json`, and
//! `eval_results.csv` and `eval_results.parquet` on request, and
//! `report.html`; `alignment.json` once
//! `gavel align` has compared it with human labels.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use indexmap::IndexSet;
use serde_json::{Map, Value};

pub const RESULTS: &str = "eval_results.jsonl";
pub const METRICS: &str = "metrics.json";
pub const RUN: &str = "run.json";
pub const CSV: &str = "eval_results.csv";
pub const PARQUET: &str = "eval_results.parquet";
/// The run's agreement with human labels, written by `gavel align`.
pub const ALIGNMENT: &str = "alignment.json";

/// A result row with its 1-based line number in `eval_results.jsonl`.
pub type NumberedRow = (u64, Result<Map<String, Value>, ReadError>);

/// A run directory, for reading: every reader of a run (report, compare,
/// JUnit, the run history, MLflow, `gavel runs`) goes through this.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
}

/// A file of a run directory that cannot be read; the message names it
/// (and the line, for a result row).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ReadError {
    pub message: String,
}

impl ReadError {
    fn new(message: String) -> Self {
        ReadError { message }
    }
}

impl RunDir {
    /// The run directory at `path`. Nothing is read until asked for.
    pub fn open(path: &Path) -> RunDir {
        RunDir {
            path: path.to_owned(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `run.json`: what ran, on what, and how it ended.
    pub fn run(&self) -> Result<Map<String, Value>, ReadError> {
        self.object(RUN)
    }

    /// `metrics.json`.
    pub fn metrics(&self) -> Result<Map<String, Value>, ReadError> {
        self.object(METRICS)
    }

    /// The result rows of `eval_results.jsonl`, in order, streamed; a line
    /// that is not a JSON object (the torn last line of a killed run) is an
    /// `Err` naming file and line, which a reader may skip.
    pub fn rows(
        &self,
    ) -> Result<impl Iterator<Item = Result<Map<String, Value>, ReadError>>, ReadError> {
        Ok(self.numbered_rows()?.map(|(_, row)| row))
    }

    /// [`rows`](Self::rows) with each row's 1-based line number, for
    /// readers whose messages point into the file.
    pub fn numbered_rows(&self) -> Result<impl Iterator<Item = NumberedRow>, ReadError> {
        let path = self.path.join(RESULTS);
        let file = File::open(&path)
            .map_err(|e| ReadError::new(format!("cannot read {}: {e}", path.display())))?;
        Ok(BufReader::new(file)
            .lines()
            .enumerate()
            .filter(|(_, line)| line.as_ref().map_or(true, |l| !l.trim().is_empty()))
            .map(move |(i, line)| {
                let number = i as u64 + 1;
                let at = |message: String| {
                    ReadError::new(format!("{}, line {number}: {message}", path.display()))
                };
                let row =
                    line.map_err(|e| at(e.to_string())).and_then(
                        |line| match serde_json::from_str(&line) {
                            Ok(Value::Object(row)) => Ok(row),
                            Ok(_) => Err(at("not an object".to_owned())),
                            Err(e) => Err(at(e.to_string())),
                        },
                    );
                (number, row)
            }))
    }

    /// `alignment.json`, when `gavel align` has compared the run with human
    /// labels.
    pub fn alignment(&self) -> Result<Option<Map<String, Value>>, ReadError> {
        if !self.path.join(ALIGNMENT).exists() {
            return Ok(None);
        }
        self.object(ALIGNMENT).map(Some)
    }

    /// A JSON object file of the run directory.
    fn object(&self, name: &str) -> Result<Map<String, Value>, ReadError> {
        let path = self.path.join(name);
        let text = fs::read_to_string(&path)
            .map_err(|e| ReadError::new(format!("cannot read {}: {e}", path.display())))?;
        match serde_json::from_str(&text) {
            Ok(Value::Object(object)) => Ok(object),
            Ok(_) => Err(ReadError::new(format!(
                "{} is not a JSON object",
                path.display()
            ))),
            Err(e) => Err(ReadError::new(format!("{}: {e}", path.display()))),
        }
    }
}

/// Writes a run directory as the run goes.
pub struct RunWriter {
    path: PathBuf,
    results: BufWriter<File>,
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "{0} already holds the results of a run; continue it with --resume, or choose another --out"
    )]
    Exists(PathBuf),
    #[error("{0} holds no run to resume (no {RUN} and {RESULTS})")]
    NothingToResume(PathBuf),
    #[error("{path}, line {line}: {message}; the results cannot be resumed")]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_error(path: &Path) -> impl Fn(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_owned(),
        source,
    }
}

impl RunWriter {
    /// Creates `path` (and its parents). A directory that already has
    /// results is refused rather than mixed into.
    pub fn create(path: &Path) -> Result<RunWriter, OutputError> {
        let results = path.join(RESULTS);
        if results.exists() {
            return Err(OutputError::Exists(path.to_owned()));
        }
        fs::create_dir_all(path).map_err(io_error(path))?;
        let file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&results)
            .map_err(io_error(&results))?;
        Ok(RunWriter {
            path: path.to_owned(),
            results: BufWriter::new(file),
        })
    }

    /// Reopens `path` to continue its run: hands every finished row to
    /// `each`, drops a last line cut short by a crash, and appends after the
    /// rest. Returns the run's `run.json`.
    pub fn resume(
        path: &Path,
        mut each: impl FnMut(&Map<String, Value>),
    ) -> Result<(RunWriter, Value), OutputError> {
        let results = path.join(RESULTS);
        let meta = path.join(RUN);
        if !results.exists() || !meta.exists() {
            return Err(OutputError::NothingToResume(path.to_owned()));
        }
        let run: Value = serde_json::from_slice(&fs::read(&meta).map_err(io_error(&meta))?)
            .map_err(|e| OutputError::Corrupt {
                path: meta.clone(),
                line: e.line(),
                message: e.to_string(),
            })?;
        let file = File::open(&results).map_err(io_error(&results))?;
        let mut reader = BufReader::new(file);
        let mut good_bytes = 0u64;
        let mut line = String::new();
        let mut number = 0;
        loop {
            line.clear();
            let read = reader.read_line(&mut line).map_err(io_error(&results))?;
            if read == 0 {
                break;
            }
            number += 1;
            let complete = line.ends_with('\n');
            match serde_json::from_str::<Map<String, Value>>(line.trim_end()) {
                Ok(row) if complete => {
                    each(&row);
                    good_bytes += read as u64;
                }
                // The last line of a killed run may be cut short: drop it.
                _ if !complete => break,
                Ok(_) => unreachable!("complete lines are handled above"),
                Err(e) => {
                    return Err(OutputError::Corrupt {
                        path: results,
                        line: number,
                        message: e.to_string(),
                    });
                }
            }
        }
        let file = OpenOptions::new()
            .write(true)
            .open(&results)
            .map_err(io_error(&results))?;
        file.set_len(good_bytes).map_err(io_error(&results))?;
        let file = OpenOptions::new()
            .append(true)
            .open(&results)
            .map_err(io_error(&results))?;
        Ok((
            RunWriter {
                path: path.to_owned(),
                results: BufWriter::new(file),
            },
            run,
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a row and flushes it to the file.
    pub fn write_row(&mut self, row: &Map<String, Value>) -> Result<(), OutputError> {
        let path = self.path.join(RESULTS);
        serde_json::to_writer(&mut self.results, row).map_err(|e| io_error(&path)(e.into()))?;
        self.results.write_all(b"\n").map_err(io_error(&path))?;
        self.results.flush().map_err(io_error(&path))
    }

    pub fn write_json(&self, name: &str, value: &Value) -> Result<(), OutputError> {
        let path = self.path.join(name);
        let mut text =
            serde_json::to_string_pretty(value).map_err(|e| io_error(&path)(e.into()))?;
        text.push('\n');
        let mut tmp = tempfile::NamedTempFile::new_in(&self.path).map_err(io_error(&path))?;
        tmp.write_all(text.as_bytes()).map_err(io_error(&path))?;
        tmp.persist(&path).map_err(|e| io_error(&path)(e.error))?;
        Ok(())
    }

    /// Writes what is buffered to the file (before a reader reads it).
    pub fn flush(&mut self) -> Result<(), OutputError> {
        self.results
            .flush()
            .map_err(io_error(&self.path.join(RESULTS)))
    }

    /// `eval_results.csv` from `eval_results.jsonl`: the columns of every
    /// row in first-seen order; lists and objects as JSON text. Reads the
    /// results twice instead of holding them.
    pub fn write_csv(&self) -> Result<PathBuf, OutputError> {
        let results = self.path.join(RESULTS);
        let rows = || -> Result<_, OutputError> {
            let file = File::open(&results).map_err(io_error(&results))?;
            Ok(BufReader::new(file).lines().map(|line| {
                let line = line.map_err(io_error(&results))?;
                serde_json::from_str::<Map<String, Value>>(&line)
                    .map_err(|e| io_error(&results)(e.into()))
            }))
        };
        let mut columns: IndexSet<String> = IndexSet::new();
        for row in rows()? {
            columns.extend(row?.keys().cloned());
        }
        let path = self.path.join(CSV);
        let mut writer = csv::Writer::from_path(&path).map_err(|e| io_error(&path)(e.into()))?;
        writer
            .write_record(columns.iter().map(|c| csv_text(c)))
            .map_err(|e| io_error(&path)(e.into()))?;
        for row in rows()? {
            let row = row?;
            let cells = columns.iter().map(|column| match row.get(column) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(text)) => csv_text(text),
                // Numbers, booleans and JSON text: gavel's own, left as
                // they are so that `-0.5` stays a number.
                Some(other) => other.to_string(),
            });
            writer
                .write_record(cells)
                .map_err(|e| io_error(&path)(e.into()))?;
        }
        writer.flush().map_err(io_error(&path))?;
        Ok(path)
    }

    /// `eval_results.parquet` from `eval_results.jsonl`, with typed, nested
    /// columns (see [`crate::results::parquet`]).
    pub fn write_parquet(&self) -> Result<PathBuf, OutputError> {
        crate::results::parquet::write(&self.path)
    }
}

/// A text cell, guarded against formula injection as OWASP recommends: a
/// spreadsheet would run a cell starting with `=`, `+`, `-` or `@` (or a tab
/// or carriage return before one) as a formula, so such a cell gets a
/// leading `'`, which spreadsheets show as text.
fn csv_text(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_text_cells_that_spreadsheets_would_run_are_quoted_numbers_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut run = RunWriter::create(dir.path()).unwrap();
        let mut row = Map::new();
        for (key, value) in [
            ("=cmd", serde_json::json!("=HYPERLINK(\"http://x\")")),
            ("plus", serde_json::json!("+1")),
            ("minus", serde_json::json!("-2+3")),
            ("at", serde_json::json!("@SUM(A1)")),
            ("tab", serde_json::json!("\t=1")),
            ("cr", serde_json::json!("\r=1")),
            ("plain", serde_json::json!("a=b")),
            ("number", serde_json::json!(-0.5)),
            ("list", serde_json::json!(["=x"])),
        ] {
            row.insert(key.to_owned(), value);
        }
        run.write_row(&row).unwrap();
        let path = run.write_csv().unwrap();
        let mut reader = csv::Reader::from_path(path).unwrap();
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(header[0], "'=cmd");
        let record = reader.records().next().unwrap().unwrap();
        let cells: Vec<&str> = record.iter().collect();
        assert_eq!(
            cells,
            [
                "'=HYPERLINK(\"http://x\")",
                "'+1",
                "'-2+3",
                "'@SUM(A1)",
                "'\t=1",
                "'\r=1",
                "a=b",
                "-0.5",
                "[\"=x\"]"
            ]
        );
    }
}
