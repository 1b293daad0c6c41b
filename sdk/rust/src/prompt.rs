//! Prompt rendering, done by the host so that every judge fences data the
//! same way: each value sits in tags named after its variable
//! (`<response>...</response>`) and cannot close its own fence.

use crate::bindings::gavel::judge::prompt as host;
pub use crate::bindings::gavel::judge::prompt::Variable;
use crate::{JudgeError, Row};

/// Renders a Handlebars template (`{{request}}`, `{{response}}`, ...; the
/// single-brace `{response}` works too) against the row being judged.
/// `overrides` add or replace variables.
pub fn render(template: &str, overrides: &[(&str, &str)]) -> Result<String, JudgeError> {
    host::render(template, &variables(overrides)).map_err(template_error)
}

/// Like [`render`], against another row (a few-shot example's).
pub fn render_row(
    template: &str,
    row: &Row,
    overrides: &[(&str, &str)],
) -> Result<String, JudgeError> {
    host::render_row(template, row, &variables(overrides)).map_err(template_error)
}

fn variables(overrides: &[(&str, &str)]) -> Vec<Variable> {
    overrides
        .iter()
        .map(|(name, value)| Variable {
            name: (*name).to_owned(),
            value: (*value).to_owned(),
        })
        .collect()
}

fn template_error(message: String) -> JudgeError {
    JudgeError::InvalidConfig(format!("prompt template: {message}"))
}
