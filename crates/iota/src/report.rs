//! Reports on stderr: rule_error records (also appended to `--errors-out`) and the end-of-run
//! summary, as text on a terminal or one JSON object otherwise.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;

use iota_alerts::RuleErrorRecord;

use crate::terminal::write_stderr;

/// Where rule errors go: stderr (unless silent), and a file when `--errors-out` is given.
pub struct ErrorReport {
    file: Option<Mutex<File>>,
    to_stderr: bool,
    count: AtomicU64,
    /// Rule errors per rule id (load, import and evaluation errors alike).
    by_rule: Mutex<HashMap<String, u64>>,
}

impl ErrorReport {
    pub fn new(errors_out: Option<&Path>) -> anyhow::Result<Self> {
        let file = match errors_out {
            Some(path) => Some(Mutex::new(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("cannot open --errors-out {}", path.display()))?,
            )),
            None => None,
        };
        Ok(ErrorReport {
            file,
            to_stderr: true,
            count: AtomicU64::new(0),
            by_rule: Mutex::default(),
        })
    }

    /// Counts rule errors without printing them (for commands that report them their way).
    pub fn silent() -> Self {
        ErrorReport {
            file: None,
            to_stderr: false,
            count: AtomicU64::new(0),
            by_rule: Mutex::default(),
        }
    }

    pub fn rule_error(&self, record: &RuleErrorRecord) {
        self.count.fetch_add(1, Ordering::Relaxed);
        if let Some(rule) = &record.rule_id {
            *self
                .by_rule
                .lock()
                .unwrap()
                .entry(rule.clone())
                .or_default() += 1;
        }
        let mut line = serde_json::to_vec(record).expect("rule error serialises");
        line.push(b'\n');
        if self.to_stderr {
            write_stderr(&line);
        }
        if let Some(file) = &self.file {
            let mut file = file.lock().unwrap();
            if let Err(err) = file.write_all(&line) {
                tracing::error!("cannot write to --errors-out: {err}");
            }
        }
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Rule errors reported for `rule_id`.
    pub fn count_of(&self, rule_id: &str) -> u64 {
        self.by_rule
            .lock()
            .unwrap()
            .get(rule_id)
            .copied()
            .unwrap_or(0)
    }
}

/// What a scan did, printed when it ends.
#[derive(Debug, Default, Serialize)]
pub struct ScanSummary {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub files: u64,
    pub files_skipped: u64,
    /// With --state: files not read because an earlier scan committed them.
    pub files_already_committed: u64,
    pub input_errors: u64,
    pub bytes: u64,
    pub events: u64,
    /// Events some rule's prefilter let through to Python.
    pub events_to_rules: u64,
    /// (event, rule) pairs handed to Python.
    pub rule_evaluations: u64,
    pub malformed: u64,
    pub duplicates: u64,
    pub rules: usize,
    pub matches: u64,
    pub alerts: u64,
    pub alerts_suppressed: u64,
    /// (alert, output) deliveries that failed after their last attempt.
    pub delivery_failures: u64,
    pub signals: u64,
    /// Without --state: windows whose matches stayed below their rule's Threshold; with
    /// --state: matches this scan added to such windows.
    pub below_threshold: u64,
    pub rule_errors: u64,
    pub skipped_evaluations: u64,
    pub worker_restarts: u64,
    pub elapsed_seconds: f64,
    pub events_per_second: f64,
    /// Peak resident memory of the iota process itself.
    pub peak_rss_bytes: u64,
    /// Peak resident memory of the largest rule worker.
    pub worker_peak_rss_bytes: u64,
}

impl ScanSummary {
    pub fn set_elapsed(&mut self, elapsed: Duration) {
        self.elapsed_seconds = elapsed.as_secs_f64();
        self.events_per_second = if self.elapsed_seconds > 0.0 {
            self.events as f64 / self.elapsed_seconds
        } else {
            0.0
        };
    }

