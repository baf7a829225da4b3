//! The rule state behind the caching helpers of SPEC 3.2 (string sets, counters, dictionaries
//! under string keys, with expiry), shared by every worker and replica.
//!
//! Semantics are those of python/iota_runtime/state.py: an expired key reads as missing; a
//! counter back at 0 and an emptied string set are deleted; an update keeps the key's expiry
//! unless it gives a new one; a plain `put` stores its value as given. Read-modify-write
//! operations hold a lock on the key for the transaction, so concurrent increments from any
//! number of processes add up.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::records::{from_json, to_json};
use crate::sql::{Failure, Tx, Value};
use crate::types::KvValue;

/// A live (unexpired) key.
struct Entry {
    value: KvValue,
    expires_us: Option<i64>,
}

fn kind_name(value: &KvValue) -> &'static str {
    match value {
        KvValue::Counter(_) => "counter",
        KvValue::StringSet(_) => "string set",
        KvValue::Dict(_) => "dictionary",
    }
}

fn load(tx: &mut dyn Tx, key: &str, now: DateTime<Utc>) -> Result<Option<Entry>, Failure> {
    let Some(mut row) = tx
        .query(
            "SELECT kind, counter, value, expires_us FROM kv
             WHERE key = $1 AND (expires_us IS NULL OR expires_us > $2)",
            &[key.into(), now.into()],
        )?
        .pop()
    else {
        return Ok(None);
    };
    let kind = row.text()?;
    let counter = row.opt_int()?;
    let text = row.opt_text()?;
    let value = match (kind.as_str(), counter, text) {
        ("counter", Some(n), _) => KvValue::Counter(n),
        ("string_set", _, Some(text)) => KvValue::StringSet(from_json(&text)?),
        ("dict", _, Some(text)) => KvValue::Dict(text),
        (kind, _, _) => {
            return Err(Failure::Corrupt(format!(
                "rule state key {key:?} of kind {kind:?} has no value"
            )))
        }
    };
    Ok(Some(Entry {
        value,
        expires_us: row.opt_int()?,
    }))
}

fn save(
    tx: &mut dyn Tx,
    key: &str,
    value: &KvValue,
    expires_us: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), Failure> {
    let (kind, counter, text) = match value {
        KvValue::Counter(n) => ("counter", Some(*n), None),
        KvValue::StringSet(members) => ("string_set", None, Some(to_json(members))),
        KvValue::Dict(json) => ("dict", None, Some(json.clone())),
    };
    tx.execute(
        "INSERT INTO kv (key, kind, counter, value, expires_us, updated_us)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, counter = excluded.counter,
             value = excluded.value, expires_us = excluded.expires_us,
             updated_us = excluded.updated_us",
        &[
            key.into(),
            kind.into(),
            counter.into(),
            text.into(),
            expires_us.into(),
            now.into(),
        ],
    )?;
    Ok(())
}

fn delete(tx: &mut dyn Tx, key: &str) -> Result<(), Failure> {
    tx.execute("DELETE FROM kv WHERE key = $1", &[key.into()])?;
    Ok(())
}

/// The live entry at `key` after checking it holds a `wanted`, with the key locked.
fn load_locked(
    tx: &mut dyn Tx,
    key: &str,
    wanted: &'static str,
    now: DateTime<Utc>,
) -> Result<Option<Entry>, Failure> {
    tx.lock_name(&format!("iota-state:kv:{key}"))?;
    let entry = load(tx, key, now)?;
    if let Some(entry) = &entry {
        let holds = kind_name(&entry.value);
        if holds != wanted {
            return Err(Failure::KvType {
                key: key.to_owned(),
                holds,
                wanted,
            });
        }
    }
    Ok(entry)
}

pub(crate) fn get(
    tx: &mut dyn Tx,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<KvValue>, Failure> {
    Ok(load(tx, key, now)?.map(|entry| entry.value))
}

/// Replaces `key` with `value`, as given: the protocol's `put` (and `state.py`'s) keeps an
/// empty set or a counter at 0, and leaves the dictionary text to the rule.
pub(crate) fn put(
    tx: &mut dyn Tx,
    key: &str,
    value: &KvValue,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), Failure> {
    save(
        tx,
        key,
        value,
        expires_at.map(|t| t.timestamp_micros()),
        now,
    )
}

pub(crate) fn add_to_set(
    tx: &mut dyn Tx,
    key: &str,
    members: &BTreeSet<String>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<BTreeSet<String>, Failure> {
    let (mut set, expires_us) = match load_locked(tx, key, "string set", now)? {
        Some(Entry {
            value: KvValue::StringSet(set),
            expires_us,
        }) => (set, expires_us),
        _ => (BTreeSet::new(), None),
    };
    set.extend(members.iter().cloned());
    let expires_us = expires_at.map(|t| t.timestamp_micros()).or(expires_us);
    if set.is_empty() {
        delete(tx, key)?;
    } else {
        save(tx, key, &KvValue::StringSet(set.clone()), expires_us, now)?;
    }
    Ok(set)
}

pub(crate) fn remove_from_set(
    tx: &mut dyn Tx,
    key: &str,
    members: &BTreeSet<String>,
    now: DateTime<Utc>,
) -> Result<BTreeSet<String>, Failure> {
    let Some(Entry {
        value: KvValue::StringSet(mut set),
        expires_us,
    }) = load_locked(tx, key, "string set", now)?
    else {
        return Ok(BTreeSet::new());
    };
    set.retain(|m| !members.contains(m));
    if set.is_empty() {
        delete(tx, key)?;
    } else {
        save(tx, key, &KvValue::StringSet(set.clone()), expires_us, now)?;
    }
    Ok(set)
}

pub(crate) fn increment(
    tx: &mut dyn Tx,
    key: &str,
    by: i64,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<i64, Failure> {
    let (count, expires_us) = match load_locked(tx, key, "counter", now)? {
        Some(Entry {
            value: KvValue::Counter(count),
            expires_us,
        }) => (count, expires_us),
        _ => (0, None),
    };
    let count = count.saturating_add(by);
    if count == 0 {
        delete(tx, key)?;
    } else {
        let expires_us = expires_at.map(|t| t.timestamp_micros()).or(expires_us);
        save(tx, key, &KvValue::Counter(count), expires_us, now)?;
    }
    Ok(count)
}

/// Sets the expiry of a live key; no effect on a missing or expired one.
pub(crate) fn set_expiration(
    tx: &mut dyn Tx,
    key: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), Failure> {
    tx.execute(
        "UPDATE kv SET expires_us = $2, updated_us = $3
         WHERE key = $1 AND (expires_us IS NULL OR expires_us > $3)",
        &[key.into(), expires_at.into(), Value::from(now)],
    )?;
    Ok(())
}

pub(crate) fn reset(tx: &mut dyn Tx, key: &str) -> Result<(), Failure> {
    delete(tx, key)
}
