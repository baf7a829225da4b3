//! Committing results to the state store, input by input: once the last event of an input has
//! been evaluated, its matches, rule errors and progress (the processed-object record) go into
//! the store in one transaction, and the alerts they create wait in the store's outbox. Shared
//! by `iota scan --state` and the daemons, which differ only in how they name their inputs
//! ([`TrackedObject`]; local files by [`local_object`], the same for `iota scan` and
//! `iota watch`).
//!
//! With a data lake, an input done waits for the lake flush that writes its events: the flush
//! is recorded in the store, its files written, and then the inputs it holds are committed in
//! the transaction that ends the flush (docs/LAKE.md, "Exactly once").

use std::collections::HashMap;
use std::time::UNIX_EPOCH;

use anyhow::Context;
use chrono::{DateTime, Utc};

use iota_alerts::{RuleErrorRecord, RuleMatch, SourceRef};
use iota_lake::{new_flush_id, Buffer, Group, Lake};
use iota_outputs::{routes, AlertOutput};
use iota_rules::{BatchResults, Rule, RuleSet};
use iota_sources::Input;
use iota_state::{
    CommitOutcome, CommitUnit, LakeCommit, LakeFlush, MatchRecord, ObjectOutcome, ObjectProgress,
    StateStore, StoreError,
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
    /// With a data lake: the lake and the events waiting for its next flush.
    lake: Option<(&'a Lake, Buffer)>,
    /// Inputs done whose commit waits for the lake flush that writes their events.
    held: Vec<Held>,
    pub tally: CommitTally,
    /// The first commit that failed; nothing is committed after it.
    pub failure: Option<anyhow::Error>,
    /// Positions of the inputs committed (by this run, or meanwhile by another process) as far
    /// as they could be read: not those that could not be opened, which are read again later.
    pub finished: Vec<usize>,
}

/// An input done, with its results.
struct Held {
    input: usize,
    unit: CommitUnit,
    events: u64,
    newest_event_time: Option<DateTime<Utc>>,
    opened: bool,
}

/// Attempts of one lake flush that finds its inputs committed meanwhile by another process,
/// each attempt leaving those inputs out.
const LAKE_FLUSH_ATTEMPTS: usize = 5;

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
            lake: None,
            held: Vec::new(),
            tally: CommitTally::default(),
            failure: None,
            finished: Vec::new(),
        }
    }

    /// Writes every event to `lake`, and commits each input only with the lake flush that
    /// holds its events. Deletes first the files of flushes an earlier run left uncommitted.
    pub fn with_lake(mut self, lake: Option<&'a Lake>) -> Self {
        if let Some(lake) = lake {
            if let Err(err) = self
                .store
                .lake_doomed()
                .map_err(anyhow::Error::new)
                .and_then(|doomed| self.remove_flushes(lake, doomed))
            {
                self.failure = Some(err.context("cannot clean up the lake"));
            }
            self.lake = Some((lake, lake.buffer()));
        }
        self
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
            let source = || source_ref(meta, object);
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
        if let Some((_, buffer)) = &mut self.lake {
            buffer.input_done(done.input);
        }
        if self.failure.is_some() {
            return;
        }
        let object = self.objects.get(done.input).and_then(Option::as_ref);
        if let Some(object) = object {
            let outcome = match &done.failure {
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
                    ObjectOutcome::Failed(error.clone())
                }
                // Reading it again would stop at the same place: keep what was read.
                Some(InputFailure::Read(error)) => ObjectOutcome::Partial(error.clone()),
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
        let held = Held {
            input: done.input,
            unit,
            events: done.events,
            newest_event_time: done.newest_event_time,
            opened: !matches!(done.failure, Some(InputFailure::Open(_))),
        };
        if self.lake.is_some() {
            self.held.push(held);
        } else {
            let result = self.store.commit(&held.unit);
            self.record(&held, result);
        }
    }

    fn tick(&mut self) {
        let Some((lake, buffer)) = &self.lake else {
            return;
        };
        let objects = &self.objects;
        let untracked = |position: usize| objects.get(position).is_none_or(Option::is_none);
        if buffer.due(lake.policy.size, lake.policy.interval, &untracked) {
            self.flush_lake();
        }
    }

    fn finish(&mut self) {
        self.flush_lake();
    }
}

