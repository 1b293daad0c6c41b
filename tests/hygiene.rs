//! What a plugin, the data or the command line put into gavel's outputs
//! cannot hurt whoever reads them: plugin texts are bounded and free of
//! terminal escapes everywhere they go, CSV cells cannot run as formulas,
//! secrets in URLs and agent commands are masked before they are recorded,
//! credentials go only where they were configured for, and an agent leaves
//! nothing running behind it.

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use gavel::results::mlflow::{MlflowAuth, MlflowTarget, log_run_with_auth};
use serde_json::{Value, json};

use crate::support::{TestLlm, components, gavel, read_results, write_jsonl};

/// Whether `text` carries anything a terminal would act on: ESC (so no
/// escape sequence), the 8-bit CSI, a bell, a carriage return.
fn has_controls(text: &str) -> bool {
    text.chars()
        .any(|c| matches!(c, '\u{1b}' | '\u{9b}' | '\u{7}' | '\r' | '\u{202e}'))
}

/// The start and the end of a long text, for messages.
fn head(text: &str) -> String {
    text.chars().take(80).collect()
}

fn tail(text: &str) -> String {
    let end: Vec<char> = text.chars().rev().take(80).collect();
    end.into_iter().rev().collect()
}

/// `set.jsonl`: four rows a judge can say yes to.
fn write_four_rows(dir: &Path) {
    let rows: Vec<Value> = (0..4)
        .map(|i| json!({"request_id": format!("r{i}"), "request": "Say hi.", "response": "Hi!"}))
        .collect();
    write_jsonl(&dir.join("set.jsonl"), &rows);
}

/// A `gavel.toml` with the hostile plugin under three names: one returning a
/// 20 MB error full of escape sequences, one with an escape-laden rationale
/// that starts like a spreadsheet formula, one behaving.
fn hostile_config(dir: &Path) {
    let plugin = components::hostile();
    let table = |name: &str, attack: &str| {
        format!(
            "[judges.{name}]\nplugin = {plugin:?}\nconfig = {{ attack = \"{attack}\" }}\n\n",
            plugin = plugin.display().to_string()
        )
    };
    let config =
        table("loud", "huge_error") + &table("sly", "escape_rationale") + &table("calm", "none");
    std::fs::write(dir.join("gavel.toml"), config).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn huge_escape_laden_plugin_texts_reach_no_output_unbounded_or_unclean() {
    let llm = TestLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    hostile_config(d);
    write_four_rows(d);
    let url = llm.base_url();
    let out = gavel(
        d,
        &[
            "eval",
            "set.jsonl",
            "--out",
            "run",
            "--judges",
            "loud,sly,calm,safety",
            "--judge-base-url",
            &url,
            "--csv",
            "--junit",
            "junit.xml",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.len() + out.stderr.len() < 16 << 10,
        "terminal output: {} bytes",
        out.stdout.len() + out.stderr.len()
    );
    assert!(!has_controls(&out.stdout) && !has_controls(&out.stderr));

    // Results: four rows, each with a 16 KiB error at most.
    let run = d.join("run");
    let size = std::fs::metadata(run.join("eval_results.jsonl"))
        .unwrap()
        .len();
    assert!(
        size < 4 * (17 << 10) + 8192,
        "eval_results.jsonl: {size} bytes"
    );
    let results = read_results(&run);
    assert_eq!(results.len(), 4);
    for row in &results {
        let error = row["response/llm_judged/loud/error_message"]
            .as_str()
            .unwrap();
        assert!(
            error.starts_with("judge hostile@6.6.6 failed: \u{fffd}[2J\u{fffd}[H\u{fffd}]0;pwned"),
            "{}",
            head(error)
        );
        assert!(error.ends_with(" bytes cut)"), "{}", tail(error));
        assert!(!has_controls(error));
        let rationale = row["response/llm_judged/sly/rationale"].as_str().unwrap();
        assert_eq!(
            rationale,
            "=HYPERLINK(\"http://evil.example\")\u{fffd}[2J\u{fffd}]0;pwned\u{fffd}\u{fffd}31m\u{fffd}txt.exe"
        );
        assert_eq!(row["response/llm_judged/sly/rating"], "no");
        // Judgments on the same host go on as usual.
        assert_eq!(row["response/llm_judged/calm/rating"], "yes");
        assert_eq!(row["response/llm_judged/safety/rating"], "yes");
        assert_eq!(row["response/overall_assessment/rating"], "no");
    }
    for file in [
        "eval_results.jsonl",
        "run.json",
        "metrics.json",
        "report.html",
    ] {
        let text = std::fs::read_to_string(run.join(file)).unwrap();
        assert!(!has_controls(&text), "{file}");
        // JSON writes a control character as an escape: none of those either.
        assert!(!text.to_lowercase().contains("\\u001b"), "{file}");
    }
    let report = std::fs::metadata(run.join("report.html")).unwrap().len();
    assert!(report < 512 << 10, "report.html: {report} bytes");

    // CSV: bounded, clean, and the formula is text.
    let csv_text = std::fs::read_to_string(run.join("eval_results.csv")).unwrap();
    assert!(
        csv_text.len() < 4 * (17 << 10) + 8192,
        "{} bytes",
        csv_text.len()
    );
    assert!(!has_controls(&csv_text));
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let column = header
        .iter()
        .position(|h| h == "response/llm_judged/sly/rationale")
        .unwrap();
    for record in reader.records() {
        let record = record.unwrap();
        assert!(
            record[column].starts_with("'=HYPERLINK("),
            "{}",
            &record[column]
        );
    }

    // JUnit: bounded and clean XML.
    let junit = std::fs::read_to_string(d.join("junit.xml")).unwrap();
    assert!(junit.len() < 4 * (40 << 10), "{} bytes", junit.len());
    assert!(!has_controls(&junit));
    assert!(junit.contains("sly: no. =HYPERLINK(&quot;http://evil.example&quot;)"));

    // `gavel judge`: the same texts, bounded and clean, on the terminal.
    let judge = |name: &'static str| {
        let dir = d.to_owned();
        let url = url.clone();
        async move {
            gavel(
                &dir,
                &[
                    "judge",
                    name,
                    "--request",
                    "q",
                    "--response",
                    "a",
                    "--judge-base-url",
                    &url,
                ],
                &[],
            )
            .await
        }
    };
    let out = judge("loud").await;
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.len() < 17 << 10, "{} bytes", out.stdout.len());
    assert!(out.stdout.contains("bytes cut)"), "{}", tail(&out.stdout));
    assert!(!has_controls(&out.stdout) && !has_controls(&out.stderr));
    let out = judge("sly").await;
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("sly: no\n  =HYPERLINK("),
        "{}",
        out.stdout
    );
    assert!(!has_controls(&out.stdout) && !has_controls(&out.stderr));
}

