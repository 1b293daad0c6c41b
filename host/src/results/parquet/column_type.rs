//! The Arrow type of each result column, inferred from every row's value,
//! so that `eval_results.parquet` has the shape of the JSON: numbers are
//! numbers, lists lists and objects structs, down to the leaves.
//!
//! A value whose shape differs between rows (an input `request` that is
//! text in one row and a chat request in another, `guidelines` as a list
//! and as named groups) is written as text where the shapes part: strings
//! as they are, anything else as its JSON text, as `eval_results.csv`
//! writes it. Integers and floats in one column are floats.

use std::sync::Arc;

use arrow_array::builder::{NullBufferBuilder, OffsetBufferBuilder};
use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, ListArray, StringArray, StructArray,
};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field, Fields};
use indexmap::IndexMap;
use serde_json::{Map, Value};

/// An object with more keys than this (a trace's attributes, say) is JSON
/// text: a struct of hundreds of mostly-null fields helps no reader.
const MAX_STRUCT_FIELDS: usize = 128;

#[derive(Debug, Clone, PartialEq)]
pub enum ColumnType {
    /// Only nulls so far.
    Null,
    Bool,
    Int,
    Float,
    Text,
    List(Box<ColumnType>),
    /// Keys in first-seen order.
    Struct(IndexMap<String, ColumnType>),
    /// Values of different shapes: JSON text (strings as they are).
    Json,
}

impl ColumnType {
    /// The type of one value.
    pub fn of(value: &Value) -> ColumnType {
        let mut ty = ColumnType::Null;
        ty.add(value);
        ty
    }

    /// Widens the type to hold `value` too.
    pub fn add(&mut self, value: &Value) {
        match (&mut *self, value) {
            (_, Value::Null) | (ColumnType::Json, _) => {}
            (ColumnType::List(items), Value::Array(values)) => {
                for value in values {
                    items.add(value);
                }
            }
            (ColumnType::Struct(fields), Value::Object(object)) => {
                for (key, value) in object {
                    match fields.get_mut(key) {
                        Some(field) => field.add(value),
                        None => {
                            fields.insert(key.clone(), ColumnType::of(value));
                        }
                    }
                }
                if fields.len() > MAX_STRUCT_FIELDS {
                    *self = ColumnType::Json;
                }
            }
            (ColumnType::Null, _) => *self = ColumnType::shape(value),
            (ColumnType::Int, Value::Number(n)) if !is_int(n) => *self = ColumnType::Float,
            (ColumnType::Float, Value::Number(_)) => {}
            (current, _) => {
                if *current != ColumnType::shape(value) {
                    *self = ColumnType::Json;
                }
            }
        }
    }

    /// The type of `value` on its own, its items and fields not yet seen.
    fn shape(value: &Value) -> ColumnType {
        match value {
            Value::Null => ColumnType::Null,
            Value::Bool(_) => ColumnType::Bool,
            Value::Number(n) if is_int(n) => ColumnType::Int,
            Value::Number(_) => ColumnType::Float,
            Value::String(_) => ColumnType::Text,
            Value::Array(_) | Value::Object(_) => {
                let mut ty = if value.is_array() {
                    ColumnType::List(Box::new(ColumnType::Null))
                } else {
                    ColumnType::Struct(IndexMap::new())
                };
                ty.add(value);
                ty
            }
        }
    }

    /// The Arrow type the column is written as. A column of nulls only (or
    /// an empty object, which Parquet has no group for) is text.
    pub fn data_type(&self) -> DataType {
        match self {
            ColumnType::Null | ColumnType::Text | ColumnType::Json => DataType::Utf8,
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Int => DataType::Int64,
            ColumnType::Float => DataType::Float64,
            ColumnType::List(items) => {
                DataType::List(Arc::new(Field::new_list_field(items.data_type(), true)))
            }
            ColumnType::Struct(fields) if fields.is_empty() => DataType::Utf8,
            ColumnType::Struct(fields) => DataType::Struct(Fields::from(
                fields
                    .iter()
                    .map(|(name, ty)| Field::new(name, ty.data_type(), true))
                    .collect::<Vec<_>>(),
            )),
        }
    }

