//! The small SQL surface the store logic is written against, so that every rule of the state
//! store exists once and both backends run the very same statements.
//!
//! Statements use PostgreSQL's `$1` placeholders (the SQLite backend rewrites them to `?1`),
//! 64-bit integers and text only: times are microseconds since the Unix epoch, lists and
//! objects are JSON text. The few things the dialects do differently (row locks, advisory
//! locks) are methods of [`Tx`].

use chrono::{DateTime, Utc};

/// A parameter or a column value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        // Counts and sizes never come near 2^63.
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<DateTime<Utc>> for Value {
    fn from(v: DateTime<Utc>) -> Self {
        Value::Int(v.timestamp_micros())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Why a store operation did not complete, before the backend names the store and the
/// operation (see [`crate::StoreError`]).
#[derive(Debug)]
pub(crate) enum Failure {
    /// The database driver reported an error.
    Db(Box<dyn std::error::Error + Send + Sync>),
    /// The request cannot be applied as given.
    Invalid(String),
    /// A stored value cannot be read back.
    Corrupt(String),
    KvType {
        key: String,
        holds: &'static str,
        wanted: &'static str,
    },
    SchemaTooNew {
        found: i64,
        known: i64,
    },
    /// A source of this name exists already.
    SourceExists(String),
    /// No source has this name.
    UnknownSource(String),
}

/// One open transaction. Dropped without [`crate::store::Backend`] committing it, it rolls back.
pub(crate) trait Tx {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, Failure>;
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, Failure>;
    /// Runs several `;`-separated statements without parameters (migrations).
    fn batch(&mut self, sql: &str) -> Result<(), Failure>;
    /// Holds a lock on `name` until the transaction ends, so that transactions working on the
    /// same name run one after the other. PostgreSQL: a transaction-scoped advisory lock.
    /// SQLite: nothing to do, as a write transaction already excludes every other writer.
    fn lock_name(&mut self, name: &str) -> Result<(), Failure>;
    /// The clause that makes a `SELECT` lock its rows and skip rows other transactions have
    /// locked (`FOR UPDATE SKIP LOCKED`), or nothing where writers are serialised anyway.
    fn skip_locked(&self) -> &'static str;
}

/// A result row, read column by column in `SELECT` order.
pub(crate) struct Row {
    values: std::vec::IntoIter<Value>,
}

impl Row {
    pub(crate) fn new(values: Vec<Value>) -> Self {
        Row {
            values: values.into_iter(),
        }
    }

    fn next(&mut self) -> Result<Value, Failure> {
        self.values
            .next()
            .ok_or_else(|| Failure::Corrupt("a row has fewer columns than expected".into()))
    }

    pub(crate) fn int(&mut self) -> Result<i64, Failure> {
        self.opt_int()?
            .ok_or_else(|| Failure::Corrupt("an integer column is NULL".into()))
    }

    pub(crate) fn opt_int(&mut self) -> Result<Option<i64>, Failure> {
        match self.next()? {
            Value::Null => Ok(None),
            Value::Int(v) => Ok(Some(v)),
            Value::Text(t) => Err(Failure::Corrupt(format!(
                "expected an integer column, found text {t:?}"
            ))),
        }
    }

    pub(crate) fn count(&mut self) -> Result<u64, Failure> {
        Ok(u64::try_from(self.int()?).unwrap_or(0))
    }

    pub(crate) fn text(&mut self) -> Result<String, Failure> {
        self.opt_text()?
            .ok_or_else(|| Failure::Corrupt("a text column is NULL".into()))
    }

    pub(crate) fn opt_text(&mut self) -> Result<Option<String>, Failure> {
        match self.next()? {
            Value::Null => Ok(None),
            Value::Text(t) => Ok(Some(t)),
            Value::Int(v) => Err(Failure::Corrupt(format!(
                "expected a text column, found the integer {v}"
            ))),
        }
    }

    pub(crate) fn time(&mut self) -> Result<DateTime<Utc>, Failure> {
        time_from_micros(self.int()?)
    }

    pub(crate) fn opt_time(&mut self) -> Result<Option<DateTime<Utc>>, Failure> {
        self.opt_int()?.map(time_from_micros).transpose()
    }
}

pub(crate) fn time_from_micros(us: i64) -> Result<DateTime<Utc>, Failure> {
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| Failure::Corrupt(format!("time {us} µs is out of range")))
}
