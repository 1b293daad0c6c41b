//! Chat completions over HTTP, against any OpenAI-compatible API (OpenAI,
//! vLLM, llama.cpp, Ollama, gateways).

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::endpoint::{Endpoint, StructuredOutput};
use super::slots::Slots;
use super::streak::{FailureStreak, Mark};
use super::{
    ChatAnswer, ChatRequest, LlmCallError, LlmClient, LlmFuture, LlmStats, ResponseCache, role_name,
};
use crate::retry::{RetryPolicy, is_retryable_status, retry_after};

/// Largest response body read from an endpoint.
const MAX_BODY_BYTES: usize = 8 << 20;

/// An API key. Never printed: `Debug` shows asterisks.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// The key in the environment variable `var`, if it is set and not empty.
    pub fn from_env(var: &str) -> Option<ApiKey> {
        std::env::var(var)
            .ok()
            .filter(|k| !k.is_empty())
            .map(ApiKey)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Calls OpenAI-compatible chat completion endpoints by alias.
pub struct OpenAiClient {
    http: reqwest::Client,
    run_id: String,
    endpoints: HashMap<String, EndpointState>,
    cache: Option<ResponseCache>,
    sent: AtomicU64,
    cached: AtomicU64,
    failed: AtomicU64,
    tokens: AtomicU64,
}

struct EndpointState {
    alias: String,
    config: Endpoint,
    url: String,
    /// `Err(variable)` when the key's variable is not set.
    key: Result<Option<ApiKey>, String>,
    /// Requests in flight: `max_concurrency`, fewer while timing out.
    slots: Slots,
    pacer: Option<Pacer>,
    /// The structured output mode asked for now ([`StructuredOutput`] as a
    /// number): it only moves down the fallback order, as the endpoint
    /// refuses modes.
    structured_output: AtomicU8,
    /// Whether the endpoint has answered a request in that mode.
    structured_output_settled: AtomicBool,
    /// Calls in a row that failed after their retries.
    failures_in_a_row: FailureStreak,
    /// Set once `failures_in_a_row` reaches the endpoint's limit.
    halted: OnceLock<String>,
}

impl EndpointState {
    fn mode(&self) -> StructuredOutput {
        mode_from_u8(self.structured_output.load(Ordering::Relaxed))
    }

    /// Whether gavel may move to another mode when this one is refused.
    fn may_fall_back(&self) -> bool {
        self.config.structured_output == StructuredOutput::Auto
    }
}

fn mode_to_u8(mode: StructuredOutput) -> u8 {
    match mode {
        StructuredOutput::Auto | StructuredOutput::JsonSchema => 0,
        StructuredOutput::JsonObject => 1,
        StructuredOutput::Off => 2,
    }
}

fn mode_from_u8(mode: u8) -> StructuredOutput {
    match mode {
        0 => StructuredOutput::JsonSchema,
        1 => StructuredOutput::JsonObject,
        _ => StructuredOutput::Off,
    }
}

/// What one request to an endpoint showed, for `gavel endpoints check`.
#[derive(Debug, Clone)]
pub struct Probe {
    /// From sending to the whole answer.
    pub latency: Duration,
    /// The `model` the answer names.
    pub model: Option<String>,
    /// Token counts, when the endpoint reports them.
    pub usage: Option<(u32, u32)>,
    pub content: String,
}

/// Why a probe got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeFailure {
    /// The endpoint refused the structured output mode.
    Refused(String),
    /// It failed otherwise (unreachable, rejected key, error status).
    Failed(String),
}

