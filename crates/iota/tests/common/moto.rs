//! moto's standalone server as the tests' S3 (and SQS/SNS) endpoint: started from the project
//! venv (`.venv/bin/moto_server`, installed by scripts/test; `IOTA_TEST_MOTO_SERVER` overrides)
//! on a free loopback port, one per test, killed when dropped. Without it a test is skipped
//! with a loud notice, except with CI=true, where it fails.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;

pub struct Moto {
    child: Child,
    pub endpoint: String,
    runtime: tokio::runtime::Runtime,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
}

fn moto_server() -> PathBuf {
    match std::env::var_os("IOTA_TEST_MOTO_SERVER") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server"),
    }
}

/// The environment an AWS client (iota or the test's own) needs to reach moto only: static
/// credentials first in the chain, and no instance-metadata lookups.
pub const AWS_ENV: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_CONFIG_FILE", "/dev/null"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
];

impl Moto {
    /// `None` (after a notice naming `test`) when moto is not installed and this is not CI.
    pub fn start(test: &str) -> Option<Moto> {
        let server = moto_server();
        if !server.is_file() {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!(
                    "moto is required on CI: {} not found (scripts/test installs it)",
                    server.display()
                );
            }
            eprintln!(
                "\n*** SKIPPED {test}: moto not installed ({}); run scripts/test to install it ***\n",
                server.display()
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", server.display()));
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto did not start listening on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let endpoint = format!("http://127.0.0.1:{port}");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let credentials =
            aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "tests");
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url(&endpoint)
            .force_path_style(true)
            .credentials_provider(credentials)
            .build();
        let s3 = aws_sdk_s3::Client::from_conf(config);
        let shared = runtime.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new("us-east-1"))
                .endpoint_url(&endpoint)
                .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                    "testing", "testing", None, None, "tests",
                ))
                .load(),
        );
        Some(Moto {
            child,
            endpoint,
            runtime,
            s3,
            sqs: aws_sdk_sqs::Client::new(&shared),
            sns: aws_sdk_sns::Client::new(&shared),
        })
    }

    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    pub fn create_bucket(&self, bucket: &str) {
        self.block_on(self.s3.create_bucket().bucket(bucket).send())
            .unwrap();
    }

    pub fn put(&self, bucket: &str, key: &str, body: Vec<u8>) {
        self.block_on(
            self.s3
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from(body))
                .send(),
        )
        .unwrap_or_else(|e| panic!("cannot put {key}: {e:?}"));
    }

    /// Uploads an object encrypted with SSE-KMS under `kms_key`.
    pub fn put_kms(&self, bucket: &str, key: &str, body: Vec<u8>, kms_key: &str) {
        self.block_on(
            self.s3
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from(body))
                .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
                .ssekms_key_id(kms_key)
                .send(),
        )
        .unwrap_or_else(|e| panic!("cannot put {key}: {e:?}"));
    }

    /// Creates a KMS key (moto's KMS, through its JSON API) and returns its id.
    pub fn create_kms_key(&self) -> String {
        use std::io::{Read, Write};
        let address = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).unwrap();
        let body = "{}";
        write!(
            stream,
            "POST / HTTP/1.1\r\nhost: {address}\r\nx-amz-target: TrentService.CreateKey\r\n\
             content-type: application/x-amz-json-1.1\r\n\
             authorization: AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=0\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let json = response.split_once("\r\n\r\n").unwrap().1;
        let value: serde_json::Value = serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("CreateKey answered {response}: {e}"));
        value["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned()
    }

    /// Uploads many objects, `concurrency` at a time.
    pub fn put_many(&self, bucket: &str, objects: Vec<(String, Vec<u8>)>, concurrency: usize) {
        use futures_util::StreamExt;
        self.block_on(async {
            futures_util::stream::iter(objects)
                .map(|(key, body)| {
                    let s3 = self.s3.clone();
                    async move {
                        s3.put_object()
                            .bucket(bucket)
                            .key(&key)
                            .body(ByteStream::from(body))
                            .send()
                            .await
                            .unwrap_or_else(|e| panic!("cannot put {key}: {e:?}"));
                    }
                })
                .buffer_unordered(concurrency)
                .collect::<Vec<()>>()
                .await
        });
    }

    /// Uploads every file under `dir`, keyed by its path relative to `dir`.
    pub fn put_tree(&self, bucket: &str, dir: &std::path::Path) -> usize {
        let mut objects = Vec::new();
        for entry in walkdir::WalkDir::new(dir) {
            let entry = entry.unwrap();
            if entry.file_type().is_file() {
                let key = entry
                    .path()
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                objects.push((key, std::fs::read(entry.path()).unwrap()));
            }
        }
        let count = objects.len();
        self.put_many(bucket, objects, 8);
        count
    }

    /// Creates a queue; returns its URL and ARN.
    pub fn create_queue(&self, name: &str) -> (String, String) {
        let url = self
            .block_on(self.sqs.create_queue().queue_name(name).send())
            .unwrap()
            .queue_url()
            .unwrap()
            .to_owned();
        (url.clone(), self.queue_arn(&url))
    }

    pub fn queue_arn(&self, url: &str) -> String {
        use aws_sdk_sqs::types::QueueAttributeName;
        let attributes = self
            .block_on(
                self.sqs
                    .get_queue_attributes()
                    .queue_url(url)
                    .attribute_names(QueueAttributeName::QueueArn)
                    .send(),
            )
            .unwrap();
        attributes.attributes().unwrap()[&QueueAttributeName::QueueArn].clone()
    }

    /// Messages in the queue, visible or not.
    pub fn queue_depth(&self, url: &str) -> u64 {
        use aws_sdk_sqs::types::QueueAttributeName;
        let attributes = self
            .block_on(
                self.sqs
                    .get_queue_attributes()
                    .queue_url(url)
                    .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                    .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                    .send(),
            )
            .unwrap();
        attributes
            .attributes()
            .unwrap()
            .values()
            .map(|v| v.parse::<u64>().unwrap())
            .sum()
    }

    pub fn send_message(&self, url: &str, body: &str) {
        self.block_on(
            self.sqs
                .send_message()
                .queue_url(url)
                .message_body(body)
                .send(),
        )
        .unwrap();
    }

    /// The real chain: `bucket`'s object-created notifications go to an SNS topic that the
    /// queue `queue_arn` subscribes to.
    pub fn notify_through_sns(&self, bucket: &str, topic: &str, queue_arn: &str) {
        use aws_sdk_s3::types::{Event, NotificationConfiguration, TopicConfiguration};
        let topic_arn = self
            .block_on(self.sns.create_topic().name(topic).send())
            .unwrap()
            .topic_arn()
            .unwrap()
            .to_owned();
        self.block_on(
            self.sns
                .subscribe()
                .topic_arn(&topic_arn)
                .protocol("sqs")
                .endpoint(queue_arn)
                .send(),
        )
        .unwrap();
        let configuration = NotificationConfiguration::builder()
            .topic_configurations(
                TopicConfiguration::builder()
                    .topic_arn(topic_arn)
                    .events(Event::S3ObjectCreated)
                    .build()
                    .unwrap(),
            )
            .build();
        self.block_on(
            self.s3
                .put_bucket_notification_configuration()
                .bucket(bucket)
                .notification_configuration(configuration)
                .send(),
        )
        .unwrap();
    }

    /// `bucket`'s object-created notifications go straight to the queue `queue_arn`.
    pub fn notify_queue(&self, bucket: &str, queue_arn: &str) {
        use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
        let configuration = NotificationConfiguration::builder()
            .queue_configurations(
                QueueConfiguration::builder()
                    .queue_arn(queue_arn)
                    .events(Event::S3ObjectCreated)
                    .build()
                    .unwrap(),
            )
            .build();
        self.block_on(
            self.s3
                .put_bucket_notification_configuration()
                .bucket(bucket)
                .notification_configuration(configuration)
                .send(),
        )
        .unwrap();
    }

    /// Stops the server (to make S3 unreachable).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}
