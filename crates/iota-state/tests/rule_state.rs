//! `StoreRuleState` answers the caching helpers' requests exactly like `MemoryRuleState`, the
//! reference of docs/WORKER_PROTOCOL.md: every request goes to both and the answers must be
//! equal (an error on both sides, the store's naming the store). Run on SQLite (a temporary
//! file) and on PostgreSQL (a database created on 127.0.0.1:5432 for each test and dropped
//! afterwards; skipped with a notice when unreachable, a failure when CI=true).

mod common;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use iota_rules::{MemoryRuleState, RuleState, StateRequest};
use iota_state::StoreRuleState;

use common::{on_both_backends, StoreFixture};

on_both_backends!(
    every_request_answers_as_in_memory,
    updates_keep_or_replace_expiry_as_in_memory,
    concurrent_increments_add_up,
);

fn request(frame: Value) -> StateRequest {
    serde_json::from_value(frame).expect("a protocol request")
}

// The protocol's request frames (docs/WORKER_PROTOCOL.md); `expires_at` is Unix seconds.

fn get(key: &str) -> Value {
    json!({"op": "get", "key": key})
}

fn put(key: &str, value: Value, expires_at: Option<f64>) -> Value {
    json!({"op": "put", "key": key, "value": value, "expires_at": expires_at})
}

fn delete(key: &str) -> Value {
    json!({"op": "delete", "key": key})
}

fn increment(key: &str, by: i64, expires_at: Option<f64>) -> Value {
    json!({"op": "increment", "key": key, "by": by, "expires_at": expires_at})
}

fn add_members(key: &str, members: &[&str], expires_at: Option<f64>) -> Value {
    json!({"op": "add_members", "key": key, "members": members, "expires_at": expires_at})
}

fn remove_members(key: &str, members: &[&str]) -> Value {
    json!({"op": "remove_members", "key": key, "members": members})
}

