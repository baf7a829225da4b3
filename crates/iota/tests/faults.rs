//! The daemons under faults, against real services on loopback with a fault-injecting proxy
//! between (`common/fault_proxy.rs`): S3 errors, throttling, resets, timeouts and trickled
//! downloads for `iota s3-poll`; SQS receive and delete errors for `iota sqs`; the PostgreSQL
//! state store cut off and restored; webhook 500s, 429s with `Retry-After`, timeouts and a
//! trickled answer, and a receiver that hangs for good while logs keep arriving. Each test
//! asserts that the daemon stays up and retries, that every object is committed once and
//! every alert delivered (a second receipt only where a send timed out after the receiver got
//! it), and that /readyz and /metrics show the trouble while it lasts.
//!
//! Bad objects in every daemon (the scan-mode corpus's generators, `bad_input/corpus.rs`):
//! recorded with their reason, counted, and the good objects around them processed.
//!
//! Short timeouts and backoffs (`--request-timeout 2s`, `--failed-object-retry 1s`,
//! `--poll-interval 1s`, a webhook timeout of 1s) keep each test within a minute or so.

mod common;
#[path = "bad_input/corpus.rs"]
#[allow(dead_code)] // the daemons check part of what a scan of a case checks
mod corpus;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::daemon::{http_get, Running as Daemon};
use common::fault_proxy::{Fault, FaultProxy, Request, TcpProxy};
use common::moto::{Moto, AWS_ENV};
use common::receiver::Receiver;
use common::state_store::StoreFixture;
use common::*;
use iota_state::{ObjectOutcome, ObjectRecord};

const BUCKET: &str = "fault-trail";
const ACCOUNT: &str = "534439589175";

/// Options that keep retries short, for `iota s3-poll` and `iota sqs`.
const SHORT_RETRIES: &[&str] = &["--request-timeout", "2s", "--shutdown-timeout", "10s"];

/// The fixture rule `stop_logging`: one alert per StopLogging eventID.
fn stop_logging_rule() -> [String; 2] {
    [
        "--rules".into(),
        fixtures()
            .join("rules/good/stop_logging.py")
            .display()
            .to_string(),
    ]
}

/// `iota s3-poll` through `endpoint`, polling every second, with the `stop_logging` rule
/// and short retries; `args` follow (`--bucket BUCKET`, or none to poll the configured
/// sources).
fn s3_poll(endpoint: &str, state: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_iota"));
    command
        .args(["--log-format", "json", "s3-poll"])
        .args(["--endpoint-url", endpoint, "--force-path-style"])
        .args(["--state", state, "--workers", "1"])
        .args(stop_logging_rule())
        .args(["--since", "2024-01-01T00:00:00Z", "--poll-interval", "1s"])
        .args(["--failed-object-retry", "1s"])
        .args(SHORT_RETRIES)
        .args(args)
        .envs(AWS_ENV.iter().copied())
        .env_remove("RUST_LOG");
    command
}

/// `iota sqs --queue-url QUEUE` through `endpoint` with the `stop_logging` rule, short
/// retries and a visibility timeout of 2s; `args` follow.
fn sqs(endpoint: &str, queue: &str, state: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_iota"));
    command
        .args(["--log-format", "json", "sqs", "--queue-url", queue])
        .args(["--endpoint-url", endpoint, "--force-path-style"])
        .args(["--state", state, "--workers", "1"])
        .args(stop_logging_rule())
        .args(["--wait-seconds", "1", "--visibility-timeout", "2s"])
        .args(SHORT_RETRIES)
        .args(args)
        .envs(AWS_ENV.iter().copied())
        .env_remove("RUST_LOG");
    command
}

/// A CloudTrail key of `region` for `stamp` (`YYYYMMDDTHHMMZ`).
fn trail_key(region: &str, stamp: &str, unique: &str) -> String {
    format!(
        "AWSLogs/{ACCOUNT}/CloudTrail/{region}/{}/{}/{}/{ACCOUNT}_CloudTrail_{region}_{stamp}_{unique}.json.gz",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8]
    )
}

/// The key of the `i`th object of a test, one minute apart.
fn nth_key(i: usize, unique: &str) -> String {
    trail_key(
        "us-east-1",
        &format!("20240101T{:02}{:02}Z", 10 + i / 60, i % 60),
        &format!("{unique}{i:08}"),
    )
}

