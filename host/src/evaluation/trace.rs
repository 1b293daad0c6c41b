//! MLflow traces (the `trace` field of a row, or of an agent's answer):
//! the agent's token usage, its latency, and the chunks its retrievers
//! returned.
//!
//! Both of MLflow's JSON layouts are read: MLflow 3's (`span_id`,
//! `parent_span_id`, `start_time_unix_nano`, `info.execution_duration_ms`)
//! and MLflow 2's (`context.span_id`, `parent_id`, `start_time`,
//! `info.execution_time_ms`). Span attributes hold JSON text
//! (`"mlflow.spanType": "\"LLM\""`); plain values are accepted too.

use std::collections::HashMap;

use serde_json::{Map, Value};

use gavel_runtime::bindings::Chunk;

use crate::results::row_result::TokenUsage;

/// Token counts in `{input_tokens, output_tokens, total_tokens}` (MLflow,
/// Anthropic) or `{prompt_tokens, completion_tokens, total_tokens}`
/// (OpenAI). A missing total is the sum of the others.
pub fn token_usage(value: &Value) -> Option<TokenUsage> {
    let object = value.as_object()?;
    let count = |keys: &[&str]| keys.iter().find_map(|k| object.get(*k)?.as_u64());
    let input = count(&["input_tokens", "prompt_tokens"]);
    let output = count(&["output_tokens", "completion_tokens"]);
    let total = count(&["total_tokens"]);
    if input.is_none() && output.is_none() && total.is_none() {
        return None;
    }
    let (input, output) = (input.unwrap_or(0), output.unwrap_or(0));
    Some(TokenUsage {
        input,
        output,
        total: total.unwrap_or(input + output),
    })
}

/// What a trace says about the run of the agent it records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceSummary {
    /// Summed over the LLM calls; `None` when no span reports usage.
    pub usage: Option<TokenUsage>,
    /// The root span's duration.
    pub latency_seconds: Option<f64>,
    /// Chunks of the top-level retriever spans, in the order they ran;
    /// `None` when the trace has no retriever span.
    pub retrieved_context: Option<Vec<Chunk>>,
}

/// A trace that cannot be read, with a path to the offending field
/// (`data.spans[2].attributes`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct TraceError {
    pub path: String,
    pub message: String,
}

impl TraceError {
    /// The field's path under `root`: `trace.data.spans[2]`.
    pub fn field(&self, root: &str) -> String {
        if self.path.is_empty() {
            root.to_owned()
        } else {
            format!("{root}.{}", self.path)
        }
    }
}

fn error(path: impl Into<String>, message: impl Into<String>) -> TraceError {
    TraceError {
        path: path.into(),
        message: message.into(),
    }
}

struct Span<'a> {
    id: String,
    parent: Option<String>,
    kind: Option<String>,
    start_ns: Option<u64>,
    end_ns: Option<u64>,
    attributes: Option<&'a Map<String, Value>>,
}

/// Reads an MLflow trace as JSON.
pub fn summarize(trace: &Value) -> Result<TraceSummary, TraceError> {
    let Some(root) = trace.as_object() else {
        return Err(error("", "expected an MLflow trace object"));
    };
    let spans = match root.get("data").and_then(|d| d.get("spans")) {
        Some(Value::Array(spans)) => spans,
        Some(_) => return Err(error("data.spans", "expected a list of spans")),
        None => return Err(error("data.spans", "is missing (not an MLflow trace?)")),
    };
    let spans = spans
        .iter()
        .enumerate()
        .map(|(i, span)| read_span(span, i))
        .collect::<Result<Vec<_>, _>>()?;
    let parents: HashMap<&str, Option<&str>> = spans
        .iter()
        .map(|s| (s.id.as_str(), s.parent.as_deref()))
        .collect();
    let kinds: HashMap<&str, Option<&str>> = spans
        .iter()
        .map(|s| (s.id.as_str(), s.kind.as_deref()))
        .collect();
    let usages: HashMap<&str, TokenUsage> = spans
        .iter()
        .filter_map(|s| span_usage(s).map(|u| (s.id.as_str(), u)))
        .collect();
    // As MLflow aggregates: a span whose ancestor already reports usage is
    // part of that call, not another one.
    let mut under_usage = Ancestry::new(&parents, |id| usages.contains_key(id));
    let mut usage: Option<TokenUsage> = None;
    for span in &spans {
        if let Some(own) = usages.get(span.id.as_str())
            && !under_usage.has_marked_ancestor(span)
        {
            usage.get_or_insert_default().add(*own);
        }
    }
    if usage.is_none() {
        usage = trace_level_usage(root);
    }

    let latency_seconds = spans
        .iter()
        .find(|s| s.parent.as_deref().is_none_or(|p| !parents.contains_key(p)))
        .and_then(|root| Some(root.end_ns?.checked_sub(root.start_ns?)? as f64 / 1e9))
        .or_else(|| trace_level_duration(root));

    let mut under_retriever = Ancestry::new(&parents, |id| {
        kinds.get(id).copied().flatten() == Some("RETRIEVER")
    });
    let mut retrievers: Vec<&Span> = spans
        .iter()
        .filter(|s| s.kind.as_deref() == Some("RETRIEVER"))
        .filter(|s| !under_retriever.has_marked_ancestor(s))
        .collect();
    retrievers.sort_by_key(|s| s.start_ns.unwrap_or(0));
    let retrieved_context = (!retrievers.is_empty()).then(|| {
        retrievers
            .iter()
            .flat_map(|s| documents(s.attributes.and_then(|a| a.get("mlflow.spanOutputs"))))
            .collect()
    });
    Ok(TraceSummary {
        usage,
        latency_seconds,
        retrieved_context,
    })
}

