//! Command-line interface: argument parsing, set-up shared by subcommands,
//! exit codes.

mod align;
mod authoring;
mod compare;
mod endpoints;
mod eval;
mod judge;
mod judges;
mod progress;
mod registry;
mod runs;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, Parser, Subcommand};
use gavel::evaluation::config::{Config, EndpointOverrides};
use gavel::evaluation::evaluator::{Evaluator, SetupError, SetupOptions};
use gavel::evaluation::plugins::LockUse;

#[derive(Parser)]
#[command(
    name = "gavel",
    version,
    about = "Evaluate LLM applications with LLM judges that run as sandboxed WebAssembly components"
)]
struct Cli {
    /// More log output on stderr (-v: info, -vv: debug, -vvv: debug from
    /// every library). GAVEL_LOG takes a tracing filter and overrides it.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inspect the available judges.
    Judges {
        #[command(subcommand)]
        command: JudgesCommand,
    },
    /// Evaluate an evaluation set: every row through the judges that fit
    /// it, results and metrics in a run directory. Exit status: 0 success,
    /// 1 a --fail-under gate failed, 2 bad input or configuration (nothing
    /// evaluated), 3 the run could not finish.
    Eval(Box<eval::EvalArgs>),
    /// Run one judge on one case, as an SDK user calls a judge directly.
    /// Exit status: 0 rated yes, 1 rated no, 2 bad input, 3 the judge failed.
    Judge(Box<judge::JudgeArgs>),
    /// List the runs in the run history, newest first.
    Runs(runs::RunsArgs),
    /// Resolve every plugin judge in gavel.toml to its exact build (tags to
    /// digests) and write gavel.lock beside it; `--locked` runs use it.
    Lock(registry::LockArgs),
    /// Check the judge LLM endpoints before a long run.
    Endpoints {
        #[command(subcommand)]
        command: EndpointsCommand,
    },
    /// Compare two runs of the same evaluation set: metric deltas and the
    /// requests whose ratings changed (regressions first), also written to
    /// compare.html. Exit status: 0, or 1 with --fail-on-regression when a
    /// request regressed; 2 a run cannot be found or read.
    Compare(compare::CompareArgs),
    /// Compare each judge's ratings in a run with human labels: accuracy,
    /// Cohen's kappa, precision, recall, F1, false-positive and
    /// false-negative rates with 95% intervals, the confusion matrix and,
    /// for score judges, every threshold. Exit status: 0, or 1 when a
    /// --fail-under gate failed; 2 bad labels or no such run; 3 a file could
    /// not be written.
    Align(Box<align::AlignArgs>),
    /// Create a judge project (`gavel new judge NAME --lang rust|python|js|c`).
    New {
        #[command(subcommand)]
        command: NewCommand,
    },
    /// Build the judge project in DIR into a WebAssembly component,
    /// installing the language's component tool on first use. Exit status:
    /// 0 built, 2 not a judge project or a tool is missing, 3 the build failed.
    Build(authoring::BuildArgs),
}

#[derive(Subcommand)]
enum NewCommand {
    /// A judge project that builds as generated, with a test row.
    Judge(authoring::NewJudgeArgs),
}

#[derive(Subcommand)]
enum EndpointsCommand {
    /// Send one small request per endpoint in each structured output mode
    /// and report latency, the modes it accepts, the model that answered
    /// and whether it reports token usage. Exit status: 0 every endpoint
    /// answered, 2 bad configuration, 3 an endpoint did not answer.
    Check(endpoints::CheckArgs),
}

#[derive(Subcommand)]
enum JudgesCommand {
    /// List the built-in judges and those defined in gavel.toml.
    List(judges::ListArgs),
    /// Show what a judge component says of itself: name, version,
    /// description, type, required inputs, the WIT version it targets,
    /// size and SHA-256.
    Inspect(judges::InspectArgs),
    /// Publish a judge component to an OCI registry (CNCF Wasm artifact
    /// layout) and print its digest.
    Push(registry::PushArgs),
    /// Fetch a judge component from an OCI registry into gavel's store,
    /// check that it loads, and print its digest.
    Pull(registry::PullArgs),
}

