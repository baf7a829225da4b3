//! Alert semantics of SPEC 4, in memory: rule matches grouped per (rule id, dedup string,
//! window) into alerts, thresholds (`Threshold`, optionally over distinct `unique()` values)
//! and signals (`CreateAlert: false`).
//!
//! Windows are aligned to multiples of the rule's `DedupPeriodMinutes` on the event-time axis
//! (UTC epoch). Event time, not wall-clock time, so that replaying old logs behaves like live
//! processing; aligned, so that the outcome does not depend on the order in which parallel
//! threads (or replicas) see the matches. The representative event of an alert (its title,
//! context and `event`) is the earliest matching event of the window (ties broken by the
//! smallest eventID).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use xxhash_rust::xxh3::xxh3_128;

use iota_rules::{Match, MatchDetails, Rule};

use crate::schema::{one_line_json, Alert, SourceRef, ALERT_SCHEMA_VERSION};

/// One `rule()` hit, with everything needed to turn it into (part of) an alert.
pub struct RuleMatch<'a> {
    pub rule: &'a Rule,
    pub result: &'a Match,
    /// The normalized event JSON.
    pub event_json: &'a [u8],
    pub event_time: DateTime<Utc>,
    /// Breaks ties between matches of the same event time, so that the representative does
    /// not depend on processing order.
    pub event_id: Option<&'a str>,
    pub log_type: &'a str,
    pub source: &'a SourceRef,
}

/// What recording a match did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The match reached the rule's threshold: an alert now exists for this window.
    Created,
    /// The window's alert already existed: its count and last-seen time were updated.
    Updated,
    /// Counted towards the threshold; no alert yet.
    BelowThreshold,
    /// The rule has `CreateAlert: false`: recorded, never delivered.
    Signal,
}

#[derive(Default)]
pub struct AlertEngine {
    windows: HashMap<WindowKey, Window>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct WindowKey {
    rule_id: String,
    dedup: String,
    window_start: i64,
}

struct Window {
    count: u64,
    uniques: HashSet<String>,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    created_at: Option<DateTime<Utc>>,
    signal: bool,
    representative: Representative,
}

/// The parts of an alert taken from its earliest matching event.
struct Representative {
    event_id: Option<String>,
    details: MatchDetails,
    rule: RuleFacts,
    event: Box<RawValue>,
    log_type: String,
    source: SourceRef,
}

impl AlertEngine {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record(&mut self, m: RuleMatch<'_>, now: DateTime<Utc>) -> Outcome {
        let period_secs = i64::from(m.rule.dedup_period_minutes.max(1)) * 60;
        let key = WindowKey {
            rule_id: m.rule.id.clone(),
            dedup: m.result.dedup.clone(),
            window_start: m.event_time.timestamp().div_euclid(period_secs) * period_secs,
        };
        let window = self.windows.entry(key).or_insert_with(|| Window {
            count: 0,
            uniques: HashSet::new(),
            first_seen: m.event_time,
            last_seen: m.event_time,
            created_at: None,
            signal: !m.rule.create_alert,
            representative: Representative::of(&m),
        });
        window.count += 1;
        if let Some(unique) = &m.result.unique {
            window.uniques.insert(unique.clone());
        }
        if (m.event_time, m.event_id)
            < (window.first_seen, window.representative.event_id.as_deref())
        {
            window.first_seen = m.event_time;
            window.representative = Representative::of(&m);
        }
        window.last_seen = window.last_seen.max(m.event_time);
        if window.signal {
            return Outcome::Signal;
        }
        if window.created_at.is_some() {
            return Outcome::Updated;
        }
        // With unique(), the threshold counts distinct values instead of matches.
        let progress = if window.uniques.is_empty() {
            window.count
        } else {
            window.uniques.len() as u64
        };
        if progress >= u64::from(m.rule.threshold) {
            window.created_at = Some(now);
            Outcome::Created
        } else {
            Outcome::BelowThreshold
        }
    }

