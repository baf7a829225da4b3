//! `iota scan`: local files or stdin through the pipeline once; rule errors and a summary on
//! stderr. Alerts are kept in one of two places:
//!
//! - in memory (no `--state`): sent to the outputs when the scan ends, with final counts;
//! - in the state store (`--state`): each input's alerts, rule errors and progress committed
//!   together when its last event has been evaluated, then delivered from the store's outbox.
//!   Inputs committed by an earlier scan are skipped, and alert windows continue across scans.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use anyhow::Context;
use chrono::Utc;

use iota_alerts::{Alert, AlertEngine, Outcome, RuleErrorRecord, RuleMatch, SourceRef};
use iota_decode::DecodeOptions;
use iota_outputs::{routes, AlertOutput, RetryPolicy};
use iota_rules::{BatchResults, MemoryRuleState, Rule, RuleSet, RuleState};
use iota_sources::{expand_paths, Input};
use iota_state::{
    CommitOutcome, CommitUnit, MatchRecord, ObjectOutcome, ObjectProgress, StateStore,
    StoreRuleState,
};

use crate::cli::ScanArgs;
use crate::config::open_outputs;
use crate::delivery::Deliverer;
use crate::pipeline::{
    self, Batch, Collector, Counters, EventMeta, InputDone, InputFailure, PipelineConfig,
};
use crate::report::{ErrorReport, ScanSummary};
use crate::rule_engine::{
    default_parallelism, evaluator, load_rules, report_load_problems, start_workers, WorkerSettings,
};
use crate::state_store::{self, IfMissing};
use crate::terminal;

/// `ObjectProgress::source` of local files in the state store.
const LOCAL_SOURCE: &str = "local";

