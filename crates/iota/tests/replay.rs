//! `iota replay` over a generated week of CloudTrail with injected attacks
//! (tests/data/replay-week, see its SOURCE.txt): the bundled rules find every attack of the
//! manifest and the summary lists every rule with its counts; a range that leaves an attack
//! out does not find it; the same week read from a trail bucket (moto) and from a data lake
//! (a local directory and moto) gives the same alerts; only the range's day folders and hour
//! partitions are listed; and a live state store, outputs and config given through the
//! environment are never touched.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Utc};
use serde_json::Value;

use common::moto::{Moto, AWS_ENV};
use common::*;

const BUCKET: &str = "org-trail";
const WEEK: [&str; 4] = ["--from", "2024-03-04", "--to", "2024-03-11"];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/replay-week")
}

/// The corpus's log files, without its manifest and notes.
fn logs() -> PathBuf {
    corpus().join("AWSLogs")
}

/// `iota --log-format json replay --workers 2 ARGS...` with `envs` added to a clean
/// environment (no IOTA_* of the caller's).
fn replay_with_env(args: &[&str], envs: &[(&str, &str)]) -> Scan {
    let mut command = Command::new(env!("CARGO_BIN_EXE_iota"));
    command
        .args(["--log-format", "json", "replay", "--workers", "2"])
        .args(args)
        .envs(std::env::vars().filter(|(k, _)| !k.starts_with("IOTA_")))
        .env_remove("RUST_LOG")
        .envs(envs.iter().copied());
    let output = command.output().expect("run iota replay");
    parse_scan(
        output.status.code().unwrap_or(-1),
        &output.stdout,
        &output.stderr,
    )
}

fn replay(args: &[&str]) -> Scan {
    replay_with_env(args, &[])
}

/// An injected attack of the corpus manifest.
#[derive(Debug)]
struct Attack {
    event_name: String,
    event_time: DateTime<Utc>,
}

fn attacks() -> Vec<Attack> {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(corpus().join("gen-cloudtrail.manifest")).unwrap())
            .unwrap();
    manifest["injected_attacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| Attack {
            event_name: a["eventName"].as_str().unwrap().to_owned(),
            event_time: a["eventTime"].as_str().unwrap().parse().unwrap(),
        })
        .collect()
}

/// The bundled rule that must alert on an injected event of this name.
fn rule_for(event_name: &str) -> &'static str {
    match event_name {
        "StopLogging" | "DeleteTrail" => "AWS.CloudTrail.LoggingDisabled",
        "ConsoleLogin" => "AWS.Console.RootLogin",
        "CreateUser" => "AWS.IAM.UserCreated",
        "CreateAccessKey" => "AWS.IAM.AccessKeyCreatedForOtherUser",
        "PutBucketPolicy" => "AWS.S3.BucketMadePublic",
        "AuthorizeSecurityGroupIngress" => "AWS.CIS.SecurityGroupChanged",
        other => panic!("the manifest names an attack this test does not know: {other}"),
    }
}

fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {value}"))
        .parse()
        .unwrap()
}

/// Whether an alert of `rule` has a window (first to last seen) that holds `at`.
fn found(run: &Scan, rule: &str, at: DateTime<Utc>) -> bool {
    run.alerts_of(rule)
        .iter()
        .any(|a| time(&a["first_seen"]) <= at && at <= time(&a["last_seen"]))
}

