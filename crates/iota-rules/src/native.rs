//! Native declarative rules (SPEC 3.1, item 3): a rule YAML without a Python file whose
//! `Filter:` is the whole rule, evaluated in Rust by the prefilter's condition engine
//! ([`crate::prefilter`]), with a declarative dedup key (`GroupBy:`), title template
//! (`AlertTitle:`) and alert context (`AlertContext:`). docs/RULES.md documents the format.
//!
//! Key paths read fields the way a Python rule's `event.get()` does: case-insensitively, an
//! exact spelling first, then the first key (in document order) equal ignoring case; the last
//! value of a key written twice. The fields captured during the one parse of each event decide
//! almost every event; when they cannot (a key spelled twice, a path through an array, a
//! GroupBy value that is an object), the event is parsed into an [`EventTree`] that keeps every
//! key in order and the same condition is evaluated on it. Both give the same answer wherever
//! the captures decide.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use iota_normalize::{Captured, Normalizer, SourceInfo};
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::filter::Condition;
use crate::metadata::{Rule, Severity};
use crate::prefilter::{NativeVerdict, Prefilter, PrefilterRule};
use crate::rule_tests::RuleTest;
use crate::worker::CaseResult;

/// A dotted path of object keys, e.g. `userIdentity.arn`.
pub type KeyPath = Vec<String>;

/// What a native rule declares besides its condition (`Filter:`).
#[derive(Clone, Debug)]
pub struct NativeSpec {
    /// `GroupBy:` the values joined by `:` are the dedup string; empty: the title is.
    pub group_by: Vec<KeyPath>,
    /// `Unique:` the values joined by `:` are the match's `unique()` value: the threshold
    /// counts distinct values instead of matches. Empty: no unique value.
    pub unique: Vec<KeyPath>,
    /// `AlertTitle:`, or the DisplayName / RuleID as literal text.
    pub title: Template,
    /// `AlertContext:` name → the value at the path (JSON; `null` when missing).
    pub alert_context: Vec<(String, KeyPath)>,
    pub severity: Severity,
    /// `DynamicSeverities:` the severity of the first entry whose condition the alert's event
    /// satisfies replaces `severity`.
    pub dynamic_severities: Vec<(Severity, Condition)>,
    pub dedup_period_minutes: u32,
}

/// An alert title with `{key.path}` placeholders; `{{` and `}}` are literal braces.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    parts: Vec<TemplatePart>,
}

#[derive(Clone, Debug, PartialEq)]
enum TemplatePart {
    Text(String),
    Field(KeyPath),
}

impl Template {
    pub fn literal(text: &str) -> Self {
        Template {
            parts: vec![TemplatePart::Text(text.to_string())],
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => return Err(format!("unclosed `{{` in {text:?}")),
                        }
                    }
                    if !literal.is_empty() {
                        parts.push(TemplatePart::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(TemplatePart::Field(
                        key_path(name.trim())
                            .map_err(|e| format!("placeholder {{{name}}}: {e}"))?,
                    ));
                }
                '}' => return Err(format!("a lone `}}` in {text:?} (write `}}}}`)")),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(TemplatePart::Text(literal));
        }
        Ok(Template { parts })
    }

    /// The placeholders' key paths, in order.
    pub fn fields(&self) -> impl Iterator<Item = &KeyPath> {
        self.parts.iter().filter_map(|p| match p {
            TemplatePart::Field(path) => Some(path),
            TemplatePart::Text(_) => None,
        })
    }

    /// The title, with the `i`-th placeholder replaced by `values(i)`; `None` when a value
    /// is not available.
    pub(crate) fn render(&self, mut value: impl FnMut(usize) -> Option<String>) -> Option<String> {
        let mut out = String::new();
        let mut field = 0;
        for part in &self.parts {
            match part {
                TemplatePart::Text(text) => out.push_str(text),
                TemplatePart::Field(_) => {
                    out.push_str(&value(field)?);
                    field += 1;
                }
            }
        }
        Some(out)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                TemplatePart::Text(text) => {
                    f.write_str(&text.replace('{', "{{").replace('}', "}}"))?
                }
                TemplatePart::Field(path) => write!(f, "{{{}}}", path.join("."))?,
            }
        }
        Ok(())
    }
}

