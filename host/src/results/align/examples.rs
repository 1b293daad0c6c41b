//! The rows where a judge and the humans disagree, written as few-shot
//! examples for the judge: the reference's way to improve a judge with
//! feedback (find the cases it gets wrong, give it the right answer with a
//! rationale, run again).
//!
//! Each line is one disagreement in the shape `examples = "..."` reads: the
//! row's inputs, then the humans' verdict and rationale under the judge's
//! own columns (`response/llm_judged/<judge>/rating`, `.../score`,
//! `.../rationale`). Keyed by judge, one file serves every judge in it, as
//! `[eval] examples` or as each judge's own `examples`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::labels::{COLUMN_PREFIX, Label};
use super::{AlignError, Alignment, JudgeAlignment, each_row};
use crate::results::run_dir::RunDir;
use crate::results::schema::{self, JudgedField, JudgedPrefix};

/// What [`write`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExamplesWritten {
    pub path: PathBuf,
    /// Lines written: one per disagreement.
    pub examples: usize,
    /// Of them, how many have no human rationale to teach the judge with.
    pub without_rationale: usize,
    /// Judges with more examples than a judge uses (the first
    /// `gavel_runtime::MAX_EXAMPLES`), and how many they have.
    pub over_limit: Vec<(String, usize)>,
}

/// Writes every disagreement of `alignment` to `path` as few-shot examples,
/// reading the rows' inputs from the run in `dir`.
pub fn write(
    dir: &RunDir,
    alignment: &Alignment,
    path: &Path,
) -> Result<ExamplesWritten, AlignError> {
    let lines: std::collections::HashSet<u64> = alignment
        .judges
        .iter()
        .flat_map(|j| j.disagreements.iter().map(|d| d.line))
        .collect();
    let mut inputs: HashMap<u64, Map<String, Value>> = HashMap::new();
    each_row(dir, |line, row| {
        if lines.contains(&line) {
            inputs.insert(line, judge_inputs(row));
        }
        Ok(())
    })?;
    let mut text = String::new();
    let mut written = ExamplesWritten {
        path: path.to_owned(),
        examples: 0,
        without_rationale: 0,
        over_limit: Vec::new(),
    };
    let mut per_judge: indexmap::IndexMap<String, usize> = indexmap::IndexMap::new();
    for judge in &alignment.judges {
        let prefix = example_prefix(judge);
        for disagreement in &judge.disagreements {
            let mut example = inputs.get(&disagreement.line).cloned().unwrap_or_default();
            match disagreement.human_label {
                // A score judge answers with scores: a human score is an
                // example in its own terms.
                Label::Score(score) if judge.scored => {
                    example.insert(prefix.column(JudgedField::Score), json!(score));
                }
                _ => {
                    example.insert(
                        prefix.column(JudgedField::Rating),
                        json!(disagreement.human_rating),
                    );
                }
            }
            match &disagreement.human_rationale {
                Some(rationale) => {
                    example.insert(prefix.column(JudgedField::Rationale), json!(rationale));
                }
                None => written.without_rationale += 1,
            }
            text.push_str(&Value::Object(example).to_string());
            text.push('\n');
            written.examples += 1;
            *per_judge.entry(prefix.name.clone()).or_default() += 1;
        }
    }
    written.over_limit = per_judge
        .into_iter()
        .filter(|(_, count)| *count > gavel_runtime::MAX_EXAMPLES)
        .collect();
    let io = |source| AlignError::Write {
        path: path.to_owned(),
        source,
    };
    std::fs::File::create(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(io)?;
    Ok(written)
}

/// The columns examples are read under: the judge's own name, so that a
/// guideline group's examples (`guideline_adherence/tone`) reach the judge
/// configured as `[judges.guideline_adherence]`.
fn example_prefix(judge: &JudgeAlignment) -> JudgedPrefix {
    JudgedPrefix::new(judge.prefix.assessment_type, judge.prefix.judge())
}

/// A result line's inputs: its fields without the run's outputs and the
/// human labels (which would otherwise be read as inputs).
fn judge_inputs(row: Map<String, Value>) -> Map<String, Value> {
    row.into_iter()
        .filter(|(key, _)| !schema::is_reserved(key) && !key.starts_with(COLUMN_PREFIX))
        .collect()
}
