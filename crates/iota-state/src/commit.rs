//! The commit of a unit of work: the source object's progress, the alert windows its matches
//! fall into (counts, representative, samples, `unique()` values, thresholds, signals), the
//! outbox entries of the alerts it creates, and its rule errors, in one transaction.
//!
//! Alert semantics are those of [`iota_alerts::AlertEngine`], kept in the database: windows
//! are aligned to multiples of `DedupPeriodMinutes` on event time and keyed by
//! [`iota_alerts::alert_id`], so the same matches give the same alerts whatever the batching,
//! the order of commits or the number of replicas.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use chrono::{DateTime, Utc};

use iota_alerts::{alert_id, RuleErrorRecord};

use crate::records::{from_json, source_values, to_json};
use crate::sql::{Failure, Tx, Value};
use crate::types::{
    CommitOutcome, CommitSummary, CommitUnit, MatchRecord, ObjectOutcome, ObjectProgress,
    MAX_SAMPLES,
};

pub(crate) fn commit(
    tx: &mut dyn Tx,
    unit: &CommitUnit,
    now: DateTime<Utc>,
) -> Result<CommitOutcome, Failure> {
    if let Some(progress) = &unit.progress {
        if matches!(progress.outcome, ObjectOutcome::Failed(_))
            && !(unit.matches.is_empty() && unit.rule_errors.is_empty())
        {
            // The object will be processed again from the start: keeping part of its results
            // now would count them twice.
            return Err(Failure::Invalid(format!(
                "object {} records a failure but carries matches or rule errors",
                progress.key
            )));
        }
        if !record_object(tx, progress, now)? {
            return Ok(CommitOutcome::Duplicate);
        }
    }
    let mut summary = CommitSummary::default();
    // Windows in id order: concurrent commits lock alert rows in the same order and so can
    // never deadlock.
    for window in group(&unit.matches).values() {
        apply_window(tx, window, now, &mut summary)?;
    }
    for error in &unit.rule_errors {
        record_rule_error(tx, error, now)?;
    }
    summary.rule_errors = unit.rule_errors.len() as u64;
    if let Some(progress) = &unit.progress {
        if !summary.created.is_empty() {
            tx.execute(
                "UPDATE objects SET alerts = $4 WHERE source = $1 AND object_key = $2 AND etag = $3",
                &[
                    progress.source.as_str().into(),
                    progress.key.as_str().into(),
                    progress.etag.as_str().into(),
                    (summary.created.len() as u64).into(),
                ],
            )?;
        }
    }
    Ok(CommitOutcome::Applied(summary))
}

/// Records the object's progress; false when it was committed before with outcome ok.
/// The unique key (source, key, etag) makes a second committer wait for the first and then
/// see its row, so an object is applied once even when two replicas process it at once.
fn record_object(
    tx: &mut dyn Tx,
    progress: &ObjectProgress,
    now: DateTime<Utc>,
) -> Result<bool, Failure> {
    let (outcome, error) = match &progress.outcome {
        ObjectOutcome::Ok => ("ok", None),
        ObjectOutcome::Partial(error) => ("ok", Some(error.as_str())),
        ObjectOutcome::Failed(error) => ("failed", Some(error.as_str())),
    };
    let rows = tx.query(
        "INSERT INTO objects (source, object_key, etag, size, events, alerts, outcome, error,
                              attempts, first_attempt_us, updated_us)
         VALUES ($1, $2, $3, $4, $5, 0, $6, $7, 1, $8, $8)
         ON CONFLICT (source, object_key, etag) DO UPDATE SET
             size = excluded.size, events = excluded.events, alerts = 0,
             outcome = excluded.outcome, error = excluded.error,
             attempts = objects.attempts + 1, updated_us = excluded.updated_us
         WHERE objects.outcome = 'failed'
         RETURNING attempts",
        &[
            progress.source.as_str().into(),
            progress.key.as_str().into(),
            progress.etag.as_str().into(),
            progress.size.into(),
            progress.events.into(),
            outcome.into(),
            error.into(),
            now.into(),
        ],
    )?;
    Ok(!rows.is_empty())
}

/// The matches of one unit that fall into one window.
struct Window<'a> {
    id: String,
    start_us: i64,
    /// The earliest match: the window's representative if it is earlier than the stored one.
    first: &'a MatchRecord,
    last_seen: DateTime<Utc>,
    count: u64,
    uniques: BTreeSet<&'a str>,
    /// The earliest matches, at most [`MAX_SAMPLES`], earliest first.
    samples: Vec<&'a MatchRecord>,
}

/// Orders events by time, then id: "earliest" means the same thing everywhere.
fn event_order(m: &MatchRecord) -> (i64, &str) {
    (m.event_time.timestamp_micros(), m.event_id.as_str())
}

