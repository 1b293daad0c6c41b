use serde_json::json;

use super::*;

/// A run directory with `run.json` and these result lines.
fn run_dir(rows: &[Value]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let run = json!({"run_id": "r1", "judges": [
        {"name": "correctness", "threshold": 3},
        {"name": "tone", "threshold": 2},
        {"name": "chunk_relevance", "threshold": 3},
    ]});
    std::fs::write(dir.path().join("run.json"), run.to_string()).unwrap();
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(dir.path().join(RESULTS), text).unwrap();
    dir
}

fn rated(id: &str, rating: &str) -> Value {
    json!({
        "request_id": id,
        "request": format!("question {id}"),
        "response": format!("answer {id}"),
        "response/llm_judged/correctness/rating": rating,
        "response/llm_judged/correctness/rationale": format!("judge on {id}"),
    })
}

fn labels_file(dir: &Path, lines: &[Value]) -> PathBuf {
    let path = dir.join("labels.jsonl");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

fn options(labels: LabelSource) -> AlignOptions {
    AlignOptions::new(labels)
}

/// Judge vs humans: yes/yes x3, yes/no x1, no/yes x1, no/no x2; one
/// labelled row the judge failed on, one it did not run on, one unlabelled.
/// By hand: n = 7, accuracy 5/7; judge yes 4/7, humans yes 4/7, p_e =
/// (16 + 9)/49 = 25/49, kappa = (35/49 - 25/49) / (24/49) = 10/24.
fn known_table() -> (tempfile::TempDir, PathBuf) {
    let mut rows = vec![];
    let mut labels = vec![];
    for (i, (judge, human)) in [
        ("yes", "yes"),
        ("yes", "yes"),
        ("yes", "yes"),
        ("yes", "no"),
        ("no", "yes"),
        ("no", "no"),
        ("no", "no"),
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("q{i}");
        rows.push(rated(&id, judge));
        labels.push(json!({"request_id": id, "correctness": human,
                           "correctness/rationale": format!("human on {id}")}));
    }
    rows.push(json!({"request_id": "failed", "request": "x",
                     "response/llm_judged/correctness/error_message": "timed out"}));
    labels.push(json!({"request_id": "failed", "correctness": "yes"}));
    rows.push(json!({"request_id": "skipped", "request": "x"}));
    labels.push(json!({"request_id": "skipped", "correctness": "no"}));
    rows.push(rated("unlabelled", "yes"));
    labels.push(json!({"request_id": "elsewhere", "correctness": "no", "reviewer": "kim"}));
    let dir = run_dir(&rows);
    let path = labels_file(dir.path(), &labels);
    (dir, path)
}

fn close(actual: Option<f64>, expected: f64) {
    let actual = actual.expect("defined");
    assert!(
        (actual - expected).abs() < 1e-9,
        "{actual} is not {expected}"
    );
}

#[test]
fn a_labels_file_gives_the_hand_computed_table_and_counts_what_is_left_out() {
    let (dir, labels) = known_table();
    let alignment = align(
        &RunDir::open(dir.path()),
        &options(LabelSource::File(labels)),
    )
    .unwrap();
    assert_eq!(alignment.run_id.as_deref(), Some("r1"));
    assert_eq!(alignment.unmatched_requests, ["elsewhere"]);
    assert_eq!(alignment.ignored_fields, ["reviewer"]);
    let [judge] = alignment.judges.as_slice() else {
        panic!("one judge: {:?}", alignment.judges)
    };
    assert_eq!(judge.judge, "correctness");
    assert_eq!(judge.n, 7);
    assert_eq!(
        judge.confusion,
        Confusion {
            true_positive: 3,
            false_positive: 1,
            false_negative: 1,
            true_negative: 2
        }
    );
    assert_eq!(
        judge.left_out,
        LeftOut {
            judge_error: 1,
            not_judged: 1,
            unlabelled: 1
        }
    );
    close(judge.accuracy.value, 5.0 / 7.0);
    close(judge.kappa.value, 10.0 / 24.0);
    close(judge.precision.value, 0.75);
    close(judge.recall.value, 0.75);
    close(judge.f1.value, 0.75);
    close(judge.false_positive_rate.value, 1.0 / 3.0);
    close(judge.false_negative_rate.value, 0.25);
    let kappa = judge.kappa;
    assert!(kappa.low.unwrap() <= kappa.value.unwrap() && kappa.value <= kappa.high);
    assert!(judge.scores.is_none() && judge.thresholds.is_empty() && !judge.scored);
    let disagreements: Vec<(&str, &str, &str)> = judge
        .disagreements
        .iter()
        .map(|d| {
            (
                d.request_id.as_str(),
                d.judge_rating,
                d.human_rationale.as_deref().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        disagreements,
        [("q3", "yes", "human on q3"), ("q4", "no", "human on q4")]
    );
    assert_eq!(
        judge.disagreements[0].judge_rationale.as_deref(),
        Some("judge on q3")
    );
    let gates = |texts: &[&str]| {
        let gates: Vec<Gate> = texts.iter().map(|t| t.parse().unwrap()).collect();
        check_gates(&alignment, &gates)
    };
    let results = gates(&["kappa=0.4", "correctness/accuracy=0.8"]).unwrap();
    assert_eq!(results[0].gate.metric, "correctness/kappa");
    assert!(results[0].passed && !results[1].passed);
    close(results[0].value, 10.0 / 24.0);
    for (bad, says) in [
        ("kappa_lower=0.5", "`kappa_lower` is not a statistic"),
        ("false_positive_rate=0.1", "is better low"),
        (
            "safety/kappa=0.5",
            "`safety` has no labels in this run (labelled: correctness)",
        ),
        ("weighted_kappa=0.5", "no judge has 1-5 scores"),
    ] {
        let error = gates(&[bad]).unwrap_err().to_string();
        assert!(error.contains(says), "{bad}: {error}");
    }
    // A named judge without scores fails the gate rather than passing it.
    let results = gates(&["correctness/weighted_kappa=0.1"]).unwrap();
    assert_eq!((results[0].value, results[0].passed), (None, false));

    // The JSON a report reads: undefined values are null, never NaN.
    let json = serde_json::to_value(&alignment).unwrap();
    assert_eq!(json["judges"][0]["confusion"]["false_positive"], 1);
    assert_eq!(json["judges"][0]["left_out"]["judge_error"], 1);
    assert_eq!(json["judges"][0]["scores"], Value::Null);
    assert_eq!(
        json["judges"][0]["disagreements"][0]["human_label"],
        Value::Null
    );
    assert_eq!(json["bootstrap"], json!({"resamples": 1000, "seed": 16}));
}

#[test]
fn the_same_seed_gives_the_same_alignment() {
    let (dir, labels) = known_table();
    let run = RunDir::open(dir.path());
    let once = |seed| {
        let mut options = options(LabelSource::File(labels.clone()));
        options.bootstrap.seed = seed;
        serde_json::to_value(align(&run, &options).unwrap()).unwrap()
    };
    assert_eq!(once(16), once(16));
    assert_ne!(
        once(16)["judges"][0]["kappa"],
        once(17)["judges"][0]["kappa"]
    );
}

#[test]
fn labels_in_data_columns_and_a_score_judge_with_human_scores() {
    // tone's threshold is 2 in run.json: scores 3-5 are yes.
    let row = |id: &str, score: u8, human: Value| {
        json!({
            "request_id": id, "request": "q",
            "response/llm_judged/tone/rating": if score > 2 { "yes" } else { "no" },
            "response/llm_judged/tone/score": score,
            "response/llm_judged/tone/rationale": "judge",
            "human/tone": human,
            "human/rationale": "shared reason",
        })
    };
    let dir = run_dir(&[
        row("a", 5, json!(5)),
        row("b", 4, json!("5")),
        row("c", 3, json!(2)),
        row("d", 1, json!(1)),
        row("e", 2, json!("yes")),
    ]);
    let alignment = align(&RunDir::open(dir.path()), &options(LabelSource::Columns)).unwrap();
    let judge = &alignment.judges[0];
    assert!(judge.scored);
    assert_eq!(judge.threshold, 2);
    // Yes/no at the threshold: judge yes a, b, c; humans yes a, b, e.
    assert_eq!(
        judge.confusion,
        Confusion {
            true_positive: 2,
            false_positive: 1,
            false_negative: 1,
            true_negative: 1
        }
    );
    // Scores where both gave one: (5,5) (4,5) (3,2) (1,1).
    let scores = judge.scores.unwrap();
    assert_eq!(scores.n, 4);
    close(scores.exact_agreement.value, 0.5);
    close(scores.within_one_agreement.value, 1.0);
    // The sweep sets the judge's scores against the humans' yes/no.
    assert_eq!(judge.thresholds.len(), 5);
    assert_eq!(
        judge.thresholds[3].confusion,
        Confusion {
            true_positive: 2,
            false_positive: 0,
            false_negative: 1,
            true_negative: 2
        }
    );
    // Threshold 3 (4 and 5 are yes): p_o = 4/5, p_e = (2/5)(3/5) + (3/5)(2/5)
    // = 12/25, kappa = (20/25 - 12/25) / (13/25) = 8/13, the best.
    close(judge.thresholds[3].kappa, 8.0 / 13.0);
    assert_eq!(judge.best_threshold, Some(3));
    assert_eq!(
        judge.disagreements[0].human_rationale.as_deref(),
        Some("shared reason")
    );
}

#[test]
fn bad_labels_are_errors_naming_file_line_and_field() {
    let dir = run_dir(&[
        rated("a", "yes"),
        json!({"request_id": "b", "request": "q", "human/correctness": "maybe"}),
    ]);
    let error = align(&RunDir::open(dir.path()), &options(LabelSource::Columns)).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}, line 2, field `human/correctness`: \"maybe\" is not a label; use \"yes\", \"no\" or a score from 1 to 5",
            dir.path().join(RESULTS).display()
        )
    );

    // A request labelled in the file but unmatched is checked all the same.
    let labels = labels_file(
        dir.path(),
        &[
            json!({"request_id": "a", "correctness": "yes"}),
            json!({"request_id": "zz", "correctness": 7}),
        ],
    );
    let error = align(
        &RunDir::open(dir.path()),
        &options(LabelSource::File(labels)),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("labels.jsonl, line 2, field `correctness`: 7 is not a label"),
        "{error}"
    );
}

