//! The data lake's flushes in flight, so that an input is committed exactly when the lake
//! files holding its events are (docs/LAKE.md):
//!
//! 1. [`begin`] records a flush (its file keys and inputs) as pending, before any file is
//!    written;
//! 2. [`commit`] applies the units of its inputs and deletes the flush record in one
//!    transaction: from then on its files are part of the lake;
//! 3. a flush left pending by a crash is doomed, its files to be deleted, as soon as one of
//!    its inputs is committed by another flush (the input was processed again), or once it is
//!    older than [`STALE_AFTER`] ([`doomed`]); [`forget`] drops it once its files are gone.
//!
//! Lake commits take one lock (`iota-state:lake`), so that checking whether an input was
//! committed and committing it cannot interleave between replicas.

use chrono::{DateTime, Duration, Utc};

use crate::commit;
use crate::records::{from_json, to_json};
use crate::sql::{Failure, Tx};
use crate::types::{CommitOutcome, CommitUnit, LakeCommit, LakeFlush};

/// A pending flush older than this was abandoned: no flush takes that long to write.
pub(crate) const STALE_AFTER: Duration = Duration::hours(1);

pub(crate) fn begin(tx: &mut dyn Tx, flush: &LakeFlush, now: DateTime<Utc>) -> Result<(), Failure> {
    tx.execute(
        "INSERT INTO lake_flushes (id, state, files, created_us) VALUES ($1, 'pending', $2, $3)",
        &[
            flush.id.as_str().into(),
            to_json(&flush.files).into(),
            now.into(),
        ],
    )?;
    for (source, key, etag) in &flush.inputs {
        tx.execute(
            "INSERT INTO lake_flush_inputs (flush_id, source, object_key, etag)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[
                flush.id.as_str().into(),
                source.as_str().into(),
                key.as_str().into(),
                etag.as_str().into(),
            ],
        )?;
    }
    Ok(())
}

pub(crate) fn commit(
    tx: &mut dyn Tx,
    id: &str,
    units: &[&CommitUnit],
    now: DateTime<Utc>,
) -> Result<LakeCommit, Failure> {
    tx.lock_name("iota-state:lake")?;
    let pending = tx.query(
        "SELECT id FROM lake_flushes WHERE id = $1 AND state = 'pending'",
        &[id.into()],
    )?;
    if pending.is_empty() {
        return Ok(LakeCommit::Lost);
    }
    let mut committed = Vec::new();
    for (position, unit) in units.iter().enumerate() {
        let Some(progress) = &unit.progress else {
            continue;
        };
        let rows = tx.query(
            "SELECT outcome FROM objects
             WHERE source = $1 AND object_key = $2 AND etag = $3 AND outcome = 'ok'",
            &[
                progress.source.as_str().into(),
                progress.key.as_str().into(),
                progress.etag.as_str().into(),
            ],
        )?;
        if !rows.is_empty() {
            committed.push(position);
        }
    }
    if !committed.is_empty() {
        return Ok(LakeCommit::AlreadyCommitted(committed));
    }
    let mut outcomes = Vec::with_capacity(units.len());
    for unit in units {
        let outcome = commit::commit(tx, unit, now)?;
        if matches!(outcome, CommitOutcome::Duplicate) {
            // Checked above under the lake lock: only a commit outside the lake can get here.
            return Err(Failure::Invalid(format!(
                "object {} was committed meanwhile by a process writing no lake; every \
                 process sharing a state store must write the same lake",
                unit.progress.as_ref().map_or("-", |p| p.key.as_str())
            )));
        }
        outcomes.push(outcome);
    }
    delete(tx, id)?;
    let doomed = doom(tx, now)?;
    Ok(LakeCommit::Applied { outcomes, doomed })
}

/// Dooms the pending flushes that hold a committed input or are older than [`STALE_AFTER`],
/// and returns every doomed flush.
pub(crate) fn doom(tx: &mut dyn Tx, now: DateTime<Utc>) -> Result<Vec<LakeFlush>, Failure> {
    tx.execute(
        "UPDATE lake_flushes SET state = 'doomed'
         WHERE state = 'pending' AND (created_us < $1 OR id IN (
             SELECT i.flush_id FROM lake_flush_inputs i JOIN objects o
                 ON o.source = i.source AND o.object_key = i.object_key AND o.etag = i.etag
             WHERE o.outcome = 'ok'))",
        &[(now - STALE_AFTER).into()],
    )?;
    let mut doomed = Vec::new();
    for mut row in tx.query(
        "SELECT id, files FROM lake_flushes WHERE state = 'doomed' ORDER BY id",
        &[],
    )? {
        doomed.push(LakeFlush {
            id: row.text()?,
            files: from_json(&row.text()?)?,
            inputs: Vec::new(),
        });
    }
    Ok(doomed)
}

/// Drops the record of a flush (its files deleted, or committed).
pub(crate) fn delete(tx: &mut dyn Tx, id: &str) -> Result<(), Failure> {
    tx.execute(
        "DELETE FROM lake_flush_inputs WHERE flush_id = $1",
        &[id.into()],
    )?;
    tx.execute("DELETE FROM lake_flushes WHERE id = $1", &[id.into()])?;
    Ok(())
}
