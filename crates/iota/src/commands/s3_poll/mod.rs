//! `iota s3-poll`: CloudTrail buckets read straight from S3, one poll at a time. Each poll
//! plans what to read ([`plan`]), downloads those objects with bounded concurrency while the
//! pipeline decodes and evaluates them ([`crate::s3_objects`]), commits each object's results
//! with its processed-object record ([`crate::committer`]), then moves the listing cursors and
//! sends the alerts from the outbox. Between polls, deliveries that come due are sent
//! ([`crate::daemon`], which `iota watch` shares).
//!
//! What is polled: `--bucket`, or the sources configured with `iota sources add` (each poll's
//! outcome recorded for `iota sources show`).
//!
//! Replicas sharing a state store take turns: a bucket (with its prefix) is polled only by
//! the holder of its lease in the store, renewed while it polls; the others stand by and try
//! for it every third of `--lister-lease`, so a replica that dies is replaced within that
//! time. Losing the lease in the middle of a poll costs at most work done twice, never
//! results twice: objects are committed once by (bucket, key, etag).
//!
//! On SIGTERM or SIGINT no further object is started; those in flight are finished and
//! committed, the outbox is given what is left of `--shutdown-timeout`, and the process
//! exits. Objects not started are read by the next run (their cursor did not move).

mod plan;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};

use iota_ops::Readiness;
use iota_rules::Worker;
use iota_sources::aws::{s3_client, sdk_config, AwsOptions};
use iota_sources::s3::discover::DiscoverFilter;
use iota_sources::s3::TrailBucket;
use iota_state::{PollReport, SourceConfig, StateStore};

use crate::cli::{EngineArgs, S3PollArgs};
use crate::daemon::{Daemon, DaemonSettings, Round};
use crate::pipeline::Counters;
use crate::rule_engine::{dedup_window, pipeline_config, start_engine};
use crate::s3_objects::{aws_runtime, source_name, S3Object, S3Reader};
use crate::UsageError;

use plan::PollSettings;

pub fn run(args: S3PollArgs) -> anyhow::Result<u8> {
    let daemon = Daemon::open(&DaemonSettings {
        daemon: &args.daemon,
        engine: &args.engine,
        once: args.once,
    })?;
    let runtime = aws_runtime()?;
    let targets = targets(&args, daemon.store.as_ref(), &runtime)?;

    let server = daemon.serve(bucket_readiness(&targets, &runtime))?;
    let (evaluator, mut workers) = start_engine(&args.engine, Some(&daemon.store), &daemon.errors)?;
    let dedup = dedup_window(&args.engine);
    let poller = Poller {
        reader: S3Reader::new(
            &daemon,
            &runtime,
            &evaluator,
            &dedup,
            usize::from(args.download_concurrency),
        ),
        engine: &args.engine,
    };
    let lister = Lister {
        store: daemon.store.as_ref(),
        holder: holder_id(),
        ttl: args.lister_lease,
    };
    let mut failed_polls = 0u64;
    // With --once, each target is polled once: a run that finds a target's lease held (by a
    // replica, or by a run killed before it could give it up) waits for it rather than exit
    // having polled nothing.
    let mut polled = vec![false; targets.len()];
    loop {
        let round = daemon.round(&evaluator);
        let mut failures = Vec::new();
        let mut standing_by = false;
        for (target, polled) in targets.iter().zip(polled.iter_mut()) {
            if daemon.shutdown.is_requested() {
                break;
            }
            if args.once && *polled {
                continue;
            }
            match lister.take(target) {
                Ok(true) => {}
                Ok(false) => {
                    if args.once {
                        tracing::info!(
                            bucket = target.bucket.name(),
                            lister_lease = ?args.lister_lease,
                            "another process holds this bucket's lease; waiting for it (at most --lister-lease)"
                        );
                    }
                    standing_by = true;
                    continue;
                }
                Err(err) => {
                    failures.push(err);
                    continue;
                }
            }
            let started_at = Utc::now();
            let outcome = std::thread::scope(|scope| {
                let renewing = lister.keep(scope, target);
                let outcome = poller.poll(target, &mut workers, &round);
                renewing.stop();
                outcome
            });
            if let Err(err) = &outcome {
                tracing::error!(
                    bucket = target.bucket.name(),
                    source = target.source.as_deref(),
                    "poll failed (retried at the next poll): {err:#}"
                );
            }
            if let Some(name) = &target.source {
                record_poll(daemon.store.as_ref(), name, started_at, &outcome);
            }
            *polled = true;
            if let Err(err) = outcome {
                failures.push(err);
            }
        }
        if failures.is_empty() {
            failed_polls = 0;
        } else {
            failed_polls += 1;
            round.failed();
            if args.once {
                return Err(failures.remove(0));
            }
        }
        if (args.once && !standing_by) || daemon.shutdown.is_requested() {
            break;
        }
        daemon.prune();
        // A failing bucket or store is polled again sooner than the interval, but not in a loop;
        // a replica standing by tries for the lease every third of its time.
        let mut interval = if failed_polls > 0 {
            args.poll_interval
                .min(Duration::from_secs(30 * failed_polls))
        } else {
            args.poll_interval
        };
        if standing_by {
            interval = interval.min(args.lister_lease / 3);
        }
        daemon.idle_until(round.started() + interval, &|left| {
            daemon.shutdown.sleep(left)
        });
        if daemon.shutdown.is_requested() {
            break;
        }
    }
    lister.release_all(&targets);
    daemon.finish()?;
    drop(server);
    Ok(0)
}

