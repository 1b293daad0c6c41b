//! `gavel align RUN --labels FILE`: how far each judge agrees with human
//! labels of the same requests.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use gavel::results::align::stats::{Bootstrap, Estimate, Statistic};
use gavel::results::align::{
    self, AlignError, AlignOptions, Alignment, JudgeAlignment, LabelSource,
};
use gavel::results::gate::Gate;
use gavel::results::run_dir::RunDir;
use gavel::runtime::text::{MAX_LINE_BYTES, clean_line};

use super::{CliError, HistoryArgs};

#[derive(clap::Args)]
pub struct AlignArgs {
    /// The run: a run directory, or a run id or name from the history
    run: String,

    /// Human labels: JSONL (CSV when the name ends in .csv), one request
    /// per line: `request_id`, then each judge's name with "yes", "no" or a
    /// 1-5 score, and optionally `<judge>/rationale` or `rationale`
    /// [default: the data's human/<judge> columns]
    #[arg(long, value_name = "FILE")]
    labels: Option<PathBuf>,

    /// Print the alignment as JSON (what alignment.json holds) instead of
    /// tables
    #[arg(long)]
    json: bool,

    /// Exit with status 1 when a statistic is below VALUE (repeatable):
    /// `kappa=0.6` for every judge, `correctness/kappa=0.6` for one; one of
    /// accuracy, kappa, precision, recall, f1, weighted_kappa,
    /// exact_agreement, within_one_agreement
    #[arg(long, value_name = "STAT=VALUE")]
    fail_under: Vec<Gate>,

    /// Write the rows where a judge and the humans disagree, with the
    /// humans' verdict and rationale, as few-shot examples (`examples = ...`
    /// in gavel.toml reads them)
    #[arg(long, value_name = "FILE")]
    examples_out: Option<PathBuf>,

    /// Bootstrap resamples for the 95% intervals (0: no intervals)
    #[arg(long, value_name = "N", default_value_t = Bootstrap::DEFAULT_RESAMPLES)]
    resamples: usize,

    /// Seed of the bootstrap: the same seed gives the same intervals
    #[arg(long, value_name = "N", default_value_t = Bootstrap::DEFAULT_SEED)]
    seed: u64,

    /// Leave the run directory as it is: write no alignment.json and do not
    /// add the agreement to report.html
    #[arg(long)]
    no_save: bool,

    #[command(flatten)]
    history: HistoryArgs,
}

