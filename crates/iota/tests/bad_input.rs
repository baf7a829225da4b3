//! The bad-input corpus end to end: every case of `bad_input/corpus.rs` is written to a
//! directory of its own and scanned by the real `iota scan --workers 1` with the fixture rules.
//! Each scan must end within [`TIME_LIMIT`] (else it is killed and the case fails as a hang),
//! without a panic, under [`MEMORY_LIMIT`] of peak RSS, with the expected exit status, summary
//! counts, `stop_logging` alerts (the good events around the bad part were evaluated) and
//! WARN/ERROR records, each naming its input and, for a record, its position.
//!
//! The cases run a few at a time, and every failing case is reported at the end rather than
//! only the first.

mod common;
#[path = "bad_input/corpus.rs"]
mod corpus;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{fixture_rule_options, parse_scan, Scan};
use corpus::{cases, Case, Expect, Level, Report};

/// A scan still running after this long is a hang.
const TIME_LIMIT: Duration = Duration::from_secs(60);
/// Peak RSS of the iota process (`peak_rss_bytes`) for any case, the 1 GiB gzip bombs and
/// the 50 MB line included: memory must not follow the size of an input or of a record.
const MEMORY_LIMIT: u64 = 64 << 20;

#[test]
fn every_bad_input_is_reported_and_the_rest_evaluated() {
    let cases = cases();
    let root = tempfile::tempdir().unwrap();
    let next = AtomicUsize::new(0);
    let claim = || {
        let n = next.fetch_add(1, Ordering::Relaxed);
        cases.get(n).map(|case| (n, case))
    };
    let failures = Mutex::new(Vec::new());
    let started = Instant::now();
    let threads = thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4));
    thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while let Some((n, case)) = claim() {
                    let dir = root.path().join(case.name);
                    std::fs::create_dir(&dir).unwrap();
                    let problems = catch_unwind(AssertUnwindSafe(|| run_case(case, &dir)))
                        .unwrap_or_else(|panic| {
                            vec![format!("the test panicked: {}", message(&*panic))]
                        });
                    restore_permissions(&dir);
                    if !problems.is_empty() {
                        let report = format!("{}:\n  {}", case.name, problems.join("\n  "));
                        failures.lock().unwrap().push((n, report));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    let failures: Vec<String> = failures.into_iter().map(|(_, report)| report).collect();
    eprintln!(
        "{} bad-input cases in {:.1}s",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn the_corpus_readme_lists_every_case() {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_input/README.md");
    let readme = std::fs::read_to_string(readme).unwrap();
    let listed: Vec<&str> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("| `")?.split('`').next())
        .collect();
    let names: Vec<&str> = cases().iter().map(|c| c.name).collect();
    assert_eq!(
        listed, names,
        "README.md lists the cases in the corpus's order"
    );
    assert!(names.len() >= 40, "{} cases", names.len());
}

/// Builds and scans one case; what did not go as expected.
fn run_case(case: &Case, dir: &Path) -> Vec<String> {
    let target = (case.build)(dir);
    let expect = match (&case.privileged, target.privileged) {
        (Some(privileged), true) => {
            eprintln!(
                "{}: permissions do not stop this process from reading (root?): the input \
                 is expected to be read",
                case.name
            );
            privileged
        }
        _ => &case.expect,
    };

    let mut command = Command::new(env!("CARGO_BIN_EXE_iota"));
    command
        .args([
            "--log-format",
            "json",
            "scan",
            "--workers",
            "1",
            "--no-progress",
        ])
        .args(fixture_rule_options())
        .args(&target.options)
        .args(&target.paths)
        .stdin(if target.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().expect("run iota");
    let stdin = target.stdin.map(|bytes| {
        let mut pipe = child.stdin.take().unwrap();
        // iota may stop reading early (a corrupt gzip), which closes the pipe: not an error.
        thread::spawn(move || drop(pipe.write_all(&bytes)))
    });
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIME_LIMIT {
            child.kill().unwrap();
            child.wait().unwrap();
            return vec![format!("hang: killed after {TIME_LIMIT:?}")];
        }
        thread::sleep(Duration::from_millis(20));
    };
    if let Some(writer) = stdin {
        writer.join().unwrap();
    }
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let stderr_text = String::from_utf8_lossy(&stderr);
    if stderr_text.contains("panicked") {
        return vec![format!("iota panicked:\n{stderr_text}")];
    }
    let Some(code) = status.code() else {
        return vec![format!(
            "iota was killed by a signal ({status}):\n{stderr_text}"
        )];
    };
    let scan = match catch_unwind(|| parse_scan(code, &stdout, &stderr)) {
        Ok(scan) => scan,
        Err(panic) => {
            return vec![format!(
                "iota's output is not JSON lines: {}",
                message(&*panic)
            )]
        }
    };
    let mut problems = check(&scan, expect, dir);
    if !problems.is_empty() {
        problems.push(format!("stderr:\n{stderr_text}"));
    }
    problems
}

/// Compares one scan with what was expected of it.
fn check(scan: &Scan, expect: &Expect, dir: &Path) -> Vec<String> {
    let Some(summary) = scan.summary.as_object() else {
        return vec![format!("no summary; exit status {}", scan.status)];
    };
    let mut problems = Vec::new();
    let mut compare = |what: &str, actual: i64, expected: i64| {
        if actual != expected {
            problems.push(format!("{what}: {actual}, expected {expected}"));
        }
    };
    compare("exit status", scan.status.into(), expect.exit.into());
    let count = |field: &str| summary.get(field).and_then(Value::as_i64).unwrap_or(-1);
    compare("events", count("events"), expect.events);
    compare("malformed", count("malformed"), expect.malformed);
    compare("input_errors", count("input_errors"), expect.input_errors);
    compare("files_skipped", count("files_skipped"), expect.skipped);
    compare("rule_errors", count("rule_errors"), 0);
    let peak = summary["peak_rss_bytes"].as_u64().unwrap_or(u64::MAX);
    if peak >= MEMORY_LIMIT {
        problems.push(format!("peak RSS {peak} bytes, over {MEMORY_LIMIT}"));
    }

    let mut alerts: Vec<&str> = scan
        .alerts_of("stop_logging")
        .iter()
        .map(|a| a["event"]["eventID"].as_str().unwrap_or("?"))
        .collect();
    alerts.sort_unstable();
    let mut expected_alerts = expect.alerts.to_vec();
    expected_alerts.sort_unstable();
    if alerts != expected_alerts {
        problems.push(format!(
            "stop_logging alerts for {alerts:?}, expected {expected_alerts:?}"
        ));
    }

    let mut records: Vec<&Value> = scan
        .logs
        .iter()
        .filter(|l| l["level"] == "WARN" || l["level"] == "ERROR")
        .collect();
    for report in &expect.reports {
        match records.iter().position(|r| matches(r, report, dir)) {
            Some(i) => {
                records.remove(i);
            }
            None => problems.push(format!(
                "no {:?} record for {} at {:?} containing {:?}",
                report.level, report.input, report.position, report.message
            )),
        }
    }
    for record in records {
        problems.push(format!("unexpected record: {record}"));
    }
    problems
}

/// Whether a log record is the one `report` describes.
fn matches(record: &Value, report: &Report, dir: &Path) -> bool {
    let level = match report.level {
        Level::Warn => "WARN",
        Level::Error => "ERROR",
    };
    let input = if report.input.starts_with('/') || report.input == "-" {
        report.input.to_string()
    } else {
        dir.join(report.input).display().to_string()
    };
    let position = record["position"].as_str().unwrap_or("");
    let message = record["message"].as_str().unwrap_or("");
    record["level"] == level
        && record["input"] == input.as_str()
        && glob(position, report.position, true)
        && glob(message, report.message, false)
}

/// Whether `text` is `pattern` (`whole`) or contains it, `*` in `pattern` standing for one
/// or more digits.
fn glob(text: &str, pattern: &str, whole: bool) -> bool {
    fn at(text: &[u8], pattern: &[u8], whole: bool) -> bool {
        match pattern.split_first() {
            None => !whole || text.is_empty(),
            Some((b'*', rest)) => {
                let digits = text.iter().take_while(|b| b.is_ascii_digit()).count();
                (1..=digits).any(|n| at(&text[n..], rest, whole))
            }
            Some((&b, rest)) => text.first() == Some(&b) && at(&text[1..], rest, whole),
        }
    }
    let (text, pattern) = (text.as_bytes(), pattern.as_bytes());
    if whole {
        at(text, pattern, true)
    } else {
        (0..=text.len()).any(|i| at(&text[i..], pattern, false))
    }
}

/// What a caught panic said.
fn message(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<String>(), panic.downcast_ref::<&str>()) {
        (Some(s), _) => s.clone(),
        (None, Some(s)) => s.to_string(),
        (None, None) => "(no message)".into(),
    }
}

/// Reads a pipe to its end on a thread of its own, so that neither pipe fills up.
fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        pipe.read_to_end(&mut bytes).unwrap();
        bytes
    })
}

/// Makes everything under `dir` removable again after a case that locked some of it.
fn restore_permissions(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755));
            restore_permissions(&path);
        } else if file_type.is_file() {
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644));
        }
    }
}
