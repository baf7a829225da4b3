//! The `pagerduty` output: a `trigger` event on the PagerDuty Events API v2. The alert id is
//! the `dedup_key`, so a delivery repeated after a crash updates the same PagerDuty alert
//! instead of paging twice.

use iota_alerts::Alert;
use iota_rules::Severity;
use reqwest::header::HeaderMap;
use reqwest::Url;
use serde_json::{json, Map, Value};

use crate::capped::alert_value;
use crate::config::{settings_accessors, ConfigError, OutputSettings};
use crate::error::truncate_chars;
use crate::http::HttpTarget;
use crate::summary::EventSummary;
use crate::{AlertOutput, DeliveryError, Secret};

pub const EVENTS_API_URL: &str = "https://events.pagerduty.com/v2/enqueue";

const SUMMARY_MAX: usize = 1024;
/// PagerDuty refuses events over 512 KB; the rest of the event needs a little room.
const CUSTOM_DETAILS_MAX: usize = 500 * 1024;

pub struct PagerDutyOutput {
    settings: OutputSettings,
    routing_key: Secret,
    http: HttpTarget,
}

impl PagerDutyOutput {
    /// `url` replaces [`EVENTS_API_URL`] (a proxy, a test server).
    pub fn new(
        settings: OutputSettings,
        routing_key: Secret,
        url: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let http = HttpTarget::new(url.unwrap_or(EVENTS_API_URL), settings.timeout)
            .map_err(|err| ConfigError::new(&settings.name, format!("url: {err}")))?;
        Ok(PagerDutyOutput {
            settings,
            routing_key,
            http,
        })
    }
}

impl AlertOutput for PagerDutyOutput {
    settings_accessors!("pagerduty");

    fn send(&self, alert: &Alert) -> Result<(), DeliveryError> {
        let body = payload(alert, &self.routing_key);
        let body = serde_json::to_vec(&body).expect("JSON values serialize");
        self.http.post_json(HeaderMap::new(), body)
    }
}

/// PagerDuty's severity for each of ours: it has no level below `info`.
pub fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "info",
    }
}

/// The Events API v2 body for `alert`: `source` is the AWS account (or `iota` when the event
/// names none), `component` the AWS service, `group` the region, `class` the rule id, and the
/// alert itself the `custom_details`.
pub fn payload(alert: &Alert, routing_key: &Secret) -> Value {
    let summary = EventSummary::of(alert);
    let mut fields = Map::new();
    fields.insert(
        "summary".into(),
        truncate_chars(&alert.title, SUMMARY_MAX).into(),
    );
    fields.insert(
        "source".into(),
        summary.account.as_deref().unwrap_or("iota").into(),
    );
    fields.insert("severity".into(), severity(alert.severity).into());
    fields.insert(
        "timestamp".into(),
        json!(alert
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
    );
    for (key, value) in [
        ("component", summary.event_source),
        ("group", summary.region),
    ] {
        if let Some(value) = value {
            fields.insert(key.into(), value.into());
        }
    }
    fields.insert("class".into(), alert.rule_id.clone().into());
    fields.insert(
        "custom_details".into(),
        alert_value(alert, CUSTOM_DETAILS_MAX),
    );

    let links: Vec<Value> = [("Runbook", &alert.runbook), ("Reference", &alert.reference)]
        .into_iter()
        .filter_map(|(text, link)| {
            let url = Url::parse(link.as_deref()?.trim()).ok()?;
            matches!(url.scheme(), "http" | "https")
                .then(|| json!({"href": url.as_str(), "text": text}))
        })
        .collect();

    let mut event = json!({
        "routing_key": routing_key.expose(),
        "event_action": "trigger",
        "dedup_key": alert.id,
        "client": "iota",
        "payload": fields,
    });
    if !links.is_empty() {
        event["links"] = links.into();
    }
    event
}
