//! One test suite, run against both backends (the fixture of `common`): SQLite (a temporary
//! file) and PostgreSQL (a database created for each test on 127.0.0.1:5432 and dropped
//! afterwards). Without a reachable PostgreSQL the PostgreSQL half is skipped with a notice,
//! or fails when CI=true.

mod common;

use std::collections::BTreeSet;
use std::thread;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use iota_alerts::{alert_id, RuleErrorRecord, SourceRef};
use iota_rules::Severity;
use iota_state::{
    AlertQuery, AlertState, AttemptOutcome, CommitOutcome, CommitSummary, CommitUnit,
    DeliveryStatus, KvValue, LakeCommit, LakeFlush, MatchRecord, ObjectOutcome, ObjectProgress,
    PollReport, RetryTarget, RuleErrorQuery, SourceConfig, SourceHealth, StateStore, StoreError,
};

use common::{on_both_backends, StoreFixture};

/// Versions recorded in schema_migrations, read with the database's own client.
fn schema_versions(fx: &StoreFixture) -> Vec<i64> {
    let sql = "SELECT version FROM schema_migrations ORDER BY version";
    if fx.is_postgres() {
        let mut client = ::postgres::Client::connect(&fx.location, ::postgres::NoTls).unwrap();
        client
            .query(sql, &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    } else {
        let conn = rusqlite::Connection::open(&fx.location).unwrap();
        let mut stmt = conn.prepare(sql).unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    }
}

/// Table and column names of the schema, sorted.
fn columns(fx: &StoreFixture) -> Vec<(String, String)> {
    let mut columns: Vec<(String, String)> = if fx.is_postgres() {
        let mut client = ::postgres::Client::connect(&fx.location, ::postgres::NoTls).unwrap();
        client
            .query(
                "SELECT table_name::text, column_name::text FROM information_schema.columns
                 WHERE table_schema = 'public'",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    } else {
        let conn = rusqlite::Connection::open(&fx.location).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
            )
            .unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.map(Result::unwrap).collect()
    };
    columns.sort();
    columns
}

on_both_backends!(
    migrations_are_applied_once,
    one_window_gives_one_alert,
    windows_are_aligned_on_event_time,
    threshold_creates_the_alert_at_the_nth_match,
    threshold_counts_distinct_unique_values,
    signals_are_recorded_not_delivered,
    samples_are_the_earliest_events,
    committed_objects_are_never_applied_twice,
    failed_objects_can_be_committed_again,
    delivery_lifecycle,
    deliveries_carry_the_current_alert,
    concurrent_commits_of_one_window_agree,
    concurrent_claims_never_share_a_delivery,
    concurrent_increments_add_up,
    rule_state_semantics,
    prune_keeps_undelivered_alerts,
    list_and_show_filters,
    rule_errors_are_recorded_and_counted,
    sources_round_trip,
    source_names_are_unique_unless_replaced,
    removing_a_source_keeps_its_processed_objects,
    polls_update_the_health,
    a_version_1_store_is_migrated,
    a_lease_has_one_holder_until_it_expires_or_is_released,
    concurrent_takers_of_a_free_lease_get_it_once,
    a_lake_flush_commits_its_inputs_once,
    flushes_left_by_a_crash_are_doomed_when_their_inputs_commit,
    concurrent_lake_flushes_of_one_input_commit_it_once,
);

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 10, 0, 0).unwrap()
}

