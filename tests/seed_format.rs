//! What a Databricks or MLflow user brings, read as the reference documents
//! write it (issue 16): retrieved chunks with only a `doc_uri`, custom
//! judges' `assessment_type = "ANSWER"`, few-shot examples for
//! chunk_relevance in list form, named guidelines with
//! `guidelines_context`, and columns mapped to fields. The real binary, a
//! scripted LLM server that records every request.

use serde_json::{Value, json};

use crate::support::{
    self, GavelOutput, Recorded, Reply, TestLlm, gavel, read_metrics, read_results, write_jsonl,
};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// `gavel eval ARGS --judge-base-url URL` in `dir`, into `dir/run` unless
/// ARGS name another `--out`.
async fn eval(dir: &std::path::Path, llm: &TestLlm, args: &[&str]) -> GavelOutput {
    let url = llm.base_url();
    let mut all: Vec<&str> = vec!["eval"];
    all.extend_from_slice(args);
    if !args.contains(&"--out") {
        all.extend_from_slice(&["--out", "run"]);
    }
    all.extend_from_slice(&["--judge-base-url", &url]);
    gavel(dir, &all, &[]).await
}

fn requests_of(llm: &TestLlm, judge: &str) -> Vec<Recorded> {
    llm.requests()
        .into_iter()
        .filter(|r| r.judge.as_deref() == Some(judge))
        .collect()
}