    /// The values of one column of a batch of rows (`None`: the row has
    /// no such field) as an array of [`data_type`](Self::data_type).
    pub fn array(&self, values: &[Option<&Value>]) -> ArrayRef {
        match self {
            ColumnType::Bool => Arc::new(BooleanArray::from_iter(
                values.iter().map(|v| present(v).and_then(Value::as_bool)),
            )),
            ColumnType::Int => Arc::new(Int64Array::from_iter(
                values.iter().map(|v| present(v).and_then(Value::as_i64)),
            )),
            ColumnType::Float => Arc::new(Float64Array::from_iter(
                values.iter().map(|v| present(v).and_then(Value::as_f64)),
            )),
            ColumnType::List(items) => {
                let mut offsets = OffsetBufferBuilder::new(values.len());
                let mut nulls = NullBufferBuilder::new(values.len());
                let mut children = Vec::new();
                for value in values {
                    match present(value).and_then(Value::as_array) {
                        Some(list) => {
                            offsets.push_length(list.len());
                            nulls.append_non_null();
                            children.extend(list.iter().map(Some));
                        }
                        None => {
                            offsets.push_length(0);
                            nulls.append_null();
                        }
                    }
                }
                let item = Arc::new(Field::new_list_field(items.data_type(), true));
                Arc::new(ListArray::new(
                    item,
                    offsets.finish(),
                    items.array(&children),
                    nulls.finish(),
                ))
            }
            ColumnType::Struct(fields) if !fields.is_empty() => {
                let objects: Vec<Option<&Map<String, Value>>> = values
                    .iter()
                    .map(|v| present(v).and_then(Value::as_object))
                    .collect();
                let columns = fields
                    .iter()
                    .map(|(name, ty)| {
                        let values: Vec<Option<&Value>> = objects
                            .iter()
                            .map(|o| o.and_then(|o| o.get(name)))
                            .collect();
                        ty.array(&values)
                    })
                    .collect();
                let nulls = NullBuffer::from_iter(objects.iter().map(Option::is_some));
                let DataType::Struct(arrow_fields) = self.data_type() else {
                    unreachable!("a struct with fields is a Struct")
                };
                Arc::new(StructArray::new(arrow_fields, columns, Some(nulls)))
            }
            // Text, and whatever is written as text.
            ColumnType::Null | ColumnType::Text | ColumnType::Json | ColumnType::Struct(_) => {
                Arc::new(StringArray::from_iter(values.iter().map(|v| {
                    present(v).map(|v| match v {
                        Value::String(text) => text.clone(),
                        other => other.to_string(),
                    })
                })))
            }
        }
    }
}

/// A value that is there and not null.
fn present<'a>(value: &Option<&'a Value>) -> Option<&'a Value> {
    value.filter(|v| !v.is_null())
}

