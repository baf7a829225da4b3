//! The records iota emits, as documented in docs/ALERTS.md: the versioned alert (SPEC 4) and
//! the rule error. Field order is the documented order.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use iota_rules::Severity;

/// Version of the alert schema; bumped on any incompatible change.
pub const ALERT_SCHEMA_VERSION: u32 = 1;

/// Where an event came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceRef {
    /// `file`, `stdin` or `s3`.
    pub kind: &'static str,
    pub bucket: Option<String>,
    /// The file path or S3 key (`-` for stdin).
    pub key: String,
    /// 1-based line of the event in the (decompressed) input.
    pub line: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Alert {
    pub version: u32,
    /// Stable across runs and replicas: derived from rule id, dedup string and window.
    pub id: String,
    pub rule_id: String,
    pub title: String,
    pub severity: Severity,
    pub dedup: String,
    pub dedup_period_minutes: u32,
    pub event_count: u64,
    #[serde(serialize_with = "rfc3339")]
    pub first_seen: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339")]
    pub last_seen: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    pub log_type: String,
    pub description: Option<String>,
    pub runbook: Option<String>,
    pub reference: Option<String>,
    pub tags: Vec<String>,
    pub reports: BTreeMap<String, Vec<String>>,
    pub alert_context: Option<serde_json::Value>,
    /// `None`: default routing; `Some([])`: not delivered anywhere.
    pub destinations: Option<Vec<String>>,
    pub source: SourceRef,
    /// The earliest matching event of the window, normalized (with its `p_` fields).
    pub event: Box<RawValue>,
}

/// A rule that raised, returned a wrong type, could not be imported, or took its worker down.
#[derive(Clone, Debug, Serialize)]
pub struct RuleErrorRecord {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub rule_id: Option<String>,
    /// `rule`, `title`, `dedup`, ... or `import` / `event`.
    pub function: String,
    pub error: String,
    pub traceback: Option<String>,
    pub event_id: Option<String>,
    pub source: Option<SourceRef>,
    #[serde(serialize_with = "rfc3339")]
    pub time: DateTime<Utc>,
}

impl RuleErrorRecord {
    pub fn new(
        rule_id: Option<String>,
        function: impl Into<String>,
        error: impl Into<String>,
    ) -> Self {
        RuleErrorRecord {
            kind: "rule_error",
            rule_id,
            function: function.into(),
            error: error.into(),
            traceback: None,
            event_id: None,
            source: None,
            time: Utc::now(),
        }
    }
}

fn rfc3339<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&time.to_rfc3339_opts(SecondsFormat::Micros, true))
}
