//! What one poll reads: the bucket's trail prefixes, each listed from its cursor minus the
//! late-arrival window, less the objects the state store has committed, plus the failed
//! objects whose retry is due.
//!
//! A prefix's cursor is the newest key a completed poll listed there, kept in the state store
//! (`iota:s3-poll:cursor:s3://<bucket>/<prefix>`) and written only after every object of the
//! poll has been committed (or recorded as failed): a crash before that lists the same keys
//! again, and the committed ones are skipped by their processed-object records. Each poll
//! relists the window before the cursor, so an object written out of order is still found;
//! its record keeps it from being processed twice.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};

use iota_sources::s3::discover::{discover, DiscoverFilter, TrailPrefix};
use iota_sources::s3::listing::{key_time, list_after, start_after_key, ListedObject};
use iota_sources::s3::TrailBucket;
use iota_state::{KvValue, ObjectOutcome, StateStore};

use crate::s3_objects::source_name;

/// What does not change from one poll to the next.
pub struct PollSettings {
    /// Where trail prefixes are looked for (`AWSLogs/`; may contain `*` segments).
    pub prefix: String,
    pub filter: DiscoverFilter,
    /// Where a prefix without cursor starts.
    pub since: DateTime<Utc>,
    /// How far before its cursor each prefix is listed again.
    pub late_window: Duration,
    /// The wait before a failed object is read again, doubling with each further failure.
    pub failed_object_retry: Duration,
}

/// One poll's work.
#[derive(Debug, Default)]
pub struct PollPlan {
    pub prefixes: usize,
    /// Objects to process, oldest first (failed ones due for a retry included).
    pub objects: Vec<ListedObject>,
    /// Objects listed that an earlier poll committed.
    pub already_committed: u64,
    /// Of `objects`, those being retried.
    pub retries: u64,
    /// The cursor each prefix gets once `objects` are committed.
    cursors: Vec<(String, String)>,
}

/// The requests to S3 run on `runtime`; the state store is asked from this thread, outside
/// any runtime, since its PostgreSQL client runs one of its own.
pub fn plan(
    runtime: &tokio::runtime::Runtime,
    bucket: &TrailBucket,
    store: &dyn StateStore,
    settings: &PollSettings,
    now: DateTime<Utc>,
) -> anyhow::Result<PollPlan> {
    let source = source_name(bucket.name());
    let trails = runtime
        .block_on(discover(bucket, &settings.prefix, &settings.filter))
        .context("cannot discover the trail prefixes")?;
    if trails.is_empty() {
        tracing::warn!(bucket = bucket.name(), prefix = %settings.prefix, "no CloudTrail prefixes (…/CloudTrail/<region>/) found; check --prefix, --accounts and --regions");
    }
    let mut plan = PollPlan {
        prefixes: trails.len(),
        ..PollPlan::default()
    };
    let late_window =
        chrono::Duration::from_std(settings.late_window).unwrap_or(chrono::Duration::zero());
    for trail in &trails {
        let cursor = read_cursor(store, &source, trail, now)?;
        let start_after = match cursor.as_deref() {
            None => start_after_key(trail, settings.since),
            Some(key) => match key_time(trail, key) {
                Some(time) => start_after_key(trail, time - late_window),
                // A key of another shape has no time: no window can be computed before it.
                None => key.to_owned(),
            },
        };
        let listed = runtime
            .block_on(list_after(bucket, &trail.prefix, &start_after))
            .context("cannot list new objects")?;
        let newest = listed.last().map(|o| o.key.clone());
        for object in listed {
            let record = store
                .object_state(&source, &object.key, &object.etag)
                .with_context(|| format!("cannot read the state store {}", store.name()))?;
            match record.map(|r| r.outcome) {
                None => plan.objects.push(object),
                // Retried on their own schedule, below.
                Some(ObjectOutcome::Failed(_)) => {}
                Some(_) => plan.already_committed += 1,
            }
        }
        if let Some(newest) = newest {
            if cursor.as_deref().is_none_or(|c| c < newest.as_str()) {
                plan.cursors.push((cursor_key(&source, trail), newest));
            }
        }
    }
    add_due_retries(
        store,
        &source,
        &trails,
        settings.failed_object_retry,
        now,
        &mut plan,
    )?;
    // Oldest first across prefixes, so that the processing lag stays even.
    plan.objects.sort_by(|a, b| {
        let time = |o: &ListedObject| {
            trails
                .iter()
                .find(|t| o.key.starts_with(&t.prefix))
                .and_then(|t| key_time(t, &o.key))
        };
        time(a).cmp(&time(b)).then_with(|| a.key.cmp(&b.key))
    });
    Ok(plan)
}

