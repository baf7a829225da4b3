//! The records that go into the state store and come out of it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

use iota_alerts::{one_line_json, Alert, RuleErrorRecord, RuleMatch, SourceRef};
use iota_rules::Severity;

/// Sample events kept per alert: the earliest ones of its window.
pub const MAX_SAMPLES: usize = 5;

/// One rule match, with everything the store needs to group it into an alert.
#[derive(Clone, Debug)]
pub struct MatchRecord {
    pub rule_id: String,
    pub dedup: String,
    pub dedup_period_minutes: u32,
    pub threshold: u32,
    /// `false`: the match is recorded as a signal, never delivered.
    pub create_alert: bool,
    pub event_time: DateTime<Utc>,
    /// The event's id (CloudTrail `eventID`; empty when it has none): among events of the
    /// same time, the smallest id is the earliest, as in [`iota_alerts::AlertEngine`].
    pub event_id: String,
    /// The normalized event, JSON.
    pub event: String,
    pub title: String,
    pub severity: Severity,
    pub alert_context: Option<serde_json::Value>,
    pub description: Option<String>,
    pub runbook: Option<String>,
    pub reference: Option<String>,
    /// `destinations()`: `None` = default routing, `Some([])` = not delivered.
    pub destinations: Option<Vec<String>>,
    pub unique: Option<String>,
    pub tags: Vec<String>,
    pub reports: BTreeMap<String, Vec<String>>,
    pub log_type: String,
    pub source: SourceRef,
    /// The outputs an alert represented by this match goes to, as routed by the caller
    /// (minimum severity, `OutputIds`, `destinations()`); empty: not delivered.
    pub outputs: Vec<String>,
}

impl MatchRecord {
    /// The record of an engine match; description, runbook and reference fall back to the
    /// rule's metadata as in [`iota_alerts::AlertEngine`].
    pub fn new(m: &RuleMatch<'_>, event_id: impl Into<String>, outputs: Vec<String>) -> Self {
        let (rule, result) = (m.rule, m.result);
        let details = result.details_or_default(rule).into_owned();
        MatchRecord {
            rule_id: rule.id.clone(),
            dedup: result.dedup.clone(),
            dedup_period_minutes: rule.dedup_period_minutes,
            threshold: rule.threshold,
            create_alert: rule.create_alert,
            event_time: m.event_time,
            event_id: event_id.into(),
            event: String::from_utf8_lossy(&one_line_json(m.event_json)).into_owned(),
            title: details.title,
            severity: details.severity,
            alert_context: details.alert_context,
            description: details.description.or_else(|| rule.description.clone()),
            runbook: details.runbook.or_else(|| rule.runbook.clone()),
            reference: details.reference.or_else(|| rule.reference.clone()),
            destinations: details.destinations,
            unique: result.unique.clone(),
            tags: rule.tags.clone(),
            reports: rule.reports.clone(),
            log_type: m.log_type.to_owned(),
            source: (m.source)(),
            outputs,
        }
    }
}

/// What one [`crate::StateStore::commit`] applies, all or nothing.
#[derive(Clone, Debug, Default)]
pub struct CommitUnit {
    pub matches: Vec<MatchRecord>,
    pub rule_errors: Vec<RuleErrorRecord>,
    /// The source object these results come from; a unit naming an object already
    /// committed is not applied again.
    pub progress: Option<ObjectProgress>,
}

/// The processing of one source object, identified by (source, key, etag).
#[derive(Clone, Debug)]
pub struct ObjectProgress {
    /// The configured source (e.g. the bucket or the integration name).
    pub source: String,
    pub key: String,
    pub etag: String,
    pub size: u64,
    pub events: u64,
    pub outcome: ObjectOutcome,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectOutcome {
    Ok,
    /// Done, but part of the object could not be read (this error): it breaks off (the
    /// events before the break were processed and committed), or some of its records are
    /// malformed (skipped; every other one was processed). Reading it again would end the
    /// same way, so it is not processed again.
    Partial(String),
    /// Processing failed with this error; the object is to be processed again.
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommitOutcome {
    Applied(CommitSummary),
    /// The unit's object was committed before (outcome ok): nothing was applied.
    Duplicate,
}

/// What a commit did to the alert windows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitSummary {
    /// Alerts that reached their threshold in this commit (ids, in id order).
    pub created: Vec<String>,
    /// The rule id and severity of each alert of `created`, in the same order (for metrics;
    /// the severity is that of the commit's earliest match in the window).
    pub created_rules: Vec<(String, Severity)>,
    /// Alerts that existed before and got more events (ids, in id order).
    pub updated: Vec<String>,
    /// Matches recorded as signals (`CreateAlert: false`).
    pub signals: u64,
    /// Matches counted in windows still below their threshold.
    pub below_threshold: u64,
    /// Outbox entries queued.
    pub deliveries: u64,
    pub rule_errors: u64,
}

/// An outbox entry handed to a deliverer, leased to it until delivered, failed or expired.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub id: i64,
    pub output: String,
    /// Attempts made before this one.
    pub attempts: u32,
    /// The alert as it is now (current event count and last-seen time).
    pub alert: Alert,
}

