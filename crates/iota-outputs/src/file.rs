//! The `file` output: alerts appended to a file as JSON lines.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use iota_alerts::Alert;

use crate::config::{ConfigError, OutputSettings};
use crate::jsonl::{io_error, write_line};
use crate::{AlertOutput, DeliveryError};

pub struct FileOutput {
    settings: OutputSettings,
    path: PathBuf,
    file: Mutex<File>,
}

impl FileOutput {
    /// Opens `path` for appending, creating it if needed; the output is named `file`.
    pub fn open(path: &Path) -> Result<Self, ConfigError> {
        Self::with_settings(OutputSettings::new("file"), path)
    }

    pub fn with_settings(settings: OutputSettings, path: &Path) -> Result<Self, ConfigError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|err| {
                ConfigError::new(
                    &settings.name,
                    format!("cannot open {} for appending: {err}", path.display()),
                )
            })?;
        Ok(FileOutput {
            settings,
            path: path.to_owned(),
            file: Mutex::new(file),
        })
    }
}

impl AlertOutput for FileOutput {
    crate::config::settings_accessors!("file");

    /// The file is unbuffered: a delivered alert is in the file, not in a buffer a crash
    /// would lose.
    fn send(&self, alert: &Alert) -> Result<(), DeliveryError> {
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        write_line(&mut *file, alert)
            .map_err(|err| io_error(&format!("appending to {}", self.path.display()), err))
    }

    fn flush(&self) -> Result<(), DeliveryError> {
        let file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.sync_data()
            .map_err(|err| io_error(&format!("syncing {}", self.path.display()), err))
    }
}
