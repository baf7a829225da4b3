//! Secrets hygiene end to end: with secrets configured everywhere iota takes them (Slack and
//! webhook URLs holding tokens, a PagerDuty routing key, a webhook HMAC key and auth header,
//! Splunk and Datadog tokens, a PostgreSQL URL with its password, AWS credentials), every mode runs at debug level (`scan`
//! with outputs, one of them unreachable, `watch`, `s3-poll` and `sqs` against moto, `alerts
//! list/show`, `sources list/show`, and commands that fail on purpose), and not one secret
//! appears in what iota prints, logs, serves on /metrics, keeps in its state store or shows in
//! an error. The receivers show that the secrets were in use all along.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::daemon::{free_addr, http_get, wait_until};
use common::moto::{Moto, AWS_ENV};
use common::receiver::Receiver;
use common::state_store::StoreFixture;
use common::*;

const SLACK_TOKEN: &str = "slack-token-4f9c1e7a";
const WEBHOOK_TOKEN: &str = "webhook-token-81d2a0c3";
const UNREACHABLE_TOKEN: &str = "unreachable-token-5b7e33d9";
const PAGERDUTY_KEY: &str = "pagerduty-routing-key-0c6d94f2";
const HMAC_KEY: &str = "hmac-key-a73f1052";
const AUTH_TOKEN: &str = "auth-header-token-2e8b55a1";
const SPLUNK_TOKEN: &str = "splunk-hec-token-7a1c0e93";
const DATADOG_KEY: &str = "datadog-api-key-5e2f8b61";
const PG_PASSWORD: &str = "pg-password-9d41c7e6";
const AWS_SECRET: &str = "aws-secret-access-key-6f2a0811";
const AWS_SESSION: &str = "aws-session-token-3c9e71b4";

const SECRETS: &[&str] = &[
    SLACK_TOKEN,
    WEBHOOK_TOKEN,
    UNREACHABLE_TOKEN,
    PAGERDUTY_KEY,
    HMAC_KEY,
    AUTH_TOKEN,
    SPLUNK_TOKEN,
    DATADOG_KEY,
    PG_PASSWORD,
    AWS_SECRET,
    AWS_SESSION,
];

/// Everything iota showed, by where it showed it.
#[derive(Default)]
struct Shown(Vec<(String, String)>);

impl Shown {
    fn add(&mut self, what: impl Into<String>, text: impl Into<String>) {
        self.0.push((what.into(), text.into()));
    }

    fn assert_no_secret(&self) {
        for (what, text) in &self.0 {
            for secret in SECRETS {
                if let Some(at) = text.find(secret) {
                    let start = text.floor_char_boundary(at.saturating_sub(200));
                    let end = text.ceil_char_boundary((at + 200).min(text.len()));
                    panic!("{secret} appears in {what}: ...{}...", &text[start..end]);
                }
            }
        }
    }
}

/// The configured outputs and the stores' locations of one test.
struct Setup {
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
    state: String,
    slack: Receiver,
    webhook: Receiver,
    pagerduty: Receiver,
    /// Splunk HEC and Datadog.
    logs: Receiver,
}

