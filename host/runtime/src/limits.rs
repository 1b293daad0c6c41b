//! What one evaluation of a judge may use.

use std::time::Duration;

use serde::Deserialize;

const MIB: u64 = 1 << 20;
const KIB: u64 = 1 << 10;

/// Limits of one evaluation (one judge on one row). Breaking one fails that
/// judgment only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory of all the component's memories together.
    pub memory_bytes: u64,
    /// Time the guest spends running: waiting for the LLM does not count.
    pub cpu_time: Duration,
    /// Time from instantiation to answer, LLM calls included.
    pub wall_time: Duration,
    /// LLM calls the judge may make.
    pub llm_calls: u32,
    /// Size of one LLM answer handed to the judge.
    pub llm_response_bytes: u64,
}

impl Limits {
    /// What a judge gets unless its configuration says otherwise (the
    /// README's limits table).
    pub const DEFAULT: Limits = Limits {
        memory_bytes: 64 * MIB,
        cpu_time: Duration::from_secs(10),
        wall_time: Duration::from_secs(120),
        llm_calls: 32,
        llm_response_bytes: 256 * KIB,
    };

    /// What a host allows a judge's configuration to ask for, unless the
    /// embedder says otherwise.
    pub const MAXIMA: Limits = Limits {
        memory_bytes: 1024 * MIB,
        cpu_time: Duration::from_secs(120),
        wall_time: Duration::from_secs(1800),
        llm_calls: 1000,
        llm_response_bytes: 4 * MIB,
    };

    /// Applies a judge's `[judges.NAME.limits]` on top of these limits,
    /// refusing any value above `maxima`.
    pub fn with_overrides(
        self,
        overrides: &LimitOverrides,
        maxima: &Limits,
    ) -> Result<Limits, LimitError> {
        let mut limits = self;
        if let Some(mib) = overrides.memory_mib {
            limits.memory_bytes = check("memory_mib", mib, maxima.memory_bytes / MIB)? * MIB;
        }
        if let Some(secs) = overrides.cpu_secs {
            let max = maxima.cpu_time.as_secs_f64();
            limits.cpu_time = Duration::from_secs_f64(check("cpu_secs", secs, max)?);
        }
        if let Some(secs) = overrides.wall_secs {
            let max = maxima.wall_time.as_secs_f64();
            limits.wall_time = Duration::from_secs_f64(check("wall_secs", secs, max)?);
        }
        if let Some(calls) = overrides.llm_calls {
            let max = u64::from(maxima.llm_calls);
            limits.llm_calls = check("llm_calls", u64::from(calls), max)? as u32;
        }
        if let Some(kib) = overrides.llm_response_kib {
            let max = maxima.llm_response_bytes / KIB;
            limits.llm_response_bytes = check("llm_response_kib", kib, max)? * KIB;
        }
        Ok(limits)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// A judge's `limits` table in `gavel.toml`; unset fields keep the defaults.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    pub memory_mib: Option<u64>,
    pub cpu_secs: Option<f64>,
    pub wall_secs: Option<f64>,
    pub llm_calls: Option<u32>,
    pub llm_response_kib: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LimitError {
    #[error("`{field}` must be more than 0")]
    Zero { field: &'static str },
    #[error("`{field}` = {value} is above the host's maximum of {max}")]
    AboveMaximum {
        field: &'static str,
        value: String,
        max: String,
    },
}

/// `value` must be above zero (which NaN is not) and at most `max`.
fn check<T: PartialOrd + Default + std::fmt::Display>(
    field: &'static str,
    value: T,
    max: T,
) -> Result<T, LimitError> {
    // NaN compares as nothing: only a value greater than zero passes.
    if value.partial_cmp(&T::default()) != Some(std::cmp::Ordering::Greater) {
        return Err(LimitError::Zero { field });
    }
    if value > max {
        return Err(LimitError::AboveMaximum {
            field,
            value: value.to_string(),
            max: max.to_string(),
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_within_the_maxima() {
        let overrides = LimitOverrides {
            memory_mib: Some(128),
            cpu_secs: Some(0.5),
            llm_calls: Some(3),
            ..Default::default()
        };
        let limits = Limits::DEFAULT
            .with_overrides(&overrides, &Limits::MAXIMA)
            .unwrap();
        assert_eq!(limits.memory_bytes, 128 * MIB);
        assert_eq!(limits.cpu_time, Duration::from_millis(500));
        assert_eq!(limits.llm_calls, 3);
        assert_eq!(limits.wall_time, Limits::DEFAULT.wall_time);
    }

    #[test]
    fn overrides_above_the_maxima_are_refused() {
        let overrides = LimitOverrides {
            memory_mib: Some(4096),
            ..Default::default()
        };
        let error = Limits::DEFAULT
            .with_overrides(&overrides, &Limits::MAXIMA)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "`memory_mib` = 4096 is above the host's maximum of 1024"
        );
        let zero = LimitOverrides {
            llm_calls: Some(0),
            ..Default::default()
        };
        assert_eq!(
            Limits::DEFAULT
                .with_overrides(&zero, &Limits::MAXIMA)
                .unwrap_err()
                .to_string(),
            "`llm_calls` must be more than 0"
        );
    }
}
