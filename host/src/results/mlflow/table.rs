//! The run's per-request results as an MLflow table artifact, written as
//! `mlflow.log_table` writes one (MLflow 3.17, `MlflowClient.log_table` in
//! `mlflow/tracking/client.py`):
//!
//! - the artifact is pandas' `DataFrame.to_json(orient="split", index=False)`:
//!   `{"columns": [...], "data": [[...], ...]}`, a missing value `null`, lists
//!   and objects as JSON; `mlflow.load_table` reads it back with
//!   `pd.read_json(orient="split")`;
//! - the run's tag `mlflow.loggedArtifacts` lists it as
//!   `{"path": "<file>", "type": "table"}` in a JSON list (Python's
//!   `json.dumps`). `load_table` finds the runs holding a table by this tag
//!   (`tags."mlflow.loggedArtifacts" LIKE '%"path"%:%"<file>",%"type"%:%"table"%'`)
//!   and the UI offers the artifact as a table because of it;
//! - a table already at that path in the run gets the new rows appended
//!   (`pd.concat`: its columns first, then new ones; cells a row lacks are
//!   `null`).
//!
//! The table is `eval_results.jsonl` row by row, with the columns of
//! `eval_results.csv` (every row's columns in first-seen order). Its text
//! is the results' own: what judges and agents wrote was bounded and
//! cleaned where it entered the host, before `eval_results.jsonl` was
//! written.

use indexmap::IndexSet;
use serde_json::Value;

/// The artifact's name: the one MLflow's `evaluate` gives its results
/// table, which MLflow's UI looks for.
pub const TABLE: &str = "eval_results_table.json";
/// The run tag listing a run's table artifacts.
pub const LOGGED_ARTIFACTS_TAG: &str = "mlflow.loggedArtifacts";

/// A table the run already holds at [`TABLE`], read back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExistingTable {
    columns: Vec<String>,
    data: Vec<Vec<Value>>,
}