impl Setup {
    fn new(store: &StoreFixture) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let (slack, webhook, pagerduty, logs) = (
            Receiver::start(Duration::ZERO),
            Receiver::start(Duration::ZERO),
            Receiver::start(Duration::ZERO),
            Receiver::start(Duration::ZERO),
        );
        // A port nothing listens on: every delivery there fails, and its errors are shown.
        let unreachable = free_addr();
        let config = dir.path().join("iota.toml");
        std::fs::write(
            &config,
            format!(
                r#"
[[outputs]]
kind = "slack"
target = "env:IOTA_TEST_SLACK_URL"

[[outputs]]
kind = "webhook"
target = "{}?token={WEBHOOK_TOKEN}"
hmac_key = "env:IOTA_TEST_HMAC_KEY"
headers = {{ Authorization = "env:IOTA_TEST_AUTHORIZATION" }}

[[outputs]]
kind = "pagerduty"
target = "{PAGERDUTY_KEY}"
url = "{}"

[[outputs]]
kind = "splunk"
target = "{}"
token = "env:IOTA_TEST_SPLUNK_TOKEN"

[[outputs]]
kind = "datadog"
target = "datadoghq.eu"
url = "{}"
token = "{DATADOG_KEY}"

[[outputs]]
name = "unreachable"
kind = "webhook"
target = "http://{unreachable}/hook/{UNREACHABLE_TOKEN}?token={UNREACHABLE_TOKEN}"
max_attempts = 2
timeout = "1s"
"#,
                webhook.url, pagerduty.url, logs.url, logs.url
            ),
        )
        .unwrap();
        let state = store
            .location
            .replacen("postgres@", &format!("postgres:{PG_PASSWORD}@"), 1);
        assert!(state.contains(PG_PASSWORD), "{state}");
        Setup {
            dir,
            config,
            state,
            slack,
            webhook,
            pagerduty,
            logs,
        }
    }

    /// `iota ARGS...` at debug level, with every secret in its environment.
    fn iota(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_iota"));
        command
            .args(["--log-format", "json", "--log-level", "debug"])
            .args(args)
            .envs(AWS_ENV.iter().copied())
            .env("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
            .env("AWS_SESSION_TOKEN", AWS_SESSION)
            .env("RUST_LOG", "debug")
            .env(
                "IOTA_TEST_SLACK_URL",
                format!("{}/services/T0/B0/{SLACK_TOKEN}", self.slack.url),
            )
            .env("IOTA_TEST_HMAC_KEY", HMAC_KEY)
            .env("IOTA_TEST_SPLUNK_TOKEN", SPLUNK_TOKEN)
            .env("IOTA_TEST_AUTHORIZATION", format!("Bearer {AUTH_TOKEN}"))
            .env_remove("IOTA_STATE")
            .stdin(Stdio::null());
        command
    }

    /// Runs `iota ARGS...` to its end; records what it printed; returns its status.
    fn run(&self, shown: &mut Shown, args: &[&str]) -> (bool, String, String) {
        let output = self.iota(args).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        shown.add(format!("stdout of iota {args:?}"), stdout.clone());
        shown.add(format!("stderr of iota {args:?}"), stderr.clone());
        (output.status.success(), stdout, stderr)
    }

    fn run_ok(&self, shown: &mut Shown, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.run(shown, args);
        assert!(ok, "iota {args:?} failed: {stderr}");
        stdout
    }

    fn input(&self, name: &str, events: &[serde_json::Value]) -> String {
        write(self.dir.path(), name, &records_json(events))
            .display()
            .to_string()
    }
}

