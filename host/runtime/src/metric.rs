//! Metric plugins: components that export `gavel:judge/metric` and measure
//! a number on a row (a readability grade, a length) without an LLM. The
//! metric world imports only `log`, so a metric cannot ask a model
//! anything; it runs in the same sandbox, under the same limits, as a judge.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::bindings::metric::Description;
use crate::failure::FailureKind;
use crate::limits::Limits;
use crate::plugin::{PluginSource, Provenance, World};
use crate::sandbox::{Grant, MetricPre};

/// The largest magnitude a metric's value may have: 2^53, beyond which
/// whole numbers are no longer exact in a double, and so in JSON readers
/// (report.html's JavaScript); it also keeps the run's sums and squares
/// finite.
pub const MAX_MAGNITUDE: f64 = 9_007_199_254_740_992.0;

/// A loaded metric plugin. Cheap to clone.
#[derive(Clone)]
pub struct MetricPlugin(Arc<MetricPluginInner>);

struct MetricPluginInner {
    pre: MetricPre,
    description: Description,
    provenance: Provenance,
}

impl MetricPlugin {
    pub(crate) fn new(pre: MetricPre, description: Description, provenance: Provenance) -> Self {
        MetricPlugin(Arc::new(MetricPluginInner {
            pre,
            description,
            provenance,
        }))
    }

    pub fn name(&self) -> &str {
        &self.0.description.name
    }

    pub fn version(&self) -> &str {
        &self.0.description.version
    }

    /// What the plugin's `describe` returned.
    pub fn description(&self) -> &Description {
        &self.0.description
    }

    pub fn source(&self) -> &PluginSource {
        &self.0.provenance.source
    }

    /// Hex SHA-256 of the component's bytes: which build this is.
    pub fn sha256(&self) -> &str {
        &self.0.provenance.sha256
    }

    /// The version of the `gavel:judge` WIT package the component was built
    /// against (`0.1.2` or later: metrics were added in 0.1.2).
    pub fn wit_version(&self) -> &str {
        &self.0.provenance.wit_version
    }

    /// What the component imports and exports.
    pub fn world(&self) -> &World {
        &self.0.provenance.world
    }

    /// Whether its compiled code came from the on-disk cache.
    pub fn from_cache(&self) -> bool {
        self.0.provenance.from_cache
    }

    pub(crate) fn pre(&self) -> &MetricPre {
        &self.0.pre
    }
}

impl fmt::Debug for MetricPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{} ({})", self.name(), self.version(), self.source())
    }
}

/// A metric plugin under the name it has in outputs, with its limits.
/// Cheap to clone.
#[derive(Clone)]
pub struct Metric(Arc<MetricInner>);

struct MetricInner {
    name: String,
    plugin: MetricPlugin,
    grant: Grant,
}

impl Metric {
    /// The plugin under its own name.
    pub fn new(plugin: MetricPlugin, limits: Limits) -> Self {
        let name = plugin.name().to_owned();
        Metric::named(plugin, name, limits)
    }

    /// The plugin under `name` (its `[judges.NAME]` table's key).
    pub fn named(plugin: MetricPlugin, name: impl Into<String>, limits: Limits) -> Self {
        let name = name.into();
        let grant = Grant::without_llm(&name, plugin.version(), limits);
        Metric(Arc::new(MetricInner {
            name,
            plugin,
            grant,
        }))
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }

    pub fn plugin(&self) -> &MetricPlugin {
        &self.0.plugin
    }

    pub fn limits(&self) -> &Limits {
        &self.0.grant.limits
    }

    pub(crate) fn grant(&self) -> &Grant {
        &self.0.grant
    }

    /// Every failure of a measurement passes here on its way into results,
    /// so the texts in it are bounded and clean.
    pub(crate) fn failure(&self, kind: FailureKind) -> MetricFailure {
        MetricFailure {
            plugin: format!("{}@{}", self.0.plugin.name(), self.0.plugin.version()),
            kind: kind.cleaned(),
        }
    }
}

impl fmt::Debug for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metric")
            .field("name", &self.0.name)
            .field("plugin", &self.0.plugin)
            .finish_non_exhaustive()
    }
}

/// What measuring a row gave: a value, `None` when the row lacks what the
/// metric measures, or the failure that stopped it; and how long it took.
#[derive(Debug, Clone)]
pub struct MetricOutcome {
    pub value: Result<Option<f64>, MetricFailure>,
    pub elapsed: Duration,
}

/// A measurement that produced no value. It fails that row's measurement
/// only; the host stays usable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("metric {plugin} {kind}")]
pub struct MetricFailure {
    /// `name@version` of the plugin.
    pub plugin: String,
    pub kind: FailureKind,
}

/// A value a metric may report: finite, and within [`MAX_MAGNITUDE`].
pub(crate) fn check_value(value: f64) -> Result<f64, FailureKind> {
    if !value.is_finite() {
        return Err(FailureKind::InvalidValue(format!(
            "{value} is not a finite number"
        )));
    }
    if value.abs() > MAX_MAGNITUDE {
        return Err(FailureKind::InvalidValue(format!(
            "{value:e} is outside ±2^53, the range a metric's value may take"
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_finite_values_within_2_to_the_53_are_kept() {
        assert_eq!(check_value(7.25), Ok(7.25));
        assert_eq!(check_value(-MAX_MAGNITUDE), Ok(-MAX_MAGNITUDE));
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, -1e16] {
            let kind = check_value(bad).unwrap_err();
            assert!(
                matches!(kind, FailureKind::InvalidValue(_)),
                "{bad}: {kind:?}"
            );
        }
        assert_eq!(
            check_value(f64::NAN).unwrap_err().to_string(),
            "returned an invalid value: NaN is not a finite number"
        );
        assert_eq!(
            check_value(1e300).unwrap_err().to_string(),
            "returned an invalid value: 1e300 is outside ±2^53, the range a metric's value may take"
        );
    }
}
