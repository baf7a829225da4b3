//! [`Store`]: the one implementation of [`StateStore`], over any [`Backend`]. Each operation
//! is one transaction running the dialect-neutral logic of `commit`, `outbox`, `history`, `kv`
//! and `sources`; the backend only opens, retries and commits transactions.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};

use iota_alerts::RuleErrorRecord;

use crate::migrations::{self, Migration};
use crate::sql::{Failure, Tx};
use crate::types::{
    AlertDetail, AlertQuery, AlertSummary, CommitOutcome, CommitUnit, Delivery, KvValue,
    LakeCommit, LakeFlush, ObjectRecord, OutboxStatus, PollReport, PruneReport, RetryTarget,
    RuleErrorQuery, SourceConfig, SourceRecord,
};
use crate::{commit, history, kv, lake, leases, outbox, sources, StateStore, StoreError};

/// Whether a transaction writes. On SQLite a writing transaction takes the database's write
/// lock when it begins, so that it never has to upgrade a read lock (which can fail with
/// "database is locked" however long the busy timeout).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// A database that runs transactions.
pub(crate) trait Backend: Send + Sync {
    /// The store as named in errors and logs (never with a password).
    fn name(&self) -> &str;

    fn migrations(&self) -> &'static [Migration];

    /// Runs `work` in one transaction and commits it if `work` succeeds. `work` may run more
    /// than once when the database asks for a transaction to be retried.
    fn transaction<T>(
        &self,
        access: Access,
        work: &mut dyn FnMut(&mut dyn Tx) -> Result<T, Failure>,
    ) -> Result<T, Failure>;
}

pub(crate) struct Store<B> {
    backend: B,
}

impl<B: Backend> Store<B> {
    /// Wraps an opened backend, bringing its schema up to date.
    pub(crate) fn new(backend: B) -> Result<Self, StoreError> {
        let store = Store { backend };
        let migrations = store.backend.migrations();
        store.run("migrate", Access::Write, |tx| {
            migrations::migrate(tx, migrations, Utc::now())
        })?;
        Ok(store)
    }

    fn run<T>(
        &self,
        op: &'static str,
        access: Access,
        mut work: impl FnMut(&mut dyn Tx) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        self.backend
            .transaction(access, &mut work)
            .map_err(|failure| StoreError::new(self.backend.name(), op, failure))
    }
}

impl<B: Backend> StateStore for Store<B> {
    fn name(&self) -> &str {
        self.backend.name()
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.run("ping", Access::Read, |tx| {
            tx.query("SELECT 1", &[]).map(drop)
        })
    }

    fn commit(&self, unit: &CommitUnit) -> Result<CommitOutcome, StoreError> {
        let now = Utc::now();
        self.run("commit", Access::Write, |tx| commit::commit(tx, unit, now))
    }

    fn claim_deliveries(
        &self,
        output: &str,
        limit: u32,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.run("claim deliveries", Access::Write, |tx| {
            outbox::claim(tx, output, limit, now, lease)
        })
    }

    fn delivery_succeeded(&self, id: i64) -> Result<(), StoreError> {
        let now = Utc::now();
        self.run("record a delivery", Access::Write, |tx| {
            outbox::succeeded(tx, id, now)
        })
    }