/// Whether a span has a marked ancestor, in time linear in the trace: each
/// span's answer is remembered, so a chain of 100,000 spans is walked once,
/// not once per span. A cycle (a malformed trace) counts as no ancestor.
struct Ancestry<'s, 'p, F> {
    parents: &'p HashMap<&'s str, Option<&'s str>>,
    marked: F,
    /// Whether the span or one above it is marked; `None` while being
    /// worked out (meeting it again means a cycle).
    known: HashMap<&'s str, Option<bool>>,
}

impl<'s, 'p, F: Fn(&str) -> bool> Ancestry<'s, 'p, F> {
    fn new(parents: &'p HashMap<&'s str, Option<&'s str>>, marked: F) -> Self {
        Ancestry {
            parents,
            marked,
            known: HashMap::new(),
        }
    }

    fn has_marked_ancestor(&mut self, span: &'s Span<'_>) -> bool {
        let Some(parent) = span.parent.as_deref() else {
            return false;
        };
        self.marked_or_under(parent)
    }

    fn marked_or_under(&mut self, id: &'s str) -> bool {
        let mut path = Vec::new();
        let mut next = Some(id);
        let answer = loop {
            let Some(id) = next else { break false };
            match self.known.get(id) {
                Some(Some(known)) => break *known,
                Some(None) => break false,
                None => {}
            }
            if (self.marked)(id) {
                self.known.insert(id, Some(true));
                break true;
            }
            self.known.insert(id, None);
            path.push(id);
            next = self.parents.get(id).copied().flatten();
        };
        for id in path {
            self.known.insert(id, Some(answer));
        }
        answer
    }
}

fn read_span(value: &Value, index: usize) -> Result<Span<'_>, TraceError> {
    let at = |field: &str| format!("data.spans[{index}]{field}");
    let Some(span) = value.as_object() else {
        return Err(error(at(""), "expected a span object"));
    };
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let id = text(span.get("span_id"))
        .or_else(|| text(span.get("context").and_then(|c| c.get("span_id"))))
        .ok_or_else(|| error(at(".span_id"), "is missing"))?;
    let parent = text(span.get("parent_span_id")).or_else(|| text(span.get("parent_id")));
    let time = |names: [&str; 2]| -> Result<Option<u64>, TraceError> {
        for name in names {
            match span.get(name) {
                None | Some(Value::Null) => continue,
                Some(Value::Number(n)) => {
                    return n.as_u64().map(Some).ok_or_else(|| {
                        error(at(&format!(".{name}")), "expected nanoseconds since 1970")
                    });
                }
                // Protobuf's JSON writes 64-bit integers as strings.
                Some(Value::String(s)) => {
                    return s.parse().map(Some).map_err(|_| {
                        error(at(&format!(".{name}")), "expected nanoseconds since 1970")
                    });
                }
                Some(_) => {
                    return Err(error(
                        at(&format!(".{name}")),
                        "expected nanoseconds since 1970",
                    ));
                }
            }
        }
        Ok(None)
    };
    let start_ns = time(["start_time_unix_nano", "start_time"])?;
    let end_ns = time(["end_time_unix_nano", "end_time"])?;
    let attributes = match span.get("attributes") {
        None | Some(Value::Null) => None,
        Some(Value::Object(attributes)) => Some(attributes),
        Some(_) => return Err(error(at(".attributes"), "expected an object")),
    };
    let kind = attributes
        .and_then(|a| a.get("mlflow.spanType"))
        .map(decoded)
        .and_then(|v| v.as_str().map(str::to_ascii_uppercase));
    Ok(Span {
        id,
        parent,
        kind,
        start_ns,
        end_ns,
        attributes,
    })
}

/// An attribute's value: MLflow stores JSON text.
fn decoded(value: &Value) -> Value {
    match value {
        Value::String(text) => serde_json::from_str(text).unwrap_or_else(|_| value.clone()),
        other => other.clone(),
    }
}

/// The span's own token usage: MLflow's `mlflow.chat.tokenUsage`, or for an
/// LLM span, the `usage` of the chat completion it returned.
fn span_usage(span: &Span) -> Option<TokenUsage> {
    let attributes = span.attributes?;
    if let Some(usage) = attributes.get("mlflow.chat.tokenUsage") {
        return token_usage(&decoded(usage));
    }
    if matches!(span.kind.as_deref(), Some("LLM" | "CHAT_MODEL")) {
        let outputs = decoded(attributes.get("mlflow.spanOutputs")?);
        return token_usage(outputs.get("usage")?);
    }
    None
}

