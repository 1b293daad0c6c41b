//! The application under evaluation: called for every row that has no
//! response yet, so that its own answers, retrieved context, token usage
//! and latency are judged and reported.
//!
//! An agent is an OpenAI-compatible chat endpoint, any HTTP endpoint that
//! takes a request object as JSON, or a long-lived process that reads one
//! request object per line on stdin and writes one answer per line on
//! stdout. The request object is
//! `{"request_id": ..., "request": <the row's request as given>, "messages": [{role, content}, ...]}`;
//! answers are read by [`answer::parse`]. An embedder may also give a
//! function ([`AgentFunction`], e.g. a Python callable) that takes the same
//! object.
//!
//! Agent calls have their own concurrency limit, timeout and retries. A
//! call that still fails marks its row; calls failing in a row (after their
//! retries) mean the agent is down, and the run stops so it can be resumed.

pub mod answer;
mod http;
mod process;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::time::Instant;

pub use answer::AgentAnswer;
use gavel_runtime::llm::{Message, role_name};
use gavel_runtime::redact;
use gavel_runtime::retry::RetryPolicy;
use gavel_runtime::text::{MAX_MESSAGE_BYTES, clean_plugin_text};

/// The `[agent]` table of `gavel.toml`; `--agent`, `--agent-cmd` and the
/// other `--agent-*` flags override it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentTable {
    /// An HTTP agent's URL.
    pub url: Option<String>,
    /// How to talk to `url`: `openai` (chat completions, the default) or
    /// `json` (the request object, answered with JSON).
    pub format: Option<AgentFormat>,
    /// A process agent's command line (run with `sh -c`).
    pub command: Option<String>,
    /// `model` of chat completion requests.
    pub model: Option<String>,
    /// Environment variable holding a bearer token for `url`.
    pub api_key_env: Option<String>,
    pub max_concurrency: Option<usize>,
    pub timeout_secs: Option<f64>,
    pub max_retries: Option<u32>,
    pub failures_before_stop: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentFormat {
    /// OpenAI chat completions: the request as messages.
    Openai,
    /// The request object as JSON, answered with JSON.
    Json,
}

impl AgentFormat {
    pub const ALL: [AgentFormat; 2] = [AgentFormat::Openai, AgentFormat::Json];

    pub fn as_str(self) -> &'static str {
        match self {
            AgentFormat::Openai => "openai",
            AgentFormat::Json => "json",
        }
    }
}

impl std::str::FromStr for AgentFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|format| format.as_str() == text)
            .ok_or_else(|| format!("'{text}' is not an agent format; use openai or json"))
    }
}

/// What the command line says about the agent.
#[derive(Debug, Clone, Default)]
pub struct AgentOverrides {
    pub url: Option<String>,
    pub format: Option<AgentFormat>,
    pub command: Option<String>,
    pub model: Option<String>,
    pub max_concurrency: Option<usize>,
    pub timeout_secs: Option<f64>,
}

/// Where the agent is.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentTarget {
    Http {
        url: String,
        format: AgentFormat,
        model: Option<String>,
        api_key_env: Option<String>,
    },
    Command(String),
    /// An embedder's function, by the name messages call it.
    Function(String),
}

/// An agent that is a function in the embedding program: called with the
/// request object HTTP and process agents receive, it returns an answer in
/// any format [`answer::parse`] reads, or the error that marks the row (an
/// exception, for a Python callable; not retried).
pub trait AgentFunction: Send + Sync {
    fn call(&self, request: Value) -> Pin<Box<dyn Future<Output = Result<Value, String>> + Send>>;
}

/// A resolved agent configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSpec {
    pub target: AgentTarget,
    /// Calls in flight (processes running, for a command).
    pub max_concurrency: usize,
    pub timeout: Duration,
    /// Retries of timeouts, crashes, refused connections, 429 and 5xx.
    pub max_retries: u32,
    pub failures_before_stop: u32,
}

impl AgentSpec {
    /// The agent the table and the flags describe, if any.
    pub fn resolve(
        table: Option<&AgentTable>,
        flags: &AgentOverrides,
    ) -> Result<Option<AgentSpec>, String> {
        let empty = AgentTable::default();
        let table = table.unwrap_or(&empty);
        let target = if let Some(command) = &flags.command {
            AgentTarget::Command(command.clone())
        } else if let Some(url) = &flags.url {
            http_target(url, flags, table)
        } else {
            match (&table.url, &table.command) {
                (Some(_), Some(_)) => {
                    return Err("[agent] sets both `url` and `command`; keep one".to_owned());
                }
                (Some(url), None) => http_target(url, flags, table),
                (None, Some(command)) => AgentTarget::Command(command.clone()),
                (None, None) if flags.format.is_some() || table.format.is_some() => {
                    return Err(
                        "an agent format is set but no agent: give --agent URL (or [agent] url)"
                            .to_owned(),
                    );
                }
                (None, None) => return Ok(None),
            }
        };
        if matches!(target, AgentTarget::Command(_)) && flags.format.is_some() {
            return Err(
                "--agent-format applies to --agent URL; a command agent speaks JSON lines"
                    .to_owned(),
            );
        }
        let timeout_secs = flags.timeout_secs.or(table.timeout_secs).unwrap_or(60.0);
        if !(timeout_secs.is_finite() && timeout_secs > 0.0) {
            return Err(format!(
                "the agent timeout must be a positive number of seconds, not {timeout_secs}"
            ));
        }
        let max_concurrency = flags.max_concurrency.or(table.max_concurrency).unwrap_or(8);
        if max_concurrency == 0 {
            return Err("the agent's max_concurrency must be at least 1".to_owned());
        }
        Ok(Some(AgentSpec {
            target,
            max_concurrency,
            timeout: Duration::from_secs_f64(timeout_secs),
            max_retries: table.max_retries.unwrap_or(RetryPolicy::AGENT.retries),
            failures_before_stop: table.failures_before_stop.unwrap_or(5).max(1),
        }))
    }

