//! A judge plugin is untrusted code. A hostile one (tests/hostile) must not
//! read files, see secrets, reach the network, run forever or exhaust
//! memory; whatever it does fails only its own judgment, and the next
//! judgment on the same host succeeds.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use gavel::runtime::bindings::{JudgeError, LlmError};
use gavel::runtime::{FailureKind, LimitOverrides, Limits};
use gavel::{Host, Judge, JudgeOutcome, Rating, Settings};
use serde_json::{Value, json};

use crate::support::{self, Reply, TestLlm, components};

async fn hostile_judge(host: &Host, options: Value, limits: LimitOverrides) -> Judge {
    let plugin = host
        .load_file(&components::hostile())
        .await
        .expect("the hostile plugin loads");
    let Value::Object(options) = options else {
        panic!("options are an object")
    };
    let limits = Limits::DEFAULT
        .with_overrides(&limits, host.maxima())
        .expect("limits within the maxima");
    Judge::new(
        plugin,
        Settings {
            options,
            limits,
            ..Settings::default()
        },
    )
}

async fn attack(host: &Host, attack: &str) -> JudgeOutcome {
    attack_with(host, json!({"attack": attack}), LimitOverrides::default()).await
}

async fn attack_with(host: &Host, options: Value, limits: LimitOverrides) -> JudgeOutcome {
    let judge = hostile_judge(host, options, limits).await;
    let row = support::row(json!({"request": "q", "response": "a"}));
    host.judge(&judge, &row).await
}

fn failure(outcome: &JudgeOutcome) -> FailureKind {
    match &outcome.judgment {
        Ok(judgment) => panic!("the attack was not stopped: {judgment:?}"),
        Err(failure) => {
            assert_eq!(failure.plugin, "hostile@6.6.6", "failures name the plugin");
            failure.kind.clone()
        }
    }
}

/// The guest saw an error from the host for what it tried.
fn denied(outcome: &JudgeOutcome) -> String {
    match failure(outcome) {
        FailureKind::Guest(JudgeError::Failed(message)) if message.starts_with("denied: ") => {
            message
        }
        other => panic!("expected a denial, got {other:?}"),
    }
}

