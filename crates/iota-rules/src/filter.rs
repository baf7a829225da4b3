//! Rule prefilter conditions: cheap, necessary conditions on an event's fields that Rust
//! evaluates before any event reaches Python (SPEC 6). A condition comes from a rule's own
//! `Filter:` key, from the part of its Panther `InlineFilters` Rust can evaluate, or from the
//! worker's inference over the rule's source; the JSON form is shared with the worker
//! (docs/WORKER_PROTOCOL.md, "Prefilters").
//!
//! A condition must never reject an event the rule could match: whatever cannot be evaluated
//! exactly is left out (a weaker condition), never guessed.

use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A condition on event fields. Keys are paths of object keys from the top of the event.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Condition {
    All {
        all: Vec<Condition>,
    },
    Any {
        any: Vec<Condition>,
    },
    Not {
        not: Box<Condition>,
    },
    Equals {
        key: Vec<String>,
        equals: Value,
    },
    In {
        key: Vec<String>,
        #[serde(rename = "in")]
        values: Vec<Value>,
    },
    StartsWith {
        key: Vec<String>,
        startswith: String,
    },
    Exists {
        key: Vec<String>,
        exists: bool,
    },
    /// The value is a string containing one of these (ASCII letters compared without case).
    Contains {
        key: Vec<String>,
        contains: Vec<String>,
    },
    /// The value is a string matching one of these shell-style patterns, case-sensitively, as
    /// Python's `fnmatch.fnmatchcase` (and iota_helpers' `pattern_match_list`) match it:
    /// `*` any run of characters, `?` one character; `[` is not accepted.
    Glob {
        key: Vec<String>,
        glob: Vec<String>,
    },
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            all: Option<Vec<Condition>>,
            any: Option<Vec<Condition>>,
            not: Option<Box<Condition>>,
            key: Option<Vec<String>>,
            equals: Option<Value>,
            #[serde(rename = "in")]
            values: Option<Vec<Value>>,
            startswith: Option<String>,
            exists: Option<bool>,
            contains: Option<Vec<String>>,
            glob: Option<Vec<String>>,
        }
        let raw = Raw::deserialize(deserializer)?;
        let condition = match raw {
            Raw { all: Some(all), any: None, not: None, key: None, .. } => Condition::All { all },
            Raw { any: Some(any), all: None, not: None, key: None, .. } => Condition::Any { any },
            Raw { not: Some(not), all: None, any: None, key: None, .. } => Condition::Not { not },
            Raw { key: Some(key), equals: Some(equals), values: None, startswith: None, exists: None, .. } => {
                Condition::Equals { key, equals }
            }
            Raw { key: Some(key), values: Some(values), equals: None, startswith: None, exists: None, .. } => {
                Condition::In { key, values }
            }
            Raw { key: Some(key), startswith: Some(startswith), equals: None, values: None, exists: None, .. } => {
                Condition::StartsWith { key, startswith }
            }
            Raw { key: Some(key), exists: Some(exists), equals: None, values: None, startswith: None, contains: None, glob: None, .. } => {
                Condition::Exists { key, exists }
            }
            Raw { key: Some(key), contains: Some(contains), equals: None, values: None, startswith: None, exists: None, glob: None, .. } => {
                check_needles(&contains).map_err(D::Error::custom)?;
                Condition::Contains { key, contains }
            }
            Raw { key: Some(key), glob: Some(glob), equals: None, values: None, startswith: None, exists: None, contains: None, .. } => {
                check_patterns(&glob).map_err(D::Error::custom)?;
                Condition::Glob { key, glob }
            }
            _ => return Err(D::Error::custom("a condition needs exactly one of all, any, not, or key with equals/in/startswith/exists/contains/glob")),
        };
        if let Condition::Equals { key, .. }
        | Condition::In { key, .. }
        | Condition::StartsWith { key, .. }
        | Condition::Exists { key, .. }
        | Condition::Contains { key, .. }
        | Condition::Glob { key, .. } = &condition
        {
            if key.is_empty() {
                return Err(D::Error::custom("a condition key needs at least one step"));
            }
        }
        Ok(condition)
    }
}