    /// For `run.json`: a resumed run must talk to the same agent. Secrets
    /// in the URL or the command are masked ([`gavel_runtime::redact`]).
    pub fn describe(&self) -> Value {
        match &self.target {
            AgentTarget::Http {
                url, format, model, ..
            } => json!({
                "url": redact::urls_in_text(url),
                "format": match format { AgentFormat::Openai => "openai", AgentFormat::Json => "json" },
                "model": model,
            }),
            AgentTarget::Command(command) => json!({ "command": redact::command(command) }),
            AgentTarget::Function(name) => json!({ "function": name }),
        }
    }

    /// A function agent named `name` (for messages and run.json), with the
    /// command line's defaults for concurrency, timeout and failures.
    pub fn function(name: impl Into<String>) -> AgentSpec {
        AgentSpec {
            target: AgentTarget::Function(name.into()),
            max_concurrency: 8,
            timeout: Duration::from_secs(60),
            max_retries: RetryPolicy::AGENT.retries,
            failures_before_stop: 5,
        }
    }
}

/// An agent's error, bounded and clean (it quotes the agent's stderr and
/// answers) and without secrets in the URLs it names (reqwest's errors name
/// the URL as it was given).
fn clean_error(error: &str) -> String {
    redact::urls_in_text(&clean_plugin_text(error, MAX_MESSAGE_BYTES))
}

fn http_target(url: &str, flags: &AgentOverrides, table: &AgentTable) -> AgentTarget {
    AgentTarget::Http {
        url: url.to_owned(),
        format: flags.format.or(table.format).unwrap_or(AgentFormat::Openai),
        model: flags.model.clone().or_else(|| table.model.clone()),
        api_key_env: table.api_key_env.clone(),
    }
}

/// One request to the agent.
#[derive(Debug, Clone)]
pub struct AgentRequest {
    pub request_id: String,
    /// The row's `request` as given: a string or a chat request.
    pub request: Value,
    pub messages: Vec<Message>,
}

impl AgentRequest {
    /// The object JSON agents (HTTP and process) receive.
    fn to_json(&self) -> Value {
        json!({
            "request_id": self.request_id,
            "request": self.request,
            "messages": messages_json(&self.messages),
        })
    }
}

fn messages_json(messages: &[Message]) -> Value {
    messages
        .iter()
        .map(|m| json!({"role": role_name(m.role), "content": m.content}))
        .collect()
}

/// A successful call.
#[derive(Debug, Clone)]
pub struct AgentReply {
    pub answer: AgentAnswer,
    /// Wall time of the call that answered (retries not included).
    pub latency_seconds: f64,
}

/// Why one attempt failed.
enum AttemptError {
    /// Worth another attempt: timeouts, crashes, refused connections,
    /// overload.
    Retry {
        message: String,
        retry_after: Option<Duration>,
    },
    /// The agent answered, and the answer is wrong: another attempt would
    /// get the same.
    Fatal(String),
}

enum Transport {
    Http(http::HttpAgent),
    Process(process::ProcessPool),
    Function(Arc<dyn AgentFunction>),
}

/// Calls the agent, within its limits.
pub struct Agent {
    spec: AgentSpec,
    transport: Transport,
    slots: Semaphore,
    failures_in_a_row: AtomicU32,
    halted: OnceLock<String>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent").field("spec", &self.spec).finish()
    }
}

impl Agent {
    /// Fails when the agent's API key variable is not set.
    pub fn new(spec: AgentSpec, run_id: &str) -> Result<Agent, String> {
        let transport = match &spec.target {
            AgentTarget::Http {
                url,
                format,
                model,
                api_key_env,
            } => Transport::Http(http::HttpAgent::new(
                url,
                *format,
                model.clone(),
                api_key_env.as_deref(),
                run_id,
            )?),
            AgentTarget::Command(command) => {
                Transport::Process(process::ProcessPool::new(command.clone()))
            }
            AgentTarget::Function(name) => {
                return Err(format!(
                    "the agent function {name} is given with Agent::with_function"
                ));
            }
        };
        Ok(Agent {
            slots: Semaphore::new(spec.max_concurrency),
            spec,
            transport,
            failures_in_a_row: AtomicU32::new(0),
            halted: OnceLock::new(),
        })
    }