impl ExistingTable {
    /// A table in pandas' split orient; `Err` says what is wrong.
    pub(crate) fn parse(table: Value) -> Result<ExistingTable, String> {
        let Value::Object(mut table) = table else {
            return Err("not a JSON object".to_owned());
        };
        let columns = match table.remove("columns") {
            Some(Value::Array(columns)) => columns
                .into_iter()
                .map(|c| match c {
                    Value::String(name) => Ok(name),
                    // pandas names columns by number when nobody named them.
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(format!("a column named {other}")),
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => return Err("no \"columns\" list".to_owned()),
        };
        let data = match table.remove("data") {
            Some(Value::Array(rows)) => rows
                .into_iter()
                .enumerate()
                .map(|(i, row)| match row {
                    Value::Array(cells) if cells.len() == columns.len() => Ok(cells),
                    _ => Err(format!(
                        "row {i} of \"data\" is not a list of {} cells",
                        columns.len()
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => return Err("no \"data\" list".to_owned()),
        };
        Ok(ExistingTable { columns, data })
    }
}

/// The table of the result lines in `results` (the bytes of
/// `eval_results.jsonl`), after the rows of `existing`. A line that is not
/// a JSON object (the torn last line of a killed run) is left out, as the
/// report leaves it out. Two passes over the lines: the columns, then the
/// rows, so only the output is held.
pub(crate) fn build(results: &[u8], existing: Option<ExistingTable>) -> Vec<u8> {
    let rows = || {
        results
            .split(|&b| b == b'\n')
            .enumerate()
            .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
            .filter_map(
                |(i, line)| match serde_json::from_slice::<serde_json::Map<String, Value>>(line) {
                    Ok(row) => Some(row),
                    Err(error) => {
                        tracing::warn!(
                            line = i + 1,
                            %error,
                            "a line of eval_results.jsonl that is not a result row is left out of the MLflow table"
                        );
                        None
                    }
                },
            )
    };
    let mut columns: IndexSet<String> = IndexSet::new();
    if let Some(existing) = &existing {
        columns.extend(existing.columns.iter().cloned());
    }
    for row in rows() {
        columns.extend(row.keys().cloned());
    }
    let mut out = Vec::with_capacity(results.len() + 64);
    out.extend_from_slice(b"{\"columns\":");
    write_json(&mut out, &columns);
    out.extend_from_slice(b",\"data\":[");
    let mut first = true;
    let mut start_row = |out: &mut Vec<u8>| {
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
    };
    if let Some(existing) = existing {
        let width = columns.len();
        for mut cells in existing.data {
            start_row(&mut out);
            cells.resize(width, Value::Null);
            write_json(&mut out, &cells);
        }
    }
    for row in rows() {
        start_row(&mut out);
        out.push(b'[');
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json(&mut out, row.get(column).unwrap_or(&Value::Null));
        }
        out.push(b']');
    }
    out.extend_from_slice(b"]}");
    out
}

fn write_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Serialising strings, numbers, lists and maps of them into memory
    // cannot fail.
    serde_json::to_writer(&mut *out, value).expect("JSON values serialise");
}

/// The `mlflow.loggedArtifacts` tag's new value listing the table, given
/// its current value (`None` when the run has no such tag); `None` when the
/// table is listed already. An unreadable current value is replaced, as
/// the UI could not read it either.
pub(crate) fn logged_artifacts_tag(current: Option<&str>) -> Option<String> {
    let mut entries = match current.map(serde_json::from_str::<Value>) {
        Some(Ok(Value::Array(entries))) => entries,
        None => Vec::new(),
        Some(_) => {
            tracing::warn!(
                "the run's {LOGGED_ARTIFACTS_TAG} tag is not a JSON list; it is replaced by one \
                 listing {TABLE}"
            );
            Vec::new()
        }
    };
    let entry = serde_json::json!({"path": TABLE, "type": "table"});
    if entries.contains(&entry) {
        return None;
    }
    entries.push(entry);
    Some(python_json(&Value::Array(entries)))
}

/// `value` as Python's `json.dumps` writes it by default (`", "` and
/// `": "` separators, every character outside printable ASCII escaped as
/// `\uXXXX`), so the tag reads exactly as MLflow's client sets it.
fn python_json(value: &Value) -> String {
    let mut out = String::new();
    write_python_json(&mut out, value);
    out
}

fn write_python_json(out: &mut String, value: &Value) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_python_json(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_python_string(out, key);
                out.push_str(": ");
                write_python_json(out, item);
            }
            out.push('}');
        }
        Value::String(text) => write_python_string(out, text),
        other => out.push_str(&other.to_string()),
    }
}

fn write_python_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn result_lines_become_a_split_table_with_every_column() {
        let results = concat!(
            r#"{"request_id": "a", "request": "q1", "response/llm_judged/safety/rating": "yes"}"#,
            "\n\n",
            r#"{"request_id": "b", "request": {"messages": [{"role": "user", "content": "q2"}]}, "response/llm_judged/safety/error_message": "down", "retrieval/llm_judged/chunk_relevance/ratings": ["yes", null]}"#,
            "\n",
            r#"{"torn"#,
        );
        assert_eq!(
            table(&build(results.as_bytes(), None)),
            json!({
                "columns": ["request_id", "request", "response/llm_judged/safety/rating",
                            "response/llm_judged/safety/error_message",
                            "retrieval/llm_judged/chunk_relevance/ratings"],
                "data": [
                    ["a", "q1", "yes", null, null],
                    ["b", {"messages": [{"role": "user", "content": "q2"}]}, null, "down", ["yes", null]],
                ],
            })
        );
        assert_eq!(table(&build(b"", None)), json!({"columns": [], "data": []}));
    }

    #[test]
    fn new_rows_are_appended_to_a_table_the_run_holds() {
        let existing = ExistingTable::parse(json!({
            "columns": ["inputs", "request_id"],
            "data": [["x", 7]],
        }))
        .unwrap();
        let results = br#"{"request_id": "a", "response": "r"}"#;
        assert_eq!(
            table(&build(results, Some(existing))),
            json!({
                "columns": ["inputs", "request_id", "response"],
                "data": [["x", 7, null], [null, "a", "r"]],
            })
        );
        for bad in [
            json!([]),
            json!({"columns": ["a"]}),
            json!({"columns": ["a"], "data": [[1, 2]]}),
            json!({"columns": [null], "data": []}),
        ] {
            assert!(ExistingTable::parse(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_tag_lists_the_table_once_as_python_writes_it() {
        assert_eq!(
            logged_artifacts_tag(None).unwrap(),
            r#"[{"path": "eval_results_table.json", "type": "table"}]"#
        );
        let other = r#"[{"path": "t\u00e9\"st.json", "type": "table"}]"#;
        assert_eq!(
            logged_artifacts_tag(Some(other)).unwrap(),
            r#"[{"path": "t\u00e9\"st.json", "type": "table"}, {"path": "eval_results_table.json", "type": "table"}]"#
        );
        assert_eq!(
            logged_artifacts_tag(Some(
                r#"[{"path": "eval_results_table.json", "type": "table"}]"#
            )),
            None
        );
        assert_eq!(
            logged_artifacts_tag(Some("not json")).unwrap(),
            r#"[{"path": "eval_results_table.json", "type": "table"}]"#
        );
        assert_eq!(
            python_json(&json!("\u{1F600}\u{7f}")),
            r#""\ud83d\ude00\u007f""#
        );
    }
}
