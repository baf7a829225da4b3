//! What the SNS output publishes for an alert, and how SNS's answers are classified, with a
//! loopback server in SNS's place.

#![cfg(feature = "sns")]

mod common;

use std::collections::HashMap;

use common::{alert, alert_json, Reply, TestServer};
use iota_outputs::sns::{publish_request, topic_region};
use iota_outputs::{build_outputs, AlertOutput, OutputConfig, OutputKind, SecretRef};

const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:iota-alerts";

#[test]
fn publishes_the_alert_with_filterable_attributes() {
    let alert = alert();
    let request = publish_request(TOPIC, &alert);
    assert_eq!(request.topic_arn, TOPIC);
    assert_eq!(
        request.subject,
        "[HIGH] CloudTrail logging stopped by mallory"
    );
    let message: serde_json::Value = serde_json::from_str(&request.message).unwrap();
    assert_eq!(message, alert_json(&alert));
    assert_eq!(
        request.attributes,
        [
            ("severity", "HIGH".to_owned()),
            ("rule_id", "AWS.CloudTrail.LoggingDisabled".to_owned()),
            ("log_type", "AWS.CloudTrail".to_owned()),
        ]
    );
    assert_eq!(request.message_group_id, None);
    assert_eq!(request.deduplication_id, None);
}

#[test]
fn fifo_topics_deduplicate_by_alert_id() {
    let alert = alert();
    let request = publish_request("arn:aws:sns:us-east-1:123456789012:iota.fifo", &alert);
    assert_eq!(request.deduplication_id.as_deref(), Some(alert.id.as_str()));
    assert_eq!(
        request.message_group_id.as_deref(),
        Some("AWS.CloudTrail.LoggingDisabled")
    );
}

#[test]
fn subject_fits_sns_rules_and_message_fits_its_size() {
    let mut alert = alert();
    alert.title = format!("Root login from Zürich\nand {}", "x".repeat(200));
    alert.event = serde_json::value::RawValue::from_string(
        serde_json::json!({"blob": "y".repeat(300 * 1024)}).to_string(),
    )
    .unwrap();
    let request = publish_request(TOPIC, &alert);
    assert!(request.subject.len() < 100);
    assert!(request
        .subject
        .starts_with("[HIGH] Root login from Z?rich and xxx"));
    assert!(request.subject.chars().all(|c| (' '..='~').contains(&c)));
    assert!(request.message.len() < 256 * 1024);
    let message: serde_json::Value = serde_json::from_str(&request.message).unwrap();
    assert_eq!(message["event"]["iota_truncated"], true);
}

#[test]
fn region_comes_from_the_topic_arn() {
    assert_eq!(topic_region(TOPIC), Some("eu-west-1"));
    assert_eq!(
        topic_region("arn:aws-us-gov:sns:us-gov-west-1:1:t"),
        Some("us-gov-west-1")
    );
    assert_eq!(topic_region("arn:aws:sqs:eu-west-1:1:t"), None);
    assert_eq!(topic_region("iota-alerts"), None);
}

/// A loopback server speaking SNS's query protocol, the SDK's endpoint for the test.
fn sns_output(server: &TestServer) -> Box<dyn AlertOutput> {
    // Static credentials through the standard chain's first link.
    std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDTEST");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "secret");
    let mut config = OutputConfig::new(OutputKind::Sns);
    config.target = Some(SecretRef::parse(TOPIC));
    config.url = Some(SecretRef::parse(&server.url));
    build_outputs(&[config]).unwrap().pop().unwrap()
}

fn form(body: &[u8]) -> HashMap<String, String> {
    let query = String::from_utf8(body.to_vec()).unwrap();
    reqwest::Url::parse(&format!("http://form/?{query}"))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn sns_error(status: u16, code: &str) -> Reply {
    Reply::status(status).body(&format!(
        "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>{code} happened</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
    ))
}

#[test]
fn publishes_through_the_sdk_with_signed_requests() {
    let server = TestServer::start(vec![Reply::status(200).body(
        "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult>\
         <MessageId>94f20ce6-13c5-43a0-9a9e-ca52d816e90b</MessageId></PublishResult>\
         <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>",
    )]);
    let output = sns_output(&server);
    let alert = alert();
    output.send(&alert).unwrap();

    let request = server.only_request();
    assert_eq!(request.method, "POST");
    let authorization = request.header("authorization").unwrap();
    assert!(
        authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTEST/"),
        "{authorization}"
    );
    assert!(
        authorization.contains("/eu-west-1/sns/aws4_request"),
        "{authorization}"
    );
    let form = form(&request.body);
    assert_eq!(form["Action"], "Publish");
    assert_eq!(form["TopicArn"], TOPIC);
    assert_eq!(
        form["Subject"],
        "[HIGH] CloudTrail logging stopped by mallory"
    );
    let message: serde_json::Value = serde_json::from_str(&form["Message"]).unwrap();
    assert_eq!(message, alert_json(&alert));
    let mut attributes = HashMap::new();
    for n in 1..=3 {
        let entry = |field: &str| form[&format!("MessageAttributes.entry.{n}.{field}")].clone();
        assert_eq!(entry("Value.DataType"), "String");
        attributes.insert(entry("Name"), entry("Value.StringValue"));
    }
    assert_eq!(attributes["severity"], "HIGH");
    assert_eq!(attributes["rule_id"], "AWS.CloudTrail.LoggingDisabled");
    assert_eq!(attributes["log_type"], "AWS.CloudTrail");
}

#[test]
fn throttling_is_retryable_and_authorization_errors_are_permanent() {
    let server = TestServer::start(vec![
        sns_error(400, "Throttling"),
        sns_error(500, "InternalError"),
        sns_error(403, "AuthorizationError"),
    ]);
    let output = sns_output(&server);
    let throttled = output.send(&alert()).unwrap_err();
    assert!(throttled.is_retryable(), "{throttled}");
    let internal = output.send(&alert()).unwrap_err();
    assert!(internal.is_retryable(), "{internal}");
    let denied = output.send(&alert()).unwrap_err();
    assert!(!denied.is_retryable(), "{denied}");
    assert!(
        denied.to_string().contains("AuthorizationError happened"),
        "{denied}"
    );
    // Each call is one attempt: the SDK's own retries are off.
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn unreachable_endpoint_is_retryable() {
    std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDTEST");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "secret");
    let mut config = OutputConfig::new(OutputKind::Sns);
    config.target = Some(SecretRef::parse(TOPIC));
    config.url = Some(SecretRef::parse(&common::refused_url()));
    let output = build_outputs(&[config]).unwrap().pop().unwrap();
    let err = output.send(&alert()).unwrap_err();
    assert!(err.is_retryable(), "{err}");
}
