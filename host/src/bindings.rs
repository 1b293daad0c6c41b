//! Host bindings for the `gavel:judge` WIT package.
//!
//! Every import is async: `llm.complete` awaits the endpoint, and the others
//! are cheap enough that one calling convention for all keeps it simple.

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit",
    imports: { default: async },
    exports: { default: async },
    additional_derives: [PartialEq],
});

pub use self::exports::gavel::judge::judge::{AssessmentType, Description, Input, JudgeError};
pub use self::gavel::judge::llm::{Completion, CompletionRequest, LlmError, Usage};
pub use self::gavel::judge::log::Level;
pub use self::gavel::judge::prompt::Variable;
pub use self::gavel::judge::types::{
    Assessment, Chunk, ChunkAssessment, Example, GuidelineGroup, JudgeConfig, Message, Role, Row,
    Verdict,
};