/// The per-rule lines of the summary, by rule id.
fn by_rule(run: &Scan) -> BTreeMap<String, Value> {
    run.summary["rules"]
        .as_array()
        .unwrap_or_else(|| panic!("no per-rule summary: {}", run.summary))
        .iter()
        .map(|r| (r["rule_id"].as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

/// The alerts in a form that does not depend on where the events were read from.
fn comparable(run: &Scan) -> BTreeSet<String> {
    run.alerts
        .iter()
        .map(|a| {
            format!(
                "{} {} {} x{} {}..{} {}",
                a["id"],
                a["rule_id"],
                a["dedup"],
                a["event_count"],
                a["first_seen"],
                a["last_seen"],
                a["title"]
            )
        })
        .collect()
}

#[test]
fn a_week_replayed_finds_every_injected_attack_and_summarises_every_rule() {
    let corpus = logs();
    let run = replay(&[&WEEK[..], &[corpus.to_str().unwrap()]].concat());
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(run.count("events"), 800, "{}", run.summary);
    assert_eq!(run.count("events_out_of_range"), 0);
    assert_eq!(run.count("malformed"), 0);

    let attacks = attacks();
    assert!(attacks.len() >= 10, "{attacks:?}");
    let names: BTreeSet<&str> = attacks.iter().map(|a| a.event_name.as_str()).collect();
    assert_eq!(names.len(), 7, "every scenario is in the corpus: {names:?}");
    for attack in &attacks {
        assert!(
            found(&run, rule_for(&attack.event_name), attack.event_time),
            "{attack:?} not found by {}: {:#?}",
            rule_for(&attack.event_name),
            run.alerts
        );
    }

    let rules = by_rule(&run);
    let listed = Command::new(env!("CARGO_BIN_EXE_iota"))
        .args(["rules", "list", "--json"])
        .output()
        .unwrap();
    let enabled: BTreeSet<String> = String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["enabled"] == true)
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        rules.keys().cloned().collect::<BTreeSet<_>>(),
        enabled,
        "every enabled rule is in the summary"
    );
    assert!(
        rules.values().any(|r| r["matches"] == 0),
        "rules that never matched are listed too"
    );
    let total = |field: &str| {
        rules
            .values()
            .map(|r| r[field].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(total("matches"), run.count("matches"));
    assert_eq!(total("alerts"), run.count("alerts"));
    assert_eq!(
        total("alerts"),
        run.alerts.len() as u64,
        "every alert printed once"
    );
    for (id, rule) in &rules {
        assert_eq!(
            rule["alerts"].as_u64().unwrap(),
            run.alerts_of(id).len() as u64,
            "{id}"
        );
        assert!(rule["alerts"].as_u64() <= rule["matches"].as_u64(), "{id}");
    }
    let logging_disabled = &rules["AWS.CloudTrail.LoggingDisabled"];
    let stops = attacks
        .iter()
        .filter(|a| matches!(a.event_name.as_str(), "StopLogging" | "DeleteTrail"))
        .count() as u64;
    assert!(logging_disabled["matches"].as_u64().unwrap() >= stops);
}

#[test]
fn a_range_that_leaves_an_attack_out_does_not_find_it() {
    let corpus = logs();
    // 2024-03-04 to 03-08: the bucket policies (03-08) and the trail deletion (03-09) are out.
    let run = replay(&[
        "--from",
        "2024-03-04T00:00:00Z",
        "--to",
        "2024-03-08",
        corpus.to_str().unwrap(),
    ]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let (inside, outside): (Vec<Attack>, Vec<Attack>) = attacks()
        .into_iter()
        .partition(|a| a.event_time < "2024-03-08T00:00:00Z".parse::<DateTime<Utc>>().unwrap());
    assert!(outside.iter().any(|a| a.event_name == "PutBucketPolicy"));
    for attack in &inside {
        assert!(
            found(&run, rule_for(&attack.event_name), attack.event_time),
            "{attack:?}"
        );
    }
    for attack in &outside {
        assert!(
            !found(&run, rule_for(&attack.event_name), attack.event_time),
            "{attack:?} is outside the range"
        );
    }
    assert_eq!(by_rule(&run)["AWS.S3.BucketMadePublic"]["matches"], 0);
    assert!(run
        .alerts
        .iter()
        .all(|a| time(&a["last_seen"]) < "2024-03-08T00:00:00Z".parse::<DateTime<Utc>>().unwrap()));
    let (events, skipped) = (run.count("events"), run.count("events_out_of_range"));
    assert!(events > 0 && skipped > 0, "{}", run.summary);
    assert_eq!(events + skipped, 800, "every event is read once");
}

#[test]
fn a_new_rule_that_never_fires_is_in_the_summary_with_zero_matches() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "never_fires.py",
        b"def rule(event):\n    return event.get('eventName') == 'NoSuchCall'\n",
    );
    write(
        dir.path(),
        "every_stop.py",
        b"def rule(event):\n    return event.get('eventName') == 'StopLogging'\n\n\
          def dedup(event):\n    return event.get('eventID')\n",
    );
    let rules = dir.path().to_str().unwrap();
    let corpus = logs();
    let run = replay(&[&WEEK[..], &["--rules", rules, corpus.to_str().unwrap()]].concat());
    assert_eq!(run.status, 0, "{}", run.stderr);
    let summary = by_rule(&run);
    assert_eq!(summary.len(), 2, "{summary:?}");
    assert_eq!(summary["never_fires"]["matches"], 0);
    assert_eq!(summary["never_fires"]["alerts"], 0);
    let stops = corpus_events()
        .iter()
        .filter(|e| e["eventName"] == "StopLogging")
        .count() as u64;
    assert!(stops >= 3, "the injected ones at least");
    assert_eq!(summary["every_stop"]["matches"], stops);
    assert_eq!(
        summary["every_stop"]["alerts"], stops,
        "one alert per eventID"
    );
}

#[test]
fn a_live_state_store_and_outputs_from_the_environment_are_never_touched() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    let corpus = logs();
    let scan = scan(
        &["--state", live.to_str().unwrap(), corpus.to_str().unwrap()],
        None,
    );
    assert_eq!(scan.status, 0, "{}", scan.stderr);
    assert!(!scan.alerts.is_empty());
    let snapshot = || -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| {
                let mut bytes = Vec::new();
                std::fs::File::open(e.path())
                    .unwrap()
                    .read_to_end(&mut bytes)
                    .unwrap();
                (e.file_name().to_string_lossy().into_owned(), bytes)
            })
            .collect()
    };
    let before = snapshot();
    assert_eq!(before.keys().collect::<Vec<_>>(), ["live.db"], "{before:?}");
    let elsewhere = tempfile::tempdir().unwrap();
    let leak = elsewhere.path().join("leak.jsonl");
    let config = write(
        elsewhere.path(),
        "iota.toml",
        format!(
            "[[outputs]]\nname = \"live\"\nkind = \"file\"\ntarget = \"{}\"\n",
            leak.display()
        )
        .as_bytes(),
    );
    let leak_output = format!("file={}", leak.display());
    let run = replay_with_env(
        &[&WEEK[..], &[corpus.to_str().unwrap()]].concat(),
        &[
            ("IOTA_STATE", live.to_str().unwrap()),
            ("IOTA_OUTPUT", &leak_output),
            ("IOTA_CONFIG", config.to_str().unwrap()),
        ],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(run.alerts.len(), scan.alerts.len(), "alerts on stdout only");
    assert!(!leak.exists(), "IOTA_OUTPUT and IOTA_CONFIG are not read");
    assert!(snapshot() == before, "the live store is unchanged");

    let refused = replay(&[&WEEK[..], &["--state", live.to_str().unwrap(), "x"]].concat());
    assert_eq!(refused.status, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("takes no --state"),
        "{}",
        refused.stderr
    );
    assert!(snapshot() == before);
}