    /// Records peak memory; call once every worker has exited.
    pub fn set_peak_memory(&mut self) {
        self.peak_rss_bytes =
            own_peak_rss_bytes().unwrap_or_else(|| max_rss_bytes(libc::RUSAGE_SELF));
        self.worker_peak_rss_bytes = max_rss_bytes(libc::RUSAGE_CHILDREN);
    }

    pub fn print(&self, json: bool) {
        print_summary(self, json, || self.to_text());
    }

    fn to_text(&self) -> String {
        let mut text = format!(
            "scanned {} files ({}), {} events in {:.2}s ({:.0} events/s)\n",
            self.files,
            bytesize::ByteSize::b(self.bytes).display().iec(),
            self.events,
            self.elapsed_seconds,
            self.events_per_second
        );
        text += &format!(
            "  input:  {} skipped files, {} unreadable, {} malformed records, {} duplicate events\n",
            self.files_skipped, self.input_errors, self.malformed, self.duplicates
        );
        text += &format!(
            "  memory: {} peak RSS, {} largest rule worker\n",
            bytesize::ByteSize::b(self.peak_rss_bytes).display().iec(),
            bytesize::ByteSize::b(self.worker_peak_rss_bytes)
                .display()
                .iec()
        );
        text += &format!(
            "  rules:  {} rules, {} events to rules ({} evaluations), {} matches, {} alerts, {} signals, {} below threshold, {} rule errors\n",
            self.rules,
            self.events_to_rules, self.rule_evaluations, self.matches, self.alerts, self.signals, self.below_threshold, self.rule_errors
        );
        if self.files_already_committed > 0 {
            text += &format!(
                "  state:  {} files skipped, committed by an earlier scan with this --state\n",
                self.files_already_committed
            );
        }
        if self.delivery_failures > 0 {
            text += &format!(
                "  output: {} deliveries failed (see the errors above)\n",
                self.delivery_failures
            );
        }
        if self.alerts_suppressed > 0 || self.worker_restarts > 0 || self.skipped_evaluations > 0 {
            text += &format!(
                "  also:   {} alerts suppressed by destinations(), {} worker restarts, {} evaluations skipped (disabled rules)\n",
                self.alerts_suppressed, self.worker_restarts, self.skipped_evaluations
            );
        }
        text
    }
}

/// The peak resident memory of the program running in this process (`VmHWM`). getrusage's
/// `ru_maxrss` is not used for it: when the process that started iota used vfork (as
/// posix_spawn does), Linux carries that process's peak over exec, so a scan started by a large
/// test harness or script would report the harness's memory.
fn own_peak_rss_bytes() -> Option<u64> {
    vm_hwm_bytes(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// `VmHWM` of a `/proc/<pid>/status` text, in bytes.
fn vm_hwm_bytes(status: &str) -> Option<u64> {
    let value = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    let kib: u64 = value.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

fn max_rss_bytes(who: libc::c_int) -> u64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut usage) } != 0 {
        return 0;
    }
    // Linux reports kilobytes.
    (usage.ru_maxrss.max(0) as u64) * 1024
}

/// Writes a summary on stderr: one JSON line with `json`, else the text `to_text` makes.
pub fn print_summary(summary: &impl Serialize, json: bool, to_text: impl FnOnce() -> String) {
    let text = if json {
        let mut line = serde_json::to_string(summary).expect("summary serialises");
        line.push('\n');
        line
    } else {
        to_text()
    };
    write_stderr(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_memory_is_this_programs_own() {
        let status =
            "Name:\tiota\nVmPeak:\t  900000 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(vm_hwm_bytes(status), Some(20 << 20));
        assert_eq!(vm_hwm_bytes("Name:\tiota\n"), None);
        let own = own_peak_rss_bytes().expect("Linux has /proc/self/status");
        assert!(own > 0 && own <= max_rss_bytes(libc::RUSAGE_SELF), "{own}");
    }
}
