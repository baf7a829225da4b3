//! `AWS.S3ServerAccess`: Amazon S3 server access log records (Amazon S3 User Guide, "Amazon
//! S3 server access log format"): one record per line, space-separated fields, `"quoted"`
//! fields that may hold spaces, the time in `[brackets]`, `-` for a field without a value:
//!
//! `bucket_owner bucket [time] remote_ip requester request_id operation key "request_uri"
//! http_status error_code bytes_sent object_size total_time turn_around_time "referer"
//! "user_agent" version_id host_id signature_version cipher_suite authentication_type
//! host_header tls_version access_point_arn acl_required`
//!
//! Fields are named as Panther names them (`bucketowner`, `remoteip`, `requesturi`,
//! `httpstatus`, `bytessent`, ..., `tlsVersion`); numbers are JSON numbers; `time` is written
//! in RFC 3339 (`2019-02-06T00:00:38Z`); fields S3 adds after `acl_required` are kept, in
//! order, in `additionalFields`. Older records that end after `host_id` are accepted.
//!
//! Classification: at least 19 fields, a `[dd/Mon/yyyy:HH:MM:SS +zzzz]` time third and an
//! operation such as `REST.GET.OBJECT` seventh. Event time: `time`. No dedup: S3 delivers
//! these records on a best-effort basis and one request id can be logged by two buckets
//! (both sides of a copy).
//!
//! Indicators: `remoteip` (IP address), `requester` and `accesspointarn` when they are ARNs
//! (with their account ids), `hostheader` (domain name).

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};

use super::text::TextEvent;
use super::{Line, LogType};
use crate::indicators::{is_host_name, is_ip, Kind};

pub(crate) const LOG_TYPE: &str = "AWS.S3ServerAccess";
pub(crate) const TIME_FIELD: &str = "time";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Value {
    Text,
    Number,
    Time,
    Ip,
    /// A string that may be an ARN.
    Arn,
    Host,
}

/// The fields in log order: Panther's name and the value kind.
const FIELDS: [(&str, Value); 26] = [
    ("bucketowner", Value::Text),
    ("bucket", Value::Text),
    ("time", Value::Time),
    ("remoteip", Value::Ip),
    ("requester", Value::Arn),
    ("requestid", Value::Text),
    ("operation", Value::Text),
    ("key", Value::Text),
    ("requesturi", Value::Text),
    ("httpstatus", Value::Number),
    ("errorcode", Value::Text),
    ("bytessent", Value::Number),
    ("objectsize", Value::Number),
    ("totaltime", Value::Number),
    ("turnaroundtime", Value::Number),
    ("referrer", Value::Text),
    ("useragent", Value::Text),
    ("versionid", Value::Text),
    ("hostid", Value::Text),
    ("signatureversion", Value::Text),
    ("ciphersuite", Value::Text),
    ("authenticationtype", Value::Text),
    ("hostheader", Value::Host),
    ("tlsVersion", Value::Text),
    ("accesspointarn", Value::Arn),
    ("aclrequired", Value::Text),
];

/// Records end after `host_id` at the earliest.
const MIN_FIELDS: usize = 19;

/// `06/Feb/2019:00:00:38 +0000`.
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s, "%d/%b/%Y:%H:%M:%S %z")
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

pub(crate) fn parse(fields: &[Cow<'_, str>]) -> Result<Line, String> {
    if fields.len() < MIN_FIELDS {
        return Err(format!(
            "{} fields, a record has at least {MIN_FIELDS}",
            fields.len()
        ));
    }
    let Some(time) = parse_time(&fields[2]) else {
        return Err("the third field is not a [dd/Mon/yyyy:HH:MM:SS +zzzz] time".into());
    };
    let operation = &fields[6];
    if operation.len() < 3
        || !operation.contains('.')
        || !operation.starts_with(|c: char| c.is_ascii_uppercase())
    {
        return Err("the seventh field is not an operation such as REST.GET.OBJECT".into());
    }
    let line_len = fields.iter().map(|f| f.len() + 3).sum();
    let mut event = TextEvent::new(LogType::S3ServerAccess, line_len);
    for (&(name, kind), value) in FIELDS.iter().zip(fields) {
        let value = value.as_ref();
        match kind {
            Value::Text => event.string(name, value),
            Value::Number => event.number(name, value),
            Value::Time => {
                event.raw_string(name, time.to_rfc3339_opts(SecondsFormat::AutoSi, true));
                event.event_time = Some(time);
            }
            Value::Ip => {
                event.string(name, value);
                if is_ip(value) {
                    event.indicator(Kind::IpAddress, value);
                }
            }
            Value::Arn => {
                event.string(name, value);
                event.aws_value(value);
            }
            Value::Host => {
                event.string(name, value);
                if is_host_name(value) {
                    event.indicator(Kind::DomainName, value);
                }
            }
        }
    }
    if fields.len() > FIELDS.len() {
        event.list("additionalFields", &fields[FIELDS.len()..]);
    }
    Ok(Line::Event(event.finish()))
}
