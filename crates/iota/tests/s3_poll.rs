//! `iota s3-poll` against moto's S3 on loopback, with CloudTrail objects in the real key
//! layout: the alerts equal those of `iota scan` over the same files, a second poll reads
//! nothing again, later (SSE-KMS) and out-of-order objects are each read once, a poll's listing cost
//! follows prefixes and not objects, a poll killed midway loses and repeats nothing, and the
//! daemon serves /healthz, /readyz and /metrics and stops on SIGTERM.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::daemon::{finished_stderr, free_addr, http_get, wait_until, webhook_config};
use common::moto::{Moto, AWS_ENV};
use common::receiver::Receiver;
use common::*;

const BUCKET: &str = "org-trail";

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus-5k")
}

/// `iota s3-poll --bucket BUCKET` against `moto` with one worker and the bundled rules;
/// `args` follow.
fn s3_poll_command(moto: &Moto, state: &Path, args: &[&str]) -> Command {
    let mut command = s3_poll_sources_command(moto, state, &["--bucket", BUCKET]);
    command.args(args);
    command
}

/// `iota s3-poll` without `--bucket`: it polls the sources configured in `state`.
fn s3_poll_sources_command(moto: &Moto, state: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_iota"));
    command
        .args(["--log-format", "json", "s3-poll"])
        .args(["--endpoint-url", &moto.endpoint, "--force-path-style"])
        .args(["--state", state.to_str().unwrap(), "--workers", "1"])
        .args(args)
        .envs(AWS_ENV.iter().copied())
        .env_remove("RUST_LOG");
    command
}

/// What one `s3-poll --once` printed: its "poll finished" record and all its log records.
struct Poll {
    finished: Value,
    stderr: String,
}

impl Poll {
    fn count(&self, field: &str) -> u64 {
        self.finished[field]
            .as_u64()
            .unwrap_or_else(|| panic!("no {field} in {}", self.finished))
    }
}

fn poll_once(moto: &Moto, state: &Path, args: &[&str]) -> Poll {
    poll(s3_poll_command(moto, state, args))
}

/// Runs `command` with `--once`, which must succeed.
fn poll(mut command: Command) -> Poll {
    let output = command.arg("--once").output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "s3-poll failed: {stderr}");
    let finished = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["message"] == "poll finished")
        .unwrap_or_else(|| panic!("no \"poll finished\" record: {stderr}"));
    Poll { finished, stderr }
}

/// A CloudTrail key of `account`/`region` for `stamp` (`YYYYMMDDTHHMMZ`).
fn trail_key(account: &str, region: &str, stamp: &str, unique: &str) -> String {
    format!(
        "AWSLogs/{account}/CloudTrail/{region}/{}/{}/{}/{account}_CloudTrail_{region}_{stamp}_{unique}.json.gz",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8]
    )
}

/// One StopLogging event (a bundled rule's match) with its own id and time.
fn stop_logging_file(id: &str, time: &str) -> Vec<u8> {
    let mut event = event("StopLogging", id);
    event["eventTime"] = Value::from(time);
    gzip(&records_json(&[event]))
}

