//! Rows of an evaluation set (the Databricks agent evaluation's input
//! schema: `request`, `response`, `expected_response`, ...), read from JSON
//! objects.
//!
//! A row is normalised into the WIT `row` record judges receive: requests
//! given as chat conversations become their last user message (the whole
//! conversation is kept), responses given as ChatCompletion objects,
//! `{"content": ...}` or lists of strings become text, MLflow's column names
//! are accepted as aliases, and every other field is kept as `extra`.

use serde_json::{Map, Value};

pub use gavel_runtime::bindings::{Chunk, GuidelineGroup, Message, Role, Row};
pub use gavel_runtime::judge::GUIDELINES_CONTEXT;

/// A field of an input row that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {message}")]
pub struct FieldError {
    /// The field, with a path into it where useful (`retrieved_context[2].doc_uri`).
    pub field: String,
    pub message: String,
}

impl FieldError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Canonical field names and the MLflow names accepted for them.
const ALIASES: &[(&str, &[&str])] = &[
    ("request", &["inputs"]),
    ("response", &["predictions", "outputs"]),
    ("expected_response", &["ground_truth", "targets"]),
];

/// Reads one row. `index` (0-based) becomes the `request_id` when the row
/// has none.
pub fn row_from_json(mut object: Map<String, Value>, index: usize) -> Result<Row, FieldError> {
    resolve_aliases(&mut object)?;
    let request_id = match object.remove("request_id") {
        None | Some(Value::Null) => index.to_string(),
        Some(Value::String(id)) => id,
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => return Err(FieldError::new("request_id", expected("a string", &other))),
    };
    let (request, conversation) = match object.remove("request") {
        None | Some(Value::Null) => return Err(FieldError::new("request", "is required")),
        Some(value) => read_request(value)?,
    };
    let response = object
        .remove("response")
        .map(read_response)
        .transpose()?
        .flatten();
    let expected_response = optional_text(object.remove("expected_response"), "expected_response")?;
    let expected_facts = match object.remove("expected_facts") {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => strings(value, "expected_facts")?,
    };
    let guidelines = match object.remove("guidelines") {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => guideline_groups(value, "guidelines")?,
    };
    let retrieved_context = chunks(object.remove("retrieved_context"), "retrieved_context")?;
    let expected_retrieved_context = chunks(
        object.remove("expected_retrieved_context"),
        "expected_retrieved_context",
    )?;
    // Kept with the other fields (the WIT row has none for it), checked
    // and in its normal form: judges read it from there.
    if let Some(value) = object.remove(GUIDELINES_CONTEXT)
        && let Some(context) = guidelines_context(value)?
    {
        object.insert(GUIDELINES_CONTEXT.to_owned(), Value::Object(context));
    }
    let trace = match object.remove("trace") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => {
            let value = serde_json::from_str::<Value>(&text)
                .map_err(|e| FieldError::new("trace", format!("is not JSON: {e}")))?;
            check_trace(&value)?;
            Some(text)
        }
        Some(value @ Value::Object(_)) => {
            check_trace(&value)?;
            Some(value.to_string())
        }
        Some(other) => {
            return Err(FieldError::new(
                "trace",
                expected("an MLflow trace object", &other),
            ));
        }
    };
    Ok(Row {
        request_id,
        request,
        conversation,
        response,
        expected_response,
        expected_facts,
        retrieved_context,
        expected_retrieved_context,
        guidelines,
        global_guidelines: Vec::new(),
        trace,
        extra: Value::Object(object).to_string(),
    })
}

/// A trace is read for the agent's cost and latency: one that cannot be
/// read is an error in the row, not a silent gap in the metrics.
fn check_trace(trace: &Value) -> Result<(), FieldError> {
    crate::evaluation::trace::summarize(trace)
        .map(drop)
        .map_err(|e| FieldError::new(e.field("trace"), e.message))
}

