//! One decode thread: opens inputs, decodes them into raw events (JSON objects or text lines),
//! parses each once (with the fields the rules' prefilters need), drops duplicate event ids,
//! asks the prefilter which rules of the event's log type could match, and only for events
//! some rule could match writes the `p_` fields and adds them to a batch for the rule
//! threads. Native rules are evaluated here: their matches go in batches of their own
//! straight to the collector, never to a Python worker. With a data lake, every event gets its
//! `p_` fields and goes into the input's lake staging as well. The last batches of an input
//! are sent when the input ends, followed by the input's end for the collector. With a time
//! range, events outside it stop right after the parse; events read from a data lake lose the
//! `p_` fields of their first normalization before it.

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use crossbeam_channel::Sender;

use iota_decode::{decode, Malformed, Record};
use iota_lake::InputStaging;
use iota_normalize::{
    without_standard_fields, CapturePlan, DedupWindow, NormalizeError, NormalizedEvent, Normalizer,
    SourceInfo,
};
use iota_rules::{
    BatchEvent, BatchResults, Candidates, EventTree, Match, NativeVerdict, Prefilter, RuleFailure,
};
use iota_sources::Input;

use super::{Batch, Counters, EndSender, EventMeta, InputDone, InputFailure, PipelineConfig};

pub(super) struct DecodeStage<'a> {
    config: &'a PipelineConfig,
    /// `None` when no rules run (decode-only).
    prefilter: Option<&'a Prefilter>,
    plan: &'a CapturePlan,
    dedup: &'a DedupWindow,
    counters: &'a Counters,
    batches: Sender<Batch>,
    ends: EndSender,
    batch: Batch,
    /// Events of the current input that native rules matched, with those matches.
    native_batch: Batch,
    native_results: BatchResults,
    /// The current event's native verdicts (kept to reuse the allocation).
    verdicts: Vec<NativeVerdict>,
    /// Batches sent for the current input.
    batches_sent: usize,
    /// Candidate lists built for single events, shared by later events with the same list.
    interned: HashMap<Vec<u32>, Arc<[u32]>>,
}

/// Distinct per-event candidate lists kept for sharing; beyond this, lists are not shared.
const MAX_INTERNED: usize = 4096;

impl<'a> DecodeStage<'a> {
    pub(super) fn new(
        config: &'a PipelineConfig,
        prefilter: Option<&'a Prefilter>,
        empty_plan: &'a CapturePlan,
        dedup: &'a DedupWindow,
        counters: &'a Counters,
        batches: Sender<Batch>,
        ends: EndSender,
    ) -> Self {
        DecodeStage {
            config,
            plan: prefilter.map_or(empty_plan, Prefilter::capture_plan),
            prefilter,
            dedup,
            counters,
            batches,
            ends,
            batch: Batch::default(),
            native_batch: Batch::default(),
            native_results: BatchResults::default(),
            verdicts: Vec::new(),
            batches_sent: 0,
            interned: HashMap::new(),
        }
    }

    /// Decodes the input at `position` of the run's input list, then sends its end.
    pub(super) fn process(&mut self, position: usize, input: &Input) {
        self.batch.input = position;
        self.native_batch.input = position;
        self.batches_sent = 0;
        let lake = self
            .config
            .lake
            .as_ref()
            .map(|intake| intake.start(position));
        let done = self.decode_input(position, input, lake.as_deref());
        self.flush();
        self.flush_native();
        self.ends.send(self.batches_sent, done);
    }

