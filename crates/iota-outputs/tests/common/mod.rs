//! What the output tests share: a realistic alert, and a real HTTP server on loopback that
//! records every request and answers with scripted replies.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use iota_alerts::{Alert, SourceRef};
use iota_rules::Severity;
use serde_json::{json, value::RawValue, Value};

pub const ACCOUNT: &str = "123456789012";
pub const PRINCIPAL: &str = "arn:aws:iam::123456789012:user/mallory";

/// A StopLogging alert, as the alert engine makes it.
pub fn alert() -> Alert {
    let event = json!({
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLEMALLORY",
            "arn": PRINCIPAL,
            "accountId": ACCOUNT,
            "userName": "mallory"
        },
        "eventTime": "2026-11-20T10:00:00Z",
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": "StopLogging",
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"name": "arn:aws:cloudtrail:eu-west-1:123456789012:trail/org"},
        "eventID": "0b8f7b5a-1f5e-4c52-9b61-0d1c7c5b0e11",
        "recipientAccountId": ACCOUNT,
        "p_log_type": "AWS.CloudTrail",
        "p_any_aws_account_ids": [ACCOUNT]
    });
    Alert {
        version: 1,
        id: "5f0c6e2a9b1d4e7f8a3c2b1d0e9f8a7b".into(),
        rule_id: "AWS.CloudTrail.LoggingDisabled".into(),
        title: "CloudTrail logging stopped by mallory".into(),
        severity: Severity::High,
        dedup: "org".into(),
        dedup_period_minutes: 60,
        event_count: 3,
        first_seen: Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap(),
        last_seen: Utc.with_ymd_and_hms(2026, 11, 20, 10, 5, 0).unwrap(),
        created_at: Utc.timestamp_micros(1_795_168_000_123_456).unwrap(),
        log_type: "AWS.CloudTrail".into(),
        description: Some(
            "Someone stopped a trail: <b>nothing</b> is logged & audited now.".into(),
        ),
        runbook: Some("https://runbooks.example.com/cloudtrail stopped".into()),
        reference: Some("not a link".into()),
        tags: vec!["CIS".into()],
        reports: BTreeMap::from([("MITRE ATT&CK".into(), vec!["TA0005:T1562.008".into()])]),
        alert_context: Some(json!({"trail": "org", "actor": "<!channel> mallory"})),
        destinations: None,
        source: SourceRef {
            kind: "s3",
            bucket: Some("trail-bucket".into()),
            key: "AWSLogs/123456789012/CloudTrail/eu-west-1/x.json.gz".into(),
            line: Some(1),
        },
        event: RawValue::from_string(event.to_string()).unwrap(),
    }
}

/// The alert as its documented JSON.
pub fn alert_json(alert: &Alert) -> Value {
    serde_json::to_value(alert).unwrap()
}

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

/// What the server answers to one request.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Held before answering, to make the client time out.
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
            delay: Duration::ZERO,
        }
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = body.into();
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// An HTTP server on 127.0.0.1 answering with `replies` in turn (the last one again once
/// they run out), stopped when dropped.
pub struct TestServer {
    pub url: String,
    server: Arc<tiny_http::Server>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start(replies: Vec<Reply>) -> Self {
        assert!(!replies.is_empty());
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let server = Arc::clone(&server);
            let requests = Arc::clone(&requests);
            std::thread::spawn(move || {
                for (n, mut request) in server.incoming_requests().enumerate() {
                    let mut body = Vec::new();
                    request.as_reader().read_to_end(&mut body).unwrap();
                    requests.lock().unwrap().push(Recorded {
                        method: request.method().to_string(),
                        path: request.url().to_owned(),
                        headers: request
                            .headers()
                            .iter()
                            .map(|h| (h.field.to_string(), h.value.to_string()))
                            .collect(),
                        body,
                    });
                    let reply = &replies[n.min(replies.len() - 1)];
                    std::thread::sleep(reply.delay);
                    let mut response = tiny_http::Response::from_string(reply.body.clone())
                        .with_status_code(reply.status);
                    for (name, value) in &reply.headers {
                        response.add_header(
                            tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
                                .unwrap(),
                        );
                    }
                    // The client may have given up waiting (the timeout test).
                    let _ = request.respond(response);
                }
            })
        };
        TestServer {
            url,
            server,
            requests,
            thread: Some(thread),
        }
    }

    /// Answers every request with `status`.
    pub fn replying(status: u16) -> Self {
        Self::start(vec![Reply::status(status)])
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn only_request(&self) -> Recorded {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "expected one request, got {requests:?}");
        requests.into_iter().next().unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A loopback URL nothing listens on.
pub fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}
