//! Whether to trust a judge: its ratings in a run compared with human
//! labels of the same requests, per judgment (`correctness`,
//! `guideline_adherence/tone`).
//!
//! - `labels`: reading labels (a labels file keyed by `request_id`, or
//!   `human/<judge>` columns of the data);
//! - `stats`: the 2x2 and score tables, kappa and the rates, bootstrap
//!   intervals, the threshold sweep;
//! - `examples`: the rows where the judge and the humans disagree, as
//!   few-shot examples to give the judge back.
//!
//! [`align`] reads a run directory once (and the rows that disagree a
//! second time); what it returns is written to `alignment.json`, printed
//! by `gavel align` and shown in report.html.

pub mod examples;
pub mod labels;
pub mod stats;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use gavel_runtime::text::clean_line;
use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::results::gate::{self, Gate, GateResult};
use crate::results::row_result::{ResultView, request_id_of};
use crate::results::run_dir::{ALIGNMENT, RESULTS, ReadError, RunDir};
use crate::results::schema::{JudgedField, JudgedPrefix};
use labels::{HumanLabel, Label, LabelError, LabelRecord, Origin};
use stats::{Bootstrap, Confusion, Estimate, Pair, Statistic, ThresholdRow};

/// Where the labels come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelSource {
    /// A labels file (JSONL, or CSV by its name).
    File(PathBuf),
    /// The `human/` columns the data carried into the results.
    Columns,
}

#[derive(Debug, Clone)]
pub struct AlignOptions {
    pub labels: LabelSource,
    pub bootstrap: Bootstrap,
}