fn rule_options() -> Vec<String> {
    [
        "--rules",
        &fixtures().join("rules/good").display().to_string(),
        "--rules",
        &fixtures().join("rules/probes").display().to_string(),
        "--workers",
        "1",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn no_secret_appears_in_logs_metrics_alerts_or_errors_of_any_mode() {
    let Some(store) = StoreFixture::postgres("no_secret_appears_in_any_mode") else {
        return;
    };
    let Some(moto) = Moto::start("no_secret_appears_in_any_mode") else {
        return;
    };
    let setup = Setup::new(&store);
    let mut shown = Shown::default();
    let config = setup.config.display().to_string();
    let rules = rule_options();
    let with = |args: &[&str]| -> Vec<String> {
        args.iter()
            .map(|a| a.to_string())
            .chain(rules.iter().cloned())
            .chain(["--config".into(), config.clone()])
            .chain(["--state".into(), setup.state.clone()])
            .collect()
    };

    // scan: every output, one unreachable; a rule that looks for secrets in /proc.
    let mut events = events("StopLogging", "scan", 2);
    events.push(event("EnvironmentProbe", "probe-1"));
    let input = setup.input("scan/events.json", &events);
    // The store's URL comes from the environment here, as it should wherever rules are not
    // trusted: iota's command line is readable by every process, its rules included.
    let mut scan = with(&["scan", &input]);
    scan.truncate(scan.len() - 2);
    let output = setup
        .iota(&strs(&scan))
        .env("IOTA_STATE", &setup.state)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    shown.add(
        "stdout of iota scan",
        String::from_utf8_lossy(&output.stdout),
    );
    shown.add("stderr of iota scan", stderr.clone());
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains(r#""level":"DEBUG""#),
        "debug logs: {stderr}"
    );
    assert!(stderr.contains("delivery failed"), "{stderr}");

    // The classic command line: a Slack output from SLACK_WEBHOOK_URL.
    let classic_input = setup.dir.path().join("classic.jsonl");
    std::fs::write(&classic_input, jsonl(&[event("StopLogging", "classic-1")])).unwrap();
    let slack_before = setup.slack.accepted().len();
    let output = setup
        .iota(&["--jsonl", classic_input.to_str().unwrap()])
        .args(&rules)
        .env(
            "SLACK_WEBHOOK_URL",
            format!("{}/services/T0/B1/{SLACK_TOKEN}", setup.slack.url),
        )
        .output()
        .unwrap();
    shown.add(
        "stdout of the classic command line",
        String::from_utf8_lossy(&output.stdout),
    );
    shown.add(
        "stderr of the classic command line",
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success());
    assert!(
        setup.slack.accepted().len() > slack_before,
        "the classic Slack output"
    );

    // watch --once on a directory of its own.
    let watched = setup.dir.path().join("watched");
    write(
        &watched,
        "events.json",
        &records_json(&[event("StopLogging", "watch-1")]),
    );
    let watch = with(&["watch", watched.to_str().unwrap(), "--once"]);
    setup.run_ok(&mut shown, &strs(&watch));

    // s3-poll as a daemon: its /metrics, /healthz and /readyz while it runs.
    moto.create_bucket("trail");
    let key = "AWSLogs/123456789012/CloudTrail/us-east-1/2024/06/01/\
               123456789012_CloudTrail_us-east-1_20240601T0000Z_a.json.gz";
    let mut polled = event("StopLogging", "poll-1");
    polled["eventTime"] = "2024-06-01T00:01:00Z".into();
    moto.put("trail", key, gzip(&records_json(&[polled])));
    let addr = free_addr();
    let poll = with(&[
        "s3-poll",
        "--bucket",
        "trail",
        "--endpoint-url",
        &moto.endpoint,
        "--force-path-style",
        "--since",
        "2024-01-01T00:00:00Z",
        "--poll-interval",
        "1h",
        "--listen",
        &addr,
    ]);
    // Debug logs fill a pipe long before the poll ends: to a file.
    let daemon_log = setup.dir.path().join("s3-poll.log");
    let mut daemon = setup
        .iota(&strs(&poll))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&daemon_log).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let metrics = loop {
        if std::net::TcpStream::connect(&addr).is_ok() {
            let (_, body) = http_get(&addr, "/metrics");
            if body.contains("iota_objects_total{outcome=\"ok\"} 1") {
                break body;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "no poll: {}",
            std::fs::read_to_string(&daemon_log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    shown.add("/metrics", metrics);
    for path in ["/healthz", "/readyz"] {
        shown.add(path, http_get(&addr, path).1);
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
    let status = wait_until(&mut daemon, Instant::now() + Duration::from_secs(60));
    let logs = std::fs::read_to_string(&daemon_log).unwrap();
    assert!(status.is_some_and(|s| s.success()), "s3-poll: {logs}");
    shown.add("stderr of iota s3-poll", logs);

    // sqs --once: a bucket that notifies a queue.
    let (queue, queue_arn) = moto.create_queue("trail-events");
    moto.create_bucket("trail-sqs");
    moto.notify_queue("trail-sqs", &queue_arn);
    let mut notified = event("StopLogging", "sqs-1");
    notified["eventTime"] = "2024-06-02T00:01:00Z".into();
    moto.put(
        "trail-sqs",
        &key.replace("_a.json", "_b.json"),
        gzip(&records_json(&[notified])),
    );
    let sqs = with(&[
        "sqs",
        "--queue-url",
        &queue,
        "--endpoint-url",
        &moto.endpoint,
        "--force-path-style",
        "--wait-seconds",
        "1",
        "--once",
    ]);
    setup.run_ok(&mut shown, &strs(&sqs));

    // What the store keeps, as the store commands show it.
    let state = setup.state.as_str();
    let listed = setup.run_ok(&mut shown, &["alerts", "list", "--json", "--state", state]);
    let ids: Vec<String> = listed
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(ids.len() >= 4, "{listed}");
    setup.run_ok(&mut shown, &["alerts", "list", "--state", state]);
    let failed = setup.run_ok(
        &mut shown,
        &["alerts", "list", "--failed", "--state", state],
    );
    assert!(failed.contains("1 failed"), "failed deliveries: {failed}");
    for id in &ids {
        setup.run_ok(&mut shown, &["alerts", "show", id, "--state", state]);
        setup.run_ok(
            &mut shown,
            &["alerts", "show", id, "--json", "--state", state],
        );
    }
    setup.run_ok(
        &mut shown,
        &[
            "sources",
            "add",
            "org",
            "--bucket",
            "trail",
            "--region",
            "us-east-1",
            "--state",
            state,
        ],
    );
    setup.run_ok(&mut shown, &["sources", "list", "--state", state]);
    setup.run_ok(&mut shown, &["sources", "show", "org", "--state", state]);
    setup.run_ok(
        &mut shown,
        &["sources", "show", "org", "--json", "--state", state],
    );

    // Errors that hold a secret's neighbourhood: an unreachable database, a missing one, a
    // malformed store URL, an output URL iota cannot use.
    let unreachable_db = format!("postgres://postgres:{PG_PASSWORD}@127.0.0.1:1/iota");
    let missing_db = format!("postgres://postgres:{PG_PASSWORD}@127.0.0.1:5432/no_such_database");
    let bad_tls = format!("postgres://postgres:{PG_PASSWORD}@127.0.0.1:5432/iota?sslmode=bogus");
    // A raw `@` in a password: the driver would take the rest of it for the host name.
    let raw_at = format!("postgres://postgres:pre@{PG_PASSWORD}@127.0.0.1:5432/iota");
    for store in [&unreachable_db, &missing_db, &bad_tls, &raw_at] {
        let (ok, _, stderr) = setup.run(&mut shown, &["alerts", "list", "--state", store]);
        assert!(!ok && !stderr.is_empty(), "{store}");
        let (ok, _, _) = setup.run(&mut shown, &["sources", "list", "--state", store]);
        assert!(!ok);
    }
    for output in [
        format!("webhook=ftp://hooks.example.com/{WEBHOOK_TOKEN}"),
        format!("slack=hooks.example.com/services/{SLACK_TOKEN}"),
        format!("webhook=http://[::1/{WEBHOOK_TOKEN}"),
    ] {
        let (ok, _, stderr) = setup.run(&mut shown, &["scan", "--output", &output, &input]);
        assert!(!ok && !stderr.is_empty(), "{output}");
    }

    // The secrets were in use: every receiver got the alerts, PagerDuty with its key.
    assert!(!setup.slack.accepted().is_empty());
    assert!(!setup.webhook.accepted().is_empty());
    assert!(!setup.logs.accepted().is_empty());
    let paged = serde_json::to_string(&setup.pagerduty.accepted()).unwrap();
    assert!(paged.contains(PAGERDUTY_KEY), "{paged}");
    // What went to the other receivers is alerts: no secret may be in them either (the rule
    // reading /proc put what it found in its alert's context).
    shown.add(
        "alerts sent to Slack",
        serde_json::to_string(&setup.slack.accepted()).unwrap(),
    );
    shown.add(
        "alerts sent to the webhook",
        serde_json::to_string(&setup.webhook.accepted()).unwrap(),
    );
    shown.add(
        "alerts sent to Splunk and Datadog",
        serde_json::to_string(&setup.logs.accepted()).unwrap(),
    );
    // The probe ran: it read iota's command line, and was refused iota's environment.
    let webhook_alerts = setup.webhook.accepted();
    let probe = webhook_alerts
        .iter()
        .find(|a| a["rule_id"] == "environment_probe")
        .expect("the probe's alert");
    let context = &probe["alert_context"];
    assert!(
        context["parent_cmdline"]
            .as_str()
            .unwrap()
            .contains("--config"),
        "{context}"
    );
    assert!(
        context["parent_environ"]
            .as_str()
            .unwrap()
            .starts_with("PermissionError"),
        "{context}"
    );
    shown.assert_no_secret();
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}
