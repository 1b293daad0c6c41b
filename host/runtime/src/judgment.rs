//! What judging a row gives: a plugin's assessment read by the host.
//!
//! The lifecycle has three names: a plugin returns an `Assessment` (WIT),
//! the host reads it into a [`Judgment`] (scores become ratings with the
//! judge's threshold), and [`JudgeOutcome`] is a judgment or the failure that
//! stopped it, with its cost.

use std::time::Duration;

use serde::Serialize;

use crate::failure::JudgeFailure;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    Yes,
    No,
}

impl Rating {
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Yes => "yes",
            Rating::No => "no",
        }
    }
}

/// A judge's verdict on one row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judgment {
    pub rating: Rating,
    /// The 1-5 score, for score-based judges.
    pub score: Option<u8>,
    pub rationale: String,
    /// Retrieval judges that rate chunk by chunk: one per retrieved chunk,
    /// an error message where a chunk could not be judged.
    pub chunks: Vec<Result<ChunkJudgment, String>>,
}

impl Judgment {
    /// Chunks rated yes over chunks rated, for chunk-by-chunk judges.
    pub fn precision(&self) -> Option<f64> {
        let rated: Vec<_> = self.chunks.iter().filter_map(|c| c.as_ref().ok()).collect();
        if rated.is_empty() {
            return None;
        }
        let yes = rated.iter().filter(|c| c.rating == Rating::Yes).count();
        Some(yes as f64 / rated.len() as f64)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChunkJudgment {
    pub rating: Rating,
    pub score: Option<u8>,
    pub rationale: String,
}

/// What one judgment cost: the judge's LLM calls and their tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct JudgeUsage {
    pub llm_calls: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// What running a judge on a row gave: its judgment or why there is none,
/// what it cost and how long it took.
#[derive(Debug, Clone)]
pub struct JudgeOutcome {
    pub judgment: Result<Judgment, JudgeFailure>,
    /// Spent even when the judgment failed.
    pub usage: JudgeUsage,
    pub elapsed: Duration,
}
