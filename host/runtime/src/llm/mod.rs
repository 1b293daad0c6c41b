//! LLM calls made on judges' behalf. Judges name an endpoint alias; an
//! [`LlmClient`] turns the alias into a real call. The HTTP client for
//! OpenAI-compatible endpoints is [`OpenAiClient`]; embedders and benchmarks
//! can supply their own.

mod endpoint;
mod openai;
mod response_cache;
mod slots;
mod streak;

use std::future::Future;
use std::pin::Pin;

pub use endpoint::{Endpoint, EndpointKind, OPENAI_BASE_URL, StructuredOutput};
pub use openai::{ApiKey, OpenAiClient, Probe, ProbeFailure};
pub use openai::{error_chain, read_capped};
pub use response_cache::ResponseCache;

pub use crate::bindings::{Message, Role};

/// The role's name in chat APIs.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

/// One chat completion a judge asked for.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    /// The judge's base name (`guideline_adherence` for every group), sent as
    /// `X-Gavel-Judge`.
    pub judge: String,
    /// The judge's version; part of a response cache key.
    pub judge_version: String,
    pub messages: Vec<Message>,
    /// Ask for JSON following this schema where the endpoint supports it.
    pub json_schema: Option<String>,
    pub max_output_tokens: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatAnswer {
    pub content: String,
    pub input_tokens: u32,
    pub output_tokens: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmCallError {
    /// No answer in time; says which endpoint and limit.
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("{0}")]
    Upstream(String),
}

pub type LlmFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ChatAnswer, LlmCallError>> + Send + 'a>>;

/// What a client has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LlmStats {
    /// Calls sent to endpoints (retries not counted).
    pub sent: u64,
    /// Calls answered from the response cache.
    pub cached: u64,
    /// Calls that failed after their retries.
    pub failed: u64,
    /// Tokens of the answers received (not of cached ones).
    pub tokens: u64,
}

/// Makes chat completions through endpoint aliases.
pub trait LlmClient: Send + Sync {
    /// Whether `alias` is an endpoint this client can call.
    fn has_endpoint(&self, alias: &str) -> bool;

    fn complete<'a>(&'a self, endpoint: &'a str, request: &'a ChatRequest) -> LlmFuture<'a>;

    fn stats(&self) -> LlmStats {
        LlmStats::default()
    }

    /// Whether an endpoint's latest call failed: failures may be the start
    /// of an outage, so results that depend on them are not final yet.
    fn failing(&self) -> bool {
        false
    }

    /// Why the client gave up on an endpoint that kept failing; calls to it
    /// then fail at once. A run stops when this is set.
    fn halted(&self) -> Option<String> {
        None
    }

    /// The structured output mode each endpoint answered in, by alias, for
    /// endpoints that were asked for JSON: what `auto` settled on.
    fn structured_output(&self) -> Vec<(String, StructuredOutput)> {
        Vec::new()
    }

    /// Calls the endpoints take at once, all together: what keeps them
    /// busy. `None` when the client does not say.
    fn max_concurrency(&self) -> Option<usize> {
        None
    }

    /// Each endpoint's alias, base URL (credentials in it redacted) and
    /// model, for the record of a run.
    fn endpoint_summaries(&self) -> Vec<EndpointSummary> {
        Vec::new()
    }
}

/// Where an endpoint alias points, for the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSummary {
    pub alias: String,
    /// With any credentials in it redacted.
    pub base_url: String,
    pub model: String,
}

/// A client with no endpoints: every judge that calls an LLM fails. For
/// listing judges and for judges that need no LLM.
#[derive(Debug, Default)]
pub struct NoEndpoints;

impl LlmClient for NoEndpoints {
    fn has_endpoint(&self, _alias: &str) -> bool {
        false
    }

    fn complete<'a>(&'a self, endpoint: &'a str, _request: &'a ChatRequest) -> LlmFuture<'a> {
        Box::pin(async move {
            Err(LlmCallError::Upstream(format!(
                "no endpoint named '{endpoint}' is configured"
            )))
        })
    }
}
