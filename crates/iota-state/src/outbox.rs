//! The delivery outbox: deliverers claim due entries under a lease, then record each attempt's
//! outcome; failed entries go back to pending on `iota alerts retry`.
//!
//! An entry that succeeded is never handed out again. An entry whose deliverer died mid-send
//! is handed out again once its lease expires (at-least-once; receivers that support it
//! deduplicate on the alert id).

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::records::{read_alert, to_u32, ALERT_COLUMNS};
use crate::sql::{Failure, Tx, Value};
use crate::types::{Delivery, OutboxStatus, RetryTarget};

pub(crate) fn claim(
    tx: &mut dyn Tx,
    output: &str,
    limit: u32,
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<Vec<Delivery>, Failure> {
    let lease_us = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX);
    let lease_until = now.timestamp_micros().saturating_add(lease_us);
    // On PostgreSQL the inner SELECT locks the rows it picks and skips rows another claimer
    // holds, so concurrent claimers never take the same entry.
    let sql = format!(
        "UPDATE deliveries SET lease_until_us = $3 WHERE id IN (
             SELECT id FROM deliveries
             WHERE output = $1 AND status = 'pending' AND next_attempt_us <= $2
               AND (lease_until_us IS NULL OR lease_until_us <= $2)
             ORDER BY next_attempt_us, id LIMIT $4{})
         RETURNING id, alert_id, attempts",
        tx.skip_locked()
    );
    let mut claimed = Vec::new();
    for mut row in tx.query(
        &sql,
        &[output.into(), now.into(), lease_until.into(), limit.into()],
    )? {
        claimed.push((row.int()?, row.text()?, to_u32(row.int()?)));
    }
    claimed.sort_unstable();
    let mut deliveries = Vec::with_capacity(claimed.len());
    for (id, alert_id, attempts) in claimed {
        let mut row = tx
            .query(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"),
                &[alert_id.as_str().into()],
            )?
            .pop()
            .ok_or_else(|| Failure::Corrupt(format!("delivery {id} has no alert {alert_id}")))?;
        deliveries.push(Delivery {
            id,
            output: output.to_owned(),
            attempts,
            alert: read_alert(&mut row)?,
        });
    }
    Ok(deliveries)
}

pub(crate) fn succeeded(tx: &mut dyn Tx, id: i64, now: DateTime<Utc>) -> Result<(), Failure> {
    let changed = tx.execute(
        "UPDATE deliveries SET status = 'succeeded', attempts = attempts + 1, delivered_us = $2,
                               lease_until_us = NULL, last_error = NULL
         WHERE id = $1 AND status = 'pending'",
        &[id.into(), now.into()],
    )?;
    if changed > 0 {
        record_attempt(tx, id, now, "succeeded", None)?;
    }
    Ok(())
}

pub(crate) fn failed(
    tx: &mut dyn Tx,
    id: i64,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), Failure> {
    let (status, outcome) = match retry_at {
        Some(_) => ("pending", "retry"),
        None => ("failed", "failed"),
    };
    let changed = tx.execute(
        "UPDATE deliveries SET status = $2, attempts = attempts + 1, last_error = $3,
                               next_attempt_us = COALESCE($4, next_attempt_us),
                               lease_until_us = NULL
         WHERE id = $1 AND status = 'pending'",
        &[id.into(), status.into(), error.into(), retry_at.into()],
    )?;
    if changed > 0 {
        record_attempt(tx, id, now, outcome, Some(error))?;
    }
    Ok(())
}

fn record_attempt(
    tx: &mut dyn Tx,
    id: i64,
    now: DateTime<Utc>,
    outcome: &str,
    error: Option<&str>,
) -> Result<(), Failure> {
    tx.execute(
        "INSERT INTO delivery_attempts (delivery_id, attempted_us, outcome, error)
         VALUES ($1, $2, $3, $4)",
        &[id.into(), now.into(), outcome.into(), error.into()],
    )?;
    Ok(())
}

/// Makes failed entries pending and due now, with a fresh attempt budget; their attempt
/// history stays.
pub(crate) fn retry(
    tx: &mut dyn Tx,
    target: RetryTarget<'_>,
    now: DateTime<Utc>,
) -> Result<u64, Failure> {
    let reset = "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_us = $1,
                                       lease_until_us = NULL
                 WHERE status = 'failed'";
    match target {
        RetryTarget::Alert(alert_id) => tx.execute(
            &format!("{reset} AND alert_id = $2"),
            &[now.into(), alert_id.into()],
        ),
        RetryTarget::AllFailed => tx.execute(reset, &[Value::from(now)]),
    }
}

pub(crate) fn status(tx: &mut dyn Tx) -> Result<Vec<OutboxStatus>, Failure> {
    let rows = tx.query(
        "SELECT output, COUNT(*),
                MIN(CASE WHEN lease_until_us IS NOT NULL AND lease_until_us > next_attempt_us
                         THEN lease_until_us ELSE next_attempt_us END)
         FROM deliveries WHERE status = 'pending'
         GROUP BY output ORDER BY output",
        &[],
    )?;
    rows.into_iter()
        .map(|mut row| {
            Ok(OutboxStatus {
                output: row.text()?,
                pending: row.count()?,
                next_attempt_at: row.opt_time()?,
            })
        })
        .collect()
}
