//! `iota s3-poll`: a CloudTrail bucket read straight from S3, one poll at a time. Each poll
//! plans what to read ([`plan`]), downloads those objects with bounded concurrency while the
//! pipeline decodes and evaluates them, commits each object's results with its
//! processed-object record ([`crate::committer`]), then moves the listing cursors and sends
//! the alerts from the outbox. Between polls, deliveries that come due are sent.
//!
//! On SIGTERM or SIGINT no further object is started; those in flight are finished and
//! committed, the outbox is given what is left of `--shutdown-timeout`, and the process
//! exits. Objects not started are read by the next run (their cursor did not move).

mod plan;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use futures_util::StreamExt;

use iota_ops::{OpsServer, Readiness, Shutdown};
use iota_outputs::AlertOutput;
use iota_rules::{Evaluator, Worker};
use iota_sources::aws::{s3_client, sdk_config, AwsOptions};
use iota_sources::s3::discover::DiscoverFilter;
use iota_sources::s3::{fetch, TrailBucket};
use iota_sources::Input;
use iota_state::{PollReport, SourceConfig, StateStore};

use crate::cli::{EngineArgs, S3PollArgs};
use crate::committer::{StoreCollector, TrackedObject};
use crate::config::open_outputs;
use crate::delivery::Deliverer;
use crate::pipeline::{self, Counters, PipelineConfig};
use crate::report::ErrorReport;
use crate::rule_engine::{pipeline_config, start_engine};
use crate::state_store::{self, IfMissing};
use crate::UsageError;

use plan::{PollPlan, PollSettings};

/// Ceiling of the wait between two attempts of one delivery.
const DAEMON_MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

/// How often deliveries that came due are sent while waiting for the next poll.
const DELIVERY_TICK: Duration = Duration::from_secs(5);