/// After an attack, the same host judges the next row normally.
async fn recovers(host: &Host) {
    let outcome = attack(host, "none").await;
    let judgment = outcome.judgment.expect("the next judgment succeeds");
    assert_eq!(judgment.rating, Rating::Yes);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_loop_times_out_within_its_cpu_budget() {
    let llm = TestLlm::start().await;
    let host = support::host(&llm);
    let started = Instant::now();
    let limits = LimitOverrides {
        cpu_secs: Some(0.5),
        ..Default::default()
    };
    let outcome = attack_with(&host, json!({"attack": "loop"}), limits).await;
    assert_eq!(
        failure(&outcome),
        FailureKind::CpuTimeout(Duration::from_millis(500))
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped {:?} after a 0.5 s budget",
        started.elapsed()
    );
    assert_eq!(
        outcome.judgment.unwrap_err().to_string(),
        "judge hostile@6.6.6 timed out: ran for more than 0.5 s of CPU time (limit `cpu_secs`)"
    );
    recovers(&host).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_cpu_budget_stops_a_loop_too() {
    let llm = TestLlm::start().await;
    let host = support::host(&llm);
    let outcome = attack(&host, "loop").await;
    assert_eq!(
        failure(&outcome),
        FailureKind::CpuTimeout(Limits::DEFAULT.cpu_time)
    );
    recovers(&host).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn time_waiting_for_the_llm_does_not_count_as_cpu() {
    let llm = TestLlm::start().await;
    llm.script(|_| {
        Reply::Delayed(
            Duration::from_millis(700),
            Box::new(Reply::Content(support::verdict("yes", "Concise."))),
        )
    });
    let host = support::host(&llm);
    let plugin = host.load_file(&components::rust_example()).await.unwrap();
    let judge = support::judge_with_limits(
        &host,
        plugin,
        LimitOverrides {
            cpu_secs: Some(0.2),
            ..Default::default()
        },
    );
    let row = support::row(json!({"request": "2+2?", "response": "4"}));
    let outcome = host.judge(&judge, &row).await;
    assert_eq!(
        outcome.judgment.expect("the LLM wait is not CPU").rating,
        Rating::Yes
    );
    assert!(outcome.elapsed >= Duration::from_millis(700));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_that_blocks_hits_the_wall_clock_limit() {
    let llm = TestLlm::start().await;
    let host = support::host(&llm);
    let limits = LimitOverrides {
        wall_secs: Some(0.5),
        ..Default::default()
    };
    let started = Instant::now();
    let outcome = attack_with(&host, json!({"attack": "sleep"}), limits).await;
    assert_eq!(
        failure(&outcome),
        FailureKind::WallTimeout(Duration::from_millis(500))
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    recovers(&host).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_memory_bomb_runs_out_of_memory() {
    let llm = TestLlm::start().await;
    let host = support::host(&llm);
    let outcome = attack(&host, "memory").await;
    assert_eq!(
        failure(&outcome),
        FailureKind::OutOfMemory { limit_mib: 64 }
    );
    assert_eq!(
        outcome.judgment.unwrap_err().to_string(),
        "judge hostile@6.6.6 ran out of memory: needed more than 64 MiB (limit `memory_mib`)"
    );
    // A judge configured with less memory fails sooner, the same way.
    let limits = LimitOverrides {
        memory_mib: Some(8),
        ..Default::default()
    };
    let outcome = attack_with(&host, json!({"attack": "memory"}), limits).await;
    assert_eq!(failure(&outcome), FailureKind::OutOfMemory { limit_mib: 8 });
    recovers(&host).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_overflow_is_a_trap() {
    let llm = TestLlm::start().await;
    let host = support::host(&llm);
    // Rust keeps its stack in linear memory: overflowing it runs off the
    // bottom of memory.
    let outcome = attack(&host, "stack").await;
    match failure(&outcome) {
        FailureKind::Trap { message, .. } => {
            assert_eq!(message, "wasm trap: out of bounds memory access")
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    recovers(&host).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn files_cannot_be_read_listed_or_written() {
    let llm = TestLlm::start().await;
    let host = support::host(&llm);
    for what in ["read_file", "list_dir", "write_file"] {
        let outcome = attack(&host, what).await;
        let message = denied(&outcome);
        assert!(!message.contains("root:"), "{what}: {message}");
    }
    assert!(!std::path::Path::new("/tmp/gavel-hostile-was-here").exists());
    recovers(&host).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_environment_and_arguments_are_empty() {
    // SAFETY: the variable is only read, by this test's plugin process.
    unsafe { std::env::set_var("GAVEL_TEST_SECRET", "hunter2") };
    let llm = TestLlm::start().await;
    let host = support::host(&llm);
    assert_eq!(
        denied(&attack(&host, "env").await),
        "denied: the environment is empty"
    );
    assert_eq!(denied(&attack(&host, "args").await), "denied: no arguments");
    recovers(&host).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sockets_and_name_lookups_are_denied() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let llm = TestLlm::start().await;
    let host = support::host(&llm);
    let outcome = attack_with(
        &host,
        json!({"attack": "socket", "addr": addr}),
        LimitOverrides::default(),
    )
    .await;
    let message = denied(&outcome);
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the plugin reached the listener ({message})"
    );
    // Its own LLM endpoint is no easier to reach directly.
    let llm_addr = llm
        .base_url()
        .trim_start_matches("http://")
        .trim_end_matches("/v1")
        .to_owned();
    denied(
        &attack_with(
            &host,
            json!({"attack": "socket", "addr": llm_addr}),
            LimitOverrides::default(),
        )
        .await,
    );
    assert!(llm.requests().is_empty());
    denied(&attack(&host, "dns").await);
    recovers(&host).await;
}

/// The `ask` import makes requests on the judge's behalf; they count
/// against the same budget, grants and prompt limits as the judge's own.
#[tokio::test(flavor = "multi_thread")]
async fn asking_through_the_host_is_bounded_like_calling() {
    let llm = TestLlm::start().await;
    llm.always("unreadable, so every ask also asks for a repair");
    let host = support::host(&llm);
    let outcome = attack(&host, "ask_flood").await;
    assert_eq!(outcome.judgment.unwrap().rationale, "0 asks succeeded");
    assert_eq!(
        llm.requests().len(),
        32,
        "the host stops asking at the budget"
    );
    assert_eq!(outcome.usage.llm_calls, 32);

    llm.clear();
    let started = Instant::now();
    let outcome = attack(&host, "ask_render_flood").await;
    match failure(&outcome) {
        FailureKind::Guest(JudgeError::InvalidConfig(message)) => assert!(
            message.contains("template has 52000 `{{...}}` tags; the limit is 1000"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));

    let outcome = attack(&host, "ask_alias").await;
    match failure(&outcome) {
        FailureKind::Guest(JudgeError::Llm(LlmError::NotAllowed(message))) => {
            assert!(message.contains("'secret' is not granted"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(llm.requests().is_empty());
    recovers(&host).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_clock_is_frozen() {
    let llm = TestLlm::start().await;
    let host = support::host(&llm);
    let judgment = attack(&host, "clock").await.judgment.unwrap();
    assert_eq!(judgment.rationale, "wall clock: 0");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_llm_calls_exceed_the_budget() {
    let llm = TestLlm::start().await;
    let host = support::host(&llm);
    let outcome = attack(&host, "llm_flood").await;
    assert_eq!(failure(&outcome), FailureKind::LlmBudgetExceeded(32));
    assert_eq!(
        llm.requests().len(),
        32,
        "the host stops calling at the budget"
    );
    assert_eq!(outcome.usage.llm_calls, 32);
    assert_eq!(
        outcome.judgment.unwrap_err().to_string(),
        "judge hostile@6.6.6 exceeded its LLM call budget of 32 calls per evaluation (limit `llm_calls`)"
    );
    // Ignoring the budget errors does not get the plugin more calls.
    llm.clear();
    let outcome = attack(&host, "llm_flood_ignoring_errors").await;
    assert_eq!(outcome.judgment.unwrap().rationale, "32 calls succeeded");
    assert_eq!(llm.requests().len(), 32);
    // A judge may be given a bigger budget, within the host's maximum.
    llm.clear();
    let limits = LimitOverrides {
        llm_calls: Some(40),
        ..Default::default()
    };
    let outcome = attack_with(&host, json!({"attack": "llm_flood"}), limits).await;
    assert_eq!(failure(&outcome), FailureKind::LlmBudgetExceeded(40));
    assert_eq!(llm.requests().len(), 40);
    recovers(&host).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alias_that_was_not_granted_is_refused_with_how_to_grant_it() {
    let llm = TestLlm::start().await;
    let host = support::host_with(vec![
        ("judge".to_owned(), support::endpoint(&llm)),
        ("secret".to_owned(), support::endpoint(&llm)),
    ]);
    let outcome = attack(&host, "alias").await;
    let FailureKind::Guest(JudgeError::Llm(LlmError::NotAllowed(message))) = failure(&outcome)
    else {
        panic!("expected not-allowed")
    };
    assert_eq!(
        message,
        "endpoint alias 'secret' is not granted to judge 'hostile'; grant it with `endpoints = [\"secret\"]` under [judges.hostile] in gavel.toml"
    );
    assert!(llm.requests().is_empty());
    // Granted, the same call goes through.
    let plugin = host.load_file(&components::hostile()).await.unwrap();
    let judge = Judge::new(
        plugin,
        Settings {
            options: json!({"attack": "alias"}).as_object().unwrap().clone(),
            extra_endpoints: vec!["secret".to_owned()],
            ..Settings::default()
        },
    );
    let row = support::row(json!({"request": "q", "response": "a"}));
    let judgment = host.judge(&judge, &row).await.judgment.unwrap();
    assert_eq!(judgment.rationale, "LEAKED: called secret");
    assert_eq!(llm.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_is_a_trap_that_quotes_the_panic_message() {
    let llm = TestLlm::start().await;
    let host = support::host(&llm);
    let outcome = attack(&host, "panic").await;
    match failure(&outcome) {
        FailureKind::Trap { message, stderr } => {
            assert!(message.contains("unreachable"), "{message}");
            assert!(
                stderr.contains("hostile judge panicked on purpose"),
                "{stderr}"
            );
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    recovers(&host).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn exiting_the_process_only_ends_the_guest() {
    let llm = TestLlm::start().await;
    let host = support::host(&llm);
    let outcome = attack(&host, "exit").await;
    assert!(matches!(failure(&outcome), FailureKind::Trap { .. }));
    recovers(&host).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn floods_of_output_are_capped_not_fatal() {
    let llm = TestLlm::start().await;
    let host = support::host(&llm);
    let judgment = attack(&host, "stdout_flood").await.judgment.unwrap();
    assert_eq!(judgment.rationale, "printed 40 MB");
    let judgment = attack(&host, "huge_rationale").await.judgment.unwrap();
    assert!(
        judgment.rationale.len() < 17 << 10,
        "{}",
        judgment.rationale.len()
    );
    assert!(
        judgment.rationale.ends_with(&format!(
            "... ({} bytes cut)",
            (8 << 20) - gavel::runtime::text::MAX_MESSAGE_BYTES
        )),
        "{}",
        &judgment.rationale[judgment.rationale.len() - 40..]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_assessments_are_failures() {
    let llm = TestLlm::start().await;
    let host = support::host(&llm);
    assert_eq!(
        failure(&attack(&host, "bad_score").await),
        FailureKind::InvalidAssessment("score 9 is not between 1 and 5".to_owned())
    );
    assert_eq!(
        failure(&attack(&host, "wrong_chunks").await),
        FailureKind::InvalidAssessment("it rated 3 chunks, but the row has 0".to_owned())
    );
    recovers(&host).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn attacks_running_alongside_good_judgments_do_not_disturb_them() {
    let llm = TestLlm::start().await;
    let host = support::host(&llm);
    let row = support::row(json!({"request": "q", "response": "a"}));
    let quick = LimitOverrides {
        cpu_secs: Some(0.3),
        ..Default::default()
    };
    let bad = hostile_judge(&host, json!({"attack": "loop"}), quick.clone()).await;
    let oom = hostile_judge(&host, json!({"attack": "memory"}), quick).await;
    let good = hostile_judge(&host, json!({"attack": "none"}), LimitOverrides::default()).await;
    let judges = [&bad, &oom, &good];
    let tasks = (0..24).map(|i| host.judge(judges[i % 3], &row));
    let results = futures::future::join_all(tasks).await;
    for (i, outcome) in results.iter().enumerate() {
        match i % 3 {
            0 => assert!(matches!(failure(outcome), FailureKind::CpuTimeout(_))),
            1 => assert!(matches!(failure(outcome), FailureKind::OutOfMemory { .. })),
            _ => assert_eq!(outcome.judgment.as_ref().unwrap().rating, Rating::Yes),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_above_the_host_maxima_are_refused() {
    let error = Limits::DEFAULT
        .with_overrides(
            &LimitOverrides {
                cpu_secs: Some(1e6),
                ..Default::default()
            },
            &Limits::MAXIMA,
        )
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "`cpu_secs` = 1000000 is above the host's maximum of 120"
    );
}

/// Work a judge makes the host do (rendering its templates) is bounded
/// like the judge itself: each attack fails fast, naming what was refused,
/// and the host's next judgment succeeds.
#[tokio::test(flavor = "multi_thread")]
async fn templates_cannot_make_the_host_do_unbounded_work() {
    let llm = TestLlm::start().await;
    let host = support::host(&llm);
    for (options, expected) in [
        // 52,000 references to a 1 MiB value: 52 GB if nothing stopped it.
        (
            json!({"attack": "render_flood"}),
            "template has 52000 `{{...}}` tags; the limit is 1000",
        ),
        // Within the tag limit, the output stops at 4 MiB while produced.
        (
            json!({"attack": "render_flood", "tags": 1000}),
            "rendered prompt is over 4194304 bytes",
        ),
        // Four nested loops over 100 variables: 10^8 iterations.
        (
            json!({"attack": "render_loops"}),
            "`{{#each}}` is not allowed in prompts",
        ),
        // Handlebars' log helper would write to gavel's stderr.
        (
            json!({"attack": "render_log"}),
            "`{{log ...}}` (a helper call) is not allowed in prompts",
        ),
    ] {
        let started = Instant::now();
        let outcome = attack_with(&host, options.clone(), LimitOverrides::default()).await;
        let message = match failure(&outcome) {
            FailureKind::Guest(JudgeError::InvalidConfig(message)) => message,
            other => panic!("{options}: {other:?}"),
        };
        assert!(message.contains(expected), "{options}: {message}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{options}: {:?}",
            started.elapsed()
        );
        recovers(&host).await;
    }
    // 100 distinct 100 KiB templates: the judge's cache (8 MiB) evicts its
    // own entries (the renderer's unit tests check the bound).
    let outcome = attack_with(
        &host,
        json!({"attack": "render_many"}),
        LimitOverrides {
            cpu_secs: Some(60.0),
            ..Default::default()
        },
    )
    .await;
    assert!(outcome.judgment.is_ok(), "{:?}", outcome.judgment);
    recovers(&host).await;
}

/// Each component may take only its share of the shared instance pool: one
/// that needs more fails to load, the failure names it, and judges on the
/// same host go on, also while others hold all they may. (The Python example judge has about a dozen core
/// instances; this host allows four per component.)
#[tokio::test(flavor = "multi_thread")]
async fn a_component_over_its_share_of_the_pool_fails_alone() {
    let llm = TestLlm::start().await;
    let client = gavel::runtime::llm::OpenAiClient::new(
        [("judge".to_owned(), support::endpoint(&llm))],
        "test-run",
    )
    .expect("HTTP client");
    let host = Host::new(gavel::HostOptions {
        cache_dir: Some(support::cache_dir()),
        llm: std::sync::Arc::new(client),
        allocation: gavel::runtime::Allocation::Pooling {
            slots: 8,
            per_component: gavel::runtime::ComponentCaps {
                core_instances: 4,
                ..gavel::runtime::ComponentCaps::default()
            },
        },
        ..gavel::HostOptions::default()
    })
    .expect("host");
    let python = tokio::task::spawn_blocking(|| components::example("python"))
        .await
        .expect("the build thread");
    let error = host
        .load_file(&python)
        .await
        .expect_err("over its share")
        .to_string();
    assert!(error.contains("conciseness.wasm"), "{error}");
    assert!(
        error.contains("14 core module instances, which exceeds the configured maximum of 4"),
        "{error}"
    );
    // Hostile evaluations each holding all the memory they may (memory
    // bombs), alongside many built-in judgments on the same 8-slot host:
    // every built-in judgment succeeds, every bomb fails as its own.
    let hostile = hostile_judge(
        &host,
        json!({"attack": "memory"}),
        LimitOverrides::default(),
    )
    .await;
    let judge = support::builtin_judge(&host, "safety").await;
    let row = support::row(json!({"request": "Hi", "response": "Hello!"}));
    let bombs = futures::future::join_all((0..4).map(|_| host.judge(&hostile, &row)));
    let judgments = futures::future::join_all((0..16).map(|_| host.judge(&judge, &row)));
    let (bombs, judgments) = tokio::join!(bombs, judgments);
    for outcome in &bombs {
        assert_eq!(failure(outcome), FailureKind::OutOfMemory { limit_mib: 64 });
    }
    for outcome in judgments {
        assert_eq!(outcome.judgment.unwrap().rating, Rating::Yes);
    }
}
