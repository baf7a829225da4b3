//! Rule isolation end to end: rules that raise, loop forever, exit, kill their worker, eat
//! memory, print, or do not even compile run beside good rules; every good alert still comes
//! out and every failure is reported by rule name.

mod common;

use common::*;

#[test]
fn hostile_rules_never_cost_the_good_rules_an_alert() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = events("StopLogging", "stop", 3);
    for trigger in ["LoopTrigger", "ExitTrigger", "KillTrigger", "MemoryTrigger"] {
        input.push(event(trigger, &format!("trigger-{trigger}")));
    }
    input.extend(events("DescribeTrails", "other", 2));
    // One file, one batch: the poison events share a batch with the good ones.
    let path = write(dir.path(), "mixed.json", &records_json(&input));

    let good = fixtures().join("rules/good");
    let hostile = fixtures().join("rules/hostile");
    let models = fixtures().join("data_models");
    let errors_out = dir.path().join("errors.jsonl");
    let scan = scan(
        &[
            "--rules",
            good.to_str().unwrap(),
            "--rules",
            hostile.to_str().unwrap(),
            "--data-models",
            models.to_str().unwrap(),
            "--rule-timeout",
            "3s",
            "--worker-memory",
            "1GiB",
            "--errors-out",
            errors_out.to_str().unwrap(),
            path.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(scan.status, 0, "{}", scan.stderr);
    assert_eq!(scan.count("events"), 9);

    // Good rules: all their alerts.
    assert_eq!(scan.alerts_of("stop_logging").len(), 3, "{}", scan.stderr);
    let case = scan.alerts_of("Fixture.CaseInsensitive");
    assert_eq!(case.len(), 1);
    assert_eq!(case[0]["event_count"], 3);
    // The printing rule matches too, and its output corrupted neither stdout nor the protocol.
    let printing = scan.alerts_of("prints");
    assert_eq!(printing.len(), 1);
    assert_eq!(printing[0]["event_count"], 3);
    assert_eq!(printing[0]["title"], "printing rule matched");

    // Failures, by rule name.
    let raises = scan.errors_of("raises");
    assert_eq!(raises.len(), 9, "one per event: {}", scan.stderr);
    assert!(raises
        .iter()
        .all(|e| e["error"].as_str().unwrap().contains("ZeroDivisionError")));
    assert!(raises
        .iter()
        .all(|e| e["traceback"].as_str().unwrap().contains("raises.py")));
    assert!(raises
        .iter()
        .all(|e| e["source"]["key"] == path.display().to_string()));

    let loops = scan.errors_of("loops_forever");
    assert_eq!(loops.len(), 1, "{}", scan.stderr);
    assert!(
        loops[0]["error"]
            .as_str()
            .unwrap()
            .contains("--rule-timeout"),
        "{}",
        loops[0]
    );
    assert_eq!(loops[0]["event_id"], "trigger-LoopTrigger");

    let exits = scan.errors_of("calls_os_exit");
    assert_eq!(exits.len(), 1, "{}", scan.stderr);
    assert!(
        exits[0]["error"]
            .as_str()
            .unwrap()
            .contains("exited with status 3"),
        "{}",
        exits[0]
    );
    assert_eq!(exits[0]["event_id"], "trigger-ExitTrigger");

    let killed = scan.errors_of("kills_its_worker");
    assert_eq!(killed.len(), 1, "{}", scan.stderr);
    assert!(
        killed[0]["error"].as_str().unwrap().contains("SIGKILL"),
        "{}",
        killed[0]
    );
    assert_eq!(killed[0]["event_id"], "trigger-KillTrigger");

    let memory = scan.errors_of("eats_memory");
    assert_eq!(memory.len(), 1, "{}", scan.stderr);
    assert!(
        memory[0]["error"].as_str().unwrap().contains("MemoryError"),
        "{}",
        memory[0]
    );

    let syntax = scan.errors_of("syntax_error");
    assert_eq!(syntax.len(), 1, "{}", scan.stderr);
    assert_eq!(syntax[0]["function"], "import");
    assert!(
        syntax[0]["error"].as_str().unwrap().contains("SyntaxError"),
        "{}",
        syntax[0]
    );

    assert!(scan.count("worker_restarts") >= 3);
    assert_eq!(scan.count("rule_errors") as usize, scan.rule_errors.len());
    let saved = std::fs::read_to_string(&errors_out).unwrap();
    let saved: Vec<serde_json::Value> = saved
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        saved, scan.rule_errors,
        "--errors-out holds the same records as stderr"
    );
}