#[test]
fn ranges_are_checked() {
    let corpus = logs();
    let path = corpus.to_str().unwrap();
    let empty = replay(&["--from", "2024-03-05", "--to", "2024-03-05", path]);
    assert_eq!(empty.status, 2);
    assert!(
        empty.stderr.contains("is not before --to"),
        "{}",
        empty.stderr
    );
    let output = Command::new(env!("CARGO_BIN_EXE_iota"))
        .args(["replay", "--from", "last tuesday", path])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("a date (2024-05-01"));
    let bucket_only = replay(&["--from", "7d", "--accounts", "123456789012", path]);
    assert_eq!(bucket_only.status, 2);
    assert!(
        bucket_only
            .stderr
            .contains("--accounts applies to a trail bucket only"),
        "{}",
        bucket_only.stderr
    );
    let output = Command::new(env!("CARGO_BIN_EXE_iota"))
        .args(["replay", "--from", "7d"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "logs to read are required");
}

/// The corpus's log files with the time in their name (`YYYYMMDDTHHMMZ`).
fn log_files() -> Vec<(PathBuf, DateTime<Utc>)> {
    walkdir::WalkDir::new(logs())
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let name = e.file_name().to_str().unwrap().to_owned();
            let stamp = name.split('_').nth(3).unwrap();
            let written = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%MZ")
                .unwrap()
                .and_utc();
            (e.into_path(), written)
        })
        .collect()
}

/// Every event of the corpus, as written.
fn corpus_events() -> Vec<Value> {
    let mut events = Vec::new();
    for (path, _) in log_files() {
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
            .read_to_end(&mut text)
            .unwrap();
        let mut records: Value = serde_json::from_slice(&text).unwrap();
        events.append(records["Records"].as_array_mut().unwrap());
    }
    events
}

fn replay_bucket(moto: &Moto, args: &[&str]) -> Scan {
    let endpoint = [
        "--endpoint-url",
        moto.endpoint.as_str(),
        "--force-path-style",
    ];
    replay_with_env(&[&endpoint[..], args].concat(), AWS_ENV)
}

