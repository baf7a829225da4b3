//! Downloading objects whole. CloudTrail files are small (kilobytes to tens of megabytes
//! gzipped), so holding each in memory while it is decoded costs little and lets several
//! downloads overlap; the caller bounds how many are in flight. S3 decrypts SSE-S3 and SSE-KMS
//! objects itself for a caller allowed to use the key, so nothing here depends on encryption.

use std::time::Duration;

use bytes::Bytes;

use super::{S3Error, TrailBucket};
use crate::aws::DEFAULT_REQUEST_TIMEOUT;

/// The slowest average rate a download may keep once its answer has come: below it the
/// download is given up (and the object retried later) rather than left to trickle, since
/// the SDK's own stall protection only catches bodies slower than a byte a second.
pub const MIN_DOWNLOAD_RATE: u64 = 64 << 10;

/// The body of `key`. The answer must come within the client's read timeout (the SDK
/// retries that), and the body within that time again plus its size at
/// [`MIN_DOWNLOAD_RATE`].
pub async fn get(bucket: &TrailBucket, key: &str) -> Result<Bytes, S3Error> {
    let output = bucket
        .client
        .get_object()
        .bucket(&bucket.bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| bucket.error("get", key, e))?;
    let size = output.content_length().unwrap_or(0).max(0) as u64;
    let deadline = body_deadline(bucket, size);
    let interrupted = |message: String| S3Error {
        operation: "get",
        bucket: bucket.bucket.clone(),
        key: key.to_owned(),
        message,
        code: None,
    };
    let body = tokio::time::timeout(deadline, output.body.collect())
        .await
        .map_err(|_| {
            interrupted(format!(
                "download too slow: {size} bytes not received within {deadline:?} (at least \
                 {} KiB/s expected)",
                MIN_DOWNLOAD_RATE >> 10
            ))
        })?
        .map_err(|e| interrupted(format!("download interrupted: {e}")))?;
    Ok(body.into_bytes())
}

/// How long the body of an object of `size` bytes may take.
fn body_deadline(bucket: &TrailBucket, size: u64) -> Duration {
    let timeout = bucket
        .client
        .config()
        .timeout_config()
        .and_then(|t| t.read_timeout())
        .unwrap_or(DEFAULT_REQUEST_TIMEOUT);
    timeout + Duration::from_secs_f64(size as f64 / MIN_DOWNLOAD_RATE as f64)
}

/// The etag (unquoted) and size of `key`, for a notification that did not carry them.
pub async fn head(bucket: &TrailBucket, key: &str) -> Result<(String, u64), S3Error> {
    let output = bucket
        .client
        .head_object()
        .bucket(&bucket.bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| bucket.error("head", key, e))?;
    Ok((
        output
            .e_tag()
            .unwrap_or_default()
            .trim_matches('"')
            .to_owned(),
        output.content_length().unwrap_or(0).max(0) as u64,
    ))
}
