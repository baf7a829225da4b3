//! The outbox deliverer: sends the deliveries the state store queued when it created alerts,
//! and records each attempt in the store (docs/ALERTS.md, "Delivery").
//!
//! Deliveries are claimed one at a time under a lease as long as one attempt may take, sent,
//! then recorded as success, a retry time (exponential backoff with jitter, never before
//! `Retry-After`), or, after the output's `max_attempts` or a permanent error, failure. A
//! delivery recorded as sent is never claimed again; one whose deliverer died mid-send is
//! claimed again when its lease expires, so a crash can repeat at most the send in flight,
//! and never loses one.
//!
//! An output whose attempt fails and is to be retried gets no further attempt in the same
//! pass: a receiver that is down or hangs costs one timeout per pass, not one per alert
//! waiting for it.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;

use iota_outputs::{AlertOutput, RetryPolicy};
use iota_state::{Delivery, StateStore};

/// Longest wait between two rounds of [`Deliverer::drain`]: retries that are due sooner are
/// not left waiting, and a lease left behind by a killed process is picked up soon after it
/// expires.
const MAX_IDLE: Duration = Duration::from_secs(1);

pub struct Deliverer<'a> {
    store: &'a dyn StateStore,
    outputs: &'a [Box<dyn AlertOutput>],
    /// Ceiling of the delay between two attempts of one delivery.
    max_backoff: Duration,
}

/// What [`Deliverer::drain`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DrainReport {
    pub sent: u64,
    /// Attempts that failed and were scheduled again.
    pub retried: u64,
    /// Deliveries marked failed (no attempts left, or a permanent error).
    pub failed: u64,
}

impl<'a> Deliverer<'a> {
    pub fn new(
        store: &'a dyn StateStore,
        outputs: &'a [Box<dyn AlertOutput>],
        max_backoff: Duration,
    ) -> Self {
        Deliverer {
            store,
            outputs,
            max_backoff,
        }
    }

    /// Delivers until no configured output has a pending delivery. Returns the counts; an
    /// error only when the store cannot be used.
    pub fn drain(&self) -> anyhow::Result<DrainReport> {
        let mut counts = DrainReport::default();
        self.warn_about_unconfigured_outputs()?;
        loop {
            for output in self.outputs {
                self.deliver_due(output.as_ref(), &mut counts)?;
            }
            let status = self.store.outbox_status().with_context(|| {
                format!(
                    "cannot read the outbox of the state store {}",
                    self.store.name()
                )
            })?;
            let next_due = status
                .iter()
                .filter(|s| self.outputs.iter().any(|o| o.name() == s.output))
                .filter_map(|s| s.next_attempt_at)
                .min();
            let Some(next_due) = next_due else {
                return Ok(counts);
            };
            let wait = (next_due - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            std::thread::sleep(wait.min(MAX_IDLE));
        }
    }

    /// Sends the deliveries due now, once each, without waiting for later ones: a daemon's
    /// round between polls.
    pub fn send_due(&self) -> anyhow::Result<DrainReport> {
        let mut counts = DrainReport::default();
        for output in self.outputs {
            self.deliver_due(output.as_ref(), &mut counts)?;
        }
        Ok(counts)
    }

    /// Like [`Deliverer::drain`], but gives up waiting at `deadline` (a shutdown's): what is
    /// left stays in the outbox for the next run.
    pub fn send_due_until(&self, deadline: Instant) -> anyhow::Result<DrainReport> {
        let mut counts = DrainReport::default();
        loop {
            let round = self.send_due()?;
            counts.sent += round.sent;
            counts.retried += round.retried;
            counts.failed += round.failed;
            let left = deadline.saturating_duration_since(Instant::now());
            if round.retried == 0 || left.is_zero() {
                return Ok(counts);
            }
            std::thread::sleep(left.min(MAX_IDLE));
        }
    }

    /// Sends `output`'s due deliveries once each, until one fails and is to be retried, and
    /// records the outcomes.
    fn deliver_due(
        &self,
        output: &dyn AlertOutput,
        counts: &mut DrainReport,
    ) -> anyhow::Result<()> {
        let policy = RetryPolicy {
            max: self.max_backoff,
            ..RetryPolicy::for_output(output)
        };
        loop {
            // One at a time: the lease then covers one attempt, so a delivery left behind by
            // a crash waits only that long to be sent again.
            let claimed = self
                .store
                .claim_deliveries(output.name(), 1, Utc::now(), lease(output))
                .with_context(|| {
                    format!(
                        "cannot claim deliveries for output {} from the state store {}",
                        output.name(),
                        self.store.name()
                    )
                })?;
            if claimed.is_empty() {
                break;
            }
            let mut retrying = false;
            for delivery in &claimed {
                retrying |= self.attempt(output, &policy, delivery, counts)?;
            }
            // Durable before the store says so (the file output syncs here).
            if let Err(err) = output.flush() {
                tracing::error!(output = output.name(), "cannot flush: {err}");
            }
            if retrying {
                break;
            }
        }
        Ok(())
    }

    fn attempt(
        &self,
        output: &dyn AlertOutput,
        policy: &RetryPolicy,
        delivery: &Delivery,
        counts: &mut DrainReport,
    ) -> anyhow::Result<bool> {
        let alert = &delivery.alert;
        let attempt = delivery.attempts + 1;
        let sent = output.send(alert);
        iota_ops::metrics::delivery_attempt(output.name(), sent.is_ok());
        let mut retrying = false;
        let recorded = match sent {
            Ok(()) => {
                counts.sent += 1;
                self.store.delivery_succeeded(delivery.id)
            }
            Err(error) => match policy.after_failure(attempt, &error) {
                Some(delay) => {
                    counts.retried += 1;
                    retrying = true;
                    tracing::warn!(output = output.name(), alert = %alert.id, attempt, "delivery failed, retrying in {delay:.1?}: {error}");
                    let retry_at = Utc::now()
                        + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
                    self.store
                        .delivery_failed(delivery.id, &error.to_string(), Some(retry_at))
                }
                None => {
                    counts.failed += 1;
                    tracing::error!(output = output.name(), alert = %alert.id, attempt, "delivery failed for good (see `iota alerts list --failed`, resend with `iota alerts retry`): {error}");
                    self.store
                        .delivery_failed(delivery.id, &error.to_string(), None)
                }
            },
        };
        recorded.with_context(|| {
            format!(
                "cannot record the delivery of alert {} to output {} in the state store {}",
                alert.id,
                output.name(),
                self.store.name()
            )
        })?;
        Ok(retrying)
    }

    /// Deliveries queued for an output that this run does not have wait for a run that has
    /// it; say so rather than leave them unnoticed.
    fn warn_about_unconfigured_outputs(&self) -> anyhow::Result<()> {
        let status = self.store.outbox_status().with_context(|| {
            format!(
                "cannot read the outbox of the state store {}",
                self.store.name()
            )
        })?;
        for entry in status {
            if !self.outputs.iter().any(|o| o.name() == entry.output) {
                tracing::warn!(
                    output = %entry.output,
                    pending = entry.pending,
                    "deliveries are pending for an output this run does not have; they are sent by a run with that output"
                );
            }
        }
        Ok(())
    }
}

/// How long a claimed delivery is reserved for its deliverer: longer than one attempt can
/// take, so that no other deliverer sends it meanwhile.
fn lease(output: &dyn AlertOutput) -> Duration {
    output.timeout() + Duration::from_secs(5)
}
