//! Column mapping: an evaluation set whose columns are not named as gavel's
//! fields is read with `--column response=answer` or `[eval.columns]`, as
//! MLflow users map theirs (`predictions="answer"`, `targets="truth"`).
//!
//! A mapped column is renamed to its field as the record is read, before
//! anything else looks at it (MLflow's aliases, the row, the results), so
//! results carry gavel's field names; an error about a field names the
//! column it was read from, the name the user knows.
//!
//! A row without the mapped column lacks that field (a blank cell reads the
//! same way); a column that no row has is an error, as MLflow's is for a
//! column missing from the data.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::evaluation::input::{FieldError, GUIDELINES_CONTEXT};

/// The fields a column can be mapped to: the evaluation set's schema.
pub const FIELDS: &[&str] = &[
    "request_id",
    "request",
    "response",
    "expected_response",
    "expected_facts",
    "guidelines",
    GUIDELINES_CONTEXT,
    "retrieved_context",
    "expected_retrieved_context",
    "trace",
];

/// A mapping that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColumnError {
    #[error("`{0}` is not a field of an evaluation set; map columns to {fields}", fields = FIELDS.join(", "))]
    UnknownField(String),
    #[error("`{0}` is mapped to an empty column name")]
    EmptyColumn(String),
    #[error("column `{column}` is mapped to both `{first}` and `{second}`; map it to one field")]
    ColumnTwice {
        column: String,
        first: String,
        second: String,
    },
    #[error("{0:?} is not FIELD=COLUMN (such as response=answer)")]
    Syntax(String),
}

/// Which column each field is read from. Empty: the columns are the
/// fields' own names (and MLflow's aliases).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMap {
    /// `(field, column)`, one per field, columns distinct.
    pairs: Vec<(String, String)>,
}

impl ColumnMap {
    /// From `(field, column)` pairs; a field given twice keeps the last
    /// column (a `--column` flag overrides `[eval.columns]`).
    pub fn new(
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Result<ColumnMap, ColumnError> {
        let mut map = ColumnMap::default();
        for (field, column) in pairs {
            if !FIELDS.contains(&field.as_str()) {
                return Err(ColumnError::UnknownField(field));
            }
            if column.trim().is_empty() {
                return Err(ColumnError::EmptyColumn(field));
            }
            map.pairs.retain(|(f, _)| *f != field);
            map.pairs.push((field, column));
        }
        for (i, (first, column)) in map.pairs.iter().enumerate() {
            if let Some((second, _)) = map.pairs[i + 1..].iter().find(|(_, c)| c == column) {
                return Err(ColumnError::ColumnTwice {
                    column: column.clone(),
                    first: first.clone(),
                    second: second.clone(),
                });
            }
        }
        Ok(map)
    }

    /// `FIELD=COLUMN` (a `--column` flag): the field is checked here, so a
    /// typo is named with the flag.
    pub fn parse_pair(text: &str) -> Result<(String, String), ColumnError> {
        let (field, column) = text
            .split_once('=')
            .ok_or_else(|| ColumnError::Syntax(text.to_owned()))?;
        let (field, column) = (field.trim(), column.trim());
        if field.is_empty() {
            return Err(ColumnError::Syntax(text.to_owned()));
        }
        ColumnMap::new([(field.to_owned(), column.to_owned())])?;
        Ok((field.to_owned(), column.to_owned()))
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// `(field, column)` pairs, in the order given.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(f, c)| (f.as_str(), c.as_str()))
    }

    /// The mapping as run.json records it: `{"response": "answer"}`.
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.pairs()
                .map(|(field, column)| (field.to_owned(), Value::String(column.to_owned())))
                .collect(),
        )
    }

    fn field_of(&self, column: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(_, c)| c == column)
            .map(|(f, _)| f.as_str())
    }

    /// Renames the mapped columns of one record to their fields, in place
    /// (the record keeps its order). Returns the fields renamed. A record
    /// that has both a mapped column and its field is an error naming the
    /// column: which of the two to judge is the user's call.
    pub fn rename(&self, fields: &mut Map<String, Value>) -> Result<Vec<&str>, FieldError> {
        if self.is_empty() {
            return Ok(Vec::new());
        }
        for (field, column) in &self.pairs {
            // A field that is itself a mapped column moves away: no clash.
            if fields.contains_key(column)
                && fields.contains_key(field)
                && self.field_of(field).is_none()
            {
                return Err(FieldError {
                    field: column.clone(),
                    message: format!(
                        "is mapped to `{field}`, but the row also has a `{field}`; keep one, or map another column"
                    ),
                });
            }
        }
        let mut renamed = Vec::new();
        let mut out = Map::with_capacity(fields.len());
        for (key, value) in std::mem::take(fields) {
            match self.field_of(&key) {
                Some(field) => {
                    renamed.push(field);
                    out.insert(field.to_owned(), value);
                }
                None => {
                    out.insert(key, value);
                }
            }
        }
        *fields = out;
        Ok(renamed)
    }

    /// An error about a field, naming the column the field was read from
    /// (`retrieved_context[1].content` read from `docs` is
    /// `docs[1].content`).
    pub fn name_column(&self, mut error: FieldError) -> FieldError {
        for (field, column) in &self.pairs {
            if let Some(rest) = error.field.strip_prefix(field.as_str())
                && (rest.is_empty() || rest.starts_with(['.', '[']))
            {
                error.field = format!("{column}{rest}");
                break;
            }
        }
        error
    }
}

