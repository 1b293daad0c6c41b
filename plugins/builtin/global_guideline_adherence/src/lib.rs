//! Does the response follow the guidelines that apply to every row? The host
//! calls it once per named group of global guidelines.

use gavel_sdk::{Assessment, Description, Input, Judge, JudgeConfig, JudgeError, Row};

const CRITERION: &str = "Criterion: does the response follow every one of the guidelines?
The response fails when it breaks any single guideline. A guideline that cannot apply to this \
request counts as followed.

{{global_guidelines}}
{{request}}
{{response}}";

struct GlobalGuidelineAdherence;

impl Judge for GlobalGuidelineAdherence {
    fn describe() -> Description {
        Description::answer(
            "global_guideline_adherence",
            env!("CARGO_PKG_VERSION"),
            "The response follows the global guidelines, judged per named group.",
        )
        .requires(Input::Request)
        .requires(Input::Response)
        .requires(Input::GlobalGuidelines)
    }

    fn evaluate(_row: &Row, _config: &JudgeConfig) -> Result<Assessment, JudgeError> {
        gavel_sdk::ask_yes_no(CRITERION)
    }
}

gavel_sdk::register_judge!(GlobalGuidelineAdherence);
