//! Which checks run on a row: the default selection (each built-in
//! judge's `selected_when` in plugins/builtin/judges.toml), which
//! depends on what the row has, or the checks named with `--judges` or in
//! `[eval] judges`. A check is an LLM judge or a deterministic metric.

use crate::evaluation::judge_set::JudgeSet;
use gavel_runtime::bindings::Row;
use gavel_runtime::builtins::{self, BuiltinFacts, SelectedWhen};
use gavel_runtime::judge::Judge;

/// Deterministic metrics, run only when named.
pub const EXACT_MATCH: &str = "exact_match";
pub const TOKEN_COUNT: &str = "token_count";

#[derive(Debug, Clone)]
pub enum Check {
    Judge(Judge),
    ExactMatch,
    TokenCount,
}

impl Check {
    pub fn name(&self) -> &str {
        match self {
            Check::Judge(judge) => judge.name(),
            Check::ExactMatch => EXACT_MATCH,
            Check::TokenCount => TOKEN_COUNT,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Selection {
    /// The built-ins whose `selected_when` the row meets, in root-cause
    /// order, then every custom judge.
    Default,
    /// These checks, in this order, on every row (each still only where the
    /// row has its inputs).
    Named(Vec<Check>),
}

impl Selection {
    /// The checks `names` stand for; an unknown name is an error listing
    /// the known ones.
    pub fn named(judge_set: &JudgeSet, names: &[String]) -> Result<Selection, String> {
        let mut checks = Vec::new();
        for name in names {
            let check = match name.as_str() {
                EXACT_MATCH => Check::ExactMatch,
                TOKEN_COUNT => Check::TokenCount,
                _ => match judge_set.get(name) {
                    Some(judge) => Check::Judge(judge.clone()),
                    None => {
                        let mut known = judge_set.names();
                        known.extend([EXACT_MATCH, TOKEN_COUNT]);
                        return Err(format!(
                            "no judge or metric named '{name}'; known: {}",
                            known.join(", ")
                        ));
                    }
                },
            };
            if !checks.iter().any(|c: &Check| c.name() == check.name()) {
                checks.push(check);
            }
        }
        if checks.is_empty() {
            return Err("the list of judges is empty".to_owned());
        }
        Ok(Selection::Named(checks))
    }

    /// Every check the selection may make on some row.
    pub fn checks(&self, judge_set: &JudgeSet) -> Vec<Check> {
        match self {
            Selection::Named(checks) => checks.clone(),
            Selection::Default => judge_set
                .judges()
                .iter()
                .filter(|j| {
                    builtins::facts(j.name()).is_none_or(|f| f.selected_when != SelectedWhen::Named)
                })
                .map(|judge| Check::Judge(judge.clone()))
                .collect(),
        }
    }

    /// The checks to consider for `row` (whose global guidelines are set).
    pub fn for_row(&self, judge_set: &JudgeSet, row: &Row) -> Vec<Check> {
        match self {
            Selection::Named(checks) => checks.clone(),
            Selection::Default => {
                let ground_truth =
                    row.expected_response.is_some() || !row.expected_facts.is_empty();
                let selected = |when: SelectedWhen| match when {
                    SelectedWhen::Always => true,
                    SelectedWhen::GroundTruth => ground_truth,
                    SelectedWhen::NoGroundTruth => !ground_truth,
                    SelectedWhen::Guidelines => !row.guidelines.is_empty(),
                    SelectedWhen::GlobalGuidelines => !row.global_guidelines.is_empty(),
                    SelectedWhen::Named | SelectedWhen::Never => false,
                };
                let mut chosen: Vec<&BuiltinFacts> = builtins::FACTS
                    .iter()
                    .filter(|facts| selected(facts.selected_when))
                    .collect();
                chosen.sort_by_key(|facts| facts.root_cause_rank);
                chosen
                    .into_iter()
                    .filter_map(|facts| judge_set.get(facts.name))
                    .chain(judge_set.custom())
                    .map(|judge| Check::Judge(judge.clone()))
                    .collect()
            }
        }
    }
}

/// Where a failing judge stands among root causes: the built-ins' ranks,
/// then custom judges in configuration order.
pub fn root_cause_rank(judge_set: &JudgeSet, judge: &str) -> usize {
    builtin_rank(judge)
        .or_else(|| {
            judge_set
                .custom()
                .iter()
                .position(|j| j.name() == judge)
                .map(|i| usize::from(u8::MAX) + 1 + i)
        })
        .unwrap_or(usize::MAX)
}

/// A built-in judge's rank among root causes.
pub fn builtin_rank(judge: &str) -> Option<usize> {
    builtins::facts(judge)?.root_cause_rank.map(usize::from)
}
