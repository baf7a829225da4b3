//! S3 notifications from SQS: where a queue message becomes S3 objects to read.
//!
//! - [`notification`]: what a message announces (direct, SNS-wrapped or EventBridge);
//! - [`Queue`]: receiving with long polling, deleting once the objects are committed, and
//!   extending the visibility of messages still being processed.

pub mod notification;

use std::time::Duration;

use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};

use crate::aws::DEFAULT_REQUEST_TIMEOUT;

/// One queue.
pub struct Queue {
    client: aws_sdk_sqs::Client,
    url: String,
}

/// A received message.
#[derive(Clone, Debug)]
pub struct Message {
    pub id: String,
    /// What deletes it or extends its visibility, for this receipt only.
    pub receipt_handle: String,
    pub body: String,
    /// How many times it has been received, this time included.
    pub receive_count: u32,
}

/// A failed SQS request.
#[derive(Debug, thiserror::Error)]
#[error("{operation} {url}: {message}")]
pub struct SqsError {
    pub operation: &'static str,
    pub url: String,
    pub message: String,
}

impl Queue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Queue {
            client,
            url: url.into(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Up to `max` messages, waiting up to `wait` for the first (long polling); each is
    /// hidden from other consumers for `visibility`.
    pub async fn receive(
        &self,
        max: i32,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<Message>, SqsError> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max)
            .wait_time_seconds(wait.as_secs() as i32)
            .visibility_timeout(visibility.as_secs() as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .customize()
            .config_override(self.long_poll_timeouts(wait))
            .send()
            .await
            .map_err(|e| self.error("receive from", e))?;
        Ok(output
            .messages()
            .iter()
            .filter_map(|m| {
                Some(Message {
                    id: m.message_id()?.to_owned(),
                    receipt_handle: m.receipt_handle()?.to_owned(),
                    body: m.body().unwrap_or_default().to_owned(),
                    receive_count: m
                        .attributes()
                        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(1),
                })
            })
            .collect())
    }

    /// A long poll answers after up to `wait`: the read timeout counts from then.
    fn long_poll_timeouts(&self, wait: Duration) -> aws_sdk_sqs::config::Builder {
        let timeouts = self.client.config().timeout_config().cloned();
        let read_timeout = timeouts
            .as_ref()
            .and_then(|t| t.read_timeout())
            .unwrap_or(DEFAULT_REQUEST_TIMEOUT);
        let timeouts = timeouts
            .map(|t| t.to_builder())
            .unwrap_or_default()
            .read_timeout(read_timeout + wait)
            .build();
        aws_sdk_sqs::config::Builder::default().timeout_config(timeouts)
    }

    pub async fn delete(&self, message: &Message) -> Result<(), SqsError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(&message.receipt_handle)
            .send()
            .await
            .map_err(|e| self.error("delete a message from", e))?;
        Ok(())
    }

    /// Deletes up to 10 messages in one request; returns the ids of those SQS did not delete
    /// (each may be retried on its own).
    pub async fn delete_batch(&self, messages: &[&Message]) -> Result<Vec<String>, SqsError> {
        let entries = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(&m.receipt_handle)
                    .build()
                    .expect("id and receipt handle are set")
            })
            .collect();
        let output = self
            .client
            .delete_message_batch()
            .queue_url(&self.url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| self.error("delete messages from", e))?;
        Ok(output
            .failed()
            .iter()
            .filter_map(|f| f.id().parse::<usize>().ok())
            .filter_map(|i| messages.get(i).map(|m| m.id.clone()))
            .collect())
    }

    /// Keeps `message` hidden for `visibility` from now.
    pub async fn extend(&self, message: &Message, visibility: Duration) -> Result<(), SqsError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(&message.receipt_handle)
            .visibility_timeout(visibility.as_secs() as i32)
            .send()
            .await
            .map_err(|e| self.error("extend the visibility of a message of", e))?;
        Ok(())
    }

    /// Checks that the queue answers (readiness).
    pub async fn check(&self) -> Result<(), SqsError> {
        self.client
            .get_queue_attributes()
            .queue_url(&self.url)
            .send()
            .await
            .map_err(|e| self.error("read the attributes of", e))?;
        Ok(())
    }

    fn error<E, R>(&self, operation: &'static str, err: SdkError<E, R>) -> SqsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let message = match (err.code(), err.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            _ => DisplayErrorContext(&err).to_string(),
        };
        SqsError {
            operation,
            url: self.url.clone(),
            message,
        }
    }
}
