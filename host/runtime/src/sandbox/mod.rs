//! Running untrusted judge and metric components.
//!
//! Every evaluation gets a fresh store (an instance that trapped cannot be
//! entered again, and no state may leak between rows) with:
//! - WASI with nothing in it: no files, environment, arguments, sockets or
//!   stdin; frozen clocks; stdout and stderr captured with a cap;
//! - a memory cap over all of the component's memories;
//! - a guest CPU budget checked on every epoch tick, where time waiting for
//!   the LLM or parked by the executor does not count, and a wall-clock cap
//!   around the whole call, where waiting for the LLM does not count either
//!   (the endpoint's own timeout and retries bound that);
//! - a cap on LLM calls, and LLM calls only through granted aliases.
//!
//! Whatever goes wrong is normalised into a [`FailureKind`].

mod clock;
mod imports;
mod limiter;
mod output;

use std::convert::Infallible;
use std::sync::Arc;

use tokio::sync::{Semaphore, SemaphorePermit};
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store, Trap, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::metric::Description as MetricDescription;
use crate::bindings::{
    self, Assessment, Description, Example, JudgeConfig, JudgeError, LlmError, Row,
};
use crate::failure::FailureKind;
use crate::judgment::JudgeUsage;
use crate::limits::Limits;
use crate::llm::{LlmClient, NoEndpoints};
use crate::prompt::{Renderer, Variables};
use clock::{FrozenClock, GuestClock};
use limiter::MemoryLimiter;
use output::CapturedOutput;

pub(crate) type PluginPre = bindings::PluginPre<EvalState>;
pub(crate) type MetricPre = bindings::metric::MetricPluginPre<EvalState>;

/// Bytes a guest may send to the host log per evaluation.
const LOG_CAP: usize = 64 << 10;
/// Bytes of a guest's stderr quoted in a crash report.
const STDERR_IN_REPORT: usize = 1000;

/// Everything one evaluation's store holds.
pub(crate) struct EvalState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
    clock: GuestClock,
    limits: Limits,
    cpu_exceeded: bool,
    llm_budget_exceeded: bool,
    /// Why the last LLM call timed out, naming the endpoint's limit: the
    /// guest only learns "timeout".
    llm_timeout: Option<String>,
    /// Judge name, for logs, grants and `X-Gavel-Judge`.
    judge: Arc<str>,
    judge_version: Arc<str>,
    endpoint: Arc<str>,
    grants: Arc<[String]>,
    llm: Arc<dyn LlmClient>,
    renderer: Arc<Renderer>,
    vars: Variables,
    /// What the `ask` import needs of the judge's configuration (few-shot
    /// examples, the score threshold, shared with the grant) and of the row
    /// (the retrieved chunks' contents; one without content is asked about
    /// as empty).
    examples: Arc<[Example]>,
    threshold: u8,
    retrieved: Arc<[String]>,
    usage: JudgeUsage,
    log_bytes: usize,
    stdout: CapturedOutput,
    stderr: CapturedOutput,
}

impl WasiView for EvalState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// What an evaluation may call and see, besides the row.
pub(crate) struct Grant {
    pub(crate) judge: Arc<str>,
    pub(crate) judge_version: Arc<str>,
    pub(crate) endpoint: Arc<str>,
    pub(crate) extra_endpoints: Arc<[String]>,
    pub(crate) limits: Limits,
    /// What the `ask` import needs of the judge's configuration, shared by
    /// every evaluation rather than copied into each.
    pub(crate) examples: Arc<[Example]>,
    pub(crate) threshold: u8,
}

impl Grant {
    /// No endpoint, examples or threshold: for what calls no LLM (a
    /// metric, or any plugin's `describe`).
    pub(crate) fn without_llm(name: &str, version: &str, limits: Limits) -> Grant {
        Grant {
            judge: Arc::from(name),
            judge_version: Arc::from(version),
            endpoint: Arc::from(""),
            extra_endpoints: Arc::from([]),
            limits,
            examples: Arc::from([]),
            threshold: 0,
        }
    }
}

/// The engine, the linkers with the host's imports (one per world: a
/// metric is linked without `llm`, `ask` and `prompt`, so a component that
/// exports `metric` and imports them does not load), and the slots that
/// bound how many evaluations run at once.
pub(crate) struct Sandbox {
    engine: Engine,
    linker: Linker<EvalState>,
    metric_linker: Linker<EvalState>,
    slots: Semaphore,
    renderer: Arc<Renderer>,
    llm: Arc<dyn LlmClient>,
}