/// The pending deliveries of one output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutboxStatus {
    pub output: String,
    pub pending: u64,
    /// When the earliest of them may be claimed (its next attempt, or the end of the lease
    /// a deliverer holds on it).
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Filters of `iota alerts list`.
#[derive(Clone, Debug, Default)]
pub struct AlertQuery {
    /// Created at or after this time.
    pub since: Option<DateTime<Utc>>,
    pub rule: Option<String>,
    /// At least this severe.
    pub min_severity: Option<Severity>,
    /// Only alerts with a delivery marked failed.
    pub failed_only: bool,
    /// Signals (`CreateAlert: false`) too, not only alerts.
    pub signals: bool,
    pub limit: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Alert,
    Signal,
}

/// A line of `iota alerts list`, newest first.
#[derive(Clone, Debug, Serialize)]
pub struct AlertSummary {
    pub id: String,
    pub rule_id: String,
    pub title: String,
    pub severity: Severity,
    pub dedup: String,
    pub state: AlertState,
    pub event_count: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub deliveries: DeliveryCounts,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryCounts {
    pub pending: u64,
    pub succeeded: u64,
    pub failed: u64,
}

/// `iota alerts show`: the alert with its samples and its deliveries.
#[derive(Clone, Debug, Serialize)]
pub struct AlertDetail {
    pub alert: Alert,
    pub state: AlertState,
    pub threshold: u32,
    pub samples: Vec<Sample>,
    pub deliveries: Vec<DeliveryRecord>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Sample {
    pub event_time: DateTime<Utc>,
    pub event_id: String,
    pub source: SourceRef,
    pub event: Box<RawValue>,
}

/// One output's delivery of an alert, with every attempt made.
#[derive(Clone, Debug, Serialize)]
pub struct DeliveryRecord {
    pub id: i64,
    pub output: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub history: Vec<Attempt>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    /// Given up after the deliverer's last attempt; `retry` makes it pending again.
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub outcome: AttemptOutcome,
    pub error: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AttemptOutcome {
    Succeeded,
    /// Failed; another attempt was scheduled.
    Retry,
    /// Failed; no further attempt.
    Failed,
}

/// What `iota alerts retry` re-queues.
#[derive(Clone, Copy, Debug)]
pub enum RetryTarget<'a> {
    /// The failed deliveries of one alert.
    Alert(&'a str),
    /// Every failed delivery.
    AllFailed,
}

/// Rows removed by [`crate::StateStore::prune`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// Alert windows (alerts, signals and windows below threshold), with their samples and
    /// deliveries.
    pub alerts: u64,
    pub rule_errors: u64,
    pub objects: u64,
    /// Expired rule-state keys.
    pub rule_state: u64,
}

#[derive(Clone, Debug, Default)]
pub struct RuleErrorQuery {
    /// Recorded at or after this time.
    pub since: Option<DateTime<Utc>>,
    pub rule: Option<String>,
    pub limit: Option<u32>,
}

/// The processed-object state of SPEC 5.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ObjectRecord {
    pub source: String,
    pub key: String,
    pub etag: String,
    pub size: u64,
    pub events: u64,
    /// Alerts created by the commit that recorded the object.
    pub alerts: u64,
    pub outcome: ObjectOutcome,
    pub attempts: u32,
    pub first_attempt_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A value of the rule state behind the caching helpers (SPEC 3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvValue {
    Counter(i64),
    StringSet(BTreeSet<String>),
    /// A JSON object, as text.
    Dict(String),
}

/// A configured CloudTrail trail source (`iota sources add`): what `iota s3-poll` reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceConfig {
    /// Unique name, as `iota s3-poll --source NAME` and `iota sources show NAME` take it.
    pub name: String,
    pub bucket: String,
    /// Only objects whose keys start with this are read: `AWSLogs/` for a trail without an S3
    /// key prefix, `PREFIX/AWSLogs/` for one with; empty for the whole bucket.
    pub prefix: String,
    /// The bucket's region; `None`: the default region of the AWS credential chain.
    pub region: Option<String>,
    /// The role assumed to read the bucket (another account's); `None`: the credentials of
    /// the standard chain, as found.
    pub assume_role: Option<String>,
    /// Only the logs of these AWS account ids; empty: every account.
    pub accounts: Vec<String>,
    /// Only the logs of these regions; empty: every region.
    pub regions: Vec<String>,
}

impl SourceConfig {
    /// The [`ObjectProgress::source`] under which the objects of this source's bucket are
    /// recorded: `s3://<bucket>`. Keyed by bucket, not by source name, so that an object is
    /// processed once however many sources (or renames) cover it.
    pub fn object_source(&self) -> String {
        format!("s3://{}", self.bucket)
    }
}

/// What the polls of a source have done so far (see [`crate::StateStore::record_poll`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceHealth {
    pub last_poll_started_at: DateTime<Utc>,
    /// When the last poll finished, successfully or not.
    pub last_poll_at: DateTime<Utc>,
    /// When the last successful poll finished; `None`: none has yet.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Why the last poll failed; `None` when it succeeded.
    pub last_error: Option<String>,
    pub polls: u64,
    /// Objects processed, over every poll.
    pub objects: u64,
    /// Events read, over every poll.
    pub events: u64,
    /// Objects the last poll could not process (retried by the next ones).
    pub failed_objects: u64,
    /// Time of the newest event read so far: the source's lag is now minus this.
    pub newest_event_time: Option<DateTime<Utc>>,
}

/// A source with its bookkeeping times and its health (`None`: never polled).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceRecord {
    #[serde(flatten)]
    pub config: SourceConfig,
    pub created_at: DateTime<Utc>,
    /// When the configuration last changed (`add` with `replace`).
    pub updated_at: DateTime<Utc>,
    pub health: Option<SourceHealth>,
}

