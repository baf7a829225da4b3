//! One decode thread: opens inputs, decodes them into raw events (JSON objects or text lines),
//! parses each once (with the fields the rules' prefilters need), drops duplicate event ids,
//! asks the prefilter which rules of the event's log type could match, and only for events some rule could match writes the `p_` fields and
//! adds them to a batch for the rule threads. The last batch of an input is sent when the
//! input ends, followed by the input's end for the collector.

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use crossbeam_channel::Sender;

use iota_decode::{decode, Record};
use iota_normalize::{CapturePlan, DedupWindow, NormalizeError, Normalizer, SourceInfo};
use iota_rules::{BatchEvent, Candidates, Prefilter};
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
            batches_sent: 0,
            interned: HashMap::new(),
        }
    }

    /// Decodes the input at `position` of the run's input list, then sends its end.
    pub(super) fn process(&mut self, position: usize, input: &Input) {
        self.batch.input = position;
        self.batches_sent = 0;
        let done = self.decode_input(position, input);
        self.flush();
        self.ends.send(self.batches_sent, done);
    }

    /// What was read of the input at `position`: the events decoded, the newest event time,
    /// the malformed records and, when the input could not be read completely, why.
    fn decode_input(&mut self, position: usize, input: &Input) -> InputDone {
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
                    let Some(prefilter) = self.prefilter else {
                        return;
                    };
                    let rules = match prefilter.candidates(parsed.log_type(), parsed.captured()) {
                        Candidates::Shared(list) if list.is_empty() => return,
                        Candidates::Shared(list) => Arc::clone(list),
                        Candidates::Owned(list) if list.is_empty() => return,
                        Candidates::Owned(list) => self.intern(list),
                    };
                    let event = normalizer.finish(parsed, parse_time);
                    self.counters
                        .events_to_rules
                        .fetch_add(1, Ordering::Relaxed);
                    self.counters
                        .rule_evaluations
                        .fetch_add(rules.len() as u64, Ordering::Relaxed);
                    self.batch.events.push(BatchEvent {
                        json: event.json,
                        rules,
                        time_ns: event.event_time.timestamp_nanos_opt().unwrap_or(
                            // Beyond ±292 years: the microseconds, scaled, keep the order.
                            event.event_time.timestamp_micros().saturating_mul(1000),
                        ),
                        event_id: event.event_id,
                    });
                    self.batch.meta.push(EventMeta {
                        input: Arc::clone(&name),
                        stdin,
                        line: position.line,
                        event_time: event.event_time,
                        log_type: event.log_type,
                    });
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
        let decoded = decode(reader, &name, &config.decode, &mut on_record);
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
