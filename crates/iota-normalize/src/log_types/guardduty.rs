//! `AWS.GuardDuty`: a GuardDuty finding as GuardDuty exports it to S3 (GuardDuty User Guide,
//! "Exporting generated findings to Amazon S3": gzip files of JSON lines, one finding per
//! line, in the finding format of "Understanding Amazon GuardDuty findings"): `schemaVersion`,
//! `accountId`, `region`, `partition`, `id`, `arn`, `type`, `resource`, `service`,
//! `severity`, `createdAt`, `updatedAt`, `title`, `description`.
//!
//! Classification: top-level `schemaVersion`, `id` and `type` keys. Event time: `updatedAt`
//! (a finding is exported again each time it is updated), else `createdAt`. The finding `id`
//! is the event id shown with alerts, but not a dedup key: every update of a finding keeps it.
//!
//! Indicators:
//!
//! | field                    | taken from |
//! |--------------------------|------------|
//! | `p_any_ip_addresses`     | values of keys `ipAddressV4`, `ipAddressV6`, `privateIpAddress`, `publicIp`, `ipv6Addresses` at any depth (remote and local IP details of every action, network interfaces), when they are addresses |
//! | `p_any_aws_account_ids`  | every `accountId` at any depth, when 12 digits; the account of every ARN |
//! | `p_any_aws_arns`         | every string that is an ARN (`arn`, instance profiles, buckets) |
//! | `p_any_aws_instance_ids` | every string that is an instance id (`resource.instanceDetails.instanceId`) |
//! | `p_any_domain_names`     | values of keys `domain` (DNS request action), `publicDnsName`, `privateDnsName`, when host names |
//! | `p_any_usernames`        | values of keys `userName` (`resource.accessKeyDetails.userName`) |

use chrono::{DateTime, Utc};

use super::{Classified, JsonScan, LogType};
use crate::fields::parse_rfc3339;
use crate::indicators::{is_account_id, is_host_name, is_ip, Indicators, Kind};
use crate::walk::{Sink, Text};

pub(crate) const LOG_TYPE: &str = "AWS.GuardDuty";
pub(crate) const TIME_FIELD: &str = "updatedAt";
/// The key GuardDuty writes first in every finding.
pub(crate) const FIRST_KEY: &str = "schemaVersion";
/// What an event lacks when it is not one of this log type.
pub(crate) const EXPECTED: &str = "no schemaVersion, id and type fields of a GuardDuty finding";

/// The scan of one finding.
#[derive(Default)]
pub(crate) struct GuardDuty<'de> {
    has_schema_version: bool,
    has_type: bool,
    id: Option<String>,
    updated_at: Option<DateTime<Utc>>,
    created_at: Option<DateTime<Utc>>,
    indicators: Indicators<'de>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Root,
    Id,
    UpdatedAt,
    CreatedAt,
    AccountId,
    Ip,
    Domain,
    UserName,
    Other,
}

impl<'de> Sink<'de> for GuardDuty<'de> {
    type Ctx = Field;

    fn root() -> Field {
        Field::Root
    }

    fn child(&mut self, parent: Field, key: &str) -> Field {
        match (parent, key) {
            (Field::Root, "schemaVersion") => {
                self.has_schema_version = true;
                Field::Other
            }
            (Field::Root, "type") => {
                self.has_type = true;
                Field::Other
            }
            (Field::Root, "id") => Field::Id,
            (Field::Root, "updatedAt") => Field::UpdatedAt,
            (Field::Root, "createdAt") => Field::CreatedAt,
            (_, "accountId") => Field::AccountId,
            (
                _,
                "ipAddressV4" | "ipAddressV6" | "privateIpAddress" | "publicIp" | "ipv6Addresses",
            ) => Field::Ip,
            (_, "domain" | "publicDnsName" | "privateDnsName") => Field::Domain,
            (_, "userName") => Field::UserName,
            _ => Field::Other,
        }
    }

    fn element(&mut self, parent: Field) -> Field {
        // `ipv6Addresses` is a list of addresses.
        if parent == Field::Ip {
            Field::Ip
        } else {
            Field::Other
        }
    }

    fn string(&mut self, field: Field, value: Text<'de, '_>) {
        let s = value.as_str();
        match field {
            Field::Id => self.id = Some(s.to_owned()),
            Field::UpdatedAt => self.updated_at = parse_rfc3339(s),
            Field::CreatedAt => self.created_at = parse_rfc3339(s),
            Field::AccountId if is_account_id(s) => self.indicators.push(Kind::AwsAccountId, value),
            Field::Ip if is_ip(s) => self.indicators.push(Kind::IpAddress, value),
            Field::Domain if is_host_name(s) => self.indicators.push(Kind::DomainName, value),
            Field::UserName if !s.is_empty() => self.indicators.push(Kind::Username, value),
            _ => {}
        }
        self.indicators.any_aws_value(value);
    }
}

impl<'de> JsonScan<'de> for GuardDuty<'de> {
    fn finish(self, _forced: Option<LogType>) -> Option<Classified<'de>> {
        (self.has_schema_version && self.has_type && self.id.is_some()).then_some(Classified {
            log_type: LogType::GuardDuty,
            event_id: self.id,
            id_is_unique: false,
            event_time: self.updated_at.or(self.created_at),
            indicators: self.indicators,
        })
    }
}
