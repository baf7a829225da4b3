//! `iota alerts list|show|retry|prune` end to end: the real binary reading a state store
//! filled through `iota_state` (alerts of several rules and severities, a signal, and
//! deliveries delivered, pending and failed). `list` runs on SQLite and PostgreSQL.

mod common;

use std::thread;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, TimeZone, Utc};
use iota_alerts::{alert_id, SourceRef};
use iota_rules::Severity;
use iota_state::{CommitOutcome, CommitUnit, DeliveryStatus, MatchRecord, StateStore};
use serde_json::{json, Value};

use common::state_store::{on_both_backends, StoreFixture};
use common::{alerts, alerts_ok, list_json};

const LEASE: Duration = Duration::from_secs(60);
const WEBHOOK_ERROR: &str = "HTTP 400 Bad Request: invalid payload";

fn ids(alerts: &[Value]) -> Vec<&str> {
    alerts.iter().map(|a| a["id"].as_str().unwrap()).collect()
}

/// Event time of the first match of every alert below.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 10, 0, 0).unwrap()
}

/// The `n`th matching event of `rule`, `n` seconds after [`t0`].
fn hit(rule: &str, severity: Severity, n: u32, outputs: &[&str]) -> MatchRecord {
    let event_id = format!("{rule}-event-{n}");
    MatchRecord {
        rule_id: rule.into(),
        dedup: "arn:aws:iam::123456789012:user/mallory".into(),
        dedup_period_minutes: 60,
        threshold: 1,
        create_alert: true,
        event_time: t0() + TimeDelta::seconds(i64::from(n)),
        event: json!({"eventName": "ConsoleLogin", "eventID": event_id}).to_string(),
        event_id,
        title: format!("{rule} by mallory"),
        severity,
        alert_context: Some(json!({"sourceIPAddress": "198.51.100.7"})),
        description: Some(format!("{rule} description")),
        runbook: Some("https://runbooks.example/mallory".into()),
        reference: None,
        destinations: None,
        unique: None,
        tags: vec!["Initial Access".into()],
        reports: [("MITRE ATT&CK".to_string(), vec!["TA0001".to_string()])].into(),
        log_type: "AWS.CloudTrail".into(),
        source: SourceRef {
            kind: "s3",
            bucket: Some("org-trail".into()),
            key: format!("AWSLogs/{n}.json.gz"),
            line: Some(u64::from(n) + 1),
        },
        outputs: outputs.iter().map(ToString::to_string).collect(),
    }
}

/// Commits `matches` (of one window) and returns the id of their alert or signal.
fn commit(store: &dyn StateStore, matches: Vec<MatchRecord>) -> String {
    let first = &matches[0];
    let id = alert_id(&first.rule_id, &first.dedup, t0().timestamp());
    let unit = CommitUnit {
        matches,
        ..CommitUnit::default()
    };
    assert!(matches!(
        store.commit(&unit).expect("commit"),
        CommitOutcome::Applied(_)
    ));
    // Creation times are the wall clock: keep them apart so that the order is certain.
    thread::sleep(Duration::from_millis(20));
    id
}

/// Makes the pending delivery to `output` fail for good.
fn fail_delivery(store: &dyn StateStore, output: &str) {
    let claimed = store
        .claim_deliveries(output, 10, Utc::now(), LEASE)
        .unwrap();
    assert_eq!(claimed.len(), 1, "one delivery to {output}");
    store
        .delivery_failed(claimed[0].id, WEBHOOK_ERROR, None)
        .unwrap();
}

/// What [`fill`] put in the store, oldest first.
struct History {
    /// CRITICAL, 3 events; its webhook delivery failed, its Slack one succeeded.
    root_login: String,
    /// HIGH; its PagerDuty delivery is pending.
    trail_stopped: String,
    /// Created after `trail_stopped` and before `bucket_public`.
    between: DateTime<Utc>,
    /// LOW; routed to no output.
    bucket_public: String,
    /// INFO, `CreateAlert: false`.
    recon: String,
}

fn fill(store: &dyn StateStore) -> History {
    let root = "Test.Root.Login";
    let root_login = commit(
        store,
        (0..3)
            .map(|n| hit(root, Severity::Critical, n, &["slack", "webhook"]))
            .collect(),
    );
    fail_delivery(store, "webhook");
    let slack = store
        .claim_deliveries("slack", 10, Utc::now(), LEASE)
        .unwrap();
    store.delivery_succeeded(slack[0].id).unwrap();

    let trail_stopped = commit(
        store,
        vec![hit("Test.Trail.Stopped", Severity::High, 0, &["pagerduty"])],
    );
    let between = Utc::now();
    thread::sleep(Duration::from_millis(20));
    let bucket_public = commit(
        store,
        vec![hit("Test.Bucket.Public", Severity::Low, 0, &[])],
    );
    let mut signal = hit("Test.Recon", Severity::Info, 0, &[]);
    signal.create_alert = false;
    let recon = commit(store, vec![signal]);
    History {
        root_login,
        trail_stopped,
        between,
        bucket_public,
        recon,
    }
}