impl AlignOptions {
    /// Labels from `labels`, 1,000 resamples with the fixed default seed.
    pub fn new(labels: LabelSource) -> Self {
        AlignOptions {
            labels,
            bootstrap: Bootstrap {
                resamples: Bootstrap::DEFAULT_RESAMPLES,
                seed: Bootstrap::DEFAULT_SEED,
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AlignError {
    #[error(transparent)]
    Labels(#[from] LabelError),
    #[error("{0}")]
    Run(#[from] ReadError),
    #[error("{}", no_labels(.labels, .ignored, *.unmatched))]
    NoLabels {
        labels: LabelSource,
        /// Label fields that name no judgment of the run.
        ignored: Vec<String>,
        /// Labelled requests that are not in the run.
        unmatched: usize,
    },
    #[error(
        "{file}, line {line}: request_id `{id}` is on line {other} too; labels are matched by request_id, so it must be unique in the run"
    )]
    AmbiguousRequest {
        file: PathBuf,
        id: String,
        line: u64,
        other: u64,
    },
    /// A `--fail-under` that cannot apply to this alignment.
    #[error("{0}")]
    Gate(String),
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl AlignError {
    /// Bad labels, a run that cannot be read or a gate that cannot apply,
    /// as opposed to an output that could not be written.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, AlignError::Write { .. })
    }
}

fn no_labels(source: &LabelSource, ignored: &[String], unmatched: usize) -> String {
    let mut message = "no labels for any judgment of this run".to_owned();
    match source {
        LabelSource::File(path) => {
            message += &format!(
                " in {}: its fields are request_id and judges' names with \"yes\", \"no\" or a 1-5 score",
                path.display()
            );
            if unmatched > 0 {
                message += &format!("; {unmatched} of its requests are not in the run");
            }
        }
        LabelSource::Columns => {
            message += &format!(
                ": give --labels FILE, or put {}<judge> columns in the data",
                labels::COLUMN_PREFIX
            );
        }
    }
    if !ignored.is_empty() {
        let shown: Vec<String> = ignored
            .iter()
            .take(10)
            .map(|f| clean_line(f, 100))
            .collect();
        message += &format!(
            " (fields that name no judgment of the run: {})",
            shown.join(", ")
        );
    }
    message
}

/// A run's agreement with human labels: `alignment.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Alignment {
    pub run_id: Option<String>,
    /// The labels file, or `human/ columns`.
    pub labels: String,
    /// The size of `eval_results.jsonl` when it was compared: a report of
    /// the run after a `--resume` can tell this alignment is out of date.
    pub results_bytes: u64,
    pub bootstrap: Bootstrap,
    pub confidence: f64,
    /// Labelled requests that are not in the run.
    pub unmatched_requests: Vec<String>,
    /// Label fields that name no judgment of the run.
    pub ignored_fields: Vec<String>,
    pub judges: Vec<JudgeAlignment>,
}

/// One judgment's agreement with the humans.
#[derive(Debug, Clone, Serialize)]
pub struct JudgeAlignment {
    /// The judgment's name in outputs (`correctness`,
    /// `guideline_adherence/tone`).
    pub judge: String,
    #[serde(skip)]
    pub prefix: JudgedPrefix,
    /// Whether the judge gives 1-5 scores (its rating is the score above
    /// its threshold).
    pub scored: bool,
    /// The judge's threshold in the run; human scores above it mean yes.
    pub threshold: u8,
    /// Rows compared: labelled and rated.
    pub n: u64,
    pub left_out: LeftOut,
    pub confusion: Confusion,
    pub accuracy: Estimate,
    pub kappa: Estimate,
    pub precision: Estimate,
    pub recall: Estimate,
    pub f1: Estimate,
    pub false_positive_rate: Estimate,
    pub false_negative_rate: Estimate,
    /// Rows where both the judge and the humans gave a 1-5 score.
    pub scores: Option<ScoreAgreement>,
    /// For a score judge: agreement at each threshold it could be given.
    pub thresholds: Vec<ThresholdRow>,
    /// The threshold with the highest kappa.
    pub best_threshold: Option<u8>,
    pub disagreements: Vec<Disagreement>,
}

impl JudgeAlignment {
    pub fn estimate(&self, statistic: Statistic) -> Option<Estimate> {
        let scores = self.scores.as_ref();
        Some(match statistic {
            Statistic::Accuracy => self.accuracy,
            Statistic::Kappa => self.kappa,
            Statistic::Precision => self.precision,
            Statistic::Recall => self.recall,
            Statistic::F1 => self.f1,
            Statistic::FalsePositiveRate => self.false_positive_rate,
            Statistic::FalseNegativeRate => self.false_negative_rate,
            Statistic::WeightedKappa => scores?.weighted_kappa,
            Statistic::ExactAgreement => scores?.exact_agreement,
            Statistic::WithinOneAgreement => scores?.within_one_agreement,
        })
    }
}

/// Labelled rows that could not be compared, and rated rows nobody
/// labelled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    /// Labelled, but the judgment failed on the row.
    pub judge_error: u64,
    /// Labelled, but the judge did not run on the row (it lacked the
    /// judge's inputs, the row was invalid or the agent failed).
    pub not_judged: u64,
    /// Rated by the judge, with no human label.
    pub unlabelled: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScoreAgreement {
    pub n: u64,
    /// Cohen's kappa with quadratic weights.
    pub weighted_kappa: Estimate,
    pub exact_agreement: Estimate,
    pub within_one_agreement: Estimate,
}

/// A row where the judge and the humans disagree on yes/no.
#[derive(Debug, Clone, Serialize)]
pub struct Disagreement {
    pub request_id: String,
    /// The result line (1-based).
    #[serde(skip)]
    pub line: u64,
    pub judge_rating: &'static str,
    pub judge_score: Option<u8>,
    pub judge_rationale: Option<String>,
    /// The humans' yes/no (a score above the judge's threshold is yes).
    pub human_rating: &'static str,
    #[serde(serialize_with = "label_score")]
    pub human_label: Label,
    pub human_rationale: Option<String>,
}

/// A human label in JSON: its score, or null for a yes/no label (which
/// `human_rating` says).
fn label_score<S: serde::Serializer>(label: &Label, serializer: S) -> Result<S::Ok, S::Error> {
    label.score().serialize(serializer)
}

fn yes_no(yes: bool) -> &'static str {
    if yes { "yes" } else { "no" }
}

/// What a judgment did on a row.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Rated { yes: bool, score: Option<u8> },
    Failed,
}

/// A judgment of the run, as seen in its results.
struct Judgment {
    prefix: JudgedPrefix,
    /// Rates chunks one by one: no row-level rating to compare.
    per_chunk: bool,
    scored: bool,
}

/// A result line, reduced to what alignment needs.
struct ResultRow {
    request_id: String,
    line: u64,
    /// By index into the run's judgments.
    outcomes: Vec<(usize, Outcome)>,
}

/// Compares every labelled judgment of the run in `dir` with the labels.
pub fn align(dir: &RunDir, options: &AlignOptions) -> Result<Alignment, AlignError> {
    let results_path = dir.path().join(RESULTS);
    let run = dir.run()?;
    let thresholds = thresholds(&run);
    let file_records = match &options.labels {
        LabelSource::File(path) => Some(labels::read_file(path)?),
        LabelSource::Columns => None,
    };

    // The results, once: every judgment's outcome per row, and the labels
    // the data carried.
    let mut judgments: IndexMap<String, Judgment> = IndexMap::new();
    let mut rows: Vec<ResultRow> = Vec::new();
    let mut column_records: Vec<(usize, LabelRecord)> = Vec::new();
    each_row(dir, |line, row| {
        let view = ResultView(&row);
        let mut outcomes = Vec::new();
        for judgment in view.judgments() {
            let score = view
                .number(&judgment.prefix.column(JudgedField::Score))
                .filter(|s| (1.0..=5.0).contains(s) && s.fract() == 0.0)
                .map(|s| s as u8);
            let entry = judgments.entry(judgment.prefix.name.clone());
            let index = entry.index();
            let seen = entry.or_insert_with(|| Judgment {
                prefix: judgment.prefix.clone(),
                per_chunk: false,
                scored: false,
            });
            seen.per_chunk |= judgment.precision.is_some();
            seen.scored |= score.is_some();
            match (judgment.error, judgment.rating) {
                (Some(_), _) => outcomes.push((index, Outcome::Failed)),
                (None, Some(rating)) => outcomes.push((
                    index,
                    Outcome::Rated {
                        yes: rating == "yes",
                        score,
                    },
                )),
                // Per-chunk ratings only.
                (None, None) => {}
            }
        }
        if file_records.is_none() {
            let origin = Origin {
                file: results_path.clone(),
                line,
            };
            if let Some(record) = LabelRecord::from_columns(&row, origin) {
                column_records.push((rows.len(), record));
            }
        }
        rows.push(ResultRow {
            request_id: view.request_id(),
            line,
            outcomes,
        });
        Ok(())
    })?;

    // The labels, against the judgments the run has; each record's labels
    // go to the row they describe.
    let mut row_labels: HashMap<usize, Vec<(String, HumanLabel)>> = HashMap::new();
    let mut ignored: Vec<String> = Vec::new();
    let mut unmatched_requests = Vec::new();
    // Rows by request id, for a labels file: a labelled id on two lines
    // cannot be matched.
    let mut lines_of: HashMap<&str, Vec<usize>> = HashMap::new();
    if file_records.is_some() {
        for (i, row) in rows.iter().enumerate() {
            lines_of.entry(row.request_id.as_str()).or_default().push(i);
        }
    }
    let records: Vec<(Option<usize>, &LabelRecord)> = match &file_records {
        Some(records) => records.iter().map(|r| (None, r)).collect(),
        None => column_records.iter().map(|(i, r)| (Some(*i), r)).collect(),
    };
    for (row, record) in records {
        // Every record is checked, matched or not: a bad label is an error
        // wherever it is.
        let parsed = record.parse(|name| judgments.contains_key(name))?;
        for (name, _) in &parsed.labels {
            check_rated_per_row(&judgments[name.as_str()], record, name)?;
        }
        for field in parsed.ignored {
            if !ignored.contains(&field) {
                ignored.push(field);
            }
        }
        if parsed.labels.is_empty() {
            continue;
        }
        let row = match row {
            Some(row) => row,
            None => {
                let id = request_id_of(&record.fields);
                match lines_of.get(id.as_str()).map(Vec::as_slice) {
                    Some([row]) => *row,
                    Some([first, second, ..]) => {
                        return Err(AlignError::AmbiguousRequest {
                            file: results_path,
                            // From the data, on its way to a terminal.
                            id: clean_line(&id, 200),
                            line: rows[*first].line,
                            other: rows[*second].line,
                        });
                    }
                    None | Some([]) => {
                        unmatched_requests.push(id);
                        continue;
                    }
                }
            }
        };
        row_labels.insert(row, parsed.labels);
    }

    // Each labelled judgment, row by row.
    let mut judges = Vec::new();
    for (index, (name, judgment)) in judgments.iter().enumerate() {
        let threshold = thresholds
            .get(judgment.prefix.judge())
            .copied()
            .unwrap_or(gavel_runtime::DEFAULT_THRESHOLD);
        let mut compared: Vec<Compared> = Vec::new();
        let mut left_out = LeftOut::default();
        let mut labelled = false;
        for (i, row) in rows.iter().enumerate() {
            let label = row_labels
                .get(&i)
                .and_then(|labels| labels.iter().find(|(j, _)| j == name))
                .map(|(_, label)| label);
            let outcome = row
                .outcomes
                .iter()
                .find(|(j, _)| *j == index)
                .map(|(_, o)| *o);
            labelled |= label.is_some();
            match (label, outcome) {
                (None, Some(Outcome::Rated { .. })) => left_out.unlabelled += 1,
                (None, _) => {}
                (Some(_), Some(Outcome::Failed)) => left_out.judge_error += 1,
                (Some(_), None) => left_out.not_judged += 1,
                (Some(label), Some(Outcome::Rated { yes, score })) => compared.push(Compared {
                    pair: Pair {
                        judge_yes: yes,
                        human_yes: label.label.is_yes(threshold),
                        scores: score.zip(label.label.score()),
                    },
                    judge_score: score,
                    row,
                    label,
                }),
            }
        }
        if labelled {
            judges.push(judge_alignment(
                name,
                judgment,
                threshold,
                left_out,
                &compared,
                &options.bootstrap,
            ));
        }
    }
    if judges.is_empty() {
        return Err(AlignError::NoLabels {
            labels: options.labels.clone(),
            ignored,
            unmatched: unmatched_requests.len(),
        });
    }
    let mut alignment = Alignment {
        run_id: run.get("run_id").and_then(Value::as_str).map(str::to_owned),
        labels: match &options.labels {
            LabelSource::File(path) => path.display().to_string(),
            LabelSource::Columns => format!("{}<judge> columns", labels::COLUMN_PREFIX),
        },
        results_bytes: std::fs::metadata(&results_path).map_or(0, |m| m.len()),
        bootstrap: options.bootstrap,
        confidence: Bootstrap::CONFIDENCE,
        unmatched_requests,
        ignored_fields: ignored,
        judges,
    };
    add_judge_rationales(dir, &mut alignment)?;
    Ok(alignment)
}

/// A labelled row the judge rated.
struct Compared<'a> {
    pair: Pair,
    judge_score: Option<u8>,
    row: &'a ResultRow,
    label: &'a HumanLabel,
}