/// Records the cursors of a poll whose objects are all committed.
pub fn save_cursors(store: &dyn StateStore, plan: &PollPlan) -> anyhow::Result<()> {
    for (key, cursor) in &plan.cursors {
        let value = KvValue::Dict(serde_json::json!({ "after": cursor }).to_string());
        store
            .kv_put(key, &value, None)
            .with_context(|| format!("cannot save the listing cursor in {}", store.name()))?;
    }
    Ok(())
}

fn cursor_key(source: &str, trail: &TrailPrefix) -> String {
    format!("iota:s3-poll:cursor:{source}/{}", trail.prefix)
}

fn read_cursor(
    store: &dyn StateStore,
    source: &str,
    trail: &TrailPrefix,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    let value = store
        .kv_get(&cursor_key(source, trail), now)
        .with_context(|| format!("cannot read the listing cursor from {}", store.name()))?;
    Ok(match value {
        Some(KvValue::Dict(json)) => serde_json::from_str::<serde_json::Value>(&json)
            .ok()
            .and_then(|v| v.get("after")?.as_str().map(str::to_owned)),
        _ => None,
    })
}

/// The wait after the `attempts`th failure: `first` after the first, doubling up to 60
/// times `first` (a minute to an hour by default).
fn retry_delay(attempts: u32, first: Duration) -> chrono::Duration {
    let doubled = first.saturating_mul(1 << attempts.saturating_sub(1).min(6));
    chrono::Duration::from_std(doubled.min(first.saturating_mul(60)))
        .unwrap_or(chrono::Duration::MAX)
}

fn add_due_retries(
    store: &dyn StateStore,
    source: &str,
    trails: &[TrailPrefix],
    first_retry: Duration,
    now: DateTime<Utc>,
    plan: &mut PollPlan,
) -> anyhow::Result<()> {
    let failed = store
        .list_objects(source, true)
        .with_context(|| format!("cannot read the state store {}", store.name()))?;
    let planned: HashSet<String> = plan.objects.iter().map(|o| o.key.clone()).collect();
    for record in failed {
        let in_scope = trails.iter().any(|t| record.key.starts_with(&t.prefix));
        let due = record.updated_at + retry_delay(record.attempts, first_retry) <= now;
        if in_scope && due && !planned.contains(&record.key) {
            plan.retries += 1;
            plan.objects.push(ListedObject {
                key: record.key,
                etag: record.etag,
                size: record.size,
                last_modified: None,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use iota_state::{CommitUnit, ObjectProgress};

    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn failed_object(store: &dyn StateStore, key: &str) {
        let unit = CommitUnit {
            progress: Some(ObjectProgress {
                source: source_name("trail"),
                key: key.into(),
                etag: "e1".into(),
                size: 10,
                events: 0,
                outcome: ObjectOutcome::Failed("AccessDenied".into()),
            }),
            ..CommitUnit::default()
        };
        store.commit(&unit).unwrap();
    }

    #[test]
    fn a_failed_object_of_a_polled_prefix_is_retried_once_its_delay_has_passed() {
        let dir = tempfile::tempdir().unwrap();
        let store = iota_state::open(dir.path().join("s.db").to_str().unwrap()).unwrap();
        let trail = TrailPrefix::parse("AWSLogs/111122223333/CloudTrail/us-east-1/").unwrap();
        let key = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/01/x.json.gz";
        failed_object(store.as_ref(), key);
        failed_object(
            store.as_ref(),
            "AWSLogs/999999999999/CloudTrail/us-east-1/other.json.gz",
        );
        let source = source_name("trail");

        let mut now_plan = PollPlan::default();
        add_due_retries(
            store.as_ref(),
            &source,
            std::slice::from_ref(&trail),
            MINUTE,
            Utc::now(),
            &mut now_plan,
        )
        .unwrap();
        assert!(now_plan.objects.is_empty(), "not due before a minute");

        let later = Utc::now() + chrono::Duration::minutes(2);
        let mut later_plan = PollPlan::default();
        add_due_retries(
            store.as_ref(),
            &source,
            &[trail],
            MINUTE,
            later,
            &mut later_plan,
        )
        .unwrap();
        let keys: Vec<&str> = later_plan.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, [key], "only the prefix polled");
        assert_eq!(later_plan.objects[0].etag, "e1");
        assert_eq!(later_plan.retries, 1);
    }

    #[test]
    fn retries_back_off_from_a_minute_to_an_hour() {
        assert_eq!(retry_delay(1, MINUTE), chrono::Duration::minutes(1));
        assert_eq!(retry_delay(2, MINUTE), chrono::Duration::minutes(2));
        assert_eq!(retry_delay(4, MINUTE), chrono::Duration::minutes(8));
        assert_eq!(retry_delay(30, MINUTE), chrono::Duration::minutes(60));
        let second = Duration::from_secs(1);
        assert_eq!(retry_delay(1, second), chrono::Duration::seconds(1));
        assert_eq!(retry_delay(7, second), chrono::Duration::seconds(60));
    }
}
