//! S3 CloudTrail buckets: where an S3 key becomes input bytes.
//!
//! - [`discover`]: the trail prefixes of a bucket (`AWSLogs/[o-org/]<account>/CloudTrail/
//!   <region>/`), the unit of listing and of cursors;
//! - [`listing`]: the objects of a prefix after a key (`StartAfter`), and the key a time
//!   corresponds to, so that a poll lists only what is new plus a late-arrival window;
//! - [`fetch`]: downloading objects whole, with bounded concurrency.
//!
//! Every request goes through [`TrailBucket`], which counts the list requests it makes so
//! that a poll's listing cost can be reported and tested.

pub mod discover;
pub mod fetch;
pub mod listing;

use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// One bucket and the client that reads it.
pub struct TrailBucket {
    client: aws_sdk_s3::Client,
    bucket: String,
    list_requests: AtomicU64,
}

/// A failed S3 request, with what was asked.
#[derive(Debug, thiserror::Error)]
#[error("{operation} s3://{bucket}/{key}: {message}")]
pub struct S3Error {
    pub operation: &'static str,
    pub bucket: String,
    pub key: String,
    pub message: String,
    /// The S3 error code (`NoSuchKey`, `AccessDenied`, ...) when S3 answered with one.
    pub code: Option<String>,
}

impl TrailBucket {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        TrailBucket {
            client,
            bucket: bucket.into(),
            list_requests: AtomicU64::new(0),
        }
    }

    pub fn name(&self) -> &str {
        &self.bucket
    }

    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// ListObjectsV2 requests made so far.
    pub fn list_requests(&self) -> u64 {
        self.list_requests.load(Ordering::Relaxed)
    }

    fn count_list_request(&self) {
        self.list_requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Checks that the bucket can be listed (readiness).
    pub async fn check(&self) -> Result<(), S3Error> {
        self.count_list_request();
        self.client
            .list_objects_v2()
            .bucket(&self.bucket)
            .max_keys(1)
            .send()
            .await
            .map_err(|e| self.error("list", "", e))?;
        Ok(())
    }

    fn error<E, R>(&self, operation: &'static str, key: &str, err: SdkError<E, R>) -> S3Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let code = err.code().map(str::to_owned);
        let message = match (&code, err.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.clone(),
            _ => DisplayErrorContext(&err).to_string(),
        };
        S3Error {
            operation,
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            message,
            code,
        }
    }
}
