//! Every HTTP output against a real server on loopback: what arrives, field by field, and
//! with which headers.

mod common;

use common::{alert, alert_json, TestServer, ACCOUNT, PRINCIPAL};
use iota_outputs::{build_outputs, AlertOutput, OutputConfig, OutputKind, SecretRef};
use iota_rules::Severity;
use serde_json::json;

fn output(kind: OutputKind, edit: impl FnOnce(&mut OutputConfig)) -> Box<dyn AlertOutput> {
    let mut config = OutputConfig::new(kind);
    edit(&mut config);
    build_outputs(&[config]).unwrap().pop().unwrap()
}

fn literal(value: &str) -> Option<SecretRef> {
    Some(SecretRef::parse(value))
}

#[test]
fn slack_posts_block_kit_with_the_key_fields() {
    let server = TestServer::start(vec![common::Reply::status(200).body("ok")]);
    let slack = output(OutputKind::Slack, |c| c.target = literal(&server.url));
    assert_eq!((slack.name(), slack.kind()), ("slack", "slack"));
    slack.send(&alert()).unwrap();

    let request = server.only_request();
    assert_eq!(request.method, "POST");
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body = request.json();
    assert_eq!(body["text"], "[HIGH] CloudTrail logging stopped by mallory");
    assert_eq!(
        body["blocks"],
        json!([{
            "type": "header",
            "text": {"type": "plain_text", "text": "CloudTrail logging stopped by mallory", "emoji": true}
        }])
    );
    let attachment = &body["attachments"][0];
    assert_eq!(attachment["color"], "#e8590c");
    let blocks = attachment["blocks"].as_array().unwrap();

    let fields: Vec<&str> = blocks[0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["type"], "mrkdwn");
            f["text"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        fields,
        [
            "*Rule*\nAWS.CloudTrail.LoggingDisabled",
            "*Severity*\nHIGH",
            &format!("*Account*\n{ACCOUNT}"),
            "*Region*\neu-west-1",
            &format!("*Principal*\n{PRINCIPAL}"),
            "*Source IP*\n203.0.113.7",
            "*Event*\nStopLogging",
            "*Event time*\n2026-11-20T10:00:00Z",
            "*Count*\n3",
        ]
    );
    // Text from rules and events is escaped: no injected markup, links or mentions.
    assert_eq!(
        blocks[1]["text"]["text"],
        "Someone stopped a trail: &lt;b&gt;nothing&lt;/b&gt; is logged &amp; audited now."
    );
    // A reference that is not a URL is shown as text, not as a broken button.
    assert_eq!(blocks[2]["text"]["text"], "*Reference*\nnot a link");
    let context = blocks[3]["text"]["text"].as_str().unwrap();
    assert!(context.starts_with("*Alert context*\n```{"), "{context}");
    assert!(context.ends_with("}```"), "{context}");
    assert!(
        context.contains(r#""actor": "&lt;!channel&gt; mallory""#),
        "{context}"
    );
    assert_eq!(
        blocks[4],
        json!({"type": "actions", "elements": [{
            "type": "button",
            "text": {"type": "plain_text", "text": "Runbook"},
            "url": "https://runbooks.example.com/cloudtrail%20stopped"
        }]})
    );
    assert_eq!(blocks[5]["type"], "context");
    assert_eq!(
        blocks[5]["elements"][0]["text"],
        "iota alert 5f0c6e2a9b1d4e7f8a3c2b1d0e9f8a7b · AWS.CloudTrail"
    );
    assert_eq!(blocks.len(), 6);
}

#[test]
fn slack_cuts_every_text_to_its_limit() {
    let mut alert = alert();
    alert.title = "t".repeat(400);
    alert.alert_context = Some(json!({"big": "x".repeat(10_000)}));
    alert.description = Some("<".repeat(5000));
    alert.severity = Severity::Critical;
    let body = iota_outputs::slack::payload(&alert);

    let header = body["blocks"][0]["text"]["text"].as_str().unwrap();
    assert_eq!(header.chars().count(), 150);
    assert!(header.ends_with('…'));
    assert_eq!(body["attachments"][0]["color"], "#a4000f");
    let blocks = body["attachments"][0]["blocks"].as_array().unwrap();
    for block in blocks.iter().filter(|b| b["type"] == "section") {
        if let Some(text) = block["text"]["text"].as_str() {
            assert!(
                text.chars().count() <= 3000,
                "{} chars",
                text.chars().count()
            );
        }
    }
    let description = blocks[1]["text"]["text"].as_str().unwrap();
    assert!(description.starts_with("&lt;&lt;") && description.ends_with('…'));
    let context = blocks[3]["text"]["text"].as_str().unwrap();
    assert!(
        context.ends_with("…```"),
        "{}",
        &context[context.len() - 20..]
    );
}

#[test]
fn slack_leaves_out_what_the_event_does_not_say() {
    let mut alert = alert();
    alert.event = serde_json::value::RawValue::from_string(
        json!({"p_any_aws_account_ids": ["111111111111", "222222222222"]}).to_string(),
    )
    .unwrap();
    alert.runbook = None;
    alert.reference = None;
    alert.description = None;
    alert.alert_context = None;
    let body = iota_outputs::slack::payload(&alert);
    let blocks = body["attachments"][0]["blocks"].as_array().unwrap();
    let fields: Vec<&str> = blocks[0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "*Rule*\nAWS.CloudTrail.LoggingDisabled",
            "*Severity*\nHIGH",
            "*Account*\n111111111111, 222222222222",
            "*Count*\n3",
        ]
    );
    assert_eq!(blocks.len(), 2, "fields and the footer only: {blocks:?}");
}

