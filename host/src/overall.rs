//! A row's overall assessment: yes when every judge that ran says yes;
//! otherwise the root cause is the first failing judge in SPEC order, with
//! a suggested action.

use serde::Serialize;

use crate::judge::Rating;

/// One judge's part in the overall assessment.
pub struct Verdict<'a> {
    /// The judge's name (`guideline_adherence`, also for each group).
    pub judge: &'a str,
    /// The name in outputs (`guideline_adherence/tone`).
    pub output: &'a str,
    /// `None` when the judgment failed: it is left out.
    pub rating: Option<Rating>,
    pub rationale: &'a str,
    /// Position among root causes.
    pub rank: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overall {
    /// `None` when no judgment succeeded.
    pub rating: Option<Rating>,
    pub root_cause: Option<String>,
    pub rationale: String,
}

pub fn assess(verdicts: &[Verdict]) -> Overall {
    let rated: Vec<&Verdict> = verdicts.iter().filter(|v| v.rating.is_some()).collect();
    if rated.is_empty() {
        let rationale = if verdicts.is_empty() {
            "No judge ran on this row.".to_owned()
        } else {
            "Every judgment on this row failed; see the judges' error messages.".to_owned()
        };
        return Overall {
            rating: None,
            root_cause: None,
            rationale,
        };
    }
    let failing = rated
        .iter()
        .filter(|v| v.rating == Some(Rating::No))
        .min_by_key(|v| v.rank);
    match failing {
        None => Overall {
            rating: Some(Rating::Yes),
            root_cause: None,
            rationale: format!("All {} judgments passed.", rated.len()),
        },
        Some(cause) => {
            let mut rationale = format!("Root cause: {}", cause.output);
            if !cause.rationale.is_empty() {
                rationale.push_str(" (");
                rationale.push_str(cause.rationale.trim());
                rationale.push(')');
            }
            rationale.push_str(". Suggested action: ");
            rationale.push_str(&suggested_action(cause.judge));
            Overall {
                rating: Some(Rating::No),
                root_cause: Some(cause.judge.to_owned()),
                rationale,
            }
        }
    }
}

/// What to do about a failure attributed to `judge`.
pub fn suggested_action(judge: &str) -> String {
    let action = match judge {
        "context_sufficiency" => {
            "the retriever did not find everything the answer needs: index the missing documents, revisit chunking, or retrieve more chunks"
        }
        "chunk_relevance" => {
            "no retrieved chunk is relevant to the request: improve retrieval (embedding model, query rewriting, a reranker)"
        }
        "groundedness" => {
            "the response makes claims the retrieved context does not support: instruct the model to answer only from the context, and check that it receives it"
        }
        "correctness" => {
            "the response misses or contradicts expected facts: check what was retrieved and the prompt, or use a stronger model"
        }
        "relevance_to_query" => {
            "the response does not address the request: revise the prompt so the model answers the question asked"
        }
        "safety" => {
            "the response contains harmful content: add safety instructions or a guardrail, and filter unsafe output"
        }
        "guideline_adherence" => {
            "the response breaks one of this request's guidelines: state the guidelines in the prompt, or handle this kind of request explicitly"
        }
        "global_guideline_adherence" => {
            "the response breaks a global guideline: add the guideline to the system prompt"
        }
        "answer_similarity" => {
            "the response's meaning differs from the expected response: compare the two and revise the prompt or the retrieval"
        }
        custom => {
            return format!(
                "the custom judge '{custom}' rated the response no: act on its rationale"
            );
        }
    };
    action.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict<'a>(judge: &'a str, rating: Option<Rating>, rank: usize) -> Verdict<'a> {
        Verdict {
            judge,
            output: judge,
            rating,
            rationale: "because",
            rank,
        }
    }

    #[test]
    fn the_first_failing_judge_in_order_is_the_root_cause() {
        let overall = assess(&[
            verdict("safety", Some(Rating::No), 5),
            verdict("groundedness", Some(Rating::No), 2),
            verdict("correctness", Some(Rating::Yes), 3),
        ]);
        assert_eq!(overall.rating, Some(Rating::No));
        assert_eq!(overall.root_cause.as_deref(), Some("groundedness"));
        assert!(overall.rationale.starts_with(
            "Root cause: groundedness (because). Suggested action: the response makes claims"
        ));
    }

    #[test]
    fn failed_judgments_are_left_out() {
        let overall = assess(&[
            verdict("safety", None, 5),
            verdict("correctness", Some(Rating::Yes), 3),
        ]);
        assert_eq!(
            (overall.rating, overall.root_cause),
            (Some(Rating::Yes), None)
        );
        let overall = assess(&[verdict("safety", None, 5)]);
        assert_eq!(overall.rating, None);
    }
}