impl Sandbox {
    pub(crate) fn new(
        engine: Engine,
        llm: Arc<dyn LlmClient>,
        concurrency: usize,
    ) -> wasmtime::Result<Self> {
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        bindings::Plugin::add_to_linker::<_, HasSelf<EvalState>>(&mut linker, |state| state)?;
        let mut metric_linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut metric_linker)?;
        bindings::metric::MetricPlugin::add_to_linker::<_, HasSelf<EvalState>>(
            &mut metric_linker,
            |state| state,
        )?;
        Ok(Sandbox {
            engine,
            linker,
            metric_linker,
            slots: Semaphore::new(concurrency),
            renderer: Arc::new(Renderer::new()),
            llm,
        })
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    pub(crate) fn prepare(
        &self,
        component: &wasmtime::component::Component,
    ) -> wasmtime::Result<PluginPre> {
        bindings::PluginPre::new(self.linker.instantiate_pre(component)?)
    }

    pub(crate) fn prepare_metric(
        &self,
        component: &wasmtime::component::Component,
    ) -> wasmtime::Result<MetricPre> {
        bindings::metric::MetricPluginPre::new(self.metric_linker.instantiate_pre(component)?)
    }

    /// Calls `describe` on a fresh instance, with no LLM access.
    pub(crate) async fn describe(&self, pre: &PluginPre) -> Result<Description, FailureKind> {
        self.describe_with(async |store| {
            let instance = pre.instantiate_async(&mut *store).await?;
            instance.gavel_judge_judge().call_describe(store).await
        })
        .await
    }

    /// Calls a metric's `describe` on a fresh instance.
    pub(crate) async fn describe_metric(
        &self,
        pre: &MetricPre,
    ) -> Result<MetricDescription, FailureKind> {
        self.describe_with(async |store| {
            let instance = pre.instantiate_async(&mut *store).await?;
            instance.gavel_judge_metric().call_describe(store).await
        })
        .await
    }

    /// Runs `describe` (instantiate, then call) in a fresh store under the
    /// loading limits: the one way judges and metrics are described.
    async fn describe_with<T>(
        &self,
        describe: impl AsyncFnOnce(&mut Store<EvalState>) -> wasmtime::Result<T>,
    ) -> Result<T, FailureKind> {
        let grant = Grant::without_llm("(loading)", "", Limits::DEFAULT);
        let _slot = self.slot().await;
        let mut store = self.store(&grant, Arc::new(NoEndpoints), Variables::default(), None);
        let clock = store.data().clock.clone();
        let call = async { describe(&mut store).await.map(Ok::<_, Infallible>) };
        let outcome = within_wall_time(clock, &grant, call).await;
        settle(outcome, &grant, store.data()).map(|Ok(description)| description)
    }

    /// Calls `evaluate` on a fresh instance of `pre`, under `grant`.
    pub(crate) async fn evaluate(
        &self,
        pre: &PluginPre,
        grant: &Grant,
        config: &JudgeConfig,
        row: &Row,
    ) -> (Result<Assessment, FailureKind>, JudgeUsage) {
        let _slot = self.slot().await;
        let mut store = self.store(grant, self.llm.clone(), Variables::of_row(row), Some(row));
        let clock = store.data().clock.clone();
        let call = async {
            let instance = pre.instantiate_async(&mut store).await?;
            instance
                .gavel_judge_judge()
                .call_evaluate(&mut store, row, config)
                .await
        };
        let outcome = within_wall_time(clock, grant, call).await;
        let state = store.data();
        let result = match settle(outcome, grant, state) {
            Err(kind) => Err(kind),
            // However the guest reports it, a judgment that ran into its
            // LLM budget failed because of the budget.
            Ok(Err(_)) if state.llm_budget_exceeded => {
                Err(FailureKind::LlmBudgetExceeded(state.limits.llm_calls))
            }
            Ok(Err(JudgeError::Llm(LlmError::Timeout))) if state.llm_timeout.is_some() => Err(
                FailureKind::LlmTimeout(state.llm_timeout.clone().unwrap_or_default()),
            ),
            Ok(Err(error)) => Err(FailureKind::Guest(error)),
            Ok(Ok(assessment)) => Ok(assessment),
        };
        (result, state.usage)
    }

    /// Calls a metric's `measure` on a fresh instance of `pre`, under the
    /// same limits as a judge's evaluation, with no LLM to call.
    pub(crate) async fn measure(
        &self,
        pre: &MetricPre,
        grant: &Grant,
        row: &Row,
    ) -> Result<Option<f64>, FailureKind> {
        let _slot = self.slot().await;
        let mut store = self.store(grant, Arc::new(NoEndpoints), Variables::default(), None);
        let clock = store.data().clock.clone();
        let call = async {
            let instance = pre.instantiate_async(&mut store).await?;
            instance
                .gavel_judge_metric()
                .call_measure(&mut store, row)
                .await
        };
        let outcome = within_wall_time(clock, grant, call).await;
        match settle(outcome, grant, store.data())? {
            Ok(value) => Ok(value),
            Err(message) => Err(FailureKind::Guest(JudgeError::Failed(message))),
        }
    }

