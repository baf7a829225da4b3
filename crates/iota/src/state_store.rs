//! Opening the state store named by `--state` (a SQLite file or a PostgreSQL URL), with errors
//! that say what to check and never show a password; applying `--alert-retention` to it.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};

use iota_state::StateStore;

/// Whether a missing SQLite file is created (writers) or an error (readers of the history,
/// where a mistyped path would otherwise show an empty history).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum IfMissing {
    Create,
    Fail,
}

pub fn open(location: &str, if_missing: IfMissing) -> anyhow::Result<Box<dyn StateStore>> {
    let is_postgres = location.starts_with("postgres://") || location.starts_with("postgresql://");
    if !is_postgres && if_missing == IfMissing::Fail && !Path::new(location).exists() {
        anyhow::bail!(
            "state store {location} does not exist: give --state (or IOTA_STATE) the SQLite file \
             or postgres:// URL that `iota scan --state` or the daemon writes to"
        );
    }
    // The store's error names the location (a PostgreSQL URL without its password).
    iota_state::open(location).with_context(|| {
        if is_postgres {
            "cannot open the PostgreSQL state store given by --state (IOTA_STATE): check that \
             the server is reachable, the database exists and the user may connect to it"
        } else {
            "cannot open the SQLite state store given by --state (IOTA_STATE): check that its \
             directory exists and that the file is readable and writable by you"
        }
    })
}

/// Applies the retention: history not updated for `retention` is deleted. A failure is
/// reported and does not stop the run, whose results are committed already.
pub fn prune(store: &dyn StateStore, retention: Duration) {
    let now = Utc::now();
    // A retention too long to subtract keeps everything.
    let older_than = chrono::Duration::from_std(retention)
        .ok()
        .and_then(|retention| now.checked_sub_signed(retention))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    match store.prune(older_than, now) {
        Ok(report) => tracing::debug!(?report, "retention applied"),
        Err(err) => tracing::error!("cannot apply --alert-retention: {err}"),
    }
}
