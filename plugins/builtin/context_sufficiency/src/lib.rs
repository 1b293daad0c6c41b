//! Does the retrieved context hold everything needed for the expected answer?

use gavel_sdk::{Assessment, Description, Input, Judge, JudgeConfig, JudgeError, Row};

const CRITERION: &str = "Criterion: is the retrieved context sufficient?
The retrieved context is sufficient when it contains all the information needed to produce the \
expected response and every expected fact. If any essential part is missing from it, it is not \
sufficient. Do not judge the response; there may be none.

{{request}}
{{retrieved_context}}
{{#if expected_response}}{{expected_response}}{{/if}}
{{#if expected_facts}}{{expected_facts}}{{/if}}";

struct ContextSufficiency;

impl Judge for ContextSufficiency {
    fn describe() -> Description {
        Description::retrieval(
            "context_sufficiency",
            env!("CARGO_PKG_VERSION"),
            "The retrieved context holds everything needed to give the expected response.",
        )
        .requires(Input::Request)
        .requires_any([Input::ExpectedResponse, Input::ExpectedFacts])
        .requires(Input::RetrievedContext)
    }

    fn evaluate(_row: &Row, _config: &JudgeConfig) -> Result<Assessment, JudgeError> {
        gavel_sdk::ask_yes_no(CRITERION)
    }
}

gavel_sdk::register_judge!(ContextSufficiency);