#[test]
fn webhook_posts_the_alert_schema_signed_with_extra_headers() {
    std::env::set_var("IOTA_TEST_WEBHOOK_AUTH", "Bearer soar-token");
    let server = TestServer::replying(204);
    let webhook = output(OutputKind::Webhook, |c| {
        c.target = literal(&format!("{}/hooks/iota?tenant=a", server.url));
        c.hmac_key = literal("hmac-key");
        c.headers.insert(
            "Authorization".into(),
            SecretRef::parse("env:IOTA_TEST_WEBHOOK_AUTH"),
        );
        c.headers
            .insert("X-Tenant".into(), SecretRef::parse("blue"));
    });
    let alert = alert();
    webhook.send(&alert).unwrap();

    let request = server.only_request();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hooks/iota?tenant=a");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("authorization"), Some("Bearer soar-token"));
    assert_eq!(request.header("x-tenant"), Some("blue"));
    assert!(request.header("user-agent").unwrap().starts_with("iota/"));

    let body = request.json();
    let expected = alert_json(&alert);
    for field in [
        "version",
        "id",
        "rule_id",
        "title",
        "severity",
        "dedup",
        "dedup_period_minutes",
        "event_count",
        "first_seen",
        "last_seen",
        "created_at",
        "log_type",
        "description",
        "runbook",
        "reference",
        "tags",
        "reports",
        "alert_context",
        "destinations",
        "source",
        "event",
    ] {
        assert_eq!(body[field], expected[field], "field {field}");
    }
    assert_eq!(body.as_object().unwrap().len(), 21);
    assert_eq!(body["severity"], "HIGH");
    assert_eq!(body["created_at"], "2026-11-20T09:46:40.123456Z");
    assert_eq!(body["event"]["eventName"], "StopLogging");

    // The receiver's check: the HMAC of the exact bytes received, under the shared key.
    let signature = request.header("x-iota-signature").unwrap();
    let hex = signature.strip_prefix("sha256=").unwrap();
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"hmac-key").unwrap();
    mac.update(&request.body);
    mac.verify_slice(&hex::decode(hex).unwrap())
        .expect("the signature verifies");
    assert_eq!(
        signature,
        iota_outputs::webhook::signature(b"hmac-key", &request.body)
    );
}

#[test]
fn webhook_without_a_key_sends_no_signature() {
    let server = TestServer::replying(200);
    let webhook = output(OutputKind::Webhook, |c| c.url = literal(&server.url));
    webhook.send(&alert()).unwrap();
    let request = server.only_request();
    assert_eq!(request.header("x-iota-signature"), None);
    assert_eq!(request.body, iota_outputs::webhook::body(&alert()));
}

