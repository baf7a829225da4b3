//! Dedup windows, thresholds, unique() and signals of the in-memory alert engine.

use chrono::{DateTime, Duration, TimeZone, Utc};
use iota_alerts::{AlertEngine, Outcome, RuleMatch, SourceRef};
use iota_rules::{Match, MatchDetails, Rule, RuleKind, Severity};

fn rule(threshold: u32, period_minutes: u32, create_alert: bool) -> Rule {
    Rule {
        index: 0,
        id: "Test.Rule".into(),
        kind: RuleKind::Panther,
        file: "rule.py".into(),
        metadata_file: None,
        enabled: true,
        log_types: vec!["AWS.CloudTrail".into()],
        severity: Severity::High,
        display_name: None,
        description: Some("from metadata".into()),
        runbook: None,
        reference: None,
        dedup_period_minutes: period_minutes,
        threshold,
        tags: vec!["tag".into()],
        reports: Default::default(),
        output_ids: vec![],
        summary_attributes: vec![],
        create_alert,
        tests: vec![],
        filter: None,
        inline_filters: None,
        native: None,
    }
}

fn hit(title: &str, dedup: &str, unique: Option<&str>) -> Match {
    Match {
        event: 0,
        rule: 0,
        dedup: dedup.into(),
        unique: unique.map(str::to_string),
        details: Some(MatchDetails {
            title: title.into(),
            severity: Severity::High,
            alert_context: None,
            description: None,
            reference: None,
            runbook: None,
            destinations: None,
        }),
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 10, 0, 0).unwrap()
}

fn record(
    engine: &mut AlertEngine,
    rule: &Rule,
    m: &Match,
    at: DateTime<Utc>,
    n: usize,
) -> Outcome {
    let source = || SourceRef {
        kind: "file",
        bucket: None,
        key: "x.json".into(),
        line: Some(n as u64),
    };
    let json = format!(r#"{{"n":{n}}}"#);
    engine.record(
        RuleMatch {
            rule,
            result: m,
            event_json: json.as_bytes(),
            event_time: at,
            event_id: None,
            log_type: "AWS.CloudTrail",
            source: &source,
        },
        Utc::now(),
    )
}

#[test]
fn hundred_matches_in_one_window_make_one_alert_with_count_100() {
    let rule = rule(1, 60, true);
    let mut engine = AlertEngine::new();
    let m = hit("t", "d", None);
    let mut outcomes = Vec::new();
    for i in 0..100 {
        outcomes.push(record(
            &mut engine,
            &rule,
            &m,
            t0() + Duration::seconds(i * 30),
            i as usize,
        ));
    }
    assert_eq!(outcomes[0], Outcome::Created);
    assert!(outcomes[1..].iter().all(|o| *o == Outcome::Updated));
    let alerts = engine.alerts().collect::<Vec<_>>();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].event_count, 100);
    assert_eq!(alerts[0].first_seen, t0());
    assert_eq!(alerts[0].last_seen, t0() + Duration::seconds(99 * 30));
    assert_eq!(alerts[0].description.as_deref(), Some("from metadata"));
}

#[test]
fn matches_in_two_windows_make_two_alerts_with_distinct_ids() {
    let rule = rule(1, 60, true);
    let mut engine = AlertEngine::new();
    let m = hit("t", "d", None);
    record(&mut engine, &rule, &m, t0(), 0);
    record(&mut engine, &rule, &m, t0() + Duration::minutes(90), 1);
    let alerts = engine.alerts().collect::<Vec<_>>();
    assert_eq!(alerts.len(), 2);
    assert_ne!(alerts[0].id, alerts[1].id);
}

#[test]
fn different_dedup_strings_are_different_alerts() {
    let rule = rule(1, 60, true);
    let mut engine = AlertEngine::new();
    record(&mut engine, &rule, &hit("t", "alice", None), t0(), 0);
    record(&mut engine, &rule, &hit("t", "bob", None), t0(), 1);
    assert_eq!(engine.alerts().count(), 2);
}