/// A judge that rates chunks one by one has no row-level rating to set a
/// label against.
fn check_rated_per_row(
    judgment: &Judgment,
    record: &LabelRecord,
    name: &str,
) -> Result<(), LabelError> {
    if judgment.per_chunk {
        return Err(record.origin.error(
            Some(format!("{}{name}", record.prefix)),
            format!(
                "`{name}` rates each retrieved chunk on its own; labels are compared with judges that rate the whole row"
            ),
        ));
    }
    Ok(())
}

/// Hands every result line to `each` with its line number, streaming. An
/// unreadable line is an error, except the last one: a run killed while
/// writing leaves a torn last line, which readers skip.
pub(crate) fn each_row(
    dir: &RunDir,
    mut each: impl FnMut(u64, Map<String, Value>) -> Result<(), AlignError>,
) -> Result<(), AlignError> {
    let mut unreadable = None;
    for (line, row) in dir.numbered_rows()? {
        if let Some(error) = unreadable.take() {
            return Err(AlignError::Run(error));
        }
        match row {
            Ok(row) => each(line, row)?,
            Err(error) => unreadable = Some(error),
        }
    }
    Ok(())
}

/// Each judge's threshold in the run (run.json's `judges`).
fn thresholds(run: &Map<String, Value>) -> HashMap<String, u8> {
    run.get("judges")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|judge| {
            let name = judge.get("name")?.as_str()?;
            let threshold = judge.get("threshold")?.as_u64()?;
            Some((name.to_owned(), u8::try_from(threshold).ok()?))
        })
        .collect()
}