// --- Secrets on the command line and in configuration ------------------------

/// A request a [`Recorder`] got: method, path and query, `Authorization`,
/// body, and every header.
type Seen = (Method, String, Option<String>, Bytes, HeaderMap);

/// A server that records every request and answers with `answer`.
struct Recorder {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    async fn start(
        answer: impl Fn(&Method, &str) -> Response + Clone + Send + Sync + 'static,
    ) -> Recorder {
        let seen: Arc<Mutex<Vec<_>>> = Arc::default();
        let app = axum::Router::new().fallback({
            let seen = seen.clone();
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let seen = seen.clone();
                let answer = answer.clone();
                async move {
                    let authorization = headers
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_owned());
                    let path = uri.to_string();
                    let response = answer(&method, &path);
                    seen.lock()
                        .unwrap()
                        .push((method, path, authorization, body, headers));
                    response
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Recorder { url, seen, task }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An MLflow tracking server, as far as logging a run needs, whose runs keep
/// their artifacts at `artifacts` (another origin).
async fn fake_mlflow(artifacts: String) -> Recorder {
    Recorder::start(move |_: &Method, path: &str| {
        let body = if path.contains("experiments/get-by-name") {
            json!({"experiment": {"experiment_id": "7", "lifecycle_stage": "active"}})
        } else if path.contains("runs/create") {
            json!({"run": {"info": {"run_id": "run1", "artifact_uri": format!("{artifacts}/store/run1")}}})
        } else {
            json!({})
        };
        axum::Json(body).into_response()
    })
    .await
}

/// Lines of `ps` naming `needle`: processes still running.
fn processes_with(needle: &Path) -> Vec<String> {
    let ps = std::process::Command::new("ps")
        .args(["-eo", "pid,stat,args"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&ps.stdout)
        .lines()
        .filter(|l| l.contains(&*needle.to_string_lossy()) && !l.contains(" ps "))
        // A zombie is ended, whoever has yet to reap it.
        .filter(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|s| !s.starts_with('Z'))
        })
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_in_urls_and_agent_commands_are_masked_in_every_record() {
    let llm = TestLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = llm
        .base_url()
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/v1")
        .to_owned();
    let judge_url = format!("http://judge-user:pw-SECRET-1@127.0.0.1:{port}");
    std::fs::write(
        d.join("gavel.toml"),
        format!("[endpoints.judge]\nbase_url = \"{judge_url}/v1\"\nmodel = \"m\"\n"),
    )
    .unwrap();
    write_jsonl(
        &d.join("set.jsonl"),
        &[
            json!({"request_id": "q1", "request": "What is MLflow?"}),
            json!({"request_id": "q2", "request": "What is Spark?"}),
        ],
    );
    // The agent also leaves a process running in the background, which
    // must not outlive the run.
    let agent = format!(
        "python3 -c 'import time; time.sleep(300)' {bg} & API_TOKEN=tok-SECRET-2 python3 {script} \
         --api-key sk-SECRET-3 --endpoint 'https://u:pw-SECRET-4@agent.example/v1?sig=SECRET-5&x=1'",
        bg = d.join("background").display(),
        script = crate::support::workspace()
            .join("examples/agent.py")
            .display(),
    );
    let out = gavel(
        d,
        &[
            "eval",
            "set.jsonl",
            "--out",
            "run",
            "--run-name",
            "hygiene",
            "--agent-cmd",
            &agent,
            "--agent-concurrency",
            "1",
            "--judges",
            "safety,token_count",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    // The judge endpoint's credentials still work: they are only not recorded.
    assert_eq!(llm.requests().len(), 2);

    let run = d.join("run");
    let run_json: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(
        run_json["endpoints"]["judge"]["base_url"],
        format!("http://***@127.0.0.1:{port}/v1")
    );
    let command = run_json["agent"]["command"].as_str().unwrap();
    assert!(
        command.contains("API_TOKEN=*** python3")
            && command.contains("--api-key *** --endpoint")
            && command.ends_with("'https://***@agent.example/v1?sig=***&x=1'"),
        "{command}"
    );
    let secrets = ["SECRET-1", "SECRET-2", "SECRET-3", "SECRET-4", "SECRET-5"];
    let leaks = |what: &str, bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes);
        for secret in secrets {
            assert!(!text.contains(secret), "{what} holds {secret}");
        }
    };
    for entry in std::fs::read_dir(&run).unwrap() {
        let path = entry.unwrap().path();
        leaks(&path.display().to_string(), &std::fs::read(&path).unwrap());
    }
    leaks(
        "the history",
        &std::fs::read(d.join(".gavel-history.sqlite")).unwrap(),
    );
    let runs = gavel(d, &["runs", "--json"], &[]).await;
    leaks("gavel runs", runs.stdout.as_bytes());

    // The agent's processes, the one it left in the background included,
    // are gone.
    let left = processes_with(d);
    assert!(left.is_empty(), "left running: {left:?}");

    // MLflow: the params hold no secret; credentials go to the tracking
    // server only, not to the artifact store it names on another origin;
    // only the run's own files are uploaded, and a link is not followed.
    let store = Recorder::start(|_: &Method, _: &str| axum::Json(json!({})).into_response()).await;
    let mlflow = fake_mlflow(store.url.clone()).await;
    let outside = d.join("outside.txt");
    std::fs::write(&outside, "OUTSIDE-THE-RUN").unwrap();
    std::os::unix::fs::symlink(&outside, run.join("eval_results.csv")).unwrap();
    std::fs::write(run.join("notes.txt"), "not the run's").unwrap();
    let target = MlflowTarget {
        tracking_uri: mlflow.url.clone(),
        experiment: "e".to_owned(),
    };
    let logged = log_run_with_auth(
        &target,
        &run,
        "hygiene",
        MlflowAuth::Bearer("mlflow-tok".into()),
    )
    .await
    .unwrap();
    assert_eq!(logged.run_id, "run1");
    let tracked = mlflow.seen();
    assert!(tracked.len() >= 4, "{tracked:?}");
    for (method, path, authorization, body, _) in &tracked {
        assert_eq!(
            authorization.as_deref(),
            Some("Bearer mlflow-tok"),
            "{method} {path}"
        );
        leaks(path, body);
    }
    let stored = store.seen();
    let mut uploaded: Vec<&str> = stored
        .iter()
        .map(|(method, path, authorization, body, _)| {
            assert_eq!(*method, Method::PUT);
            assert_eq!(authorization, &None, "credentials sent to {path}");
            leaks(path, body);
            path.rsplit('/').next().unwrap()
        })
        .collect();
    uploaded.sort();
    assert_eq!(
        uploaded,
        [
            "eval_results.jsonl",
            "eval_results_table.json",
            "metrics.json",
            "report.html",
            "run.json"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn mlflow_credentials_do_not_follow_a_redirect_to_another_origin() {
    let elsewhere =
        Recorder::start(|_: &Method, _: &str| axum::Json(json!({})).into_response()).await;
    let location = format!("{}/steal", elsewhere.url);
    let mlflow = Recorder::start(move |_: &Method, _: &str| {
        (
            StatusCode::TEMPORARY_REDIRECT,
            [("location", location.clone())],
        )
            .into_response()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("run.json"), r#"{"run_id": "r"}"#).unwrap();
    std::fs::write(dir.path().join("metrics.json"), "{}").unwrap();
    let target = MlflowTarget {
        tracking_uri: mlflow.url.clone(),
        experiment: "e".to_owned(),
    };
    let error = log_run_with_auth(
        &target,
        dir.path(),
        "x",
        MlflowAuth::Basic {
            username: "u".into(),
            password: "p".into(),
        },
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("HTTP 307") && error.contains("another origin") && error.contains("/steal"),
        "{error}"
    );
    assert_eq!(mlflow.seen().len(), 1);
    assert!(elsewhere.seen().is_empty(), "{:?}", elsewhere.seen());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openai_key_goes_only_to_openai_or_where_the_config_names_a_key() {
    let llm = TestLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = llm.base_url();
    let args = [
        "judge",
        "safety",
        "--request",
        "q",
        "--response",
        "a",
        "--judge-base-url",
        url.as_str(),
    ];
    // No configuration: the default OpenAI key stays home.
    let out = gavel(d, &args, &[("OPENAI_API_KEY", "sk-openai-user")]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let sent = llm.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].authorization, None);

    // A table that names its key: sent to the URL of the flag.
    llm.clear();
    std::fs::write(
        d.join("gavel.toml"),
        "[endpoints.judge]\nbase_url = \"https://gateway.example/v1\"\nmodel = \"m\"\n\
         api_key_env = \"GATEWAY_KEY\"\n",
    )
    .unwrap();
    let out = gavel(
        d,
        &args,
        &[
            ("OPENAI_API_KEY", "sk-openai-user"),
            ("GATEWAY_KEY", "gw-key"),
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let sent = llm.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].authorization.as_deref(), Some("Bearer gw-key"));
}

#[tokio::test(flavor = "multi_thread")]
async fn request_ids_reach_an_http_agent_as_safe_headers() {
    let agent = Recorder::start(|_: &Method, _: &str| {
        axum::Json(json!({"response": "Fine, thanks."})).into_response()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_jsonl(
        &d.join("set.jsonl"),
        &[json!({"request_id": "q1\r\nX-Injected: yes", "request": "How are you?"})],
    );
    let out = gavel(
        d,
        &[
            "eval",
            "set.jsonl",
            "--out",
            "run",
            "--agent",
            &agent.url,
            "--agent-format",
            "json",
            "--judges",
            "token_count",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let results = read_results(&d.join("run"));
    assert_eq!(results[0]["response"], "Fine, thanks.", "{:?}", results[0]);
    let seen = agent.seen();
    assert_eq!(seen.len(), 1);
    let headers = &seen[0].4;
    assert_eq!(headers["x-gavel-request-id"], "q1__X-Injected: yes");
    assert!(headers.get("x-injected").is_none());
    // The agent still gets the id as it is, in the body.
    let body: Value = serde_json::from_slice(&seen[0].3).unwrap();
    assert_eq!(body["request_id"], "q1\r\nX-Injected: yes");
}

/// A judge flooding the host's log through the `log` import: what reaches
/// gavel's stderr is capped per evaluation (64 KiB) and per line (1 KiB),
/// clean, and tagged with the judge; the run and the other judge go on.
#[tokio::test(flavor = "multi_thread")]
async fn a_judge_flooding_the_log_import_reaches_stderr_bounded_and_clean() {
    let llm = TestLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plugin = components::hostile();
    std::fs::write(
        d.join("gavel.toml"),
        format!(
            "[judges.chatty]\nplugin = {:?}\nconfig = {{ attack = \"log_flood\" }}\n",
            plugin.display().to_string()
        ),
    )
    .unwrap();
    write_four_rows(d);
    let url = llm.base_url();
    let out = gavel(
        d,
        &[
            "eval",
            "set.jsonl",
            "--out",
            "run",
            "--judges",
            "chatty,safety",
            "--judge-base-url",
            &url,
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, tail(&out.stderr));
    // Four evaluations at 64 KiB each, plus a warning line per evaluation.
    assert!(
        out.stderr.len() < 4 * ((64 << 10) + (4 << 10)),
        "stderr: {} bytes",
        out.stderr.len()
    );
    assert!(!has_controls(&out.stderr), "{}", tail(&out.stderr));
    let logged: Vec<&str> = out.stderr.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(!logged.is_empty());
    for line in &logged {
        assert!(
            line.contains("judge=\"chatty\"") || line.contains("judge=chatty"),
            "{line}"
        );
        assert!(line.len() < (1 << 10) + 200, "{} bytes", line.len());
    }
    for row in read_results(&d.join("run")) {
        assert_eq!(row["response/llm_judged/chatty/rating"], "yes");
        assert_eq!(row["response/llm_judged/safety/rating"], "yes");
    }
}
