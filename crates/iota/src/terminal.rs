//! Everything iota writes to stderr goes through here: log lines, rule_error records and the
//! summary are printed above the progress bar (when one is shown) instead of through it.

use std::io::{self, IsTerminal, Write};
use std::sync::OnceLock;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing_subscriber::fmt::MakeWriter;

static PROGRESS: OnceLock<ProgressBar> = OnceLock::new();

pub fn stderr_is_terminal() -> bool {
    io::stderr().is_terminal()
}

/// Shows a byte-based progress bar on stderr; `None` when stderr is not a terminal.
pub fn start_progress(total_bytes: Option<u64>) -> Option<ProgressBar> {
    if !stderr_is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(total_bytes, ProgressDrawTarget::stderr());
    let template = if total_bytes.is_some() {
        "{spinner} {elapsed_precise} [{wide_bar}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})"
    } else {
        "{spinner} {elapsed_precise} {bytes} ({bytes_per_sec})"
    };
    bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    Some(PROGRESS.get_or_init(|| bar).clone())
}

pub fn finish_progress() {
    if let Some(bar) = PROGRESS.get() {
        bar.finish_and_clear();
    }
}

/// Writes whole lines to stderr, above the progress bar if there is one.
pub fn write_stderr(bytes: &[u8]) {
    let write = || {
        let mut stderr = io::stderr().lock();
        let _ = stderr.write_all(bytes);
        let _ = stderr.flush();
    };
    match PROGRESS.get() {
        Some(bar) if !bar.is_finished() => bar.suspend(write),
        _ => write(),
    }
}

/// A `tracing` writer that hands each formatted event to [`write_stderr`] in one piece.
#[derive(Clone, Copy, Default)]
pub struct StderrLines;

pub struct LineBuffer(Vec<u8>);

impl Write for LineBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LineBuffer {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            write_stderr(&self.0);
        }
    }
}

impl<'a> MakeWriter<'a> for StderrLines {
    type Writer = LineBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        LineBuffer(Vec::with_capacity(256))
    }
}
