//! The SQLite backend: one file in WAL mode, the embedded default for a single replica.
//!
//! One connection per handle, behind a mutex: SQLite has one writer at a time anyway. Several
//! handles or processes on the same file take turns: a writing transaction begins with
//! `BEGIN IMMEDIATE`, which waits (up to the busy timeout) for the write lock.

use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, TransactionBehavior};

use crate::migrations::{self, Migration};
use crate::sql::{Failure, Row, Tx, Value};
use crate::store::{Access, Backend};
use crate::StoreError;

/// How long a transaction waits for another writer before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct Sqlite {
    name: String,
    conn: Mutex<Connection>,
}

fn db(e: rusqlite::Error) -> Failure {
    Failure::Db(Box::new(e))
}

impl Sqlite {
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
        let name = path.display().to_string();
        let conn = Self::connect(path).map_err(|f| StoreError::new(&name, "open", f))?;
        Ok(Sqlite {
            name,
            conn: Mutex::new(conn),
        })
    }

    fn connect(path: &Path) -> Result<Connection, Failure> {
        let conn = Connection::open(path).map_err(db)?;
        // First, so that every later statement waits for other processes instead of failing.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
        // Switching a new file to WAL takes a lock SQLite does not wait for when another
        // connection is doing the same (it answers "locked" at once to avoid a deadlock):
        // retry for as long as the busy timeout.
        let started = std::time::Instant::now();
        let mode: String = loop {
            match conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)) {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy
                        && started.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                other => break other.map_err(db)?,
            }
        };
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Failure::Invalid(format!(
                "cannot use WAL mode (journal mode is {mode}); is the file on a network \
                 filesystem?"
            )));
        }
        // FULL: a commit (alerts, outbox, progress, a delivery's success) survives a power
        // loss, not only a crash of iota; otherwise a delivery could be sent twice.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        conn.pragma_update(None, "foreign_keys", true).map_err(db)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }
}

impl Backend for Sqlite {
    fn name(&self) -> &str {
        &self.name
    }

    fn migrations(&self) -> &'static [Migration] {
        migrations::SQLITE
    }

    fn transaction<T>(
        &self,
        access: Access,
        work: &mut dyn FnMut(&mut dyn Tx) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        // A panic inside a transaction left nothing behind: the transaction rolled back when
        // it was dropped, so the connection is still good.
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let behavior = match access {
            Access::Read => TransactionBehavior::Deferred,
            Access::Write => TransactionBehavior::Immediate,
        };
        let tx = conn.transaction_with_behavior(behavior).map_err(db)?;
        let value = work(&mut SqliteTx { conn: &tx })?;
        tx.commit().map_err(db)?;
        Ok(value)
    }
}

struct SqliteTx<'c> {
    conn: &'c Connection,
}

/// `$1` → `?1`: the store's statements are written with PostgreSQL placeholders, and SQLite
/// would take `$1` for a named parameter.
fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(v) => ValueRef::Integer(*v),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
        }))
    }
}

fn value(v: ValueRef<'_>) -> Result<Value, Failure> {
    match v {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Integer(i) => Ok(Value::Int(i)),
        ValueRef::Text(t) => Ok(Value::Text(String::from_utf8_lossy(t).into_owned())),
        ValueRef::Real(_) | ValueRef::Blob(_) => Err(Failure::Corrupt(
            "a column holds a real number or a blob".into(),
        )),
    }
}

impl Tx for SqliteTx<'_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, Failure> {
        let mut stmt = self.conn.prepare_cached(&placeholders(sql)).map_err(db)?;
        let changed = stmt
            .execute(rusqlite::params_from_iter(params))
            .map_err(db)?;
        Ok(changed as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, Failure> {
        let mut stmt = self.conn.prepare_cached(&placeholders(sql)).map_err(db)?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params)).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            let values = (0..columns)
                .map(|i| value(row.get_ref(i).map_err(db)?))
                .collect::<Result<Vec<_>, _>>()?;
            out.push(Row::new(values));
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), Failure> {
        self.conn.execute_batch(sql).map_err(db)
    }

    fn lock_name(&mut self, _name: &str) -> Result<(), Failure> {
        Ok(())
    }

    fn skip_locked(&self) -> &'static str {
        ""
    }
}