fn resolve_aliases(object: &mut Map<String, Value>) -> Result<(), FieldError> {
    for (canonical, aliases) in ALIASES {
        for alias in *aliases {
            if let Some(value) = object.remove(*alias) {
                if object.contains_key(*canonical) {
                    return Err(FieldError::new(
                        *alias,
                        format!("is an alias of `{canonical}`, which the row also has; keep one"),
                    ));
                }
                object.insert((*canonical).to_owned(), value);
            }
        }
    }
    Ok(())
}

/// A string, or an OpenAI chat request `{"messages": [...]}` (or the bare
/// list of messages): judges see the last user message.
fn read_request(value: Value) -> Result<(String, Vec<Message>), FieldError> {
    let messages = match value {
        Value::String(text) => {
            let conversation = vec![Message {
                role: Role::User,
                content: text.clone(),
            }];
            return Ok((text, conversation));
        }
        Value::Object(mut request) => match request.remove("messages") {
            Some(messages) => messages,
            None => {
                return Err(FieldError::new(
                    "request",
                    "is an object without `messages`; give a string or a chat request",
                ));
            }
        },
        list @ Value::Array(_) => list,
        other => {
            return Err(FieldError::new(
                "request",
                expected("a string or a chat request", &other),
            ));
        }
    };
    let Value::Array(items) = messages else {
        return Err(FieldError::new(
            "request.messages",
            "must be a list of messages",
        ));
    };
    let conversation = items
        .into_iter()
        .enumerate()
        .map(|(i, message)| read_message(message, &format!("request.messages[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let last_user = conversation
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .ok_or_else(|| FieldError::new("request.messages", "has no user message"))?;
    Ok((last_user.content.clone(), conversation))
}

fn read_message(value: Value, field: &str) -> Result<Message, FieldError> {
    let Value::Object(mut message) = value else {
        return Err(FieldError::new(
            field,
            expected("a {role, content} object", &value),
        ));
    };
    let role = match message.remove("role") {
        Some(Value::String(role)) => match role.as_str() {
            "system" | "developer" => Role::System,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "tool" | "function" => Role::Tool,
            other => {
                return Err(FieldError::new(
                    format!("{field}.role"),
                    format!("{other:?} is not one of system, user, assistant, tool"),
                ));
            }
        },
        _ => return Err(FieldError::new(format!("{field}.role"), "is required")),
    };
    let content = match message.remove("content") {
        None | Some(Value::Null) => String::new(),
        Some(content) => content_text(content, &format!("{field}.content"))?,
    };
    Ok(Message { role, content })
}

/// A message's content: a string, or a list of parts of which the text
/// parts are kept.
fn content_text(value: Value, field: &str) -> Result<String, FieldError> {
    match value {
        Value::String(text) => Ok(text),
        Value::Array(parts) => Ok(parts
            .iter()
            .filter_map(|part| match part {
                Value::String(text) => Some(text.as_str()),
                Value::Object(part) => part.get("text").and_then(Value::as_str),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")),
        other => Err(FieldError::new(field, expected("text", &other))),
    }
}

/// A string; a ChatCompletion (`choices[0].message.content`); `{"content":
/// ...}`; or a list of strings, joined with newlines.
pub(crate) fn read_response(value: Value) -> Result<Option<String>, FieldError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text)),
        list @ Value::Array(_) => strings(list, "response").map(|parts| Some(parts.join("\n"))),
        Value::Object(mut object) => {
            if let Some(choices) = object.remove("choices") {
                let content = choices
                    .get(0)
                    .and_then(|choice| choice.get("message"))
                    .and_then(|message| message.get("content"))
                    .cloned()
                    .ok_or_else(|| {
                        FieldError::new("response.choices", "has no choices[0].message.content")
                    })?;
                return content_text(content, "response.choices[0].message.content").map(Some);
            }
            match object.remove("content") {
                Some(content) => content_text(content, "response.content").map(Some),
                None => Err(FieldError::new(
                    "response",
                    "is an object that is neither a ChatCompletion nor {\"content\": ...}",
                )),
            }
        }
        other => Err(FieldError::new(
            "response",
            expected(
                "a string, a ChatCompletion, {\"content\": ...} or a list of strings",
                &other,
            ),
        )),
    }
}

fn optional_text(value: Option<Value>, field: &str) -> Result<Option<String>, FieldError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        // Classic QA sets have numeric answers.
        Some(value @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(value.to_string())),
        Some(other) => Err(FieldError::new(field, expected("a string", &other))),
    }
}

