//! Does the response address the request?

use gavel_sdk::{Assessment, Description, Input, Judge, JudgeConfig, JudgeError, Row};

const CRITERION: &str = "Criterion: is the response relevant to the request?
The response is relevant when it addresses what the request asks for, even if only partly or \
imperfectly. A response about something else, or one that does not engage with the request, is \
not relevant. Do not judge whether the response is correct, only whether it is on point.

{{request}}
{{response}}";

struct RelevanceToQuery;

impl Judge for RelevanceToQuery {
    fn describe() -> Description {
        Description::answer(
            "relevance_to_query",
            env!("CARGO_PKG_VERSION"),
            "The response addresses what the request asks for.",
        )
        .requires(Input::Request)
        .requires(Input::Response)
    }

    fn evaluate(_row: &Row, _config: &JudgeConfig) -> Result<Assessment, JudgeError> {
        gavel_sdk::ask_yes_no(CRITERION)
    }
}

gavel_sdk::register_judge!(RelevanceToQuery);
