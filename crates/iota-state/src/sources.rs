//! The configured trail sources of `iota sources` (SPEC 5), which `iota s3-poll` reads, and
//! the health each poll records: when it ran, whether it succeeded, what it processed and how
//! far behind the trail it is.
//!
//! The objects a source processed are not kept here but in `objects`, under the source
//! [`SourceConfig::object_source`] (its bucket): removing a source keeps them, so a source
//! added again for the same bucket does not read them again.

use chrono::{DateTime, Utc};

use crate::records::{from_json, to_json};
use crate::sql::{Failure, Row, Tx};
use crate::types::{PollReport, SourceConfig, SourceHealth, SourceRecord};

/// Adds `config`; with `replace`, an existing source of that name takes the new configuration
/// and keeps its creation time and health. Without it, an existing name is
/// [`Failure::SourceExists`].
pub(crate) fn add(
    tx: &mut dyn Tx,
    config: &SourceConfig,
    replace: bool,
    now: DateTime<Utc>,
) -> Result<(), Failure> {
    // One statement either way, so that two concurrent adds of a name cannot both succeed.
    let on_conflict = if replace {
        "DO UPDATE SET bucket = excluded.bucket, prefix = excluded.prefix,
             region = excluded.region, assume_role = excluded.assume_role,
             accounts = excluded.accounts, regions = excluded.regions,
             updated_us = excluded.updated_us"
    } else {
        "DO NOTHING"
    };
    let added = tx.execute(
        &format!(
            "INSERT INTO sources (name, bucket, prefix, region, assume_role, accounts, regions,
                                  created_us, updated_us)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
             ON CONFLICT (name) {on_conflict}"
        ),
        &[
            config.name.as_str().into(),
            config.bucket.as_str().into(),
            config.prefix.as_str().into(),
            config.region.as_deref().into(),
            config.assume_role.as_deref().into(),
            to_json(&config.accounts).into(),
            to_json(&config.regions).into(),
            now.into(),
        ],
    )?;
    if added == 0 {
        return Err(Failure::SourceExists(config.name.clone()));
    }
    Ok(())
}

const SOURCE_COLUMNS: &str = "s.name, s.bucket, s.prefix, s.region, s.assume_role, s.accounts, \
     s.regions, s.created_us, s.updated_us, h.last_poll_started_us, h.last_poll_us, \
     h.last_success_us, h.last_error, h.polls, h.objects, h.events, h.failed_objects, \
     h.newest_event_us";

fn read_source(row: &mut Row) -> Result<SourceRecord, Failure> {
    let config = SourceConfig {
        name: row.text()?,
        bucket: row.text()?,
        prefix: row.text()?,
        region: row.opt_text()?,
        assume_role: row.opt_text()?,
        accounts: from_json(&row.text()?)?,
        regions: from_json(&row.text()?)?,
    };
    let created_at = row.time()?;
    let updated_at = row.time()?;
    // The health columns are all NULL when the LEFT JOIN found no row: never polled.
    let health = match row.opt_time()? {
        None => None,
        Some(last_poll_started_at) => Some(SourceHealth {
            last_poll_started_at,
            last_poll_at: row.time()?,
            last_success_at: row.opt_time()?,
            last_error: row.opt_text()?,
            polls: row.count()?,
            objects: row.count()?,
            events: row.count()?,
            failed_objects: row.count()?,
            newest_event_time: row.opt_time()?,
        }),
    };
    Ok(SourceRecord {
        config,
        created_at,
        updated_at,
        health,
    })
}

/// Every source, by name.
pub(crate) fn list(tx: &mut dyn Tx) -> Result<Vec<SourceRecord>, Failure> {
    tx.query(
        &format!(
            "SELECT {SOURCE_COLUMNS} FROM sources s
             LEFT JOIN source_health h ON h.source = s.name ORDER BY s.name"
        ),
        &[],
    )?
    .into_iter()
    .map(|mut row| read_source(&mut row))
    .collect()
}

pub(crate) fn get(tx: &mut dyn Tx, name: &str) -> Result<Option<SourceRecord>, Failure> {
    tx.query(
        &format!(
            "SELECT {SOURCE_COLUMNS} FROM sources s
             LEFT JOIN source_health h ON h.source = s.name WHERE s.name = $1"
        ),
        &[name.into()],
    )?
    .pop()
    .map(|mut row| read_source(&mut row))
    .transpose()
}

/// Removes the source and its health; false when there is no such source.
pub(crate) fn remove(tx: &mut dyn Tx, name: &str) -> Result<bool, Failure> {
    tx.execute(
        "DELETE FROM source_health WHERE source = $1",
        &[name.into()],
    )?;
    Ok(tx.execute("DELETE FROM sources WHERE name = $1", &[name.into()])? > 0)
}

/// Adds a poll's outcome to the source's health; [`Failure::UnknownSource`] when there is no
/// such source (e.g. removed while it was being polled).
pub(crate) fn record_poll(tx: &mut dyn Tx, name: &str, report: &PollReport) -> Result<(), Failure> {
    if tx
        .query("SELECT 1 FROM sources WHERE name = $1", &[name.into()])?
        .is_empty()
    {
        return Err(Failure::UnknownSource(name.to_owned()));
    }
    // A failed poll leaves the last success as it was; the newest event time only moves
    // forward (a poll that found nothing new says nothing about the lag).
    let last_success = report.error.is_none().then_some(report.finished_at);
    tx.execute(
        "INSERT INTO source_health (source, last_poll_started_us, last_poll_us, last_success_us,
                                    last_error, polls, objects, events, failed_objects,
                                    newest_event_us)
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9)
         ON CONFLICT (source) DO UPDATE SET
             last_poll_started_us = excluded.last_poll_started_us,
             last_poll_us = excluded.last_poll_us,
             last_success_us = COALESCE(excluded.last_success_us, source_health.last_success_us),
             last_error = excluded.last_error,
             polls = source_health.polls + 1,
             objects = source_health.objects + excluded.objects,
             events = source_health.events + excluded.events,
             failed_objects = excluded.failed_objects,
             newest_event_us = CASE
                 WHEN source_health.newest_event_us IS NULL
                     OR excluded.newest_event_us > source_health.newest_event_us
                 THEN excluded.newest_event_us
                 ELSE source_health.newest_event_us
             END",
        &[
            name.into(),
            report.started_at.into(),
            report.finished_at.into(),
            last_success.into(),
            report.error.as_deref().into(),
            report.objects.into(),
            report.events.into(),
            report.failed_objects.into(),
            report.newest_event_time.into(),
        ],
    )?;
    Ok(())
}