/// Ceiling of the wait between two attempts of one delivery: a scan waits for its
/// deliveries, so it does not back off as long as a daemon would.
const SCAN_MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Returns the process exit status (0, or 1 when an input could not be read).
pub fn run(args: ScanArgs, json_reports: bool) -> anyhow::Result<u8> {
    let started = Instant::now();
    let outputs = open_outputs(args.config.as_deref(), &args.outputs)?;
    let errors = ErrorReport::new(args.errors_out.as_deref())?;
    let store: Option<Arc<dyn StateStore>> = match &args.state {
        Some(location) => Some(Arc::from(state_store::open(location, IfMissing::Create)?)),
        None => None,
    };

    let (evaluator, workers) = if args.no_rules {
        (None, Vec::new())
    } else {
        let rules = load_rules(&args.rules)?;
        report_load_problems(&rules, &errors);
        if rules.enabled_count() == 0 {
            tracing::warn!("no enabled rules were found; events are decoded but not evaluated");
        }
        let rule_state: Arc<dyn RuleState> = match &store {
            Some(store) => Arc::new(StoreRuleState::new(Arc::clone(store))),
            None => Arc::new(MemoryRuleState::default()),
        };
        let evaluator = evaluator(
            Arc::new(rules),
            &WorkerSettings {
                python: &args.workers.python.python,
                rule_timeout: args.workers.rule_timeout,
                memory_bytes: args.workers.worker_memory.as_u64(),
            },
            rule_state,
        )?;
        let count = args.workers.workers.unwrap_or_else(default_parallelism);
        let workers = start_workers(&evaluator, count, &errors)?;
        (Some(evaluator), workers)
    };

    let (inputs, list_errors) = expand_paths(&args.paths);
    for err in &list_errors {
        tracing::error!(input = %err.path, "cannot read input: {}", err.reason);
    }
    let mut summary = ScanSummary {
        kind: "summary",
        rules: evaluator.as_ref().map_or(0, |e| e.rules().enabled_count()),
        ..Default::default()
    };
    let (inputs, objects) = match &store {
        Some(store) => {
            let (inputs, objects, committed) = skip_committed(store.as_ref(), inputs)?;
            summary.files_already_committed = committed;
            (inputs, objects)
        }
        None => (inputs, Vec::new()),
    };

    let total_bytes = inputs.iter().map(|i| i.size()).sum::<Option<u64>>();
    let progress = if args.no_progress {
        None
    } else {
        terminal::start_progress(total_bytes)
    };
    let counters = Counters::with_progress(progress);
    let config = PipelineConfig {
        decode_threads: default_parallelism(),
        batch_size: args.workers.batch_size.max(1),
        decode: DecodeOptions {
            max_event_bytes: args.max_event_bytes,
        },
        dedup_window: args.dedup_window,
        source_id: "iota-scan".into(),
        prefilter: !args.no_prefilter,
    };

    let rules = evaluator.as_ref().map(|e| e.rules());
    let alerts = match &store {
        Some(store) => Alerts::Store(StoreAlerts {
            store: store.as_ref(),
            objects,
            units: HashMap::new(),
            failure: None,
        }),
        None => Alerts::Memory(AlertEngine::new()),
    };
    let mut collector = ScanCollector {
        rules,
        outputs: &outputs,
        errors: &errors,
        summary: &mut summary,
        alerts,
    };
    pipeline::run(
        inputs,
        &config,
        evaluator.as_ref(),
        workers,
        &counters,
        &mut collector,
    );
    terminal::finish_progress();

    match collector.alerts {
        Alerts::Memory(engine) => {
            deliver_from_memory(&engine, rules, &outputs, &mut summary);
            summary.below_threshold = engine.below_threshold() as u64;
        }
        Alerts::Store(state) => {
            if let Some(failure) = state.failure {
                return Err(failure);
            }
            let store = store.as_deref().expect("store alerts come from a store");
            let delivered = Deliverer::new(store, &outputs, SCAN_MAX_BACKOFF).drain()?;
            tracing::info!(
                sent = delivered.sent,
                retried = delivered.retried,
                failed = delivered.failed,
                "outbox delivered"
            );
            summary.delivery_failures += delivered.failed;
            prune(store, args.alert_retention);
        }
    }

    summary.files = Counters::get(&counters.files);
    summary.files_skipped = Counters::get(&counters.files_skipped);
    summary.input_errors = Counters::get(&counters.input_errors) + list_errors.len() as u64;
    summary.bytes = Counters::get(&counters.bytes);
    summary.events = Counters::get(&counters.events);
    summary.events_to_rules = Counters::get(&counters.events_to_rules);
    summary.rule_evaluations = Counters::get(&counters.rule_evaluations);
    summary.malformed = Counters::get(&counters.malformed);
    summary.duplicates = Counters::get(&counters.duplicates);
    summary.rule_errors = errors.count();
    summary.worker_restarts = evaluator.as_ref().map_or(0, |e| e.restarts());
    summary.set_elapsed(started.elapsed());
    summary.set_peak_memory();
    summary.print(json_reports);

    Ok(if summary.input_errors > 0 { 1 } else { 0 })
}

/// Where a scan keeps its alerts.
enum Alerts<'a> {
    Memory(AlertEngine),
    Store(StoreAlerts<'a>),
}

/// The results of each input on their way into the state store.
struct StoreAlerts<'a> {
    store: &'a dyn StateStore,
    /// The store's name for each input of the run (`None` for stdin, whose results are
    /// committed without progress).
    objects: Vec<Option<LocalObject>>,
    /// Results of inputs not done yet, by position.
    units: HashMap<usize, CommitUnit>,
    /// The first commit that failed; nothing is committed after it.
    failure: Option<anyhow::Error>,
}

struct ScanCollector<'a> {
    /// `None` when no rules run.
    rules: Option<&'a RuleSet>,
    outputs: &'a [Box<dyn AlertOutput>],
    errors: &'a ErrorReport,
    summary: &'a mut ScanSummary,
    alerts: Alerts<'a>,
}

