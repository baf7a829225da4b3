//! Field captures for the rule prefilter: during the one parse of an event, the values at a
//! few requested key paths (`eventName`, `eventSource`, `userIdentity.type`, ...) are kept so
//! that rules' cheap conditions can be evaluated without parsing again.
//!
//! Keys are matched ASCII-case-insensitively, as rules' `event.get()` does; when two keys of
//! one object match the same step (`eventName` and `EventName`), the value is
//! [`Captured::Ambiguous`], which a prefilter must treat as "could be anything". Paths do not
//! go through arrays.

use std::borrow::Cow;

use crate::walk::{walk, Scalar, Sink, Text};

/// The key paths to capture, compiled into a trie. Build once, share between threads.
#[derive(Debug, Clone, Default)]
pub struct CapturePlan {
    nodes: Vec<PlanNode>,
    paths: usize,
}

#[derive(Debug, Clone, Default)]
struct PlanNode {
    /// Children by lower-cased key, sorted by key length: every key of every event is looked
    /// up here, and only the children of its length can match it.
    children: Vec<(String, u32)>,
    /// The index of the path ending here.
    slot: Option<usize>,
}

impl CapturePlan {
    /// `paths[i]`'s value is reported at index `i` of the captures. Paths must be distinct
    /// (ignoring ASCII case) and not empty.
    pub fn new<P: AsRef<[String]>>(paths: &[P]) -> Self {
        let mut plan = CapturePlan {
            nodes: vec![PlanNode::default()],
            paths: paths.len(),
        };
        for (i, path) in paths.iter().enumerate() {
            assert!(!path.as_ref().is_empty(), "capture paths are not empty");
            let mut node = 0u32;
            for key in path.as_ref() {
                let key = key.to_ascii_lowercase();
                node = match plan.nodes[node as usize]
                    .children
                    .iter()
                    .find(|(k, _)| *k == key)
                {
                    Some(&(_, child)) => child,
                    None => {
                        let child = plan.nodes.len() as u32;
                        plan.nodes.push(PlanNode::default());
                        plan.nodes[node as usize].children.push((key, child));
                        child
                    }
                };
            }
            let slot = &mut plan.nodes[node as usize].slot;
            assert!(slot.is_none(), "capture paths are distinct");
            *slot = Some(i);
        }
        for node in &mut plan.nodes {
            node.children.sort_by_key(|(key, _)| key.len());
        }
        plan
    }

    pub fn is_empty(&self) -> bool {
        self.paths == 0
    }
}

/// The value found at one captured path.
#[derive(Debug, Clone, PartialEq)]
pub enum Captured<'a> {
    /// No such key (or a step that is not an object).
    Missing,
    Str(Cow<'a, str>),
    Bool(bool),
    Number(f64),
    Null,
    /// An object or an array.
    Container,
    /// Several keys differing only in case matched: any of their values may be what a rule sees.
    Ambiguous,
}

impl Captured<'_> {
    fn into_owned(self) -> Captured<'static> {
        match self {
            Captured::Str(s) => Captured::Str(Cow::Owned(s.into_owned())),
            Captured::Missing => Captured::Missing,
            Captured::Bool(b) => Captured::Bool(b),
            Captured::Number(n) => Captured::Number(n),
            Captured::Null => Captured::Null,
            Captured::Container => Captured::Container,
            Captured::Ambiguous => Captured::Ambiguous,
        }
    }
}

/// The captures of `json` on their own parse, owned: for the JSON written for a text line,
/// which does not outlive its normalization.
pub(crate) fn capture_owned(
    json: &str,
    plan: &CapturePlan,
) -> sonic_rs::Result<Vec<Captured<'static>>> {
    if plan.is_empty() {
        return Ok(Vec::new());
    }
    let mut captures = Captures::new(plan);
    walk(json, &mut captures)?;
    Ok(captures
        .into_values()
        .into_iter()
        .map(Captured::into_owned)
        .collect())
}

/// Collects captures during a parse (a [`Sink`]); the context is the plan node, if any.
pub(crate) struct Captures<'p, 'de> {
    plan: &'p CapturePlan,
    values: Vec<Captured<'de>>,
    /// Per plan node: its key was met already. A key met twice (written twice, or spelled
    /// two ways) makes its value and everything below it ambiguous.
    seen: Vec<bool>,
}

