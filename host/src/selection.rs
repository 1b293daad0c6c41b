//! Which checks run on a row (SPEC §2): the default selection, which
//! depends on what the row has, or the checks named with `--judges` or in
//! `[eval] judges`. A check is an LLM judge or a deterministic metric.

use crate::bindings::Row;
use crate::judge::Judge;
use crate::registry::Registry;

/// Deterministic metrics, run only when named.
pub const EXACT_MATCH: &str = "exact_match";
pub const TOKEN_COUNT: &str = "token_count";

/// Root causes are looked for in this order, then in the order of the
/// custom judges in `gavel.toml`.
pub const ROOT_CAUSE_ORDER: &[&str] = &[
    "context_sufficiency",
    "chunk_relevance",
    "groundedness",
    "correctness",
    "relevance_to_query",
    "safety",
    "guideline_adherence",
    "global_guideline_adherence",
    "answer_similarity",
];

/// Judges the default selection leaves out: they run only when named.
const ONLY_WHEN_NAMED: &[&str] = &["answer_similarity"];

const WITH_GROUND_TRUTH: &[&str] = &[
    "context_sufficiency",
    "groundedness",
    "correctness",
    "safety",
];
const WITHOUT_GROUND_TRUTH: &[&str] = &[
    "chunk_relevance",
    "groundedness",
    "relevance_to_query",
    "safety",
];

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
    /// SPEC §2's choice per row, then every custom judge.
    Default,
    /// These checks, in this order, on every row (each still only where the
    /// row has its inputs).
    Named(Vec<Check>),
}

impl Selection {
    /// The checks `names` stand for; an unknown name is an error listing
    /// the known ones.
    pub fn named(registry: &Registry, names: &[String]) -> Result<Selection, String> {
        let mut checks = Vec::new();
        for name in names {
            let check = match name.as_str() {
                EXACT_MATCH => Check::ExactMatch,
                TOKEN_COUNT => Check::TokenCount,
                _ => match registry.get(name) {
                    Some(judge) => Check::Judge(judge.clone()),
                    None => {
                        let mut known = registry.names();
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
    pub fn checks(&self, registry: &Registry) -> Vec<Check> {
        match self {
            Selection::Named(checks) => checks.clone(),
            Selection::Default => registry
                .judges()
                .iter()
                .filter(|j| !ONLY_WHEN_NAMED.contains(&j.name()))
                .map(|judge| Check::Judge(judge.clone()))
                .collect(),
        }
    }

    /// The checks to consider for `row` (whose global guidelines are set).
    pub fn for_row(&self, registry: &Registry, row: &Row) -> Vec<Check> {
        match self {
            Selection::Named(checks) => checks.clone(),
            Selection::Default => {
                let ground_truth =
                    row.expected_response.is_some() || !row.expected_facts.is_empty();
                let base = if ground_truth {
                    WITH_GROUND_TRUTH
                } else {
                    WITHOUT_GROUND_TRUTH
                };
                let mut names: Vec<&str> = base.to_vec();
                if !row.guidelines.is_empty() {
                    names.push("guideline_adherence");
                }
                if !row.global_guidelines.is_empty() {
                    names.push("global_guideline_adherence");
                }
                names
                    .into_iter()
                    .filter_map(|name| registry.get(name))
                    .chain(registry.custom())
                    .map(|judge| Check::Judge(judge.clone()))
                    .collect()
            }
        }
    }
}

/// Where a failing judge stands among root causes: the fixed order, then
/// custom judges in configuration order.
pub fn root_cause_rank(registry: &Registry, judge: &str) -> usize {
    ROOT_CAUSE_ORDER
        .iter()
        .position(|name| *name == judge)
        .or_else(|| {
            registry
                .custom()
                .iter()
                .position(|j| j.name() == judge)
                .map(|i| ROOT_CAUSE_ORDER.len() + i)
        })
        .unwrap_or(usize::MAX)
}
