//! `eval_results.parquet` (`--parquet`): the rows of `eval_results.jsonl`
//! with typed, nested columns, for pandas (`read_parquet`), Spark and
//! DuckDB.
//!
//! Written from the finished `eval_results.jsonl` (so a resumed run's file
//! holds every session's rows), in two passes that hold one row, then one
//! batch of rows, at a time: the first infers each column's type
//! ([`column_type`]), the second builds Arrow arrays of those types from
//! batches of rows and writes them, row groups bounded in size. Columns are
//! in first-seen order, as in `eval_results.csv`; compression is snappy,
//! the default of pandas and Spark, which every Parquet reader has.

mod column_type;

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Field, Schema};
use indexmap::IndexMap;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::{Map, Value};

use crate::results::run_dir::{OutputError, PARQUET, RESULTS};
use column_type::ColumnType;

/// Rows decoded into Arrow arrays at once.
const BATCH_ROWS: usize = 1024;
/// A row group is written out when its encoded pages reach this size.
const ROW_GROUP_BYTES: usize = 64 << 20;

/// Writes `eval_results.parquet` in the run directory `dir` from its
/// `eval_results.jsonl`. Returns the file's path.
pub fn write(dir: &Path) -> Result<PathBuf, OutputError> {
    let results = dir.join(RESULTS);
    let rows = || -> Result<_, OutputError> {
        let file = File::open(&results).map_err(|e| failed(&results, e))?;
        Ok(BufReader::new(file).lines().map(|line| {
            let line = line.map_err(|e| failed(&results, e))?;
            serde_json::from_str::<Map<String, Value>>(&line).map_err(|e| failed(&results, e))
        }))
    };

    let mut columns: IndexMap<String, ColumnType> = IndexMap::new();
    for row in rows()? {
        for (name, value) in row? {
            match columns.get_mut(&name) {
                Some(ty) => ty.add(&value),
                None => {
                    columns.insert(name, ColumnType::of(&value));
                }
            }
        }
    }
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, ty)| Field::new(name, ty.data_type(), true))
            .collect::<Vec<_>>(),
    ));

    let path = dir.join(PARQUET);
    // Written next to the results and renamed into place, so that a reader
    // never sees half a file.
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| failed(&path, e))?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
        .build();
    let mut writer = ArrowWriter::try_new(tmp.as_file_mut(), schema.clone(), Some(properties))
        .map_err(|e| failed(&path, e))?;
    let mut batch: Vec<Map<String, Value>> = Vec::with_capacity(BATCH_ROWS);
    let mut rows = rows()?.peekable();
    while let Some(row) = rows.next() {
        batch.push(row?);
        if batch.len() < BATCH_ROWS && rows.peek().is_some() {
            continue;
        }
        let arrays = columns
            .iter()
            .map(|(name, ty)| {
                let values: Vec<Option<&Value>> = batch.iter().map(|row| row.get(name)).collect();
                ty.array(&values)
            })
            .collect();
        let arrays = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| failed(&path, e))?;
        writer.write(&arrays).map_err(|e| failed(&path, e))?;
        batch.clear();
    }
    writer.close().map_err(|e| failed(&path, e))?;
    tmp.persist(&path).map_err(|e| failed(&path, e.error))?;
    Ok(path)
}

/// A failure reading the results or writing the Parquet file, as the run
/// directory's writers report one.
fn failed(path: &Path, error: impl std::error::Error + Send + Sync + 'static) -> OutputError {
    OutputError::Io {
        path: path.to_owned(),
        source: io::Error::other(error),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::evaluation::dataset;

    fn write_results(dir: &Path, rows: &[Value]) {
        let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
        std::fs::write(dir.join(RESULTS), text).unwrap();
    }

    /// Results written as Parquet read back, through the evaluation set
    /// reader, as the rows they were, with more rows than one batch.
    #[test]
    fn results_read_back_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<Value> = (0..BATCH_ROWS + 3)
            .map(|i| {
                let mut row = json!({
                    "request_id": i.to_string(),
                    "request": if i % 2 == 0 { json!("q") } else { json!({"messages": [{"role": "user", "content": "q"}]}) },
                    "retrieved_context": [{"content": "c", "doc_uri": format!("d{i}")}],
                    "retrieval/llm_judged/chunk_relevance/ratings": ["yes", null],
                    "retrieval/llm_judged/chunk_relevance/precision": 0.5,
                    "response/llm_judged/safety/llm_call_count": 1,
                });
                if i == 7 {
                    row["error_message"] = json!("bad row");
                }
                row
            })
            .collect();
        write_results(dir.path(), &rows);
        let path = write(dir.path()).unwrap();
        assert_eq!(path, dir.path().join(PARQUET));
        let read: Vec<Value> = dataset::open(&path)
            .unwrap()
            .map(|r| Value::Object(r.unwrap().fields))
            .collect();
        assert_eq!(read.len(), rows.len());
        // The request, text in one row and a chat request in another, is
        // text throughout: the chat request as its JSON, which the reader
        // parses back.
        assert_eq!(read, rows);
    }

    #[test]
    fn results_without_rows_make_a_file_without_columns() {
        let dir = tempfile::tempdir().unwrap();
        write_results(dir.path(), &[]);
        let path = write(dir.path()).unwrap();
        assert_eq!(dataset::open(&path).unwrap().count(), 0);
    }
}
