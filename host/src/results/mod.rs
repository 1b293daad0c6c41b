//! What a run leaves behind, and everything that reads it back.
//!
//! `schema` names every result column and metric, `run_dir` writes and
//! reads a run directory, `metrics` aggregates result rows (numeric
//! columns through `distribution`), `gate` checks
//! metrics against thresholds; `report`, `compare`, `junit`, `history` and
//! `mlflow` are readers of a finished run directory (`parquet` writes its
//! results again as Parquet); `align` compares a
//! run's judgments with human labels.

pub mod align;
pub mod compare;
pub mod distribution;
pub mod gate;
pub mod history;
pub mod junit;
mod markup;
pub mod metrics;
pub mod mlflow;
pub mod parquet;
pub mod report;
pub mod row_result;
pub mod run_dir;
pub mod schema;
pub mod time;
