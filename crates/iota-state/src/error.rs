//! The state store's error: every variant names the store (file or database, never a
//! password) and the operation that failed.

use std::error::Error;

use crate::sql::Failure;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database or its driver failed; `detail` is the driver's whole error chain (the
    /// drivers' top-level messages alone, such as "db error", say too little).
    #[error("state store {store}: {op}: {detail}")]
    Database {
        store: String,
        op: &'static str,
        detail: String,
    },
    /// The request cannot be applied as given (e.g. matches in a unit recording a failed
    /// object), or stored data cannot be read back.
    #[error("state store {store}: {op}: {detail}")]
    Invalid {
        store: String,
        op: &'static str,
        detail: String,
    },
    /// A rule-state operation on a key that holds another kind of value.
    #[error("state store {store}: {op}: rule state key {key:?} holds a {holds}, not a {wanted}")]
    KvType {
        store: String,
        op: &'static str,
        key: String,
        holds: &'static str,
        wanted: &'static str,
    },
    /// The database was migrated by a newer iota; this one must not write to it.
    #[error(
        "state store {store}: schema version {found} is newer than this iota knows \
         (up to {known}); upgrade iota"
    )]
    SchemaTooNew {
        store: String,
        found: i64,
        known: i64,
    },
    /// `add_source` without `replace` of a name that exists already.
    #[error("state store {store}: a source named {name:?} exists already")]
    SourceExists { store: String, name: String },
    /// A source operation on a name that no source has.
    #[error("state store {store}: no source named {name:?}")]
    UnknownSource { store: String, name: String },
}

impl StoreError {
    pub(crate) fn new(store: &str, op: &'static str, failure: Failure) -> Self {
        let store = store.to_owned();
        match failure {
            Failure::Db(error) => StoreError::Database {
                store,
                op,
                detail: chain(&*error),
            },
            Failure::Invalid(detail) => StoreError::Invalid { store, op, detail },
            Failure::Corrupt(detail) => StoreError::Invalid {
                store,
                op,
                detail: format!("stored data cannot be read: {detail}"),
            },
            Failure::KvType { key, holds, wanted } => StoreError::KvType {
                store,
                op,
                key,
                holds,
                wanted,
            },
            Failure::SchemaTooNew { found, known } => StoreError::SchemaTooNew {
                store,
                found,
                known,
            },
            Failure::SourceExists(name) => StoreError::SourceExists { store, name },
            Failure::UnknownSource(name) => StoreError::UnknownSource { store, name },
        }
    }
}

/// `error: its source: ...`, leaving out a source whose message the previous one already says.
fn chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    text
}
