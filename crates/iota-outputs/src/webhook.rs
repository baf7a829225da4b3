//! The `webhook` output: the alert JSON (the documented schema, byte for byte what stdout
//! prints) POSTed to a URL, optionally signed and with extra headers from the config.
//!
//! The signature is `X-Iota-Signature: sha256=<hex>`, the HMAC-SHA256 of the exact body
//! bytes under the configured key, so a receiver can check that the alert came from iota.

use hmac::{Hmac, Mac};
use iota_alerts::Alert;
use reqwest::header::{HeaderMap, HeaderName};
use sha2::Sha256;

use crate::config::{settings_accessors, ConfigError, OutputSettings};
use crate::http::{secret_header, secret_headers, HttpTarget};
use crate::{AlertOutput, DeliveryError, Secret};

pub const SIGNATURE_HEADER: &str = "x-iota-signature";

pub struct WebhookOutput {
    settings: OutputSettings,
    http: HttpTarget,
    hmac_key: Option<Secret>,
    headers: HeaderMap,
}

impl WebhookOutput {
    /// `url` is a secret: webhook URLs often embed the receiver's token.
    pub fn new(
        settings: OutputSettings,
        url: &Secret,
        hmac_key: Option<Secret>,
        headers: Vec<(String, Secret)>,
    ) -> Result<Self, ConfigError> {
        let error = |message: String| ConfigError::new(&settings.name, message);
        let http = HttpTarget::new(url.expose(), settings.timeout)
            .map_err(|err| error(format!("URL: {err}")))?;
        let headers = secret_headers(&headers).map_err(|err| error(format!("headers: {err}")))?;
        Ok(WebhookOutput {
            settings,
            http,
            hmac_key,
            headers,
        })
    }
}

impl AlertOutput for WebhookOutput {
    settings_accessors!("webhook");

    fn send(&self, alert: &Alert) -> Result<(), DeliveryError> {
        let body = body(alert);
        let mut headers = self.headers.clone();
        if let Some(key) = &self.hmac_key {
            let value = secret_header(&signature(key.expose().as_bytes(), &body))
                .expect("a hex signature is a valid header value");
            headers.insert(HeaderName::from_static(SIGNATURE_HEADER), value);
        }
        self.http.post_json(headers, body)
    }
}

/// The request body: the alert as documented in docs/ALERTS.md.
pub fn body(alert: &Alert) -> Vec<u8> {
    serde_json::to_vec(alert).expect("an alert always serializes")
}

/// The `X-Iota-Signature` value for `body`: `sha256=` and the hex HMAC-SHA256 under `key`.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}
