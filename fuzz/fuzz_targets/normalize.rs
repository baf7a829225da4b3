//! `iota_normalize::Normalizer` (classification, `p_` fields, indicators, prefilter
//! captures) on arbitrary bytes, checked against serde_json's reading of the same bytes:
//! - JSON that serde_json reads as an object is never refused as invalid JSON or as not an
//!   object;
//! - a normalized event is valid JSON holding every original field unchanged, with
//!   `p_log_type` its log type, and its event id is the `eventID` string;
//! - the indicator arrays are sorted and without repeats;
//! - each captured value is what a rule reading the event sees (the value serde_json finds
//!   at that path, keys matched ignoring ASCII case), or `Ambiguous`: a prefilter may only
//!   be weaker than the rule.

#![no_main]

use std::sync::OnceLock;

use chrono::{TimeZone, Utc};
use iota_normalize::{CapturePlan, Captured, NormalizeError, Normalizer, SourceInfo};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Paths the bundled rules' prefilters capture, and a few deeper or odd ones.
const PATHS: &[&[&str]] = &[
    &["eventName"],
    &["eventSource"],
    &["errorCode"],
    &["userIdentity", "type"],
    &["userIdentity", "arn"],
    &["requestParameters", "bucketName"],
    &["responseElements", "ConsoleLogin"],
    &["additionalEventData", "MFAUsed"],
    &["a", "b", "c"],
];

fn setup() -> &'static (Normalizer, CapturePlan) {
    static SETUP: OnceLock<(Normalizer, CapturePlan)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let paths: Vec<Vec<String>> = PATHS
            .iter()
            .map(|p| p.iter().map(|k| k.to_string()).collect())
            .collect();
        let normalizer = Normalizer::new(SourceInfo {
            id: "fuzz".into(),
            label: "fuzz \"source\"".into(),
        });
        (normalizer, CapturePlan::new(&paths))
    })
}

/// What a rule reading `event` sees at `path`, in the terms of [`Captured`].
fn expected(event: &Value, path: &[&str]) -> Captured<'static> {
    let mut value = event;
    for step in path {
        let Some(object) = value.as_object() else {
            return Captured::Missing;
        };
        let mut found = object.iter().filter(|(k, _)| k.eq_ignore_ascii_case(step));
        match (found.next(), found.next()) {
            (None, _) => return Captured::Missing,
            (Some((_, v)), None) => value = v,
            (Some(_), Some(_)) => return Captured::Ambiguous,
        }
    }
    match value {
        Value::Null => Captured::Null,
        Value::Bool(b) => Captured::Bool(*b),
        Value::Number(n) => Captured::Number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => Captured::Str(s.clone().into()),
        Value::Array(_) | Value::Object(_) => Captured::Container,
    }
}

fn same(captured: &Captured<'_>, expected: &Captured<'_>) -> bool {
    match (captured, expected) {
        (Captured::Ambiguous, _) => true,
        // Both sides parsed the digits into a double; only the kind is compared, as
        // serde_json's float parsing may differ in the last bit.
        (Captured::Number(_), Captured::Number(_)) => true,
        _ => captured == expected,
    }
}

fuzz_target!(|data: &[u8]| {
    let (normalizer, plan) = setup();
    let reference: Option<Value> = serde_json::from_slice(data).ok();
    let parse_time = Utc.timestamp_opt(1_700_000_000, 0).unwrap();

    let parsed = normalizer.parse(data, plan);
    if let Some(Value::Object(_)) = &reference {
        assert!(
            !matches!(
                parsed,
                Err(NormalizeError::InvalidJson { .. } | NormalizeError::NotAnObject)
            ),
            "a JSON object refused: {:?}",
            parsed.err()
        );
    }
    let Ok(parsed) = parsed else { return };
    if let Some(reference) = &reference {
        assert_eq!(parsed.captured().len(), PATHS.len());
        for (captured, path) in parsed.captured().iter().zip(PATHS) {
            let want = expected(reference, path);
            assert!(
                same(captured, &want),
                "{path:?}: captured {captured:?}, a rule sees {want:?}"
            );
        }
    }

    let event = normalizer.finish(parsed, parse_time);
    let Some(Value::Object(original)) = reference else {
        return;
    };
    let output: Value = serde_json::from_slice(&event.json).unwrap_or_else(|e| {
        panic!(
            "normalized event is not JSON ({e}): {}",
            String::from_utf8_lossy(&event.json)
        )
    });
    let output = output.as_object().expect("a normalized event is an object");
    for (key, value) in original.iter().filter(|(k, _)| !k.starts_with("p_")) {
        assert_eq!(output.get(key), Some(value), "field {key:?} kept");
    }
    assert_eq!(output["p_log_type"], event.log_type);
    let event_id = original.get("eventID").and_then(Value::as_str);
    if let Some(id) = event_id {
        assert_eq!(
            event.event_id.as_deref(),
            Some(id),
            "the event id is eventID"
        );
    }
    let written = |k: &String| k.starts_with("p_any_") && !original.contains_key(k);
    for (key, value) in output.iter().filter(|(k, _)| written(k)) {
        let values: Vec<&str> = value
            .as_array()
            .unwrap_or_else(|| panic!("{key} is an array"))
            .iter()
            .map(|v| v.as_str().expect("indicators are strings"))
            .collect();
        assert!(!values.is_empty(), "{key} is written only when not empty");
        assert!(
            values.windows(2).all(|w| w[0] < w[1]),
            "{key} sorted, without repeats: {values:?}"
        );
    }
});