/// A key path of a native rule: dotted ASCII object keys. `p_` fields are refused: iota adds
/// them after the parse that captures fields, so a condition could not read them.
pub fn key_path(text: &str) -> Result<KeyPath, String> {
    let path: KeyPath = text.split('.').map(str::to_string).collect();
    if path
        .iter()
        .any(|k| k.is_empty() || k.contains(['[', '{', '}']))
    {
        return Err(format!(
            "{text:?} is not a key path (dotted object keys such as userIdentity.arn; no array steps)"
        ));
    }
    if !text.is_ascii() {
        return Err(format!("{text:?}: key paths are ASCII"));
    }
    if path[0].len() >= 2 && path[0][..2].eq_ignore_ascii_case("p_") {
        return Err(format!(
            "{text:?}: native rules cannot read the p_ fields iota adds"
        ));
    }
    Ok(path)
}

/// The parts of a native rule's YAML besides its condition.
pub(crate) struct NativeKeys<'a> {
    pub group_by: Option<&'a [String]>,
    pub unique: Option<&'a [String]>,
    pub alert_title: Option<&'a str>,
    pub alert_context: Option<&'a BTreeMap<String, String>>,
    /// The title when there is no `AlertTitle:`.
    pub default_title: &'a str,
    pub severity: Severity,
    pub dynamic_severities: Vec<(Severity, Condition)>,
    pub dedup_period_minutes: u32,
}

