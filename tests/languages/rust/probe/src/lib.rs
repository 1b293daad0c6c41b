//! The probe judge: every SDK call, chosen by the `mode` option. The same
//! judge is written in each SDK language; tests/languages.rs runs one suite
//! on all of them.

use gavel_sdk::{Assessment, Description, Input, Judge, JudgeConfig, JudgeError, Overall, Row, Scale};

const YES_NO: &str = "Is the response helpful?\n{{request}}\n{{response}}";
const CHUNK: &str = "Is this chunk relevant to the request?\n{{request}}\n{{retrieved_context}}";

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Options {
    mode: String,
    verdict: Option<Fixed>,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Fixed {
    Word(String),
    Score(u8),
}

struct Probe;

impl Judge for Probe {
    fn describe() -> Description {
        Description::answer("probe", "1.0.0", "Exercises every SDK call.")
            .requires(Input::Request)
            .requires(Input::Response)
    }

    fn evaluate(_row: &Row, config: &JudgeConfig) -> Result<Assessment, JudgeError> {
        let options: Options = config.options()?;
        match options.mode.as_str() {
            "yes_no" => gavel_sdk::ask_yes_no(YES_NO),
            "score" => gavel_sdk::ask_score(YES_NO),
            "chunks" => gavel_sdk::rate_chunks(CHUNK, Scale::YesNo, Overall::AnyYes),
            "chunk_scores" => gavel_sdk::rate_chunks(CHUNK, Scale::OneToFive, Overall::AllYes),
            "fixed" => Ok(match options.verdict {
                Some(Fixed::Word(word)) if word == "yes" => Assessment::yes("Fixed."),
                Some(Fixed::Score(score)) => Assessment::score(score, "Fixed."),
                _ => Assessment::no("Fixed."),
            }),
            "fail" => Err(JudgeError::Failed("asked to fail".into())),
            "missing" => Err(JudgeError::MissingInput("expected_response".into())),
            "log" => {
                gavel_sdk::log::info("probe says hi");
                Ok(Assessment::yes("Logged."))
            }
            "spin" => loop {
                std::hint::black_box(0);
            },
            other => Err(JudgeError::InvalidConfig(format!("unknown mode: {other}"))),
        }
    }
}

gavel_sdk::register_judge!(Probe);