fn group(matches: &[MatchRecord]) -> BTreeMap<String, Window<'_>> {
    let mut windows: BTreeMap<String, Window<'_>> = BTreeMap::new();
    for m in matches {
        let period = i64::from(m.dedup_period_minutes.max(1)) * 60;
        let start = m.event_time.timestamp().div_euclid(period) * period;
        let id = alert_id(&m.rule_id, &m.dedup, start);
        let window = windows.entry(id.clone()).or_insert_with(|| Window {
            id,
            start_us: start * 1_000_000,
            first: m,
            last_seen: m.event_time,
            count: 0,
            uniques: BTreeSet::new(),
            samples: Vec::new(),
        });
        window.count += 1;
        if event_order(m) < event_order(window.first) {
            window.first = m;
        }
        window.last_seen = window.last_seen.max(m.event_time);
        if let Some(unique) = &m.unique {
            window.uniques.insert(unique);
        }
        window.samples.push(m);
        if window.samples.len() >= 4 * MAX_SAMPLES {
            keep_earliest(&mut window.samples);
        }
    }
    for window in windows.values_mut() {
        keep_earliest(&mut window.samples);
    }
    windows
}

fn keep_earliest(samples: &mut Vec<&MatchRecord>) {
    samples.sort_by(|a, b| event_order(a).cmp(&event_order(b)));
    samples.truncate(MAX_SAMPLES);
}

/// Columns that come from the window's earliest event. An upsert replaces them all when the
/// incoming batch holds an earlier event than the stored one.
const REPRESENTATIVE: &[&str] = &[
    "first_seen_us",
    "event_id",
    "title",
    "severity",
    "log_type",
    "description",
    "runbook",
    "reference",
    "tags",
    "reports",
    "alert_context",
    "destinations",
    "outputs",
    "source_kind",
    "source_bucket",
    "source_key",
    "source_line",
    "event",
];

/// Creates the window's row, or adds a batch to it, in one statement: on PostgreSQL the
/// conflicting row is locked until commit, so concurrent committers of one window take turns
/// and each sees the other's count.
static UPSERT_WINDOW: LazyLock<String> = LazyLock::new(|| {
    let earlier = "(excluded.first_seen_us < alerts.first_seen_us OR \
                   (excluded.first_seen_us = alerts.first_seen_us AND excluded.event_id < alerts.event_id))";
    let representative: Vec<String> = REPRESENTATIVE
        .iter()
        .map(|c| format!("{c} = CASE WHEN {earlier} THEN excluded.{c} ELSE alerts.{c} END"))
        .collect();
    format!(
        "INSERT INTO alerts (id, rule_id, dedup, window_start_us, dedup_period_minutes, threshold,
                             state, event_count, unique_count, last_seen_us, recorded_us,
                             created_us, updated_us, {columns})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11, $10, {placeholders})
         ON CONFLICT (id) DO UPDATE SET
             event_count = alerts.event_count + excluded.event_count,
             last_seen_us = CASE WHEN excluded.last_seen_us > alerts.last_seen_us
                                 THEN excluded.last_seen_us ELSE alerts.last_seen_us END,
             updated_us = excluded.updated_us,
             {representative}
         RETURNING state, event_count, unique_count",
        columns = REPRESENTATIVE.join(", "),
        placeholders = (12..12 + REPRESENTATIVE.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", "),
        representative = representative.join(",\n             "),
    )
});

fn apply_window(
    tx: &mut dyn Tx,
    w: &Window<'_>,
    now: DateTime<Utc>,
    summary: &mut CommitSummary,
) -> Result<(), Failure> {
    let first = w.first;
    let signal = !first.create_alert;
    let mut params: Vec<Value> = vec![
        w.id.as_str().into(),
        first.rule_id.as_str().into(),
        first.dedup.as_str().into(),
        w.start_us.into(),
        first.dedup_period_minutes.into(),
        first.threshold.into(),
        if signal { "signal" } else { "below_threshold" }.into(),
        w.count.into(),
        w.last_seen.into(),
        now.into(),
        // A signal is recorded, hence "created", with its first match.
        signal.then_some(now).into(),
        // REPRESENTATIVE, in order.
        first.event_time.into(),
        first.event_id.as_str().into(),
        first.title.as_str().into(),
        first.severity.as_str().into(),
        first.log_type.as_str().into(),
        first.description.clone().into(),
        first.runbook.clone().into(),
        first.reference.clone().into(),
        to_json(&first.tags).into(),
        to_json(&first.reports).into(),
        first.alert_context.as_ref().map(to_json).into(),
        first.destinations.as_ref().map(to_json).into(),
        to_json(&first.outputs).into(),
    ];
    params.extend(source_values(&first.source));
    params.push(first.event.as_str().into());

    let mut row = tx
        .query(&UPSERT_WINDOW, &params)?
        .pop()
        .ok_or_else(|| Failure::Corrupt("the window upsert returned no row".into()))?;
    let state = row.text()?;
    let event_count = row.count()?;
    let unique_count = row.count()?;
    match state.as_str() {
        "signal" => summary.signals += w.count,
        "alert" => summary.updated.push(w.id.clone()),
        "below_threshold" => {
            if reach_threshold(tx, w, event_count, unique_count, now, summary)? {
                summary.created.push(w.id.clone());
                summary
                    .created_rules
                    .push((w.first.rule_id.clone(), w.first.severity));
            } else {
                summary.below_threshold += w.count;
            }
        }
        other => return Err(Failure::Corrupt(format!("alert state {other:?}"))),
    }
    store_samples(tx, w, event_count)
}