fn judge_alignment(
    name: &str,
    judgment: &Judgment,
    threshold: u8,
    left_out: LeftOut,
    compared: &[Compared],
    bootstrap: &Bootstrap,
) -> JudgeAlignment {
    let pairs: Vec<Pair> = compared.iter().map(|c| c.pair).collect();
    let tally = stats::Tally::of(&pairs);
    let binary = bootstrap.estimate(&pairs, name, &Statistic::BINARY);
    let scored_pairs: Vec<Pair> = pairs
        .iter()
        .filter(|p| p.scores.is_some())
        .copied()
        .collect();
    let scores = (!scored_pairs.is_empty()).then(|| {
        let estimates = bootstrap.estimate(&scored_pairs, name, &Statistic::SCORE);
        ScoreAgreement {
            n: scored_pairs.len() as u64,
            weighted_kappa: estimates[0],
            exact_agreement: estimates[1],
            within_one_agreement: estimates[2],
        }
    });
    let scored: Vec<(u8, bool)> = compared
        .iter()
        .filter_map(|c| Some((c.judge_score?, c.pair.human_yes)))
        .collect();
    let thresholds = if scored.is_empty() {
        Vec::new()
    } else {
        stats::sweep(&scored)
    };
    let best_threshold = stats::best_threshold(&thresholds, threshold);
    let disagreements = compared
        .iter()
        .filter(|c| c.pair.judge_yes != c.pair.human_yes)
        .map(|c| Disagreement {
            request_id: c.row.request_id.clone(),
            line: c.row.line,
            judge_rating: yes_no(c.pair.judge_yes),
            judge_score: c.judge_score,
            judge_rationale: None,
            human_rating: yes_no(c.pair.human_yes),
            human_label: c.label.label,
            human_rationale: c.label.rationale.clone(),
        })
        .collect();
    JudgeAlignment {
        judge: name.to_owned(),
        prefix: judgment.prefix.clone(),
        scored: judgment.scored,
        threshold,
        n: tally.confusion.n(),
        left_out,
        confusion: tally.confusion,
        accuracy: binary[0],
        kappa: binary[1],
        precision: binary[2],
        recall: binary[3],
        f1: binary[4],
        false_positive_rate: binary[5],
        false_negative_rate: binary[6],
        scores,
        thresholds,
        best_threshold,
        disagreements,
    }
}

