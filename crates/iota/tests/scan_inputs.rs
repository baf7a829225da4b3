//! `iota scan` end to end on real files, real gzip and real Python workers: every input
//! format, stdin, skipped files, malformed records, size limits, duplicates, p_ fields and
//! exit statuses.

mod common;

use common::*;
use serde_json::{json, Value};

#[test]
fn every_format_plain_or_gzip_is_detected_by_content() {
    let dir = tempfile::tempdir().unwrap();
    // Names deliberately say nothing (or the wrong thing) about the content.
    write(
        dir.path(),
        "records-plain.json",
        &records_json(&events("StopLogging", "rp", 2)),
    );
    write(
        dir.path(),
        "records-gzip.json",
        &gzip(&records_json(&events("StopLogging", "rg", 2))),
    );
    write(
        dir.path(),
        "lines.log",
        &jsonl(&events("StopLogging", "lp", 2)),
    );
    write(
        dir.path(),
        "lines.txt",
        &gzip(&jsonl(&events("StopLogging", "lg", 2))),
    );
    let array = serde_json::to_vec(&events("StopLogging", "ap", 2)).unwrap();
    write(dir.path(), "nested/array.json.gz", &array);
    write(
        dir.path(),
        "nested/deeper/array",
        &gzip(&serde_json::to_vec(&events("StopLogging", "ag", 2)).unwrap()),
    );

    let scan = scan_with_fixture_rules(&[dir.path().to_str().unwrap()], None);
    assert_eq!(scan.status, 0, "{}", scan.stderr);
    assert_eq!(scan.count("files"), 6);
    assert_eq!(scan.count("events"), 12);
    assert_eq!(scan.count("malformed"), 0);
    let mut ids: Vec<String> = scan
        .alerts_of("stop_logging")
        .iter()
        .map(|a| a["event"]["eventID"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    let mut expected: Vec<String> = ["ag", "ap", "lg", "lp", "rg", "rp"]
        .iter()
        .flat_map(|p| (0..2).map(move |i| format!("{p}-{i:04}")))
        .collect();
    expected.sort();
    assert_eq!(ids, expected);
}

#[test]
fn stdin_is_read_with_dash() {
    let input = jsonl(&events("StopLogging", "stdin", 3));
    let scan = scan_with_fixture_rules(&["-"], Some(&input));
    assert_eq!(scan.status, 0, "{}", scan.stderr);
    let alerts = scan.alerts_of("stop_logging");
    assert_eq!(alerts.len(), 3);
    assert_eq!(
        alerts[0]["source"],
        json!({"kind": "stdin", "bucket": null, "key": "-", "line": alerts[0]["source"]["line"]})
    );
    let mut lines: Vec<u64> = alerts
        .iter()
        .map(|a| a["source"]["line"].as_u64().unwrap())
        .collect();
    lines.sort();
    assert_eq!(lines, vec![1, 2, 3]);
}

#[test]
fn digest_config_check_and_empty_files_are_skipped_silently() {
    let dir = tempfile::tempdir().unwrap();
    let digest = json!({
        "awsAccountId": "123837392027",
        "digestStartTime": "2023-07-10T11:00:00Z",
        "digestEndTime": "2023-07-10T12:00:00Z",
        "digestS3Bucket": "trail-bucket",
        "digestPublicKeyFingerprint": "0f6b3e4fa2c0e9d3f5b1a6c7d8e9f0a1",
        "digestSignatureAlgorithm": "SHA256withRSA",
        "logFiles": []
    });
    write(
        dir.path(),
        "AWSLogs/123837392027/CloudTrail-Digest/us-east-1/2023/07/10/123837392027_CloudTrail-Digest_us-east-1_trail_us-east-1_20230710T120000Z.json.gz",
        &gzip(&serde_json::to_vec(&digest).unwrap()),
    );
    write(
        dir.path(),
        "digest-by-content.json",
        &serde_json::to_vec(&digest).unwrap(),
    );
    write(
        dir.path(),
        "AWSLogs/123837392027/CloudTrail/ConfigWritabilityCheckFile",
        b"Hello",
    );
    write(dir.path(), "empty.json.gz", b"");
    write(
        dir.path(),
        "AWSLogs/123837392027/CloudTrail/us-east-1/2023/07/10/real.json",
        &records_json(&events("StopLogging", "real", 1)),
    );

    let scan = scan_with_fixture_rules(&[dir.path().to_str().unwrap()], None);
    assert_eq!(scan.status, 0, "{}", scan.stderr);
    assert_eq!(scan.count("files"), 5);
    assert_eq!(scan.count("files_skipped"), 4);
    assert_eq!(scan.count("malformed"), 0);
    assert_eq!(scan.count("events"), 1);
    assert!(
        scan.logs
            .iter()
            .all(|l| l["level"] != "WARN" && l["level"] != "ERROR"),
        "{}",
        scan.stderr
    );
    assert_eq!(scan.alerts_of("stop_logging").len(), 1);
}

#[test]
fn malformed_lines_are_reported_with_file_and_line_and_the_rest_is_evaluated() {
    let dir = tempfile::tempdir().unwrap();
    let good = events("StopLogging", "ok", 3);
    let mut input = Vec::new();
    input.extend(jsonl(&good[0..1]));
    input.extend(b"{\"eventName\": \"StopLogging\", \"eventID\": broken}\n");
    input.extend(jsonl(&good[1..2]));
    input.extend(b"this is not json at all\n");
    input.extend(jsonl(&good[2..3]));
    let path = write(dir.path(), "mixed.jsonl", &input);

    let scan = scan_with_fixture_rules(&[path.to_str().unwrap()], None);
    assert_eq!(
        scan.status, 0,
        "malformed records do not make an input unreadable: {}",
        scan.stderr
    );
    assert_eq!(scan.count("events"), 3);
    assert_eq!(scan.count("malformed"), 2);
    let reports = scan.logs_containing("malformed record skipped");
    assert_eq!(reports.len(), 2, "{}", scan.stderr);
    for (report, line) in reports.iter().zip(["line 2", "line 4"]) {
        assert_eq!(report["input"], path.display().to_string());
        assert!(
            report["position"].as_str().unwrap().starts_with(line),
            "{report}"
        );
    }
    assert_eq!(scan.alerts_of("stop_logging").len(), 3);
}

#[test]
fn an_event_over_the_size_limit_is_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut big = event("StopLogging", "big");
    big["requestParameters"]["padding"] = Value::String("x".repeat(5000));
    let input = records_json(&[
        event("StopLogging", "small-1"),
        big,
        event("StopLogging", "small-2"),
    ]);
    let path = write(dir.path(), "records.json", &input);

    let scan =
        scan_with_fixture_rules(&["--max-event-bytes", "3000", path.to_str().unwrap()], None);
    assert_eq!(scan.status, 0, "{}", scan.stderr);
    assert_eq!(scan.count("events"), 2);
    assert_eq!(scan.count("malformed"), 1);
    let reports = scan.logs_containing("malformed record skipped");
    assert_eq!(reports.len(), 1);
    assert!(
        reports[0]["message"].as_str().unwrap().contains("3000"),
        "{}",
        reports[0]
    );
    let mut ids: Vec<&str> = scan
        .alerts_of("stop_logging")
        .iter()
        .map(|a| a["event"]["eventID"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, vec!["small-1", "small-2"]);
}

#[test]
fn duplicate_event_ids_are_evaluated_once() {
    let dir = tempfile::tempdir().unwrap();
    let same = event("StopLogging", "dup-1");
    write(
        dir.path(),
        "a.json",
        &records_json(&[same.clone(), event("StopLogging", "uniq-1")]),
    );
    write(dir.path(), "b.json", &records_json(&[same]));

    let scan = scan_with_fixture_rules(&[dir.path().to_str().unwrap()], None);
    assert_eq!(scan.count("events"), 2);
    assert_eq!(scan.count("duplicates"), 1);
    let alerts = scan.alerts_of("stop_logging");
    assert_eq!(alerts.len(), 2);
    assert!(alerts.iter().all(|a| a["event_count"] == 1));
    // The case-insensitive rule dedups on its title: three StopLogging events would be
    // three matches; the duplicate must not have been one of them.
    assert_eq!(
        scan.alerts_of("Fixture.CaseInsensitive")[0]["event_count"],
        2
    );
}

#[test]
fn rules_see_p_fields_case_insensitive_keys_deep_get_and_udm() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "one.json",
        &records_json(&[event("StopLogging", "p-fields")]),
    );

    let scan = scan_with_fixture_rules(&[path.to_str().unwrap()], None);
    assert_eq!(scan.status, 0, "{}", scan.stderr);
    let alerts = scan.alerts_of("Fixture.CaseInsensitive");
    assert_eq!(alerts.len(), 1, "{}", scan.stderr);
    let alert = alerts[0];
    assert_eq!(alert["title"], "mallory stopped main-trail");
    assert_eq!(alert["severity"], "MEDIUM");
    let context = &alert["alert_context"];
    assert_eq!(context["source_ip"], "198.51.100.7");
    assert_eq!(context["p_log_type"], "AWS.CloudTrail");
    assert_eq!(context["p_event_time"], "2023-07-10 12:01:27.000000");
    assert_eq!(context["p_source_label"], path.display().to_string());
    assert_eq!(context["p_source_id"], "iota-scan");
    assert_eq!(context["p_any_ip_addresses"], json!(["198.51.100.7"]));
    assert_eq!(context["p_any_aws_account_ids"], json!(["123837392027"]));
    assert_eq!(context["p_any_usernames"], json!(["mallory"]));
    assert!(context["p_row_id"]
        .as_str()
        .is_some_and(|id| id.len() >= 16));
    assert!(context["p_parse_time"]
        .as_str()
        .is_some_and(|t| t.len() == 26));

    // The alert carries the whole event: every original field plus the p_ fields.
    let original = event("StopLogging", "p-fields");
    for (key, value) in original.as_object().unwrap() {
        assert_eq!(&alert["event"][key], value, "field {key}");
    }
    assert_eq!(alert["event"]["p_row_id"], context["p_row_id"]);
    assert_eq!(alert["log_type"], "AWS.CloudTrail");
    assert_eq!(alert["version"], 1);
    assert_eq!(alert["event_count"], 1);
}

