//! `iota sqs`: the objects announced by S3 notifications on an SQS queue. Each round receives
//! up to `--max-messages` (long polling), deletes those that announce nothing to read
//! (s3:TestEvent, other events), reads the objects the others announce that the state store
//! has not committed ([`crate::s3_objects`]) while a heartbeat extends the messages'
//! visibility, then deletes each message whose objects are all committed. A message whose
//! objects could not all be committed stays in the queue: it comes back after its visibility
//! timeout and, after the queue's maxReceiveCount, goes to its dead-letter queue.
//!
//! Replicas sharing one queue and one PostgreSQL store need nothing more: SQS gives each
//! message to one consumer at a time, a duplicate or redelivered notification finds its
//! object committed (by bucket, key and etag) and is deleted, and the store keeps alert
//! windows, thresholds, rule state and deliveries exact across processes (docs/SCALING.md).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use iota_ops::Readiness;
use iota_rules::Worker;
use iota_sources::aws::{s3_client, sdk_config, sqs_client, S3Client};
use iota_sources::s3::{fetch, TrailBucket};
use iota_sources::sqs::notification::{self, CreatedObject, Notification};
use iota_sources::sqs::{Message, Queue};
use iota_state::{ObjectOutcome, StateStore};

use crate::cli::SqsArgs;
use crate::daemon::{Daemon, DaemonSettings, Round};
use crate::pipeline::{Counters, PipelineConfig};
use crate::rule_engine::{dedup_window, pipeline_config, start_engine};
use crate::s3_objects::{aws_runtime, source_name, S3Object, S3Reader};
use crate::UsageError;

/// Longest wait after failed receives before the next attempt.
const MAX_RECEIVE_BACKOFF: Duration = Duration::from_secs(60);

pub fn run(args: SqsArgs) -> anyhow::Result<u8> {
    let daemon = Daemon::open(&DaemonSettings {
        daemon: &args.daemon,
        engine: &args.engine,
        once: args.once,
    })?;
    let runtime = aws_runtime()?;
    let aws = args.aws.options();
    let sdk = runtime.block_on(sdk_config(&aws)).map_err(UsageError)?;
    let queue = Arc::new(Queue::new(sqs_client(&sdk), &args.queue_url));
    let s3 = s3_client(&sdk, &aws);

    let server = daemon.serve(queue_readiness(&queue, &runtime))?;
    let (evaluator, mut workers) = start_engine(&args.engine, Some(&daemon.store), &daemon.errors)?;
    let dedup = dedup_window(&args.engine);
    let consumer = Consumer {
        reader: S3Reader::new(
            &daemon,
            &runtime,
            &evaluator,
            &dedup,
            usize::from(args.concurrency),
        ),
        queue: &queue,
        s3,
        buckets: std::cell::RefCell::new(HashMap::new()),
        config: pipeline_config(&args.engine, &args.queue_url),
        visibility: args.visibility_timeout,
    };
    let mut failed_receives = 0u32;
    let mut rounds = 0u64;
    while !daemon.shutdown.is_requested() {
        let round = daemon.round(&evaluator);
        let received = runtime.block_on(queue.receive(
            args.max_messages,
            Duration::from_secs(args.wait_seconds),
            args.visibility_timeout,
        ));
        let messages = match received {
            Ok(messages) => {
                failed_receives = 0;
                messages
            }
            Err(err) => {
                failed_receives += 1;
                round.failed();
                let backoff =
                    MAX_RECEIVE_BACKOFF.min(Duration::from_secs(1 << failed_receives.min(6)));
                tracing::error!("cannot receive messages (retrying in {backoff:?}): {err}");
                daemon.idle_until(Instant::now() + backoff, &|left| {
                    daemon.shutdown.sleep(left)
                });
                continue;
            }
        };
        if messages.is_empty() {
            if args.once {
                break;
            }
            continue;
        }
        if let Err(err) = consumer.consume(messages, &mut workers, &round) {
            round.failed();
            tracing::error!("messages left for redelivery: {err:#}");
        }
        rounds += 1;
        if rounds.is_multiple_of(100) {
            daemon.prune();
        }
    }
    daemon.finish()?;
    drop(server);
    Ok(0)
}

/// `/readyz`'s check of the queue.
fn queue_readiness(queue: &Arc<Queue>, runtime: &tokio::runtime::Runtime) -> Readiness {
    let queue = Arc::clone(queue);
    let handle = runtime.handle().clone();
    Readiness::new().check("sqs", move || {
        handle.block_on(queue.check()).map_err(|e| e.to_string())
    })
}

/// A message whose objects are being read.
struct Pending {
    message: Message,
    objects: Vec<Announced>,
}

/// An object a message announces, as the state store identifies it.
#[derive(PartialEq, Eq, Hash)]
struct Announced {
    bucket: String,
    key: String,
    etag: String,
    size: u64,
}

struct Consumer<'a> {
    reader: S3Reader<'a>,
    queue: &'a Arc<Queue>,
    s3: S3Client,
    /// One per bucket named by a notification.
    buckets: std::cell::RefCell<HashMap<String, Arc<TrailBucket>>>,
    config: PipelineConfig,
    visibility: Duration,
}

