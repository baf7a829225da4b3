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
use memchr::memmem;
use serde_json::Value;
use wildmatch::WildMatch;

use crate::filter::Condition;
use crate::metadata::Severity;
use crate::native::{dedup_string, render_captured, EventTree, NativeSpec, Template};
use crate::worker::MatchDetails;

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
    Contains(usize, Vec<memmem::Finder<'static>>),
    Glob(usize, Vec<Glob>),
}

impl Compiled {
    /// With `exact` false, the prefilter's reading: a value a Python rule could read
    /// differently (non-string for a string test, mixed bool/number) is Unknown. With `exact`,
    /// a native rule's reading (docs/RULES.md): such values simply fail the test, and only an
    /// ambiguous capture is Unknown.
    fn eval(&self, fields: &[Captured<'_>], exact: bool) -> Truth {
        match self {
            Compiled::All(parts) => {
                let mut result = Truth::True;
                for part in parts {
                    match part.eval(fields, exact) {
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
                    match part.eval(fields, exact) {
                        Truth::True => return Truth::True,
                        Truth::Unknown => result = Truth::Unknown,
                        Truth::False => {}
                    }
                }
                result
            }
            Compiled::Not(inner) => inner.eval(fields, exact).not(),
            Compiled::Equals(slot, expected) => equals(&fields[*slot], expected, exact),
            Compiled::In(slot, values) => {
                let mut result = Truth::False;
                for value in values {
                    match equals(&fields[*slot], value, exact) {
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
                Captured::Ambiguous => Truth::Unknown,
                _ if exact => Truth::False,
                _ => Truth::Unknown,
            },
            Compiled::Contains(slot, needles) => match &fields[*slot] {
                // Python's case-insensitive matching folds some non-ASCII letters onto ASCII
                // ones (the Kelvin sign, the long s): a prefilter decides ASCII text only. A
                // native rule's `contains` ignores ASCII case only, whatever the text.
                Captured::Str(s) if exact || s.is_ascii() => {
                    Truth::from(contains_ignoring_ascii_case(s, needles))
                }
                Captured::Missing | Captured::Null => Truth::False,
                Captured::Ambiguous => Truth::Unknown,
                _ if exact => Truth::False,
                _ => Truth::Unknown,
            },
            Compiled::Glob(slot, patterns) => match &fields[*slot] {
                Captured::Str(s) => Truth::from(patterns.iter().any(|p| p.matches(s))),
                Captured::Ambiguous => Truth::Unknown,
                // Rules read a missing user agent as "" or None, which patterns treat
                // differently: the prefilter leaves it to the rule.
                _ if exact => Truth::False,
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

/// One of `needles` (lower-case ASCII) occurs in `text`, ASCII letters compared without
/// case: the text is lower-cased once (on the stack when short, as user agents are) and each
/// needle found with memchr's substring search.
fn contains_ignoring_ascii_case(text: &str, needles: &[memmem::Finder<'static>]) -> bool {
    const ON_STACK: usize = 512;
    let mut stack = [0u8; ON_STACK];
    let mut heap = Vec::new();
    let lowered: &mut [u8] = if text.len() <= ON_STACK {
        &mut stack[..text.len()]
    } else {
        heap.resize(text.len(), 0);
        &mut heap
    };
    lowered.copy_from_slice(text.as_bytes());
    lowered.make_ascii_lowercase();
    needles.iter().any(|needle| needle.find(lowered).is_some())
}

/// A shell pattern as `fnmatchcase` reads it: `*`, `?` and literal text (filters refuse `[`).
/// Nearly every pattern has `*` wildcards only; those are matched as literal pieces (a prefix,
/// substrings in order, a suffix) with memchr's substring search, the others by wildmatch.
#[derive(Clone, Debug)]
enum Glob {
    /// The literal text between the `*`s: the first piece must start the text, the last
    /// end it, the others occur in order in between.
    Pieces {
        first: String,
        middle: Vec<memmem::Finder<'static>>,
        last: String,
    },
    Exact(String),
    Wild(WildMatch),
}

impl Glob {
    fn new(pattern: &str) -> Self {
        if pattern.contains('?') {
            return Glob::Wild(WildMatch::new(pattern));
        }
        let pieces: Vec<&str> = pattern.split('*').collect();
        match pieces.as_slice() {
            [only] => Glob::Exact((*only).to_string()),
            [first, middle @ .., last] => Glob::Pieces {
                first: (*first).to_string(),
                middle: middle
                    .iter()
                    .filter(|piece| !piece.is_empty())
                    .map(|piece| memmem::Finder::new(piece.as_bytes()).into_owned())
                    .collect(),
                last: (*last).to_string(),
            },
            [] => unreachable!("split yields at least one piece"),
        }
    }

    fn matches(&self, text: &str) -> bool {
        match self {
            Glob::Exact(literal) => text == literal,
            Glob::Wild(pattern) => pattern.matches(text),
            Glob::Pieces {
                first,
                middle,
                last,
            } => {
                if text.len() < first.len() + last.len()
                    || !text.starts_with(first.as_str())
                    || !text.ends_with(last.as_str())
                {
                    return false;
                }
                // Leftmost matches leave the most room for the pieces after them.
                let mut rest = &text.as_bytes()[first.len()..text.len() - last.len()];
                for piece in middle {
                    match piece.find(rest) {
                        Some(at) => rest = &rest[at + piece.needle().len()..],
                        None => return false,
                    }
                }
                true
            }
        }
    }
}

/// Python's `==` between the value a rule reads and a JSON constant, where it is certain.
/// With `exact`, a native rule's `==`: a bool equals the number 1 or 0 as in Python, and an
/// object or array equals no scalar.
fn equals(actual: &Captured<'_>, expected: &Value, exact: bool) -> Truth {
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
        // Python compares True == 1.
        (Captured::Bool(b), Value::Number(e)) if exact => {
            Truth::from(e.as_f64() == Some(f64::from(u8::from(*b))))
        }
        (Captured::Number(n), Value::Bool(e)) if exact => {
            Truth::from(*n == f64::from(u8::from(*e)))
        }
        (Captured::Bool(_), Value::Number(_)) | (Captured::Number(_), Value::Bool(_)) => {
            Truth::Unknown
        }
        (Captured::Bool(_) | Captured::Number(_), _) => Truth::False,
        (Captured::Container, Value::String(_) | Value::Bool(_) | Value::Number(_)) => Truth::False,
        (Captured::Container, Value::Null) if exact => Truth::False,
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

/// Rules filed by log type and eventName.
#[derive(Default)]
struct RuleIndex {
    by_log_type: HashMap<String, LogTypeIndex>,
    /// Rules that want every log type, for log types no rule names.
    untyped: LogTypeIndex,
}

impl RuleIndex {
    /// `names[i]`: the eventNames rule `i` requires, if its condition pins them.
    fn build(rules: &[&PrefilterRule<'_>], names: &[Option<BTreeSet<String>>]) -> Self {
        let mut log_types: BTreeSet<&str> = BTreeSet::new();
        for rule in rules {
            log_types.extend(rule.log_types.iter().map(String::as_str));
        }
        let index_for = |wanted: Option<&str>| {
            let members: Vec<&&PrefilterRule<'_>> = rules
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
        RuleIndex {
            by_log_type: log_types
                .iter()
                .map(|t| (t.to_string(), index_for(Some(t))))
                .collect(),
            untyped: index_for(None),
        }
    }

    /// The rules filed for an event of `log_type` with this `eventName`.
    fn lookup(&self, log_type: &str, event_name: &Captured<'_>) -> &Arc<[u32]> {
        let index = self.by_log_type.get(log_type).unwrap_or(&self.untyped);
        match event_name {
            Captured::Str(name) => index
                .by_event_name
                .get(name.as_ref())
                .unwrap_or(&index.generic),
            Captured::Missing | Captured::Null => &index.generic,
            // Not a plain string: any rule's eventName test could go either way.
            _ => &index.all,
        }
    }
}

/// A native rule compiled against the capture plan.
struct NativeRule {
    /// The whole condition (eventName test included: an ambiguous eventName must be
    /// decided exactly, not assumed).
    condition: Compiled,
    /// Slots of the GroupBy paths, or, without GroupBy, of the title's placeholders.
    dedup_slots: Vec<usize>,
    /// Slots of the Unique paths.
    unique_slots: Vec<usize>,
    /// Each slot the rule reads, with the rule's own spelling of its path: a slot is shared
    /// by paths equal ignoring case, but on an event with keys differing only in case, the
    /// spelling decides which one is read.
    own_paths: Vec<(usize, Vec<String>)>,
    /// `DynamicSeverities:` each condition over slots of its own (`paths`), evaluated only on
    /// the whole event of a match an alert shows.
    severities: Vec<(Severity, Compiled, Vec<Vec<String>>)>,
    spec: NativeSpec,
}

/// What the captured fields say about one native rule and one event.
#[derive(Clone, Debug, PartialEq)]
pub enum NativeVerdict {
    Match {
        rule: u32,
        dedup: String,
        unique: Option<String>,
    },
    /// The captures cannot decide (a key spelled twice, ...): [`Prefilter::native_exact`]
    /// decides on the whole event.
    Undecided { rule: u32 },
}

/// The compiled prefilter of a rule set, and the native rules, which share its capture plan
/// and condition engine.
pub struct Prefilter {
    plan: CapturePlan,
    /// The capture plan's paths, by slot.
    paths: Vec<Vec<String>>,
    /// Slot of `eventName` in the capture plan.
    event_name_slot: usize,
    /// Per rule index: the condition still to check once the rule is a candidate.
    residual: Vec<Option<Compiled>>,
    python: RuleIndex,
    native_index: RuleIndex,
    /// Per rule index: the native rule, for native rules.
    native: Vec<Option<NativeRule>>,
}

/// One rule as the prefilter sees it.
pub struct PrefilterRule<'a> {
    pub index: u32,
    /// Empty: every log type.
    pub log_types: &'a [String],
    /// `None`: the rule runs on every event of its log types. For a native rule, the rule.
    pub condition: Option<&'a Condition>,
    /// For a native rule (whose condition is then required): its dedup key, title, context.
    pub native: Option<&'a NativeSpec>,
}

impl Prefilter {
    /// `rule_count` is the size of the rule set (indexes of `rules` are below it). With
    /// `enabled` false, every Python rule is a candidate for every event of its log types;
    /// native rules are evaluated either way (their condition is the rule, not a filter).
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
        let mut native: Vec<Option<NativeRule>> = (0..rule_count).map(|_| None).collect();
        let mut names: Vec<Option<BTreeSet<String>>> = vec![None; rule_count];
        for rule in rules {
            let i = rule.index as usize;
            if let (Some(spec), Some(condition)) = (rule.native, rule.condition) {
                let compiled = compile(condition, &mut slot_of);
                let own_paths = condition
                    .keys()
                    .into_iter()
                    .chain(spec.group_by.iter().map(Vec::as_slice))
                    .chain(spec.unique.iter().map(Vec::as_slice))
                    .chain(spec.title.fields().map(Vec::as_slice))
                    .map(|key| (slot_of(key), key.to_vec()))
                    .collect();
                let dedup_paths: Vec<&Vec<String>> = if spec.group_by.is_empty() {
                    spec.title.fields().collect()
                } else {
                    spec.group_by.iter().collect()
                };
                let severities = spec
                    .dynamic_severities
                    .iter()
                    .map(|(severity, condition)| {
                        let mut paths: Vec<Vec<String>> = Vec::new();
                        let compiled = compile(condition, &mut |key: &[String]| {
                            paths.push(key.to_vec());
                            paths.len() - 1
                        });
                        (*severity, compiled, paths)
                    })
                    .collect();
                native[i] = Some(NativeRule {
                    condition: compiled,
                    own_paths,
                    severities,
                    dedup_slots: dedup_paths.into_iter().map(|p| slot_of(p)).collect(),
                    unique_slots: spec.unique.iter().map(|p| slot_of(p)).collect(),
                    spec: spec.clone(),
                });
                names[i] = rule.condition.and_then(required_event_names);
                continue;
            }
            let Some(condition) = rule.condition.filter(|_| enabled) else {
                continue;
            };
            let event_names = required_event_names(condition);
            let only_event_name = event_names.is_some() && is_event_name_test(condition);
            if !only_event_name {
                residual[i] = Some(compile(condition, &mut slot_of));
            }
            names[i] = event_names;
        }
        let plan = CapturePlan::new(&paths);
        let (native_rules, python_rules): (Vec<&PrefilterRule<'_>>, Vec<&PrefilterRule<'_>>) =
            rules
                .iter()
                .partition(|r| native[r.index as usize].is_some());
        Prefilter {
            python: RuleIndex::build(&python_rules, &names),
            native_index: RuleIndex::build(&native_rules, &names),
            plan,
            paths,
            event_name_slot: 0,
            residual,
            native,
        }
    }

    /// The fields to capture while parsing each event.
    pub fn capture_plan(&self) -> &CapturePlan {
        &self.plan
    }

    /// The Python rules that could match an event of `log_type` with these captured fields.
    pub fn candidates<'s>(&'s self, log_type: &str, fields: &[Captured<'_>]) -> Candidates<'s> {
        let list = self.python.lookup(log_type, &fields[self.event_name_slot]);
        if list.iter().all(|&r| self.residual[r as usize].is_none()) {
            return Candidates::Shared(list);
        }
        Candidates::Owned(
            list.iter()
                .copied()
                .filter(|&r| match &self.residual[r as usize] {
                    Some(condition) => condition.eval(fields, false) != Truth::False,
                    None => true,
                })
                .collect(),
        )
    }

    /// Whether the rule set has native rules at all.
    pub fn has_native_rules(&self) -> bool {
        self.native.iter().any(Option::is_some)
    }

    /// The native rules an event of `log_type` with these captured fields matches (with their
    /// dedup strings), or may match, appended to `out`.
    pub fn native_matches(
        &self,
        log_type: &str,
        fields: &[Captured<'_>],
        out: &mut Vec<NativeVerdict>,
    ) {
        let list = self
            .native_index
            .lookup(log_type, &fields[self.event_name_slot]);
        for &rule in list.iter() {
            let native = self.native[rule as usize].as_ref().expect("a native rule");
            match native.condition.eval(fields, true) {
                Truth::False => {}
                Truth::Unknown => out.push(NativeVerdict::Undecided { rule }),
                Truth::True => match native.keys_from(fields) {
                    Some((dedup, unique)) => out.push(NativeVerdict::Match {
                        rule,
                        dedup,
                        unique,
                    }),
                    None => out.push(NativeVerdict::Undecided { rule }),
                },
            }
        }
    }

    /// Native `rule` on the whole event: its dedup string and unique value when it matches.
    pub fn native_exact(&self, rule: u32, event: &EventTree) -> Option<(String, Option<String>)> {
        let native = self.native[rule as usize].as_ref()?;
        let mut fields = vec![Captured::Missing; self.paths.len()];
        for (slot, path) in &native.own_paths {
            fields[*slot] = EventTree::captured(event.lookup(path));
        }
        match native.condition.eval(&fields, true) {
            Truth::True => Some(native.keys_from_tree(event)),
            // Captures from a tree are never ambiguous, so the condition is decided.
            Truth::False | Truth::Unknown => None,
        }
    }

    /// The title, severity and alert context of a match of native `rule` on `event`.
    pub fn native_details(&self, rule: u32, event: &EventTree) -> Option<MatchDetails> {
        let native = self.native[rule as usize].as_ref()?;
        let spec = &native.spec;
        let severity = native
            .severities
            .iter()
            .find(|(_, condition, paths)| {
                let fields: Vec<Captured<'_>> = paths
                    .iter()
                    .map(|path| EventTree::captured(event.lookup(path)))
                    .collect();
                condition.eval(&fields, true) == Truth::True
            })
            .map_or(spec.severity, |(severity, _, _)| *severity);
        let context: serde_json::Map<String, Value> = spec
            .alert_context
            .iter()
            .map(|(name, path)| (name.clone(), EventTree::to_json(event.lookup(path))))
            .collect();
        Some(MatchDetails {
            title: render_title(&spec.title, event),
            severity,
            alert_context: (!spec.alert_context.is_empty()).then_some(Value::Object(context)),
            description: None,
            reference: None,
            runbook: None,
            destinations: None,
        })
    }

    /// The alert window length of native `rule`, in seconds.
    pub fn native_dedup_period_secs(&self, rule: u32) -> i64 {
        self.native[rule as usize]
            .as_ref()
            .map_or(60, |n| i64::from(n.spec.dedup_period_minutes.max(1)) * 60)
    }
}

impl NativeRule {
    /// The dedup string and unique value from captured fields; `None` when a value is not
    /// captured (the whole event decides then).
    fn keys_from(&self, fields: &[Captured<'_>]) -> Option<(String, Option<String>)> {
        let unique = if self.unique_slots.is_empty() {
            None
        } else {
            Some(joined_captures(&self.unique_slots, fields)?)
        };
        Some((self.dedup_from(fields)?, unique))
    }

    fn keys_from_tree(&self, event: &EventTree) -> (String, Option<String>) {
        let unique = (!self.spec.unique.is_empty()).then(|| joined_paths(&self.spec.unique, event));
        (self.dedup_from_tree(event), unique)
    }

    fn dedup_from(&self, fields: &[Captured<'_>]) -> Option<String> {
        if self.spec.group_by.is_empty() {
            return self
                .spec
                .title
                .render(|i| render_captured(&fields[self.dedup_slots[i]]));
        }
        joined_captures(&self.dedup_slots, fields)
    }

    fn dedup_from_tree(&self, event: &EventTree) -> String {
        if self.spec.group_by.is_empty() {
            return render_title(&self.spec.title, event);
        }
        joined_paths(&self.spec.group_by, event)
    }
}

/// The captured values of `slots` joined as GroupBy and Unique join them; `None` when one is
/// not captured.
fn joined_captures(slots: &[usize], fields: &[Captured<'_>]) -> Option<String> {
    let values = slots
        .iter()
        .map(|&slot| render_captured(&fields[slot]))
        .collect::<Option<Vec<String>>>()?;
    Some(dedup_string(&values))
}

/// The values at `paths` in the whole event, joined as GroupBy and Unique join them.
fn joined_paths(paths: &[Vec<String>], event: &EventTree) -> String {
    let values: Vec<String> = paths
        .iter()
        .map(|path| EventTree::render(event.lookup(path)))
        .collect();
    dedup_string(&values)
}

fn render_title(title: &Template, event: &EventTree) -> String {
    let fields: Vec<&Vec<String>> = title.fields().collect();
    title
        .render(|i| Some(EventTree::render(event.lookup(fields[i]))))
        .expect("every value renders from a tree")
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
            contains
                .iter()
                .map(|needle| memmem::Finder::new(&needle.to_ascii_lowercase()).into_owned())
                .collect(),
        ),
        Condition::Glob { key, glob } => {
            Compiled::Glob(slot_of(key), glob.iter().map(|p| Glob::new(p)).collect())
        }
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
            native: None,
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
    fn literal_piece_globs_agree_with_wildmatch() {
        let patterns = [
            "*",
            "**",
            "a*",
            "*a",
            "*a*",
            "a*a",
            "ab*ba",
            "*aws-internal/*",
            "Mozilla/*",
            "AWS Internal",
            "*a*b*a*",
            "x**y",
            "",
            "a?c",
            "*?",
        ];
        let texts = [
            "",
            "a",
            "aa",
            "aba",
            "abba",
            "ab ba",
            "xy",
            "x-y",
            "abc",
            "Mozilla/5.0",
            "mozilla/5.0",
            "AWS Internal",
            "aws-internal/3 aws-sdk",
            "console aws-internal/",
            "baab",
            "aXbYa",
            "ab",
            "ü*a",
        ];
        for pattern in patterns {
            let glob = Glob::new(pattern);
            let reference = WildMatch::new(pattern);
            for text in texts {
                assert_eq!(
                    glob.matches(text),
                    reference.matches(text),
                    "pattern {pattern:?} on {text:?}"
                );
            }
        }
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
