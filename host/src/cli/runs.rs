//! `gavel runs`: the run history, newest first.

use std::process::ExitCode;

use gavel::results::history::RunEntry;
use serde_json::{Value, json};

use super::{CliError, HistoryArgs};

#[derive(clap::Args)]
pub struct RunsArgs {
    /// Show at most N runs
    #[arg(long, value_name = "N", default_value_t = 20)]
    limit: usize,

    /// Also show this metric for each run (repeatable) [default:
    /// response/overall_assessment/rating/percentage]
    #[arg(long = "metric", value_name = "METRIC")]
    metrics: Vec<String>,

    /// Print JSON lines instead of a table
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    history: HistoryArgs,
}

pub fn run(args: RunsArgs) -> Result<ExitCode, CliError> {
    let history = args.history.open()?;
    let runs = history.list(args.limit).map_err(CliError::bad_input)?;
    if args.json {
        for run in &runs {
            println!("{}", entry_json(run));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() {
        println!("No runs recorded yet: `gavel eval` records every run.");
        return Ok(ExitCode::SUCCESS);
    }
    let metrics = if args.metrics.is_empty() {
        vec![gavel::results::schema::metric::OVERALL_PERCENTAGE.to_owned()]
    } else {
        args.metrics
    };
    let mut header = vec!["run_id", "name", "started", "status", "rows", "dataset"];
    let short: Vec<String> = metrics
        .iter()
        .map(|m| gavel::results::schema::metric::subject(m))
        .collect();
    header.extend(short.iter().map(String::as_str));
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|run| {
            let mut row = vec![
                run.run_id.clone(),
                run.name.clone().unwrap_or_else(|| "-".into()),
                run.started_at.clone().unwrap_or_else(|| "-".into()),
                run.status.clone().unwrap_or_else(|| "-".into()),
                run.rows.map_or("-".into(), |r| r.to_string()),
                run.dataset.clone().unwrap_or_else(|| "-".into()),
            ];
            row.extend(metrics.iter().map(|m| match run.metrics.get(m) {
                Some(Value::Number(n)) if n.is_f64() => {
                    format!("{:.3}", n.as_f64().unwrap_or_default())
                }
                Some(Value::Number(n)) => n.to_string(),
                _ => "-".into(),
            }));
            row
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    println!("{}", line(header.clone()));
    for row in &rows {
        println!("{}", line(row.iter().map(String::as_str).collect()));
    }
    Ok(ExitCode::SUCCESS)
}

fn entry_json(run: &RunEntry) -> Value {
    json!({
        "run_id": run.run_id,
        "name": run.name,
        "started_at": run.started_at,
        "status": run.status,
        "dir": run.dir.display().to_string(),
        "dataset": run.dataset,
        "dataset_sha256": run.dataset_sha256,
        "config_sha256": run.config_sha256,
        "rows": run.rows,
        "judges": run.judges,
        "metrics": run.metrics,
    })
}
