//! A configured judge, and what judging a row gives.

use std::borrow::Cow;
use std::sync::Arc;

use crate::bindings::{Assessment, AssessmentType, Example, Input, JudgeConfig, Row, Verdict};
use crate::builtins;
use crate::failure::{FailureKind, JudgeFailure};
use crate::judgment::{ChunkJudgment, Judgment, Rating};
use crate::limits::Limits;
use crate::plugin::{Plugin, PluginSource};
use crate::sandbox::Grant;
use crate::text::{MAX_MESSAGE_BYTES, clean_owned};

/// The default endpoint alias of every judge.
pub const DEFAULT_ENDPOINT: &str = "judge";
/// Scores above this are a yes, unless a judge is configured otherwise.
pub const DEFAULT_THRESHOLD: u8 = 3;

/// How a judge is set up for a run (`[judges.NAME]` in `gavel.toml`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Alias for the judge's LLM calls.
    pub endpoint: String,
    /// Further aliases the judge may call by name.
    pub extra_endpoints: Vec<String>,
    /// A 1-5 score above this is a yes.
    pub threshold: u8,
    /// The JSON object handed to the plugin.
    pub options: serde_json::Map<String, serde_json::Value>,
    /// Few-shot examples; at most five are handed over.
    pub examples: Vec<Example>,
    pub limits: Limits,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            extra_endpoints: Vec::new(),
            threshold: DEFAULT_THRESHOLD,
            options: serde_json::Map::new(),
            examples: Vec::new(),
            limits: Limits::DEFAULT,
        }
    }
}

/// Few-shot examples beyond this many are not used.
pub const MAX_EXAMPLES: usize = 5;

/// A plugin with its settings, under the name it has in outputs.
#[derive(Clone)]
pub struct Judge(Arc<JudgeInner>);

struct JudgeInner {
    name: String,
    plugin: Plugin,
    assessment_type: AssessmentType,
    rates_chunks: bool,
    required_inputs: Vec<Vec<Input>>,
    threshold: u8,
    grant: Grant,
    config: JudgeConfig,
}

impl Judge {
    /// The plugin under its own name, with `settings`.
    pub fn new(plugin: Plugin, settings: Settings) -> Self {
        let name = plugin.name().to_owned();
        JudgeBuilder::new(plugin, settings).name(name).build()
    }

    /// For judges whose name, type or inputs differ from the plugin's (the
    /// custom prompt judges).
    pub fn builder(plugin: Plugin, settings: Settings) -> JudgeBuilder {
        JudgeBuilder::new(plugin, settings)
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }

    pub fn plugin(&self) -> &Plugin {
        &self.0.plugin
    }

    pub fn assessment_type(&self) -> AssessmentType {
        self.0.assessment_type
    }

    /// Whether it rates retrieved chunks one by one (its results are lists
    /// and a precision).
    pub fn rates_chunks(&self) -> bool {
        self.0.rates_chunks
    }

    pub fn required_inputs(&self) -> &[Vec<Input>] {
        &self.0.required_inputs
    }

    pub fn threshold(&self) -> u8 {
        self.0.threshold
    }

    /// The endpoint alias the judge's LLM calls go to.
    pub fn grant_endpoint(&self) -> &str {
        &self.0.grant.endpoint
    }

    pub fn limits(&self) -> &Limits {
        &self.0.grant.limits
    }

    /// Requirements the row does not meet; empty when the judge can run.
    ///
    /// A guideline judge (one that requires guidelines or global
    /// guidelines) judges the response, the row's `guidelines_context`, or
    /// both, as the reference's guideline_adherence does: a
    /// `guidelines_context` stands in for a missing response.
    pub fn missing_inputs(&self, row: &Row) -> Vec<&[Input]> {
        let context_for_response =
            || self.judges_guidelines_context() && has_guidelines_context(row);
        self.0
            .required_inputs
            .iter()
            .filter(|any_of| !any_of.iter().any(|input| has_input(row, *input)))
            .filter(|any_of| !(any_of.as_slice() == [Input::Response] && context_for_response()))
            .map(Vec::as_slice)
            .collect()
    }

