//! The state store of SPEC 4 and 5: alert windows and their history, the delivery outbox,
//! rule errors, processed source objects, the rule state behind the caching helpers, the
//! configured trail sources with their health, and the data lake's flushes in flight.
//! One trait, [`StateStore`], with two backends: SQLite (the embedded default, a file) and
//! PostgreSQL (shared by replicas). [`open`] picks one from a path or a URL.
//! [`StoreRuleState`] serves the workers' rule-state requests from it.
//!
//! The API is synchronous: the pipeline is thread-based and calls it from blocking threads.
//! Both backends run the same statements (`sql`, written once in `commit`, `outbox`,
//! `history`, `kv`, `sources`, `lake`) over the same schema (`migrations/<dialect>/NNNN_name.sql`,
//! applied in order on open and recorded in `schema_migrations`).
//!
//! # Contract
//! - **Alerts.** [`StateStore::commit`] groups matches exactly like
//!   [`iota_alerts::AlertEngine`]: a window per (rule id, dedup string, multiple of
//!   `DedupPeriodMinutes` on event time), id [`iota_alerts::alert_id`]. A window counts its
//!   events (and distinct `unique()` values while below `Threshold`), keeps first/last seen,
//!   its earliest event as representative (ties broken by event id) and its
//!   [`MAX_SAMPLES`] earliest events as samples. It becomes an alert when the count (or the
//!   number of distinct `unique()` values) reaches the threshold; `CreateAlert: false` makes it
//!   a signal, recorded and never delivered. Later matches update it and are not queued again.
//! - **Outbox.** An alert created by a commit gets, in that same transaction, one delivery
//!   per output of its representative match ([`MatchRecord::outputs`], routed by the caller).
//!   Deliverers [`claim`](StateStore::claim_deliveries) due entries under a lease and record
//!   the outcome of each attempt; a delivery that succeeded is never handed out again; one
//!   whose deliverer died is handed out again when the lease expires.
//! - **Exactly once per object.** A unit carrying [`ObjectProgress`] is applied only if
//!   (source, key, etag) was not committed with outcome ok before; otherwise nothing is
//!   applied and the commit says [`CommitOutcome::Duplicate`]. Alerts, their outbox entries
//!   and the object's progress are one transaction, so a crash loses all or none of them.
//! - **Lake flushes.** A flush of data-lake files is recorded pending
//!   ([`StateStore::lake_begin`]) before its files are written, and ended in the transaction
//!   that commits the units of its inputs ([`StateStore::lake_commit`]); a pending flush one of
//!   whose inputs is committed by another flush, or older than an hour, is doomed and its
//!   files are deleted by the caller ([`StateStore::lake_doomed`], [`StateStore::lake_forget`]).
//! - **Concurrency.** Any number of threads, handles and (on PostgreSQL) replicas may commit
//!   at once and end as if the commits ran one after the other: window rows are upserted on
//!   their deterministic id (PostgreSQL locks the row until commit, SQLite has one writer
//!   at a time), claims skip rows other claimers hold, rule-state updates lock their key.
//! - **Time.** Operations whose result depends on the clock take `now`; the others use the
//!   wall clock for their bookkeeping times.
//!
//! PostgreSQL 11 or later. TLS is configured in the URL as for libpq (rustls does the
//! handshake):
//! - `sslmode=disable`: plaintext.
//! - `sslmode=prefer` (the default): TLS when the server supports it, else plaintext; the
//!   certificate is not checked.
//! - `sslmode=require`: TLS or no connection; the certificate is not checked, unless
//!   `sslrootcert` is given: then its issuer is, as with `verify-ca` (libpq does the same).
//! - `sslmode=verify-ca`: TLS, with a certificate signed by a trusted authority.
//! - `sslmode=verify-full`: as `verify-ca`, and the certificate must name the host in the URL.
//! - `sslrootcert=PATH`: the trusted authorities, a PEM file (e.g. Amazon RDS's
//!   `global-bundle.pem`). Without it, `verify-*` trust the platform's store (where libpq would
//!   read `~/.postgresql/root.crt`); `sslrootcert=system` says so explicitly and, as in libpq,
//!   needs `verify-full` (its default then).
//!
//! For Amazon RDS or Aurora (which enforce TLS with `rds.force_ssl=1`):
//! `postgres://iota:PASSWORD@mydb.xxxx.eu-west-1.rds.amazonaws.com:5432/iota?sslmode=verify-full&sslrootcert=/etc/ssl/rds/global-bundle.pem`.
//! Client certificates (`sslcert`, `sslkey`) and `sslmode=allow` are not supported.

