//! Few-shot examples files: JSONL rows with a judge's inputs and the
//! verdict a person gave, which the host shows the judge LLM before the row
//! it judges.
//!
//! A row gives a verdict as `rating` ("yes"/"no", any case) or `score`
//! (1-5), and a `rationale`. The reference's shape, one file for several
//! judges keyed by output columns (`response/llm_judged/<judge>/rating`,
//! `.../rationale`), works too: rows without a verdict for the judge are
//! not its examples. A judge that rates retrieved chunks one by one also
//! takes the reference's list form, one verdict per chunk of the row
//! (`retrieval/llm_judged/chunk_relevance/ratings` and `.../rationales`):
//! each chunk is then an example of its own, as the judge is asked about
//! one chunk at a time.
//!
//! Every verdict column of the judge is checked: a malformed one is an
//! error naming the file, the line and the column, never skipped.

use std::path::Path;

use serde_json::{Map, Value};

use crate::evaluation::input::row_from_json;
use crate::results::schema::{self, JudgedField, JudgedPrefix};
use gavel_runtime::bindings::{AssessmentType, Example, Verdict};

/// The examples for `judge` in the file at `path`. `rates_chunks`: the
/// judge rates retrieved chunks one by one (so list-form verdicts apply).
pub fn read_examples(path: &Path, judge: &str, rates_chunks: bool) -> Result<Vec<Example>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("examples file {}: {e}", path.display()))?;
    let shared_file = schema::mentions_judged_columns(&text);
    let mut examples = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = |message: String| {
            format!(
                "examples file {}, line {}: {message}",
                path.display(),
                i + 1
            )
        };
        let object = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(object)) => object,
            Ok(_) => return Err(at("expected a JSON object".to_owned())),
            Err(e) => return Err(at(format!("not JSON: {e}"))),
        };
        let read = read_line(object, i, judge, rates_chunks, shared_file).map_err(at)?;
        examples.extend(read);
    }
    Ok(examples)
}

/// A verdict column of the judge in a row: its name there and value.
type Column = Option<(String, Value)>;

/// One row's examples for `judge`: none, one, or one per rated chunk.
fn read_line(
    mut object: Map<String, Value>,
    index: usize,
    judge: &str,
    rates_chunks: bool,
    shared_file: bool,
) -> Result<Vec<Example>, String> {
    let mut take = |field: JudgedField| -> Column {
        let names = [
            field.as_str().to_owned(),
            JudgedPrefix::new(AssessmentType::Answer, judge).column(field),
            JudgedPrefix::new(AssessmentType::Retrieval, judge).column(field),
        ];
        names
            .into_iter()
            .find_map(|name| object.remove(&name).map(|value| (name, value)))
    };
    let rating = take(JudgedField::Rating);
    let score = take(JudgedField::Score);
    let rationale = take(JudgedField::Rationale);
    let ratings = take(JudgedField::Ratings);
    let scores = take(JudgedField::Scores);
    let rationales = take(JudgedField::Rationales);
    // Other judges' columns are not inputs.
    object.retain(|key, _| !schema::mentions_judged_columns(key));
    let field = |column: &Column| column.as_ref().map(|(name, _)| name.clone());
    let one = field(&rating).or_else(|| field(&score));
    let each = field(&ratings).or_else(|| field(&scores));
    match (one, each) {
        (Some(one), Some(each)) => Err(format!(
            "give `{one}` (the row's verdict) or `{each}` (one per chunk), not both"
        )),
        (Some(_), None) => {
            if let Some((name, _)) = &rationales {
                return Err(format!(
                    "field `{name}`: per-chunk rationales go with per-chunk `ratings`"
                ));
            }
            let verdict = row_verdict(rating, score)?;
            let rationale = text(rationale)?;
            let row = row_from_json(object, index).map_err(|e| e.to_string())?;
            Ok(vec![Example {
                row,
                verdict,
                rationale,
            }])
        }
        (None, Some(each)) => {
            if !rates_chunks {
                return Err(format!(
                    "field `{each}`: judge '{judge}' does not rate chunks one by one; give its verdict on the row as `rating` or `score`"
                ));
            }
            if let Some((name, _)) = &rationale {
                return Err(format!(
                    "field `{name}`: with per-chunk `{each}`, give per-chunk `rationales`"
                ));
            }
            chunk_examples(object, index, ratings.or(scores), rationales)
        }
        (None, None) => {
            let orphan = field(&rationale).or_else(|| field(&rationales));
            match orphan {
                Some(name) => Err(format!(
                    "field `{name}`: a rationale without a verdict; add the rating"
                )),
                None if shared_file => Ok(Vec::new()),
                None => Err("needs a `rating` (\"yes\"/\"no\") or a `score` (1-5)".to_owned()),
            }
        }
    }
}

