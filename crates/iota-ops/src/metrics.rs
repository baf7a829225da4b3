//! The process's metrics (SPEC 7): the Prometheus recorder behind the `metrics` facade, the
//! names and help texts of every iota metric, and typed helpers so callers never spell a
//! name or a label.
//!
//! [`install`] installs the recorder once per process; the helpers are no-ops before that,
//! so library code can call them unconditionally. Counters without labels, and the labelled
//! ones whose label values are known up front ([`register_rule`], [`register_output`], every
//! object outcome), are registered at 0 so dashboards see no gaps before the first increment.
//! Gauges appear once first set: a made-up 0 for a lag or a timestamp would be misleading.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use ::metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use chrono::{DateTime, Utc};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::OpsError;

/// CloudTrail events read from sources (before rules run).
pub const EVENTS_TOTAL: &str = "iota_events_total";
/// Source objects finished, by `outcome` (`ok`, `partial`, `failed`).
pub const OBJECTS_TOTAL: &str = "iota_objects_total";
/// Bytes read from sources (compressed, as stored).
pub const BYTES_TOTAL: &str = "iota_bytes_total";
/// Records that could not be decoded as CloudTrail events.
pub const MALFORMED_TOTAL: &str = "iota_malformed_total";
/// Rule matches, by `rule`.
pub const MATCHES_TOTAL: &str = "iota_matches_total";
/// Alerts created, by `rule` and `severity`.
pub const ALERTS_TOTAL: &str = "iota_alerts_total";
/// Rule errors (exceptions, timeouts), by `rule`.
pub const RULE_ERRORS_TOTAL: &str = "iota_rule_errors_total";
/// Python rule workers restarted after a crash, a timeout or a memory limit.
pub const WORKER_RESTARTS_TOTAL: &str = "iota_worker_restarts_total";
/// Alert delivery attempts, by `output`.
pub const DELIVERY_ATTEMPTS_TOTAL: &str = "iota_delivery_attempts_total";
/// Alert delivery attempts that failed, by `output`.
pub const DELIVERY_FAILURES_TOTAL: &str = "iota_delivery_failures_total";
/// Seconds between now and the newest event time processed.
pub const PROCESSING_LAG_SECONDS: &str = "iota_processing_lag_seconds";
/// Duration of one poll of the source, in seconds.
pub const POLL_DURATION_SECONDS: &str = "iota_poll_duration_seconds";
/// Rounds (a poll, a receive from the queue, a batch of files) that failed: the source or
/// the state store could not be used.
pub const POLL_FAILURES_TOTAL: &str = "iota_poll_failures_total";
/// Unix time of the last poll that succeeded.
pub const LAST_POLL_SUCCESS_TIMESTAMP_SECONDS: &str = "iota_last_poll_success_timestamp_seconds";
/// Alert deliveries waiting in the outbox.
pub const OUTBOX_PENDING: &str = "iota_outbox_pending";

/// Histogram buckets of [`POLL_DURATION_SECONDS`]: a listing takes well under a second, a
/// poll that processes a backlog can take minutes.
const POLL_DURATION_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// How a source object ended, the `outcome` label of [`OBJECTS_TOTAL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectOutcome {
    /// Every event of the object was processed.
    Ok,
    /// Some events were processed, but the object broke off (e.g. truncated) or held
    /// malformed records (skipped).
    Partial,
    /// Nothing could be processed; the object will be retried.
    Failed,
}

impl ObjectOutcome {
    const ALL: [ObjectOutcome; 3] = [Self::Ok, Self::Partial, Self::Failed];

    /// The label value: `ok`, `partial` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Partial => "partial",
            Self::Failed => "failed",
        }
    }
}

/// The installed recorder, able to render the Prometheus text exposition.
#[derive(Clone, Debug)]
pub struct MetricsHandle(PrometheusHandle);

impl MetricsHandle {
    /// Every metric in the Prometheus text exposition format (version 0.0.4). Drains the
    /// histogram samples recorded since the previous render first.
    pub fn render(&self) -> String {
        self.0.run_upkeep();
        self.0.render()
    }