mod commit;
mod error;
mod history;
mod kv;
mod lake;
mod leases;
mod migrations;
mod outbox;
mod postgres;
mod records;
mod rule_state;
mod sources;
mod sql;
mod sqlite;
mod store;
mod types;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};

use iota_alerts::RuleErrorRecord;

pub use error::StoreError;
pub use rule_state::StoreRuleState;
pub use types::{
    AlertDetail, AlertQuery, AlertState, AlertSummary, Attempt, AttemptOutcome, CommitOutcome,
    CommitSummary, CommitUnit, Delivery, DeliveryCounts, DeliveryRecord, DeliveryStatus, KvValue,
    LakeCommit, LakeFlush, MatchRecord, ObjectOutcome, ObjectProgress, ObjectRecord, OutboxStatus,
    PollReport, PruneReport, RetryTarget, RuleErrorQuery, Sample, SourceConfig, SourceHealth,
    SourceRecord, MAX_SAMPLES,
};

/// Opens the store at `location`: a `postgres://` or `postgresql://` URL, else the path of a
/// SQLite file (created if missing). Brings the schema up to date before returning.
pub fn open(location: &str) -> Result<Box<dyn StateStore>, StoreError> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        Ok(Box::new(store::Store::new(postgres::Postgres::connect(
            location,
        )?)?))
    } else {
        Ok(Box::new(store::Store::new(sqlite::Sqlite::open(
            Path::new(location),
        )?)?))
    }
}

/// Everything iota keeps between runs. Each method is one transaction.
pub trait StateStore: Send + Sync {
    /// The store as shown in logs and errors: the SQLite file, or the PostgreSQL URL without
    /// its password.
    fn name(&self) -> &str;

    /// Checks that the database answers (readiness probe).
    fn ping(&self) -> Result<(), StoreError>;

    /// Applies a unit of work in one transaction (see the crate documentation). A unit whose
    /// progress records a failed object must carry no matches and no rule errors: the object
    /// will be processed again from the start.
    fn commit(&self, unit: &CommitUnit) -> Result<CommitOutcome, StoreError>;