/// `--config`.
#[derive(clap::Args, Debug, Clone)]
pub struct ConfigArgs {
    /// Configuration file [default: ./gavel.toml when it exists]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Refuse to run unless gavel.lock pins every plugin judge exactly as
    /// configured (for CI; `gavel lock` writes it)
    #[arg(long)]
    pub locked: bool,

    /// Read the data's column COLUMN as the field FIELD (repeatable; adds
    /// to or overrides [eval.columns]), e.g. --column response=answer
    /// --column expected_response=truth
    #[arg(long = "column", value_name = "FIELD=COLUMN", value_parser = column_pair)]
    pub columns: Vec<(String, String)>,
}

fn column_pair(text: &str) -> Result<(String, String), String> {
    gavel::evaluation::columns::ColumnMap::parse_pair(text).map_err(|e| e.to_string())
}

impl ConfigArgs {
    /// `--config FILE`, else `./gavel.toml` when it exists; with the
    /// `--column` mappings.
    pub fn load(&self) -> Result<Config, CliError> {
        let mut config = match &self.config {
            Some(path) => Config::load(path),
            None => Config::load_default(),
        }
        .map_err(CliError::bad_input)?;
        if !self.columns.is_empty() {
            config.eval.columns.extend(self.columns.iter().cloned());
            config.column_map().map_err(|e| {
                CliError::bad_input(anyhow::anyhow!("--column and [eval.columns]: {e}"))
            })?;
        }
        Ok(config)
    }
}

/// Overrides of the `judge` endpoint.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct JudgeEndpointArgs {
    /// Base URL of the OpenAI-compatible API for the `judge` endpoint
    /// (e.g. http://127.0.0.1:8080/v1)
    #[arg(long, value_name = "URL")]
    pub judge_base_url: Option<String>,

    /// Model of the `judge` endpoint
    #[arg(long, value_name = "MODEL")]
    pub judge_model: Option<String>,
}

impl JudgeEndpointArgs {
    pub fn overrides(&self) -> EndpointOverrides {
        EndpointOverrides {
            base_url: self.judge_base_url.clone(),
            model: self.judge_model.clone(),
        }
    }
}

/// The `judge` endpoint's overrides and the response cache.
#[derive(clap::Args, Debug, Clone)]
pub struct EndpointArgs {
    #[command(flatten)]
    pub judge: JudgeEndpointArgs,

    /// Ask the LLM even when the answer to an identical call is in the
    /// response cache ($GAVEL_CACHE_DIR/responses), and cache nothing
    #[arg(long)]
    pub no_cache: bool,
}

/// `--history`.
#[derive(clap::Args, Debug, Clone)]
pub struct HistoryArgs {
    /// The run history database [default: $GAVEL_HISTORY, else
    /// ~/.local/share/gavel/history.sqlite]
    #[arg(long = "history", value_name = "FILE")]
    pub path: Option<PathBuf>,
}

impl HistoryArgs {
    pub fn open(&self) -> Result<gavel::results::history::History, CliError> {
        let path = self
            .path
            .clone()
            .or_else(gavel::results::history::default_path)
            .ok_or_else(|| {
                CliError::bad_input(anyhow::anyhow!(
                    "no data directory to keep the run history in; give --history FILE"
                ))
            })?;
        gavel::results::history::History::open(&path).map_err(CliError::bad_input)
    }
}

/// An error and the exit status it means: 2 bad input or configuration,
/// 3 the run could not finish (the README's exit status table).
pub struct CliError {
    pub code: u8,
    pub error: anyhow::Error,
}

impl CliError {
    /// Bad input or configuration: nothing was evaluated.
    pub fn bad_input(error: impl Into<anyhow::Error>) -> Self {
        CliError {
            code: 2,
            error: error.into(),
        }
    }

