//! A lake below an S3 prefix (`s3://bucket/prefix`), through the AWS access every S3 source
//! uses (`iota_sources::aws`: credential chain, optional role, endpoint, path style). A
//! PutObject is atomic: readers see the whole object or none. The calls are made from the
//! pipeline's blocking threads, on a small runtime of the lake's own.

use aws_sdk_s3::primitives::ByteStream;
use iota_sources::aws::{s3_client, sdk_config, AwsOptions, S3Client};

use super::LakeBackend;
use crate::LakeError;

pub struct S3Lake {
    bucket: String,
    /// Empty, or ending in `/`.
    prefix: String,
    client: S3Client,
    runtime: tokio::runtime::Runtime,
}

impl S3Lake {
    /// Connects and checks that the bucket answers.
    pub fn open(bucket: &str, prefix: &str, aws: &AwsOptions) -> Result<Self, LakeError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| LakeError::S3 {
                uri: format!("s3://{bucket}/{prefix}"),
                action: "start the S3 client",
                reason: e.to_string(),
            })?;
        let uri = format!("s3://{bucket}/{prefix}");
        let config = runtime
            .block_on(sdk_config(aws))
            .map_err(|reason| LakeError::S3 {
                uri: uri.clone(),
                action: "configure AWS access",
                reason,
            })?;
        let client = s3_client(&config, aws);
        runtime
            .block_on(client.head_bucket().bucket(bucket).send())
            .map_err(|e| LakeError::S3 {
                uri,
                action: "reach the bucket (HeadBucket)",
                reason: aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
            })?;
        let prefix = prefix.trim_matches('/');
        Ok(S3Lake {
            bucket: bucket.to_owned(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
            client,
            runtime,
        })
    }

    fn error(&self, key: &str, action: &'static str, reason: String) -> LakeError {
        LakeError::S3 {
            uri: format!("s3://{}/{}{key}", self.bucket, self.prefix),
            action,
            reason,
        }
    }
}

impl LakeBackend for S3Lake {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), LakeError> {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(format!("{}{key}", self.prefix))
            .content_type("application/gzip")
            .body(ByteStream::from(bytes.to_vec()))
            .send();
        self.runtime.block_on(request).map(drop).map_err(|e| {
            self.error(
                key,
                "write (PutObject)",
                aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
            )
        })
    }

    fn delete(&self, key: &str) -> Result<(), LakeError> {
        let request = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(format!("{}{key}", self.prefix))
            .send();
        self.runtime.block_on(request).map(drop).map_err(|e| {
            self.error(
                key,
                "delete (DeleteObject)",
                aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
            )
        })
    }
}
