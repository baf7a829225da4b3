//! Committing results to the state store, input by input: once the last event of an input has
//! been evaluated, its matches, rule errors and progress (the processed-object record) go into
//! the store in one transaction, and the alerts they create wait in the store's outbox. Shared
//! by `iota scan --state` and the daemons, which differ only in how they name their inputs
//! ([`TrackedObject`]; local files by [`local_object`], the same for `iota scan` and
//! `iota watch`).

use std::collections::HashMap;
use std::time::UNIX_EPOCH;

use anyhow::Context;
use chrono::{DateTime, Utc};

use iota_alerts::{RuleErrorRecord, RuleMatch, SourceRef};
use iota_outputs::{routes, AlertOutput};
use iota_rules::{BatchResults, Rule, RuleSet};
use iota_sources::Input;
use iota_state::{
    CommitOutcome, CommitUnit, MatchRecord, ObjectOutcome, ObjectProgress, StateStore,
};

use crate::pipeline::{Batch, Collector, EventMeta, InputDone, InputFailure};
use crate::report::ErrorReport;

/// An input as the state store knows it: a committed (source, key, etag) is never processed
/// again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackedObject {
    /// `local` for files, `s3://<bucket>` for S3 objects.
    pub source: String,
    pub key: String,
    pub etag: String,
    pub size: u64,
    /// The bucket of an S3 object, for the alerts' `source` field.
    pub bucket: Option<String>,
}

/// `ObjectProgress::source` of local files in the state store.
pub const LOCAL_SOURCE: &str = "local";

/// A local file as the state store knows it: its canonical path (so that runs from other
/// working directories, or over a symlink, agree), and size and modification time as its
/// etag, so that a file changed since it was committed is a new object and is read again.
/// `None` for inputs that are not files (stdin).
pub fn local_object(input: &Input) -> anyhow::Result<Option<TrackedObject>> {
    let Input::File { path, .. } = input else {
        return Ok(None);
    };
    let canonical = std::fs::canonicalize(path)
        .with_context(|| format!("cannot resolve {}", path.display()))?;
    let metadata = std::fs::metadata(&canonical)
        .with_context(|| format!("cannot read the metadata of {}", path.display()))?;
    let modified = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok(Some(TrackedObject {
        source: LOCAL_SOURCE.into(),
        key: canonical.to_string_lossy().into_owned(),
        etag: format!("{}-{modified}", metadata.len()),
        size: metadata.len(),
        bucket: None,
    }))
}

/// Local inputs split by whether an earlier run committed them ([`skip_committed`]).
pub struct Uncommitted {
    /// The inputs to read, in the order given.
    pub inputs: Vec<Input>,
    /// The store's name of each of `inputs`, by position (for [`StoreCollector::new`]).
    pub objects: Vec<Option<TrackedObject>>,
    /// The inputs committed already, not to be read again.
    pub committed: Vec<Input>,
}

/// Drops the inputs an earlier run committed to `store` (a failed attempt does not count: it
/// is read again).
pub fn skip_committed(store: &dyn StateStore, inputs: Vec<Input>) -> anyhow::Result<Uncommitted> {
    let mut split = Uncommitted {
        inputs: Vec::with_capacity(inputs.len()),
        objects: Vec::with_capacity(inputs.len()),
        committed: Vec::new(),
    };
    for input in inputs {
        // An input that vanished since it was listed is reported when it is opened.
        let object = local_object(&input).unwrap_or(None);
        if let Some(object) = &object {
            let record = store
                .object_state(LOCAL_SOURCE, &object.key, &object.etag)
                .with_context(|| format!("cannot read the state store {}", store.name()))?;
            if record.is_some_and(|r| !matches!(r.outcome, ObjectOutcome::Failed(_))) {
                tracing::debug!(input = %object.key, "committed by an earlier run; skipped");
                split.committed.push(input);
                continue;
            }
        }
        split.inputs.push(input);
        split.objects.push(object);
    }
    Ok(split)
}

/// What the commits of a run added up to.
#[derive(Debug, Default)]
pub struct CommitTally {
    pub matches: u64,
    pub skipped_evaluations: u64,
    pub alerts: u64,
    pub signals: u64,
    pub below_threshold: u64,
    /// Inputs committed meanwhile by another process.
    pub already_committed: u64,
    pub objects_ok: u64,
    /// Committed with the events before a read error.
    pub objects_partial: u64,
    /// Recorded as failed, to be processed again.
    pub objects_failed: u64,
    pub events: u64,
    pub newest_event_time: Option<DateTime<Utc>>,
}

/// A [`Collector`] that commits each input's results with its progress.
pub struct StoreCollector<'a> {
    store: &'a dyn StateStore,
    /// `None` when no rules run.
    rules: Option<&'a RuleSet>,
    outputs: &'a [Box<dyn AlertOutput>],
    errors: &'a ErrorReport,
    /// The store's name for each input of the run, by position (`None` for stdin, whose
    /// results are committed without progress).
    objects: Vec<Option<TrackedObject>>,
    /// Results of inputs not done yet, by position.
    units: HashMap<usize, CommitUnit>,
    pub tally: CommitTally,
    /// The first commit that failed; nothing is committed after it.
    pub failure: Option<anyhow::Error>,
}

impl<'a> StoreCollector<'a> {
    pub fn new(
        store: &'a dyn StateStore,
        rules: Option<&'a RuleSet>,
        outputs: &'a [Box<dyn AlertOutput>],
        errors: &'a ErrorReport,
        objects: Vec<Option<TrackedObject>>,
    ) -> Self {
        StoreCollector {
            store,
            rules,
            outputs,
            errors,
            objects,
            units: HashMap::new(),
            tally: CommitTally::default(),
            failure: None,
        }
    }

