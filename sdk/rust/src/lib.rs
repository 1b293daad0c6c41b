//! Write [gavel](https://github.com/gavel-eval/gavel) judge plugins in Rust.
//!
//! A judge is a WebAssembly component that implements one trait, [`Judge`],
//! registered with one macro, [`register_judge!`]. The host renders prompts
//! and calls the LLM on the judge's behalf; the judge never touches the
//! network, files or secrets.
//!
//! ```ignore
//! use gavel_sdk::{Assessment, Description, Input, Judge, JudgeConfig, JudgeError, Row};
//!
//! struct Conciseness;
//!
//! impl Judge for Conciseness {
//!     fn describe() -> Description {
//!         Description::answer("conciseness", "0.1.0", "Is the response free of padding?")
//!             .requires(Input::Request)
//!             .requires(Input::Response)
//!     }
//!
//!     fn evaluate(_row: &Row, _config: &JudgeConfig) -> Result<Assessment, JudgeError> {
//!         gavel_sdk::ask_yes_no("Does the response answer the request without \
//!             padding or repetition?\n{{request}}\n{{response}}")
//!     }
//! }
//!
//! gavel_sdk::register_judge!(Conciseness);
//! ```
//!
//! A metric (a number per row, no LLM: the host links no `llm` for it)
//! implements [`Metric`] and is registered with [`register_metric!`]:
//!
//! ```ignore
//! use gavel_sdk::{Metric, MetricDescription, Row};
//!
//! struct Words;
//!
//! impl Metric for Words {
//!     fn describe() -> MetricDescription {
//!         MetricDescription::new("words", "0.1.0", "Words in the response.")
//!     }
//!
//!     fn measure(row: &Row) -> Result<Option<f64>, String> {
//!         Ok(row.response.as_ref().map(|r| r.split_whitespace().count() as f64))
//!     }
//! }
//!
//! gavel_sdk::register_metric!(Words);
//! ```
//!
//! `gavel new judge NAME --lang rust` writes such a crate (type `cdylib`);
//! `gavel build` builds it into `NAME.wasm` (it runs `cargo build --release
//! --target wasm32-wasip2`). Point a `[judges.NAME] plugin = "..."` table at
//! the `.wasm`, or try it with `gavel judge --plugin NAME.wasm`.

// Lets the generated bindings name this crate the way dependents do.
extern crate self as gavel_sdk;

mod ask;
#[doc(hidden)]
pub mod bindings;
mod describe;
pub mod llm;
pub mod log;
mod metric;
mod options;
pub mod prompt;
mod verdict;

pub use ask::{ask, ask_score, ask_yes_no, rate_chunks};
pub use bindings::exports::gavel::judge::judge::{AssessmentType, Description, Input, JudgeError};
pub use bindings::gavel::judge::ask::{Answer, AskError, Overall, Question, Scale};
pub use bindings::gavel::judge::llm::{Completion, LlmError, Usage};
pub use bindings::gavel::judge::types::{
    Assessment, Chunk, ChunkAssessment, Example, GuidelineGroup, JudgeConfig, Message, Role, Row,
    Verdict,
};
pub use metric::{Metric, MetricDescription};

/// A judge. Both functions are called on a fresh instance of the component,
/// so a judge keeps no state between evaluations.
pub trait Judge {
    /// Name, version, assessment type, required inputs: what the host needs
    /// to decide on which rows the judge runs.
    fn describe() -> Description;

    /// Judges one row. Return [`JudgeError`] when the row cannot be judged;
    /// the host records it as this judgment's error and moves on.
    fn evaluate(row: &Row, config: &JudgeConfig) -> Result<Assessment, JudgeError>;
}

/// Exports a [`Judge`] implementation as the component's `judge` interface.
/// Use it once per crate.
#[macro_export]
macro_rules! register_judge {
    ($judge:ty) => {
        const _: () = {
            struct GavelPlugin;

            impl $crate::bindings::exports::gavel::judge::judge::Guest for GavelPlugin {
                fn describe() -> $crate::Description {
                    <$judge as $crate::Judge>::describe()
                }

                fn evaluate(
                    row: $crate::Row,
                    config: $crate::JudgeConfig,
                ) -> ::core::result::Result<$crate::Assessment, $crate::JudgeError> {
                    <$judge as $crate::Judge>::evaluate(&row, &config)
                }
            }

    $crate::bindings::__export_plugin!(GavelPlugin with_types_in $crate::bindings);
        };
    };
}

#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;
}
