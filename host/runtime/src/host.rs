//! The entry point for embedders: load judges, evaluate rows.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;

use wasmtime::component::Component;

use crate::bindings::Row;
use crate::builtins;
use crate::component_cache::{ComponentCache, sha256_hex};
use crate::engine::{self, Allocation};
use crate::judge::Judge;
use crate::judgment::JudgeOutcome;
use crate::limits::Limits;
use crate::llm::{LlmClient, NoEndpoints};
use crate::metric::{self, Metric, MetricOutcome, MetricPlugin};
use crate::plugin::{self, LoadError, Loaded, Plugin, PluginSource, Provenance};
use crate::sandbox::Sandbox;

/// How to set up a [`Host`].
pub struct HostOptions {
    /// Where compiled components are cached; `None` compiles every time.
    /// An entry runs only if its tag under the per-user key in the cache
    /// checks out; a cache directory another user owns or can write to is
    /// not used.
    pub cache_dir: Option<PathBuf>,
    pub allocation: Allocation,
    /// The most any judge's configuration may ask for.
    pub maxima: Limits,
    /// Makes the LLM calls judges ask for.
    pub llm: Arc<dyn LlmClient>,
    /// Evaluations running at once (each holds an instance). Those waiting
    /// for an endpoint's free slot hold one too, so a little more than the
    /// endpoints' total concurrency keeps them busy without hoarding memory.
    /// `None`: as many as the allocation allows.
    pub max_evaluations: Option<usize>,
    /// The largest component a load accepts, in bytes: a larger one is
    /// refused before it is compiled (or read in full). 64 MiB by default
    /// ([`Self::DEFAULT_MAX_COMPONENT_BYTES`]); a componentize-py judge is ~18 MB.
    pub max_component_bytes: u64,
    /// How long compiling a component may take before its load fails (a
    /// load from the compiled cache does not compile). 300 s by default
    /// ([`Self::DEFAULT_MAX_COMPILE_TIME`]). Compilation cannot be
    /// interrupted: the load returns its error at once, but the compilation
    /// goes on in the background until it ends (and is cached, if it
    /// succeeds).
    pub max_compile_time: Duration,
}

impl HostOptions {
    /// [`HostOptions::max_component_bytes`] unless set: 64 MiB.
    pub const DEFAULT_MAX_COMPONENT_BYTES: u64 = 64 << 20;
    /// [`HostOptions::max_compile_time`] unless set: 300 s.
    pub const DEFAULT_MAX_COMPILE_TIME: Duration = Duration::from_secs(300);

    /// [`HostOptions::max_evaluations`] for endpoints that take
    /// `endpoint_concurrency` calls at once: a quarter more, plus a few,
    /// so that an evaluation is always ready when a call slot frees up,
    /// without holding an instance per queued row.
    pub fn evaluations_for(endpoint_concurrency: usize) -> usize {
        endpoint_concurrency + endpoint_concurrency / 4 + 8
    }
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            cache_dir: default_cache_dir(),
            allocation: Allocation::default(),
            maxima: Limits::MAXIMA,
            llm: Arc::new(NoEndpoints),
            max_evaluations: None,
            max_component_bytes: Self::DEFAULT_MAX_COMPONENT_BYTES,
            max_compile_time: Self::DEFAULT_MAX_COMPILE_TIME,
        }
    }
}