fn listing(run: &Scan, message: &str) -> (u64, u64) {
    let record = run
        .logs
        .iter()
        .find(|l| l["message"] == message)
        .unwrap_or_else(|| panic!("no {message:?} record: {}", run.stderr));
    (
        record["objects"].as_u64().unwrap(),
        record["list_requests"].as_u64().unwrap(),
    )
}

#[test]
fn a_trail_bucket_gives_the_alerts_of_the_files_and_lists_only_the_days_of_the_range() {
    let Some(moto) = Moto::start("replay: a trail bucket") else {
        return;
    };
    moto.create_bucket(BUCKET);
    moto.put_tree(BUCKET, &corpus());
    let corpus = logs();
    let reference = replay(&[&WEEK[..], &[corpus.to_str().unwrap()]].concat());
    assert_eq!(reference.status, 0, "{}", reference.stderr);

    let run = replay_bucket(&moto, &[&WEEK[..], &["--bucket", BUCKET]].concat());
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(comparable(&run), comparable(&reference));
    assert_eq!(run.count("events"), 800);
    let (objects, _) = listing(&run, "trail listed for the range");
    assert_eq!(objects, log_files().len() as u64);
    assert!(run.alerts.iter().all(|a| a["source"]["bucket"] == BUCKET));

    // Two days: the day folders of 03-06 and 03-07 (and 03-08 for the late window) are
    // listed, in each of the two regions, besides the discovery of the trail prefixes. The
    // generator writes a file up to 64 minutes after its first event: 2h of late window.
    let from: DateTime<Utc> = "2024-03-06T00:00:00Z".parse().unwrap();
    let to: DateTime<Utc> = "2024-03-08T00:00:00Z".parse().unwrap();
    let late = to + chrono::TimeDelta::hours(2);
    let window = replay_bucket(
        &moto,
        &[
            "--from",
            "2024-03-06",
            "--to",
            "2024-03-08",
            "--late-window",
            "2h",
            "--bucket",
            BUCKET,
        ],
    );
    assert_eq!(window.status, 0, "{}", window.stderr);
    let (objects, list_requests) = listing(&window, "trail listed for the range");
    let expected = log_files()
        .iter()
        .filter(|(_, written)| *written + chrono::TimeDelta::minutes(1) > from && *written < late)
        .count() as u64;
    assert_eq!(objects, expected);
    let discovery = 3; // AWSLogs/, the account, CloudTrail/
    assert_eq!(list_requests, discovery + 2 * 3, "{}", window.stderr);
    let path_window = replay(&[
        "--from",
        "2024-03-06",
        "--to",
        "2024-03-08",
        corpus.to_str().unwrap(),
    ]);
    assert_eq!(comparable(&window), comparable(&path_window));
    assert_eq!(window.count("events"), path_window.count("events"));
}

/// Writes the corpus as a data lake in iota's layout: each event normalized (its `p_` fields
/// as iota writes them), in gzip JSON lines under the hour of its event time. A table of
/// another log type holds bytes that are no JSON: reading it would show as malformed records.
fn write_lake(root: &Path) -> usize {
    let normalizer = iota_normalize::Normalizer::new(iota_normalize::SourceInfo {
        id: "iota-s3-poll".into(),
        label: "s3://org-trail".into(),
    });
    let mut partitions: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for record in corpus_events() {
        let raw = serde_json::to_vec(&record).unwrap();
        let event = normalizer.normalize(&raw, Utc::now()).unwrap();
        let hour = event.event_time.format("year=%Y/month=%m/day=%d/hour=%H");
        let lines = partitions
            .entry(format!("logs/aws_cloudtrail/{hour}"))
            .or_default();
        lines.extend_from_slice(&event.json);
        lines.push(b'\n');
    }
    for (partition, lines) in &partitions {
        write(&root.join(partition), "part-0000.json.gz", &gzip(lines));
    }
    write(
        &root.join("logs/aws_vpcflow/year=2024/month=03/day=05/hour=10"),
        "part-0000.json.gz",
        &gzip(b"2 123456789012 eni-0 10.0.0.1 10.0.0.2 443 5000 6 1 40 1 2 ACCEPT OK\n"),
    );
    partitions.len()
}

