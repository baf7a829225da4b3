//! The classic command line (`iota --jsonl FILE --rules DIR [--python P] [--engine PATH]`),
//! kept for deployments written for it; the s3-poll form is tested in `s3_poll.rs`.

mod common;

use std::process::Command;

use serde_json::Value;

use common::*;

#[test]
fn jsonl_runs_a_scan_and_ignores_engine_with_a_notice() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "events.jsonl",
        &jsonl(&events("StopLogging", "classic", 2)),
    );
    let options = fixture_rule_options();
    let output = Command::new(env!("CARGO_BIN_EXE_iota"))
        .args(["--jsonl", file.to_str().unwrap()])
        .args(&options)
        .args([
            "--python",
            "python3",
            "--engine",
            "/opt/old-engine",
            "--workers",
            "1",
        ])
        .env_remove("SLACK_WEBHOOK_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("--engine /opt/old-engine is ignored"),
        "{stderr}"
    );
    let alerts: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        alerts.iter().any(|a| a["rule_id"] == "stop_logging"),
        "{alerts:?}"
    );
}
