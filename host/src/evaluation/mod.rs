//! An evaluation: a data set's rows, read and normalised, through the
//! judges selected for each, and an agent for rows without a response.
//!
//! `dataset` reads records (with `columns` mapped to fields), `input`
//! turns one into a row (and `trace` reads an MLflow trace in it),
//! `config` and `judge_set` say which judges exist (`examples` reads their
//! few-shot examples), `selection` which of them run on a row, `agent` answers rows
//! without a response, `judge_row` judges one row (with `deterministic`
//! metrics and the `root_cause` of a failure), and `run` drives a whole
//! data set into a run directory. `evaluator` sets all of it up from a
//! configuration in one call.

pub mod agent;
pub mod columns;
pub mod config;
pub mod dataset;
pub mod deterministic;
pub mod evaluator;
pub mod examples;
pub mod input;
pub mod judge_row;
pub mod judge_set;
pub mod plugins;
pub mod root_cause;
pub mod run;
pub mod selection;
pub mod trace;