/// Counts the batch's `unique()` values and creates the alert, with its outbox entries, when
/// the window reaches its threshold. True when it did.
fn reach_threshold(
    tx: &mut dyn Tx,
    w: &Window<'_>,
    event_count: u64,
    mut unique_count: u64,
    now: DateTime<Utc>,
    summary: &mut CommitSummary,
) -> Result<bool, Failure> {
    let mut added = 0;
    for unique in &w.uniques {
        added += tx.execute(
            "INSERT INTO alert_uniques (alert_id, value) VALUES ($1, $2)
             ON CONFLICT (alert_id, value) DO NOTHING",
            &[w.id.as_str().into(), (*unique).into()],
        )?;
    }
    if added > 0 {
        tx.execute(
            "UPDATE alerts SET unique_count = unique_count + $2 WHERE id = $1",
            &[w.id.as_str().into(), added.into()],
        )?;
        unique_count += added;
    }
    // With unique(), the threshold counts distinct values instead of matches.
    let progress = if unique_count > 0 {
        unique_count
    } else {
        event_count
    };
    if progress < u64::from(w.first.threshold.max(1)) {
        return Ok(false);
    }
    // The outputs are those of the representative (earliest) match, whose severity and
    // destinations() the alert carries.
    let Some(mut row) = tx
        .query(
            "UPDATE alerts SET state = 'alert', created_us = $2
             WHERE id = $1 AND state = 'below_threshold' RETURNING outputs",
            &[w.id.as_str().into(), now.into()],
        )?
        .pop()
    else {
        return Ok(false);
    };
    let outputs: Vec<String> = from_json(&row.text()?)?;
    for output in &outputs {
        summary.deliveries += tx.execute(
            "INSERT INTO deliveries (alert_id, output, status, attempts, next_attempt_us, created_us)
             VALUES ($1, $2, 'pending', 0, $3, $3)
             ON CONFLICT (alert_id, output) DO NOTHING",
            &[w.id.as_str().into(), output.as_str().into(), now.into()],
        )?;
    }
    // The values only served to reach the threshold.
    tx.execute(
        "DELETE FROM alert_uniques WHERE alert_id = $1",
        &[w.id.as_str().into()],
    )?;
    Ok(true)
}

/// Keeps the window's [`MAX_SAMPLES`] earliest events. A window always holds
/// min(event count, MAX_SAMPLES) samples, so a batch only reads the stored ones when the
/// window was full before it.
fn store_samples(tx: &mut dyn Tx, w: &Window<'_>, event_count: u64) -> Result<(), Failure> {
    let before = event_count.saturating_sub(w.count);
    let mut samples: Vec<&MatchRecord> = w.samples.clone();
    if before >= MAX_SAMPLES as u64 {
        if let Some(mut latest) = tx
            .query(
                "SELECT event_time_us, event_id FROM alert_samples WHERE alert_id = $1
                 ORDER BY event_time_us DESC, event_id DESC LIMIT 1",
                &[w.id.as_str().into()],
            )?
            .pop()
        {
            let latest = (latest.int()?, latest.text()?);
            samples.retain(|m| event_order(m) < (latest.0, latest.1.as_str()));
        }
    }
    if samples.is_empty() {
        return Ok(());
    }
    for m in &samples {
        let mut params: Vec<Value> = vec![
            w.id.as_str().into(),
            m.event_time.into(),
            m.event_id.as_str().into(),
        ];
        params.extend(source_values(&m.source));
        params.push(m.event.as_str().into());
        tx.execute(
            "INSERT INTO alert_samples (alert_id, event_time_us, event_id, source_kind,
                                        source_bucket, source_key, source_line, event)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &params,
        )?;
    }
    if before + samples.len() as u64 > MAX_SAMPLES as u64 {
        tx.execute(
            "DELETE FROM alert_samples WHERE alert_id = $1 AND id NOT IN (
                 SELECT id FROM alert_samples WHERE alert_id = $1
                 ORDER BY event_time_us, event_id, id LIMIT $2)",
            &[w.id.as_str().into(), (MAX_SAMPLES as u64).into()],
        )?;
    }
    Ok(())
}

fn record_rule_error(
    tx: &mut dyn Tx,
    error: &RuleErrorRecord,
    now: DateTime<Utc>,
) -> Result<(), Failure> {
    let source: [Value; 4] = match &error.source {
        Some(source) => source_values(source),
        None => [Value::Null, Value::Null, Value::Null, Value::Null],
    };
    let mut params: Vec<Value> = vec![
        error.rule_id.clone().into(),
        error.function.as_str().into(),
        error.error.as_str().into(),
        error.traceback.clone().into(),
        error.event_id.clone().into(),
    ];
    params.extend(source);
    params.extend([error.time.into(), now.into()]);
    tx.execute(
        "INSERT INTO rule_errors (rule_id, function, error, traceback, event_id, source_kind,
                                  source_bucket, source_key, source_line, time_us, recorded_us)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &params,
    )?;
    Ok(())
}
