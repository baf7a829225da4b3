//! `AWS.ALB`: Application Load Balancer access log entries (Elastic Load Balancing, "Access
//! logs for your Application Load Balancer", "Access log entries"): one entry per line,
//! space-separated fields, `"quoted"` fields that may hold spaces, `-` for a field without a
//! value:
//!
//! `type time elb client:port target:port request_processing_time target_processing_time
//! response_processing_time elb_status_code target_status_code received_bytes sent_bytes
//! "request" "user_agent" ssl_cipher ssl_protocol target_group_arn "trace_id" "domain_name"
//! "chosen_cert_arn" matched_rule_priority request_creation_time "actions_executed"
//! "redirect_url" "error_reason" "target:port_list" "target_status_code_list"
//! "classification" "classification_reason" conn_trace_id`
//!
//! Fields are named as Panther names them: `client:port` becomes `clientIp` and `clientPort`,
//! `"request"` becomes `requestHttpMethod`, `requestUrl` and `requestHttpVersion`, `time` is
//! `timestamp`, the rest in camel case (`elbStatusCode`, `targetGroupArn`, ...); numbers are
//! JSON numbers; `actionsExecuted` (comma-separated), `targetPortList` and
//! `targetStatusCodeList` (space-separated) are lists. AWS may append fields: any beyond
//! `conn_trace_id` are ignored, as its documentation asks of readers.
//!
//! Classification: a request type (`http`, `https`, `h2`, `grpcs`, `ws`, `wss`) first, an
//! RFC 3339 time second, and at least the 12 fields up to `sent_bytes`. Event time: `time`.
//! No dedup: the trace id comes from the client's `X-Amzn-Trace-Id` header when it sends one.
//!
//! Indicators: `clientIp`, `targetIp` (IP addresses), `targetGroupArn`, `chosenCertArn` (ARNs
//! and their account ids), `domainName` (the SNI host name).

use std::borrow::Cow;

use super::text::TextEvent;
use super::{Line, LogType};
use crate::fields::parse_rfc3339;
use crate::indicators::{is_host_name, is_ip, Kind};

pub(crate) const LOG_TYPE: &str = "AWS.ALB";
pub(crate) const TIME_FIELD: &str = "time";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Value {
    Text,
    Number,
    Time,
    /// `ip:port`, written as two fields.
    Endpoint(&'static str, &'static str),
    /// `METHOD URL VERSION`, written as three fields.
    Request,
    Arn,
    Host,
    /// Separated by this character.
    List(char),
}

/// The fields in log order: Panther's name (unused for endpoints and the request) and kind.
const FIELDS: [(&str, Value); 30] = [
    ("type", Value::Text),
    ("timestamp", Value::Time),
    ("elb", Value::Text),
    ("", Value::Endpoint("clientIp", "clientPort")),
    ("", Value::Endpoint("targetIp", "targetPort")),
    ("requestProcessingTime", Value::Number),
    ("targetProcessingTime", Value::Number),
    ("responseProcessingTime", Value::Number),
    ("elbStatusCode", Value::Number),
    ("targetStatusCode", Value::Number),
    ("receivedBytes", Value::Number),
    ("sentBytes", Value::Number),
    ("", Value::Request),
    ("userAgent", Value::Text),
    ("sslCipher", Value::Text),
    ("sslProtocol", Value::Text),
    ("targetGroupArn", Value::Arn),
    ("traceId", Value::Text),
    ("domainName", Value::Host),
    ("chosenCertArn", Value::Arn),
    ("matchedRulePriority", Value::Number),
    ("requestCreationTime", Value::Text),
    ("actionsExecuted", Value::List(',')),
    ("redirectUrl", Value::Text),
    ("errorReason", Value::Text),
    ("targetPortList", Value::List(' ')),
    ("targetStatusCodeList", Value::List(' ')),
    ("classification", Value::Text),
    ("classificationReason", Value::Text),
    ("connTraceId", Value::Text),
];

/// Entries have at least the fields up to `sent_bytes`.
const MIN_FIELDS: usize = 12;

const REQUEST_TYPES: [&str; 6] = ["http", "https", "h2", "grpcs", "ws", "wss"];

pub(crate) fn parse(fields: &[Cow<'_, str>]) -> Result<Line, String> {
    if fields.len() < MIN_FIELDS {
        return Err(format!(
            "{} fields, an entry has at least {MIN_FIELDS}",
            fields.len()
        ));
    }
    if !REQUEST_TYPES.contains(&fields[0].as_ref()) {
        return Err(format!(
            "the first field is not a request type ({})",
            REQUEST_TYPES.join(", ")
        ));
    }
    let Some(time) = parse_rfc3339(&fields[1]) else {
        return Err("the second field is not an RFC 3339 time".into());
    };
    let line_len = fields.iter().map(|f| f.len() + 3).sum();
    let mut event = TextEvent::new(LogType::Alb, line_len);
    event.event_time = Some(time);
    for (&(name, kind), value) in FIELDS.iter().zip(fields) {
        let value = value.as_ref();
        match kind {
            Value::Text => event.string(name, value),
            Value::Number => event.number(name, value),
            Value::Time => event.string(name, value),
            Value::Endpoint(ip_name, port_name) => {
                let (ip, port) = match value.rsplit_once(':') {
                    Some((ip, port)) => (ip.trim_start_matches('[').trim_end_matches(']'), port),
                    None => (value, "-"),
                };
                event.string(ip_name, ip);
                event.number(port_name, port);
                if is_ip(ip) {
                    event.indicator(Kind::IpAddress, ip);
                }
            }
            Value::Request => {
                let mut parts = value.splitn(3, ' ');
                event.string("requestHttpMethod", parts.next().unwrap_or("-"));
                event.string("requestUrl", parts.next().unwrap_or("-"));
                event.string("requestHttpVersion", parts.next().unwrap_or("-"));
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
            Value::List(separator) => {
                if value != "-" {
                    let items: Vec<Cow<'_, str>> =
                        value.split(separator).map(Cow::Borrowed).collect();
                    event.list(name, &items);
                }
            }
        }
    }
    Ok(Line::Event(event.finish()))
}
