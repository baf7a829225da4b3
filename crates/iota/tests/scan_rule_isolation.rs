//! Rule isolation end to end: rules that raise, loop forever, exit, kill their worker,
//! segfault, eat memory, fork, return huge or unserialisable values, flood their output, or
//! fail at import time run beside good rules; every good alert still comes out, every failure
//! is reported by rule name, no process outlives the scan, and iota's memory stays bounded.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::*;

#[test]
fn hostile_rules_never_cost_the_good_rules_an_alert() {
    let dir = tempfile::tempdir().unwrap();
    let fork_pids = dir.path().join("forked.pids");
    let marker = format!("iota-spawned-{}", std::process::id());
    let mut input = events("StopLogging", "stop", 3);
    for trigger in [
        "LoopTrigger",
        "ExitTrigger",
        "KillTrigger",
        "MemoryTrigger",
        "SysExitTrigger",
        "SystemExitTrigger",
        "InterruptTrigger",
        "SegfaultTrigger",
        "HugeTrigger",
    ] {
        input.push(event(trigger, &format!("trigger-{trigger}")));
    }
    input.push(with_parameters(
        event("ForkTrigger", "trigger-ForkTrigger"),
        &[("pidFile", fork_pids.display().to_string().into())],
    ));
    input.push(with_parameters(
        event("SpawnTrigger", "trigger-SpawnTrigger"),
        &[("marker", marker.clone().into())],
    ));
    input.push(with_parameters(
        event("FloodTrigger", "trigger-FloodTrigger"),
        &[("megabytes", 10.into())],
    ));
    for kind in ["set", "object", "bytes", "nan"] {
        input.push(with_parameters(
            event("OddContextTrigger", &format!("odd-{kind}")),
            &[("kind", kind.into())],
        ));
    }
    input.extend(events("DescribeTrails", "other", 2));
    let event_count = input.len();
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
            // Room for huge_values to build its return values on a loaded machine; the
            // rules that loop forever cost this much each.
            "--rule-timeout",
            "10s",
            "--worker-memory",
            "1GiB",
            "--errors-out",
            errors_out.to_str().unwrap(),
            path.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(scan.status, 0, "{}", scan.stderr);
    assert_eq!(scan.count("events") as usize, event_count);

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
    assert_eq!(raises.len(), event_count, "one per event: {}", scan.stderr);
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

    assert_exits_and_crashes_reported(&scan);
    assert_no_process_was_started(&scan, &fork_pids, &marker);
    assert_huge_and_odd_values_cut_or_reported(&scan);
    // The worker built hundreds of MB of return values; iota received them cut.
    let peak = scan.count("peak_rss_bytes");
    assert!(peak < 100 << 20, "iota's peak: {} MB", peak >> 20);
    let flood = scan.alerts_of("floods_output");
    assert_eq!(flood.len(), 1, "{}", scan.stderr);
    assert_eq!(flood[0]["title"], "flooding rule matched");
    assert_import_failures_reported(&scan);

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

/// `event` with `requestParameters` extended by `parameters`: what a hostile fixture rule is
/// told to do.
fn with_parameters(mut event: Value, parameters: &[(&str, Value)]) -> Value {
    for (name, value) in parameters {
        event["requestParameters"][*name] = value.clone();
    }
    event
}

/// The one error of `rule`, on the event `event_id`; its text must contain `error`.
fn single_error<'a>(scan: &'a Scan, rule: &str, event_id: &str, error: &str) -> &'a Value {
    let errors: Vec<_> = scan
        .errors_of(rule)
        .into_iter()
        .filter(|e| e["event_id"] == event_id)
        .collect();
    assert_eq!(errors.len(), 1, "{rule} on {event_id}: {}", scan.stderr);
    assert!(
        errors[0]["error"].as_str().unwrap().contains(error),
        "{rule}: expected {error:?} in {}",
        errors[0]
    );
    errors[0]
}

fn assert_exits_and_crashes_reported(scan: &Scan) {
    single_error(
        scan,
        "calls_sys_exit",
        "trigger-SysExitTrigger",
        "SystemExit: a rule called sys.exit()",
    );
    single_error(
        scan,
        "calls_sys_exit",
        "trigger-SystemExitTrigger",
        "SystemExit: 4",
    );
    single_error(
        scan,
        "interrupts",
        "trigger-InterruptTrigger",
        "KeyboardInterrupt",
    );
    single_error(scan, "segfaults", "trigger-SegfaultTrigger", "SIGSEGV");
}

