//! The prefilter must never change what iota finds: alerts with the prefilter on and off are
//! identical on a corpus with injected attacks, on the real attack sample, on every test
//! event of the bundled rules, and with the 200-rule synthetic pack whose filters are all
//! inferred from Python source.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn assert_same_alerts(args: &[&str]) -> (Scan, Scan) {
    let on = scan(args, None);
    let mut off_args = vec!["--no-prefilter"];
    off_args.extend_from_slice(args);
    let off = scan(&off_args, None);
    assert_eq!(on.status, 0, "{}", on.stderr);
    assert_eq!(off.status, 0, "{}", off.stderr);
    assert_eq!(on.count("events"), off.count("events"));
    let (with, without) = (
        comparable_alerts(&on.alerts),
        comparable_alerts(&off.alerts),
    );
    if with != without {
        let summary = |alerts: &[Value]| -> Vec<String> {
            alerts
                .iter()
                .map(|a| {
                    format!(
                        "{} {} {} x{}",
                        a["id"], a["rule_id"], a["dedup"], a["event_count"]
                    )
                })
                .collect()
        };
        let (a, b) = (summary(&with), summary(&without));
        let only_on: Vec<_> = a.iter().filter(|x| !b.contains(x)).collect();
        let only_off: Vec<_> = b.iter().filter(|x| !a.contains(x)).collect();
        let differing: Vec<String> = with
            .iter()
            .filter_map(|x| {
                let y = without.iter().find(|y| y["id"] == x["id"])?;
                (x != y).then(|| format!("{}: {} vs {}", x["rule_id"], x["title"], y["title"]))
            })
            .collect();
        panic!("alerts differ with the prefilter on and off:\nonly with: {only_on:#?}\nonly without: {only_off:#?}\ncontent differs: {differing:#?}");
    }
    assert!(on.count("rule_evaluations") <= off.count("rule_evaluations"));
    (on, off)
}

#[test]
fn bundled_pack_on_a_corpus_with_injected_attacks() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus-5k/AWSLogs");
    let (on, off) = assert_same_alerts(&[corpus.to_str().unwrap()]);
    assert!(!on.alerts.is_empty());
    assert!(
        on.count("rule_evaluations") * 2 < off.count("rule_evaluations"),
        "the prefilter should spare Python most evaluations: {} vs {}",
        on.count("rule_evaluations"),
        off.count("rule_evaluations")
    );
}

#[test]
fn bundled_pack_on_the_real_attack_sample() {
    let sample = repo_root().join("samples/cloudtrail-stratus/AWSLogs");
    let (on, _) = assert_same_alerts(&[sample.to_str().unwrap()]);
    assert!(!on.alerts.is_empty());
}

#[test]
fn bundled_pack_on_every_bundled_test_event() {
    let dir = tempfile::tempdir().unwrap();
    let mut logs = Vec::new();
    for entry in walk(&repo_root().join("rules")) {
        if entry.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            let yaml: serde_yaml::Value =
                serde_yaml::from_str(&std::fs::read_to_string(&entry).unwrap()).unwrap();
            let cases = yaml
                .get("Tests")
                .or_else(|| yaml.get("tests"))
                .and_then(|t| t.as_sequence());
            for case in cases.into_iter().flatten() {
                if let Some(log) = case.get("Log").or_else(|| case.get("log")) {
                    logs.push(serde_json::to_value(log).unwrap());
                }
            }
        }
    }
    assert!(logs.len() >= 6, "bundled tests found: {}", logs.len());
    let path = write(dir.path(), "test-events.jsonl", &jsonl(&logs));
    assert_same_alerts(&[path.to_str().unwrap()]);
}

#[test]
fn synthetic_pack_with_inferred_filters() {
    let rules = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("python3")
        .arg(repo_root().join("scripts/gen-synthetic-rules"))
        .arg(rules.path())
        .args(["--count", "200", "--seed", "1"])
        .status()
        .unwrap();
    assert!(status.success());
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus-5k/AWSLogs");
    let (on, off) = assert_same_alerts(&[
        "--rules",
        rules.path().to_str().unwrap(),
        corpus.to_str().unwrap(),
    ]);
    assert!(
        on.count("matches") > 0,
        "the synthetic pack should match something"
    );
    assert!(
        on.count("rule_evaluations") * 5 < off.count("rule_evaluations"),
        "inferred filters should spare Python most evaluations: {} vs {}",
        on.count("rule_evaluations"),
        off.count("rule_evaluations")
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