/// The verdict on a whole row: a `rating` or a `score`.
fn row_verdict(rating: Column, score: Column) -> Result<Verdict, String> {
    match (rating, score) {
        (Some((r, _)), Some((s, _))) => Err(format!("give `{r}` or `{s}`, not both")),
        (Some((name, value)), None) => yes_no(&value)
            .ok_or_else(|| format!("field `{name}`: {value} is not \"yes\" or \"no\"")),
        (None, Some((name, value))) => one_to_five(&value)
            .ok_or_else(|| format!("field `{name}`: {value} is not a whole number from 1 to 5")),
        (None, None) => unreachable!("called with a verdict"),
    }
}

/// One example per chunk of the row's `retrieved_context`, each with its
/// verdict from `verdicts` (the list of ratings or scores) and rationale.
fn chunk_examples(
    object: Map<String, Value>,
    index: usize,
    verdicts: Column,
    rationales: Column,
) -> Result<Vec<Example>, String> {
    let (name, verdicts) = verdicts.expect("called with verdicts");
    let scores = name.ends_with(JudgedField::Scores.as_str());
    let Value::Array(verdicts) = verdicts else {
        return Err(format!(
            "field `{name}`: expected a list with one verdict per retrieved chunk, found {verdicts}"
        ));
    };
    let rationales_name = rationales.as_ref().map_or_else(
        || JudgedField::Rationales.as_str().to_owned(),
        |(rname, _)| rname.clone(),
    );
    let rationales = match rationales {
        None | Some((_, Value::Null)) => vec![Value::Null; verdicts.len()],
        Some((rname, Value::Array(list))) => {
            if list.len() != verdicts.len() {
                return Err(format!(
                    "field `{rname}`: {} rationales for {} verdicts in `{name}`",
                    list.len(),
                    verdicts.len()
                ));
            }
            list
        }
        Some((rname, other)) => {
            return Err(format!(
                "field `{rname}`: expected a list of rationales, one per chunk, found {other}"
            ));
        }
    };
    let row = row_from_json(object, index).map_err(|e| e.to_string())?;
    if verdicts.len() != row.retrieved_context.len() {
        return Err(format!(
            "field `{name}`: {} verdicts, but the row has {} retrieved chunks; give one per chunk",
            verdicts.len(),
            row.retrieved_context.len()
        ));
    }
    let mut examples = Vec::with_capacity(verdicts.len());
    for (i, ((verdict, rationale), chunk)) in verdicts
        .iter()
        .zip(rationales)
        .zip(&row.retrieved_context)
        .enumerate()
    {
        let verdict = if scores {
            one_to_five(verdict).ok_or_else(|| {
                format!("field `{name}[{i}]`: {verdict} is not a whole number from 1 to 5")
            })?
        } else {
            yes_no(verdict)
                .ok_or_else(|| format!("field `{name}[{i}]`: {verdict} is not \"yes\" or \"no\""))?
        };
        let rationale = match rationale {
            Value::String(text) => text,
            Value::Null => String::new(),
            other => {
                return Err(format!(
                    "field `{rationales_name}[{i}]`: expected a string, found {other}"
                ));
            }
        };
        if chunk.content.is_none() {
            return Err(format!(
                "field `retrieved_context[{i}].content`: is needed, as `{name}` rates the chunk"
            ));
        }
        let mut example_row = row.clone();
        example_row.retrieved_context = vec![chunk.clone()];
        examples.push(Example {
            row: example_row,
            verdict,
            rationale,
        });
    }
    Ok(examples)
}

fn yes_no(value: &Value) -> Option<Verdict> {
    match value.as_str()? {
        r if r.eq_ignore_ascii_case("yes") => Some(Verdict::Yes),
        r if r.eq_ignore_ascii_case("no") => Some(Verdict::No),
        _ => None,
    }
}

fn one_to_five(value: &Value) -> Option<Verdict> {
    match value.as_u64()? {
        s @ 1..=5 => Some(Verdict::Score(s as u8)),
        _ => None,
    }
}

