//! Evaluation sets on disk: JSONL (one object per line), JSON (an array of
//! objects), CSV (cells of list and object fields hold JSON text) and
//! Parquet (nested columns; see `parquet`).
//!
//! JSONL, CSV and Parquet are read as streams (Parquet a bounded batch of
//! rows at a time); a JSON array is read whole. Every record knows where it
//! came from, so a bad row is reported with its file, line (or array
//! element, or Parquet row) and field.

pub(crate) mod arrow_value;
mod parquet;

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use std::sync::Arc;

use crate::evaluation::columns::{ColumnMap, ColumnsSeen};
use crate::evaluation::input::{FieldError, Row, row_from_json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Json,
    Csv,
    Parquet,
}

impl Format {
    /// From the file name: `.jsonl`/`.ndjson`, `.json`, `.csv`,
    /// `.parquet`/`.pq`.
    pub fn of_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "parquet" | "pq" => Some(Format::Parquet),
            _ => None,
        }
    }
}

/// Where a record is in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// 1-based line (JSONL; for CSV the line the record starts on).
    Line(u64),
    /// 0-based index in a JSON array.
    Element(usize),
    /// 1-based row of a Parquet file (row 1 is pandas' `df.iloc[0]`).
    Row(u64),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Line(line) => write!(f, "line {line}"),
            Position::Element(index) => write!(f, "element {index}"),
            Position::Row(row) => write!(f, "row {row}"),
        }
    }
}

/// One record of the set: its fields as given, and where it is.
#[derive(Debug, Clone)]
pub struct Record {
    /// 0-based index among the records (the default `request_id`).
    pub index: usize,
    pub position: Position,
    /// The fields as read, in file order; CSV cells of structured fields
    /// are parsed JSON. Mapped columns have their fields' names.
    pub fields: Map<String, Value>,
    /// The column mapping the record was read with, if any.
    pub columns: Option<Arc<ColumnMap>>,
}

impl Record {
    /// The normalised row; an error names the field (by the column it was
    /// read from, when mapped).
    pub fn row(&self) -> Result<Row, FieldError> {
        row_from_json(self.fields.clone(), self.index).map_err(|error| match &self.columns {
            Some(columns) => columns.name_column(error),
            None => error,
        })
    }
}

/// A problem with the evaluation set, naming the file, position and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DatasetError {
    pub file: PathBuf,
    pub position: Option<Position>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for DatasetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(position) = self.position {
            write!(f, ", {position}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl DatasetError {
    fn whole(file: &Path, message: impl Into<String>) -> Self {
        DatasetError {
            file: file.to_owned(),
            position: None,
            field: None,
            message: message.into(),
        }
    }

    fn at(file: &Path, position: Position, message: impl Into<String>) -> Self {
        DatasetError {
            file: file.to_owned(),
            position: Some(position),
            field: None,
            message: message.into(),
        }
    }

    /// A field error of `record`.
    pub fn field(file: &Path, record: &Record, error: FieldError) -> Self {
        DatasetError {
            file: file.to_owned(),
            position: Some(record.position),
            field: Some(error.field),
            message: error.message,
        }
    }
}

/// CSV columns whose cells hold JSON text. For `request` and `response`
/// a cell that is not JSON is plain text.
const JSON_COLUMNS: &[&str] = &[
    "expected_facts",
    "guidelines",
    "retrieved_context",
    "expected_retrieved_context",
    "trace",
];
const MAYBE_JSON_COLUMNS: &[&str] = &["request", "inputs", "response", "predictions", "outputs"];

/// A record's fields and where they are.
type Located = (Position, Map<String, Value>);

/// The records of an evaluation set, in order.
pub struct Records {
    file: PathBuf,
    source: Source,
    next_index: usize,
    failed: bool,
    /// The column mapping, and which of its columns were seen.
    columns: Option<ColumnsSeen>,
}

enum Source {
    Jsonl {
        lines: BoundedLines<BufReader<File>>,
        line: u64,
    },
    Json(std::vec::IntoIter<Value>),
    Csv {
        reader: csv::Reader<File>,
        headers: Vec<String>,
    },
    Parquet(parquet::Rows),
}

/// Longest JSONL line read: a row is a request, its answer and its
/// context; a longer line is an error (the rest of it is skipped, not
/// held in memory).
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// Lines of at most `max` bytes.
struct BoundedLines<R> {
    reader: R,
    max: usize,
}

impl<R: BufRead> Iterator for BoundedLines<R> {
    type Item = std::io::Result<String>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut line = Vec::new();
        let read = (&mut self.reader)
            .take(self.max as u64 + 1)
            .read_until(b'\n', &mut line);
        match read {
            Err(e) => return Some(Err(e)),
            Ok(0) => return None,
            Ok(_) => {}
        }
        if line.len() > self.max {
            if let Err(e) = self.reader.skip_until(b'\n') {
                return Some(Err(e));
            }
            return Some(Err(std::io::Error::other(format!(
                "the line is over {} bytes",
                self.max
            ))));
        }
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        Some(
            String::from_utf8(line).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8")
            }),
        )
    }
}