    /// Whether a row's `guidelines_context` stands in for its response:
    /// the judge is a guideline judge.
    pub fn judges_guidelines_context(&self) -> bool {
        self.requires(Input::Guidelines) || self.requires(Input::GlobalGuidelines)
    }

    /// What `row` lacks, in words, for "needs ...": each input named by
    /// `name` (and the guidelines context by `context`), saying where the
    /// row's own fields fall short (chunks without content; neither a
    /// response nor a guidelines context).
    pub fn describe_missing_in(
        &self,
        row: &Row,
        missing: &[&[Input]],
        name: impl Fn(Input) -> String,
        context: &str,
    ) -> String {
        describe_missing(missing, |input| match input {
            Input::RetrievedContext if !row.retrieved_context.is_empty() => {
                format!("{} with content", name(input))
            }
            Input::Response if self.judges_guidelines_context() => {
                format!("{} or {context}", name(input))
            }
            _ => name(input),
        })
    }

    /// Whether `input` is one of the judge's requirements on its own.
    fn requires(&self, input: Input) -> bool {
        self.0.required_inputs.iter().any(|r| r == &[input])
    }

    /// The judgments this judge makes on `row`: one, or for a judge that
    /// requires guidelines, one per group of them, named
    /// `<judge>/<group>` when the group is named.
    ///
    /// A judge that requires retrieved context judges the chunks' contents:
    /// it sees only the chunks that have content (chunks with only a
    /// `doc_uri` serve document recall), so its per-chunk ratings follow
    /// those chunks, in order.
    pub fn targets<'r>(&self, row: &'r Row) -> Vec<Target<'r>> {
        let row = if self.requires(Input::RetrievedContext)
            && row.retrieved_context.iter().any(|c| c.content.is_none())
        {
            let mut row = row.clone();
            row.retrieved_context.retain(|c| c.content.is_some());
            Cow::Owned(row)
        } else {
            Cow::Borrowed(row)
        };
        let groups = if self.requires(Input::Guidelines) {
            Some((&row.guidelines, false))
        } else if self.requires(Input::GlobalGuidelines) {
            Some((&row.global_guidelines, true))
        } else {
            None
        };
        let Some((groups, global)) =
            groups.filter(|(g, _)| g.len() > 1 || g.iter().any(|g| g.name.is_some()))
        else {
            return vec![Target {
                name: self.0.name.clone(),
                row,
            }];
        };
        groups
            .iter()
            .map(|group| {
                let mut row = Row::clone(&row);
                let only = vec![group.clone()];
                if global {
                    row.global_guidelines = only;
                } else {
                    row.guidelines = only;
                }
                let name = match &group.name {
                    Some(group) => format!("{}/{group}", self.0.name),
                    None => self.0.name.clone(),
                };
                Target {
                    name,
                    row: Cow::Owned(row),
                }
            })
            .collect()
    }

    pub(crate) fn grant(&self) -> &Grant {
        &self.0.grant
    }

    pub(crate) fn config(&self) -> &JudgeConfig {
        &self.0.config
    }

    /// Turns what the plugin returned into a judgment: scores become ratings
    /// with the threshold, and anything malformed is a failure.
    pub(crate) fn judgment(
        &self,
        row: &Row,
        assessment: Assessment,
    ) -> Result<Judgment, FailureKind> {
        let threshold = self.0.threshold;
        let (rating, score) = rate(&assessment.verdict, threshold)?;
        let retrieved = row.retrieved_context.len();
        if !assessment.chunks.is_empty() && assessment.chunks.len() != retrieved {
            return Err(FailureKind::InvalidAssessment(format!(
                "it rated {} chunks, but the row has {retrieved}",
                assessment.chunks.len()
            )));
        }
        let chunks = assessment
            .chunks
            .into_iter()
            .map(|chunk| match chunk {
                Ok(chunk) => {
                    let (rating, score) = rate(&chunk.verdict, threshold)?;
                    Ok(Ok(ChunkJudgment {
                        rating,
                        score,
                        rationale: bounded(chunk.rationale),
                    }))
                }
                Err(message) => Ok(Err(bounded(message))),
            })
            .collect::<Result<_, FailureKind>>()?;
        Ok(Judgment {
            rating,
            score,
            rationale: bounded(assessment.rationale),
            chunks,
        })
    }

    /// Every failure of a judgment passes here on its way into results, so
    /// the texts in it are bounded and clean.
    pub(crate) fn failure(&self, kind: FailureKind) -> JudgeFailure {
        JudgeFailure {
            plugin: format!("{}@{}", self.0.plugin.name(), self.0.plugin.version()),
            kind: kind.cleaned(),
        }
    }
}

