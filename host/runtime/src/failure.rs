//! Why a judgment failed, normalised: whatever a plugin does, the failure is
//! one of these, named with the plugin's name and version.

use std::fmt;
use std::time::Duration;

use crate::bindings::{JudgeError, LlmError};
use crate::redact;
use crate::text::{MAX_MESSAGE_BYTES, clean_owned};

/// A judgment that produced no assessment. It fails that judgment only; the
/// host stays usable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("judge {plugin} {kind}")]
pub struct JudgeFailure {
    /// `name@version` of the plugin.
    pub plugin: String,
    pub kind: FailureKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FailureKind {
    /// Ran guest code for longer than its CPU budget.
    CpuTimeout(Duration),
    /// Took longer than its wall-clock limit (waiting for the LLM not
    /// counted).
    WallTimeout(Duration),
    /// An LLM call got no answer within its endpoint's `timeout_secs`, after
    /// its retries; says which endpoint and limit.
    LlmTimeout(String),
    /// Asked for more memory than its limit.
    OutOfMemory { limit_mib: u64 },
    /// Crashed: a panic, `unreachable`, a bad memory access. `stderr` holds
    /// the end of what the guest printed (a panic message).
    Trap { message: String, stderr: String },
    /// Tried to make more LLM calls than its budget allows.
    LlmBudgetExceeded(u32),
    /// Reported an error of its own.
    Guest(JudgeError),
    /// Returned something that is not a valid assessment.
    InvalidAssessment(String),
    /// A metric returned a value that is not a usable number (NaN, an
    /// infinity, beyond ±2^53).
    InvalidValue(String),
    /// The host could not run it (instantiation failed).
    Host(String),
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureKind::CpuTimeout(limit) => write!(
                f,
                "timed out: ran for more than {} of CPU time (limit `cpu_secs`)",
                secs(*limit)
            ),
            FailureKind::WallTimeout(limit) => write!(
                f,
                "timed out: took longer than {} (limit `wall_secs`; waiting for the LLM does not count)",
                secs(*limit)
            ),
            FailureKind::LlmTimeout(why) => write!(f, "failed: an LLM call timed out: {why}"),
            FailureKind::OutOfMemory { limit_mib } => write!(
                f,
                "ran out of memory: needed more than {limit_mib} MiB (limit `memory_mib`)"
            ),
            FailureKind::Trap { message, stderr } => {
                write!(f, "crashed: {message}")?;
                if !stderr.is_empty() {
                    write!(f, "; it printed: {stderr}")?;
                }
                Ok(())
            }
            FailureKind::LlmBudgetExceeded(calls) => write!(
                f,
                "exceeded its LLM call budget of {calls} calls per evaluation (limit `llm_calls`)"
            ),
            FailureKind::Guest(error) => write_judge_error(f, error),
            FailureKind::InvalidAssessment(why) => {
                write!(f, "returned an invalid assessment: {why}")
            }
            FailureKind::InvalidValue(why) => write!(f, "returned an invalid value: {why}"),
            FailureKind::Host(message) => write!(f, "could not be run: {message}"),
        }
    }
}

impl FailureKind {
    /// The same failure with every text in it bounded to
    /// [`MAX_MESSAGE_BYTES`], free of control characters and of secrets in
    /// URLs: a plugin writes its errors (and may pose as the host's LLM
    /// errors), and these texts go to results files and terminals.
    pub(crate) fn cleaned(self) -> FailureKind {
        match self {
            FailureKind::LlmTimeout(why) => FailureKind::LlmTimeout(clean(why)),
            FailureKind::Trap { message, stderr } => FailureKind::Trap {
                message: clean(message),
                stderr: clean(stderr),
            },
            FailureKind::Guest(error) => FailureKind::Guest(match error {
                JudgeError::MissingInput(m) => JudgeError::MissingInput(clean(m)),
                JudgeError::InvalidConfig(m) => JudgeError::InvalidConfig(clean(m)),
                JudgeError::Llm(LlmError::NotAllowed(m)) => {
                    JudgeError::Llm(LlmError::NotAllowed(clean(m)))
                }
                JudgeError::Llm(LlmError::Upstream(m)) => {
                    JudgeError::Llm(LlmError::Upstream(clean(m)))
                }
                JudgeError::Llm(other) => JudgeError::Llm(other),
                JudgeError::UnparsableAnswer(m) => JudgeError::UnparsableAnswer(clean(m)),
                JudgeError::Failed(m) => JudgeError::Failed(clean(m)),
            }),
            FailureKind::InvalidAssessment(m) => FailureKind::InvalidAssessment(clean(m)),
            FailureKind::InvalidValue(m) => FailureKind::InvalidValue(clean(m)),
            FailureKind::Host(m) => FailureKind::Host(clean(m)),
            kind @ (FailureKind::CpuTimeout(_)
            | FailureKind::WallTimeout(_)
            | FailureKind::OutOfMemory { .. }
            | FailureKind::LlmBudgetExceeded(_)) => kind,
        }
    }
}

