//! Arrow values (the cells of a Parquet evaluation set) as the JSON values
//! the rest of gavel reads a row from.
//!
//! Text, numbers and booleans map one to one; lists (of every Arrow kind)
//! become arrays, structs and maps objects; dates, times and durations
//! become their ISO 8601 text, as pandas' `isoformat()` would give (a
//! timestamp with a time zone in UTC, with `Z`: without a time zone
//! database only fixed offsets could be shown). A float that is not a
//! number (how pandas writes a missing float) is null.
//! Bytes have no faithful JSON form, so a binary value is an error that
//! names where it is, rather than a guess.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowTemporalType, Date32Type, Date64Type, Decimal32Type, Decimal64Type, Decimal128Type,
    Decimal256Type, DecimalType, DurationMicrosecondType, DurationMillisecondType,
    DurationNanosecondType, DurationSecondType, Float16Type, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, Time32MillisecondType, Time32SecondType,
    Time64MicrosecondType, Time64NanosecondType, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{
    AnyDictionaryArray, Array, GenericListArray, GenericListViewArray, MapArray, OffsetSizeTrait,
    StructArray,
};
use arrow_schema::{DataType, TimeUnit};
use serde_json::{Map, Number, Value};

/// A value that cannot be read as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// Where in the cell: empty for the cell itself, else a path in
    /// input.rs's style (`[2].image`).
    pub path: String,
    pub message: String,
}

impl Unreadable {
    /// The same problem, seen from the value that holds this one at `step`.
    fn within(mut self, step: &str) -> Self {
        self.path.insert_str(0, step);
        self
    }
}

/// The value at `index` of `array` as JSON.
pub fn value(array: &dyn Array, index: usize) -> Result<Value, Unreadable> {
    match array.data_type() {
        // Neither has nulls of its own to ask `is_null` about.
        DataType::Null => return Ok(Value::Null),
        DataType::Dictionary(..) => return dictionary(array.as_any_dictionary(), index),
        _ => {}
    }
    if array.is_null(index) {
        return Ok(Value::Null);
    }
    Ok(match array.data_type() {
        DataType::Boolean => Value::Bool(array.as_boolean().value(index)),
        DataType::Int8 => array.as_primitive::<Int8Type>().value(index).into(),
        DataType::Int16 => array.as_primitive::<Int16Type>().value(index).into(),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(index).into(),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(index).into(),
        DataType::UInt8 => array.as_primitive::<UInt8Type>().value(index).into(),
        DataType::UInt16 => array.as_primitive::<UInt16Type>().value(index).into(),
        DataType::UInt32 => array.as_primitive::<UInt32Type>().value(index).into(),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(index).into(),
        DataType::Float16 => float(array.as_primitive::<Float16Type>().value(index).to_f64()),
        DataType::Float32 => {
            // Widened through its shortest text, so 0.1f32 reads as 0.1,
            // not 0.10000000149011612.
            let x = array.as_primitive::<Float32Type>().value(index);
            float(x.to_string().parse().unwrap_or(f64::NAN))
        }
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(index)),
        DataType::Decimal32(..) => decimal::<Decimal32Type>(array, index),
        DataType::Decimal64(..) => decimal::<Decimal64Type>(array, index),
        DataType::Decimal128(..) => decimal::<Decimal128Type>(array, index),
        DataType::Decimal256(..) => decimal::<Decimal256Type>(array, index),
        DataType::Date32 => temporal::<Date32Type>(array, index)?,
        DataType::Date64 => temporal::<Date64Type>(array, index)?,
        DataType::Time32(TimeUnit::Second) => temporal::<Time32SecondType>(array, index)?,
        DataType::Time32(_) => temporal::<Time32MillisecondType>(array, index)?,
        DataType::Time64(TimeUnit::Microsecond) => temporal::<Time64MicrosecondType>(array, index)?,
        DataType::Time64(_) => temporal::<Time64NanosecondType>(array, index)?,
        DataType::Timestamp(TimeUnit::Second, _) => temporal::<TimestampSecondType>(array, index)?,
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            temporal::<TimestampMillisecondType>(array, index)?
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            temporal::<TimestampMicrosecondType>(array, index)?
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            temporal::<TimestampNanosecondType>(array, index)?
        }
        DataType::Duration(TimeUnit::Second) => temporal::<DurationSecondType>(array, index)?,
        DataType::Duration(TimeUnit::Millisecond) => {
            temporal::<DurationMillisecondType>(array, index)?
        }
        DataType::Duration(TimeUnit::Microsecond) => {
            temporal::<DurationMicrosecondType>(array, index)?
        }
        DataType::Duration(TimeUnit::Nanosecond) => {
            temporal::<DurationNanosecondType>(array, index)?
        }
        DataType::Utf8 => array.as_string::<i32>().value(index).into(),
        DataType::LargeUtf8 => array.as_string::<i64>().value(index).into(),
        DataType::Utf8View => array.as_string_view().value(index).into(),
        DataType::List(_) => list(array.as_list::<i32>(), index)?,
        DataType::LargeList(_) => list(array.as_list::<i64>(), index)?,
        DataType::ListView(_) => list_view(array.as_list_view::<i32>(), index)?,
        DataType::LargeListView(_) => list_view(array.as_list_view::<i64>(), index)?,
        DataType::FixedSizeList(..) => {
            let list = array.as_fixed_size_list();
            let start = list.value_offset_at(index);
            items(list.values(), start..start + list.value_length() as usize)?
        }
        DataType::Struct(_) => object(array.as_struct(), index)?,
        DataType::Map(..) => map(array.as_map(), index)?,
        other => {
            return Err(Unreadable {
                path: String::new(),
                message: format!(
                    "a {other} value has no JSON form; gavel reads text, numbers, booleans, \
                     dates, times and durations, lists, structs and maps"
                ),
            });
        }
    })
}

