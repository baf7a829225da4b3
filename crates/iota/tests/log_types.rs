//! Every log type end to end through the real `iota scan`: a directory mixing all of them
//! (plain and gzip, nested, a file mixing JSON types, text that is no log) is classified
//! record by record and each
//! event reaches only the rules whose `LogTypes` name its type; `--log-type` forces one type.
//! The samples are the hand-written ones of `crates/iota-normalize/tests/data/log-types`
//! (see the README there for the AWS format each follows); the rules are
//! `tests/fixtures/rules/log_types`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{fixtures, gzip, scan, write, Scan};
use serde_json::Value;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../iota-normalize/tests/data/log-types")
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(samples().join(name)).unwrap()
}

fn rules() -> String {
    fixtures().join("rules/log_types").display().to_string()
}

/// Events per log type that reached `rule_id`, a rule matching every event it is sent and
/// deduplicating by log type (two alerts of a type when its events are far apart in time).
fn per_log_type(scan: &Scan, rule_id: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for alert in scan.alerts_of(rule_id) {
        assert_eq!(alert["dedup"], alert["log_type"], "{alert}");
        *counts
            .entry(alert["log_type"].as_str().unwrap().to_owned())
            .or_default() += alert["event_count"].as_u64().unwrap();
    }
    counts
}

fn expected(counts: &[(&str, u64)]) -> BTreeMap<String, u64> {
    counts.iter().map(|&(t, n)| (t.to_owned(), n)).collect()
}

#[test]
fn a_mixed_directory_is_classified_and_each_type_routed_to_its_rules() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "AWSLogs/123456789012/CloudTrail/us-east-1/2023/11/10/trail.json.gz",
        &gzip(&sample("cloudtrail.json")),
    );
    write(
        d,
        "AWSLogs/123456789012/CloudTrail-Insight/us-east-1/2023/11/10/insight.json.gz",
        &gzip(&sample("cloudtrail-insight.json")),
    );
    write(
        d,
        "AWSLogs/123456789012/vpcflowlogs/us-east-1/2023/11/14/default.log.gz",
        &gzip(&sample("vpcflow-default.log")),
    );
    write(d, "vpc/custom-v5.log", &sample("vpcflow-custom-v5.log"));
    write(
        d,
        "guardduty/findings.jsonl.gz",
        &gzip(&sample("guardduty.jsonl")),
    );
    write(
        d,
        "s3-access/2023-11-10-22-15-00-EXAMPLE",
        &sample("s3-server-access.log"),
    );
    write(
        d,
        "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2023/11/10/alb.log.gz",
        &gzip(&sample("alb.log")),
    );
    write(d, "notes/unknown.txt", &sample("unknown.txt"));
    // One file of JSON lines mixing types: a new CloudTrail event, a copy of one from the
    // trail file (a duplicate eventID), an Insights event, and a GuardDuty finding exported
    // again (a finding id is no dedup key).
    let trail: Value = serde_json::from_slice(&sample("cloudtrail.json")).unwrap();
    let mut new_event = trail["Records"][0].clone();
    new_event["eventID"] = "e1f2a3b4-0000-4000-8000-000000000003".into();
    let insights: Value = serde_json::from_slice(&sample("cloudtrail-insight.json")).unwrap();
    let mut insight = insights["Records"][0].clone();
    insight["eventID"] = "c0ffee00-0000-4000-8000-000000000003".into();
    let finding = String::from_utf8(sample("guardduty.jsonl")).unwrap();
    let mixed = format!(
        "{}\n{}\n{}\n{}\n",
        new_event,
        trail["Records"][1],
        insight,
        finding.lines().nth(1).unwrap()
    );
    write(d, "exports/mixed.jsonl", mixed.as_bytes());

    let path = d.display().to_string();
    let scan = scan(&["--rules", &rules(), "--no-progress", &path], None);
    assert_eq!(scan.status, 0, "{}", scan.stderr);
    assert_eq!(scan.count("files"), 9);
    assert_eq!(scan.count("events"), 2 + 2 + 3 + 2 + 2 + 3 + 3 + 3);
    assert_eq!(scan.count("duplicates"), 1);
    assert_eq!(scan.count("malformed"), 2, "the two lines of unknown.txt");
    assert!(scan.rule_errors.is_empty(), "{:?}", scan.rule_errors);

    let all = expected(&[
        ("AWS.ALB", 3),
        ("AWS.CloudTrail", 3),
        ("AWS.CloudTrailInsight", 3),
        ("AWS.GuardDuty", 3),
        ("AWS.S3ServerAccess", 3),
        ("AWS.VPCFlow", 5),
    ]);
    assert_eq!(per_log_type(&scan, "Fixture.EveryLogType"), all);
    // A CloudTrail rule sees CloudTrail events only, and so does a rule that names no type.
    let cloudtrail = expected(&[("AWS.CloudTrail", 3)]);
    assert_eq!(
        per_log_type(&scan, "Fixture.CloudTrail.EveryEvent"),
        cloudtrail
    );
    assert_eq!(per_log_type(&scan, "untyped_plain_rule"), cloudtrail);

    // Each type's rule matched its own events, read with the format's field names.
    let vpc = scan.alerts_of("Fixture.VPC.RejectedSSH");
    assert_eq!(vpc.len(), 1);
    assert_eq!(
        vpc[0]["title"],
        "Rejected SSH from 203.0.113.12 to eni-0a1b2c3d4e5f60718"
    );
    assert_eq!(vpc[0]["log_type"], "AWS.VPCFlow");
    assert_eq!(
        vpc[0]["event"]["p_event_time"],
        "2023-11-14 22:13:00.000000"
    );
    let alb = scan.alerts_of("Fixture.ALB.AdminDenied");
    assert_eq!(alb.len(), 1);
    assert_eq!(alb[0]["dedup"], "198.51.100.77");
    let s3 = scan.alerts_of("Fixture.S3.AccessDenied");
    assert_eq!(s3.len(), 1);
    assert_eq!(
        s3[0]["event"]["p_any_ip_addresses"],
        serde_json::json!(["198.51.100.23"])
    );
    let guardduty = scan.alerts_of("Fixture.GuardDuty.HighSeverity");
    assert_eq!(guardduty.len(), 1);
    assert_eq!(
        guardduty[0]["event_count"], 2,
        "exported twice, evaluated twice"
    );
    assert_eq!(
        guardduty[0]["title"],
        "Credentials for instance role web-server-role used from external IP address."
    );
    let insight = scan.alerts_of("Fixture.CloudTrailInsight.Started");
    assert_eq!(insight.len(), 1);
    assert_eq!(insight[0]["event_count"], 2);
    assert_eq!(insight[0]["event"]["insightDetails"]["state"], "Start");

    // Unknown text is reported line by line, naming the file and the line.
    let unknown = scan.logs_containing("unknown log type: not JSON");
    assert_eq!(unknown.len(), 2, "{}", scan.stderr);
    for (report, line) in unknown.iter().zip(["line 1", "line 2"]) {
        assert!(
            report["input"]
                .as_str()
                .unwrap()
                .ends_with("notes/unknown.txt"),
            "{report}"
        );
        assert!(
            report["position"].as_str().unwrap().starts_with(line),
            "{report}"
        );
    }
}