    fn delivery_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        self.run("record a delivery failure", Access::Write, |tx| {
            outbox::failed(tx, id, error, retry_at, now)
        })
    }

    fn outbox_status(&self) -> Result<Vec<OutboxStatus>, StoreError> {
        self.run("read the outbox", Access::Read, outbox::status)
    }

    fn retry(&self, target: RetryTarget<'_>) -> Result<u64, StoreError> {
        let now = Utc::now();
        self.run("retry deliveries", Access::Write, |tx| {
            outbox::retry(tx, target, now)
        })
    }

    fn list_alerts(&self, query: &AlertQuery) -> Result<Vec<AlertSummary>, StoreError> {
        self.run("list alerts", Access::Read, |tx| {
            history::list_alerts(tx, query)
        })
    }

    fn get_alert(&self, id: &str) -> Result<Option<AlertDetail>, StoreError> {
        self.run("show an alert", Access::Read, |tx| {
            history::get_alert(tx, id)
        })
    }

    fn list_rule_errors(&self, query: &RuleErrorQuery) -> Result<Vec<RuleErrorRecord>, StoreError> {
        self.run("list rule errors", Access::Read, |tx| {
            history::list_rule_errors(tx, query)
        })
    }

    fn rule_error_counts(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<(Option<String>, u64)>, StoreError> {
        self.run("count rule errors", Access::Read, |tx| {
            history::rule_error_counts(tx, since)
        })
    }

    fn prune(
        &self,
        older_than: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<PruneReport, StoreError> {
        self.run("prune", Access::Write, |tx| {
            history::prune(tx, older_than, now)
        })
    }

    fn object_state(
        &self,
        source: &str,
        key: &str,
        etag: &str,
    ) -> Result<Option<ObjectRecord>, StoreError> {
        self.run("read object state", Access::Read, |tx| {
            history::object_state(tx, source, key, etag)
        })
    }

    fn list_objects(
        &self,
        source: &str,
        failed_only: bool,
    ) -> Result<Vec<ObjectRecord>, StoreError> {
        self.run("list objects", Access::Read, |tx| {
            history::list_objects(tx, source, failed_only)
        })
    }

    fn kv_get(&self, key: &str, now: DateTime<Utc>) -> Result<Option<KvValue>, StoreError> {
        self.run("read rule state", Access::Read, |tx| kv::get(tx, key, now))
    }

    fn kv_put(
        &self,
        key: &str,
        value: &KvValue,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        self.run("write rule state", Access::Write, |tx| {
            kv::put(tx, key, value, expires_at, now)
        })
    }

    fn kv_add_to_set(
        &self,
        key: &str,
        members: &BTreeSet<String>,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<BTreeSet<String>, StoreError> {
        self.run("write rule state", Access::Write, |tx| {
            kv::add_to_set(tx, key, members, expires_at, now)
        })
    }

    fn kv_remove_from_set(
        &self,
        key: &str,
        members: &BTreeSet<String>,
        now: DateTime<Utc>,
    ) -> Result<BTreeSet<String>, StoreError> {
        self.run("write rule state", Access::Write, |tx| {
            kv::remove_from_set(tx, key, members, now)
        })
    }

    fn kv_increment(
        &self,
        key: &str,
        by: i64,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        self.run("write rule state", Access::Write, |tx| {
            kv::increment(tx, key, by, expires_at, now)
        })
    }

    fn kv_set_expiration(
        &self,
        key: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.run("write rule state", Access::Write, |tx| {
            kv::set_expiration(tx, key, expires_at, now)
        })
    }

    fn kv_reset(&self, key: &str) -> Result<(), StoreError> {
        self.run("write rule state", Access::Write, |tx| kv::reset(tx, key))
    }

    fn add_source(&self, config: &SourceConfig, replace: bool) -> Result<(), StoreError> {
        let now = Utc::now();
        self.run("add a source", Access::Write, |tx| {
            sources::add(tx, config, replace, now)
        })
    }

    fn list_sources(&self) -> Result<Vec<SourceRecord>, StoreError> {
        self.run("list sources", Access::Read, sources::list)
    }

    fn get_source(&self, name: &str) -> Result<Option<SourceRecord>, StoreError> {
        self.run("show a source", Access::Read, |tx| sources::get(tx, name))
    }

    fn remove_source(&self, name: &str) -> Result<bool, StoreError> {
        self.run("remove a source", Access::Write, |tx| {
            sources::remove(tx, name)
        })
    }

    fn record_poll(&self, name: &str, report: &PollReport) -> Result<(), StoreError> {
        self.run("record a poll", Access::Write, |tx| {
            sources::record_poll(tx, name, report)
        })
    }

    fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.run("take a lease", Access::Write, |tx| {
            leases::acquire(tx, name, holder, ttl, now)
        })
    }

    fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.run("release a lease", Access::Write, |tx| {
            leases::release(tx, name, holder)
        })
    }

    fn lake_begin(&self, flush: &LakeFlush) -> Result<(), StoreError> {
        let now = Utc::now();
        self.run("record a lake flush", Access::Write, |tx| {
            lake::begin(tx, flush, now)
        })
    }

    fn lake_commit(&self, id: &str, units: &[&CommitUnit]) -> Result<LakeCommit, StoreError> {
        let now = Utc::now();
        self.run("commit a lake flush", Access::Write, |tx| {
            lake::commit(tx, id, units, now)
        })
    }

    fn lake_doomed(&self) -> Result<Vec<LakeFlush>, StoreError> {
        let now = Utc::now();
        self.run("find abandoned lake flushes", Access::Write, |tx| {
            lake::doom(tx, now)
        })
    }

    fn lake_forget(&self, id: &str) -> Result<(), StoreError> {
        self.run("forget a lake flush", Access::Write, |tx| {
            lake::delete(tx, id)
        })
    }
}