fn hit(rule: &str, dedup: &str, at: DateTime<Utc>, n: u32) -> MatchRecord {
    MatchRecord {
        rule_id: rule.into(),
        dedup: dedup.into(),
        dedup_period_minutes: 60,
        threshold: 1,
        create_alert: true,
        event_time: at,
        event_id: format!("event-{n:06}"),
        event: format!(r#"{{"n":{n},"eventName":"StopLogging"}}"#),
        title: format!("title {n}"),
        severity: Severity::High,
        alert_context: Some(serde_json::json!({"n": n})),
        description: Some("description".into()),
        runbook: None,
        reference: None,
        destinations: None,
        unique: None,
        tags: vec!["tag".into()],
        reports: [("MITRE ATT&CK".to_string(), vec!["TA0005".to_string()])].into(),
        log_type: "AWS.CloudTrail".into(),
        source: SourceRef {
            kind: "s3",
            bucket: Some("trail".into()),
            key: format!("key-{n}"),
            line: Some(u64::from(n)),
        },
        outputs: vec!["pagerduty".into(), "slack".into()],
    }
}

fn matches(rule: &str, dedup: &str, count: u32) -> Vec<MatchRecord> {
    (0..count)
        .map(|n| hit(rule, dedup, t0() + TimeDelta::seconds(i64::from(n)), n))
        .collect()
}

fn commit(store: &dyn StateStore, matches: Vec<MatchRecord>) -> CommitSummary {
    let unit = CommitUnit {
        matches,
        ..CommitUnit::default()
    };
    match store.commit(&unit).expect("commit") {
        CommitOutcome::Applied(summary) => summary,
        CommitOutcome::Duplicate => panic!("unexpected duplicate"),
    }
}

fn progress(key: &str, outcome: ObjectOutcome) -> ObjectProgress {
    ObjectProgress {
        source: "trail".into(),
        key: key.into(),
        etag: "etag-1".into(),
        size: 1234,
        events: 10,
        outcome,
    }
}

fn window_id(rule: &str, dedup: &str, at: DateTime<Utc>) -> String {
    alert_id(rule, dedup, at.timestamp().div_euclid(3600) * 3600)
}

fn event_count(store: &dyn StateStore, id: &str) -> u64 {
    store
        .get_alert(id)
        .unwrap()
        .expect("alert exists")
        .alert
        .event_count
}

const LEASE: Duration = Duration::from_secs(60);

fn migrations_are_applied_once(fx: &StoreFixture) {
    // Two processes opening a new store at once: both succeed, each migration runs once.
    thread::scope(|s| {
        let a = s.spawn(|| fx.open());
        let b = s.spawn(|| fx.open());
        a.join().unwrap();
        b.join().unwrap();
    });
    assert_eq!(schema_versions(fx), vec![1, 2, 3, 4]);
    let store = fx.open();
    commit(&*store, matches("R", "d", 1));
    drop(store);
    let store = fx.open();
    assert_eq!(schema_versions(fx), vec![1, 2, 3, 4]);
    assert_eq!(store.list_alerts(&AlertQuery::default()).unwrap().len(), 1);
    store.ping().unwrap();
}

fn one_window_gives_one_alert(fx: &StoreFixture) {
    let store = fx.open();
    let summary = commit(&*store, matches("R", "d", 100));
    let id = window_id("R", "d", t0());
    assert_eq!(summary.created, vec![id.clone()]);
    assert_eq!(summary.deliveries, 2);
    assert_eq!(event_count(&*store, &id), 100);

    let detail = store.get_alert(&id).unwrap().unwrap();
    assert_eq!(detail.alert.first_seen, t0());
    assert_eq!(detail.alert.last_seen, t0() + TimeDelta::seconds(99));
    assert_eq!(detail.alert.title, "title 0");
    assert_eq!(detail.alert.reports["MITRE ATT&CK"], vec!["TA0005"]);
    let outputs: Vec<&str> = detail
        .deliveries
        .iter()
        .map(|d| d.output.as_str())
        .collect();
    assert_eq!(outputs, vec!["pagerduty", "slack"]);

    // More matches of the window update the alert and queue nothing.
    let more: Vec<MatchRecord> = (100..110)
        .map(|n| hit("R", "d", t0() + TimeDelta::seconds(i64::from(n)), n))
        .collect();
    let summary = commit(&*store, more);
    assert_eq!(summary.updated, vec![id.clone()]);
    assert_eq!(summary.deliveries, 0);
    assert_eq!(event_count(&*store, &id), 110);
    let claimed = store
        .claim_deliveries("slack", 10, Utc::now(), LEASE)
        .unwrap();
    assert_eq!(claimed.len(), 1);
}

fn windows_are_aligned_on_event_time(fx: &StoreFixture) {
    let store = fx.open();
    // 10:59:59 and 11:00:00 are one second apart but in two 60-minute windows.
    let a = t0() + TimeDelta::seconds(3599);
    let b = t0() + TimeDelta::seconds(3600);
    let summary = commit(&*store, vec![hit("R", "d", a, 1), hit("R", "d", b, 2)]);
    let mut expected = vec![window_id("R", "d", a), window_id("R", "d", b)];
    expected.sort();
    assert_eq!(summary.created, expected);
    // Another dedup string is another alert.
    let summary = commit(&*store, vec![hit("R", "other", a, 3)]);
    assert_eq!(summary.created, vec![window_id("R", "other", a)]);
    assert_eq!(store.list_alerts(&AlertQuery::default()).unwrap().len(), 3);
}

fn threshold_creates_the_alert_at_the_nth_match(fx: &StoreFixture) {
    let store = fx.open();
    let id = window_id("R", "d", t0());
    let with_threshold = |n: u32| {
        let mut m = hit("R", "d", t0() + TimeDelta::seconds(i64::from(n)), n);
        m.threshold = 5;
        m
    };
    for n in 0..4 {
        let summary = commit(&*store, vec![with_threshold(n)]);
        assert_eq!(summary.below_threshold, 1);
        assert!(summary.created.is_empty());
    }
    assert!(store.get_alert(&id).unwrap().is_none());
    assert!(store
        .list_alerts(&AlertQuery::default())
        .unwrap()
        .is_empty());
    assert!(store
        .claim_deliveries("slack", 10, Utc::now(), LEASE)
        .unwrap()
        .is_empty());

    let summary = commit(&*store, vec![with_threshold(4)]);
    assert_eq!(summary.created, vec![id.clone()]);
    assert_eq!(summary.deliveries, 2);
    let detail = store.get_alert(&id).unwrap().unwrap();
    assert_eq!(detail.alert.event_count, 5);
    assert_eq!(detail.threshold, 5);
    assert_eq!(detail.alert.title, "title 0");
}

fn threshold_counts_distinct_unique_values(fx: &StoreFixture) {
    let store = fx.open();
    let id = window_id("R", "d", t0());
    let with_unique = |n: u32, value: &str| {
        let mut m = hit("R", "d", t0() + TimeDelta::seconds(i64::from(n)), n);
        m.threshold = 3;
        m.unique = Some(value.into());
        m
    };
    // Five matches, two distinct values: no alert.
    let summary = commit(
        &*store,
        vec![
            with_unique(0, "alice"),
            with_unique(1, "bob"),
            with_unique(2, "alice"),
        ],
    );
    assert_eq!(summary.below_threshold, 3);
    let summary = commit(
        &*store,
        vec![with_unique(3, "bob"), with_unique(4, "alice")],
    );
    assert_eq!(summary.below_threshold, 2);
    assert!(store.get_alert(&id).unwrap().is_none());
    // The third distinct value creates it.
    let summary = commit(&*store, vec![with_unique(5, "carol")]);
    assert_eq!(summary.created, vec![id.clone()]);
    assert_eq!(event_count(&*store, &id), 6);
}

fn signals_are_recorded_not_delivered(fx: &StoreFixture) {
    let store = fx.open();
    let signal = |n: u32| {
        let mut m = hit("S", "d", t0() + TimeDelta::seconds(i64::from(n)), n);
        m.create_alert = false;
        m
    };
    let summary = commit(&*store, vec![signal(0), signal(1)]);
    assert_eq!(summary.signals, 2);
    assert!(summary.created.is_empty());
    assert_eq!(summary.deliveries, 0);
    commit(&*store, vec![signal(2)]);

    let id = window_id("S", "d", t0());
    let detail = store.get_alert(&id).unwrap().unwrap();
    assert_eq!(detail.state, AlertState::Signal);
    assert_eq!(detail.alert.event_count, 3);
    assert!(detail.deliveries.is_empty());
    assert!(store
        .claim_deliveries("slack", 10, Utc::now(), LEASE)
        .unwrap()
        .is_empty());
    assert!(store
        .list_alerts(&AlertQuery::default())
        .unwrap()
        .is_empty());
    let with_signals = AlertQuery {
        signals: true,
        ..AlertQuery::default()
    };
    let listed = store.list_alerts(&with_signals).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, AlertState::Signal);
}

fn samples_are_the_earliest_events(fx: &StoreFixture) {
    let store = fx.open();
    let at = |n: u32| hit("R", "d", t0() + TimeDelta::seconds(i64::from(n)), n);
    // Out of order, across batches: the earliest five are kept, the earliest represents.
    commit(&*store, vec![at(50), at(40), at(30)]);
    commit(&*store, vec![at(45), at(35), at(25), at(60)]);
    commit(&*store, vec![at(10), at(55)]);
    commit(&*store, vec![at(20)]);
    let detail = store
        .get_alert(&window_id("R", "d", t0()))
        .unwrap()
        .unwrap();
    let kept: Vec<&str> = detail.samples.iter().map(|s| s.event_id.as_str()).collect();
    assert_eq!(
        kept,
        vec![
            "event-000010",
            "event-000020",
            "event-000025",
            "event-000030",
            "event-000035"
        ]
    );
    assert_eq!(
        detail.samples[0].event.get(),
        r#"{"n":10,"eventName":"StopLogging"}"#
    );
    assert_eq!(detail.samples[0].source.key, "key-10");
    assert_eq!(detail.alert.event_count, 10);
    assert_eq!(detail.alert.title, "title 10");
    assert_eq!(detail.alert.first_seen, t0() + TimeDelta::seconds(10));
    assert_eq!(detail.alert.last_seen, t0() + TimeDelta::seconds(60));
    assert_eq!(detail.alert.source.key, "key-10");
    assert_eq!(
        detail.alert.event.get(),
        r#"{"n":10,"eventName":"StopLogging"}"#
    );
}

