//! Shared helpers for the `iota` binary's end-to-end tests: realistic CloudTrail events, input
//! files in every format, and running the real binary with real Python workers.

#![allow(dead_code)] // each test file uses its own subset

/// Empty state stores, SQLite or PostgreSQL: the iota-state tests' fixture, included rather
/// than copied.
#[path = "../../../iota-state/tests/common/mod.rs"]
pub mod state_store;

pub mod daemon;
pub mod fault_proxy;
pub mod moto;
pub mod receiver;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A full CloudTrail event as AWS writes it, with the given name and id.
pub fn event(name: &str, id: &str) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDATFQR7NSC5AU2ZV3IE",
            "arn": "arn:aws:iam::123837392027:user/mallory",
            "accountId": "123837392027",
            "accessKeyId": "AKIATFQR7NSC8Q4X20BJ",
            "userName": "mallory"
        },
        "eventTime": "2023-07-10T12:01:27Z",
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.13.0 Python/3.11.4 Linux/6.1",
        "requestParameters": {"name": "main-trail"},
        "responseElements": null,
        "additionalEventData": {"SignatureVersion": "SigV4"},
        "requestID": "028c8f71-8342-435b-a295-ada7ea8b9f0f",
        "eventID": id,
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "123837392027",
        "eventCategory": "Management",
        "tlsDetails": {
            "tlsVersion": "TLSv1.2",
            "cipherSuite": "ECDHE-RSA-AES128-GCM-SHA256",
            "clientProvidedHostHeader": "cloudtrail.us-east-1.amazonaws.com"
        }
    })
}

/// `n` distinct events named `name`, ids `<prefix>-<i>`.
pub fn events(name: &str, prefix: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| event(name, &format!("{prefix}-{i:04}")))
        .collect()
}

pub fn records_json(events: &[Value]) -> Vec<u8> {
    serde_json::to_vec(&json!({ "Records": events })).unwrap()
}

pub fn jsonl(events: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        serde_json::to_writer(&mut out, e).unwrap();
        out.push(b'\n');
    }
    out
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// What one `iota scan` run produced.
#[derive(Debug)]
pub struct Scan {
    pub status: i32,
    pub alerts: Vec<Value>,
    pub rule_errors: Vec<Value>,
    /// Log records (JSON) other than rule errors and the summary.
    pub logs: Vec<Value>,
    pub summary: Value,
    pub stderr: String,
}

impl Scan {
    pub fn alerts_of(&self, rule_id: &str) -> Vec<&Value> {
        self.alerts
            .iter()
            .filter(|a| a["rule_id"] == rule_id)
            .collect()
    }

    pub fn errors_of(&self, rule_id: &str) -> Vec<&Value> {
        self.rule_errors
            .iter()
            .filter(|e| e["rule_id"] == rule_id)
            .collect()
    }

    pub fn count(&self, field: &str) -> u64 {
        self.summary[field]
            .as_u64()
            .unwrap_or_else(|| panic!("summary has no {field}: {}", self.summary))
    }

    pub fn logs_containing(&self, text: &str) -> Vec<&Value> {
        self.logs
            .iter()
            .filter(|l| l["message"].as_str().is_some_and(|m| m.contains(text)))
            .collect()
    }
}

/// The options that load the fixture rules and data models.
pub fn fixture_rule_options() -> [String; 4] {
    [
        "--rules".into(),
        fixtures().join("rules/good").display().to_string(),
        "--data-models".into(),
        fixtures().join("data_models").display().to_string(),
    ]
}

/// `iota scan` with the fixture rules and data models, plus `args`.
pub fn scan_with_fixture_rules(args: &[&str], stdin: Option<&[u8]>) -> Scan {
    let options = fixture_rule_options();
    let all: Vec<&str> = options
        .iter()
        .map(String::as_str)
        .chain(args.iter().copied())
        .collect();
    scan(&all, stdin)
}