fn filled_sqlite() -> (StoreFixture, History) {
    let fixture = StoreFixture::sqlite();
    let history = fill(&*fixture.open());
    (fixture, history)
}

on_both_backends!(list_shows_newest_first_and_filters);

fn list_shows_newest_first_and_filters(fx: &StoreFixture) {
    let h = fill(&*fx.open());
    let store = fx.location.as_str();

    let all = list_json(store, &[]);
    assert_eq!(
        ids(&all),
        [&h.bucket_public, &h.trail_stopped, &h.root_login]
    );
    let root = &all[2];
    assert_eq!(root["rule_id"], "Test.Root.Login");
    assert_eq!(root["severity"], "CRITICAL");
    assert_eq!(root["state"], "alert");
    assert_eq!(root["event_count"], 3);
    assert_eq!(
        root["deliveries"],
        json!({"pending": 0, "succeeded": 1, "failed": 1})
    );

    let with_signals = list_json(store, &["--signals"]);
    assert_eq!(
        ids(&with_signals),
        [&h.recon, &h.bucket_public, &h.trail_stopped, &h.root_login]
    );
    assert_eq!(with_signals[0]["state"], "signal");

    assert_eq!(
        ids(&list_json(store, &["--rule", "Test.Trail.Stopped"])),
        [&h.trail_stopped]
    );
    assert_eq!(
        ids(&list_json(store, &["--severity", "high"])),
        [&h.trail_stopped, &h.root_login]
    );
    assert_eq!(
        ids(&list_json(store, &["--severity", "CRITICAL"])),
        [&h.root_login]
    );
    assert_eq!(ids(&list_json(store, &["--failed"])), [&h.root_login]);
    let between = h.between.to_rfc3339_opts(SecondsFormat::Micros, true);
    assert_eq!(
        ids(&list_json(store, &["--since", &between])),
        [&h.bucket_public]
    );
    assert_eq!(list_json(store, &["--since", "1h"]).len(), 3);
    assert_eq!(
        ids(&list_json(store, &["--limit", "1"])),
        [&h.bucket_public]
    );

    // The table: a header, one row per alert in the same order, a count.
    let table = alerts_ok(store, &["list", "--signals"]);
    let lines: Vec<&str> = table.lines().collect();
    for (line, id) in
        lines[1..5]
            .iter()
            .zip([&h.recon, &h.bucket_public, &h.trail_stopped, &h.root_login])
    {
        assert!(line.contains(id.as_str()), "{id} in {line:?}");
    }
    // Columns are at least two spaces apart; cells hold single spaces at most.
    let cells = |line: &str| -> Vec<String> {
        line.split("  ")
            .map(str::trim)
            .filter(|cell| !cell.is_empty())
            .map(String::from)
            .collect()
    };
    assert_eq!(
        cells(lines[0]),
        [
            "CREATED (UTC)",
            "ID",
            "SEVERITY",
            "RULE",
            "EVENTS",
            "DELIVERIES",
            "TITLE"
        ]
    );
    assert_eq!(
        cells(lines[4])[1..],
        [
            h.root_login.as_str(),
            "CRITICAL",
            "Test.Root.Login",
            "3",
            "1 failed, 1 delivered",
            "Test.Root.Login by mallory"
        ]
    );
    assert_eq!(cells(lines[1])[5], "signal (never sent)");
    assert_eq!(cells(lines[2])[5], "none");
    assert_eq!(cells(lines[3])[5], "1 pending");
    assert_eq!(lines.last(), Some(&"3 alerts, 1 signal"));

    assert_eq!(
        alerts_ok(store, &["list", "--rule", "No.Such.Rule"]),
        "0 alerts\n"
    );
}

#[test]
fn show_prints_samples_and_delivery_attempts() {
    let (fx, h) = filled_sqlite();
    let text = &alerts_ok(&fx.location, &["show", &h.root_login]);
    assert!(
        text.starts_with(&format!("Alert {}\n", h.root_login)),
        "{text}"
    );
    for expected in [
        "  Rule:          Test.Root.Login\n",
        "  Severity:      CRITICAL\n",
        "  Events:        3 (threshold 1, dedup period 60 min)\n",
        "  First seen:    2024-01-01T10:00:00Z\n",
        "  Last seen:     2024-01-01T10:00:02Z\n",
        "  Runbook:       https://runbooks.example/mallory\n",
        "  Reports:       MITRE ATT&CK: TA0001\n",
        "  Source:        s3://org-trail/AWSLogs/0.json.gz, line 1\n",
        "Samples (3 kept of 3 events, earliest first):\n",
        "  2024-01-01T10:00:02Z  Test.Root.Login-event-2  s3://org-trail/AWSLogs/2.json.gz, line 3\n",
        r#""eventID":"Test.Root.Login-event-2""#,
        "  slack: delivered ",
        &format!(
            "  webhook: FAILED after 1 attempt; re-queue with `iota alerts retry {}`\n",
            h.root_login
        ),
        &format!("  failed, gave up  {WEBHOOK_ERROR}\n"),
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }

    let json = alerts_ok(&fx.location, &["show", &h.root_login, "--json"]);
    let detail: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(detail["alert"]["id"], h.root_login.as_str());
    assert_eq!(detail["samples"].as_array().unwrap().len(), 3);
    assert_eq!(
        detail["samples"][0]["event"]["eventID"],
        "Test.Root.Login-event-0"
    );
    let webhook = &detail["deliveries"][1];
    assert_eq!(webhook["output"], "webhook");
    assert_eq!(webhook["status"], "failed");
    assert_eq!(webhook["history"][0]["outcome"], "failed");
    assert_eq!(webhook["history"][0]["error"], WEBHOOK_ERROR);

    let text = alerts_ok(&fx.location, &["show", &h.recon]);
    assert!(
        text.contains("Signal (CreateAlert: false; recorded, never delivered)")
            && text.contains("  none: signals are never delivered\n"),
        "{text}"
    );
}

