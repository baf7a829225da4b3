//! Native declarative rules end to end: on a corpus, a native rule's alerts are those of the
//! Python rule written to mean the same (same id, title, dedup, counts, context and event),
//! in memory and through the state store, and its matches never reach a Python worker.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

const METADATA: &str = "AnalysisType: rule
RuleID: Test.StratusAgent
LogTypes: [AWS.CloudTrail]
Severity: Low
DedupPeriodMinutes: 1440
Threshold: 2
";

const NATIVE: &str = "Filter:
  eventType: [AwsApiCall, AwsConsoleSignIn]
  userAgent: {contains: [stratus-red-team]}
  userIdentity.type: {not: AWSService}
GroupBy: [recipientAccountId, userIdentity.arn]
AlertTitle: '{userIdentity.arn} called {eventName} from {sourceIPAddress} ({{stratus}})'
AlertContext: {agent: userAgent, identity: userIdentity, error: errorCode}
";

/// The same rule in Python: missing values read as null, strings as themselves.
const PYTHON: &str = r#"import json


def _text(value):
    return value if isinstance(value, str) else json.dumps(value)


def rule(event):
    agent = event.get("userAgent")
    return (
        event.get("eventType") in ("AwsApiCall", "AwsConsoleSignIn")
        and isinstance(agent, str)
        and "stratus-red-team" in agent.lower()
        and event.deep_get("userIdentity", "type") != "AWSService"
    )


def dedup(event):
    return f"{_text(event.get('recipientAccountId'))}:{_text(event.deep_get('userIdentity', 'arn'))}"


def title(event):
    return (
        f"{_text(event.deep_get('userIdentity', 'arn'))} called {_text(event.get('eventName'))} "
        f"from {_text(event.get('sourceIPAddress'))} ({{stratus}})"
    )


def alert_context(event):
    identity = event.get("userIdentity")
    return {
        "agent": event.get("userAgent"),
        "identity": identity.to_dict() if identity is not None else None,
        "error": event.get("errorCode"),
    }
"#;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus-5k/AWSLogs")
}

/// A threshold over distinct values: distinct read APIs per principal and hour.
const UNIQUE_METADATA: &str = "AnalysisType: rule
RuleID: Test.ReadBurst
LogTypes: [AWS.CloudTrail]
Severity: Medium
DedupPeriodMinutes: 60
Threshold: 5
";

const UNIQUE_NATIVE: &str = "Filter:
  readOnly: true
  userIdentity.type: {not: AWSService}
GroupBy: [recipientAccountId, userIdentity.arn]
Unique: [eventSource, eventName]
";

const UNIQUE_PYTHON: &str = r#"import json


def _text(value):
    return value if isinstance(value, str) else json.dumps(value)


def rule(event):
    return event.get("readOnly") == True and event.deep_get("userIdentity", "type") != "AWSService"


def dedup(event):
    return f"{_text(event.get('recipientAccountId'))}:{_text(event.deep_get('userIdentity', 'arn'))}"


def unique(event):
    return f"{_text(event.get('eventSource'))}:{_text(event.get('eventName'))}"
"#;

fn rule_dirs() -> (tempfile::TempDir, PathBuf, PathBuf) {
    twin_dirs(METADATA, NATIVE, PYTHON)
}

/// Directories `native` and `python` holding the rule with `metadata` written both ways.
fn twin_dirs(
    metadata: &str,
    native_keys: &str,
    python_source: &str,
) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let native = dir.path().join("native");
    write(
        &native,
        "rule.yml",
        format!("{metadata}{native_keys}").as_bytes(),
    );
    let python = dir.path().join("python");
    write(
        &python,
        "rule.yml",
        format!("{metadata}Filename: rule.py\n").as_bytes(),
    );
    write(&python, "rule.py", python_source.as_bytes());
    (dir, native, python)
}

