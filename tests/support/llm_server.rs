//! An OpenAI-compatible chat completions server on 127.0.0.1 whose answers
//! are scripted per test (usually per `X-Gavel-Judge`), recording every
//! request it gets. Besides OpenAI's route it serves Azure OpenAI's
//! (`/openai/deployments/NAME/chat/completions?api-version=...`) and
//! Databricks model serving's (`/serving-endpoints/NAME/invocations`), and
//! can answer one request at a time, queueing the rest, as llama.cpp does.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// When the request arrived.
    pub at: Instant,
    pub judge: Option<String>,
    pub run: Option<String>,
    pub authorization: Option<String>,
    /// The path the request was posted to, and its query.
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Recorded {
    /// Every message's content, joined.
    pub fn prompt(&self) -> String {
        self.messages()
            .iter()
            .map(|(_, content)| content.as_str())
            .collect::<Vec<_>>()
            .join("\n---\n")
    }

    pub fn messages(&self) -> Vec<(String, String)> {
        self.body["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                (
                    m["role"].as_str().unwrap_or_default().to_owned(),
                    m["content"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// `response_format.type`, if any.
    pub fn format(&self) -> Option<String> {
        self.body["response_format"]["type"]
            .as_str()
            .map(str::to_owned)
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// The last message: the row being judged.
    pub fn last_user(&self) -> String {
        self.messages()
            .last()
            .map(|(_, c)| c.clone())
            .unwrap_or_default()
    }
}

/// What the server answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A chat completion with this content.
    Content(String),
    /// An error status with this body.
    Status(u16, String),
    /// 429 Too Many Requests with `Retry-After: <seconds>`.
    RetryAfter(f64),
    /// A 200 whose body breaks off: the connection is dropped mid-response.
    Reset,
    /// A body that is not a chat completion.
    Raw(String),
    /// Another reply, after a delay.
    Delayed(Duration, Box<Reply>),
}

type Script = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

#[derive(Clone)]
struct Shared {
    requests: Arc<Mutex<Vec<Recorded>>>,
    script: Arc<Mutex<Script>>,
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    /// Answer one request at a time; the others wait their turn.
    one_at_a_time: Arc<AtomicBool>,
    turn: Arc<tokio::sync::Mutex<()>>,
}

pub struct TestLlm {
    port: u16,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl TestLlm {
    /// Starts the server; until scripted it answers every judge "yes".
    pub async fn start() -> TestLlm {
        let shared = Shared {
            requests: Arc::default(),
            script: Arc::new(Mutex::new(Arc::new(|_: &Recorded| {
                Reply::Content(super::verdict("yes", "Looks good."))
            }))),
            in_flight: Arc::default(),
            peak: Arc::default(),
            one_at_a_time: Arc::default(),
            turn: Arc::default(),
        };
        let app = Router::new()
            .route("/v1/chat/completions", post(complete))
            .route(
                "/openai/deployments/{deployment}/chat/completions",
                post(complete),
            )
            .route("/serving-endpoints/{name}/invocations", post(complete))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("local addr").port();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("test server");
        });
        TestLlm { port, shared, task }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    pub fn script(&self, script: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) {
        *self.shared.script.lock().unwrap() = Arc::new(script);
    }

    /// Answers `content` to every request.
    pub fn always(&self, content: &str) {
        let content = content.to_owned();
        self.script(move |_| Reply::Content(content.clone()));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.shared.requests.lock().unwrap().clear();
        self.shared.peak.store(0, Ordering::SeqCst);
    }

    /// Answers one request at a time, as a single-slot llama.cpp server
    /// does; the others queue (and are not counted in flight).
    pub fn one_at_a_time(&self) {
        self.shared.one_at_a_time.store(true, Ordering::SeqCst);
    }

    /// The server's root, for other routes than OpenAI's.
    pub fn root_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The most requests that were being answered at once.
    pub fn peak_in_flight(&self) -> usize {
        self.shared.peak.load(Ordering::SeqCst)
    }
}

impl Drop for TestLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Counts a request in flight while it lives.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn complete(
    State(shared): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _turn = if shared.one_at_a_time.load(Ordering::SeqCst) {
        Some(shared.turn.clone().lock_owned().await)
    } else {
        None
    };
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.peak.fetch_max(now, Ordering::SeqCst);
    let _in_flight = InFlight(shared.in_flight.clone());
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let recorded = Recorded {
        at: Instant::now(),
        judge: header("x-gavel-judge"),
        run: header("x-gavel-run"),
        authorization: header("authorization"),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers: headers.clone(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    shared.requests.lock().unwrap().push(recorded.clone());
    let script = shared.script.lock().unwrap().clone();
    let mut reply = script(&recorded);
    loop {
        match reply {
            Reply::Delayed(delay, inner) => {
                tokio::time::sleep(delay).await;
                reply = *inner;
            }
            Reply::Content(content) => {
                let prompt_tokens = recorded.prompt().len() as u64 / 4;
                let completion_tokens = content.len() as u64 / 4;
                return axum::Json(json!({
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "model": recorded.body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
                }))
                .into_response();
            }
            Reply::Status(status, body) => {
                let status = StatusCode::from_u16(status).expect("valid status");
                return (status, body).into_response();
            }
            Reply::Raw(body) => return (StatusCode::OK, body).into_response(),
            Reply::RetryAfter(seconds) => {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", seconds.to_string())],
                    "slow down",
                )
                    .into_response();
            }
            Reply::Reset => {
                let parts: Vec<Result<Bytes, std::io::Error>> = vec![
                    Ok(Bytes::from_static(b"{\"choices\": [{\"message\"")),
                    Err(std::io::Error::other("connection reset by the test server")),
                ];
                return Response::builder()
                    .header("content-type", "application/json")
                    .body(Body::from_stream(futures::stream::iter(parts)))
                    .expect("a valid response");
            }
        }
    }
}
