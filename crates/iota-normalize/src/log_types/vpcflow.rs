//! `AWS.VPCFlow`: VPC flow log records as VPC Flow Logs delivers them to S3 (Amazon VPC User
//! Guide, "Flow log records" and "Flow log files": space-separated fields, one record per
//! line, each file starting with a header line naming its fields, gzip). The default format
//! is version 2 (14 fields); a custom format picks any fields of versions 2 to 5 in any order,
//! and its header line says which.
//!
//! Classification: a header line (every name a flow log field name, at least two known ones)
//! sets the layout of the lines that follow it in the same input; it is not an event. A line
//! without a header before it is read in the default format when it has its 14 fields,
//! version `2`, and an `action`/`log-status` of that format (CloudWatch Logs exports have no
//! header). A line whose number of fields differs from its header's is not a flow record.
//!
//! Fields are named as Panther names them: the header name in camel case with the `addr` and
//! `port` words capitalised (`srcaddr` → `srcAddr`, `pkt-src-aws-service` →
//! `pktSrcAwsService`, `log-status` → `logStatus`); numbers (`version`, ports, `protocol`,
//! `packets`, `bytes`, `start`, `end`, `tcp-flags`, `traffic-path`) are JSON numbers; `-` (no
//! value, e.g. in `NODATA` records) leaves the field out. Names of fields added after
//! version 5 are camel-cased the same way and kept as strings.
//!
//! Event time: `start` (Unix seconds). No dedup: a record has no id.
//!
//! Indicators: `srcaddr`, `dstaddr`, `pkt-srcaddr`, `pkt-dstaddr` (IP addresses),
//! `account-id` (account id), `instance-id` (instance id), and ARNs in any other field.

use std::borrow::Cow;

use chrono::DateTime;

use super::text::TextEvent;
use super::{Line, LogType};
use crate::indicators::{is_account_id, is_instance_id, is_ip, Kind};

pub(crate) const LOG_TYPE: &str = "AWS.VPCFlow";
pub(crate) const TIME_FIELD: &str = "start";

/// How a field's value is written and what it indicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    Text,
    Number,
    /// `start`: a number, and the event time.
    Start,
    Ip,
    Account,
    Instance,
}

/// Fields of versions 2 to 5: header name, JSON name, value.
const KNOWN: [(&str, &str, Value); 29] = [
    ("version", "version", Value::Number),
    ("account-id", "accountId", Value::Account),
    ("interface-id", "interfaceId", Value::Text),
    ("srcaddr", "srcAddr", Value::Ip),
    ("dstaddr", "dstAddr", Value::Ip),
    ("srcport", "srcPort", Value::Number),
    ("dstport", "dstPort", Value::Number),
    ("protocol", "protocol", Value::Number),
    ("packets", "packets", Value::Number),
    ("bytes", "bytes", Value::Number),
    ("start", "start", Value::Start),
    ("end", "end", Value::Number),
    ("action", "action", Value::Text),
    ("log-status", "logStatus", Value::Text),
    ("vpc-id", "vpcId", Value::Text),
    ("subnet-id", "subnetId", Value::Text),
    ("instance-id", "instanceId", Value::Instance),
    ("tcp-flags", "tcpFlags", Value::Number),
    ("type", "type", Value::Text),
    ("pkt-srcaddr", "pktSrcAddr", Value::Ip),
    ("pkt-dstaddr", "pktDstAddr", Value::Ip),
    ("region", "region", Value::Text),
    ("az-id", "azId", Value::Text),
    ("sublocation-type", "sublocationType", Value::Text),
    ("sublocation-id", "sublocationId", Value::Text),
    ("pkt-src-aws-service", "pktSrcAwsService", Value::Text),
    ("pkt-dst-aws-service", "pktDstAwsService", Value::Text),
    ("flow-direction", "flowDirection", Value::Text),
    ("traffic-path", "trafficPath", Value::Number),
];

/// The default format: the first 14 known fields.
const DEFAULT_FIELDS: usize = 14;

/// The fields of the lines of one file, in order: JSON name and value kind.
#[derive(Debug)]
pub(crate) struct Layout {
    fields: Vec<(String, Value)>,
}

impl Layout {
    fn default_format() -> Self {
        Layout {
            fields: KNOWN[..DEFAULT_FIELDS]
                .iter()
                .map(|&(_, name, value)| (name.to_owned(), value))
                .collect(),
        }
    }

    /// The layout a header line declares, if it is one.
    fn from_header(fields: &[Cow<'_, str>]) -> Option<Self> {
        let plausible = |name: &str| {
            name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        let known = |name: &str| KNOWN.iter().find(|(header, ..)| *header == name);
        if fields.len() < 2
            || !fields.iter().all(|f| plausible(f))
            || fields.iter().filter(|f| known(f).is_some()).count() < 2
        {
            return None;
        }
        Some(Layout {
            fields: fields
                .iter()
                .map(|f| match known(f) {
                    Some(&(_, name, value)) => (name.to_owned(), value),
                    None => (camel_case(f), Value::Text),
                })
                .collect(),
        })
    }
}

/// `ecs-cluster-arn` → `ecsClusterArn`.
fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '-' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A header line (which sets `layout`) or a flow record in `layout` (or the default format).
pub(crate) fn parse(fields: &[Cow<'_, str>], layout: &mut Option<Layout>) -> Result<Line, String> {
    if let Some(header) = Layout::from_header(fields) {
        *layout = Some(header);
        return Ok(Line::Header(LogType::VpcFlow));
    }
    let default;
    let layout = match layout {
        Some(layout) => {
            if fields.len() != layout.fields.len() {
                return Err(format!(
                    "{} fields, but the file's header line names {}",
                    fields.len(),
                    layout.fields.len()
                ));
            }
            &*layout
        }
        None => {
            let value = |i: usize| fields.get(i).map(|f| f.as_ref());
            if fields.len() != DEFAULT_FIELDS
                || value(0) != Some("2")
                || !matches!(value(12), Some("ACCEPT" | "REJECT" | "-"))
                || !matches!(value(13), Some("OK" | "NODATA" | "SKIPDATA"))
            {
                return Err(
                    "no header line, and not a record of the default format (14 fields, \
                     version 2)"
                        .into(),
                );
            }
            default = Layout::default_format();
            &default
        }
    };
    let line_len = fields.iter().map(|f| f.len() + 1).sum();
    let mut event = TextEvent::new(LogType::VpcFlow, line_len);
    for ((name, kind), value) in layout.fields.iter().zip(fields) {
        let value = value.as_ref();
        match kind {
            Value::Number => event.number(name, value),
            Value::Start => {
                event.number(name, value);
                event.event_time = value
                    .parse::<i64>()
                    .ok()
                    .and_then(|s| DateTime::from_timestamp(s, 0));
            }
            Value::Text => {
                event.string(name, value);
                event.aws_value(value);
            }
            Value::Ip => {
                event.string(name, value);
                if is_ip(value) {
                    event.indicator(Kind::IpAddress, value);
                }
            }
            Value::Account => {
                event.string(name, value);
                if is_account_id(value) {
                    event.indicator(Kind::AwsAccountId, value);
                }
            }
            Value::Instance => {
                event.string(name, value);
                if is_instance_id(value) {
                    event.indicator(Kind::AwsInstanceId, value);
                }
            }
        }
    }
    Ok(Line::Event(event.finish()))
}