/// Which mapped columns an evaluation set has shown so far: one that no
/// record has is reported once the set is read.
#[derive(Debug, Clone)]
pub struct ColumnsSeen {
    map: Arc<ColumnMap>,
    seen: Vec<bool>,
}

impl ColumnsSeen {
    pub fn new(map: Arc<ColumnMap>) -> Self {
        let seen = vec![false; map.pairs.len()];
        ColumnsSeen { map, seen }
    }

    pub fn map(&self) -> &Arc<ColumnMap> {
        &self.map
    }

    /// Marks the mapped columns among `names` (a record's keys, or a CSV
    /// header: a blank cell leaves the key out of its record).
    pub fn saw<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        for name in names {
            if let Some(i) = self.map.pairs.iter().position(|(_, c)| c == name) {
                self.seen[i] = true;
            }
        }
    }

    /// The first mapped `(field, column)` no record had.
    pub fn missing(&self) -> Option<(&str, &str)> {
        self.map
            .pairs()
            .zip(&self.seen)
            .find(|(_, seen)| !**seen)
            .map(|(pair, _)| pair)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(pairs: &[(&str, &str)]) -> ColumnMap {
        ColumnMap::new(pairs.iter().map(|(f, c)| (f.to_string(), c.to_string()))).unwrap()
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn mapped_columns_take_their_fields_names_in_place() {
        let columns = map(&[("response", "answer"), ("expected_response", "truth")]);
        let mut fields =
            object(json!({"question": "q", "answer": "a", "truth": "t", "topic": "x"}));
        let renamed = columns.rename(&mut fields).unwrap();
        assert_eq!(renamed, ["response", "expected_response"]);
        let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
        assert_eq!(keys, ["question", "response", "expected_response", "topic"]);
        assert_eq!(fields["response"], "a");
        // A row without a mapped column lacks the field.
        let mut fields = object(json!({"request": "q"}));
        assert!(columns.rename(&mut fields).unwrap().is_empty());
        assert_eq!(fields, object(json!({"request": "q"})));
    }

    #[test]
    fn a_row_with_both_the_column_and_the_field_is_an_error_naming_the_column() {
        let columns = map(&[("response", "answer")]);
        let mut fields = object(json!({"request": "q", "answer": "a", "response": "b"}));
        let error = columns.rename(&mut fields).unwrap_err();
        assert_eq!(error.field, "answer");
        assert!(error.message.contains("also has a `response`"), "{error}");
    }

    #[test]
    fn fields_can_swap_columns() {
        let columns = map(&[
            ("response", "expected_response"),
            ("expected_response", "response"),
        ]);
        let mut fields =
            object(json!({"request": "q", "response": "gold", "expected_response": "model"}));
        columns.rename(&mut fields).unwrap();
        assert_eq!(fields["response"], "model");
        assert_eq!(fields["expected_response"], "gold");
    }

    #[test]
    fn bad_mappings_are_named() {
        let pairs = |p: &[(&str, &str)]| {
            ColumnMap::new(p.iter().map(|(f, c)| (f.to_string(), c.to_string()))).unwrap_err()
        };
        assert_eq!(
            pairs(&[("answer", "response")]),
            ColumnError::UnknownField("answer".into())
        );
        assert_eq!(
            pairs(&[("response", "a"), ("expected_response", "a")]),
            ColumnError::ColumnTwice {
                column: "a".into(),
                first: "response".into(),
                second: "expected_response".into()
            }
        );
        assert_eq!(
            pairs(&[("response", " ")]),
            ColumnError::EmptyColumn("response".into())
        );
        assert_eq!(
            ColumnMap::parse_pair("response:answer"),
            Err(ColumnError::Syntax("response:answer".into()))
        );
        assert_eq!(
            ColumnMap::parse_pair("response=answer"),
            Ok(("response".into(), "answer".into()))
        );
        // The last mapping of a field wins.
        let later = map(&[("response", "a"), ("response", "b")]);
        assert_eq!(later.pairs().collect::<Vec<_>>(), [("response", "b")]);
    }

    #[test]
    fn errors_name_the_column_a_field_was_read_from() {
        let columns = map(&[("retrieved_context", "docs"), ("request", "question")]);
        let named = |field: &str| {
            columns
                .name_column(FieldError {
                    field: field.into(),
                    message: String::new(),
                })
                .field
        };
        assert_eq!(named("retrieved_context[1].content"), "docs[1].content");
        assert_eq!(named("request"), "question");
        assert_eq!(named("request_id"), "request_id");
        assert_eq!(named("response"), "response");
    }

    /// Through the evaluation-set reader: a mapped CSV column of JSON text
    /// is read as its field's cells are, errors name the column, and a
    /// column no row has is reported once the file is read.
    #[test]
    fn csv_columns_are_read_as_their_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("set.csv");
        std::fs::write(
            &path,
            "question,answer,docs\n\
             q1,a1,\"[{\"\"doc_uri\"\": \"\"d1\"\"}]\"\n\
             q2,,\"[{\"\"content\"\": 3}]\"\n",
        )
        .unwrap();
        let columns = Arc::new(map(&[
            ("request", "question"),
            ("response", "answer"),
            ("retrieved_context", "docs"),
        ]));
        let mut records = crate::evaluation::dataset::open(&path)
            .unwrap()
            .with_columns(columns);
        let first = records.next().unwrap().unwrap();
        assert_eq!(
            first.fields,
            object(
                json!({"request": "q1", "response": "a1", "retrieved_context": [{"doc_uri": "d1"}]})
            )
        );
        let row = first.row().unwrap();
        assert_eq!(row.retrieved_context[0].doc_uri.as_deref(), Some("d1"));
        // A blank cell: the row has no response.
        let second = records.next().unwrap().unwrap();
        assert!(!second.fields.contains_key("response"));
        let error = second.row().unwrap_err();
        assert_eq!(
            (error.field.as_str(), error.message.as_str()),
            ("docs[0].content", "expected a string, found a number")
        );
        assert!(records.next().is_none());
        assert_eq!(records.missing_column(), None);

        let columns = Arc::new(map(&[("expected_response", "truth")]));
        let mut records = crate::evaluation::dataset::open(&path)
            .unwrap()
            .with_columns(columns);
        assert_eq!(records.by_ref().count(), 2);
        let missing = records.missing_column().unwrap();
        assert_eq!(
            missing.to_string(),
            format!(
                "{}, field `truth`: no row has this column, which is mapped to `expected_response`",
                path.display()
            )
        );
    }

    #[test]
    fn a_column_no_record_has_is_found() {
        let columns = Arc::new(map(&[
            ("response", "answer"),
            ("expected_response", "truth"),
        ]));
        let mut seen = ColumnsSeen::new(columns);
        seen.saw(["request", "answer"]);
        assert_eq!(seen.missing(), Some(("expected_response", "truth")));
        seen.saw(["truth"]);
        assert_eq!(seen.missing(), None);
    }
}
