//! The `gavel` binary: `judges list` and `judge`, their output, error
//! messages and exit codes.

use serde_json::{Value, json};

use crate::support::{self, Reply, TestLlm, components, gavel};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn judges_list_shows_builtins_and_configured_judges() {
    let dir = tempdir();
    let plugin = components::rust_example();
    std::fs::write(
        dir.path().join("gavel.toml"),
        format!(
            "[judges.no_pii]\nprompt = \"Any PII in {{response}}?\"\n\n[judges.concise]\nplugin = {:?}\n",
            plugin.display().to_string()
        ),
    )
    .unwrap();
    let out = gavel(dir.path(), &["judges", "list"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("NAME")
            && lines[0].contains("REQUIRED INPUTS")
            && lines[0].ends_with("SOURCE")
    );
    let names: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "correctness",
            "relevance_to_query",
            "groundedness",
            "safety",
            "guideline_adherence",
            "global_guideline_adherence",
            "chunk_relevance",
            "context_sufficiency",
            "answer_similarity",
            "no_pii",
            "concise",
            "flesch_kincaid_grade_level",
            "ari_grade_level",
            "exact_match",
            "token_count",
            "latency"
        ]
    );
    assert!(
        lines[1].contains("request, response, expected_response|expected_facts")
            && lines[1].ends_with("built-in")
    );
    assert!(lines[10].contains("prompt (gavel.toml)"));
    assert!(lines[11].contains("1.0.0") && lines[11].ends_with("gavel_example_rust_judge.wasm"));

    let out = gavel(dir.path(), &["judges", "list", "--json"], &[]).await;
    let first: Value = serde_json::from_str(out.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(
        first,
        json!({"name": "correctness", "version": "0.1.0", "assessment_type": "answer",
               "required_inputs": ["request", "response", "expected_response|expected_facts"], "source": "built-in"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn judge_prints_the_verdict_and_exits_0_for_yes_and_1_for_no() {
    let llm = TestLlm::start().await;
    llm.always(&support::verdict("yes", "A friendly greeting."));
    let dir = tempdir();
    let url = llm.base_url();
    let args = [
        "judge",
        "safety",
        "--request",
        "Hi",
        "--response",
        "Hello!",
        "--judge-base-url",
        &url,
        "--judge-model",
        "local",
    ];
    let out = gavel(dir.path(), &args, &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "safety: yes");
    assert_eq!(lines[1], "  A friendly greeting.");
    assert!(lines[2].starts_with("  (1 LLM call, "), "{}", lines[2]);
    let request = &llm.requests()[0];
    assert_eq!(request.judge.as_deref(), Some("safety"));
    assert_eq!(request.body["model"], "local");
    let run = request.run.clone().unwrap();
    assert!(run.len() == 20 && run.as_bytes()[8] == b'-', "run id {run}");
    assert_eq!(request.authorization, None, "no key configured, none sent");

    // The same call again is answered from the response cache...
    llm.always(&support::verdict("no", "It insults the user."));
    let out = gavel(dir.path(), &args, &[]).await;
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains("(1 LLM call, "),
        "the judgment's own cost is reported"
    );
    assert_eq!(llm.requests().len(), 1, "no second request");
    // ... unless the cache is bypassed.
    let mut uncached = args.to_vec();
    uncached.push("--no-cache");
    let out = gavel(dir.path(), &uncached, &[]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .starts_with("safety: no\n  It insults the user.\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn judge_json_output_and_retrieved_context_files() {
    let llm = TestLlm::start().await;
    llm.script(|request| {
        if request.last_user().contains("Spark") {
            Reply::Content(support::verdict("no", "Unrelated."))
        } else {
            Reply::Content(support::verdict("yes", "Relevant."))
        }
    });
    let dir = tempdir();
    std::fs::write(
        dir.path().join("chunks.json"),
        r#"[{"content": "MLflow tracks experiments.", "doc_uri": "a.md"}, {"content": "Spark is fast.", "doc_uri": "b.md"}]"#,
    )
    .unwrap();
    let url = llm.base_url();
    let out = gavel(
        dir.path(),
        &[
            "judge",
            "chunk_relevance",
            "--request",
            "What is MLflow?",
            "--retrieved-context",
            "chunks.json",
            "--judge-base-url",
            &url,
            "--json",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let judgment: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(judgment["judge"], "chunk_relevance");
    assert_eq!(judgment["plugin"], "chunk_relevance@0.1.0");
    assert_eq!(judgment["rating"], "yes");
    assert_eq!(judgment["precision"], 0.5);
    assert_eq!(
        judgment["chunks"][1],
        json!({"rating": "no", "score": null, "rationale": "Unrelated."})
    );
    assert_eq!(judgment["usage"]["llm_calls"], 2);

    let out = gavel(
        dir.path(),
        &[
            "judge",
            "chunk_relevance",
            "--request",
            "What is MLflow?",
            "--retrieved-context",
            "chunks.json",
            "--judge-base-url",
            &url,
        ],
        &[],
    )
    .await;
    assert!(
        out.stdout
            .starts_with("chunk_relevance: yes (precision 0.50)\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("  chunk 2: no  Unrelated.\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_exits_2_with_a_message_that_says_what_to_do() {
    let llm = TestLlm::start().await;
    let url = llm.base_url();
    let dir = tempdir();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "judge",
                "correctness",
                "--request",
                "q",
                "--response",
                "a",
                "--judge-base-url",
                &url,
            ],
            "error: judge 'correctness' needs more inputs: pass --expected-response or --expected-facts",
        ),
        (
            vec!["judge", "nope", "--request", "q", "--judge-base-url", &url],
            "error: no judge named 'nope'; the judges are: correctness, relevance_to_query, groundedness",
        ),
        (
            vec![
                "judge",
                "chunk_relevance",
                "--request",
                "q",
                "--retrieved-context",
                "missing.json",
                "--judge-base-url",
                &url,
            ],
            "error: cannot read --retrieved-context file missing.json: No such file or directory",
        ),
        (
            vec!["judges", "list", "--config", "absent.toml"],
            "error: absent.toml: cannot read it: No such file or directory",
        ),
    ];
    for (args, message) in cases {
        let out = gavel(dir.path(), &args, &[]).await;
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.starts_with(message), "{args:?}:\n{}", out.stderr);
    }
    assert!(llm.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_config_names_the_file_and_line() {
    let dir = tempdir();
    std::fs::write(
        dir.path().join("gavel.toml"),
        "[judges.tone]\nprompt = \"x\"\nthresold = 4\n",
    )
    .unwrap();
    let out = gavel(dir.path(), &["judges", "list"], &[]).await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with("error: gavel.toml: TOML parse error at line 3, column 1"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("unknown field `thresold`"));

    let cases = [
        (
            "[judges.tone]\nthreshold = 4\n",
            "error: gavel.toml: [judges.tone]: 'tone' is not a built-in judge, so it needs a `prompt` or a `plugin`",
        ),
        (
            "[judges.safety]\nprompt = \"x\"\n",
            "error: gavel.toml: [judges.safety]: 'safety' is a built-in judge; give your custom judge another name",
        ),
        (
            "[judges.tone]\nprompt = \"x\"\nendpoint = \"big\"\n",
            "error: gavel.toml: [judges.tone]: endpoint 'big' is not defined; add an [endpoints.big] table",
        ),
        (
            "[judges.tone]\nprompt = \"x\"\nthreshold = 7\n",
            "error: gavel.toml: [judges.tone]: `threshold` = 7; scores run from 1 to 5, so use 0-5",
        ),
        (
            "[judges.tone]\nprompt = \"x\"\n[judges.tone.limits]\nmemory_mib = 99999\n",
            "error: gavel.toml: [judges.tone]: limits: `memory_mib` = 99999 is above the host's maximum of 1024",
        ),
        (
            "[judges.tone]\nplugin = \"nowhere.wasm\"\n",
            "error: gavel.toml: [judges.tone]: cannot load judge plugin ./nowhere.wasm: No such file or directory",
        ),
        (
            "[judges.Tone]\nprompt = \"x\"\n",
            "error: gavel.toml: [judges.Tone]: a judge name is lowercase letters",
        ),
        (
            "[judges.tone]\nprompt = \"{{> partial}}\"\n",
            "error: gavel.toml: [judges.tone]: `prompt`: partials and decorators",
        ),
    ];
    for (config, message) in cases {
        std::fs::write(dir.path().join("gavel.toml"), config).unwrap();
        let out = gavel(dir.path(), &["judges", "list"], &[]).await;
        assert_eq!(out.code, 2, "{config}");
        assert!(out.stderr.starts_with(message), "{config}:\n{}", out.stderr);
    }

    std::fs::write(dir.path().join("not-a-component.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(
        dir.path().join("gavel.toml"),
        "[judges.tone]\nplugin = \"not-a-component.wasm\"\n",
    )
    .unwrap();
    let out = gavel(dir.path(), &["judges", "list"], &[]).await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.starts_with("error: gavel.toml: [judges.tone]: cannot load judge plugin ./not-a-component.wasm: not a usable WebAssembly component"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_judge_that_fails_exits_3() {
    // Nothing listens on this port once the listener is dropped.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempdir();
    std::fs::write(
        dir.path().join("gavel.toml"),
        format!("[endpoints.judge]\nbase_url = \"http://127.0.0.1:{port}/v1\"\nmodel = \"m\"\nmax_retries = 0\n"),
    )
    .unwrap();
    let out = gavel(
        dir.path(),
        &["judge", "safety", "--request", "q", "--response", "a"],
        &[],
    )
    .await;
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stdout.starts_with("safety: error\n  judge safety@0.1.0 failed: LLM call failed: cannot reach http://127.0.0.1:"), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_key_is_sent_and_never_shown() {
    let llm = TestLlm::start().await;
    let dir = tempdir();
    std::fs::write(
        dir.path().join("gavel.toml"),
        format!(
            "[endpoints.judge]\nbase_url = {:?}\nmodel = \"m\"\napi_key_env = \"GAVEL_TEST_KEY\"\n",
            llm.base_url()
        ),
    )
    .unwrap();
    let secret = "sk-test-0123456789-secret";
    let args = [
        "-vv",
        "judge",
        "safety",
        "--request",
        "q",
        "--response",
        "a",
        "--json",
    ];
    let out = gavel(dir.path(), &args, &[("GAVEL_TEST_KEY", secret)]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        llm.requests()[0].authorization.as_deref(),
        Some(&*format!("Bearer {secret}"))
    );
    assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret));
    assert!(out.stderr.contains("DEBUG"), "debug logging was on");

    let out = gavel(dir.path(), &args[1..], &[]).await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.starts_with("error: environment variable GAVEL_TEST_KEY is not set; endpoint 'judge' reads its API key from it"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_judges_get_their_config() {
    let llm = TestLlm::start().await;
    let dir = tempdir();
    std::fs::write(
        dir.path().join("gavel.toml"),
        format!(
            "[judges.short]\nplugin = {:?}\nconfig = {{ max_words = 2 }}\n",
            components::rust_example().display().to_string()
        ),
    )
    .unwrap();
    let url = llm.base_url();
    let out = gavel(
        dir.path(),
        &[
            "judge",
            "short",
            "--request",
            "q",
            "--response",
            "three whole words",
            "--judge-base-url",
            &url,
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("short: no\n  3 words, over the limit of 2.\n  (0 LLM calls"),
        "{}",
        out.stdout
    );
    assert!(llm.requests().is_empty());
}
