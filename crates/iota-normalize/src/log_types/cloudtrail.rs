//! `AWS.CloudTrail`: a management, data or service event as CloudTrail writes it.
//!
//! Classification: a top-level `eventVersion`, `eventSource` or `eventName` key. A CloudTrail
//! Insights event has them too, in the same record format: this scan also serves
//! `AWS.CloudTrailInsight` (see `cloudtrail_insight`), which it reports when the event carries
//! the Insights markers. Event time: `eventTime` (RFC 3339, CloudTrail writes
//! `2023-07-10T11:42:36Z`). `eventID` is unique per event: a repeated one is a duplicate.
//!
//! Indicators, a selection in the spirit of Panther's CloudTrail schema:
//!
//! | field                    | taken from |
//! |--------------------------|------------|
//! | `p_any_ip_addresses`     | `sourceIPAddress` when it is an IP address; any string that is exactly an IP address under `requestParameters`, `responseElements` or `additionalEventData`; `tlsDetails.clientProvidedHostHeader` when it is an IP address |
//! | `p_any_aws_account_ids`  | `recipientAccountId` and every value of a key named `accountId` at any depth (`userIdentity`, `sessionIssuer`, `resources[]`, payloads), when 12 digits; the account of every ARN |
//! | `p_any_aws_arns`         | every string, at any depth, that starts with `arn:` and has at least 6 `:`-separated parts |
//! | `p_any_aws_instance_ids` | every string, at any depth, that is exactly `i-` and 8 or 17 lowercase hex digits; the instance of every EC2 `instance/` ARN |
//! | `p_any_domain_names`     | `tlsDetails.clientProvidedHostHeader` (without a `:port`) and `sourceIPAddress` when they are host names (`ec2.amazonaws.com`; not `AWS Internal`) |
//! | `p_any_usernames`        | `userIdentity.userName`, `userIdentity.sessionContext.sessionIssuer.userName`, and the session name of an `assumed-role/<role>/<session>` `userIdentity.arn` |
//!
//! Account ids must be 12 digits so that values such as `ANONYMOUS_PRINCIPAL` (anonymous S3
//! access) do not become indicators. A payload string that only looks like an address (an
//! RDS `engineVersion` of `1.2.0.2`) is taken as one: the price of not listing the address
//! fields of every AWS API.

use chrono::{DateTime, Utc};

use super::{cloudtrail_insight, Classified, JsonScan, LogType};
use crate::fields::parse_rfc3339;
use crate::indicators::{is_account_id, is_host_name, is_ip, Arn, Indicators, Kind};
use crate::walk::{Sink, Text};

pub(crate) const LOG_TYPE: &str = "AWS.CloudTrail";
/// The key CloudTrail writes first in every record.
pub(crate) const FIRST_KEY: &str = "eventVersion";
/// What an event lacks when it is not one of this log type.
pub(crate) const EXPECTED: &str = "no eventVersion, eventSource or eventName field";

/// The scan of one event.
#[derive(Default)]
pub(crate) struct CloudTrail<'de> {
    /// A classifying key was seen.
    is_cloudtrail: bool,
    /// `eventType` or `eventCategory` says this is an Insights event.
    is_insight: bool,
    event_id: Option<String>,
    event_time: Option<DateTime<Utc>>,
    indicators: Indicators<'de>,
}

/// The fields whose path matters; everything else is `Other`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Root,
    EventTime,
    EventId,
    EventType,
    EventCategory,
    SourceIpAddress,
    /// `requestParameters`, `responseElements`, `additionalEventData`.
    Payload,
    UserIdentity,
    UserIdentityArn,
    SessionContext,
    SessionIssuer,
    UserName,
    TlsDetails,
    HostHeader,
    /// `recipientAccountId`, or `accountId` anywhere.
    AccountId,
    Other,
}

#[derive(Clone, Copy)]
pub(crate) struct Ctx {
    field: Field,
    /// Under a payload field, where strings that are IP addresses count.
    in_payload: bool,
}