fn committed_objects_are_never_applied_twice(fx: &StoreFixture) {
    let store = fx.open();
    let unit = CommitUnit {
        matches: matches("R", "d", 3),
        rule_errors: vec![RuleErrorRecord::new(Some("R".into()), "title", "KeyError")],
        progress: Some(progress("k1", ObjectOutcome::Ok)),
    };
    let CommitOutcome::Applied(summary) = store.commit(&unit).unwrap() else {
        panic!("first commit must apply");
    };
    assert_eq!(summary.created.len(), 1);
    assert_eq!(store.commit(&unit).unwrap(), CommitOutcome::Duplicate);
    let id = window_id("R", "d", t0());
    assert_eq!(event_count(&*store, &id), 3);
    assert_eq!(
        store.rule_error_counts(None).unwrap(),
        vec![(Some("R".into()), 1)]
    );

    let record = store
        .object_state("trail", "k1", "etag-1")
        .unwrap()
        .unwrap();
    assert_eq!(record.outcome, ObjectOutcome::Ok);
    assert_eq!((record.size, record.events, record.alerts), (1234, 10, 1));
    assert_eq!(record.attempts, 1);
    assert!(store
        .object_state("trail", "k1", "etag-2")
        .unwrap()
        .is_none());

    // A failure recorded later does not undo the success.
    let failed = CommitUnit {
        progress: Some(progress("k1", ObjectOutcome::Failed("late".into()))),
        ..CommitUnit::default()
    };
    assert_eq!(store.commit(&failed).unwrap(), CommitOutcome::Duplicate);

    // Two handles committing the same object at once: one applies, one is a duplicate.
    let unit = CommitUnit {
        matches: matches("R2", "d", 4),
        progress: Some(progress("k2", ObjectOutcome::Ok)),
        ..CommitUnit::default()
    };
    let outcomes: Vec<CommitOutcome> = thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let unit = &unit;
                s.spawn(move || fx.open().commit(unit).unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == CommitOutcome::Duplicate)
            .count(),
        1
    );
    assert_eq!(event_count(&*store, &window_id("R2", "d", t0())), 4);
}

fn failed_objects_can_be_committed_again(fx: &StoreFixture) {
    let store = fx.open();
    let failed = CommitUnit {
        progress: Some(progress("k", ObjectOutcome::Failed("AccessDenied".into()))),
        ..CommitUnit::default()
    };
    assert!(matches!(
        store.commit(&failed).unwrap(),
        CommitOutcome::Applied(_)
    ));
    assert!(matches!(
        store.commit(&failed).unwrap(),
        CommitOutcome::Applied(_)
    ));
    let failed_list = store.list_objects("trail", true).unwrap();
    assert_eq!(failed_list.len(), 1);
    assert_eq!(failed_list[0].attempts, 2);
    assert_eq!(
        failed_list[0].outcome,
        ObjectOutcome::Failed("AccessDenied".into())
    );

    // A failure that carries results would count them twice on the retry: refused.
    let bad = CommitUnit {
        matches: matches("R", "d", 1),
        progress: Some(progress("k", ObjectOutcome::Failed("half read".into()))),
        ..CommitUnit::default()
    };
    let err = store.commit(&bad).unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains(&store.name().to_string()), "{err}");

    let ok = CommitUnit {
        matches: matches("R", "d", 2),
        progress: Some(progress("k", ObjectOutcome::Ok)),
        ..CommitUnit::default()
    };
    assert!(matches!(
        store.commit(&ok).unwrap(),
        CommitOutcome::Applied(_)
    ));
    assert_eq!(store.commit(&ok).unwrap(), CommitOutcome::Duplicate);
    assert!(store.list_objects("trail", true).unwrap().is_empty());
    let all = store.list_objects("trail", false).unwrap();
    assert_eq!((all[0].attempts, all[0].alerts), (3, 1));
    assert_eq!(event_count(&*store, &window_id("R", "d", t0())), 2);
}

fn delivery_lifecycle(fx: &StoreFixture) {
    let store = fx.open();
    commit(&*store, matches("R", "d", 1));
    let id = window_id("R", "d", t0());
    let now = Utc::now();

    let claimed = store.claim_deliveries("slack", 10, now, LEASE).unwrap();
    assert_eq!(claimed.len(), 1);
    let slack = claimed[0].id;
    assert_eq!(claimed[0].attempts, 0);
    assert_eq!(claimed[0].alert.id, id);
    // Leased: not handed out again until the lease expires.
    assert!(store
        .claim_deliveries("slack", 10, now, LEASE)
        .unwrap()
        .is_empty());
    let again = store
        .claim_deliveries("slack", 10, now + TimeDelta::seconds(61), LEASE)
        .unwrap();
    assert_eq!(again.len(), 1);

    // A failure with a retry time: due again then, not before.
    let retry_at = now + TimeDelta::seconds(120);
    store
        .delivery_failed(slack, "HTTP 500", Some(retry_at))
        .unwrap();
    assert!(store
        .claim_deliveries("slack", 10, retry_at - TimeDelta::seconds(1), LEASE)
        .unwrap()
        .is_empty());
    let retried = store
        .claim_deliveries("slack", 10, retry_at, LEASE)
        .unwrap();
    assert_eq!(retried[0].attempts, 1);
    store.delivery_succeeded(slack).unwrap();
    // Recording it twice changes nothing; it is never handed out again.
    store.delivery_succeeded(slack).unwrap();
    store.delivery_failed(slack, "late failure", None).unwrap();
    let later = now + TimeDelta::days(1);
    assert!(store
        .claim_deliveries("slack", 10, later, LEASE)
        .unwrap()
        .is_empty());

    // PagerDuty fails for good.
    let pd = store.claim_deliveries("pagerduty", 10, now, LEASE).unwrap()[0].id;
    store.delivery_failed(pd, "HTTP 400", None).unwrap();
    assert!(store
        .claim_deliveries("pagerduty", 10, later, LEASE)
        .unwrap()
        .is_empty());
    let failed = AlertQuery {
        failed_only: true,
        ..AlertQuery::default()
    };
    let listed = store.list_alerts(&failed).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].deliveries.succeeded, listed[0].deliveries.failed),
        (1, 1)
    );

    let detail = store.get_alert(&id).unwrap().unwrap();
    let by_output = |o: &str| detail.deliveries.iter().find(|d| d.output == o).unwrap();
    let slack_record = by_output("slack");
    assert_eq!(slack_record.status, DeliveryStatus::Succeeded);
    assert_eq!(slack_record.attempts, 2);
    assert!(slack_record.delivered_at.is_some());
    let outcomes: Vec<AttemptOutcome> = slack_record.history.iter().map(|a| a.outcome).collect();
    assert_eq!(
        outcomes,
        vec![AttemptOutcome::Retry, AttemptOutcome::Succeeded]
    );
    assert_eq!(slack_record.history[0].error.as_deref(), Some("HTTP 500"));
    let pd_record = by_output("pagerduty");
    assert_eq!(pd_record.status, DeliveryStatus::Failed);
    assert_eq!(pd_record.last_error.as_deref(), Some("HTTP 400"));
    assert_eq!(pd_record.history[0].outcome, AttemptOutcome::Failed);

    // Retry: failed → pending with a fresh attempt count; succeeded ones stay delivered.
    assert_eq!(store.retry(RetryTarget::Alert("no-such-alert")).unwrap(), 0);
    assert_eq!(store.retry(RetryTarget::Alert(&id)).unwrap(), 1);
    assert_eq!(store.retry(RetryTarget::AllFailed).unwrap(), 0);
    assert!(store.list_alerts(&failed).unwrap().is_empty());
    let again = store
        .claim_deliveries("pagerduty", 10, Utc::now(), LEASE)
        .unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 0));
    store.delivery_failed(pd, "HTTP 400", None).unwrap();
    assert_eq!(store.retry(RetryTarget::AllFailed).unwrap(), 1);
    assert!(store
        .claim_deliveries("slack", 10, later, LEASE)
        .unwrap()
        .is_empty());
}

