//! gavel: evaluate LLM applications with LLM judges that run as sandboxed
//! WebAssembly components.
//!
//! A [`Host`] loads judge plugins (the built-ins embedded in this crate, or
//! `.wasm` files implementing the `gavel:judge` WIT world) and runs them,
//! each evaluation in a fresh sandbox with memory, CPU, wall-clock and
//! LLM-call limits. Judges never touch the network: they ask the host for
//! chat completions through endpoint aliases, and an [`LlmClient`] makes the
//! calls.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::sync::Arc;
//! use gavel::{Host, HostOptions, Judge, Settings, llm::{Endpoint, OpenAiClient}};
//!
//! let llm = OpenAiClient::new([("judge".to_owned(), Endpoint::openai_default())], "my-run")?;
//! let host = Host::new(HostOptions { llm: Arc::new(llm), ..HostOptions::default() })?;
//! let plugins = host.load_builtins().await?;
//! let safety = plugins.into_iter().find(|p| p.name() == "safety").unwrap();
//! let judge = Judge::new(safety, Settings::default());
//! let row = gavel::row::row_from_json(
//!     serde_json::json!({"request": "Hi", "response": "Hello!"}).as_object().unwrap().clone(),
//!     0,
//! )?;
//! let evaluation = host.evaluate(&judge, &row).await;
//! println!("{:?}", evaluation.outcome?.rating);
//! # Ok(()) }
//! ```

pub mod agent;
#[cfg(test)]
mod arbitrary_json;
pub mod bindings;
mod builtins;
mod cache;
pub mod compare;
pub mod config;
pub mod dataset;
pub mod deterministic;
mod engine;
mod failure;
pub mod history;
mod host;
mod judge;
pub mod junit;
mod limits;
pub mod llm;
mod markup;
pub mod mlflow;
pub mod overall;
mod plugin;
pub mod prompt;
pub mod redact;
pub mod registry;
pub mod report;
pub mod row;
pub mod run;
mod run_id;
mod sandbox;
pub mod selection;
pub mod text;
pub mod trace;

pub use engine::{Allocation, ComponentCaps};
pub use failure::{FailureKind, JudgeFailure};
pub use host::{Host, HostError, HostOptions, default_cache_dir};
pub use judge::{
    ChunkJudgment, DEFAULT_ENDPOINT, DEFAULT_THRESHOLD, Evaluation, Judge, JudgeBuilder, Judgment,
    Rating, Settings, Target, Usage, describe_missing, has_input, input_name, requirement_names,
};
pub use limits::{LimitError, LimitOverrides, Limits};
pub use llm::LlmClient;
pub use plugin::{LoadError, Plugin, PluginSource};
pub use row::Row;
pub use run_id::{new_run_id, utc_timestamp};