/// Scans the corpus with the rule in `native` and with its Python twin in `python`, and checks
/// that both give the same alerts, matches and windows below the threshold.
fn scan_twins(native: &Path, python: &Path) -> (Scan, Scan) {
    let corpus = corpus();
    let corpus = corpus.to_str().unwrap();
    let by_native = scan(&["--rules", native.to_str().unwrap(), corpus], None);
    let by_python = scan(&["--rules", python.to_str().unwrap(), corpus], None);
    assert_eq!(by_native.status, 0, "{}", by_native.stderr);
    assert_eq!(by_python.status, 0, "{}", by_python.stderr);
    assert_eq!(
        comparable_alerts(&by_native.alerts),
        comparable_alerts(&by_python.alerts),
        "a native rule and its Python twin must raise the same alerts"
    );
    assert_eq!(by_native.count("matches"), by_python.count("matches"));
    assert_eq!(
        by_native.count("below_threshold"),
        by_python.count("below_threshold")
    );
    (by_native, by_python)
}

#[test]
fn a_native_rule_alerts_like_the_equivalent_python_rule() {
    let (_dir, native, python) = rule_dirs();
    let (by_native, by_python) = scan_twins(&native, &python);
    assert!(
        by_native.alerts.len() >= 5,
        "the corpus has Stratus Red Team activity: {}",
        by_native.stderr
    );
    // The native rule's matches never went to a worker.
    assert_eq!(by_native.count("events_to_rules"), 0);
    assert!(by_python.count("events_to_rules") >= by_python.count("matches"));
}

#[test]
fn a_native_threshold_over_unique_values_alerts_like_python_unique() {
    let (_dir, native, python) = twin_dirs(UNIQUE_METADATA, UNIQUE_NATIVE, UNIQUE_PYTHON);
    let (by_native, _) = scan_twins(&native, &python);
    // Both sides of the threshold occur: principals reading 5 or more distinct APIs in an
    // hour, and windows that stay below it.
    assert!(!by_native.alerts.is_empty(), "{}", by_native.stderr);
    assert!(
        by_native.count("below_threshold") > 0,
        "{}",
        by_native.stderr
    );
    // Counting matches instead of distinct values raises more alerts: Unique made a difference.
    let counting = twin_dirs(
        UNIQUE_METADATA,
        &UNIQUE_NATIVE.replace("Unique: [eventSource, eventName]\n", ""),
        UNIQUE_PYTHON,
    );
    let corpus = corpus();
    let by_count = scan(
        &[
            "--rules",
            counting.1.to_str().unwrap(),
            corpus.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        by_count.alerts.len() > by_native.alerts.len(),
        "{} alerts counting matches, {} counting distinct APIs",
        by_count.alerts.len(),
        by_native.alerts.len()
    );
}

#[test]
fn native_alerts_through_the_state_store_equal_those_kept_in_memory() {
    let (dir, native, _) = rule_dirs();
    let corpus = corpus();
    let rules = native.to_str().unwrap();
    let in_memory = scan(&["--rules", rules, corpus.to_str().unwrap()], None);
    let store = dir.path().join("state.db");
    let stored = scan(
        &[
            "--rules",
            rules,
            "--state",
            store.to_str().unwrap(),
            corpus.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(stored.status, 0, "{}", stored.stderr);
    assert!(!in_memory.alerts.is_empty());
    let ids = |alerts: &[Value]| -> Vec<(String, u64)> {
        let mut ids: Vec<(String, u64)> = alerts
            .iter()
            .map(|a| {
                (
                    a["id"].as_str().unwrap().to_string(),
                    a["event_count"].as_u64().unwrap(),
                )
            })
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&in_memory.alerts), ids(&stored.alerts));
    let titles = |alerts: &[Value]| -> Vec<String> {
        let mut t: Vec<String> = alerts.iter().map(|a| a["title"].to_string()).collect();
        t.sort();
        t
    };
    assert_eq!(titles(&in_memory.alerts), titles(&stored.alerts));
}
