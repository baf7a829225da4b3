//! Fresh, empty state stores for tests, one per test: a SQLite file in a temporary directory,
//! or a PostgreSQL database created on 127.0.0.1:5432 (trust auth, user postgres) and dropped
//! WITH (FORCE) afterwards. IOTA_TEST_POSTGRES_URL overrides the server's maintenance
//! database, where the test databases are created and dropped (same form, ending in
//! `/<database>`). Without a reachable PostgreSQL the PostgreSQL tests are skipped with a loud
//! notice, or fail when CI=true.
//!
//! The one copy of this fixture: the iota-state tests declare `mod common;`, the `iota`
//! binary's tests include this file as `common::state_store` (a `#[path]` module in
//! crates/iota/tests/common/mod.rs). It may therefore use only what both crates' tests depend
//! on: `iota_state`, `postgres` and `tempfile`.

// Each test file uses its own subset.
#![allow(dead_code, unused_imports, unused_macros)]

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use iota_state::StateStore;

/// The server's maintenance database, where test databases are created and dropped.
fn admin_url() -> String {
    std::env::var("IOTA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn admin() -> Result<::postgres::Client, ::postgres::Error> {
    let mut config: ::postgres::Config = admin_url().parse()?;
    config.connect_timeout(Duration::from_secs(3));
    config.connect(::postgres::NoTls)
}

/// A fresh, empty store location for one test, removed when dropped.
pub struct StoreFixture {
    /// What `iota_state::open` and `--state` take: a file path or a `postgres://` URL.
    pub location: String,
    kind: Kind,
}

enum Kind {
    /// The directory holding the file, removed with the fixture.
    Sqlite {
        _dir: tempfile::TempDir,
    },
    Postgres {
        database: String,
    },
}

impl StoreFixture {
    pub fn sqlite() -> StoreFixture {
        let dir = tempfile::tempdir().expect("temporary directory");
        StoreFixture {
            location: dir.path().join("state.db").display().to_string(),
            kind: Kind::Sqlite { _dir: dir },
        }
    }

    /// `None` when PostgreSQL is unreachable and this is not CI; `test` names the skipped
    /// test in the notice.
    pub fn postgres(test: &str) -> Option<StoreFixture> {
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
        // The test binary's name says where a database left behind by a killed run came from.
        let database = format!(
            "iota_test_{}_{}_{}_{nanos}",
            env!("CARGO_CRATE_NAME"),
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        admin
            .batch_execute(&format!("CREATE DATABASE {database}"))
            .expect("create the test database");
        Some(StoreFixture {
            location: format!("{}/{database}", admin_url().rsplit_once('/').unwrap().0),
            kind: Kind::Postgres { database },
        })
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.kind, Kind::Postgres { .. })
    }

    /// A new handle on the store (with its own connections), migrated on first open.
    pub fn open(&self) -> Box<dyn StateStore> {
        iota_state::open(&self.location).expect("open the store")
    }
}

impl Drop for StoreFixture {
    fn drop(&mut self) {
        if let Kind::Postgres { database } = &self.kind {
            if let Ok(mut admin) = admin() {
                // FORCE: the pools of the test's stores may still hold connections.
                let _ = admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
            }
        }
    }
}

/// Runs each named test function (taking `&StoreFixture`) against SQLite and against
/// PostgreSQL, as the tests `sqlite::<name>` and `postgres::<name>`. `StoreFixture` must be in
/// scope where it is invoked.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(&super::StoreFixture::sqlite()); } )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    if let Some(fixture) = super::StoreFixture::postgres(stringify!($name)) {
                        super::$name(&fixture);
                    }
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;
