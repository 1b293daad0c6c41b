//! When and how long to wait before trying a failed call again: one policy
//! for judge LLM calls, agent calls and MLflow requests.
//!
//! Waits grow exponentially, so that a server in trouble gets room to
//! recover instead of a steady stream of retries, and carry jitter, so that
//! clients that failed together (every call of a busy run hitting the same
//! rate limit) do not all come back at the same moment. A server that says
//! how long to wait (`Retry-After`) is believed, up to the policy's longest
//! wait.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How many times a call is retried and how long to wait before each retry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt: `retries + 1` attempts in all.
    pub retries: u32,
    /// The wait before the first retry, before jitter; it doubles for each
    /// further one.
    pub first_wait: Duration,
    /// The longest wait, whether computed or asked for with `Retry-After`:
    /// a call is not held up indefinitely by a server's say-so.
    pub max_wait: Duration,
    /// The share of each computed wait that is random, from 0 (none) to 1:
    /// 0.5 waits 50-100% of the doubled `first_wait`.
    pub jitter: f64,
}

impl RetryPolicy {
    /// Judge LLM calls: 0.5 s doubling, 50-100% jitter, at most 60 s. An
    /// endpoint's `max_retries` sets the retries; `retries` here is its
    /// default.
    pub const LLM: RetryPolicy = RetryPolicy {
        retries: 5,
        first_wait: Duration::from_millis(500),
        max_wait: Duration::from_secs(60),
        jitter: 0.5,
    };

    /// Agent calls: waits as for LLM calls; the agent's `max_retries` sets
    /// the retries, `retries` here is its default.
    pub const AGENT: RetryPolicy = RetryPolicy {
        retries: 2,
        ..RetryPolicy::LLM
    };

    /// MLflow requests: 4 attempts, 0.25 s doubling, at most 10 s. Logging a
    /// run is a handful of quick requests after the run is over: waiting
    /// minutes for a tracking server is not worth it.
    pub const MLFLOW: RetryPolicy = RetryPolicy {
        retries: 3,
        first_wait: Duration::from_millis(250),
        max_wait: Duration::from_secs(10),
        jitter: 0.5,
    };

    /// This policy with `retries` retries (a configured `max_retries`).
    pub const fn with_retries(self, retries: u32) -> RetryPolicy {
        RetryPolicy { retries, ..self }
    }

    /// Attempts in all, the first included.
    pub const fn attempts(&self) -> u32 {
        self.retries.saturating_add(1)
    }

    /// Whether a call that failed after `retries_done` retries may be tried
    /// again.
    pub const fn may_retry(&self, retries_done: u32) -> bool {
        retries_done < self.retries
    }

    /// The wait before retry number `retry` (0 for the first): what the
    /// server asked for (`retry_after`), or `first_wait` doubled `retry`
    /// times with jitter; either at most `max_wait`.
    pub fn wait(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        self.wait_with(retry, retry_after, random_unit())
    }

    /// [`RetryPolicy::wait`] with the random number in `[0, 1)` given.
    fn wait_with(&self, retry: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
        if let Some(asked) = retry_after {
            return asked.min(self.max_wait);
        }
        let jitter = self.jitter.clamp(0.0, 1.0);
        let factor = 1.0 - jitter * unit.clamp(0.0, 1.0);
        // In floating point: no doubling overflows, however many retries.
        let exponent = i32::try_from(retry).unwrap_or(i32::MAX).min(64);
        let secs = self.first_wait.as_secs_f64() * 2f64.powi(exponent) * factor;
        Duration::try_from_secs_f64(secs)
            .unwrap_or(Duration::MAX)
            .min(self.max_wait)
    }
}

/// A random number in `[0, 1)`. Each `RandomState` is keyed afresh, so
/// calls at the same instant (a burst of failures) still differ.
fn random_unit() -> f64 {
    let bits = RandomState::new().build_hasher().finish();
    // The top 53 bits: as many as an f64 holds exactly.
    (bits >> 11) as f64 / (1_u64 << 53) as f64
}

/// The wait a `Retry-After` header asks for, in its seconds form (`"1.5"`;
/// the HTTP-date form is not read). Not capped: [`RetryPolicy::wait`] caps
/// it at the policy's `max_wait`.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0)
        .then(|| Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
}