impl Condition {
    /// `all` of the given conditions, flattened; `None` for none.
    pub fn all_of(mut parts: Vec<Condition>) -> Option<Condition> {
        match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => Some(Condition::All {
                all: parts
                    .into_iter()
                    .flat_map(|c| match c {
                        Condition::All { all } => all,
                        other => vec![other],
                    })
                    .collect(),
            }),
        }
    }

    /// Every key path the condition reads.
    pub fn keys(&self) -> Vec<&[String]> {
        let mut keys = Vec::new();
        self.collect_keys(&mut keys);
        keys
    }

    fn collect_keys<'a>(&'a self, out: &mut Vec<&'a [String]>) {
        match self {
            Condition::All { all: parts } | Condition::Any { any: parts } => {
                parts.iter().for_each(|p| p.collect_keys(out))
            }
            Condition::Not { not } => not.collect_keys(out),
            Condition::Equals { key, .. }
            | Condition::In { key, .. }
            | Condition::StartsWith { key, .. }
            | Condition::Exists { key, .. }
            | Condition::Contains { key, .. }
            | Condition::Glob { key, .. } => out.push(key),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = |key: &[String]| key.join(".");
        let value = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match self {
            Condition::All { all } => join(f, all, " and "),
            Condition::Any { any } => join(f, any, " or "),
            Condition::Not { not } => write!(f, "not ({not})"),
            Condition::Equals { key, equals } => write!(f, "{}={}", path(key), value(equals)),
            Condition::In { key, values } => write!(
                f,
                "{} in [{}]",
                path(key),
                values.iter().map(value).collect::<Vec<_>>().join(", ")
            ),
            Condition::StartsWith { key, startswith } => {
                write!(f, "{} startswith {startswith}", path(key))
            }
            Condition::Exists { key, exists: true } => write!(f, "{} exists", path(key)),
            Condition::Exists { key, exists: false } => write!(f, "{} missing", path(key)),
            Condition::Contains { key, contains } => {
                write!(f, "{} contains [{}]", path(key), contains.join(", "))
            }
            Condition::Glob { key, glob } => {
                write!(f, "{} matches [{}]", path(key), glob.join(", "))
            }
        }
    }
}

fn join(f: &mut fmt::Formatter<'_>, parts: &[Condition], separator: &str) -> fmt::Result {
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            f.write_str(separator)?;
        }
        match part {
            Condition::All { .. } | Condition::Any { .. } => write!(f, "({part})")?,
            _ => write!(f, "{part}")?,
        }
    }
    Ok(())
}

/// iota's own `Filter:` key: a mapping of dotted key path to a value (equals), a list (any of),
/// or `{startswith: x or [x, ...]}`, `{contains: [x, ...]}` (any of, ignoring ASCII case),
/// `{glob: [pattern, ...]}` (any of, case-sensitive `*`/`?` patterns), `{exists: bool}`,
/// `{not: any of these}`, or several of these operators in one mapping (all must hold); all
/// entries must hold.
pub(crate) fn from_filter_key(value: &serde_yaml::Value) -> Result<Condition, String> {
    let mapping = value
        .as_mapping()
        .ok_or("Filter must be a mapping of key path to value, list of values, or {startswith|exists|not: ...}")?;
    let mut parts = Vec::new();
    for (path, expected) in mapping {
        let path = path
            .as_str()
            .ok_or("Filter keys must be key paths such as eventName or userIdentity.type")?;
        let key: Vec<String> = path.split('.').map(str::to_string).collect();
        if key.iter().any(|k| k.is_empty() || k.contains('[')) {
            return Err(format!(
                "Filter key {path:?}: use dotted object keys (no array steps)"
            ));
        }
        parts.push(filter_entry(key, expected).map_err(|e| format!("Filter key {path:?}: {e}"))?);
    }
    Condition::all_of(parts).ok_or_else(|| "Filter is empty".to_string())
}

