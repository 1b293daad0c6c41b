//! What an agent answers: any response format an input row accepts
//! (text, chat messages, a ChatCompletion, `{"content"}`), optionally
//! wrapped with what the agent knows about itself.
//!
//! ```text
//! "text"                                   a string
//! ["part", "part"]                         a list of strings (joined)
//! {"choices": [...], "usage": {...}}       a ChatCompletion
//! {"content": "text"}
//! {"response": <any of the above>,         the response plus, optionally,
//!  "retrieved_context": [{content, doc_uri}],
//!  "usage": {prompt_tokens, completion_tokens} or {input_tokens, output_tokens},
//!  "trace": <an MLflow trace>}
//! {"error": "message"}                     the agent failed on this request
//! ```
//! Databricks agents' `databricks_output.trace` is read as `trace`.

use serde_json::{Map, Value};

use crate::evaluation::input::{Chunk, chunks, read_response};
use crate::evaluation::trace;
use crate::results::row_result::TokenUsage;

/// An agent's answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentAnswer {
    pub response: String,
    /// From the answer, else from the trace's retriever spans.
    pub retrieved_context: Option<Vec<Chunk>>,
    /// From the answer's `usage`, else summed over the trace's LLM spans.
    pub usage: Option<TokenUsage>,
    pub trace: Option<Value>,
}

/// Reads an answer; the error says what is wrong with it.
pub fn parse(value: Value) -> Result<AgentAnswer, String> {
    let mut object = match value {
        Value::Object(object) => object,
        other => {
            let response = read_response(other).map_err(|e| e.to_string())?;
            return Ok(AgentAnswer {
                response: response.ok_or("the answer is null")?,
                retrieved_context: None,
                usage: None,
                trace: None,
            });
        }
    };
    if !["response", "choices", "content"]
        .iter()
        .any(|k| object.contains_key(*k))
        && let Some(error) = object.get("error")
    {
        let message = error
            .as_str()
            .map(str::to_owned)
            .or_else(|| error.get("message")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| error.to_string());
        return Err(format!("the agent answered an error: {message}"));
    }
    let retrieved_context = match object.remove("retrieved_context") {
        None | Some(Value::Null) => None,
        Some(value) => Some(chunks(Some(value), "retrieved_context").map_err(|e| e.to_string())?),
    };
    let usage = object.get("usage").and_then(trace::token_usage);
    let trace = take_trace(&mut object)?;
    let response = match object.remove("response") {
        Some(response) => read_response(response).map_err(|e| e.to_string())?,
        None => read_response(Value::Object(object)).map_err(|e| e.to_string())?,
    }
    .ok_or("the answer has no response (null)")?;
    let summary = trace
        .as_ref()
        .map(trace::summarize)
        .transpose()
        .map_err(|e| format!("field `{}`: {}", e.field("trace"), e.message))?
        .unwrap_or_default();
    Ok(AgentAnswer {
        response,
        retrieved_context: retrieved_context.or(summary.retrieved_context),
        usage: usage.or(summary.usage),
        trace,
    })
}

fn take_trace(object: &mut Map<String, Value>) -> Result<Option<Value>, String> {
    let trace = match object.remove("trace") {
        Some(trace) => Some(trace),
        None => object
            .get_mut("databricks_output")
            .and_then(|d| d.as_object_mut())
            .and_then(|d| d.remove("trace")),
    };
    match trace {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("field `trace`: is not JSON: {e}")),
        Some(trace) => Ok(Some(trace)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_response_format() {
        let cases = [
            json!("plain"),
            json!(["pl", "ain"]),
            json!({"content": "plain"}),
            json!({"choices": [{"message": {"role": "assistant", "content": "plain"}}]}),
            json!({"response": {"content": "plain"}}),
        ];
        for case in cases {
            let expected = if case.is_array() { "pl\nain" } else { "plain" };
            assert_eq!(parse(case).unwrap().response, expected);
        }
    }

    #[test]
    fn usage_and_context_from_the_answer() {
        let answer = parse(json!({
            "choices": [{"message": {"content": "42"}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
            "retrieved_context": [{"content": "c", "doc_uri": "d"}],
        }))
        .unwrap();
        assert_eq!(
            answer.usage,
            Some(TokenUsage {
                input: 12,
                output: 3,
                total: 15
            })
        );
        assert_eq!(
            answer.retrieved_context.unwrap()[0].doc_uri.as_deref(),
            Some("d")
        );
    }

    #[test]
    fn errors_and_garbage_are_explained() {
        assert_eq!(
            parse(json!({"error": "model overloaded"})).unwrap_err(),
            "the agent answered an error: model overloaded"
        );
        assert!(
            parse(json!({"text": "x"}))
                .unwrap_err()
                .contains("neither a ChatCompletion")
        );
        assert_eq!(parse(Value::Null).unwrap_err(), "the answer is null");
        // A chunk may lack content (judges of retrieved context pass it
        // by), not both content and doc_uri.
        assert!(parse(json!({"content": "x", "retrieved_context": [{"doc_uri": "d"}]})).is_ok());
        assert!(
            parse(json!({"content": "x", "retrieved_context": [{}]}))
                .unwrap_err()
                .contains("field `retrieved_context[0]`: needs a `doc_uri` or a `content`")
        );
    }
}
