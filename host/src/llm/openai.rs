//! Chat completions over HTTP, against any OpenAI-compatible API (OpenAI,
//! vLLM, llama.cpp, Ollama, gateways).

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

use super::{
    ChatAnswer, ChatRequest, LlmCallError, LlmClient, LlmFuture, LlmStats, ResponseCache, role_name,
};

/// Largest response body read from an endpoint.
const MAX_BODY_BYTES: usize = 8 << 20;
/// Longest wait between retries, whatever `Retry-After` says.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// An `[endpoints.NAME]` table of `gavel.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Base of the API, e.g. `https://api.openai.com/v1`; requests go to
    /// `{base_url}/chat/completions`.
    pub base_url: String,
    pub model: String,
    /// Environment variable holding the API key; no key is sent without it.
    #[serde(default)]
    pub api_key_env: Option<String>,
    #[serde(default = "defaults::max_concurrency")]
    pub max_concurrency: usize,
    /// 0 means unlimited.
    #[serde(default)]
    pub requests_per_minute: u32,
    #[serde(default = "defaults::timeout_secs")]
    pub timeout_secs: f64,
    #[serde(default = "defaults::max_retries")]
    pub max_retries: u32,
    #[serde(default)]
    pub temperature: f32,
    /// Calls in a row that fail after their retries (refused connections,
    /// timeouts, 429 and 5xx, rejected keys) before the endpoint is taken to
    /// be down and the run stops.
    #[serde(default = "defaults::failures_before_stop")]
    pub failures_before_stop: u32,
}

mod defaults {
    pub fn failures_before_stop() -> u32 {
        5
    }
    pub fn max_concurrency() -> usize {
        16
    }
    pub fn timeout_secs() -> f64 {
        60.0
    }
    pub fn max_retries() -> u32 {
        5
    }
}