impl Collector for ScanCollector<'_> {
    fn batch(&mut self, batch: Batch, results: BatchResults) {
        let rules = self.rules.expect("results only come from rule workers");
        let now = Utc::now();
        self.summary.skipped_evaluations += results.skipped_evaluations;
        for m in &results.matches {
            self.summary.matches += 1;
            let (meta, event) = (&batch.meta[m.event], &batch.events[m.event]);
            let source = source_ref(meta);
            let rule = &rules.rules[m.rule];
            let rule_match = RuleMatch {
                rule,
                result: m,
                event_json: &event.json,
                event_time: meta.event_time,
                event_id: event.event_id.as_deref(),
                log_type: meta.log_type,
                source: &source,
            };
            match &mut self.alerts {
                Alerts::Memory(engine) => {
                    if engine.record(rule_match, now) == Outcome::Signal {
                        self.summary.signals += 1;
                    }
                }
                Alerts::Store(state) => {
                    let outputs = routed_outputs(self.outputs, rule, &rule_match);
                    let record = MatchRecord::new(
                        &rule_match,
                        event.event_id.clone().unwrap_or_default(),
                        outputs,
                    );
                    state.unit(batch.input).matches.push(record);
                }
            }
        }
        for failure in results.errors {
            let mut record = RuleErrorRecord::new(
                failure.rule.map(|r| rules.rules[r].id.clone()),
                failure.function,
                failure.error,
            );
            record.traceback = failure.traceback;
            if let Some(i) = failure.event {
                record.event_id = batch.events[i].event_id.clone();
                record.source = Some(source_ref(&batch.meta[i]));
            }
            self.errors.rule_error(&record);
            if let Alerts::Store(state) = &mut self.alerts {
                state.unit(batch.input).rule_errors.push(record);
            }
        }
    }

    fn input_done(&mut self, done: InputDone) {
        let Alerts::Store(state) = &mut self.alerts else {
            return;
        };
        let mut unit = state.units.remove(&done.input).unwrap_or_default();
        if state.failure.is_some() {
            return;
        }
        let object = state.objects.get(done.input).and_then(Option::as_ref);
        if let Some(object) = object {
            let outcome = match done.failure {
                None => ObjectOutcome::Ok,
                // The file may be readable later: nothing of it is kept, the next scan reads
                // it from the start.
                Some(InputFailure::Open(error)) => {
                    unit.matches.clear();
                    unit.rule_errors.clear();
                    ObjectOutcome::Failed(error)
                }
                // Reading it again would stop at the same place: keep what was read.
                Some(InputFailure::Read(error)) => ObjectOutcome::Partial(error),
            };
            unit.progress = Some(ObjectProgress {
                source: LOCAL_SOURCE.into(),
                key: object.key.clone(),
                etag: object.etag.clone(),
                size: object.size,
                events: done.events,
                outcome,
            });
        }
        match state.store.commit(&unit) {
            Ok(CommitOutcome::Applied(applied)) => {
                self.summary.alerts += applied.created.len() as u64;
                self.summary.signals += applied.signals;
                self.summary.below_threshold += applied.below_threshold;
            }
            // Another scan committed the same file meanwhile.
            Ok(CommitOutcome::Duplicate) => self.summary.files_already_committed += 1,
            Err(err) => {
                let input = object.map_or("stdin", |o| o.key.as_str());
                state.failure = Some(anyhow::Error::new(err).context(format!(
                    "cannot commit the results of {input}; it is processed again by the next scan with this --state"
                )));
            }
        }
    }
}

impl StoreAlerts<'_> {
    fn unit(&mut self, input: usize) -> &mut CommitUnit {
        self.units.entry(input).or_default()
    }
}

/// The outputs an alert represented by this match would go to.
fn routed_outputs(outputs: &[Box<dyn AlertOutput>], rule: &Rule, m: &RuleMatch<'_>) -> Vec<String> {
    let details = m.result.details_or_default(rule);
    outputs
        .iter()
        .filter(|output| {
            routes(
                output.as_ref(),
                details.severity,
                details.destinations.as_deref(),
                &rule.output_ids,
            )
        })
        .map(|output| output.name().to_owned())
        .collect()
}

/// A local file as the state store knows it. A file changed since it was committed (size or
/// modification time) is a new object and is read again.
struct LocalObject {
    /// The canonical path, so that scans from other working directories agree.
    key: String,
    etag: String,
    size: u64,
}

