//! Arbitrary JSON for the property tests of the readers that take hostile
//! input (rows, traces): any shape, with the field names those readers look
//! for mixed in, so the tests reach past the first type check.

use proptest::prelude::*;
use serde_json::{Map, Value};

/// Keys the readers look up, and some they do not.
const KEYS: &[&str] = &[
    "request",
    "response",
    "expected_response",
    "expected_facts",
    "guidelines",
    "retrieved_context",
    "expected_retrieved_context",
    "request_id",
    "trace",
    "content",
    "doc_uri",
    "messages",
    "role",
    "choices",
    "message",
    "inputs",
    "outputs",
    "data",
    "spans",
    "span_id",
    "parent_span_id",
    "parent_id",
    "start_time_unix_nano",
    "end_time_unix_nano",
    "attributes",
    "mlflow.spanType",
    "mlflow.chat.tokenUsage",
    "mlflow.spanOutputs",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "usage",
    "info",
    "x",
];

pub(crate) fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,20}".prop_map(Value::String),
        prop::sample::select(KEYS).prop_map(|k| Value::String(k.to_owned())),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            object(inner),
        ]
    })
}

/// An object whose keys are mostly ones the readers know.
pub(crate) fn object(values: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        4 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => "[a-z_.]{1,12}",
    ];
    prop::collection::vec((key, values), 0..8)
        .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>()))
}
