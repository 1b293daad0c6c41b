//! `gavel eval DATA`: evaluate a whole evaluation set.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::anyhow;
use gavel::evaluation::agent::{Agent, AgentFormat, AgentOverrides, AgentSpec};
use gavel::evaluation::run::{EvalOptions, Progress, RunError};
use gavel::evaluation::selection::{Check, Selection};
use gavel::results::gate::{self, Gate};
use gavel::results::metrics::SummaryLine;
use gavel::results::mlflow::{self, LogInto, MlflowAuth};
use gavel::results::run_dir::{OutputError, RunDir};
use serde_json::Value;

use super::progress::ProgressLine;
use super::{CliError, ConfigArgs, EndpointArgs, HistoryArgs, Setup};

#[derive(clap::Args)]
pub struct EvalArgs {
    /// The evaluation set: .jsonl, .json (an array), .csv or .parquet
    data: PathBuf,

    /// The run directory to write [default: gavel-runs/<run id>]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Continue the interrupted run in --out: rows already finished are not
    /// judged again
    #[arg(long, requires = "out")]
    resume: bool,

    /// Run these judges and metrics on every row (where the row has their
    /// inputs) instead of the default selection, e.g.
    /// correctness,safety,exact_match,token_count,flesch_kincaid_grade_level,latency
    /// (`gavel judges list` lists them all)
    #[arg(long, value_name = "A,B,C", value_delimiter = ',')]
    judges: Vec<String>,

    /// A global guideline every response must follow (repeatable; added
    /// to those of gavel.toml). NAME=TEXT puts it in the named group NAME,
    /// judged as global_guideline_adherence/NAME; a leading `=` keeps a
    /// rule that starts with `word=` unnamed
    #[arg(long = "guideline", value_name = "[NAME=]TEXT")]
    guidelines: Vec<String>,

    /// Record rows that cannot be read as error rows instead of stopping
    #[arg(long)]
    skip_invalid: bool,

    /// Also write eval_results.csv
    #[arg(long)]
    csv: bool,

    /// Also write eval_results.parquet (typed, nested columns, for pandas
    /// and Spark)
    #[arg(long)]
    parquet: bool,

    /// Exit with status 1 when METRIC is below VALUE (repeatable), e.g.
    /// response/overall_assessment/rating/percentage=0.8
    #[arg(long, value_name = "METRIC=VALUE")]
    fail_under: Vec<Gate>,

    /// A name for the run, in run.json, the run history and report.html
    #[arg(long, value_name = "NAME")]
    run_name: Option<String>,

    /// Also write the results as JUnit XML: one test case per row (failing
    /// with the root cause and rationales), one per --fail-under gate
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,

    /// Log the run to MLflow (a run with params, metrics and the run
    /// directory's files as artifacts), through its REST API
    #[arg(long)]
    mlflow: bool,

    /// MLflow's tracking server [default: $MLFLOW_TRACKING_URI]
    #[arg(long, value_name = "URI", requires = "mlflow")]
    mlflow_tracking_uri: Option<String>,

    /// The MLflow experiment, created if missing [default: gavel; with
    /// --mlflow-parent-run-id, the parent's]
    #[arg(long, value_name = "NAME", requires = "mlflow")]
    mlflow_experiment: Option<String>,

    /// Log into this existing MLflow run (e.g. one Python's
    /// mlflow.start_run() made) instead of creating one; its name, status
    /// and end time are left to it
    #[arg(
        long,
        value_name = "RUN_ID",
        requires = "mlflow",
        conflicts_with_all = ["mlflow_parent_run_id", "mlflow_experiment"]
    )]
    mlflow_run_id: Option<String>,

    /// Create the MLflow run nested under this run (tag
    /// mlflow.parentRunId), in the parent's experiment unless
    /// --mlflow-experiment names another
    #[arg(long, value_name = "RUN_ID", requires = "mlflow")]
    mlflow_parent_run_id: Option<String>,

    /// Do not record the run in the run history
    #[arg(long, conflicts_with = "path")]
    no_history: bool,

    #[command(flatten)]
    history: HistoryArgs,

    /// Rows judged at once [default: twice the endpoints' max_concurrency,
    /// at least 16]
    #[arg(long, value_name = "N", hide = true)]
    rows_in_flight: Option<usize>,

    #[command(flatten)]
    agent: AgentArgs,

    #[command(flatten)]
    config: ConfigArgs,

    #[command(flatten)]
    endpoint: EndpointArgs,
}