/// Whether a JSON number is written as an Int64 (a u64 beyond it is a
/// float).
fn is_int(n: &serde_json::Number) -> bool {
    n.is_i64()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn infer(values: &[Value]) -> ColumnType {
        let mut ty = ColumnType::Null;
        for value in values {
            ty.add(value);
        }
        ty
    }

    /// `values` written as a column of `ty`, read back as the evaluation
    /// set reader reads a Parquet cell.
    fn written(ty: &ColumnType, values: &[Value]) -> Vec<Value> {
        let array = ty.array(&values.iter().map(Some).collect::<Vec<_>>());
        assert_eq!(array.data_type(), &ty.data_type());
        (0..array.len())
            .map(|i| crate::evaluation::dataset::arrow_value::value(array.as_ref(), i).unwrap())
            .collect()
    }

    #[test]
    fn every_type_is_written_as_it_reads_back() {
        let rows = [
            json!({"rating": "yes", "score": 4, "precision": 1.0, "ok": true,
                   "ratings": ["yes", null], "context": [{"content": "c", "doc_uri": "d"}],
                   "skipped": {"correctness": "needs expected_response"}}),
            json!({"rating": null, "score": 2, "precision": 0.5, "ok": false,
                   "ratings": [], "context": [{"doc_uri": "e"}, null]}),
            json!({}),
        ];
        for column in [
            "rating",
            "score",
            "precision",
            "ok",
            "ratings",
            "context",
            "skipped",
        ] {
            let values: Vec<Value> = rows
                .iter()
                .map(|r| r.get(column).cloned().unwrap_or(Value::Null))
                .collect();
            let ty = infer(&values);
            assert_eq!(written(&ty, &values), values, "{column}: {ty:?}");
        }
        let precision = infer(&[json!(1), json!(0.5)]);
        assert_eq!(precision.data_type(), DataType::Float64);
        let ratings = infer(&[json!(["yes", null])]);
        assert_eq!(
            ratings.array(&[None]).null_count(),
            1,
            "a missing field is a null list"
        );
    }

    #[test]
    fn scalars_and_their_widening() {
        assert_eq!(infer(&[json!(null)]), ColumnType::Null);
        assert_eq!(infer(&[json!(1), json!(null), json!(2)]), ColumnType::Int);
        assert_eq!(infer(&[json!(1), json!(0.5)]), ColumnType::Float);
        assert_eq!(infer(&[json!(0.5), json!(1)]), ColumnType::Float);
        assert_eq!(infer(&[json!(u64::MAX)]), ColumnType::Float);
        assert_eq!(infer(&[json!("yes"), json!("no")]), ColumnType::Text);
        assert_eq!(infer(&[json!(true)]), ColumnType::Bool);
        assert_eq!(infer(&[json!("1"), json!(1)]), ColumnType::Json);
        assert_eq!(infer(&[json!(true), json!(1)]), ColumnType::Json);
    }

    #[test]
    fn nested_shapes_are_kept_and_conflicts_become_text_where_they_are() {
        // Chunk ratings with a failed chunk (null) among them.
        let ratings = infer(&[json!(["yes", null]), json!([]), json!(["no"])]);
        assert_eq!(ratings, ColumnType::List(Box::new(ColumnType::Text)));
        let context = infer(&[
            json!([{"content": "a", "doc_uri": "d1"}]),
            json!([{"doc_uri": "d2"}, {"content": "b", "extra": 1}]),
        ]);
        assert_eq!(
            context.data_type().to_string(),
            DataType::List(Arc::new(Field::new_list_field(
                DataType::Struct(Fields::from(vec![
                    Field::new("content", DataType::Utf8, true),
                    Field::new("doc_uri", DataType::Utf8, true),
                    Field::new("extra", DataType::Int64, true),
                ])),
                true
            )))
            .to_string()
        );
        // A request as text and as a chat request.
        let request = infer(&[json!("hi"), json!({"messages": [{"role": "user"}]})]);
        assert_eq!(request, ColumnType::Json);
        assert_eq!(
            written(&request, &[json!("hi"), json!({"messages": []})]),
            [json!("hi"), json!("{\"messages\":[]}")]
        );
        // Only the list's items differ: the list stays a list.
        let mixed = infer(&[json!(["a", {"content": "b"}])]);
        assert_eq!(mixed, ColumnType::List(Box::new(ColumnType::Json)));
        assert_eq!(
            written(&mixed, &[json!(["a", {"content": "b"}])]),
            [json!(["a", "{\"content\":\"b\"}"])]
        );
    }

    #[test]
    fn wide_and_empty_objects_are_text() {
        let wide: serde_json::Map<String, Value> = (0..=MAX_STRUCT_FIELDS)
            .map(|i| (format!("k{i}"), json!(i)))
            .collect();
        assert_eq!(infer(&[Value::Object(wide)]), ColumnType::Json);
        let empty = infer(&[json!({})]);
        assert_eq!(empty.data_type(), DataType::Utf8);
        assert_eq!(written(&empty, &[json!({})]), [json!("{}")]);
        assert_eq!(written(&ColumnType::Null, &[json!(null)]), [json!(null)]);
    }
}
