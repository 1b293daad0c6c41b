//! The built-in judges and metrics, compiled from plugins/builtin/* by the
//! build script and embedded in the crate, and what the host knows about
//! each ([`FACTS`], from plugins/builtin/judges.toml).

pub(crate) struct Embedded {
    pub(crate) bytes: &'static [u8],
    /// Computed at build time: the compiled-code cache key, without hashing
    /// at start-up.
    pub(crate) sha256: &'static str,
    /// A metric component, not a judge.
    pub(crate) metric: bool,
}

/// What the host knows about a built-in judge (or metric) beyond its
/// description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinFacts {
    pub name: &'static str,
    /// A metric (a number per row, no LLM) rather than a judge; metrics run
    /// only when named.
    pub metric: bool,
    pub selected_when: SelectedWhen,
    /// Rank among root causes, 1 first; also the order in which the
    /// default selection runs judges. `None` for what is not a judge of its
    /// own.
    pub root_cause_rank: Option<u8>,
    /// It rates each retrieved chunk: its results are per-chunk lists and a
    /// precision.
    pub rates_chunks: bool,
    /// What to do when it is a failing row's root cause.
    pub suggested_action: Option<&'static str>,
}

/// When the default selection runs a built-in judge on a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectedWhen {
    Always,
    /// The row has `expected_response` or `expected_facts`.
    GroundTruth,
    NoGroundTruth,
    /// The row has guidelines of its own.
    Guidelines,
    /// Global guidelines are configured.
    GlobalGuidelines,
    /// Only when named (`--judges`).
    Named,
    /// Not a judge of its own (the plugin behind custom prompt judges).
    Never,
}

/// The facts of the built-in judge named `name`.
pub fn facts(name: &str) -> Option<&'static BuiltinFacts> {
    FACTS.iter().find(|facts| facts.name == name)
}

include!(concat!(env!("OUT_DIR"), "/builtins.rs"));
