//! `iota rules test|list|validate` end to end, and a Panther-format repository (rules, global
//! helpers, a data model, caching helpers, mocks) running unmodified through both
//! `iota rules test` and `iota scan`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

fn iota(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_iota"))
        .args(args)
        .output()
        .expect("run iota");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn repo() -> PathBuf {
    fixtures().join("panther_repo")
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_panther_repository_runs_unmodified_through_rules_test() {
    let rules = repo().join("rules/aws_cloudtrail_rules");
    let helpers = repo().join("global_helpers");
    let models = repo().join("data_models");
    let (status, stdout, stderr) = iota(&[
        "rules",
        "test",
        "--path",
        s(&rules),
        "--helpers",
        s(&helpers),
        "--data-models",
        s(&models),
    ]);
    assert_eq!(status, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Fixture.Root.Activity\n  PASS  Root creates an access key"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  PASS  Counter over the limit (mocked)"),
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().last().unwrap().split(" in ").next().unwrap(),
        "5 passed, 0 failed"
    );

    let (status, stdout, _) = iota(&[
        "rules",
        "test",
        s(&rules),
        "--helpers",
        s(&helpers),
        "--data-models",
        s(&models),
        "--json",
        "--filter",
        "RuleID=Fixture.Root.Activity",
    ]);
    assert_eq!(status, 0);
    let cases: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(cases.len(), 2);
    let hit = &cases[0];
    assert_eq!(hit["rule_id"], "Fixture.Root.Activity");
    assert_eq!(hit["test"], "Root creates an access key");
    assert_eq!(hit["expected"], true);
    assert_eq!(hit["matched"], true);
    assert_eq!(hit["passed"], true);
    assert_eq!(hit["error"], Value::Null);
    assert_eq!(
        hit["title"],
        "Root activity: CreateAccessKey from 203.0.113.10"
    );
    assert_eq!(
        hit["dedup"],
        "Root activity: CreateAccessKey from 203.0.113.10"
    );
    assert_eq!(hit["severity"], "HIGH");
    assert_eq!(
        hit["alert_context"],
        serde_json::json!({"actor": "root", "ip": "203.0.113.10"})
    );
    assert_eq!(cases[1]["matched"], false);
    assert_eq!(cases[1]["title"], Value::Null);
}

#[test]
fn a_panther_repository_runs_unmodified_through_scan() {
    let dir = tempfile::tempdir().unwrap();
    let tests: Value = serde_yaml_like_logs();
    let path = write(
        dir.path(),
        "events.json",
        &records_json(tests.as_array().unwrap()),
    );
    let rules = repo().join("rules/aws_cloudtrail_rules");
    let helpers = repo().join("global_helpers");
    let models = repo().join("data_models");
    // One event per batch over two workers: the counter must be shared by both.
    let scan = scan(
        &[
            "--workers",
            "2",
            "--batch-size",
            "1",
            "--rules",
            s(&rules),
            "--helpers",
            s(&helpers),
            "--data-models",
            s(&models),
            s(&path),
        ],
        None,
    );
    assert_eq!(scan.status, 0, "{}", scan.stderr);
    assert_eq!(scan.count("rule_errors"), 0, "{}", scan.stderr);
    let root = scan.alerts_of("Fixture.Root.Activity");
    assert_eq!(root.len(), 1);
    assert_eq!(root[0]["alert_context"]["actor"], "root");
    let failures = scan.alerts_of("Fixture.Login.Failures");
    assert_eq!(
        failures.len(),
        1,
        "the third failure crosses the counter limit: {}",
        scan.stderr
    );
    assert_eq!(
        failures[0]["event_count"], 2,
        "the third and fourth failures match"
    );
    assert_eq!(failures[0]["dedup"], "bob");
}

/// The root event and four failed logins for bob, as full CloudTrail events.
fn serde_yaml_like_logs() -> Value {
    let mut root = event("CreateAccessKey", "root-1");
    root["userIdentity"] = serde_json::json!({
        "type": "Root", "principalId": "111122223333", "arn": "arn:aws:iam::111122223333:root",
        "accountId": "111122223333", "accessKeyId": "ASIAEXAMPLEROOT"
    });
    root["eventSource"] = "iam.amazonaws.com".into();
    let mut events = vec![root];
    for i in 0..4 {
        let mut login = event("ConsoleLogin", &format!("login-{i}"));
        login["eventSource"] = "signin.amazonaws.com".into();
        login["userIdentity"]["userName"] = "bob".into();
        login["responseElements"] = serde_json::json!({"ConsoleLogin": "Failure"});
        login["eventTime"] = format!("2023-07-10T12:0{i}:00Z").into();
        events.push(login);
    }
    Value::Array(events)
}

#[test]
fn a_helper_needing_a_missing_package_fails_only_the_rules_that_import_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "alias.json",
        &records_json(&[event("CreateAccountAlias", "alias-1")]),
    );
    let rules = repo().join("rules/optional_dependencies");
    let helpers = repo().join("global_helpers");
    let scan = scan(
        &["--rules", s(&rules), "--helpers", s(&helpers), s(&path)],
        None,
    );
    assert_eq!(scan.status, 0, "{}", scan.stderr);
    let errors = scan.errors_of("Fixture.AccountAlias");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["function"], "import");
    assert!(errors[0]["error"]
        .as_str()
        .unwrap()
        .contains("iota_fixture_uninstalled_sdk"));
    assert_eq!(scan.alerts_of("fixture_independent").len(), 1);
    assert!(scan.alerts_of("Fixture.AccountAlias").is_empty());
}

