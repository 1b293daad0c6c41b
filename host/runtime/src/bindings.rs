//! Host bindings for the `gavel:judge` WIT package: its two worlds, the
//! judge `plugin` and the `metric-plugin` (in [`metric`]), sharing the types
//! and the `log` import.
//!
//! Every import is async: `llm.complete` awaits the endpoint, and the others
//! are cheap enough that one calling convention for all keeps it simple.

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../../wit",
    imports: { default: async },
    exports: { default: async },
    additional_derives: [PartialEq],
});

/// The version of the `gavel:judge` package this host implements.
pub const WIT_VERSION: &str = "0.1.2";

/// Whether this host runs components built against `version`: the
/// component model's semver rule, under which every `0.1.x` is compatible
/// with `0.1.2` (the host links the newest and older plugins find their
/// imports in it); a newer patch needs imports this host lacks, which the
/// linker reports.
pub fn hosts(version: &str) -> bool {
    let mut parts = version.split('.');
    matches!((parts.next(), parts.next()), (Some("0"), Some("1")))
}

/// The metric world: a component that exports `metric` and imports only
/// `log`. Its types and `log` are the judge world's own, so one host
/// implementation serves both.
pub mod metric {
    wasmtime::component::bindgen!({
        world: "metric-plugin",
        path: "../../wit",
        imports: { default: async },
        exports: { default: async },
        with: {
            "gavel:judge/types": super::gavel::judge::types,
            "gavel:judge/log": super::gavel::judge::log,
        },
    });

    pub use self::exports::gavel::judge::metric::Description;
}

pub use self::exports::gavel::judge::judge::{AssessmentType, Description, Input, JudgeError};
pub use self::gavel::judge::ask::{AskError, Overall, Question, RatedChunks, Scale};
pub use self::gavel::judge::llm::{Completion, CompletionRequest, LlmError, Usage};
pub use self::gavel::judge::log::Level;
pub use self::gavel::judge::prompt::Variable;
pub use self::gavel::judge::types::{
    Assessment, Chunk, ChunkAssessment, Example, GuidelineGroup, JudgeConfig, Message, Role, Row,
    Verdict,
};

impl Row {
    /// A row with only an id and a request (a single user message); set
    /// the other inputs on it. Evaluation sets are read into rows by the
    /// `gavel` crate, which also accepts conversations and MLflow's names.
    pub fn new(request_id: impl Into<String>, request: impl Into<String>) -> Row {
        let request = request.into();
        Row {
            request_id: request_id.into(),
            conversation: vec![Message {
                role: Role::User,
                content: request.clone(),
            }],
            request,
            response: None,
            expected_response: None,
            expected_facts: Vec::new(),
            retrieved_context: Vec::new(),
            expected_retrieved_context: Vec::new(),
            guidelines: Vec::new(),
            global_guidelines: Vec::new(),
            trace: None,
            extra: "{}".to_owned(),
        }
    }
}
