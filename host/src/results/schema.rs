//! The names of result columns and metrics: the one place that builds
//! them and reads them back.
//!
//! A result row (a line of `eval_results.jsonl`) holds the input fields,
//! then for each judgment a group of columns under its prefix
//! (`response/llm_judged/correctness/rating`, `.../rationale`, ...), the
//! deterministic metrics, the overall assessment and the agent's measures.
//! The names follow MLflow's and the Databricks agent evaluation's, so
//! tools that read theirs read ours. Metrics (`metrics.json`) are named
//! after the columns they aggregate (`.../rating/percentage`).

use std::fmt;

use gavel_runtime::bindings::AssessmentType;

/// The row's id: as given in the data, else its index.
pub const REQUEST_ID: &str = "request_id";
/// Why a row could not be read (it was kept with `--skip-invalid`).
pub const ERROR_MESSAGE: &str = "error_message";
/// Checks chosen for a row that could not run on it, and why.
pub const SKIPPED_JUDGES: &str = "skipped_judges";

pub const AGENT_ERROR_MESSAGE: &str = "agent/error_message";
pub const AGENT_LATENCY_SECONDS: &str = "agent/latency_seconds";
pub const AGENT_TOTAL_TOKENS: &str = "agent/total_token_count";
pub const AGENT_INPUT_TOKENS: &str = "agent/total_input_token_count";
pub const AGENT_OUTPUT_TOKENS: &str = "agent/total_output_token_count";

pub const EXACT_MATCH_RATING: &str = "response/exact_match/rating";
pub const TOKEN_COUNT: &str = "response/token_count";
pub const DOCUMENT_RECALL: &str = "retrieval/ground_truth/document_recall";

/// A metric's columns (a number per row from a metric component, no LLM):
/// `response/<metric>/score`, or `.../error_message` when measuring failed,
/// named as MLflow names a metric's per-row score (`<metric>/v1/score`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricField {
    Score,
    ErrorMessage,
}

impl MetricField {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricField::Score => "score",
            MetricField::ErrorMessage => "error_message",
        }
    }
}

/// `response/<metric>`: where a metric's columns and statistics live.
pub fn metric_prefix(metric: &str) -> String {
    format!("response/{metric}")
}

/// The column holding `field` of a metric.
pub fn metric_column(metric: &str, field: MetricField) -> String {
    format!("response/{metric}/{}", field.as_str())
}

/// `response/flesch_kincaid_grade_level/score` -> the metric and `Score`;
/// `None` for any other column (judges' columns have more parts, and the
/// exact match's and overall assessment's other fields).
pub fn parse_metric_column(column: &str) -> Option<(&str, MetricField)> {
    let rest = column.strip_prefix("response/")?;
    let (metric, field) = rest.split_once('/')?;
    let field = [MetricField::Score, MetricField::ErrorMessage]
        .into_iter()
        .find(|f| f.as_str() == field)?;
    let judged = RESPONSE_JUDGED
        .trim_start_matches("response/")
        .trim_end_matches('/');
    (!metric.is_empty() && metric != judged).then_some((metric, field))
}

/// Where the overall assessment's columns live; its name in summaries.
pub const OVERALL: &str = "response/overall_assessment";
pub const OVERALL_RATING: &str = "response/overall_assessment/rating";
pub const OVERALL_ROOT_CAUSE: &str = "response/overall_assessment/root_cause";
pub const OVERALL_RATIONALE: &str = "response/overall_assessment/rationale";

/// The prefixes of judges' columns, by assessment type.
const RESPONSE_JUDGED: &str = "response/llm_judged/";
const RETRIEVAL_JUDGED: &str = "retrieval/llm_judged/";

/// Output names: an input field with one of them (a results file evaluated
/// again) would be mistaken for this run's results, so it is not copied.
pub fn is_reserved(field: &str) -> bool {
    ["response/", "retrieval/", "judge/", "agent/"]
        .iter()
        .any(|prefix| field.starts_with(prefix))
        || field == ERROR_MESSAGE
        || field == SKIPPED_JUDGES
}

/// Whether a text holds judges' column names (a results file used as
/// few-shot examples).
pub fn mentions_judged_columns(text: &str) -> bool {
    text.contains("/llm_judged/")
}

/// The columns of one judgment: `response/llm_judged/<name>` for answer
/// judges, `retrieval/llm_judged/<name>` for retrieval judges, where the
/// name is the judge's, or `<judge>/<group>` for a guideline group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JudgedPrefix {
    pub assessment_type: AssessmentType,
    /// The judgment's name in outputs: `correctness`, `guideline_adherence/tone`.
    pub name: String,
}

impl JudgedPrefix {
    pub fn new(assessment_type: AssessmentType, name: impl Into<String>) -> Self {
        JudgedPrefix {
            assessment_type,
            name: name.into(),
        }
    }

