//! Does the response follow the row's guidelines? The host calls it once per
//! named group of guidelines. A row's `guidelines_context` (values the
//! guidelines refer to, by name) is judged with the response, or in its
//! place: the host runs the judge on a row with either.

use gavel_sdk::{Assessment, Description, Input, Judge, JudgeConfig, JudgeError, Row};

/// Without a `guidelines_context` it renders as it always has (the
/// version is bumped for the new text all the same: it keys cached answers).
const CRITERION: &str = "Criterion: does the response follow every one of the guidelines?
The response fails when it breaks any single guideline. A guideline that cannot apply to this \
request counts as followed.{{#if guidelines_context}}
The guidelines may be about the values in guidelines_context, each given as its name, a colon \
and the value: a guideline about one of them is followed when that value follows it.\
{{#unless response}} There is no response: a guideline about the response cannot apply.\
{{/unless}}{{/if}}

{{guidelines}}
{{request}}{{#if response}}
{{response}}{{/if}}{{#if guidelines_context}}
{{guidelines_context}}{{/if}}";

struct GuidelineAdherence;

impl Judge for GuidelineAdherence {
    fn describe() -> Description {
        Description::answer(
            "guideline_adherence",
            env!("CARGO_PKG_VERSION"),
            "The response follows the row's guidelines, judged per named group.",
        )
        .requires(Input::Request)
        .requires(Input::Response)
        .requires(Input::Guidelines)
    }

    fn evaluate(_row: &Row, _config: &JudgeConfig) -> Result<Assessment, JudgeError> {
        gavel_sdk::ask_yes_no(CRITERION)
    }
}

gavel_sdk::register_judge!(GuidelineAdherence);
