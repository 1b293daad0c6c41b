//! Every judge a run can use, by name: the built-ins with their settings
//! from `gavel.toml`, then the custom prompt and plugin judges in file order.

use std::path::Path;

use serde_json::Value;

use crate::evaluation::config::{AssessmentKind, Config, ConfigError, JudgeTable};
use crate::evaluation::input::row_from_json;
use crate::evaluation::plugins::PluginLoader;
use crate::results::schema::{self, JudgedField, JudgedPrefix};
use gavel_runtime::Host;
use gavel_runtime::bindings::{AssessmentType, Example, Input, Verdict};
use gavel_runtime::judge::{DEFAULT_ENDPOINT, DEFAULT_THRESHOLD, Judge, Settings};
use gavel_runtime::plugin::{Plugin, PluginSource};
use gavel_runtime::prompt;

/// The name of the built-in plugin behind custom prompt judges; it is not a
/// judge of its own.
const PROMPT_PLUGIN: &str = "prompt";

#[derive(Debug, Clone)]
pub struct JudgeSet {
    judges: Vec<Judge>,
    /// How many of `judges` are built-ins (they come first).
    builtins: usize,
}

impl JudgeSet {
    /// The built-ins of `plugins` configured by `config`, then its custom
    /// judges, plugin judges loaded by `loader`. `endpoints` are the
    /// aliases that exist.
    pub async fn new(
        host: &Host,
        plugins: Vec<Plugin>,
        config: &Config,
        loader: &PluginLoader,
        endpoints: &[&str],
    ) -> Result<JudgeSet, ConfigError> {
        let prompt_plugin = plugins
            .iter()
            .find(|p| p.name() == PROMPT_PLUGIN)
            .cloned()
            .ok_or_else(|| config.error("the built-in prompt judge is missing"))?;
        let mut judges = Vec::new();
        for plugin in plugins.into_iter().filter(|p| p.name() != PROMPT_PLUGIN) {
            let table = config.judges.get(plugin.name());
            if let Some(table) = table {
                if table.prompt.is_some() || table.plugin.is_some() {
                    return Err(config.error(format!(
                        "[judges.{0}]: '{0}' is a built-in judge; give your custom judge another name",
                        plugin.name()
                    )));
                }
                if table.assessment_type.is_some() {
                    return Err(config.error(format!(
                        "[judges.{}]: `assessment_type` applies to custom prompt judges only",
                        plugin.name()
                    )));
                }
            }
            let default_table = JudgeTable::default();
            let settings = settings(
                host,
                config,
                plugin.name(),
                table.unwrap_or(&default_table),
                endpoints,
            )?;
            judges.push(Judge::new(plugin, settings));
        }
        let builtins = judges.len();
        for (name, table) in &config.judges {
            if judges[..builtins].iter().any(|j| j.name() == name) {
                continue;
            }
            check_name(config, name)?;
            let settings = settings(host, config, name, table, endpoints)?;
            let judge = match (&table.prompt, &table.plugin) {
                (Some(_), None) if table.sha256.is_some() => {
                    return Err(config.error(format!(
                        "[judges.{name}]: `sha256` pins a plugin's file; a prompt judge has none"
                    )));
                }
                (Some(template), None) => {
                    prompt_judge(config, name, table, template, settings, &prompt_plugin)?
                }
                (None, Some(_)) => {
                    if table.assessment_type.is_some() {
                        return Err(config.error(format!(
                            "[judges.{name}]: `assessment_type` applies to prompt judges; a plugin describes its own"
                        )));
                    }
                    let plugin = loader.load(host, config, name, table).await?;
                    Judge::builder(plugin, settings).name(name.clone()).build()
                }
                (Some(_), Some(_)) => {
                    return Err(config.error(format!(
                        "[judges.{name}]: give either `prompt` or `plugin`, not both"
                    )));
                }
                (None, None) => {
                    return Err(config.error(format!(
                        "[judges.{name}]: '{name}' is not a built-in judge, so it needs a `prompt` or a `plugin`"
                    )));
                }
            };
            judges.push(judge);
        }
        Ok(JudgeSet { judges, builtins })
    }