impl<'p, 'de> Captures<'p, 'de> {
    pub(crate) fn new(plan: &'p CapturePlan) -> Self {
        Captures {
            plan,
            values: vec![Captured::Missing; plan.paths],
            seen: vec![false; plan.nodes.len()],
        }
    }

    /// The values, indexed like the plan's paths.
    pub(crate) fn into_values(self) -> Vec<Captured<'de>> {
        self.values
    }

    fn mark_below_ambiguous(&mut self, node: u32) {
        let mut stack: Vec<u32> = self.plan.nodes[node as usize]
            .children
            .iter()
            .map(|&(_, c)| c)
            .collect();
        while let Some(n) = stack.pop() {
            let n = &self.plan.nodes[n as usize];
            if let Some(slot) = n.slot {
                self.values[slot] = Captured::Ambiguous;
            }
            stack.extend(n.children.iter().map(|&(_, c)| c));
        }
    }

    fn set(&mut self, node: Option<u32>, value: Captured<'de>) {
        if let Some(slot) = node.and_then(|n| self.plan.nodes[n as usize].slot) {
            // child() marked the key seen (Container) just before its value arrives; an
            // Ambiguous mark from a second spelling of the key stays.
            let current = &mut self.values[slot];
            if *current == Captured::Container {
                *current = value;
            }
        }
    }
}

impl<'de> Sink<'de> for Captures<'_, 'de> {
    type Ctx = Option<u32>;

    fn root() -> Option<u32> {
        Some(0)
    }

    fn child(&mut self, parent: Option<u32>, key: &str) -> Option<u32> {
        // The empty plan (`CapturePlan::default()`) has no nodes at all.
        let children = &self.plan.nodes.get(parent? as usize)?.children;
        let same_length = &children[children.partition_point(|(k, _)| k.len() < key.len())..];
        let found = same_length
            .iter()
            .take_while(|(k, _)| k.len() == key.len())
            .find(|(k, _)| k.eq_ignore_ascii_case(key));
        let node = match found {
            Some(&(_, child)) => child,
            // Python's str.lower, which rules' key lookups use, maps a few non-ASCII letters
            // onto ASCII ones (the Kelvin sign onto k).
            None if !key.is_ascii() => {
                let lower = key.to_lowercase();
                children.iter().find(|(k, _)| *k == lower)?.1
            }
            None => return None,
        };
        let slot = self.plan.nodes[node as usize].slot;
        if std::mem::replace(&mut self.seen[node as usize], true) {
            // The key a second time (repeated, or spelt differently): a rule reads one of
            // the values (Python's json keeps the last), so neither it nor anything below
            // it is known, whichever holds what.
            if let Some(slot) = slot {
                self.values[slot] = Captured::Ambiguous;
            }
            self.mark_below_ambiguous(node);
        } else if let Some(slot) = slot {
            let current = &mut self.values[slot];
            if *current == Captured::Missing {
                // Until a leaf value arrives, the key holds a container.
                *current = Captured::Container;
            }
        }
        Some(node)
    }

    fn element(&mut self, parent: Option<u32>) -> Option<u32> {
        // A path that continues into an array cannot be followed: whatever it leads to is
        // unknown rather than missing.
        if let Some(node) = parent {
            self.mark_below_ambiguous(node);
        }
        None
    }

    fn string(&mut self, ctx: Option<u32>, value: Text<'de, '_>) {
        self.set(ctx, Captured::Str(value.keep()));
    }