/// Checks a native rule's condition and reads its other keys; the message names the key.
pub(crate) fn native_spec(
    condition: &Condition,
    keys: NativeKeys<'_>,
) -> Result<NativeSpec, String> {
    check_condition(condition).map_err(|e| format!("Filter: {e}"))?;
    let key_paths = |name: &str, paths: Option<&[String]>| {
        paths
            .unwrap_or_default()
            .iter()
            .map(|p| key_path(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{name}: {e}"))
    };
    let group_by = key_paths("GroupBy", keys.group_by)?;
    let unique = key_paths("Unique", keys.unique)?;
    let title = match keys.alert_title {
        Some(text) => Template::parse(text).map_err(|e| format!("AlertTitle: {e}"))?,
        None => Template::literal(keys.default_title),
    };
    let alert_context = keys
        .alert_context
        .into_iter()
        .flatten()
        .map(|(name, path)| Ok((name.clone(), key_path(path)?)))
        .collect::<Result<Vec<_>, String>>()
        .map_err(|e| format!("AlertContext: {e}"))?;
    for (i, (_, condition)) in keys.dynamic_severities.iter().enumerate() {
        check_condition(condition).map_err(|e| format!("DynamicSeverities[{i}]: Filter: {e}"))?;
    }
    let mut read: Vec<&[String]> = condition.keys();
    read.extend(group_by.iter().map(Vec::as_slice));
    read.extend(unique.iter().map(Vec::as_slice));
    read.extend(title.fields().map(Vec::as_slice));
    for (i, a) in read.iter().enumerate() {
        if let Some(b) = read[..i].iter().find(|b| {
            a.len() == b.len()
                && a.iter()
                    .zip(b.iter())
                    .all(|(x, y)| x.eq_ignore_ascii_case(y))
                && a != *b
        }) {
            return Err(format!(
                "the key path {} is also spelled {}: spell it one way (on an event with both \
                 spellings, each reads a different key)",
                a.join("."),
                b.join(".")
            ));
        }
    }
    Ok(NativeSpec {
        group_by,
        unique,
        title,
        alert_context,
        severity: keys.severity,
        dynamic_severities: keys.dynamic_severities,
        dedup_period_minutes: keys.dedup_period_minutes,
    })
}

/// A native condition may only compare with scalars, and reads key paths as [`key_path`]
/// allows them.
fn check_condition(condition: &Condition) -> Result<(), String> {
    for key in condition.keys() {
        key_path(&key.join("."))?;
    }
    let scalar = |v: &Value| !matches!(v, Value::Array(_) | Value::Object(_));
    let mut stack = vec![condition];
    while let Some(c) = stack.pop() {
        match c {
            Condition::All { all: parts } | Condition::Any { any: parts } => stack.extend(parts),
            Condition::Not { not } => stack.push(not),
            Condition::Equals { key, equals } if !scalar(equals) => {
                return Err(format!(
                    "{}: compare with a value, not a list or mapping",
                    key.join(".")
                ))
            }
            Condition::In { key, values } if !values.iter().all(scalar) => {
                return Err(format!(
                    "{}: a list of values, not of lists or mappings",
                    key.join(".")
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// One JSON value of an event with every object key kept, in document order, duplicates
/// included, so that lookups can follow Python's dict semantics exactly.
#[derive(Debug)]
pub enum EventTree {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<EventTree>),
    Object(Vec<(String, EventTree)>),
}

impl EventTree {
    pub fn parse(json: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(json).map_err(|e| e.to_string())
    }

    /// The value at `path` as a Python rule reads it with `event.get()` step by step (a step
    /// into anything but an object finds nothing).
    pub fn lookup(&self, path: &[String]) -> Option<&EventTree> {
        path.iter().try_fold(self, |node, key| match node {
            EventTree::Object(entries) => object_get(entries, key),
            _ => None,
        })
    }

    /// The value as the condition engine sees it.
    pub fn captured(node: Option<&EventTree>) -> Captured<'_> {
        match node {
            None => Captured::Missing,
            Some(EventTree::Null) => Captured::Null,
            Some(EventTree::Bool(b)) => Captured::Bool(*b),
            Some(EventTree::Number(n)) => Captured::Number(*n),
            Some(EventTree::String(s)) => Captured::Str(Cow::Borrowed(s)),
            Some(EventTree::Array(_) | EventTree::Object(_)) => Captured::Container,
        }
    }

    /// The value as JSON (an object keeps the last value of a key written twice, as a Python
    /// dict does); `null` when missing.
    pub fn to_json(node: Option<&EventTree>) -> Value {
        match node {
            None | Some(EventTree::Null) => Value::Null,
            Some(EventTree::Bool(b)) => Value::Bool(*b),
            Some(EventTree::Number(n)) => json_number(*n),
            Some(EventTree::String(s)) => Value::String(s.clone()),
            Some(EventTree::Array(items)) => {
                Value::Array(items.iter().map(|i| Self::to_json(Some(i))).collect())
            }
            Some(EventTree::Object(entries)) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), Self::to_json(Some(v))))
                    .collect(),
            ),
        }
    }

    /// The value as text in a title or dedup string: a string as itself, anything else as
    /// its JSON text (`null` when missing).
    pub fn render(node: Option<&EventTree>) -> String {
        match node {
            Some(EventTree::String(s)) => s.clone(),
            other => Self::to_json(other).to_string(),
        }
    }
}

/// Python's `ImmutableCaseInsensitiveDict.get`: the exact key first (its last value), else the
/// first key in document order equal ignoring case (Python's `str.lower`).
fn object_get<'a>(entries: &'a [(String, EventTree)], key: &str) -> Option<&'a EventTree> {
    let last_of = |name: &str| {
        entries
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    };
    if let Some(value) = last_of(key) {
        return Some(value);
    }
    let wanted = key.to_lowercase();
    let (first, _) = entries.iter().find(|(k, _)| k.to_lowercase() == wanted)?;
    last_of(first)
}

