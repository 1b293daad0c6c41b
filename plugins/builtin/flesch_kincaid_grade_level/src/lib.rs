//! The Flesch-Kincaid grade level of the response, as MLflow's
//! `flesch_kincaid_grade_level` metric computes it (textstat's
//! `flesch_kincaid_grade`). A metric: no LLM.

use gavel_sdk::{Metric, MetricDescription, Row};

struct FleschKincaidGradeLevel;

impl Metric for FleschKincaidGradeLevel {
    fn describe() -> MetricDescription {
        MetricDescription::new(
            "flesch_kincaid_grade_level",
            env!("CARGO_PKG_VERSION"),
            "The U.S. school grade needed to understand the response (Flesch-Kincaid), as MLflow computes it.",
        )
    }

    fn measure(row: &Row) -> Result<Option<f64>, String> {
        Ok(row
            .response
            .as_deref()
            .map(gavel_readability::flesch_kincaid_grade))
    }
}

gavel_sdk::register_metric!(FleschKincaidGradeLevel);