impl<'de> Sink<'de> for CloudTrail<'de> {
    type Ctx = Ctx;

    fn root() -> Ctx {
        Ctx {
            field: Field::Root,
            in_payload: false,
        }
    }

    fn child(&mut self, parent: Ctx, key: &str) -> Ctx {
        let field = match (parent.field, key) {
            (Field::Root, "eventVersion" | "eventSource" | "eventName") => {
                self.is_cloudtrail = true;
                Field::Other
            }
            (Field::Root, "eventTime") => Field::EventTime,
            (Field::Root, "eventID") => Field::EventId,
            (Field::Root, "eventType") => Field::EventType,
            (Field::Root, "eventCategory") => Field::EventCategory,
            (Field::Root, "sourceIPAddress") => Field::SourceIpAddress,
            (Field::Root, "recipientAccountId") => Field::AccountId,
            (Field::Root, "requestParameters" | "responseElements" | "additionalEventData") => {
                Field::Payload
            }
            (Field::Root, "userIdentity") => Field::UserIdentity,
            (Field::Root, "tlsDetails") => Field::TlsDetails,
            (Field::UserIdentity, "arn") => Field::UserIdentityArn,
            (Field::UserIdentity, "sessionContext") => Field::SessionContext,
            (Field::SessionContext, "sessionIssuer") => Field::SessionIssuer,
            (Field::UserIdentity | Field::SessionIssuer, "userName") => Field::UserName,
            (Field::TlsDetails, "clientProvidedHostHeader") => Field::HostHeader,
            (_, "accountId") => Field::AccountId,
            _ => Field::Other,
        };
        Ctx {
            field,
            in_payload: parent.in_payload || field == Field::Payload,
        }
    }

    fn element(&mut self, parent: Ctx) -> Ctx {
        Ctx {
            field: Field::Other,
            in_payload: parent.in_payload,
        }
    }

    fn string(&mut self, ctx: Ctx, value: Text<'de, '_>) {
        let s = value.as_str();
        match ctx.field {
            // Last one wins for repeated keys, as in the Python rules' view of the event.
            Field::EventTime => self.event_time = parse_rfc3339(s),
            Field::EventId => self.event_id = Some(s.to_owned()),
            Field::EventType => self.is_insight |= cloudtrail_insight::is_event_type(s),
            Field::EventCategory => self.is_insight |= cloudtrail_insight::is_event_category(s),
            Field::SourceIpAddress => self.address_or_host(value),
            Field::HostHeader => self.address_or_host(value.sub(strip_port(s))),
            Field::AccountId if is_account_id(s) => self.indicators.push(Kind::AwsAccountId, value),
            Field::UserName if !s.is_empty() => self.indicators.push(Kind::Username, value),
            Field::UserIdentityArn => {
                if let Some(session) = assumed_role_session(s) {
                    self.indicators.push(Kind::Username, value.sub(session));
                }
            }
            _ => {}
        }
        if ctx.in_payload && is_ip(s) {
            self.indicators.push(Kind::IpAddress, value);
        }
        self.indicators.any_aws_value(value);
    }
}

impl<'de> JsonScan<'de> for CloudTrail<'de> {
    fn finish(self, forced: Option<LogType>) -> Option<Classified<'de>> {
        let log_type = match (forced, self.is_insight) {
            (Some(LogType::CloudTrail), _) | (None, false) => LogType::CloudTrail,
            (Some(LogType::CloudTrailInsight) | None, true) => LogType::CloudTrailInsight,
            _ => return None,
        };
        self.is_cloudtrail.then_some(Classified {
            log_type,
            event_id: self.event_id,
            id_is_unique: true,
            event_time: self.event_time,
            indicators: self.indicators,
        })
    }
}

impl<'de> CloudTrail<'de> {
    /// `sourceIPAddress` is an address for calls from the internet or a VPC, and a service
    /// host name (`ec2.amazonaws.com`) or `AWS Internal` for calls made by AWS.
    fn address_or_host(&mut self, value: Text<'de, '_>) {
        let s = value.as_str();
        if is_ip(s) {
            self.indicators.push(Kind::IpAddress, value);
        } else if is_host_name(s) {
            self.indicators.push(Kind::DomainName, value);
        }
    }
}

/// `host:443` → `host`; an IPv6 address (several `:`) is left alone.
fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port))
            if !name.contains(':')
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            name
        }
        _ => host,
    }
}

/// The session name of an assumed-role ARN:
/// `arn:aws:sts::123456789012:assumed-role/<role>/<session>`.
fn assumed_role_session(arn: &str) -> Option<&str> {
    let arn = Arn::parse(arn)?;
    let (_role, session) = arn
        .resource
        .strip_prefix("assumed-role/")?
        .split_once('/')?;
    (!session.is_empty()).then_some(session)
}
