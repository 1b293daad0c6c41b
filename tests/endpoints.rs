//! The judge LLM servers people run, as the test server imitates them: one
//! that refuses `json_schema` with a 500 and honours `json_object` with a
//! schema (llama.cpp's Python server), one that answers one request at a
//! time, Azure OpenAI, Databricks model serving, a gateway wanting headers;
//! and `gavel endpoints check`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gavel::runtime::LimitOverrides;
use gavel::runtime::llm::{Endpoint, LlmClient, OpenAiClient, StructuredOutput};
use gavel::{Host, HostOptions, Rating};
use serde_json::{Value, json};

use crate::support::{self, Recorded, Reply, TestLlm};

/// What llama-cpp-python's server answers to `json_schema`.
const LLAMA_REFUSAL: &str = r#"{"error":{"message":"[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), 'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', 'ctx': {'expected': \"'text' or 'json_object'\"}}]","type":"internal_server_error","param":null,"code":null}}"#;

/// Refuses `json_schema` with a 500; answers `json_object` only when it
/// carries the schema, and plain requests with prose around the JSON.
fn llama_like(request: &Recorded) -> Reply {
    match request.format().as_deref() {
        Some("json_schema") => Reply::Status(500, LLAMA_REFUSAL.into()),
        Some("json_object") if request.body["response_format"]["schema"].is_object() => {
            let schema = &request.body["response_format"]["schema"];
            if schema["properties"].get("score").is_some() {
                Reply::Content(support::score(4, "Constrained by the schema."))
            } else {
                Reply::Content(support::verdict("yes", "Constrained by the schema."))
            }
        }
        Some(other) => Reply::Status(400, format!("unexpected format {other}")),
        None => Reply::Content(format!(
            "Sure. {}",
            support::verdict("yes", "Asked in the prompt.")
        )),
    }
}

fn host_where(llm: &TestLlm, configure: impl FnOnce(&mut Endpoint)) -> (Host, Arc<OpenAiClient>) {
    let mut endpoint = support::endpoint(llm);
    configure(&mut endpoint);
    let client = Arc::new(
        OpenAiClient::new([("judge".to_owned(), endpoint)], "test-run").expect("HTTP client"),
    );
    let host = Host::new(HostOptions {
        cache_dir: Some(support::cache_dir()),
        llm: client.clone(),
        ..HostOptions::default()
    })
    .expect("host");
    (host, client)
}