/// Opens an evaluation set. Errors here (a missing file, an unknown
/// format, a broken JSON array, a CSV without headers) concern the whole
/// file.
pub fn open(path: &Path) -> Result<Records, DatasetError> {
    let format = Format::of_path(path).ok_or_else(|| {
        DatasetError::whole(
            path,
            "cannot tell the format: name the file .jsonl, .json, .csv or .parquet",
        )
    })?;
    let file =
        File::open(path).map_err(|e| DatasetError::whole(path, format!("cannot read it: {e}")))?;
    let source = match format {
        Format::Jsonl => Source::Jsonl {
            lines: BoundedLines {
                reader: BufReader::new(file),
                max: MAX_LINE_BYTES,
            },
            line: 0,
        },
        Format::Json => {
            let value: Value = serde_json::from_reader(BufReader::new(file))
                .map_err(|e| DatasetError::whole(path, format!("not valid JSON: {e}")))?;
            match value {
                Value::Array(items) => Source::Json(items.into_iter()),
                _ => {
                    return Err(DatasetError::whole(
                        path,
                        "a .json evaluation set must be an array of objects",
                    ));
                }
            }
        }
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(file);
            let headers = reader
                .headers()
                .map_err(|e| DatasetError::whole(path, format!("cannot read the CSV header: {e}")))?
                .iter()
                .map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
                .collect();
            Source::Csv { reader, headers }
        }
        Format::Parquet => {
            Source::Parquet(parquet::open(file).map_err(|e| DatasetError::whole(path, e))?)
        }
    };
    Ok(Records {
        file: path.to_owned(),
        source,
        next_index: 0,
        failed: false,
        columns: None,
    })
}

impl Records {
    /// Reads each of `columns`' mapped columns as its field.
    pub fn with_columns(mut self, columns: Arc<ColumnMap>) -> Records {
        if columns.is_empty() {
            return self;
        }
        let mut seen = ColumnsSeen::new(columns);
        if let Source::Csv { headers, .. } = &self.source {
            seen.saw(headers.iter().map(String::as_str));
        }
        self.columns = Some(seen);
        self
    }

    /// Once the records are read: a mapped column that none of them had
    /// (a misspelt name, most likely), as an error about the whole file.
    pub fn missing_column(&self) -> Option<DatasetError> {
        let (field, column) = self.columns.as_ref()?.missing()?;
        Some(DatasetError {
            file: self.file.clone(),
            position: None,
            field: Some(column.to_owned()),
            message: format!("no row has this column, which is mapped to `{field}`"),
        })
    }

    /// Renames the mapped columns of `fields`. A text cell (CSV, or a
    /// Parquet string column) is read again as its field's cells are,
    /// JSON for structured fields.
    fn map_columns(&mut self, fields: &mut Map<String, Value>) -> Result<(), (String, String)> {
        let Some(seen) = &mut self.columns else {
            return Ok(());
        };
        seen.saw(fields.keys().map(String::as_str));
        let columns = seen.map();
        let renamed = columns
            .rename(fields)
            .map_err(|error| (error.field, error.message))?;
        if matches!(self.source, Source::Csv { .. } | Source::Parquet(_)) {
            for field in renamed {
                if let Some(Value::String(cell)) = fields.get(field) {
                    let value = text_cell(field, cell).map_err(|message| {
                        let error = FieldError {
                            field: field.to_owned(),
                            message,
                        };
                        let error = columns.name_column(error);
                        (error.field, error.message)
                    })?;
                    fields.insert(field.to_owned(), value);
                }
            }
        }
        Ok(())
    }