/// This process among the replicas: host, process id and start time.
fn holder_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "iota".into());
    let started = Utc::now().timestamp_micros();
    format!("{host}:{}:{started:x}", std::process::id())
}

/// The leases that let one replica at a time poll a bucket.
struct Lister<'a> {
    store: &'a dyn StateStore,
    holder: String,
    ttl: Duration,
}

impl Lister<'_> {
    fn lease_name(target: &Target) -> String {
        format!(
            "s3-poll:{}/{}",
            source_name(target.bucket.name()),
            target.settings.prefix
        )
    }

    /// Takes or renews the lease of `target`; false while another replica holds it.
    fn take(&self, target: &Target) -> anyhow::Result<bool> {
        let name = Self::lease_name(target);
        let held = self
            .store
            .acquire_lease(&name, &self.holder, self.ttl, Utc::now())
            .with_context(|| format!("cannot take the lease {name} in {}", self.store.name()))?;
        if !held {
            tracing::debug!(lease = %name, "another replica polls this bucket; standing by");
        }
        Ok(held)
    }

    /// Renews the lease of `target` every third of its time until the guard is stopped.
    fn keep<'scope>(
        &'scope self,
        scope: &'scope std::thread::Scope<'scope, '_>,
        target: &'scope Target,
    ) -> Renewal {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        scope.spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(self.ttl / 3)
            {
                match self.take(target) {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(
                        lease = %Self::lease_name(target),
                        "another replica took the lease during this poll (it was not renewed in time)"
                    ),
                    Err(err) => tracing::warn!("cannot renew the lease: {err:#}"),
                }
            }
        });
        Renewal(stop)
    }

    /// Gives the leases up on the way out, so that another replica takes over at once.
    fn release_all(&self, targets: &[Target]) {
        for target in targets {
            if let Err(err) = self
                .store
                .release_lease(&Self::lease_name(target), &self.holder)
            {
                tracing::warn!("cannot release the lease: {err}");
            }
        }
    }
}

/// Stops a lease renewal when told to (or dropped).
struct Renewal(std::sync::mpsc::Sender<()>);

impl Renewal {
    fn stop(self) {
        let _ = self.0.send(());
    }
}

