//! `iota s3-poll`: a CloudTrail bucket read straight from S3, one poll at a time. Each poll
//! plans what to read ([`plan`]), downloads those objects with bounded concurrency while the
//! pipeline decodes and evaluates them, commits each object's results with its
//! processed-object record ([`crate::committer`]), then moves the listing cursors and sends
//! the alerts from the outbox. Between polls, deliveries that come due are sent
//! ([`crate::daemon`], which `iota watch` shares).
//!
//! On SIGTERM or SIGINT no further object is started; those in flight are finished and
//! committed, the outbox is given what is left of `--shutdown-timeout`, and the process
//! exits. Objects not started are read by the next run (their cursor did not move).

mod plan;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use futures_util::StreamExt;

use iota_ops::{Readiness, Shutdown};
use iota_outputs::AlertOutput;
use iota_rules::{Evaluator, Worker};
use iota_sources::aws::{s3_client, sdk_config};
use iota_sources::s3::discover::DiscoverFilter;
use iota_sources::s3::{fetch, TrailBucket};
use iota_sources::Input;
use iota_state::StateStore;

use crate::cli::S3PollArgs;
use crate::committer::{StoreCollector, TrackedObject};
use crate::daemon::{Daemon, DaemonSettings, Round};
use crate::pipeline::{self, Counters, PipelineConfig};
use crate::report::ErrorReport;
use crate::rule_engine::{pipeline_config, start_engine};
use crate::UsageError;

use plan::{PollPlan, PollSettings};

pub fn run(args: S3PollArgs) -> anyhow::Result<u8> {
    let daemon = Daemon::open(&DaemonSettings {
        state: &args.state,
        engine: &args.engine,
        alert_retention: args.alert_retention,
        ops: &args.ops,
        once: args.once,
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("s3")
        .enable_all()
        .build()
        .context("cannot start the S3 client's runtime")?;
    let aws = args.aws.options();
    let sdk = runtime.block_on(sdk_config(&aws)).map_err(UsageError)?;
    let bucket = Arc::new(TrailBucket::new(s3_client(&sdk, &aws), &args.bucket));

    let server = daemon.serve(bucket_readiness(&bucket, &runtime))?;
    let (evaluator, mut workers) = start_engine(&args.engine, Some(&daemon.store), &daemon.errors)?;
    let config = pipeline_config(&args.engine, &plan::source_name(&args.bucket));
    let settings = PollSettings {
        prefix: normalized_prefix(&args.prefix),
        filter: DiscoverFilter {
            accounts: args.accounts.clone(),
            regions: args.regions.clone(),
        },
        since: args.since.unwrap_or_else(|| {
            Utc::now() - chrono::Duration::from_std(args.poll_interval).unwrap_or_default()
        }),
        late_window: args.late_window,
    };
    let poller = Poller {
        runtime: &runtime,
        bucket: &bucket,
        store: daemon.store.as_ref(),
        settings: &settings,
        config: &config,
        evaluator: &evaluator,
        outputs: &daemon.outputs,
        errors: &daemon.errors,
        concurrency: usize::from(args.download_concurrency),
        shutdown: &daemon.shutdown,
    };
    let mut failed_polls = 0u64;
    loop {
        let round = daemon.round(&evaluator);
        match poller.poll(&mut workers, &round) {
            Ok(()) => failed_polls = 0,
            Err(err) => {
                failed_polls += 1;
                round.failed();
                tracing::error!(bucket = %args.bucket, "poll failed (retried at the next poll): {err:#}");
                if args.once {
                    return Err(err);
                }
            }
        }
        if args.once || daemon.shutdown.is_requested() {
            break;
        }
        daemon.prune();
        // A failing bucket or store is polled again sooner than the interval, but not in a loop.
        let interval = if failed_polls > 0 {
            args.poll_interval
                .min(Duration::from_secs(30 * failed_polls))
        } else {
            args.poll_interval
        };
        daemon.idle_until(round.started() + interval, &|left| {
            daemon.shutdown.sleep(left)
        });
        if daemon.shutdown.is_requested() {
            break;
        }
    }
    daemon.finish()?;
    drop(server);
    Ok(0)
}

/// `AWSLogs` and `AWSLogs/` mean the same; the empty prefix is the whole bucket.
fn normalized_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_start_matches('/');
    if trimmed.is_empty() || trimmed.ends_with('/') {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/")
    }
}

/// `/readyz`'s check of the bucket.
fn bucket_readiness(bucket: &Arc<TrailBucket>, runtime: &tokio::runtime::Runtime) -> Readiness {
    let bucket = Arc::clone(bucket);
    let handle = runtime.handle().clone();
    Readiness::new().check("s3", move || {
        handle.block_on(bucket.check()).map_err(|e| e.to_string())
    })
}

/// What a poll needs, for the life of the daemon.
struct Poller<'a> {
    runtime: &'a tokio::runtime::Runtime,
    bucket: &'a Arc<TrailBucket>,
    store: &'a dyn StateStore,
    settings: &'a PollSettings,
    config: &'a PipelineConfig,
    evaluator: &'a Arc<Evaluator>,
    outputs: &'a [Box<dyn AlertOutput>],
    errors: &'a ErrorReport,
    concurrency: usize,
    shutdown: &'a Shutdown,
}

