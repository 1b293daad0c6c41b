//! Every judge a run can use, by name: the built-ins with their settings
//! from `gavel.toml`, then the custom prompt and plugin judges in file order;
//! and every metric (a component measuring a number per row, no LLM): the
//! built-in ones, then those of `[judges.NAME] plugin` tables whose
//! component exports `metric`.

use serde_json::Value;

use crate::evaluation::config::{AssessmentKind, Config, ConfigError, JudgeTable};
use crate::evaluation::examples::read_examples;
use crate::evaluation::plugins::PluginLoader;
use gavel_runtime::bindings::{AssessmentType, Input};
use gavel_runtime::judge::{DEFAULT_ENDPOINT, DEFAULT_THRESHOLD, Judge, Settings};
use gavel_runtime::plugin::{Plugin, PluginSource};
use gavel_runtime::prompt;
use gavel_runtime::{Host, Loaded, Metric};

/// The name of the built-in plugin behind custom prompt judges; it is not a
/// judge of its own.
const PROMPT_PLUGIN: &str = "prompt";

#[derive(Debug, Clone)]
pub struct JudgeSet {
    judges: Vec<Judge>,
    /// How many of `judges` are built-ins (they come first).
    builtins: usize,
    metrics: Vec<Metric>,
    /// How many of `metrics` are built-ins (they come first).
    builtin_metrics: usize,
}

/// Names a metric may not have: the host's own checks (`--judges` would
/// never reach the metric) and the judges' column group.
const RESERVED_METRIC_NAMES: [&str; 5] = [
    crate::evaluation::selection::EXACT_MATCH,
    crate::evaluation::selection::TOKEN_COUNT,
    crate::evaluation::selection::LATENCY,
    "llm_judged",
    "overall_assessment",
];

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
        let mut metrics = Vec::new();
        let builtin_metrics = host
            .load_builtin_metrics()
            .await
            .map_err(|e| config.error(format!("the built-in metrics did not load: {e}")))?;
        for plugin in builtin_metrics {
            let name = plugin.name().to_owned();
            let limits = match config.judges.get(&name) {
                Some(table) => metric_limits(host, config, &name, table, "built-in metric")?,
                None => gavel_runtime::limits::Limits::DEFAULT,
            };
            metrics.push(Metric::new(plugin, limits));
        }
        let builtin_metrics = metrics.len();
        for (name, table) in &config.judges {
            if judges[..builtins].iter().any(|j| j.name() == name)
                || metrics[..builtin_metrics].iter().any(|m| m.name() == name)
            {
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
                    match loader.load(host, config, name, table).await? {
                        Loaded::Judge(plugin) => {
                            Judge::builder(plugin, settings).name(name.clone()).build()
                        }
                        Loaded::Metric(plugin) => {
                            let limits = metric_limits(host, config, name, table, "metric")?;
                            metrics.push(Metric::named(plugin, name.clone(), limits));
                            continue;
                        }
                    }
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
        Ok(JudgeSet {
            judges,
            builtins,
            metrics,
            builtin_metrics,
        })
    }

    /// The metric named `name`.
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name() == name)
    }

    /// Built-in metrics first, then the configuration's in file order.
    pub fn metrics(&self) -> &[Metric] {
        &self.metrics
    }

    /// The configuration's metrics, in file order.
    pub fn custom_metrics(&self) -> &[Metric] {
        &self.metrics[self.builtin_metrics..]
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

/// A metric's limits from its `[judges.NAME]` table, which may hold
/// nothing else a metric would ignore (it has no LLM, threshold or
/// options).
fn metric_limits(
    host: &Host,
    config: &Config,
    name: &str,
    table: &JudgeTable,
    what: &str,
) -> Result<gavel_runtime::limits::Limits, ConfigError> {
    let at = |message: String| config.error(format!("[judges.{name}]: {message}"));
    if RESERVED_METRIC_NAMES.contains(&name) {
        return Err(at(format!(
            "'{name}' is a name gavel uses for its own checks and columns; give the metric another name"
        )));
    }
    // A built-in has no component of the user's to name or pin.
    let builtin = what == "built-in metric";
    let judge_only = [
        ("prompt", table.prompt.is_some() && builtin),
        ("plugin", table.plugin.is_some() && builtin),
        ("sha256", table.sha256.is_some() && builtin),
        ("assessment_type", table.assessment_type.is_some()),
        ("threshold", table.threshold.is_some()),
        ("endpoint", table.endpoint.is_some()),
        ("endpoints", !table.endpoints.is_empty()),
        ("examples", table.examples.is_some()),
        ("config", !table.config.is_empty()),
    ];
    if let Some((key, _)) = judge_only.iter().find(|(_, set)| *set) {
        return Err(at(format!(
            "'{name}' is a {what} (a number per row, no LLM): only `limits` apply to it, not `{key}`"
        )));
    }
    gavel_runtime::limits::Limits::DEFAULT
        .with_overrides(&table.limits, host.maxima())
        .map_err(|e| at(format!("limits: {e}")))
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
    // Known before the judge is built: a built-in's facts say, a prompt
    // judge's assessment type does; a plugin from a file rates chunks only
    // as a whole.
    let rates_chunks = match gavel_runtime::builtins::facts(name) {
        Some(facts) => facts.rates_chunks,
        None => {
            table.prompt.is_some()
                && table.assessment_kind().map_err(&at)? == Some(AssessmentKind::Retrieval)
        }
    };
    let examples = match table.examples.as_ref().or(config.eval.examples.as_ref()) {
        Some(file) => read_examples(&config.dir.join(file), name, rates_chunks).map_err(at)?,
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
    let kind = table
        .assessment_kind()
        .map_err(|e| config.error(format!("[judges.{name}]: {e}")))?
        .unwrap_or(AssessmentKind::Answer);
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

/// Where a metric comes from, for listings.
pub fn metric_source_of(metric: &Metric) -> String {
    match metric.plugin().source() {
        PluginSource::Builtin => "built-in".to_owned(),
        PluginSource::File(path) => path.display().to_string(),
        PluginSource::Registry(reference) => reference.clone(),
    }
}