pub fn run(args: S3PollArgs) -> anyhow::Result<u8> {
    let shutdown = Shutdown::install()?;
    let outputs = open_outputs(args.engine.config.as_deref(), &args.engine.outputs)?;
    let errors = ErrorReport::new(args.engine.errors_out.as_deref())?;
    let store: Arc<dyn StateStore> = Arc::from(state_store::open(&args.state, IfMissing::Create)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("s3")
        .enable_all()
        .build()
        .context("cannot start the S3 client's runtime")?;
    let targets = targets(&args, store.as_ref(), &runtime)?;

    let server = if args.once {
        None
    } else {
        Some(start_ops_server(&args, &store, &targets, &runtime)?)
    };
    let (evaluator, mut workers) = start_engine(&args.engine, Some(&store), &errors)?;
    let poller = Poller {
        runtime: &runtime,
        store: store.as_ref(),
        engine: &args.engine,
        evaluator: &evaluator,
        outputs: &outputs,
        errors: &errors,
        concurrency: usize::from(args.download_concurrency),
        shutdown: &shutdown,
    };
    let deliverer = Deliverer::new(store.as_ref(), &outputs, DAEMON_MAX_BACKOFF);
    let mut failed_polls = 0u64;
    loop {
        let started = Instant::now();
        let mut failures = Vec::new();
        for target in &targets {
            if shutdown.is_requested() {
                break;
            }
            let poll_started = Utc::now();
            let outcome = poller.poll(target, &mut workers);
            if let Err(err) = &outcome {
                iota_ops::metrics::poll_finished(started.elapsed(), false);
                tracing::error!(
                    bucket = target.bucket.name(),
                    source = target.source.as_deref(),
                    "poll failed (retried at the next poll): {err:#}"
                );
            }
            if let Some(name) = &target.source {
                record_poll(store.as_ref(), name, poll_started, &outcome);
            }
            if let Err(err) = outcome {
                failures.push(err);
            }
        }
        failed_polls = if failures.is_empty() {
            0
        } else {
            failed_polls + 1
        };
        if args.once {
            if let Some(err) = failures.into_iter().next() {
                return Err(err);
            }
        }
        if args.once {
            let report = Deliverer::new(store.as_ref(), &outputs, SCAN_MAX_BACKOFF).drain()?;
            log_deliveries(&report);
            break;
        }
        prune(store.as_ref(), args.alert_retention);
        // A failing bucket or store is polled again sooner than the interval, but not in a loop.
        let interval = if failed_polls > 0 {
            args.poll_interval
                .min(Duration::from_secs(30 * failed_polls))
        } else {
            args.poll_interval
        };
        let next_poll = started + interval;
        while !shutdown.is_requested() {
            if let Err(err) = deliverer.send_due().map(|r| log_deliveries(&r)) {
                tracing::error!("cannot deliver alerts: {err:#}");
            }
            let left = next_poll.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            shutdown.sleep(left.min(DELIVERY_TICK));
        }
        if shutdown.is_requested() {
            break;
        }
    }
    if shutdown.is_requested() {
        let deadline = shutdown.deadline(args.ops.shutdown_timeout);
        tracing::info!("shutting down: sending due alerts");
        match deliverer.send_due_until(deadline.at()) {
            Ok(report) => log_deliveries(&report),
            Err(err) => tracing::error!("cannot deliver alerts: {err:#}"),
        }
    }
    drop(server);
    Ok(0)
}

/// Ceiling of the wait between two attempts of one delivery with `--once`, which waits for
/// its deliveries.
const SCAN_MAX_BACKOFF: Duration = Duration::from_secs(10);

fn log_deliveries(report: &crate::delivery::DrainReport) {
    if report.sent + report.retried + report.failed > 0 {
        tracing::info!(
            sent = report.sent,
            retried = report.retried,
            failed = report.failed,
            "outbox delivered"
        );
    }
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

fn start_ops_server(
    args: &S3PollArgs,
    store: &Arc<dyn StateStore>,
    targets: &[Target],
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<OpsServer> {
    let store_check = Arc::clone(store);
    let buckets: Vec<Arc<TrailBucket>> = targets.iter().map(|t| Arc::clone(&t.bucket)).collect();
    let handle = runtime.handle().clone();
    let readiness = Readiness::new()
        .check("state store", move || {
            store_check.ping().map_err(|e| e.to_string())
        })
        .check("s3", move || {
            buckets
                .iter()
                .try_for_each(|bucket| handle.block_on(bucket.check()).map_err(|e| e.to_string()))
        });
    Ok(OpsServer::start(args.ops.listen, readiness)?)
}

/// One bucket to poll: `--bucket`, or a source configured with `iota sources add`.
struct Target {
    /// The source's name; `None` for `--bucket`.
    source: Option<String>,
    bucket: Arc<TrailBucket>,
    settings: PollSettings,
}

/// What `args` asks to poll: `--bucket`, the `--source`s, or every configured source.
fn targets(
    args: &S3PollArgs,
    store: &dyn StateStore,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<Vec<Target>> {
    let since = args.since.unwrap_or_else(|| {
        Utc::now() - chrono::Duration::from_std(args.poll_interval).unwrap_or_default()
    });
    let settings = |prefix: &str, accounts: &[String], regions: &[String]| PollSettings {
        prefix: normalized_prefix(prefix),
        filter: DiscoverFilter {
            accounts: accounts.to_vec(),
            regions: regions.to_vec(),
        },
        since,
        late_window: args.late_window,
    };
    if let Some(bucket) = &args.bucket {
        let aws = args.aws.options();
        return Ok(vec![Target {
            source: None,
            bucket: connect(runtime, &aws, bucket)?,
            settings: settings(&args.prefix, &args.accounts, &args.regions),
        }]);
    }
    let configured = store
        .list_sources()
        .with_context(|| format!("cannot read the sources of {}", store.name()))?;
    let chosen: Vec<SourceConfig> = if args.sources.is_empty() {
        configured.into_iter().map(|s| s.config).collect()
    } else {
        let mut chosen = Vec::new();
        for name in &args.sources {
            let Some(source) = configured.iter().find(|s| &s.config.name == name) else {
                return Err(UsageError(format!(
                    "no source named {name} in {}; see `iota sources list`",
                    store.name()
                ))
                .into());
            };
            chosen.push(source.config.clone());
        }
        chosen
    };
    if chosen.is_empty() {
        return Err(UsageError(format!(
            "nothing to poll: pass --bucket, or add a source to {} with `iota sources add NAME --bucket BUCKET`",
            store.name()
        ))
        .into());
    }
    chosen
        .into_iter()
        .map(|source| {
            let mut aws = args.aws.options();
            aws.region = source.region.clone().or(aws.region);
            aws.assume_role = source.assume_role.clone().or(aws.assume_role);
            Ok(Target {
                bucket: connect(runtime, &aws, &source.bucket)?,
                settings: settings(&source.prefix, &source.accounts, &source.regions),
                source: Some(source.name),
            })
        })
        .collect()
}

fn connect(
    runtime: &tokio::runtime::Runtime,
    aws: &AwsOptions,
    bucket: &str,
) -> anyhow::Result<Arc<TrailBucket>> {
    let sdk = runtime.block_on(sdk_config(aws)).map_err(UsageError)?;
    Ok(Arc::new(TrailBucket::new(s3_client(&sdk, aws), bucket)))
}

/// Records a source's poll for `iota sources show`; a failure is reported, not fatal.
fn record_poll(
    store: &dyn StateStore,
    name: &str,
    started_at: chrono::DateTime<Utc>,
    outcome: &anyhow::Result<PollOutcome>,
) {
    let report = match outcome {
        Ok(done) => PollReport {
            started_at,
            finished_at: Utc::now(),
            error: None,
            objects: done.objects,
            events: done.events,
            failed_objects: done.failed_objects,
            newest_event_time: done.newest_event_time,
        },
        Err(err) => PollReport {
            started_at,
            finished_at: Utc::now(),
            error: Some(format!("{err:#}")),
            objects: 0,
            events: 0,
            failed_objects: 0,
            newest_event_time: None,
        },
    };
    if let Err(err) = store.record_poll(name, &report) {
        tracing::error!(source = name, "cannot record the poll: {err}");
    }
}

/// What a poll did, for the source's health.
struct PollOutcome {
    objects: u64,
    events: u64,
    failed_objects: u64,
    newest_event_time: Option<chrono::DateTime<Utc>>,
}

/// What a poll needs, for the life of the daemon.
struct Poller<'a> {
    runtime: &'a tokio::runtime::Runtime,
    store: &'a dyn StateStore,
    engine: &'a EngineArgs,
    evaluator: &'a Arc<Evaluator>,
    outputs: &'a [Box<dyn AlertOutput>],
    errors: &'a ErrorReport,
    concurrency: usize,
    shutdown: &'a Shutdown,
}

impl Poller<'_> {
    fn poll(&self, target: &Target, workers: &mut [Worker]) -> anyhow::Result<PollOutcome> {
        let started = Instant::now();
        let list_requests = target.bucket.list_requests();
        let restarts = self.evaluator.restarts();
        let plan = self.runtime.block_on(plan::plan(
            &target.bucket,
            self.store,
            &target.settings,
            Utc::now(),
        ))?;
        let listed_with = target.bucket.list_requests() - list_requests;
        let counters = Counters::default();
        let config = pipeline_config(self.engine, &plan::source_name(target.bucket.name()));
        let (complete, collector) = self.process(target, &config, &plan, workers, &counters);
        if let Some(failure) = collector.failure {
            return Err(failure);
        }
        if complete {
            plan::save_cursors(self.store, &plan)?;
        }
        let tally = collector.tally;
        iota_ops::metrics::bytes_read(Counters::get(&counters.bytes));
        iota_ops::metrics::malformed_events(Counters::get(&counters.malformed));
        for _ in restarts..self.evaluator.restarts() {
            iota_ops::metrics::worker_restarted();
        }
        if let Some(newest) = tally.newest_event_time {
            iota_ops::metrics::set_processing_lag(newest);
        }
        iota_ops::metrics::poll_finished(started.elapsed(), true);
        tracing::info!(
            bucket = target.bucket.name(),
            source = target.source.as_deref(),
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
            seconds = started.elapsed().as_secs_f64(),
            "poll finished"
        );
        Ok(PollOutcome {
            objects: tally.objects_ok + tally.objects_partial + tally.objects_failed,
            events: tally.events,
            failed_objects: tally.objects_failed,
            newest_event_time: tally.newest_event_time,
        })
    }

    /// Downloads and processes the plan's objects; false when a shutdown stopped it early.
    fn process(
        &self,
        target: &Target,
        config: &PipelineConfig,
        plan: &PollPlan,
        workers: &mut [Worker],
        counters: &Counters,
    ) -> (bool, StoreCollector<'_>) {
        let bucket_name = target.bucket.name().to_owned();
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
        let bucket = Arc::clone(&target.bucket);
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
            config,
            Some(self.evaluator),
            workers,
            counters,
            &mut collector,
        );
        downloads.abort();
        (fed == plan.objects.len(), collector)
    }
}

/// Applies the retention; a failure is reported and does not stop the daemon.
fn prune(store: &dyn StateStore, retention: Duration) {
    let now = Utc::now();
    let older_than = now - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    if let Err(err) = store.prune(older_than, now) {
        tracing::error!("cannot apply --alert-retention: {err}");
    }
}
