//! gavel: evaluate LLM applications with LLM judges that run as sandboxed
//! WebAssembly components.
//!
//! Three layers, and data flows one way through them:
//!
//! - [`runtime`] (the `gavel-runtime` crate): what runs a judge component.
//!   Load judges, judge one row.
//! - [`evaluation`]: a data set's rows through the selected judges (and an
//!   agent, for rows without a response), a bounded number at a time.
//! - [`results`]: what a run leaves behind and everything that reads it
//!   back: the run directory, metrics, gates, report.html, comparisons,
//!   JUnit, the run history and MLflow.
//!
//! Beside them, [`registry`] shares judge components through OCI
//! registries and locks the builds a configuration uses.
//!
//! `data set -> rows -> selection -> judge component -> judgments -> row
//! result -> run directory -> readers`. See docs/architecture.md.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use gavel::evaluation::config::Config;
//! use gavel::evaluation::evaluator::{Evaluator, SetupOptions};
//! use gavel::evaluation::run::EvalOptions;
//!
//! let config = Config::load("gavel.toml".as_ref())?;
//! let options = EvalOptions::new("examples/rag.jsonl", "gavel-runs/first");
//! let evaluator = Evaluator::new(config, &SetupOptions::new(&options.run_id)).await?;
//! let report = evaluator.run(&options, std::future::pending()).await?;
//! println!("{:?}", report.metrics.to_json());
//! # Ok(()) }
//! ```

pub use gavel_runtime as runtime;
pub use gavel_runtime::{
    Host, HostOptions, Judge, JudgeOutcome, Judgment, Plugin, PluginSource, Rating, Row, Settings,
};

#[cfg(test)]
mod arbitrary_json;
#[cfg(feature = "authoring")]
pub mod authoring;
pub mod evaluation;
pub mod metadata;
pub mod registry;
pub mod results;
