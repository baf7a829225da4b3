//! The few facts of an alert's event that a responder reads first (account, region,
//! principal, source IP, event time), for outputs that show a summary rather than the alert.

use iota_alerts::Alert;
use serde_json::Value;

#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct EventSummary {
    /// `recipientAccountId`, else the account ids iota found anywhere in the event.
    pub account: Option<String>,
    pub region: Option<String>,
    /// `userIdentity.arn`, else `userIdentity.principalId`.
    pub principal: Option<String>,
    pub source_ip: Option<String>,
    pub event_time: Option<String>,
    pub event_source: Option<String>,
    pub event_name: Option<String>,
}

impl EventSummary {
    pub fn of(alert: &Alert) -> Self {
        let Ok(event) = serde_json::from_str::<Value>(alert.event.get()) else {
            return EventSummary::default();
        };
        let text = |pointer: &str| {
            event
                .pointer(pointer)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let any_accounts = || {
            let ids: Vec<&str> = event
                .get("p_any_aws_account_ids")?
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .collect();
            (!ids.is_empty()).then(|| ids.join(", "))
        };
        EventSummary {
            account: text("/recipientAccountId").or_else(any_accounts),
            region: text("/awsRegion"),
            principal: text("/userIdentity/arn").or_else(|| text("/userIdentity/principalId")),
            source_ip: text("/sourceIPAddress"),
            event_time: text("/eventTime"),
            event_source: text("/eventSource"),
            event_name: text("/eventName"),
        }
    }
}