    /// Drains recorded histogram samples into their buckets, bounding their memory between
    /// scrapes. The HTTP endpoint runs this periodically.
    pub fn run_upkeep(&self) {
        self.0.run_upkeep();
    }
}

static INSTALLED: Mutex<Option<MetricsHandle>> = Mutex::new(None);

/// Installs the Prometheus recorder as the process's `metrics` recorder, describes every
/// iota metric and registers the counters at 0. Idempotent: later calls return the same
/// handle. Fails only when a different recorder was installed first.
pub fn install() -> Result<MetricsHandle, OpsError> {
    let mut installed = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(handle) = installed.as_ref() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(POLL_DURATION_SECONDS.to_owned()),
            POLL_DURATION_BUCKETS,
        )
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|err| OpsError::Metrics(err.to_string()))?;
    describe();
    for name in [
        EVENTS_TOTAL,
        BYTES_TOTAL,
        MALFORMED_TOTAL,
        WORKER_RESTARTS_TOTAL,
        POLL_FAILURES_TOTAL,
    ] {
        counter!(name).increment(0);
    }
    for outcome in ObjectOutcome::ALL {
        counter!(OBJECTS_TOTAL, "outcome" => outcome.as_str()).increment(0);
    }
    let handle = MetricsHandle(handle);
    *installed = Some(handle.clone());
    Ok(handle)
}

fn describe() {
    describe_counter!(EVENTS_TOTAL, "CloudTrail events read from sources.");
    describe_counter!(
        OBJECTS_TOTAL,
        "Source objects finished, by outcome (ok, partial, failed)."
    );
    describe_counter!(BYTES_TOTAL, "Bytes read from sources, as stored.");
    describe_counter!(
        MALFORMED_TOTAL,
        "Records that could not be decoded as CloudTrail events."
    );
    describe_counter!(MATCHES_TOTAL, "Rule matches, by rule.");
    describe_counter!(ALERTS_TOTAL, "Alerts created, by rule and severity.");
    describe_counter!(
        RULE_ERRORS_TOTAL,
        "Rule errors (exceptions and timeouts), by rule."
    );
    describe_counter!(
        WORKER_RESTARTS_TOTAL,
        "Python rule workers restarted after a crash, a timeout or a memory limit."
    );
    describe_counter!(
        DELIVERY_ATTEMPTS_TOTAL,
        "Alert delivery attempts, by output."
    );
    describe_counter!(
        DELIVERY_FAILURES_TOTAL,
        "Alert delivery attempts that failed, by output."
    );
    describe_gauge!(
        PROCESSING_LAG_SECONDS,
        "Seconds between now and the newest event time processed."
    );
    describe_histogram!(
        POLL_DURATION_SECONDS,
        "Duration of one source poll in seconds."
    );
    describe_gauge!(
        LAST_POLL_SUCCESS_TIMESTAMP_SECONDS,
        "Unix time of the last source poll that succeeded."
    );
    describe_gauge!(OUTBOX_PENDING, "Alert deliveries waiting in the outbox.");
    describe_counter!(
        POLL_FAILURES_TOTAL,
        "Polls (or queue receives, or batches of files) that failed: the source or the state store could not be used."
    );
}

/// Registers the per-rule counters ([`MATCHES_TOTAL`], [`RULE_ERRORS_TOTAL`]) of `rule` at 0,
/// e.g. for every rule loaded at startup.
pub fn register_rule(rule: &str) {
    counter!(MATCHES_TOTAL, "rule" => rule.to_owned()).increment(0);
    counter!(RULE_ERRORS_TOTAL, "rule" => rule.to_owned()).increment(0);
}

/// Registers the per-output delivery counters of `output` at 0, e.g. for every configured
/// output at startup.
pub fn register_output(output: &str) {
    counter!(DELIVERY_ATTEMPTS_TOTAL, "output" => output.to_owned()).increment(0);
    counter!(DELIVERY_FAILURES_TOTAL, "output" => output.to_owned()).increment(0);
}

