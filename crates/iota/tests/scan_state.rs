//! `iota scan --state`: results committed per input with the alert outbox, files committed
//! before skipped, delivery from the outbox to a real HTTP receiver on loopback (permanent
//! failure, `iota alerts retry`), and SIGKILL at random points ending with every alert
//! delivered once.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::daemon::finished_stderr;
use common::receiver::Receiver;
use common::*;

/// `iota scan --state` with the fixture rules and one worker; arguments after the rule
/// options. For runs that are watched (and killed); [`scan_with_state`] runs one to the end.
fn scan_command(state: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_iota"));
    command
        .args(["--log-format", "json", "scan", "--workers", "1"])
        .args(fixture_rule_options())
        .args(["--state", state.to_str().unwrap()])
        .args(args)
        .stdin(Stdio::null());
    command
}

/// `iota scan --state` with the fixture rules and one worker, which must succeed.
fn scan_with_state(state: &Path, args: &[&str]) -> Scan {
    let options = ["--workers", "1", "--state", state.to_str().unwrap()];
    let run = scan_with_fixture_rules(&[&options[..], args].concat(), None);
    assert_eq!(run.status, 0, "{}", run.stderr);
    run
}

/// Input files whose StopLogging events each make an alert (the fixture rule dedups on
/// eventID): `files` files of `per_file` events.
fn inputs(dir: &Path, files: usize, per_file: usize) -> PathBuf {
    let root = dir.join("logs");
    for f in 0..files {
        let events = events("StopLogging", &format!("f{f:02}"), per_file);
        write(
            &root,
            &format!("f{f:02}.json.gz"),
            &gzip(&records_json(&events)),
        );
    }
    root
}

#[test]
fn a_second_scan_skips_committed_files_and_extends_open_alert_windows() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let logs = dir.path().join("logs");
    // The case-insensitive fixture rule dedups on the event name: one alert per hour.
    write(
        &logs,
        "a.json",
        &records_json(&events("StopLogging", "a", 3)),
    );

    let first = scan_with_state(&state, &[logs.to_str().unwrap()]);
    let alerts = &first.alerts;
    assert_eq!(first.alerts_of("stop_logging").len(), 3, "{alerts:?}");
    assert_eq!(
        first.alerts_of("Fixture.CaseInsensitive").len(),
        1,
        "{alerts:?}"
    );
    assert_eq!(first.count("alerts"), 4);

    // The same file again: nothing read, nothing sent.
    let again = scan_with_state(&state, &[logs.to_str().unwrap()]);
    assert!(again.alerts.is_empty(), "{:?}", again.alerts);
    assert_eq!(again.count("files_already_committed"), 1);
    assert_eq!(again.count("events"), 0);

    // A new file in the same hour: the case-insensitive alert grows and is not sent again.
    write(
        &logs,
        "b.json",
        &records_json(&events("StopLogging", "b", 2)),
    );
    let sent = scan_with_state(&state, &[logs.to_str().unwrap()]).alerts;
    assert_eq!(
        sent.len(),
        2,
        "only the two new stop_logging alerts: {sent:?}"
    );
    assert!(sent.iter().all(|a| a["rule_id"] == "stop_logging"));

    let store = iota_state::open(state.to_str().unwrap()).unwrap();
    let windows = store
        .list_alerts(&iota_state::AlertQuery {
            rule: Some("Fixture.CaseInsensitive".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(windows.len(), 1);
    assert_eq!(
        windows[0].event_count, 5,
        "3 events of a.json + 2 of b.json"
    );
}

#[test]
fn a_hundred_matches_in_one_window_over_four_files_are_delivered_once_with_count_100() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let logs = dir.path().join("logs");
    for f in 0..4 {
        let events = events("StopLogging", &format!("w{f}"), 25);
        write(&logs, &format!("w{f}.json"), &records_json(&events));
    }
    let run = scan_with_state(&state, &[logs.to_str().unwrap()]);
    // The case-insensitive fixture rule dedups on its title: one window for all 100.
    let sent = run.alerts_of("Fixture.CaseInsensitive");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["event_count"], 100);
}