/// The fork bomb and the daemon-spawning rule were refused, and nothing they might have
/// started is alive: no process recorded by the bomb, none with the daemon's marker.
fn assert_no_process_was_started(scan: &Scan, fork_pids: &Path, marker: &str) {
    single_error(
        scan,
        "fork_bomb",
        "trigger-ForkTrigger",
        "PermissionError: [Errno 1] Operation not permitted",
    );
    single_error(
        scan,
        "spawns_daemon",
        "trigger-SpawnTrigger",
        "PermissionError: [Errno 1] Operation not permitted",
    );
    let forked = std::fs::read_to_string(fork_pids).unwrap_or_default();
    let alive: Vec<&str> = forked
        .lines()
        .filter(|pid| Path::new(&format!("/proc/{pid}")).exists())
        .collect();
    assert!(
        forked.is_empty(),
        "processes forked by a rule: {forked:?}, alive: {alive:?}"
    );
    let spawned: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let cmdline = std::fs::read(path.join("cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline)
                .contains(marker)
                .then(|| path.display().to_string())
        })
        .collect();
    assert!(
        spawned.is_empty(),
        "processes started by a rule: {spawned:?}"
    );
}

fn assert_huge_and_odd_values_cut_or_reported(scan: &Scan) {
    let huge = scan.alerts_of("huge_values");
    assert_eq!(huge.len(), 1, "{}", scan.stderr);
    let cut = |field: &str, c: char| {
        let text = huge[0][field].as_str().unwrap();
        assert_eq!(text.len(), 1000, "{field} is cut to 1000 characters");
        assert!(text.chars().all(|x| x == c));
    };
    cut("title", 't');
    cut("dedup", 'd');
    cut("description", 'x');
    assert!(huge[0]["alert_context"].is_null());
    assert!(huge[0]["destinations"].is_null());
    let mut errors: Vec<(&str, &str)> = scan
        .errors_of("huge_values")
        .iter()
        .map(|e| {
            (
                e["function"].as_str().unwrap(),
                e["error"].as_str().unwrap(),
            )
        })
        .collect();
    errors.sort();
    assert_eq!(
        errors,
        [
            (
                "alert_context",
                "ReturnTypeError: alert_context() returned 2000000 entries, more than fit in the \
                 262144 bytes of JSON an alert may carry"
            ),
            (
                "destinations",
                "ReturnTypeError: destinations() returned 1000000 destinations, more than the 100 \
                 allowed"
            )
        ]
    );

    let odd = scan.alerts_of("odd_context");
    assert_eq!(odd.len(), 4, "{}", scan.stderr);
    for kind in ["set", "object", "bytes"] {
        let alert = odd
            .iter()
            .find(|a| a["event"]["eventID"] == format!("odd-{kind}"))
            .unwrap();
        assert!(alert["alert_context"].is_null(), "{alert}");
        single_error(
            scan,
            "odd_context",
            &format!("odd-{kind}"),
            "ReturnTypeError: alert_context() returned a dict that is not JSON-serialisable",
        );
    }
    let nan = odd
        .iter()
        .find(|a| a["event"]["eventID"] == "odd-nan")
        .unwrap();
    assert_eq!(
        nan["alert_context"],
        serde_json::json!({"kind": null, "inf": null})
    );
    assert_eq!(scan.errors_of("odd_context").len(), 3);
}