impl Consumer<'_> {
    fn consume(
        &self,
        messages: Vec<Message>,
        workers: &mut [Worker],
        round: &Round<'_>,
    ) -> anyhow::Result<()> {
        let store = self.reader.store;
        let received = messages.len();
        let mut ignored = Vec::new();
        let mut pending = Vec::new();
        for message in messages {
            match notification::parse(&message.body) {
                Ok(Notification::Ignored(reason)) => {
                    tracing::debug!(message_id = %message.id, "nothing to read ({reason}); deleted");
                    ignored.push(message);
                }
                Ok(Notification::Created(objects)) => match self.identify(&objects) {
                    Ok(objects) => pending.push(Pending { message, objects }),
                    Err(err) => tracing::warn!(
                        message_id = %message.id,
                        receive_count = message.receive_count,
                        "left for redelivery: {err}"
                    ),
                },
                Err(err) => tracing::error!(
                    message_id = %message.id,
                    receive_count = message.receive_count,
                    "left for the queue's redrive policy (dead-letter queue): {err}"
                ),
            }
        }

        self.delete_all(&ignored.iter().collect::<Vec<_>>());
        let ignored = ignored.len();

        // Objects not committed yet, each once.
        let mut seen = HashSet::new();
        let mut objects = Vec::new();
        let mut already_committed = 0;
        for announced in pending.iter().flat_map(|p| &p.objects) {
            if !seen.insert(announced) {
                continue;
            }
            if is_committed(store, announced)? {
                already_committed += 1;
                continue;
            }
            objects.push(S3Object {
                bucket: self.bucket(&announced.bucket),
                key: announced.key.clone(),
                etag: announced.etag.clone(),
                size: announced.size,
            });
        }

        let heartbeat = self.keep_invisible(pending.iter().map(|p| p.message.clone()).collect());
        let counters = Counters::default();
        let (complete, collector) = self.reader.read(&objects, &self.config, workers, &counters);
        heartbeat.abort();
        if let Some(failure) = collector.failure {
            return Err(failure);
        }
        let tally = collector.tally;

        // Delete what is committed; the rest comes back.
        let mut done = Vec::new();
        for p in &pending {
            let mut committed = true;
            for announced in &p.objects {
                committed &= is_committed(store, announced)?;
            }
            if committed {
                done.push(&p.message);
            }
        }
        self.delete_all(&done);
        let (deleted, left) = (done.len(), pending.len() - done.len());
        round.succeeded(&counters, &tally);
        tracing::info!(
            queue = self.queue.url(),
            messages = received,
            ignored,
            objects = objects.len(),
            already_committed,
            objects_ok = tally.objects_ok,
            objects_partial = tally.objects_partial,
            objects_failed = tally.objects_failed,
            events = tally.events,
            malformed = Counters::get(&counters.malformed),
            matches = tally.matches,
            alerts = tally.alerts,
            deleted,
            left,
            complete,
            seconds = round.started().elapsed().as_secs_f64(),
            "messages processed"
        );
        Ok(())
    }

    /// The announced objects with their etags, asked from S3 when the notification does not
    /// carry them.
    fn identify(&self, objects: &[CreatedObject]) -> anyhow::Result<Vec<Announced>> {
        objects
            .iter()
            .map(|o| {
                let (etag, size) = match &o.etag {
                    Some(etag) => (etag.clone(), o.size.unwrap_or(0)),
                    None => {
                        let bucket = self.bucket(&o.bucket);
                        self.reader.runtime.block_on(fetch::head(&bucket, &o.key))?
                    }
                };
                Ok(Announced {
                    bucket: o.bucket.clone(),
                    key: o.key.clone(),
                    etag,
                    size,
                })
            })
            .collect()
    }

    fn bucket(&self, name: &str) -> Arc<TrailBucket> {
        let mut buckets = self.buckets.borrow_mut();
        let bucket = buckets
            .entry(name.to_owned())
            .or_insert_with(|| Arc::new(TrailBucket::new(self.s3.clone(), name)));
        Arc::clone(bucket)
    }

    /// Deletes `messages`, ten to a request; those a batch could not delete are retried one
    /// by one.
    fn delete_all(&self, messages: &[&Message]) {
        for chunk in messages.chunks(10) {
            let retry: Vec<&Message> =
                match self.reader.runtime.block_on(self.queue.delete_batch(chunk)) {
                    Ok(failed) => chunk
                        .iter()
                        .copied()
                        .filter(|m| failed.contains(&m.id))
                        .collect(),
                    Err(err) => {
                        tracing::debug!("cannot delete a batch, deleting one by one: {err}");
                        chunk.to_vec()
                    }
                };
            for message in retry {
                self.delete(message);
            }
        }
    }

    /// Deletes `message`, retrying a few times; a message left behind is harmless (its
    /// objects are committed, so a redelivery is deleted without reading them).
    fn delete(&self, message: &Message) {
        for attempt in 1..=3u32 {
            match self.reader.runtime.block_on(self.queue.delete(message)) {
                Ok(()) => return,
                Err(err) if attempt == 3 => {
                    tracing::warn!(message_id = %message.id, "cannot delete (it will come back and be deleted then): {err}");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(200 << attempt)),
            }
        }
    }

    /// Extends the visibility of `messages` every third of the timeout until aborted, so that
    /// no other consumer receives them while their objects are being read.
    fn keep_invisible(&self, messages: Vec<Message>) -> tokio::task::JoinHandle<()> {
        let queue = Arc::clone(self.queue);
        let visibility = self.visibility;
        self.reader.runtime.spawn(async move {
            let period = (visibility / 3).max(Duration::from_secs(1));
            loop {
                tokio::time::sleep(period).await;
                for message in &messages {
                    if let Err(err) = queue.extend(message, visibility).await {
                        tracing::warn!(message_id = %message.id, "cannot extend the visibility: {err}");
                    }
                }
            }
        })
    }
}

/// Whether the object is committed for good (a failed object is read again).
fn is_committed(store: &dyn StateStore, object: &Announced) -> anyhow::Result<bool> {
    let record = store
        .object_state(&source_name(&object.bucket), &object.key, &object.etag)
        .with_context(|| format!("cannot read the state store {}", store.name()))?;
    Ok(record.is_some_and(|r| !matches!(r.outcome, ObjectOutcome::Failed(_))))
}
