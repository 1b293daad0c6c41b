//! How close in meaning is the response to the expected response, from 1 to 5?

use gavel_sdk::{Assessment, Description, Input, Judge, JudgeConfig, JudgeError, Row};

const CRITERION: &str = "Criterion: how similar in meaning is the response to the expected \
response? Judge meaning, not wording.
5: the same meaning, with every key point.
4: the same meaning, with minor omissions or additions.
3: partly similar; some key points are missing or different.
2: mostly different; few points in common.
1: unrelated, or contradicting the expected response.

{{#if request}}{{request}}{{/if}}
{{expected_response}}
{{response}}";

struct AnswerSimilarity;

impl Judge for AnswerSimilarity {
    fn describe() -> Description {
        Description::answer(
            "answer_similarity",
            env!("CARGO_PKG_VERSION"),
            "1-5 similarity in meaning between the response and the expected response.",
        )
        .requires(Input::Response)
        .requires(Input::ExpectedResponse)
    }

    fn evaluate(_row: &Row, _config: &JudgeConfig) -> Result<Assessment, JudgeError> {
        gavel_sdk::ask_score(CRITERION)
    }
}

gavel_sdk::register_judge!(AnswerSimilarity);
