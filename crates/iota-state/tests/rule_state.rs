//! `StoreRuleState` answers the caching helpers' requests exactly like `MemoryRuleState`, the
//! reference of docs/WORKER_PROTOCOL.md: every request goes to both and the answers must be
//! equal (an error on both sides, the store's naming the store). Run on SQLite (a temporary
//! file) and on PostgreSQL (a database created on 127.0.0.1:5432 for each test and dropped
//! afterwards; skipped with a notice when unreachable, a failure when CI=true).

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use iota_rules::{MemoryRuleState, RuleState, StateRequest};
use iota_state::{StateStore, StoreRuleState};

/// The server's maintenance database, where test databases are created and dropped.
/// IOTA_TEST_POSTGRES_URL overrides it (same form, ending in `/<database>`).
fn admin_url() -> String {
    std::env::var("IOTA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn admin() -> Result<::postgres::Client, ::postgres::Error> {
    let mut config: ::postgres::Config = admin_url().parse()?;
    config.connect_timeout(Duration::from_secs(3));
    config.connect(::postgres::NoTls)
}

/// A fresh, empty store location for one test.
struct Fixture {
    location: String,
    /// Keeps the SQLite file's directory until the test ends.
    _dir: Option<tempfile::TempDir>,
    /// The PostgreSQL database to drop when the test ends.
    database: Option<String>,
}

impl Fixture {
    fn sqlite() -> Fixture {
        let dir = tempfile::tempdir().expect("temporary directory");
        Fixture {
            location: dir.path().join("state.db").display().to_string(),
            _dir: Some(dir),
            database: None,
        }
    }

    /// `None` when PostgreSQL is unreachable and this is not CI.
    fn postgres(test: &str) -> Option<Fixture> {
        let mut admin = match admin() {
            Ok(client) => client,
            Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("PostgreSQL at {} is required on CI: {e}", admin_url())
            }
            Err(e) => {
                // Straight to the stderr handle: the test harness captures eprintln!.
                let _ = writeln!(
                    std::io::stderr(),
                    "\n*** SKIPPED {test} on PostgreSQL: {} unreachable ({e}) ***\n",
                    admin_url()
                );
                return None;
            }
        };
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let database = format!(
            "iota_test_rule_state_{}_{}_{nanos}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        admin
            .batch_execute(&format!("CREATE DATABASE {database}"))
            .expect("create the test database");
        Some(Fixture {
            location: format!("{}/{database}", admin_url().rsplit_once('/').unwrap().0),
            _dir: None,
            database: Some(database),
        })
    }

    fn open(&self) -> Arc<dyn StateStore> {
        Arc::from(iota_state::open(&self.location).expect("open the store"))
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(database) = &self.database {
            if let Ok(mut admin) = admin() {
                // FORCE: the pools of the test's stores may still hold connections.
                let _ = admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
            }
        }
    }
}

/// Runs each test function against SQLite and against PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(&super::Fixture::sqlite()); } )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    if let Some(fixture) = super::Fixture::postgres(stringify!($name)) {
                        super::$name(&fixture);
                    }
                }
            )*
        }
    };
}

on_both_backends!(
    every_request_answers_as_in_memory,
    updates_keep_or_replace_expiry_as_in_memory,
    concurrent_increments_add_up,
);