impl LocalObject {
    fn of(input: &Input) -> anyhow::Result<Option<LocalObject>> {
        let Input::File { path, .. } = input else {
            return Ok(None);
        };
        let canonical: PathBuf = std::fs::canonicalize(path)
            .with_context(|| format!("cannot resolve {}", path.display()))?;
        let metadata = std::fs::metadata(&canonical)
            .with_context(|| format!("cannot read the metadata of {}", path.display()))?;
        let modified = metadata
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        Ok(Some(LocalObject {
            key: canonical.to_string_lossy().into_owned(),
            etag: format!("{}-{modified}", metadata.len()),
            size: metadata.len(),
        }))
    }
}

/// Drops the inputs an earlier scan committed to `store`; returns the others with their
/// object names, and how many were dropped.
fn skip_committed(
    store: &dyn StateStore,
    inputs: Vec<Input>,
) -> anyhow::Result<(Vec<Input>, Vec<Option<LocalObject>>, u64)> {
    let mut kept = Vec::with_capacity(inputs.len());
    let mut objects = Vec::with_capacity(inputs.len());
    let mut committed = 0;
    for input in inputs {
        // An input that vanished since it was listed is reported when it is opened.
        let object = LocalObject::of(&input).unwrap_or(None);
        if let Some(object) = &object {
            let record = store
                .object_state(LOCAL_SOURCE, &object.key, &object.etag)
                .with_context(|| format!("cannot read the state store {}", store.name()))?;
            if record.is_some_and(|r| !matches!(r.outcome, ObjectOutcome::Failed(_))) {
                tracing::debug!(input = %object.key, "committed by an earlier scan; skipped");
                committed += 1;
                continue;
            }
        }
        kept.push(input);
        objects.push(object);
    }
    Ok((kept, objects, committed))
}

/// Applies the retention: history not updated for `retention` is deleted. A failure is
/// reported and does not fail the scan, whose results are committed already.
fn prune(store: &dyn StateStore, retention: Duration) {
    let now = Utc::now();
    let older_than = now - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    match store.prune(older_than, now) {
        Ok(report) => tracing::debug!(?report, "retention applied"),
        Err(err) => tracing::error!("cannot apply --alert-retention: {err}"),
    }
}

fn source_ref(meta: &EventMeta) -> SourceRef {
    SourceRef {
        kind: if meta.stdin { "stdin" } else { "file" },
        bucket: None,
        key: meta.input.to_string(),
        line: Some(meta.line),
    }
}

/// Without a store: every alert of the engine to every output it routes to.
fn deliver_from_memory(
    engine: &AlertEngine,
    rules: Option<&RuleSet>,
    outputs: &[Box<dyn AlertOutput>],
    summary: &mut ScanSummary,
) {
    for alert in engine.alerts() {
        if alert.destinations.as_ref().is_some_and(Vec::is_empty) {
            summary.alerts_suppressed += 1;
            continue;
        }
        summary.alerts += 1;
        let output_ids = rules
            .and_then(|r| r.rules.iter().find(|rule| rule.id == alert.rule_id))
            .map_or(&[][..], |rule| rule.output_ids.as_slice());
        for output in outputs {
            let routed = routes(
                output.as_ref(),
                alert.severity,
                alert.destinations.as_deref(),
                output_ids,
            );
            if routed && !deliver(output.as_ref(), &alert) {
                summary.delivery_failures += 1;
            }
        }
    }
    for output in outputs {
        if let Err(err) = output.flush() {
            tracing::error!(output = output.name(), "cannot flush: {err}");
            summary.delivery_failures += 1;
        }
    }
}

/// Sends one alert to one output, retrying retryable failures with the output's backoff
/// (without a store there is no outbox to come back to later); false when it finally failed.
fn deliver(output: &dyn AlertOutput, alert: &Alert) -> bool {
    let policy = RetryPolicy {
        max: SCAN_MAX_BACKOFF,
        ..RetryPolicy::for_output(output)
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let error = match output.send(alert) {
            Ok(()) => return true,
            Err(error) => error,
        };
        match policy.after_failure(attempt, &error) {
            Some(delay) => {
                tracing::warn!(output = output.name(), alert = %alert.id, attempt, "delivery failed, retrying in {delay:?}: {error}");
                std::thread::sleep(delay);
            }
            None => {
                tracing::error!(output = output.name(), alert = %alert.id, attempt, "delivery failed: {error}");
                return false;
            }
        }
    }
}
