//! The automated readability index of the response, as MLflow's
//! `ari_grade_level` metric computes it (textstat's
//! `automated_readability_index`). A metric: no LLM.

use gavel_sdk::{Metric, MetricDescription, Row};

struct AriGradeLevel;

impl Metric for AriGradeLevel {
    fn describe() -> MetricDescription {
        MetricDescription::new(
            "ari_grade_level",
            env!("CARGO_PKG_VERSION"),
            "The U.S. school grade needed to understand the response (automated readability index), as MLflow computes it.",
        )
    }

    fn measure(row: &Row) -> Result<Option<f64>, String> {
        Ok(row
            .response
            .as_deref()
            .map(gavel_readability::automated_readability_index))
    }
}

gavel_sdk::register_metric!(AriGradeLevel);
