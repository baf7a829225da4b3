//! Outputs: where alerts are delivered. Each kind lives in its own module behind the
//! [`AlertOutput`] trait, which is one delivery attempt; retries, backoff and the record of
//! attempts belong to the outbox deliverer, which uses [`RetryPolicy`] and [`routes`].
//!
//! Outputs are built from `--output KIND[=TARGET]` specs ([`OutputConfig::from_spec`]) or
//! from the config file ([`OutputConfig`] is deserializable) with [`build_outputs`].

mod capped;
pub mod config;
pub mod datadog;
pub mod error;
pub mod file;
mod http;
mod jsonl;
pub mod pagerduty;
pub mod retry;
pub mod routing;
pub mod secret;
pub mod slack;
#[cfg(feature = "sns")]
pub mod sns;
pub mod splunk;
pub mod stdout;
mod summary;
pub mod webhook;

use iota_alerts::Alert;
use iota_rules::Severity;

pub use config::{
    build_outputs, open_outputs, ConfigError, OutputConfig, OutputKind, OutputSettings,
};
pub use error::{parse_retry_after, DeliveryError};
pub use retry::RetryPolicy;
pub use routing::routes;
pub use secret::{Secret, SecretError, SecretRef};

/// A destination for alerts. [`AlertOutput::send`] is one delivery attempt: it blocks until
/// the receiver accepted the alert, refused it, or the output's timeout expired.
///
/// Outputs are shared by delivery threads, hence `Sync`. The HTTP and SNS outputs run their
/// own I/O runtime, so `send` must be called from a plain thread, not from inside an async
/// runtime.
pub trait AlertOutput: Send + Sync {
    /// Unique among the configured outputs; what rule `OutputIds` and `destinations()` name.
    fn name(&self) -> &str;
    /// `stdout`, `file`, `slack`, ...: see [`OutputKind`].
    fn kind(&self) -> &'static str;
    /// Default routing skips alerts below this severity; a rule that names the output in
    /// `OutputIds` or `destinations()` reaches it whatever the severity (see [`routes`]).
    fn min_severity(&self) -> Severity;
    /// Attempts after which the deliverer marks an alert failed for this output.
    fn max_attempts(&self) -> u32;
    /// The longest one [`AlertOutput::send`] may take.
    fn timeout(&self) -> std::time::Duration;
    /// Delivers one alert, once.
    fn send(&self, alert: &Alert) -> Result<(), DeliveryError>;
    /// Makes what was sent so far durable where the output can (the file output syncs its
    /// file to disk); network outputs have nothing left to do once `send` returned.
    fn flush(&self) -> Result<(), DeliveryError> {
        Ok(())
    }
}
