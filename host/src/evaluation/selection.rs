//! Which checks run on a row: the default selection (each built-in
//! judge's `selected_when` in plugins/builtin/judges.toml), which
//! depends on what the row has, or the checks named with `--judges` or in
//! `[eval] judges`. A check is an LLM judge, a metric component (a number
//! per row, no LLM), or a deterministic check the host makes itself.

use crate::evaluation::judge_set::JudgeSet;
use gavel_runtime::bindings::Row;
use gavel_runtime::builtins::{self, BuiltinFacts, SelectedWhen};
use gavel_runtime::judge::Judge;
use gavel_runtime::metric::Metric;

/// Deterministic checks the host makes itself, run only when named.
pub const EXACT_MATCH: &str = "exact_match";
pub const TOKEN_COUNT: &str = "token_count";
/// The agent's latency (MLflow's `latency` metric): measured on every row
/// an agent answers or whose trace says it; naming it notes the rows
/// without one.
pub const LATENCY: &str = "latency";

/// The host's own checks, with what each needs, for listings.
pub const HOST_CHECKS: [(&str, &str); 3] = [
    (EXACT_MATCH, "response, expected_response"),
    (TOKEN_COUNT, "response"),
    (LATENCY, "an agent call or a trace"),
];

#[derive(Debug, Clone)]
pub enum Check {
    Judge(Judge),
    Metric(Metric),
    ExactMatch,
    TokenCount,
    Latency,
}

impl Check {
    pub fn name(&self) -> &str {
        match self {
            Check::Judge(judge) => judge.name(),
            Check::Metric(metric) => metric.name(),
            Check::ExactMatch => EXACT_MATCH,
            Check::TokenCount => TOKEN_COUNT,
            Check::Latency => LATENCY,
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
                LATENCY => Check::Latency,
                _ => match (judge_set.get(name), judge_set.metric(name)) {
                    (Some(judge), _) => Check::Judge(judge.clone()),
                    (None, Some(metric)) => Check::Metric(metric.clone()),
                    (None, None) => {
                        let mut known = judge_set.names();
                        known.extend(judge_set.metrics().iter().map(Metric::name));
                        known.extend(HOST_CHECKS.map(|(name, _)| name));
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
                .chain(custom_metrics(judge_set))
                .collect(),
        }
    }

    /// Whether `latency` was named.
    pub fn names_latency(&self) -> bool {
        matches!(self, Selection::Named(checks) if checks.iter().any(|c| matches!(c, Check::Latency)))
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
                    .chain(custom_metrics(judge_set))
                    .collect()
            }
        }
    }
}

/// The configuration's own metrics: run by default, as its custom judges
/// are (the built-in metrics run only when named, as MLflow's do).
fn custom_metrics(judge_set: &JudgeSet) -> impl Iterator<Item = Check> + '_ {
    judge_set
        .custom_metrics()
        .iter()
        .map(|metric| Check::Metric(metric.clone()))
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
