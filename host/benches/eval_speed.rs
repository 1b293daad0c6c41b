//! `gavel eval` against an endpoint with a fixed latency L that serves at
//! most C requests at once, as the `gavel` process sees it (start-up
//! included). `cargo bench -p gavel --bench eval_speed` prints:
//! - 1,000 rows x 5 judges at L = 200 ms, C = 64: wall time against the
//!   ideal ceil(calls / C) x L (target: within 10%, at most +0.5 s),
//!   peak requests in flight, host CPU per judgment, peak memory;
//! - 1,000 rows x 1 judge at L = 200 ms, C = 32: the peers' benchmark shape;
//! - 100,000 rows x 1 judge with an instant endpoint: peak memory and
//!   judgments per second;
//! - 1,000 rows answered by an HTTP agent (L = 200 ms, C = 32) and judged by
//!   one judge (L = 200 ms, C = 32): the ideal is ceil(1000 / 32) x L + L.
//!
//! `GAVEL_BENCH=speed|peers|agent|memory` runs one of them.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

#[derive(Clone)]
struct Server {
    latency: Duration,
    slots: Arc<Semaphore>,
    requests: Arc<AtomicUsize>,
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

async fn answer(State(server): State<Server>, body: String) -> axum::Json<Value> {
    server.requests.fetch_add(1, Ordering::Relaxed);
    let now = server.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    server.peak.fetch_max(now, Ordering::SeqCst);
    {
        // Requests beyond C wait their turn, as behind a real rate limit.
        let _slot = server.slots.acquire().await.expect("open");
        tokio::time::sleep(server.latency).await;
    }
    server.in_flight.fetch_sub(1, Ordering::SeqCst);
    // Verdicts vary with the prompt, so the run is not all "yes".
    let yes = !body.len().is_multiple_of(3);
    let content =
        json!({"rationale": "A benchmark verdict.", "result": if yes { "yes" } else { "no" }})
            .to_string();
    axum::Json(json!({
        "choices": [{"message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": body.len() / 4, "completion_tokens": 12},
    }))
}

/// The application under evaluation: answers the request object with a
/// response, retrieved context and its usage.
async fn agent_answer(State(server): State<Server>, body: String) -> axum::Json<Value> {
    server.requests.fetch_add(1, Ordering::Relaxed);
    {
        let _slot = server.slots.acquire().await.expect("open");
        tokio::time::sleep(server.latency).await;
    }
    let request: Value = serde_json::from_str(&body).unwrap_or_default();
    axum::Json(json!({
        "response": format!("The agent's answer to {}", request["request_id"]),
        "retrieved_context": [{"content": "Release notes: faster start-up.", "doc_uri": "notes.md"}],
        "usage": {"prompt_tokens": 300, "completion_tokens": 40},
    }))
}

async fn start(latency: Duration, concurrency: usize) -> (String, Server) {
    let server = Server {
        latency,
        slots: Arc::new(Semaphore::new(concurrency)),
        requests: Arc::default(),
        in_flight: Arc::default(),
        peak: Arc::default(),
    };
    let app = Router::new()
        .route("/v1/chat/completions", post(answer))
        .route("/agent", post(agent_answer))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, server)
}

/// Rows with responses, or (for an agent to answer) without.
fn write_rows(path: &Path, rows: usize, with_responses: bool) {
    let mut text = String::with_capacity(rows * 400);
    for i in 0..rows {
        let mut row = json!({
            "request_id": format!("q{i}"),
            "request": format!("Question {i}: what does the {i}th release of the product add?"),
            "response": format!("Release {i} adds faster start-up and a new storage engine."),
            "expected_response": format!("Release {i} adds faster start-up."),
            "retrieved_context": [{"content": format!("Release notes {i}: faster start-up; new storage engine."), "doc_uri": format!("notes/{i}.md")}],
            "guidelines": ["Answer in one sentence"],
        });
        if !with_responses {
            row["response"] = Value::Null;
            row["retrieved_context"] = Value::Null;
        }
        writeln!(text, "{row}").unwrap();
    }
    std::fs::write(path, text).unwrap();
}

struct Measured {
    wall: f64,
    cpu: f64,
    peak_rss_mb: f64,
    stdout: String,
}

/// Runs `gavel eval` under GNU time.
fn run_gavel(dir: &Path, judges: &str, extra: &[String]) -> Measured {
    let times = dir.join("time.txt");
    let output = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%e %U %S %M")
        .arg("-o")
        .arg(&times)
        .arg(env!("CARGO_BIN_EXE_gavel"))
        .args(["eval", "rows.jsonl", "--judges", judges, "--no-cache"])
        .args(extra)
        .arg("--out")
        .arg(dir.join(format!("run-{}", Instant::now().elapsed().as_nanos())))
        .current_dir(dir)
        .env(
            "GAVEL_CACHE_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-cache"),
        )
        .output()
        .expect("run gavel under /usr/bin/time");
    assert!(
        output.status.success(),
        "gavel failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&times).unwrap();
    let fields: Vec<f64> = text
        .split_whitespace()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(|f| f.parse().unwrap())
        .collect();
    Measured {
        wall: fields[0],
        cpu: fields[1] + fields[2],
        peak_rss_mb: fields[3] / 1024.0,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
    }
}

/// With `agent`, an agent with the same latency and concurrency answers
/// every row first: rows flow through both, so the ideal is one stage's
/// time plus one latency.
async fn scenario(
    name: &str,
    rows: usize,
    judges: &str,
    latency_ms: u64,
    concurrency: usize,
    agent: bool,
) {
    let dir = tempfile::tempdir().unwrap();
    write_rows(&dir.path().join("rows.jsonl"), rows, !agent);
    let (url, server) = start(Duration::from_millis(latency_ms), concurrency).await;
    let (agent_url, agent_server) = start(Duration::from_millis(latency_ms), concurrency).await;
    let extra = if agent {
        vec![
            "--agent".to_owned(),
            agent_url.replace("/v1", "/agent"),
            "--agent-format".to_owned(),
            "json".to_owned(),
            "--agent-concurrency".to_owned(),
            concurrency.to_string(),
        ]
    } else {
        Vec::new()
    };
    std::fs::write(
        dir.path().join("gavel.toml"),
        format!("[endpoints.judge]\nbase_url = {url:?}\nmodel = \"bench\"\nmax_concurrency = {concurrency}\n"),
    )
    .unwrap();
    let measured = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        let judges = judges.to_owned();
        move || run_gavel(&dir, &judges, &extra)
    })
    .await
    .unwrap();
    let calls = server.requests.load(Ordering::Relaxed);
    let judgments = rows * judges.split(',').count();
    assert_eq!(
        calls, judgments,
        "one call per judgment:\n{}",
        measured.stdout
    );
    let agent_calls = agent_server.requests.load(Ordering::Relaxed);
    assert_eq!(
        agent_calls,
        if agent { rows } else { 0 },
        "one agent call per row"
    );
    let mut ideal = (calls as f64 / concurrency as f64).ceil() * latency_ms as f64 / 1e3;
    if agent {
        ideal += latency_ms as f64 / 1e3;
    }
    println!(
        "### {name}: {rows} rows x {} judges = {calls} calls{}, L = {latency_ms} ms, C = {concurrency}\n",
        judges.split(',').count(),
        if agent {
            format!(" after {agent_calls} agent calls")
        } else {
            String::new()
        },
    );
    println!(
        "| wall s | ideal s | wall - ideal | wall / ideal | peak in flight | CPU ms / judgment | peak RSS MB | judgments / s |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| {:.2} | {:.2} | {:+.2} | {:.3} | {} | {:.3} | {:.1} | {:.0} |\n",
        measured.wall,
        ideal,
        measured.wall - ideal,
        if ideal > 0.0 {
            measured.wall / ideal
        } else {
            f64::NAN
        },
        server.peak.load(Ordering::SeqCst),
        measured.cpu * 1e3 / judgments as f64,
        measured.peak_rss_mb,
        judgments as f64 / measured.wall
    );
}

fn main() {
    let which = std::env::var("GAVEL_BENCH").unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let five = "correctness,groundedness,relevance_to_query,safety,guideline_adherence";
        if which.is_empty() || which == "speed" {
            scenario("speed", 1000, five, 200, 64, false).await;
        }
        if which.is_empty() || which == "peers" {
            scenario("peers' shape", 1000, "correctness", 200, 32, false).await;
        }
        if which.is_empty() || which == "agent" {
            scenario("agent", 1000, "correctness", 200, 32, true).await;
        }
        if which.is_empty() || which == "memory" {
            scenario("memory", 100_000, "safety", 0, 64, false).await;
        }
    });
}