    pub fn get(&self, name: &str) -> Option<&Judge> {
        self.judges.iter().find(|j| j.name() == name)
    }

    /// Built-ins first, then custom judges in file order.
    pub fn judges(&self) -> &[Judge] {
        &self.judges
    }

    /// The custom judges, in file order.
    pub fn custom(&self) -> &[Judge] {
        &self.judges[self.builtins..]
    }

    pub fn names(&self) -> Vec<&str> {
        self.judges.iter().map(Judge::name).collect()
    }
}

fn check_name(config: &Config, name: &str) -> Result<(), ConfigError> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(config.error(format!(
            "[judges.{name}]: a judge name is lowercase letters, digits and `_`, starting with a letter (it becomes part of metric names)"
        )))
    }
}

fn settings(
    host: &Host,
    config: &Config,
    name: &str,
    table: &JudgeTable,
    endpoints: &[&str],
) -> Result<Settings, ConfigError> {
    let at = |message: String| config.error(format!("[judges.{name}]: {message}"));
    let endpoint = table
        .endpoint
        .clone()
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
    for alias in std::iter::once(&endpoint).chain(&table.endpoints) {
        if !endpoints.contains(&alias.as_str()) {
            return Err(at(format!(
                "endpoint '{alias}' is not defined; add an [endpoints.{alias}] table"
            )));
        }
    }
    let threshold = table.threshold.unwrap_or(DEFAULT_THRESHOLD);
    if threshold > 5 {
        return Err(at(format!(
            "`threshold` = {threshold}; scores run from 1 to 5, so use 0-5"
        )));
    }
    let options = match serde_json::to_value(&table.config) {
        Ok(Value::Object(options)) => options,
        _ => return Err(at("`config` must be a table".to_owned())),
    };
    let limits = gavel_runtime::limits::Limits::DEFAULT
        .with_overrides(&table.limits, host.maxima())
        .map_err(|e| at(format!("limits: {e}")))?;
    let examples = match table.examples.as_ref().or(config.eval.examples.as_ref()) {
        Some(file) => read_examples(&config.dir.join(file), name).map_err(at)?,
        None => Vec::new(),
    };
    Ok(Settings {
        endpoint,
        extra_endpoints: table.endpoints.clone(),
        threshold,
        options,
        examples,
        limits,
    })
}

fn prompt_judge(
    config: &Config,
    name: &str,
    table: &JudgeTable,
    template: &str,
    mut settings: Settings,
    plugin: &Plugin,
) -> Result<Judge, ConfigError> {
    let kind = table.assessment_type.unwrap_or(AssessmentKind::Answer);
    let used = prompt::unconditional_variables(template)
        .map_err(|e| config.error(format!("[judges.{name}]: `prompt`: {e}")))?;
    let mut required: Vec<Vec<Input>> = used
        .iter()
        .filter_map(|variable| input_of_variable(variable))
        .map(|input| vec![input])
        .collect();
    let assessment_type = match kind {
        AssessmentKind::Answer => AssessmentType::Answer,
        AssessmentKind::Retrieval => {
            if !required.contains(&vec![Input::RetrievedContext]) {
                required.push(vec![Input::RetrievedContext]);
            }
            AssessmentType::Retrieval
        }
    };
    if required.is_empty() {
        required.push(vec![Input::Request]);
    }
    settings
        .options
        .insert("prompt".to_owned(), Value::String(template.to_owned()));
    let kind_name = match kind {
        AssessmentKind::Answer => "answer",
        AssessmentKind::Retrieval => "retrieval",
    };
    settings.options.insert(
        "assessment_type".to_owned(),
        Value::String(kind_name.to_owned()),
    );
    Ok(Judge::builder(plugin.clone(), settings)
        .name(name.to_owned())
        .assessment_type(assessment_type)
        .rates_chunks(kind == AssessmentKind::Retrieval)
        .required_inputs(required)
        .build())
}

