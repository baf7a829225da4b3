//! Alert state: the records iota emits ([`schema`]) and the rules that turn matches into
//! alerts ([`engine`]): dedup windows, thresholds and signals.

pub mod engine;
pub mod schema;

pub use engine::{alert_id, AlertEngine, Outcome, RuleMatch};
pub use schema::{one_line_json, Alert, RuleErrorRecord, SourceRef, ALERT_SCHEMA_VERSION};