/// The caching helpers keep their state in the store: a counter started by one scan goes on
/// in the next.
#[test]
fn rule_state_carries_over_from_one_scan_to_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let repo = fixtures().join("panther_repo");
    let failed_login = |i: usize| {
        let mut login = event("ConsoleLogin", &format!("login-{i}"));
        login["eventSource"] = "signin.amazonaws.com".into();
        login["userIdentity"]["userName"] = "bob".into();
        login["responseElements"] = serde_json::json!({"ConsoleLogin": "Failure"});
        login["eventTime"] = format!("2023-07-10T12:0{i}:00Z").into();
        login
    };
    let scan_logins = |name: &str, logins: &[usize]| {
        let events: Vec<Value> = logins.iter().map(|&i| failed_login(i)).collect();
        let path = write(dir.path(), name, &records_json(&events));
        let run = scan(
            &[
                "--workers",
                "2",
                "--rules",
                repo.join("rules").to_str().unwrap(),
                "--helpers",
                repo.join("global_helpers").to_str().unwrap(),
                "--data-models",
                repo.join("data_models").to_str().unwrap(),
                "--state",
                state.to_str().unwrap(),
                path.to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(run.status, 0, "{}", run.stderr);
        run.alerts
    };
    // The rule alerts from the third failure of a user on.
    assert!(scan_logins("first.json", &[0, 1]).is_empty());
    let alerts = scan_logins("second.json", &[2, 3]);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["rule_id"], "Fixture.Login.Failures");
    assert_eq!(alerts[0]["event_count"], 2, "the third and fourth failures");
}

#[test]
fn a_delivery_that_failed_for_good_is_listed_and_sent_again_by_alerts_retry() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let logs = inputs(dir.path(), 1, 1);
    let receiver = Receiver::start(Duration::ZERO);
    // 400 is permanent: no retries.
    receiver.status.store(400, Ordering::SeqCst);
    let output = format!("webhook={}", receiver.url);

    let scan_to_receiver =
        || scan_with_state(&state, &["--output", &output, logs.to_str().unwrap()]);
    let run = scan_to_receiver();
    // stop_logging + case-insensitive, both refused.
    assert_eq!(run.count("delivery_failures"), 2, "{}", run.stderr);
    assert!(receiver.accepted().is_empty());

    let failed = list_json(&state, &["--failed"]);
    assert_eq!(failed.len(), 2, "{failed:?}");

    alerts_ok(&state, &["retry", "--failed"]);
    receiver.status.store(200, Ordering::SeqCst);
    // No new input: the scan only delivers what the outbox holds.
    scan_to_receiver();
    let received: BTreeSet<String> = receiver
        .accepted()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = failed
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(received, expected);
    assert_eq!(receiver.accepted().len(), 2, "each sent once");
}

/// SPEC 4: a crash at any instant, then a restart, ends with every alert delivered exactly
/// once per output, receivers deduplicating on the alert id (the outbox is at-least-once:
/// only the send in flight when the process died can be repeated).
///
/// Rounds of: a fresh store and receiver, `iota scan --state` SIGKILLed at a random instant
/// and restarted until a run completes; until 20 kills landed before the end of a round.
#[test]
fn scans_killed_at_random_points_end_with_every_alert_delivered_once() {
    const KILLS: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let logs = inputs(dir.path(), 40, 2);

    // The expected alerts, from a scan kept in memory.
    let reference = scan_with_fixture_rules(&["--workers", "1", logs.to_str().unwrap()], None);
    assert_eq!(reference.status, 0, "{}", reference.stderr);
    let expected: BTreeMap<String, u64> = reference
        .alerts
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_owned(),
                a["event_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(expected.len(), 40 * 2 + 1);

    let mut rng = fastrand::Rng::with_seed(7);
    let (mut kills, mut rounds) = (0, 0);
    let started = Instant::now();
    while kills < KILLS {
        rounds += 1;
        let round = dir.path().join(format!("round-{rounds}"));
        std::fs::create_dir(&round).unwrap();
        kills += killed_round(&round, &logs, &expected, &mut rng);
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "{rounds} rounds, {kills} kills"
        );
    }
    eprintln!("{rounds} rounds, {kills} kills");
}

