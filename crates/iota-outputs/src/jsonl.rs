//! Alerts as JSON lines on any writer: shared by the stdout and file outputs.

use std::io::Write;

use iota_alerts::Alert;

use crate::OutputError;

pub(crate) struct JsonLines<W: Write> {
    pub name: String,
    pub writer: W,
}

impl<W: Write> JsonLines<W> {
    pub fn send(&mut self, alert: &Alert) -> Result<(), OutputError> {
        serde_json::to_writer(&mut self.writer, alert)
            .map_err(std::io::Error::from)
            .and_then(|()| self.writer.write_all(b"\n"))
            .map_err(|source| self.error(source))
    }

    pub fn flush(&mut self) -> Result<(), OutputError> {
        self.writer.flush().map_err(|source| self.error(source))
    }

    fn error(&self, source: std::io::Error) -> OutputError {
        OutputError::Io {
            output: self.name.clone(),
            source,
        }
    }
}