#[test]
fn failing_cases_are_reported_with_the_reason_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "broken_title.py",
        b"def rule(event):\n    return event.get('eventName') == 'StopLogging'\n\n\ndef title(event):\n    return event['missing']['key']\n",
    );
    let log = serde_json::to_string(&event("StopLogging", "t-1")).unwrap();
    let other = serde_json::to_string(&event("StartLogging", "t-2")).unwrap();
    write(
        dir.path(),
        "broken_title.tests.yml",
        format!(
            "tests:\n  - name: matches but title raises\n    expected_result: true\n    log: {log}\n  - name: no match\n    expected_result: false\n    log: {other}\n  - name: wrongly expects a match\n    expected_result: true\n    log: {other}\n"
        )
        .as_bytes(),
    );
    let (status, stdout, _) = iota(&["rules", "test", s(dir.path())]);
    assert_eq!(status, 1, "{stdout}");
    assert!(
        stdout.contains("  FAIL  matches but title raises"),
        "{stdout}"
    );
    assert!(stdout.contains("title() raised KeyError"), "{stdout}");
    assert!(stdout.contains("  PASS  no match"), "{stdout}");
    assert!(
        stdout.contains(
            "  FAIL  wrongly expects a match\n        expected true, rule() returned false"
        ),
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().last().unwrap().split(" in ").next().unwrap(),
        "1 passed, 2 failed"
    );

    let (_, stdout, _) = iota(&["rules", "test", s(dir.path()), "--json"]);
    let cases: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(cases[0]["passed"], false);
    assert_eq!(cases[0]["matched"], true);
    assert!(cases[0]["error"].as_str().unwrap().contains("title()"));
}

#[test]
fn validate_is_clean_on_a_good_pack_and_names_every_problem_in_a_bad_one() {
    let rules = repo().join("rules/aws_cloudtrail_rules");
    let helpers = repo().join("global_helpers");
    let models = repo().join("data_models");
    let (status, stdout, _) = iota(&[
        "rules",
        "validate",
        s(&rules),
        "--helpers",
        s(&helpers),
        "--data-models",
        s(&models),
    ]);
    assert_eq!(status, 0, "{stdout}");
    assert_eq!(
        stdout.trim(),
        "2 rules, 1 data models: 0 errors, 0 warnings"
    );

    let dir = tempfile::tempdir().unwrap();
    let rule_py = b"def rule(event):\n    return True\n";
    write(dir.path(), "a.py", rule_py);
    write(dir.path(), "a.yml", b"AnalysisType: rule\nRuleID: Dup.Rule\nFilename: a.py\nSeverity: Low\nColour: blue\nTests:\n  - Name: mocks nothing real\n    ExpectedResult: true\n    Mocks:\n      - objectName: not_defined_anywhere\n        returnValue: 1\n    Log: {eventName: X}\n");
    write(dir.path(), "b.py", rule_py);
    write(
        dir.path(),
        "b.yml",
        b"AnalysisType: rule\nRuleID: Dup.Rule\nFilename: b.py\nSeverity: Low\n",
    );
    write(
        dir.path(),
        "c.yml",
        b"AnalysisType: rule\nRuleID: Missing.File\nFilename: nowhere.py\nSeverity: Low\n",
    );
    write(
        dir.path(),
        "d.yml",
        b"AnalysisType: rule\nRuleID: Bad.Severity\nFilename: a.py\nSeverity: Urgent\n",
    );
    write(dir.path(), "e.py", b"def rule(event)\n    return True\n");
    let (status, stdout, _) = iota(&["rules", "validate", s(dir.path())]);
    assert_eq!(status, 1, "{stdout}");
    for expected in [
        "duplicate RuleID",
        "Filename",
        "nowhere.py does not exist",
        "unknown severity \"Urgent\"",
        "warning: Dup.Rule",
        "unknown key \"Colour\"",
        "mocks \"not_defined_anywhere\", which the rule module does not define",
        "error: e (",
        "SyntaxError",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}

#[test]
fn list_shows_each_rule_with_its_metadata() {
    let rules = repo().join("rules");
    let (status, stdout, _) = iota(&["rules", "list", s(&rules), "--json"]);
    assert_eq!(status, 0);
    let listed: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = listed.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        vec![
            "Fixture.AccountAlias",
            "Fixture.Login.Failures",
            "Fixture.Root.Activity",
            "fixture_independent"
        ]
    );
    let failures = &listed[1];
    assert_eq!(failures["severity"], "MEDIUM");
    assert_eq!(failures["tests"], 3);
    assert_eq!(failures["log_types"], serde_json::json!(["AWS.CloudTrail"]));
    assert_eq!(failures["dedup_period_minutes"], 60);
    assert_eq!(listed[3]["kind"], "plain");

    let (status, table, _) = iota(&["rules", "list", s(&rules)]);
    assert_eq!(status, 0);
    assert!(table.starts_with("RULE ID"), "{table}");
    assert!(table.contains("Fixture.Root.Activity"), "{table}");
    assert!(
        table.trim_end().ends_with("4 rules (4 enabled), 6 tests"),
        "{table}"
    );
}

