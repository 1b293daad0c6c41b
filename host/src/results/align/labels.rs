//! Human labels: what reviewers said of a judgment on a request, from a
//! labels file keyed by `request_id` (JSONL or CSV) or from `human/<judge>`
//! columns of the data, carried through to the results.
//!
//! A record is read as it is first ([`LabelRecord`]); which of its fields
//! are labels depends on the run's judgments, so it is parsed against them
//! ([`LabelRecord::parse`]), and every error names the file, the line and
//! the field.

use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use gavel_runtime::text::{MAX_MESSAGE_BYTES, clean_owned};
use serde_json::{Map, Value};

use crate::results::row_result::request_id_of;
use crate::results::schema;

/// Where labels sit in the data: `human/<judge>`, `human/<judge>/rationale`
/// and `human/rationale` columns.
pub const COLUMN_PREFIX: &str = "human/";
/// A rationale for every judge of its record; `<judge>/rationale` is one
/// judge's.
pub const RATIONALE: &str = "rationale";

/// What a reviewer said: yes/no, or a 1-5 score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Yes,
    No,
    Score(u8),
}

impl Label {
    /// `"yes"`/`"no"` (any case), `true`/`false`, or a whole number from 1
    /// to 5 (also as text, as CSV cells are). `Ok(None)` for no label: null
    /// or an empty text.
    pub fn parse(value: &Value) -> Result<Option<Label>, String> {
        let score = |n: f64| {
            (n.fract() == 0.0 && (1.0..=5.0).contains(&n)).then_some(Label::Score(n as u8))
        };
        let label = match value {
            Value::Null => return Ok(None),
            Value::Bool(yes) => Some(if *yes { Label::Yes } else { Label::No }),
            Value::Number(n) => n.as_f64().and_then(score),
            Value::String(text) => match text.trim().to_ascii_lowercase().as_str() {
                "" => return Ok(None),
                "yes" => Some(Label::Yes),
                "no" => Some(Label::No),
                other => other.parse::<f64>().ok().and_then(score),
            },
            Value::Array(_) | Value::Object(_) => None,
        };
        label.map(Some).ok_or_else(|| {
            format!(
                "{} is not a label; use \"yes\", \"no\" or a score from 1 to 5",
                shown(value)
            )
        })
    }

    /// Yes or no: a score is yes when above `threshold`, as a judge's is.
    pub fn is_yes(self, threshold: u8) -> bool {
        match self {
            Label::Yes => true,
            Label::No => false,
            Label::Score(score) => score > threshold,
        }
    }

    pub fn score(self) -> Option<u8> {
        match self {
            Label::Score(score) => Some(score),
            Label::Yes | Label::No => None,
        }
    }
}

/// A value as an error message quotes it: short, on one line.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    gavel_runtime::text::clean_line(&text, 80)
}

/// A human label with its rationale, if the reviewer gave one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HumanLabel {
    pub label: Label,
    pub rationale: Option<String>,
}

/// A labels file or results file that cannot be read as labels, naming the
/// file, line and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LabelError {
    pub file: PathBuf,
    pub line: Option<u64>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for LabelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(field) = &self.field {
            write!(
                f,
                ", field `{}`",
                gavel_runtime::text::clean_line(field, 200)
            )?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Where a record was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    /// 1-based; for CSV the line the record starts on.
    pub line: u64,
}

impl Origin {
    pub fn error(&self, field: Option<String>, message: impl Into<String>) -> LabelError {
        LabelError {
            file: self.file.clone(),
            line: Some(self.line),
            field,
            message: message.into(),
        }
    }
}

/// One record of labels as read: a line of a labels file, or the `human/`
/// columns of a result line (with the prefix taken off).
#[derive(Debug, Clone)]
pub struct LabelRecord {
    pub origin: Origin,
    /// What the fields were called where they were read (`human/` for
    /// columns of the data), for error messages.
    pub prefix: &'static str,
    pub fields: Map<String, Value>,
}

/// A record's labels, by judgment name.
#[derive(Debug, Default)]
pub struct Parsed {
    pub labels: Vec<(String, HumanLabel)>,
    /// Fields that are neither a judgment of the run nor a rationale.
    pub ignored: Vec<String>,
}

impl LabelRecord {
    /// The `human/` columns of a result line; `None` when it has none.
    pub fn from_columns(row: &Map<String, Value>, origin: Origin) -> Option<LabelRecord> {
        let fields: Map<String, Value> = row
            .iter()
            .filter_map(|(key, value)| {
                let field = key.strip_prefix(COLUMN_PREFIX)?;
                Some((field.to_owned(), value.clone()))
            })
            .collect();
        (!fields.is_empty()).then_some(LabelRecord {
            origin,
            prefix: COLUMN_PREFIX,
            fields,
        })
    }

