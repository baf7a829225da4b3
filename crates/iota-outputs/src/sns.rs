//! The `sns` output: the alert JSON published to an SNS topic, with the severity, rule id and
//! log type as message attributes so that subscriptions can filter on them. On a FIFO topic
//! the alert id is the deduplication id, so a repeated delivery is dropped by SNS.
//!
//! Credentials come from the standard AWS chain (environment, profile, web identity, ECS
//! task role, instance profile); the region is the topic's own, read from its ARN.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_sns::config::http::HttpResponse;
use aws_sdk_sns::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sns::types::MessageAttributeValue;
use iota_alerts::Alert;

use crate::capped::alert_value;
use crate::config::{settings_accessors, ConfigError, OutputSettings};
use crate::error::truncate_chars;
use crate::{AlertOutput, DeliveryError};

/// SNS refuses messages over 256 KiB, attributes and subject included.
const MESSAGE_MAX: usize = 240 * 1024;
/// SNS subjects are under 100 characters.
const SUBJECT_MAX: usize = 99;
/// The longest FIFO message group id.
const GROUP_ID_MAX: usize = 128;

/// What is published for one alert, before it becomes an SDK request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishRequest {
    pub topic_arn: String,
    /// `[SEVERITY] title`, made to fit SNS's rules for subjects (ASCII, one line).
    pub subject: String,
    /// The alert JSON.
    pub message: String,
    /// String attributes: `severity`, `rule_id`, `log_type`.
    pub attributes: Vec<(&'static str, String)>,
    /// FIFO topics only: the rule id, so each rule's alerts stay in order.
    pub message_group_id: Option<String>,
    /// FIFO topics only: the alert id.
    pub deduplication_id: Option<String>,
}

pub fn publish_request(topic_arn: &str, alert: &Alert) -> PublishRequest {
    let fifo = topic_arn.ends_with(".fifo");
    let message = alert_value(alert, MESSAGE_MAX).to_string();
    let attributes = [
        ("severity", alert.severity.as_str().to_owned()),
        ("rule_id", alert.rule_id.clone()),
        ("log_type", alert.log_type.clone()),
    ]
    .into_iter()
    // SNS refuses attributes with empty values.
    .filter(|(_, value)| !value.is_empty())
    .collect();
    PublishRequest {
        topic_arn: topic_arn.to_owned(),
        subject: subject(&format!("[{}] {}", alert.severity, alert.title)),
        message,
        attributes,
        message_group_id: fifo.then(|| truncate_chars(&alert.rule_id, GROUP_ID_MAX)),
        deduplication_id: fifo.then(|| alert.id.clone()),
    }
}

/// SNS subjects are printable ASCII on one line, under 100 characters.
fn subject(text: &str) -> String {
    let ascii: String = text
        .chars()
        .map(|c| match c {
            ' '..='~' => c,
            c if c.is_whitespace() => ' ',
            _ => '?',
        })
        .collect();
    let mut subject: String = ascii.trim().chars().take(SUBJECT_MAX).collect();
    subject.truncate(subject.trim_end().len());
    subject
}

/// The region of an SNS topic ARN (`arn:PARTITION:sns:REGION:ACCOUNT:TOPIC`).
pub fn topic_region(topic_arn: &str) -> Option<&str> {
    match topic_arn.split(':').collect::<Vec<_>>()[..] {
        ["arn", _, "sns", region, _, topic] if !region.is_empty() && !topic.is_empty() => {
            Some(region)
        }
        _ => None,
    }
}

pub struct SnsOutput {
    settings: OutputSettings,
    topic_arn: String,
    client: aws_sdk_sns::Client,
    /// The SDK is async; the output, like the rest of iota's pipeline, is called from plain
    /// threads, each of which drives its publish on this runtime.
    runtime: tokio::runtime::Runtime,
}

impl SnsOutput {
    /// `endpoint_url` replaces the regional SNS endpoint (a VPC endpoint, a test server).
    pub fn new(
        settings: OutputSettings,
        topic_arn: &str,
        endpoint_url: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let error = |message: String| ConfigError::new(&settings.name, message);
        let region = topic_region(topic_arn).ok_or_else(|| {
            error(format!(
                "{topic_arn:?} is not an SNS topic ARN (expected arn:aws:sns:REGION:ACCOUNT:TOPIC)"
            ))
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| error(format!("cannot start the AWS SDK runtime: {err}")))?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(settings.timeout)
                    .build(),
            )
            // One call is one attempt: the deliverer owns retries and their record.
            .retry_config(RetryConfig::disabled());
        if let Some(url) = endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = runtime.block_on(loader.load());
        Ok(SnsOutput {
            settings,
            topic_arn: topic_arn.to_owned(),
            client: aws_sdk_sns::Client::new(&config),
            runtime,
        })
    }
}

impl AlertOutput for SnsOutput {
    settings_accessors!("sns");

    fn send(&self, alert: &Alert) -> Result<(), DeliveryError> {
        let request = publish_request(&self.topic_arn, alert);
        let mut publish = self
            .client
            .publish()
            .topic_arn(request.topic_arn)
            .subject(request.subject)
            .message(request.message)
            .set_message_group_id(request.message_group_id)
            .set_message_deduplication_id(request.deduplication_id);
        for (name, value) in request.attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .expect("data_type is set");
            publish = publish.message_attributes(name, value);
        }
        self.runtime
            .block_on(publish.send())
            .map(drop)
            .map_err(classify)
    }
}

/// Error codes SNS answers with when it is overloaded or failing, whatever the HTTP status.
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "Throttled",
    "ThrottlingException",
    "RequestLimitExceeded",
    "KMSThrottling",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
];

fn classify<E>(err: SdkError<E, HttpResponse>) -> DeliveryError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let reason = DisplayErrorContext(&err).to_string();
    match &err {
        SdkError::ConstructionFailure(_) => DeliveryError::permanent(reason),
        SdkError::ServiceError(service) => {
            let retryable = service
                .err()
                .code()
                .is_some_and(|code| RETRYABLE_CODES.contains(&code));
            if retryable {
                DeliveryError::retryable(reason)
            } else {
                DeliveryError::from_status(service.raw().status().as_u16(), None, &reason)
            }
        }
        // Timeouts, connection failures, unreadable responses and credentials that could not
        // be fetched (they are resolved while dispatching) may all clear.
        _ => DeliveryError::retryable(reason),
    }
}
