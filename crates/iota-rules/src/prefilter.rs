//! The prefilter index: which rules an event could match, from the fields captured during
//! its one parse, so that Python sees only those (SPEC 6).
//!
//! Built once per run. Per log type, rules whose condition pins `eventName` to a set of
//! values are filed under each value; the others are "generic". An event's candidates are
//! then one hash lookup on its `eventName` (a precomputed, sorted list shared by every event
//! with that name) plus the evaluation of the remaining conditions of those candidates only,
//! so the per-event cost does not grow with the number of rules.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use iota_normalize::{CapturePlan, Captured};
use serde_json::Value;
use wildmatch::WildMatch;

use crate::filter::Condition;

/// The outcome of evaluating a condition on captured fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Truth {
    True,
    False,
    /// The captured value does not decide it (ambiguous key, value inside an array, ...).
    Unknown,
}

impl Truth {
    fn from(b: bool) -> Self {
        if b {
            Truth::True
        } else {
            Truth::False
        }
    }

    fn not(self) -> Self {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }
}

/// A condition with its keys replaced by capture slots.
#[derive(Clone, Debug)]
enum Compiled {
    All(Vec<Compiled>),
    Any(Vec<Compiled>),
    Not(Box<Compiled>),
    Equals(usize, Value),
    In(usize, Vec<Value>),
    StartsWith(usize, String),
    Exists(usize, bool),
    /// Lower-cased ASCII needles.
    Contains(usize, Vec<String>),
    Glob(usize, Vec<WildMatch>),
}

impl Compiled {
    fn eval(&self, fields: &[Captured<'_>]) -> Truth {
        match self {
            Compiled::All(parts) => {
                let mut result = Truth::True;
                for part in parts {
                    match part.eval(fields) {
                        Truth::False => return Truth::False,
                        Truth::Unknown => result = Truth::Unknown,
                        Truth::True => {}
                    }
                }
                result
            }
            Compiled::Any(parts) => {
                let mut result = Truth::False;
                for part in parts {
                    match part.eval(fields) {
                        Truth::True => return Truth::True,
                        Truth::Unknown => result = Truth::Unknown,
                        Truth::False => {}
                    }
                }
                result
            }
            Compiled::Not(inner) => inner.eval(fields).not(),
            Compiled::Equals(slot, expected) => equals(&fields[*slot], expected),
            Compiled::In(slot, values) => {
                let mut result = Truth::False;
                for value in values {
                    match equals(&fields[*slot], value) {
                        Truth::True => return Truth::True,
                        Truth::Unknown => result = Truth::Unknown,
                        Truth::False => {}
                    }
                }
                result
            }
            Compiled::StartsWith(slot, prefix) => match &fields[*slot] {
                Captured::Str(s) => Truth::from(s.starts_with(prefix.as_str())),
                // `None.startswith()` raises in the rule: no match either way.
                Captured::Missing | Captured::Null => Truth::False,
                _ => Truth::Unknown,
            },
            Compiled::Contains(slot, needles) => match &fields[*slot] {
                // Python's case-insensitive matching folds some non-ASCII letters onto ASCII
                // ones (the Kelvin sign, the long s): only ASCII text is decided here.
                Captured::Str(s) if s.is_ascii() => {
                    let text = s.to_ascii_lowercase();
                    Truth::from(needles.iter().any(|n| text.contains(n.as_str())))
                }
                Captured::Missing | Captured::Null => Truth::False,
                _ => Truth::Unknown,
            },
            Compiled::Glob(slot, patterns) => match &fields[*slot] {
                Captured::Str(s) => Truth::from(patterns.iter().any(|p| p.matches(s))),
                // Rules read a missing user agent as "" or None, which patterns treat
                // differently: leave it to the rule.
                _ => Truth::Unknown,
            },
            Compiled::Exists(slot, exists) => match &fields[*slot] {
                Captured::Missing => Truth::from(!exists),
                Captured::Ambiguous => Truth::Unknown,
                _ => Truth::from(*exists),
            },
        }
    }
}

/// Python's `==` between the value a rule reads and a JSON constant, where it is certain.
fn equals(actual: &Captured<'_>, expected: &Value) -> Truth {
    match (actual, expected) {
        (Captured::Ambiguous, _) => Truth::Unknown,
        // A missing key reads as None.
        (Captured::Missing | Captured::Null, Value::Null) => Truth::True,
        (Captured::Missing | Captured::Null, _) => Truth::False,
        (Captured::Str(s), Value::String(e)) => Truth::from(s == e),
        (Captured::Str(_), _) => Truth::False,
        (Captured::Bool(b), Value::Bool(e)) => Truth::from(b == e),
        (Captured::Number(n), Value::Number(e)) => match e.as_f64() {
            Some(e) => Truth::from(*n == e),
            None => Truth::Unknown,
        },
        // Python compares True == 1; leave mixed bool/number comparisons to the rule.
        (Captured::Bool(_), Value::Number(_)) | (Captured::Number(_), Value::Bool(_)) => {
            Truth::Unknown
        }
        (Captured::Bool(_) | Captured::Number(_), _) => Truth::False,
        (Captured::Container, Value::String(_) | Value::Bool(_) | Value::Number(_)) => Truth::False,
        (Captured::Container, _) => Truth::Unknown,
    }
}

/// Candidate rules for one event.
pub enum Candidates<'a> {
    /// A list shared by many events (no remaining condition to check).
    Shared(&'a Arc<[u32]>),
    /// A list built for this event.
    Owned(Vec<u32>),
}

impl Candidates<'_> {
    pub fn is_empty(&self) -> bool {
        match self {
            Candidates::Shared(list) => list.is_empty(),
            Candidates::Owned(list) => list.is_empty(),
        }
    }
}

