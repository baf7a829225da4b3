//! The HTTP side shared by the Slack, PagerDuty, webhook, Splunk and Datadog outputs: one
//! blocking POST of a JSON body, its outcome classified into [`DeliveryError`].

use std::io::Read;
use std::time::{Duration, SystemTime};

use reqwest::blocking::Client;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Url;

use crate::error::{parse_retry_after, DeliveryError};
use crate::Secret;

/// A client and the endpoint it posts to.
pub(crate) struct HttpTarget {
    client: Client,
    url: Url,
}

impl HttpTarget {
    /// Fails with a message fit for a configuration error. The URL is never quoted in it:
    /// for Slack and webhooks it is a secret.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, String> {
        let url = Url::parse(url).map_err(|err| format!("invalid URL ({err})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "unsupported URL scheme {:?} (expected https:// or http://)",
                url.scheme()
            ));
        }
        let client = Client::builder()
            .timeout(timeout)
            .user_agent(concat!("iota/", env!("CARGO_PKG_VERSION")))
            // A redirected POST may lose its body or carry a token to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| format!("cannot create the HTTP client: {}", error_chain(&err)))?;
        Ok(HttpTarget { client, url })
    }

    /// POSTs `body` as JSON with `headers`; success is any 2xx status.
    pub fn post_json(&self, headers: HeaderMap, body: Vec<u8>) -> Result<(), DeliveryError> {
        let response = self
            .client
            .post(self.url.clone())
            .headers(headers)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body)
            .send()
            .map_err(transport_error)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| parse_retry_after(value, SystemTime::now()));
        // Reading the (short) body lets the connection be reused; its start explains errors.
        let mut text = Vec::new();
        let _ = response.take(BODY_LIMIT).read_to_end(&mut text);
        if status.is_success() {
            return Ok(());
        }
        Err(DeliveryError::from_status(
            status.as_u16(),
            retry_after,
            &String::from_utf8_lossy(&text),
        ))
    }
}

/// How much of a response body is read: enough for any error message.
const BODY_LIMIT: u64 = 4096;

/// A header carrying a secret, marked sensitive so that HTTP-level debug logs redact it.
pub(crate) fn secret_header(value: &str) -> Result<HeaderValue, String> {
    let mut value = HeaderValue::from_str(value)
        .map_err(|_| "the value is not a valid HTTP header value".to_owned())?;
    value.set_sensitive(true);
    Ok(value)
}

pub(crate) fn header_name(name: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("invalid header name {name:?}"))
}

/// Extra headers from the config, every value treated as a secret (they often carry tokens).
pub(crate) fn secret_headers(headers: &[(String, Secret)]) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let value =
            secret_header(value.expose()).map_err(|err| format!("header {name:?}: {err}"))?;
        map.append(header_name(name)?, value);
    }
    Ok(map)
}

/// Every transport failure is worth retrying but a request that could not be built. The URL
/// is removed from the message: it may be a secret.
fn transport_error(err: reqwest::Error) -> DeliveryError {
    let err = err.without_url();
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let reason = format!("{kind}: {}", error_chain(&err));
    if err.is_builder() {
        DeliveryError::permanent(reason)
    } else {
        DeliveryError::retryable(reason)
    }
}

/// An error and its causes on one line: reqwest's own message alone ("error sending
/// request") does not say what went wrong.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    text
}
