//! `iota scan`: local files or stdin through the pipeline once; rule errors and a summary on
//! stderr. Alerts are kept in one of two places:
//!
//! - in memory (no `--state`): sent to the outputs when the scan ends, with final counts;
//! - in the state store (`--state`): each input's alerts, rule errors and progress committed
//!   together when its last event has been evaluated, then delivered from the store's outbox.
//!   Inputs committed by an earlier scan are skipped, and alert windows continue across scans.
//!
//! With `--lake`, every event is also written to the data lake: as it comes without a store,
//! committed with each input's results with one (docs/LAKE.md).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use iota_alerts::{Alert, AlertEngine, Outcome, RuleMatch};
use iota_outputs::{routes, AlertOutput, RetryPolicy};
use iota_rules::{BatchResults, RuleSet};
use iota_sources::expand_paths;
use iota_state::StateStore;

use crate::cli::ScanArgs;
use crate::committer::{rule_error_records, skip_committed, source_ref, StoreCollector};
use crate::config::open_outputs;
use crate::delivery::Deliverer;
use crate::lake::MemoryLake;
use crate::pipeline::{self, Batch, Collector, Counters, InputDone};
use crate::report::{ErrorReport, ScanSummary};
use crate::rule_engine::{dedup_window, pipeline_config, start_engine};
use crate::state_store::{self, IfMissing};
use crate::terminal;

/// Ceiling of the wait between two attempts of one delivery: a scan waits for its
/// deliveries, so it does not back off as long as a daemon would.
const SCAN_MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Returns the process exit status (0, or 1 when an input could not be read).
pub fn run(args: ScanArgs, json_reports: bool) -> anyhow::Result<u8> {
    let started = Instant::now();
    let outputs = open_outputs(args.engine.config.as_deref(), &args.engine.outputs)?;
    let errors = ErrorReport::new(args.engine.errors_out.as_deref())?;
    let store: Option<Arc<dyn StateStore>> = match &args.state {
        Some(location) => Some(Arc::from(state_store::open(location, IfMissing::Create)?)),
        None => None,
    };

    let (evaluator, workers) = if args.no_rules {
        (None, Vec::new())
    } else {
        let (evaluator, workers) = start_engine(&args.engine, store.as_ref(), &errors)?;
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
            let split = skip_committed(store.as_ref(), inputs)?;
            summary.files_already_committed = split.committed.len() as u64;
            (split.inputs, split.objects)
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
    let lake = crate::lake::open(&args.engine)?;
    let config = pipeline_config(&args.engine, "iota-scan", lake.as_ref());
    let dedup = dedup_window(&args.engine);

    let rules = evaluator.as_ref().map(|e| e.rules());
    let mut workers = workers;
    match &store {
        None => {
            let mut collector = MemoryCollector {
                rules,
                errors: &errors,
                engine: AlertEngine::new(),
                matches: 0,
                signals: 0,
                skipped_evaluations: 0,
                lake: lake.as_ref().map(MemoryLake::new),
            };
            pipeline::run(
                inputs,
                &config,
                &dedup,
                evaluator.as_ref(),
                &mut workers,
                &counters,
                &mut collector,
            );
            terminal::finish_progress();
            if let Some(failure) = collector.lake.and_then(|lake| lake.failure) {
                return Err(failure);
            }
            summary.matches = collector.matches;
            summary.signals = collector.signals;
            summary.skipped_evaluations = collector.skipped_evaluations;
            deliver_from_memory(&collector.engine, rules, &outputs, &mut summary);
            summary.below_threshold = collector.engine.below_threshold() as u64;
        }
        Some(store) => {
            let store = store.as_ref();
            let mut collector = StoreCollector::new(store, rules, &outputs, &errors, objects)
                .with_lake(lake.as_ref());
            pipeline::run(
                inputs,
                &config,
                &dedup,
                evaluator.as_ref(),
                &mut workers,
                &counters,
                &mut collector,
            );
            terminal::finish_progress();
            if let Some(failure) = collector.failure {
                return Err(failure);
            }
            let tally = collector.tally;
            summary.matches = tally.matches;
            summary.skipped_evaluations = tally.skipped_evaluations;
            summary.alerts = tally.alerts;
            summary.signals = tally.signals;
            summary.below_threshold = tally.below_threshold;
            summary.files_already_committed += tally.already_committed;
            let delivered = Deliverer::new(store, &outputs, SCAN_MAX_BACKOFF).drain()?;
            tracing::info!(
                sent = delivered.sent,
                retried = delivered.retried,
                failed = delivered.failed,
                "outbox delivered"
            );
            summary.delivery_failures += delivered.failed;
            state_store::prune(store, args.alert_retention);
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

/// Without a store: matches go to an in-memory alert engine.
struct MemoryCollector<'a> {
    rules: Option<&'a RuleSet>,
    errors: &'a ErrorReport,
    engine: AlertEngine,
    matches: u64,
    signals: u64,
    skipped_evaluations: u64,
    lake: Option<MemoryLake<'a>>,
}

impl Collector for MemoryCollector<'_> {
    fn batch(&mut self, batch: Batch, results: BatchResults) {
        let rules = self.rules.expect("results only come from rule workers");
        let now = Utc::now();
        self.skipped_evaluations += results.skipped_evaluations;
        for m in &results.matches {
            self.matches += 1;
            let (meta, event) = (&batch.meta[m.event], &batch.events[m.event]);
            let source = || source_ref(meta, None);
            let rule_match = RuleMatch {
                rule: &rules.rules[m.rule],
                result: m,
                event_json: &event.json,
                event_time: meta.event_time,
                event_id: event.event_id.as_deref(),
                log_type: meta.log_type,
                source: &source,
            };
            if self.engine.record(rule_match, now) == Outcome::Signal {
                self.signals += 1;
            }
        }
        rule_error_records(rules, &batch, results, None, self.errors);
    }

    fn input_done(&mut self, done: InputDone) {
        if let Some(lake) = &mut self.lake {
            lake.input_done(done.input);
        }
    }

    fn tick(&mut self) {
        if let Some(lake) = &mut self.lake {
            lake.tick();
        }
    }

    fn finish(&mut self) {
        if let Some(lake) = &mut self.lake {
            lake.flush();
        }
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
