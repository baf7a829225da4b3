//! Outputs: where alerts are delivered. Each kind lives in its own module behind the
//! [`AlertOutput`] trait.

pub mod file;
mod jsonl;
pub mod stdout;

use iota_alerts::Alert;

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{output}: {source}")]
    Io {
        output: String,
        #[source]
        source: std::io::Error,
    },
}

/// A destination for alerts.
pub trait AlertOutput: Send {
    /// Name used in logs and in rule `OutputIds`.
    fn name(&self) -> &str;
    fn send(&mut self, alert: &Alert) -> Result<(), OutputError>;
    fn flush(&mut self) -> Result<(), OutputError>;
}
