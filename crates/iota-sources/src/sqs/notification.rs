//! What an SQS message says about S3. Three shapes reach a queue:
//!
//! - an S3 event notification sent straight to the queue: `{"Records":[{"eventSource":
//!   "aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":..},"object":{"key":..,
//!   "eTag":..,"size":..}}}]}`, keys URL-encoded (`+` for a space, `%3D` for `=`);
//! - the same wrapped by SNS: `{"Type":"Notification","Message":"<the notification as a
//!   string>",...}`;
//! - an EventBridge event: `{"detail-type":"Object Created","source":"aws.s3","detail":
//!   {"bucket":{"name":..},"object":{"key":..,"etag":..,"size":..}}}`, keys as they are.
//!
//! `s3:TestEvent` (sent when a notification is configured) and events other than object
//! creation are recognised and ignored.

use percent_encoding::percent_decode_str;
use serde_json::Value;

/// An object a notification announces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedObject {
    pub bucket: String,
    /// Decoded: the key as S3 stores it.
    pub key: String,
    pub etag: Option<String>,
    pub size: Option<u64>,
}

/// What to do with a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notification {
    /// Process these objects (one S3 notification may announce several).
    Created(Vec<CreatedObject>),
    /// Nothing to process (why, for the log): the message can be deleted.
    Ignored(&'static str),
}

/// A message that is not an S3 notification iota understands.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NotificationError {
    #[error("the message is not JSON: {0}")]
    NotJson(String),
    #[error("the message is not an S3 notification (direct, SNS-wrapped or EventBridge): {0}")]
    Unrecognised(&'static str),
}

pub fn parse(body: &str) -> Result<Notification, NotificationError> {
    let value: Value =
        serde_json::from_str(body).map_err(|e| NotificationError::NotJson(e.to_string()))?;
    parse_value(&value, true)
}

fn parse_value(value: &Value, may_be_wrapped: bool) -> Result<Notification, NotificationError> {
    if value["Type"] == "Notification" {
        let Some(message) = value["Message"].as_str().filter(|_| may_be_wrapped) else {
            return Err(NotificationError::Unrecognised(
                "an SNS notification without a Message string",
            ));
        };
        let inner: Value = serde_json::from_str(message)
            .map_err(|e| NotificationError::NotJson(format!("SNS Message: {e}")))?;
        return parse_value(&inner, false);
    }
    if value["Event"] == "s3:TestEvent" {
        return Ok(Notification::Ignored("s3:TestEvent"));
    }
    if let Some(records) = value["Records"].as_array() {
        return s3_records(records);
    }
    if value["source"] == "aws.s3" && value.get("detail-type").is_some() {
        return eventbridge(value);
    }
    Err(NotificationError::Unrecognised(
        "no Records, Event, SNS Message or EventBridge detail",
    ))
}

fn s3_records(records: &[Value]) -> Result<Notification, NotificationError> {
    let mut created = Vec::new();
    for record in records {
        if record["eventSource"] != "aws:s3" {
            return Err(NotificationError::Unrecognised(
                "a record whose eventSource is not aws:s3",
            ));
        }
        let is_creation = record["eventName"]
            .as_str()
            .is_some_and(|name| name.starts_with("ObjectCreated:"));
        if !is_creation {
            continue;
        }
        let s3 = &record["s3"];
        let (Some(bucket), Some(key)) =
            (s3["bucket"]["name"].as_str(), s3["object"]["key"].as_str())
        else {
            return Err(NotificationError::Unrecognised(
                "an ObjectCreated record without s3.bucket.name and s3.object.key",
            ));
        };
        created.push(CreatedObject {
            bucket: bucket.to_owned(),
            key: decode_key(key),
            etag: s3["object"]["eTag"].as_str().map(unquote),
            size: s3["object"]["size"].as_u64(),
        });
    }
    Ok(if created.is_empty() {
        Notification::Ignored("no ObjectCreated record")
    } else {
        Notification::Created(created)
    })
}

