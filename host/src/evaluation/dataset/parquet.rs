//! Parquet evaluation sets, as pandas (`DataFrame.to_parquet`, pyarrow)
//! and Spark write them, read a bounded batch of rows at a time: a file of
//! any size takes the memory of one batch and the pages being decoded.
//!
//! Each column is a field; nested columns keep their shape (a
//! `list<struct<content, doc_uri>>` is the `retrieved_context` list). A
//! null cell is a missing field, as an empty CSV cell is; the text of a
//! structured field is JSON, as in a CSV cell.

use std::fs::File;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::basic::Compression;
use serde_json::{Map, Value};

use super::arrow_value;

/// Rows decoded at once.
const BATCH_ROWS: usize = 1024;

/// The rows of a Parquet file, in order.
pub(super) struct Rows {
    reader: ParquetRecordBatchReader,
    batch: Option<RecordBatch>,
    /// The next row of `batch`.
    in_batch: usize,
    /// Rows handed out so far.
    read: u64,
}

/// A row that cannot be read: a `field` (with a path into it) that has no
/// JSON form, or (without one) a file that cannot be decoded further.
pub(super) struct RowError {
    pub field: Option<String>,
    pub message: String,
}

/// Opens `file` as Parquet. The error says why the whole file cannot be
/// read.
pub(super) fn open(file: File) -> Result<Rows, String> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| format!("not a Parquet file, or a damaged one: {e}"))?;
    // A codec left out of the build would otherwise fail at the first row
    // with the library's words.
    for group in builder.metadata().row_groups() {
        for column in group.columns() {
            let codec = match column.compression() {
                Compression::BROTLI(_) => "brotli",
                Compression::LZO => "LZO",
                _ => continue,
            };
            return Err(format!(
                "column `{}` is compressed with {codec}, which gavel does not read; write the \
                 file with snappy (pandas' and Spark's default), zstd, gzip or lz4",
                column.column_path().string()
            ));
        }
    }
    let reader = builder
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| format!("cannot read it: {e}"))?;
    Ok(Rows {
        reader,
        batch: None,
        in_batch: 0,
        read: 0,
    })
}

impl Iterator for Rows {
    /// The row's 1-based number, and its fields.
    type Item = (u64, Result<Map<String, Value>, RowError>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(batch) = &self.batch
                && self.in_batch < batch.num_rows()
            {
                let fields = fields(batch, self.in_batch);
                self.in_batch += 1;
                self.read += 1;
                return Some((self.read, fields));
            }
            self.batch = None;
            match self.reader.next()? {
                Ok(batch) => {
                    self.batch = Some(batch);
                    self.in_batch = 0;
                }
                Err(e) => {
                    // Dataset readers stop after an error that starts so:
                    // the decoder cannot resynchronise.
                    let error = RowError {
                        field: None,
                        message: format!("cannot read it: {e}"),
                    };
                    return Some((self.read + 1, Err(error)));
                }
            }
        }
    }
}

/// The fields of row `row` of `batch`, in column order, without null cells
/// and pandas' index columns.
fn fields(batch: &RecordBatch, row: usize) -> Result<Map<String, Value>, RowError> {
    let mut fields = Map::new();
    for (field, column) in batch.schema_ref().fields().iter().zip(batch.columns()) {
        let name = field.name();
        if is_pandas_index(name) {
            continue;
        }
        let column = column.as_ref();
        let value = match text(column, row) {
            Some(text) => super::text_cell(name, text).map_err(|message| RowError {
                field: Some(name.clone()),
                message,
            })?,
            None => arrow_value::value(column, row).map_err(|e| RowError {
                field: Some(format!("{name}{}", e.path)),
                message: e.message,
            })?,
        };
        if !value.is_null() {
            fields.insert(name.clone(), value);
        }
    }
    Ok(fields)
}

/// A string cell's text.
fn text(column: &dyn Array, row: usize) -> Option<&str> {
    if column.is_null(row) {
        return None;
    }
    match column.data_type() {
        DataType::Utf8 => Some(column.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => Some(column.as_string::<i64>().value(row)),
        DataType::Utf8View => Some(column.as_string_view().value(row)),
        _ => None,
    }
}

/// pandas writes a DataFrame's index as `__index_level_0__` (unless it is
/// the default range) and reads it back as the index, not as data.
fn is_pandas_index(name: &str) -> bool {
    name.strip_prefix("__index_level_")
        .and_then(|rest| rest.strip_suffix("__"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, StringArray};
    use parquet::arrow::ArrowWriter;
    use serde_json::json;

    use super::super::{Position, open as open_dataset};

    /// A Parquet file of `columns`, in row groups of 2 rows.
    fn write(columns: Vec<(&str, ArrayRef)>) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("set.parquet");
        let batch = arrow_array::RecordBatch::try_from_iter(columns).unwrap();
        let properties = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(2))
            .build();
        let file = std::fs::File::create(&path).unwrap();
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(properties)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        (dir, path)
    }

    #[test]
    fn rows_across_row_groups_with_null_cells_left_out_and_json_text_read() {
        let (_dir, path) = write(vec![
            (
                "request",
                Arc::new(StringArray::from(vec![Some("q1"), Some("q2"), None])) as ArrayRef,
            ),
            (
                "retrieved_context",
                Arc::new(StringArray::from(vec![
                    Some(r#"[{"content": "c", "doc_uri": "d"}]"#),
                    Some(""),
                    Some("[oops"),
                ])),
            ),
            (
                "note",
                Arc::new(StringArray::from(vec![Some("[kept as text]"), None, None])),
            ),
            (
                "__index_level_0__",
                Arc::new(Int64Array::from(vec![10, 11, 12])),
            ),
        ]);
        let records: Vec<_> = open_dataset(&path).unwrap().collect();
        assert_eq!(records.len(), 3);
        let first = records[0].as_ref().unwrap();
        assert_eq!((first.index, first.position), (0, Position::Row(1)));
        assert_eq!(
            serde_json::Value::Object(first.fields.clone()),
            json!({
                "request": "q1",
                "retrieved_context": [{"content": "c", "doc_uri": "d"}],
                "note": "[kept as text]",
            })
        );
        let second = records[1].as_ref().unwrap();
        assert_eq!(second.position, Position::Row(2));
        assert_eq!(
            serde_json::Value::Object(second.fields.clone()),
            json!({"request": "q2"})
        );
        let third = records[2].as_ref().unwrap_err();
        assert_eq!(third.position, Some(Position::Row(3)));
        assert_eq!(third.field.as_deref(), Some("retrieved_context"));
        assert!(third.message.starts_with("the cell is not JSON"), "{third}");
        assert!(
            third
                .to_string()
                .contains("set.parquet, row 3, field `retrieved_context`")
        );
    }

    #[test]
    fn a_file_that_is_not_parquet_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("set.parquet");
        std::fs::write(&path, "request\nq1\n").unwrap();
        let error = open_dataset(&path).err().unwrap();
        assert_eq!(error.position, None);
        assert!(
            error
                .to_string()
                .contains("set.parquet: not a Parquet file, or a damaged one"),
            "{error}"
        );
    }

    #[test]
    fn pandas_index_columns_are_recognised_by_name() {
        assert!(super::is_pandas_index("__index_level_0__"));
        assert!(super::is_pandas_index("__index_level_12__"));
        assert!(!super::is_pandas_index("__index_level___"));
        assert!(!super::is_pandas_index("index_level_0"));
    }
}
