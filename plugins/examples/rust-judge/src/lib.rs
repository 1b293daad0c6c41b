//! Is the response concise? Too long by word count fails without an LLM
//! call; otherwise the judge LLM decides. The examples next to this one do
//! the same in Python, JavaScript and C.

use gavel_sdk::{Assessment, Description, Input, Judge, JudgeConfig, JudgeError, Row};

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Options {
    max_words: Option<usize>,
}

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
        let max_words = config.options::<Options>()?.max_words.unwrap_or(100);
        let words = row
            .response
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .count();
        if words > max_words {
            return Ok(Assessment::no(format!(
                "{words} words, over the limit of {max_words}."
            )));
        }
        gavel_sdk::ask_yes_no(
            "Is the response concise: does it answer the request \
            without padding, repetition or unrequested detail?\n{{request}}\n{{response}}",
        )
    }
}

gavel_sdk::register_judge!(Conciseness);