fn input_of_variable(variable: &str) -> Option<Input> {
    Some(match variable {
        "request" => Input::Request,
        "response" => Input::Response,
        "expected_response" => Input::ExpectedResponse,
        "expected_facts" => Input::ExpectedFacts,
        "retrieved_context" => Input::RetrievedContext,
        "expected_retrieved_context" => Input::ExpectedRetrievedContext,
        "guidelines" => Input::Guidelines,
        "global_guidelines" => Input::GlobalGuidelines,
        _ => return None,
    })
}

/// Few-shot examples: JSONL rows with the judge's inputs, a `rating`
/// ("yes"/"no") or `score` (1-5), and a `rationale`. The reference's shape,
/// one file for several judges keyed by output columns
/// (`response/llm_judged/<judge>/rating`, `.../rationale`), works too: rows
/// without a rating for `judge` are not its examples.
fn read_examples(path: &Path, judge: &str) -> Result<Vec<Example>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("examples file {}: {e}", path.display()))?;
    let mut examples = Vec::new();
    let shared_file = schema::mentions_judged_columns(&text);
    let columns = |field: JudgedField| {
        [
            field.as_str().to_owned(),
            JudgedPrefix::new(AssessmentType::Answer, judge).column(field),
            JudgedPrefix::new(AssessmentType::Retrieval, judge).column(field),
        ]
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = |message: String| {
            format!(
                "examples file {}, line {}: {message}",
                path.display(),
                i + 1
            )
        };
        let mut object = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(object)) => object,
            Ok(_) => return Err(at("expected a JSON object".to_owned())),
            Err(e) => return Err(at(format!("not JSON: {e}"))),
        };
        let mut take = |field: JudgedField| columns(field).iter().find_map(|c| object.remove(c));
        let (rating, score, rationale) = (
            take(JudgedField::Rating),
            take(JudgedField::Score),
            take(JudgedField::Rationale),
        );
        // Other judges' columns are not inputs.
        object.retain(|key, _| !schema::mentions_judged_columns(key));
        let verdict = match (rating, score) {
            (Some(Value::String(r)), None) if r.eq_ignore_ascii_case("yes") => Verdict::Yes,
            (Some(Value::String(r)), None) if r.eq_ignore_ascii_case("no") => Verdict::No,
            (None, Some(Value::Number(n))) => match n.as_u64() {
                Some(s @ 1..=5) => Verdict::Score(s as u8),
                _ => {
                    return Err(at(format!(
                        "field `score`: {n} is not a whole number from 1 to 5"
                    )));
                }
            },
            (Some(_), Some(_)) => return Err(at("give `rating` or `score`, not both".to_owned())),
            (Some(other), None) => {
                return Err(at(format!(
                    "field `rating`: {other} is not \"yes\" or \"no\""
                )));
            }
            (None, Some(other)) => {
                return Err(at(format!(
                    "field `score`: {other} is not a number from 1 to 5"
                )));
            }
            (None, None) if shared_file => continue,
            (None, None) => {
                return Err(at(
                    "needs a `rating` (\"yes\"/\"no\") or a `score` (1-5)".to_owned()
                ));
            }
        };
        let rationale = match rationale {
            Some(Value::String(r)) => r,
            None | Some(Value::Null) => String::new(),
            Some(_) => return Err(at("field `rationale`: expected a string".to_owned())),
        };
        let row = row_from_json(object, i).map_err(|e| at(e.to_string()))?;
        examples.push(Example {
            row,
            verdict,
            rationale,
        });
    }
    Ok(examples)
}

/// Where a judge comes from, for listings.
pub fn source_of(judge: &Judge) -> String {
    match judge.plugin().source() {
        PluginSource::Builtin if judge.plugin().name() == PROMPT_PLUGIN => {
            "prompt (gavel.toml)".to_owned()
        }
        PluginSource::Builtin => "built-in".to_owned(),
        PluginSource::File(path) => path.display().to_string(),
        PluginSource::Registry(reference) => reference.clone(),
    }
}
