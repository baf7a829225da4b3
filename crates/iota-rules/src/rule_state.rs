//! Rule state: what the caching helpers (`get_counter`, `add_to_string_set`, ...) read and
//! write, answered by iota for every worker (docs/WORKER_PROTOCOL.md, `state`). The
//! [`RuleState`] trait is the boundary: [`MemoryRuleState`] keeps the state of one run in
//! memory, and the persistent state store implements the same trait.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A stored value, in the protocol's spelling.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateValue {
    Counter(i64),
    Set(BTreeSet<String>),
    /// A JSON document, as text.
    Dict(String),
}

/// One operation a rule asked for. `expires_at` is absolute Unix time in seconds.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StateRequest {
    Get {
        key: String,
    },
    Put {
        key: String,
        value: StateValue,
        expires_at: Option<f64>,
    },
    Delete {
        key: String,
    },
    Increment {
        key: String,
        by: i64,
        expires_at: Option<f64>,
    },
    AddMembers {
        key: String,
        members: BTreeSet<String>,
        expires_at: Option<f64>,
    },
    RemoveMembers {
        key: String,
        members: BTreeSet<String>,
    },
    Expire {
        key: String,
        expires_at: f64,
    },
}

/// Where rule state lives. Implementations must make each request atomic: workers (and
/// replicas) call concurrently.
pub trait RuleState: Send + Sync {
    /// Carries out `request`; the value is what the protocol answers (see the table in
    /// docs/WORKER_PROTOCOL.md), the error a message for the rule.
    fn handle(&self, request: &StateRequest) -> Result<Value, String>;
}

/// Rule state kept in memory for one run, shared by its workers.
#[derive(Default)]
pub struct MemoryRuleState {
    items: Mutex<HashMap<String, (StateValue, Option<f64>)>>,
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl RuleState for MemoryRuleState {
    fn handle(&self, request: &StateRequest) -> Result<Value, String> {
        let mut items = self.items.lock().unwrap();
        let now = now();
        let key = match request {
            StateRequest::Get { key }
            | StateRequest::Put { key, .. }
            | StateRequest::Delete { key }
            | StateRequest::Increment { key, .. }
            | StateRequest::AddMembers { key, .. }
            | StateRequest::RemoveMembers { key, .. }
            | StateRequest::Expire { key, .. } => key,
        };
        if items
            .get(key)
            .is_some_and(|(_, exp)| exp.is_some_and(|e| e <= now))
        {
            items.remove(key);
        }
        match request {
            StateRequest::Get { key } => Ok(match items.get(key) {
                Some((value, _)) => serde_json::to_value(value).expect("state value serialises"),
                None => Value::Null,
            }),
            StateRequest::Put {
                key,
                value,
                expires_at,
            } => {
                items.insert(key.clone(), (value.clone(), *expires_at));
                Ok(Value::Null)
            }
            StateRequest::Delete { key } => {
                items.remove(key);
                Ok(Value::Null)
            }
            StateRequest::Increment {
                key,
                by,
                expires_at,
            } => {
                let entry = items
                    .entry(key.clone())
                    .or_insert((StateValue::Counter(0), None));
                let StateValue::Counter(count) = &mut entry.0 else {
                    return Err(format!("state key {key:?} does not hold a counter"));
                };
                *count += by;
                let count = *count;
                if expires_at.is_some() {
                    entry.1 = *expires_at;
                }
                // A counter back at zero is gone, as in the in-process store.
                if count == 0 {
                    items.remove(key);
                }
                Ok(json!(count))
            }
            StateRequest::AddMembers {
                key,
                members,
                expires_at,
            } => {
                let entry = items
                    .entry(key.clone())
                    .or_insert((StateValue::Set(BTreeSet::new()), None));
                let StateValue::Set(set) = &mut entry.0 else {
                    return Err(format!("state key {key:?} does not hold a string set"));
                };
                set.extend(members.iter().cloned());
                let result = json!(set);
                if expires_at.is_some() {
                    entry.1 = *expires_at;
                }
                if set.is_empty() {
                    items.remove(key);
                }
                Ok(result)
            }
            StateRequest::RemoveMembers { key, members } => {
                let Some(entry) = items.get_mut(key) else {
                    return Ok(json!([]));
                };
                let StateValue::Set(set) = &mut entry.0 else {
                    return Err(format!("state key {key:?} does not hold a string set"));
                };
                set.retain(|m| !members.contains(m));
                let result = json!(set);
                if set.is_empty() {
                    items.remove(key);
                }
                Ok(result)
            }
            StateRequest::Expire { key, expires_at } => {
                if let Some(entry) = items.get_mut(key) {
                    entry.1 = Some(*expires_at);
                }
                Ok(Value::Null)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: &str) -> StateRequest {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn counters_sets_dicts_and_expiry() {
        let state = MemoryRuleState::default();
        let inc = request(r#"{"op":"increment","key":"c","by":2,"expires_at":null}"#);
        assert_eq!(state.handle(&inc).unwrap(), json!(2));
        assert_eq!(state.handle(&inc).unwrap(), json!(4));
        assert_eq!(
            state.handle(&request(r#"{"op":"get","key":"c"}"#)).unwrap(),
            json!({"counter": 4})
        );
        let add =
            request(r#"{"op":"add_members","key":"s","members":["b","a"],"expires_at":null}"#);
        assert_eq!(state.handle(&add).unwrap(), json!(["a", "b"]));
        assert!(state
            .handle(&request(
                r#"{"op":"increment","key":"s","by":1,"expires_at":null}"#
            ))
            .is_err());
        let removed = request(r#"{"op":"remove_members","key":"s","members":["a","b"]}"#);
        assert_eq!(state.handle(&removed).unwrap(), json!([]));
        assert_eq!(
            state.handle(&request(r#"{"op":"get","key":"s"}"#)).unwrap(),
            Value::Null
        );
        let put =
            request(r#"{"op":"put","key":"d","value":{"dict":"{\"a\":1}"},"expires_at":1.0}"#);
        state.handle(&put).unwrap();
        assert_eq!(
            state.handle(&request(r#"{"op":"get","key":"d"}"#)).unwrap(),
            Value::Null,
            "expired in 1970"
        );
    }

    #[test]
    fn increments_from_many_threads_add_up() {
        let state = MemoryRuleState::default();
        let inc = request(r#"{"op":"increment","key":"c","by":1,"expires_at":null}"#);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..250 {
                        state.handle(&inc).unwrap();
                    }
                });
            }
        });
        assert_eq!(
            state.handle(&request(r#"{"op":"get","key":"c"}"#)).unwrap(),
            json!({"counter": 1000})
        );
    }
}
