//! Is the response correct, compared with the expected response or facts?

use gavel_sdk::{Assessment, Description, Input, Judge, JudgeConfig, JudgeError, Row};

const CRITERION: &str = "Criterion: is the response correct?
Compare the response with what a correct answer must say: the expected response, the expected \
facts, or both. The response is correct when it conveys everything essential in the expected \
response and states every expected fact, and contradicts none of them. Wording, style, length \
and additional correct details do not matter.

{{request}}
{{response}}
{{#if expected_response}}{{expected_response}}{{/if}}
{{#if expected_facts}}{{expected_facts}}{{/if}}";

struct Correctness;

impl Judge for Correctness {
    fn describe() -> Description {
        Description::answer(
            "correctness",
            env!("CARGO_PKG_VERSION"),
            "The response states what the expected response or facts say, and contradicts none of it.",
        )
        .requires(Input::Request)
        .requires(Input::Response)
        .requires_any([Input::ExpectedResponse, Input::ExpectedFacts])
    }

    fn evaluate(_row: &Row, _config: &JudgeConfig) -> Result<Assessment, JudgeError> {
        gavel_sdk::ask_yes_no(CRITERION)
    }
}

gavel_sdk::register_judge!(Correctness);