impl OpenAiClient {
    /// A client for `endpoints` (alias to configuration). Keys are read from
    /// the environment now; `run_id` is sent as `X-Gavel-Run`.
    pub fn new(
        endpoints: impl IntoIterator<Item = (String, Endpoint)>,
        run_id: &str,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(1024)
            .user_agent(concat!("gavel/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let endpoints = endpoints
            .into_iter()
            .map(|(alias, config)| {
                let key = match &config.api_key_env {
                    None => Ok(None),
                    Some(var) => ApiKey::from_env(var).map(Some).ok_or_else(|| var.clone()),
                };
                let state = EndpointState {
                    url: config.url(),
                    key,
                    slots: Slots::new(config.max_concurrency),
                    pacer: (config.requests_per_minute > 0)
                        .then(|| Pacer::new(config.requests_per_minute)),
                    structured_output: AtomicU8::new(mode_to_u8(config.structured_output)),
                    structured_output_settled: AtomicBool::new(false),
                    failures_in_a_row: FailureStreak::default(),
                    halted: OnceLock::new(),
                    alias: alias.clone(),
                    config,
                };
                (alias, state)
            })
            .collect();
        Ok(OpenAiClient {
            http,
            run_id: run_id.to_owned(),
            endpoints,
            cache: None,
            sent: AtomicU64::new(0),
            cached: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            tokens: AtomicU64::new(0),
        })
    }

    /// Answers identical calls from `cache` instead of the endpoint.
    pub fn with_cache(mut self, cache: ResponseCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Every endpoint by alias.
    pub fn endpoints(&self) -> impl Iterator<Item = (&str, &Endpoint)> {
        self.endpoints
            .values()
            .map(|e| (e.alias.as_str(), &e.config))
    }

    /// Aliases whose API key variable is not set, with the variable.
    pub fn missing_keys(&self) -> Vec<(&str, &str)> {
        let mut missing: Vec<_> = self
            .endpoints
            .values()
            .filter_map(|e| {
                e.key
                    .as_ref()
                    .err()
                    .map(|var| (e.alias.as_str(), var.as_str()))
            })
            .collect();
        missing.sort();
        missing
    }

    /// The endpoint `alias` and its key, or why it cannot be called.
    fn endpoint(&self, alias: &str) -> Result<(&EndpointState, Option<&ApiKey>), String> {
        let endpoint = self
            .endpoints
            .get(alias)
            .ok_or_else(|| format!("no endpoint named '{alias}' is configured"))?;
        let key = endpoint.key.as_ref().map_err(|var| {
            format!(
                "environment variable {var} is not set (endpoint '{alias}' reads its API key from it)"
            )
        })?;
        Ok((endpoint, key.as_ref()))
    }

    /// Sends one request in `mode`, without retries, cache or bookkeeping:
    /// what `gavel endpoints check` learns an endpoint from.
    pub async fn probe(
        &self,
        alias: &str,
        request: &ChatRequest,
        mode: StructuredOutput,
    ) -> Result<Probe, ProbeFailure> {
        let (endpoint, key) = self.endpoint(alias).map_err(ProbeFailure::Failed)?;
        let started = Instant::now();
        let prepared = self
            .prepare(endpoint, key, request, mode)
            .map_err(|e| ProbeFailure::Failed(error_chain(&e)))?;
        let reply = self.exchange(endpoint, prepared, mode).await;
        let latency = started.elapsed();
        match reply {
            Ok(answer) => Ok(Probe {
                latency,
                model: answer.model,
                usage: answer.usage.map(|u| (u.prompt_tokens, u.completion_tokens)),
                content: answer.content,
            }),
            Err(Failure::StructuredOutputRefused(why)) => Err(ProbeFailure::Refused(why)),
            Err(Failure::Retryable { error, .. } | Failure::Fatal { error, .. }) => {
                Err(ProbeFailure::Failed(error.to_string()))
            }
        }
    }

    async fn call(&self, alias: &str, request: &ChatRequest) -> Result<ChatAnswer, LlmCallError> {
        let (endpoint, key) = self.endpoint(alias).map_err(LlmCallError::Upstream)?;
        if let Some(why) = endpoint.halted.get() {
            return Err(LlmCallError::Upstream(format!(
                "endpoint '{alias}' is down: {why}"
            )));
        }
        let cache_key = self
            .cache
            .as_ref()
            .map(|_| ResponseCache::key(&endpoint.config, request));
        if let (Some(cache), Some(cache_key)) = (&self.cache, &cache_key)
            && let Some(answer) = cache.get(cache_key).await
        {
            self.cached.fetch_add(1, Ordering::Relaxed);
            return Ok(answer);
        }
        self.sent.fetch_add(1, Ordering::Relaxed);
        let mut answered = endpoint.failures_in_a_row.mark();
        let outcome = self
            .call_endpoint(endpoint, key, request, &mut answered)
            .await;
        match &outcome {
            Ok(answer) => {
                endpoint.failures_in_a_row.ended(answered);
                self.tokens.fetch_add(
                    u64::from(answer.input_tokens + answer.output_tokens),
                    Ordering::Relaxed,
                );
                if let (Some(cache), Some(cache_key)) = (&self.cache, &cache_key) {
                    cache.put(cache_key, answer).await;
                }
            }
            Err((error, endpoint_trouble)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                if *endpoint_trouble {
                    let in_a_row = endpoint.failures_in_a_row.failed();
                    if in_a_row >= endpoint.config.failures_before_stop.max(1) {
                        let _ = endpoint.halted.set(format!(
                            "{in_a_row} calls in a row failed; the last: {error}"
                        ));
                    }
                } else {
                    endpoint.failures_in_a_row.ended(answered);
                }
            }
        }
        outcome.map_err(|(error, _)| error)
    }

    /// One call with its retries. The flag on an error says whether it
    /// speaks against the endpoint itself (outage, overload, rejected key)
    /// rather than this request.
    ///
    /// `answered` is set when the endpoint answers (before the request's
    /// slot is freed for the next one): where this call stands among the
    /// endpoint's failures.
    async fn call_endpoint(
        &self,
        endpoint: &EndpointState,
        key: Option<&ApiKey>,
        request: &ChatRequest,
        answered: &mut Mark,
    ) -> Result<ChatAnswer, (LlmCallError, bool)> {
        let alias = endpoint.alias.as_str();
        let policy = RetryPolicy::LLM.with_retries(endpoint.config.max_retries);
        let started = Instant::now();
        let mut retries = 0;
        loop {
            if let Some(pacer) = &endpoint.pacer {
                pacer.wait().await;
            }
            let mode = if request.json_schema.is_some() {
                endpoint.mode()
            } else {
                StructuredOutput::Off
            };
            // Everything but the exchange itself happens before taking a
            // slot: the endpoint's slots are the scarce resource.
            let prepared = self.prepare(endpoint, key, request, mode);
            let mut sent = Instant::now();
            let attempt = match prepared {
                Err(error) => Err(transport_failure(endpoint, &error)),
                Ok(prepared) => {
                    let _slot = endpoint.slots.acquire().await;
                    sent = Instant::now();
                    let attempt = self.exchange(endpoint, prepared, mode).await;
                    *answered = endpoint.failures_in_a_row.mark();
                    attempt
                }
            };
            match &attempt {
                Ok(_) => {
                    if let Some(limit) = endpoint.slots.answered() {
                        tracing::debug!(endpoint = alias, limit, "more requests at once again");
                    }
                }
                Err(Failure::Retryable {
                    error: LlmCallError::Timeout(_),
                    ..
                }) => {
                    if let Some(limit) = endpoint.slots.timed_out(sent.into_std()) {
                        tracing::warn!(
                            endpoint = alias,
                            "a request timed out after {} s; sending at most {limit} at once until answers come in time (`max_concurrency` = {}, `timeout_secs` = {})",
                            endpoint.config.timeout_secs,
                            endpoint.config.max_concurrency,
                            endpoint.config.timeout_secs,
                        );
                    }
                }
                Err(_) => {}
            }
            match attempt {
                Ok(answer) => {
                    if mode != StructuredOutput::Off {
                        endpoint
                            .structured_output_settled
                            .store(true, Ordering::Relaxed);
                    }
                    let usage = answer.usage.as_ref();
                    let answer = ChatAnswer {
                        input_tokens: usage.map_or(0, |u| u.prompt_tokens),
                        output_tokens: usage.map_or(0, |u| u.completion_tokens),
                        content: answer.content,
                    };
                    tracing::debug!(
                        endpoint = alias,
                        judge = %request.judge,
                        retries,
                        structured_output = %mode,
                        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
                        input_tokens = answer.input_tokens,
                        output_tokens = answer.output_tokens,
                        "LLM call"
                    );
                    return Ok(answer);
                }
                // A refusal says nothing against the endpoint: ask again at
                // once in the next mode, without spending a retry.
                Err(Failure::StructuredOutputRefused(why)) if endpoint.may_fall_back() => {
                    let next = mode.fallback().unwrap_or(StructuredOutput::Off);
                    let before = endpoint
                        .structured_output
                        .fetch_max(mode_to_u8(next), Ordering::Relaxed);
                    if before < mode_to_u8(next) {
                        tracing::info!(
                            endpoint = alias,
                            refused = %mode,
                            now = %next,
                            "endpoint refuses this structured output mode: {why}"
                        );
                    }
                }
                Err(Failure::StructuredOutputRefused(why)) => {
                    let error = LlmCallError::Upstream(format!(
                        "endpoint '{alias}' refuses structured output {mode} \
                         (`structured_output = \"{mode}\"` in [endpoints.{alias}]; \"auto\" falls back): {why}"
                    ));
                    return Err((error, false));
                }
                Err(Failure::Retryable { error, retry_after }) if policy.may_retry(retries) => {
                    let wait = policy.wait(retries, retry_after);
                    tracing::debug!(endpoint = alias, %error, ?wait, "retrying LLM call");
                    tokio::time::sleep(wait).await;
                    retries += 1;
                }
                Err(Failure::Retryable { error, .. }) => {
                    let error = match error {
                        LlmCallError::Upstream(message) if retries > 0 => {
                            LlmCallError::Upstream(format!("{message} (after {retries} retries)"))
                        }
                        LlmCallError::Timeout(message) if retries > 0 => {
                            LlmCallError::Timeout(format!("{message}, {} attempts", retries + 1))
                        }
                        other => other,
                    };
                    return Err((error, true));
                }
                Err(Failure::Fatal {
                    error,
                    endpoint_trouble,
                }) => return Err((error, endpoint_trouble)),
            }
        }
    }

    fn prepare(
        &self,
        endpoint: &EndpointState,
        key: Option<&ApiKey>,
        request: &ChatRequest,
        mode: StructuredOutput,
    ) -> Result<reqwest::Request, reqwest::Error> {
        let config = &endpoint.config;
        let body = request_body(config, request, mode);
        let mut http = self
            .http
            .post(&endpoint.url)
            .timeout(Duration::from_secs_f64(config.timeout_secs.max(0.001)))
            .header("X-Gavel-Judge", &request.judge)
            .header("X-Gavel-Run", &self.run_id)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        for (name, value) in &config.headers {
            http = http.header(name.as_str(), value.as_str());
        }
        if let Some(ApiKey(key)) = key {
            http = match config.key_header() {
                (_, true) => http.bearer_auth(key),
                (header, false) => {
                    let mut value = reqwest::header::HeaderValue::try_from(key.as_str());
                    if let Ok(value) = &mut value {
                        value.set_sensitive(true);
                    }
                    http.header(
                        header,
                        value.unwrap_or_else(|_| reqwest::header::HeaderValue::from_static("")),
                    )
                }
            };
        }
        http.body(body).build()
    }

    async fn exchange(
        &self,
        endpoint: &EndpointState,
        prepared: reqwest::Request,
        mode: StructuredOutput,
    ) -> Result<Answer, Failure> {
        let response = self
            .http
            .execute(prepared)
            .await
            .map_err(|e| transport_failure(endpoint, &e))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let body = read_capped(response)
            .await
            .map_err(|e| transport_failure(endpoint, &e))?;
        let url = &endpoint.url;
        if status.is_success() {
            return parse_answer(&body).map_err(|message| Failure::Fatal {
                error: LlmCallError::Upstream(format!("{url}: {message}")),
                endpoint_trouble: false,
            });
        }
        let text = String::from_utf8_lossy(&body);
        let snippet: String = text.chars().take(300).collect();
        if mode != StructuredOutput::Off && refuses_structured_output(status.as_u16(), &text) {
            return Err(Failure::StructuredOutputRefused(format!(
                "HTTP {status}: {snippet}"
            )));
        }
        let error = LlmCallError::Upstream(format!("{url} answered HTTP {status}: {snippet}"));
        match status.as_u16() {
            code if is_retryable_status(code) => Err(Failure::Retryable { error, retry_after }),
            // A rejected key or a wrong URL fails every call alike.
            401 | 403 | 404 => Err(Failure::Fatal {
                error,
                endpoint_trouble: true,
            }),
            _ => Err(Failure::Fatal {
                error,
                endpoint_trouble: false,
            }),
        }
    }
}

impl LlmClient for OpenAiClient {
    fn has_endpoint(&self, alias: &str) -> bool {
        self.endpoints.contains_key(alias)
    }

    fn complete<'a>(&'a self, endpoint: &'a str, request: &'a ChatRequest) -> LlmFuture<'a> {
        Box::pin(self.call(endpoint, request))
    }

    fn stats(&self) -> LlmStats {
        LlmStats {
            sent: self.sent.load(Ordering::Relaxed),
            cached: self.cached.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            tokens: self.tokens.load(Ordering::Relaxed),
        }
    }

    fn failing(&self) -> bool {
        self.endpoints
            .values()
            .any(|e| e.failures_in_a_row.in_a_row() > 0)
    }

    fn halted(&self) -> Option<String> {
        self.endpoints.values().find_map(|e| {
            e.halted
                .get()
                .map(|why| format!("endpoint '{}' ({}) is down: {why}", e.alias, e.url))
        })
    }

    fn max_concurrency(&self) -> Option<usize> {
        Some(
            self.endpoints()
                .map(|(_, e)| e.max_concurrency.max(1))
                .sum(),
        )
    }

    fn endpoint_summaries(&self) -> Vec<super::EndpointSummary> {
        self.endpoints()
            .map(|(alias, endpoint)| super::EndpointSummary {
                alias: alias.to_owned(),
                base_url: crate::redact::urls_in_text(&endpoint.base_url),
                model: endpoint.model.clone(),
            })
            .collect()
    }

    fn structured_output(&self) -> Vec<(String, StructuredOutput)> {
        let mut modes: Vec<_> = self
            .endpoints
            .values()
            .filter(|e| e.structured_output_settled.load(Ordering::Relaxed))
            .map(|e| (e.alias.clone(), e.mode()))
            .collect();
        modes.sort();
        modes
    }
}

enum Failure {
    /// The endpoint refused the structured output mode asked for.
    StructuredOutputRefused(String),
    Retryable {
        error: LlmCallError,
        retry_after: Option<Duration>,
    },
    Fatal {
        error: LlmCallError,
        endpoint_trouble: bool,
    },
}

/// An error and its causes: reqwest's own message hides why a connection
/// failed. A cause whose text is already there is not repeated.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn transport_failure(endpoint: &EndpointState, error: &reqwest::Error) -> Failure {
    if error.is_timeout() {
        return Failure::Retryable {
            error: LlmCallError::Timeout(format!(
                "endpoint '{}' gave no answer within {} s (its `timeout_secs`)",
                endpoint.alias, endpoint.config.timeout_secs
            )),
            retry_after: None,
        };
    }
    // Refused and reset connections, and bodies cut short, are worth a retry.
    let message = format!("cannot reach {}: {}", endpoint.url, error_chain(error));
    Failure::Retryable {
        error: LlmCallError::Upstream(message),
        retry_after: None,
    }
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
struct WireRequest<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a str>,
    messages: Vec<WireMessage<'a>>,
    temperature: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<WireFormat<'a>>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireFormat<'a> {
    JsonSchema {
        json_schema: WireSchema<'a>,
    },
    /// llama.cpp constrains the answer to `schema` with a grammar; OpenAI's
    /// JSON mode ignores it.
    JsonObject {
        schema: &'a RawValue,
    },
}

#[derive(Serialize)]
struct WireSchema<'a> {
    name: &'static str,
    schema: &'a RawValue,
    strict: bool,
}

