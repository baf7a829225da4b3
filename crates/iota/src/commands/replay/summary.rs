//! The summary a replay ends with, on stderr: what was read, and for every enabled rule
//! (those that never matched too) its matches, alerts, signals and rule errors. A table on a
//! terminal, one JSON object with `--log-format json` (or when stderr is not a terminal).

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::report::print_summary;

#[derive(Debug, Default, Serialize)]
pub struct ReplaySummary {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub files: u64,
    pub files_skipped: u64,
    pub input_errors: u64,
    pub bytes: u64,
    /// Events in the range, duplicates excluded.
    pub events: u64,
    /// Events outside the range (or without a time): read, not evaluated.
    pub events_out_of_range: u64,
    pub malformed: u64,
    pub duplicates: u64,
    pub matches: u64,
    pub alerts: u64,
    pub signals: u64,
    pub rule_errors: u64,
    /// (alert, output) deliveries that failed after their last attempt.
    pub delivery_failures: u64,
    pub elapsed_seconds: f64,
    pub rules: Vec<RuleSummary>,
}

/// One rule's results.
#[derive(Debug, Serialize)]
pub struct RuleSummary {
    pub rule_id: String,
    /// Events `rule()` returned true for.
    pub matches: u64,
    /// Alerts created from them: after dedup windows and the threshold.
    pub alerts: u64,
    /// Windows of a `CreateAlert: false` rule.
    pub signals: u64,
    /// Load, import and evaluation errors.
    pub errors: u64,
}

impl ReplaySummary {
    pub fn set_elapsed(&mut self, elapsed: Duration) {
        self.elapsed_seconds = elapsed.as_secs_f64();
    }

    pub fn print(&self, json: bool) {
        print_summary(self, json, || self.to_text());
    }

    fn to_text(&self) -> String {
        let mut text = format!(
            "replayed {} to {}: {} files ({}), {} events in range, {} outside it, in {:.2}s\n",
            self.from.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            self.to.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            self.files,
            bytesize::ByteSize::b(self.bytes).display().iec(),
            self.events,
            self.events_out_of_range,
            self.elapsed_seconds,
        );
        text += &format!(
            "  input:  {} skipped files, {} unreadable, {} malformed records, {} duplicate events\n",
            self.files_skipped, self.input_errors, self.malformed, self.duplicates
        );
        text += &format!(
            "  rules:  {} rules, {} matches, {} alerts, {} signals, {} rule errors\n",
            self.rules.len(),
            self.matches,
            self.alerts,
            self.signals,
            self.rule_errors
        );
        if self.delivery_failures > 0 {
            text += &format!(
                "  output: {} deliveries failed (see the errors above)\n",
                self.delivery_failures
            );
        }
        let width = self
            .rules
            .iter()
            .map(|r| r.rule_id.len())
            .max()
            .unwrap_or(0)
            .max("rule".len());
        text += &format!(
            "\n  {:<width$}  {:>8}  {:>7}  {:>8}  {:>7}\n",
            "rule", "matches", "alerts", "signals", "errors"
        );
        for rule in &self.rules {
            text += &format!(
                "  {:<width$}  {:>8}  {:>7}  {:>8}  {:>7}\n",
                rule.rule_id, rule.matches, rule.alerts, rule.signals, rule.errors
            );
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_every_rule_with_its_counts() {
        let summary = ReplaySummary {
            rules: vec![
                RuleSummary {
                    rule_id: "AWS.CloudTrail.Stopped".into(),
                    matches: 3,
                    alerts: 2,
                    signals: 0,
                    errors: 0,
                },
                RuleSummary {
                    rule_id: "New.Rule".into(),
                    matches: 0,
                    alerts: 0,
                    signals: 0,
                    errors: 1,
                },
            ],
            ..Default::default()
        };
        let text = summary.to_text();
        let lines: Vec<&str> = text.lines().collect();
        let header = lines
            .iter()
            .position(|l| {
                l.split_whitespace()
                    .eq(["rule", "matches", "alerts", "signals", "errors"])
            })
            .unwrap();
        let row = |n: usize| lines[header + n].split_whitespace().collect::<Vec<_>>();
        assert_eq!(row(1), ["AWS.CloudTrail.Stopped", "3", "2", "0", "0"]);
        assert_eq!(row(2), ["New.Rule", "0", "0", "0", "1"]);
    }
}