/// Reference 001's complete evaluation set with pre-computed outputs, its
/// retrieved chunks without `content` (which the reference makes
/// optional); and a row without ground truth whose chunks are mixed.
fn doc_uri_rows() -> Vec<Value> {
    vec![
        json!({
            "request_id": "your-request-id",
            "request": "What is the difference between reduceByKey and groupByKey in Spark?",
            "expected_retrieved_context": [
                {"content": "Answer segment 1 related to What is the difference between reduceByKey and groupByKey in Spark?", "doc_uri": "doc_uri_2_1"},
                {"content": "Answer segment 2 related to What is the difference between reduceByKey and groupByKey in Spark?", "doc_uri": "doc_uri_2_2"},
            ],
            "expected_response": "There's no significant difference.",
            "response": "reduceByKey aggregates data before shuffling, whereas groupByKey shuffles all data, making reduceByKey more efficient.",
            "retrieved_context": [{"doc_uri": "doc_uri_2_1"}, {"doc_uri": "doc_uri_6_extra"}],
            "guidelines": ["The response must be in English"],
        }),
        json!({
            "request_id": "mixed",
            "request": "MIXED What is the difference between reduceByKey and groupByKey in Spark?",
            "response": "reduceByKey aggregates data before shuffling.",
            "retrieved_context": [
                {"doc_uri": "doc_uri_2_1"},
                {"content": "groupByKey may lead to inefficient data shuffling due to sending all values across the network.", "doc_uri": "doc_uri_6_extra"},
            ],
            "expected_retrieved_context": [{"doc_uri": "doc_uri_2_1"}],
        }),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn chunks_without_content_are_not_judged_and_count_for_document_recall() {
    let llm = TestLlm::start().await;
    let dir = tempdir();
    write_jsonl(&dir.path().join("set.jsonl"), &doc_uri_rows());
    let out = eval(dir.path(), &llm, &["set.jsonl"]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let results = read_results(&dir.path().join("run"));

    // Row 1: no chunk has content, so the judges of retrieved context do
    // not run (not an error); the others do, and recall is computed.
    let first = &results[0];
    assert_eq!(first["retrieval/ground_truth/document_recall"], 0.5);
    assert_eq!(first["response/llm_judged/correctness/rating"], "yes");
    for judge in ["context_sufficiency", "groundedness"] {
        assert_eq!(
            first["skipped_judges"][judge], "needs retrieved_context with content",
            "{first:?}"
        );
        assert!(
            !first.keys().any(|k| k.contains(&format!("/{judge}/"))),
            "{judge} has results: {first:?}"
        );
    }
    assert!(
        llm.requests()
            .iter()
            .all(|r| r.judge.as_deref() != Some("context_sufficiency")),
        "context_sufficiency asked the LLM"
    );
    assert_eq!(
        first["retrieved_context"],
        doc_uri_rows()[0]["retrieved_context"],
        "the input is kept"
    );

    // Row 2: chunk_relevance and groundedness see only the chunk with
    // content; its ratings follow that chunk.
    let mixed = &results[1];
    assert_eq!(mixed["retrieval/ground_truth/document_recall"], 1.0);
    assert_eq!(
        mixed["retrieval/llm_judged/chunk_relevance/ratings"],
        json!(["yes"])
    );
    assert_eq!(mixed["retrieval/llm_judged/chunk_relevance/precision"], 1.0);
    let chunk_requests = requests_of(&llm, "chunk_relevance");
    assert_eq!(chunk_requests.len(), 1);
    assert!(
        chunk_requests[0]
            .last_user()
            .contains("groupByKey may lead to inefficient")
    );
    let grounded = requests_of(&llm, "groundedness");
    assert_eq!(
        grounded.len(),
        1,
        "only the mixed row is judged for groundedness"
    );
    assert!(
        !grounded[0].last_user().contains("doc_uri_2_1"),
        "{}",
        grounded[0].last_user()
    );

    let metrics = read_metrics(&dir.path().join("run"));
    assert_eq!(
        metrics["retrieval/ground_truth/document_recall/average"],
        0.75
    );
    assert_eq!(metrics["response/llm_judged/groundedness/error_count"], 0);
    assert_eq!(
        metrics["response/llm_judged/groundedness/rating/percentage"],
        1.0
    );

    // A chunk with neither field is still an error naming it.
    write_jsonl(
        &dir.path().join("bad.jsonl"),
        &[json!({"request": "q", "retrieved_context": [{"doc_uri": "a"}, {}]})],
    );
    let out = eval(dir.path(), &llm, &["bad.jsonl", "--out", "bad"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "bad.jsonl, line 1, field `retrieved_context[1]`: needs a `doc_uri` or a `content`"
        ),
        "{}",
        out.stderr
    );
}

/// Reference 002's custom judge, `metric_metadata={"assessment_type":
/// "ANSWER"}`, and a retrieval judge spelled the same way.
#[tokio::test(flavor = "multi_thread")]
async fn custom_judges_take_the_references_uppercase_assessment_types() {
    let llm = TestLlm::start().await;
    llm.script(|request| {
        let prompt = request.last_user();
        match request.judge.as_deref() {
            Some("no_pii") if prompt.contains("noreply@databricks.com") => {
                Reply::Content(support::score(1, "An email address."))
            }
            _ => Reply::Content(support::score(5, "Fine.")),
        }
    });
    let dir = tempdir();
    std::fs::write(
        dir.path().join("gavel.toml"),
        r#"
[judges.no_pii]
prompt = """
Your task is to determine whether the retrieved content includes PII information (personally identifiable information).

You should output a 5 if there is no PII, a 1 if there is PII. This was the content: '{response}'"""
assessment_type = "ANSWER"

[judges.chunk_on_topic]
prompt = "Output 5 if this chunk is about Spark, 1 if not: {retrieved_context}"
assessment_type = "RETRIEVAL"
"#,
    )
    .unwrap();
    write_jsonl(
        &dir.path().join("set.jsonl"),
        &[
            json!({"request": "What is Spark?",
                   "response": "Spark is a data analytics framework. And my email address is noreply@databricks.com",
                   "retrieved_context": [{"content": "Spark is an analytics engine.", "doc_uri": "a"}]}),
            json!({"request": "How do I convert a Spark DataFrame to Pandas?",
                   "response": "This is not possible as Spark is not a panda."}),
        ],
    );
    let out = eval(
        dir.path(),
        &llm,
        &["set.jsonl", "--judges", "no_pii,chunk_on_topic"],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let results = read_results(&dir.path().join("run"));
    assert_eq!(results[0]["response/llm_judged/no_pii/rating"], "no");
    assert_eq!(results[1]["response/llm_judged/no_pii/rating"], "yes");
    assert_eq!(
        results[0]["retrieval/llm_judged/chunk_on_topic/ratings"],
        json!(["yes"])
    );

    std::fs::write(
        dir.path().join("gavel.toml"),
        "[judges.no_pii]\nprompt = \"{response}\"\nassessment_type = \"ANSWERS\"\n",
    )
    .unwrap();
    let out = eval(dir.path(), &llm, &["set.jsonl", "--out", "bad"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "gavel.toml: [judges.no_pii]: `assessment_type` = \"ANSWERS\": use \"answer\" or \"retrieval\" (in any case)"
        ),
        "{}",
        out.stderr
    );
}

/// Reference 002's three few-shot examples (a DataFrame of columns there),
/// written as rows: chunk_relevance takes their per-chunk lists.
fn reference_examples() -> Vec<Value> {
    let row = |request: &str,
               response: &str,
               uri: &str,
               content: &str,
               expected: &str,
               correct: (&str, &str),
               grounded: (&str, &str)| {
        json!({
            "request": request,
            "response": response,
            "retrieved_context": [{"doc_uri": uri, "content": content}],
            "expected_response": expected,
            "response/llm_judged/correctness/rating": correct.0,
            "response/llm_judged/correctness/rationale": correct.1,
            "response/llm_judged/groundedness/rating": grounded.0,
            "response/llm_judged/groundedness/rationale": grounded.1,
            "retrieval/llm_judged/chunk_relevance/ratings": ["Yes"],
            "retrieval/llm_judged/chunk_relevance/rationales": ["Correct document was retrieved."],
        })
    };
    vec![
        row(
            "What is Spark?",
            "Spark is a data analytics framework.",
            "context1.txt",
            "In 2013, Spark, a data analytics framework, was open sourced by UC Berkeley's AMPLab.",
            "Spark is a data analytics framework.",
            (
                "Yes",
                "The response correctly defines Spark given the context.",
            ),
            (
                "Yes",
                "The response correctly defines Spark given the context.",
            ),
        ),
        row(
            "How do I convert a Spark DataFrame to Pandas?",
            "This is not possible as Spark is not a panda.",
            "context2.txt",
            "To convert a Spark DataFrame to Pandas, you can use the toPandas() method.",
            "To convert a Spark DataFrame to Pandas, you can use the toPandas() method.",
            (
                "No",
                "This is an incorrect response as Spark can be converted to Pandas using the toPandas() method.",
            ),
            ("No", "The response is not grounded in the given context."),
        ),
        row(
            "What is Apache Spark?",
            "Apache Spark occurred in the mid-1800s when the Apache people started a fire",
            "context3.txt",
            "Apache Spark is a unified analytics engine for big data processing, with built-in modules for streaming, SQL, machine learning, and graph processing.",
            "Apache Spark is a unified analytics engine for big data processing, with built-in modules for streaming, SQL, machine learning, and graph processing.",
            ("No", "The response is incorrect and irrelevant."),
            ("No", "The response is not grounded in the given context."),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn chunk_relevance_examples_in_list_form_reach_every_chunk_request() {
    let llm = TestLlm::start().await;
    let dir = tempdir();
    write_jsonl(&dir.path().join("examples.jsonl"), &reference_examples());
    std::fs::write(
        dir.path().join("gavel.toml"),
        "[eval]\nexamples = \"examples.jsonl\"\n",
    )
    .unwrap();
    write_jsonl(
        &dir.path().join("set.jsonl"),
        &[
            json!({"request": "What is MLflow?", "response": "An ML platform.",
            "retrieved_context": [
                {"content": "MLflow is an open-source platform for the ML lifecycle.", "doc_uri": "mlflow.md"},
                {"content": "Bananas are yellow.", "doc_uri": "fruit.md"},
            ]}),
        ],
    );
    let out = eval(
        dir.path(),
        &llm,
        &["set.jsonl", "--judges", "chunk_relevance"],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let requests = requests_of(&llm, "chunk_relevance");
    assert_eq!(requests.len(), 2, "one request per chunk");
    for (request, chunk) in requests
        .iter()
        .zip(["MLflow is an open-source", "Bananas are yellow."])
    {
        let messages = request.messages();
        assert_eq!(
            messages.len(),
            8,
            "system, three examples, the chunk: {messages:#?}"
        );
        for (i, example_chunk) in [
            "In 2013, Spark",
            "toPandas() method",
            "unified analytics engine",
        ]
        .iter()
        .enumerate()
        {
            let (role, shown) = &messages[1 + 2 * i];
            assert_eq!(role, "user");
            assert!(
                shown.contains(example_chunk),
                "example {i} shows its own chunk: {shown}"
            );
            assert!(
                !shown.contains(chunk),
                "example {i} shows the asked chunk: {shown}"
            );
            assert!(
                !shown.contains("llm_judged"),
                "output columns are not inputs"
            );
            assert_eq!(
                messages[2 + 2 * i],
                (
                    "assistant".to_owned(),
                    r#"{"rationale":"Correct document was retrieved.","result":"yes"}"#.to_owned()
                )
            );
        }
        assert!(messages[7].1.contains(chunk));
    }
    // The same file gives correctness its examples, one per row.
    llm.clear();
    write_jsonl(
        &dir.path().join("set.jsonl"),
        &[
            json!({"request": "What is MLflow?", "response": "An ML platform.", "expected_response": "An ML platform."}),
        ],
    );
    let out = eval(
        dir.path(),
        &llm,
        &[
            "set.jsonl",
            "--judges",
            "correctness",
            "--out",
            "correctness",
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(requests_of(&llm, "correctness")[0].messages().len(), 8);

    // A malformed list is an error naming the file, line and column.
    let mut bad = reference_examples();
    bad[1]["retrieval/llm_judged/chunk_relevance/ratings"] = json!("Yes");
    write_jsonl(&dir.path().join("examples.jsonl"), &bad);
    let out = eval(
        dir.path(),
        &llm,
        &["set.jsonl", "--judges", "chunk_relevance", "--out", "bad"],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("examples.jsonl, line 2: field `retrieval/llm_judged/chunk_relevance/ratings`: expected a list with one verdict per retrieved chunk, found \"Yes\""),
        "{}",
        out.stderr
    );
}

/// Reference 004's `judges.guideline_adherence(...)` inputs.
const SAMPLE_RETRIEVED_CONTEXT: &str = "[{'content': 'MLflow is an open-source platform, purpose-built to assist machine learning practitioners and teams in handling the complexities of the machine learning process. MLflow focuses on the full lifecycle for machine learning projects, ensuring that each phase is manageable, traceable, and reproducible.'}]";

fn sample_guidelines() -> Value {
    json!({
        "english": ["The response must be in English", "The retrieved context must be in English"],
        "clarity": ["The response must be clear, coherent, and concise"],
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn named_guidelines_judge_the_response_or_the_guidelines_context() {
    let llm = TestLlm::start().await;
    let dir = tempdir();
    write_jsonl(
        &dir.path().join("set.jsonl"),
        &[
            json!({"request_id": "both", "request": "What is MLflow?", "response": "MLflow is an open-source platform",
                   "guidelines": sample_guidelines(),
                   "guidelines_context": {"retrieved_context": SAMPLE_RETRIEVED_CONTEXT}}),
            // "It can be specified with or in place of the response."
            json!({"request_id": "context_only", "request": "CONTEXT ONLY What is MLflow?",
                   "guidelines": sample_guidelines(),
                   "guidelines_context": {"retrieved_context": SAMPLE_RETRIEVED_CONTEXT}}),
            json!({"request_id": "neither", "request": "What is MLflow?", "guidelines": sample_guidelines()}),
        ],
    );
    let out = eval(dir.path(), &llm, &["set.jsonl"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let results = read_results(&dir.path().join("run"));
    for row in &results[..2] {
        for group in ["english", "clarity"] {
            assert_eq!(
                row[&format!("response/llm_judged/guideline_adherence/{group}/rating")],
                "yes",
                "{row:?}"
            );
        }
    }
    assert_eq!(
        results[2]["skipped_judges"]["guideline_adherence"],
        "needs response or guidelines_context"
    );
    let requests = requests_of(&llm, "guideline_adherence");
    assert_eq!(requests.len(), 4, "two groups on each of two rows");
    let context = format!(
        "<guidelines_context>\nretrieved_context:\n{SAMPLE_RETRIEVED_CONTEXT}\n</guidelines_context>"
    );
    for request in &requests {
        let prompt = request.last_user();
        assert!(prompt.contains(&context), "{prompt}");
        assert!(
            prompt.contains("The guidelines may be about the values in guidelines_context"),
            "{prompt}"
        );
        let context_only = prompt.contains("CONTEXT ONLY");
        assert_eq!(prompt.contains("<response>"), !context_only, "{prompt}");
        assert_eq!(
            prompt.contains("There is no response"),
            context_only,
            "{prompt}"
        );
    }
    assert!(requests.iter().any(|r| {
        r.last_user()
            .contains("- The retrieved context must be in English")
    }));
    let metrics = read_metrics(&dir.path().join("run"));
    assert_eq!(
        metrics["response/llm_judged/guideline_adherence/english/rating/percentage"],
        1.0
    );

    // A row without guidelines_context renders the prompt as before.
    llm.clear();
    write_jsonl(
        &dir.path().join("plain.jsonl"),
        &[
            json!({"request": "What is MLflow?", "response": "MLflow is an open-source platform",
                 "guidelines": ["The response must be in English"]}),
        ],
    );
    let out = eval(
        dir.path(),
        &llm,
        &[
            "plain.jsonl",
            "--out",
            "plain",
            "--judges",
            "guideline_adherence",
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        requests_of(&llm, "guideline_adherence")[0].last_user(),
        "Criterion: does the response follow every one of the guidelines?\nThe response fails when it breaks any single guideline. A guideline that cannot apply to this request counts as followed.\n\n<guidelines>\n- The response must be in English\n</guidelines>\n<request>\nWhat is MLflow?\n</request>\n<response>\nMLflow is an open-source platform\n</response>"
    );

    // In a CSV file the context is a cell of JSON text.
    llm.clear();
    let cell = json!({"retrieved_context": SAMPLE_RETRIEVED_CONTEXT})
        .to_string()
        .replace('"', "\"\"");
    std::fs::write(
        dir.path().join("set.csv"),
        format!("request,guidelines,guidelines_context\nWhat is MLflow?,\"[\"\"The retrieved context must be in English\"\"]\",\"{cell}\"\n"),
    )
    .unwrap();
    let out = eval(
        dir.path(),
        &llm,
        &["set.csv", "--out", "csv", "--judges", "guideline_adherence"],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        requests_of(&llm, "guideline_adherence")[0]
            .last_user()
            .contains(&context)
    );

    // A malformed context is an error naming its field.
    write_jsonl(
        &dir.path().join("bad.jsonl"),
        &[
            json!({"request": "q", "guidelines": ["Be kind"], "guidelines_context": {"retrieved_context": ["not", "text"]}}),
        ],
    );
    let out = eval(dir.path(), &llm, &["bad.jsonl", "--out", "bad"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("bad.jsonl, line 1, field `guidelines_context.retrieved_context`: expected a string, found a list"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn gavel_judge_takes_named_guidelines_and_guidelines_context() {
    let llm = TestLlm::start().await;
    llm.script(|request| {
        if request.last_user().contains("concise") {
            Reply::Content(support::verdict("no", "Not concise."))
        } else {
            Reply::Content(support::verdict("yes", "In English."))
        }
    });
    let dir = tempdir();
    let url = llm.base_url();
    let context = format!("retrieved_context={SAMPLE_RETRIEVED_CONTEXT}");
    let out = gavel(
        dir.path(),
        &[
            "judge",
            "guideline_adherence",
            "--request",
            "What is MLflow?",
            "--response",
            "MLflow is an open-source platform",
            "--guideline",
            "english=The response must be in English",
            "--guideline",
            "english=The retrieved context must be in English",
            "--guideline",
            "clarity=The response must be clear, coherent, and concise",
            "--guidelines-context",
            &context,
            "--judge-base-url",
            &url,
            "--json",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 1, "rated no: {}\n{}", out.stdout, out.stderr);
    let judgments: Vec<Value> = out
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let names: Vec<(&str, &str)> = judgments
        .iter()
        .map(|j| (j["judge"].as_str().unwrap(), j["rating"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("guideline_adherence/english", "yes"),
            ("guideline_adherence/clarity", "no")
        ]
    );
    let english = &requests_of(&llm, "guideline_adherence")[0].last_user();
    assert!(english.contains("<guidelines>\n- The response must be in English\n- The retrieved context must be in English\n</guidelines>"), "{english}");
    assert!(english.contains(&format!("<guidelines_context>\nretrieved_context:\n{SAMPLE_RETRIEVED_CONTEXT}\n</guidelines_context>")), "{english}");

    // The context in place of the response; a rule with `=` kept unnamed.
    llm.clear();
    let out = gavel(
        dir.path(),
        &[
            "judge",
            "guideline_adherence",
            "--request",
            "What is MLflow?",
            "--guideline",
            "=language=English for the retrieved context",
            "--guidelines-context",
            &context,
            "--judge-base-url",
            &url,
            "--json",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let judgment: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(judgment["judge"], "guideline_adherence");
    let prompt = requests_of(&llm, "guideline_adherence")[0].last_user();
    assert!(
        prompt.contains("- language=English for the retrieved context"),
        "{prompt}"
    );
    assert!(!prompt.contains("<response>"), "{prompt}");

    // Without a response or a context, the judge cannot run.
    let out = gavel(
        dir.path(),
        &[
            "judge",
            "guideline_adherence",
            "--request",
            "q",
            "--guideline",
            "Be kind",
            "--judge-base-url",
            &url,
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(
            "judge 'guideline_adherence' needs more inputs: pass --response or --guidelines-context"
        ),
        "{}",
        out.stderr
    );
    let out = gavel(
        dir.path(),
        &[
            "judge",
            "guideline_adherence",
            "--request",
            "q",
            "--guideline",
            "english=Use English",
            "--guideline",
            "Be kind",
            "--judge-base-url",
            &url,
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("--guideline: give every rule a NAME= or none"),
        "{}",
        out.stderr
    );
}

/// Reference 003's question-answering set, its columns named as a team
/// might (`answer`, `truth`) rather than as gavel's fields.
fn qa_rows() -> Vec<Value> {
    vec![
        json!({"inputs": "Кто разработал теорию относительности?",
               "answer": "Альберт Эйнштейн разработал теорию относительности.",
               "truth": "Альберт Эйнштейн разработал теорию относительности."}),
        json!({"inputs": "Назовите крупнейшую планету в нашей солнечной системе.",
               "answer": "Сатурн.",
               "truth": "Юпитер — крупнейшая планета в нашей солнечной системе."}),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn columns_are_mapped_to_fields_by_flag_or_config() {
    let llm = TestLlm::start().await;
    llm.script(|request| match request.judge.as_deref() {
        Some("answer_similarity") => Reply::Content(support::score(4, "Similar.")),
        _ => Reply::Content(support::verdict("yes", "Fine.")),
    });
    let dir = tempdir();
    write_jsonl(&dir.path().join("qa.jsonl"), &qa_rows());
    let check = |out: &GavelOutput, run: &str| {
        assert_eq!(out.code, 0, "{}", out.stderr);
        let results = read_results(&dir.path().join(run));
        assert_eq!(
            results[0]["response/exact_match/rating"], "yes",
            "{:?}",
            results[0]
        );
        assert_eq!(results[1]["response/exact_match/rating"], "no");
        // The results carry the fields' names.
        assert_eq!(
            results[0]["response"],
            "Альберт Эйнштейн разработал теорию относительности."
        );
        assert_eq!(results[1]["expected_response"], qa_rows()[1]["truth"]);
        assert!(!results[0].contains_key("answer") && !results[0].contains_key("truth"));
        let run_json: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(run).join("run.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            run_json["columns"],
            json!({"response": "answer", "expected_response": "truth"})
        );
    };
    let out = eval(
        dir.path(),
        &llm,
        &[
            "qa.jsonl",
            "--judges",
            "exact_match,answer_similarity",
            "--column",
            "response=answer",
            "--column",
            "expected_response=truth",
        ],
    )
    .await;
    check(&out, "run");
    assert_eq!(requests_of(&llm, "answer_similarity").len(), 2);
    assert!(
        requests_of(&llm, "answer_similarity")
            .iter()
            .any(|r| r.last_user().contains("<expected_response>\nЮпитер"))
    );

    // A run resumes only with the mapping it started with.
    let out = eval(
        dir.path(),
        &llm,
        &[
            "qa.jsonl",
            "--judges",
            "exact_match,answer_similarity",
            "--resume",
        ],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("its column mapping differs from this command's"),
        "{}",
        out.stderr
    );

    std::fs::write(
        dir.path().join("gavel.toml"),
        "[eval.columns]\nresponse = \"answer\"\nexpected_response = \"truth\"\n",
    )
    .unwrap();
    let out = eval(
        dir.path(),
        &llm,
        &["qa.jsonl", "--judges", "exact_match", "--out", "config-run"],
    )
    .await;
    check(&out, "config-run");
    std::fs::remove_file(dir.path().join("gavel.toml")).unwrap();

    // CSV: a mapped column of JSON text is read as its field's cells are.
    std::fs::write(
        dir.path().join("rag.csv"),
        "question,docs,gold_docs\n\
         What is MLflow?,\"[{\"\"doc_uri\"\": \"\"a.md\"\"}, {\"\"doc_uri\"\": \"\"b.md\"\"}]\",\"[{\"\"doc_uri\"\": \"\"a.md\"\"}]\"\n",
    )
    .unwrap();
    let out = eval(
        dir.path(),
        &llm,
        &[
            "rag.csv",
            "--out",
            "csv-run",
            "--column",
            "request=question",
            "--column",
            "retrieved_context=docs",
            "--column",
            "expected_retrieved_context=gold_docs",
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let results = read_results(&dir.path().join("csv-run"));
    assert_eq!(results[0]["retrieval/ground_truth/document_recall"], 1.0);
    assert_eq!(
        results[0]["retrieved_context"],
        json!([{"doc_uri": "a.md"}, {"doc_uri": "b.md"}])
    );

    // `gavel judge --row` reads the row with the mapping too.
    std::fs::write(
        dir.path().join("case.json"),
        json!({"question": "What is MLflow?", "answer": "An ML platform."}).to_string(),
    )
    .unwrap();
    let url = llm.base_url();
    let out = gavel(
        dir.path(),
        &[
            "judge",
            "relevance_to_query",
            "--row",
            "case.json",
            "--column",
            "request=question",
            "--column",
            "response=answer",
            "--judge-base-url",
            &url,
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        requests_of(&llm, "relevance_to_query")
            .last()
            .unwrap()
            .last_user()
            .contains("<response>\nAn ML platform.\n</response>")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn column_mapping_errors_name_the_file_line_and_column() {
    let llm = TestLlm::start().await;
    let dir = tempdir();
    write_jsonl(&dir.path().join("qa.jsonl"), &qa_rows());
    let expect_error = |out: GavelOutput, message: &str| {
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.contains(message), "{}", out.stderr);
    };
    // Not a field.
    let out = eval(
        dir.path(),
        &llm,
        &["qa.jsonl", "--column", "answer=response"],
    )
    .await;
    expect_error(
        out,
        "`answer` is not a field of an evaluation set; map columns to request_id, request, response",
    );
    // A column no row has.
    let out = eval(
        dir.path(),
        &llm,
        &["qa.jsonl", "--column", "response=prediction"],
    )
    .await;
    expect_error(
        out,
        "qa.jsonl, field `prediction`: no row has this column, which is mapped to `response`",
    );
    // The same column for two fields.
    let out = eval(
        dir.path(),
        &llm,
        &[
            "qa.jsonl",
            "--column",
            "response=answer",
            "--column",
            "expected_response=answer",
        ],
    )
    .await;
    expect_error(
        out,
        "column `answer` is mapped to both `response` and `expected_response`",
    );
    // A row with both the column and its field.
    let mut rows = qa_rows();
    rows[1]["response"] = json!("Юпитер.");
    write_jsonl(&dir.path().join("both.jsonl"), &rows);
    let out = eval(
        dir.path(),
        &llm,
        &["both.jsonl", "--column", "response=answer"],
    )
    .await;
    expect_error(
        out,
        "both.jsonl, line 2, field `answer`: is mapped to `response`, but the row also has a `response`; keep one, or map another column",
    );
    // Errors about a mapped field name the column.
    write_jsonl(
        &dir.path().join("docs.jsonl"),
        &[json!({"question": "q", "docs": [{"doc_uri": "a"}, {"content": 7}]})],
    );
    let out = eval(
        dir.path(),
        &llm,
        &[
            "docs.jsonl",
            "--column",
            "request=question",
            "--column",
            "retrieved_context=docs",
        ],
    )
    .await;
    expect_error(
        out,
        "docs.jsonl, line 1, field `docs[1].content`: expected a string, found a number",
    );
    write_jsonl(
        &dir.path().join("noq.jsonl"),
        &[json!({"question": "q"}), json!({"other": 1})],
    );
    let out = eval(
        dir.path(),
        &llm,
        &["noq.jsonl", "--column", "request=question"],
    )
    .await;
    expect_error(out, "noq.jsonl, line 2, field `question`: is required");
    // In gavel.toml.
    std::fs::write(
        dir.path().join("gavel.toml"),
        "[eval.columns]\nresponse = \"\"\n",
    )
    .unwrap();
    let out = eval(dir.path(), &llm, &["qa.jsonl"]).await;
    expect_error(
        out,
        "gavel.toml: [eval.columns]: `response` is mapped to an empty column name",
    );
    assert!(llm.requests().is_empty(), "nothing was judged");
}
