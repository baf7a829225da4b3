//! `iota sqs` against moto on loopback with the real notification chains (bucket -> SNS topic
//! -> queue, and bucket -> queue) and real `.json.gz` uploads: the alerts equal those of
//! `iota scan`, s3:TestEvent is ignored, keys with spaces and `=` are decoded, a redelivered
//! notification adds nothing; and three replicas on one queue with PostgreSQL, one of them
//! killed midway, end with each object committed once and the alerts of a single process.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::daemon::{wait_until, webhook_config};
use common::moto::{Moto, AWS_ENV};
use common::receiver::Receiver;
use common::state_store::StoreFixture;
use common::*;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus-5k")
}

/// `iota sqs` against `moto` with one worker and the bundled rules; `args` follow.
fn sqs_command(moto: &Moto, queue: &str, state: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_iota"));
    command
        .args(["--log-format", "json", "sqs", "--queue-url", queue])
        .args(["--endpoint-url", &moto.endpoint, "--force-path-style"])
        .args(["--state", state, "--workers", "1", "--wait-seconds", "1"])
        .args(args)
        .envs(AWS_ENV.iter().copied())
        .env_remove("RUST_LOG");
    command
}

/// Runs `iota sqs --once` (until the queue is empty); returns its "messages processed"
/// records.
fn drain(moto: &Moto, queue: &str, state: &str, args: &[&str]) -> Vec<Value> {
    let output = sqs_command(moto, queue, state, args)
        .arg("--once")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "iota sqs failed: {stderr}");
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"] == "messages processed")
        .collect()
}

fn total(records: &[Value], field: &str) -> u64 {
    records.iter().map(|r| r[field].as_u64().unwrap()).sum()
}

fn stop_logging_file(id: &str) -> Vec<u8> {
    gzip(&records_json(&[event("StopLogging", id)]))
}

#[test]
fn notifications_through_sns_and_straight_to_a_queue_are_read_once() {
    let Some(moto) = Moto::start("notifications_through_sns_and_straight_to_a_queue") else {
        return;
    };
    let (via_sns, via_sns_arn) = moto.create_queue("via-sns");
    let (direct, direct_arn) = moto.create_queue("direct");
    moto.create_bucket("trail-sns");
    moto.create_bucket("trail-direct");
    // Configuring a notification sends an s3:TestEvent down each chain.
    moto.notify_through_sns("trail-sns", "trail-topic", &via_sns_arn);
    moto.notify_queue("trail-direct", &direct_arn);
    let uploaded = moto.put_tree("trail-sns", &corpus()) as u64;

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db").display().to_string();
    let alerts_file = dir.path().join("alerts.jsonl");
    let output = format!("file={}", alerts_file.display());
    let args = ["--output", output.as_str()];

    let reference = scan(&["--workers", "1", corpus().to_str().unwrap()], None);
    assert_eq!(reference.status, 0, "{}", reference.stderr);

    let records = drain(&moto, &via_sns, &state, &args);
    assert_eq!(total(&records, "ignored"), 1, "the test event: {records:?}");
    // LICENSE, SOURCE.txt and the manifest are objects too; they hold no events.
    assert_eq!(total(&records, "objects"), uploaded, "{records:?}");
    assert_eq!(total(&records, "deleted"), uploaded);
    // Alerts go out as they are created, while later objects may still add to their counts:
    // the ids are those of the scan, and the store has the scan's final counts.
    let expected = by_id(&reference.alerts);
    let delivered: BTreeSet<String> = by_id(&read_alerts(&alerts_file)).into_keys().collect();
    assert_eq!(delivered, expected.keys().cloned().collect::<BTreeSet<_>>());
    assert_eq!(
        read_alerts(&alerts_file).len(),
        expected.len(),
        "each alert once"
    );
    assert_eq!(stored_alerts(&state), expected);
    assert_eq!(moto.queue_depth(&via_sns), 0);

    // A key with a space and `=` arrives URL-encoded and is read under its real name.
    let key = "AWSLogs/534439589175/CloudTrail/us-east-1/2024/01/02/odd name=1.json.gz";
    moto.put("trail-direct", key, stop_logging_file("odd-1"));
    let before = read_alerts(&alerts_file).len();
    let records = drain(&moto, &direct, &state, &args);
    assert_eq!(total(&records, "ignored"), 1, "the test event: {records:?}");
    assert_eq!(total(&records, "objects_ok"), 1, "{records:?}");
    let alerts = read_alerts(&alerts_file);
    let new = &alerts[before..];
    assert!(!new.is_empty());
    assert!(new
        .iter()
        .all(|a| a["source"]["key"] == key && a["source"]["bucket"] == "trail-direct"));

    // The same notification again (a redelivery, a duplicate): deleted, nothing read.
    let etag = moto
        .block_on(moto.s3.head_object().bucket("trail-direct").key(key).send())
        .unwrap()
        .e_tag()
        .unwrap()
        .to_owned();
    let notification = serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "trail-direct"},
               "object": {"key": "AWSLogs/534439589175/CloudTrail/us-east-1/2024/01/02/odd+name%3D1.json.gz",
                          "eTag": etag, "size": 10}}
    }]});
    moto.send_message(&direct, &notification.to_string());
    let records = drain(&moto, &direct, &state, &args);
    assert_eq!(total(&records, "already_committed"), 1, "{records:?}");
    assert_eq!(total(&records, "objects"), 0);
    assert_eq!(total(&records, "deleted"), 1);
    assert_eq!(
        read_alerts(&alerts_file).len(),
        alerts.len(),
        "no alert twice"
    );
    assert_eq!(moto.queue_depth(&direct), 0);
}

