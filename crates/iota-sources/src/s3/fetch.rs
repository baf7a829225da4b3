//! Downloading objects whole. CloudTrail files are small (kilobytes to tens of megabytes
//! gzipped), so holding each in memory while it is decoded costs little and lets several
//! downloads overlap; the caller bounds how many are in flight. S3 decrypts SSE-S3 and SSE-KMS
//! objects itself for a caller allowed to use the key, so nothing here depends on encryption.

use bytes::Bytes;

use super::{S3Error, TrailBucket};

/// The body of `key`.
pub async fn get(bucket: &TrailBucket, key: &str) -> Result<Bytes, S3Error> {
    let output = bucket
        .client
        .get_object()
        .bucket(&bucket.bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| bucket.error("get", key, e))?;
    let body = output.body.collect().await.map_err(|e| S3Error {
        operation: "get",
        bucket: bucket.bucket.clone(),
        key: key.to_owned(),
        message: format!("download interrupted: {e}"),
        code: None,
    })?;
    Ok(body.into_bytes())
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
