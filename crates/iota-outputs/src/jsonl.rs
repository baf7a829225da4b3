//! Alerts as JSON lines: shared by the stdout and file outputs.

use std::io::{ErrorKind, Write};

use iota_alerts::Alert;

use crate::DeliveryError;

/// Writes the alert and its newline with one `write_all`, so that concurrent writers (or
/// several processes appending to one file) never interleave parts of lines.
pub(crate) fn write_line(writer: &mut impl Write, alert: &Alert) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(alert)?;
    line.push(b'\n');
    writer.write_all(&line)
}

/// A closed pipe will not reopen (`iota scan | head`); other errors, such as a full disk,
/// may clear.
pub(crate) fn io_error(what: &str, err: std::io::Error) -> DeliveryError {
    let reason = format!("{what}: {err}");
    if err.kind() == ErrorKind::BrokenPipe {
        DeliveryError::permanent(reason)
    } else {
        DeliveryError::retryable(reason)
    }
}