fn text(rationale: Column) -> Result<String, String> {
    match rationale {
        Some((_, Value::String(r))) => Ok(r),
        None | Some((_, Value::Null)) => Ok(String::new()),
        Some((name, _)) => Err(format!("field `{name}`: expected a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(lines: &[Value]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("examples.jsonl");
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    /// Reference 002's examples DataFrame, written as rows.
    fn reference_rows() -> Vec<Value> {
        vec![
            json!({
                "request": "What is Spark?",
                "response": "Spark is a data analytics framework.",
                "retrieved_context": [{"doc_uri": "context1.txt", "content": "In 2013, Spark, a data analytics framework, was open sourced by UC Berkeley's AMPLab."}],
                "expected_response": "Spark is a data analytics framework.",
                "response/llm_judged/correctness/rating": "Yes",
                "response/llm_judged/correctness/rationale": "The response correctly defines Spark given the context.",
                "response/llm_judged/groundedness/rating": "Yes",
                "response/llm_judged/groundedness/rationale": "The response correctly defines Spark given the context.",
                "retrieval/llm_judged/chunk_relevance/ratings": ["Yes"],
                "retrieval/llm_judged/chunk_relevance/rationales": ["Correct document was retrieved."],
            }),
            json!({
                "request": "How do I convert a Spark DataFrame to Pandas?",
                "response": "This is not possible as Spark is not a panda.",
                "retrieved_context": [{"doc_uri": "context2.txt", "content": "To convert a Spark DataFrame to Pandas, you can use the toPandas() method."}],
                "expected_response": "To convert a Spark DataFrame to Pandas, you can use the toPandas() method.",
                "response/llm_judged/correctness/rating": "No",
                "response/llm_judged/correctness/rationale": "This is an incorrect response as Spark can be converted to Pandas using the toPandas() method.",
                "response/llm_judged/groundedness/rating": "No",
                "response/llm_judged/groundedness/rationale": "The response is not grounded in the given context.",
                "retrieval/llm_judged/chunk_relevance/ratings": ["Yes"],
                "retrieval/llm_judged/chunk_relevance/rationales": ["Correct document was retrieved."],
            }),
            json!({
                "request": "What is Apache Spark?",
                "response": "Apache Spark occurred in the mid-1800s when the Apache people started a fire",
                "retrieved_context": [{"doc_uri": "context3.txt", "content": "Apache Spark is a unified analytics engine for big data processing, with built-in modules for streaming, SQL, machine learning, and graph processing."}],
                "expected_response": "Apache Spark is a unified analytics engine for big data processing, with built-in modules for streaming, SQL, machine learning, and graph processing.",
                "response/llm_judged/correctness/rating": "No",
                "response/llm_judged/correctness/rationale": "The response is incorrect and irrelevant.",
                "response/llm_judged/groundedness/rating": "No",
                "response/llm_judged/groundedness/rationale": "The response is not grounded in the given context.",
                "retrieval/llm_judged/chunk_relevance/ratings": ["Yes"],
                "retrieval/llm_judged/chunk_relevance/rationales": ["Correct document was retrieved."],
            }),
        ]
    }

    #[test]
    fn the_references_examples_reach_each_judge() {
        let (_dir, path) = write(&reference_rows());
        let chunk = read_examples(&path, "chunk_relevance", true).unwrap();
        assert_eq!(chunk.len(), 3);
        assert!(chunk.iter().all(|e| e.verdict == Verdict::Yes));
        assert_eq!(chunk[0].rationale, "Correct document was retrieved.");
        assert_eq!(chunk[1].row.retrieved_context.len(), 1);
        assert_eq!(
            chunk[1].row.retrieved_context[0].doc_uri.as_deref(),
            Some("context2.txt")
        );
        assert!(
            !chunk[0].row.extra.contains("llm_judged"),
            "{}",
            chunk[0].row.extra
        );
        let correctness = read_examples(&path, "correctness", false).unwrap();
        let verdicts: Vec<_> = correctness.iter().map(|e| e.verdict).collect();
        assert_eq!(verdicts, [Verdict::Yes, Verdict::No, Verdict::No]);
        assert!(read_examples(&path, "safety", false).unwrap().is_empty());
    }

    #[test]
    fn each_chunk_of_a_row_is_an_example_of_its_own() {
        let (_dir, path) = write(&[json!({
            "request": "What is MLflow?",
            "retrieved_context": [
                {"content": "MLflow is an ML platform.", "doc_uri": "a"},
                {"content": "Bananas are yellow.", "doc_uri": "b"},
            ],
            "retrieval/llm_judged/chunk_relevance/ratings": ["yes", "NO"],
            "retrieval/llm_judged/chunk_relevance/rationales": ["About MLflow.", null],
        })]);
        let examples = read_examples(&path, "chunk_relevance", true).unwrap();
        let seen: Vec<_> = examples
            .iter()
            .map(|e| {
                (
                    e.row.retrieved_context[0].doc_uri.clone().unwrap(),
                    e.verdict,
                    e.rationale.clone(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("a".to_owned(), Verdict::Yes, "About MLflow.".to_owned()),
                ("b".to_owned(), Verdict::No, String::new()),
            ]
        );
    }

    #[test]
    fn malformed_verdict_columns_name_file_line_and_column() {
        let base = json!({"request": "q", "retrieved_context": [{"content": "c", "doc_uri": "a"}]});
        let with = |extra: Value| {
            let mut row = base.clone();
            row.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            row
        };
        let cases = [
            (
                json!({"retrieval/llm_judged/chunk_relevance/ratings": "Yes"}),
                "field `retrieval/llm_judged/chunk_relevance/ratings`: expected a list with one verdict per retrieved chunk, found \"Yes\"",
            ),
            (
                json!({"retrieval/llm_judged/chunk_relevance/ratings": ["Maybe"]}),
                "field `retrieval/llm_judged/chunk_relevance/ratings[0]`: \"Maybe\" is not \"yes\" or \"no\"",
            ),
            (
                json!({"retrieval/llm_judged/chunk_relevance/ratings": ["Yes", "No"]}),
                "field `retrieval/llm_judged/chunk_relevance/ratings`: 2 verdicts, but the row has 1 retrieved chunks; give one per chunk",
            ),
            (
                json!({"retrieval/llm_judged/chunk_relevance/ratings": ["Yes"],
                       "retrieval/llm_judged/chunk_relevance/rationales": "Fine."}),
                "field `retrieval/llm_judged/chunk_relevance/rationales`: expected a list of rationales, one per chunk, found \"Fine.\"",
            ),
            (
                json!({"retrieval/llm_judged/chunk_relevance/ratings": ["Yes"],
                       "retrieval/llm_judged/chunk_relevance/rationales": ["a", "b"]}),
                "field `retrieval/llm_judged/chunk_relevance/rationales`: 2 rationales for 1 verdicts in `retrieval/llm_judged/chunk_relevance/ratings`",
            ),
            (
                json!({"retrieval/llm_judged/chunk_relevance/rationales": ["Fine."]}),
                "field `retrieval/llm_judged/chunk_relevance/rationales`: a rationale without a verdict; add the rating",
            ),
            (
                json!({"retrieval/llm_judged/chunk_relevance/ratings": ["Yes"],
                       "retrieval/llm_judged/chunk_relevance/rating": "Yes"}),
                "give `retrieval/llm_judged/chunk_relevance/rating` (the row's verdict) or `retrieval/llm_judged/chunk_relevance/ratings` (one per chunk), not both",
            ),
            (
                json!({"retrieval/llm_judged/chunk_relevance/rating": "Sure"}),
                "field `retrieval/llm_judged/chunk_relevance/rating`: \"Sure\" is not \"yes\" or \"no\"",
            ),
        ];
        for (columns, message) in cases {
            let (_dir, path) = write(&[
                json!({"request": "fine", "retrieval/llm_judged/chunk_relevance/rating": "yes", "retrieved_context": ["c"]}),
                with(columns),
            ]);
            let error = read_examples(&path, "chunk_relevance", true).unwrap_err();
            assert_eq!(
                error,
                format!("examples file {}, line 2: {message}", path.display())
            );
        }
        // List-form verdicts for a judge that rates the row as a whole.
        let (_dir, path) = write(&[with(
            json!({"response/llm_judged/correctness/ratings": ["Yes"]}),
        )]);
        let error = read_examples(&path, "correctness", false).unwrap_err();
        assert!(
            error.ends_with("line 1: field `response/llm_judged/correctness/ratings`: judge 'correctness' does not rate chunks one by one; give its verdict on the row as `rating` or `score`"),
            "{error}"
        );
        // A rated chunk needs content.
        let (_dir, path) = write(&[
            json!({"request": "q", "retrieved_context": [{"doc_uri": "a"}],
            "retrieval/llm_judged/chunk_relevance/ratings": ["No"]}),
        ]);
        let error = read_examples(&path, "chunk_relevance", true).unwrap_err();
        assert!(
            error.ends_with("line 1: field `retrieved_context[0].content`: is needed, as `retrieval/llm_judged/chunk_relevance/ratings` rates the chunk"),
            "{error}"
        );
    }
}
