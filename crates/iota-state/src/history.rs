//! What operators read back: `iota alerts list/show`, rule errors, processed objects, and the
//! retention that prunes them.

use chrono::{DateTime, Utc};

use iota_alerts::RuleErrorRecord;
use iota_rules::Severity;

use crate::records::{
    raw_event, read_alert, read_opt_source, read_source, severity, to_u32, ALERT_COLUMNS,
};
use crate::sql::{Failure, Row, Tx, Value};
use crate::types::{
    AlertDetail, AlertQuery, AlertState, AlertSummary, Attempt, AttemptOutcome, DeliveryCounts,
    DeliveryRecord, DeliveryStatus, ObjectOutcome, ObjectRecord, PruneReport, RuleErrorQuery,
    Sample,
};

const SEVERITIES: [Severity; 5] = [
    Severity::Info,
    Severity::Low,
    Severity::Medium,
    Severity::High,
    Severity::Critical,
];

/// Builds a `WHERE` clause and its parameters.
#[derive(Default)]
struct Filter {
    clauses: Vec<String>,
    params: Vec<Value>,
}

impl Filter {
    /// Adds `clause`, in which `?` stands for the next parameter.
    fn add(&mut self, clause: &str, param: impl Into<Value>) {
        self.params.push(param.into());
        self.clauses
            .push(clause.replace('?', &format!("${}", self.params.len())));
    }

    fn fixed(&mut self, clause: impl Into<String>) {
        self.clauses.push(clause.into());
    }

    fn limit(&mut self, limit: Option<u32>) -> String {
        match limit {
            Some(limit) => {
                self.params.push(limit.into());
                format!(" LIMIT ${}", self.params.len())
            }
            None => String::new(),
        }
    }

    fn where_clause(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }
}

pub(crate) fn list_alerts(
    tx: &mut dyn Tx,
    query: &AlertQuery,
) -> Result<Vec<AlertSummary>, Failure> {
    let mut filter = Filter::default();
    filter.fixed("a.created_us IS NOT NULL");
    if !query.signals {
        filter.fixed("a.state = 'alert'");
    }
    if let Some(since) = query.since {
        filter.add("a.created_us >= ?", since);
    }
    if let Some(rule) = &query.rule {
        filter.add("a.rule_id = ?", rule.as_str());
    }
    if let Some(min) = query.min_severity {
        let wanted: Vec<String> = SEVERITIES
            .iter()
            .filter(|s| **s >= min)
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        filter.fixed(format!("a.severity IN ({})", wanted.join(", ")));
    }
    if query.failed_only {
        filter.fixed(
            "EXISTS (SELECT 1 FROM deliveries d WHERE d.alert_id = a.id AND d.status = 'failed')",
        );
    }
    let count = |status: &str| {
        format!(
            "(SELECT COUNT(*) FROM deliveries d WHERE d.alert_id = a.id AND d.status = '{status}')"
        )
    };
    let sql = format!(
        "SELECT a.id, a.rule_id, a.title, a.severity, a.dedup, a.state, a.event_count,
                a.first_seen_us, a.last_seen_us, a.created_us, {}, {}, {}
         FROM alerts a{} ORDER BY a.created_us DESC, a.id{}",
        count("pending"),
        count("succeeded"),
        count("failed"),
        filter.where_clause(),
        filter.limit(query.limit),
    );
    tx.query(&sql, &filter.params)?
        .into_iter()
        .map(|mut row| {
            Ok(AlertSummary {
                id: row.text()?,
                rule_id: row.text()?,
                title: row.text()?,
                severity: severity(&row.text()?)?,
                dedup: row.text()?,
                state: alert_state(&row.text()?)?,
                event_count: row.count()?,
                first_seen: row.time()?,
                last_seen: row.time()?,
                created_at: row.time()?,
                deliveries: DeliveryCounts {
                    pending: row.count()?,
                    succeeded: row.count()?,
                    failed: row.count()?,
                },
            })
        })
        .collect()
}

fn alert_state(text: &str) -> Result<AlertState, Failure> {
    match text {
        "alert" => Ok(AlertState::Alert),
        "signal" => Ok(AlertState::Signal),
        other => Err(Failure::Corrupt(format!("alert state {other:?}"))),
    }
}