    /// Every alert created so far, with final counts, ordered by first-seen time. Each alert
    /// is built as the iterator reaches it: a scan with thousands of alerts never holds them
    /// all (each with its event and context) at once.
    pub fn alerts(&self) -> impl Iterator<Item = Alert> + '_ {
        let mut created: Vec<(&WindowKey, &Window, DateTime<Utc>)> = self
            .windows
            .iter()
            .filter_map(|(key, w)| w.created_at.map(|created| (key, w, created)))
            .collect();
        created.sort_by(|(a_key, a, _), (b_key, b, _)| {
            (a.first_seen, &a_key.rule_id, &a_key.dedup).cmp(&(
                b.first_seen,
                &b_key.rule_id,
                &b_key.dedup,
            ))
        });
        created
            .into_iter()
            .map(|(key, window, created)| window.to_alert(key, created))
    }

    /// Windows whose matches never reached their rule's threshold.
    pub fn below_threshold(&self) -> usize {
        self.windows
            .values()
            .filter(|w| !w.signal && w.created_at.is_none())
            .count()
    }
}

/// What an alert takes from its rule's metadata (not the whole rule: its test cases can be
/// large, and every window keeps one of these).
struct RuleFacts {
    dedup_period_minutes: u32,
    description: Option<String>,
    runbook: Option<String>,
    reference: Option<String>,
    tags: Vec<String>,
    reports: BTreeMap<String, Vec<String>>,
}

impl RuleFacts {
    fn of(rule: &Rule) -> Self {
        RuleFacts {
            dedup_period_minutes: rule.dedup_period_minutes,
            description: rule.description.clone(),
            runbook: rule.runbook.clone(),
            reference: rule.reference.clone(),
            tags: rule.tags.clone(),
            reports: rule.reports.clone(),
        }
    }
}

impl Representative {
    fn of(m: &RuleMatch<'_>) -> Self {
        let event = std::str::from_utf8(&one_line_json(m.event_json))
            .ok()
            .and_then(|s| RawValue::from_string(s.to_owned()).ok())
            .unwrap_or_else(|| RawValue::from_string("null".into()).expect("valid JSON"));
        Representative {
            event_id: m.event_id.map(str::to_string),
            details: m.result.details_or_default(m.rule).into_owned(),
            rule: RuleFacts::of(m.rule),
            event,
            log_type: m.log_type.to_owned(),
            source: m.source.clone(),
        }
    }
}

impl Window {
    fn to_alert(&self, key: &WindowKey, created_at: DateTime<Utc>) -> Alert {
        let r = &self.representative;
        Alert {
            version: ALERT_SCHEMA_VERSION,
            id: alert_id(&key.rule_id, &key.dedup, key.window_start),
            rule_id: key.rule_id.clone(),
            title: r.details.title.clone(),
            severity: r.details.severity,
            dedup: key.dedup.clone(),
            dedup_period_minutes: r.rule.dedup_period_minutes,
            event_count: self.count,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            created_at,
            log_type: r.log_type.clone(),
            description: r
                .details
                .description
                .clone()
                .or_else(|| r.rule.description.clone()),
            runbook: r.details.runbook.clone().or_else(|| r.rule.runbook.clone()),
            reference: r
                .details
                .reference
                .clone()
                .or_else(|| r.rule.reference.clone()),
            tags: r.rule.tags.clone(),
            reports: r.rule.reports.clone(),
            alert_context: r.details.alert_context.clone(),
            destinations: r.details.destinations.clone(),
            source: r.source.clone(),
            event: r.event.clone(),
        }
    }
}

/// Deterministic alert id: the same rule, dedup string and window give the same id on every
/// run and every replica (the idempotency key for receivers such as PagerDuty).
pub fn alert_id(rule_id: &str, dedup: &str, window_start: i64) -> String {
    let mut input = Vec::with_capacity(rule_id.len() + dedup.len() + 10);
    input.extend_from_slice(rule_id.as_bytes());
    input.push(0);
    input.extend_from_slice(dedup.as_bytes());
    input.push(0);
    input.extend_from_slice(&window_start.to_le_bytes());
    format!("{:032x}", xxh3_128(&input))
}
