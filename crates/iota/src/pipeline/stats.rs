//! Counters shared by the pipeline threads, read by the summary and the progress bar.

use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::ProgressBar;

#[derive(Default)]
pub struct Counters {
    /// Inputs opened (read fully, partly, or skipped).
    pub files: AtomicU64,
    /// Digest files, ConfigWritabilityCheckFile and empty inputs.
    pub files_skipped: AtomicU64,
    /// Inputs that could not be opened or read to the end.
    pub input_errors: AtomicU64,
    /// Raw bytes read (compressed size for gzip inputs).
    pub bytes: AtomicU64,
    /// Events decoded and normalized, duplicates excluded.
    pub events: AtomicU64,
    /// Events some rule's prefilter let through to the Python workers.
    pub events_to_rules: AtomicU64,
    /// (event, rule) pairs handed to the Python workers.
    pub rule_evaluations: AtomicU64,
    pub malformed: AtomicU64,
    pub duplicates: AtomicU64,
    /// Events whose eventTime was missing or invalid.
    pub time_fallbacks: AtomicU64,
    /// Events outside the run's time range (or without a time), not evaluated.
    pub out_of_range: AtomicU64,
    progress: Option<ProgressBar>,
}

impl Counters {
    pub fn with_progress(progress: Option<ProgressBar>) -> Self {
        Counters {
            progress,
            ..Default::default()
        }
    }

    pub fn add_bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
        if let Some(bar) = &self.progress {
            bar.inc(n);
        }
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