fn safe_row() -> gavel::Row {
    support::row(json!({"request": "Hi", "response": "Hello!"}))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_with_a_500_falls_back_to_json_object_and_never_counts_as_an_outage() {
    let llm = TestLlm::start().await;
    llm.script(llama_like);
    // One failure would declare the endpoint down: refusals must not count.
    let (host, client) = host_where(&llm, |e| {
        e.failures_before_stop = 1;
        e.max_retries = 3;
    });
    let judge = support::builtin_judge(&host, "safety").await;
    let row = safe_row();
    let evaluations = futures::future::join_all((0..6).map(|_| host.judge(&judge, &row))).await;
    for outcome in evaluations {
        assert_eq!(outcome.judgment.unwrap().rating, Rating::Yes);
    }
    assert_eq!(client.halted(), None);
    assert_eq!(
        client.structured_output(),
        [("judge".to_owned(), StructuredOutput::JsonObject)]
    );
    let requests = llm.requests();
    let schema_asks = requests
        .iter()
        .filter(|r| r.format().as_deref() == Some("json_schema"))
        .count();
    // Only the first wave, in flight before the first refusal came back,
    // asked with json_schema; a refusal is not retried as such.
    assert!((1..=6).contains(&schema_asks), "{schema_asks}");
    assert_eq!(requests.len(), 6 + schema_asks);
    // Later judgments go straight to json_object.
    llm.clear();
    host.judge(&judge, &row).await.judgment.unwrap();
    let formats: Vec<_> = llm.requests().iter().map(Recorded::format).collect();
    assert_eq!(formats, [Some("json_object".to_owned())]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forced_mode_is_used_as_configured_and_a_refusal_of_it_is_explained() {
    let llm = TestLlm::start().await;
    llm.script(llama_like);
    for (mode, expected) in [
        (StructuredOutput::Off, None),
        (StructuredOutput::JsonObject, Some("json_object")),
    ] {
        llm.clear();
        let (host, _) = host_where(&llm, |e| e.structured_output = mode);
        let judge = support::builtin_judge(&host, "safety").await;
        assert_eq!(
            host.judge(&judge, &safe_row())
                .await
                .judgment
                .unwrap()
                .rating,
            Rating::Yes
        );
        let formats: Vec<_> = llm.requests().iter().map(Recorded::format).collect();
        assert_eq!(formats, [expected.map(str::to_owned)], "{mode}");
    }

    llm.clear();
    let (host, client) = host_where(&llm, |e| {
        e.structured_output = StructuredOutput::JsonSchema;
        e.failures_before_stop = 1;
    });
    let judge = support::builtin_judge(&host, "safety").await;
    for _ in 0..3 {
        let failure = host
            .judge(&judge, &safe_row())
            .await
            .judgment
            .unwrap_err()
            .to_string();
        assert!(
            failure.contains(
                "endpoint 'judge' refuses structured output json_schema (`structured_output = \"json_schema\"` in [endpoints.judge]; \"auto\" falls back): HTTP 500"
            ),
            "{failure}"
        );
    }
    assert_eq!(client.halted(), None, "a refusal is not an outage");
    assert_eq!(llm.requests().len(), 3, "refusals are not retried");
}

#[tokio::test(flavor = "multi_thread")]
async fn waiting_in_a_one_at_a_time_servers_queue_is_not_judge_time() {
    let llm = TestLlm::start().await;
    llm.one_at_a_time();
    llm.script(|_| {
        Reply::Delayed(
            Duration::from_millis(250),
            Box::new(Reply::Content(support::verdict("yes", "Slow but sure."))),
        )
    });
    let (host, _) = host_where(&llm, |e| e.max_concurrency = 8);
    let plugin = support::builtin(&host, "safety").await;
    let judge = support::judge_with_limits(
        &host,
        plugin,
        LimitOverrides {
            wall_secs: Some(0.5),
            ..Default::default()
        },
    );
    let row = safe_row();
    let started = Instant::now();
    let evaluations = futures::future::join_all((0..8).map(|_| host.judge(&judge, &row))).await;
    // Eight answers one after another: the last judgment waited ~2 s, four
    // times its wall-clock limit, and still is a verdict.
    assert!(started.elapsed() >= Duration::from_millis(1900));
    assert_eq!(llm.peak_in_flight(), 1);
    let slowest = evaluations.iter().map(|e| e.elapsed).max().unwrap();
    assert!(slowest >= Duration::from_millis(1500), "{slowest:?}");
    for outcome in evaluations {
        assert_eq!(outcome.judgment.unwrap().rating, Rating::Yes);
    }
}

/// Runs `gavel judge safety` with `toml` as gavel.toml.
async fn judge_with_config(toml: &str, env: &[(&str, &str)]) -> support::GavelOutput {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("gavel.toml"), toml).unwrap();
    support::gavel(
        dir.path(),
        &[
            "judge",
            "safety",
            "--request",
            "Hi",
            "--response",
            "Hello!",
            "--no-cache",
        ],
        env,
    )
    .await
}

/// Runs `gavel judge safety` with `toml` as gavel.toml and `env`; it must
/// succeed. The one request the server got, which leaves no secret behind
/// in gavel's output.
async fn the_request_with(llm: &TestLlm, toml: &str, env: &[(&str, &str)]) -> Recorded {
    llm.clear();
    let out = judge_with_config(toml, env).await;
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("secret") && !out.stderr.contains("secret"));
    let mut requests = llm.requests();
    assert_eq!(requests.len(), 1);
    requests.remove(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn azure_databricks_and_gateways_get_their_routes_keys_and_headers() {
    let llm = TestLlm::start().await;
    let root = llm.root_url();

    let azure = format!(
        r#"[endpoints.judge]
kind = "azure"
base_url = "{root}/openai/deployments/gpt-4o-mini"
api_version = "2024-10-21"
api_key_env = "AZURE_OPENAI_API_KEY"
"#
    );
    let request = the_request_with(&llm, &azure, &[("AZURE_OPENAI_API_KEY", "az-secret")]).await;
    assert_eq!(
        request.path,
        "/openai/deployments/gpt-4o-mini/chat/completions"
    );
    assert_eq!(request.query.as_deref(), Some("api-version=2024-10-21"));
    assert_eq!(request.header("api-key").as_deref(), Some("az-secret"));
    assert_eq!(request.authorization, None);
    assert!(
        request.body.get("model").is_none(),
        "the deployment names it"
    );

    let databricks = format!(
        r#"[endpoints.judge]
kind = "databricks"
base_url = "{root}/serving-endpoints"
model = "databricks-meta-llama-3-3-70b-instruct"
api_key_env = "DATABRICKS_TOKEN"
"#
    );
    let request = the_request_with(&llm, &databricks, &[("DATABRICKS_TOKEN", "dapi-secret")]).await;
    assert_eq!(
        request.path,
        "/serving-endpoints/databricks-meta-llama-3-3-70b-instruct/invocations"
    );
    assert_eq!(request.authorization.as_deref(), Some("Bearer dapi-secret"));
    assert!(request.body.get("model").is_none());
    assert!(request.body["messages"].is_array());

    let gateway = format!(
        r#"[endpoints.judge]
base_url = "{root}/v1"
model = "judge-large"
api_key_env = "GATEWAY_KEY"
api_key_header = "x-gateway-key"
headers = {{ "x-route" = "judges", "x-team" = "search" }}
"#
    );
    let request = the_request_with(&llm, &gateway, &[("GATEWAY_KEY", "gw-secret")]).await;
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(
        request.header("x-gateway-key").as_deref(),
        Some("gw-secret")
    );
    assert_eq!(request.header("x-route").as_deref(), Some("judges"));
    assert_eq!(request.header("x-team").as_deref(), Some("search"));
    assert_eq!(request.authorization, None);
    assert_eq!(request.body["model"], "judge-large");
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoint_settings_that_cannot_work_are_refused_by_key() {
    let out = judge_with_config(
        "[endpoints.judge]\nkind = \"azure\"\nbase_url = \"https://r.openai.azure.com/openai/deployments/gpt\"\n",
        &[],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "gavel.toml: [endpoints.judge]: `api_version` is required for kind = \"azure\""
        ),
        "{}",
        out.stderr
    );
    let out = judge_with_config(
        "[endpoints.judge]\nbase_url = \"http://x/v1\"\nmodel = \"m\"\nstructured_output = \"grammar\"\n",
        &[],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("structured_output"), "{}", out.stderr);
    let dir = tempfile::tempdir().unwrap();
    let out = support::gavel(
        dir.path(),
        &[
            "judge",
            "safety",
            "--request",
            "Hi",
            "--response",
            "Hello!",
            "--judge-base-url",
            "localhost:8080/v1",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "endpoint 'judge' (with --judge-base-url/--judge-model): `base_url` must be an http:// or https:// URL"
        ),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoints_check_tells_what_a_server_accepts_before_a_run() {
    let llm = TestLlm::start().await;
    llm.script(llama_like);
    let dir = tempfile::tempdir().unwrap();
    let url = llm.base_url();
    let args = [
        "endpoints",
        "check",
        "--judge-base-url",
        &url,
        "--judge-model",
        "qwen",
    ];
    let out = support::gavel(dir.path(), &args, &[]).await;
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out.stdout.lines().map(str::trim_end).collect();
    assert_eq!(lines[0], format!("judge  {url}/chat/completions"));
    assert_eq!(lines[1], "  model         qwen");
    assert!(
        lines[2].starts_with("  json_schema   refused: HTTP 500 Internal Server Error: {\"error\""),
        "{}",
        out.stdout
    );
    assert!(
        lines[3].starts_with("  json_object   accepted, ")
            && lines[3].ends_with(" s, a readable verdict"),
        "{}",
        out.stdout
    );
    assert!(
        lines[4].starts_with("  off           accepted, "),
        "{}",
        out.stdout
    );
    assert!(
        lines[5].starts_with("  token usage   reported ("),
        "{}",
        out.stdout
    );
    assert_eq!(
        lines[6],
        "  a run uses    json_object (structured_output = \"auto\")"
    );

    let mut json_args = args.to_vec();
    json_args.push("--json");
    let out = support::gavel(dir.path(), &json_args, &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(report["endpoint"], "judge");
    assert_eq!(report["answered_model"], "qwen");
    assert_eq!(report["json_schema"]["accepted"], false);
    assert_eq!(report["json_object"]["accepted"], true);
    assert_eq!(report["json_object"]["readable_verdict"], true);
    assert_eq!(report["structured_output"], "json_object");
    assert!(report["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(report["ok"], true);

    // Nothing listening: exit 3, naming the endpoint.
    let dead = format!("http://127.0.0.1:{}/v1", support::free_port());
    let out = support::gavel(
        dir.path(),
        &[
            "endpoints",
            "check",
            "--judge-base-url",
            &dead,
            "--judge-model",
            "m",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("  json_schema   failed: cannot reach"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("judgments through 'judge' would fail"),
        "{}",
        out.stderr
    );

    let out = support::gavel(
        dir.path(),
        &[
            "endpoints",
            "check",
            "nosuch",
            "--judge-base-url",
            &url,
            "--judge-model",
            "m",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("no endpoint named 'nosuch'"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rag_example_against_a_llama_cpp_like_server_is_fully_judged() {
    let llm = TestLlm::start().await;
    llm.one_at_a_time();
    llm.script(|request| Reply::Delayed(Duration::from_millis(20), Box::new(llama_like(request))));
    let dir = tempfile::tempdir().unwrap();
    let (out, out_dir) = support::eval_rag_example(dir.path(), &llm.base_url(), "qwen").await;
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let results = support::read_results(&out_dir);
    assert_eq!(results.len(), 5);
    let (judgments, _) = support::every_judgment_rated(&results);
    assert!(judgments >= 20, "{judgments}");
    let run = support::read_run(&out_dir);
    assert_eq!(
        run["endpoints"]["judge"]["structured_output"],
        "json_object"
    );
}