    /// `response/llm_judged/correctness` -> the prefix; `None` for any
    /// other text.
    pub fn parse(prefix: &str) -> Option<Self> {
        let (assessment_type, name) = match prefix.strip_prefix(RESPONSE_JUDGED) {
            Some(name) => (AssessmentType::Answer, name),
            None => (
                AssessmentType::Retrieval,
                prefix.strip_prefix(RETRIEVAL_JUDGED)?,
            ),
        };
        (!name.is_empty()).then(|| JudgedPrefix::new(assessment_type, name))
    }

    /// The judge's own name: `guideline_adherence` for each of its groups.
    pub fn judge(&self) -> &str {
        self.name.split('/').next().unwrap_or_default()
    }

    /// The column holding `field` of this judgment.
    pub fn column(&self, field: JudgedField) -> String {
        format!("{self}/{}", field.as_str())
    }
}

// By hand: the WIT-generated `AssessmentType` does not derive `Hash`.
impl std::hash::Hash for JudgedPrefix {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        matches!(self.assessment_type, AssessmentType::Answer).hash(state);
        self.name.hash(state);
    }
}

impl fmt::Display for JudgedPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let root = match self.assessment_type {
            AssessmentType::Answer => RESPONSE_JUDGED,
            AssessmentType::Retrieval => RETRIEVAL_JUDGED,
        };
        write!(f, "{root}{}", self.name)
    }
}

/// One column of a judgment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JudgedField {
    /// `yes` or `no`.
    Rating,
    Rationale,
    /// The 1-5 score, for score judges.
    Score,
    /// Judges that rate chunks one by one: per-chunk lists and a precision.
    Ratings,
    Rationales,
    Scores,
    ErrorMessages,
    Precision,
    /// Why the judgment failed as a whole.
    ErrorMessage,
    LlmCallCount,
    TotalTokenCount,
}

impl JudgedField {
    const ALL: [JudgedField; 11] = [
        JudgedField::Rating,
        JudgedField::Rationale,
        JudgedField::Score,
        JudgedField::Ratings,
        JudgedField::Rationales,
        JudgedField::Scores,
        JudgedField::ErrorMessages,
        JudgedField::Precision,
        JudgedField::ErrorMessage,
        JudgedField::LlmCallCount,
        JudgedField::TotalTokenCount,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JudgedField::Rating => "rating",
            JudgedField::Rationale => "rationale",
            JudgedField::Score => "score",
            JudgedField::Ratings => "ratings",
            JudgedField::Rationales => "rationales",
            JudgedField::Scores => "scores",
            JudgedField::ErrorMessages => "error_messages",
            JudgedField::Precision => "precision",
            JudgedField::ErrorMessage => "error_message",
            JudgedField::LlmCallCount => "llm_call_count",
            JudgedField::TotalTokenCount => "total_token_count",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == text)
    }
}

/// `response/llm_judged/guideline_adherence/tone/rating` ->
/// (`response/llm_judged/guideline_adherence/tone`, `rating`); `None` for
/// a column that is not a judgment's.
pub fn judged_column(column: &str) -> Option<(JudgedPrefix, JudgedField)> {
    let (prefix, field) = column.rsplit_once('/')?;
    Some((JudgedPrefix::parse(prefix)?, JudgedField::parse(field)?))
}

/// Metric names (`metrics.json`, gates, the summary, MLflow).
pub mod metric {
    use super::JudgedPrefix;

    /// Share of a judgment's ratings that are yes.
    pub fn rating_percentage(prefix: &JudgedPrefix) -> String {
        format!("{prefix}/rating/percentage")
    }

    /// Judgments of it that failed.
    pub fn error_count(prefix: &JudgedPrefix) -> String {
        format!("{prefix}/error_count")
    }

    /// Mean precision of a judge that rates chunks.
    pub fn precision_average(prefix: &JudgedPrefix) -> String {
        format!("{prefix}/precision/average")
    }

