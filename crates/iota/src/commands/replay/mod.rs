//! `iota replay`: the rules over past logs for a time range, the backtest of a rule before it
//! is enabled.
//!
//! - What to read ([`logs`]): local paths as given, the day folders of a CloudTrail bucket's
//!   trail prefixes, or the hour partitions of a data lake; events outside the range stop in
//!   the decode stage ([`crate::pipeline::PipelineConfig::time_range`]).
//! - Alert windows, thresholds and rule state live in a scratch SQLite store made for the run
//!   and deleted after it, the same code paths as a daemon's (`StoreCollector`, the outbox),
//!   so results match live processing while live state is never touched.
//! - The alerts are delivered from the scratch outbox once every event is evaluated (stdout
//!   unless `--output` says otherwise), then the per-rule summary ([`summary`]) is printed.

mod logs;
mod summary;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;

use iota_ops::Shutdown;
use iota_rules::{BatchResults, RuleSet};
use iota_state::{AlertQuery, AlertState, StateStore};

use crate::cli::ReplayArgs;
use crate::committer::StoreCollector;
use crate::config::open_outputs;
use crate::delivery::Deliverer;
use crate::pipeline::{self, Batch, Collector, Counters, InputDone, TimeRange};
use crate::report::ErrorReport;
use crate::rule_engine::{dedup_window, pipeline_config, start_engine};
use crate::s3_objects::{tracked_objects, S3Reader};
use crate::state_store::{self, IfMissing};
use crate::{terminal, UsageError};

use logs::Logs;
use summary::{ReplaySummary, RuleSummary};

/// Ceiling of the wait between two attempts of one delivery, as for `iota scan`.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Returns the process exit status (0, or 1 when an input could not be read).
pub fn run(args: ReplayArgs, json_reports: bool) -> anyhow::Result<u8> {
    let started = Instant::now();
    if let Some(state) = &args.state {
        return Err(UsageError(format!(
            "iota replay takes no --state ({state}): it never touches a live state store. Alert \
             windows, thresholds and rule state live in a scratch store deleted when the replay \
             ends; drop --state"
        ))
        .into());
    }
    let range = TimeRange {
        from: args.from,
        to: args.to.unwrap_or_else(Utc::now),
    };
    if range.to <= range.from {
        return Err(UsageError(format!(
            "--from {} is not before --to {}: the range is empty",
            range.from.to_rfc3339(),
            range.to.to_rfc3339()
        ))
        .into());
    }
    logs::check_options(&args)?;
    let engine = args.engine();
    let outputs = open_outputs(None, &engine.outputs)?;
    let errors = ErrorReport::new(None)?;
    let scratch = tempfile::Builder::new()
        .prefix("iota-replay-")
        .tempdir()
        .context("cannot create the replay's scratch directory (set TMPDIR to a writable one)")?;
    let scratch_db = scratch.path().join("state.db");
    let store: Arc<dyn StateStore> = Arc::from(state_store::open(
        &scratch_db.to_string_lossy(),
        IfMissing::Create,
    )?);

    let (evaluator, mut workers) = start_engine(&engine, Some(&store), &errors)?;
    let rules = evaluator.rules();
    let planned = logs::plan(&args, &range, rules)?;
    let mut config = pipeline_config(&engine, "iota-replay", None);
    config.time_range = Some(range);
    config.normalized_inputs = planned.normalized;
    let dedup = dedup_window(&engine);
    let progress = if args.no_progress {
        None
    } else {
        terminal::start_progress(planned.total_bytes())
    };
    let counters = Counters::with_progress(progress);

    let (inputs, objects) = match planned.logs {
        Logs::Local(inputs) => (inputs, None),
        Logs::S3 { runtime, objects } => (Vec::new(), Some((runtime, objects))),
    };
    let tracked = objects
        .as_ref()
        .map_or_else(Vec::new, |(_, objects)| tracked_objects(objects));
    let mut collector = ReplayCollector {
        store: StoreCollector::new(store.as_ref(), Some(rules), &outputs, &errors, tracked),
        matches: vec![0; rules.rules.len()],
    };
    match &objects {
        None => pipeline::run(
            inputs,
            &config,
            &dedup,
            Some(&evaluator),
            &mut workers,
            &counters,
            &mut collector,
        ),
        Some((runtime, objects)) => {
            let reader = S3Reader {
                runtime,
                store: store.as_ref(),
                evaluator: &evaluator,
                dedup: &dedup,
                outputs: &outputs,
                errors: &errors,
                concurrency: usize::from(args.download_concurrency),
                shutdown: &Shutdown::new(),
                lake: None,
            };
            reader.read_into(objects, &config, &mut workers, &counters, &mut collector);
        }
    }
    terminal::finish_progress();
    let ReplayCollector {
        store: committed,
        matches,
    } = collector;
    if let Some(failure) = committed.failure {
        return Err(failure.context(format!(
            "the replay's scratch store {} failed",
            scratch_db.display()
        )));
    }
    let delivered = Deliverer::new(store.as_ref(), &outputs, MAX_BACKOFF).drain()?;

    let mut summary = ReplaySummary {
        kind: "summary",
        from: range.from,
        to: range.to,
        files: Counters::get(&counters.files),
        files_skipped: Counters::get(&counters.files_skipped),
        input_errors: Counters::get(&counters.input_errors) + planned.list_errors,
        bytes: Counters::get(&counters.bytes),
        events: Counters::get(&counters.events),
        events_out_of_range: Counters::get(&counters.out_of_range),
        malformed: Counters::get(&counters.malformed),
        duplicates: Counters::get(&counters.duplicates),
        matches: committed.tally.matches,
        alerts: committed.tally.alerts,
        signals: committed.tally.signals,
        rule_errors: errors.count(),
        delivery_failures: delivered.failed,
        rules: by_rule(rules, &matches, store.as_ref(), &errors)?,
        ..Default::default()
    };
    summary.set_elapsed(started.elapsed());
    summary.print(json_reports);
    Ok(if summary.input_errors > 0 { 1 } else { 0 })
}

