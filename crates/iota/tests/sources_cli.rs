//! `iota sources add|list|show|remove` end to end: the real binary on a state store whose
//! health and processed objects are written through `iota_state`, as `iota s3-poll` records
//! them. The whole lifecycle runs on SQLite and PostgreSQL.

mod common;

use std::ffi::OsStr;

use chrono::{DateTime, TimeDelta, Utc};
use iota_state::{
    CommitOutcome, CommitUnit, ObjectOutcome, ObjectProgress, PollReport, StateStore,
};
use serde_json::{json, Value};

use common::state_store::{on_both_backends, StoreFixture};
use common::{store_command, Run};

/// `iota sources ARGS... --state <store>`, logging as text.
fn sources(store: impl AsRef<OsStr>, args: &[&str]) -> Run {
    store_command("sources", store, args)
}

/// [`sources`], which must succeed; its stdout.
fn sources_ok(store: impl AsRef<OsStr>, args: &[&str]) -> String {
    let run = sources(store, args);
    assert_eq!(run.status, 0, "iota sources {args:?}: {}", run.stderr);
    run.stdout
}

/// [`sources`], which must fail with `status` and say `message` on stderr, printing nothing.
fn sources_fail(store: impl AsRef<OsStr>, args: &[&str], status: i32, message: &str) {
    let run = sources(store, args);
    assert_eq!(run.status, status, "iota sources {args:?}: {}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr.contains(message),
        "{message:?} in the error of {args:?}:\n{}",
        run.stderr
    );
}

/// `iota sources list --json`, parsed.
fn list_json(store: &str) -> Vec<Value> {
    sources_ok(store, &["list", "--json"])
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect()
}

/// Table cells: columns are at least two spaces apart, cells hold single spaces at most.
fn cells(line: &str) -> Vec<&str> {
    line.split("  ")
        .map(str::trim)
        .filter(|cell| !cell.is_empty())
        .collect()
}

const ORG_TRAIL: &[&str] = &[
    "add",
    "org-trail",
    "--bucket",
    "org-trail-logs",
    "--prefix",
    "o-abc123/AWSLogs/",
    "--region",
    "eu-west-1",
    "--assume-role",
    "arn:aws:iam::111122223333:role/iota-reader",
    "--accounts",
    "444455556666,111122223333",
    "--regions",
    "us-east-1",
    "--regions",
    "eu-west-1",
];

