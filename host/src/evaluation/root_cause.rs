//! A row's overall assessment: yes when every judge that ran says yes;
//! otherwise the root cause is the first failing judge in root-cause order
//! (`root_cause` in plugins/builtin/judges.toml, then custom judges), with
//! a suggested action.

use gavel_runtime::Rating;
use gavel_runtime::builtins;

use crate::results::row_result::OverallAssessment;

/// One judge's part in the overall assessment.
pub struct Vote<'a> {
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

pub fn assess(votes: &[Vote]) -> OverallAssessment {
    let rated: Vec<&Vote> = votes.iter().filter(|v| v.rating.is_some()).collect();
    if rated.is_empty() {
        let rationale = if votes.is_empty() {
            "No judge ran on this row.".to_owned()
        } else {
            "Every judgment on this row failed; see the judges' error messages.".to_owned()
        };
        return OverallAssessment {
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
        None => OverallAssessment {
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
            OverallAssessment {
                rating: Some(Rating::No),
                root_cause: Some(cause.judge.to_owned()),
                rationale,
            }
        }
    }
}

/// What to do about a failure attributed to `judge`.
pub fn suggested_action(judge: &str) -> String {
    match builtins::facts(judge).and_then(|facts| facts.suggested_action) {
        Some(action) => action.to_owned(),
        None => format!("the custom judge '{judge}' rated the response no: act on its rationale"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vote<'a>(judge: &'a str, rating: Option<Rating>, rank: usize) -> Vote<'a> {
        Vote {
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
            vote("safety", Some(Rating::No), 5),
            vote("groundedness", Some(Rating::No), 2),
            vote("correctness", Some(Rating::Yes), 3),
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
            vote("safety", None, 5),
            vote("correctness", Some(Rating::Yes), 3),
        ]);
        assert_eq!(
            (overall.rating, overall.root_cause),
            (Some(Rating::Yes), None)
        );
        let overall = assess(&[vote("safety", None, 5)]);
        assert_eq!(overall.rating, None);
    }
}