/// Every enabled rule, with its matches, its alerts and signals in the scratch store, and its
/// rule errors; sorted by id.
fn by_rule(
    rules: &RuleSet,
    matches: &[u64],
    store: &dyn StateStore,
    errors: &ErrorReport,
) -> anyhow::Result<Vec<RuleSummary>> {
    let windows = store
        .list_alerts(&AlertQuery {
            signals: true,
            ..Default::default()
        })
        .context("cannot read the alerts of the replay's scratch store")?;
    let mut created: HashMap<&str, (u64, u64)> = HashMap::new();
    for window in &windows {
        let counts = created.entry(window.rule_id.as_str()).or_default();
        match window.state {
            AlertState::Alert => counts.0 += 1,
            AlertState::Signal => counts.1 += 1,
        }
    }
    let mut summaries: Vec<RuleSummary> = rules
        .rules
        .iter()
        .filter(|rule| rule.enabled)
        .map(|rule| {
            let (alerts, signals) = created.get(rule.id.as_str()).copied().unwrap_or_default();
            RuleSummary {
                rule_id: rule.id.clone(),
                matches: matches[rule.index],
                alerts,
                signals,
                errors: errors.count_of(&rule.id),
            }
        })
        .collect();
    summaries.sort_by(|a, b| a.rule_id.cmp(&b.rule_id));
    Ok(summaries)
}

/// Commits through a [`StoreCollector`] into the scratch store, counting matches per rule on
/// the way (the store keeps windows, not the matches below a threshold).
struct ReplayCollector<'a> {
    store: StoreCollector<'a>,
    /// By rule index.
    matches: Vec<u64>,
}

impl Collector for ReplayCollector<'_> {
    fn batch(&mut self, batch: Batch, results: BatchResults) {
        for m in &results.matches {
            self.matches[m.rule] += 1;
        }
        self.store.batch(batch, results);
    }

    fn input_done(&mut self, done: InputDone) {
        self.store.input_done(done);
    }
}