/// A poll that finished a minute ago, having read events up to `lag` ago.
fn poll(error: Option<&str>, objects: u64, failed: u64, lag: Option<TimeDelta>) -> PollReport {
    let now = Utc::now();
    PollReport {
        started_at: now - TimeDelta::seconds(65),
        finished_at: now - TimeDelta::seconds(60),
        error: error.map(String::from),
        objects,
        events: objects * 1000,
        failed_objects: failed,
        newest_event_time: lag.map(|lag| now - lag),
    }
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

on_both_backends!(add_list_show_remove);

fn add_list_show_remove(fx: &StoreFixture) {
    let store = fx.location.as_str();
    let text = sources_ok(store, ORG_TRAIL);
    assert!(
        text.starts_with(&format!(
            "Added source org-trail to state store {}:\n",
            fx.open().name()
        )),
        "{text}"
    );
    for expected in [
        "  Bucket:        org-trail-logs\n",
        "  Prefix:        o-abc123/AWSLogs/\n",
        "  Accounts:      111122223333, 444455556666\n",
        "`iota s3-poll --source org-trail` polls it",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }
    sources_ok(store, &["add", "cloudtrail", "--bucket", "audit-logs"]);

    // JSON lines, by name, never polled.
    let all = list_json(store);
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["name"], "cloudtrail");
    assert_eq!(all[0]["prefix"], "AWSLogs/", "the default prefix");
    assert_eq!(all[0]["region"], Value::Null);
    assert_eq!(all[0]["accounts"], json!([]));
    let org = &all[1];
    assert_eq!(org["name"], "org-trail");
    assert_eq!(org["bucket"], "org-trail-logs");
    assert_eq!(org["prefix"], "o-abc123/AWSLogs/");
    assert_eq!(org["region"], "eu-west-1");
    assert_eq!(
        org["assume_role"],
        "arn:aws:iam::111122223333:role/iota-reader"
    );
    assert_eq!(org["accounts"], json!(["111122223333", "444455556666"]));
    assert_eq!(org["regions"], json!(["eu-west-1", "us-east-1"]));
    assert_eq!(org["health"], Value::Null);
    assert_eq!(org["status"], "never_polled");
    assert_eq!(org["lag_seconds"], Value::Null);
    assert_eq!(org["created_at"], org["updated_at"]);

    let table = sources_ok(store, &["list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        cells(lines[0]),
        [
            "NAME",
            "BUCKET/PREFIX",
            "LAST POLL (UTC)",
            "LAST SUCCESS (UTC)",
            "LAG",
            "STATUS"
        ]
    );
    assert_eq!(
        cells(lines[2]),
        [
            "org-trail",
            "s3://org-trail-logs/o-abc123/AWSLogs/",
            "never",
            "never",
            "-",
            "never polled"
        ]
    );
    assert_eq!(lines.last(), Some(&"2 sources (2 never polled)"));

    // Polled: the health shows in all three views.
    let handle = fx.open();
    handle
        .record_poll(
            "org-trail",
            &poll(None, 12, 0, Some(TimeDelta::minutes(125))),
        )
        .unwrap();
    let table = sources_ok(store, &["list"]);
    let row = cells(table.lines().nth(2).unwrap());
    assert_eq!(row[0], "org-trail");
    assert_eq!(row[2], row[3], "last poll and last success: {row:?}");
    assert_eq!(&row[4..], ["2h 5m", "ok"]);
    assert_eq!(table.lines().last(), Some("2 sources (1 never polled)"));
    let org = list_json(store).remove(1);
    assert_eq!(org["status"], "ok");
    let lag = org["lag_seconds"].as_i64().unwrap();
    assert!((125 * 60..125 * 60 + 60).contains(&lag), "{lag}");
    assert_eq!(org["health"]["polls"], 1);
    assert_eq!(org["health"]["objects"], 12);
    assert_eq!(org["health"]["events"], 12_000);
    assert_eq!(org["health"]["last_error"], Value::Null);
    assert_eq!(
        time(&org["health"]["last_success_at"]),
        time(&org["health"]["last_poll_at"])
    );

    let text = sources_ok(store, &["show", "org-trail"]);
    assert!(text.starts_with("Source org-trail\n\n"), "{text}");
    for expected in [
        "  Bucket:        org-trail-logs\n",
        "  Region:        eu-west-1\n",
        "  Assume role:   arn:aws:iam::111122223333:role/iota-reader\n",
        "  Regions:       eu-west-1, us-east-1\n",
        "Health:\n  Status:        ok\n",
        " (took 5s)\n",
        "  Polls:         1\n",
        "  Processed:     12 objects, 12000 events\n",
        " (lag 2h 5m)\n",
        "  Failed:        0 objects in the last poll\n",
        "Failed objects in s3://org-trail-logs under o-abc123/AWSLogs/: none\n",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }
    let detail: Value = serde_json::from_str(&sources_ok(store, &["show", "org-trail", "--json"]))
        .expect("one JSON object");
    assert_eq!(detail["name"], "org-trail");
    assert_eq!(detail["health"]["objects"], 12);
    assert_eq!(detail["failed"], json!([]));

    // Removed: gone from every view, and naming it again is an error.
    let text = sources_ok(store, &["remove", "org-trail"]);
    assert!(
        text.starts_with(
            "Removed source org-trail (s3://org-trail-logs/o-abc123/AWSLogs/) and its health"
        ),
        "{text}"
    );
    assert!(
        text.contains("The record of the objects processed from s3://org-trail-logs stays"),
        "{text}"
    );
    let unknown = format!(
        "no source named \"org-trail\" in state store {}: `iota sources list` lists the \
         configured sources",
        handle.name()
    );
    sources_fail(store, &["show", "org-trail"], 1, &unknown);
    sources_fail(store, &["remove", "org-trail"], 1, &unknown);
    assert_eq!(list_json(store).len(), 1);
    sources_ok(store, &["remove", "cloudtrail"]);
    assert_eq!(
        sources_ok(store, &["list"]),
        format!(
            "No sources in state store {0}: add one with `iota sources add NAME --bucket \
             BUCKET --state {0}`.\n",
            handle.name()
        )
    );
    assert!(list_json(store).is_empty());
}

#[test]
fn a_name_is_added_once_unless_replaced() {
    let fx = StoreFixture::sqlite();
    let store = fx.location.as_str();
    sources_ok(store, ORG_TRAIL);
    fx.open()
        .record_poll("org-trail", &poll(None, 3, 0, Some(TimeDelta::minutes(10))))
        .unwrap();
    let before = list_json(store);

    sources_fail(
        store,
        &["add", "org-trail", "--bucket", "other-bucket"],
        1,
        &format!(
            "a source named \"org-trail\" exists already in state store {store} \
             (s3://org-trail-logs/o-abc123/AWSLogs/): give --replace to change its \
             configuration, or choose another name"
        ),
    );
    assert_eq!(list_json(store), before, "a refused add changes nothing");

    let text = sources_ok(
        store,
        &["add", "org-trail", "--bucket", "other-bucket", "--replace"],
    );
    assert!(
        text.starts_with(&format!(
            "Replaced the configuration of source org-trail in state store {store} (its health \
             is kept):\n"
        )),
        "{text}"
    );
    let after = &list_json(store)[0];
    assert_eq!(after["bucket"], "other-bucket");
    assert_eq!(after["prefix"], "AWSLogs/");
    assert_eq!(after["region"], Value::Null);
    assert_eq!(after["accounts"], json!([]));
    assert_eq!(after["created_at"], before[0]["created_at"]);
    assert!(time(&after["updated_at"]) > time(&before[0]["updated_at"]));
    assert_eq!(after["health"], before[0]["health"]);
    let text = sources_ok(store, &["show", "org-trail"]);
    assert!(text.contains("  Changed:       "), "{text}");

    // --replace of a new name adds it.
    let text = sources_ok(
        store,
        &["add", "second", "--bucket", "second-bucket", "--replace"],
    );
    assert!(text.starts_with("Added source second "), "{text}");
}

#[test]
fn invalid_values_are_usage_errors_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("state.db");
    let add = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["add", "trail", "--bucket", "trail-bucket"];
        args.extend_from_slice(extra);
        args.into_iter().map(String::from).collect()
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "add".into(),
                "my trail".into(),
                "--bucket".into(),
                "b-1".into(),
            ],
            "source name \"my trail\": use letters, digits, '.', '_' and '-' only",
        ),
        (
            vec!["add".into(), "".into(), "--bucket".into(), "b-1".into()],
            "source name \"\": use letters",
        ),
        (
            vec![
                "add".into(),
                "t".into(),
                "--bucket".into(),
                "s3://logs/AWSLogs/".into(),
            ],
            "--bucket \"s3://logs/AWSLogs/\": give the bucket's name alone",
        ),
        (
            vec![
                "add".into(),
                "t".into(),
                "--bucket".into(),
                "My_Bucket".into(),
            ],
            "--bucket \"My_Bucket\": an S3 bucket name has only lowercase letters, digits",
        ),
        (
            vec!["add".into(), "t".into(), "--bucket".into(), "ab".into()],
            "--bucket \"ab\": an S3 bucket name has 3 to 63 characters",
        ),
        (
            vec!["add".into(), "t".into(), "--bucket=logs-".into()],
            "an S3 bucket name begins and ends with a letter or a digit",
        ),
        (
            vec![
                "add".into(),
                "t".into(),
                "--bucket".into(),
                "192.168.1.10".into(),
            ],
            "an S3 bucket name is not an IP address",
        ),
        (
            add(&["--prefix", "AWSLogs"]),
            "--prefix \"AWSLogs\": a key prefix ends with '/' (--prefix AWSLogs/), or is \"\" \
             for the whole bucket",
        ),
        (
            add(&["--prefix", "/AWSLogs/"]),
            "--prefix \"/AWSLogs/\": CloudTrail keys do not start with '/': drop it (--prefix \
             AWSLogs/)",
        ),
        (
            add(&["--accounts", "111122223333,12345"]),
            "--accounts: \"12345\" is not an AWS account id (12 digits, e.g. 111122223333)",
        ),
        (
            add(&["--accounts", "11112222333a"]),
            "--accounts: \"11112222333a\" is not an AWS account id",
        ),
        (
            add(&["--regions", "us-east-1,Europe"]),
            "--regions: \"Europe\" is not an AWS region name (e.g. us-east-1, eu-west-1)",
        ),
        (
            add(&["--region", "useast1"]),
            "--region \"useast1\": not an AWS region name",
        ),
        (
            add(&["--assume-role", "iota-reader"]),
            "--assume-role \"iota-reader\": not an IAM role ARN \
             (e.g. arn:aws:iam::111122223333:role/iota-reader)",
        ),
        (
            add(&["--assume-role", "arn:aws:iam::111122223333:user/alice"]),
            "not an IAM role ARN",
        ),
    ];
    for (args, message) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        sources_fail(&store, &args, 2, message);
    }
    assert!(!store.exists(), "an invalid add must not create the store");

    // Accepted: an empty prefix, spaces after commas, a GovCloud role and region.
    sources_ok(
        &store,
        &add(&[
            "--prefix",
            "",
            "--accounts",
            "111122223333, 444455556666,",
            "--region",
            "us-gov-west-1",
            "--assume-role",
            "arn:aws-us-gov:iam::111122223333:role/path/iota-reader",
        ])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
    );
    let source = &list_json(store.to_str().unwrap())[0];
    assert_eq!(source["prefix"], "");
    assert_eq!(source["accounts"], json!(["111122223333", "444455556666"]));
    assert_eq!(source["region"], "us-gov-west-1");
    let text = sources_ok(&store, &["show", "trail"]);
    assert!(
        text.contains("  Prefix:        none (the whole bucket)\n")
            && text.contains("Failed objects in s3://trail-bucket: none\n"),
        "{text}"
    );

    // A missing required option is clap's usage error.
    sources_fail(&store, &["add", "x"], 2, "--bucket <BUCKET>");
}

