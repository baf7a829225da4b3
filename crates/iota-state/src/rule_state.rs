//! [`StoreRuleState`]: the rule state of the caching helpers kept in the state store, so that
//! every worker and replica shares it. It owns the translation of the protocol's `state`
//! requests (docs/WORKER_PROTOCOL.md) onto the store's `kv_*` operations; the answers are
//! those of [`iota_rules::MemoryRuleState`], the reference, except that errors are the
//! store's (naming it) rather than the in-memory wording.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use iota_rules::{RuleState, StateRequest, StateValue};

use crate::{KvValue, StateStore, StoreError};

/// Rule state in a [`StateStore`]. Each request is one store transaction, so handles on the
/// same database (threads, processes, replicas) see each other's updates atomically.
pub struct StoreRuleState {
    store: Arc<dyn StateStore>,
}

impl StoreRuleState {
    pub fn new(store: Arc<dyn StateStore>) -> Self {
        StoreRuleState { store }
    }

    fn answer(&self, request: &StateRequest) -> Result<Value, StoreError> {
        let store = &*self.store;
        let now = Utc::now();
        Ok(match request {
            StateRequest::Get { key } => match store.kv_get(key, now)? {
                Some(value) => {
                    serde_json::to_value(protocol_value(value)).expect("state value serialises")
                }
                None => Value::Null,
            },
            StateRequest::Put {
                key,
                value,
                expires_at,
            } => {
                store.kv_put(key, &stored_value(value), expires_at.map(expiry_time))?;
                Value::Null
            }
            StateRequest::Delete { key } => {
                store.kv_reset(key)?;
                Value::Null
            }
            StateRequest::Increment {
                key,
                by,
                expires_at,
            } => json!(store.kv_increment(key, *by, expires_at.map(expiry_time), now)?),
            StateRequest::AddMembers {
                key,
                members,
                expires_at,
            } => json!(store.kv_add_to_set(key, members, expires_at.map(expiry_time), now)?),
            StateRequest::RemoveMembers { key, members } => {
                json!(store.kv_remove_from_set(key, members, now)?)
            }
            StateRequest::Expire { key, expires_at } => {
                store.kv_set_expiration(key, expiry_time(*expires_at), now)?;
                Value::Null
            }
        })
    }
}

impl RuleState for StoreRuleState {
    fn handle(&self, request: &StateRequest) -> Result<Value, String> {
        self.answer(request).map_err(|error| error.to_string())
    }
}

fn protocol_value(value: KvValue) -> StateValue {
    match value {
        KvValue::Counter(count) => StateValue::Counter(count),
        KvValue::StringSet(members) => StateValue::Set(members),
        KvValue::Dict(json) => StateValue::Dict(json),
    }
}

fn stored_value(value: &StateValue) -> KvValue {
    match value {
        StateValue::Counter(count) => KvValue::Counter(*count),
        StateValue::Set(members) => KvValue::StringSet(members.clone()),
        StateValue::Dict(json) => KvValue::Dict(json.clone()),
    }
}

/// The protocol's absolute Unix seconds as a time. Times beyond chrono's range are clamped to
/// its ends, which the store still orders correctly: a key then expires never (or at once),
/// as in memory. NaN never compares as past in memory, so it never expires either.
fn expiry_time(unix_seconds: f64) -> DateTime<Utc> {
    if unix_seconds.is_nan() {
        return DateTime::<Utc>::MAX_UTC;
    }
    // `as` saturates, and the clamp below catches what saturation leaves out of range.
    let micros = (unix_seconds * 1e6).round() as i64;
    DateTime::from_timestamp_micros(micros).unwrap_or(if micros > 0 {
        DateTime::<Utc>::MAX_UTC
    } else {
        DateTime::<Utc>::MIN_UTC
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_times_keep_their_order_at_the_ends_of_the_range() {
        assert_eq!(
            expiry_time(1_700_000_000.25),
            DateTime::from_timestamp_micros(1_700_000_000_250_000).unwrap()
        );
        assert_eq!(expiry_time(1e300), DateTime::<Utc>::MAX_UTC);
        assert_eq!(expiry_time(f64::INFINITY), DateTime::<Utc>::MAX_UTC);
        assert_eq!(expiry_time(f64::NAN), DateTime::<Utc>::MAX_UTC);
        assert_eq!(expiry_time(-1e300), DateTime::<Utc>::MIN_UTC);
        // Both ends fit the store's microsecond column.
        assert!(DateTime::<Utc>::MAX_UTC.timestamp_micros() > 0);
        assert!(DateTime::<Utc>::MIN_UTC.timestamp_micros() < 0);
    }
}