#[test]
fn per_chunk_judges_duplicate_ids_and_missing_labels_are_refused() {
    let chunks = json!({"request_id": "a", "request": "q",
        "retrieval/llm_judged/chunk_relevance/ratings": ["yes"],
        "retrieval/llm_judged/chunk_relevance/precision": 1.0,
        "human/chunk_relevance": "yes"});
    let dir = run_dir(&[chunks]);
    let error = align(&RunDir::open(dir.path()), &options(LabelSource::Columns)).unwrap_err();
    assert!(
        error.to_string().contains(
            "line 1, field `human/chunk_relevance`: `chunk_relevance` rates each retrieved chunk"
        ),
        "{error}"
    );

    let dir = run_dir(&[rated("a", "yes"), rated("b", "no"), rated("a", "no")]);
    let labels = labels_file(
        dir.path(),
        &[json!({"request_id": "a", "correctness": "no"})],
    );
    let error = align(
        &RunDir::open(dir.path()),
        &options(LabelSource::File(labels)),
    )
    .unwrap_err();
    assert!(
        error.to_string().ends_with(
            "eval_results.jsonl, line 1: request_id `a` is on line 3 too; labels are matched by request_id, so it must be unique in the run"
        ),
        "{error}"
    );

    let error = align(&RunDir::open(dir.path()), &options(LabelSource::Columns)).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("give --labels FILE, or put human/<judge> columns"),
        "{error}"
    );
    let labels = labels_file(
        dir.path(),
        &[json!({"request_id": "a", "corectness": "no"})],
    );
    let error = align(
        &RunDir::open(dir.path()),
        &options(LabelSource::File(labels)),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("fields that name no judgment of the run: corectness"),
        "{error}"
    );
}