impl std::fmt::Debug for Judge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Judge")
            .field("name", &self.0.name)
            .field("plugin", &self.0.plugin)
            .finish_non_exhaustive()
    }
}

/// One judgment to make: the row as the judge sees it, and the name the
/// judgment has in outputs.
#[derive(Debug, Clone)]
pub struct Target<'r> {
    pub name: String,
    pub row: Cow<'r, Row>,
}

/// Builds a [`Judge`] whose name, assessment type or required inputs are
/// not the plugin's own.
pub struct JudgeBuilder {
    plugin: Plugin,
    settings: Settings,
    name: String,
    assessment_type: AssessmentType,
    rates_chunks: bool,
    required_inputs: Vec<Vec<Input>>,
}

impl JudgeBuilder {
    fn new(plugin: Plugin, settings: Settings) -> Self {
        let description = plugin.description();
        JudgeBuilder {
            name: description.name.clone(),
            assessment_type: description.assessment_type,
            // Only a built-in's facts are known; a plugin from a file says
            // so through the builder (its configuration).
            rates_chunks: *plugin.source() == PluginSource::Builtin
                && builtins::facts(&description.name).is_some_and(|facts| facts.rates_chunks),
            required_inputs: description.required_inputs.clone(),
            plugin,
            settings,
        }
    }

    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    pub fn assessment_type(mut self, assessment_type: AssessmentType) -> Self {
        self.assessment_type = assessment_type;
        self
    }

    pub fn rates_chunks(mut self, rates_chunks: bool) -> Self {
        self.rates_chunks = rates_chunks;
        self
    }

    pub fn required_inputs(mut self, inputs: Vec<Vec<Input>>) -> Self {
        self.required_inputs = inputs;
        self
    }

    pub fn build(self) -> Judge {
        let Settings {
            endpoint,
            extra_endpoints,
            threshold,
            options,
            mut examples,
            limits,
        } = self.settings;
        examples.truncate(MAX_EXAMPLES);
        let grant = Grant {
            judge: Arc::from(self.name.as_str()),
            judge_version: Arc::from(self.plugin.version()),
            endpoint: Arc::from(endpoint.as_str()),
            extra_endpoints: Arc::from(extra_endpoints),
            limits,
            examples: Arc::from(examples.as_slice()),
            threshold,
        };
        let config = JudgeConfig {
            options: serde_json::Value::Object(options).to_string(),
            endpoint,
            threshold,
            examples,
        };
        Judge(Arc::new(JudgeInner {
            name: self.name,
            plugin: self.plugin,
            assessment_type: self.assessment_type,
            rates_chunks: self.rates_chunks,
            required_inputs: self.required_inputs,
            threshold,
            grant,
            config,
        }))
    }
}

/// Whether `row` has `input`. Empty lists count as missing, and retrieved
/// context counts only when a chunk has content: judges of retrieved
/// context judge its text, which a chunk with only a `doc_uri` lacks.
pub fn has_input(row: &Row, input: Input) -> bool {
    match input {
        Input::Request => !row.request.trim().is_empty(),
        Input::Response => row.response.is_some(),
        Input::ExpectedResponse => row.expected_response.is_some(),
        Input::ExpectedFacts => !row.expected_facts.is_empty(),
        Input::RetrievedContext => row.retrieved_context.iter().any(|c| c.content.is_some()),
        Input::ExpectedRetrievedContext => !row.expected_retrieved_context.is_empty(),
        Input::Guidelines => !row.guidelines.is_empty(),
        Input::GlobalGuidelines => !row.global_guidelines.is_empty(),
        Input::Trace => row.trace.is_some(),
    }
}

