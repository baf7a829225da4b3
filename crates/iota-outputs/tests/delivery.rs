//! One delivery attempt's outcome against a real server: which failures are worth retrying,
//! when, and the retry policy built on them.

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::{alert, refused_url, Reply, TestServer};
use iota_outputs::{
    build_outputs, parse_retry_after, AlertOutput, DeliveryError, OutputConfig, OutputKind,
    RetryPolicy, SecretRef,
};

fn webhook(url: &str, timeout: Option<Duration>) -> Box<dyn AlertOutput> {
    let mut config = OutputConfig::new(OutputKind::Webhook);
    config.target = Some(SecretRef::parse(url));
    config.timeout = timeout;
    config.max_attempts = Some(4);
    build_outputs(&[config]).unwrap().pop().unwrap()
}

#[test]
fn server_error_then_success_is_retried() {
    let server = TestServer::start(vec![
        Reply::status(500).body("upstream down"),
        Reply::status(200),
    ]);
    let output = webhook(&server.url, None);
    let policy = RetryPolicy::for_output(output.as_ref());
    assert_eq!(policy.max_attempts, 4);

    let err = output.send(&alert()).unwrap_err();
    assert_eq!(
        err,
        DeliveryError::Retryable {
            reason: "HTTP 500: upstream down".into(),
            retry_after: None
        }
    );
    let delay = policy.after_failure(1, &err).expect("a 500 is retried");
    assert!(delay <= policy.base, "{delay:?}");
    output.send(&alert()).unwrap();
    assert_eq!(server.requests().len(), 2);
    assert_eq!(server.requests()[0].body, server.requests()[1].body);
}

#[test]
fn too_many_requests_honours_retry_after() {
    let server = TestServer::start(vec![Reply::status(429).header("Retry-After", "2")]);
    let err = webhook(&server.url, None).send(&alert()).unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));

    let policy = RetryPolicy::default();
    for attempt in 1..=3 {
        assert!(policy.next_delay(attempt, err.retry_after()) >= Duration::from_secs(2));
        assert!(policy.after_failure(attempt, &err).unwrap() >= Duration::from_secs(2));
    }
}

#[test]
fn request_timeout_is_retryable() {
    let server = TestServer::replying(408);
    let err = webhook(&server.url, None).send(&alert()).unwrap_err();
    assert!(err.is_retryable(), "{err}");
}

#[test]
fn client_error_is_permanent() {
    let server = TestServer::start(vec![Reply::status(400).body("invalid_payload")]);
    let output = webhook(&server.url, None);
    let err = output.send(&alert()).unwrap_err();
    assert_eq!(err, DeliveryError::permanent("HTTP 400: invalid_payload"));
    assert_eq!(
        RetryPolicy::for_output(output.as_ref()).after_failure(1, &err),
        None
    );
    assert_eq!(err.to_string(), "HTTP 400: invalid_payload");
}

#[test]
fn redirect_is_not_followed() {
    let server = TestServer::start(vec![
        Reply::status(302).header("Location", "http://127.0.0.1:1/")
    ]);
    let err = webhook(&server.url, None).send(&alert()).unwrap_err();
    assert!(!err.is_retryable());
    assert!(
        err.to_string().contains("redirects are not followed"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn connection_refused_is_retryable_and_hides_the_url() {
    let url = format!("{}/secret-path-T000/B000/XXXX", refused_url());
    let err = webhook(&url, None).send(&alert()).unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().starts_with("connection failed"), "{err}");
    assert!(!err.to_string().contains("secret-path"), "{err}");
    assert!(!format!("{err:?}").contains("secret-path"), "{err:?}");
}

#[test]
fn timeout_is_retryable() {
    let server = TestServer::start(vec![Reply::status(200).delay(Duration::from_secs(2))]);
    let started = Instant::now();
    let err = webhook(&server.url, Some(Duration::from_millis(300)))
        .send(&alert())
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().starts_with("timed out"), "{err}");
}

#[test]
fn retry_after_reads_seconds_and_http_dates() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    assert_eq!(
        parse_retry_after("120", now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
    let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
    assert_eq!(
        parse_retry_after(&later, now),
        Some(Duration::from_secs(90))
    );
    let earlier = httpdate::fmt_http_date(now - Duration::from_secs(90));
    assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
    assert_eq!(parse_retry_after("soon", now), None);
    assert_eq!(parse_retry_after("-1", now), None);
}

#[test]
fn status_classification() {
    for status in [408, 429, 500, 502, 503, 504] {
        assert!(
            DeliveryError::from_status(status, None, "").is_retryable(),
            "{status}"
        );
    }
    for status in [301, 400, 401, 403, 404, 410, 413, 422] {
        assert!(
            !DeliveryError::from_status(status, None, "").is_retryable(),
            "{status}"
        );
    }
    let long = "x".repeat(5000);
    let err = DeliveryError::from_status(500, None, &long);
    assert!(err.to_string().len() < 400);
}

#[test]
fn backoff_grows_exponentially_with_full_jitter() {
    let policy = RetryPolicy {
        base: Duration::from_millis(100),
        max: Duration::from_secs(1),
        max_attempts: 5,
    };
    for attempt in 1..=10u32 {
        let ceiling = (Duration::from_millis(100) * 2u32.pow(attempt - 1)).min(policy.max);
        let delays: Vec<Duration> = (0..200).map(|_| policy.next_delay(attempt, None)).collect();
        assert!(delays.iter().all(|d| *d <= ceiling), "attempt {attempt}");
        // Full jitter: spread over the whole range, not clustered at the ceiling.
        assert!(delays.iter().any(|d| *d < ceiling / 2), "attempt {attempt}");
    }
    // A Retry-After beyond the ceiling wins.
    assert_eq!(
        policy.next_delay(1, Some(Duration::from_secs(30))),
        Duration::from_secs(30)
    );
    // Huge attempt numbers do not overflow.
    assert!(policy.next_delay(u32::MAX, None) <= policy.max);

    let retryable = DeliveryError::retryable("HTTP 503");
    assert!(policy.after_failure(4, &retryable).is_some());
    assert_eq!(
        policy.after_failure(5, &retryable),
        None,
        "no attempts left"
    );
    assert_eq!(
        policy.after_failure(1, &DeliveryError::permanent("HTTP 404")),
        None
    );
}