/// The corpus's events cut into `n` objects in the CloudTrail layout: (key, gzipped body).
fn corpus_in_objects(n: usize) -> Vec<(String, Vec<u8>)> {
    let mut events = Vec::new();
    for entry in walkdir::WalkDir::new(corpus()).sort_by_file_name() {
        let entry = entry.unwrap();
        if entry.path().extension().is_some_and(|e| e == "gz") {
            let mut text = String::new();
            use std::io::Read;
            flate2::read::GzDecoder::new(std::fs::File::open(entry.path()).unwrap())
                .read_to_string(&mut text)
                .unwrap();
            let records: Value = serde_json::from_str(&text).unwrap();
            events.extend(records["Records"].as_array().unwrap().iter().cloned());
        }
    }
    let per_object = events.len().div_ceil(n);
    events
        .chunks(per_object)
        .enumerate()
        .map(|(i, chunk)| {
            let key = format!(
                "AWSLogs/534439589175/CloudTrail/us-east-1/2024/01/01/534439589175_CloudTrail_us-east-1_20240101T{:02}{:02}Z_Split{i:011}.json.gz",
                i / 60,
                i % 60
            );
            (key, gzip(&records_json(chunk)))
        })
        .collect()
}

/// Every alert of a store (id -> final event count), from `iota alerts list`.
fn stored_alerts(state: &str) -> BTreeMap<String, u64> {
    let output = Command::new(env!("CARGO_BIN_EXE_iota"))
        .args(["alerts", "list", "--json", "--state", state])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let alerts: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    by_id(&alerts)
}

#[test]
fn three_replicas_on_one_queue_give_the_alerts_of_one() {
    three_replicas(false);
}

#[test]
fn three_replicas_on_one_queue_give_the_alerts_of_one_when_one_is_killed() {
    three_replicas(true);
}