impl Endpoint {
    /// OpenAI's API with `gpt-4o-mini`, the key in `OPENAI_API_KEY`: the
    /// `judge` endpoint when none is configured.
    pub fn openai_default() -> Self {
        Endpoint {
            base_url: "https://api.openai.com/v1".to_owned(),
            model: "gpt-4o-mini".to_owned(),
            api_key_env: Some("OPENAI_API_KEY".to_owned()),
            max_concurrency: defaults::max_concurrency(),
            requests_per_minute: 0,
            timeout_secs: defaults::timeout_secs(),
            max_retries: defaults::max_retries(),
            temperature: 0.0,
            failures_before_stop: defaults::failures_before_stop(),
        }
    }
}

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

    pub(crate) fn expose(&self) -> &str {
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
    in_flight: Semaphore,
    pacer: Option<Pacer>,
    /// Cleared the first time the endpoint refuses `response_format`.
    structured_output: AtomicBool,
    /// Calls in a row that failed after their retries.
    failures_in_a_row: AtomicU32,
    /// Set once `failures_in_a_row` reaches the endpoint's limit.
    halted: OnceLock<String>,
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
                    url: format!("{}/chat/completions", config.base_url.trim_end_matches('/')),
                    key,
                    in_flight: Semaphore::new(config.max_concurrency.max(1)),
                    pacer: (config.requests_per_minute > 0)
                        .then(|| Pacer::new(config.requests_per_minute)),
                    structured_output: AtomicBool::new(true),
                    failures_in_a_row: AtomicU32::new(0),
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

    async fn call(&self, alias: &str, request: &ChatRequest) -> Result<ChatAnswer, LlmCallError> {
        let endpoint = self.endpoints.get(alias).ok_or_else(|| {
            LlmCallError::Upstream(format!("no endpoint named '{alias}' is configured"))
        })?;
        let key = endpoint.key.as_ref().map_err(|var| {
            LlmCallError::Upstream(format!(
                "environment variable {var} is not set (endpoint '{alias}' reads its API key from it)"
            ))
        })?;
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
        let outcome = self.call_endpoint(endpoint, key.as_ref(), request).await;
        match &outcome {
            Ok(answer) => {
                endpoint.failures_in_a_row.store(0, Ordering::Relaxed);
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
                    let in_a_row = endpoint.failures_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
                    if in_a_row >= endpoint.config.failures_before_stop.max(1) {
                        let _ = endpoint.halted.set(format!(
                            "{in_a_row} calls in a row failed; the last: {error}"
                        ));
                    }
                } else {
                    endpoint.failures_in_a_row.store(0, Ordering::Relaxed);
                }
            }
        }
        outcome.map_err(|(error, _)| error)
    }

    /// One call with its retries. The flag on an error says whether it
    /// speaks against the endpoint itself (outage, overload, rejected key)
    /// rather than this request.
    async fn call_endpoint(
        &self,
        endpoint: &EndpointState,
        key: Option<&ApiKey>,
        request: &ChatRequest,
    ) -> Result<ChatAnswer, (LlmCallError, bool)> {
        let alias = endpoint.alias.as_str();
        let started = Instant::now();
        let mut retries = 0;
        loop {
            if let Some(pacer) = &endpoint.pacer {
                pacer.wait().await;
            }
            let structured =
                request.json_schema.is_some() && endpoint.structured_output.load(Ordering::Relaxed);
            // Everything but the exchange itself happens before taking a
            // slot: the endpoint's slots are the scarce resource.
            let prepared = self.prepare(endpoint, key, request, structured);
            let attempt = match prepared {
                Err(error) => Err(transport_failure(&endpoint.url, &error)),
                Ok(prepared) => {
                    let _slot = endpoint
                        .in_flight
                        .acquire()
                        .await
                        .expect("the semaphore is never closed");
                    self.exchange(endpoint, prepared, structured).await
                }
            };
            match attempt {
                Ok(answer) => {
                    tracing::debug!(
                        endpoint = alias,
                        judge = %request.judge,
                        retries,
                        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
                        input_tokens = answer.input_tokens,
                        output_tokens = answer.output_tokens,
                        "LLM call"
                    );
                    return Ok(answer);
                }
                Err(Failure::StructuredOutputRefused) => {
                    tracing::info!(
                        endpoint = alias,
                        "endpoint refuses response_format; asking for JSON in the prompt only"
                    );
                    endpoint.structured_output.store(false, Ordering::Relaxed);
                }
                Err(Failure::Retryable { error, retry_after })
                    if retries < endpoint.config.max_retries =>
                {
                    let wait = backoff(retries, retry_after);
                    tracing::debug!(endpoint = alias, %error, ?wait, "retrying LLM call");
                    tokio::time::sleep(wait).await;
                    retries += 1;
                }
                Err(Failure::Retryable { error, .. }) => {
                    let error = match error {
                        LlmCallError::Upstream(message) if retries > 0 => {
                            LlmCallError::Upstream(format!("{message} (after {retries} retries)"))
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
        structured: bool,
    ) -> Result<reqwest::Request, reqwest::Error> {
        let body = request_body(&endpoint.config, request, structured);
        let mut http = self
            .http
            .post(&endpoint.url)
            .timeout(Duration::from_secs_f64(
                endpoint.config.timeout_secs.max(0.001),
            ))
            .header("X-Gavel-Judge", &request.judge)
            .header("X-Gavel-Run", &self.run_id)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(ApiKey(key)) = key {
            http = http.bearer_auth(key);
        }
        http.build()
    }

    async fn exchange(
        &self,
        endpoint: &EndpointState,
        prepared: reqwest::Request,
        structured: bool,
    ) -> Result<ChatAnswer, Failure> {
        let url = &endpoint.url;
        let response = self
            .http
            .execute(prepared)
            .await
            .map_err(|e| transport_failure(url, &e))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let body = read_capped(response)
            .await
            .map_err(|e| transport_failure(url, &e))?;
        if status.is_success() {
            return parse_answer(&body).map_err(|message| Failure::Fatal {
                error: LlmCallError::Upstream(format!("{url}: {message}")),
                endpoint_trouble: false,
            });
        }
        let text = String::from_utf8_lossy(&body);
        let snippet: String = text.chars().take(300).collect();
        let error = LlmCallError::Upstream(format!("{url} answered HTTP {status}: {snippet}"));
        match status.as_u16() {
            400 | 422 if structured && refuses_structured_output(&text) => {
                Err(Failure::StructuredOutputRefused)
            }
            408 | 409 | 429 | 500..=599 => Err(Failure::Retryable { error, retry_after }),
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
            .any(|e| e.failures_in_a_row.load(Ordering::Relaxed) > 0)
    }

    fn halted(&self) -> Option<String> {
        self.endpoints.values().find_map(|e| {
            e.halted
                .get()
                .map(|why| format!("endpoint '{}' ({}) is down: {why}", e.alias, e.url))
        })
    }
}

enum Failure {
    StructuredOutputRefused,
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
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
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

fn transport_failure(url: &str, error: &reqwest::Error) -> Failure {
    if error.is_timeout() {
        return Failure::Retryable {
            error: LlmCallError::Timeout,
            retry_after: None,
        };
    }
    // Refused and reset connections, and bodies cut short, are worth a retry.
    let message = format!("cannot reach {url}: {}", error_chain(error));
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
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    temperature: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<WireFormat<'a>>,
}

#[derive(Serialize)]
struct WireFormat<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    json_schema: WireSchema<'a>,
}

#[derive(Serialize)]
struct WireSchema<'a> {
    name: &'static str,
    schema: &'a RawValue,
    strict: bool,
}

/// The request's JSON, serialised straight from borrowed parts.
fn request_body(endpoint: &Endpoint, request: &ChatRequest, structured: bool) -> Vec<u8> {
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
        .filter(|_| structured)
        .and_then(|schema| serde_json::from_str::<&RawValue>(schema).ok());
    let body = WireRequest {
        model: &endpoint.model,
        messages,
        temperature: endpoint.temperature,
        max_tokens: request.max_output_tokens,
        response_format: schema.map(|schema| WireFormat {
            kind: "json_schema",
            json_schema: WireSchema {
                name: "judgment",
                schema,
                strict: true,
            },
        }),
    };
    serde_json::to_vec(&body).expect("a request body always serialises")
}

fn refuses_structured_output(body: &str) -> bool {
    let body = body.to_ascii_lowercase();
    body.contains("response_format") || body.contains("json_schema") || body.contains("structured")
}

#[derive(Deserialize)]
struct WireAnswer {
    #[serde(default)]
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
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

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u32,
    #[serde(default)]
    completion_tokens: u32,
}

fn parse_answer(body: &[u8]) -> Result<ChatAnswer, String> {
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
    let usage = answer.usage.unwrap_or(WireUsage {
        prompt_tokens: 0,
        completion_tokens: 0,
    });
    Ok(ChatAnswer {
        content,
        input_tokens: usage.prompt_tokens,
        output_tokens: usage.completion_tokens,
    })
}

pub(crate) async fn read_capped(
    mut response: reqwest::Response,
) -> Result<Vec<u8>, reqwest::Error> {
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

pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs).min(MAX_BACKOFF))
}

/// Exponential backoff from 0.5 s with jitter, or what the server asked for.
pub(crate) fn backoff(retry: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(wait) = retry_after {
        return wait;
    }
    let base = Duration::from_millis(500).saturating_mul(1 << retry.min(10));
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    // 50-100% of the base: clients retrying together spread out.
    let factor = 0.5 + f64::from(nanos % 1000) / 2000.0;
    base.mul_f64(factor).min(MAX_BACKOFF)
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
        let body = br#"{"choices":[{"message":{"role":"assistant","content":"{\"result\":\"yes\"}"}}],"usage":{"prompt_tokens":12,"completion_tokens":3}}"#;
        assert_eq!(
            parse_answer(body),
            Ok(ChatAnswer {
                content: r#"{"result":"yes"}"#.into(),
                input_tokens: 12,
                output_tokens: 3
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
    fn the_api_key_is_never_printed() {
        assert_eq!(format!("{:?}", ApiKey("sk-secret".into())), "ApiKey(***)");
    }

    #[test]
    fn backoff_grows_and_honours_retry_after() {
        assert!(backoff(0, None) <= Duration::from_millis(500));
        assert!(backoff(3, None) >= Duration::from_secs(2));
        assert_eq!(
            backoff(0, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
    }
}
