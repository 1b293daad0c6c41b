//! Evaluating the application itself: `gavel eval` calls a real agent (a
//! local HTTP server, or a child process speaking JSON lines) for rows
//! without a response, judges its answers and reports its latency and
//! tokens, also from saved MLflow traces.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};

use crate::support::{
    Recorded, Reply, TestLlm, gavel, read_metrics, read_results, verdict, workspace, write_jsonl,
};

fn trace_fixture() -> Value {
    let path = workspace().join("tests/fixtures/mlflow_trace.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The scripted agent, copied into `dir` so that its processes can be found
/// by path afterwards.
fn process_agent(dir: &Path) -> String {
    let script = dir.join("scripted_agent.py");
    std::fs::copy(workspace().join("tests/agents/scripted_agent.py"), &script).unwrap();
    let trace = workspace().join("tests/fixtures/mlflow_trace.json");
    format!("python3 {} {}", script.display(), trace.display())
}

/// Judges: groundedness is yes only when it sees the agent's chunks
/// (from its answer or from its trace's retriever); all else is yes.
fn judges(request: &Recorded) -> Reply {
    let prompt = request.last_user();
    let grounded = prompt.contains("AGENT-CHUNK") || prompt.contains("MLflow Tracking logs");
    match request.judge.as_deref() {
        Some("groundedness") if !grounded => Reply::Content(verdict("no", "No agent context.")),
        _ => Reply::Content(verdict("yes", "Fine.")),
    }
}

fn by_id(results: &[Map<String, Value>]) -> std::collections::HashMap<String, Map<String, Value>> {
    results
        .iter()
        .map(|r| (r["request_id"].as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

// --- An agent behind HTTP ----------------------------------------------------

/// What the test agent received.
#[derive(Debug, Clone)]
struct AgentCall {
    path: String,
    run: Option<String>,
    body: Value,
}

#[derive(Clone)]
enum AgentReply {
    Json(Value),
    Status(u16, String),
    Raw(String),
    Delayed(Duration, Box<AgentReply>),
}

type AgentScript = Arc<dyn Fn(&AgentCall, usize) -> AgentReply + Send + Sync>;

#[derive(Clone)]
struct AgentState {
    calls: Arc<Mutex<Vec<AgentCall>>>,
    script: AgentScript,
}

struct HttpAgent {
    port: u16,
    calls: Arc<Mutex<Vec<AgentCall>>>,
    task: tokio::task::JoinHandle<()>,
}

impl HttpAgent {
    /// `script` gets the call and how many calls with the same request id
    /// came before it.
    async fn start(
        script: impl Fn(&AgentCall, usize) -> AgentReply + Send + Sync + 'static,
    ) -> Self {
        let state = AgentState {
            calls: Arc::default(),
            script: Arc::new(script),
        };
        let app = Router::new()
            .route("/invoke", post(answer))
            .route("/v1/chat/completions", post(answer))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        HttpAgent {
            port,
            calls: state.calls,
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn calls(&self) -> Vec<AgentCall> {
        self.calls.lock().unwrap().clone()
    }
}

impl Drop for HttpAgent {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    State(state): State<AgentState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = AgentCall {
        path: uri.path().to_owned(),
        run: headers
            .get("x-gavel-run")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let before = {
        let mut calls = state.calls.lock().unwrap();
        let id = &call.body["request_id"];
        let before = calls.iter().filter(|c| &c.body["request_id"] == id).count();
        calls.push(call.clone());
        before
    };
    let mut reply = (state.script)(&call, before);
    loop {
        match reply {
            AgentReply::Delayed(delay, inner) => {
                tokio::time::sleep(delay).await;
                reply = *inner;
            }
            AgentReply::Json(value) => return axum::Json(value).into_response(),
            AgentReply::Status(status, body) => {
                return (StatusCode::from_u16(status).unwrap(), body).into_response();
            }
            AgentReply::Raw(body) => return body.into_response(),
        }
    }
}

/// The JSON agent: the answer format is picked by a keyword in the request.
fn json_agent(call: &AgentCall, before: usize) -> AgentReply {
    let id = call.body["request_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let question = call.body["request"].as_str().unwrap_or_default();
    let text = format!("Agent answer to {id}");
    let json = if question.contains("SLOW") {
        return AgentReply::Delayed(
            Duration::from_millis(300),
            Box::new(AgentReply::Json(json!(text))),
        );
    } else if question.contains("FLAKY") && before == 0 {
        return AgentReply::Status(503, "warming up".into());
    } else if question.contains("LIST") {
        json!([text, "second part"])
    } else if question.contains("CONTENT") {
        json!({"content": text})
    } else if question.contains("COMPLETION") {
        json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30},
        })
    } else if question.contains("TRACE") {
        json!({"response": text, "trace": trace_fixture()})
    } else {
        json!({
            "response": text,
            "retrieved_context": [{"content": format!("AGENT-CHUNK {id}"), "doc_uri": "doc_a"}],
            "usage": {"input_tokens": 100, "output_tokens": 20},
        })
    };
    AgentReply::Json(json)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_http_agent_answers_in_every_format_and_its_context_and_cost_are_reported() {
    let llm = TestLlm::start().await;
    llm.script(judges);
    let agent = HttpAgent::start(json_agent).await;
    let dir = tempfile::tempdir().unwrap();
    write_jsonl(
        &dir.path().join("set.jsonl"),
        &[
            json!({"request_id": "slow", "request": "SLOW What is MLflow?"}),
            json!({"request_id": "list", "request": "LIST What is MLflow?"}),
            json!({"request_id": "content", "request": "CONTENT What is MLflow?"}),
            json!({"request_id": "completion", "request": "COMPLETION What is MLflow?"}),
            json!({"request_id": "wrapped", "request": "WRAPPED What is MLflow?"}),
            json!({"request_id": "trace", "request": "TRACE What is MLflow?"}),
            json!({"request_id": "flaky", "request": "FLAKY What is MLflow?"}),
            json!({"request_id": "given", "request": "What is MLflow?", "response": "A given answer."}),
        ],
    );
    let url = llm.base_url();
    let invoke = agent.url("/invoke");
    let args = [
        "eval",
        "set.jsonl",
        "--judge-base-url",
        &url,
        "--agent",
        &invoke,
        "--agent-format",
        "json",
    ];
    let out = gavel(dir.path(), &[&args[..], &["--out", "run"]].concat(), &[]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("0 agent errors"), "{}", out.stdout);
    let results = by_id(&read_results(&dir.path().join("run")));

    // Every answer format became the response that was judged.
    let response = |id: &str| results[id]["response"].as_str().unwrap().to_owned();
    assert_eq!(response("slow"), "Agent answer to slow");
    assert_eq!(response("list"), "Agent answer to list\nsecond part");
    assert_eq!(response("content"), "Agent answer to content");
    assert_eq!(response("completion"), "Agent answer to completion");
    assert_eq!(response("wrapped"), "Agent answer to wrapped");
    assert_eq!(
        response("flaky"),
        "Agent answer to flaky",
        "retried after a 503"
    );
    assert_eq!(response("given"), "A given answer.");
    let judged_responses: Vec<String> = llm
        .requests()
        .iter()
        .filter(|r| r.judge.as_deref() == Some("relevance_to_query"))
        .map(|r| r.last_user())
        .collect();
    for id in [
        "slow",
        "list",
        "content",
        "completion",
        "wrapped",
        "trace",
        "flaky",
    ] {
        let text = format!("Agent answer to {id}");
        assert!(
            judged_responses.iter().any(|p| p.contains(&text)),
            "{id} was judged"
        );
    }

    // Retrieved context from the answer, and from the trace's retriever.
    assert_eq!(
        results["wrapped"]["retrieved_context"],
        json!([{"content": "AGENT-CHUNK wrapped", "doc_uri": "doc_a"}])
    );
    assert_eq!(
        results["trace"]["retrieved_context"],
        json!([
            {"content": "MLflow is an open-source platform for the machine learning lifecycle.", "doc_uri": "docs/mlflow.md"},
            {"content": "MLflow Tracking logs parameters, metrics and artifacts.", "doc_uri": "docs/tracking.md"},
        ]),
        "top-level retriever spans only"
    );
    for id in ["wrapped", "trace"] {
        let row = &results[id];
        assert_eq!(
            row["response/llm_judged/groundedness/rating"], "yes",
            "{id}"
        );
        assert!(
            row["retrieval/llm_judged/chunk_relevance/ratings"].is_array(),
            "{id}"
        );
    }
    assert!(!results["list"].contains_key("response/llm_judged/groundedness/rating"));
    assert_eq!(
        results["list"]["skipped_judges"]["groundedness"],
        "needs retrieved_context"
    );

    // Tokens from the answer's usage, or summed over the trace's LLM spans
    // (the flaky row's answer carries usage as `wrapped`'s does).
    let tokens = |id: &str| {
        let row = &results[id];
        [
            row.get("agent/total_token_count").cloned(),
            row.get("agent/total_input_token_count").cloned(),
            row.get("agent/total_output_token_count").cloned(),
        ]
    };
    assert_eq!(
        tokens("completion"),
        [Some(json!(30)), Some(json!(21)), Some(json!(9))]
    );
    assert_eq!(
        tokens("wrapped"),
        [Some(json!(120)), Some(json!(100)), Some(json!(20))]
    );
    assert_eq!(
        tokens("trace"),
        [Some(json!(200)), Some(json!(160)), Some(json!(40))]
    );
    assert_eq!(tokens("list"), [None, None, None]);
    assert_eq!(tokens("given"), [None, None, None]);

    // Latency: the wall time of the call that answered.
    let latency = |id: &str| results[id]["agent/latency_seconds"].as_f64().unwrap();
    assert!((0.3..5.0).contains(&latency("slow")), "{}", latency("slow"));
    assert!(latency("list") < 0.3);
    assert!(
        !results["given"].contains_key("agent/latency_seconds"),
        "not sent"
    );

    let metrics = read_metrics(&dir.path().join("run"));
    let close = |metric: &str, expected: f64| {
        let value = metrics[metric].as_f64().unwrap();
        assert!(
            (value - expected).abs() < 1e-9,
            "{metric} = {value}, not {expected}"
        );
    };
    close(
        "agent/total_token_count/average",
        (30.0 + 120.0 + 200.0 + 120.0) / 4.0,
    );
    close(
        "agent/input_token_count/average",
        (21.0 + 100.0 + 160.0 + 100.0) / 4.0,
    );
    close(
        "agent/output_token_count/average",
        (9.0 + 20.0 + 40.0 + 20.0) / 4.0,
    );
    let latencies: f64 = [
        "slow",
        "list",
        "content",
        "completion",
        "wrapped",
        "trace",
        "flaky",
    ]
    .iter()
    .map(|id| latency(id))
    .sum();
    close("agent/latency_seconds/average", latencies / 7.0);
    assert_eq!(metrics["agent/error_count"], 0);

    // The request object, with the run's id; the row with a response was
    // not sent; the flaky one twice.
    let calls = agent.calls();
    assert_eq!(calls.len(), 8, "{calls:?}");
    let run: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run/run.json")).unwrap())
            .unwrap();
    let slow = calls
        .iter()
        .find(|c| c.body["request_id"] == "slow")
        .unwrap();
    assert_eq!(slow.path, "/invoke");
    assert_eq!(slow.run.as_deref(), run["run_id"].as_str());
    assert_eq!(
        slow.body,
        json!({"request_id": "slow", "request": "SLOW What is MLflow?",
               "messages": [{"role": "user", "content": "SLOW What is MLflow?"}]})
    );
    assert_eq!(
        run["agent"],
        json!({"url": invoke, "format": "json", "model": null, "regenerate": false})
    );

    // --regenerate asks the agent for rows that have a response, too.
    let out = gavel(
        dir.path(),
        &[&args[..], &["--out", "again", "--regenerate"]].concat(),
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let again = by_id(&read_results(&dir.path().join("again")));
    assert_eq!(again["given"]["response"], "Agent answer to given");
    assert!(again["given"]["agent/latency_seconds"].is_number());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chat_agent_gets_the_conversation_and_failed_calls_mark_their_rows() {
    let llm = TestLlm::start().await;
    let agent = HttpAgent::start(|call, _| {
        let last = call.body["messages"]
            .as_array()
            .and_then(|m| m.last())
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default()
            .to_owned();
        let completion = |text: &str| {
            AgentReply::Json(json!({
                "id": "chatcmpl-1", "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": 40, "completion_tokens": 8, "total_tokens": 48},
            }))
        };
        if last.contains("HANG") {
            AgentReply::Delayed(Duration::from_secs(30), Box::new(completion("late")))
        } else if last.contains("REFUSE") {
            AgentReply::Status(400, r#"{"error": "bad request"}"#.into())
        } else if last.contains("GARBAGE") {
            AgentReply::Raw("<html>Internal proxy page</html>".into())
        } else if last.contains("EMPTY") {
            AgentReply::Json(json!({"error": {"message": "the model is overloaded"}}))
        } else {
            completion(&format!("Chat answer to: {last}"))
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("gavel.toml"), "[agent]\nmax_retries = 1\n").unwrap();
    write_jsonl(
        &dir.path().join("set.jsonl"),
        &[
            json!({"request_id": "chat", "request": {"messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "What is Spark?"},
            ]}}),
            json!({"request_id": "hang", "request": "HANG please"}),
            json!({"request_id": "refuse", "request": "REFUSE please"}),
            json!({"request_id": "garbage", "request": "GARBAGE please"}),
            json!({"request_id": "error", "request": "EMPTY please"}),
            json!({"request_id": "plain", "request": "What is Delta?"}),
        ],
    );
    let url = llm.base_url();
    let base = agent.url("/v1");
    let out = gavel(
        dir.path(),
        &[
            "eval",
            "set.jsonl",
            "--out",
            "run",
            "--judge-base-url",
            &url,
            "--agent",
            &base,
            "--agent-model",
            "my-agent",
            "--agent-timeout",
            "0.5",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("4 agent errors"), "{}", out.stdout);
    let results = by_id(&read_results(&dir.path().join("run")));

    let calls = agent.calls();
    let chat = calls
        .iter()
        .find(|c| c.body["messages"].as_array().is_some_and(|m| m.len() == 4))
        .expect("the conversation was sent whole");
    assert_eq!(chat.path, "/v1/chat/completions");
    assert_eq!(chat.body["model"], "my-agent");
    assert_eq!(
        chat.body["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    assert_eq!(
        results["chat"]["response"],
        "Chat answer to: What is Spark?"
    );
    assert_eq!(results["chat"]["agent/total_token_count"], 48);
    assert_eq!(results["chat"]["response/llm_judged/safety/rating"], "yes");

    let says = |id: &str, needle: &str| {
        let message = results[id]["agent/error_message"].as_str().unwrap();
        assert!(message.contains(needle), "{id}: {message}");
    };
    says("hang", "gave no answer within 0.5 s (after 1 retries)");
    says("refuse", "answered HTTP 400 Bad Request");
    says("garbage", "not JSON");
    says("garbage", "Internal proxy page");
    says("error", "the model is overloaded");
    for id in ["hang", "refuse", "garbage", "error"] {
        let row = &results[id];
        assert!(
            !row.contains_key("response/llm_judged/safety/rating"),
            "{id} not judged"
        );
        assert!(
            !row.contains_key("response/overall_assessment/rating"),
            "{id}"
        );
    }
    // Timeouts are retried; answers that are wrong are not.
    let sent = |id: &str| {
        calls
            .iter()
            .filter(|c| c.body["messages"].to_string().contains(id))
            .count()
    };
    assert_eq!(sent("HANG"), 2);
    assert_eq!(sent("REFUSE"), 1);
    assert_eq!(sent("GARBAGE"), 1);
    assert_eq!(
        results["plain"]["response"],
        "Chat answer to: What is Delta?"
    );

    let metrics = read_metrics(&dir.path().join("run"));
    assert_eq!(metrics["agent/error_count"], 4);
    assert_eq!(metrics["agent/total_token_count/average"], 48.0);
    assert_eq!(
        metrics["response/llm_judged/safety/rating/percentage"], 1.0,
        "rows without a response are not counted as judged"
    );
}

// --- An agent as a child process ---------------------------------------------

/// Lines of `ps` naming `needle`: processes still running.
fn processes_with(needle: &Path) -> Vec<String> {
    let ps = std::process::Command::new("ps")
        .args(["-eo", "pid,args"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&ps.stdout)
        .lines()
        .filter(|l| l.contains(&*needle.to_string_lossy()) && !l.contains(" ps "))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_process_agent_is_restarted_after_crashes_hangs_and_garbage() {
    let llm = TestLlm::start().await;
    llm.script(judges);
    let dir = tempfile::tempdir().unwrap();
    let command = process_agent(dir.path());
    std::fs::write(dir.path().join("gavel.toml"), "[agent]\nmax_retries = 1\n").unwrap();
    let mut rows = Vec::new();
    for (i, kind) in ["CRASH", "HANG", "GARBAGE"].iter().enumerate() {
        rows.push(json!({"request_id": format!("ok{i}"), "request": format!("Question {i}")}));
        rows.push(json!({"request_id": kind.to_lowercase(), "request": format!("{kind} now")}));
    }
    rows.push(json!({"request_id": "string", "request": "STRING please"}));
    rows.push(json!({"request_id": "completion", "request": "COMPLETION please"}));
    rows.push(json!({"request_id": "trace", "request": "TRACE please"}));
    write_jsonl(&dir.path().join("set.jsonl"), &rows);
    let url = llm.base_url();
    let out = gavel(
        dir.path(),
        &[
            "eval",
            "set.jsonl",
            "--out",
            "run",
            "--judge-base-url",
            &url,
            "--agent-cmd",
            &command,
            "--agent-timeout",
            "1",
            "--agent-concurrency",
            "2",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("9 of 9 rows (0 invalid, 3 agent errors)"),
        "{}",
        out.stdout
    );
    let results = by_id(&read_results(&dir.path().join("run")));
    let error = |id: &str| {
        results[id]["agent/error_message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let crash = error("crash");
    assert!(
        crash.contains("exited (exit status: 3) before answering"),
        "{crash}"
    );
    assert!(
        crash.contains("boom: the agent cannot handle this request"),
        "{crash}"
    );
    assert!(crash.contains("(after 1 retries)"), "{crash}");
    assert!(
        error("hang").contains("gave no answer within 1 s"),
        "{}",
        error("hang")
    );
    let garbage = error("garbage");
    assert!(
        garbage.contains("answered a line that is not JSON"),
        "{garbage}"
    );
    assert!(garbage.contains("Sure! Here is my answer: 42"), "{garbage}");

    // Every other row was answered, by restarted processes where needed,
    // and judged on the agent's chunks.
    for i in 0..3 {
        let row = &results[&format!("ok{i}")];
        assert_eq!(row["response"], format!("Agent answer to ok{i}"));
        assert_eq!(row["response/llm_judged/groundedness/rating"], "yes");
        assert_eq!(row["agent/total_token_count"], 120);
        assert!(row["agent/latency_seconds"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(results["string"]["response"], "Agent answer to string");
    assert_eq!(results["completion"]["agent/total_input_token_count"], 21);
    assert_eq!(results["trace"]["agent/total_token_count"], 200);
    assert_eq!(
        results["trace"]["response/llm_judged/groundedness/rating"],
        "yes"
    );

    let metrics = read_metrics(&dir.path().join("run"));
    assert_eq!(metrics["agent/error_count"], 3);
    assert_eq!(
        metrics["response/overall_assessment/rating/percentage"],
        1.0
    );
    // The hung process and its siblings were all ended.
    let left = processes_with(dir.path());
    assert!(left.is_empty(), "agent processes left running: {left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_that_cannot_start_stops_the_run_and_resume_finishes_it() {
    let llm = TestLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("gavel.toml"), "[agent]\nmax_retries = 0\n").unwrap();
    let rows: Vec<Value> = (0..12)
        .map(|i| json!({"request_id": format!("r{i}"), "request": format!("Question {i}")}))
        .collect();
    write_jsonl(&dir.path().join("set.jsonl"), &rows);
    let script = dir.path().join("late_agent.py");
    let command = format!("python3 {}", script.display());
    let url = llm.base_url();
    let args = [
        "eval",
        "set.jsonl",
        "--out",
        "run",
        "--judge-base-url",
        &url,
        "--agent-cmd",
        &command,
        "--agent-concurrency",
        "2",
    ];
    let out = gavel(dir.path(), &args, &[]).await;
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("is down: 5 calls in a row failed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("can't open file"),
        "python's reason: {}",
        out.stderr
    );
    assert!(out.stderr.contains("--resume"), "{}", out.stderr);
    assert_eq!(
        read_results(&dir.path().join("run")).len(),
        0,
        "no row is kept as failed"
    );
    assert!(llm.requests().is_empty(), "nothing was judged");

    std::fs::copy(workspace().join("tests/agents/scripted_agent.py"), &script).unwrap();
    let out = gavel(dir.path(), &[&args[..], &["--resume"]].concat(), &[]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let results = read_results(&dir.path().join("run"));
    assert_eq!(results.len(), 12);
    assert!(
        results
            .iter()
            .all(|r| r["response"].as_str().unwrap().starts_with("Agent answer"))
    );
}

// --- Saved traces --------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn tokens_latency_and_context_come_from_saved_mlflow_traces() {
    let dir = tempfile::tempdir().unwrap();
    let trace = trace_fixture();
    write_jsonl(
        &dir.path().join("set.jsonl"),
        &[
            json!({"request_id": "object", "request": "What is MLflow?", "response": "MLflow manages the ML lifecycle.", "trace": trace}),
            json!({"request_id": "text", "request": "What is MLflow?", "response": "MLflow manages the ML lifecycle.", "trace": trace.to_string(),
                   "retrieved_context": [{"content": "Own chunk.", "doc_uri": "own"}]}),
            json!({"request_id": "none", "request": "What is MLflow?", "response": "MLflow."}),
        ],
    );
    let out = gavel(
        dir.path(),
        &[
            "eval",
            "set.jsonl",
            "--out",
            "run",
            "--judges",
            "token_count",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let results = by_id(&read_results(&dir.path().join("run")));
    for id in ["object", "text"] {
        let row = &results[id];
        assert_eq!(
            row["agent/latency_seconds"], 1.25,
            "the root span's duration"
        );
        assert_eq!(
            row["agent/total_token_count"], 200,
            "CHAT_MODEL 150 (its LLM child not again) + LLM 50"
        );
        assert_eq!(row["agent/total_input_token_count"], 160);
        assert_eq!(row["agent/total_output_token_count"], 40);
    }
    assert_eq!(
        results["object"]["retrieved_context"][1]["doc_uri"],
        "docs/tracking.md"
    );
    assert_eq!(
        results["text"]["retrieved_context"],
        json!([{"content": "Own chunk.", "doc_uri": "own"}]),
        "a row's own context is kept"
    );
    assert!(!results["none"].contains_key("agent/latency_seconds"));
    let metrics = read_metrics(&dir.path().join("run"));
    assert_eq!(metrics["agent/latency_seconds/average"], 1.25);
    assert_eq!(metrics["agent/total_token_count/average"], 200.0);
    assert_eq!(metrics["agent/input_token_count/average"], 160.0);
    assert_eq!(metrics["agent/output_token_count/average"], 40.0);
    assert!(
        out.stdout.contains("agent/latency_seconds/average"),
        "{}",
        out.stdout
    );

    // A trace that cannot be read is bad input, named precisely.
    let mut broken = trace_fixture();
    broken["data"]["spans"][3]["start_time_unix_nano"] = json!("yesterday");
    write_jsonl(
        &dir.path().join("broken.jsonl"),
        &[
            json!({"request": "q", "response": "a"}),
            json!({"request": "q", "response": "a", "trace": broken}),
        ],
    );
    let out = gavel(
        dir.path(),
        &["eval", "broken.jsonl", "--judges", "token_count"],
        &[],
    )
    .await;
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("broken.jsonl, line 2, field `trace.data.spans[3].start_time_unix_nano`: expected nanoseconds since 1970"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn agent_options_are_checked_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    write_jsonl(&dir.path().join("set.jsonl"), &[json!({"request": "q"})]);
    let cases: [(&[&str], &str); 4] = [
        (
            &["--regenerate"],
            "--regenerate asks an agent for new responses, but no agent is given",
        ),
        (
            &["--agent", "localhost:8000"],
            "the agent URL must start with http:// or https://",
        ),
        (
            &["--agent-cmd", "true", "--agent-format", "json"],
            "--agent-format applies to --agent URL",
        ),
        (
            &["--agent", "http://127.0.0.1:9", "--agent-timeout", "0"],
            "the agent timeout must be a positive number",
        ),
    ];
    for (flags, message) in cases {
        let args = [&["eval", "set.jsonl", "--judges", "token_count"][..], flags].concat();
        let out = gavel(dir.path(), &args, &[]).await;
        assert_eq!(out.code, 2, "{flags:?}: {}", out.stderr);
        assert!(out.stderr.contains(message), "{flags:?}: {}", out.stderr);
    }
}