#[test]
fn pagerduty_triggers_an_event_keyed_by_the_alert_id() {
    let server = TestServer::start(vec![common::Reply::status(202)
        .body(r#"{"status":"success","message":"Event processed","dedup_key":"x"}"#)]);
    let pagerduty = output(OutputKind::Pagerduty, |c| {
        c.target = literal("R0UT1NGKEY");
        c.url = literal(&format!("{}/v2/enqueue", server.url));
    });
    let alert = alert();
    pagerduty.send(&alert).unwrap();

    let request = server.only_request();
    assert_eq!(request.path, "/v2/enqueue");
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body = request.json();
    assert_eq!(body["routing_key"], "R0UT1NGKEY");
    assert_eq!(body["event_action"], "trigger");
    assert_eq!(body["dedup_key"], alert.id);
    assert_eq!(body["client"], "iota");
    let payload = &body["payload"];
    assert_eq!(payload["summary"], "CloudTrail logging stopped by mallory");
    assert_eq!(payload["source"], ACCOUNT);
    assert_eq!(payload["severity"], "error");
    assert_eq!(payload["timestamp"], "2026-11-20T09:46:40.123456Z");
    assert_eq!(payload["component"], "cloudtrail.amazonaws.com");
    assert_eq!(payload["group"], "eu-west-1");
    assert_eq!(payload["class"], "AWS.CloudTrail.LoggingDisabled");
    assert_eq!(payload["custom_details"], alert_json(&alert));
    assert_eq!(
        body["links"],
        json!([{"href": "https://runbooks.example.com/cloudtrail%20stopped", "text": "Runbook"}])
    );
}

#[test]
fn pagerduty_maps_severities_and_cuts_the_summary() {
    use iota_outputs::pagerduty::severity;
    assert_eq!(severity(Severity::Critical), "critical");
    assert_eq!(severity(Severity::High), "error");
    assert_eq!(severity(Severity::Medium), "warning");
    assert_eq!(severity(Severity::Low), "info");
    assert_eq!(severity(Severity::Info), "info");

    let mut alert = alert();
    alert.title = "é".repeat(2000);
    alert.event = serde_json::value::RawValue::from_string(
        json!({"requestParameters": {"blob": "x".repeat(600 * 1024)}}).to_string(),
    )
    .unwrap();
    let key = iota_outputs::Secret::new("k");
    let body = iota_outputs::pagerduty::payload(&alert, &key);
    assert_eq!(
        body["payload"]["summary"].as_str().unwrap().chars().count(),
        1024
    );
    assert_eq!(body["payload"]["source"], "iota");
    assert!(body["payload"].get("component").is_none());
    // PagerDuty refuses events over 512 KB: the event is left out, every other field stays.
    let details = &body["payload"]["custom_details"];
    assert_eq!(details["event"]["iota_truncated"], true);
    assert_eq!(details["rule_id"], "AWS.CloudTrail.LoggingDisabled");
    assert!(serde_json::to_vec(&body).unwrap().len() < 512 * 1024);
}

#[test]
fn splunk_sends_a_hec_event_with_the_token() {
    let server = TestServer::start(vec![
        common::Reply::status(200).body(r#"{"text":"Success","code":0}"#)
    ]);
    let splunk = output(OutputKind::Splunk, |c| {
        c.target = literal(&server.url);
        c.token = literal("hec-token-1");
    });
    let alert = alert();
    splunk.send(&alert).unwrap();

    let request = server.only_request();
    // A base URL gets the HEC event endpoint.
    assert_eq!(request.path, "/services/collector/event");
    assert_eq!(request.header("authorization"), Some("Splunk hec-token-1"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body = request.json();
    assert_eq!(body["event"], alert_json(&alert));
    assert_eq!(body["sourcetype"], "iota:alert");
    assert!(body["time"].is_f64());
    let raw = String::from_utf8(request.body.clone()).unwrap();
    assert!(raw.ends_with(r#""time":1795168000.123456}"#), "{raw}");
    assert_eq!(body.as_object().unwrap().len(), 3);
}

#[test]
fn splunk_keeps_a_full_endpoint_url() {
    let server = TestServer::replying(200);
    let splunk = output(OutputKind::Splunk, |c| {
        c.url = literal(&format!("{}/services/collector", server.url));
        c.token = literal("t");
    });
    splunk.send(&alert()).unwrap();
    assert_eq!(server.only_request().path, "/services/collector");
}

#[test]
fn datadog_sends_one_log_with_the_api_key() {
    let server = TestServer::replying(202);
    let datadog = output(OutputKind::Datadog, |c| {
        c.target = literal("datadoghq.eu");
        c.url = literal(&format!("{}/api/v2/logs", server.url));
        c.token = literal("dd-key-1");
        c.hostname = Some("iota-0".into());
    });
    let alert = alert();
    datadog.send(&alert).unwrap();

    let request = server.only_request();
    assert_eq!(request.path, "/api/v2/logs");
    assert_eq!(request.header("dd-api-key"), Some("dd-key-1"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body = request.json();
    let logs = body.as_array().unwrap();
    assert_eq!(logs.len(), 1);
    let log = &logs[0];
    assert_eq!(log["ddsource"], "iota");
    assert_eq!(log["service"], "iota");
    assert_eq!(log["hostname"], "iota-0");
    assert_eq!(
        log["ddtags"],
        "rule_id:AWS.CloudTrail.LoggingDisabled,severity:high"
    );
    assert_eq!(log["status"], "error");
    assert_eq!(log["message"], "CloudTrail logging stopped by mallory");
    assert_eq!(log["alert"], alert_json(&alert));
}

#[test]
fn datadog_site_gives_the_intake_url() {
    use iota_outputs::datadog::intake_url;
    assert_eq!(
        intake_url("datadoghq.com").unwrap(),
        "https://http-intake.logs.datadoghq.com/api/v2/logs"
    );
    assert_eq!(
        intake_url("us5.datadoghq.com").unwrap(),
        "https://http-intake.logs.us5.datadoghq.com/api/v2/logs"
    );
    assert_eq!(intake_url("https://datadoghq.com"), None);
    assert_eq!(intake_url("datadoghq.com/x"), None);
    let body = iota_outputs::datadog::body(&alert(), None);
    assert!(body[0].get("hostname").is_none());
}
