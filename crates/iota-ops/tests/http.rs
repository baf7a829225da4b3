//! The HTTP endpoint over real loopback connections: each test starts its own server on
//! 127.0.0.1:0 and talks to it with an HTTP client.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use iota_ops::metrics::{self, ObjectOutcome};
use iota_ops::{OpsError, OpsServer, Readiness};
use reqwest::blocking::Client;
use reqwest::StatusCode;

fn start(readiness: Readiness) -> OpsServer {
    OpsServer::start("127.0.0.1:0".parse().unwrap(), readiness).expect("server starts")
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn get(server: &OpsServer, path: &str) -> (StatusCode, String, String) {
    let response = client()
        .get(format!("http://{}{path}", server.local_addr()))
        .send()
        .expect("request succeeds");
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().unwrap())
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|err| panic!("{err}: {body}"))
}

#[test]
fn healthz_answers_ok() {
    let server = start(Readiness::new().check("never called", || Err("down".into())));
    let (status, content_type, body) = get(&server, "/healthz");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/json");
    assert_eq!(json(&body), serde_json::json!({ "status": "ok" }));
}

#[test]
fn readyz_is_ready_when_every_check_passes() {
    let server = start(
        Readiness::new()
            .check("state store", || Ok(()))
            .check("s3", || Ok(())),
    );
    let (status, _, body) = get(&server, "/readyz");
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        json(&body),
        serde_json::json!({
            "status": "ready",
            "checks": { "state store": "ok", "s3": "ok" }
        })
    );
}

#[test]
fn readyz_without_checks_is_ready() {
    let server = start(Readiness::new());
    let (status, _, body) = get(&server, "/readyz");
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        json(&body),
        serde_json::json!({ "status": "ready", "checks": {} })
    );
}

#[test]
fn readyz_names_the_failing_check_and_its_reason() {
    let server = start(
        Readiness::new()
            .check("state store", || Ok(()))
            .check("s3", || {
                Err("ListObjectsV2 on bucket trail-logs: AccessDenied".into())
            }),
    );
    let (status, _, body) = get(&server, "/readyz");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        json(&body),
        serde_json::json!({
            "status": "not ready",
            "checks": {
                "state store": "ok",
                "s3": "ListObjectsV2 on bucket trail-logs: AccessDenied"
            }
        })
    );
}

#[test]
fn readyz_follows_the_checks_from_one_request_to_the_next() {
    let (set, get_state) = mpsc::channel::<bool>();
    let up = Mutex::new((get_state, false));
    let server = start(Readiness::new().check("queue", move || {
        let mut up = up.lock().unwrap();
        while let Ok(now) = up.0.try_recv() {
            up.1 = now;
        }
        if up.1 {
            Ok(())
        } else {
            Err("unreachable".into())
        }
    }));
    assert_eq!(get(&server, "/readyz").0, StatusCode::SERVICE_UNAVAILABLE);
    set.send(true).unwrap();
    assert_eq!(get(&server, "/readyz").0, StatusCode::OK);
    set.send(false).unwrap();
    assert_eq!(get(&server, "/readyz").0, StatusCode::SERVICE_UNAVAILABLE);
}

#[test]
fn readyz_fails_a_hung_check_after_its_timeout() {
    // The check blocks until `release` is dropped at the end of the test.
    let (release, hang) = mpsc::channel::<()>();
    let hang = Mutex::new(hang);
    let server = start(
        Readiness::new()
            .timeout(Duration::from_millis(300))
            .check("state store", || Ok(()))
            .check("postgres", move || {
                let _ = hang.lock().unwrap().recv();
                Ok(())
            }),
    );
    for _ in 0..2 {
        // The second request finds the first run still hung: it times out as well, without
        // starting another run.
        let started = Instant::now();
        let (status, _, body) = get(&server, "/readyz");
        let elapsed = started.elapsed();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(
            json(&body),
            serde_json::json!({
                "status": "not ready",
                "checks": { "state store": "ok", "postgres": "timed out after 300ms" }
            })
        );
        assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    }
    drop(release);
}

#[test]
fn readyz_runs_the_checks_concurrently() {
    let slow = || {
        std::thread::sleep(Duration::from_millis(600));
        Ok(())
    };
    let server = start(
        Readiness::new()
            .timeout(Duration::from_secs(5))
            .check("one", slow)
            .check("two", slow)
            .check("three", slow),
    );
    let started = Instant::now();
    let (status, _, body) = get(&server, "/readyz");
    let elapsed = started.elapsed();
    assert_eq!(status, StatusCode::OK, "{body}");
    // One after the other they would take 1.8 s.
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
}

#[test]
fn readyz_reports_a_panicking_check() {
    let server = start(Readiness::new().check("kms", || -> Result<(), String> {
        panic!("key policy parse")
    }));
    let (status, _, body) = get(&server, "/readyz");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        json(&body)["checks"]["kms"],
        "panicked: key policy parse",
        "{body}"
    );
}

fn sample<'a>(exposition: &'a str, series: &str) -> Option<&'a str> {
    exposition
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
}