fn deliveries_carry_the_current_alert(fx: &StoreFixture) {
    let store = fx.open();
    commit(&*store, matches("R", "d", 2));
    let more: Vec<MatchRecord> = (2..7)
        .map(|n| hit("R", "d", t0() + TimeDelta::seconds(i64::from(n) * 10), n))
        .collect();
    commit(&*store, more);
    let delivery = store
        .claim_deliveries("slack", 1, Utc::now(), LEASE)
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(delivery.alert.event_count, 7);
    assert_eq!(delivery.alert.last_seen, t0() + TimeDelta::seconds(60));
    // The alert JSON of SPEC 4, as the outputs send it.
    let json: serde_json::Value = serde_json::to_value(&delivery.alert).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["event_count"], 7);
    assert_eq!(json["severity"], "HIGH");
    assert_eq!(json["first_seen"], "2024-01-01T10:00:00.000000Z");
    assert_eq!(json["alert_context"], serde_json::json!({"n": 0}));
    assert_eq!(json["destinations"], serde_json::Value::Null);
    assert_eq!(json["source"]["bucket"], "trail");
    assert_eq!(json["event"]["n"], 0);
}

fn concurrent_commits_of_one_window_agree(fx: &StoreFixture) {
    const THREADS: u32 = 4;
    const UNITS: u32 = 15;
    let summaries: Vec<CommitSummary> = thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                s.spawn(move || {
                    // A handle per thread: separate connections, as separate processes have.
                    let store = fx.open();
                    (0..UNITS)
                        .map(|u| {
                            let n = t * 1000 + u;
                            let at = t0() + TimeDelta::seconds(i64::from(n % 3000));
                            let mut batch = vec![hit("R", "d", at, n), hit("Other", "d", at, n)];
                            for m in &mut batch {
                                m.threshold = 7;
                            }
                            commit(&*store, batch)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let created: Vec<&String> = summaries.iter().flat_map(|s| &s.created).collect();
    assert_eq!(created.len(), 2, "each window is created exactly once");
    let deliveries: u64 = summaries.iter().map(|s| s.deliveries).sum();
    assert_eq!(deliveries, 4);
    let below: u64 = summaries.iter().map(|s| s.below_threshold).sum();
    assert_eq!(
        below,
        2 * 6,
        "six matches of each window come before its threshold"
    );
    let store = fx.open();
    for rule in ["R", "Other"] {
        assert_eq!(
            event_count(&*store, &window_id(rule, "d", t0())),
            u64::from(THREADS * UNITS)
        );
    }
    let detail = store
        .get_alert(&window_id("R", "d", t0()))
        .unwrap()
        .unwrap();
    assert_eq!(detail.samples.len(), 5);
    assert_eq!(detail.alert.title, "title 0");
}

fn concurrent_claims_never_share_a_delivery(fx: &StoreFixture) {
    let store = fx.open();
    let batch: Vec<MatchRecord> = (0..60)
        .map(|n| hit("R", &format!("d{n}"), t0(), n))
        .collect();
    assert_eq!(commit(&*store, batch).deliveries, 120);
    let now = Utc::now();
    let claimed: Vec<i64> = thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(move || {
                    let store = fx.open();
                    let mut mine = Vec::new();
                    loop {
                        let got = store.claim_deliveries("slack", 4, now, LEASE).unwrap();
                        if got.is_empty() {
                            break mine;
                        }
                        mine.extend(got.iter().map(|d| d.id));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let unique: BTreeSet<i64> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), 60);
    assert_eq!(unique.len(), 60);
}

fn concurrent_increments_add_up(fx: &StoreFixture) {
    let now = Utc::now();
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(move || {
                let store = fx.open();
                for _ in 0..25 {
                    store.kv_increment("counter", 1, None, now).unwrap();
                    let member = BTreeSet::from([format!("{:?}", thread::current().id())]);
                    store.kv_add_to_set("set", &member, None, now).unwrap();
                }
            });
        }
    });
    let store = fx.open();
    assert_eq!(
        store.kv_get("counter", now).unwrap(),
        Some(KvValue::Counter(100))
    );
    let Some(KvValue::StringSet(set)) = store.kv_get("set", now).unwrap() else {
        panic!("a string set");
    };
    assert_eq!(set.len(), 4);
}

fn rule_state_semantics(fx: &StoreFixture) {
    let store = fx.open();
    let now = Utc::now();
    let later = now + TimeDelta::seconds(3600);
    let set = |members: &[&str]| {
        members
            .iter()
            .map(|m| m.to_string())
            .collect::<BTreeSet<_>>()
    };

    // Counters: expiry kept unless given, honoured on read, restart from 0 once expired.
    assert_eq!(store.kv_increment("c", 2, Some(later), now).unwrap(), 2);
    assert_eq!(store.kv_increment("c", 3, None, now).unwrap(), 5);
    assert_eq!(
        store.kv_get("c", later - TimeDelta::seconds(1)).unwrap(),
        Some(KvValue::Counter(5))
    );
    assert_eq!(store.kv_get("c", later).unwrap(), None);
    assert_eq!(store.kv_increment("c", 1, None, later).unwrap(), 1);
    // Back at zero: deleted.
    assert_eq!(store.kv_increment("c", -1, None, later).unwrap(), 0);
    assert_eq!(store.kv_get("c", later).unwrap(), None);

    // String sets.
    store
        .kv_put("s", &KvValue::StringSet(set(&["a", "b"])), None)
        .unwrap();
    assert_eq!(
        store.kv_add_to_set("s", &set(&["c"]), None, now).unwrap(),
        set(&["a", "b", "c"])
    );
    assert_eq!(
        store
            .kv_remove_from_set("s", &set(&["a", "x"]), now)
            .unwrap(),
        set(&["b", "c"])
    );
    assert_eq!(
        store
            .kv_remove_from_set("s", &set(&["b", "c"]), now)
            .unwrap(),
        set(&[])
    );
    assert_eq!(store.kv_get("s", now).unwrap(), None);
    assert_eq!(
        store
            .kv_remove_from_set("missing", &set(&["a"]), now)
            .unwrap(),
        set(&[])
    );

    // Put stores the value as given (the protocol's `put`, as in MemoryRuleState): an empty
    // set and a counter at 0 are kept; only the updates delete a key they leave empty.
    store
        .kv_put("s", &KvValue::StringSet(set(&["a"])), None)
        .unwrap();
    store
        .kv_put("s", &KvValue::StringSet(set(&[])), None)
        .unwrap();
    assert_eq!(
        store.kv_get("s", now).unwrap(),
        Some(KvValue::StringSet(set(&[])))
    );
    assert_eq!(
        store.kv_add_to_set("s", &set(&[]), None, now).unwrap(),
        set(&[])
    );
    assert_eq!(store.kv_get("s", now).unwrap(), None);
    store.kv_put("zero", &KvValue::Counter(0), None).unwrap();
    assert_eq!(
        store.kv_get("zero", now).unwrap(),
        Some(KvValue::Counter(0))
    );

    // Dictionaries: the text comes back as it was put, unchecked (the rule's business), and
    // a put replaces the expiry too, with none when it gives none.
    let dict = KvValue::Dict(r#"{"user": "alice", "n": 1}"#.into());
    store.kv_put("d", &dict, Some(later)).unwrap();
    assert_eq!(store.kv_get("d", now).unwrap(), Some(dict));
    assert_eq!(store.kv_get("d", later).unwrap(), None);
    let list = KvValue::Dict("[1, 2]".into());
    store.kv_put("d", &list, None).unwrap();
    assert_eq!(store.kv_get("d", later).unwrap(), Some(list));

    // Expiration of an existing key; none for a missing one.
    store.kv_set_expiration("d", later, now).unwrap();
    assert_eq!(store.kv_get("d", later).unwrap(), None);
    store.kv_set_expiration("nothing", later, now).unwrap();
    assert_eq!(store.kv_get("nothing", now).unwrap(), None);

    // Kinds do not mix.
    let err = store.kv_increment("d", 1, None, now).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::KvType {
                holds: "dictionary",
                wanted: "counter",
                ..
            }
        ),
        "{err}"
    );
    // An expired key of another kind is gone, not in the way.
    assert_eq!(store.kv_increment("d", 1, None, later).unwrap(), 1);

    store.kv_reset("d").unwrap();
    assert_eq!(store.kv_get("d", later).unwrap(), None);
}

fn prune_keeps_undelivered_alerts(fx: &StoreFixture) {
    let store = fx.open();
    commit(&*store, matches("Delivered", "d", 1));
    commit(&*store, matches("Pending", "d", 1));
    let mut below = hit("Below", "d", t0(), 1);
    below.threshold = 10;
    let unit = CommitUnit {
        matches: vec![below],
        rule_errors: vec![RuleErrorRecord::new(None, "event", "bad event")],
        progress: Some(progress("k", ObjectOutcome::Ok)),
    };
    store.commit(&unit).unwrap();
    let now = Utc::now();
    for output in ["slack", "pagerduty"] {
        for d in store.claim_deliveries(output, 10, now, LEASE).unwrap() {
            if d.alert.rule_id == "Delivered" {
                store.delivery_succeeded(d.id).unwrap();
            }
        }
    }
    store
        .kv_increment("expired", 1, Some(now + TimeDelta::seconds(10)), now)
        .unwrap();
    store
        .kv_increment("live", 1, Some(now + TimeDelta::days(1)), now)
        .unwrap();

    // Nothing is older than an hour ago.
    let report = store.prune(now - TimeDelta::hours(1), now).unwrap();
    assert_eq!(
        (
            report.alerts,
            report.rule_errors,
            report.objects,
            report.rule_state
        ),
        (0, 0, 0, 0)
    );

    let future = now + TimeDelta::minutes(1);
    let report = store.prune(future, future).unwrap();
    assert_eq!(
        report.alerts, 2,
        "the delivered alert and the window below threshold"
    );
    assert_eq!(
        (report.rule_errors, report.objects, report.rule_state),
        (1, 1, 1)
    );
    assert!(store
        .get_alert(&window_id("Delivered", "d", t0()))
        .unwrap()
        .is_none());
    let pending = store
        .get_alert(&window_id("Pending", "d", t0()))
        .unwrap()
        .unwrap();
    assert_eq!(pending.deliveries.len(), 2);
    assert_eq!(
        store.kv_get("live", future).unwrap(),
        Some(KvValue::Counter(1))
    );
    assert!(store
        .object_state("trail", "k", "etag-1")
        .unwrap()
        .is_none());
    // The pruned window starts over.
    let again = commit(&*store, matches("Delivered", "d", 1));
    assert_eq!(again.created, vec![window_id("Delivered", "d", t0())]);
}

fn list_and_show_filters(fx: &StoreFixture) {
    let store = fx.open();
    let before = Utc::now() - TimeDelta::seconds(1);
    let mut low = hit("Low", "d", t0(), 1);
    low.severity = Severity::Low;
    let mut critical = hit("Crit", "d", t0(), 2);
    critical.severity = Severity::Critical;
    commit(&*store, vec![low, critical, hit("High", "d", t0(), 3)]);

    let list = |q: AlertQuery| -> Vec<String> {
        let mut ids: Vec<String> = store
            .list_alerts(&q)
            .unwrap()
            .into_iter()
            .map(|a| a.rule_id)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(list(AlertQuery::default()), vec!["Crit", "High", "Low"]);
    let high_and_up = AlertQuery {
        min_severity: Some(Severity::High),
        ..AlertQuery::default()
    };
    assert_eq!(list(high_and_up), vec!["Crit", "High"]);
    let by_rule = AlertQuery {
        rule: Some("Low".into()),
        ..AlertQuery::default()
    };
    assert_eq!(list(by_rule), vec!["Low"]);
    let since_now = AlertQuery {
        since: Some(Utc::now() + TimeDelta::seconds(1)),
        ..AlertQuery::default()
    };
    assert!(list(since_now).is_empty());
    let since_before = AlertQuery {
        since: Some(before),
        limit: Some(2),
        ..AlertQuery::default()
    };
    assert_eq!(list(since_before).len(), 2);

    let summary = &store
        .list_alerts(&AlertQuery {
            rule: Some("Crit".into()),
            ..AlertQuery::default()
        })
        .unwrap()[0];
    assert_eq!(summary.severity, Severity::Critical);
    assert_eq!(summary.event_count, 1);
    assert_eq!(summary.deliveries.pending, 2);
    assert_eq!(summary.state, AlertState::Alert);
    assert!(summary.created_at >= before);

    let detail = store.get_alert(&summary.id).unwrap().unwrap();
    assert_eq!(detail.alert.severity, Severity::Critical);
    assert_eq!(detail.samples.len(), 1);
    assert_eq!(detail.deliveries.len(), 2);
    assert!(store.get_alert("0000").unwrap().is_none());
}

fn rule_errors_are_recorded_and_counted(fx: &StoreFixture) {
    let store = fx.open();
    let mut with_source = RuleErrorRecord::new(Some("A".into()), "title", "KeyError: 'x'");
    with_source.traceback = Some("Traceback ...".into());
    with_source.event_id = Some("event-1".into());
    with_source.source = Some(SourceRef {
        kind: "file",
        bucket: None,
        key: "logs/x.json".into(),
        line: Some(3),
    });
    let unit = CommitUnit {
        rule_errors: vec![
            with_source,
            RuleErrorRecord::new(Some("A".into()), "rule", "boom"),
            RuleErrorRecord::new(Some("B".into()), "rule", "boom"),
            RuleErrorRecord::new(None, "event", "not an object"),
        ],
        ..CommitUnit::default()
    };
    let CommitOutcome::Applied(summary) = store.commit(&unit).unwrap() else {
        panic!("applied");
    };
    assert_eq!(summary.rule_errors, 4);
    assert_eq!(
        store.rule_error_counts(None).unwrap(),
        vec![(Some("A".into()), 2), (Some("B".into()), 1), (None, 1)]
    );
    let a_errors = store
        .list_rule_errors(&RuleErrorQuery {
            rule: Some("A".into()),
            ..RuleErrorQuery::default()
        })
        .unwrap();
    assert_eq!(a_errors.len(), 2);
    let titled = a_errors.iter().find(|e| e.function == "title").unwrap();
    assert_eq!(titled.traceback.as_deref(), Some("Traceback ..."));
    let source = titled.source.as_ref().unwrap();
    assert_eq!(
        (source.kind, source.key.as_str(), source.line),
        ("file", "logs/x.json", Some(3))
    );
    let future = RuleErrorQuery {
        since: Some(Utc::now() + TimeDelta::seconds(5)),
        ..RuleErrorQuery::default()
    };
    assert!(store.list_rule_errors(&future).unwrap().is_empty());
    assert_eq!(
        store
            .list_rule_errors(&RuleErrorQuery {
                limit: Some(3),
                ..RuleErrorQuery::default()
            })
            .unwrap()
            .len(),
        3
    );
}

fn source(name: &str, bucket: &str) -> SourceConfig {
    SourceConfig {
        name: name.into(),
        bucket: bucket.into(),
        prefix: "AWSLogs/".into(),
        region: None,
        assume_role: None,
        accounts: Vec::new(),
        regions: Vec::new(),
    }
}

fn filtered_source() -> SourceConfig {
    SourceConfig {
        name: "org-trail".into(),
        bucket: "org-trail-logs".into(),
        prefix: "o-abc123/AWSLogs/".into(),
        region: Some("eu-west-1".into()),
        assume_role: Some("arn:aws:iam::111122223333:role/iota-reader".into()),
        accounts: vec!["111122223333".into(), "444455556666".into()],
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
    }
}

fn poll(minute: u32, error: Option<&str>, objects: u64, newest: Option<u32>) -> PollReport {
    let at = |m: u32| t0() + TimeDelta::minutes(i64::from(m));
    PollReport {
        started_at: at(minute),
        finished_at: at(minute) + TimeDelta::seconds(3),
        error: error.map(String::from),
        objects,
        events: objects * 100,
        failed_objects: u64::from(error.is_some()),
        newest_event_time: newest.map(at),
    }
}

fn sources_round_trip(fx: &StoreFixture) {
    let store = fx.open();
    assert!(store.list_sources().unwrap().is_empty());
    let before = Utc::now();
    store.add_source(&filtered_source(), false).unwrap();
    store
        .add_source(&source("b-trail", "bucket-b"), false)
        .unwrap();
    store
        .add_source(&source("Z-trail", "bucket-z"), false)
        .unwrap();

    let all = store.list_sources().unwrap();
    let names: Vec<&str> = all.iter().map(|s| s.config.name.as_str()).collect();
    // Byte order on both backends: upper case before lower case.
    assert_eq!(names, ["Z-trail", "b-trail", "org-trail"]);

    let record = store.get_source("org-trail").unwrap().unwrap();
    assert_eq!(record.config, filtered_source());
    assert_eq!(record, all[2]);
    assert!(record.created_at >= before - TimeDelta::seconds(1));
    assert_eq!(record.created_at, record.updated_at);
    assert_eq!(record.health, None);
    assert_eq!(record.config.object_source(), "s3://org-trail-logs");

    let minimal = store.get_source("b-trail").unwrap().unwrap().config;
    assert_eq!(minimal, source("b-trail", "bucket-b"));
    assert!(store.get_source("B-trail").unwrap().is_none());
    assert!(store.get_source("").unwrap().is_none());
}

fn source_names_are_unique_unless_replaced(fx: &StoreFixture) {
    let store = fx.open();
    store.add_source(&filtered_source(), false).unwrap();
    store
        .record_poll("org-trail", &poll(0, None, 2, Some(0)))
        .unwrap();
    let original = store.get_source("org-trail").unwrap().unwrap();

    let mut other = source("org-trail", "another-bucket");
    let err = store.add_source(&other, false).unwrap_err();
    match &err {
        StoreError::SourceExists { name, .. } => assert_eq!(name, "org-trail"),
        other => panic!("expected SourceExists, got {other:?}"),
    }
    assert!(err.to_string().contains(store.name()), "{err}");
    assert!(err.to_string().contains("\"org-trail\""), "{err}");
    assert_eq!(store.get_source("org-trail").unwrap().unwrap(), original);

    // Replacing changes the configuration, keeps the creation time and the health.
    thread::sleep(Duration::from_millis(5));
    other.region = Some("us-east-2".into());
    store.add_source(&other, true).unwrap();
    let replaced = store.get_source("org-trail").unwrap().unwrap();
    assert_eq!(replaced.config, other);
    assert_eq!(replaced.created_at, original.created_at);
    assert!(replaced.updated_at > original.updated_at);
    assert_eq!(replaced.health, original.health);
    assert_eq!(store.list_sources().unwrap().len(), 1);

    // Replacing a name that does not exist adds it.
    store.add_source(&source("new", "bucket-n"), true).unwrap();
    assert_eq!(store.list_sources().unwrap().len(), 2);

    // Two handles adding the same name at once: exactly one succeeds.
    let results: Vec<Result<(), StoreError>> = thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| s.spawn(|| fx.open().add_source(&source("race", "bucket-r"), false)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results
        .iter()
        .any(|r| matches!(r, Err(StoreError::SourceExists { .. }))));
}

fn removing_a_source_keeps_its_processed_objects(fx: &StoreFixture) {
    let store = fx.open();
    let config = source("trail", "trail-bucket");
    store.add_source(&config, false).unwrap();
    store
        .add_source(&source("other", "other-bucket"), false)
        .unwrap();
    store.record_poll("trail", &poll(0, None, 1, None)).unwrap();
    let object = CommitUnit {
        progress: Some(ObjectProgress {
            source: config.object_source(),
            ..progress("AWSLogs/1.json.gz", ObjectOutcome::Ok)
        }),
        ..CommitUnit::default()
    };
    assert!(matches!(
        store.commit(&object).unwrap(),
        CommitOutcome::Applied(_)
    ));

    assert!(store.remove_source("trail").unwrap());
    assert!(store.get_source("trail").unwrap().is_none());
    assert!(!store.remove_source("trail").unwrap());
    assert!(!store.remove_source("never-added").unwrap());
    assert_eq!(store.list_sources().unwrap().len(), 1);
    assert_eq!(
        store
            .list_objects("s3://trail-bucket", false)
            .unwrap()
            .len(),
        1
    );

    // Added again: a new source, never polled, and its bucket's objects are still done.
    store.add_source(&config, false).unwrap();
    assert_eq!(store.get_source("trail").unwrap().unwrap().health, None);
    assert_eq!(store.commit(&object).unwrap(), CommitOutcome::Duplicate);

    // A poll that ends after its source was removed is not recorded.
    assert!(store.remove_source("other").unwrap());
    match store.record_poll("other", &poll(0, None, 1, None)) {
        Err(StoreError::UnknownSource { name, .. }) => assert_eq!(name, "other"),
        other => panic!("expected UnknownSource, got {other:?}"),
    }
}

fn polls_update_the_health(fx: &StoreFixture) {
    let store = fx.open();
    store.add_source(&filtered_source(), false).unwrap();
    let health = |store: &dyn StateStore| {
        store
            .get_source("org-trail")
            .unwrap()
            .unwrap()
            .health
            .expect("polled")
    };
    let at =
        |minute: i64, second: i64| t0() + TimeDelta::minutes(minute) + TimeDelta::seconds(second);

    store
        .record_poll("org-trail", &poll(0, None, 3, Some(0)))
        .unwrap();
    assert_eq!(
        health(&*store),
        SourceHealth {
            last_poll_started_at: at(0, 0),
            last_poll_at: at(0, 3),
            last_success_at: Some(at(0, 3)),
            last_error: None,
            polls: 1,
            objects: 3,
            events: 300,
            failed_objects: 0,
            newest_event_time: Some(at(0, 0)),
        }
    );

    // A failure: its error and failed objects, the last success stays, counters add up.
    store
        .record_poll(
            "org-trail",
            &poll(5, Some("AccessDenied: s3:ListBucket"), 1, Some(4)),
        )
        .unwrap();
    assert_eq!(
        health(&*store),
        SourceHealth {
            last_poll_started_at: at(5, 0),
            last_poll_at: at(5, 3),
            last_success_at: Some(at(0, 3)),
            last_error: Some("AccessDenied: s3:ListBucket".into()),
            polls: 2,
            objects: 4,
            events: 400,
            failed_objects: 1,
            newest_event_time: Some(at(4, 0)),
        }
    );

    // A success that read nothing new: the error is cleared and the newest event time kept.
    store
        .record_poll("org-trail", &poll(10, None, 0, None))
        .unwrap();
    assert_eq!(
        health(&*store),
        SourceHealth {
            last_poll_started_at: at(10, 0),
            last_poll_at: at(10, 3),
            last_success_at: Some(at(10, 3)),
            last_error: None,
            polls: 3,
            objects: 4,
            events: 400,
            failed_objects: 0,
            newest_event_time: Some(at(4, 0)),
        }
    );

    // Events older than the newest seen (a late object) do not move it back.
    store
        .record_poll("org-trail", &poll(15, None, 1, Some(1)))
        .unwrap();
    let h = health(&*store);
    assert_eq!((h.polls, h.objects), (4, 5));
    assert_eq!(h.newest_event_time, Some(at(4, 0)));

    // A never-polled source first polled with a failure has no last success.
    store.add_source(&source("new", "bucket-n"), false).unwrap();
    store
        .record_poll("new", &poll(0, Some("NoSuchBucket"), 0, None))
        .unwrap();
    let new = store.get_source("new").unwrap().unwrap().health.unwrap();
    assert_eq!(new.last_success_at, None);
    assert_eq!(new.newest_event_time, None);
    assert_eq!(new.last_error.as_deref(), Some("NoSuchBucket"));

    let err = store
        .record_poll("gone", &poll(0, None, 1, None))
        .unwrap_err();
    assert!(matches!(&err, StoreError::UnknownSource { name, .. } if name == "gone"));
    assert!(
        err.to_string().contains("no source named \"gone\""),
        "{err}"
    );
}

/// What an iota of schema version 1 left behind: its tables, a processed object and an alert
/// window, written with the database's own client.
fn create_version_1_store(fx: &StoreFixture) {
    let schema = if fx.is_postgres() {
        include_str!("../migrations/postgres/0001_initial.sql")
    } else {
        include_str!("../migrations/sqlite/0001_initial.sql")
    };
    let sql = format!(
        "CREATE TABLE schema_migrations (
             version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_us BIGINT NOT NULL);
         {schema};
         INSERT INTO schema_migrations VALUES (1, 'initial', 0);
         INSERT INTO objects VALUES
             ('s3://org-trail-logs', 'o-abc123/AWSLogs/1.json.gz', 'e1', 10, 5, 0, 'failed',
              'AccessDenied', 2, 0, 0);"
    );
    if fx.is_postgres() {
        let mut client = ::postgres::Client::connect(&fx.location, ::postgres::NoTls).unwrap();
        client.batch_execute(&sql).unwrap();
    } else {
        let conn = rusqlite::Connection::open(&fx.location).unwrap();
        conn.execute_batch(&sql).unwrap();
    }
}

fn a_version_1_store_is_migrated(fx: &StoreFixture) {
    create_version_1_store(fx);
    assert_eq!(schema_versions(fx), vec![1]);
    let store = fx.open();
    assert_eq!(schema_versions(fx), vec![1, 2, 3, 4]);
    let failed = store.list_objects("s3://org-trail-logs", true).unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].outcome,
        ObjectOutcome::Failed("AccessDenied".into())
    );

    assert!(store.list_sources().unwrap().is_empty());
    store.add_source(&filtered_source(), false).unwrap();
    store
        .record_poll("org-trail", &poll(0, None, 1, Some(0)))
        .unwrap();
    assert_eq!(store.list_sources().unwrap().len(), 1);
    drop(store);
    // Opened again: nothing left to apply.
    drop(fx.open());
    assert_eq!(schema_versions(fx), vec![1, 2, 3, 4]);
}

