//! Reading S3 objects through the pipeline, for every mode that reads S3 (`iota s3-poll`,
//! `iota sqs`, `iota replay`): the objects are downloaded in order, a bounded number at a time, on the S3
//! client's runtime, and handed to the pipeline's input thread as they arrive; each object's
//! results are committed with its processed-object record by a [`StoreCollector`].

use std::sync::Arc;

use anyhow::Context;
use futures_util::StreamExt;

use iota_normalize::DedupWindow;
use iota_ops::Shutdown;
use iota_outputs::AlertOutput;
use iota_rules::{Evaluator, Worker};
use iota_sources::s3::{fetch, TrailBucket};
use iota_sources::Input;
use iota_state::StateStore;

use crate::committer::{StoreCollector, TrackedObject};
use crate::daemon::Daemon;
use crate::pipeline::{self, Collector, Counters, PipelineConfig};
use crate::report::ErrorReport;
use iota_lake::Lake;

/// One object to read.
pub struct S3Object {
    pub bucket: Arc<TrailBucket>,
    pub key: String,
    pub etag: String,
    pub size: u64,
}

/// What reading S3 objects needs, for the life of the process.
pub struct S3Reader<'a> {
    pub runtime: &'a tokio::runtime::Runtime,
    pub store: &'a dyn StateStore,
    pub evaluator: &'a Arc<Evaluator>,
    /// The eventIDs seen recently, kept from one read to the next.
    pub dedup: &'a DedupWindow,
    pub outputs: &'a [Box<dyn AlertOutput>],
    pub errors: &'a ErrorReport,
    /// Downloads in flight (and objects held in memory) at most.
    pub concurrency: usize,
    pub shutdown: &'a Shutdown,
    /// The data lake every event is also written to.
    pub lake: Option<&'a Lake>,
}

/// The store's name for the objects of `bucket` (processed objects are keyed by bucket, so
/// that every mode and source reading a bucket agrees on what was read).
pub fn source_name(bucket: &str) -> String {
    format!("s3://{bucket}")
}

/// The runtime the AWS clients run on: two threads, as the pipeline's threads do the work.
pub fn aws_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("aws")
        .enable_all()
        .build()
        .context("cannot start the AWS clients' runtime")
}

impl<'a> S3Reader<'a> {
    /// A reader for `daemon`'s store, outputs and shutdown.
    pub fn new(
        daemon: &'a Daemon,
        runtime: &'a tokio::runtime::Runtime,
        evaluator: &'a Arc<Evaluator>,
        dedup: &'a DedupWindow,
        concurrency: usize,
    ) -> Self {
        S3Reader {
            runtime,
            store: daemon.store.as_ref(),
            evaluator,
            dedup,
            outputs: &daemon.outputs,
            errors: &daemon.errors,
            concurrency,
            shutdown: &daemon.shutdown,
            lake: daemon.lake.as_ref(),
        }
    }

    /// Downloads and processes `objects`; returns false when a shutdown stopped it before the
    /// last one, and the collector with what was committed.
    pub fn read(
        &self,
        objects: &[S3Object],
        config: &PipelineConfig,
        workers: &mut [Worker],
        counters: &Counters,
    ) -> (bool, StoreCollector<'_>) {
        let mut collector = StoreCollector::new(
            self.store,
            Some(self.evaluator.rules()),
            self.outputs,
            self.errors,
            tracked_objects(objects),
        )
        .with_lake(self.lake);
        let complete = self.read_into(objects, config, workers, counters, &mut collector);
        (complete, collector)
    }

    /// Downloads `objects` and runs them through the pipeline into `collector`; false when a
    /// shutdown stopped it before the last one.
    pub fn read_into(
        &self,
        objects: &[S3Object],
        config: &PipelineConfig,
        workers: &mut [Worker],
        counters: &Counters,
        collector: &mut dyn Collector,
    ) -> bool {
        let (tx, mut rx) = tokio::sync::mpsc::channel(self.concurrency);
        let wanted: Vec<(Arc<TrailBucket>, String)> = objects
            .iter()
            .map(|o| (Arc::clone(&o.bucket), o.key.clone()))
            .collect();
        let concurrency = self.concurrency;
        let downloads = self.runtime.spawn(async move {
            let mut bodies = futures_util::stream::iter(wanted)
                .map(|(bucket, key)| async move {
                    let body = fetch::get(&bucket, &key).await;
                    (format!("s3://{}/{key}", bucket.name()), body)
                })
                .buffered(concurrency);
            while let Some(fetched) = bodies.next().await {
                if tx.send(fetched).await.is_err() {
                    break;
                }
            }
        });
        let shutdown = self.shutdown;
        let mut fed = 0;
        let inputs = std::iter::from_fn(|| {
            if shutdown.is_requested() {
                return None;
            }
            let (name, body) = rx.blocking_recv()?;
            fed += 1;
            if let Err(err) = &body {
                tracing::warn!("cannot download: {err}");
            }
            Some(Input::Object {
                name,
                body: body.map_err(|e| e.to_string()),
            })
        });
        pipeline::run(
            inputs,
            config,
            self.dedup,
            Some(self.evaluator),
            workers,
            counters,
            collector,
        );
        downloads.abort();
        fed == objects.len()
    }
}

/// The store's names of `objects`, by position (for [`StoreCollector::new`]).
pub fn tracked_objects(objects: &[S3Object]) -> Vec<Option<TrackedObject>> {
    objects
        .iter()
        .map(|o| {
            Some(TrackedObject {
                source: source_name(o.bucket.name()),
                key: o.key.clone(),
                etag: o.etag.clone(),
                size: o.size,
                bucket: Some(o.bucket.name().to_owned()),
            })
        })
        .collect()
}