#[test]
fn metrics_show_what_the_helpers_recorded() {
    let server = start(Readiness::new());
    metrics::register_output("webhook-metrics-test");
    metrics::register_rule("metrics_test.registered_only");
    metrics::events_processed(40);
    metrics::events_processed(2);
    metrics::bytes_read(4096);
    metrics::object_done(ObjectOutcome::Partial);
    metrics::rule_matched("metrics_test.root_login", 3);
    metrics::alert_created("metrics_test.root_login", "HIGH");
    metrics::rule_error("metrics_test.root_login");
    metrics::delivery_attempt("slack-metrics-test", true);
    metrics::delivery_attempt("slack-metrics-test", false);
    metrics::delivery_attempt("slack-metrics-test", true);
    metrics::set_processing_lag(Utc::now() - TimeDelta::seconds(120));
    metrics::poll_finished(Duration::from_millis(700), true);
    metrics::poll_finished(Duration::from_millis(800), false);
    metrics::set_outbox_pending(7);

    let (status, content_type, body) = get(&server, "/metrics");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let value =
        |series: &str| sample(&body, series).unwrap_or_else(|| panic!("no {series} in:\n{body}"));
    assert_eq!(value("iota_events_total"), "42");
    assert_eq!(value("iota_bytes_total"), "4096");
    assert_eq!(value(r#"iota_objects_total{outcome="partial"}"#), "1");
    assert_eq!(
        value(r#"iota_matches_total{rule="metrics_test.root_login"}"#),
        "3"
    );
    assert_eq!(
        value(r#"iota_alerts_total{rule="metrics_test.root_login",severity="HIGH"}"#),
        "1"
    );
    assert_eq!(
        value(r#"iota_rule_errors_total{rule="metrics_test.root_login"}"#),
        "1"
    );
    assert_eq!(
        value(r#"iota_delivery_attempts_total{output="slack-metrics-test"}"#),
        "3"
    );
    assert_eq!(
        value(r#"iota_delivery_failures_total{output="slack-metrics-test"}"#),
        "1"
    );
    assert_eq!(
        value(r#"iota_delivery_attempts_total{output="webhook-metrics-test"}"#),
        "0"
    );
    assert_eq!(
        value(r#"iota_delivery_failures_total{output="webhook-metrics-test"}"#),
        "0"
    );
    assert_eq!(
        value(r#"iota_matches_total{rule="metrics_test.registered_only"}"#),
        "0"
    );
    let lag: f64 = value("iota_processing_lag_seconds").parse().unwrap();
    assert!((120.0..130.0).contains(&lag), "{lag}");
    assert_eq!(value(r#"iota_poll_duration_seconds_bucket{le="0.5"}"#), "0");
    assert_eq!(value(r#"iota_poll_duration_seconds_bucket{le="1"}"#), "2");
    assert_eq!(value("iota_poll_duration_seconds_count"), "2");
    assert_eq!(value("iota_poll_failures_total"), "1");
    let last_success: f64 = value("iota_last_poll_success_timestamp_seconds")
        .parse()
        .unwrap();
    assert!((Utc::now().timestamp() as f64 - last_success).abs() < 60.0);
    assert_eq!(value("iota_outbox_pending"), "7");
    assert!(body.contains("# HELP iota_alerts_total Alerts created, by rule and severity.\n"));
    assert!(body.contains("# TYPE iota_poll_duration_seconds histogram\n"));
}

#[test]
fn unknown_paths_are_not_found() {
    let server = start(Readiness::new());
    for path in ["/", "/health", "/metrics/extra", "/readyz/"] {
        let (status, _, body) = get(&server, path);
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(body.contains(path) && body.contains("/healthz"), "{body}");
    }
}

#[test]
fn other_methods_are_not_allowed() {
    let server = start(Readiness::new());
    let response = client()
        .post(format!("http://{}/healthz", server.local_addr()))
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[test]
fn binding_a_taken_port_names_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let err = OpsServer::start(addr, Readiness::new())
        .err()
        .expect("the port is taken");
    assert!(matches!(err, OpsError::Bind { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("cannot listen on {addr}: address in use; pass --listen with another address")
    );
}

fn refuses_connections(addr: SocketAddr) -> bool {
    std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err()
}

#[test]
fn stop_closes_the_listener() {
    let server = start(Readiness::new());
    let addr = server.local_addr();
    assert_eq!(get(&server, "/healthz").0, StatusCode::OK);
    server.stop();
    assert!(refuses_connections(addr));
}

#[test]
fn dropping_the_server_closes_the_listener() {
    let server = start(Readiness::new());
    let addr = server.local_addr();
    drop(server);
    assert!(refuses_connections(addr));
}

#[test]
fn stopping_does_not_wait_for_a_hung_check() {
    let (release, hang) = mpsc::channel::<()>();
    let hang = Mutex::new(hang);
    let server = start(Readiness::new().timeout(Duration::from_millis(200)).check(
        "hangs",
        move || {
            let _ = hang.lock().unwrap().recv();
            Ok(())
        },
    ));
    assert_eq!(get(&server, "/readyz").0, StatusCode::SERVICE_UNAVAILABLE);
    let started = Instant::now();
    server.stop();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    drop(release);
}
