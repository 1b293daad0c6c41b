//! Metrics computed without an LLM.

use std::collections::HashSet;
use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

use gavel_runtime::bindings::Row;

/// `response == expected_response` after trimming, when the row has both.
pub fn exact_match(row: &Row) -> Option<bool> {
    Some(row.response.as_deref()?.trim() == row.expected_response.as_deref()?.trim())
}

/// Tokens in the response, counted with OpenAI's `cl100k_base` encoding
/// (as MLflow's `token_count` does).
pub fn token_count(row: &Row) -> Option<usize> {
    let response = row.response.as_deref()?;
    Some(encoding().encode_ordinary(response).len())
}

fn encoding() -> &'static CoreBPE {
    static ENCODING: OnceLock<CoreBPE> = OnceLock::new();
    ENCODING.get_or_init(|| tiktoken_rs::cl100k_base().expect("the cl100k_base ranks are built in"))
}

/// Expected documents found among the retrieved ones, over the expected
/// ones, by `doc_uri`; when the row has both lists and expected URIs.
pub fn document_recall(row: &Row) -> Option<f64> {
    if row.retrieved_context.is_empty() {
        return None;
    }
    let expected: HashSet<&str> = row
        .expected_retrieved_context
        .iter()
        .filter_map(|c| c.doc_uri.as_deref())
        .collect();
    if expected.is_empty() {
        return None;
    }
    let retrieved: HashSet<&str> = row
        .retrieved_context
        .iter()
        .filter_map(|c| c.doc_uri.as_deref())
        .collect();
    let found = expected
        .iter()
        .filter(|uri| retrieved.contains(*uri))
        .count();
    Some(found as f64 / expected.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::input::row_from_json;
    use serde_json::json;

    fn row(value: serde_json::Value) -> Row {
        row_from_json(value.as_object().unwrap().clone(), 0).unwrap()
    }

    #[test]
    fn exact_match_trims_and_needs_both() {
        assert_eq!(
            exact_match(&row(
                json!({"request": "q", "response": " Paris\n", "expected_response": "Paris"})
            )),
            Some(true)
        );
        assert_eq!(
            exact_match(&row(
                json!({"request": "q", "response": "paris", "expected_response": "Paris"})
            )),
            Some(false)
        );
        assert_eq!(
            exact_match(&row(json!({"request": "q", "response": "Paris"}))),
            None
        );
    }

    #[test]
    fn token_count_uses_cl100k() {
        assert_eq!(
            token_count(&row(json!({"request": "q", "response": "Hello, world!"}))),
            Some(4)
        );
        assert_eq!(
            token_count(&row(json!({"request": "q", "response": ""}))),
            Some(0)
        );
        assert_eq!(token_count(&row(json!({"request": "q"}))), None);
    }

    #[test]
    fn document_recall_by_doc_uri() {
        let r = row(json!({
            "request": "q",
            "retrieved_context": [{"content": "a", "doc_uri": "doc_uri_2_1"}, {"content": "b", "doc_uri": "doc_uri_6_extra"}],
            "expected_retrieved_context": [{"doc_uri": "doc_uri_2_1"}, {"doc_uri": "doc_uri_2_2"}],
        }));
        assert_eq!(document_recall(&r), Some(0.5));
        assert_eq!(
            document_recall(&row(json!({"request": "q", "retrieved_context": ["a"]}))),
            None
        );
    }
}