    fn next_fields(&mut self) -> Option<Result<Located, DatasetError>> {
        let file = &self.file;
        match &mut self.source {
            Source::Jsonl { lines, line } => loop {
                *line += 1;
                let position = Position::Line(*line);
                let text = match lines.next()? {
                    Ok(text) => text,
                    Err(e) => {
                        return Some(Err(DatasetError::at(
                            file,
                            position,
                            format!("cannot read it: {e}"),
                        )));
                    }
                };
                if text.trim().is_empty() {
                    continue;
                }
                return Some(match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(fields)) => Ok((position, fields)),
                    Ok(_) => Err(DatasetError::at(file, position, "expected a JSON object")),
                    Err(e) => Err(DatasetError::at(
                        file,
                        position,
                        format!("not valid JSON: {e}"),
                    )),
                });
            },
            Source::Json(items) => {
                let position = Position::Element(self.next_index);
                Some(match items.next()? {
                    Value::Object(fields) => Ok((position, fields)),
                    _ => Err(DatasetError::at(file, position, "expected a JSON object")),
                })
            }
            Source::Csv { reader, headers } => {
                let mut record = csv::StringRecord::new();
                match reader.read_record(&mut record) {
                    Ok(false) => None,
                    Err(e) => {
                        let position = e
                            .position()
                            .map_or(Position::Line(0), |p| Position::Line(p.line()));
                        Some(Err(DatasetError::at(
                            file,
                            position,
                            format!("malformed CSV: {e}"),
                        )))
                    }
                    Ok(true) => {
                        let position = Position::Line(record.position().map_or(0, |p| p.line()));
                        Some(csv_fields(headers, &record).map(|f| (position, f)).map_err(
                            |(field, message)| DatasetError {
                                file: file.clone(),
                                position: Some(position),
                                field: Some(field),
                                message,
                            },
                        ))
                    }
                }
            }
            Source::Parquet(rows) => {
                let (row, fields) = rows.next()?;
                let position = Position::Row(row);
                Some(
                    fields
                        .map(|fields| (position, fields))
                        .map_err(|e| DatasetError {
                            file: file.clone(),
                            position: Some(position),
                            field: e.field,
                            message: e.message,
                        }),
                )
            }
        }
    }
}

impl Iterator for Records {
    type Item = Result<Record, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.next_fields()?;
        let index = self.next_index;
        self.next_index += 1;
        Some(match next {
            Ok((position, mut fields)) => match self.map_columns(&mut fields) {
                Ok(()) => Ok(Record {
                    index,
                    position,
                    fields,
                    columns: self.columns.as_ref().map(|seen| seen.map().clone()),
                }),
                Err((field, message)) => Err(DatasetError {
                    file: self.file.clone(),
                    position: Some(position),
                    field: Some(field),
                    message,
                }),
            },
            Err(error) => {
                // After an I/O error or a broken CSV row the reader cannot
                // resynchronise; a bad JSON line it can.
                if error.message.starts_with("cannot read")
                    || error.message.starts_with("malformed CSV")
                {
                    self.failed = true;
                }
                Err(error)
            }
        })
    }
}

fn csv_fields(
    headers: &[String],
    record: &csv::StringRecord,
) -> Result<Map<String, Value>, (String, String)> {
    let mut fields = Map::new();
    for (name, cell) in headers.iter().zip(record.iter()) {
        if cell.is_empty() {
            continue;
        }
        let value = text_cell(name, cell).map_err(|message| (name.clone(), message))?;
        fields.insert(name.clone(), value);
    }
    Ok(fields)
}