#[test]
fn polls_find_the_same_alerts_as_a_scan_and_read_each_object_once() {
    let Some(moto) = Moto::start("polls_find_the_same_alerts_as_a_scan") else {
        return;
    };
    moto.create_bucket(BUCKET);
    let uploaded = moto.put_tree(BUCKET, &corpus());
    let objects = uploaded as u64 - 3; // LICENSE, SOURCE.txt and the manifest are no logs
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let alerts_file = dir.path().join("alerts.jsonl");
    let output = format!("file={}", alerts_file.display());
    let args = [
        "--output",
        output.as_str(),
        "--since",
        "2024-01-01T00:00:00Z",
    ];

    let reference = scan(&["--workers", "1", corpus().to_str().unwrap()], None);
    assert_eq!(reference.status, 0, "{}", reference.stderr);
    let expected = by_id(&reference.alerts);
    assert!(
        expected.len() >= 5,
        "the corpus holds attacks: {expected:?}"
    );

    let first = poll_once(&moto, &state, &args);
    assert_eq!(first.count("objects"), objects, "{}", first.stderr);
    assert_eq!(first.count("objects_ok"), objects);
    assert_eq!(first.count("prefixes"), 9);
    assert_eq!(by_id(&read_alerts(&alerts_file)), expected);

    let second = poll_once(&moto, &state, &args);
    assert_eq!(second.count("objects"), 0, "nothing new: {}", second.stderr);
    assert_eq!(read_alerts(&alerts_file).len(), expected.len());

    // A later object is read by the next poll.
    let account = "534439589175";
    let later = trail_key(account, "us-east-1", "20240102T0105Z", "Later00000000001");
    moto.put(
        BUCKET,
        &later,
        stop_logging_file("later-1", "2024-01-02T01:04:00Z"),
    );
    let third = poll_once(&moto, &state, &args);
    assert_eq!(third.count("objects"), 1, "{}", third.stderr);
    let alerts = read_alerts(&alerts_file);
    let new = &alerts[expected.len()..];
    assert!(!new.is_empty(), "the StopLogging event is an alert");
    for alert in new {
        assert_eq!(alert["source"]["kind"], "s3");
        assert_eq!(alert["source"]["bucket"], BUCKET);
        assert_eq!(alert["source"]["key"], later.as_str());
    }

    // An object written out of order, with a key before the newest one but inside the
    // late-arrival window (1h by default), is read once.
    let late = trail_key(account, "us-east-1", "20240102T0030Z", "Late000000000001");
    moto.put(
        BUCKET,
        &late,
        stop_logging_file("late-1", "2024-01-02T00:29:00Z"),
    );
    let fourth = poll_once(&moto, &state, &args);
    assert_eq!(fourth.count("objects"), 1, "{}", fourth.stderr);
    let alerts = read_alerts(&alerts_file);
    assert!(alerts.len() > expected.len() + new.len());
    assert!(alerts[expected.len() + new.len()..]
        .iter()
        .all(|a| a["source"]["key"] == late.as_str()));
    let fifth = poll_once(&moto, &state, &args);
    assert_eq!(fifth.count("objects"), 0, "{}", fifth.stderr);
    assert!(
        fifth.count("already_committed") >= 2,
        "the window was listed again"
    );
}