/// Both dialects' migrations create the same tables and columns.
#[test]
fn schema_is_the_same_on_both_backends() {
    let Some(pg) = StoreFixture::postgres("schema_is_the_same_on_both_backends") else {
        return;
    };
    let lite = StoreFixture::sqlite();
    drop((lite.open(), pg.open()));
    let (lite_columns, pg_columns) = (columns(&lite), columns(&pg));
    assert!(lite_columns.len() > 50);
    assert_eq!(lite_columns, pg_columns);
}

fn a_lease_has_one_holder_until_it_expires_or_is_released(fx: &StoreFixture) {
    let store = fx.open();
    let ttl = Duration::from_secs(30);
    let now = t0();
    assert!(store.acquire_lease("lister", "a", ttl, now).unwrap());
    assert!(
        !store.acquire_lease("lister", "b", ttl, now).unwrap(),
        "a holds it"
    );
    // a renews; b still cannot take it before the renewed expiry.
    let later = now + chrono::Duration::seconds(20);
    assert!(store.acquire_lease("lister", "a", ttl, later).unwrap());
    let after_first_expiry = now + chrono::Duration::seconds(40);
    assert!(!store
        .acquire_lease("lister", "b", ttl, after_first_expiry)
        .unwrap());
    // a stops renewing: b takes it once the renewed lease has expired.
    let expired = later + chrono::Duration::seconds(30);
    assert!(store.acquire_lease("lister", "b", ttl, expired).unwrap());
    assert!(!store.acquire_lease("lister", "a", ttl, expired).unwrap());
    // Other names are independent; a release frees the lease at once.
    assert!(store.acquire_lease("other", "a", ttl, expired).unwrap());
    store.release_lease("lister", "a").unwrap(); // not a's: no effect
    assert!(!store.acquire_lease("lister", "a", ttl, expired).unwrap());
    store.release_lease("lister", "b").unwrap();
    assert!(store.acquire_lease("lister", "a", ttl, expired).unwrap());
}

