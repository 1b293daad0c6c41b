//! Is each retrieved chunk relevant to the request? Fails only when none is.

use gavel_sdk::{
    Assessment, Description, Input, Judge, JudgeConfig, JudgeError, Overall, Row, Scale,
};

const CRITERION: &str = "Criterion: is the retrieved chunk relevant to the request?
The chunk is relevant when it contains information that helps answer the request, even if only \
partly. A chunk about another subject, or one that merely shares words with the request, is not \
relevant.

{{request}}
{{retrieved_context}}";

struct ChunkRelevance;

impl Judge for ChunkRelevance {
    fn describe() -> Description {
        Description::retrieval(
            "chunk_relevance",
            env!("CARGO_PKG_VERSION"),
            "Each retrieved chunk is relevant to the request; precision is relevant / retrieved.",
        )
        .requires(Input::Request)
        .requires(Input::RetrievedContext)
    }

    fn evaluate(_row: &Row, _config: &JudgeConfig) -> Result<Assessment, JudgeError> {
        gavel_sdk::rate_chunks(CRITERION, Scale::YesNo, Overall::AnyYes)
    }
}

gavel_sdk::register_judge!(ChunkRelevance);