/// MLflow 3 also records the sum in the trace's metadata.
fn trace_level_usage(root: &Map<String, Value>) -> Option<TokenUsage> {
    let info = root.get("info")?;
    ["trace_metadata", "request_metadata"]
        .iter()
        .find_map(|key| info.get(*key)?.get("mlflow.trace.tokenUsage"))
        .and_then(|usage| token_usage(&decoded(usage)))
}

fn trace_level_duration(root: &Map<String, Value>) -> Option<f64> {
    let info = root.get("info")?;
    if let Some(ms) = ["execution_duration_ms", "execution_time_ms"]
        .iter()
        .find_map(|key| number(info.get(*key)?))
    {
        return Some(ms / 1e3);
    }
    // Protobuf's JSON form of a duration: "1.250s".
    info.get("execution_duration")?
        .as_str()?
        .strip_suffix('s')?
        .parse()
        .ok()
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A retriever's documents: LangChain-style `{page_content, metadata:
/// {doc_uri}}`, or `{content, doc_uri}`, or `{text, ...}`.
fn documents(outputs: Option<&Value>) -> Vec<Chunk> {
    let Some(outputs) = outputs.map(decoded) else {
        return Vec::new();
    };
    let Value::Array(items) = outputs else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let content = ["page_content", "content", "text"]
                .iter()
                .find_map(|k| item.get(*k)?.as_str())?;
            let doc_uri = item
                .get("metadata")
                .and_then(|m| m.get("doc_uri"))
                .or_else(|| item.get("doc_uri"))
                .and_then(Value::as_str);
            Some(Chunk {
                content: Some(content.to_owned()),
                doc_uri: doc_uri.map(str::to_owned),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_usage_is_counted_once() {
        let trace = json!({"info": {}, "data": {"spans": [
            {"span_id": "a", "parent_span_id": null, "start_time_unix_nano": 1_000_000_000u64,
             "end_time_unix_nano": 3_500_000_000u64, "attributes": {"mlflow.spanType": "\"AGENT\""}},
            {"span_id": "b", "parent_span_id": "a", "attributes": {
                "mlflow.spanType": "\"CHAT_MODEL\"",
                "mlflow.chat.tokenUsage": "{\"input_tokens\": 10, \"output_tokens\": 5, \"total_tokens\": 15}"}},
            {"span_id": "c", "parent_span_id": "b", "attributes": {
                "mlflow.spanType": "\"LLM\"",
                "mlflow.chat.tokenUsage": {"input_tokens": 10, "output_tokens": 5}}},
        ]}});
        let summary = summarize(&trace).unwrap();
        assert_eq!(
            summary.usage,
            Some(TokenUsage {
                input: 10,
                output: 5,
                total: 15
            })
        );
        assert_eq!(summary.latency_seconds, Some(2.5));
        assert_eq!(summary.retrieved_context, None);
    }

    #[test]
    fn a_chain_of_100000_spans_is_read_in_linear_time() {
        let spans: Vec<Value> = (0..100_000)
            .map(|i| {
                json!({"span_id": format!("s{i}"),
                       "parent_span_id": if i == 0 { Value::Null } else { json!(format!("s{}", i - 1)) },
                       "attributes": {"mlflow.spanType": if i % 2 == 0 { "RETRIEVER" } else { "LLM" },
                                      "mlflow.chat.tokenUsage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}}})
            })
            .collect();
        let started = std::time::Instant::now();
        let summary = summarize(&json!({"data": {"spans": spans}})).unwrap();
        // Only the top span counts: every other one is under it; only the
        // top retriever is one.
        assert_eq!(summary.usage.unwrap().total, 2);
        assert_eq!(summary.retrieved_context, Some(vec![]));
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        // A cycle is no ancestor, and ends.
        let cycle = json!({"data": {"spans": [
            {"span_id": "a", "parent_span_id": "b", "attributes": {"mlflow.chat.tokenUsage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}}},
            {"span_id": "b", "parent_span_id": "a"}
        ]}});
        assert!(summarize(&cycle).is_ok());
    }

    #[test]
    fn not_a_trace_names_the_field() {
        let err = summarize(&json!({"info": {}})).unwrap_err();
        assert_eq!(err.path, "data.spans");
        let err = summarize(&json!({"data": {"spans": [{"span_id": "a", "start_time": "soon"}]}}))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "data.spans[0].start_time: expected nanoseconds since 1970"
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use serde_json::json;

    use super::summarize;
    use crate::arbitrary_json;

    proptest! {
        /// Any JSON, and any list of span-like objects, is a summary or an
        /// error naming where: never a panic.
        #[test]
        fn any_json_is_summarized_or_refused(value in arbitrary_json::json()) {
            let _ = summarize(&value);
        }

        #[test]
        fn any_spans_are_summarized_or_refused(
            spans in prop::collection::vec(arbitrary_json::object(arbitrary_json::json()), 0..12)
        ) {
            if let Err(error) = summarize(&json!({"data": {"spans": spans}})) {
                prop_assert!(error.path.starts_with("data.spans"), "{}", error.path);
            }
        }
    }
}