/// The field of an evaluation-set row holding the values its guidelines
/// refer to (`{"retrieved_context": "..."}`): an object of strings, kept
/// among the row's other fields (`row.extra`), as the WIT row has no field
/// of its own for it.
pub const GUIDELINES_CONTEXT: &str = "guidelines_context";

/// The row's `guidelines_context`, when it has a non-empty one.
pub fn guidelines_context(row: &Row) -> Option<serde_json::Map<String, serde_json::Value>> {
    if !row.extra.contains(GUIDELINES_CONTEXT) {
        return None;
    }
    match serde_json::from_str::<serde_json::Value>(&row.extra) {
        Ok(serde_json::Value::Object(mut extra)) => match extra.remove(GUIDELINES_CONTEXT) {
            Some(serde_json::Value::Object(context)) if !context.is_empty() => Some(context),
            _ => None,
        },
        _ => None,
    }
}

fn has_guidelines_context(row: &Row) -> bool {
    guidelines_context(row).is_some()
}

/// The input's field name in evaluation sets.
pub fn input_name(input: Input) -> &'static str {
    match input {
        Input::Request => "request",
        Input::Response => "response",
        Input::ExpectedResponse => "expected_response",
        Input::ExpectedFacts => "expected_facts",
        Input::RetrievedContext => "retrieved_context",
        Input::ExpectedRetrievedContext => "expected_retrieved_context",
        Input::Guidelines => "guidelines",
        Input::GlobalGuidelines => "global_guidelines",
        Input::Trace => "trace",
    }
}

/// `expected_response or expected_facts, retrieved_context`: what a row
/// lacks, each input named by `name`.
pub fn describe_missing(missing: &[&[Input]], name: impl Fn(Input) -> String) -> String {
    missing
        .iter()
        .map(|any_of| {
            any_of
                .iter()
                .map(|i| name(*i))
                .collect::<Vec<_>>()
                .join(" or ")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `["request", "response", "expected_response|expected_facts"]`.
pub fn requirement_names(required: &[Vec<Input>]) -> Vec<String> {
    required
        .iter()
        .map(|any_of| {
            any_of
                .iter()
                .map(|i| input_name(*i))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

pub(crate) fn rate(verdict: &Verdict, threshold: u8) -> Result<(Rating, Option<u8>), FailureKind> {
    match *verdict {
        Verdict::Yes => Ok((Rating::Yes, None)),
        Verdict::No => Ok((Rating::No, None)),
        Verdict::Score(score @ 1..=5) => {
            let rating = if score > threshold {
                Rating::Yes
            } else {
                Rating::No
            };
            Ok((rating, Some(score)))
        }
        Verdict::Score(score) => Err(FailureKind::InvalidAssessment(format!(
            "score {score} is not between 1 and 5"
        ))),
    }
}

/// Every text of a plugin's assessment passes here on its way into results.
fn bounded(text: String) -> String {
    clean_owned(text, MAX_MESSAGE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_score_is_yes_only_above_the_threshold() {
        assert_eq!(rate(&Verdict::Score(3), 3), Ok((Rating::No, Some(3))));
        assert_eq!(rate(&Verdict::Score(4), 3), Ok((Rating::Yes, Some(4))));
        assert_eq!(rate(&Verdict::Score(1), 0), Ok((Rating::Yes, Some(1))));
        assert_eq!(rate(&Verdict::Score(5), 5), Ok((Rating::No, Some(5))));
        assert!(rate(&Verdict::Score(0), 3).is_err());
        assert!(rate(&Verdict::Score(6), 3).is_err());
        assert_eq!(rate(&Verdict::Yes, 5), Ok((Rating::Yes, None)));
    }

    #[test]
    fn long_rationales_are_cut_on_a_char_boundary() {
        let long = "é".repeat(MAX_MESSAGE_BYTES);
        let cut = bounded(long);
        assert!(cut.ends_with(&format!("... ({} bytes cut)", MAX_MESSAGE_BYTES)));
        assert!(cut.len() <= MAX_MESSAGE_BYTES + 40);
        assert_eq!(bounded("fine\n".to_owned()), "fine\n");
        assert_eq!(bounded("\u{1b}[2J".to_owned()), "\u{fffd}[2J");
    }
}