/// Three replicas, PostgreSQL, 200 objects; with `kill`, one replica is SIGKILLed midway.
fn three_replicas(kill: bool) {
    let name = format!("three_replicas_kill_{kill}");
    let Some(moto) = Moto::start(&name) else {
        return;
    };
    let Some(postgres) = StoreFixture::postgres(&name) else {
        return;
    };
    let objects = corpus_in_objects(200);
    assert_eq!(objects.len(), 200);

    // The reference: the same objects scanned by one process into a store of its own.
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    for (key, body) in &objects {
        let path = files.join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    let reference_state = dir.path().join("reference.db").display().to_string();
    let reference = scan(
        &[
            "--workers",
            "1",
            "--state",
            &reference_state,
            files.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(reference.status, 0, "{}", reference.stderr);
    assert!(
        reference.count("below_threshold") > 0,
        "thresholded rules are exercised: {}",
        reference.summary
    );
    let expected = stored_alerts(&reference_state);

    let (queue, queue_arn) = moto.create_queue("trail");
    moto.create_bucket("org-trail");
    moto.notify_through_sns("org-trail", "trail-topic", &queue_arn);
    moto.put_many("org-trail", objects, 8);

    let receiver = Receiver::start(Duration::from_millis(2));
    let config = webhook_config(dir.path(), &receiver);
    let replica = |n: usize| -> Child {
        sqs_command(
            &moto,
            &queue,
            &postgres.location,
            &[
                "--config",
                config.to_str().unwrap(),
                "--max-messages",
                "2",
                "--visibility-timeout",
                "5s",
                "--listen",
                &common::daemon::free_addr(),
            ],
        )
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join(format!("replica-{n}.log"))).unwrap())
        .spawn()
        .unwrap()
    };
    let mut replicas: Vec<Child> = (0..3).map(replica).collect();

    // One replica is killed once the work is under way.
    let store = iota_state::open(&postgres.location).unwrap();
    let started = Instant::now();
    while store.list_objects("s3://org-trail", false).unwrap().len() < 30 {
        assert!(started.elapsed() < Duration::from_secs(120), "no progress");
        std::thread::sleep(Duration::from_millis(100));
    }
    if kill {
        replicas[0].kill().unwrap(); // SIGKILL
        replicas[0].wait().unwrap();
    }

    // The others finish: every object committed, the queue empty, deliveries done.
    loop {
        let committed = store.list_objects("s3://org-trail", false).unwrap();
        let delivered: BTreeSet<String> = receiver
            .accepted()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect();
        if committed.len() == 200
            && moto.queue_depth(&queue) == 0
            && delivered.len() >= expected.len()
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "{} objects committed, {} messages left, {} of {} alerts delivered",
            committed.len(),
            moto.queue_depth(&queue),
            delivered.len(),
            expected.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for mut child in replicas.into_iter().skip(usize::from(kill)) {
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = wait_until(&mut child, Instant::now() + Duration::from_secs(60));
        assert!(
            status.is_some_and(|s| s.success()),
            "replica stopped cleanly"
        );
    }

    let committed = store.list_objects("s3://org-trail", false).unwrap();
    assert_eq!(committed.len(), 200);
    assert!(
        committed
            .iter()
            .all(|o| o.attempts == 1 && o.outcome == iota_state::ObjectOutcome::Ok),
        "each object committed once"
    );
    assert_eq!(
        stored_alerts(&postgres.location),
        expected,
        "the alerts and counts of one process"
    );
    // The work was shared: each replica read objects.
    for n in 0..3 {
        let log = std::fs::read_to_string(dir.path().join(format!("replica-{n}.log"))).unwrap();
        let read: u64 = log
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|l| l["message"] == "messages processed")
            .map(|l| l["objects_ok"].as_u64().unwrap())
            .sum();
        assert!(read > 0, "replica {n} read nothing:\n{log}");
    }

    let accepted = receiver.accepted();
    let ids: BTreeSet<String> = accepted
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, expected.keys().cloned().collect::<BTreeSet<_>>());
    let repeats = accepted.len() - ids.len();
    if kill {
        assert!(
            repeats <= 1,
            "only a send in flight in the killed replica may repeat"
        );
    } else {
        assert_eq!(repeats, 0, "each alert delivered exactly once");
    }
}

