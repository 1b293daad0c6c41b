//! The example judge written in Rust, Python (componentize-py) and
//! JavaScript (componentize-js), built from source against the same WIT,
//! passes the same tests, and sends the judge LLM the same requests.

use std::path::PathBuf;
use std::time::Instant;

use gavel::runtime::bindings::{AssessmentType, Example, Input, JudgeError, LlmError, Verdict};
use gavel::runtime::{FailureKind, Limits};
use gavel::{Host, HostOptions, Judge, Plugin, Rating, Settings};
use serde_json::{Value, json};

use crate::support::{self, Reply, TestLlm, components};

fn examples() -> Vec<(&'static str, PathBuf)> {
    vec![
        ("rust", components::rust_example()),
        ("python", components::python_example()),
        ("javascript", components::js_example()),
    ]
}

fn judge(plugin: &Plugin, options: Value) -> Judge {
    let Value::Object(options) = options else {
        panic!("options are an object")
    };
    Judge::new(
        plugin.clone(),
        Settings {
            options,
            ..Settings::default()
        },
    )
}

/// Runs the shared behaviour checks on one language's judge and returns
/// the request bodies the LLM received, for comparison across languages.
async fn check(language: &str, plugin: &Plugin, host: &Host, llm: &TestLlm) -> Vec<Value> {
    let description = plugin.description();
    assert_eq!(description.name, "conciseness", "{language}");
    assert_eq!(description.version, "1.0.0", "{language}");
    assert_eq!(
        description.description, "The response answers without padding.",
        "{language}"
    );
    assert_eq!(
        description.assessment_type,
        AssessmentType::Answer,
        "{language}"
    );
    assert_eq!(
        description.required_inputs,
        vec![vec![Input::Request], vec![Input::Response]],
        "{language}"
    );
    assert!(description.endpoints.is_empty(), "{language}");

    let row = support::row(json!({"request": "What is 2+2?", "response": "It is 4."}));
    llm.clear();

    // Over the word limit: "no" without asking the LLM.
    let short = judge(plugin, json!({"max_words": 2}));
    let judgment = host
        .judge(&short, &row)
        .await
        .judgment
        .unwrap_or_else(|e| panic!("{language}: {e}"));
    assert_eq!(judgment.rating, Rating::No, "{language}");
    assert_eq!(
        judgment.rationale, "3 words, over the limit of 2.",
        "{language}"
    );
    assert!(llm.requests().is_empty(), "{language} called the LLM");

    let default = judge(plugin, json!({}));
    llm.always(&support::verdict("yes", "Short and direct."));
    let outcome = host.judge(&default, &row).await;
    let judgment = outcome
        .judgment
        .unwrap_or_else(|e| panic!("{language}: {e}"));
    assert_eq!(
        (judgment.rating, judgment.rationale.as_str()),
        (Rating::Yes, "Short and direct."),
        "{language}"
    );
    assert_eq!(outcome.usage.llm_calls, 1);
    let request = llm.requests().pop().unwrap();
    assert_eq!(request.judge.as_deref(), Some("conciseness"), "{language}");
    assert!(
        request
            .last_user()
            .contains("<response>\nIt is 4.\n</response>"),
        "{language}"
    );
    assert_eq!(
        request.body["response_format"]["type"], "json_schema",
        "{language}"
    );

    llm.always("Here you go:\n```json\n{\"rationale\": \"Rambles.\", \"result\": \"No\"}\n```");
    let judgment = host.judge(&default, &row).await.judgment.unwrap();
    assert_eq!(
        (judgment.rating, judgment.rationale.as_str()),
        (Rating::No, "Rambles."),
        "{language}"
    );

    llm.always("I refuse to grade this.");
    let failure = host.judge(&default, &row).await.judgment.unwrap_err();
    assert_eq!(
        failure.kind,
        FailureKind::Guest(JudgeError::UnparsableAnswer(
            "I refuse to grade this.\n--- asked to answer again in the required form, it answered:\nI refuse to grade this.".into()
        )),
        "{language}"
    );

    llm.script(|_| Reply::Status(503, "overloaded".into()));
    let failure = host.judge(&default, &row).await.judgment.unwrap_err();
    match failure.kind {
        FailureKind::Guest(JudgeError::Llm(LlmError::Upstream(message))) => {
            assert!(
                message.contains("HTTP 503") && message.contains("overloaded"),
                "{language}: {message}"
            )
        }
        other => panic!("{language}: {other:?}"),
    }

    // Few-shot examples reach the LLM the same way from every language.
    llm.always(&support::verdict("yes", "Fine."));
    let with_examples = Judge::new(
        plugin.clone(),
        Settings {
            examples: vec![Example {
                row: support::row(
                    json!({"request": "Capital of France?", "response": "Paris, which is a city in France, in Europe, on Earth."}),
                ),
                verdict: Verdict::No,
                rationale: "Padded.".into(),
            }],
            ..Settings::default()
        },
    );
    host.judge(&with_examples, &row).await.judgment.unwrap();
    llm.requests().into_iter().map(|r| r.body).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_judge_behaves_the_same_in_rust_python_and_javascript() {
    let llm = TestLlm::start().await;
    let host = support::host(&llm);
    let mut bodies = Vec::new();
    for (language, path) in examples() {
        let plugin = host
            .load_file(&path)
            .await
            .unwrap_or_else(|e| panic!("{language}: {e}"));
        bodies.push((language, check(language, &plugin, &host, &llm).await));
    }
    let (_, rust) = &bodies[0];
    for (language, requests) in &bodies[1..] {
        assert_eq!(requests, rust, "{language} sent other requests than rust");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn large_components_load_from_the_compiled_cache_the_second_time() {
    let llm = TestLlm::start().await;
    for (language, path) in examples() {
        let first = support::host(&llm).load_file(&path).await.unwrap();
        let started = Instant::now();
        let second = support::host(&llm).load_file(&path).await.unwrap();
        let cached_load = started.elapsed();
        assert!(second.from_cache(), "{language} was compiled again");
        eprintln!(
            "{language}: {} KB component, second load {:.1} ms (first from cache: {})",
            std::fs::metadata(&path).unwrap().len() >> 10,
            cached_load.as_secs_f64() * 1e3,
            first.from_cache()
        );
    }
    // Without a cache every load compiles.
    let host = Host::new(HostOptions {
        cache_dir: None,
        ..HostOptions::default()
    })
    .unwrap();
    assert!(
        !host
            .load_file(&components::rust_example())
            .await
            .unwrap()
            .from_cache()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_example_fits_the_default_sandbox_limits() {
    let llm = TestLlm::start().await;
    let host = support::host(&llm);
    for (language, path) in examples() {
        let plugin = host.load_file(&path).await.unwrap();
        let judge = judge(&plugin, json!({}));
        assert_eq!(judge.limits(), &Limits::DEFAULT);
        let row = support::row(json!({"request": "q", "response": "a"}));
        let outcome = host.judge(&judge, &row).await.judgment;
        assert!(outcome.is_ok(), "{language}: {outcome:?}");
    }
}
