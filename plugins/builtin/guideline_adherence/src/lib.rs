//! Does the response follow the row's guidelines? The host calls it once per
//! named group of guidelines.

use gavel_sdk::{Assessment, Description, Input, Judge, JudgeConfig, JudgeError, Row};

const CRITERION: &str = "Criterion: does the response follow every one of the guidelines?
The response fails when it breaks any single guideline. A guideline that cannot apply to this \
request counts as followed.

{{guidelines}}
{{request}}
{{response}}";

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