#[test]
fn an_unreachable_queue_is_retried_without_exiting() {
    let Some(mut moto) = Moto::start("an_unreachable_queue_is_retried") else {
        return;
    };
    let (queue, _) = moto.create_queue("trail");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db").display().to_string();
    let addr = common::daemon::free_addr();
    let mut child = sqs_command(
        &moto,
        &queue,
        &state,
        &["--output", "stdout", "--listen", &addr],
    )
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(dir.path().join("sqs.log")).unwrap())
    .spawn()
    .unwrap();
    let started = Instant::now();
    while common::daemon::http_get_status(&addr, "/readyz") != Some(200) {
        assert!(started.elapsed() < Duration::from_secs(60), "never ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    moto.stop();
    // Receives fail and are retried with backoff; the process stays up and says why.
    let log = dir.path().join("sqs.log");
    while !std::fs::read_to_string(&log)
        .unwrap()
        .contains("cannot receive messages")
    {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "no receive error logged"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(3));
    assert!(child.try_wait().unwrap().is_none(), "still running");
    assert_eq!(
        common::daemon::http_get_status(&addr, "/healthz"),
        Some(200)
    );
    let (status, body) = common::daemon::http_get(&addr, "/readyz");
    assert_eq!(status, 503);
    assert!(body.contains("sqs"), "{body}");
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = wait_until(&mut child, Instant::now() + Duration::from_secs(60));
    assert!(status.is_some_and(|s| s.success()));
}

#[test]
fn a_message_stays_hidden_while_its_object_takes_longer_than_the_visibility_timeout() {
    let Some(moto) = Moto::start("a_message_stays_hidden") else {
        return;
    };
    let (queue, queue_arn) = moto.create_queue("slow");
    moto.create_bucket("trail-slow");
    moto.notify_queue("trail-slow", &queue_arn);
    let dir = tempfile::tempdir().unwrap();
    // A rule that takes a second per event: 6 events take twice the 3s visibility timeout.
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("slow_stop_logging.py"),
        "import time\n\ndef rule(event):\n    time.sleep(1)\n    return event.get('eventName') == 'StopLogging'\n",
    )
    .unwrap();
    let key = "AWSLogs/534439589175/CloudTrail/us-east-1/2024/01/02/slow.json.gz";
    moto.put(
        "trail-slow",
        key,
        gzip(&records_json(&events("StopLogging", "slow", 6))),
    );
    let state = dir.path().join("state.db").display().to_string();
    let replica = |n: usize| {
        sqs_command(
            &moto,
            &queue,
            &state,
            &[
                "--rules",
                rules.to_str().unwrap(),
                "--visibility-timeout",
                "3s",
                "--output",
                "stdout",
                "--listen",
                &common::daemon::free_addr(),
            ],
        )
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join(format!("replica-{n}.log"))).unwrap())
        .spawn()
        .unwrap()
    };
    let mut replicas = [replica(0), replica(1)];
    let store = iota_state::open(&state).unwrap();
    let started = Instant::now();
    while store
        .list_objects("s3://trail-slow", false)
        .unwrap()
        .is_empty()
    {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "never committed"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Long enough for a message whose visibility lapsed to be received again.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(moto.queue_depth(&queue), 0, "deleted after its commit");
    for child in &mut replicas {
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = wait_until(child, Instant::now() + Duration::from_secs(60));
        assert!(status.is_some_and(|s| s.success()));
    }
    // One replica read the object; the other never received its message.
    let mut read = Vec::new();
    for n in 0..2 {
        let log = std::fs::read_to_string(dir.path().join(format!("replica-{n}.log"))).unwrap();
        read.push(
            log.lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .filter(|l| l["message"] == "messages processed")
                .map(|l| l["objects"].as_u64().unwrap() + l["already_committed"].as_u64().unwrap())
                .sum::<u64>(),
        );
    }
    read.sort();
    assert_eq!(read, [0, 1], "the message was handled by one replica only");
}
