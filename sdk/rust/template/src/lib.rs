//! __NAME__: a gavel judge. `gavel build` makes __NAME__.wasm; try it on the
//! test row with `gavel judge --plugin __NAME__.wasm --row row.json`.

use gavel_sdk::{Assessment, Description, Input, Judge, JudgeConfig, JudgeError, Row};

/// Options, from `config = { ... }` under the judge's table in gavel.toml.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Options {
    /// Responses longer than this many words fail without asking the LLM.
    max_words: Option<usize>,
}

struct JudgeImpl;

impl Judge for JudgeImpl {
    fn describe() -> Description {
        Description::answer("__NAME__", env!("CARGO_PKG_VERSION"), "The response answers the request.")
            .requires(Input::Request)
            .requires(Input::Response)
    }

    fn evaluate(row: &Row, config: &JudgeConfig) -> Result<Assessment, JudgeError> {
        let options: Options = config.options()?;
        let words = row.response.as_deref().unwrap_or("").split_whitespace().count();
        if let Some(max) = options.max_words
            && words > max
        {
            return Ok(Assessment::no(format!("{words} words, over the limit of {max}.")));
        }
        gavel_sdk::ask_yes_no("Does the response answer the request?\n{{request}}\n{{response}}")
    }
}

gavel_sdk::register_judge!(JudgeImpl);
