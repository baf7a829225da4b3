//! Conversions between stored rows and the records of [`crate::types`] and
//! [`iota_alerts`]: the alert as delivered and shown, source references, JSON columns.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;

use iota_alerts::{Alert, SourceRef, ALERT_SCHEMA_VERSION};
use iota_rules::Severity;

use crate::sql::{Failure, Row, Value};

/// The columns [`read_alert`] reads, in its order.
pub(crate) const ALERT_COLUMNS: &str = "id, rule_id, dedup, dedup_period_minutes, event_count, \
     first_seen_us, last_seen_us, created_us, title, severity, log_type, description, runbook, \
     reference, tags, reports, alert_context, destinations, source_kind, source_bucket, \
     source_key, source_line, event";

/// The SPEC 4 alert of a window that has been created (an alert or a signal).
pub(crate) fn read_alert(row: &mut Row) -> Result<Alert, Failure> {
    let id = row.text()?;
    Ok(Alert {
        version: ALERT_SCHEMA_VERSION,
        rule_id: row.text()?,
        dedup: row.text()?,
        dedup_period_minutes: to_u32(row.int()?),
        event_count: row.count()?,
        first_seen: row.time()?,
        last_seen: row.time()?,
        created_at: row
            .opt_time()?
            .ok_or_else(|| Failure::Corrupt(format!("alert {id} has no creation time")))?,
        title: row.text()?,
        severity: severity(&row.text()?)?,
        log_type: row.text()?,
        description: row.opt_text()?,
        runbook: row.opt_text()?,
        reference: row.opt_text()?,
        tags: from_json(&row.text()?)?,
        reports: from_json(&row.text()?)?,
        alert_context: row.opt_text()?.map(|t| from_json(&t)).transpose()?,
        destinations: row.opt_text()?.map(|t| from_json(&t)).transpose()?,
        source: read_source(row)?,
        event: raw_event(row.text()?),
        id,
    })
}

/// Reads `source_kind, source_bucket, source_key, source_line`.
pub(crate) fn read_source(row: &mut Row) -> Result<SourceRef, Failure> {
    Ok(SourceRef {
        kind: source_kind(&row.text()?),
        bucket: row.opt_text()?,
        key: row.text()?,
        line: row.opt_int()?.and_then(|l| u64::try_from(l).ok()),
    })
}

/// Reads `source_kind, source_bucket, source_key, source_line` where all may be NULL.
pub(crate) fn read_opt_source(row: &mut Row) -> Result<Option<SourceRef>, Failure> {
    let kind = row.opt_text()?;
    let bucket = row.opt_text()?;
    let key = row.opt_text()?;
    let line = row.opt_int()?;
    Ok(kind.map(|kind| SourceRef {
        kind: source_kind(&kind),
        bucket,
        key: key.unwrap_or_default(),
        line: line.and_then(|l| u64::try_from(l).ok()),
    }))
}

/// The values of `source_kind, source_bucket, source_key, source_line`.
pub(crate) fn source_values(source: &SourceRef) -> [Value; 4] {
    [
        source.kind.into(),
        source.bucket.clone().into(),
        source.key.as_str().into(),
        source.line.into(),
    ]
}

/// [`SourceRef::kind`] is a static string: the kinds iota has, and `unknown` for a kind
/// written by a newer iota.
fn source_kind(kind: &str) -> &'static str {
    match kind {
        "file" => "file",
        "stdin" => "stdin",
        "s3" => "s3",
        _ => "unknown",
    }
}

/// The event as stored; text that is not JSON (never written by iota) reads as `null`, as in
/// the in-memory engine, so that one bad row cannot block the outbox.
pub(crate) fn raw_event(text: String) -> Box<RawValue> {
    RawValue::from_string(text)
        .unwrap_or_else(|_| RawValue::from_string("null".into()).expect("valid JSON"))
}

pub(crate) fn severity(text: &str) -> Result<Severity, Failure> {
    text.parse().map_err(Failure::Corrupt)
}

pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("lists, maps and JSON values always serialise")
}

pub(crate) fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, Failure> {
    serde_json::from_str(text).map_err(|e| Failure::Corrupt(format!("JSON column: {e}")))
}

pub(crate) fn to_u32(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}
