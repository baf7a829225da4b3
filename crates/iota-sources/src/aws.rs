//! AWS access shared by every AWS-facing source: the standard credential chain (environment,
//! profile, EKS web identity, ECS task role, EC2 instance profile), an optional role to assume
//! for cross-account buckets, and the endpoint overrides S3-compatible stores and tests need.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::SharedCredentialsProvider;

/// How to reach AWS, from the command line.
#[derive(Clone, Debug, Default)]
pub struct AwsOptions {
    /// The region of the bucket (and queue); `None`: from the environment or profile.
    pub region: Option<String>,
    /// Replaces the AWS endpoints (an S3-compatible store, a VPC endpoint, a test server).
    pub endpoint_url: Option<String>,
    /// `http://endpoint/bucket/key` instead of `http://bucket.endpoint/key`.
    pub force_path_style: bool,
    /// A role to assume with STS on top of the base credentials.
    pub assume_role: Option<String>,
    /// How long one attempt of a request may wait for its answer ([`DEFAULT_REQUEST_TIMEOUT`]
    /// when `None`); downloads also bound the time of their body by it ([`crate::s3::fetch`]).
    pub request_timeout: Option<Duration>,
}

/// How long one attempt of a request waits for its answer unless told otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Loads the SDK configuration: the credential chain, then the role to assume if any.
pub async fn sdk_config(options: &AwsOptions) -> Result<SdkConfig, String> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        // Daemons retry whole polls; a few quick attempts per request are enough.
        .retry_config(RetryConfig::standard().with_max_attempts(4))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .read_timeout(options.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT))
                .build(),
        );
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let base = loader.load().await;
    if base.region().is_none() {
        return Err(
            "no AWS region: pass --region (the bucket's region) or set AWS_REGION".to_owned(),
        );
    }
    let Some(role) = &options.assume_role else {
        return Ok(base);
    };
    let provider = AssumeRoleProvider::builder(role)
        .session_name("iota")
        .configure(&base)
        .build()
        .await;
    Ok(base
        .into_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build())
}

/// The S3 client type, for callers that keep one without depending on the SDK.
pub type S3Client = aws_sdk_s3::Client;

/// An S3 client for `config`, with path-style addressing when asked.
pub fn s3_client(config: &SdkConfig, options: &AwsOptions) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(options.force_path_style)
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

/// An SQS client for `config`.
pub fn sqs_client(config: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(config)
}
