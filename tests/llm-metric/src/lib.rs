//! A metric that calls the judge LLM: its component exports `metric` and
//! imports `llm`, which the metric world does not have. The host must
//! refuse to load it, so that a metric stays deterministic.

use gavel_sdk::{Message, Metric, MetricDescription, Row};

struct AsksTheLlm;

impl Metric for AsksTheLlm {
    fn describe() -> MetricDescription {
        MetricDescription::new("asks_the_llm", "0.1.0", "Not deterministic.")
    }

    fn measure(_row: &Row) -> Result<Option<f64>, String> {
        let answer = gavel_sdk::llm::complete("judge", vec![Message::user("A number?")], None)
            .map_err(|e| format!("{e:?}"))?;
        Ok(answer.content.trim().parse().ok())
    }
}

gavel_sdk::register_metric!(AsksTheLlm);