/// Runs the real `iota scan` with JSON reports on stderr.
pub fn scan(args: &[&str], stdin: Option<&[u8]>) -> Scan {
    let mut command = Command::new(env!("CARGO_BIN_EXE_iota"));
    command
        .args(["--log-format", "json", "scan"])
        .args(if args.contains(&"--workers") {
            &[][..]
        } else {
            &["--workers", "2"][..]
        })
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("run iota");
    if let Some(bytes) = stdin {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    parse_scan(exit_code(output.status), &output.stdout, &output.stderr)
}

/// What `iota --log-format json scan` printed: alerts on stdout, JSON records on stderr.
pub fn parse_scan(status: i32, stdout: &[u8], stderr: &[u8]) -> Scan {
    let stdout = String::from_utf8(stdout.to_vec()).unwrap();
    let stderr = String::from_utf8_lossy(stderr).into_owned();
    let alerts = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("alert line {l:?}: {e}")))
        .collect();
    let mut rule_errors = Vec::new();
    let mut logs = Vec::new();
    let mut summary = Value::Null;
    for line in stderr.lines() {
        let value: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("stderr line is not JSON ({e}): {line:?}\n{stderr}"));
        match value["type"].as_str() {
            Some("rule_error") => rule_errors.push(value),
            Some("summary") => summary = value,
            _ => logs.push(value),
        }
    }
    Scan {
        status,
        alerts,
        rule_errors,
        logs,
        summary,
        stderr,
    }
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, bytes).unwrap();
    path
}

/// What one run of the `iota` binary printed.
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The exit code, or minus the signal that ended the process (-11 for SIGSEGV), so that an
/// assertion names it.
pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| -status.signal().unwrap_or(0))
}

/// `iota alerts ARGS... --state <store>`, logging as text.
pub fn alerts(store: impl AsRef<OsStr>, args: &[&str]) -> Run {
    store_command("alerts", store, args)
}

/// `iota COMMAND ARGS... --state <store>` (a command that reads the state store), logging as
/// text.
pub fn store_command(command: &str, store: impl AsRef<OsStr>, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_iota"))
        .args(["--log-format", "text", command])
        .args(args)
        .arg("--state")
        .arg(store)
        .env_remove("IOTA_STATE")
        .env("NO_COLOR", "1")
        .output()
        .expect("run iota");
    Run {
        status: exit_code(output.status),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// [`alerts`], which must succeed; its stdout.
pub fn alerts_ok(store: impl AsRef<OsStr>, args: &[&str]) -> String {
    let run = alerts(store, args);
    assert_eq!(run.status, 0, "iota alerts {args:?}: {}", run.stderr);
    run.stdout
}

/// `iota alerts list --json ARGS...`, parsed.
pub fn list_json(store: impl AsRef<OsStr>, args: &[&str]) -> Vec<Value> {
    alerts_ok(store, &[&["list", "--json"], args].concat())
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect()
}

/// Alerts written by a `file=` output, one JSON object a line (none if the file is missing).
pub fn read_alerts(file: &Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Alert id (the same for the same rule, dedup string and window in every run) -> event count.
pub fn by_id(alerts: &[Value]) -> BTreeMap<String, u64> {
    alerts
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_owned(),
                a["event_count"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Alerts without the fields that differ between any two runs (creation and parse times, row
/// ids), sorted by id.
pub fn comparable_alerts(alerts: &[Value]) -> Vec<Value> {
    let mut alerts: Vec<Value> = alerts
        .iter()
        .map(|alert| {
            let mut alert = alert.clone();
            let object = alert.as_object_mut().unwrap();
            object.remove("created_at");
            let event = object.get_mut("event").unwrap().as_object_mut().unwrap();
            event.remove("p_row_id");
            event.remove("p_parse_time");
            alert
        })
        .collect();
    alerts.sort_by_key(|a| a["id"].as_str().unwrap().to_string());
    alerts
}