/// The outcome of one poll of a source, as [`crate::StateStore::record_poll`] records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollReport {
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Why the poll failed (e.g. the bucket could not be listed); `None`: it succeeded, even
    /// if some objects failed (they are counted in `failed_objects` and retried).
    pub error: Option<String>,
    /// Objects processed by this poll.
    pub objects: u64,
    /// Events read by this poll.
    pub events: u64,
    /// Objects this poll could not process.
    pub failed_objects: u64,
    /// Time of the newest event this poll read; `None` when it read none.
    pub newest_event_time: Option<DateTime<Utc>>,
}

/// A flush of lake files, recorded before its files are written
/// ([`crate::StateStore::lake_begin`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LakeFlush {
    pub id: String,
    /// The keys of its files below the lake's location.
    pub files: Vec<String>,
    /// The inputs whose events its files hold, as (source, key, etag) of their
    /// [`ObjectProgress`].
    pub inputs: Vec<(String, String, String)>,
}

/// What [`crate::StateStore::lake_commit`] did.
#[derive(Debug)]
pub enum LakeCommit {
    /// The units are committed (one outcome each, in order) and the flush is no longer in
    /// flight. `doomed`: flushes whose files hold inputs committed now or before; their files
    /// are to be deleted, then the flushes forgotten ([`crate::StateStore::lake_forget`]).
    Applied {
        outcomes: Vec<CommitOutcome>,
        doomed: Vec<LakeFlush>,
    },
    /// Nothing was applied: the units at these positions were committed before (by another
    /// process). The flush's files hold their events again; they are to be rewritten without
    /// them.
    AlreadyCommitted(Vec<usize>),
    /// Nothing was applied: the flush is no longer pending (another process doomed it as too
    /// old). Its files are to be deleted and written again under a new flush.
    Lost,
}