/// A gzipped CloudTrail file of one StopLogging event with this eventID.
fn stop_logging_object(id: &str) -> Vec<u8> {
    gzip(&records_json(&[event("StopLogging", id)]))
}

/// The alerts of a `file=` output: eventID of the alerted event -> times delivered.
fn delivered_event_ids(alerts: &[Value]) -> BTreeMap<String, usize> {
    let mut ids = BTreeMap::new();
    for alert in alerts {
        *ids.entry(alert["event"]["eventID"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    ids
}

/// Each of `ids` once.
fn once_each(ids: &[String]) -> BTreeMap<String, usize> {
    ids.iter().map(|id| (id.clone(), 1)).collect()
}

/// The processed-object records of `source` in the store at `location`, by key.
fn objects(location: &str, source: &str) -> BTreeMap<String, ObjectRecord> {
    let store = iota_state::open(location).unwrap();
    store
        .list_objects(source, false)
        .unwrap()
        .into_iter()
        .map(|r| (r.key.clone(), r))
        .collect()
}

fn committed(location: &str, source: &str) -> usize {
    objects(location, source)
        .values()
        .filter(|r| !matches!(r.outcome, ObjectOutcome::Failed(_)))
        .count()
}

#[test]
fn s3_poll_retries_s3_errors_timeouts_and_resets_and_reads_each_object_once() {
    let Some(moto) = Moto::start("s3_poll_faults") else {
        return;
    };
    moto.create_bucket(BUCKET);
    let keys: Vec<String> = (0..6).map(|i| nth_key(i, "Fault")).collect();
    let ids: Vec<String> = (0..6).map(|i| format!("s3-fault-{i}")).collect();
    for (key, id) in keys.iter().zip(&ids) {
        moto.put(BUCKET, key, stop_logging_object(id));
    }
    let proxy = FaultProxy::start(&moto.endpoint);
    // The first listing fails four times, which is every attempt of a request: its poll fails
    // and the next one is due a poll interval later. That one gets through after two.
    for fault in [
        Fault::s3_error(500, "InternalError"),
        Fault::s3_error(503, "SlowDown"),
        Fault::Reset,
        Fault::Hang,
        Fault::s3_error(500, "InternalError"),
        Fault::s3_error(503, "SlowDown"),
    ] {
        proxy.inject(1, fault, |r: &Request| r.is_list_objects());
    }
    // Downloads: one fails for good once (five 500s: four attempts, then one more on its
    // retry), one is throttled and reset, one hangs, one trickles its body.
    let key = |i: usize| {
        let key = keys[i].clone();
        move |r: &Request| r.is_get_object(&key)
    };
    proxy.inject(5, Fault::s3_error(500, "InternalError"), key(1));
    proxy.inject(1, Fault::s3_error(503, "SlowDown"), key(2));
    proxy.inject(1, Fault::Reset, key(2));
    proxy.inject(1, Fault::Hang, key(3));
    let every = Duration::from_millis(100);
    proxy.inject(1, Fault::TrickleBody { every }, key(4));

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db").display().to_string();
    let alerts = dir.path().join("alerts.jsonl");
    let output = format!("file={}", alerts.display());
    let daemon = Daemon::start(s3_poll(
        &proxy.endpoint,
        &state,
        &["--bucket", BUCKET, "--output", &output],
    ));
    let source = format!("s3://{BUCKET}");
    daemon.wait_for("every object committed", || {
        committed(&state, &source) == keys.len()
    });
    daemon.wait_for("every alert delivered", || {
        read_alerts(&alerts).len() >= ids.len()
    });
    assert_eq!(proxy.pending(), 0, "every fault was served");

    let records = objects(&state, &source);
    for (i, key) in keys.iter().enumerate() {
        let record = &records[key];
        assert_eq!(record.outcome, ObjectOutcome::Ok, "{record:?}");
        // Objects 1 and 4 failed once, recorded as failed and read again by a later poll.
        let attempts = if i == 1 || i == 4 { 2 } else { 1 };
        assert_eq!(record.attempts, attempts, "{record:?}\n{}", daemon.stderr());
    }
    assert!(daemon.logged("InternalError") > 0, "{}", daemon.stderr());
    assert!(
        daemon.logged("download too slow") > 0,
        "{}",
        daemon.stderr()
    );
    assert!(daemon.logged("poll failed") > 0, "{}", daemon.stderr());
    assert_eq!(delivered_event_ids(&read_alerts(&alerts)), once_each(&ids));
    assert_eq!(daemon.metric(r#"iota_objects_total{outcome="ok"}"#), 6.0);
    assert_eq!(
        daemon.metric(r#"iota_objects_total{outcome="failed"}"#),
        2.0
    );
    assert!(daemon.metric("iota_poll_failures_total") >= 1.0);

    // S3 keeps throttling every listing: not ready, naming S3, polls failing; still alive.
    let failures = daemon.metric("iota_poll_failures_total");
    proxy.inject(
        usize::MAX,
        Fault::s3_error(503, "SlowDown"),
        |r: &Request| r.is_list_objects(),
    );
    daemon.wait_for("/readyz failing on s3", || {
        let (status, body) = daemon.readyz();
        status == 503 && body.contains("s3")
    });
    daemon.wait_for("failed polls counted", || {
        daemon.metric("iota_poll_failures_total") > failures
    });
    assert_eq!(http_get(&daemon.addr, "/healthz").0, 200);

    // Back to normal: ready again, and a new object is read once.
    proxy.clear();
    daemon.wait_for("/readyz passing", || daemon.readyz().0 == 200);
    let later = nth_key(10, "Later");
    moto.put(BUCKET, &later, stop_logging_object("s3-later"));
    daemon.wait_for("the later object committed", || {
        objects(&state, &source)
            .get(&later)
            .is_some_and(|r| r.outcome == ObjectOutcome::Ok && r.attempts == 1)
    });
    daemon.stop_ok();
}

#[test]
fn sqs_receive_and_delete_errors_lose_nothing_and_repeat_no_alert() {
    let Some(moto) = Moto::start("sqs_faults") else {
        return;
    };
    let (queue, queue_arn) = moto.create_queue("fault-queue");
    moto.create_bucket(BUCKET);
    moto.notify_queue(BUCKET, &queue_arn);
    let ids: Vec<String> = (0..5).map(|i| format!("sqs-fault-{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        moto.put(BUCKET, &nth_key(i, "Sqs"), stop_logging_object(id));
    }
    let proxy = FaultProxy::start(&moto.endpoint);
    let receive = |r: &Request| r.is_sqs("ReceiveMessage");
    // The first receive fails on every attempt (the hang until the read timeout), so the
    // daemon backs off; the next gets through after one more error.
    for fault in [
        Fault::sqs_error(500, "InternalError"),
        Fault::Reset,
        Fault::Hang,
        Fault::sqs_error(503, "ServiceUnavailable"),
        Fault::sqs_error(500, "InternalError"),
    ] {
        proxy.inject(1, fault, receive);
    }
    // Deletes fail until told otherwise: a retried 500, then refusals.
    proxy.inject(1, Fault::sqs_error(500, "InternalError"), |r: &Request| {
        r.is_sqs("DeleteMessageBatch")
    });
    proxy.inject(
        usize::MAX,
        Fault::sqs_error(403, "AccessDenied"),
        |r: &Request| r.is_sqs("DeleteMessageBatch") || r.is_sqs("DeleteMessage"),
    );

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db").display().to_string();
    let alerts = dir.path().join("alerts.jsonl");
    let output = format!("file={}", alerts.display());
    let daemon = Daemon::start(sqs(&proxy.endpoint, &queue, &state, &["--output", &output]));
    let source = format!("s3://{BUCKET}");
    daemon.wait_for("every object committed", || {
        committed(&state, &source) == ids.len()
    });
    // Every message of the first receive (the objects' and the test event's) given up on.
    daemon.wait_for("the undeleted messages reported", || {
        daemon.logged("cannot delete") > ids.len()
    });
    assert!(
        daemon.logged("cannot receive messages") >= 1,
        "{}",
        daemon.stderr()
    );
    assert!(daemon.metric("iota_poll_failures_total") >= 1.0);

    // Deletes work again: the messages left come back, find their objects committed and are
    // deleted without a second read or alert.
    proxy.clear();
    daemon.wait_for("an empty queue", || moto.queue_depth(&queue) == 0);
    daemon.wait_for("every alert delivered", || {
        read_alerts(&alerts).len() >= ids.len()
    });
    // The queue empties when the deletes are done; the round's log line follows them.
    let already_committed = || -> u64 {
        daemon
            .records("messages processed")
            .iter()
            .map(|r| r["already_committed"].as_u64().unwrap())
            .sum()
    };
    daemon.wait_for(
        "each redelivered message finding its object committed",
        || already_committed() >= ids.len() as u64,
    );
    for record in objects(&state, &source).values() {
        assert_eq!(record.attempts, 1, "read once: {record:?}");
    }
    // Let a few more receives pass: nothing is delivered twice.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(delivered_event_ids(&read_alerts(&alerts)), once_each(&ids));
    daemon.stop_ok();
}

/// The `host:port` of a `postgres://user@host:port/db` URL.
fn postgres_address(url: &str) -> &str {
    let after_user = url.split_once('@').unwrap().1;
    after_user.split('/').next().unwrap()
}

#[test]
fn s3_poll_rides_out_the_state_store_going_away_and_coming_back() {
    let Some(moto) = Moto::start("postgres_cut") else {
        return;
    };
    let Some(postgres) = StoreFixture::postgres("faults_postgres_cut") else {
        return;
    };
    moto.create_bucket(BUCKET);
    let ids: Vec<String> = (0..10).map(|i| format!("pg-cut-{i}")).collect();
    for (i, id) in ids.iter().enumerate().take(5) {
        moto.put(BUCKET, &nth_key(i, "Cut"), stop_logging_object(id));
    }
    let address = postgres_address(&postgres.location);
    let upstream: SocketAddr = address.parse().unwrap();
    let relay = TcpProxy::start(upstream);
    let through_relay =
        postgres
            .location
            .replacen(address, &format!("127.0.0.1:{}", relay.port), 1);

    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.jsonl");
    let output = format!("file={}", alerts.display());
    let daemon = Daemon::start(s3_poll(
        &moto.endpoint,
        &through_relay,
        &["--bucket", BUCKET, "--output", &output],
    ));
    let source = format!("s3://{BUCKET}");
    daemon.wait_for("the first objects committed", || {
        committed(&postgres.location, &source) == 5
    });

    // The database goes away: every connection dropped, new ones refused.
    relay.cut();
    for (i, id) in ids.iter().enumerate().skip(5) {
        moto.put(BUCKET, &nth_key(i, "Cut"), stop_logging_object(id));
    }
    daemon.wait_for("/readyz failing on the state store", || {
        let (status, body) = daemon.readyz();
        status == 503 && body.contains("state store")
    });
    daemon.wait_for("failed polls counted", || {
        daemon.metric("iota_poll_failures_total") >= 1.0
    });
    assert_eq!(http_get(&daemon.addr, "/healthz").0, 200);

    relay.restore();
    daemon.wait_for("every object committed", || {
        committed(&postgres.location, &source) == ids.len()
    });
    daemon.wait_for("/readyz passing", || daemon.readyz().0 == 200);
    daemon.wait_for("every alert delivered", || {
        read_alerts(&alerts).len() >= ids.len()
    });
    for record in objects(&postgres.location, &source).values() {
        assert_eq!(record.outcome, ObjectOutcome::Ok, "{record:?}");
        assert_eq!(record.attempts, 1, "committed once: {record:?}");
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(delivered_event_ids(&read_alerts(&alerts)), once_each(&ids));
    daemon.stop_ok();
}

/// Writes a config with one webhook output named `hook` to `url`, with a timeout of 1s and
/// attempts enough to outlast the outages of the test.
fn webhook_config(dir: &Path, url: &str) -> PathBuf {
    let config = dir.join("iota.toml");
    std::fs::write(
        &config,
        format!(
            "[[outputs]]\nkind = \"webhook\"\nname = \"hook\"\ntarget = \"{url}/hook\"\n\
             timeout = \"1s\"\nmax_attempts = 50\n"
        ),
    )
    .unwrap();
    config
}

/// The alert id a webhook request carries.
fn alert_id(request: &Request) -> String {
    let alert: Value = serde_json::from_slice(&request.body).unwrap();
    alert["id"].as_str().unwrap().to_owned()
}

#[test]
fn webhook_errors_throttling_timeouts_and_a_hung_receiver_neither_lose_nor_block() {
    let Some(moto) = Moto::start("webhook_faults") else {
        return;
    };
    moto.create_bucket(BUCKET);
    let ids: Vec<String> = (0..6).map(|i| format!("hook-{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        moto.put(BUCKET, &nth_key(i, "Hook"), stop_logging_object(id));
    }
    let receiver = Receiver::start(Duration::ZERO);
    let proxy = FaultProxy::start(&receiver.url);
    let any = |_: &Request| true;
    proxy.inject(2, Fault::status(500), any);
    proxy.inject(2, Fault::too_many_requests(1), any);
    // Never reaches the receiver: a timeout that cannot repeat an alert.
    proxy.inject(2, Fault::Hang, any);
    // Reach the receiver, whose answer is lost or too slow: the sender sees a timeout and
    // sends again, so the receiver gets the alert twice (docs/ALERTS.md says so).
    proxy.inject(1, Fault::ForwardThenHang, any);
    let every = Duration::from_millis(200);
    proxy.inject(1, Fault::Trickle { every }, any);

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db").display().to_string();
    let config = webhook_config(dir.path(), &proxy.endpoint);
    let daemon = Daemon::start(s3_poll(
        &moto.endpoint,
        &state,
        &["--bucket", BUCKET, "--config", config.to_str().unwrap()],
    ));
    let received = || {
        let mut ids = BTreeMap::new();
        for alert in receiver.accepted() {
            *ids.entry(alert["event"]["eventID"].as_str().unwrap().to_owned())
                .or_insert(0usize) += 1;
        }
        ids
    };
    daemon.wait_for("the first alerts received", || received().len() == 6);
    assert_eq!(proxy.pending(), 0, "every fault was served");
    let log = proxy.log();
    assert_eq!(log.faulted(|_| true), 8);
    let reached_receiver = log
        .requests
        .iter()
        .filter(|(_, _, f)| matches!(f, Some(Fault::ForwardThenHang | Fault::Trickle { .. })))
        .count();
    let repeated = receiver.accepted().len() - 6;
    assert!(
        repeated <= reached_receiver,
        "{repeated} alerts received twice; only the {reached_receiver} sends that timed out \
         after reaching the receiver may repeat"
    );
    // A 429's Retry-After is honoured: the same alert is not sent again within 1s.
    for (at, request, fault) in &log.requests {
        if let Some(Fault::Status { status: 429, .. }) = fault {
            let id = alert_id(request);
            let next = log
                .requests
                .iter()
                .find(|(later, r, _)| later > at && alert_id(r) == id)
                .expect("the throttled alert is sent again");
            assert!(
                next.0.duration_since(*at) >= Duration::from_secs(1),
                "sent again {:?} after a 429 asking for 1s",
                next.0.duration_since(*at)
            );
        }
    }
    // Counted once each attempt has ended (the alert may be received while the sender still
    // waits for the answer).
    daemon.wait_for("a failure counted for each of the 8 faults", || {
        daemon.metric(r#"iota_delivery_failures_total{output="hook"}"#) >= 8.0
    });
    daemon.wait_for("an attempt counted for each fault and alert", || {
        daemon.metric(r#"iota_delivery_attempts_total{output="hook"}"#) >= 14.0
    });
    let failures = daemon.metric(r#"iota_delivery_failures_total{output="hook"}"#);

    // The receiver hangs for good. An object of 20 alerts is read, and their deliveries
    // hang one after the other; an object written next is read within a few polls all the
    // same, while the alerts wait in the outbox (20 sends timing out in a row would hold it
    // up for 20 s if reading waited for deliveries).
    proxy.inject(usize::MAX, Fault::Hang, any);
    let burst: Vec<Value> = (0..20)
        .map(|n| event("StopLogging", &format!("hook-burst-{n}")))
        .collect();
    moto.put(BUCKET, &nth_key(6, "Hook"), gzip(&records_json(&burst)));
    let source = format!("s3://{BUCKET}");
    daemon.wait_for("the burst committed", || committed(&state, &source) == 7);
    daemon.wait_for("the burst's alerts waiting in iota_outbox_pending", || {
        daemon.metric("iota_outbox_pending") >= 10.0
    });
    let later = nth_key(7, "Hook");
    moto.put(BUCKET, &later, stop_logging_object("hook-later"));
    let put_at = Instant::now();
    daemon.wait_for("the later object committed", || {
        committed(&state, &source) == 8
    });
    assert!(
        put_at.elapsed() < Duration::from_secs(10),
        "reading waited {:?} for the hung receiver",
        put_at.elapsed()
    );
    assert!(daemon.metric(r#"iota_delivery_failures_total{output="hook"}"#) > failures);

    proxy.clear();
    let all = ids.len() + burst.len() + 1;
    daemon.wait_for("every alert received", || received().len() == all);
    let repeated = receiver.accepted().len() - all;
    assert!(repeated <= reached_receiver, "{repeated} repeated");
    daemon.stop_ok();
}

/// The bad-input corpus's case `name`, built in `dir`: its files and what a scan makes of it.
fn bad_case(name: &str, dir: &Path) -> (Vec<PathBuf>, corpus::Case) {
    let case = corpus::cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name} in the corpus"));
    let case_dir = dir.join(name);
    std::fs::create_dir_all(&case_dir).unwrap();
    let target = (case.build)(&case_dir);
    (target.paths, case)
}

/// The bad objects every daemon is given, by corpus case: the file, and the reason its
/// record must give (the corpus's own report, less the scan's prefix).
const BAD_CASES: [&str; 4] = [
    "gzip_truncated",
    "gzip_of_garbage",
    "records_not_an_array",
    "gzip_bomb_of_zeros",
];

/// What the daemons must make of the bad cases: per case, its bytes, the eventIDs it must
/// alert on, its events, and the reason its record must hold.
struct BadObject {
    name: &'static str,
    bytes: Vec<u8>,
    alerts: Vec<String>,
    events: u64,
    reason: String,
    malformed: u64,
}

fn bad_objects(dir: &Path) -> Vec<BadObject> {
    BAD_CASES
        .iter()
        .map(|name| {
            let (paths, case) = bad_case(name, dir);
            assert_eq!(paths.len(), 1, "{name}");
            let report = &case.expect.reports[0];
            BadObject {
                name: case.name,
                bytes: std::fs::read(&paths[0]).unwrap(),
                alerts: case.expect.alerts.iter().map(|s| s.to_string()).collect(),
                events: case.expect.events as u64,
                reason: report
                    .message
                    .trim_start_matches("input could not be read completely: ")
                    .to_owned(),
                malformed: case.expect.malformed as u64,
            }
        })
        .collect()
}

/// Uploads the bad objects to the bucket; returns the eventIDs they must alert on and each
/// object's key.
fn upload_bad_objects<'a>(
    moto: &Moto,
    bad: &'a [BadObject],
) -> (Vec<String>, Vec<(String, &'a BadObject)>) {
    let mut expected = Vec::new();
    let mut keys = Vec::new();
    for (i, object) in bad.iter().enumerate() {
        let key = nth_key(i, "Bad");
        moto.put(BUCKET, &key, object.bytes.clone());
        expected.extend(object.alerts.iter().cloned());
        keys.push((key, object));
    }
    (expected, keys)
}

/// Each bad object's record: partial (kept, not read again) with the reason.
fn assert_bad_records(records: &BTreeMap<String, ObjectRecord>, bad: &[(String, &BadObject)]) {
    for (key, object) in bad {
        let record = records
            .get(key)
            .unwrap_or_else(|| panic!("{}: no record of {key}: {records:?}", object.name));
        match &record.outcome {
            ObjectOutcome::Partial(reason) => assert!(
                reason.contains(&object.reason),
                "{}: {reason:?} does not say {:?}",
                object.name,
                object.reason
            ),
            other => panic!("{}: {other:?}, expected partial", object.name),
        }
        assert_eq!(record.events, object.events, "{}", object.name);
        assert_eq!(record.attempts, 1, "{}", object.name);
    }
}

#[test]
fn s3_poll_records_bad_objects_with_their_reason_and_goes_on() {
    let Some(moto) = Moto::start("s3_poll_bad_objects") else {
        return;
    };
    moto.create_bucket(BUCKET);
    let dir = tempfile::tempdir().unwrap();
    let bad = bad_objects(dir.path());
    let (mut expected, keys) = upload_bad_objects(&moto, &bad);
    // Listed, then gone before its download (the proxy answers as S3 does then).
    let gone = nth_key(10, "Gone");
    moto.put(BUCKET, &gone, stop_logging_object("never-read"));
    let proxy = FaultProxy::start(&moto.endpoint);
    let gone_key = gone.clone();
    proxy.inject(
        usize::MAX,
        Fault::s3_error(404, "NoSuchKey"),
        move |r: &Request| r.is_get_object(&gone_key),
    );
    let good = nth_key(20, "Good");
    moto.put(BUCKET, &good, stop_logging_object("good-0"));
    expected.push("good-0".into());

    let state = dir.path().join("state.db").display().to_string();
    let add = store_command("sources", &state, &["add", "trail", "--bucket", BUCKET]);
    assert_eq!(add.status, 0, "{}", add.stderr);
    let alerts = dir.path().join("alerts.jsonl");
    let output = format!("file={}", alerts.display());
    // Polls the configured source.
    let daemon = Daemon::start(s3_poll(&proxy.endpoint, &state, &["--output", &output]));
    let source = format!("s3://{BUCKET}");
    daemon.wait_for("the good object committed", || {
        objects(&state, &source).contains_key(&good)
    });
    daemon.wait_for("the bad objects' alerts", || {
        read_alerts(&alerts).len() >= expected.len()
    });

    let records = objects(&state, &source);
    assert_bad_records(&records, &keys);
    assert!(
        matches!(&records[&gone].outcome, ObjectOutcome::Failed(e) if e.contains("NoSuchKey")),
        "{:?}",
        records[&gone]
    );
    assert_eq!(records[&good].outcome, ObjectOutcome::Ok);
    let show = store_command("sources", &state, &["show", "trail", "--json"]);
    assert_eq!(show.status, 0, "{}", show.stderr);
    let shown: Value = serde_json::from_str(&show.stdout).unwrap();
    let failed = shown["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{shown}");
    assert_eq!(failed[0]["key"], gone.as_str());
    assert!(
        failed[0]["outcome"].to_string().contains("NoSuchKey"),
        "{shown}"
    );

    assert_eq!(
        daemon.metric(r#"iota_objects_total{outcome="partial"}"#),
        bad.len() as f64
    );
    assert!(daemon.metric(r#"iota_objects_total{outcome="failed"}"#) >= 1.0);
    assert_eq!(daemon.metric(r#"iota_objects_total{outcome="ok"}"#), 1.0);
    let malformed: u64 = bad.iter().map(|b| b.malformed).sum();
    assert_eq!(daemon.metric("iota_malformed_total"), malformed as f64);

    // The daemon goes on: a later object is read, and the vanished one is tried again.
    let later = nth_key(30, "Later");
    moto.put(BUCKET, &later, stop_logging_object("good-1"));
    expected.push("good-1".into());
    daemon.wait_for("the later object committed", || {
        objects(&state, &source).contains_key(&later)
    });
    daemon.wait_for("the vanished object retried", || {
        objects(&state, &source)[&gone].attempts >= 2
    });
    daemon.wait_for("every alert", || {
        read_alerts(&alerts).len() >= expected.len()
    });
    expected.sort();
    assert_eq!(
        delivered_event_ids(&read_alerts(&alerts)),
        once_each(&expected)
    );
    daemon.stop_ok();
}

#[test]
fn sqs_records_bad_objects_with_their_reason_and_goes_on() {
    let Some(moto) = Moto::start("sqs_bad_objects") else {
        return;
    };
    let (queue, queue_arn) = moto.create_queue("bad-queue");
    moto.create_bucket(BUCKET);
    moto.notify_queue(BUCKET, &queue_arn);
    let dir = tempfile::tempdir().unwrap();
    let bad = bad_objects(dir.path());
    let (mut expected, keys) = upload_bad_objects(&moto, &bad);
    // Announced, then deleted before it is read.
    let gone = nth_key(10, "Gone");
    moto.put(BUCKET, &gone, stop_logging_object("never-read"));
    moto.block_on(moto.s3.delete_object().bucket(BUCKET).key(&gone).send())
        .unwrap();
    let good = nth_key(20, "Good");
    moto.put(BUCKET, &good, stop_logging_object("good-0"));
    expected.push("good-0".into());

    let state = dir.path().join("state.db").display().to_string();
    let alerts = dir.path().join("alerts.jsonl");
    let output = format!("file={}", alerts.display());
    let daemon = Daemon::start(sqs(&moto.endpoint, &queue, &state, &["--output", &output]));
    let source = format!("s3://{BUCKET}");
    daemon.wait_for("the good object committed", || {
        objects(&state, &source).contains_key(&good)
    });
    daemon.wait_for("every alert", || {
        read_alerts(&alerts).len() >= expected.len()
    });
    let records = objects(&state, &source);
    assert_bad_records(&records, &keys);
    assert!(
        matches!(&records[&gone].outcome, ObjectOutcome::Failed(e) if e.contains("NoSuchKey")),
        "{:?}",
        records[&gone]
    );
    // Its message stays for the queue's redrive policy: it comes back and fails again.
    daemon.wait_for("the vanished object tried again", || {
        objects(&state, &source)[&gone].attempts >= 2
    });
    assert_eq!(
        daemon.metric(r#"iota_objects_total{outcome="partial"}"#),
        bad.len() as f64
    );
    assert!(daemon.metric(r#"iota_objects_total{outcome="failed"}"#) >= 2.0);
    let malformed: u64 = bad.iter().map(|b| b.malformed).sum();
    assert_eq!(daemon.metric("iota_malformed_total"), malformed as f64);

    let later = nth_key(30, "Later");
    moto.put(BUCKET, &later, stop_logging_object("good-1"));
    expected.push("good-1".into());
    daemon.wait_for("the later object committed", || {
        objects(&state, &source).contains_key(&later)
    });
    daemon.wait_for("every alert", || {
        read_alerts(&alerts).len() >= expected.len()
    });
    expected.sort();
    assert_eq!(
        delivered_event_ids(&read_alerts(&alerts)),
        once_each(&expected)
    );
    daemon.stop_ok();
}

#[test]
fn watch_records_bad_files_with_their_reason_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap().join("logs");
    std::fs::create_dir(&root).unwrap();
    let bad = bad_objects(&dir.path().join("cases"));
    let mut expected: Vec<String> = Vec::new();
    let mut files = Vec::new();
    for object in &bad {
        let path = write(&root, &format!("{}.log", object.name), &object.bytes);
        expected.extend(object.alerts.iter().cloned());
        files.push((path.display().to_string(), object));
    }
    let good = write(&root, "good.json.gz", &stop_logging_object("good-0"));
    expected.push("good-0".into());

    let state = dir.path().join("state.db").display().to_string();
    let alerts = dir.path().join("alerts.jsonl");
    let mut command = Command::new(env!("CARGO_BIN_EXE_iota"));
    command
        .args(["--log-format", "json", "watch"])
        .arg(&root)
        .args(["--state", &state, "--workers", "1"])
        .args(stop_logging_rule())
        .args(["--settle", "1s", "--rescan-interval", "1h"])
        .arg("--output")
        .arg(format!("file={}", alerts.display()))
        .env_remove("RUST_LOG");
    let daemon = Daemon::start(command);
    daemon.wait_for("the good file committed", || {
        objects(&state, "local").contains_key(&good.display().to_string())
    });
    daemon.wait_for("every alert", || {
        read_alerts(&alerts).len() >= expected.len()
    });
    assert_bad_records(&objects(&state, "local"), &files);
    assert_eq!(
        daemon.metric(r#"iota_objects_total{outcome="partial"}"#),
        bad.len() as f64
    );
    let malformed: u64 = bad.iter().map(|b| b.malformed).sum();
    assert_eq!(daemon.metric("iota_malformed_total"), malformed as f64);

    // The daemon goes on with the files that land later.
    let later = write(&root, "later.json.gz", &stop_logging_object("good-1"));
    expected.push("good-1".into());
    daemon.wait_for("the later file committed", || {
        objects(&state, "local").contains_key(&later.display().to_string())
    });
    daemon.wait_for("every alert", || {
        read_alerts(&alerts).len() >= expected.len()
    });
    expected.sort();
    assert_eq!(
        delivered_event_ids(&read_alerts(&alerts)),
        once_each(&expected)
    );
    daemon.stop_ok();
}