/// One round of the crash test; returns the kills.
fn killed_round(
    dir: &Path,
    logs: &Path,
    expected: &BTreeMap<String, u64>,
    rng: &mut fastrand::Rng,
) -> usize {
    // A slow receiver, so that kills also land while alerts are being delivered; a short
    // timeout, so that the lease of a send cut short expires soon.
    let receiver = Receiver::start(Duration::from_millis(10));
    let config = dir.join("iota.toml");
    std::fs::write(
        &config,
        format!(
            "[[outputs]]\nkind = \"webhook\"\ntarget = \"{}\"\ntimeout = \"1s\"\n",
            receiver.url
        ),
    )
    .unwrap();
    let state = dir.join("state.db");
    let mut kills = 0;
    loop {
        let mut child = scan_command(
            &state,
            &["--config", config.to_str().unwrap(), logs.to_str().unwrap()],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        let deadline = Instant::now() + Duration::from_millis(rng.u64(50..2500));
        let finished = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() >= deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let Some(status) = finished else {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            kills += 1;
            continue;
        };
        let stderr = finished_stderr(&mut child);
        assert!(status.success(), "after {kills} kills: {stderr}");
        break;
    }

    receiver.assert_each_alert_delivered(expected, kills);
    kills
}

#[test]
fn a_state_store_that_cannot_be_opened_is_named_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let logs = inputs(dir.path(), 1, 1);
    let output = Command::new(env!("CARGO_BIN_EXE_iota"))
        .args(["--log-format", "json", "scan", "--workers", "1"])
        .args(["--state", "postgres://iota:s3cret-pw@127.0.0.1:1/alerts"])
        .arg(&logs)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot open the PostgreSQL state store"),
        "{stderr}"
    );
    assert!(stderr.contains("127.0.0.1:1/alerts"), "{stderr}");
    assert!(!stderr.contains("s3cret-pw"), "{stderr}");
}

/// A file that breaks off keeps what was read before the break: reading it again would end the
/// same way, so the next scan does not.
#[test]
fn a_truncated_file_is_committed_with_the_events_before_the_break_and_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    // Large enough that the decoder reads whole events before the break.
    let mut truncated = gzip(&records_json(&events("StopLogging", "t", 3000)));
    truncated.truncate(truncated.len() / 2);
    let truncated = write(dir.path(), "truncated.json.gz", &truncated);
    let args = [
        "--workers",
        "1",
        "--state",
        state.to_str().unwrap(),
        truncated.to_str().unwrap(),
    ];

    let first = scan_with_fixture_rules(&args, None);
    assert_eq!(first.status, 1, "{}", first.stderr);
    let kept = first.alerts_of("stop_logging").len();
    assert!(kept > 0 && kept < 3000, "events before the break: {kept}");

    let store = iota_state::open(state.to_str().unwrap()).unwrap();
    let records = store.list_objects("local", false).unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(
        Path::new(&records[0].key),
        std::fs::canonicalize(&truncated).unwrap()
    );
    assert!(
        matches!(&records[0].outcome, iota_state::ObjectOutcome::Partial(e) if !e.is_empty()),
        "{records:?}"
    );
    assert_eq!(records[0].events as usize, kept);

    let second = scan_with_fixture_rules(&args, None);
    assert_eq!(second.status, 0, "{}", second.stderr);
    assert_eq!(
        second.count("files_already_committed"),
        1,
        "{}",
        second.stderr
    );
    assert!(second.alerts.is_empty());
}

#[test]
fn alerts_kept_in_memory_show_what_alerts_in_a_store_show() {
    // Without a store, a worker describes each alert window once in its life rather than
    // once per batch (docs/WORKER_PROTOCOL.md, describe_once); with one event per batch every
    // window spans many batches. The store path describes every batch's earliest match.
    let dir = tempfile::tempdir().unwrap();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus-5k/AWSLogs");
    let corpus = corpus.to_str().unwrap();
    let one_by_one = ["--workers", "1", "--batch-size", "1"];
    let in_memory = scan(&[&one_by_one[..], &[corpus]].concat(), None);
    let store = dir.path().join("state.db");
    let stored = scan(
        &[
            &one_by_one[..],
            &["--state", store.to_str().unwrap(), corpus],
        ]
        .concat(),
        None,
    );
    assert_eq!(in_memory.status, 0, "{}", in_memory.stderr);
    assert_eq!(stored.status, 0, "{}", stored.stderr);
    let fields = |alerts: &[Value]| -> Vec<Value> {
        comparable_alerts(alerts)
            .into_iter()
            .map(|a| {
                serde_json::json!([
                    a["id"],
                    a["event_count"],
                    a["title"],
                    a["severity"],
                    a["alert_context"],
                    a["event"]["eventID"]
                ])
            })
            .collect()
    };
    let shown = fields(&in_memory.alerts);
    assert!(shown.len() >= 20, "{}", in_memory.stderr);
    assert_eq!(shown, fields(&stored.alerts));
}
