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