fn concurrent_takers_of_a_free_lease_get_it_once(fx: &StoreFixture) {
    let ttl = Duration::from_secs(30);
    for round in 0..5 {
        let name = format!("lease-{round}");
        let winners: usize = thread::scope(|s| {
            let takers: Vec<_> = (0..4)
                .map(|i| {
                    let name = &name;
                    s.spawn(move || {
                        let store = fx.open();
                        store
                            .acquire_lease(name, &format!("holder-{i}"), ttl, t0())
                            .unwrap() as usize
                    })
                })
                .collect();
            takers.into_iter().map(|t| t.join().unwrap()).sum()
        });
        assert_eq!(winners, 1, "round {round}");
    }
}

fn flush(id: &str, keys: &[&str]) -> LakeFlush {
    LakeFlush {
        id: id.into(),
        files: vec![format!("logs/t/{id}.json.gz")],
        inputs: keys
            .iter()
            .map(|k| ("trail".to_owned(), (*k).to_owned(), "etag-1".to_owned()))
            .collect(),
    }
}

fn object_unit(key: &str) -> CommitUnit {
    CommitUnit {
        matches: matches("R", key, 2),
        progress: Some(progress(key, ObjectOutcome::Ok)),
        ..CommitUnit::default()
    }
}

fn a_lake_flush_commits_its_inputs_once(fx: &StoreFixture) {
    let store = fx.open();
    let (a, b) = (object_unit("a"), object_unit("b"));
    store.lake_begin(&flush("f1", &["a", "b"])).unwrap();
    // Not committed before lake_commit: a crash now leaves both inputs to be read again.
    assert!(store
        .object_state("trail", "a", "etag-1")
        .unwrap()
        .is_none());
    let LakeCommit::Applied { outcomes, doomed } = store.lake_commit("f1", &[&a, &b]).unwrap()
    else {
        panic!("the flush must commit");
    };
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, CommitOutcome::Applied(_))));
    assert!(doomed.is_empty());
    assert!(store
        .object_state("trail", "b", "etag-1")
        .unwrap()
        .is_some());
    assert_eq!(event_count(&*store, &window_id("R", "a", t0())), 2);
    // Committed flushes are no longer in flight: nothing to clean up.
    assert!(store.lake_doomed().unwrap().is_empty());
    // The same flush cannot be committed again.
    assert!(matches!(
        store.lake_commit("f1", &[&a]).unwrap(),
        LakeCommit::Lost
    ));

    // A flush holding an input committed before applies nothing and names it.
    let c = object_unit("c");
    store.lake_begin(&flush("f2", &["c", "a"])).unwrap();
    match store.lake_commit("f2", &[&c, &a]).unwrap() {
        LakeCommit::AlreadyCommitted(positions) => assert_eq!(positions, vec![1]),
        other => panic!("expected AlreadyCommitted, got {other:?}"),
    }
    assert!(store
        .object_state("trail", "c", "etag-1")
        .unwrap()
        .is_none());
    assert_eq!(event_count(&*store, &window_id("R", "a", t0())), 2);
}