fn expire(key: &str, expires_at: f64) -> Value {
    json!({"op": "expire", "key": key, "expires_at": expires_at})
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The reference and the store, sent the same requests in the same order.
struct Lockstep {
    memory: MemoryRuleState,
    store: StoreRuleState,
    store_name: String,
}

impl Lockstep {
    fn new(fx: &StoreFixture) -> Lockstep {
        let store = fx.open();
        Lockstep {
            memory: MemoryRuleState::default(),
            store_name: store.name().to_owned(),
            store: StoreRuleState::new(Arc::from(store)),
        }
    }

    /// Sends `frame` to both; returns the store's answer once checked against the memory's.
    #[track_caller]
    fn send(&self, frame: Value) -> Result<Value, String> {
        let request = request(frame);
        let expected = self.memory.handle(&request);
        let answer = self.store.handle(&request);
        match (&expected, &answer) {
            (Ok(expected), Ok(answer)) => assert_eq!(answer, expected, "{request:?}"),
            (Err(_), Err(message)) => assert!(
                message.starts_with(&format!("state store {}: ", self.store_name)),
                "{request:?}: the error should name the store: {message}"
            ),
            _ => panic!("{request:?}: memory answered {expected:?}, the store {answer:?}"),
        }
        answer
    }

    /// Sends `frame` and checks the (common) answer is `value`.
    #[track_caller]
    fn expect(&self, frame: Value, value: Value) {
        assert_eq!(self.send(frame).as_ref(), Ok(&value));
    }

    #[track_caller]
    fn expect_error(&self, frame: Value) {
        assert!(self.send(frame).is_err());
    }
}

fn every_request_answers_as_in_memory(fx: &StoreFixture) {
    let both = Lockstep::new(fx);
    let future = unix_now() + 3600.0;
    let past = 1.0;

    // Counters: a counter back at 0 is gone.
    both.expect(get("c"), Value::Null);
    both.expect(increment("c", 2, None), json!(2));
    both.expect(increment("c", 3, Some(future)), json!(5));
    both.expect(get("c"), json!({"counter": 5}));
    both.expect(increment("c", -5, None), json!(0));
    both.expect(get("c"), Value::Null);

    // Put stores the value as given, a counter at 0 or an empty set included.
    both.expect(put("k", json!({"counter": 7}), Some(future)), Value::Null);
    both.expect(get("k"), json!({"counter": 7}));
    both.expect(increment("k", 1, None), json!(8));
    both.expect(put("zero", json!({"counter": 0}), None), Value::Null);
    both.expect(get("zero"), json!({"counter": 0}));
    both.expect(increment("zero", 0, None), json!(0));
    both.expect(get("zero"), Value::Null);
    both.expect(put("p", json!({"set": ["y", "x"]}), None), Value::Null);
    both.expect(get("p"), json!({"set": ["x", "y"]}));
    both.expect(put("empty", json!({"set": []}), None), Value::Null);
    both.expect(get("empty"), json!({"set": []}));
    both.expect(add_members("empty", &[], None), json!([]));
    both.expect(get("empty"), Value::Null);

    // String sets: answered sorted; an emptied set is gone.
    both.expect(add_members("s", &["b", "a"], None), json!(["a", "b"]));
    both.expect(
        add_members("s", &["c"], Some(future)),
        json!(["a", "b", "c"]),
    );
    both.expect(get("s"), json!({"set": ["a", "b", "c"]}));
    both.expect(remove_members("s", &["a", "x"]), json!(["b", "c"]));
    both.expect(remove_members("missing", &["a"]), json!([]));
    both.expect(remove_members("s", &["b", "c"]), json!([]));
    both.expect(get("s"), Value::Null);
    both.expect(add_members("none", &[], None), json!([]));
    both.expect(get("none"), Value::Null);

    // Dictionaries: the text comes back as it was put.
    let text = r#"{"user": "alice", "n": 1}"#;
    both.expect(put("d", json!({"dict": text}), None), Value::Null);
    both.expect(get("d"), json!({"dict": text}));
    both.expect(put("list", json!({"dict": "[1, 2]"}), None), Value::Null);
    both.expect(get("list"), json!({"dict": "[1, 2]"}));

    // Kinds do not mix, and a refused request changes nothing.
    both.expect_error(increment("p", 1, None));
    both.expect_error(increment("d", 1, Some(future)));
    both.expect_error(add_members("k", &["a"], None));
    both.expect_error(remove_members("d", &["a"]));
    both.expect(get("k"), json!({"counter": 8}));
    both.expect(get("p"), json!({"set": ["x", "y"]}));
    both.expect(get("d"), json!({"dict": text}));

    // Delete, of a key or of nothing.
    both.expect(delete("k"), Value::Null);
    both.expect(get("k"), Value::Null);
    both.expect(delete("missing"), Value::Null);

    // Expire: sets the expiry of a live key, no effect on a missing or expired one.
    both.expect(expire("d", future), Value::Null);
    both.expect(get("d"), json!({"dict": text}));
    both.expect(expire("missing", future), Value::Null);
    both.expect(get("missing"), Value::Null);
    both.expect(expire("d", past), Value::Null);
    both.expect(get("d"), Value::Null);
    both.expect(expire("d", future), Value::Null);
    both.expect(get("d"), Value::Null);

    // A key whose expires_at is past reads as missing; updates start again from nothing.
    both.expect(put("old", json!({"dict": "{}"}), Some(past)), Value::Null);
    both.expect(get("old"), Value::Null);
    both.expect(increment("n", 4, Some(past)), json!(4));
    both.expect(get("n"), Value::Null);
    both.expect(increment("n", 1, None), json!(1));
    both.expect(add_members("m", &["a"], Some(past)), json!(["a"]));
    both.expect(get("m"), Value::Null);
    both.expect(add_members("m", &["b"], None), json!(["b"]));
    both.expect(put("r", json!({"set": ["a"]}), Some(past)), Value::Null);
    both.expect(remove_members("r", &["b"]), json!([]));
    // An expired key of another kind is not in the way.
    both.expect(put("x", json!({"set": ["a"]}), Some(past)), Value::Null);
    both.expect(increment("x", 1, None), json!(1));

    // Expiry times beyond what the store can represent keep their meaning.
    both.expect(put("far", json!({"counter": 1}), Some(1e300)), Value::Null);
    both.expect(get("far"), json!({"counter": 1}));
    both.expect(
        put("long_ago", json!({"counter": 1}), Some(-1e300)),
        Value::Null,
    );
    both.expect(get("long_ago"), Value::Null);
}

fn updates_keep_or_replace_expiry_as_in_memory(fx: &StoreFixture) {
    let both = Lockstep::new(fx);
    let soon = unix_now() + 2.0;
    let future = soon + 3600.0;

    both.expect(increment("kept", 1, Some(soon)), json!(1));
    both.expect(increment("kept", 1, None), json!(2));
    both.expect(increment("renewed", 1, Some(soon)), json!(1));
    both.expect(increment("renewed", 1, Some(future)), json!(2));
    both.expect(
        add_members("kept_set", &["a", "b"], Some(soon)),
        json!(["a", "b"]),
    );
    both.expect(
        add_members("kept_set", &["c"], None),
        json!(["a", "b", "c"]),
    );
    both.expect(remove_members("kept_set", &["a"]), json!(["b", "c"]));
    both.expect(add_members("renewed_set", &["a"], Some(soon)), json!(["a"]));
    both.expect(
        add_members("renewed_set", &["b"], Some(future)),
        json!(["a", "b"]),
    );
    // Put replaces the expiry too, with none when it gives none.
    both.expect(
        put("replaced", json!({"counter": 1}), Some(soon)),
        Value::Null,
    );
    both.expect(put("replaced", json!({"counter": 2}), None), Value::Null);
    both.expect(put("expired", json!({"dict": "{}"}), None), Value::Null);
    both.expect(expire("expired", soon), Value::Null);

    thread::sleep(Duration::from_secs_f64(soon + 0.5 - unix_now()));
    both.expect(get("kept"), Value::Null);
    both.expect(get("renewed"), json!({"counter": 2}));
    both.expect(get("kept_set"), Value::Null);
    both.expect(get("renewed_set"), json!({"set": ["a", "b"]}));
    both.expect(get("replaced"), json!({"counter": 2}));
    both.expect(get("expired"), Value::Null);
}

fn concurrent_increments_add_up(fx: &StoreFixture) {
    const THREADS: usize = 8;
    const INCREMENTS: usize = 200;
    // Two handles on the same database, each with its own connections, like two replicas.
    let handles = [
        StoreRuleState::new(Arc::from(fx.open())),
        StoreRuleState::new(Arc::from(fx.open())),
    ];
    let memory = MemoryRuleState::default();
    let one_more = request(increment("hits", 1, None));
    let mut counts: Vec<i64> = thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|thread| {
                let (state, memory, one_more) = (&handles[thread % 2], &memory, &one_more);
                s.spawn(move || {
                    (0..INCREMENTS)
                        .map(|_| {
                            memory.handle(one_more).unwrap();
                            state.handle(one_more).unwrap().as_i64().unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap())
            .collect()
    });
    // Every increment saw the one before it: the answers are 1..=1600, each once.
    counts.sort_unstable();
    let total = (THREADS * INCREMENTS) as i64;
    assert_eq!(counts, (1..=total).collect::<Vec<_>>());
    let read = request(get("hits"));
    let expected = memory.handle(&read);
    assert_eq!(expected, Ok(json!({"counter": total})));
    for handle in &handles {
        assert_eq!(handle.handle(&read), expected);
    }
}
