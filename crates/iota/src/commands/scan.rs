//! `iota scan`: local files or stdin through the pipeline once; alerts to the outputs when
//! the scan ends (with final counts), rule errors and a summary on stderr.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use iota_alerts::{Alert, AlertEngine, Outcome, RuleErrorRecord, RuleMatch, SourceRef};
use iota_decode::DecodeOptions;
use iota_outputs::{open_outputs, routes, AlertOutput, RetryPolicy};
use iota_rules::{BatchResults, RuleSet};
use iota_sources::expand_paths;

use crate::cli::ScanArgs;
use crate::pipeline::{self, Batch, Counters, EventMeta, PipelineConfig};
use crate::report::{ErrorReport, ScanSummary};
use crate::rule_engine::{
    default_parallelism, evaluator, load_rules, report_load_problems, start_workers, WorkerSettings,
};
use crate::{terminal, UsageError};

/// Returns the process exit status (0, or 1 when an input could not be read).
pub fn run(args: ScanArgs, json_reports: bool) -> anyhow::Result<u8> {
    let started = Instant::now();
    let outputs = open_outputs(&args.outputs).map_err(|e| UsageError(e.to_string()))?;
    let errors = ErrorReport::new(args.errors_out.as_deref())?;

    let (evaluator, workers) = if args.no_rules {
        (None, Vec::new())
    } else {
        let rules = load_rules(&args.rules)?;
        report_load_problems(&rules, &errors);
        if rules.enabled_count() == 0 {
            tracing::warn!("no enabled rules were found; events are decoded but not evaluated");
        }
        let evaluator = evaluator(
            Arc::new(rules),
            &WorkerSettings {
                python: &args.workers.python.python,
                rule_timeout: args.workers.rule_timeout,
                memory_bytes: args.workers.worker_memory.as_u64(),
            },
        )?;
        let count = args.workers.workers.unwrap_or_else(default_parallelism);
        let workers = start_workers(&evaluator, count, &errors)?;
        (Some(evaluator), workers)
    };

    let (inputs, list_errors) = expand_paths(&args.paths);
    for err in &list_errors {
        tracing::error!(input = %err.path, "cannot read input: {}", err.reason);
    }

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

    let mut engine = AlertEngine::new();
    let mut summary = ScanSummary {
        kind: "summary",
        rules: evaluator.as_ref().map_or(0, |e| e.rules().enabled_count()),
        ..Default::default()
    };
    let rules = evaluator.as_ref().map(|e| e.rules());
    pipeline::run(
        inputs,
        &config,
        evaluator.as_ref(),
        workers,
        &counters,
        |batch, results| {
            let rules = rules.expect("results only come from rule workers");
            collect(rules, &batch, results, &mut engine, &errors, &mut summary);
        },
    );
    terminal::finish_progress();

    for alert in engine.alerts() {
        if alert.destinations.as_ref().is_some_and(Vec::is_empty) {
            summary.alerts_suppressed += 1;
            continue;
        }
        summary.alerts += 1;
        let output_ids = rules
            .and_then(|r| r.rules.iter().find(|rule| rule.id == alert.rule_id))
            .map_or(&[][..], |rule| rule.output_ids.as_slice());
        for output in &outputs {
            if routes(output.as_ref(), &alert, output_ids) && !deliver(output.as_ref(), &alert) {
                summary.delivery_failures += 1;
            }
        }
    }
    for output in &outputs {
        if let Err(err) = output.flush() {
            tracing::error!(output = output.name(), "cannot flush: {err}");
            summary.delivery_failures += 1;
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
    summary.below_threshold = engine.below_threshold() as u64;
    summary.rule_errors = errors.count();
    summary.worker_restarts = evaluator.as_ref().map_or(0, |e| e.restarts());
    summary.set_elapsed(started.elapsed());
    summary.set_peak_memory();
    summary.print(json_reports);

    Ok(if summary.input_errors > 0 { 1 } else { 0 })
}

/// Folds one evaluated batch into the alert state and reports its rule errors.
fn collect(
    rules: &RuleSet,
    batch: &Batch,
    results: BatchResults,
    engine: &mut AlertEngine,
    errors: &ErrorReport,
    summary: &mut ScanSummary,
) {
    let now = Utc::now();
    summary.skipped_evaluations += results.skipped_evaluations;
    for m in &results.matches {
        summary.matches += 1;
        let meta = &batch.meta[m.event];
        let source = source_ref(meta);
        let outcome = engine.record(
            RuleMatch {
                rule: &rules.rules[m.rule],
                result: m,
                event_json: &batch.events[m.event].json,
                event_time: meta.event_time,
                event_id: meta.event_id.as_deref(),
                log_type: meta.log_type,
                source: &source,
            },
            now,
        );
        if outcome == Outcome::Signal {
            summary.signals += 1;
        }
    }
    for failure in results.errors {
        let meta = failure.event.map(|i| &batch.meta[i]);
        let mut record = RuleErrorRecord::new(
            failure.rule.map(|r| rules.rules[r].id.clone()),
            failure.function,
            failure.error,
        );
        record.traceback = failure.traceback;
        record.event_id = meta.and_then(|m| m.event_id.clone());
        record.source = meta.map(source_ref);
        errors.rule_error(&record);
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

/// Sends one alert to one output, retrying retryable failures with the output's backoff
/// (a one-shot scan has no outbox to come back to later); false when it finally failed.
fn deliver(output: &dyn AlertOutput, alert: &Alert) -> bool {
    let policy = RetryPolicy {
        max: Duration::from_secs(10),
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
