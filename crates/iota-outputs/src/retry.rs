//! When to try a failed delivery again: exponential backoff with full jitter, never sooner
//! than the receiver's `Retry-After`.

use std::time::Duration;

use crate::{AlertOutput, DeliveryError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Ceiling of the first delay; each further attempt doubles it.
    pub base: Duration,
    /// Ceiling of every delay (a `Retry-After` may exceed it).
    pub max: Duration,
    /// Attempts in all, the first included, before the alert is marked failed.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 10 attempts; the nine waits between them add up to at most 8.5 minutes (and half
    /// that on average), unless a receiver asks for longer with `Retry-After`.
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(1),
            max: Duration::from_secs(300),
            max_attempts: 10,
        }
    }
}

impl RetryPolicy {
    /// The default delays with the output's own attempt budget.
    pub fn for_output(output: &dyn AlertOutput) -> Self {
        RetryPolicy {
            max_attempts: output.max_attempts(),
            ..RetryPolicy::default()
        }
    }

    /// Delay before the next attempt, after `attempt` (1 for the first) failed: uniformly
    /// random up to `min(max, base * 2^(attempt-1))` ("full jitter", so that outputs failing
    /// together do not retry in lockstep), and at least `retry_after`.
    pub fn next_delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        let ceiling = self.base.saturating_mul(1 << doublings).min(self.max);
        let jittered = Duration::from_nanos(fastrand::u64(..=ceiling.as_nanos() as u64));
        jittered.max(retry_after.unwrap_or(Duration::ZERO))
    }

    /// What to do after `attempt` failed with `error`: the delay before trying again, or
    /// `None` when the alert must be marked failed (a permanent error, or no attempts left).
    pub fn after_failure(&self, attempt: u32, error: &DeliveryError) -> Option<Duration> {
        (error.is_retryable() && attempt < self.max_attempts)
            .then(|| self.next_delay(attempt, error.retry_after()))
    }
}