fn strings(value: Value, field: &str) -> Result<Vec<String>, FieldError> {
    match value {
        Value::String(one) => Ok(vec![one]),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(text) => Ok(text),
                other => Err(FieldError::new(
                    format!("{field}[{i}]"),
                    expected("a string", &other),
                )),
            })
            .collect(),
        other => Err(FieldError::new(
            field,
            expected("a list of strings", &other),
        )),
    }
}

/// Guidelines: a list of strings (one unnamed group) or an object of named
/// lists, in the order given.
pub fn guideline_groups(value: Value, field: &str) -> Result<Vec<GuidelineGroup>, FieldError> {
    match value {
        Value::Object(groups) => groups
            .into_iter()
            .map(|(name, rules)| {
                let rules = strings(rules, &format!("{field}.{name}"))?;
                Ok(GuidelineGroup {
                    name: Some(name),
                    rules,
                })
            })
            .collect(),
        other => Ok(vec![GuidelineGroup {
            name: None,
            rules: strings(other, field)?,
        }]),
    }
}

/// `guidelines_context`: the values a row's guidelines refer to, an object
/// of strings by name (`{"retrieved_context": "..."}`), or its JSON text (a
/// CSV cell). Null is no context.
fn guidelines_context(value: Value) -> Result<Option<Map<String, Value>>, FieldError> {
    let value = match value {
        Value::String(text) => serde_json::from_str::<Value>(&text).map_err(|e| {
            FieldError::new(
                GUIDELINES_CONTEXT,
                format!("is text that is not a JSON object: {e}"),
            )
        })?,
        other => other,
    };
    let context = match value {
        Value::Null => return Ok(None),
        Value::Object(context) => context,
        other => {
            return Err(FieldError::new(
                GUIDELINES_CONTEXT,
                expected("an object of strings by name", &other),
            ));
        }
    };
    for (name, value) in &context {
        if name.trim().is_empty() {
            return Err(FieldError::new(
                GUIDELINES_CONTEXT,
                "has an empty name; name each value the guidelines refer to",
            ));
        }
        if !value.is_string() {
            return Err(FieldError::new(
                format!("{GUIDELINES_CONTEXT}.{name}"),
                expected("a string", value),
            ));
        }
    }
    Ok(Some(context))
}

/// Chunks: `{content, doc_uri}` objects (or plain strings, taken as
/// content). Either field may be missing, not both: a retrieved chunk with
/// only a `doc_uri` counts for document recall, and judges of retrieved
/// context pass it by (see `gavel_runtime::judge::has_input`).
pub(crate) fn chunks(value: Option<Value>, field: &str) -> Result<Vec<Chunk>, FieldError> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(FieldError::new(
                field,
                expected("a list of {content, doc_uri} objects", &other),
            ));
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let at = format!("{field}[{i}]");
            let chunk = match item {
                Value::String(content) => Chunk {
                    content: Some(content),
                    doc_uri: None,
                },
                Value::Object(mut object) => Chunk {
                    content: optional_string(object.remove("content"), &format!("{at}.content"))?,
                    doc_uri: optional_string(object.remove("doc_uri"), &format!("{at}.doc_uri"))?,
                },
                other => {
                    return Err(FieldError::new(
                        at,
                        expected("a {content, doc_uri} object", &other),
                    ));
                }
            };
            if chunk.content.is_none() && chunk.doc_uri.is_none() {
                return Err(FieldError::new(at, "needs a `doc_uri` or a `content`"));
            }
            Ok(chunk)
        })
        .collect()
}