/// JSON has no NaN or infinity; pandas writes a missing float as NaN.
fn float(x: f64) -> Value {
    Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// A decimal as a number; beyond f64's range it stays text rather than
/// turning into infinity.
fn decimal<T: DecimalType>(array: &dyn Array, index: usize) -> Value {
    let array = array.as_primitive::<T>();
    let text = T::format_decimal(array.value(index), array.precision(), array.scale());
    serde_json::from_str::<Number>(&text).map_or(Value::String(text), Value::Number)
}

/// A date, time, timestamp or duration as ISO 8601 text.
fn temporal<T>(array: &dyn Array, index: usize) -> Result<Value, Unreadable>
where
    T: ArrowTemporalType,
    i64: From<T::Native>,
{
    let array = array.as_primitive::<T>();
    let text = match array.data_type() {
        DataType::Date32 | DataType::Date64 => array.value_as_date(index).map(|d| d.to_string()),
        DataType::Time32(_) | DataType::Time64(_) => {
            array.value_as_time(index).map(|t| t.to_string())
        }
        // Stored as UTC when there is a time zone.
        DataType::Timestamp(_, zone) => array.value_as_datetime(index).map(|t| {
            let utc = if zone.is_some() { "Z" } else { "" };
            format!("{}T{}{utc}", t.date(), t.time())
        }),
        _ => array.value_as_duration(index).map(|d| d.to_string()),
    };
    text.map(Value::String).ok_or_else(|| Unreadable {
        path: String::new(),
        message: format!("a {} value is out of range", array.data_type()),
    })
}

fn dictionary(array: &dyn AnyDictionaryArray, index: usize) -> Result<Value, Unreadable> {
    let keys = array.keys();
    if keys.is_null(index) {
        return Ok(Value::Null);
    }
    let key = match value(keys, index)? {
        Value::Number(n) => n.as_u64(),
        _ => None,
    };
    match key {
        Some(key) if (key as usize) < array.values().len() => value(array.values(), key as usize),
        _ => Err(Unreadable {
            path: String::new(),
            message: "a dictionary key points outside its dictionary".to_owned(),
        }),
    }
}

fn items(values: &dyn Array, range: std::ops::Range<usize>) -> Result<Value, Unreadable> {
    let start = range.start;
    range
        .map(|i| value(values, i).map_err(|e| e.within(&format!("[{}]", i - start))))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

fn list<O: OffsetSizeTrait>(
    array: &GenericListArray<O>,
    index: usize,
) -> Result<Value, Unreadable> {
    let offsets = array.value_offsets();
    items(
        array.values(),
        offsets[index].as_usize()..offsets[index + 1].as_usize(),
    )
}

fn list_view<O: OffsetSizeTrait>(
    array: &GenericListViewArray<O>,
    index: usize,
) -> Result<Value, Unreadable> {
    let start = array.value_offset(index).as_usize();
    items(
        array.values(),
        start..start + array.value_size(index).as_usize(),
    )
}

/// A struct's fields in schema order. A null field is left out: Parquet
/// cannot tell a missing key from a null one, and pandas and Spark give a
/// struct column every key any row has (a row's named guideline groups
/// would otherwise gain the other rows' names, as nulls).
fn object(array: &StructArray, index: usize) -> Result<Value, Unreadable> {
    let mut object = Map::new();
    for (field, column) in array.fields().iter().zip(array.columns()) {
        let value =
            value(column.as_ref(), index).map_err(|e| e.within(&format!(".{}", field.name())))?;
        if !value.is_null() {
            object.insert(field.name().clone(), value);
        }
    }
    Ok(Value::Object(object))
}

/// A map's entries, in order; keys that are not text become their JSON
/// text. A null value is kept: a map's keys are its data.
fn map(array: &MapArray, index: usize) -> Result<Value, Unreadable> {
    let offsets = array.value_offsets();
    let (keys, values) = (array.keys(), array.values());
    let mut object = Map::new();
    for i in offsets[index] as usize..offsets[index + 1] as usize {
        let key = match value(keys.as_ref(), i).map_err(|e| e.within("{key}"))? {
            Value::String(key) => key,
            other => other.to_string(),
        };
        let value = value(values.as_ref(), i).map_err(|e| e.within(&format!(".{key}")))?;
        object.insert(key, value);
    }
    Ok(Value::Object(object))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::builder::{
        FixedSizeListBuilder, Int32Builder, ListBuilder, MapBuilder, StringBuilder,
    };
    use arrow_array::types::Int8Type;
    use arrow_array::{
        ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, DictionaryArray,
        DurationSecondArray, Float16Array, Float32Array, Float64Array, Int8Array, Int16Array,
        Int32Array, Int64Array, LargeListArray, LargeStringArray, NullArray, StringArray,
        StringViewArray, Time64MicrosecondArray, TimestampMicrosecondArray, UInt8Array,
        UInt16Array, UInt32Array, UInt64Array,
    };
    use arrow_schema::Field;
    use serde_json::json;

    use super::*;

    fn all(array: &dyn Array) -> Vec<Value> {
        (0..array.len()).map(|i| value(array, i).unwrap()).collect()
    }

    #[test]
    fn scalars() {
        assert_eq!(all(&NullArray::new(2)), [Value::Null, Value::Null]);
        assert_eq!(
            all(&BooleanArray::from(vec![Some(true), None, Some(false)])),
            [json!(true), Value::Null, json!(false)]
        );
        assert_eq!(all(&Int8Array::from(vec![-8])), [json!(-8)]);
        assert_eq!(all(&Int16Array::from(vec![-16])), [json!(-16)]);
        assert_eq!(
            all(&Int32Array::from(vec![Some(-32), None])),
            [json!(-32), Value::Null]
        );
        assert_eq!(all(&Int64Array::from(vec![i64::MIN])), [json!(i64::MIN)]);
        assert_eq!(all(&UInt8Array::from(vec![8])), [json!(8)]);
        assert_eq!(all(&UInt16Array::from(vec![16])), [json!(16)]);
        assert_eq!(all(&UInt32Array::from(vec![32])), [json!(32)]);
        assert_eq!(all(&UInt64Array::from(vec![u64::MAX])), [json!(u64::MAX)]);
        assert_eq!(all(&Float16Array::from(vec![half_of(1.5)])), [json!(1.5)]);
        assert_eq!(all(&Float32Array::from(vec![0.1f32])), [json!(0.1)]);
        assert_eq!(
            all(&Float64Array::from(vec![
                Some(2.5),
                Some(f64::NAN),
                Some(f64::INFINITY),
                None
            ])),
            [json!(2.5), Value::Null, Value::Null, Value::Null]
        );
        assert_eq!(
            all(&StringArray::from(vec![
                Some("a"),
                None,
                Some("{\"x\": 1}")
            ])),
            [json!("a"), Value::Null, json!("{\"x\": 1}")]
        );
        assert_eq!(
            all(&LargeStringArray::from(vec!["large"])),
            [json!("large")]
        );
        assert_eq!(all(&StringViewArray::from(vec!["view"])), [json!("view")]);
    }

    fn half_of(x: f32) -> <Float16Type as arrow_array::ArrowPrimitiveType>::Native {
        <Float16Type as arrow_array::ArrowPrimitiveType>::Native::from_f32(x)
    }

    #[test]
    fn decimals_are_numbers_and_times_are_iso_text() {
        let decimals = Decimal128Array::from(vec![12345, -5])
            .with_precision_and_scale(10, 2)
            .unwrap();
        assert_eq!(all(&decimals), [json!(123.45), json!(-0.05)]);
        // 2024-02-29 is day 19782 of the Unix epoch.
        assert_eq!(all(&Date32Array::from(vec![19782])), [json!("2024-02-29")]);
        let micros = 19782 * 86_400_000_000i64 + 3_600_000_000 + 500_000;
        assert_eq!(
            all(&TimestampMicrosecondArray::from(vec![micros])),
            [json!("2024-02-29T01:00:00.500")]
        );
        // pandas names the zone ("UTC"), Spark gives an offset.
        for zone in ["UTC", "+00:00", "Europe/Paris"] {
            assert_eq!(
                all(&TimestampMicrosecondArray::from(vec![micros]).with_timezone(zone)),
                [json!("2024-02-29T01:00:00.500Z")]
            );
        }
        assert_eq!(
            all(&Time64MicrosecondArray::from(vec![3_600_000_000])),
            [json!("01:00:00")]
        );
        assert_eq!(all(&DurationSecondArray::from(vec![90])), [json!("PT90S")]);
    }

    #[test]
    fn lists_of_every_kind_are_arrays() {
        let mut builder = ListBuilder::new(StringBuilder::new());
        builder.append_value([Some("yes"), None, Some("no")]);
        builder.append_null();
        builder.append_value::<[Option<&str>; 0], _>([]);
        let list = builder.finish();
        assert_eq!(
            all(&list),
            [json!(["yes", null, "no"]), Value::Null, json!([])]
        );

        let large = LargeListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1), Some(2)]),
            Some(vec![]),
        ]);
        assert_eq!(all(&large), [json!([1, 2]), json!([])]);

        let mut fixed = FixedSizeListBuilder::new(Int32Builder::new(), 2);
        fixed.values().append_slice(&[1, 2]);
        fixed.append(true);
        fixed.values().append_slice(&[3, 4]);
        fixed.append(true);
        assert_eq!(all(&fixed.finish()), [json!([1, 2]), json!([3, 4])]);

        let view = arrow_array::ListViewArray::new(
            Arc::new(Field::new_list_field(DataType::Int32, true)),
            vec![2, 0].into(),
            vec![1, 2].into(),
            Arc::new(Int32Array::from(vec![7, 8, 9])),
            None,
        );
        assert_eq!(all(&view), [json!([9]), json!([7, 8])]);
    }

    /// `retrieved_context` as pandas and Spark write it: a list of
    /// `{content, doc_uri}` structs, a chunk without content among them.
    #[test]
    fn structs_are_objects_without_their_null_fields() {
        let content: ArrayRef = Arc::new(StringArray::from(vec![Some("c1"), None]));
        let doc_uri: ArrayRef = Arc::new(StringArray::from(vec![Some("doc_1"), Some("doc_2")]));
        let chunks = StructArray::from(vec![
            (
                Arc::new(Field::new("content", DataType::Utf8, true)),
                content,
            ),
            (
                Arc::new(Field::new("doc_uri", DataType::Utf8, true)),
                doc_uri,
            ),
        ]);
        let mut offsets = arrow_array::builder::OffsetBufferBuilder::new(1);
        // One row holding both chunks.
        offsets.push_length(2);
        let list = arrow_array::ListArray::new(
            Arc::new(Field::new_list_field(chunks.data_type().clone(), true)),
            offsets.finish(),
            Arc::new(chunks),
            None,
        );
        assert_eq!(
            all(&list),
            [json!([{"content": "c1", "doc_uri": "doc_1"}, {"doc_uri": "doc_2"}])]
        );
    }

    #[test]
    fn maps_are_objects_and_dictionaries_are_their_values() {
        let mut builder = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
        builder.keys().append_value("a");
        builder.values().append_value(1);
        builder.keys().append_value("b");
        builder.values().append_null();
        builder.append(true).unwrap();
        builder.append(false).unwrap();
        assert_eq!(
            all(&builder.finish()),
            [json!({"a": 1, "b": null}), Value::Null]
        );

        let mut ints = MapBuilder::new(None, Int32Builder::new(), StringBuilder::new());
        ints.keys().append_value(7);
        ints.values().append_value("seven");
        ints.append(true).unwrap();
        assert_eq!(all(&ints.finish()), [json!({"7": "seven"})]);

        let categories: DictionaryArray<Int8Type> =
            vec![Some("math"), None, Some("art"), Some("math")]
                .into_iter()
                .collect();
        assert_eq!(
            all(&categories),
            [json!("math"), Value::Null, json!("art"), json!("math")]
        );
    }

    #[test]
    fn binary_values_are_named_errors_and_null_ones_are_not() {
        let blobs = BinaryArray::from(vec![Some(&b"\x00\x01"[..]), None]);
        let error = value(&blobs, 0).unwrap_err();
        assert_eq!(error.path, "");
        assert!(
            error.message.starts_with("a Binary value has no JSON form"),
            "{error:?}"
        );
        assert_eq!(value(&blobs, 1).unwrap(), Value::Null);

        let mut builder = ListBuilder::new(arrow_array::builder::BinaryBuilder::new());
        builder.append_value([Some(&b"ok"[..])]);
        builder.append_value([None, Some(&b"x"[..])]);
        let list = builder.finish();
        let images: ArrayRef = Arc::new(list);
        let names: ArrayRef = Arc::new(StringArray::from(vec!["a", "b"]));
        let chunks = StructArray::from(vec![
            (Arc::new(Field::new("name", DataType::Utf8, true)), names),
            (
                Arc::new(Field::new("images", images.data_type().clone(), true)),
                images,
            ),
        ]);
        assert_eq!(value(&chunks, 1).unwrap_err().path, ".images[1]");
    }
}