/// Whether an HTTP answer with this status is worth another attempt: 408
/// (the server timed out waiting), 409 (a conflict with a concurrent
/// request; OpenAI's own clients retry it as a lock timeout), 429 (rate
/// limited) and 5xx (the server's trouble, often passing). Other errors (a bad request, a
/// rejected key, a wrong URL) would only be answered the same again.
pub const fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429 | 500..=599)
}

#[cfg(test)]
mod tests {
    use super::*;

    use reqwest::header::HeaderValue;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(retry_after).unwrap());
        headers
    }

    #[test]
    fn backoff_grows_and_honours_retry_after() {
        let policy = RetryPolicy::LLM;
        assert!(policy.wait(0, None) <= Duration::from_millis(500));
        assert!(policy.wait(3, None) >= Duration::from_secs(2));
        assert_eq!(
            policy.wait(0, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
    }

    #[test]
    fn waits_double_up_to_the_cap() {
        let policy = RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::MLFLOW
        };
        let waits: Vec<Duration> = (0..8).map(|retry| policy.wait(retry, None)).collect();
        assert_eq!(
            waits,
            [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000].map(Duration::from_millis)
        );
        // However many retries, no overflow.
        assert_eq!(policy.wait(u32::MAX, None), Duration::from_secs(10));
        assert_eq!(RetryPolicy::LLM.wait(1000, None), Duration::from_secs(60));
    }

    #[test]
    fn jitter_stays_within_its_bounds() {
        let policy = RetryPolicy::LLM;
        assert_eq!(policy.wait_with(2, None, 0.0), Duration::from_secs(2));
        assert_eq!(policy.wait_with(2, None, 1.0), Duration::from_secs(1));
        let waits: Vec<Duration> = (0..200).map(|_| policy.wait(2, None)).collect();
        for wait in &waits {
            assert!(
                (Duration::from_secs(1)..=Duration::from_secs(2)).contains(wait),
                "{wait:?}"
            );
        }
        // Clients retrying together spread out.
        assert!(waits.iter().any(|w| *w != waits[0]), "{waits:?}");
        for _ in 0..1000 {
            assert!((0.0..1.0).contains(&random_unit()));
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        assert_eq!(retry_after(&headers("7")), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after(&headers(" 1.5 ")),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(retry_after(&headers("0")), Some(Duration::ZERO));
        for unread in ["-1", "soon", "NaN", "inf", "Wed, 21 Oct 2015 07:28:00 GMT"] {
            assert_eq!(retry_after(&headers(unread)), None, "{unread}");
        }
        assert_eq!(retry_after(&HeaderMap::new()), None);
        let huge = retry_after(&headers("1e300"));
        assert_eq!(huge, Some(Duration::MAX));
        assert_eq!(RetryPolicy::LLM.wait(0, huge), Duration::from_secs(60));
        assert_eq!(RetryPolicy::MLFLOW.wait(0, huge), Duration::from_secs(10));
        // No jitter on a wait the server asked for.
        assert_eq!(
            RetryPolicy::MLFLOW.wait(3, Some(Duration::from_millis(1200))),
            Duration::from_millis(1200)
        );
    }

    #[test]
    fn retries_are_counted() {
        let policy = RetryPolicy::MLFLOW;
        assert_eq!(policy.attempts(), 4);
        assert!(policy.may_retry(2));
        assert!(!policy.may_retry(3));
        let none = RetryPolicy::LLM.with_retries(0);
        assert_eq!(none.attempts(), 1);
        assert!(!none.may_retry(0));
        assert_eq!(RetryPolicy::AGENT.first_wait, RetryPolicy::LLM.first_wait);
    }

    #[test]
    fn the_llm_default_is_the_endpoints() {
        let endpoint = crate::llm::Endpoint::new("http://x/v1", "m");
        assert_eq!(RetryPolicy::LLM.retries, endpoint.max_retries);
    }

    #[test]
    fn statuses_worth_a_retry() {
        for status in [408, 409, 429, 500, 502, 503, 504, 599] {
            assert!(is_retryable_status(status), "{status}");
        }
        for status in [200, 301, 400, 401, 403, 404, 413, 422, 600] {
            assert!(!is_retryable_status(status), "{status}");
        }
    }
}