#[test]
fn disagreements_become_examples_the_judge_reads() {
    let (dir, labels) = known_table();
    let run = RunDir::open(dir.path());
    let alignment = align(&run, &options(LabelSource::File(labels))).unwrap();
    let path = dir.path().join("examples.jsonl");
    let written = examples::write(&run, &alignment, &path).unwrap();
    assert_eq!((written.examples, written.without_rationale), (2, 0));
    assert!(written.over_limit.is_empty());
    let lines: Vec<Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[0],
        json!({
            "request_id": "q3",
            "request": "question q3",
            "response": "answer q3",
            "response/llm_judged/correctness/rating": "no",
            "response/llm_judged/correctness/rationale": "human on q3",
        })
    );
    assert_eq!(lines[1]["response/llm_judged/correctness/rating"], "yes");
}

#[test]
fn a_torn_last_line_is_left_out_and_an_unreadable_line_before_it_is_an_error() {
    let (dir, labels) = known_table();
    let results = dir.path().join(RESULTS);
    let mut text = std::fs::read_to_string(&results).unwrap();
    text.push_str("{\"request_id\": \"torn");
    std::fs::write(&results, &text).unwrap();
    let run = RunDir::open(dir.path());
    let options = options(LabelSource::File(labels));
    assert_eq!(align(&run, &options).unwrap().judges[0].n, 7);
    std::fs::write(&results, format!("not json\n{text}")).unwrap();
    let error = align(&run, &options).unwrap_err();
    assert!(error.to_string().contains("line 1"), "{error}");
}
