//! The `file` output: alerts appended to a file as JSON lines.

use std::fs::{File, OpenOptions};
use std::io::BufWriter;
use std::path::Path;

use iota_alerts::Alert;

use crate::jsonl::JsonLines;
use crate::{AlertOutput, OutputError};

pub struct FileOutput(JsonLines<BufWriter<File>>);

impl FileOutput {
    /// Opens `path` for appending, creating it if needed.
    pub fn open(path: &Path) -> Result<Self, OutputError> {
        let name = format!("file={}", path.display());
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| OutputError::Io {
                output: name.clone(),
                source,
            })?;
        Ok(FileOutput(JsonLines {
            name,
            writer: BufWriter::new(file),
        }))
    }
}

impl AlertOutput for FileOutput {
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