/// The application under evaluation, called for rows without a response.
#[derive(clap::Args)]
struct AgentArgs {
    /// Call this agent for every row without a response: an
    /// OpenAI-compatible chat endpoint (base URL or .../chat/completions),
    /// or with --agent-format json any endpoint taking the request as JSON
    #[arg(long = "agent", value_name = "URL", conflicts_with = "command")]
    url: Option<String>,

    /// How to talk to --agent [default: openai]
    #[arg(long = "agent-format", value_name = "FORMAT", value_parser = agent_format())]
    format: Option<AgentFormat>,

    /// Run this command (with sh -c) as the agent: it reads one request
    /// object per line on stdin and writes one answer per line on stdout
    #[arg(long = "agent-cmd", value_name = "CMD")]
    command: Option<String>,

    /// `model` in the agent's chat completion requests
    #[arg(long = "agent-model", value_name = "MODEL")]
    model: Option<String>,

    /// Agent calls in flight (processes, for --agent-cmd) [default: 8]
    #[arg(long = "agent-concurrency", value_name = "N")]
    max_concurrency: Option<usize>,

    /// Seconds an agent call may take before it counts as failed (and is
    /// retried) [default: 60]
    #[arg(long = "agent-timeout", value_name = "SECS")]
    timeout_secs: Option<f64>,

    /// Call the agent for rows that already have a response, too
    #[arg(long)]
    regenerate: bool,
}

impl AgentArgs {
    fn overrides(&self) -> AgentOverrides {
        AgentOverrides {
            url: self.url.clone(),
            format: self.format,
            command: self.command.clone(),
            model: self.model.clone(),
            max_concurrency: self.max_concurrency,
            timeout_secs: self.timeout_secs,
        }
    }
}

