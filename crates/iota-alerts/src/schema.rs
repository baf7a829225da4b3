//! The records iota emits, as documented in docs/ALERTS.md: the versioned alert (SPEC 4) and
//! the rule error. Field order is the documented order.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use iota_rules::Severity;

/// A normalized event's JSON as an alert carries it: on one line. Events keep their original
/// bytes, so one from a pretty-printed input has line breaks and indentation between its
/// tokens, which would split the alert over several lines in the line-oriented outputs
/// (stdout, files); that whitespace is dropped. `json` is valid JSON, so a line break can only
/// be between tokens; whitespace inside strings is kept.
pub fn one_line_json(json: &[u8]) -> Cow<'_, [u8]> {
    if !json.iter().any(|&b| b == b'\n' || b == b'\r') {
        return Cow::Borrowed(json);
    }
    let mut out = Vec::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for &b in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            continue;
        } else if b == b'"' {
            in_string = true;
        }
        out.push(b);
    }
    Cow::Owned(out)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pretty_printed_event_is_put_on_one_line_and_its_strings_are_kept() {
        let pretty = "{\r\n  \"a\": \"x y\\\" \\\\\",\n  \"b\": [1, {\"c\": null}]\n}";
        let one_line = one_line_json(pretty.as_bytes());
        assert_eq!(
            std::str::from_utf8(&one_line).unwrap(),
            r#"{"a":"x y\" \\","b":[1,{"c":null}]}"#
        );
        // Without a line break the event is used as it is.
        let compact = br#"{"a": "x"}"#;
        assert!(matches!(one_line_json(compact), Cow::Borrowed(b) if b == compact));
    }
}
