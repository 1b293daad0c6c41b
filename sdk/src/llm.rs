//! LLM calls, made by the host through an endpoint alias.

use crate::bindings::gavel::judge::llm::{self as host, CompletionRequest};
use crate::{Completion, LlmError, Message};

/// One chat completion through `endpoint` (an alias such as `"judge"`).
/// `json_schema` asks for structured output where the endpoint supports it.
pub fn complete(
    endpoint: &str,
    messages: Vec<Message>,
    json_schema: Option<&str>,
) -> Result<Completion, LlmError> {
    host::complete(&CompletionRequest {
        endpoint: endpoint.to_owned(),
        messages,
        json_schema: json_schema.map(str::to_owned),
        max_output_tokens: None,
    })
}

/// Sends one user message and returns the answer's text.
pub fn ask(endpoint: &str, prompt: &str) -> Result<String, LlmError> {
    complete(endpoint, vec![Message::user(prompt)], None).map(|c| c.content)
}

/// A one-line description of an LLM error, for per-chunk error messages.
pub fn describe_error(error: &LlmError) -> String {
    match error {
        LlmError::NotAllowed(message) => message.clone(),
        LlmError::BudgetExceeded(calls) => {
            format!("LLM call budget exceeded ({calls} calls per evaluation)")
        }
        LlmError::Timeout => "LLM call timed out".to_owned(),
        LlmError::Upstream(message) => format!("LLM endpoint failed: {message}"),
    }
}