/// `$GAVEL_CACHE_DIR`, or `gavel` under the user's cache directory.
pub fn default_cache_dir() -> Option<PathBuf> {
    match std::env::var_os("GAVEL_CACHE_DIR") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => dirs::cache_dir().map(|d| d.join("gavel")),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot start the WebAssembly engine: {0}")]
pub struct HostError(String);

/// Loads judge and metric plugins and runs them, each evaluation in its own
/// sandbox. One host serves any number of concurrent evaluations.
pub struct Host {
    sandbox: Sandbox,
    cache: ComponentCache,
    maxima: Limits,
    llm: Arc<dyn LlmClient>,
    max_component_bytes: u64,
    max_compile_time: Duration,
    cache_dir: Option<PathBuf>,
}

impl Host {
    pub fn new(options: HostOptions) -> Result<Host, HostError> {
        let engine = engine::build(options.allocation, &options.maxima)
            .map_err(|e| HostError(format!("{e:#}")))?;
        let cache = ComponentCache::new(&engine, options.cache_dir.clone());
        let concurrency = options
            .max_evaluations
            .unwrap_or(usize::MAX)
            .min(options.allocation.concurrency())
            .max(1);
        let sandbox = Sandbox::new(engine, options.llm.clone(), concurrency)
            .map_err(|e| HostError(format!("{e:#}")))?;
        Ok(Host {
            sandbox,
            cache,
            maxima: options.maxima,
            llm: options.llm,
            max_component_bytes: options.max_component_bytes,
            max_compile_time: options.max_compile_time,
            cache_dir: options.cache_dir,
        })
    }

    /// Where compiled components (and pulled judges) are kept, if anywhere.
    pub fn cache_dir(&self) -> Option<&Path> {
        self.cache_dir.as_deref()
    }

    /// The largest component this host loads, in bytes.
    pub fn max_component_bytes(&self) -> u64 {
        self.max_component_bytes
    }

    /// The client judges' LLM calls go through.
    pub fn llm(&self) -> &Arc<dyn LlmClient> {
        &self.llm
    }

    /// The limits a judge's configuration may not exceed.
    pub fn maxima(&self) -> &Limits {
        &self.maxima
    }

    /// The built-in judges, in the order of plugins/builtin/judges.toml.
    pub async fn load_builtins(&self) -> Result<Vec<Plugin>, LoadError> {
        let loads = builtins::EMBEDDED
            .iter()
            .filter(|embedded| !embedded.metric)
            .map(|embedded| async {
                self.load_component(embedded.bytes, embedded.sha256, PluginSource::Builtin)
                    .await?
                    .into_judge()
            });
        futures::future::join_all(loads).await.into_iter().collect()
    }

    /// The built-in metrics, in the order of plugins/builtin/judges.toml.
    pub async fn load_builtin_metrics(&self) -> Result<Vec<MetricPlugin>, LoadError> {
        let loads = builtins::EMBEDDED
            .iter()
            .filter(|embedded| embedded.metric)
            .map(|embedded| async {
                match self
                    .load_component(embedded.bytes, embedded.sha256, PluginSource::Builtin)
                    .await?
                {
                    Loaded::Metric(metric) => Ok(metric),
                    Loaded::Judge(judge) => Err(LoadError {
                        origin: PluginSource::Builtin,
                        reason: format!(
                            "'{}' is listed as a metric but exports gavel:judge/judge",
                            judge.name()
                        ),
                    }),
                }
            });
        futures::future::join_all(loads).await.into_iter().collect()
    }

    /// A judge plugin from a `.wasm` component file.
    pub async fn load_file(&self, path: &Path) -> Result<Plugin, LoadError> {
        self.load_file_pinned(path, None).await
    }

    /// A judge plugin from a `.wasm` component file that must be the build
    /// whose SHA-256 is `sha256` (hex) when one is given: a file with
    /// another digest is refused before anything of it is compiled or run.
    pub async fn load_file_pinned(
        &self,
        path: &Path,
        sha256: Option<&str>,
    ) -> Result<Plugin, LoadError> {
        self.load_any_file_pinned(path, sha256).await?.into_judge()
    }

    /// A judge or metric plugin from a `.wasm` component file, as
    /// [`Host::load_file_pinned`] checks it.
    pub async fn load_any_file_pinned(
        &self,
        path: &Path,
        sha256: Option<&str>,
    ) -> Result<Loaded, LoadError> {
        let source = PluginSource::File(path.to_owned());
        let fail = |reason: String| LoadError {
            origin: source.clone(),
            reason,
        };
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let size = file
            .metadata()
            .await
            .map_err(|e| fail(e.to_string()))?
            .len();
        self.check_size(size).map_err(fail)?;
        // Read no more than the limit allows, whatever the size said (a
        // device or a growing file).
        let mut bytes = Vec::new();
        file.take(self.max_component_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let digest = sha256_hex(&bytes);
        if let Some(pinned) = sha256
            && !pinned.eq_ignore_ascii_case(&digest)
        {
            return Err(fail(format!(
                "its SHA-256 is {digest}, not the pinned {pinned}: the file is another build than the one pinned (if the change is intended, pin the new digest)"
            )));
        }
        self.load_component(&bytes, &digest, source).await
    }

    /// A judge plugin from component bytes.
    pub async fn load_bytes(
        &self,
        bytes: &[u8],
        source: PluginSource,
    ) -> Result<Plugin, LoadError> {
        self.load_any_bytes(bytes, source).await?.into_judge()
    }

    /// A judge or metric plugin from component bytes.
    pub async fn load_any_bytes(
        &self,
        bytes: &[u8],
        source: PluginSource,
    ) -> Result<Loaded, LoadError> {
        let sha256 = sha256_hex(bytes);
        self.load_component(bytes, &sha256, source).await
    }

    async fn load_component(
        &self,
        bytes: &[u8],
        sha256: &str,
        source: PluginSource,
    ) -> Result<Loaded, LoadError> {
        let fail = |reason: String| LoadError {
            origin: source.clone(),
            reason,
        };
        let started = Instant::now();
        self.check_size(bytes.len() as u64).map_err(fail)?;
        // Reading and compiling take from milliseconds to many seconds: keep
        // them off the executor.
        let (engine, cache, owned) = (
            self.sandbox.engine().clone(),
            self.cache.clone(),
            sha256.to_owned(),
        );
        let cached = tokio::task::spawn_blocking(move || cache.lookup(&engine, &owned))
            .await
            .map_err(|e| fail(e.to_string()))?;
        let (component, from_cache) = match cached {
            Some(component) => (component, true),
            None => (self.compile(bytes, sha256).await.map_err(fail)?, false),
        };
        let world = world(&component, self.sandbox.engine());
        let targets = wit_version(&world);
        let misfit = |error: wasmtime::Error, world_name: &str| {
            fail(match &targets {
                Some(version) if !crate::bindings::hosts(version) => format!(
                    "it targets gavel:judge@{version}, and this gavel hosts gavel:judge@{} (and the 0.1 versions before it): build it against that version",
                    crate::bindings::WIT_VERSION
                ),
                _ => format!("it does not fit the gavel:judge {world_name}: {error:#}"),
            })
        };
        let provenance = Provenance {
            source: source.clone(),
            from_cache,
            sha256: sha256.to_owned(),
            wit_version: targets.clone().unwrap_or_default(),
            world: world.clone(),
        };
        let loaded = if world.is_metric() {
            let pre = self.sandbox.prepare_metric(&component).map_err(|e| {
                misfit(e, "metric world (a metric may import only `log`, and WASI)")
            })?;
            let description = self
                .sandbox
                .describe_metric(&pre)
                .await
                .map_err(|kind| fail(format!("describe() {kind}")))?;
            plugin::validate_name_and_version("metric", &description.name, &description.version)
                .map_err(fail)?;
            Loaded::Metric(MetricPlugin::new(pre, description, provenance))
        } else {
            let pre = self
                .sandbox
                .prepare(&component)
                .map_err(|e| misfit(e, "world"))?;
            let description = self
                .sandbox
                .describe(&pre)
                .await
                .map_err(|kind| fail(format!("describe() {kind}")))?;
            plugin::validate(&description).map_err(fail)?;
            Loaded::Judge(Plugin::new(pre, description, provenance))
        };
        let (name, version) = match &loaded {
            Loaded::Judge(plugin) => (plugin.name(), plugin.version()),
            Loaded::Metric(metric) => (metric.name(), metric.version()),
        };
        tracing::debug!(
            plugin = %name,
            version = %version,
            metric = world.is_metric(),
            %source,
            from_cache,
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "loaded plugin"
        );
        Ok(loaded)
    }

    /// Compiles a component (and caches it) within
    /// [`HostOptions::max_compile_time`].
    async fn compile(&self, bytes: &[u8], sha256: &str) -> Result<Component, String> {
        let (engine, cache) = (self.sandbox.engine().clone(), self.cache.clone());
        let (bytes, sha256) = (bytes.to_vec(), sha256.to_owned());
        let compiling =
            tokio::task::spawn_blocking(move || cache.compile(&engine, &bytes, &sha256));
        // Cranelift cannot be interrupted, so a compilation past the bound
        // is not stopped: dropping the handle detaches its thread, which
        // runs to the end (and caches what it made). The load fails now and
        // the host goes on.
        tokio::time::timeout(self.max_compile_time, compiling)
            .await
            .map_err(|_| {
                format!(
                    "compiling it took longer than {:?}, the limit on compiling a plugin",
                    self.max_compile_time
                )
            })?
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("not a usable WebAssembly component: {e:#}"))
    }

    /// Refuses a component over [`HostOptions::max_component_bytes`].
    fn check_size(&self, size: u64) -> Result<(), String> {
        if size <= self.max_component_bytes {
            return Ok(());
        }
        let mib = |bytes: u64| bytes as f64 / f64::from(1 << 20);
        Err(format!(
            "the component is {size} bytes ({:.1} MiB), over the limit of {} bytes ({:.1} MiB) on a plugin's size",
            mib(size),
            self.max_component_bytes,
            mib(self.max_component_bytes)
        ))
    }

    /// Runs `judge` on `row` in a fresh sandbox. Never panics and never
    /// poisons the host: every failure is in the returned outcome.
    pub async fn judge(&self, judge: &Judge, row: &Row) -> JudgeOutcome {
        let started = Instant::now();
        let (assessment, usage) = self
            .sandbox
            .evaluate(judge.plugin().pre(), judge.grant(), judge.config(), row)
            .await;
        let judgment = assessment
            .and_then(|assessment| judge.judgment(row, assessment))
            .map_err(|kind| judge.failure(kind));
        JudgeOutcome {
            judgment,
            usage,
            elapsed: started.elapsed(),
        }
    }

    /// Runs `metric` on `row` in a fresh sandbox, under its limits. Never
    /// panics and never poisons the host: every failure (a trap, a limit, a
    /// value that is not a usable number) is in the returned outcome.
    pub async fn measure(&self, metric: &Metric, row: &Row) -> MetricOutcome {
        let started = Instant::now();
        let value = self
            .sandbox
            .measure(metric.plugin().pre(), metric.grant(), row)
            .await
            .and_then(|value| value.map(metric::check_value).transpose())
            .map_err(|kind| metric.failure(kind));
        MetricOutcome {
            value,
            elapsed: started.elapsed(),
        }
    }
}

/// The component's import and export names.
fn world(component: &Component, engine: &wasmtime::Engine) -> plugin::World {
    let ty = component.component_type();
    plugin::World {
        imports: ty
            .imports(engine)
            .map(|(name, _)| name.to_owned())
            .collect(),
        exports: ty
            .exports(engine)
            .map(|(name, _)| name.to_owned())
            .collect(),
    }
}

/// The version of the `gavel:judge` package whose `judge` or `metric`
/// interface the component exports, if it exports one.
fn wit_version(world: &plugin::World) -> Option<String> {
    world.exports.iter().find_map(|name| {
        name.strip_prefix("gavel:judge/judge@")
            .or_else(|| name.strip_prefix("gavel:judge/metric@"))
            .map(str::to_owned)
    })
}
