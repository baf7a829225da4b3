//! Versioned schema migrations, one SQL file per version and dialect under `migrations/`,
//! applied in order when a store is opened and recorded in `schema_migrations`.

use chrono::{DateTime, Utc};

use crate::sql::{Failure, Tx};

pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Both lists have the same versions and names, and create the same tables and columns.
pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/sqlite/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "sources",
        sql: include_str!("../migrations/sqlite/0002_sources.sql"),
    },
    Migration {
        version: 3,
        name: "leases",
        sql: include_str!("../migrations/sqlite/0003_leases.sql"),
    },
    Migration {
        version: 4,
        name: "lake",
        sql: include_str!("../migrations/sqlite/0004_lake.sql"),
    },
];

pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "sources",
        sql: include_str!("../migrations/postgres/0002_sources.sql"),
    },
    Migration {
        version: 3,
        name: "leases",
        sql: include_str!("../migrations/postgres/0003_leases.sql"),
    },
    Migration {
        version: 4,
        name: "lake",
        sql: include_str!("../migrations/postgres/0004_lake.sql"),
    },
];

/// Applies the migrations the database has not seen yet, in one transaction. Processes that
/// open the same store at once take turns on a lock, so each migration is applied once.
pub(crate) fn migrate(
    tx: &mut dyn Tx,
    migrations: &[Migration],
    now: DateTime<Utc>,
) -> Result<(), Failure> {
    tx.lock_name("iota-state:schema_migrations")?;
    tx.batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            applied_us BIGINT NOT NULL
        )",
    )?;
    let current = match tx
        .query("SELECT MAX(version) FROM schema_migrations", &[])?
        .pop()
    {
        Some(mut row) => row.opt_int()?.unwrap_or(0),
        None => 0,
    };
    let known = migrations.last().map_or(0, |m| m.version);
    if current > known {
        return Err(Failure::SchemaTooNew {
            found: current,
            known,
        });
    }
    for migration in migrations.iter().filter(|m| m.version > current) {
        tx.batch(migration.sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_us) VALUES ($1, $2, $3)",
            &[migration.version.into(), migration.name.into(), now.into()],
        )?;
    }
    Ok(())
}