/// `n` CloudTrail events were read from a source.
pub fn events_processed(n: u64) {
    counter!(EVENTS_TOTAL).increment(n);
}

/// `n` bytes were read from a source.
pub fn bytes_read(n: u64) {
    counter!(BYTES_TOTAL).increment(n);
}

/// `n` records could not be decoded as CloudTrail events.
pub fn malformed_events(n: u64) {
    counter!(MALFORMED_TOTAL).increment(n);
}

/// A source object is finished.
pub fn object_done(outcome: ObjectOutcome) {
    counter!(OBJECTS_TOTAL, "outcome" => outcome.as_str()).increment(1);
}

/// `rule` matched `n` events.
pub fn rule_matched(rule: &str, n: u64) {
    counter!(MATCHES_TOTAL, "rule" => rule.to_owned()).increment(n);
}

/// `rule` created an alert of `severity` (e.g. `HIGH`).
pub fn alert_created(rule: &str, severity: &str) {
    counter!(ALERTS_TOTAL, "rule" => rule.to_owned(), "severity" => severity.to_owned())
        .increment(1);
}

/// `rule` raised an error or timed out.
pub fn rule_error(rule: &str) {
    counter!(RULE_ERRORS_TOTAL, "rule" => rule.to_owned()).increment(1);
}

/// A Python rule worker was restarted.
pub fn worker_restarted() {
    counter!(WORKER_RESTARTS_TOTAL).increment(1);
}

/// An alert delivery to `output` was attempted; `ok` says whether it succeeded.
pub fn delivery_attempt(output: &str, ok: bool) {
    counter!(DELIVERY_ATTEMPTS_TOTAL, "output" => output.to_owned()).increment(1);
    if !ok {
        counter!(DELIVERY_FAILURES_TOTAL, "output" => output.to_owned()).increment(1);
    }
}

/// Sets [`PROCESSING_LAG_SECONDS`] from the newest event time processed so far. An event
/// time in the future (clock skew) counts as no lag.
pub fn set_processing_lag(newest_event_time: DateTime<Utc>) {
    gauge!(PROCESSING_LAG_SECONDS).set(lag_seconds(Utc::now(), newest_event_time));
}

fn lag_seconds(now: DateTime<Utc>, newest_event_time: DateTime<Utc>) -> f64 {
    let lag = now.signed_duration_since(newest_event_time);
    lag.to_std().map_or(0.0, |lag| lag.as_secs_f64())
}

/// A poll of the source finished after `duration`; when `ok`, it also sets
/// [`LAST_POLL_SUCCESS_TIMESTAMP_SECONDS`] to now, otherwise it counts in
/// [`POLL_FAILURES_TOTAL`].
pub fn poll_finished(duration: Duration, ok: bool) {
    histogram!(POLL_DURATION_SECONDS).record(duration.as_secs_f64());
    if !ok {
        counter!(POLL_FAILURES_TOTAL).increment(1);
    } else {
        let now = Utc::now();
        let seconds = now.timestamp() as f64 + f64::from(now.timestamp_subsec_millis()) / 1000.0;
        gauge!(LAST_POLL_SUCCESS_TIMESTAMP_SECONDS).set(seconds);
    }
}

/// `n` alert deliveries are waiting in the outbox.
pub fn set_outbox_pending(n: u64) {
    gauge!(OUTBOX_PENDING).set(n as f64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn lag_is_now_minus_the_newest_event_time() {
        let now = Utc::now();
        assert_eq!(
            lag_seconds(now, now - TimeDelta::milliseconds(90_500)),
            90.5
        );
        assert_eq!(lag_seconds(now, now), 0.0);
    }

    #[test]
    fn an_event_from_the_future_counts_as_no_lag() {
        let now = Utc::now();
        assert_eq!(lag_seconds(now, now + TimeDelta::seconds(30)), 0.0);
    }

    #[test]
    fn outcome_labels() {
        let labels: Vec<_> = ObjectOutcome::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(labels, ["ok", "partial", "failed"]);
    }
}
