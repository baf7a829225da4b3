//! The `stdout` output: one alert per line, as JSON.

use std::io::{BufWriter, Stdout};

use iota_alerts::Alert;

use crate::jsonl::JsonLines;
use crate::{AlertOutput, OutputError};

pub struct StdoutOutput(JsonLines<BufWriter<Stdout>>);

impl StdoutOutput {
    pub fn new() -> Self {
        StdoutOutput(JsonLines {
            name: "stdout".into(),
            writer: BufWriter::new(std::io::stdout()),
        })
    }
}

impl Default for StdoutOutput {
    fn default() -> Self {
        Self::new()
    }
}

impl AlertOutput for StdoutOutput {
    fn name(&self) -> &str {
        &self.0.name
    }

    fn send(&mut self, alert: &Alert) -> Result<(), OutputError> {
        self.0.send(alert)
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        self.0.flush()
    }
}
