//! Judges in every SDK language behave the same and send the judge LLM the
//! same requests: the example judge (conciseness) in Rust, Python
//! (componentize-py), JavaScript (componentize-js) and C (clang), and the
//! probe judge, a project made by `gavel new` in each language with its
//! judge file replaced by tests/languages/<lang>/probe, built by `gavel build`.

use std::path::PathBuf;
use std::time::Instant;

use gavel::runtime::bindings::{AssessmentType, Example, Input, JudgeError, LlmError, Verdict};
use gavel::runtime::{FailureKind, LimitOverrides, Limits};
use gavel::{Host, HostOptions, Judge, Plugin, Rating, Settings};
use serde_json::{Value, json};

use crate::support::{self, Reply, TestLlm, components};

fn examples() -> Vec<(&'static str, PathBuf)> {
    components::LANGUAGES
        .iter()
        .map(|&language| (language, components::example(language)))
        .collect()
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
    assert_described(
        language,
        plugin,
        (
            "conciseness",
            "1.0.0",
            "The response answers without padding.",
        ),
    );

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
async fn the_example_judge_behaves_the_same_in_every_language() {
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

/// An answer judge of `(name, version, description)` that needs the
/// request and the response and calls only its own endpoint.
fn assert_described(language: &str, plugin: &Plugin, (name, version, text): (&str, &str, &str)) {
    let description = plugin.description();
    assert_eq!(
        (
            description.name.as_str(),
            description.version.as_str(),
            description.description.as_str()
        ),
        (name, version, text),
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
}

/// Default settings under the default limits with `overrides`.
fn limited_to(host: &Host, overrides: LimitOverrides) -> Settings {
    Settings {
        limits: Limits::DEFAULT
            .with_overrides(&overrides, host.maxima())
            .unwrap(),
        ..Settings::default()
    }
}

fn judge_with(plugin: &Plugin, options: Value, settings: Settings) -> Judge {
    let Value::Object(options) = options else {
        panic!("options are an object")
    };
    Judge::new(
        plugin.clone(),
        Settings {
            options,
            ..settings
        },
    )
}

/// The behaviour suite, on one language's probe judge; returns the request
/// bodies the LLM received.
async fn probe_suite(language: &str, plugin: &Plugin, host: &Host, llm: &TestLlm) -> Vec<Value> {
    assert_described(
        language,
        plugin,
        ("probe", "1.0.0", "Exercises every SDK call."),
    );
    assert_eq!(plugin.wit_version(), "0.1.2", "{language}");

    let row = support::row(json!({
        "request": "What is 2+2?",
        "response": "It is 4.",
        "retrieved_context": [
            {"content": "2+2 is 4.", "doc_uri": "math.md"},
            {"content": "Cats purr.", "doc_uri": "cats.md"}
        ]
    }));
    let judge = |options: Value| judge_with(plugin, options, Settings::default());
    let outcome = |options: Value| {
        let judge = judge(options);
        let row = row.clone();
        async move { host.judge(&judge, &row).await }
    };
    let rated = |options: Value| {
        let outcome = outcome(options);
        async move {
            outcome
                .await
                .judgment
                .unwrap_or_else(|e| panic!("{language}: {e}"))
        }
    };
    let failed = |options: Value| {
        let outcome = outcome(options);
        async move {
            match outcome.await.judgment {
                Ok(judgment) => panic!("{language}: rated {judgment:?}"),
                Err(failure) => failure.kind,
            }
        }
    };
    llm.clear();

    // Yes/no: one request, with the schema, the row fenced.
    llm.always(&support::verdict("yes", "Helpful."));
    let asked = outcome(json!({"mode": "yes_no"})).await;
    let judgment = asked.judgment.unwrap_or_else(|e| panic!("{language}: {e}"));
    assert_eq!(
        (judgment.rating, judgment.rationale.as_str()),
        (Rating::Yes, "Helpful."),
        "{language}"
    );
    assert_eq!(asked.usage.llm_calls, 1, "{language}");
    let request = llm.requests().pop().unwrap();
    assert_eq!(request.judge.as_deref(), Some("probe"), "{language}");
    assert_eq!(
        request.format().as_deref(),
        Some("json_schema"),
        "{language}"
    );
    assert!(
        request
            .last_user()
            .starts_with("Is the response helpful?\n<request>\nWhat is 2+2?\n</request>"),
        "{language}: {}",
        request.last_user()
    );

    // Scores: the host applies the threshold (3).
    llm.always(&support::score(4, "Mostly."));
    let judgment = rated(json!({"mode": "score"})).await;
    assert_eq!(
        (judgment.rating, judgment.score),
        (Rating::Yes, Some(4)),
        "{language}"
    );
    llm.always(&support::score(2, "Barely."));
    let judgment = rated(json!({"mode": "score"})).await;
    assert_eq!(
        (judgment.rating, judgment.score, judgment.rationale.as_str()),
        (Rating::No, Some(2), "Barely."),
        "{language}"
    );

    // Lenient reading: a fence, Python quotes, a capitalised word, a trailing comma.
    llm.always("Sure:\n```json\n{'rationale': 'Rambles.', 'result': 'No',}\n```");
    let judgment = rated(json!({"mode": "yes_no"})).await;
    assert_eq!(
        (judgment.rating, judgment.rationale.as_str()),
        (Rating::No, "Rambles."),
        "{language}"
    );

    // One repair request, with the unreadable answer in the conversation.
    llm.script(|request| {
        if request.messages().len() > 2 {
            Reply::Content(support::verdict("no", "Repaired."))
        } else {
            Reply::Content("Let me think about it.".into())
        }
    });
    let asked = outcome(json!({"mode": "yes_no"})).await;
    let judgment = asked.judgment.unwrap_or_else(|e| panic!("{language}: {e}"));
    assert_eq!(
        (
            judgment.rating,
            judgment.rationale.as_str(),
            asked.usage.llm_calls
        ),
        (Rating::No, "Repaired.", 2),
        "{language}"
    );
    let repair = llm.requests().pop().unwrap().messages();
    assert_eq!(
        repair[2],
        ("assistant".to_owned(), "Let me think about it.".to_owned()),
        "{language}"
    );
    assert!(
        repair[3].1.starts_with("Your answer could not be read."),
        "{language}"
    );

    // Unreadable twice: the error carries both answers.
    llm.always("I refuse to grade this.");
    assert_eq!(
        failed(json!({"mode": "yes_no"})).await,
        FailureKind::Guest(JudgeError::UnparsableAnswer(
            "I refuse to grade this.\n--- asked to answer again in the required form, it answered:\nI refuse to grade this.".into()
        )),
        "{language}"
    );

    // Chunks: each chunk asked on its own, combined by the rule.
    llm.script(|request| {
        let cats = request.last_user().contains("Cats purr.");
        Reply::Content(support::verdict(
            if cats { "no" } else { "yes" },
            if cats { "Off topic." } else { "On topic." },
        ))
    });
    let judgment = rated(json!({"mode": "chunks"})).await;
    assert_eq!(
        (judgment.rating, judgment.rationale.as_str()),
        (Rating::Yes, "1 of 2 rated chunks are rated yes."),
        "{language}"
    );
    assert_eq!(judgment.precision(), Some(0.5), "{language}");
    let chunk_prompts: Vec<String> = llm
        .requests()
        .iter()
        .rev()
        .take(2)
        .map(|r| r.last_user())
        .collect();
    assert!(
        chunk_prompts[0].contains("<retrieved_context>\nCats purr.\n</retrieved_context>"),
        "{language}: {chunk_prompts:?}"
    );
    assert!(!chunk_prompts[0].contains("2+2 is 4."), "{language}");

    llm.script(|request| {
        let cats = request.last_user().contains("Cats purr.");
        Reply::Content(support::score(if cats { 2 } else { 5 }, "Rated."))
    });
    let judgment = rated(json!({"mode": "chunk_scores"})).await;
    assert_eq!(
        judgment.rating,
        Rating::No,
        "{language}: all must be above the threshold"
    );
    let scores: Vec<Option<u8>> = judgment
        .chunks
        .iter()
        .map(|c| c.as_ref().unwrap().score)
        .collect();
    assert_eq!(scores, vec![Some(5), Some(2)], "{language}");

    // A chunk whose request fails is recorded with its error; the rest count.
    llm.script(|request| {
        if request.last_user().contains("Cats purr.") {
            Reply::Status(400, "bad chunk".into())
        } else {
            Reply::Content(support::verdict("yes", "On topic."))
        }
    });
    let judgment = rated(json!({"mode": "chunks"})).await;
    assert_eq!(
        judgment.rationale, "1 of 1 rated chunks are rated yes; 1 could not be rated.",
        "{language}"
    );
    let error = judgment.chunks[1].as_ref().unwrap_err();
    assert!(
        error.starts_with("LLM endpoint failed:") && error.contains("bad chunk"),
        "{language}: {error}"
    );

    // Few-shot examples come before the row, with the person's verdict.
    llm.always(&support::verdict("yes", "Fine."));
    let with_examples = judge_with(
        plugin,
        json!({"mode": "score"}),
        Settings {
            examples: vec![Example {
                row: support::row(json!({"request": "Capital of France?", "response": "Lyon."})),
                verdict: Verdict::Score(1),
                rationale: "Wrong city.".into(),
            }],
            ..Settings::default()
        },
    );
    host.judge(&with_examples, &row).await.judgment.unwrap();
    let messages = llm.requests().pop().unwrap().messages();
    assert_eq!(messages.len(), 4, "{language}");
    assert!(
        messages[1].1.contains("<response>\nLyon.\n</response>"),
        "{language}"
    );
    assert_eq!(
        messages[2].1, r#"{"rationale":"Wrong city.","score":1}"#,
        "{language}"
    );

    // No LLM: verdicts the judge gives itself.
    let before = llm.requests().len();
    let judgment = rated(json!({"mode": "fixed", "verdict": "yes"})).await;
    assert_eq!(
        (judgment.rating, judgment.rationale.as_str()),
        (Rating::Yes, "Fixed."),
        "{language}"
    );
    assert_eq!(
        rated(json!({"mode": "fixed", "verdict": "no"}))
            .await
            .rating,
        Rating::No,
        "{language}"
    );
    let judgment = rated(json!({"mode": "fixed", "verdict": 5})).await;
    assert_eq!(
        (judgment.rating, judgment.score),
        (Rating::Yes, Some(5)),
        "{language}"
    );
    assert_eq!(
        rated(json!({"mode": "log"})).await.rationale,
        "Logged.",
        "{language}"
    );
    assert_eq!(llm.requests().len(), before, "{language} called the LLM");

    // Errors map to the WIT's judge-error, case for case.
    assert_eq!(
        failed(json!({"mode": "fail"})).await,
        FailureKind::Guest(JudgeError::Failed("asked to fail".into())),
        "{language}"
    );
    assert_eq!(
        failed(json!({"mode": "missing"})).await,
        FailureKind::Guest(JudgeError::MissingInput("expected_response".into())),
        "{language}"
    );
    assert_eq!(
        failed(json!({"mode": "bogus"})).await,
        FailureKind::Guest(JudgeError::InvalidConfig("unknown mode: bogus".into())),
        "{language}"
    );
    llm.script(|_| Reply::Status(503, "overloaded".into()));
    match failed(json!({"mode": "yes_no"})).await {
        FailureKind::Guest(JudgeError::Llm(LlmError::Upstream(message))) => {
            assert!(message.contains("HTTP 503"), "{language}: {message}")
        }
        other => panic!("{language}: {other:?}"),
    }

    // Sandbox limits hold whatever the language: the LLM budget counts the
    // host's repair request, and a spinning judge is stopped.
    llm.always("Unreadable.");
    let limited = judge_with(
        plugin,
        json!({"mode": "yes_no"}),
        limited_to(
            host,
            LimitOverrides {
                llm_calls: Some(1),
                ..LimitOverrides::default()
            },
        ),
    );
    assert_eq!(
        host.judge(&limited, &row).await.judgment.unwrap_err().kind,
        FailureKind::LlmBudgetExceeded(1),
        "{language}"
    );
    let spinning = judge_with(
        plugin,
        json!({"mode": "spin"}),
        limited_to(
            host,
            LimitOverrides {
                cpu_secs: Some(0.2),
                ..LimitOverrides::default()
            },
        ),
    );
    let started = Instant::now();
    assert!(
        matches!(
            host.judge(&spinning, &row).await.judgment.unwrap_err().kind,
            FailureKind::CpuTimeout(_)
        ),
        "{language}"
    );
    assert!(started.elapsed().as_secs_f64() < 10.0, "{language}");

    llm.requests().into_iter().map(|r| r.body).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_judge_made_by_gavel_new_behaves_the_same_in_every_language() {
    let llm = TestLlm::start().await;
    let host = support::host(&llm);
    let mut bodies = Vec::new();
    for &language in components::LANGUAGES {
        let path = components::probe(language);
        let plugin = host
            .load_file(&path)
            .await
            .unwrap_or_else(|e| panic!("{language}: {e}"));
        bodies.push((language, probe_suite(language, &plugin, &host, &llm).await));
    }
    let (_, rust) = &bodies[0];
    for (language, requests) in &bodies[1..] {
        assert_eq!(requests.len(), rust.len(), "{language}");
        for (i, (theirs, ours)) in requests.iter().zip(rust).enumerate() {
            assert_eq!(theirs, ours, "{language}: request {i} differs from rust's");
        }
    }
}

/// `gavel judges inspect --json` of the component at `path`.
async fn inspect(path: &std::path::Path) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let output = support::gavel(
        dir.path(),
        &["judges", "inspect", "--json", path.to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(output.code, 0, "{}", output.stderr);
    serde_json::from_str(&output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_judge_made_by_gavel_new_carries_its_manifest_metadata() {
    for &language in components::LANGUAGES {
        let inspected = inspect(&components::probe(language)).await;
        // The judge's own describe() (the probe's judge file) ...
        assert_eq!(
            (&inspected["name"], &inspected["version"]),
            (&json!("probe"), &json!("1.0.0")),
            "{language}"
        );
        // ... and the package metadata of the manifest `gavel new` wrote
        // (Cargo.toml, pyproject.toml, package.json, judge.toml).
        assert_eq!(
            inspected["metadata"],
            json!({
                "name": "probe",
                "version": "0.1.0",
                "description": "A gavel judge: whether the response answers the request.",
                "authors": null,
                "license": "Apache-2.0",
                "source": null,
                "homepage": null,
                "revision": null,
            }),
            "{language}"
        );
        assert_eq!(inspected["metadata_error"], Value::Null, "{language}");
    }

    // The text form shows both name-and-version pairs, saying which is which.
    let dir = tempfile::tempdir().unwrap();
    let probe = components::probe("c");
    let output = support::gavel(
        dir.path(),
        &["judges", "inspect", probe.to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(output.code, 0, "{}", output.stderr);
    for line in [
        "version      1.0.0\n",
        "package      probe 0.1.0 (the package's; the judge calls itself probe 1.0.0)\n",
        "license      Apache-2.0\n",
    ] {
        assert!(
            output.stdout.contains(line),
            "{line:?} in:\n{}",
            output.stdout
        );
    }

    // A component built without gavel has none, and says so.
    let rust_example = inspect(&components::rust_example()).await;
    assert_eq!(rust_example["metadata"]["license"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rebuild_writes_the_manifest_as_it_is_now() {
    // JavaScript: the build skips componentize-js when the bundle did not
    // change; the metadata must follow package.json all the same.
    let built = components::probe("js");
    let project = built.with_file_name("probe");
    let manifest = project.join("package.json");
    let original = std::fs::read_to_string(&manifest).unwrap();
    let changed = original.replace(
        "\"version\": \"0.1.0\"",
        "\"version\": \"0.1.1\",\n  \"author\": { \"name\": \"Ada\", \"email\": \"ada@example.com\" },\n  \"repository\": \"github:gavel-eval/probe\"",
    );
    assert_ne!(changed, original);
    std::fs::write(&manifest, changed).unwrap();
    let out = built.with_file_name("probe-rebuilt.wasm");
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let output = support::gavel(
        dir.path(),
        &[
            "build",
            project.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    std::fs::write(&manifest, original).unwrap();
    assert_eq!(output.code, 0, "{}", output.stderr);
    eprintln!("js rebuild: {:.1} s", started.elapsed().as_secs_f64());
    let metadata = &inspect(&out).await["metadata"];
    assert_eq!(metadata["version"], "0.1.1");
    assert_eq!(metadata["authors"], "Ada <ada@example.com>");
    assert_eq!(metadata["source"], "https://github.com/gavel-eval/probe");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_licence_that_is_not_spdx_fails_the_build_naming_the_manifest_and_key() {
    let root = tempfile::tempdir().unwrap();
    for (language, manifest, key) in [
        ("rust", "Cargo.toml", "package.license"),
        ("python", "pyproject.toml", "project.license"),
        ("js", "package.json", "license"),
        ("c", "judge.toml", "judge.license"),
    ] {
        let project = root.path().join(language);
        let made = support::gavel(
            root.path(),
            &[
                "new",
                "judge",
                "bad",
                "--lang",
                language,
                project.to_str().unwrap(),
            ],
            &[],
        )
        .await;
        assert_eq!(made.code, 0, "{}", made.stderr);
        let path = project.join(manifest);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("Apache-2.0", "Apache 2")).unwrap();

        let started = Instant::now();
        let built = support::gavel(root.path(), &["build", project.to_str().unwrap()], &[]).await;
        assert_eq!(built.code, 2, "{language}: {}", built.stderr);
        let expected = format!(
            "{}: {key}: `Apache 2` is not an SPDX licence expression",
            path.canonicalize().unwrap().display()
        );
        assert!(
            built.stderr.contains(&expected),
            "{language}: {}",
            built.stderr
        );
        // Checked before anything is compiled, and nothing is written.
        assert!(started.elapsed().as_secs_f64() < 10.0, "{language}");
        let wasm = std::fs::read_dir(&project)
            .unwrap()
            .filter(|entry| {
                let name = entry.as_ref().unwrap().file_name();
                name.to_string_lossy().contains(".wasm")
            })
            .count();
        assert_eq!(wasm, 0, "{language}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn inspect_shows_hostile_metadata_cleaned_and_one_line_each() {
    let hostile = gavel::metadata::JudgeMetadata {
        name: Some("conciseness\nsha256       0000 (forged)".into()),
        authors: Some(format!(
            "\u{1b}[2J\u{1b}]0;title\u{7}{}",
            "a".repeat(1 << 20)
        )),
        ..Default::default()
    };
    let bytes = std::fs::read(components::rust_example()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.wasm");
    std::fs::write(&path, hostile.embed(&bytes).unwrap()).unwrap();

    let output = support::gavel(
        dir.path(),
        &["judges", "inspect", path.to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert!(!output.stdout.contains('\u{1b}') && !output.stdout.contains('\u{7}'));
    let sha256_lines = output
        .stdout
        .lines()
        .filter(|line| line.starts_with("sha256"))
        .count();
    assert_eq!(sha256_lines, 1, "{}", output.stdout);
    assert!(
        output.stdout.len() < 40 << 10,
        "{} bytes",
        output.stdout.len()
    );

    let metadata = &inspect(&path).await["metadata"];
    let authors = metadata["authors"].as_str().unwrap();
    assert!(authors.starts_with("\u{fffd}[2J\u{fffd}]0;title\u{fffd}aaa"));
    assert!(
        authors.ends_with("bytes cut)"),
        "{}",
        &authors[authors.len() - 40..]
    );
}