/// The request's JSON, serialised straight from borrowed parts.
fn request_body(endpoint: &Endpoint, request: &ChatRequest, mode: StructuredOutput) -> Vec<u8> {
    let messages = request
        .messages
        .iter()
        .map(|m| WireMessage {
            role: role_name(m.role),
            content: &m.content,
        })
        .collect();
    let schema = request
        .json_schema
        .as_deref()
        .and_then(|schema| serde_json::from_str::<&RawValue>(schema).ok());
    let response_format = schema.and_then(|schema| match mode {
        StructuredOutput::Auto | StructuredOutput::JsonSchema => Some(WireFormat::JsonSchema {
            json_schema: WireSchema {
                name: "judgment",
                schema,
                strict: true,
            },
        }),
        StructuredOutput::JsonObject => Some(WireFormat::JsonObject { schema }),
        StructuredOutput::Off => None,
    });
    let body = WireRequest {
        model: endpoint.model_in_body(),
        messages,
        temperature: endpoint.temperature,
        max_tokens: request.max_output_tokens,
        response_format,
    };
    serde_json::to_vec(&body).expect("a request body always serialises")
}

/// Whether an error answer refuses the structured output asked for. Servers
/// say so in many ways: OpenAI and vLLM with 400, llama.cpp's Python server
/// with a 500 validation error, gateways with 422; what they share is that
/// the body names the feature. Rate limits, auth and routing errors never
/// mean a refusal, whatever their body says.
fn refuses_structured_output(status: u16, body: &str) -> bool {
    if matches!(status, 401 | 403 | 404 | 408 | 429) || status < 400 {
        return false;
    }
    let body = body.to_ascii_lowercase();
    [
        "response_format",
        "json_schema",
        "json_object",
        "grammar",
        "structured output",
    ]
    .iter()
    .any(|needle| body.contains(needle))
}