    fn scalar(&mut self, ctx: Option<u32>, value: Scalar) {
        self.set(
            ctx,
            match value {
                Scalar::Bool(b) => Captured::Bool(b),
                Scalar::Number(n) => Captured::Number(n),
                Scalar::Null => Captured::Null,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Normalizer, SourceInfo};

    fn capture(json: &str, paths: &[&[&str]]) -> Vec<Captured<'static>> {
        let paths: Vec<Vec<String>> = paths
            .iter()
            .map(|p| p.iter().map(|s| s.to_string()).collect())
            .collect();
        let plan = CapturePlan::new(&paths);
        let normalizer = Normalizer::new(SourceInfo {
            id: "t".into(),
            label: "t".into(),
        });
        let json: &'static str = Box::leak(json.to_string().into_boxed_str());
        normalizer
            .parse(json.as_bytes(), &plan)
            .unwrap()
            .captured()
            .to_vec()
    }

    #[test]
    fn captures_top_level_and_nested_values_of_every_kind() {
        let values = capture(
            r#"{"eventName":"StopLogging","eventSource":"cloudtrail.amazonaws.com",
                "userIdentity":{"type":"Root","mfa":true},"readOnly":false,"n":3,
                "requestParameters":null,"responseElements":{"x":1},"errorCode":"A\u0063cess"}"#,
            &[
                &["eventName"],
                &["userIdentity", "type"],
                &["userIdentity", "mfa"],
                &["readOnly"],
                &["n"],
                &["requestParameters"],
                &["responseElements"],
                &["errorCode"],
                &["nothing", "here"],
            ],
        );
        assert_eq!(
            values,
            vec![
                Captured::Str("StopLogging".into()),
                Captured::Str("Root".into()),
                Captured::Bool(true),
                Captured::Bool(false),
                Captured::Number(3.0),
                Captured::Null,
                Captured::Container,
                Captured::Str("Access".into()),
                Captured::Missing,
            ]
        );
    }

    #[test]
    fn keys_match_case_insensitively_and_two_spellings_are_ambiguous() {
        let values = capture(
            r#"{"eventVersion":"1.08","EVENTNAME":"A","eventSource":"s","EventSource":"t"}"#,
            &[&["eventName"], &["eventSource"]],
        );
        assert_eq!(values, vec![Captured::Str("A".into()), Captured::Ambiguous]);
    }

    /// Found by the `normalize` fuzz target: `userIdentity` twice, the first with a `type`,
    /// the last (the one a rule sees) without. The prefilter took the first one's value.
    #[test]
    fn a_repeated_object_key_makes_every_path_below_it_ambiguous() {
        let values = capture(
            r#"{"eventVersion":"1.08","eventName":"X",
                "userIdentity":{"type":"IAMUser","arn":"a"},
                "USERIDENTITY":{"tope":"IAMUser"},
                "requestParameters":{"bucketName":"b"}}"#,
            &[
                &["userIdentity", "type"],
                &["userIdentity", "arn"],
                &["userIdentity", "other"],
                &["userIdentity"],
                &["requestParameters", "bucketName"],
            ],
        );
        assert_eq!(
            values,
            vec![
                Captured::Ambiguous,
                Captured::Ambiguous,
                Captured::Ambiguous,
                Captured::Ambiguous,
                Captured::Str("b".into()),
            ]
        );
    }

    #[test]
    fn keys_of_the_same_length_are_told_apart() {
        let paths: &[&[&str]] = &[
            &["eventName"],
            &["eventTime"],
            &["awsRegion"],
            &["userAgent"],
            &["errorCode"],
            &["eventID"],
            &["requestParameters", "name"],
            &["requestParameters", "path"],
        ];
        let values = capture(
            r#"{"eventTime":"t","AWSREGION":"r","eventName":"n","userAgent":"u","eventID":"i",
                "requestParameters":{"PATH":"/p","Name":"x","type":"y"}}"#,
            paths,
        );
        let s = |v: &'static str| Captured::Str(v.into());
        assert_eq!(
            values,
            vec![
                s("n"),
                s("t"),
                s("r"),
                s("u"),
                Captured::Missing,
                s("i"),
                s("x"),
                s("/p")
            ]
        );
    }

    #[test]
    fn keys_that_python_lowercases_onto_the_path_are_found() {
        let values = capture("{\"eventName\":\"X\",\"\u{212A}ey\":\"v\"}", &[&["key"]]);
        assert_eq!(values, vec![Captured::Str("v".into())]);
    }

    #[test]
    fn paths_through_arrays_are_unknown_not_missing() {
        let values = capture(
            r#"{"eventName":"X","resources":[{"type":"AWS::S3::Bucket"}]}"#,
            &[&["resources", "type"], &["resources"]],
        );
        assert_eq!(values, vec![Captured::Ambiguous, Captured::Container]);
    }
}
