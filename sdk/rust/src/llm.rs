//! LLM calls, made by the host through an endpoint alias. Most judges ask
//! with [`crate::ask_yes_no`] and its siblings instead, which read the
//! answer for them.

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