#[test]
fn threshold_five_with_four_matches_gives_nothing_and_five_gives_one() {
    let rule = rule(5, 60, true);
    let mut engine = AlertEngine::new();
    let m = hit("t", "d", None);
    for i in 0..4 {
        assert_eq!(
            record(&mut engine, &rule, &m, t0() + Duration::seconds(i), 0),
            Outcome::BelowThreshold
        );
    }
    assert!(engine.alerts().next().is_none());
    assert_eq!(engine.below_threshold(), 1);
    assert_eq!(
        record(&mut engine, &rule, &m, t0() + Duration::seconds(10), 0),
        Outcome::Created
    );
    assert_eq!(engine.alerts().next().unwrap().event_count, 5);
}

#[test]
fn threshold_with_unique_counts_distinct_values() {
    let rule = rule(3, 60, true);
    let mut engine = AlertEngine::new();
    for (i, user) in ["a", "a", "b", "b", "a"].iter().enumerate() {
        record(
            &mut engine,
            &rule,
            &hit("t", "d", Some(user)),
            t0() + Duration::seconds(i as i64),
            i,
        );
    }
    assert!(engine.alerts().next().is_none(), "only two distinct values");
    record(
        &mut engine,
        &rule,
        &hit("t", "d", Some("c")),
        t0() + Duration::seconds(9),
        9,
    );
    assert_eq!(engine.alerts().count(), 1);
    assert_eq!(engine.alerts().next().unwrap().event_count, 6);
}

#[test]
fn create_alert_false_records_a_signal_only() {
    let rule = rule(1, 60, false);
    let mut engine = AlertEngine::new();
    assert_eq!(
        record(&mut engine, &rule, &hit("t", "d", None), t0(), 0),
        Outcome::Signal
    );
    assert!(engine.alerts().next().is_none());
}

#[test]
fn outcome_does_not_depend_on_arrival_order() {
    let rule = rule(1, 60, true);
    let m = hit("t", "d", None);
    let times: Vec<_> = (0..10).map(|i| t0() + Duration::minutes(i * 13)).collect();
    let mut forward = AlertEngine::new();
    for (i, t) in times.iter().enumerate() {
        record(&mut forward, &rule, &m, *t, i);
    }
    let mut backward = AlertEngine::new();
    for (i, t) in times.iter().enumerate().rev() {
        record(&mut backward, &rule, &m, *t, i);
    }
    let f: Vec<_> = forward
        .alerts()
        .map(|a| (a.id, a.event_count, a.first_seen, a.event.get().to_string()))
        .collect();
    let b: Vec<_> = backward
        .alerts()
        .map(|a| (a.id, a.event_count, a.first_seen, a.event.get().to_string()))
        .collect();
    assert_eq!(f, b);
    assert_eq!(
        f.len(),
        2,
        "matches from 10:00 to 11:57 fall into two aligned 60-minute windows"
    );
}

#[test]
fn matches_without_details_count_and_the_earliest_match_gives_the_alert_its_details() {
    let rule = rule(1, 60, true);
    let mut engine = AlertEngine::new();
    let described = hit("from the earliest match", "d", None);
    let counted = Match {
        details: None,
        ..hit("never shown", "d", None)
    };
    record(&mut engine, &rule, &counted, t0() + Duration::minutes(5), 1);
    record(&mut engine, &rule, &described, t0(), 0);
    record(&mut engine, &rule, &counted, t0() + Duration::minutes(9), 2);
    let alerts = engine.alerts().collect::<Vec<_>>();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].event_count, 3);
    assert_eq!(alerts[0].title, "from the earliest match");
    assert_eq!(alerts[0].severity, Severity::High);
    assert_eq!(alerts[0].event.get(), r#"{"n":0}"#);
}
