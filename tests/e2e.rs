//! End-to-end tests: real components built from source, a real HTTP LLM
//! server on 127.0.0.1, the real `gavel` binary.

mod support;

mod agent;
mod align;
mod builtins;
mod cli;
mod compat;
mod compile_cache;
mod endpoints;
mod eval;
mod faults;
mod history;
mod hygiene;
mod languages;
mod llama;
mod metrics_components;
mod mlflow;
mod parquet;
mod registry;
mod report;
mod sandbox;
mod scores;
mod seed_format;
mod sharing;