/// Records the processing of `key` in `bucket` as s3-poll does.
fn record_object(store: &dyn StateStore, bucket: &str, key: &str, outcome: ObjectOutcome) {
    let unit = CommitUnit {
        progress: Some(ObjectProgress {
            source: format!("s3://{bucket}"),
            key: key.into(),
            etag: "9b2cf535f27731c974343645a3985328".into(),
            size: 4096,
            events: 0,
            outcome,
        }),
        ..CommitUnit::default()
    };
    assert!(matches!(
        store.commit(&unit).unwrap(),
        CommitOutcome::Applied(_)
    ));
}

#[test]
fn show_lists_the_failed_objects_under_the_source_and_the_last_error() {
    let fx = StoreFixture::sqlite();
    let store = fx.location.as_str();
    sources_ok(store, ORG_TRAIL);
    let handle = fx.open();
    let key = "o-abc123/AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/01/a.json.gz";
    let denied = "AccessDenied: kms:Decrypt on the bucket key\nrequest id 7F3A";
    record_object(
        &*handle,
        "org-trail-logs",
        key,
        ObjectOutcome::Failed(denied.into()),
    );
    record_object(
        &*handle,
        "org-trail-logs",
        key,
        ObjectOutcome::Failed(denied.into()),
    );
    // Not this source's: another prefix, another bucket, an object that succeeded.
    let elsewhere = "other-trail/AWSLogs/111122223333/CloudTrail/us-east-1/b.json.gz";
    record_object(
        &*handle,
        "org-trail-logs",
        elsewhere,
        ObjectOutcome::Failed("NoSuchKey".into()),
    );
    record_object(
        &*handle,
        "another-bucket",
        key,
        ObjectOutcome::Failed("SlowDown".into()),
    );
    record_object(
        &*handle,
        "org-trail-logs",
        "o-abc123/AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/01/ok.json.gz",
        ObjectOutcome::Ok,
    );

    handle
        .record_poll("org-trail", &poll(None, 40, 1, Some(TimeDelta::minutes(7))))
        .unwrap();
    let table = sources_ok(store, &["list"]);
    let row = cells(table.lines().nth(1).unwrap());
    assert!(row[4].starts_with("7m "), "{table}");
    assert_eq!(row[5], "ok (1 object failed)", "{table}");

    // A poll that failed just now, after the one that succeeded a minute ago.
    let failed_poll = PollReport {
        started_at: Utc::now() - TimeDelta::seconds(1),
        finished_at: Utc::now(),
        ..poll(Some("ListObjectsV2: AccessDenied"), 0, 0, None)
    };
    handle.record_poll("org-trail", &failed_poll).unwrap();
    let table = sources_ok(store, &["list"]);
    let row = cells(table.lines().nth(1).unwrap());
    assert_ne!(
        row[2], row[3],
        "the last success is the earlier poll: {row:?}"
    );
    assert_eq!(row[5], "failing");
    assert_eq!(table.lines().last(), Some("1 source (1 failing)"));

    let text = sources_ok(store, &["show", "org-trail"]);
    for expected in [
        "  Status:        failing\n",
        "  Last error:    ListObjectsV2: AccessDenied\n",
        "  Polls:         2\n",
        "  Processed:     40 objects, 40000 events\n",
        "  Failed:        0 objects in the last poll\n",
        "Failed objects in s3://org-trail-logs under o-abc123/AWSLogs/ (1; polls retry them):\n",
        &format!("  {key}\n    2 attempts, last "),
        ": AccessDenied: kms:Decrypt on the bucket key request id 7F3A\n",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }
    for absent in [elsewhere, "SlowDown", "ok.json.gz"] {
        assert!(!text.contains(absent), "{absent:?} in\n{text}");
    }

    let detail: Value =
        serde_json::from_str(&sources_ok(store, &["show", "org-trail", "--json"])).unwrap();
    assert_eq!(detail["status"], "failing");
    assert_eq!(
        detail["health"]["last_error"],
        "ListObjectsV2: AccessDenied"
    );
    assert_eq!(detail["health"]["polls"], 2);
    let failed = detail["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["key"], key);
    assert_eq!(failed[0]["attempts"], 2);
    assert_eq!(failed[0]["outcome"], json!({ "failed": denied }));
}

#[test]
fn reading_a_store_that_does_not_exist_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-state.db");
    for args in [&["list"][..], &["show", "trail"], &["remove", "trail"]] {
        sources_fail(
            &missing,
            args,
            1,
            &format!(
                "state store {} does not exist: give --state",
                missing.display()
            ),
        );
    }
    assert!(!missing.exists(), "reading must not create a store");
    sources_ok(&missing, &["add", "trail", "--bucket", "trail-bucket"]);
    assert!(missing.exists(), "add creates the store");
}