    /// The work could not be finished.
    pub fn incomplete(error: impl Into<anyhow::Error>) -> Self {
        CliError {
            code: 3,
            error: error.into(),
        }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(3);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Judges {
                command: JudgesCommand::List(args),
            } => judges::list(args).await,
            Command::Judges {
                command: JudgesCommand::Inspect(args),
            } => judges::inspect(args).await,
            Command::Judges {
                command: JudgesCommand::Push(args),
            } => registry::push(args).await,
            Command::Judges {
                command: JudgesCommand::Pull(args),
            } => registry::pull(args).await,
            Command::Lock(args) => registry::lock(args).await,
            Command::New {
                command: NewCommand::Judge(args),
            } => authoring::new_judge(args),
            Command::Build(args) => authoring::build(args),
            Command::Judge(args) => judge::run(*args).await,
            Command::Eval(args) => eval::run(*args).await,
            Command::Runs(args) => runs::run(args),
            Command::Compare(args) => compare::run(args),
            Command::Align(args) => align::run(*args),
            Command::Endpoints {
                command: EndpointsCommand::Check(args),
            } => endpoints::check(args).await,
        }
    });
    // A compilation that overran its bound is still running on a blocking
    // thread and cannot be stopped: exit without waiting for it.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(code) => code,
        Err(CliError { code, error }) => {
            eprintln!("error: {error:#}");
            ExitCode::from(code)
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "warn,gavel=info",
        2 => "warn,gavel=debug",
        _ => "debug",
    };
    let filter = std::env::var("GAVEL_LOG").unwrap_or_else(|_| default.to_owned());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours for a terminal only: a log redirected to a file or a CI
        // log gets no escape sequences.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

/// Refuses endpoints that cannot work, naming the flag that made them so
/// (for commands that only talk to endpoints).
pub fn check_endpoints(
    endpoints: &indexmap::IndexMap<String, gavel::runtime::llm::Endpoint>,
    overrides: &EndpointOverrides,
) -> Result<(), CliError> {
    for (alias, endpoint) in endpoints {
        if let Err(message) = endpoint.check() {
            return Err(CliError::bad_input(SetupError::Endpoint {
                alias: alias.clone(),
                message,
                from_overrides: alias == gavel::runtime::DEFAULT_ENDPOINT
                    && (overrides.base_url.is_some() || overrides.model.is_some()),
            }));
        }
    }
    Ok(())
}

/// The library's [`Evaluator`], set up from the command line's flags.
pub struct Setup(Evaluator);

impl std::ops::Deref for Setup {
    type Target = Evaluator;

    fn deref(&self) -> &Evaluator {
        &self.0
    }
}

impl Setup {
    /// Refuses to go on when one of `judges` calls an endpoint that reads
    /// its key from an unset variable: every one of its judgments would fail.
    pub fn require_keys<'a>(
        &self,
        judges: impl IntoIterator<Item = &'a gavel::Judge>,
    ) -> Result<(), CliError> {
        match self.missing_key(judges) {
            None => Ok(()),
            Some((judge, alias, var)) => Err(CliError::bad_input(anyhow::anyhow!(
                "environment variable {var} is not set; endpoint '{alias}' reads its API key from it \
                 (judge '{}' uses it; or pass --judge-base-url for a server that needs no key)",
                judge.name()
            ))),
        }
    }

    pub async fn load(
        config: &ConfigArgs,
        endpoints: &EndpointArgs,
        run_id: &str,
    ) -> Result<Setup, CliError> {
        let lock = if config.locked {
            LockUse::Require
        } else {
            LockUse::Prefer
        };
        let config = config.load()?;
        let options = SetupOptions {
            endpoints: endpoints.judge.overrides(),
            response_cache: !endpoints.no_cache,
            lock,
            ..SetupOptions::new(run_id)
        };
        match Evaluator::new(config, &options).await {
            Ok(evaluator) => Ok(Setup(evaluator)),
            Err(e) if e.is_bad_input() => Err(CliError::bad_input(e)),
            Err(e) => Err(CliError::incomplete(e)),
        }
    }
}