#[test]
fn log_type_flag_reads_every_record_as_that_type() {
    let dir = tempfile::tempdir().unwrap();
    let alb = write(dir.path(), "alb.log", &sample("alb.log"));
    let vpc = write(dir.path(), "flows.log", &sample("vpcflow-default.log"));
    let alb = alb.display().to_string();
    let vpc = vpc.display().to_string();

    let forced = scan(
        &[
            "--rules",
            &rules(),
            "--no-progress",
            "--log-type",
            "AWS.ALB",
            &alb,
        ],
        None,
    );
    assert_eq!(forced.status, 0, "{}", forced.stderr);
    assert_eq!(forced.count("events"), 3);
    assert_eq!(
        per_log_type(&forced, "Fixture.EveryLogType"),
        expected(&[("AWS.ALB", 3)])
    );

    // Flow logs read as ALB: every line, the header included, is reported and counted.
    let wrong = scan(
        &[
            "--rules",
            &rules(),
            "--no-progress",
            "--log-type",
            "aws.alb",
            &vpc,
        ],
        None,
    );
    assert_eq!(wrong.count("events"), 0);
    assert_eq!(wrong.count("malformed"), 4);
    let reports =
        wrong.logs_containing("not an AWS.ALB event: the first field is not a request type");
    assert_eq!(reports.len(), 4, "{}", wrong.stderr);
    assert!(reports[0]["input"].as_str().unwrap().ends_with("flows.log"));
    assert!(wrong.alerts.is_empty());

    let unknown = Command::new(env!("CARGO_BIN_EXE_iota"))
        .args(["scan", "--no-progress", "--log-type", "AWS.VPCFlows", &vpc])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert_eq!(unknown.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "invalid value 'AWS.VPCFlows' for '--log-type <TYPE>': unknown log type \
             \"AWS.VPCFlows\"; iota reads AWS.CloudTrail, AWS.CloudTrailInsight, AWS.VPCFlow, \
             AWS.GuardDuty, AWS.S3ServerAccess, AWS.ALB"
        ),
        "{stderr}"
    );
}

#[test]
fn text_logs_from_stdin_and_with_crlf_line_endings() {
    let crlf: Vec<u8> = String::from_utf8(sample("s3-server-access.log"))
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes();
    let scan = scan(
        &["--rules", &rules(), "--no-progress", "-"],
        Some(&gzip(&crlf)),
    );
    assert_eq!(scan.status, 0, "{}", scan.stderr);
    assert_eq!(scan.count("events"), 3);
    assert_eq!(
        per_log_type(&scan, "Fixture.EveryLogType"),
        expected(&[("AWS.S3ServerAccess", 3)])
    );
    let denied = scan.alerts_of("Fixture.S3.AccessDenied");
    assert_eq!(denied[0]["event"]["aclrequired"], Value::Null);
    assert_eq!(
        denied[0]["event"]["hostheader"],
        "amzn-s3-demo-bucket.s3.amazonaws.com"
    );
}

#[test]
fn a_rule_naming_no_log_type_is_listed_as_a_cloudtrail_rule() {
    let output = Command::new(env!("CARGO_BIN_EXE_iota"))
        .args(["rules", "list", "--json", &rules()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listed: BTreeMap<String, Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let rule: Value = serde_json::from_str(l).unwrap();
            (
                rule["id"].as_str().unwrap().to_owned(),
                rule["log_types"].clone(),
            )
        })
        .collect();
    assert_eq!(
        listed["untyped_plain_rule"],
        serde_json::json!(["AWS.CloudTrail"])
    );
    assert_eq!(
        listed["Fixture.VPC.RejectedSSH"],
        serde_json::json!(["AWS.VPCFlow"])
    );
}