pub fn run(args: AlignArgs) -> Result<ExitCode, CliError> {
    let dir = super::compare::run_dir(&args.run, &args.history)?;
    let run = RunDir::open(&dir);
    let options = AlignOptions {
        labels: match &args.labels {
            Some(path) => LabelSource::File(path.clone()),
            None => LabelSource::Columns,
        },
        bootstrap: Bootstrap {
            resamples: args.resamples,
            seed: args.seed,
        },
    };
    let alignment = align::align(&run, &options).map_err(cli_error)?;
    let gates = align::check_gates(&alignment, &args.fail_under).map_err(cli_error)?;

    // Notes go to stderr with --json, so stdout stays one JSON document.
    let note = |text: String| {
        if args.json {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
    };
    if args.json {
        let text = serde_json::to_string_pretty(&alignment)
            .map_err(|e| CliError::incomplete(anyhow!("cannot print the alignment: {e}")))?;
        println!("{text}");
    } else {
        print_alignment(&alignment, &dir);
    }
    warn_about_labels(&alignment);
    if !args.no_save {
        let path = align::save(&dir, &alignment).map_err(cli_error)?;
        let report = gavel::results::report::write(&dir).map_err(|e| {
            CliError::incomplete(anyhow!(
                "cannot write {}: {e}",
                dir.join(gavel::results::report::REPORT).display()
            ))
        })?;
        note(format!(
            "\nWritten: {} (shown in {})",
            path.display(),
            report.display()
        ));
    }
    if let Some(path) = &args.examples_out {
        let written = align::examples::write(&run, &alignment, path).map_err(cli_error)?;
        note(format!(
            "Examples: {} ({} disagreements as few-shot examples)",
            written.path.display(),
            written.examples
        ));
        if written.without_rationale > 0 {
            eprintln!(
                "note: {} of them have no human rationale; add one (`.../rationale`) so the judge learns why",
                written.without_rationale
            );
        }
        for (judge, count) in &written.over_limit {
            eprintln!(
                "note: {count} examples for {}: a judge uses the first {}; keep the most telling ones first",
                clean_line(judge, MAX_LINE_BYTES),
                gavel::runtime::MAX_EXAMPLES
            );
        }
    }
    for result in &gates {
        let line = match result.value {
            Some(_) => result.to_string(),
            None => format!(
                "FAIL: {} is undefined (minimum {})",
                clean_line(&result.gate.metric, MAX_LINE_BYTES),
                result.gate.minimum
            ),
        };
        note(line);
    }
    Ok(if gates.iter().all(|g| g.passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn cli_error(error: AlignError) -> CliError {
    if error.is_bad_input() {
        CliError::bad_input(error)
    } else {
        CliError::incomplete(error)
    }
}

fn warn_about_labels(alignment: &Alignment) {
    if !alignment.ignored_fields.is_empty() {
        let fields: Vec<String> = alignment
            .ignored_fields
            .iter()
            .map(|f| clean_line(f, 100))
            .collect();
        eprintln!(
            "note: ignored label fields that name no judgment of this run: {}",
            fields.join(", ")
        );
    }
    let unmatched = &alignment.unmatched_requests;
    if !unmatched.is_empty() {
        let first: Vec<String> = unmatched
            .iter()
            .take(5)
            .map(|id| clean_line(id, 100))
            .collect();
        eprintln!(
            "note: {} labelled requests are not in this run ({}{})",
            unmatched.len(),
            first.join(", "),
            if unmatched.len() > 5 { ", ..." } else { "" }
        );
    }
}

/// Text for the terminal: one line, no control characters.
fn shown(text: &str, max_chars: usize) -> String {
    let line = clean_line(text, MAX_LINE_BYTES);
    if line.chars().count() > max_chars {
        let cut: String = line.chars().take(max_chars.saturating_sub(3)).collect();
        format!("{cut}...")
    } else {
        line
    }
}

/// Three decimals; a rounding error just below zero shows as 0.000, not
/// -0.000.
fn fixed(v: f64) -> String {
    let text = format!("{v:.3}");
    if text == "-0.000" {
        "0.000".to_owned()
    } else {
        text
    }
}

fn value(v: Option<f64>) -> String {
    v.map_or("-".to_owned(), fixed)
}

fn interval(e: &Estimate) -> String {
    match (e.low, e.high) {
        (Some(low), Some(high)) => format!("{} - {}", fixed(low), fixed(high)),
        _ => "-".to_owned(),
    }
}

/// Rows of cells, the first column left-aligned, the others right-aligned.
fn table(indent: &str, rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                if c == 0 {
                    format!("{cell:<w$}", w = widths[c])
                } else {
                    format!("{cell:>w$}", w = widths[c])
                }
            })
            .collect();
        println!("{indent}{}", cells.join("  ").trim_end());
    }
}

const SUMMARY: [(Statistic, &str); 7] = [
    (Statistic::Accuracy, "accuracy"),
    (Statistic::Kappa, "kappa"),
    (Statistic::Precision, "precision"),
    (Statistic::Recall, "recall"),
    (Statistic::F1, "F1"),
    (Statistic::FalsePositiveRate, "FPR"),
    (Statistic::FalseNegativeRate, "FNR"),
];

fn print_alignment(alignment: &Alignment, dir: &std::path::Path) {
    println!(
        "Agreement with human labels: run {} ({}), labels from {}",
        shown(alignment.run_id.as_deref().unwrap_or("-"), 80),
        dir.display(),
        shown(&alignment.labels, 200)
    );
    let bootstrap = alignment.bootstrap;
    if bootstrap.resamples > 0 {
        println!(
            "95% intervals: percentile bootstrap over the compared rows, {} resamples, seed {}. Positive = yes.",
            bootstrap.resamples, bootstrap.seed
        );
    } else {
        println!("No intervals (--resamples 0). Positive = yes.");
    }
    println!();
    let mut rows = vec![
        std::iter::once("judge".to_owned())
            .chain(std::iter::once("rows".to_owned()))
            .chain(SUMMARY.iter().map(|(_, name)| (*name).to_owned()))
            .collect::<Vec<_>>(),
    ];
    for judge in &alignment.judges {
        let mut row = vec![shown(&judge.judge, 60), judge.n.to_string()];
        row.extend(
            SUMMARY
                .iter()
                .map(|(s, _)| value(judge.estimate(*s).and_then(|e| e.value))),
        );
        rows.push(row);
    }
    table("", &rows);
    for judge in &alignment.judges {
        println!();
        print_judge(judge);
    }
}

fn print_judge(judge: &JudgeAlignment) {
    let left = judge.left_out;
    println!(
        "{}: {} rows compared; left out: {} the judge failed on, {} it did not run on, {} rated but unlabelled",
        shown(&judge.judge, 60),
        judge.n,
        left.judge_error,
        left.not_judged,
        left.unlabelled
    );
    let mut rows = vec![vec![
        "statistic".to_owned(),
        "value".to_owned(),
        "95% interval".to_owned(),
    ]];
    let mut add = |name: &str, e: Estimate| {
        rows.push(vec![name.to_owned(), value(e.value), interval(&e)]);
    };
    add("accuracy", judge.accuracy);
    add("Cohen's kappa", judge.kappa);
    add("precision", judge.precision);
    add("recall", judge.recall);
    add("F1", judge.f1);
    add("false-positive rate", judge.false_positive_rate);
    add("false-negative rate", judge.false_negative_rate);
    if let Some(scores) = &judge.scores {
        add(
            &format!("weighted kappa ({} scores)", scores.n),
            scores.weighted_kappa,
        );
        add("same score", scores.exact_agreement);
        add("within one point", scores.within_one_agreement);
    }
    table("  ", &rows);
    let c = judge.confusion;
    println!();
    table(
        "  ",
        &[
            vec!["".into(), "humans yes".into(), "humans no".into()],
            vec![
                "judge yes".into(),
                c.true_positive.to_string(),
                c.false_positive.to_string(),
            ],
            vec![
                "judge no".into(),
                c.false_negative.to_string(),
                c.true_negative.to_string(),
            ],
        ],
    );
    if !judge.thresholds.is_empty() {
        println!(
            "\n  yes when the score is above the threshold (now {}):",
            judge.threshold
        );
        let mut rows = vec![
            [
                "threshold",
                "kappa",
                "accuracy",
                "precision",
                "recall",
                "F1",
                "FPR",
                "FNR",
            ]
            .map(str::to_owned)
            .to_vec(),
        ];
        for t in &judge.thresholds {
            let best = if judge.best_threshold == Some(t.threshold) {
                " best"
            } else {
                ""
            };
            rows.push(vec![
                format!("{}{best}", t.threshold),
                value(t.kappa),
                value(t.accuracy),
                value(t.precision),
                value(t.recall),
                value(t.f1),
                value(t.false_positive_rate),
                value(t.false_negative_rate),
            ]);
        }
        table("  ", &rows);
    }
    if !judge.disagreements.is_empty() {
        println!("\n  disagreements:");
        for d in &judge.disagreements {
            let said = |rating: &str, score: Option<u8>| match score {
                Some(score) => format!("{rating} ({score})"),
                None => rating.to_owned(),
            };
            println!(
                "  {}  judge {}, humans {}{}",
                shown(&d.request_id, 40),
                said(d.judge_rating, d.judge_score),
                said(d.human_rating, d.human_label.score()),
                d.human_rationale
                    .as_deref()
                    .map_or(String::new(), |r| format!(": {}", shown(r, 100)))
            );
        }
    }
}