fn request(frame: Value) -> StateRequest {
    serde_json::from_value(frame).expect("a protocol request")
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
    fn new(fx: &Fixture) -> Lockstep {
        let store = fx.open();
        Lockstep {
            memory: MemoryRuleState::default(),
            store_name: store.name().to_owned(),
            store: StoreRuleState::new(store),
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

fn every_request_answers_as_in_memory(fx: &Fixture) {
    let both = Lockstep::new(fx);
    let future = unix_now() + 3600.0;
    let past = 1.0;
    let get = |key: &str| json!({"op": "get", "key": key});

    // Counters: a counter back at 0 is gone.
    both.expect(get("c"), Value::Null);
    both.expect(
        json!({"op": "increment", "key": "c", "by": 2, "expires_at": null}),
        json!(2),
    );
    both.expect(
        json!({"op": "increment", "key": "c", "by": 3, "expires_at": future}),
        json!(5),
    );
    both.expect(get("c"), json!({"counter": 5}));
    both.expect(
        json!({"op": "increment", "key": "c", "by": -5, "expires_at": null}),
        json!(0),
    );
    both.expect(get("c"), Value::Null);

    // Put stores the value as given, a counter at 0 or an empty set included.
    both.expect(
        json!({"op": "put", "key": "k", "value": {"counter": 7}, "expires_at": future}),
        Value::Null,
    );
    both.expect(get("k"), json!({"counter": 7}));
    both.expect(
        json!({"op": "increment", "key": "k", "by": 1, "expires_at": null}),
        json!(8),
    );
    both.expect(
        json!({"op": "put", "key": "zero", "value": {"counter": 0}, "expires_at": null}),
        Value::Null,
    );
    both.expect(get("zero"), json!({"counter": 0}));
    both.expect(
        json!({"op": "increment", "key": "zero", "by": 0, "expires_at": null}),
        json!(0),
    );
    both.expect(get("zero"), Value::Null);
    both.expect(
        json!({"op": "put", "key": "p", "value": {"set": ["y", "x"]}, "expires_at": null}),
        Value::Null,
    );
    both.expect(get("p"), json!({"set": ["x", "y"]}));
    both.expect(
        json!({"op": "put", "key": "empty", "value": {"set": []}, "expires_at": null}),
        Value::Null,
    );
    both.expect(get("empty"), json!({"set": []}));
    both.expect(
        json!({"op": "add_members", "key": "empty", "members": [], "expires_at": null}),
        json!([]),
    );
    both.expect(get("empty"), Value::Null);

    // String sets: answered sorted; an emptied set is gone.
    both.expect(
        json!({"op": "add_members", "key": "s", "members": ["b", "a"], "expires_at": null}),
        json!(["a", "b"]),
    );
    both.expect(
        json!({"op": "add_members", "key": "s", "members": ["c"], "expires_at": future}),
        json!(["a", "b", "c"]),
    );
    both.expect(get("s"), json!({"set": ["a", "b", "c"]}));
    both.expect(
        json!({"op": "remove_members", "key": "s", "members": ["a", "x"]}),
        json!(["b", "c"]),
    );
    both.expect(
        json!({"op": "remove_members", "key": "missing", "members": ["a"]}),
        json!([]),
    );
    both.expect(
        json!({"op": "remove_members", "key": "s", "members": ["b", "c"]}),
        json!([]),
    );
    both.expect(get("s"), Value::Null);
    both.expect(
        json!({"op": "add_members", "key": "none", "members": [], "expires_at": null}),
        json!([]),
    );
    both.expect(get("none"), Value::Null);

    // Dictionaries: the text comes back as it was put.
    let text = r#"{"user": "alice", "n": 1}"#;
    both.expect(
        json!({"op": "put", "key": "d", "value": {"dict": text}, "expires_at": null}),
        Value::Null,
    );
    both.expect(get("d"), json!({"dict": text}));
    both.expect(
        json!({"op": "put", "key": "list", "value": {"dict": "[1, 2]"}, "expires_at": null}),
        Value::Null,
    );
    both.expect(get("list"), json!({"dict": "[1, 2]"}));

    // Kinds do not mix, and a refused request changes nothing.
    both.expect_error(json!({"op": "increment", "key": "p", "by": 1, "expires_at": null}));
    both.expect_error(json!({"op": "increment", "key": "d", "by": 1, "expires_at": future}));
    both.expect_error(
        json!({"op": "add_members", "key": "k", "members": ["a"], "expires_at": null}),
    );
    both.expect_error(json!({"op": "remove_members", "key": "d", "members": ["a"]}));
    both.expect(get("k"), json!({"counter": 8}));
    both.expect(get("p"), json!({"set": ["x", "y"]}));
    both.expect(get("d"), json!({"dict": text}));

    // Delete, of a key or of nothing.
    both.expect(json!({"op": "delete", "key": "k"}), Value::Null);
    both.expect(get("k"), Value::Null);
    both.expect(json!({"op": "delete", "key": "missing"}), Value::Null);

    // Expire: sets the expiry of a live key, no effect on a missing or expired one.
    both.expect(
        json!({"op": "expire", "key": "d", "expires_at": future}),
        Value::Null,
    );
    both.expect(get("d"), json!({"dict": text}));
    both.expect(
        json!({"op": "expire", "key": "missing", "expires_at": future}),
        Value::Null,
    );
    both.expect(get("missing"), Value::Null);
    both.expect(
        json!({"op": "expire", "key": "d", "expires_at": past}),
        Value::Null,
    );
    both.expect(get("d"), Value::Null);
    both.expect(
        json!({"op": "expire", "key": "d", "expires_at": future}),
        Value::Null,
    );
    both.expect(get("d"), Value::Null);

    // A key whose expires_at is past reads as missing; updates start again from nothing.
    both.expect(
        json!({"op": "put", "key": "old", "value": {"dict": "{}"}, "expires_at": past}),
        Value::Null,
    );
    both.expect(get("old"), Value::Null);
    both.expect(
        json!({"op": "increment", "key": "n", "by": 4, "expires_at": past}),
        json!(4),
    );
    both.expect(get("n"), Value::Null);
    both.expect(
        json!({"op": "increment", "key": "n", "by": 1, "expires_at": null}),
        json!(1),
    );
    both.expect(
        json!({"op": "add_members", "key": "m", "members": ["a"], "expires_at": past}),
        json!(["a"]),
    );
    both.expect(get("m"), Value::Null);
    both.expect(
        json!({"op": "add_members", "key": "m", "members": ["b"], "expires_at": null}),
        json!(["b"]),
    );
    both.expect(
        json!({"op": "put", "key": "r", "value": {"set": ["a"]}, "expires_at": past}),
        Value::Null,
    );
    both.expect(
        json!({"op": "remove_members", "key": "r", "members": ["b"]}),
        json!([]),
    );
    // An expired key of another kind is not in the way.
    both.expect(
        json!({"op": "put", "key": "x", "value": {"set": ["a"]}, "expires_at": past}),
        Value::Null,
    );
    both.expect(
        json!({"op": "increment", "key": "x", "by": 1, "expires_at": null}),
        json!(1),
    );

    // Expiry times beyond what the store can represent keep their meaning.
    both.expect(
        json!({"op": "put", "key": "far", "value": {"counter": 1}, "expires_at": 1e300}),
        Value::Null,
    );
    both.expect(get("far"), json!({"counter": 1}));
    both.expect(
        json!({"op": "put", "key": "long_ago", "value": {"counter": 1}, "expires_at": -1e300}),
        Value::Null,
    );
    both.expect(get("long_ago"), Value::Null);
}

fn updates_keep_or_replace_expiry_as_in_memory(fx: &Fixture) {
    let both = Lockstep::new(fx);
    let soon = unix_now() + 2.0;
    let future = soon + 3600.0;
    let get = |key: &str| json!({"op": "get", "key": key});

    both.expect(
        json!({"op": "increment", "key": "kept", "by": 1, "expires_at": soon}),
        json!(1),
    );
    both.expect(
        json!({"op": "increment", "key": "kept", "by": 1, "expires_at": null}),
        json!(2),
    );
    both.expect(
        json!({"op": "increment", "key": "renewed", "by": 1, "expires_at": soon}),
        json!(1),
    );
    both.expect(
        json!({"op": "increment", "key": "renewed", "by": 1, "expires_at": future}),
        json!(2),
    );
    both.expect(
        json!({"op": "add_members", "key": "kept_set", "members": ["a", "b"], "expires_at": soon}),
        json!(["a", "b"]),
    );
    both.expect(
        json!({"op": "add_members", "key": "kept_set", "members": ["c"], "expires_at": null}),
        json!(["a", "b", "c"]),
    );
    both.expect(
        json!({"op": "remove_members", "key": "kept_set", "members": ["a"]}),
        json!(["b", "c"]),
    );
    both.expect(
        json!({"op": "add_members", "key": "renewed_set", "members": ["a"], "expires_at": soon}),
        json!(["a"]),
    );
    both.expect(
        json!({"op": "add_members", "key": "renewed_set", "members": ["b"], "expires_at": future}),
        json!(["a", "b"]),
    );
    // Put replaces the expiry too, with none when it gives none.
    both.expect(
        json!({"op": "put", "key": "replaced", "value": {"counter": 1}, "expires_at": soon}),
        Value::Null,
    );
    both.expect(
        json!({"op": "put", "key": "replaced", "value": {"counter": 2}, "expires_at": null}),
        Value::Null,
    );
    both.expect(
        json!({"op": "put", "key": "expired", "value": {"dict": "{}"}, "expires_at": null}),
        Value::Null,
    );
    both.expect(
        json!({"op": "expire", "key": "expired", "expires_at": soon}),
        Value::Null,
    );

    thread::sleep(Duration::from_secs_f64(soon + 0.5 - unix_now()));
    both.expect(get("kept"), Value::Null);
    both.expect(get("renewed"), json!({"counter": 2}));
    both.expect(get("kept_set"), Value::Null);
    both.expect(get("renewed_set"), json!({"set": ["a", "b"]}));
    both.expect(get("replaced"), json!({"counter": 2}));
    both.expect(get("expired"), Value::Null);
}

fn concurrent_increments_add_up(fx: &Fixture) {
    const THREADS: usize = 8;
    const INCREMENTS: usize = 200;
    // Two handles on the same database, each with its own connections, like two replicas.
    let handles = [
        StoreRuleState::new(fx.open()),
        StoreRuleState::new(fx.open()),
    ];
    let memory = MemoryRuleState::default();
    let increment = request(json!({"op": "increment", "key": "hits", "by": 1, "expires_at": null}));
    let mut counts: Vec<i64> = thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|thread| {
                let (state, memory, increment) = (&handles[thread % 2], &memory, &increment);
                s.spawn(move || {
                    (0..INCREMENTS)
                        .map(|_| {
                            memory.handle(increment).unwrap();
                            state.handle(increment).unwrap().as_i64().unwrap()
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
    let get = request(json!({"op": "get", "key": "hits"}));
    let expected = memory.handle(&get);
    assert_eq!(expected, Ok(json!({"counter": total})));
    for handle in &handles {
        assert_eq!(handle.handle(&get), expected);
    }
}