    /// A statistic of a numeric column over the run's rows, named as MLflow
    /// names a score metric's: `<column>/mean`, `/variance`, `/p90`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Statistic {
        Mean,
        /// Population variance.
        Variance,
        /// 90th percentile.
        P90,
    }

    impl Statistic {
        pub const ALL: [Statistic; 3] = [Statistic::Mean, Statistic::Variance, Statistic::P90];

        pub fn as_str(self) -> &'static str {
            match self {
                Statistic::Mean => "mean",
                Statistic::Variance => "variance",
                Statistic::P90 => "p90",
            }
        }
    }

    /// `<column>/<statistic>`: `response/llm_judged/answer_similarity/score/mean`.
    pub fn statistic(column: &str, statistic: Statistic) -> String {
        format!("{column}/{}", statistic.as_str())
    }

    /// Rows a metric failed to measure.
    pub fn metric_error_count(metric: &str) -> String {
        format!("{}/error_count", super::metric_prefix(metric))
    }

    /// LLM calls a judge made over the run.
    pub fn judge_llm_calls(judge: &str) -> String {
        format!("judge/{judge}/llm_call_count")
    }

    /// Tokens a judge's LLM calls used over the run.
    pub fn judge_tokens(judge: &str) -> String {
        format!("judge/{judge}/total_token_count")
    }

    pub const DOCUMENT_RECALL_AVERAGE: &str = "retrieval/ground_truth/document_recall/average";
    pub const EXACT_MATCH_PERCENTAGE: &str = "response/exact_match/rating/percentage";
    pub const TOKEN_COUNT_AVERAGE: &str = "response/token_count/average";
    pub const AGENT_LATENCY_AVERAGE: &str = "agent/latency_seconds/average";
    pub const AGENT_TOTAL_TOKENS_AVERAGE: &str = "agent/total_token_count/average";
    pub const AGENT_INPUT_TOKENS_AVERAGE: &str = "agent/input_token_count/average";
    pub const AGENT_OUTPUT_TOKENS_AVERAGE: &str = "agent/output_token_count/average";
    pub const AGENT_ERROR_COUNT: &str = "agent/error_count";
    /// The share of rows whose overall assessment is yes: the run's headline.
    pub const OVERALL_PERCENTAGE: &str = "response/overall_assessment/rating/percentage";
    pub const TOTAL_TOKENS: &str = "judge/total_token_count";
    pub const TOTAL_LLM_CALLS: &str = "judge/llm_call_count";

    /// What a metric is about, for a column header:
    /// `response/overall_assessment/rating/percentage` ->
    /// `overall_assessment`, `response/llm_judged/safety/error_count` ->
    /// `safety`; any other metric is its own name.
    pub fn subject(metric: &str) -> String {
        let parts: Vec<&str> = metric.split('/').collect();
        match parts.as_slice() {
            [_, name, "rating", "percentage"] => (*name).to_owned(),
            [_, "llm_judged", name, ..] => (*name).to_owned(),
            _ => metric.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judged_columns_are_built_and_read_back() {
        let tone = JudgedPrefix::new(AssessmentType::Answer, "guideline_adherence/tone");
        let column = tone.column(JudgedField::Rating);
        assert_eq!(
            column,
            "response/llm_judged/guideline_adherence/tone/rating"
        );
        assert_eq!(
            judged_column(&column),
            Some((tone.clone(), JudgedField::Rating))
        );
        assert_eq!(tone.judge(), "guideline_adherence");
        let chunks = JudgedPrefix::new(AssessmentType::Retrieval, "chunk_relevance");
        assert_eq!(
            judged_column("retrieval/llm_judged/chunk_relevance/precision"),
            Some((chunks, JudgedField::Precision))
        );
        for other in [
            OVERALL_RATING,
            EXACT_MATCH_RATING,
            "request",
            "response/llm_judged/x/what",
        ] {
            assert_eq!(judged_column(other), None, "{other}");
        }
        assert_eq!(
            metric::rating_percentage(&tone),
            "response/llm_judged/guideline_adherence/tone/rating/percentage"
        );
        let similarity = JudgedPrefix::new(AssessmentType::Answer, "answer_similarity");
        let mean = metric::statistic(
            &similarity.column(JudgedField::Score),
            metric::Statistic::Mean,
        );
        assert_eq!(mean, "response/llm_judged/answer_similarity/score/mean");
        assert_eq!(metric::subject(&mean), "answer_similarity");
        assert_eq!(
            metric::subject(metric::OVERALL_PERCENTAGE),
            "overall_assessment"
        );
        let grade = metric_column("ari_grade_level", MetricField::Score);
        assert_eq!(grade, "response/ari_grade_level/score");
        assert_eq!(
            parse_metric_column(&grade),
            Some(("ari_grade_level", MetricField::Score))
        );
        assert_eq!(
            parse_metric_column("response/ari_grade_level/error_message"),
            Some(("ari_grade_level", MetricField::ErrorMessage))
        );
        for other in [
            "response/llm_judged/answer_similarity/score",
            "response/llm_judged/score",
            EXACT_MATCH_RATING,
            TOKEN_COUNT,
            OVERALL_RATING,
            "retrieval/x/score",
        ] {
            assert_eq!(parse_metric_column(other), None, "{other}");
        }
        assert_eq!(
            metric::statistic(&metric_prefix("ari_grade_level"), metric::Statistic::P90),
            "response/ari_grade_level/p90"
        );
        assert_eq!(
            metric::subject("response/llm_judged/safety/rating/percentage"),
            "safety"
        );
    }
}