    /// What was read of the input at `position`: the events decoded, the newest event time,
    /// the malformed records and, when the input could not be read completely, why.
    fn decode_input(
        &mut self,
        position: usize,
        input: &Input,
        lake: Option<&InputStaging>,
    ) -> InputDone {
        let name: Arc<str> = input.name().into();
        let mut done = InputDone {
            input: position,
            events: 0,
            newest_event_time: None,
            malformed: 0,
            first_malformed: None,
            failure: None,
        };
        let reader = match input.open() {
            Ok(reader) => reader,
            Err(err) => {
                self.counters.input_errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!(input = %name, "cannot open input: {err}");
                done.failure = Some(InputFailure::Open(err.to_string()));
                return done;
            }
        };
        let normalizer = Normalizer::new(SourceInfo {
            id: self.config.source_id.clone(),
            label: name.to_string(),
        })
        .with_log_type(self.config.log_type);
        let stdin = matches!(input, Input::Stdin);
        let reader = CountingReader {
            inner: reader,
            counters: self.counters,
        };
        let parse_time = Utc::now();
        let config = self.config;
        let mut events = 0;
        let mut newest: Option<DateTime<Utc>> = None;
        let (mut malformed, mut first_malformed) = (0u64, None);
        let counters = self.counters;
        let mut note_malformed = |position: &dyn std::fmt::Display,
                                  reason: &dyn std::fmt::Display| {
            counters.malformed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(input = %name, %position, "malformed record skipped: {reason}");
            malformed += 1;
            first_malformed.get_or_insert_with(|| format!("{position}: {reason}"));
        };
        let mut on_record = |record: Record<'_>| match record {
            Record::Event { raw, position } => match normalizer.parse(raw, self.plan) {
                Ok(parsed) => {
                    if let Some(range) = &config.time_range {
                        if !parsed.event_time().is_some_and(|t| range.contains(t)) {
                            self.counters.out_of_range.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    }
                    if let Some(id) = parsed.dedup_key() {
                        if !self.dedup.first_seen(id) {
                            self.counters.duplicates.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    }
                    self.counters.events.fetch_add(1, Ordering::Relaxed);
                    events += 1;
                    match parsed.event_time() {
                        Some(time) => newest = newest.max(Some(time)),
                        None => {
                            self.counters.time_fallbacks.fetch_add(1, Ordering::Relaxed);
                            let field = parsed.kind().time_field();
                            tracing::warn!(input = %name, %position, "{field} missing or invalid; using the parse time as p_event_time");
                        }
                    }
                    let prefilter = self.prefilter;
                    let rules = match prefilter
                        .map(|prefilter| prefilter.candidates(parsed.log_type(), parsed.captured()))
                    {
                        None => None,
                        Some(Candidates::Shared(list)) if list.is_empty() => None,
                        Some(Candidates::Shared(list)) => Some(Arc::clone(list)),
                        Some(Candidates::Owned(list)) if list.is_empty() => None,
                        Some(Candidates::Owned(list)) => Some(self.intern(list)),
                    };
                    if let Some(prefilter) = prefilter {
                        prefilter.native_matches(
                            parsed.log_type(),
                            parsed.captured(),
                            &mut self.verdicts,
                        );
                    }
                    // Without a lake, only events some rule could match get their p_ fields.
                    if rules.is_none() && self.verdicts.is_empty() && lake.is_none() {
                        return;
                    }
                    let event = normalizer.finish(parsed, parse_time);
                    if let Some(lake) = lake {
                        lake.append(event.log_type, event.event_time, &event.json);
                    }
                    let meta = EventMeta {
                        input: Arc::clone(&name),
                        stdin,
                        line: position.line,
                        event_time: event.event_time,
                        log_type: event.log_type,
                    };
                    // Verdicts are only ever given by a prefilter.
                    let native = prefilter.filter(|_| !self.verdicts.is_empty());
                    let Some(rules) = rules else {
                        if let Some(prefilter) = native {
                            self.add_native(prefilter, event, meta);
                        }
                        return;
                    };
                    if let Some(prefilter) = native {
                        let copy = NormalizedEvent {
                            json: event.json.clone(),
                            event_id: event.event_id.clone(),
                            ..event
                        };
                        let meta = EventMeta {
                            input: Arc::clone(&meta.input),
                            ..meta
                        };
                        self.add_native(prefilter, copy, meta);
                    }
                    self.counters
                        .events_to_rules
                        .fetch_add(1, Ordering::Relaxed);
                    self.counters
                        .rule_evaluations
                        .fetch_add(rules.len() as u64, Ordering::Relaxed);
                    self.batch.events.push(BatchEvent {
                        time_ns: time_ns(&event),
                        json: event.json,
                        rules,
                        event_id: event.event_id,
                    });
                    self.batch.meta.push(meta);
                    if self.batch.events.len() >= self.config.batch_size {
                        self.flush();
                    }
                }
                Err(NormalizeError::HeaderLine { log_type }) => {
                    tracing::debug!(input = %name, %position, %log_type, "header line read");
                }
                Err(err) => note_malformed(&position, &err),
            },
            Record::Malformed(bad) => note_malformed(&bad.position, &bad.reason),
        };
        // A lake's events are normalized again: without the `p_` fields they carry.
        let mut restoring = |record: Record<'_>| match record {
            Record::Event { raw, position } if config.normalized_inputs => {
                match without_standard_fields(raw) {
                    Ok(restored) => on_record(Record::Event {
                        raw: &restored,
                        position,
                    }),
                    Err(err) => on_record(Record::Malformed(Malformed {
                        position,
                        reason: err.to_string(),
                    })),
                }
            }
            other => on_record(other),
        };
        let decoded = decode(reader, &name, &config.decode, &mut restoring);
        self.counters.files.fetch_add(1, Ordering::Relaxed);
        match decoded {
            Ok(stats) => {
                if let Some(skipped) = stats.skipped {
                    self.counters.files_skipped.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(input = %name, ?skipped, "input skipped");
                }
            }
            Err(failure) => {
                self.counters.input_errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    input = %name,
                    events_before_error = failure.stats.events,
                    "input could not be read completely: {}", failure.error
                );
                done.failure = Some(InputFailure::Read(failure.error.to_string()));
            }
        }
        done.events = events;
        done.newest_event_time = newest;
        done.malformed = malformed;
        done.first_malformed = first_malformed;
        done
    }

    /// Records the native rules' matches of `event` (the verdicts of [`Prefilter::native_matches`],
    /// deciding the undecided ones on the whole event) in the native batch.
    fn add_native(&mut self, prefilter: &Prefilter, event: NormalizedEvent, meta: EventMeta) {
        let position = self.native_batch.events.len();
        let mut tree: Option<Result<EventTree, String>> = None;
        let mut kept = false;
        for verdict in self.verdicts.drain(..) {
            let (rule, keys) = match verdict {
                NativeVerdict::Match {
                    rule,
                    dedup,
                    unique,
                } => (rule, Some((dedup, unique))),
                NativeVerdict::Undecided { rule } => {
                    match tree.get_or_insert_with(|| EventTree::parse(&event.json)) {
                        Ok(tree) => (rule, prefilter.native_exact(rule, tree)),
                        Err(err) => {
                            self.native_results.errors.push(RuleFailure {
                                event: Some(position),
                                rule: Some(rule as usize),
                                function: "rule".into(),
                                error: format!(
                                    "the event could not be read for this native rule: {err}"
                                ),
                                traceback: None,
                            });
                            kept = true;
                            continue;
                        }
                    }
                }
            };
            if let Some((dedup, unique)) = keys {
                self.native_results.matches.push(Match {
                    event: position,
                    rule: rule as usize,
                    dedup,
                    unique,
                    details: None,
                });
                kept = true;
            }
        }
        if !kept {
            return;
        }
        self.native_batch.events.push(BatchEvent {
            time_ns: time_ns(&event),
            json: event.json,
            rules: Arc::from([]),
            event_id: event.event_id,
        });
        self.native_batch.meta.push(meta);
        if self.native_batch.events.len() >= self.config.batch_size {
            self.flush_native();
        }
    }

    /// Sends the native batch to the collector, with the title, severity and alert context of
    /// the earliest match of each alert window in it (the match an alert shows; the others
    /// only count, as for Python rules).
    fn flush_native(&mut self) {
        if self.native_batch.events.is_empty() {
            return;
        }
        let Some(prefilter) = self.prefilter else {
            return;
        };
        let next = Batch {
            input: self.native_batch.input,
            ..Batch::default()
        };
        let batch = std::mem::replace(&mut self.native_batch, next);
        let mut results = std::mem::take(&mut self.native_results);
        let mut earliest: HashMap<(usize, &str, i64), usize> = HashMap::new();
        for (i, m) in results.matches.iter().enumerate() {
            let period = prefilter.native_dedup_period_secs(m.rule as u32);
            let start = batch.meta[m.event]
                .event_time
                .timestamp()
                .div_euclid(period)
                * period;
            let order = |i: usize| {
                let event = &batch.events[results.matches[i].event];
                (event.time_ns, event.event_id.as_deref())
            };
            earliest
                .entry((m.rule, m.dedup.as_str(), start))
                .and_modify(|e| {
                    if order(i) < order(*e) {
                        *e = i;
                    }
                })
                .or_insert(i);
        }
        let described: Vec<usize> = earliest.into_values().collect();
        for i in described {
            let m = &results.matches[i];
            let details = EventTree::parse(&batch.events[m.event].json)
                .ok()
                .and_then(|tree| prefilter.native_details(m.rule as u32, &tree));
            results.matches[i].details = details;
        }
        if self.ends.batch(batch, results) {
            self.batches_sent += 1;
        }
    }

    fn intern(&mut self, list: Vec<u32>) -> Arc<[u32]> {
        if let Some(shared) = self.interned.get(&list) {
            return Arc::clone(shared);
        }
        let shared: Arc<[u32]> = list.as_slice().into();
        if self.interned.len() < MAX_INTERNED {
            self.interned.insert(list, Arc::clone(&shared));
        }
        shared
    }

    fn flush(&mut self) {
        if self.batch.events.is_empty() {
            return;
        }
        let next = Batch {
            input: self.batch.input,
            ..Batch::default()
        };
        let batch = std::mem::replace(&mut self.batch, next);
        // Only fails when no rule thread is left to take it; nothing more can be done then.
        if self.batches.send(batch).is_ok() {
            self.batches_sent += 1;
        }
    }
}

/// Event time in nanoseconds since the epoch, the order in which an alert's earliest event is
/// picked.
fn time_ns(event: &NormalizedEvent) -> i64 {
    event.event_time.timestamp_nanos_opt().unwrap_or(
        // Beyond ±292 years: the microseconds, scaled, keep the order.
        event.event_time.timestamp_micros().saturating_mul(1000),
    )
}

/// Counts raw bytes as they are read, for the summary and the progress bar.
struct CountingReader<'a> {
    inner: Box<dyn Read + Send>,
    counters: &'a Counters,
}

impl Read for CountingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counters.add_bytes(n as u64);
        Ok(n)
    }
}
