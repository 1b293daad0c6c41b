use crate::{Assessment, ChunkAssessment, Message, Role, Verdict};

impl Verdict {
    /// Whether the host will record this verdict as "yes" under `threshold`:
    /// a score counts as yes only when above it.
    pub fn is_yes(&self, threshold: u8) -> bool {
        match self {
            Verdict::Yes => true,
            Verdict::No => false,
            Verdict::Score(score) => *score > threshold,
        }
    }
}

impl Assessment {
    pub fn yes(rationale: impl Into<String>) -> Self {
        Self::new(Verdict::Yes, rationale)
    }

    pub fn no(rationale: impl Into<String>) -> Self {
        Self::new(Verdict::No, rationale)
    }

    /// A 1-5 score; the host turns it into yes/no with the judge's threshold.
    pub fn score(score: u8, rationale: impl Into<String>) -> Self {
        Self::new(Verdict::Score(score), rationale)
    }

    pub fn new(verdict: Verdict, rationale: impl Into<String>) -> Self {
        Assessment {
            verdict,
            rationale: rationale.into(),
            chunks: Vec::new(),
        }
    }

    /// Attaches per-chunk results (retrieval judges), one per retrieved chunk.
    pub fn with_chunks(mut self, chunks: Vec<Result<ChunkAssessment, String>>) -> Self {
        self.chunks = chunks;
        self
    }
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Message {
            role: Role::System,
            content: content.into(),
        }
    }

    pub fn user(content: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Message {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}
