//! The judge behind custom prompt judges (`[judges.NAME] prompt = "..."`):
//! the user's prompt, wrapped in the host's 1-5 output instructions, asked
//! once per row (answer) or once per retrieved chunk (retrieval).

use gavel_sdk::{Assessment, Description, Judge, JudgeConfig, JudgeError, Overall, Row, Scale};
use serde_json::Value;

struct PromptJudge;

impl Judge for PromptJudge {
    fn describe() -> Description {
        // Name and required inputs come from each `[judges.NAME]` table and
        // the variables its prompt uses; the host fills them in.
        Description::answer(
            "prompt",
            env!("CARGO_PKG_VERSION"),
            "Scores each row 1-5 with a custom prompt; yes when above the threshold.",
        )
    }

    fn evaluate(_row: &Row, config: &JudgeConfig) -> Result<Assessment, JudgeError> {
        let options: Value = serde_json::from_str(&config.options)
            .map_err(|e| JudgeError::InvalidConfig(format!("options are not JSON: {e}")))?;
        let prompt = options
            .get("prompt")
            .and_then(Value::as_str)
            .filter(|p| !p.trim().is_empty())
            .ok_or_else(|| JudgeError::InvalidConfig("`prompt` is missing".to_owned()))?;
        match options.get("assessment_type").and_then(Value::as_str) {
            None | Some("answer") => gavel_sdk::ask_score(prompt),
            Some("retrieval") => gavel_sdk::rate_chunks(prompt, Scale::OneToFive, Overall::AllYes),
            Some(other) => Err(JudgeError::InvalidConfig(format!(
                "assessment_type must be \"answer\" or \"retrieval\", not {other:?}"
            ))),
        }
    }
}

gavel_sdk::register_judge!(PromptJudge);
