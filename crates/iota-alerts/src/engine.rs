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

use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};

use chrono::{DateTime, Utc};
use hashbrown::{Equivalent, HashMap};
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
    /// Where the event was read; called only for the matches an alert or a record keeps.
    pub source: &'a dyn Fn() -> SourceRef,
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

#[derive(Clone, PartialEq, Eq)]
struct WindowKey {
    rule_id: String,
    dedup: String,
    window_start: i64,
}

/// A [`WindowKey`] borrowed from a match: most matches fall into a window that exists, and
/// looking it up must not copy the rule id and dedup string.
struct WindowKeyRef<'a> {
    rule_id: &'a str,
    dedup: &'a str,
    window_start: i64,
}

impl Hash for WindowKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_ref().hash(state);
    }
}

impl WindowKey {
    fn as_ref(&self) -> WindowKeyRef<'_> {
        WindowKeyRef {
            rule_id: &self.rule_id,
            dedup: &self.dedup,
            window_start: self.window_start,
        }
    }
}

impl Hash for WindowKeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.rule_id.hash(state);
        self.dedup.hash(state);
        self.window_start.hash(state);
    }
}

impl Equivalent<WindowKey> for WindowKeyRef<'_> {
    fn equivalent(&self, key: &WindowKey) -> bool {
        self.window_start == key.window_start
            && self.rule_id == key.rule_id
            && self.dedup == key.dedup
    }
}

struct Window {
    count: u64,
    uniques: HashSet<String>,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    created_at: Option<DateTime<Utc>>,
    signal: bool,
    rule: RuleFacts,
    representative: Representative,
}

/// The parts of an alert taken from its earliest matching event (replaced whenever an
/// earlier one arrives, so it copies only what differs between events).
struct Representative {
    event_id: Option<String>,
    details: MatchDetails,
    /// The normalized event JSON, as the match gave it.
    event: Vec<u8>,
    log_type: String,
    source: SourceRef,
}

impl AlertEngine {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record(&mut self, m: RuleMatch<'_>, now: DateTime<Utc>) -> Outcome {
        let period_secs = i64::from(m.rule.dedup_period_minutes.max(1)) * 60;
        let key = WindowKeyRef {
            rule_id: &m.rule.id,
            dedup: &m.result.dedup,
            window_start: m.event_time.timestamp().div_euclid(period_secs) * period_secs,
        };
        let window = match self.windows.get_mut(&key) {
            Some(window) => window,
            None => {
                let key = WindowKey {
                    rule_id: key.rule_id.to_owned(),
                    dedup: key.dedup.to_owned(),
                    window_start: key.window_start,
                };
                self.windows.entry(key).or_insert(Window {
                    count: 0,
                    uniques: HashSet::new(),
                    first_seen: m.event_time,
                    last_seen: m.event_time,
                    created_at: None,
                    signal: !m.rule.create_alert,
                    rule: RuleFacts::of(m.rule),
                    representative: Representative::of(&m),
                })
            }
        };
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
        Representative {
            event_id: m.event_id.map(str::to_string),
            details: m.result.details_or_default(m.rule).into_owned(),
            event: m.event_json.to_vec(),
            log_type: m.log_type.to_owned(),
            source: (m.source)(),
        }
    }

    fn event(&self) -> Box<RawValue> {
        std::str::from_utf8(&one_line_json(&self.event))
            .ok()
            .and_then(|s| RawValue::from_string(s.to_owned()).ok())
            .unwrap_or_else(|| RawValue::from_string("null".into()).expect("valid JSON"))
    }
}

impl Window {
    fn to_alert(&self, key: &WindowKey, created_at: DateTime<Utc>) -> Alert {
        let (r, rule) = (&self.representative, &self.rule);
        Alert {
            version: ALERT_SCHEMA_VERSION,
            id: alert_id(&key.rule_id, &key.dedup, key.window_start),
            rule_id: key.rule_id.clone(),
            title: r.details.title.clone(),
            severity: r.details.severity,
            dedup: key.dedup.clone(),
            dedup_period_minutes: rule.dedup_period_minutes,
            event_count: self.count,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            created_at,
            log_type: r.log_type.clone(),
            description: r
                .details
                .description
                .clone()
                .or_else(|| rule.description.clone()),
            runbook: r.details.runbook.clone().or_else(|| rule.runbook.clone()),
            reference: r
                .details
                .reference
                .clone()
                .or_else(|| rule.reference.clone()),
            tags: rule.tags.clone(),
            reports: rule.reports.clone(),
            alert_context: r.details.alert_context.clone(),
            destinations: r.details.destinations.clone(),
            source: r.source.clone(),
            event: r.event(),
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
