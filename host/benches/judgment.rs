//! Host overhead per judgment and start-up time.
//!
//! `cargo bench -p gavel --bench judgment` prints:
//! - the cost of one judgment with an instant in-process LLM (fresh store,
//!   instantiate, call, render the prompt, parse the answer), for built-in
//!   judges, with the pooling allocator and without; target: median < 100 us;
//! - the same under concurrency (judgments per second on all cores);
//! - start-up with every built-in judge from the on-disk compiled cache,
//!   in-process and as the whole `gavel judges list` process; target < 200 ms.
//!
//! `GAVEL_BENCH_EXTRA=a.wasm,b.wasm` adds plugin files (e.g. the Python and
//! JavaScript examples) to the per-judgment measurement.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gavel::evaluation::input::row_from_json;
use gavel::runtime::Allocation;
use gavel::runtime::llm::{ChatAnswer, ChatRequest, LlmClient, LlmFuture};
use gavel::{Host, HostOptions, Judge, Plugin, Row, Settings};
use serde_json::json;

/// Answers every call at once with a verdict, as a judge LLM would.
struct InstantLlm;

impl LlmClient for InstantLlm {
    fn has_endpoint(&self, _alias: &str) -> bool {
        true
    }

    fn complete<'a>(&'a self, _endpoint: &'a str, _request: &'a ChatRequest) -> LlmFuture<'a> {
        Box::pin(async {
            Ok(ChatAnswer {
                content:
                    r#"{"rationale": "The response states the expected facts.", "result": "yes"}"#
                        .to_owned(),
                input_tokens: 300,
                output_tokens: 20,
            })
        })
    }
}

fn row() -> Row {
    let value = json!({
        "request": "What is MLflow?",
        "response": "MLflow is an open-source platform for managing the end-to-end machine learning lifecycle.",
        "expected_response": "MLflow is an open-source platform for the machine learning lifecycle.",
        "retrieved_context": [
            {"content": "MLflow is an open-source platform, purpose-built to assist machine learning practitioners.", "doc_uri": "a.md"},
        ],
    });
    row_from_json(value.as_object().unwrap().clone(), 0).unwrap()
}

fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-cache")
}

fn host(allocation: Allocation) -> Host {
    Host::new(HostOptions {
        cache_dir: Some(cache_dir()),
        allocation,
        llm: Arc::new(InstantLlm),
        ..HostOptions::default()
    })
    .expect("host")
}

struct Stats {
    median: Duration,
    p90: Duration,
    p99: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    Stats {
        median: at(0.5),
        p90: at(0.9),
        p99: at(0.99),
    }
}

fn us(d: Duration) -> String {
    format!("{:.1} us", d.as_secs_f64() * 1e6)
}

async fn per_judgment(host: &Host, judge: &Judge, row: &Row, iterations: usize) -> Stats {
    for _ in 0..iterations / 10 {
        host.judge(judge, row)
            .await
            .judgment
            .expect("warm-up judgment");
    }
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        let outcome = host.judge(judge, row).await;
        samples.push(started.elapsed());
        outcome.judgment.expect("judgment");
    }
    stats(samples)
}

async fn throughput(host: &Host, judge: &Judge, row: &Row, total: usize) -> f64 {
    let started = Instant::now();
    let tasks = (0..total).map(|_| host.judge(judge, row));
    for outcome in futures::future::join_all(tasks).await {
        outcome.judgment.expect("judgment");
    }
    total as f64 / started.elapsed().as_secs_f64()
}

async fn plugins(host: &Host) -> Vec<Plugin> {
    let mut plugins = host.load_builtins().await.expect("built-ins");
    if let Ok(extra) = std::env::var("GAVEL_BENCH_EXTRA") {
        for path in extra.split(',').filter(|p| !p.is_empty()) {
            plugins.push(host.load_file(path.as_ref()).await.expect("extra plugin"));
        }
    }
    plugins
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let row = row();
        println!("## Host overhead per judgment (instant in-process LLM)\n");
        println!("| judge | allocation | median | p90 | p99 |");
        println!("|---|---|---|---|---|");
        for (label, allocation) in [("pooling", Allocation::default()), ("on-demand", Allocation::OnDemand)] {
            let host = host(allocation);
            for plugin in plugins(&host).await {
                let name = plugin.name().to_owned();
                if !["correctness", "safety", "groundedness", "conciseness"].contains(&name.as_str())
                    && !matches!(plugin.source(), gavel::PluginSource::File(_))
                {
                    continue;
                }
                let judge = Judge::new(plugin.clone(), Settings::default());
                let iterations = if matches!(plugin.source(), gavel::PluginSource::File(_)) { 300 } else { 3000 };
                let s = per_judgment(&host, &judge, &row, iterations).await;
                let shown = match plugin.source() {
                    gavel::PluginSource::File(path) => format!("{name} ({})", path.file_name().unwrap().to_string_lossy()),
                    gavel::PluginSource::Builtin | gavel::PluginSource::Registry(_) => name,
                };
                println!("| {shown} | {label} | {} | {} | {} |", us(s.median), us(s.p90), us(s.p99));
            }
        }

        let host = host(Allocation::default());
        let correctness = host
            .load_builtins()
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.name() == "correctness")
            .unwrap();
        let judge = Judge::new(correctness, Settings::default());
        let rate = throughput(&host, &judge, &row, 20_000).await;
        println!(
            "\nThroughput, 20,000 concurrent judgments on {} cores: {rate:.0} judgments/s ({} per judgment per core)",
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            us(Duration::from_secs_f64(
                std::thread::available_parallelism().map_or(1, |n| n.get()) as f64 / rate
            ))
        );

        println!("\n## Start-up with every built-in judge, compiled code from the disk cache\n");
        let mut samples = Vec::new();
        for _ in 0..20 {
            let started = Instant::now();
            let host = host_for_startup();
            let plugins = host.load_builtins().await.unwrap();
            assert!(plugins.iter().all(Plugin::from_cache));
            samples.push(started.elapsed());
        }
        let s = stats(samples);
        println!("in-process (engine + 10 components + describe): median {:.1} ms, p90 {:.1} ms", ms(s.median), ms(s.p90));

        let gavel = env!("CARGO_BIN_EXE_gavel");
        let run = || {
            Command::new(gavel)
                .args(["judges", "list"])
                .env("GAVEL_CACHE_DIR", cache_dir())
                .current_dir(std::env::temp_dir())
                .output()
                .expect("run gavel")
        };
        assert!(run().status.success());
        let mut samples = Vec::new();
        for _ in 0..20 {
            let started = Instant::now();
            let output = run();
            samples.push(started.elapsed());
            assert!(output.status.success());
        }
        let s = stats(samples);
        println!("`gavel judges list` process: median {:.1} ms, p90 {:.1} ms", ms(s.median), ms(s.p90));
    });
}

fn host_for_startup() -> Host {
    Host::new(HostOptions {
        cache_dir: Some(cache_dir()),
        ..HostOptions::default()
    })
    .unwrap()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
