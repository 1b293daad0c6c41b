//! `gavel compare RUN_A RUN_B`: metric deltas and changed requests.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::anyhow;
use gavel::results::compare::{self, ChangeKind, RunResults};

use super::{CliError, HistoryArgs};

#[derive(clap::Args)]
pub struct CompareArgs {
    /// The baseline: a run id or name from the history, or a run directory
    run_a: String,

    /// The run to compare with it
    run_b: String,

    /// Where to write the comparison page
    #[arg(long, value_name = "FILE", default_value = "compare.html")]
    html: PathBuf,

    /// Exit with status 1 when a request regressed (a judge that said yes
    /// now says no or fails)
    #[arg(long)]
    fail_on_regression: bool,

    #[command(flatten)]
    history: HistoryArgs,
}

pub fn run(args: CompareArgs) -> Result<ExitCode, CliError> {
    let a = load(&args.run_a, &args.history)?;
    let b = load(&args.run_b, &args.history)?;
    let comparison = compare::compare(&a, &b);
    println!("A: {}  {}", a.label(), a.dir.display());
    println!("B: {}  {}", b.label(), b.dir.display());
    println!();
    if !comparison.judge_changes.is_empty() {
        println!(
            "Judges changed: these ran in different builds in A and B, so their verdicts may differ because the judge changed, not the application:"
        );
        for change in &comparison.judge_changes {
            // Names and versions come from run.json files.
            println!(
                "  {}",
                gavel::runtime::text::clean_line(
                    &change.to_string(),
                    gavel::runtime::text::MAX_LINE_BYTES
                )
            );
        }
        println!();
    }
    print_metrics(&comparison.metrics);
    let (regressions, improvements, other) = (
        comparison.count(ChangeKind::Regression),
        comparison.count(ChangeKind::Improvement),
        comparison.count(ChangeKind::Other),
    );
    println!(
        "\n{} requests matched by request_id ({} only in A, {} only in B): {regressions} regressions, {improvements} improvements, {other} other changes",
        comparison.matched,
        comparison.only_a.len(),
        comparison.only_b.len()
    );
    for change in &comparison.changes {
        let flips: Vec<String> = change.flips.iter().map(ToString::to_string).collect();
        // Requests and their ids come from the data: no escapes reach the
        // terminal.
        let request: String = change.request.chars().take(60).collect();
        println!(
            "  {:<11}  {}  {}  [{}]",
            change.kind.as_str(),
            gavel::runtime::text::clean_line(
                &change.request_id,
                gavel::runtime::text::MAX_LINE_BYTES
            ),
            flips.join(", "),
            gavel::runtime::text::clean_line(&request, gavel::runtime::text::MAX_LINE_BYTES)
        );
    }
    if let Some(parent) = args.html.parent().filter(|p| !p.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(&args.html, compare::to_html(&a, &b, &comparison))
        .map_err(|e| CliError::incomplete(anyhow!("cannot write {}: {e}", args.html.display())))?;
    println!("\nWritten: {}", args.html.display());
    Ok(if args.fail_on_regression && regressions > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn load(run: &str, history: &HistoryArgs) -> Result<RunResults, CliError> {
    RunResults::load(&run_dir(run, history)?).map_err(CliError::bad_input)
}

/// A run directory as given, else a run of the history by id or name.
pub(super) fn run_dir(run: &str, history: &HistoryArgs) -> Result<PathBuf, CliError> {
    let path = Path::new(run);
    if path.join(gavel::results::run_dir::RUN).is_file() {
        return Ok(path.to_owned());
    }
    match history.open()?.find(run).map_err(CliError::bad_input)? {
        Some(entry) => Ok(entry.dir),
        None => Err(CliError::bad_input(anyhow!(
            "no run '{run}': it is neither a run directory nor a run id or name in the history (see `gavel runs`)"
        ))),
    }
}

fn print_metrics(metrics: &[gavel::results::compare::MetricDelta]) {
    let width = metrics
        .iter()
        .map(|m| m.metric.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    let number = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.3}"));
    println!(
        "{:<width$}  {:>9}  {:>9}  {:>8}",
        "metric", "A", "B", "delta"
    );
    for m in metrics {
        let delta = m.delta().map_or("-".to_owned(), |d| format!("{d:+.3}"));
        println!(
            "{:<width$}  {:>9}  {:>9}  {:>8}",
            m.metric,
            number(m.a),
            number(m.b),
            delta
        );
    }
}