/// The judge's rationale of each disagreement, read from its result line:
/// a second pass over the results, so the first holds no text.
fn add_judge_rationales(dir: &RunDir, alignment: &mut Alignment) -> Result<(), AlignError> {
    let wanted: HashSet<u64> = alignment
        .judges
        .iter()
        .flat_map(|j| j.disagreements.iter().map(|d| d.line))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let mut rows = HashMap::new();
    each_row(dir, |line, row| {
        if wanted.contains(&line) {
            rows.insert(line, row);
        }
        Ok(())
    })?;
    for judge in &mut alignment.judges {
        let column = judge.prefix.column(JudgedField::Rationale);
        for disagreement in &mut judge.disagreements {
            disagreement.judge_rationale = rows
                .get(&disagreement.line)
                .and_then(|row| row.get(&column))
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
    }
    Ok(())
}

/// Writes `alignment` to the run directory `dir` as `alignment.json`
/// (beside and renamed: never seen half-written), where report.html finds
/// it.
pub fn save(dir: &Path, alignment: &Alignment) -> Result<PathBuf, AlignError> {
    use std::io::Write;
    let path = dir.join(ALIGNMENT);
    let io = |source| AlignError::Write {
        path: path.clone(),
        source,
    };
    let mut text = serde_json::to_string_pretty(alignment).map_err(|e| io(e.into()))?;
    text.push('\n');
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.persist(&path).map_err(|e| io(e.error))?;
    Ok(path)
}

/// `--fail-under STAT=VALUE` on an alignment: `kappa=0.6` holds every
/// judge to it (every judge with scores from both sides, for a score
/// statistic), `correctness/kappa=0.6` one judge. A gate passes when the
/// statistic is defined and at least the minimum; an undefined one fails.
pub fn check_gates(alignment: &Alignment, gates: &[Gate]) -> Result<Vec<GateResult>, AlignError> {
    let refuse = |message: String| Err(AlignError::Gate(message));
    let names: Vec<&str> = Statistic::all()
        .filter(|s| s.higher_is_better())
        .map(Statistic::as_str)
        .collect();
    let mut expanded = Vec::new();
    for gate in gates {
        let (judge, statistic) = match gate.metric.rsplit_once('/') {
            Some((judge, statistic)) => (Some(judge), statistic),
            None => (None, gate.metric.as_str()),
        };
        let Some(statistic) = Statistic::parse(statistic) else {
            return refuse(format!(
                "--fail-under {}: `{statistic}` is not a statistic; use {}",
                gate.metric,
                names.join(", ")
            ));
        };
        if !statistic.higher_is_better() {
            return refuse(format!(
                "--fail-under {}: {} is better low, so a minimum makes no sense; use {}",
                gate.metric,
                statistic.as_str(),
                names.join(", ")
            ));
        }
        let judges: Vec<&JudgeAlignment> = match judge {
            Some(name) => match alignment.judges.iter().find(|j| j.judge == name) {
                Some(judge) => vec![judge],
                None => {
                    let labelled: Vec<String> = alignment
                        .judges
                        .iter()
                        .map(|j| clean_line(&j.judge, 200))
                        .collect();
                    return refuse(format!(
                        "--fail-under {}: `{name}` has no labels in this run (labelled: {})",
                        gate.metric,
                        labelled.join(", ")
                    ));
                }
            },
            None => alignment
                .judges
                .iter()
                .filter(|j| j.estimate(statistic).is_some())
                .collect(),
        };
        if judges.is_empty() {
            return refuse(format!(
                "--fail-under {}: no judge has 1-5 scores from both the judge and the humans",
                gate.metric
            ));
        }
        expanded.extend(judges.into_iter().map(|judge| Gate {
            metric: format!("{}/{}", judge.judge, statistic.as_str()),
            minimum: gate.minimum,
        }));
    }
    let mut values = Map::new();
    for judge in &alignment.judges {
        for statistic in Statistic::all() {
            if let Some(value) = judge.estimate(statistic).and_then(|e| e.value) {
                values.insert(
                    format!("{}/{}", judge.judge, statistic.as_str()),
                    value.into(),
                );
            }
        }
    }
    Ok(gate::check(&expanded, &values))
}

#[cfg(test)]
mod tests;