#[derive(Default)]
struct LogTypeIndex {
    /// Per eventName: the rules filed under it plus the generic ones, sorted.
    by_event_name: HashMap<String, Arc<[u32]>>,
    /// Rules without an eventName requirement, sorted.
    generic: Arc<[u32]>,
    /// Every rule of the log type, sorted: for events whose eventName is not a plain string.
    all: Arc<[u32]>,
}

/// The compiled prefilter of a rule set.
pub struct Prefilter {
    plan: CapturePlan,
    /// Slot of `eventName` in the capture plan.
    event_name_slot: usize,
    /// Per rule index: the condition still to check once the rule is a candidate.
    residual: Vec<Option<Compiled>>,
    by_log_type: HashMap<String, LogTypeIndex>,
    /// Rules that want every log type, for log types no rule names.
    untyped: LogTypeIndex,
}

/// One rule as the prefilter sees it.
pub struct PrefilterRule<'a> {
    pub index: u32,
    /// Empty: every log type.
    pub log_types: &'a [String],
    /// `None`: the rule runs on every event of its log types.
    pub condition: Option<&'a Condition>,
}

impl Prefilter {
    /// `rule_count` is the size of the rule set (indexes of `rules` are below it). With
    /// `enabled` false, every rule is a candidate for every event of its log types.
    pub fn build(rules: &[PrefilterRule<'_>], rule_count: usize, enabled: bool) -> Self {
        let mut paths: Vec<Vec<String>> = vec![vec!["eventName".to_string()]];
        let mut slot_of = |key: &[String]| -> usize {
            match paths.iter().position(|p| same_key(p, key)) {
                Some(slot) => slot,
                None => {
                    paths.push(key.to_vec());
                    paths.len() - 1
                }
            }
        };
        let mut residual: Vec<Option<Compiled>> = vec![None; rule_count];
        let mut names: Vec<Option<BTreeSet<String>>> = vec![None; rule_count];
        for rule in rules {
            let Some(condition) = rule.condition.filter(|_| enabled) else {
                continue;
            };
            let event_names = required_event_names(condition);
            let only_event_name = event_names.is_some() && is_event_name_test(condition);
            if !only_event_name {
                residual[rule.index as usize] = Some(compile(condition, &mut slot_of));
            }
            names[rule.index as usize] = event_names;
        }
        let plan = CapturePlan::new(&paths);

        let mut log_types: BTreeSet<&str> = BTreeSet::new();
        for rule in rules {
            log_types.extend(rule.log_types.iter().map(String::as_str));
        }
        let index_for = |wanted: Option<&str>| {
            let members: Vec<&PrefilterRule<'_>> = rules
                .iter()
                .filter(|r| match wanted {
                    Some(t) => r.log_types.is_empty() || r.log_types.iter().any(|l| l == t),
                    None => r.log_types.is_empty(),
                })
                .collect();
            let mut generic = Vec::new();
            let mut filed: HashMap<&str, Vec<u32>> = HashMap::new();
            for rule in &members {
                match &names[rule.index as usize] {
                    Some(set) => {
                        for name in set {
                            filed.entry(name.as_str()).or_default().push(rule.index);
                        }
                    }
                    None => generic.push(rule.index),
                }
            }
            let sorted = |mut v: Vec<u32>| -> Arc<[u32]> {
                v.sort_unstable();
                v.dedup();
                v.into()
            };
            LogTypeIndex {
                by_event_name: filed
                    .into_iter()
                    .map(|(name, mut list)| {
                        list.extend(&generic);
                        (name.to_string(), sorted(list))
                    })
                    .collect(),
                all: sorted(members.iter().map(|r| r.index).collect()),
                generic: sorted(generic),
            }
        };
        Prefilter {
            by_log_type: log_types
                .iter()
                .map(|t| (t.to_string(), index_for(Some(t))))
                .collect(),
            untyped: index_for(None),
            plan,
            event_name_slot: 0,
            residual,
        }
    }

    /// The fields to capture while parsing each event.
    pub fn capture_plan(&self) -> &CapturePlan {
        &self.plan
    }

    /// The rules that could match an event of `log_type` with these captured fields.
    pub fn candidates<'s>(&'s self, log_type: &str, fields: &[Captured<'_>]) -> Candidates<'s> {
        let index = self.by_log_type.get(log_type).unwrap_or(&self.untyped);
        let list = match &fields[self.event_name_slot] {
            Captured::Str(name) => index
                .by_event_name
                .get(name.as_ref())
                .unwrap_or(&index.generic),
            Captured::Missing | Captured::Null => &index.generic,
            // Not a plain string: any rule's eventName test could go either way.
            _ => &index.all,
        };
        if list.iter().all(|&r| self.residual[r as usize].is_none()) {
            return Candidates::Shared(list);
        }
        Candidates::Owned(
            list.iter()
                .copied()
                .filter(|&r| match &self.residual[r as usize] {
                    Some(condition) => condition.eval(fields) != Truth::False,
                    None => true,
                })
                .collect(),
        )
    }
}

fn same_key(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

fn is_event_name(key: &[String]) -> bool {
    key.len() == 1 && key[0].eq_ignore_ascii_case("eventName")
}

/// True when the condition is nothing but an eventName equality or membership, so that
/// filing the rule under those names says all there is to say.
fn is_event_name_test(condition: &Condition) -> bool {
    match condition {
        Condition::Equals { key, equals } => is_event_name(key) && equals.is_string(),
        Condition::In { key, values } => is_event_name(key) && values.iter().all(Value::is_string),
        _ => false,
    }
}

/// A set of names such that the condition implies `eventName` is one of them.
fn required_event_names(condition: &Condition) -> Option<BTreeSet<String>> {
    match condition {
        // Only string values: `eventName == None` holds for events without one, which are
        // not filed under any name.
        Condition::Equals { key, equals } if is_event_name(key) => equals
            .as_str()
            .map(|name| BTreeSet::from([name.to_string()])),
        Condition::In { key, values } if is_event_name(key) => values
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect(),
        Condition::All { all } => all
            .iter()
            .filter_map(required_event_names)
            .reduce(|a, b| a.intersection(&b).cloned().collect()),
        Condition::Any { any } => any
            .iter()
            .map(required_event_names)
            .collect::<Option<Vec<_>>>()
            .map(|sets| sets.into_iter().flatten().collect()),
        _ => None,
    }
}

fn compile(condition: &Condition, slot_of: &mut impl FnMut(&[String]) -> usize) -> Compiled {
    match condition {
        Condition::All { all } => Compiled::All(all.iter().map(|c| compile(c, slot_of)).collect()),
        Condition::Any { any } => Compiled::Any(any.iter().map(|c| compile(c, slot_of)).collect()),
        Condition::Not { not } => Compiled::Not(Box::new(compile(not, slot_of))),
        Condition::Equals { key, equals } => Compiled::Equals(slot_of(key), equals.clone()),
        Condition::In { key, values } => Compiled::In(slot_of(key), values.clone()),
        Condition::StartsWith { key, startswith } => {
            Compiled::StartsWith(slot_of(key), startswith.clone())
        }
        Condition::Exists { key, exists } => Compiled::Exists(slot_of(key), *exists),
        Condition::Contains { key, contains } => Compiled::Contains(
            slot_of(key),
            contains.iter().map(|n| n.to_ascii_lowercase()).collect(),
        ),
        Condition::Glob { key, glob } => Compiled::Glob(
            slot_of(key),
            glob.iter().map(|p| WildMatch::new(p)).collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn prefilter(condition: &str) -> (Prefilter, Condition) {
        let condition: Condition = serde_json::from_str(condition).unwrap();
        let rules = [PrefilterRule {
            index: 0,
            log_types: &[],
            condition: Some(&condition),
        }];
        (Prefilter::build(&rules, 1, true), condition)
    }

    fn candidates(p: &Prefilter, user_agent: Captured<'_>) -> bool {
        // Slot 0 is eventName, slot 1 the condition's key.
        !p.candidates(
            "AWS.CloudTrail",
            &[
                Captured::Str(Cow::Borrowed("GetCallerIdentity")),
                user_agent,
            ],
        )
        .is_empty()
    }

    #[test]
    fn contains_ignores_ascii_case_and_leaves_non_ascii_text_to_the_rule() {
        let (p, _) = prefilter(r#"{"key":["userAgent"],"contains":["Kali","pacu"]}"#);
        assert!(candidates(
            &p,
            Captured::Str(Cow::Borrowed("aws-cli/2 Linux/6.1-KALI-amd64"))
        ));
        assert!(candidates(&p, Captured::Str(Cow::Borrowed("Pacu (SDK)"))));
        assert!(!candidates(
            &p,
            Captured::Str(Cow::Borrowed("aws-cli/2.15 Linux/6.1"))
        ));
        assert!(!candidates(&p, Captured::Missing));
        // The Kelvin sign matches "k" in Python's case-insensitive regexes.
        assert!(candidates(&p, Captured::Str(Cow::Borrowed("\u{212A}ali"))));
        assert!(candidates(&p, Captured::Ambiguous));
    }

    #[test]
    fn events_are_filed_by_event_name_and_other_conditions_are_checked() {
        let (p, _) = prefilter(
            r#"{"all":[{"key":["eventName"],"in":["StopLogging","DeleteTrail"]},{"not":{"key":["errorCode"],"exists":true}}]}"#,
        );
        let name = |n: &'static str| Captured::Str(Cow::Borrowed(n));
        let ok = |fields: &[Captured<'_>]| !p.candidates("AWS.CloudTrail", fields).is_empty();
        assert!(ok(&[name("StopLogging"), Captured::Missing]));
        assert!(!ok(&[name("StopLogging"), name("AccessDenied")]));
        assert!(!ok(&[name("StartLogging"), Captured::Missing]));
        assert!(
            ok(&[Captured::Ambiguous, Captured::Missing]),
            "an ambiguous eventName may be anything"
        );
    }

    #[test]
    fn glob_matches_case_sensitively_as_fnmatchcase_does() {
        let (p, _) = prefilter(
            r#"{"not":{"key":["userAgent"],"glob":["*Console*","Mozilla/*","AWS Internal","aws-cli/?.*"]}}"#,
        );
        let ua = |s: &'static str| candidates(&p, Captured::Str(Cow::Borrowed(s)));
        // Each verdict as Python's fnmatch.fnmatchcase gives it (the filter is its negation).
        assert!(!ua("[S3Console/0.4, aws-internal/3]"));
        assert!(ua("s3console/0.4"), "case matters");
        assert!(!ua("Mozilla/5.0 (X11)"));
        assert!(ua("mozilla/5.0"));
        assert!(!ua("AWS Internal"));
        assert!(
            ua("AWS Internal/3"),
            "a pattern without * matches the whole value only"
        );
        assert!(!ua("aws-cli/2.13.0 Python/3.11"));
        assert!(ua("aws-cli/12.0"), "? is one character");
        // A missing user agent is "" or None depending on how the rule reads it.
        assert!(candidates(&p, Captured::Missing));
        assert!(candidates(&p, Captured::Null));
    }

    #[test]
    fn filter_keys_take_prefix_lists_and_globs_without_character_classes() {
        let filter: serde_yaml::Value = serde_yaml::from_str(
            "eventName: {startswith: [List, Describe]}\nuserAgent: {not: {glob: ['*terraform*']}}",
        )
        .unwrap();
        let condition = crate::filter::from_filter_key(&filter).unwrap();
        assert_eq!(
            condition.to_string(),
            "(eventName startswith List or eventName startswith Describe) and not (userAgent matches [*terraform*])"
        );
        let class: serde_yaml::Value =
            serde_yaml::from_str("userAgent: {glob: ['[Tt]erraform*']}").unwrap();
        let error = crate::filter::from_filter_key(&class).unwrap_err();
        assert!(error.contains("no `[`"), "{error}");
    }
}