impl StoreCollector<'_> {
    /// Folds the outcome of an input's commit into the tally.
    fn record(&mut self, held: &Held, result: Result<CommitOutcome, StoreError>) {
        let outcome = held.unit.progress.as_ref().map(|p| p.outcome.clone());
        match result {
            Ok(CommitOutcome::Applied(applied)) => {
                for (rule, severity) in &applied.created_rules {
                    iota_ops::metrics::alert_created(rule, severity.as_str());
                }
                iota_ops::metrics::events_processed(held.events);
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
                self.tally.events += held.events;
                self.tally.newest_event_time =
                    self.tally.newest_event_time.max(held.newest_event_time);
                if held.opened {
                    self.finished.push(held.input);
                }
            }
            // Another process committed the same object meanwhile.
            Ok(CommitOutcome::Duplicate) => {
                self.tally.already_committed += 1;
                self.finished.push(held.input);
            }
            Err(err) => {
                let object = self.objects.get(held.input).and_then(Option::as_ref);
                let input = object.map_or("stdin", |o| o.key.as_str());
                self.failure = Some(anyhow::Error::new(err).context(format!(
                    "cannot commit the results of {input}; it is processed again by the next run with this state store"
                )));
            }
        }
    }

    /// Writes what the lake buffer holds and commits the inputs done with it.
    fn flush_lake(&mut self) {
        let Some((lake, buffer)) = &mut self.lake else {
            return;
        };
        let lake: &Lake = lake;
        let objects = &self.objects;
        let untracked = |position: usize| objects.get(position).is_none_or(Option::is_none);
        let group = buffer.take(&untracked);
        let held = std::mem::take(&mut self.held);
        if self.failure.is_some() || (group.is_empty() && held.is_empty()) {
            return;
        }
        if let Err(err) = self.commit_flush(lake, group, held) {
            self.failure = Some(err.context(format!(
                "cannot write the lake {}; the inputs of this flush are processed again by the next run with this state store",
                lake.uri()
            )));
        }
    }

    /// One flush: recorded as pending, its files written, then committed with its inputs.
    fn commit_flush(
        &mut self,
        lake: &Lake,
        mut group: Group,
        mut held: Vec<Held>,
    ) -> anyhow::Result<()> {
        for _ in 0..LAKE_FLUSH_ATTEMPTS {
            if group.is_empty() && held.is_empty() {
                return Ok(());
            }
            let id = new_flush_id(Utc::now());
            let files = group.files(&id);
            let flush = LakeFlush {
                id,
                files: files.iter().map(|f| f.key.clone()).collect(),
                inputs: held
                    .iter()
                    .filter_map(|h| h.unit.progress.as_ref())
                    .map(|p| (p.source.clone(), p.key.clone(), p.etag.clone()))
                    .collect(),
            };
            self.store.lake_begin(&flush)?;
            for file in &files {
                lake.put(file)?;
            }
            let units: Vec<&CommitUnit> = held.iter().map(|h| &h.unit).collect();
            match self.store.lake_commit(&flush.id, &units)? {
                LakeCommit::Applied { outcomes, doomed } => {
                    for (held, outcome) in held.iter().zip(outcomes) {
                        self.record(held, Ok(outcome));
                    }
                    tracing::debug!(
                        flush = %flush.id,
                        files = files.len(),
                        events = group.rows(),
                        inputs = held.len(),
                        "lake flush committed"
                    );
                    return self.remove_flushes(lake, doomed);
                }
                LakeCommit::AlreadyCommitted(positions) => {
                    self.remove_flushes(lake, vec![flush])?;
                    for position in positions.into_iter().rev() {
                        let duplicate = held.remove(position);
                        group.remove_inputs(&[duplicate.input]);
                        self.record(&duplicate, Ok(CommitOutcome::Duplicate));
                    }
                }
                LakeCommit::Lost => self.remove_flushes(lake, vec![flush])?,
            }
        }
        anyhow::bail!("the flush could not be committed in {LAKE_FLUSH_ATTEMPTS} attempts")
    }

    /// Deletes the files of flushes that were not committed, then their records.
    fn remove_flushes(&self, lake: &Lake, flushes: Vec<LakeFlush>) -> anyhow::Result<()> {
        for flush in flushes {
            for key in &flush.files {
                lake.delete(key)?;
            }
            self.store.lake_forget(&flush.id)?;
            tracing::debug!(flush = %flush.id, files = flush.files.len(), "uncommitted lake flush removed");
        }
        Ok(())
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