#[test]
fn show_of_an_unknown_id_fails_naming_it_and_the_store() {
    let (fx, _) = filled_sqlite();
    let unknown = "0123456789abcdef0123456789abcdef";
    let run = alerts(&fx.location, &["show", unknown]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.contains(&format!(
            "no alert or signal with id \"{unknown}\" in state store {}",
            fx.location
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn retry_requeues_failed_deliveries() {
    let (fx, h) = filled_sqlite();

    assert_eq!(
        alerts_ok(&fx.location, &["retry", &h.trail_stopped]),
        format!(
            "No failed deliveries of alert {}: nothing re-queued.\n",
            h.trail_stopped
        )
    );

    let text = alerts_ok(&fx.location, &["retry", "--failed"]);
    assert!(
        text.starts_with(&format!(
            "Re-queued 1 failed delivery in state store {}: a running iota daemon sends it \
             shortly, otherwise the next `iota scan --state {}`",
            fx.location, fx.location
        )),
        "{text}"
    );
    assert!(list_json(&fx.location, &["--failed"]).is_empty());
    let store = fx.open();
    let webhook = store
        .get_alert(&h.root_login)
        .unwrap()
        .unwrap()
        .deliveries
        .into_iter()
        .find(|d| d.output == "webhook")
        .unwrap();
    assert_eq!(
        (webhook.status, webhook.attempts),
        (DeliveryStatus::Pending, 0)
    );

    // One alert's failed deliveries, by id.
    fail_delivery(&*store, "webhook");
    let text = alerts_ok(&fx.location, &["retry", &h.root_login]);
    assert!(
        text.starts_with(&format!(
            "Re-queued 1 failed delivery of alert {}: ",
            h.root_login
        )),
        "{text}"
    );
    assert!(list_json(&fx.location, &["--failed"]).is_empty());

    let run = alerts(&fx.location, &["retry", "feedface"]);
    assert_eq!(run.status, 1);
    assert!(run.stderr.contains("\"feedface\""), "{}", run.stderr);

    let run = alerts(&fx.location, &["retry"]);
    assert_eq!(run.status, 2, "an id or --failed is required");
}

#[test]
fn prune_removes_old_history_but_never_an_undelivered_alert() {
    let (fx, h) = filled_sqlite();

    let prune = |older_than: &str| alerts_ok(&fx.location, &["prune", "--older-than", older_than]);
    let removed = |count: usize| {
        format!("  {count} alerts and signals (with their samples and deliveries)\n")
    };

    let text = prune("90d");
    assert!(text.contains(&removed(0)), "{text}");
    assert_eq!(list_json(&fx.location, &["--signals"]).len(), 4);

    // Everything is older than now; the alert still waiting for PagerDuty stays.
    let text = prune("0s");
    assert!(text.contains(&removed(3)), "{text}");
    assert_eq!(
        ids(&list_json(&fx.location, &["--signals"])),
        [&h.trail_stopped]
    );
    assert!(fx.open().get_alert(&h.root_login).unwrap().is_none());
}

#[test]
fn a_store_that_cannot_be_opened_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-state.db");
    let missing = missing.to_str().unwrap();
    let run = alerts(missing, &["list"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr.contains(&format!(
            "state store {missing} does not exist: give --state"
        )),
        "{}",
        run.stderr
    );
    assert!(
        !dir.path().join("no-such-state.db").exists(),
        "listing must not create a store"
    );

    // Nothing listens on port 1; the password must not be shown.
    let run = alerts("postgres://iota:hunter2@127.0.0.1:1/iota", &["list"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr
            .contains("cannot open the PostgreSQL state store given by --state (IOTA_STATE)")
            && run.stderr.contains("postgres://iota@127.0.0.1:1/iota"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
}

#[test]
fn bad_filters_are_usage_errors() {
    let (fx, _) = filled_sqlite();
    let run = alerts(&fx.location, &["list", "--since", "yesterday"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr.contains(
            "expected an RFC 3339 time (2024-05-01T00:00:00Z) or a duration back from now"
        ),
        "{}",
        run.stderr
    );
    let run = alerts(&fx.location, &["list", "--severity", "urgent"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr.contains("unknown severity \"urgent\""),
        "{}",
        run.stderr
    );
}
