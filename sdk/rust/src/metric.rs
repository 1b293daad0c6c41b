//! Metrics: a number measured on a row without an LLM (a readability grade,
//! a length). A metric component exports `gavel:judge/metric` and imports
//! nothing but `log`, so it cannot call a model; the host reports its value
//! per row and its mean, variance and 90th percentile over the run.

use crate::Row;

pub use crate::bindings::metric::exports::gavel::judge::metric::Description as MetricDescription;

/// A metric. Both functions are called on a fresh instance of the
/// component, so a metric keeps no state between rows.
pub trait Metric {
    /// Name (its outputs are `response/<name>/score` per row), version,
    /// description.
    fn describe() -> MetricDescription;

    /// Measures one row: `Ok(None)` when the row lacks what the metric
    /// measures (the row is then not counted); `Err` when measuring failed
    /// (recorded as this row's error). The value must be a finite number.
    fn measure(row: &Row) -> Result<Option<f64>, String>;
}

impl MetricDescription {
    pub fn new(name: &str, version: &str, description: &str) -> Self {
        MetricDescription {
            name: name.to_owned(),
            version: version.to_owned(),
            description: description.to_owned(),
        }
    }
}

/// Exports a [`Metric`] implementation as the component's `metric`
/// interface. Use it once per crate, instead of `register_judge!`.
#[macro_export]
macro_rules! register_metric {
    ($metric:ty) => {
        const _: () = {
            struct GavelMetric;

            impl $crate::bindings::metric::exports::gavel::judge::metric::Guest for GavelMetric {
                fn describe() -> $crate::MetricDescription {
                    <$metric as $crate::Metric>::describe()
                }

                fn measure(
                    row: $crate::Row,
                ) -> ::core::result::Result<::core::option::Option<f64>, ::std::string::String>
                {
                    <$metric as $crate::Metric>::measure(&row)
                }
            }

            $crate::bindings::metric::__export_metric_plugin!(
                GavelMetric with_types_in $crate::bindings::metric
            );
        };
    };
}