#[derive(Deserialize)]
struct WireAnswer {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    choices: Vec<WireChoice>,
}

#[derive(Deserialize)]
struct WireChoice {
    message: WireAnswerMessage,
}

#[derive(Deserialize)]
struct WireAnswerMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u32,
    #[serde(default)]
    completion_tokens: u32,
}

/// A chat completion's parts gavel reads.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    content: String,
    model: Option<String>,
    usage: Option<WireUsage>,
}

fn parse_answer(body: &[u8]) -> Result<Answer, String> {
    let answer: WireAnswer = serde_json::from_slice(body)
        .map_err(|e| format!("the answer is not a chat completion: {e}"))?;
    let message = answer
        .choices
        .into_iter()
        .next()
        .ok_or("the answer has no choices")?
        .message;
    let content = match (message.content, message.refusal) {
        (Some(content), _) => content,
        (None, Some(refusal)) => return Err(format!("the model refused: {refusal}")),
        (None, None) => return Err("the answer has no content".to_owned()),
    };
    Ok(Answer {
        content,
        model: answer.model,
        usage: answer.usage,
    })
}

pub async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room < chunk.len() {
            break;
        }
    }
    Ok(body)
}

/// Spreads requests evenly: at most `requests_per_minute`, one every
/// `60 / rpm` seconds, without bursts.
struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    fn new(requests_per_minute: u32) -> Self {
        Pacer {
            interval: Duration::from_secs(60) / requests_per_minute,
            next: Mutex::new(Instant::now()),
        }
    }

    async fn wait(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let at = (*next).max(Instant::now());
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_with_usage() {
        let body = br#"{"model":"m-1","choices":[{"message":{"role":"assistant","content":"{\"result\":\"yes\"}"}}],"usage":{"prompt_tokens":12,"completion_tokens":3}}"#;
        assert_eq!(
            parse_answer(body),
            Ok(Answer {
                content: r#"{"result":"yes"}"#.into(),
                model: Some("m-1".into()),
                usage: Some(WireUsage {
                    prompt_tokens: 12,
                    completion_tokens: 3
                }),
            })
        );
        assert!(
            parse_answer(b"<html>")
                .unwrap_err()
                .contains("not a chat completion")
        );
        assert_eq!(
            parse_answer(br#"{"choices":[{"message":{"content":null,"refusal":"no"}}]}"#),
            Err("the model refused: no".into())
        );
    }

    #[test]
    fn refusals_of_structured_output_are_told_from_failures() {
        // llama.cpp's Python server: a 500 naming the field.
        let llama = r#"{"error":{"message":"[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), 'msg': \"Input should be 'text' or 'json_object'\"}]","type":"internal_server_error"}}"#;
        assert!(refuses_structured_output(500, llama));
        assert!(refuses_structured_output(
            400,
            "response_format json_schema is not supported"
        ));
        assert!(refuses_structured_output(422, "grammar not available"));
        assert!(!refuses_structured_output(500, "internal error"));
        assert!(!refuses_structured_output(
            429,
            "response_format: slow down"
        ));
        assert!(!refuses_structured_output(401, "bad key for json_schema"));
    }

    #[test]
    fn modes_become_request_bodies() {
        let endpoint = Endpoint::new("http://x/v1", "m");
        let request = ChatRequest {
            judge: "j".into(),
            judge_version: "1".into(),
            messages: vec![],
            json_schema: Some(r#"{"type":"object"}"#.into()),
            max_output_tokens: None,
        };
        let body = |mode| -> serde_json::Value {
            serde_json::from_slice(&request_body(&endpoint, &request, mode)).unwrap()
        };
        assert_eq!(
            body(StructuredOutput::JsonSchema)["response_format"],
            serde_json::json!({"type": "json_schema", "json_schema": {"name": "judgment", "schema": {"type": "object"}, "strict": true}})
        );
        assert_eq!(
            body(StructuredOutput::JsonObject)["response_format"],
            serde_json::json!({"type": "json_object", "schema": {"type": "object"}})
        );
        assert!(body(StructuredOutput::Off).get("response_format").is_none());
        assert_eq!(body(StructuredOutput::Off)["model"], "m");
    }

    #[test]
    fn the_api_key_is_never_printed() {
        assert_eq!(format!("{:?}", ApiKey("sk-secret".into())), "ApiKey(***)");
    }
}
