//! The outcome of a failed delivery attempt: worth retrying or not, and when.

use std::time::{Duration, SystemTime};

/// Why a delivery attempt failed. The reason never holds a secret: URLs are stripped from
/// transport errors and outputs name themselves by their configured name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// The receiver may accept the alert later: connection failures, timeouts, HTTP 408, 429
    /// and 5xx. `retry_after` is the receiver's `Retry-After`, when it sent one.
    #[error("{reason}")]
    Retryable {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Sending the same alert again cannot succeed: a refused payload, a revoked token or
    /// webhook, a bad URL. Retrying is left to `iota alerts retry` once the cause is fixed.
    #[error("{reason}")]
    Permanent { reason: String },
}

impl DeliveryError {
    pub fn retryable(reason: impl Into<String>) -> Self {
        DeliveryError::Retryable {
            reason: reason.into(),
            retry_after: None,
        }
    }

    pub fn permanent(reason: impl Into<String>) -> Self {
        DeliveryError::Permanent {
            reason: reason.into(),
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, DeliveryError::Retryable { .. })
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            DeliveryError::Retryable { retry_after, .. } => *retry_after,
            DeliveryError::Permanent { .. } => None,
        }
    }

    /// Classifies a non-success HTTP status. `body` is the start of the response body, kept
    /// in the reason because receivers explain refusals there (Slack's `invalid_token`,
    /// PagerDuty's `Invalid routing key`).
    pub fn from_status(status: u16, retry_after: Option<Duration>, body: &str) -> Self {
        let body = body.trim();
        let reason = if body.is_empty() {
            format!("HTTP {status}")
        } else {
            format!(
                "HTTP {status}: {}",
                truncate_chars(body, MAX_BODY_IN_REASON)
            )
        };
        match status {
            408 | 429 | 500..=599 => DeliveryError::Retryable {
                reason,
                retry_after,
            },
            // Redirects are not followed: a POST carrying a signed body or a token must reach
            // the configured URL itself.
            300..=399 => DeliveryError::permanent(format!(
                "{reason} (redirects are not followed: configure the final URL)"
            )),
            _ => DeliveryError::Permanent { reason },
        }
    }
}

const MAX_BODY_IN_REASON: usize = 300;

/// Parses a `Retry-After` value: delay seconds or an HTTP date, relative to `now`. A date in
/// the past means no wait; anything else unparsable is ignored.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// At most `max` characters of `text`, the last one an ellipsis when it had to be cut.
pub(crate) fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
