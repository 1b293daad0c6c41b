//! Judge calls against a provider that misbehaves: 429 storms, 5xx, slow
//! answers, connections dropped mid-answer, an outage mid-run, a process
//! killed mid-run; and the concurrency and rate limits. Nothing finished is
//! lost, nothing is judged twice beyond the rows in flight, and a resumed
//! run ends with the results an undisturbed run has.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gavel::runtime::FailureKind;
use gavel::runtime::bindings::{JudgeError, LlmError};
use gavel::runtime::llm::Endpoint;
use gavel::{Host, JudgeOutcome, Rating};
use serde_json::{Map, Value, json};

use crate::support::{self, Recorded, Reply, TestLlm, gavel, read_results};

fn host_where(llm: &TestLlm, configure: impl FnOnce(&mut Endpoint)) -> Host {
    let mut endpoint = support::endpoint(llm);
    configure(&mut endpoint);
    support::host_with(vec![("judge".to_owned(), endpoint)])
}

async fn judge_once(host: &Host) -> JudgeOutcome {
    let judge = support::builtin_judge(host, "safety").await;
    host.judge(
        &judge,
        &support::row(json!({"request": "Hi", "response": "Hello!"})),
    )
    .await
}

/// Answers `bad` to the first `n` requests, then a verdict.
fn first(n: usize, bad: Reply) -> impl Fn(&Recorded) -> Reply + Send + Sync {
    let seen = AtomicUsize::new(0);
    move |_| {
        if seen.fetch_add(1, Ordering::SeqCst) < n {
            bad.clone()
        } else {
            Reply::Content(support::verdict("yes", "Fine."))
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_storm_is_retried_with_backoff() {
    let llm = TestLlm::start().await;
    llm.script(first(3, Reply::Status(429, "rate limited".into())));
    let host = host_where(&llm, |e| e.max_retries = 5);
    let outcome = judge_once(&host).await;
    assert_eq!(outcome.judgment.unwrap().rating, Rating::Yes);
    let arrivals: Vec<Instant> = llm.requests().iter().map(|r| r.at).collect();
    assert_eq!(arrivals.len(), 4);
    // Backoff grows: 0.25-0.5 s, then 0.5-1 s, then 1-2 s.
    let gaps: Vec<Duration> = arrivals.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[0] >= Duration::from_millis(240), "{gaps:?}");
    assert!(gaps[2] >= Duration::from_millis(990), "{gaps:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_is_honoured() {
    let llm = TestLlm::start().await;
    llm.script(first(1, Reply::RetryAfter(1.2)));
    let host = host_where(&llm, |e| e.max_retries = 2);
    assert_eq!(
        judge_once(&host).await.judgment.unwrap().rating,
        Rating::Yes
    );
    let requests = llm.requests();
    let waited = requests[1].at - requests[0].at;
    assert!(
        waited >= Duration::from_millis(1150),
        "waited {waited:?} of a 1.2 s Retry-After"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_are_retried_up_to_max_retries() {
    let llm = TestLlm::start().await;
    llm.script(first(1, Reply::Status(502, "bad gateway".into())));
    let host = host_where(&llm, |e| e.max_retries = 2);
    assert_eq!(
        judge_once(&host).await.judgment.unwrap().rating,
        Rating::Yes
    );

    llm.clear();
    llm.script(|_| Reply::Status(500, "always broken".into()));
    let failure = judge_once(&host).await.judgment.unwrap_err();
    assert_eq!(llm.requests().len(), 3, "one call and two retries");
    let FailureKind::Guest(JudgeError::Llm(LlmError::Upstream(message))) = failure.kind else {
        panic!("{failure}")
    };
    assert!(
        message
            .ends_with("answered HTTP 500 Internal Server Error: always broken (after 2 retries)"),
        "{message}"
    );

    // A request the endpoint rejects as malformed is not retried.
    llm.clear();
    llm.script(|_| Reply::Status(400, "bad request".into()));
    assert!(judge_once(&host).await.judgment.is_err());
    assert_eq!(llm.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_answers_time_out_and_are_retried() {
    let llm = TestLlm::start().await;
    let slow = Reply::Delayed(
        Duration::from_secs(3),
        Box::new(Reply::Content(support::verdict("no", "late"))),
    );
    llm.script(first(1, slow.clone()));
    let host = host_where(&llm, |e| {
        e.timeout_secs = 0.3;
        e.max_retries = 1;
    });
    let started = Instant::now();
    assert_eq!(
        judge_once(&host).await.judgment.unwrap().rating,
        Rating::Yes
    );
    assert!(started.elapsed() < Duration::from_secs(2));

    llm.script(move |_| slow.clone());
    let failure = judge_once(&host).await.judgment.unwrap_err();
    // The report names the endpoint and the limit that ended the judgment.
    let why = "endpoint 'judge' gave no answer within 0.3 s (its `timeout_secs`), 2 attempts";
    assert_eq!(failure.kind, FailureKind::LlmTimeout(why.to_owned()));
    assert_eq!(
        failure.to_string(),
        format!("judge safety@0.1.0 failed: an LLM call timed out: {why}")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_reset_mid_answer_are_retried() {
    let llm = TestLlm::start().await;
    llm.script(first(2, Reply::Reset));
    let host = host_where(&llm, |e| e.max_retries = 3);
    assert_eq!(
        judge_once(&host).await.judgment.unwrap().rating,
        Rating::Yes
    );
    assert_eq!(llm.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn exactly_max_concurrency_requests_are_in_flight() {
    let llm = TestLlm::start().await;
    llm.script(|_| {
        Reply::Delayed(
            Duration::from_millis(40),
            Box::new(Reply::Content(support::verdict("yes", "Fine."))),
        )
    });
    let host = host_where(&llm, |e| e.max_concurrency = 4);
    let judge = support::builtin_judge(&host, "safety").await;
    let row = support::row(json!({"request": "Hi", "response": "Hello!"}));
    let evaluations = futures::future::join_all((0..40).map(|_| host.judge(&judge, &row))).await;
    assert!(evaluations.iter().all(|e| e.judgment.is_ok()));
    assert_eq!(
        llm.peak_in_flight(),
        4,
        "never more than 4, and 4 while work waits"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_per_minute_spreads_calls_evenly() {
    let llm = TestLlm::start().await;
    let host = host_where(&llm, |e| e.requests_per_minute = 1200);
    let judge = support::builtin_judge(&host, "safety").await;
    let row = support::row(json!({"request": "Hi", "response": "Hello!"}));
    futures::future::join_all((0..10).map(|_| host.judge(&judge, &row))).await;
    let mut arrivals: Vec<Instant> = llm.requests().iter().map(|r| r.at).collect();
    arrivals.sort();
    // One call every 50 ms, no bursts: any four gaps in a row span at least
    // 160 ms (200 ms less what a busy machine's scheduling may shift one
    // arrival by; a burst would span almost nothing). The first call may
    // arrive late, behind its connection's set-up, so it is left out.
    for window in arrivals[1..].windows(5) {
        let span = window[4] - window[0];
        assert!(
            span >= Duration::from_millis(160),
            "4 gaps in {span:?}: {arrivals:?}"
        );
    }
    assert!(arrivals[9] - arrivals[1] >= Duration::from_millis(370));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_that_keeps_failing_is_halted() {
    let llm = TestLlm::start().await;
    let host = host_where(&llm, |e| e.failures_before_stop = 3);
    // Two failures, a success, two failures: never three in a row.
    let script = Arc::new(AtomicUsize::new(0));
    let counter = script.clone();
    llm.script(move |_| match counter.fetch_add(1, Ordering::SeqCst) {
        2 => Reply::Content(support::verdict("yes", "Fine.")),
        _ => Reply::Status(503, "unavailable".into()),
    });
    for _ in 0..5 {
        judge_once(&host).await;
    }
    assert_eq!(host.llm().halted(), None);
    assert!(host.llm().failing());
    judge_once(&host).await;
    let halted = host
        .llm()
        .halted()
        .expect("three failures in a row halt it");
    assert!(
        halted.contains("endpoint 'judge'") && halted.contains("3 calls in a row failed"),
        "{halted}"
    );
    // Once halted, calls fail at once without reaching the server.
    let sent = llm.requests().len();
    let failure = judge_once(&host).await.judgment.unwrap_err();
    assert!(
        failure.to_string().contains("endpoint 'judge' is down"),
        "{failure}"
    );
    assert_eq!(llm.requests().len(), sent);
}

// Runs of the binary.

const ROWS: usize = 30;

fn write_set(dir: &Path) {
    let rows: String = (0..ROWS)
        .map(|i| format!("{}\n", json!({"request_id": format!("q{i}"), "request": format!("ROW{i}: what is {i} + {i}?"), "response": format!("{}", 2 * i)})))
        .collect();
    std::fs::write(dir.join("set.jsonl"), rows).unwrap();
}

/// A deterministic verdict per judge and row.
fn verdicts(request: &Recorded) -> Reply {
    let prompt = request.last_user();
    let row: usize = prompt
        .split("ROW")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let judge = request.judge.clone().unwrap_or_default();
    let verdict = if (row + judge.len()).is_multiple_of(3) {
        "no"
    } else {
        "yes"
    };
    Reply::Content(support::verdict(verdict, &format!("{judge} on row {row}")))
}

fn row_of(request: &Recorded) -> String {
    request
        .last_user()
        .split("ROW")
        .nth(1)
        .and_then(|r| r.split(':').next())
        .unwrap_or("?")
        .to_owned()
}

fn config(dir: &Path, llm: &TestLlm, extra: &str) {
    std::fs::write(
        dir.join("gavel.toml"),
        format!(
            "[endpoints.judge]\nbase_url = {:?}\nmodel = \"m\"\n{extra}\n",
            llm.base_url()
        ),
    )
    .unwrap();
}

const EVAL: &[&str] = &[
    "eval",
    "set.jsonl",
    "--judges",
    "safety,relevance_to_query",
    "--no-cache",
];

/// The results of an undisturbed run.
async fn reference(dir: &Path) -> Vec<Map<String, Value>> {
    let out = gavel(dir, &[EVAL, &["--out", "reference"]].concat(), &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    read_results(&dir.join("reference"))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_that_dies_mid_run_stops_it_and_resume_finishes_it() {
    let llm = TestLlm::start().await;
    let down = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let (down_in, served_in) = (down.clone(), served.clone());
    llm.script(move |request| {
        if served_in.fetch_add(1, Ordering::SeqCst) == 24 {
            down_in.store(true, Ordering::SeqCst);
        }
        if down_in.load(Ordering::SeqCst) {
            Reply::Status(503, "the provider is down".into())
        } else {
            verdicts(request)
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_set(d);
    config(d, &llm, "max_concurrency = 1\nmax_retries = 0\n");
    // Few rows in flight: under load, a first row whose second call queued
    // behind 24 others would be hit by the outage and nothing could be kept.
    let first = ["--out", "run", "--rows-in-flight", "4"];
    let out = gavel(d, &[EVAL, &first].concat(), &[]).await;
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("endpoint 'judge'") && out.stderr.contains("is down"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("continue with: gavel eval set.jsonl --out run --resume"),
        "{}",
        out.stderr
    );
    let kept = read_results(&d.join("run"));
    assert!(
        !kept.is_empty() && kept.len() < ROWS,
        "{} rows kept",
        kept.len()
    );
    let hit: Vec<_> = kept
        .iter()
        .filter(|row| row.keys().any(|k| k.ends_with("error_message")))
        .collect();
    assert!(
        hit.is_empty(),
        "rows hit by the outage are not recorded as finished; recorded: {hit:?}\n{}",
        out.stderr
    );
    let run: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("run/run.json")).unwrap()).unwrap();
    assert_eq!(run["status"], "endpoint_down");

    // The provider is back: resume, then compare with an undisturbed run.
    down.store(false, Ordering::SeqCst);
    served.store(1000, Ordering::SeqCst);
    llm.clear();
    let out = gavel(d, &[EVAL, &["--out", "run", "--resume"]].concat(), &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "{ROWS} of {ROWS} rows (0 invalid, {} from earlier sessions)",
            kept.len()
        )),
        "{}",
        out.stdout
    );
    let finished: Vec<String> = kept
        .iter()
        .map(|r| r["request"].as_str().unwrap().split(':').next().unwrap()[3..].to_owned())
        .collect();
    for request in llm.requests() {
        assert!(
            !finished.contains(&row_of(&request)),
            "row {} was judged again",
            row_of(&request)
        );
    }
    let resumed = read_results(&d.join("run"));
    llm.clear();
    assert_eq!(resumed, reference(d).await);
    let run: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("run/run.json")).unwrap()).unwrap();
    assert_eq!(run["status"], "finished");
    assert_eq!(run["sessions"].as_array().unwrap().len(), 2);
}

fn spawn_gavel(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_gavel"))
        .current_dir(dir)
        .args(args)
        .env("GAVEL_CACHE_DIR", support::cache_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start gavel")
}

async fn wait_for_rows(path: &Path, rows: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let written = std::fs::read_to_string(path)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if written >= rows {
            return;
        }
        assert!(Instant::now() < deadline, "the run never wrote {rows} rows");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn slow(request: &Recorded) -> Reply {
    Reply::Delayed(Duration::from_millis(120), Box::new(verdicts(request)))
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_run_then_resume_loses_nothing() {
    let llm = TestLlm::start().await;
    llm.script(slow);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_set(d);
    config(d, &llm, "max_concurrency = 4\n");
    let mut child = spawn_gavel(d, &[EVAL, &["--out", "run"]].concat());
    wait_for_rows(&d.join("run/eval_results.jsonl"), 6).await;
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    let before = std::fs::read_to_string(d.join("run/eval_results.jsonl")).unwrap();
    let complete = before
        .lines()
        .filter(|l| serde_json::from_str::<Value>(l).is_ok())
        .count();
    assert!(complete < ROWS, "the run was killed before it finished");
    let requests_before = llm.requests().len();
    llm.clear();

    let out = gavel(d, &[EVAL, &["--out", "run", "--resume"]].concat(), &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let resumed = read_results(&d.join("run"));
    let ids: Vec<&str> = resumed
        .iter()
        .map(|r| r["request_id"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..ROWS).map(|i| format!("q{i}")).collect();
    assert_eq!(ids, expected, "every row once, in order");
    // Rows finished before the kill were not judged again; at most the
    // rows in flight (16) were.
    let rejudged: std::collections::BTreeSet<usize> = llm
        .requests()
        .iter()
        .filter_map(|r| row_of(r).parse().ok())
        .collect();
    assert!(
        rejudged.iter().all(|&row| row >= complete),
        "{rejudged:?} vs {complete} finished"
    );
    assert!(requests_before + llm.requests().len() <= 2 * ROWS + 2 * 16);
    llm.clear();
    llm.script(verdicts);
    assert_eq!(resumed, reference(d).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_keeps_finished_rows_and_exits_3() {
    let llm = TestLlm::start().await;
    llm.script(slow);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_set(d);
    config(d, &llm, "max_concurrency = 2\n");
    let child = spawn_gavel(d, &[EVAL, &["--out", "run"]].concat());
    wait_for_rows(&d.join("run/eval_results.jsonl"), 3).await;
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("error: interrupted with ") && stderr.contains("rows finished; they are kept. Continue with: gavel eval set.jsonl --out run --resume"), "{stderr}");
    let kept = read_results(&d.join("run"));
    assert!(kept.len() >= 3 && kept.len() < ROWS);
    let metrics: Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(d.join("run/metrics.json")).unwrap())
            .unwrap();
    assert!(
        metrics.contains_key("response/llm_judged/safety/rating/percentage"),
        "metrics of the finished rows are written"
    );

    let out = gavel(d, &[EVAL, &["--out", "run", "--resume"]].concat(), &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(read_results(&d.join("run")).len(), ROWS);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_identical_run_is_answered_from_the_cache() {
    let llm = TestLlm::start().await;
    llm.script(verdicts);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_set(d);
    config(d, &llm, "");
    let cache = d.join("cache");
    let cache_env = [("GAVEL_CACHE_DIR", cache.to_str().unwrap())];
    let eval = [
        "eval",
        "set.jsonl",
        "--judges",
        "safety,relevance_to_query",
        "--out",
    ];
    let first = gavel(d, &[&eval[..], &["first"]].concat(), &cache_env).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(llm.requests().len(), 2 * ROWS);

    llm.clear();
    let second = gavel(d, &[&eval[..], &["second"]].concat(), &cache_env).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(llm.requests().len(), 0, "no LLM call the second time");
    assert_eq!(
        std::fs::read_to_string(d.join("first/eval_results.jsonl")).unwrap(),
        std::fs::read_to_string(d.join("second/eval_results.jsonl")).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(d.join("first/metrics.json")).unwrap(),
        std::fs::read_to_string(d.join("second/metrics.json")).unwrap()
    );
    let run: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("second/run.json")).unwrap()).unwrap();
    assert_eq!(run["sessions"][0]["llm_calls_cached"], 2 * ROWS);
    assert_eq!(run["sessions"][0]["llm_calls_sent"], 0);

    // A corrupt entry is a miss, not a failure.
    let entry = walk(&cache.join("responses"))
        .into_iter()
        .next()
        .expect("cached answers");
    std::fs::write(&entry, b"{ not json").unwrap();
    llm.clear();
    let third = gavel(d, &[&eval[..], &["third"]].concat(), &cache_env).await;
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert_eq!(llm.requests().len(), 1);
    assert_eq!(
        read_results(&d.join("third")),
        read_results(&d.join("first"))
    );

    // --no-cache asks again.
    llm.clear();
    let fourth = gavel(
        d,
        &[&eval[..], &["fourth", "--no-cache"]].concat(),
        &cache_env,
    )
    .await;
    assert_eq!(fourth.code, 0);
    assert_eq!(llm.requests().len(), 2 * ROWS);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_refuses_other_data_or_judges() {
    let llm = TestLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_set(d);
    config(d, &llm, "");
    let out = gavel(d, &[EVAL, &["--out", "run"]].concat(), &[]).await;
    assert_eq!(out.code, 0);
    let out = gavel(
        d,
        &[
            "eval",
            "set.jsonl",
            "--judges",
            "safety",
            "--no-cache",
            "--out",
            "run",
            "--resume",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.starts_with(
            "error: cannot resume the run in run: its judges or their settings differ"
        ),
        "{}",
        out.stderr
    );
    std::fs::write(d.join("set.jsonl"), "{\"request\": \"other\"}\n").unwrap();
    let out = gavel(d, &[EVAL, &["--out", "run", "--resume"]].concat(), &[]).await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.starts_with(
            "error: cannot resume the run in run: set.jsonl is not the data it started with"
        ),
        "{}",
        out.stderr
    );
    let out = gavel(
        d,
        &[EVAL, &["--out", "nothing-here", "--resume"]].concat(),
        &[],
    )
    .await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with("error: nothing-here holds no run to resume"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_progress_line_shows_on_a_terminal_only() {
    let llm = TestLlm::start().await;
    llm.script(|request| Reply::Delayed(Duration::from_millis(300), Box::new(verdicts(request))));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_set(d);
    config(d, &llm, "max_concurrency = 8\n");
    // `script` runs gavel with a pseudo-terminal as stdout and stderr.
    let command = format!(
        "{} eval set.jsonl --judges safety --no-cache --out tty",
        env!("CARGO_BIN_EXE_gavel")
    );
    let output = tokio::task::spawn_blocking({
        let d = d.to_owned();
        move || {
            Command::new("script")
                .args(["-qec", &command, "/dev/null"])
                .current_dir(d)
                .env("GAVEL_CACHE_DIR", support::cache_dir())
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("\r\x1b[2K"), "{text}");
    assert!(
        text.contains(&format!("/{ROWS} rows [")) && text.contains("LLM calls (0 cached)"),
        "{text}"
    );
    assert!(
        text.contains(" errors · ") && text.contains("ETA"),
        "{text}"
    );

    let piped = gavel(
        d,
        &[
            "eval",
            "set.jsonl",
            "--judges",
            "safety",
            "--no-cache",
            "--out",
            "piped",
        ],
        &[],
    )
    .await;
    assert_eq!(piped.code, 0);
    assert!(
        !piped.stderr.contains("rows ["),
        "no progress line into a pipe: {}",
        piped.stderr
    );
}
