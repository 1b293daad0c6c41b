//! `--fail-under METRIC=VALUE`: CI gates on run metrics.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub metric: String,
    pub minimum: f64,
}

impl std::str::FromStr for Gate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (metric, value) = text
            .rsplit_once('=')
            .ok_or_else(|| format!("`{text}` is not METRIC=VALUE"))?;
        let minimum: f64 = value
            .trim()
            .parse()
            .map_err(|_| format!("`{value}` in `{text}` is not a number"))?;
        if metric.trim().is_empty() || !minimum.is_finite() {
            return Err(format!("`{text}` is not METRIC=VALUE"));
        }
        Ok(Gate {
            metric: metric.trim().to_owned(),
            minimum,
        })
    }
}

/// How a gate fared.
#[derive(Debug, Clone, PartialEq)]
pub struct GateResult {
    pub gate: Gate,
    pub value: Option<f64>,
    pub passed: bool,
}

impl std::fmt::Display for GateResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verdict = if self.passed { "pass" } else { "FAIL" };
        match self.value {
            Some(value) => write!(
                f,
                "{verdict}: {} = {value:.4} (minimum {})",
                self.gate.metric, self.gate.minimum
            ),
            None => write!(
                f,
                "{verdict}: {} was not computed in this run (minimum {})",
                self.gate.metric, self.gate.minimum
            ),
        }
    }
}

/// A gate passes when its metric was computed and is at least the minimum.
pub fn check(gates: &[Gate], metrics: &Map<String, Value>) -> Vec<GateResult> {
    gates
        .iter()
        .map(|gate| {
            let value = metrics.get(&gate.metric).and_then(Value::as_f64);
            GateResult {
                passed: value.is_some_and(|v| v >= gate.minimum),
                gate: gate.clone(),
                value,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn gates_parse_and_compare() {
        let gate: Gate = "response/llm_judged/safety/rating/percentage=0.9"
            .parse()
            .unwrap();
        assert_eq!(gate.minimum, 0.9);
        assert!("no-equals".parse::<Gate>().is_err());
        assert!("m=high".parse::<Gate>().is_err());
        let metrics = json!({"response/llm_judged/safety/rating/percentage": 0.9, "x": null});
        let results = check(
            &[gate, "x=0".parse().unwrap(), "missing=0".parse().unwrap()],
            metrics.as_object().unwrap(),
        );
        assert!(results[0].passed, "the minimum itself passes");
        assert!(!results[1].passed && !results[2].passed);
        assert_eq!(
            results[2].to_string(),
            "FAIL: missing was not computed in this run (minimum 0)"
        );
    }
}