    fn error(&self, field: &str, message: impl Into<String>) -> LabelError {
        self.origin
            .error(Some(format!("{}{field}", self.prefix)), message)
    }

    /// The labels of the judgments `is_judgment` knows. A field named after
    /// a judgment is its label; `<judgment>/rationale` its rationale;
    /// `rationale` the rationale of every label without its own.
    pub fn parse(&self, is_judgment: impl Fn(&str) -> bool) -> Result<Parsed, LabelError> {
        let rationale = |field: &str, value: &Value| match value {
            Value::Null => Ok(None),
            Value::String(text) if text.trim().is_empty() => Ok(None),
            // Reviewers' text goes to terminals, JSON and the report as
            // plugins' does: bounded and without control characters.
            Value::String(text) => Ok(Some(clean_owned(text.clone(), MAX_MESSAGE_BYTES))),
            other => Err(self.error(
                field,
                format!("expected a rationale as text, not {}", shown(other)),
            )),
        };
        let mut parsed = Parsed::default();
        let mut rationales: HashMap<&str, Option<String>> = HashMap::new();
        let mut shared = None;
        for (field, value) in &self.fields {
            if field == schema::REQUEST_ID && self.prefix.is_empty() {
                continue;
            }
            if is_judgment(field) {
                if let Some(label) = Label::parse(value).map_err(|m| self.error(field, m))? {
                    parsed.labels.push((
                        field.clone(),
                        HumanLabel {
                            label,
                            rationale: None,
                        },
                    ));
                }
            } else if field == RATIONALE {
                shared = rationale(field, value)?;
            } else if let Some(judgment) = field
                .strip_suffix(RATIONALE)
                .and_then(|f| f.strip_suffix('/'))
                .filter(|j| is_judgment(j))
            {
                rationales.insert(judgment, rationale(field, value)?);
            } else {
                parsed.ignored.push(format!("{}{field}", self.prefix));
            }
        }
        for (judgment, label) in &mut parsed.labels {
            label.rationale = match rationales.remove(judgment.as_str()) {
                Some(own) => own,
                None => shared.clone(),
            };
        }
        Ok(parsed)
    }
}

/// A labels file: JSONL (one object per line), or CSV with a header row
/// when its name ends in `.csv`. Every record needs a `request_id`, once.
pub fn read_file(path: &Path) -> Result<Vec<LabelRecord>, LabelError> {
    let whole = |message: String| LabelError {
        file: path.to_owned(),
        line: None,
        field: None,
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| whole(format!("cannot read it: {e}")))?;
    let is_csv = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("csv"));
    let records = if is_csv {
        read_csv(path, file)?
    } else {
        read_jsonl(path, file)?
    };
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in &records {
        let id = request_id_of(&record.fields);
        if !record.fields.contains_key(schema::REQUEST_ID) || id.trim().is_empty() {
            return Err(record.origin.error(
                Some(schema::REQUEST_ID.to_owned()),
                "missing: labels are matched with the run's rows by request_id",
            ));
        }
        if let Some(first) = seen.insert(id, record.origin.line) {
            return Err(record.origin.error(
                Some(schema::REQUEST_ID.to_owned()),
                format!("this request was already labelled on line {first}"),
            ));
        }
    }
    if records.is_empty() {
        return Err(whole("no labels in it".to_owned()));
    }
    Ok(records)
}

