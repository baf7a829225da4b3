//! The `datadog` output: the alert as one log on the Datadog logs intake (v2), with
//! `ddsource:iota`, the title as the message, rule and severity as tags, and the severity as
//! the log status so that Datadog colours and filters it.

use iota_alerts::Alert;
use iota_rules::Severity;
use reqwest::header::{HeaderMap, HeaderName};
use serde_json::{json, Value};

use crate::capped::alert_value;
use crate::config::{settings_accessors, ConfigError, OutputSettings};
use crate::http::{secret_header, HttpTarget};
use crate::{AlertOutput, DeliveryError, Secret};

pub const API_KEY_HEADER: &str = "dd-api-key";
/// Datadog truncates logs over 1 MB, which would cut the JSON; the rest of the log needs a
/// little room.
const ALERT_MAX: usize = 1_000_000 - 4096;

pub struct DatadogOutput {
    settings: OutputSettings,
    http: HttpTarget,
    headers: HeaderMap,
    hostname: Option<String>,
}

impl DatadogOutput {
    /// `site` is the Datadog site (`datadoghq.com`, `datadoghq.eu`, `us5.datadoghq.com`,
    /// ...); `url` replaces the intake URL derived from it.
    pub fn new(
        settings: OutputSettings,
        site: &str,
        api_key: Secret,
        url: Option<&str>,
        hostname: Option<String>,
    ) -> Result<Self, ConfigError> {
        let error = |message: String| ConfigError::new(&settings.name, message);
        let url = match url {
            Some(url) => url.to_owned(),
            None => intake_url(site).ok_or_else(|| {
                error(format!(
                    "{site:?} is not a Datadog site: give the site only, such as datadoghq.com \
                     or datadoghq.eu (a full intake URL goes in `url` in the config file)"
                ))
            })?,
        };
        let http =
            HttpTarget::new(&url, settings.timeout).map_err(|err| error(format!("url: {err}")))?;
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static(API_KEY_HEADER),
            secret_header(api_key.expose()).map_err(|err| error(format!("API key: {err}")))?,
        );
        Ok(DatadogOutput {
            settings,
            http,
            headers,
            hostname,
        })
    }
}

impl AlertOutput for DatadogOutput {
    settings_accessors!("datadog");

    fn send(&self, alert: &Alert) -> Result<(), DeliveryError> {
        let body = body(alert, self.hostname.as_deref());
        let body = serde_json::to_vec(&body).expect("JSON values serialize");
        self.http.post_json(self.headers.clone(), body)
    }
}

/// The logs intake URL of a Datadog site, or `None` when `site` is not a bare host name.
pub fn intake_url(site: &str) -> Option<String> {
    let valid = !site.is_empty()
        && site.contains('.')
        && site
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    valid.then(|| format!("https://http-intake.logs.{site}/api/v2/logs"))
}

/// The Datadog log status of each severity.
pub fn status(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "info",
    }
}

/// The intake body: an array holding one log.
pub fn body(alert: &Alert, hostname: Option<&str>) -> Value {
    let mut log = json!({
        "ddsource": "iota",
        "service": "iota",
        "ddtags": format!(
            "rule_id:{},severity:{}",
            tag_value(&alert.rule_id),
            alert.severity.as_str().to_ascii_lowercase()
        ),
        "status": status(alert.severity),
        "message": alert.title,
        "alert": alert_value(alert, ALERT_MAX),
    });
    if let Some(hostname) = hostname {
        log["hostname"] = hostname.into();
    }
    json!([log])
}

/// Commas separate tags, so one inside a value would split it.
fn tag_value(value: &str) -> String {
    value.replace(',', "_")
}