/// An alert or signal; `None` for unknown ids and windows still below their threshold.
pub(crate) fn get_alert(tx: &mut dyn Tx, id: &str) -> Result<Option<AlertDetail>, Failure> {
    let Some(mut row) = tx
        .query(
            &format!(
                "SELECT {ALERT_COLUMNS}, state, threshold FROM alerts
                 WHERE id = $1 AND created_us IS NOT NULL"
            ),
            &[id.into()],
        )?
        .pop()
    else {
        return Ok(None);
    };
    let alert = read_alert(&mut row)?;
    let state = alert_state(&row.text()?)?;
    let threshold = to_u32(row.int()?);

    let samples = tx
        .query(
            "SELECT event_time_us, event_id, source_kind, source_bucket, source_key, source_line,
                    event
             FROM alert_samples WHERE alert_id = $1 ORDER BY event_time_us, event_id, id",
            &[id.into()],
        )?
        .into_iter()
        .map(|mut row| {
            Ok(Sample {
                event_time: row.time()?,
                event_id: row.text()?,
                source: read_source(&mut row)?,
                event: raw_event(row.text()?),
            })
        })
        .collect::<Result<Vec<_>, Failure>>()?;

    let mut deliveries = tx
        .query(
            "SELECT id, output, status, attempts, next_attempt_us, last_error, created_us,
                    delivered_us
             FROM deliveries WHERE alert_id = $1 ORDER BY output",
            &[id.into()],
        )?
        .into_iter()
        .map(|mut row| {
            Ok(DeliveryRecord {
                id: row.int()?,
                output: row.text()?,
                status: delivery_status(&row.text()?)?,
                attempts: to_u32(row.int()?),
                next_attempt_at: row.time()?,
                last_error: row.opt_text()?,
                created_at: row.time()?,
                delivered_at: row.opt_time()?,
                history: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    for mut row in tx.query(
        "SELECT t.delivery_id, t.attempted_us, t.outcome, t.error
         FROM delivery_attempts t JOIN deliveries d ON d.id = t.delivery_id
         WHERE d.alert_id = $1 ORDER BY t.id",
        &[id.into()],
    )? {
        let delivery_id = row.int()?;
        let attempt = Attempt {
            at: row.time()?,
            outcome: attempt_outcome(&row.text()?)?,
            error: row.opt_text()?,
        };
        if let Some(delivery) = deliveries.iter_mut().find(|d| d.id == delivery_id) {
            delivery.history.push(attempt);
        }
    }
    Ok(Some(AlertDetail {
        alert,
        state,
        threshold,
        samples,
        deliveries,
    }))
}

fn delivery_status(text: &str) -> Result<DeliveryStatus, Failure> {
    match text {
        "pending" => Ok(DeliveryStatus::Pending),
        "succeeded" => Ok(DeliveryStatus::Succeeded),
        "failed" => Ok(DeliveryStatus::Failed),
        other => Err(Failure::Corrupt(format!("delivery status {other:?}"))),
    }
}

fn attempt_outcome(text: &str) -> Result<AttemptOutcome, Failure> {
    match text {
        "succeeded" => Ok(AttemptOutcome::Succeeded),
        "retry" => Ok(AttemptOutcome::Retry),
        "failed" => Ok(AttemptOutcome::Failed),
        other => Err(Failure::Corrupt(format!("attempt outcome {other:?}"))),
    }
}

pub(crate) fn list_rule_errors(
    tx: &mut dyn Tx,
    query: &RuleErrorQuery,
) -> Result<Vec<RuleErrorRecord>, Failure> {
    let mut filter = Filter::default();
    if let Some(since) = query.since {
        filter.add("recorded_us >= ?", since);
    }
    if let Some(rule) = &query.rule {
        filter.add("rule_id = ?", rule.as_str());
    }
    let sql = format!(
        "SELECT rule_id, function, error, traceback, event_id, source_kind, source_bucket,
                source_key, source_line, time_us
         FROM rule_errors{} ORDER BY recorded_us DESC, id DESC{}",
        filter.where_clause(),
        filter.limit(query.limit),
    );
    tx.query(&sql, &filter.params)?
        .into_iter()
        .map(|mut row| {
            let mut record = RuleErrorRecord::new(row.opt_text()?, row.text()?, row.text()?);
            record.traceback = row.opt_text()?;
            record.event_id = row.opt_text()?;
            record.source = read_opt_source(&mut row)?;
            record.time = row.time()?;
            Ok(record)
        })
        .collect()
}

/// Rule errors per rule (`None`: errors not tied to a rule, listed after the rules), most
/// frequent first. The order is spelled out in full: SQLite and PostgreSQL sort NULL apart.
pub(crate) fn rule_error_counts(
    tx: &mut dyn Tx,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<(Option<String>, u64)>, Failure> {
    let mut filter = Filter::default();
    if let Some(since) = since {
        filter.add("recorded_us >= ?", since);
    }
    let sql = format!(
        "SELECT rule_id, COUNT(*) FROM rule_errors{} GROUP BY rule_id
         ORDER BY COUNT(*) DESC, rule_id IS NULL, rule_id",
        filter.where_clause()
    );
    tx.query(&sql, &filter.params)?
        .into_iter()
        .map(|mut row| Ok((row.opt_text()?, row.count()?)))
        .collect()
}

const OBJECT_COLUMNS: &str = "source, object_key, etag, size, events, alerts, outcome, error, \
                              attempts, first_attempt_us, updated_us";

fn read_object(row: &mut Row) -> Result<ObjectRecord, Failure> {
    Ok(ObjectRecord {
        source: row.text()?,
        key: row.text()?,
        etag: row.text()?,
        size: row.count()?,
        events: row.count()?,
        alerts: row.count()?,
        outcome: match (row.text()?.as_str(), row.opt_text()?) {
            ("ok", None) => ObjectOutcome::Ok,
            ("ok", Some(error)) => ObjectOutcome::Partial(error),
            ("failed", error) => ObjectOutcome::Failed(error.unwrap_or_default()),
            (other, _) => return Err(Failure::Corrupt(format!("object outcome {other:?}"))),
        },
        attempts: to_u32(row.int()?),
        first_attempt_at: row.time()?,
        updated_at: row.time()?,
    })
}

pub(crate) fn object_state(
    tx: &mut dyn Tx,
    source: &str,
    key: &str,
    etag: &str,
) -> Result<Option<ObjectRecord>, Failure> {
    tx.query(
        &format!(
            "SELECT {OBJECT_COLUMNS} FROM objects
             WHERE source = $1 AND object_key = $2 AND etag = $3"
        ),
        &[source.into(), key.into(), etag.into()],
    )?
    .pop()
    .map(|mut row| read_object(&mut row))
    .transpose()
}

pub(crate) fn list_objects(
    tx: &mut dyn Tx,
    source: &str,
    failed_only: bool,
) -> Result<Vec<ObjectRecord>, Failure> {
    let failed = if failed_only {
        " AND outcome = 'failed'"
    } else {
        ""
    };
    tx.query(
        &format!(
            "SELECT {OBJECT_COLUMNS} FROM objects WHERE source = $1{failed}
             ORDER BY updated_us DESC, object_key"
        ),
        &[source.into()],
    )?
    .into_iter()
    .map(|mut row| read_object(&mut row))
    .collect()
}

/// Retention. Alerts go with their samples and deliveries (foreign keys cascade), except
/// those still waiting to be delivered: retention never loses an alert.
pub(crate) fn prune(
    tx: &mut dyn Tx,
    older_than: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<PruneReport, Failure> {
    let cutoff = [Value::from(older_than)];
    Ok(PruneReport {
        alerts: tx.execute(
            "DELETE FROM alerts WHERE updated_us < $1 AND NOT EXISTS (
                 SELECT 1 FROM deliveries d WHERE d.alert_id = alerts.id AND d.status = 'pending')",
            &cutoff,
        )?,
        rule_errors: tx.execute("DELETE FROM rule_errors WHERE recorded_us < $1", &cutoff)?,
        objects: tx.execute("DELETE FROM objects WHERE updated_us < $1", &cutoff)?,
        rule_state: tx.execute(
            "DELETE FROM kv WHERE expires_us IS NOT NULL AND expires_us <= $1",
            &[now.into()],
        )?,
    })
}