fn read_jsonl(path: &Path, file: std::fs::File) -> Result<Vec<LabelRecord>, LabelError> {
    let mut records = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let origin = Origin {
            file: path.to_owned(),
            line: i as u64 + 1,
        };
        let line = line.map_err(|e| origin.error(None, format!("cannot read it: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(&line) {
            Ok(Value::Object(fields)) => records.push(LabelRecord {
                origin,
                prefix: "",
                fields,
            }),
            Ok(_) => return Err(origin.error(None, "expected a JSON object")),
            Err(e) => return Err(origin.error(None, format!("not valid JSON: {e}"))),
        }
    }
    Ok(records)
}

fn read_csv(path: &Path, file: std::fs::File) -> Result<Vec<LabelRecord>, LabelError> {
    let mut reader = csv::Reader::from_reader(file);
    let error = |e: csv::Error| LabelError {
        file: path.to_owned(),
        line: e.position().map(|p| p.line()),
        field: None,
        message: format!("malformed CSV: {e}"),
    };
    let headers: Vec<String> = reader
        .headers()
        .map_err(error)?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut records = Vec::new();
    for record in reader.records() {
        let record = record.map_err(error)?;
        let fields = headers
            .iter()
            .zip(record.iter())
            .filter(|(_, cell)| !cell.trim().is_empty())
            .map(|(name, cell)| (name.clone(), Value::String(cell.to_owned())))
            .collect();
        records.push(LabelRecord {
            origin: Origin {
                file: path.to_owned(),
                line: record.position().map_or(0, |p| p.line()),
            },
            prefix: "",
            fields,
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_are_yes_no_or_a_score() {
        for (value, label) in [
            (json!("yes"), Some(Label::Yes)),
            (json!(" No "), Some(Label::No)),
            (json!(true), Some(Label::Yes)),
            (json!(4), Some(Label::Score(4))),
            (json!(5.0), Some(Label::Score(5))),
            (json!("2"), Some(Label::Score(2))),
            (json!(null), None),
            (json!(""), None),
        ] {
            assert_eq!(Label::parse(&value), Ok(label), "{value}");
        }
        for bad in [json!("maybe"), json!(0), json!(6), json!(3.5), json!([1])] {
            let message = Label::parse(&bad).unwrap_err();
            assert!(message.contains("is not a label"), "{message}");
        }
        assert_eq!(
            Label::parse(&json!("maybe")).unwrap_err(),
            "\"maybe\" is not a label; use \"yes\", \"no\" or a score from 1 to 5"
        );
        assert!(Label::Score(4).is_yes(3) && !Label::Score(3).is_yes(3));
    }

    fn file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn a_jsonl_file_reads_with_rationales_and_a_bad_label_names_line_and_field() {
        let (_dir, path) = file(
            "labels.jsonl",
            "{\"request_id\": \"a\", \"correctness\": \"yes\", \"safety\": \"no\", \"rationale\": \"Both fine.\", \"safety/rationale\": \"Rude.\", \"reviewer\": \"kim\"}\n\n{\"request_id\": 2, \"correctness\": null}\n{\"request_id\": \"c\", \"correctness\": \"maybe\"}\n",
        );
        let records = read_file(&path).unwrap();
        assert_eq!(records.len(), 3);
        let judged = |name: &str| ["correctness", "safety"].contains(&name);
        let first = records[0].parse(judged).unwrap();
        assert_eq!(
            first.labels,
            [
                (
                    "correctness".to_owned(),
                    HumanLabel {
                        label: Label::Yes,
                        rationale: Some("Both fine.".into())
                    }
                ),
                (
                    "safety".to_owned(),
                    HumanLabel {
                        label: Label::No,
                        rationale: Some("Rude.".into())
                    }
                ),
            ]
        );
        assert_eq!(first.ignored, ["reviewer"]);
        assert!(records[1].parse(judged).unwrap().labels.is_empty());
        let error = records[2].parse(judged).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}, line 4, field `correctness`: \"maybe\" is not a label; use \"yes\", \"no\" or a score from 1 to 5",
                path.display()
            )
        );
    }

    #[test]
    fn a_csv_file_reads_and_every_record_needs_one_request_id() {
        let (_dir, path) = file(
            "labels.csv",
            "request_id,tone,tone/rationale\nq1,4,Warm enough.\nq2,,\n",
        );
        let records = read_file(&path).unwrap();
        let parsed = records[0].parse(|n| n == "tone").unwrap();
        assert_eq!(parsed.labels[0].1.label, Label::Score(4));
        assert_eq!(
            parsed.labels[0].1.rationale.as_deref(),
            Some("Warm enough.")
        );
        assert_eq!(records[1].origin.line, 3);
        assert!(records[1].parse(|n| n == "tone").unwrap().labels.is_empty());

        let (_dir, path) = file(
            "l.jsonl",
            "{\"request_id\": \"a\"}\n{\"request_id\": \"a\"}\n",
        );
        let error = read_file(&path).unwrap_err();
        assert_eq!(
            (error.line, error.field.as_deref()),
            (Some(2), Some("request_id"))
        );
        assert!(
            error.message.contains("already labelled on line 1"),
            "{error}"
        );
        let (_dir, path) = file("l.jsonl", "{\"safety\": \"yes\"}\n");
        assert_eq!(read_file(&path).unwrap_err().line, Some(1));
        let (_dir, path) = file("l.jsonl", "[1]\n");
        assert!(
            read_file(&path)
                .unwrap_err()
                .message
                .contains("JSON object")
        );
    }

    #[test]
    fn data_columns_carry_labels_under_their_prefix() {
        let row = json!({"request_id": "a", "request": "q", "human/correctness": "no",
                         "human/correctness/rationale": "Wrong year.", "human/rationale": 3});
        let record = LabelRecord::from_columns(
            row.as_object().unwrap(),
            Origin {
                file: "run/eval_results.jsonl".into(),
                line: 7,
            },
        )
        .unwrap();
        let error = record.parse(|n| n == "correctness").unwrap_err();
        assert_eq!(
            error.to_string(),
            "run/eval_results.jsonl, line 7, field `human/rationale`: expected a rationale as text, not 3"
        );
        let plain = json!({"request_id": "a"});
        assert!(
            LabelRecord::from_columns(plain.as_object().unwrap(), record.origin.clone()).is_none()
        );
    }
}