impl Poller<'_> {
    fn poll(&self, workers: &mut [Worker], round: &Round<'_>) -> anyhow::Result<()> {
        let list_requests = self.bucket.list_requests();
        let plan = self.runtime.block_on(plan::plan(
            self.bucket,
            self.store,
            self.settings,
            Utc::now(),
        ))?;
        let listed_with = self.bucket.list_requests() - list_requests;
        let counters = Counters::default();
        let (complete, collector) = self.process(&plan, workers, &counters);
        if let Some(failure) = collector.failure {
            return Err(failure);
        }
        if complete {
            plan::save_cursors(self.store, &plan)?;
        }
        let tally = collector.tally;
        round.succeeded(&counters, &tally);
        tracing::info!(
            bucket = self.bucket.name(),
            prefixes = plan.prefixes,
            list_requests = listed_with,
            objects = plan.objects.len(),
            retries = plan.retries,
            already_committed = plan.already_committed,
            objects_ok = tally.objects_ok,
            objects_partial = tally.objects_partial,
            objects_failed = tally.objects_failed,
            events = tally.events,
            malformed = Counters::get(&counters.malformed),
            matches = tally.matches,
            alerts = tally.alerts,
            complete,
            seconds = round.started().elapsed().as_secs_f64(),
            "poll finished"
        );
        Ok(())
    }

    /// Downloads and processes the plan's objects; false when a shutdown stopped it early.
    fn process(
        &self,
        plan: &PollPlan,
        workers: &mut [Worker],
        counters: &Counters,
    ) -> (bool, StoreCollector<'_>) {
        let bucket_name = self.bucket.name().to_owned();
        let source = plan::source_name(&bucket_name);
        let objects = plan
            .objects
            .iter()
            .map(|o| {
                Some(TrackedObject {
                    source: source.clone(),
                    key: o.key.clone(),
                    etag: o.etag.clone(),
                    size: o.size,
                    bucket: Some(bucket_name.clone()),
                })
            })
            .collect();
        let mut collector = StoreCollector::new(
            self.store,
            Some(self.evaluator.rules()),
            self.outputs,
            self.errors,
            objects,
        );
        let (tx, mut rx) = tokio::sync::mpsc::channel(self.concurrency);
        let keys: Vec<String> = plan.objects.iter().map(|o| o.key.clone()).collect();
        let bucket = Arc::clone(self.bucket);
        let concurrency = self.concurrency;
        let downloads = self.runtime.spawn(async move {
            let mut bodies = futures_util::stream::iter(keys)
                .map(|key| {
                    let bucket = Arc::clone(&bucket);
                    async move {
                        let body = fetch::get(&bucket, &key).await;
                        (key, body)
                    }
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
            let (key, body) = rx.blocking_recv()?;
            fed += 1;
            if let Err(err) = &body {
                tracing::warn!("cannot download: {err}");
            }
            Some(Input::Object {
                name: format!("s3://{bucket_name}/{key}"),
                body: body.map_err(|e| e.to_string()),
            })
        });
        pipeline::run(
            inputs,
            self.config,
            Some(self.evaluator),
            workers,
            counters,
            &mut collector,
        );
        downloads.abort();
        (fed == plan.objects.len(), collector)
    }
}
