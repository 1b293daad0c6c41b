//! The entry point for embedders: load judges, evaluate rows.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::Component;

use crate::bindings::Row;
use crate::builtins;
use crate::cache::{ComponentCache, sha256_hex};
use crate::engine::{self, Allocation};
use crate::judge::{Evaluation, Judge};
use crate::limits::Limits;
use crate::llm::{LlmClient, NoEndpoints};
use crate::plugin::{self, LoadError, Plugin, PluginSource};
use crate::sandbox::Sandbox;

/// How to set up a [`Host`].
pub struct HostOptions {
    /// Where compiled components are cached; `None` compiles every time.
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
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            cache_dir: default_cache_dir(),
            allocation: Allocation::default(),
            maxima: Limits::MAXIMA,
            llm: Arc::new(NoEndpoints),
            max_evaluations: None,
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

/// Loads judge plugins and runs them, each evaluation in its own sandbox.
/// One host serves any number of concurrent evaluations.
pub struct Host {
    sandbox: Sandbox,
    cache: ComponentCache,
    maxima: Limits,
    llm: Arc<dyn LlmClient>,
}

impl Host {
    pub fn new(options: HostOptions) -> Result<Host, HostError> {
        let engine = engine::build(options.allocation, &options.maxima)
            .map_err(|e| HostError(format!("{e:#}")))?;
        let cache = ComponentCache::new(&engine, options.cache_dir);
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
        })
    }

    /// The client judges' LLM calls go through.
    pub fn llm(&self) -> &Arc<dyn LlmClient> {
        &self.llm
    }

    /// The limits a judge's configuration may not exceed.
    pub fn maxima(&self) -> &Limits {
        &self.maxima
    }

    /// The built-in judges, in SPEC order.
    pub async fn load_builtins(&self) -> Result<Vec<Plugin>, LoadError> {
        let loads = builtins::EMBEDDED.iter().map(|embedded| {
            self.load_component(embedded.bytes, embedded.sha256, PluginSource::Builtin)
        });
        futures::future::join_all(loads).await.into_iter().collect()
    }

    /// A plugin from a `.wasm` component file.
    pub async fn load_file(&self, path: &Path) -> Result<Plugin, LoadError> {
        let source = PluginSource::File(path.to_owned());
        let bytes = tokio::fs::read(path).await.map_err(|e| LoadError {
            origin: source.clone(),
            reason: e.to_string(),
        })?;
        let sha256 = sha256_hex(&bytes);
        self.load_component(&bytes, &sha256, source).await
    }

    /// A plugin from component bytes.
    pub async fn load_bytes(
        &self,
        bytes: &[u8],
        source: PluginSource,
    ) -> Result<Plugin, LoadError> {
        let sha256 = sha256_hex(bytes);
        self.load_component(bytes, &sha256, source).await
    }

    async fn load_component(
        &self,
        bytes: &[u8],
        sha256: &str,
        source: PluginSource,
    ) -> Result<Plugin, LoadError> {
        let fail = |reason: String| LoadError {
            origin: source.clone(),
            reason,
        };
        let started = Instant::now();
        let engine = self.sandbox.engine().clone();
        let cache = self.cache.clone();
        let (bytes, sha256) = (bytes.to_vec(), sha256.to_owned());
        // Compiling a large component takes seconds: keep it off the executor.
        let (component, from_cache): (Component, bool) =
            tokio::task::spawn_blocking(move || cache.load(&engine, &bytes, &sha256))
                .await
                .map_err(|e| fail(e.to_string()))?
                .map_err(|e| fail(format!("not a usable WebAssembly component: {e:#}")))?;
        let pre = self
            .sandbox
            .prepare(&component)
            .map_err(|e| fail(format!("it does not fit the gavel:judge world: {e:#}")))?;
        let description = self
            .sandbox
            .describe(&pre)
            .await
            .map_err(|kind| fail(format!("describe() {kind}")))?;
        plugin::validate(&description).map_err(fail)?;
        tracing::debug!(
            judge = %description.name,
            version = %description.version,
            %source,
            from_cache,
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "loaded judge plugin"
        );
        Ok(Plugin::new(pre, description, source, from_cache))
    }

    /// Runs `judge` on `row` in a fresh sandbox. Never panics and never
    /// poisons the host: every failure is in the returned outcome.
    pub async fn evaluate(&self, judge: &Judge, row: &Row) -> Evaluation {
        let started = Instant::now();
        let (assessment, usage) = self.sandbox.evaluate(judge, row).await;
        let outcome = assessment
            .and_then(|assessment| judge.judgment(row, assessment))
            .map_err(|kind| judge.failure(kind));
        Evaluation {
            outcome,
            usage,
            elapsed: started.elapsed(),
        }
    }
}