/// `AWSLogs` and `AWSLogs/` mean the same; the empty prefix is the whole bucket.
pub(crate) fn normalized_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_start_matches('/');
    if trimmed.is_empty() || trimmed.ends_with('/') {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/")
    }
}

/// `/readyz`'s check of the buckets: each can be listed.
fn bucket_readiness(targets: &[Target], runtime: &tokio::runtime::Runtime) -> Readiness {
    let buckets: Vec<Arc<TrailBucket>> = targets.iter().map(|t| Arc::clone(&t.bucket)).collect();
    let handle = runtime.handle().clone();
    Readiness::new().check("s3", move || {
        buckets
            .iter()
            .try_for_each(|bucket| handle.block_on(bucket.check()).map_err(|e| e.to_string()))
    })
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
        failed_object_retry: args.failed_object_retry,
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

pub(crate) fn connect(
    runtime: &tokio::runtime::Runtime,
    aws: &AwsOptions,
    bucket: &str,
) -> anyhow::Result<Arc<TrailBucket>> {
    let sdk = runtime.block_on(sdk_config(aws)).map_err(UsageError)?;
    Ok(Arc::new(TrailBucket::new(s3_client(&sdk, aws), bucket)))
}

/// What a poll did, for the source's health.
struct PollOutcome {
    objects: u64,
    events: u64,
    failed_objects: u64,
    newest_event_time: Option<DateTime<Utc>>,
}

/// Records a source's poll for `iota sources show`; a failure is reported, not fatal.
fn record_poll(
    store: &dyn StateStore,
    name: &str,
    started_at: DateTime<Utc>,
    outcome: &anyhow::Result<PollOutcome>,
) {
    let done = outcome.as_ref().ok();
    let report = PollReport {
        started_at,
        finished_at: Utc::now(),
        error: outcome.as_ref().err().map(|err| format!("{err:#}")),
        objects: done.map_or(0, |d| d.objects),
        events: done.map_or(0, |d| d.events),
        failed_objects: done.map_or(0, |d| d.failed_objects),
        newest_event_time: done.and_then(|d| d.newest_event_time),
    };
    if let Err(err) = store.record_poll(name, &report) {
        tracing::error!(source = name, "cannot record the poll: {err}");
    }
}

/// What a poll needs, for the life of the daemon.
struct Poller<'a> {
    reader: S3Reader<'a>,
    engine: &'a EngineArgs,
}

impl Poller<'_> {
    fn poll(
        &self,
        target: &Target,
        workers: &mut [Worker],
        round: &Round<'_>,
    ) -> anyhow::Result<PollOutcome> {
        let store = self.reader.store;
        let list_requests = target.bucket.list_requests();
        let plan = plan::plan(
            self.reader.runtime,
            &target.bucket,
            store,
            &target.settings,
            Utc::now(),
        )?;
        let listed_with = target.bucket.list_requests() - list_requests;
        let objects: Vec<S3Object> = plan
            .objects
            .iter()
            .map(|o| S3Object {
                bucket: Arc::clone(&target.bucket),
                key: o.key.clone(),
                etag: o.etag.clone(),
                size: o.size,
            })
            .collect();
        let config = pipeline_config(
            self.engine,
            &source_name(target.bucket.name()),
            self.reader.lake,
        );
        let counters = Counters::default();
        let (complete, collector) = self.reader.read(&objects, &config, workers, &counters);
        if let Some(failure) = collector.failure {
            return Err(failure);
        }
        if complete {
            plan::save_cursors(store, &plan)?;
        }
        let tally = collector.tally;
        round.succeeded(&counters, &tally);
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
            seconds = round.started().elapsed().as_secs_f64(),
            "poll finished"
        );
        Ok(PollOutcome {
            objects: tally.objects_ok + tally.objects_partial + tally.objects_failed,
            events: tally.events,
            failed_objects: tally.objects_failed,
            newest_event_time: tally.newest_event_time,
        })
    }
}