    /// A free evaluation slot. Taken before the evaluation's store is made:
    /// the guest's clocks start with the store, and waiting for a slot is
    /// not its time.
    async fn slot(&self) -> SemaphorePermit<'_> {
        self.slots.acquire().await.expect("slots are never closed")
    }

    fn store(
        &self,
        grant: &Grant,
        llm: Arc<dyn LlmClient>,
        vars: Variables,
        row: Option<&Row>,
    ) -> Store<EvalState> {
        let retrieved = row.map_or_else(
            || Arc::from([]),
            |row| {
                row.retrieved_context
                    .iter()
                    .map(|chunk| chunk.content.clone().unwrap_or_default())
                    .collect()
            },
        );
        let stdout = CapturedOutput::default();
        let stderr = CapturedOutput::default();
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(FrozenClock)
            .monotonic_clock(FrozenClock)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let clock = GuestClock::start();
        let state = EvalState {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(grant.limits.memory_bytes),
            clock,
            limits: grant.limits,
            cpu_exceeded: false,
            llm_budget_exceeded: false,
            llm_timeout: None,
            judge: grant.judge.clone(),
            judge_version: grant.judge_version.clone(),
            endpoint: grant.endpoint.clone(),
            grants: grant.extra_endpoints.clone(),
            llm,
            renderer: self.renderer.clone(),
            vars,
            examples: grant.examples.clone(),
            threshold: grant.threshold,
            retrieved,
            usage: JudgeUsage::default(),
            log_bytes: 0,
            stdout,
            stderr,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut context| {
            let state = context.data_mut();
            if state.clock.guest_time() > state.limits.cpu_time {
                state.cpu_exceeded = true;
                return Ok(UpdateDeadline::Interrupt);
            }
            // Yielding on every tick keeps a busy guest from holding an
            // executor thread; the parked time is not charged to it.
            Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(state.clock.yield_now()),
            ))
        });
        store
    }
}

impl EvalState {
    fn log_output(&self) {
        for (stream, output) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let text = output.text();
            if !text.is_empty() {
                tracing::debug!(judge = %self.judge, stream, "{}", sanitize(&text));
            }
        }
    }
}

/// Awaits a call into a guest (its instantiation included), stopping it at
/// `grant`'s wall-clock limit as the guest's `clock` counts it; `None` when
/// it was stopped.
async fn within_wall_time<T>(
    clock: GuestClock,
    grant: &Grant,
    call: impl Future<Output = wasmtime::Result<T>>,
) -> Option<wasmtime::Result<T>> {
    tokio::select! {
        outcome = call => Some(outcome),
        () = clock.wall_limit(grant.limits.wall_time) => None,
    }
}

/// What a call into a guest came to: the guest's own result, or the
/// failure that stopped it, read from what its store recorded (a guest
/// that reports an error of its own after being refused memory failed for
/// lack of memory). Every judge and metric call ends here.
fn settle<T, E>(
    outcome: Option<wasmtime::Result<Result<T, E>>>,
    grant: &Grant,
    state: &EvalState,
) -> Result<Result<T, E>, FailureKind> {
    state.log_output();
    match outcome {
        None => Err(FailureKind::WallTimeout(grant.limits.wall_time)),
        Some(Err(error)) => Err(trap_kind(&error, state)),
        Some(Ok(Err(_))) if state.limiter.exceeded => Err(FailureKind::OutOfMemory {
            limit_mib: state.limits.memory_bytes >> 20,
        }),
        Some(Ok(value)) => Ok(value),
    }
}

/// Classifies an error from instantiating or calling the guest.
fn trap_kind(error: &wasmtime::Error, state: &EvalState) -> FailureKind {
    if state.cpu_exceeded {
        return FailureKind::CpuTimeout(state.limits.cpu_time);
    }
    if state.limiter.exceeded {
        return FailureKind::OutOfMemory {
            limit_mib: state.limits.memory_bytes >> 20,
        };
    }
    let message = match error.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => format!("{error:#}")
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
    };
    let stderr = state.stderr.text();
    let tail_start = stderr
        .char_indices()
        .rev()
        .nth(STDERR_IN_REPORT)
        .map_or(0, |(i, _)| i);
    FailureKind::Trap {
        message,
        stderr: sanitize(stderr[tail_start..].trim()),
    }
}

/// Guest text reaches terminals and files: the host's one rule for plugin
/// text (control characters out, bounded).
pub(crate) fn sanitize(text: &str) -> String {
    crate::text::clean_plugin_text(text, crate::text::MAX_MESSAGE_BYTES)
}
