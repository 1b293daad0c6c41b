//! Asking the judge LLM for a verdict. The host does the asking (the
//! criterion rendered against the row, few-shot examples, structured
//! output, one repair, lenient reading), so every judge, in any language,
//! asks the same way; these are thin calls of its `ask` import.

use crate::bindings::gavel::judge::ask as host;
use crate::{AskError, Assessment, JudgeError, Overall, Question, Scale};

/// Asks whether the row meets `criterion`, a Handlebars template rendered
/// by the host against the row (`{{request}}`, `{{response}}`, ...).
pub fn ask_yes_no(criterion: &str) -> Result<Assessment, JudgeError> {
    ask(&Question::new(criterion, Scale::YesNo))
        .map(|answer| Assessment::new(answer.verdict, answer.rationale))
}

/// Like [`ask_yes_no`], on a 1-5 scale; the host applies the threshold.
pub fn ask_score(criterion: &str) -> Result<Assessment, JudgeError> {
    ask(&Question::new(criterion, Scale::OneToFive))
        .map(|answer| Assessment::new(answer.verdict, answer.rationale))
}

/// Rates every retrieved chunk on its own (the chunk replaces
/// `retrieved_context` in the criterion) and combines the verdicts by
/// `overall`. A chunk that cannot be rated is recorded with its error.
pub fn rate_chunks(
    criterion: &str,
    scale: Scale,
    overall: Overall,
) -> Result<Assessment, JudgeError> {
    host::rate_chunks(&Question::new(criterion, scale), overall)
        .map(|rated| rated.assessment)
        .map_err(JudgeError::from)
}

/// Asks `question` in full: with variables that add to or replace the
/// row's, or through another endpoint alias.
pub fn ask(question: &Question) -> Result<host::Answer, JudgeError> {
    host::ask(question).map_err(JudgeError::from)
}

impl Question {
    /// `criterion` on `scale`, about the row as it is, through the judge's
    /// configured endpoint.
    pub fn new(criterion: &str, scale: Scale) -> Question {
        Question {
            criterion: criterion.to_owned(),
            scale,
            overrides: Vec::new(),
            endpoint: None,
        }
    }

    /// Sets a variable for the criterion, adding to or replacing the row's.
    pub fn with(mut self, name: &str, value: &str) -> Question {
        self.overrides.push(crate::prompt::Variable {
            name: name.to_owned(),
            value: value.to_owned(),
        });
        self
    }

    /// Asks through `alias` (which the judge's description must list).
    pub fn through(mut self, alias: &str) -> Question {
        self.endpoint = Some(alias.to_owned());
        self
    }
}

/// The host's errors mirror [`JudgeError`] case for case.
impl From<AskError> for JudgeError {
    fn from(error: AskError) -> JudgeError {
        match error {
            AskError::MissingInput(input) => JudgeError::MissingInput(input),
            AskError::InvalidConfig(message) => JudgeError::InvalidConfig(message),
            AskError::Llm(error) => JudgeError::Llm(error),
            AskError::UnparsableAnswer(raw) => JudgeError::UnparsableAnswer(raw),
        }
    }
}