    /// Leases up to `limit` pending deliveries to `output` that are due at `now`, oldest
    /// first, until `now + lease` (longer than one delivery attempt can take).
    fn claim_deliveries(
        &self,
        output: &str,
        limit: u32,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// Records a successful attempt; the delivery is never handed out again. No effect on a
    /// delivery that is not pending (e.g. recorded already).
    fn delivery_succeeded(&self, id: i64) -> Result<(), StoreError>;

    /// Records a failed attempt: the delivery is due again at `retry_at`, or, with `None`,
    /// marked failed (visible with `failed_only`, re-queued by [`StateStore::retry`]).
    fn delivery_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;

    /// The pending deliveries per output that has any, in output order.
    fn outbox_status(&self) -> Result<Vec<OutboxStatus>, StoreError>;

    /// Makes failed deliveries pending and due now, with their attempt count reset; returns
    /// how many.
    fn retry(&self, target: RetryTarget<'_>) -> Result<u64, StoreError>;

    /// Alerts (and signals if asked) newest first.
    fn list_alerts(&self, query: &AlertQuery) -> Result<Vec<AlertSummary>, StoreError>;

    /// An alert or signal with its samples and deliveries; `None` for an unknown id or a
    /// window below its threshold.
    fn get_alert(&self, id: &str) -> Result<Option<AlertDetail>, StoreError>;

    /// Recorded rule errors, newest first.
    fn list_rule_errors(&self, query: &RuleErrorQuery) -> Result<Vec<RuleErrorRecord>, StoreError>;

    /// Rule errors per rule id (`None`: not tied to a rule), most frequent first.
    fn rule_error_counts(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<(Option<String>, u64)>, StoreError>;

    /// Retention: deletes alert windows not updated since `older_than` (with their samples
    /// and deliveries; never one with a pending delivery), rule errors and object records
    /// older than that, and rule state expired at `now`.
    fn prune(
        &self,
        older_than: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<PruneReport, StoreError>;

    fn object_state(
        &self,
        source: &str,
        key: &str,
        etag: &str,
    ) -> Result<Option<ObjectRecord>, StoreError>;

    /// The objects recorded for `source`, most recently updated first.
    fn list_objects(
        &self,
        source: &str,
        failed_only: bool,
    ) -> Result<Vec<ObjectRecord>, StoreError>;

    /// The value at `key`, `None` when missing or expired at `now`.
    fn kv_get(&self, key: &str, now: DateTime<Utc>) -> Result<Option<KvValue>, StoreError>;

    /// Replaces `key` with `value`, exactly as given: an empty set or a counter at 0 is stored
    /// (only the updates below delete a key they leave empty), and a dictionary's text is not
    /// checked (the protocol's `put`, see [`StoreRuleState`]).
    fn kv_put(
        &self,
        key: &str,
        value: &KvValue,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;

    /// Adds to the string set at `key` and returns the new set.
    fn kv_add_to_set(
        &self,
        key: &str,
        members: &BTreeSet<String>,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<BTreeSet<String>, StoreError>;

    /// Removes from the string set at `key` and returns the new set.
    fn kv_remove_from_set(
        &self,
        key: &str,
        members: &BTreeSet<String>,
        now: DateTime<Utc>,
    ) -> Result<BTreeSet<String>, StoreError>;

    /// Adds `by` to the counter at `key` (0 when missing or expired), atomically, and returns
    /// the new value.
    fn kv_increment(
        &self,
        key: &str,
        by: i64,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError>;

    /// Makes a live key expire at `expires_at`; no effect on a missing or expired one.
    fn kv_set_expiration(
        &self,
        key: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Deletes `key`.
    fn kv_reset(&self, key: &str) -> Result<(), StoreError>;

    /// Adds a trail source. A name that exists already is [`StoreError::SourceExists`],
    /// unless `replace`: then that source takes this configuration and keeps its creation
    /// time and its health.
    fn add_source(&self, config: &SourceConfig, replace: bool) -> Result<(), StoreError>;

    /// Every source with its health, by name.
    fn list_sources(&self) -> Result<Vec<SourceRecord>, StoreError>;

    /// The source of this name with its health; `None` for an unknown name.
    fn get_source(&self, name: &str) -> Result<Option<SourceRecord>, StoreError>;

    /// Removes a source and its health; false for an unknown name. The records of the objects
    /// it processed stay (they are keyed by bucket, see [`SourceConfig::object_source`]).
    fn remove_source(&self, name: &str) -> Result<bool, StoreError>;

    /// Records the outcome of one poll of source `name` ([`StoreError::UnknownSource`] when
    /// there is none): the last poll's times, error and failed objects replace the previous
    /// ones; a success sets the last success to `report.finished_at` (a failure leaves it);
    /// objects and events add up; the newest event time only moves forward.
    fn record_poll(&self, name: &str, report: &PollReport) -> Result<(), StoreError>;

    /// Takes or renews the lease `name` for `holder` until `now + ttl`: true when `holder`
    /// has it (it was free, expired, or already `holder`'s), false while another holder's
    /// lease runs. One job among replicas (e.g. the s3-poll lister) runs under it.
    fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Gives the lease `name` up if `holder` has it.
    fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;

    /// Records a flush of lake files as pending, before its files are written.
    fn lake_begin(&self, flush: &LakeFlush) -> Result<(), StoreError>;

    /// Commits `units` (the inputs whose events the flush's files hold, and any other units
    /// of the flush) and ends the pending flush `id`, in one transaction, unless an input was
    /// committed before or the flush is no longer pending (see [`LakeCommit`]).
    fn lake_commit(&self, id: &str, units: &[&CommitUnit]) -> Result<LakeCommit, StoreError>;

    /// Dooms the pending flushes that can no longer be committed (an input of theirs is
    /// committed, or they are older than any flush takes) and returns every doomed flush,
    /// whose files are to be deleted.
    fn lake_doomed(&self) -> Result<Vec<LakeFlush>, StoreError>;

    /// Drops the record of a flush whose files are deleted.
    fn lake_forget(&self, id: &str) -> Result<(), StoreError>;
}