    /// An agent that is `function` (its spec's target is
    /// [`AgentTarget::Function`]).
    pub fn with_function(spec: AgentSpec, function: Arc<dyn AgentFunction>) -> Agent {
        Agent {
            slots: Semaphore::new(spec.max_concurrency),
            spec,
            transport: Transport::Function(function),
            failures_in_a_row: AtomicU32::new(0),
            halted: OnceLock::new(),
        }
    }

    pub fn spec(&self) -> &AgentSpec {
        &self.spec
    }

    /// Asks the agent; the error is the row's `agent/error_message`: it
    /// quotes what the agent said, so it is bounded and cleaned here.
    pub async fn call(&self, request: &AgentRequest) -> Result<AgentReply, String> {
        self.call_once(request)
            .await
            .map_err(|error| clean_error(&error))
    }

    async fn call_once(&self, request: &AgentRequest) -> Result<AgentReply, String> {
        let policy = RetryPolicy::AGENT.with_retries(self.spec.max_retries);
        let mut retries = 0;
        loop {
            if let Some(why) = self.halted.get() {
                return Err(format!("the agent is down: {why}"));
            }
            let attempt = {
                let _slot = self
                    .slots
                    .acquire()
                    .await
                    .expect("the semaphore is never closed");
                let started = Instant::now();
                let outcome =
                    match tokio::time::timeout(self.spec.timeout, self.attempt(request)).await {
                        Ok(outcome) => outcome,
                        Err(_) => {
                            let message = format!(
                                "{} gave no answer within {} s",
                                self.name(),
                                self.spec.timeout.as_secs_f64()
                            );
                            // A function's call cannot be stopped: calling
                            // it again would only stack up calls.
                            if matches!(self.transport, Transport::Function(_)) {
                                Err(AttemptError::Fatal(message))
                            } else {
                                Err(AttemptError::Retry {
                                    message,
                                    retry_after: None,
                                })
                            }
                        }
                    };
                outcome.map(|value| (value, started.elapsed().as_secs_f64()))
            };
            let error = match attempt {
                Ok((value, latency_seconds)) => {
                    self.failures_in_a_row.store(0, Ordering::Relaxed);
                    return answer::parse(value)
                        .map(|answer| AgentReply {
                            answer,
                            latency_seconds,
                        })
                        .map_err(|why| format!("{} answered garbage: {why}", self.name()));
                }
                Err(AttemptError::Fatal(message)) => {
                    self.failures_in_a_row.store(0, Ordering::Relaxed);
                    return Err(message);
                }
                Err(AttemptError::Retry {
                    message,
                    retry_after,
                }) => {
                    if policy.may_retry(retries) {
                        let wait = policy.wait(retries, retry_after);
                        tracing::debug!(request_id = %request.request_id, %message, ?wait, "retrying agent call");
                        tokio::time::sleep(wait).await;
                        retries += 1;
                        continue;
                    }
                    message
                }
            };
            let error = if retries > 0 {
                format!("{error} (after {retries} retries)")
            } else {
                error
            };
            // The halt message reaches the terminal.
            let error = clean_error(&error);
            let in_a_row = self.failures_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
            if in_a_row >= self.spec.failures_before_stop {
                let _ = self.halted.set(format!(
                    "{in_a_row} calls in a row failed; the last: {error}"
                ));
            }
            return Err(error);
        }
    }

    async fn attempt(&self, request: &AgentRequest) -> Result<Value, AttemptError> {
        match &self.transport {
            Transport::Http(agent) => agent.call(request).await,
            Transport::Process(pool) => pool.call(&request.to_json()).await,
            // What the function raised is its answer for this row: calling
            // again would raise again.
            Transport::Function(function) => function
                .call(request.to_json())
                .await
                .map_err(AttemptError::Fatal),
        }
    }

    /// `agent http://...` or ``agent process `python3 agent.py` ``, secrets
    /// masked: errors that name the agent are recorded.
    fn name(&self) -> String {
        match &self.spec.target {
            AgentTarget::Http { url, .. } => format!("agent {}", redact::urls_in_text(url)),
            AgentTarget::Command(command) => {
                format!("agent process `{}`", redact::command(command))
            }
            AgentTarget::Function(name) => format!("agent function {name}"),
        }
    }

    /// Whether the last call failed: rows failed meanwhile are held back
    /// until it is clear whether the agent is down.
    pub fn failing(&self) -> bool {
        self.failures_in_a_row.load(Ordering::Relaxed) > 0
    }

    /// Set once enough calls failed in a row.
    pub fn halted(&self) -> Option<String> {
        self.halted
            .get()
            .map(|why| format!("{} is down: {why}", self.name()))
    }

    /// Ends the agent's processes: their stdin is closed so they can exit
    /// on their own, and they are killed if they do not.
    pub async fn shutdown(&self) {
        if let Transport::Process(pool) = &self.transport {
            pool.shutdown().await;
        }
    }
}