fn flushes_left_by_a_crash_are_doomed_when_their_inputs_commit(fx: &StoreFixture) {
    let store = fx.open();
    // A run wrote f1 (inputs a, b) and died before committing it.
    store.lake_begin(&flush("f1", &["a", "b"])).unwrap();
    store.lake_begin(&flush("f0", &["z"])).unwrap();
    assert!(
        store.lake_doomed().unwrap().is_empty(),
        "a recent pending flush may still be committed by its writer"
    );
    // The next run reads a again and commits it in f2: f1's files hold a's events again.
    let a = object_unit("a");
    store.lake_begin(&flush("f2", &["a"])).unwrap();
    let LakeCommit::Applied { doomed, .. } = store.lake_commit("f2", &[&a]).unwrap() else {
        panic!("the flush must commit");
    };
    assert_eq!(doomed.len(), 1);
    assert_eq!(doomed[0].id, "f1");
    assert_eq!(doomed[0].files, vec!["logs/t/f1.json.gz".to_owned()]);
    // Doomed stays doomed (the files may not be deleted yet) until forgotten.
    assert_eq!(store.lake_doomed().unwrap().len(), 1);
    // Its writer can no longer commit it.
    let b = object_unit("b");
    assert!(matches!(
        store.lake_commit("f1", &[&a, &b]).unwrap(),
        LakeCommit::Lost
    ));
    store.lake_forget("f1").unwrap();
    assert!(store.lake_doomed().unwrap().is_empty());
    // f0 holds nothing committed and is recent: still pending, still committable.
    let z = object_unit("z");
    assert!(matches!(
        store.lake_commit("f0", &[&z]).unwrap(),
        LakeCommit::Applied { .. }
    ));
}

fn concurrent_lake_flushes_of_one_input_commit_it_once(fx: &StoreFixture) {
    let unit = object_unit("shared");
    let outcomes: Vec<LakeCommit> = thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|n| {
                let unit = &unit;
                s.spawn(move || {
                    let store = fx.open();
                    let id = format!("f{n}");
                    store.lake_begin(&flush(&id, &["shared"])).unwrap();
                    store.lake_commit(&id, &[unit]).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let applied = outcomes
        .iter()
        .filter(|o| matches!(o, LakeCommit::Applied { .. }))
        .count();
    let refused = outcomes
        .iter()
        .filter(|o| matches!(o, LakeCommit::AlreadyCommitted(_) | LakeCommit::Lost))
        .count();
    assert_eq!((applied, refused), (1, 1), "{outcomes:?}");
    let store = fx.open();
    assert_eq!(event_count(&*store, &window_id("R", "shared", t0())), 2);
}
