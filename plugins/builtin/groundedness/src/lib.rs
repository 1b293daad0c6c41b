//! Is every claim of the response supported by the retrieved context?

use gavel_sdk::{Assessment, Description, Input, Judge, JudgeConfig, JudgeError, Row};

const CRITERION: &str = "Criterion: is the response grounded in the retrieved context?
The response is grounded when every factual claim it makes is supported by the retrieved \
context. A single claim that the context does not support, or that contradicts it, makes the \
response ungrounded. Parts that make no factual claim (a greeting, saying the answer is not \
known) need no support. Use only the retrieved context, not your own knowledge.

{{request}}
{{retrieved_context}}
{{response}}";

struct Groundedness;

impl Judge for Groundedness {
    fn describe() -> Description {
        Description::answer(
            "groundedness",
            env!("CARGO_PKG_VERSION"),
            "Every factual claim of the response is supported by the retrieved context.",
        )
        .requires(Input::Request)
        .requires(Input::Response)
        .requires(Input::RetrievedContext)
    }

    fn evaluate(_row: &Row, _config: &JudgeConfig) -> Result<Assessment, JudgeError> {
        gavel_sdk::ask_yes_no(CRITERION)
    }
}

gavel_sdk::register_judge!(Groundedness);
