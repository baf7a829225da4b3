//! The `stdout` output: one alert per line, as JSON.

use std::io::Write;

use iota_alerts::Alert;

use crate::config::OutputSettings;
use crate::jsonl::{io_error, write_line};
use crate::{AlertOutput, DeliveryError};

pub struct StdoutOutput {
    settings: OutputSettings,
}

impl StdoutOutput {
    /// Named `stdout`, with the default settings.
    pub fn new() -> Self {
        Self::with_settings(OutputSettings::new("stdout"))
    }

    pub fn with_settings(settings: OutputSettings) -> Self {
        StdoutOutput { settings }
    }
}

impl Default for StdoutOutput {
    fn default() -> Self {
        Self::new()
    }
}

impl AlertOutput for StdoutOutput {
    crate::config::settings_accessors!("stdout");

    fn send(&self, alert: &Alert) -> Result<(), DeliveryError> {
        let mut stdout = std::io::stdout().lock();
        // Each alert is visible as soon as it is delivered, even when stdout is a pipe.
        write_line(&mut stdout, alert)
            .and_then(|()| stdout.flush())
            .map_err(|err| io_error("writing to stdout", err))
    }
}