#[test]
fn a_lake_gives_the_alerts_of_the_files_with_each_standard_field_once() {
    let lake = tempfile::tempdir().unwrap();
    let partitions = write_lake(lake.path());
    let corpus = logs();
    let reference = replay(&[&WEEK[..], &[corpus.to_str().unwrap()]].concat());
    assert_eq!(reference.status, 0, "{}", reference.stderr);

    let uri = format!("file://{}", lake.path().display());
    let run = replay(&[&WEEK[..], &["--lake", &uri]].concat());
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(run.count("events"), 800);
    assert_eq!(comparable(&run), comparable(&reference));
    for alert in &run.alerts {
        let event = serde_json::to_string(&alert["event"]).unwrap();
        assert_eq!(event.matches("\"p_log_type\"").count(), 1, "{event}");
        assert_eq!(alert["event"]["p_log_type"], "AWS.CloudTrail");
    }

    // Only the tables of the rules' log types are read: the bundled pack's rules are all
    // CloudTrail rules, so the other table is left alone, as it is for a rule naming it.
    assert_eq!(run.count("files"), partitions as u64);
    assert_eq!(run.count("malformed"), 0);
    let rules = tempfile::tempdir().unwrap();
    write(
        rules.path(),
        "stops.py",
        b"def rule(event):\n    return event.get('eventName') == 'StopLogging'\n",
    );
    write(
        rules.path(),
        "stops.yml",
        b"AnalysisType: rule\nRuleID: Stops\nFilename: stops.py\nEnabled: true\n\
          LogTypes: [AWS.CloudTrail]\nSeverity: High\n",
    );
    let cloudtrail_only = replay(
        &[
            &WEEK[..],
            &["--lake", &uri, "--rules", rules.path().to_str().unwrap()],
        ]
        .concat(),
    );
    assert_eq!(cloudtrail_only.status, 0, "{}", cloudtrail_only.stderr);
    assert_eq!(cloudtrail_only.count("files"), partitions as u64);
    assert_eq!(cloudtrail_only.count("malformed"), 0);
    let stops = corpus_events()
        .iter()
        .filter(|e| e["eventName"] == "StopLogging")
        .count() as u64;
    assert_eq!(by_rule(&cloudtrail_only)["Stops"]["matches"], stops);

    // A window lists the hour partitions it overlaps only.
    let window = replay(&[
        "--from",
        "2024-03-06T04:00:00Z",
        "--to",
        "2024-03-06T05:00:00Z",
        "--lake",
        &uri,
    ]);
    assert_eq!(window.status, 0, "{}", window.stderr);
    assert_eq!(window.count("files"), 1, "{}", window.summary);
    assert_eq!(window.count("events_out_of_range"), 0);
    assert!(found(
        &window,
        "AWS.CIS.SecurityGroupChanged",
        "2024-03-06T04:18:09Z".parse().unwrap()
    ));

    let Some(moto) = Moto::start("replay: a lake on S3") else {
        return;
    };
    moto.create_bucket("lake");
    let mut objects = Vec::new();
    for entry in walkdir::WalkDir::new(lake.path()) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let key = entry.path().strip_prefix(lake.path()).unwrap();
            objects.push((
                format!("iota/{}", key.display()),
                std::fs::read(entry.path()).unwrap(),
            ));
        }
    }
    moto.put_many("lake", objects, 8);
    let on_s3 = replay_bucket(&moto, &[&WEEK[..], &["--lake", "s3://lake/iota"]].concat());
    assert_eq!(on_s3.status, 0, "{}", on_s3.stderr);
    assert_eq!(comparable(&on_s3), comparable(&reference));
    assert_eq!(on_s3.count("events"), 800);
    let (objects, list_requests) = listing(&on_s3, "lake listed for the range");
    assert_eq!(
        objects, partitions as u64,
        "the CloudTrail table, as from the directory"
    );
    assert_eq!(
        list_requests,
        1 + 7,
        "the tables, then one listing per day of the CloudTrail table"
    );
}

#[test]
fn a_lake_written_by_a_scan_replays_to_the_alerts_of_its_files() {
    let lake = tempfile::tempdir().unwrap();
    let uri = format!("file://{}", lake.path().display());
    let corpus = logs();
    let written = Command::new(env!("CARGO_BIN_EXE_iota"))
        .args(["scan", "--no-progress", "--lake", &uri])
        .arg(&corpus)
        .output()
        .unwrap();
    assert!(
        written.status.success(),
        "{}",
        String::from_utf8_lossy(&written.stderr)
    );

    let reference = replay(&[&WEEK[..], &[corpus.to_str().unwrap()]].concat());
    assert_eq!(reference.status, 0, "{}", reference.stderr);
    let run = replay(&[&WEEK[..], &["--lake", &uri]].concat());
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(run.count("events"), reference.count("events"));
    assert_eq!(run.count("malformed"), 0, "{}", run.stderr);
    assert_eq!(comparable(&run), comparable(&reference));
}