fn optional_string(value: Option<Value>, field: &str) -> Result<Option<String>, FieldError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(FieldError::new(field, expected("a string", &other))),
    }
}

fn expected(what: &str, found: &Value) -> String {
    let kind = match found {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    };
    format!("expected {what}, found {kind}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(value: Value) -> Result<Row, FieldError> {
        let Value::Object(object) = value else {
            panic!("test rows are objects")
        };
        row_from_json(object, 7)
    }

    #[test]
    fn a_minimal_row_gets_its_index_as_id() {
        let row = read(json!({"request": "What is MLflow?"})).unwrap();
        assert_eq!(row.request_id, "7");
        assert_eq!(row.request, "What is MLflow?");
        assert_eq!(row.conversation.len(), 1);
        assert_eq!(row.response, None);
        assert_eq!(row.extra, "{}");
    }

    #[test]
    fn chat_requests_are_judged_on_their_last_user_message() {
        let row = read(json!({"request": {"messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is Spark?"},
            {"role": "assistant", "content": "A data engine."},
            {"role": "user", "content": [{"type": "text", "text": "And MLflow?"}]},
        ]}}))
        .unwrap();
        assert_eq!(row.request, "And MLflow?");
        assert_eq!(row.conversation.len(), 4);
        assert_eq!(row.conversation[0].role, Role::System);
    }

    #[test]
    fn every_response_format_becomes_text() {
        let cases = [
            (json!("plain"), "plain"),
            (
                json!({"choices": [{"message": {"role": "assistant", "content": "from completion"}}]}),
                "from completion",
            ),
            (json!({"content": "from content"}), "from content"),
            (json!(["a", "b"]), "a\nb"),
        ];
        for (response, text) in cases {
            let row = read(json!({"request": "q", "response": response})).unwrap();
            assert_eq!(row.response.as_deref(), Some(text));
        }
    }

    #[test]
    fn mlflow_aliases_and_extra_fields() {
        let row =
            read(json!({"inputs": "q", "predictions": "a", "ground_truth": 42, "topic": "x"}))
                .unwrap();
        assert_eq!(row.request, "q");
        assert_eq!(row.response.as_deref(), Some("a"));
        assert_eq!(row.expected_response.as_deref(), Some("42"));
        assert_eq!(row.extra, r#"{"topic":"x"}"#);
        let both = read(json!({"request": "q", "inputs": "q2"})).unwrap_err();
        assert_eq!(both.field, "inputs");
    }

    #[test]
    fn guidelines_as_list_or_named_groups_in_order() {
        let row = read(json!({"request": "q", "guidelines": ["Be kind"]})).unwrap();
        assert_eq!(
            row.guidelines,
            vec![GuidelineGroup {
                name: None,
                rules: vec!["Be kind".into()]
            }]
        );
        let row = read(json!({"request": "q", "guidelines": {"tone": ["Be kind"], "english": ["English only"]}})).unwrap();
        let names: Vec<_> = row
            .guidelines
            .iter()
            .map(|g| g.name.as_deref().unwrap())
            .collect();
        assert_eq!(names, ["tone", "english"]);
    }

    #[test]
    fn malformed_fields_are_named_precisely() {
        let cases = [
            (json!({"response": "a"}), "request", "is required"),
            (
                json!({"request": 5}),
                "request",
                "expected a string or a chat request, found a number",
            ),
            (
                json!({"request": "q", "retrieved_context": [{"content": "a"}, {"content": 3}]}),
                "retrieved_context[1].content",
                "expected a string, found a number",
            ),
            (
                json!({"request": "q", "retrieved_context": [{"doc_uri": "d"}, {}]}),
                "retrieved_context[1]",
                "needs a `doc_uri` or a `content`",
            ),
            (
                json!({"request": "q", "guidelines_context": ["English"]}),
                "guidelines_context",
                "expected an object of strings by name, found a list",
            ),
            (
                json!({"request": "q", "guidelines_context": {"retrieved_context": ["a"]}}),
                "guidelines_context.retrieved_context",
                "expected a string, found a list",
            ),
            (
                json!({"request": "q", "guidelines_context": "{not json"}),
                "guidelines_context",
                "is text that is not a JSON object: key must be a string at line 1 column 2",
            ),
            (
                json!({"request": "q", "expected_facts": ["a", null]}),
                "expected_facts[1]",
                "expected a string, found null",
            ),
            (
                json!({"request": {"messages": [{"role": "robot", "content": "x"}]}}),
                "request.messages[0].role",
                "\"robot\" is not one of system, user, assistant, tool",
            ),
            (
                json!({"request": "q", "response": {"text": "x"}}),
                "response",
                "is an object that is neither a ChatCompletion nor {\"content\": ...}",
            ),
        ];
        for (value, field, message) in cases {
            let error = read(value).unwrap_err();
            assert_eq!(
                (error.field.as_str(), error.message.as_str()),
                (field, message)
            );
        }
    }

    /// Reference 001: "In `retrieved_context`, `content` is optional."
    #[test]
    fn retrieved_context_may_have_only_doc_uris() {
        let row = read(json!({
            "request": "What is the difference between reduceByKey and groupByKey in Spark?",
            "retrieved_context": [
                {"doc_uri": "doc_uri_2_1"},
                {"content": "groupByKey may lead to inefficient data shuffling due to sending all values across the network.",
                 "doc_uri": "doc_uri_6_extra"},
            ],
        }))
        .unwrap();
        assert_eq!(row.retrieved_context.len(), 2);
        assert_eq!(row.retrieved_context[0].content, None);
        assert_eq!(
            row.retrieved_context[0].doc_uri.as_deref(),
            Some("doc_uri_2_1")
        );
    }

    /// Reference 004's `guidelines_context`, as an object or as the JSON
    /// text a CSV cell holds; kept with the row's other fields.
    #[test]
    fn guidelines_context_is_an_object_of_strings() {
        let context =
            json!({"retrieved_context": "[{'content': 'MLflow is an open-source platform'}]"});
        let given = [context.clone(), Value::String(context.to_string())];
        for value in given {
            let row =
                read(json!({"request": "What is MLflow?", "guidelines_context": value})).unwrap();
            let extra: Value = serde_json::from_str(&row.extra).unwrap();
            assert_eq!(extra, json!({"guidelines_context": context}));
            assert!(gavel_runtime::judge::guidelines_context(&row).is_some());
        }
        let row = read(json!({"request": "q", "guidelines_context": null})).unwrap();
        assert_eq!(row.extra, "{}");
        assert!(gavel_runtime::judge::guidelines_context(&row).is_none());
    }

    #[test]
    fn expected_retrieved_context_may_have_only_doc_uris() {
        let row = read(json!({"request": "q", "expected_retrieved_context": [{"doc_uri": "a"}, {"doc_uri": "b"}]})).unwrap();
        assert_eq!(row.expected_retrieved_context.len(), 2);
        assert_eq!(row.expected_retrieved_context[0].content, None);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::row_from_json;
    use crate::arbitrary_json;

    proptest! {
        /// Any object is a row or an error naming a field: never a panic.
        #[test]
        fn any_object_reads_or_names_a_field(value in arbitrary_json::object(arbitrary_json::json())) {
            let Value::Object(object) = value else { unreachable!() };
            if let Err(error) = row_from_json(object, 7) {
                prop_assert!(!error.field.is_empty());
            }
        }
    }
}