#[test]
fn the_bundled_pack_passes_its_tests_validates_clean_and_covers_the_spec() {
    let rules = repo_root().join("rules");
    let (status, stdout, stderr) = iota(&["rules", "test", s(&rules)]);
    assert_eq!(status, 0, "{stdout}\n{stderr}");
    let last = stdout.lines().last().unwrap();
    let passed: usize = last.split(' ').next().unwrap().parse().unwrap();
    assert!(passed >= 120, "{last}");
    assert!(last.contains(" passed, 0 failed"), "{last}");

    let (status, stdout, _) = iota(&["rules", "validate", s(&rules)]);
    assert_eq!(status, 0, "{stdout}");
    let summary = stdout.lines().last().unwrap();
    let count: usize = summary.split(' ').next().unwrap().parse().unwrap();
    assert!(count >= 60, "{summary}");
    assert!(summary.ends_with(": 0 errors, 0 warnings"), "{summary}");

    let (status, coverage, _) = iota(&["rules", "list", s(&rules), "--coverage"]);
    assert_eq!(status, 0, "{coverage}");
    assert!(!coverage.contains("MISSING"));
    let doc = std::fs::read_to_string(repo_root().join("docs/COVERAGE.md")).unwrap();
    assert!(
        doc.ends_with(&coverage),
        "docs/COVERAGE.md is out of date: regenerate it with `iota rules list rules/ --coverage`"
    );
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The rules directory of the Kubernetes base (deploy/kubernetes/base/rules), laid out as a
/// ConfigMap volume lays it out: each file a link into a hidden `..data` directory that links
/// to a timestamped one. Every rule is found once and passes its tests.
#[test]
fn rules_mounted_from_a_configmap_are_found_once() {
    let source = repo_root().join("deploy/kubernetes/base/rules");
    let mount = tempfile::tempdir().unwrap();
    let version = mount.path().join("..2026_01_10_08_00_00.000000001");
    std::fs::create_dir(&version).unwrap();
    std::os::unix::fs::symlink(version.file_name().unwrap(), mount.path().join("..data")).unwrap();
    let mut files = 0;
    for entry in std::fs::read_dir(&source).unwrap() {
        let name = entry.unwrap().file_name();
        std::fs::copy(source.join(&name), version.join(&name)).unwrap();
        std::os::unix::fs::symlink(Path::new("..data").join(&name), mount.path().join(&name))
            .unwrap();
        files += 1;
    }
    assert!(files >= 2, "no rules in {}", source.display());

    let (status, stdout, stderr) = iota(&["rules", "test", s(mount.path())]);
    assert_eq!(status, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Org.IAM.BreakGlassRoleAssumed\n  PASS"),
        "{stdout}"
    );
    let (status, stdout, _) = iota(&["rules", "list", s(mount.path()), "--json"]);
    assert_eq!(status, 0);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
}