pub async fn run(args: EvalArgs) -> Result<ExitCode, CliError> {
    // A resumed run keeps its id, so gateways see one run.
    let run_id = match (&args.out, args.resume) {
        (Some(out), true) => previous_run_id(out).map_err(CliError::bad_input)?,
        _ => gavel::results::time::new_run_id(),
    };
    // Checked before anything runs: a run that cannot be logged as asked
    // should not cost its LLM calls first.
    let mlflow = args.mlflow.then(|| mlflow_target(&args)).transpose()?;
    if let Some(target) = &mlflow {
        target.check().await?;
    }
    let setup = Setup::load(&args.config, &args.endpoint, &run_id).await?;
    let names = if args.judges.is_empty() {
        setup.config.eval.judges.clone().unwrap_or_default()
    } else {
        args.judges.clone()
    };
    let selection = if names.is_empty() {
        Selection::Default
    } else {
        Selection::named(&setup.judges, &names).map_err(|e| CliError::bad_input(anyhow!(e)))?
    };
    let checks = selection.checks(&setup.judges);
    setup.require_keys(checks.iter().filter_map(|check| match check {
        Check::Judge(judge) => Some(judge),
        _ => None,
    }))?;
    let mut global_guidelines = setup
        .config
        .global_guideline_groups()
        .map_err(CliError::bad_input)?;
    global_guidelines.extend(
        super::judge::guideline_flags(&args.guidelines, "--guideline")
            .map_err(CliError::bad_input)?,
    );
    let agent = AgentSpec::resolve(setup.config.agent.as_ref(), &args.agent.overrides())
        .map_err(|e| CliError::bad_input(anyhow!(e)))?
        .map(|spec| Agent::new(spec, &run_id))
        .transpose()
        .map_err(|e| CliError::bad_input(anyhow!(e)))?
        .map(Arc::new);
    if args.agent.regenerate && agent.is_none() {
        return Err(CliError::bad_input(anyhow!(
            "--regenerate asks an agent for new responses, but no agent is given (--agent URL or --agent-cmd CMD)"
        )));
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("gavel-runs").join(&run_id));
    let progress = Arc::new(Progress::default());
    let options = EvalOptions {
        resume: args.resume,
        run_id,
        run_name: args.run_name.clone(),
        config_file: setup.config.path.clone(),
        selection,
        global_guidelines,
        skip_invalid: args.skip_invalid,
        csv: args.csv,
        parquet: args.parquet,
        rows_in_flight: args.rows_in_flight,
        progress: progress.clone(),
        agent,
        regenerate: args.agent.regenerate,
        ..EvalOptions::new(args.data.clone(), out)
    };
    let llm: Arc<dyn gavel::runtime::LlmClient> = setup.llm.clone();
    let line = ProgressLine::start(progress, llm);
    let interrupt = async {
        // Without a handler Ctrl-C would kill the process; if one cannot be
        // installed, the run cannot be interrupted.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let outcome = setup.run(&options, interrupt).await;
    if let Some(line) = line {
        line.finish();
    }
    let report = match outcome {
        Ok(report) => report,
        Err(error @ RunError::Output(OutputError::Io { .. })) => {
            return Err(CliError::incomplete(error));
        }
        Err(error) => return Err(CliError::bad_input(error)),
    };

    if !args.no_history {
        // The run is on disk either way; a history that cannot be written is
        // worth a warning, not a failed run.
        match args.history.open().map(|h| h.record(&report.out)) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!("not recorded in the run history: {e}"),
            Err(e) => tracing::warn!("not recorded in the run history: {:#}", e.error),
        }
    }
    let metrics = &report.metrics;
    print_summary(&metrics.summary());
    let earlier = if report.resumed_rows > 0 {
        format!(", {} from earlier sessions", report.resumed_rows)
    } else {
        String::new()
    };
    let agent_errors = if options.agent.is_some() {
        format!(", {} agent errors", metrics.agent_errors)
    } else {
        String::new()
    };
    println!(
        "\n{} of {} rows ({} invalid{agent_errors}{earlier}), {} judgments ({} failed) in {:.1} s. Results: {}",
        metrics.rows,
        report.total_rows,
        metrics.invalid_rows,
        metrics.judgments,
        metrics.failed_judgments,
        report.elapsed_seconds,
        report.out.display()
    );
    if let Some(why) = report.unfinished(&options.data) {
        return Err(CliError::incomplete(anyhow!(why)));
    }
    let gates = gate::check(&args.fail_under, &metrics.to_json());
    for result in &gates {
        println!("{result}");
    }
    if let Some(target) = &mlflow {
        let name = args.run_name.as_deref().unwrap_or(&options.run_id);
        let logged = target.log(&report.out, name).await.map_err(|e| {
            CliError::incomplete(anyhow!(
                "the run is complete in {}, but logging it to MLflow failed: {e}",
                report.out.display()
            ))
        })?;
        println!("MLflow: {}", logged.url);
    }
    if let Some(path) = &args.junit {
        let suite = format!("gavel.{}", dataset_stem(&options.data));
        let counts = gavel::results::junit::write(&report.out, &suite, &gates, path)
            .map_err(|e| CliError::incomplete(anyhow!("cannot write {}: {e}", path.display())))?;
        println!(
            "JUnit: {} ({} tests, {} failures, {} errors, {} skipped)",
            path.display(),
            counts.tests,
            counts.failures,
            counts.errors,
            counts.skipped
        );
    }
    Ok(if gates.iter().all(|g| g.passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_summary(lines: &[SummaryLine]) {
    let value = |v: &Value| match v {
        Value::Null => "-".to_owned(),
        Value::Number(n) if n.is_f64() => format!("{:.3}", n.as_f64().unwrap_or_default()),
        other => other.to_string(),
    };
    // The errors column shows each judge's error count.
    let rows: Vec<[String; 4]> = lines
        .iter()
        .filter(|l| !l.metric.ends_with("/error_count"))
        .map(|l| {
            [
                // Guideline group names in metric names come from the data.
                gavel::runtime::text::clean_line(&l.metric, gavel::runtime::text::MAX_LINE_BYTES),
                value(&l.value),
                l.rows.to_string(),
                l.errors.to_string(),
            ]
        })
        .collect();
    let header = ["metric", "value", "rows", "errors"].map(str::to_owned);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        println!(
            "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
    }
}

/// Where `--mlflow` logs to: the tracking server, and which run there.
struct MlflowTarget {
    tracking_uri: String,
    into: LogInto,
}

impl MlflowTarget {
    /// The run named by --mlflow-run-id or --mlflow-parent-run-id is looked
    /// up before anything runs: a run that cannot be logged as asked should
    /// not cost its LLM calls first.
    async fn check(&self) -> Result<(), CliError> {
        let flag = match &self.into {
            LogInto::NewRun { .. } => return Ok(()),
            LogInto::ExistingRun { .. } => "--mlflow-run-id",
            LogInto::NestedRun { .. } => "--mlflow-parent-run-id",
        };
        mlflow::check_log_into(&self.tracking_uri, &self.into, MlflowAuth::from_env())
            .await
            .map_err(|e| CliError::bad_input(anyhow!("{flag}: {e}")))
    }

    async fn log(
        &self,
        run_dir: &Path,
        run_name: &str,
    ) -> Result<mlflow::LoggedRun, mlflow::MlflowError> {
        mlflow::log_run_into(
            &self.tracking_uri,
            &self.into,
            run_dir,
            run_name,
            MlflowAuth::from_env(),
        )
        .await
    }
}

/// Where `--mlflow` logs to.
fn mlflow_target(args: &EvalArgs) -> Result<MlflowTarget, CliError> {
    let uri = args
        .mlflow_tracking_uri
        .clone()
        .or_else(|| std::env::var("MLFLOW_TRACKING_URI").ok())
        .filter(|uri| !uri.is_empty())
        .ok_or_else(|| {
            CliError::bad_input(anyhow!(
                "--mlflow needs a tracking server: give --mlflow-tracking-uri URI or set MLFLOW_TRACKING_URI"
            ))
        })?;
    if !(uri.starts_with("http://") || uri.starts_with("https://")) {
        return Err(CliError::bad_input(anyhow!(
            "--mlflow logs through MLflow's REST API, so the tracking URI must be http(s)://..., not {uri:?} (start `mlflow server` and point gavel at it)"
        )));
    }
    let into = match (&args.mlflow_run_id, &args.mlflow_parent_run_id) {
        (Some(run_id), _) => LogInto::ExistingRun {
            run_id: run_id.clone(),
        },
        (None, Some(parent_run_id)) => LogInto::NestedRun {
            parent_run_id: parent_run_id.clone(),
            experiment: args.mlflow_experiment.clone(),
        },
        (None, None) => LogInto::NewRun {
            experiment: args
                .mlflow_experiment
                .clone()
                .unwrap_or_else(|| DEFAULT_MLFLOW_EXPERIMENT.to_owned()),
        },
    };
    Ok(MlflowTarget {
        tracking_uri: uri,
        into,
    })
}

/// The experiment `--mlflow` creates runs in when none is named.
const DEFAULT_MLFLOW_EXPERIMENT: &str = "gavel";

/// `qa` for `examples/qa.csv`: the JUnit suite's name.
fn dataset_stem(data: &Path) -> String {
    data.file_stem()
        .map_or_else(|| "eval".to_owned(), |s| s.to_string_lossy().into_owned())
}

/// The id of the run in `out`, to resume it under the same id.
fn previous_run_id(out: &Path) -> anyhow::Result<String> {
    let run = RunDir::open(out)
        .run()
        .map_err(|e| anyhow!("{} holds no run to resume: {e}", out.display()))?;
    run.get("run_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("{}: its run.json has no run_id", out.display()))
}

/// `--agent-format`'s values, listed in help and errors.
fn agent_format() -> impl clap::builder::TypedValueParser<Value = AgentFormat> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(AgentFormat::ALL.map(AgentFormat::as_str)).map(
        |text| {
            text.parse::<AgentFormat>()
                .expect("one of the possible values")
        },
    )
}
