//! gavel's runtime: what runs a judge component, and nothing else.
//!
//! A [`Host`] loads judge plugins (the built-ins embedded in this crate, or
//! components implementing the `gavel:judge` WIT world) and runs them, each
//! judgment in a fresh sandbox with memory, CPU, wall-clock and LLM-call
//! limits. It runs metric plugins (the `metric-plugin` world: a number per
//! row, no LLM) the same way. Judges never touch the network: they ask the host for chat
//! completions through endpoint aliases, and an [`LlmClient`] makes the
//! calls. Data sets, run directories and the command line are the `gavel`
//! crate's business; an embedder who only wants "load judges, judge a row"
//! needs this crate alone.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::sync::Arc;
//! use gavel_runtime::{Host, HostOptions, Judge, Row, Settings, llm::{Endpoint, OpenAiClient}};
//!
//! let llm = OpenAiClient::new([("judge".to_owned(), Endpoint::openai_default())], "my-run")?;
//! let host = Host::new(HostOptions { llm: Arc::new(llm), ..HostOptions::default() })?;
//! let plugins = host.load_builtins().await?;
//! let safety = plugins.into_iter().find(|p| p.name() == "safety").unwrap();
//! let judge = Judge::new(safety, Settings::default());
//! let row = Row {
//!     response: Some("Hello!".into()),
//!     ..Row::new("1", "Hi")
//! };
//! let outcome = host.judge(&judge, &row).await;
//! println!("{:?}", outcome.judgment?.rating);
//! # Ok(()) }
//! ```
//!
//! Modules, from the bottom up: [`bindings`] (the WIT world), [`limits`],
//! [`text`] and [`redact`] (what a plugin's strings go through), [`prompt`]
//! (rendering), [`retry`] (backoff for every call gavel retries), [`llm`]
//! (the judge LLM client), `sandbox` (one instance per
//! judgment, with the host imports), [`plugin`], [`judge`] and
//! [`judgment`], [`metric`], and [`Host`] on top.

pub mod ask;
pub mod bindings;
pub mod builtins;
mod component_cache;
pub mod digest;
mod engine;
mod failure;
mod host;
pub mod judge;
pub mod judgment;
pub mod limits;
pub mod llm;
pub mod metric;
pub mod plugin;
pub mod prompt;
pub mod redact;
pub mod retry;
mod sandbox;
pub mod text;

pub use bindings::Row;
pub use engine::{Allocation, ComponentCaps};
pub use failure::{FailureKind, JudgeFailure};
pub use host::{Host, HostError, HostOptions, default_cache_dir};
pub use judge::{
    DEFAULT_ENDPOINT, DEFAULT_THRESHOLD, Judge, JudgeBuilder, MAX_EXAMPLES, Settings, Target,
    describe_missing, has_input, input_name, requirement_names,
};
pub use judgment::{ChunkJudgment, JudgeOutcome, JudgeUsage, Judgment, Rating};
pub use limits::{LimitError, LimitOverrides, Limits};
pub use llm::LlmClient;
pub use metric::{Metric, MetricFailure, MetricOutcome, MetricPlugin};
pub use plugin::{LoadError, Loaded, Plugin, PluginSource, World};
