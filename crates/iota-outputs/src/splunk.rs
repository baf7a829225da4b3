//! The `splunk` output: the alert as one event on a Splunk HTTP Event Collector, with
//! sourcetype `iota:alert` and the alert's creation time as the event time.

use iota_alerts::Alert;
use reqwest::header::{HeaderMap, AUTHORIZATION};
use reqwest::Url;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::config::{settings_accessors, ConfigError, OutputSettings};
use crate::http::{secret_header, HttpTarget};
use crate::{AlertOutput, DeliveryError, Secret};

pub const SOURCETYPE: &str = "iota:alert";
/// Where events go when the configured URL has no path (`https://splunk.example.com:8088`).
pub const EVENT_PATH: &str = "/services/collector/event";

pub struct SplunkOutput {
    settings: OutputSettings,
    http: HttpTarget,
    authorization: HeaderMap,
}

impl SplunkOutput {
    /// `url` is the HEC endpoint, or its base URL; `token` the HEC token.
    pub fn new(settings: OutputSettings, url: &str, token: Secret) -> Result<Self, ConfigError> {
        let error = |message: String| ConfigError::new(&settings.name, message);
        let url = match Url::parse(url) {
            Ok(parsed) if parsed.path() == "/" && !url.contains('?') => {
                format!("{}{EVENT_PATH}", url.trim_end_matches('/'))
            }
            _ => url.to_owned(),
        };
        let http =
            HttpTarget::new(&url, settings.timeout).map_err(|err| error(format!("URL: {err}")))?;
        let mut authorization = HeaderMap::new();
        authorization.insert(
            AUTHORIZATION,
            secret_header(&format!("Splunk {}", token.expose()))
                .map_err(|err| error(format!("token: {err}")))?,
        );
        Ok(SplunkOutput {
            settings,
            http,
            authorization,
        })
    }
}

impl AlertOutput for SplunkOutput {
    settings_accessors!("splunk");

    fn send(&self, alert: &Alert) -> Result<(), DeliveryError> {
        self.http.post_json(self.authorization.clone(), body(alert))
    }
}

#[derive(Serialize)]
struct HecEvent<'a> {
    event: &'a Alert,
    sourcetype: &'static str,
    time: Box<RawValue>,
}

/// The HEC body: `{"event": <alert>, "sourcetype": "iota:alert", "time": <epoch seconds>}`.
pub fn body(alert: &Alert) -> Vec<u8> {
    // Written out rather than through an f64, which cannot hold every microsecond.
    let micros = alert.created_at.timestamp_micros();
    let sign = if micros < 0 { "-" } else { "" };
    let micros = micros.unsigned_abs();
    let time = format!("{sign}{}.{:06}", micros / 1_000_000, micros % 1_000_000);
    let event = HecEvent {
        event: alert,
        sourcetype: SOURCETYPE,
        time: RawValue::from_string(time).expect("a decimal number is JSON"),
    };
    serde_json::to_vec(&event).expect("an alert always serializes")
}