/// A number as JSON: integral values without a fraction (`3`, not `3.0`), the same whether
/// the value was written `3` or `3.0`, since captures keep numbers as `f64`.
pub fn json_number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// A captured value as text in a title or dedup string, as [`EventTree::render`] gives it;
/// `None` for what captures do not hold (objects, arrays, ambiguous keys).
pub fn render_captured(value: &Captured<'_>) -> Option<String> {
    match value {
        Captured::Str(s) => Some(s.to_string()),
        Captured::Missing | Captured::Null => Some("null".into()),
        Captured::Bool(b) => Some(b.to_string()),
        Captured::Number(n) => Some(json_number(*n).to_string()),
        Captured::Container | Captured::Ambiguous => None,
    }
}

/// The dedup string of a native rule from its GroupBy values (the title without GroupBy).
pub(crate) fn dedup_string(values: &[String]) -> String {
    values.join(":")
}

impl<'de> Deserialize<'de> for EventTree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TreeVisitor)
    }
}

struct TreeVisitor;

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = EventTree;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<EventTree, E> {
        Ok(EventTree::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<EventTree, E> {
        Ok(EventTree::Bool(v))
    }

    // As the capturing parse does: every number is an f64.
    fn visit_i64<E>(self, v: i64) -> Result<EventTree, E> {
        Ok(EventTree::Number(v as f64))
    }

    fn visit_u64<E>(self, v: u64) -> Result<EventTree, E> {
        Ok(EventTree::Number(v as f64))
    }

    fn visit_f64<E>(self, v: f64) -> Result<EventTree, E> {
        Ok(EventTree::Number(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<EventTree, E> {
        Ok(EventTree::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<EventTree, E> {
        Ok(EventTree::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EventTree, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(EventTree::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventTree, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, EventTree>()? {
            entries.push(entry);
        }
        Ok(EventTree::Object(entries))
    }
}

/// Runs one test case of a native rule (`iota rules test`) the way a scan evaluates it, on the
/// fields captured by the one parse, and also on the whole event: a case where the two
/// disagree fails, since the captures may only ever defer to the whole event.
pub fn run_test(rule: &Rule, test: &RuleTest, event_json: &[u8]) -> CaseResult {
    let (Some(condition), Some(spec)) = (&rule.filter, &rule.native) else {
        return CaseResult::failed(test, format!("{} is not a native rule", rule.id));
    };
    let prefilter = Prefilter::build(
        &[PrefilterRule {
            index: 0,
            log_types: &[],
            condition: Some(condition),
            native: Some(spec),
        }],
        1,
        true,
    );
    let tree = match EventTree::parse(event_json) {
        Ok(tree) => tree,
        Err(err) => {
            return CaseResult::failed(test, format!("the test event is not valid JSON: {err}"))
        }
    };
    let exact = prefilter.native_exact(0, &tree);
    let normalizer = Normalizer::new(SourceInfo {
        id: "iota-rules-test".into(),
        label: rule.id.clone(),
    });
    // An event iota cannot classify never reaches a rule in a scan; its case is still decided
    // on the whole event.
    if let Ok(parsed) = normalizer.parse(event_json, prefilter.capture_plan()) {
        let mut verdicts = Vec::new();
        prefilter.native_matches(parsed.log_type(), parsed.captured(), &mut verdicts);
        let captured = match verdicts.pop() {
            None => Some(None),
            Some(NativeVerdict::Match { dedup, unique, .. }) => Some(Some((dedup, unique))),
            Some(NativeVerdict::Undecided { .. }) => None,
        };
        if let Some(captured) = captured.filter(|c| *c != exact) {
            return CaseResult::failed(
                test,
                format!(
                    "the captured fields give {captured:?} but the whole event {exact:?}: \
                     please report this as a bug of iota"
                ),
            );
        }
    }
    let matched = exact.is_some();
    let details = exact
        .as_ref()
        .and_then(|_| prefilter.native_details(0, &tree));
    CaseResult {
        name: test.name.clone(),
        expected: test.expected,
        matched: Some(matched),
        passed: matched == test.expected,
        error: None,
        traceback: None,
        title: details.as_ref().map(|d| d.title.clone()),
        dedup: exact.map(|(dedup, _)| dedup),
        severity: details.as_ref().map(|d| d.severity),
        alert_context: details.and_then(|d| d.alert_context),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> KeyPath {
        key_path(p).unwrap()
    }

    #[test]
    fn lookups_follow_python_dict_semantics() {
        let tree = EventTree::parse(
            br#"{"EventName":"first","EVENTNAME":"second","eventSource":"a","eventSource":"b",
                "UserIdentity":{"Type":"Root"},"userIdentity":{"arn":"x"},
                "resources":[{"type":"t"}],"n":3.0}"#,
        )
        .unwrap();
        let get = |p: &str| EventTree::render(tree.lookup(&path(p)));
        // No exact spelling: the first key equal ignoring case.
        assert_eq!(get("eventName"), "first");
        // A key written twice: its last value.
        assert_eq!(get("eventSource"), "b");
        // The exact spelling wins over an earlier one differing in case.
        assert_eq!(get("userIdentity.type"), "null");
        assert_eq!(get("userIdentity.arn"), "x");
        assert_eq!(get("resources.type"), "null", "no steps through arrays");
        assert_eq!(get("n"), "3");
        // Python's str.lower maps the Kelvin sign onto k.
        let kelvin = EventTree::parse("{\"\u{212A}ey\":\"v\"}".as_bytes()).unwrap();
        assert_eq!(EventTree::render(kelvin.lookup(&path("key"))), "v");
    }

    /// A native rule from the YAML keys it would have in a rule file.
    fn native_rule(yaml: &str) -> Result<(Condition, NativeSpec), String> {
        let value: serde_yaml::Value = serde_yaml::from_str(yaml).unwrap();
        let condition = crate::filter::from_filter_key(&value["Filter"])?;
        let strings = |key: &str| -> Option<Vec<String>> {
            value
                .get(key)
                .map(|v| serde_yaml::from_value(v.clone()).unwrap())
        };
        let group_by = strings("GroupBy");
        let unique = strings("Unique");
        let context: Option<BTreeMap<String, String>> = value
            .get("AlertContext")
            .map(|v| serde_yaml::from_value(v.clone()).unwrap());
        let spec = native_spec(
            &condition,
            NativeKeys {
                group_by: group_by.as_deref(),
                unique: unique.as_deref(),
                alert_title: value.get("AlertTitle").and_then(|v| v.as_str()),
                alert_context: context.as_ref(),
                default_title: "Rule.Id",
                severity: Severity::Low,
                dynamic_severities: dynamic_severities(&value),
                dedup_period_minutes: 60,
            },
        )?;
        Ok((condition, spec))
    }

    fn dynamic_severities(rule: &serde_yaml::Value) -> Vec<(Severity, Condition)> {
        let entries = rule.get("DynamicSeverities").and_then(|v| v.as_sequence());
        entries
            .into_iter()
            .flatten()
            .map(|entry| {
                let severity = entry["ChangeTo"].as_str().unwrap().parse().unwrap();
                let condition = crate::filter::from_filter_key(&entry["Filter"]);
                (severity, condition.unwrap())
            })
            .collect()
    }

    /// The dedup string from captured fields (`None`: undecided) and from the whole event.
    fn verdicts(
        rule: &(Condition, NativeSpec),
        event: &str,
    ) -> (Option<Option<String>>, Option<String>) {
        let (fast, exact) = keyed_verdicts(rule, event);
        let dedup = |keys: Option<(String, Option<String>)>| keys.map(|(dedup, _)| dedup);
        (fast.map(dedup), dedup(exact))
    }

    /// The (dedup string, unique value) from captured fields (`None`: undecided) and from the
    /// whole event.
    #[allow(clippy::type_complexity)]
    fn keyed_verdicts(
        rule: &(Condition, NativeSpec),
        event: &str,
    ) -> (
        Option<Option<(String, Option<String>)>>,
        Option<(String, Option<String>)>,
    ) {
        let prefilter = Prefilter::build(
            &[PrefilterRule {
                index: 0,
                log_types: &[],
                condition: Some(&rule.0),
                native: Some(&rule.1),
            }],
            1,
            true,
        );
        let normalizer = Normalizer::new(SourceInfo {
            id: "t".into(),
            label: "t".into(),
        });
        let parsed = normalizer
            .parse(event.as_bytes(), prefilter.capture_plan())
            .unwrap();
        let mut out = Vec::new();
        prefilter.native_matches(parsed.log_type(), parsed.captured(), &mut out);
        let fast = match out.pop() {
            None => Some(None),
            Some(NativeVerdict::Match { dedup, unique, .. }) => Some(Some((dedup, unique))),
            Some(NativeVerdict::Undecided { .. }) => None,
        };
        let exact = prefilter.native_exact(0, &EventTree::parse(event.as_bytes()).unwrap());
        if let Some(fast) = &fast {
            assert_eq!(fast, &exact, "captures and whole event disagree on {event}");
        }
        (fast, exact)
    }

    const STRATUS: &str = "
Filter:
  eventType: [AwsApiCall, AwsConsoleSignIn]
  userAgent: {contains: [stratus-red-team]}
GroupBy: [recipientAccountId, userIdentity.arn]
AlertTitle: '{userIdentity.arn} used Stratus Red Team ({eventName})'
AlertContext: {agent: userAgent, identity: userIdentity}
";

    fn event(user_agent: &str, extra: &str) -> String {
        format!(
            r#"{{"eventVersion":"1.08","eventName":"ListBuckets","eventSource":"s3.amazonaws.com",
               "eventType":"AwsApiCall","recipientAccountId":"111122223333",
               "userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/a"}},
               "userAgent":{user_agent}{extra}}}"#
        )
    }

    #[test]
    fn captured_fields_decide_ordinary_events_exactly() {
        let rule = native_rule(STRATUS).unwrap();
        let dedup = "111122223333:arn:aws:iam::111122223333:user/a".to_string();
        assert_eq!(
            verdicts(&rule, &event(r#""Stratus-Red-Team_1f2e""#, "")),
            (Some(Some(dedup.clone())), Some(dedup))
        );
        assert_eq!(
            verdicts(&rule, &event(r#""aws-cli/2.15""#, "")),
            (Some(None), None)
        );
        // A user agent that is not a string fails `contains` (a prefilter would let it by).
        assert_eq!(verdicts(&rule, &event("7", "")), (Some(None), None));
        assert_eq!(verdicts(&rule, &event("null", "")), (Some(None), None));
        // GroupBy values that are missing read as null.
        let anonymous = r#"{"eventVersion":"1.08","eventName":"X","eventType":"AwsApiCall",
            "userAgent":"stratus-red-team"}"#;
        assert_eq!(
            verdicts(&rule, anonymous),
            (Some(Some("null:null".into())), Some("null:null".into()))
        );
    }

    #[test]
    fn keys_spelled_twice_are_decided_on_the_whole_event() {
        let rule = native_rule(STRATUS).unwrap();
        // The exact spelling is what a Python rule reads.
        let (fast, exact) = verdicts(
            &rule,
            &event(r#""stratus-red-team""#, r#","UserAgent":"aws-cli""#),
        );
        assert_eq!(fast, None);
        assert!(exact.is_some());
        let (fast, exact) = verdicts(
            &rule,
            &event(r#""aws-cli""#, r#","USERAGENT":"stratus-red-team""#),
        );
        assert_eq!((fast, exact), (None, None));
        // Written twice: the last value counts.
        let (fast, exact) = verdicts(
            &rule,
            &event(r#""stratus-red-team""#, r#","userAgent":"aws-cli""#),
        );
        assert_eq!((fast, exact), (None, None));
    }

    #[test]
    fn unique_values_join_their_paths_like_group_by() {
        let rule = native_rule(
            "Filter: {eventName: ListBuckets}\nGroupBy: [recipientAccountId]\n\
             Unique: [eventSource, eventName, errorCode]\n",
        )
        .unwrap();
        let keys = (
            "111122223333".to_string(),
            Some("s3.amazonaws.com:ListBuckets:null".to_string()),
        );
        assert_eq!(
            keyed_verdicts(&rule, &event(r#""x""#, "")),
            (Some(Some(keys.clone())), Some(keys))
        );
        // A value the captures cannot render (an object) is read from the whole event.
        let by_object =
            native_rule("Filter: {eventName: ListBuckets}\nUnique: [userIdentity]\n").unwrap();
        let (fast, exact) = keyed_verdicts(&by_object, &event(r#""x""#, ""));
        assert_eq!(fast, None);
        assert_eq!(
            exact.unwrap().1.unwrap(),
            r#"{"arn":"arn:aws:iam::111122223333:user/a","type":"IAMUser"}"#
        );
        // Without Unique, no unique value.
        let plain = native_rule(STRATUS).unwrap();
        assert_eq!(
            keyed_verdicts(&plain, &event(r#""stratus-red-team""#, ""))
                .1
                .unwrap()
                .1,
            None
        );
    }

    #[test]
    fn group_by_objects_render_as_json_on_the_whole_event() {
        let rule =
            native_rule("Filter: {eventName: ListBuckets}\nGroupBy: [userIdentity]\n").unwrap();
        let (fast, exact) = verdicts(&rule, &event(r#""x""#, ""));
        assert_eq!(fast, None);
        assert_eq!(
            exact.unwrap(),
            r#"{"arn":"arn:aws:iam::111122223333:user/a","type":"IAMUser"}"#
        );
        // Without GroupBy the title is the dedup string.
        let titled = native_rule(
            "Filter: {eventName: ListBuckets}\nAlertTitle: 'List by {userIdentity.type} {{n}}'\n",
        )
        .unwrap();
        assert_eq!(
            verdicts(&titled, &event(r#""x""#, "")).1.unwrap(),
            "List by IAMUser {n}"
        );
    }

    #[test]
    fn details_come_from_the_whole_event() {
        let rule = native_rule(STRATUS).unwrap();
        let prefilter = Prefilter::build(
            &[PrefilterRule {
                index: 0,
                log_types: &[],
                condition: Some(&rule.0),
                native: Some(&rule.1),
            }],
            1,
            true,
        );
        let tree = EventTree::parse(event(r#""stratus-red-team""#, "").as_bytes()).unwrap();
        let details = prefilter.native_details(0, &tree).unwrap();
        assert_eq!(
            details.title,
            "arn:aws:iam::111122223333:user/a used Stratus Red Team (ListBuckets)"
        );
        assert_eq!(details.severity, Severity::Low);
        assert_eq!(
            details.alert_context.unwrap(),
            serde_json::json!({"agent": "stratus-red-team",
                "identity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/a"}})
        );
    }

    #[test]
    fn the_first_dynamic_severity_whose_filter_holds_replaces_the_severity() {
        let rule = native_rule(&format!(
            "{STRATUS}DynamicSeverities:
  - ChangeTo: Critical
    Filter: {{requestParameters.force: [true, 'true']}}
  - ChangeTo: High
    Filter: {{requestParameters.force: {{exists: true}}}}
  - ChangeTo: Medium
    Filter: {{requestParameters.bucket: {{startswith: prod-}}}}
"
        ))
        .unwrap();
        let prefilter = Prefilter::build(
            &[PrefilterRule {
                index: 0,
                log_types: &[],
                condition: Some(&rule.0),
                native: Some(&rule.1),
            }],
            1,
            true,
        );
        let severity = |parameters: &str| {
            let extra = format!(r#","requestParameters":{parameters}"#);
            let tree = EventTree::parse(event(r#""stratus-red-team""#, &extra).as_bytes());
            prefilter
                .native_details(0, &tree.unwrap())
                .unwrap()
                .severity
        };
        assert_eq!(
            severity(r#"{"force":true,"bucket":"prod-a"}"#),
            Severity::Critical
        );
        assert_eq!(
            severity(r#"{"Force":"true"}"#),
            Severity::Critical,
            "keys ignore case"
        );
        assert_eq!(
            severity(r#"{"force":false,"bucket":"prod-a"}"#),
            Severity::High
        );
        assert_eq!(severity(r#"{"bucket":"prod-a"}"#), Severity::Medium);
        assert_eq!(
            severity(r#"{"bucket":"dev-a"}"#),
            Severity::Low,
            "the rule's Severity"
        );
        assert_eq!(severity("null"), Severity::Low);
    }

    #[test]
    fn rules_that_could_not_be_evaluated_exactly_are_refused() {
        let error = |yaml: &str| native_rule(yaml).unwrap_err();
        assert!(error("Filter: {p_log_type: AWS.CloudTrail}").contains("p_ fields"));
        assert!(error("Filter: {eventName: [[a]]}").contains("not of lists"));
        assert!(error("Filter: {eventName: X, EventName: Y}").contains("spell it one way"));
        assert!(error("Filter: {eventName: X}\nGroupBy: [EVENTNAME]").contains("spell it one way"));
        assert!(error("Filter: {eventName: X}\nAlertTitle: '{eventName'").contains("AlertTitle"));
        assert!(error("Filter: {eventName: X}\nAlertContext: {a: 'b[0]'}").contains("AlertContext"));
        assert!(error(
            "Filter: {eventName: X}\nDynamicSeverities: [{ChangeTo: High, Filter: {p_any_ip_addresses: {exists: true}}}]"
        )
        .contains("DynamicSeverities[0]: Filter"));
    }

    #[test]
    fn templates_parse_placeholders_and_escapes() {
        let t = Template::parse("{userIdentity.arn} called {eventName} {{literally}}").unwrap();
        assert_eq!(
            t.fields().map(|f| f.join(".")).collect::<Vec<_>>(),
            vec!["userIdentity.arn", "eventName"]
        );
        let values = ["arn:x".to_string(), "Run".to_string()];
        assert_eq!(
            t.render(|i| Some(values[i].clone())).unwrap(),
            "arn:x called Run {literally}"
        );
        assert_eq!(Template::parse(&t.to_string()).unwrap(), t);
        assert!(Template::parse("{eventName")
            .unwrap_err()
            .contains("unclosed"));
        assert!(Template::parse("a } b").unwrap_err().contains("lone"));
        assert!(Template::parse("{p_log_type}")
            .unwrap_err()
            .contains("p_ fields"));
        assert!(Template::parse("{resources[0].arn}").is_err());
    }

    #[test]
    fn captured_and_tree_values_render_alike() {
        let tree = EventTree::parse(br#"{"s":"x","n":12,"f":1.5,"b":true,"z":null}"#).unwrap();
        for (key, captured) in [
            ("s", Captured::Str("x".into())),
            ("n", Captured::Number(12.0)),
            ("f", Captured::Number(1.5)),
            ("b", Captured::Bool(true)),
            ("z", Captured::Null),
            ("missing", Captured::Missing),
        ] {
            let node = tree.lookup(&path(key));
            assert_eq!(EventTree::captured(node), captured, "{key}");
            assert_eq!(
                render_captured(&captured).unwrap(),
                EventTree::render(node),
                "{key}"
            );
        }
    }
}