#[test]
fn a_steady_poll_lists_per_prefix_not_per_object() {
    const ACCOUNTS: [&str; 5] = [
        "111111111111",
        "222222222222",
        "333333333333",
        "444444444444",
        "555555555555",
    ];
    const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
    let Some(moto) = Moto::start("a_steady_poll_lists_per_prefix_not_per_object") else {
        return;
    };
    moto.create_bucket(BUCKET);
    // 2,000 old objects in each of the 10 prefixes, one a minute from 2024-01-01 00:00.
    let empty = gzip(br#"{"Records":[]}"#);
    let mut old = Vec::new();
    for account in ACCOUNTS {
        for region in REGIONS {
            for minute in 0..2000 {
                let time = chrono::DateTime::UNIX_EPOCH
                    + chrono::Duration::seconds(1_704_067_200 + minute * 60);
                let stamp = time.format("%Y%m%dT%H%MZ").to_string();
                old.push((
                    trail_key(account, region, &stamp, "Old0000000000000"),
                    empty.clone(),
                ));
            }
        }
    }
    assert_eq!(old.len(), 20_000);
    moto.put_many(BUCKET, old, 32);

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let args = ["--output", "stdout", "--since", "2024-06-01T00:00:00Z"];
    let first = poll_once(&moto, &state, &args);
    assert_eq!(first.count("objects"), 0, "old objects are before --since");

    // 5 new objects, then polls that find them and then nothing.
    for (i, account) in ACCOUNTS.iter().enumerate() {
        let key = trail_key(
            account,
            "us-east-1",
            &format!("20240701T00{i}0Z"),
            "New0000000000000",
        );
        moto.put(
            BUCKET,
            &key,
            stop_logging_file(&format!("new-{i}"), "2024-07-01T00:00:00Z"),
        );
    }
    let second = poll_once(&moto, &state, &args);
    assert_eq!(second.count("objects"), 5, "{}", second.stderr);
    let third = poll_once(&moto, &state, &args);
    assert_eq!(third.count("objects"), 0, "{}", third.stderr);

    // Discovery lists AWSLogs/ (1), each account (5) and each account's CloudTrail/ (5);
    // then one page per prefix (10). Listing the 2,000 old objects of a prefix would take at
    // least two pages of 1,000 each, 20 more in all.
    let bound = 1 + 2 * ACCOUNTS.len() as u64 + (ACCOUNTS.len() * REGIONS.len()) as u64;
    for poll in [&first, &second, &third] {
        assert_eq!(poll.count("prefixes"), 10);
        assert!(
            poll.count("list_requests") <= bound,
            "{} list requests, at most {bound} expected: {}",
            poll.count("list_requests"),
            poll.stderr
        );
    }
}

#[test]
fn polls_killed_midway_end_with_each_object_committed_and_each_alert_delivered_once() {
    let Some(moto) = Moto::start("polls_killed_midway") else {
        return;
    };
    moto.create_bucket(BUCKET);
    // 60 objects of 2 attack events each, in 3 prefixes.
    let mut objects = Vec::new();
    for (p, region) in ["us-east-1", "eu-west-1", "us-west-2"].iter().enumerate() {
        for i in 0..20 {
            let stamp = format!("20240101T1{}{:02}Z", i / 10, (i % 10) * 5);
            let key = trail_key("534439589175", region, &stamp, &format!("Kill{p}{i:012}"));
            let events: Vec<Value> = (0..2)
                .map(|n| {
                    let mut e = event("StopLogging", &format!("kill-{p}-{i}-{n}"));
                    e["eventTime"] =
                        Value::from(format!("2024-01-01T1{}:{:02}:00Z", i / 10, (i % 10) * 5));
                    e["userIdentity"]["arn"] =
                        Value::from(format!("arn:aws:iam::534439589175:user/u{p}{i}{n}"));
                    e
                })
                .collect();
            objects.push((key, gzip(&records_json(&events))));
        }
    }
    moto.put_many(BUCKET, objects, 8);
    let dir = tempfile::tempdir().unwrap();

    // The reference: one poll run to its end.
    let reference_receiver = Receiver::start(Duration::ZERO);
    let reference_config = webhook_config(dir.path(), &reference_receiver);
    let reference = poll_once(
        &moto,
        &dir.path().join("reference.db"),
        &[
            "--config",
            reference_config.to_str().unwrap(),
            "--since",
            "2024-01-01T00:00:00Z",
        ],
    );
    assert_eq!(reference.count("objects_ok"), 60, "{}", reference.stderr);
    let expected: BTreeMap<String, u64> = reference_receiver
        .accepted()
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_owned(),
                a["event_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(expected.len() >= 60, "{expected:?}");

    // The same, killed at random points and restarted until a run ends; rounds until enough
    // kills landed.
    let mut rng = fastrand::Rng::with_seed(11);
    let (mut kills, mut rounds) = (0, 0);
    let started = Instant::now();
    while kills < 3 {
        rounds += 1;
        let round = dir.path().join(format!("round-{rounds}"));
        std::fs::create_dir(&round).unwrap();
        kills += killed_round(&moto, &round, &expected, &mut rng);
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "{rounds} rounds, {kills} kills"
        );
    }
    eprintln!("{rounds} rounds, {kills} kills");
}

/// One round of the kill test: polls killed at random points, then one run to its end;
/// returns the kills.
fn killed_round(
    moto: &Moto,
    dir: &Path,
    expected: &BTreeMap<String, u64>,
    rng: &mut fastrand::Rng,
) -> usize {
    let receiver = Receiver::start(Duration::from_millis(5));
    let config = webhook_config(dir, &receiver);
    let state = dir.join("state.db");
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--since",
        "2024-01-01T00:00:00Z",
        "--once",
        "--download-concurrency",
        "2",
        // A killed run keeps its lease until it expires; the next run waits for it.
        "--lister-lease",
        "2s",
    ];
    let mut kills = 0;
    let stderr = loop {
        let mut child = s3_poll_command(moto, &state, &args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_millis(rng.u64(300..3000));
        let Some(status) = wait_until(&mut child, deadline) else {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            kills += 1;
            continue;
        };
        let stderr = finished_stderr(&mut child);
        assert!(status.success(), "after {kills} kills: {stderr}");
        break stderr;
    };

    let store = iota_state::open(state.to_str().unwrap()).unwrap();
    let records = store
        .list_objects(&format!("s3://{BUCKET}"), false)
        .unwrap();
    assert_eq!(records.len(), 60, "each object committed: {stderr}");
    assert!(
        records.iter().all(|r| r.attempts == 1),
        "each object committed once: {records:?}"
    );

    receiver.assert_each_alert_delivered(expected, kills);
    kills
}

#[test]
fn the_daemon_serves_health_readiness_and_metrics_and_stops_on_sigterm() {
    let Some(mut moto) = Moto::start("the_daemon_serves_health_readiness_and_metrics") else {
        return;
    };
    moto.create_bucket(BUCKET);
    moto.put_tree(BUCKET, &corpus());
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let addr = free_addr();
    let mut child = s3_poll_command(
        &moto,
        &state,
        &[
            "--output",
            "stdout",
            "--since",
            "2024-01-01T00:00:00Z",
            "--listen",
            &addr,
            "--poll-interval",
            "1h",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();

    // The first poll is done when the metrics count its objects.
    let started = Instant::now();
    let metrics = loop {
        if let Ok(stream) = std::net::TcpStream::connect(&addr) {
            drop(stream);
            let (status, body) = http_get(&addr, "/metrics");
            assert_eq!(status, 200);
            // The poll's end sets the lag, after its last commit.
            if body.contains("iota_objects_total{outcome=\"ok\"} 15")
                && body.contains("iota_processing_lag_seconds")
            {
                break body;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no poll within a minute"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(metrics.contains("iota_events_total 5000\n"), "{metrics}");
    assert!(metrics.contains("iota_processing_lag_seconds"), "{metrics}");
    assert!(metrics.contains("iota_poll_duration_seconds"), "{metrics}");
    assert!(metrics.contains("iota_alerts_total{"), "{metrics}");
    // Read after the deliveries that follow a poll.
    while !http_get(&addr, "/metrics")
        .1
        .contains("iota_outbox_pending 0")
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no iota_outbox_pending 0"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    assert_eq!(http_get(&addr, "/healthz").0, 200);
    let (status, body) = http_get(&addr, "/readyz");
    assert_eq!(status, 200, "{body}");

    // S3 unreachable: not ready, naming S3; still alive.
    moto.stop();
    let (status, body) = http_get(&addr, "/readyz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("s3"), "{body}");
    assert_eq!(http_get(&addr, "/healthz").0, 200);

    // SIGTERM: a clean exit, well within the shutdown timeout.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = wait_until(&mut child, Instant::now() + Duration::from_secs(30))
        .expect("exited after SIGTERM");
    let stderr = finished_stderr(&mut child);
    assert!(status.success(), "{stderr}");
}

fn iota(state: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_iota"))
        .args(args)
        .args(["--state", state.to_str().unwrap()])
        .output()
        .unwrap()
}

#[test]
fn configured_sources_are_polled_and_their_health_is_recorded() {
    let Some(moto) = Moto::start("configured_sources_are_polled") else {
        return;
    };
    moto.create_bucket(BUCKET);
    moto.put_tree(BUCKET, &corpus());
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let add = iota(
        &state,
        &[
            "sources",
            "add",
            "org",
            "--bucket",
            BUCKET,
            "--regions",
            "us-east-1",
            // Credentials then come from STS (moto's, through --endpoint-url).
            "--assume-role",
            "arn:aws:iam::123456789012:role/iota-reader",
        ],
    );
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let add = iota(
        &state,
        &["sources", "add", "gone", "--bucket", "no-such-bucket"],
    );
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );

    // Only `org`: the us-east-1 prefixes of its bucket.
    let first = poll(s3_poll_sources_command(
        &moto,
        &state,
        &[
            "--source",
            "org",
            "--output",
            "stdout",
            "--since",
            "2024-01-01T00:00:00Z",
        ],
    ));
    assert_eq!(first.count("prefixes"), 3, "{}", first.stderr);
    assert_eq!(first.finished["source"], "org");
    let show = iota(&state, &["sources", "show", "org", "--json"]);
    assert!(
        show.status.success(),
        "{}",
        String::from_utf8_lossy(&show.stderr)
    );
    let shown: Value = serde_json::from_slice(&show.stdout).unwrap();
    let health = &shown["health"];
    assert_eq!(health["objects"], first.count("objects"), "{shown}");
    assert_eq!(health["events"], first.count("events"), "{shown}");
    assert!(health["last_success_at"].is_string(), "{shown}");
    assert!(health["last_error"].is_null(), "{shown}");

    // Every source: `gone` fails, is recorded as failing, and the run says so.
    let output = s3_poll_sources_command(&moto, &state, &["--output", "stdout", "--once"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let show = iota(&state, &["sources", "show", "gone", "--json"]);
    let shown: Value = serde_json::from_slice(&show.stdout).unwrap();
    let error = shown["health"]["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("NoSuchBucket"), "{shown}");
    assert!(shown["health"]["last_success_at"].is_null(), "{shown}");
}

#[test]
fn the_classic_s3_poll_command_line_still_works() {
    let Some(moto) = Moto::start("the_classic_s3_poll_command_line_still_works") else {
        return;
    };
    moto.create_bucket(BUCKET);
    moto.put_tree(BUCKET, &corpus());
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let alerts_file = dir.path().join("alerts.jsonl");
    let output = Command::new(env!("CARGO_BIN_EXE_iota"))
        .args([
            "--mode=s3-poll",
            &format!("--s3-bucket={BUCKET}"),
            "--s3-prefix=AWSLogs/*/CloudTrail/",
            "--poll-interval=5m",
            &format!("--state={}", state.display()),
            "--workers=1",
            "--since=2024-01-01T00:00:00Z",
            "--once",
            &format!("--endpoint-url={}", moto.endpoint),
            "--force-path-style",
            &format!("--output=file={}", alerts_file.display()),
        ])
        .envs(AWS_ENV.iter().copied())
        .env_remove("SLACK_WEBHOOK_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("poll finished"), "{stderr}");
    // `*` stood for each of the 3 accounts, each with 3 regions.
    assert!(stderr.contains("\"prefixes\":9"), "{stderr}");
    let reference = scan(&["--workers", "1", corpus().to_str().unwrap()], None);
    assert_eq!(by_id(&read_alerts(&alerts_file)), by_id(&reference.alerts));
}

/// "poll finished" records in a replica's log file.
fn polls_in(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"] == "poll finished")
        .collect()
}

#[test]
fn two_replicas_on_postgres_poll_each_object_once_and_hand_over_when_one_dies() {
    let Some(moto) = Moto::start("two_replicas_on_postgres") else {
        return;
    };
    let Some(postgres) = common::state_store::StoreFixture::postgres("two_s3_poll_replicas") else {
        return;
    };
    moto.create_bucket(BUCKET);
    moto.put_tree(BUCKET, &corpus());
    let dir = tempfile::tempdir().unwrap();
    let state = Path::new(&postgres.location);
    let lease = Duration::from_secs(3);
    let replica = |n: usize| {
        s3_poll_command(
            &moto,
            state,
            &[
                "--output",
                "stdout",
                "--since",
                "2024-01-01T00:00:00Z",
                "--poll-interval",
                "1s",
                "--lister-lease",
                "3s",
                "--listen",
                &free_addr(),
            ],
        )
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join(format!("replica-{n}.log"))).unwrap())
        .spawn()
        .unwrap()
    };
    let mut replicas = [replica(0), replica(1)];
    let logs = [
        dir.path().join("replica-0.log"),
        dir.path().join("replica-1.log"),
    ];

    let store = iota_state::open(&postgres.location).unwrap();
    let committed = || {
        store
            .list_objects(&format!("s3://{BUCKET}"), false)
            .unwrap()
    };
    let started = Instant::now();
    while committed().len() < 15 {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "{} committed; logs:\n{}\n{}",
            committed().len(),
            std::fs::read_to_string(&logs[0]).unwrap_or_default(),
            std::fs::read_to_string(&logs[1]).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Let both run a few poll intervals: only the lease holder polls.
    std::thread::sleep(Duration::from_secs(3));
    let polls = [polls_in(&logs[0]).len(), polls_in(&logs[1]).len()];
    assert!(
        (polls[0] > 0) != (polls[1] > 0),
        "one replica polls, the other stands by: {polls:?}"
    );
    let active = if polls[0] > 0 { 0 } else { 1 };
    let standby = 1 - active;

    // The active replica dies; a new object is then read by the other within the lease time
    // (plus a poll interval and the time to read it).
    replicas[active].kill().unwrap();
    replicas[active].wait().unwrap();
    let killed = Instant::now();
    let later = trail_key(
        "534439589175",
        "us-east-1",
        "20240102T0105Z",
        "Handover00000001",
    );
    moto.put(
        BUCKET,
        &later,
        stop_logging_file("handover-1", "2024-01-02T01:04:00Z"),
    );
    while !committed().iter().any(|o| o.key == later) {
        assert!(
            killed.elapsed() < lease + Duration::from_secs(15),
            "no handover within {:?}",
            killed.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let handover = killed.elapsed();
    eprintln!("handed over and read the new object {handover:?} after the kill");
    // The standby's record of that poll follows its commit.
    while polls_in(&logs[standby]).is_empty() {
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "the standby never polled"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let records = committed();
    assert_eq!(records.len(), 16);
    assert!(
        records.iter().all(|r| r.attempts == 1),
        "no object processed twice: {records:?}"
    );
    unsafe { libc::kill(replicas[standby].id() as i32, libc::SIGTERM) };
    let status = wait_until(
        &mut replicas[standby],
        Instant::now() + Duration::from_secs(30),
    );
    assert!(status.is_some_and(|s| s.success()));
}