fn assert_import_failures_reported(scan: &Scan) {
    for (rule, error) in [
        (
            "import_raises",
            "RuntimeError: a rule that fails at import time",
        ),
        ("import_loops", "timed out importing"),
        ("import_exits", "exited with status 5"),
    ] {
        let errors = scan.errors_of(rule);
        assert_eq!(errors.len(), 1, "{rule}: {}", scan.stderr);
        assert_eq!(errors[0]["function"], "import");
        assert!(
            errors[0]["error"].as_str().unwrap().contains(error),
            "{rule}: {}",
            errors[0]
        );
    }
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
    let stdout = String::from_utf8_lossy(&output.stdout);
    for secret in [
        "secret-that-rules-must-not-see",
        "token-that-rules-must-not-see",
        "hmac-key",
        "ghp_example",
        "password@db",
    ] {
        assert!(!stdout.contains(secret), "a rule saw {secret}: {stdout}");
    }
    // iota's own environment and memory are out of reach through /proc.
    for file in ["parent_environ", "parent_memory"] {
        let read = alert["alert_context"][file].as_str().unwrap();
        assert!(
            read.starts_with("PermissionError"),
            "{file} was readable: {read:?}"
        );
    }
    let seen: Vec<&str> = alert["alert_context"]["environment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(seen.contains(&"PATH") && seen.contains(&"TZ"), "{seen:?}");
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
fn an_unprivileged_iota_keeps_its_environment_from_its_workers() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    // Workers run as iota's user: what keeps /proc/<iota>/environ from them is that iota is
    // not dumpable. Run as root, the test runs iota as nobody to see that.
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let path = write(
        dir.path(),
        "probe.json",
        &records_json(&[event("EnvironmentProbe", "env-1")]),
    );
    let probes = fixtures().join("rules/probes");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_iota"));
    command
        .args(["--log-format", "json", "scan", "--workers", "1"])
        .args(["--rules", probes.to_str().unwrap()])
        .arg(&path)
        .env("HOME", dir.path())
        .env("IOTA_RUNTIME_DIR", dir.path().join("runtime"))
        .env("AWS_SECRET_ACCESS_KEY", "secret-that-rules-must-not-see");
    if root {
        // The system interpreter: a root-only pyenv is out of nobody's reach.
        command
            .args(["--python", "/usr/bin/python3"])
            .uid(65534)
            .gid(65534);
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stdout.contains("secret-that-rules-must-not-see"),
        "{stdout}"
    );
    let alert: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    for file in ["parent_environ", "parent_memory"] {
        let read = alert["alert_context"][file].as_str().unwrap();
        assert!(
            read.starts_with("PermissionError"),
            "{file} was readable: {read:?}"
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

#[test]
fn a_print_flood_neither_blocks_nor_grows_iota() {
    const FLOOD_MB: u64 = 150;
    let dir = tempfile::tempdir().unwrap();
    let input = vec![
        with_parameters(
            event("FloodTrigger", "flood-1"),
            &[("megabytes", FLOOD_MB.into())],
        ),
        event("StopLogging", "stop-1"),
    ];
    let path = write(dir.path(), "floods.json", &records_json(&input));
    let rules = tempfile::tempdir().unwrap();
    for rule in ["hostile/floods_output.py", "good/stop_logging.py"] {
        let from = fixtures().join("rules").join(rule);
        std::fs::copy(&from, rules.path().join(from.file_name().unwrap())).unwrap();
    }
    let started = Instant::now();
    let scan = scan(
        &[
            "--workers",
            "1",
            "--rules",
            rules.path().to_str().unwrap(),
            path.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(scan.status, 0, "{}", scan.stderr);
    let mut rules: Vec<&str> = scan
        .alerts
        .iter()
        .map(|a| a["rule_id"].as_str().unwrap())
        .collect();
    rules.sort();
    assert_eq!(rules, ["floods_output", "stop_logging"]);
    let flooded = 2 * FLOOD_MB * 11 / 10;
    let peak = scan.count("peak_rss_bytes");
    eprintln!(
        "{flooded} MB printed by a rule: iota's peak resident memory {} MB, {:.1?}",
        peak >> 20,
        started.elapsed()
    );
    assert!(
        peak < 100 << 20,
        "iota's peak resident memory {} MB for {flooded} MB printed",
        peak >> 20
    );
}

#[test]
fn a_rule_burning_cpu_is_stopped_by_its_cpu_limit_even_when_iota_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("worker.pid");
    let input = vec![with_parameters(
        event("BurnTrigger", "burn-1"),
        &[("pidFile", pid_file.display().to_string().into())],
    )];
    let path = write(dir.path(), "burn.json", &records_json(&input));
    let probes = fixtures().join("rules/probes");
    let mut iota = std::process::Command::new(env!("CARGO_BIN_EXE_iota"))
        .args(["--log-format", "json", "scan", "--workers", "1"])
        .args(["--rule-timeout", "2s"])
        .args(["--rules", probes.to_str().unwrap()])
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let worker = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
        {
            break pid;
        }
        assert!(
            Instant::now() < deadline,
            "the worker never reached the rule"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // iota goes away without a word: nothing is left to enforce --rule-timeout but the
    // kernel.
    iota.kill().unwrap();
    iota.wait().unwrap();
    let started = Instant::now();
    while is_running(worker) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the orphaned worker {worker} is still burning CPU"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("orphaned worker gone {:.1?} after iota", started.elapsed());
}

/// Whether `pid` is a live process (a zombie waiting to be reaped is not).
fn is_running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
            Some(state != 'Z' && state != 'X')
        })
        .unwrap_or(false)
}