fn eventbridge(value: &Value) -> Result<Notification, NotificationError> {
    if value["detail-type"] != "Object Created" {
        return Ok(Notification::Ignored(
            "an EventBridge event other than Object Created",
        ));
    }
    let detail = &value["detail"];
    let (Some(bucket), Some(key)) = (
        detail["bucket"]["name"].as_str(),
        detail["object"]["key"].as_str(),
    ) else {
        return Err(NotificationError::Unrecognised(
            "an Object Created event without detail.bucket.name and detail.object.key",
        ));
    };
    Ok(Notification::Created(vec![CreatedObject {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        etag: detail["object"]["etag"].as_str().map(unquote),
        size: detail["object"]["size"].as_u64(),
    }]))
}

/// S3 notifications encode keys as HTML forms do: `+` for a space, `%XX` for the rest.
fn decode_key(key: &str) -> String {
    let spaces = key.replace('+', " ");
    percent_decode_str(&spaces).decode_utf8_lossy().into_owned()
}

fn unquote(etag: &str) -> String {
    etag.trim_matches('"').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIRECT: &str = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2024-01-01T00:00:00.000Z","eventName":"ObjectCreated:Put","s3":{"s3SchemaVersion":"1.0","bucket":{"name":"trail","arn":"arn:aws:s3:::trail"},"object":{"key":"AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/01/a+b%3Dc.json.gz","size":1024,"eTag":"0123abcd","sequencer":"0A1B2C3D4E5F678901"}}}]}"#;

    fn created(bucket: &str, key: &str, etag: &str, size: u64) -> CreatedObject {
        CreatedObject {
            bucket: bucket.into(),
            key: key.into(),
            etag: Some(etag.into()),
            size: Some(size),
        }
    }

    #[test]
    fn a_direct_notification_names_the_decoded_key() {
        assert_eq!(
            parse(DIRECT).unwrap(),
            Notification::Created(vec![created(
                "trail",
                "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/01/a b=c.json.gz",
                "0123abcd",
                1024
            )])
        );
    }

    #[test]
    fn an_sns_wrapped_notification_is_unwrapped() {
        let wrapped = serde_json::json!({
            "Type": "Notification",
            "MessageId": "m-1",
            "TopicArn": "arn:aws:sns:us-east-1:111122223333:trail",
            "Message": DIRECT,
        })
        .to_string();
        assert_eq!(parse(&wrapped).unwrap(), parse(DIRECT).unwrap());
    }

    #[test]
    fn an_eventbridge_event_keeps_its_key_as_it_is() {
        let event = r#"{"version":"0","detail-type":"Object Created","source":"aws.s3","account":"111122223333","detail":{"version":"0","bucket":{"name":"trail"},"object":{"key":"logs/a+b.json.gz","size":7,"etag":"e1"}}}"#;
        assert_eq!(
            parse(event).unwrap(),
            Notification::Created(vec![created("trail", "logs/a+b.json.gz", "e1", 7)])
        );
    }

    #[test]
    fn test_events_and_other_events_are_ignored() {
        let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-01-01T00:00:00.000Z","Bucket":"trail","RequestId":"r","HostId":"h"}"#;
        assert_eq!(parse(test).unwrap(), Notification::Ignored("s3:TestEvent"));
        let sns_test = serde_json::json!({"Type": "Notification", "Message": test}).to_string();
        assert_eq!(
            parse(&sns_test).unwrap(),
            Notification::Ignored("s3:TestEvent")
        );
        let removed = DIRECT.replace("ObjectCreated:Put", "ObjectRemoved:Delete");
        assert_eq!(
            parse(&removed).unwrap(),
            Notification::Ignored("no ObjectCreated record")
        );
    }

    #[test]
    fn anything_else_is_an_error() {
        assert!(matches!(
            parse("not json"),
            Err(NotificationError::NotJson(_))
        ));
        assert!(matches!(
            parse(r#"{"hello":"world"}"#),
            Err(NotificationError::Unrecognised(_))
        ));
    }
}