/// A text cell of column `name` (of a CSV file, or a Parquet string
/// column): JSON for the structured fields (null when blank), JSON or text
/// for `request` and `response`, text for the rest.
fn text_cell(name: &str, cell: &str) -> Result<Value, String> {
    let json = || serde_json::from_str::<Value>(cell);
    Ok(if JSON_COLUMNS.contains(&name) {
        if cell.trim().is_empty() {
            return Ok(Value::Null);
        }
        json().map_err(|e| format!("the cell is not JSON: {e}"))?
    } else if MAYBE_JSON_COLUMNS.contains(&name) && cell.trim_start().starts_with(['{', '[']) {
        json().unwrap_or_else(|_| Value::String(cell.to_owned()))
    } else {
        Value::String(cell.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn overlong_lines_are_errors_and_the_next_line_reads() {
        let text = format!("{{\"a\": 1}}\r\n{}\n{{\"b\": 2}}", "x".repeat(100));
        let lines: Vec<_> = BoundedLines {
            reader: std::io::Cursor::new(text),
            max: 50,
        }
        .map(|l| l.map_err(|e| e.to_string()))
        .collect();
        assert_eq!(
            lines,
            [
                Ok("{\"a\": 1}".to_owned()),
                Err("the line is over 50 bytes".to_owned()),
                Ok("{\"b\": 2}".to_owned())
            ]
        );
    }

    #[test]
    fn jsonl_skips_blank_lines_and_reports_lines() {
        let (_dir, path) = write(
            "set.jsonl",
            "{\"request\": \"a\"}\n\n{\"request\": \"b\"}\nnot json\n[1]\n",
        );
        let records: Vec<_> = open(&path).unwrap().collect();
        assert_eq!(records.len(), 4);
        let second = records[1].as_ref().unwrap();
        assert_eq!((second.index, second.position), (1, Position::Line(3)));
        let error = records[2].as_ref().unwrap_err().to_string();
        assert!(
            error.ends_with("set.jsonl, line 4: not valid JSON: expected ident at line 1 column 2"),
            "{error}"
        );
        assert!(
            records[3]
                .as_ref()
                .unwrap_err()
                .to_string()
                .ends_with("line 5: expected a JSON object")
        );
    }

    #[test]
    fn csv_cells_of_list_fields_are_json() {
        let (_dir, path) = write(
            "set.csv",
            "request,response,retrieved_context,topic\n\
             q1,a1,\"[{\"\"content\"\": \"\"c\"\"}]\",math\n\
             q2,\"{not json, just text}\",,\n\
             q3,a3,[oops,\n",
        );
        let records: Vec<_> = open(&path).unwrap().collect();
        let first = records[0].as_ref().unwrap();
        assert_eq!(first.fields["retrieved_context"][0]["content"], "c");
        assert_eq!(first.fields["topic"], "math");
        let row = first.row().unwrap();
        assert_eq!(row.retrieved_context.len(), 1);
        let second = records[1].as_ref().unwrap();
        assert_eq!(second.fields["response"], "{not json, just text}");
        assert!(!second.fields.contains_key("retrieved_context"));
        let error = records[2].as_ref().unwrap_err();
        assert_eq!(error.position, Some(Position::Line(4)));
        assert_eq!(error.field.as_deref(), Some("retrieved_context"));
        assert!(error.message.starts_with("the cell is not JSON"));
    }

    #[test]
    fn json_arrays_report_elements() {
        let (_dir, path) = write("set.json", r#"[{"request": "a"}, 3]"#);
        let records: Vec<_> = open(&path).unwrap().collect();
        assert!(records[0].is_ok());
        assert!(
            records[1]
                .as_ref()
                .unwrap_err()
                .to_string()
                .ends_with("set.json, element 1: expected a JSON object")
        );
        let (_dir, path) = write("set.json", r#"{"request": "a"}"#);
        assert!(
            open(&path)
                .err()
                .unwrap()
                .message
                .contains("array of objects")
        );
    }

    #[test]
    fn whole_file_problems() {
        let error = open(Path::new("/nonexistent/set.jsonl")).err().unwrap();
        assert_eq!(
            error.to_string(),
            "/nonexistent/set.jsonl: cannot read it: No such file or directory (os error 2)"
        );
        let error = open(Path::new("set.txt")).err().unwrap();
        assert_eq!(
            error.to_string(),
            "set.txt: cannot tell the format: name the file .jsonl, .json, .csv or .parquet"
        );
    }
}
