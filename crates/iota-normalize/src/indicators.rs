//! Indicators (`p_any_*` fields): the kinds, their collection for one event (sorted and
//! unique at the end), and the value tests shared by AWS log types (IP address, account id,
//! ARN, instance id, host name).

use std::borrow::Cow;
use std::net::IpAddr;

use crate::walk::Text;

/// An indicator kind; the order of the variants is the order of the output fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    IpAddress,
    AwsAccountId,
    AwsArn,
    AwsInstanceId,
    DomainName,
    Username,
}

impl Kind {
    /// The output field holding this kind.
    pub(crate) fn field(self) -> &'static str {
        match self {
            Kind::IpAddress => "p_any_ip_addresses",
            Kind::AwsAccountId => "p_any_aws_account_ids",
            Kind::AwsArn => "p_any_aws_arns",
            Kind::AwsInstanceId => "p_any_aws_instance_ids",
            Kind::DomainName => "p_any_domain_names",
            Kind::Username => "p_any_usernames",
        }
    }
}

/// The indicators of one event.
pub(crate) struct Indicators<'de> {
    /// `Cow::Borrowed` values are slices of the input JSON that held no escapes (see
    /// [`Text::keep`]), which lets them be written back without escaping.
    items: Vec<(Kind, Cow<'de, str>)>,
}

impl Default for Indicators<'_> {
    fn default() -> Self {
        // One allocation per event: a CloudTrail event has about 5 to 15 indicators.
        Self {
            items: Vec::with_capacity(16),
        }
    }
}

impl<'de> Indicators<'de> {
    pub(crate) fn push(&mut self, kind: Kind, value: Text<'de, '_>) {
        self.items.push((kind, value.keep()));
    }

    /// The tests that apply to any string of an AWS event, wherever it is: an ARN (with the
    /// account id and EC2 instance id inside it) or an EC2 instance id.
    pub(crate) fn any_aws_value(&mut self, value: Text<'de, '_>) {
        let s = value.as_str();
        // Runs on every string of the event: the first byte rules out almost all of them.
        match s.as_bytes().first() {
            Some(b'a') => {
                if let Some(arn) = Arn::parse(s) {
                    if is_account_id(arn.account) {
                        self.push(Kind::AwsAccountId, value.sub(arn.account));
                    }
                    if let Some(id) = arn.instance_id() {
                        self.push(Kind::AwsInstanceId, value.sub(id));
                    }
                    self.push(Kind::AwsArn, value);
                }
            }
            Some(b'i') if is_instance_id(s) => self.push(Kind::AwsInstanceId, value),
            _ => {}
        }
    }

    /// Sorts and removes duplicates; the result is grouped by kind, in output order.
    pub(crate) fn sorted(mut self) -> Vec<(Kind, Cow<'de, str>)> {
        self.items.sort_unstable();
        self.items.dedup();
        self.items
    }
}

/// An ARN, `arn:partition:service:region:account-id:resource` (the resource may contain
/// more `:`).
pub(crate) struct Arn<'a> {
    pub(crate) service: &'a str,
    pub(crate) account: &'a str,
    pub(crate) resource: &'a str,
}

impl<'a> Arn<'a> {
    pub(crate) fn parse(s: &'a str) -> Option<Self> {
        let rest = s.strip_prefix("arn:")?;
        let mut colons = rest
            .bytes()
            .enumerate()
            .filter(|&(_, b)| b == b':')
            .map(|(i, _)| i);
        let (partition_end, service_end) = (colons.next()?, colons.next()?);
        let (region_end, account_end) = (colons.next()?, colons.next()?);
        Some(Arn {
            service: &rest[partition_end + 1..service_end],
            account: &rest[region_end + 1..account_end],
            resource: &rest[account_end + 1..],
        })
    }

    /// The instance id of an EC2 instance ARN (`...:instance/i-...`).
    pub(crate) fn instance_id(&self) -> Option<&'a str> {
        let id = self.resource.strip_prefix("instance/")?;
        (self.service == "ec2" && is_instance_id(id)).then_some(id)
    }
}

/// An IPv4 or IPv6 address, exactly (no port, no CIDR suffix).
pub(crate) fn is_ip(s: &str) -> bool {
    // Cheap rejection first: most strings tested are not addresses.
    let shortest = "::".len();
    let longest = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255".len();
    (shortest..=longest).contains(&s.len())
        && (s.as_bytes()[0].is_ascii_hexdigit() || s.as_bytes()[0] == b':')
        && s.parse::<IpAddr>().is_ok()
}

/// A 12-digit AWS account id.
pub(crate) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// An EC2 instance id: `i-` and 8 (older) or 17 lowercase hex digits.
pub(crate) fn is_instance_id(s: &str) -> bool {
    s.strip_prefix("i-").is_some_and(|hex| {
        matches!(hex.len(), 8 | 17) && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// A DNS host name with at least two labels (`ec2.amazonaws.com`) whose last label starts
/// with a letter, so that no IP address or version number passes.
pub(crate) fn is_host_name(s: &str) -> bool {
    let mut labels = s.as_bytes().split(|&b| b == b'.');
    s.len() <= 253
        && s.contains('.')
        && labels.clone().all(|label| {
            (1..=63).contains(&label.len())
                && label[0] != b'-'
                && label[label.len() - 1] != b'-'
                && label
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels
            .next_back()
            .is_some_and(|tld| tld[0].is_ascii_alphabetic())
}