#[test]
fn an_unreadable_input_gives_exit_status_1_and_the_others_are_still_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(
        dir.path(),
        "good.json",
        &records_json(&events("StopLogging", "g", 2)),
    );
    let mut truncated = gzip(&records_json(&events("StopLogging", "t", 50)));
    truncated.truncate(truncated.len() / 2);
    let truncated = write(dir.path(), "truncated.json.gz", &truncated);
    let missing = dir.path().join("missing.json");

    let scan = scan_with_fixture_rules(
        &[
            good.to_str().unwrap(),
            truncated.to_str().unwrap(),
            missing.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(scan.status, 1);
    assert_eq!(scan.count("input_errors"), 2);
    let errors: Vec<&Value> = scan.logs.iter().filter(|l| l["level"] == "ERROR").collect();
    assert!(
        errors
            .iter()
            .any(|e| e["input"] == missing.display().to_string()),
        "{}",
        scan.stderr
    );
    assert!(
        errors
            .iter()
            .any(|e| e["input"] == truncated.display().to_string()),
        "{}",
        scan.stderr
    );
    let ids: Vec<&str> = scan
        .alerts_of("stop_logging")
        .iter()
        .map(|a| a["event"]["eventID"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"g-0000") && ids.contains(&"g-0001"));
}

#[test]
fn usage_errors_give_exit_status_2() {
    let missing_rules = scan(&["--rules", "/nonexistent/rules", "x.json"], None);
    assert_eq!(missing_rules.status, 2);
    assert!(
        missing_rules.stderr.contains("/nonexistent/rules"),
        "{}",
        missing_rules.stderr
    );

    let bad_python = scan_with_fixture_rules(&["--python", "/nonexistent/python3", "x.json"], None);
    assert_eq!(bad_python.status, 2);
    assert!(
        bad_python.stderr.contains("--python"),
        "{}",
        bad_python.stderr
    );

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_iota"))
        .args(["scan", "--no-such-flag", "x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn the_bundled_rules_find_the_attacks_in_the_bundled_sample() {
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/cloudtrail-stratus/AWSLogs");
    let scan = scan(&[sample.to_str().unwrap()], None);
    assert_eq!(scan.status, 0, "{}", scan.stderr);
    assert_eq!(scan.count("events"), 2900);
    assert_eq!(scan.count("rule_errors"), 0, "{}", scan.stderr);
    for rule in [
        "AWS.CloudTrail.LoggingDisabled",
        "AWS.IAM.AccessKeyCreatedForOtherUser",
        "AWS.Organizations.LeaveAttempt",
    ] {
        assert!(!scan.alerts_of(rule).is_empty(), "no alert from {rule}");
    }
}