#[test]
fn a_rule_that_keeps_killing_its_worker_is_disabled_and_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = events("KillTrigger", "kill", 6);
    input.extend(events("StopLogging", "stop", 2));
    let path = write(dir.path(), "kills.json", &records_json(&input));
    let rules = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixtures().join("rules/hostile/kills_its_worker.py"),
        rules.path().join("kills_its_worker.py"),
    )
    .unwrap();
    std::fs::copy(
        fixtures().join("rules/good/stop_logging.py"),
        rules.path().join("stop_logging.py"),
    )
    .unwrap();

    let scan = scan(
        &[
            "--rules",
            rules.path().to_str().unwrap(),
            "--workers",
            "1",
            path.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(scan.status, 0, "{}", scan.stderr);
    let errors = scan.errors_of("kills_its_worker");
    let per_event: Vec<_> = errors.iter().filter(|e| !e["event_id"].is_null()).collect();
    let disabled: Vec<_> = errors
        .iter()
        .filter(|e| e["error"].as_str().unwrap().contains("disabled"))
        .collect();
    assert_eq!(per_event.len(), 3, "three strikes: {}", scan.stderr);
    assert_eq!(disabled.len(), 1, "{}", scan.stderr);
    assert_eq!(
        scan.count("skipped_evaluations"),
        3 + 2,
        "remaining KillTrigger and StopLogging events"
    );
    assert_eq!(scan.alerts_of("stop_logging").len(), 2);
}

#[test]
fn rules_see_no_credentials_or_iota_settings_in_their_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "probe.json",
        &records_json(&[event("EnvironmentProbe", "env-1")]),
    );
    let probes = fixtures().join("rules/probes");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_iota"))
        .args([
            "--log-format",
            "json",
            "scan",
            "--rules",
            probes.to_str().unwrap(),
            path.to_str().unwrap(),
        ])
        .env("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret-that-rules-must-not-see")
        .env("AWS_SESSION_TOKEN", "token-that-rules-must-not-see")
        .env("IOTA_WEBHOOK_SECRET", "hmac-key")
        .env("GITHUB_TOKEN", "ghp_example")
        .env("DATABASE_URL", "postgres://user:password@db/iota")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let alert: serde_json::Value = serde_json::from_slice(
        output
            .stdout
            .split(|&b| b == b'\n')
            .find(|l| !l.is_empty())
            .unwrap(),
    )
    .unwrap();
    let seen: Vec<&str> = alert["alert_context"]["environment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(seen.contains(&"PATH") && seen.contains(&"TZ"), "{seen:?}");
    // The interpreter's launcher (e.g. a pyenv shim) may add variables of its own; none of
    // the parent's secrets or settings may get through.
    for name in &seen {
        assert!(
            !name.starts_with("AWS_")
                && !name.starts_with("IOTA_")
                && !["GITHUB_TOKEN", "DATABASE_URL"].contains(name),
            "worker saw {name}"
        );
    }
}

#[test]
fn a_worker_killed_from_outside_mid_batch_costs_only_the_running_rule_its_event() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("worker.pid");
    let mut slow = event("SlowTrigger", "slow-1");
    slow["requestParameters"]["pidFile"] =
        serde_json::Value::String(pid_file.display().to_string());
    let mut input = events("StopLogging", "before", 2);
    input.push(slow);
    input.extend(events("StopLogging", "after", 2));
    let path = write(dir.path(), "batch.json", &records_json(&input));
    let probes = fixtures().join("rules/probes");
    let good = fixtures().join("rules/good");
    let models = fixtures().join("data_models");

    let child = std::process::Command::new(env!("CARGO_BIN_EXE_iota"))
        .args([
            "--log-format",
            "json",
            "scan",
            "--workers",
            "1",
            "--rule-timeout",
            "60s",
        ])
        .args([
            "--rules",
            probes.to_str().unwrap(),
            "--rules",
            good.to_str().unwrap(),
        ])
        .args([
            "--data-models",
            models.to_str().unwrap(),
            path.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let pid = loop {
        if let Ok(text) = std::fs::read_to_string(&pid_file) {
            if let Ok(pid) = text.trim().parse::<i32>() {
                break pid;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the worker never reached the slow rule"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    // SAFETY: sending a signal to the worker process the rule reported.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");

    let alerts: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut stopped: Vec<&str> = alerts
        .iter()
        .filter(|a| a["rule_id"] == "stop_logging")
        .map(|a| a["event"]["eventID"].as_str().unwrap())
        .collect();
    stopped.sort();
    assert_eq!(
        stopped,
        vec!["after-0000", "after-0001", "before-0000", "before-0001"]
    );
    // The killed rule still evaluated every other event of the batch on the new worker.
    let slow_rule = alerts
        .iter()
        .find(|a| a["rule_id"] == "sleeps_when_asked")
        .expect("alert");
    assert_eq!(slow_rule["event_count"], 4);
    let errors: Vec<serde_json::Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "rule_error")
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert_eq!(errors[0]["rule_id"], "sleeps_when_asked");
    assert_eq!(errors[0]["event_id"], "slow-1");
    assert!(
        errors[0]["error"].as_str().unwrap().contains("SIGKILL"),
        "{}",
        errors[0]
    );
}