fn filter_entry(key: Vec<String>, expected: &serde_yaml::Value) -> Result<Condition, String> {
    let json = |v: &serde_yaml::Value| -> Result<Value, String> {
        serde_json::to_value(v).map_err(|e| e.to_string())
    };
    match expected {
        serde_yaml::Value::Sequence(items) => Ok(Condition::In {
            key,
            values: items.iter().map(json).collect::<Result<_, _>>()?,
        }),
        // Several operators on one key must all hold.
        serde_yaml::Value::Mapping(m) if m.len() > 1 => {
            let parts = m
                .iter()
                .map(|(op, arg)| {
                    let mut one = serde_yaml::Mapping::new();
                    one.insert(op.clone(), arg.clone());
                    filter_entry(key.clone(), &serde_yaml::Value::Mapping(one))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Condition::all_of(parts).expect("more than one operator"))
        }
        serde_yaml::Value::Mapping(m) if m.len() == 1 => {
            let (op, arg) = m.iter().next().expect("one entry");
            match op.as_str() {
                Some("startswith") => {
                    let prefixes =
                        strings(arg).ok_or("startswith needs a string or a list of strings")?;
                    let mut any: Vec<Condition> = prefixes
                        .into_iter()
                        .map(|startswith| Condition::StartsWith {
                            key: key.clone(),
                            startswith,
                        })
                        .collect();
                    match any.len() {
                        0 => Err("startswith needs at least one prefix".into()),
                        1 => Ok(any.pop().expect("one prefix")),
                        _ => Ok(Condition::Any { any }),
                    }
                }
                Some("contains") => {
                    let contains = strings(arg).ok_or("contains needs strings")?;
                    check_needles(&contains)?;
                    Ok(Condition::Contains { key, contains })
                }
                Some("glob") => {
                    let glob = strings(arg).ok_or("glob needs strings")?;
                    check_patterns(&glob)?;
                    Ok(Condition::Glob { key, glob })
                }
                Some("exists") => Ok(Condition::Exists {
                    key,
                    exists: arg.as_bool().ok_or("exists needs true or false")?,
                }),
                Some("not") => Ok(Condition::Not {
                    not: Box::new(filter_entry(key, arg)?),
                }),
                _ => Err(
                    "expected a value, a list, or one of startswith, contains, glob, exists, not"
                        .into(),
                ),
            }
        }
        serde_yaml::Value::Mapping(_) | serde_yaml::Value::Tagged(_) => Err(
            "expected a value, a list, or one of startswith, contains, glob, exists, not".into(),
        ),
        scalar => Ok(Condition::Equals {
            key,
            equals: json(scalar)?,
        }),
    }
}

/// Needles of `contains` are compared ignoring ASCII case only, so they must be ASCII.
/// A string, or a list of strings.
fn strings(value: &serde_yaml::Value) -> Option<Vec<String>> {
    match value {
        serde_yaml::Value::Sequence(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect(),
        other => Some(vec![other.as_str()?.to_string()]),
    }
}

/// `[` starts a character class in fnmatch, which iota does not evaluate: a pattern with one
/// would be matched differently than the rule matches it.
fn check_patterns(patterns: &[String]) -> Result<(), String> {
    if patterns.is_empty() || patterns.iter().any(|p| p.is_empty() || p.contains('[')) {
        return Err("glob needs non-empty patterns of literal text, `*` and `?` (no `[`)".into());
    }
    Ok(())
}

fn check_needles(needles: &[String]) -> Result<(), String> {
    if needles.is_empty() || needles.iter().any(|n| n.is_empty() || !n.is_ascii()) {
        return Err("contains needs non-empty ASCII strings".into());
    }
    Ok(())
}

/// The part of Panther `InlineFilters` that Rust can evaluate exactly, as a condition; `None`
/// when no part can be. The worker applies the full InlineFilters itself, so leaving a part
/// out here only lets more events through to Python.
pub(crate) fn from_inline_filters(value: &serde_json::Value) -> Option<Condition> {
    let object = value.as_object()?;
    let mut parts = Vec::new();
    for (group, items) in object {
        let items = items.as_array()?;
        let converted: Vec<Option<Condition>> = items.iter().map(inline_condition).collect();
        match group.as_str() {
            // Every All entry must hold: the convertible ones still form a necessary condition.
            "All" => parts.extend(converted.into_iter().flatten()),
            // One of the Any entries must hold: only usable when each of them is convertible.
            "Any" if !converted.is_empty() && converted.iter().all(Option::is_some) => {
                parts.push(Condition::Any {
                    any: converted.into_iter().flatten().collect(),
                })
            }
            _ => {}
        }
    }
    Condition::all_of(parts)
}

fn inline_condition(item: &serde_json::Value) -> Option<Condition> {
    let path = item.get("KeyPath")?.as_str()?;
    if path.contains('[') || path.contains('*') {
        return None;
    }
    let key: Vec<String> = path
        .trim_start_matches("$.")
        .split('.')
        .map(str::to_string)
        .collect();
    if key.iter().any(String::is_empty) {
        return None;
    }
    let value = || item.get("Value").filter(|v| is_scalar(v)).cloned();
    let values = || {
        item.get("Values")?
            .as_array()
            .filter(|vs| vs.iter().all(is_scalar))
            .cloned()
    };
    let condition = match item.get("Condition")?.as_str()? {
        "Equals" => Condition::Equals {
            key,
            equals: value()?,
        },
        "DoesNotEqual" => Condition::Not {
            not: Box::new(Condition::Equals {
                key,
                equals: value()?,
            }),
        },
        "IsIn" => Condition::In {
            key,
            values: values()?,
        },
        "IsNotIn" => Condition::Not {
            not: Box::new(Condition::In {
                key,
                values: values()?,
            }),
        },
        "StartsWith" => Condition::StartsWith {
            key,
            startswith: value()?.as_str()?.to_string(),
        },
        // Panther treats a null value as absent; a Rust `exists` would count it as present,
        // which is still a necessary condition for Exists but not for DoesNotExist.
        "Exists" => Condition::Exists { key, exists: true },
        _ => return None,
    };
    Some(condition)
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_form_round_trips() {
        let text = r#"{"all":[{"key":["eventSource"],"equals":"iam.amazonaws.com"},
            {"key":["eventName"],"in":["A","B"]},{"not":{"key":["errorCode"],"exists":true}},
            {"any":[{"key":["userAgent"],"startswith":"aws-cli"}]}]}"#;
        let condition: Condition = serde_json::from_str(text).unwrap();
        let again: Condition =
            serde_json::from_value(serde_json::to_value(&condition).unwrap()).unwrap();
        assert_eq!(condition, again);
        assert_eq!(
            condition.to_string(),
            "eventSource=iam.amazonaws.com and eventName in [A, B] and not (errorCode exists) and (userAgent startswith aws-cli)"
        );
        assert!(serde_json::from_str::<Condition>(r#"{"key":["a"],"equals":1,"in":[1]}"#).is_err());
        assert!(serde_json::from_str::<Condition>(r#"{"key":[],"equals":1}"#).is_err());
    }

    #[test]
    fn filter_key_forms() {
        let yaml: serde_yaml::Value = serde_yaml::from_str(
            "eventSource: s3.amazonaws.com\neventName: [PutBucketPolicy, DeleteBucketPolicy]\nuserIdentity.type: {not: AWSService}\nerrorCode: {exists: false}\n",
        )
        .unwrap();
        assert_eq!(
            from_filter_key(&yaml).unwrap().to_string(),
            "eventSource=s3.amazonaws.com and eventName in [PutBucketPolicy, DeleteBucketPolicy] and not (userIdentity.type=AWSService) and errorCode missing"
        );
        let agents: serde_yaml::Value =
            serde_yaml::from_str("userAgent: {contains: [kali, Pacu]}").unwrap();
        assert_eq!(
            from_filter_key(&agents).unwrap().to_string(),
            "userAgent contains [kali, Pacu]"
        );
        let non_ascii: serde_yaml::Value =
            serde_yaml::from_str("userAgent: {contains: [\"\u{00e9}\"]}").unwrap();
        assert!(from_filter_key(&non_ascii).is_err());
        let several: serde_yaml::Value =
            serde_yaml::from_str("eventName: {startswith: [List, Get], not: [GetCallerIdentity]}")
                .unwrap();
        assert_eq!(
            from_filter_key(&several).unwrap().to_string(),
            "(eventName startswith List or eventName startswith Get) and not (eventName in [GetCallerIdentity])"
        );
        let bad: serde_yaml::Value = serde_yaml::from_str("resources[0].type: x").unwrap();
        assert!(from_filter_key(&bad)
            .unwrap_err()
            .contains("no array steps"));
    }

    #[test]
    fn inline_filters_keep_only_what_is_exact() {
        let inline = json!({
            "All": [
                {"KeyPath": "eventSource", "Condition": "Equals", "Value": "iam.amazonaws.com"},
                {"KeyPath": "requestParameters.policyArn", "Condition": "EndsWith", "Value": "Admin"},
                {"KeyPath": "resources[*].type", "Condition": "Equals", "Value": "x"}
            ],
            "Any": [
                {"KeyPath": "eventName", "Condition": "IsIn", "Values": ["A", "B"]},
                {"KeyPath": "eventName", "Condition": "StartsWith", "Value": "Put"}
            ]
        });
        assert_eq!(
            from_inline_filters(&inline).unwrap().to_string(),
            "eventSource=iam.amazonaws.com and (eventName in [A, B] or eventName startswith Put)"
        );
        let unusable_any = json!({"Any": [
            {"KeyPath": "eventName", "Condition": "Equals", "Value": "A"},
            {"KeyPath": "sourceIPAddress", "Condition": "IsIPAddressPrivate"}
        ]});
        assert_eq!(from_inline_filters(&unusable_any), None);
    }
}
