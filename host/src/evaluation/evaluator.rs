//! Everything a run needs, set up from a configuration in one call: the
//! judge LLM client for its endpoints, a host sized for them, the built-in
//! judges and the configuration's own. This is what the command line does
//! before `gavel eval` or `gavel judge`, for an embedder as is.

use std::future::Future;
use std::sync::Arc;

use gavel_runtime::llm::{LlmClient, OpenAiClient, ResponseCache};
use gavel_runtime::{DEFAULT_ENDPOINT, Host, HostOptions, Judge};

use crate::evaluation::columns::ColumnMap;
use crate::evaluation::config::{Config, ConfigError, EndpointOverrides};
use crate::evaluation::judge_set::JudgeSet;
use crate::evaluation::plugins::{LockUse, PluginLoader};
use crate::evaluation::run::{self, EvalOptions, RunError, RunReport};

/// How to set up an [`Evaluator`] beyond its configuration.
#[derive(Debug, Clone)]
pub struct SetupOptions {
    /// Overrides of the `judge` endpoint (`--judge-base-url`, `--judge-model`).
    pub endpoints: EndpointOverrides,
    /// Answer identical LLM calls from the response cache (under the
    /// host's cache directory) and cache new answers.
    pub response_cache: bool,
    /// Sent with every LLM call, so gateways see one run.
    pub run_id: String,
    /// How `gavel.lock` is used (`--locked`: [`LockUse::Require`]).
    pub lock: LockUse,
}

impl SetupOptions {
    /// No overrides, the response cache on.
    pub fn new(run_id: impl Into<String>) -> Self {
        SetupOptions {
            endpoints: EndpointOverrides::default(),
            response_cache: true,
            run_id: run_id.into(),
            lock: LockUse::Prefer,
        }
    }
}

/// Why an [`Evaluator`] could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// An endpoint that cannot work as configured.
    #[error("endpoint '{alias}'{}: {message}", if *.from_overrides { " (with --judge-base-url/--judge-model)" } else { "" })]
    Endpoint {
        alias: String,
        message: String,
        /// The `judge` endpoint, changed by [`SetupOptions::endpoints`].
        from_overrides: bool,
    },
    /// A judge the configuration defines cannot be set up.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The HTTP client, the WebAssembly engine or a built-in judge did not
    /// start: not the configuration's fault.
    #[error("{0}")]
    Start(String),
}

impl SetupError {
    /// Whether the input (configuration, overrides) is at fault, rather
    /// than the machine.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, SetupError::Start(_))
    }
}

/// A configuration set up to run: its LLM client, host and judges.
pub struct Evaluator {
    pub config: Config,
    pub host: Host,
    pub judges: JudgeSet,
    pub llm: Arc<OpenAiClient>,
    /// The configuration's column mapping (`[eval.columns]`).
    pub columns: Arc<ColumnMap>,
}

impl Evaluator {
    pub async fn new(config: Config, options: &SetupOptions) -> Result<Evaluator, SetupError> {
        let endpoints = config.resolved_endpoints(&options.endpoints);
        for (alias, endpoint) in &endpoints {
            if let Err(message) = endpoint.check() {
                return Err(SetupError::Endpoint {
                    alias: alias.clone(),
                    message,
                    from_overrides: alias == DEFAULT_ENDPOINT
                        && (options.endpoints.base_url.is_some()
                            || options.endpoints.model.is_some()),
                });
            }
        }
        let aliases: Vec<String> = endpoints.keys().cloned().collect();
        let mut client = OpenAiClient::new(endpoints, &options.run_id)
            .map_err(|e| SetupError::Start(format!("cannot set up the HTTP client: {e:#}")))?;
        let host_options = HostOptions::default();
        if options.response_cache
            && let Some(dir) = &host_options.cache_dir
        {
            client = client.with_cache(ResponseCache::new(dir));
        }
        let llm = Arc::new(client);
        let host = Host::new(HostOptions {
            llm: llm.clone(),
            max_evaluations: llm.max_concurrency().map(HostOptions::evaluations_for),
            ..host_options
        })
        .map_err(|e| SetupError::Start(e.to_string()))?;
        let plugins = host
            .load_builtins()
            .await
            .map_err(|e| SetupError::Start(e.to_string()))?;
        let aliases: Vec<&str> = aliases.iter().map(String::as_str).collect();
        let loader = PluginLoader::new(&config, &host, options.lock)?;
        let judges = JudgeSet::new(&host, plugins, &config, &loader, &aliases).await?;
        let columns = config
            .column_map()
            .map_err(|e| config.error(format!("[eval.columns]: {e}")))?;
        Ok(Evaluator {
            config,
            host,
            judges,
            llm,
            columns: Arc::new(columns),
        })
    }

    /// The first of `judges` whose endpoint reads its API key from an unset
    /// variable (every one of its judgments would fail), with the
    /// endpoint's alias and the variable.
    pub fn missing_key<'a>(
        &self,
        judges: impl IntoIterator<Item = &'a Judge>,
    ) -> Option<(&'a Judge, String, String)> {
        let missing = self.llm.missing_keys();
        judges.into_iter().find_map(|judge| {
            missing
                .iter()
                .find(|(alias, _)| *alias == judge.grant_endpoint())
                .map(|(alias, var)| (judge, alias.to_string(), var.to_string()))
        })
    }

    /// Runs the evaluation described by `options` (see [`run::run`]).
    pub async fn run(
        &self,
        options: &EvalOptions,
        interrupt: impl Future<Output = ()>,
    ) -> Result<RunReport, RunError> {
        run::run(&self.host, &self.judges, &self.columns, options, interrupt).await
    }
}
