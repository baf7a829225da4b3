//! Empty state stores for tests of commands that take `--state`: a SQLite file in a temporary
//! directory, or a PostgreSQL database created on 127.0.0.1:5432 (trust auth, user postgres;
//! IOTA_TEST_POSTGRES_URL overrides the maintenance database) and dropped afterwards, as in
//! crates/iota-state/tests/suite.rs. Without a reachable PostgreSQL the PostgreSQL tests are
//! skipped with a notice, or fail when CI=true.

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use iota_state::StateStore;

/// The server's maintenance database, where test databases are created and dropped.
fn admin_url() -> String {
    std::env::var("IOTA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn admin() -> Result<postgres::Client, postgres::Error> {
    let mut config: postgres::Config = admin_url().parse()?;
    config.connect_timeout(Duration::from_secs(3));
    config.connect(postgres::NoTls)
}

/// A fresh store location (`--state` value) for one test, removed when dropped.
pub struct StoreFixture {
    pub location: String,
    kind: Kind,
}

enum Kind {
    Sqlite { _dir: tempfile::TempDir },
    Postgres { database: String },
}

impl StoreFixture {
    pub fn sqlite() -> StoreFixture {
        let dir = tempfile::tempdir().expect("temporary directory");
        StoreFixture {
            location: dir.path().join("state.db").display().to_string(),
            kind: Kind::Sqlite { _dir: dir },
        }
    }

    /// `None` when PostgreSQL is unreachable and this is not CI.
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
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let database = format!(
            "iota_cli_test_{}_{}_{nanos}",
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

    pub fn open(&self) -> Box<dyn StateStore> {
        iota_state::open(&self.location).expect("open the store")
    }
}

impl Drop for StoreFixture {
    fn drop(&mut self) {
        if let Kind::Postgres { database } = &self.kind {
            if let Ok(mut admin) = admin() {
                // FORCE: the test's store handles may still hold connections.
                let _ = admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
            }
        }
    }
}