    fn unit(&mut self, input: usize) -> &mut CommitUnit {
        self.units.entry(input).or_default()
    }
}

impl Collector for StoreCollector<'_> {
    fn batch(&mut self, batch: Batch, results: BatchResults) {
        let rules = self.rules.expect("results only come from rule workers");
        self.tally.skipped_evaluations += results.skipped_evaluations;
        let object = self.objects.get(batch.input).and_then(Option::as_ref);
        let mut records = Vec::with_capacity(results.matches.len());
        for m in &results.matches {
            self.tally.matches += 1;
            let (meta, event) = (&batch.meta[m.event], &batch.events[m.event]);
            let source = source_ref(meta, object);
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
            iota_ops::metrics::rule_matched(&rule.id, 1);
            let outputs = routed_outputs(self.outputs, rule, &rule_match);
            records.push(MatchRecord::new(
                &rule_match,
                event.event_id.clone().unwrap_or_default(),
                outputs,
            ));
        }
        let rule_errors = rule_error_records(rules, &batch, results, object, self.errors);
        let unit = self.unit(batch.input);
        unit.matches.extend(records);
        unit.rule_errors.extend(rule_errors);
    }

    fn input_done(&mut self, done: InputDone) {
        let mut unit = self.units.remove(&done.input).unwrap_or_default();
        if self.failure.is_some() {
            return;
        }
        let object = self.objects.get(done.input).and_then(Option::as_ref);
        if let Some(object) = object {
            let outcome = match done.failure {
                None if done.malformed == 0 => ObjectOutcome::Ok,
                // Every good record was evaluated; the record says what was skipped.
                None => ObjectOutcome::Partial(format!(
                    "{} malformed record{} skipped; the first at {}",
                    done.malformed,
                    if done.malformed == 1 { "" } else { "s" },
                    done.first_malformed
                        .as_deref()
                        .unwrap_or("an unknown position")
                )),
                // The input may be readable later: nothing of it is kept, it is read again
                // from the start.
                Some(InputFailure::Open(error)) => {
                    unit.matches.clear();
                    unit.rule_errors.clear();
                    ObjectOutcome::Failed(error)
                }
                // Reading it again would stop at the same place: keep what was read.
                Some(InputFailure::Read(error)) => ObjectOutcome::Partial(error),
            };
            unit.progress = Some(ObjectProgress {
                source: object.source.clone(),
                key: object.key.clone(),
                etag: object.etag.clone(),
                size: object.size,
                events: done.events,
                outcome,
            });
        }
        let outcome = unit.progress.as_ref().map(|p| p.outcome.clone());
        match self.store.commit(&unit) {
            Ok(CommitOutcome::Applied(applied)) => {
                for (rule, severity) in &applied.created_rules {
                    iota_ops::metrics::alert_created(rule, severity.as_str());
                }
                iota_ops::metrics::events_processed(done.events);
                if let Some(outcome) = &outcome {
                    iota_ops::metrics::object_done(match outcome {
                        ObjectOutcome::Ok => iota_ops::metrics::ObjectOutcome::Ok,
                        ObjectOutcome::Partial(_) => iota_ops::metrics::ObjectOutcome::Partial,
                        ObjectOutcome::Failed(_) => iota_ops::metrics::ObjectOutcome::Failed,
                    });
                }
                self.tally.alerts += applied.created.len() as u64;
                self.tally.signals += applied.signals;
                self.tally.below_threshold += applied.below_threshold;
                match outcome {
                    Some(ObjectOutcome::Failed(_)) => self.tally.objects_failed += 1,
                    Some(ObjectOutcome::Partial(_)) => self.tally.objects_partial += 1,
                    Some(ObjectOutcome::Ok) | None => self.tally.objects_ok += 1,
                }
                self.tally.events += done.events;
                self.tally.newest_event_time =
                    self.tally.newest_event_time.max(done.newest_event_time);
            }
            // Another process committed the same object meanwhile.
            Ok(CommitOutcome::Duplicate) => self.tally.already_committed += 1,
            Err(err) => {
                let input = object.map_or("stdin", |o| o.key.as_str());
                self.failure = Some(anyhow::Error::new(err).context(format!(
                    "cannot commit the results of {input}; it is processed again by the next run with this state store"
                )));
            }
        }
    }
}

/// Rule errors of a batch as records (reported to `errors` as they are made).
pub fn rule_error_records(
    rules: &RuleSet,
    batch: &Batch,
    results: BatchResults,
    object: Option<&TrackedObject>,
    errors: &ErrorReport,
) -> Vec<RuleErrorRecord> {
    results
        .errors
        .into_iter()
        .map(|failure| {
            let mut record = RuleErrorRecord::new(
                failure.rule.map(|r| rules.rules[r].id.clone()),
                failure.function,
                failure.error,
            );
            record.traceback = failure.traceback;
            if let Some(i) = failure.event {
                record.event_id = batch.events[i].event_id.clone();
                record.source = Some(source_ref(&batch.meta[i], object));
            }
            errors.rule_error(&record);
            iota_ops::metrics::rule_error(record.rule_id.as_deref().unwrap_or("-"));
            record
        })
        .collect()
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

/// Where an event came from, as alerts show it.
pub fn source_ref(meta: &EventMeta, object: Option<&TrackedObject>) -> SourceRef {
    if let Some(TrackedObject {
        bucket: Some(bucket),
        key,
        ..
    }) = object
    {
        return SourceRef {
            kind: "s3",
            bucket: Some(bucket.clone()),
            key: key.clone(),
            line: Some(meta.line),
        };
    }
    SourceRef {
        kind: if meta.stdin { "stdin" } else { "file" },
        bucket: None,
        key: meta.input.to_string(),
        line: Some(meta.line),
    }
}
