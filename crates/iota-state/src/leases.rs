//! Leases: one holder at a time for a named job, handed over when its holder stops renewing.
//! Taking or renewing is one upsert that succeeds only for the holder itself or over an
//! expired lease, so two replicas racing for a free lease cannot both get it (the row lock of
//! the upsert orders them).

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::sql::{Failure, Tx};

/// Takes or renews `name` for `holder` until `now + ttl`; true when `holder` has it.
pub(crate) fn acquire(
    tx: &mut dyn Tx,
    name: &str,
    holder: &str,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<bool, Failure> {
    let expires = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
    tx.execute(
        "INSERT INTO leases (name, holder, expires_us) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_us = excluded.expires_us
         WHERE leases.holder = excluded.holder OR leases.expires_us <= $4",
        &[name.into(), holder.into(), expires.into(), now.into()],
    )?;
    let current = tx
        .query("SELECT holder FROM leases WHERE name = $1", &[name.into()])?
        .pop()
        .map(|mut row| row.text())
        .transpose()?;
    Ok(current.as_deref() == Some(holder))
}

/// Gives `name` up if `holder` has it, so that another replica can take it at once.
pub(crate) fn release(tx: &mut dyn Tx, name: &str, holder: &str) -> Result<(), Failure> {
    tx.execute(
        "DELETE FROM leases WHERE name = $1 AND holder = $2",
        &[name.into(), holder.into()],
    )?;
    Ok(())
}