fn clean(text: String) -> String {
    redact::urls_in_text(&clean_owned(text, MAX_MESSAGE_BYTES))
}

fn write_judge_error(f: &mut fmt::Formatter<'_>, error: &JudgeError) -> fmt::Result {
    match error {
        JudgeError::MissingInput(input) => write!(f, "is missing an input: {input}"),
        JudgeError::InvalidConfig(message) => write!(f, "has an invalid configuration: {message}"),
        JudgeError::Llm(LlmError::NotAllowed(message)) => {
            write!(f, "was refused an LLM call: {message}")
        }
        JudgeError::Llm(LlmError::BudgetExceeded(calls)) => {
            write!(f, "exceeded its LLM call budget of {calls} calls")
        }
        JudgeError::Llm(LlmError::Timeout) => write!(f, "failed: an LLM call timed out"),
        JudgeError::Llm(LlmError::Upstream(message)) => {
            write!(f, "failed: LLM call failed: {message}")
        }
        JudgeError::UnparsableAnswer(raw) => {
            write!(
                f,
                "could not read the LLM's answer as a verdict; the answer was: {raw}"
            )
        }
        JudgeError::Failed(message) => write!(f, "failed: {message}"),
    }
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_the_plugin_and_the_limit() {
        let failure = JudgeFailure {
            plugin: "tone@1.2.0".into(),
            kind: FailureKind::CpuTimeout(Duration::from_millis(500)),
        };
        assert_eq!(
            failure.to_string(),
            "judge tone@1.2.0 timed out: ran for more than 0.5 s of CPU time (limit `cpu_secs`)"
        );
        let oom = JudgeFailure {
            plugin: "x@0.1.0".into(),
            kind: FailureKind::OutOfMemory { limit_mib: 64 },
        };
        assert_eq!(
            oom.to_string(),
            "judge x@0.1.0 ran out of memory: needed more than 64 MiB (limit `memory_mib`)"
        );
    }

    #[test]
    fn cleaned_failures_are_bounded_and_free_of_escapes_and_secrets() {
        let huge = format!("\u{1b}[2J{}", "\u{1b}]0;title\u{7}x".repeat(1 << 20));
        let kind = FailureKind::Guest(JudgeError::Failed(huge)).cleaned();
        let text = kind.to_string();
        assert!(text.len() < MAX_MESSAGE_BYTES + 100, "{}", text.len());
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'));
        assert!(text.contains("bytes cut)"), "{}", &text[text.len() - 60..]);
        let kind = FailureKind::Guest(JudgeError::Llm(LlmError::Upstream(
            "cannot reach https://u:pw@llm.example/v1/chat/completions?key=sk-1: refused".into(),
        )))
        .cleaned();
        assert_eq!(
            kind.to_string(),
            "failed: LLM call failed: cannot reach https://***@llm.example/v1/chat/completions?key=***: refused"
        );
        let kind = FailureKind::Trap {
            message: "trap\u{1b}[0m".into(),
            stderr: "line\r\n".into(),
        }
        .cleaned();
        assert_eq!(
            kind.to_string(),
            "crashed: trap\u{fffd}[0m; it printed: line\u{fffd}\n"
        );
    }
}
