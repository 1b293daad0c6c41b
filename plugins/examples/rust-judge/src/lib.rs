//! Is the response concise? Too long by word count fails without an LLM
//! call; otherwise the judge LLM decides. The Python and JavaScript examples
//! next to this one do exactly the same.

use gavel_sdk::{Assessment, Description, Input, Judge, JudgeConfig, JudgeError, Row};

struct Conciseness;

impl Judge for Conciseness {
    fn describe() -> Description {
        Description::answer(
            "conciseness",
            "1.0.0",
            "The response answers without padding.",
        )
        .requires(Input::Request)
        .requires(Input::Response)
    }

    fn evaluate(row: &Row, config: &JudgeConfig) -> Result<Assessment, JudgeError> {
        let options: serde_json::Value = serde_json::from_str(&config.options).unwrap_or_default();
        let max_words = options["max_words"].as_u64().unwrap_or(100);
        let words = row
            .response
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .count() as u64;
        if words > max_words {
            return Ok(Assessment::no(format!(
                "{words} words, over the limit of {max_words}."
            )));
        }
        gavel_sdk::ask_yes_no(
            config,
            "Is the response concise: does it answer the request \
            without padding, repetition or unrequested detail?\n{{request}}\n{{response}}",
        )
    }
}

gavel_sdk::register_judge!(Conciseness);
