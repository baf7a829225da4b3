//! The processing pipeline shared by every mode:
//!
//! ```text
//! inputs ─► decode + normalize threads ─► batches ─► rule threads ─► results ─► collector
//!           (iota-decode, iota-normalize,           (one Python        (alert state,
//!            eventID dedup)                          worker each)       outputs, reports)
//! ```
//!
//! All channels are bounded, so a slow stage holds back the ones before it and memory stays
//! flat whatever the input size. A batch holds the events of one input only, so that the
//! collector can tell when every event of an input has been evaluated
//! ([`Collector::input_done`]): the point where a store commits the input's results together
//! with its progress.

mod decode_stage;
pub mod stats;

use std::collections::HashMap;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossbeam_channel::{bounded, RecvTimeoutError, Sender};

use iota_decode::DecodeOptions;
use iota_lake::LakeIntake;
use iota_normalize::{CapturePlan, DedupWindow, LogType};
use iota_rules::{BatchEvent, BatchResults, Evaluator, Worker};
use iota_sources::Input;

pub use stats::Counters;

/// How the pipeline is sized.
pub struct PipelineConfig {
    pub decode_threads: usize,
    pub batch_size: usize,
    pub decode: DecodeOptions,
    /// `p_source_id` of the events.
    pub source_id: String,
    /// Evaluate rules' prefilters in Rust (off: every rule sees every event of its log types).
    pub prefilter: bool,
    /// Read every record as this log type (`--log-type`) instead of classifying it.
    pub log_type: Option<LogType>,
    /// With a data lake: where every normalized event goes, besides the rules.
    pub lake: Option<Arc<LakeIntake>>,
    /// Only events of this time range are evaluated (`iota replay`); the others are counted
    /// in [`Counters::out_of_range`] and go no further.
    pub time_range: Option<TimeRange>,
    /// The inputs hold events normalized before (a data lake's files): their `p_` fields are
    /// dropped and computed again, so that rules see them as they would have live.
    pub normalized_inputs: bool,
}

/// Event times from `from` (inclusive) to `to` (exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl TimeRange {
    pub fn contains(&self, time: DateTime<Utc>) -> bool {
        self.from <= time && time < self.to
    }
}

/// What the collector needs to know about an event besides its JSON and id.
#[derive(Debug)]
pub struct EventMeta {
    /// The input's name ([`Input::name`]).
    pub input: Arc<str>,
    pub stdin: bool,
    pub line: u64,
    pub event_time: DateTime<Utc>,
    pub log_type: &'static str,
}

/// Events of one input on their way to the rules; `meta[i]` describes `events[i]`.
#[derive(Default)]
pub struct Batch {
    /// The position of the batch's input in the list given to [`run`].
    pub input: usize,
    pub events: Vec<BatchEvent>,
    pub meta: Vec<EventMeta>,
}

/// What the decode stage saw of one input, once every event of it has been evaluated.
#[derive(Debug)]
pub struct InputDone {
    /// The position of the input in the list given to [`run`].
    pub input: usize,
    /// Events decoded (duplicates not counted), whether or not a rule could match them.
    pub events: u64,
    /// The time of its newest event, for the processing lag.
    pub newest_event_time: Option<DateTime<Utc>>,
    /// Records skipped as malformed (not JSON, not an event, over the size limit).
    pub malformed: u64,
    /// Where the first of them is and what is wrong with it.
    pub first_malformed: Option<String>,
    pub failure: Option<InputFailure>,
}

/// Why an input could not be read (completely).
#[derive(Debug)]
pub enum InputFailure {
    /// Not at all (missing, permissions): reading it again later may work.
    Open(String),
    /// Not to its end (truncated, corrupt); the events before the error were evaluated.
    Read(String),
}

/// Receives the pipeline's results, on the thread that called [`run`].
pub trait Collector {
    /// One evaluated batch.
    fn batch(&mut self, batch: Batch, results: BatchResults);
    /// Every batch of the input has been given to [`Collector::batch`].
    fn input_done(&mut self, done: InputDone);
    /// Called after each result and every [`TICK`] while none comes: the place for work on
    /// a timer (flushing the data lake).
    fn tick(&mut self) {}
    /// Called once every input is done, before [`run`] returns.
    fn finish(&mut self) {}
}

/// How long the collector waits for a result before [`Collector::tick`] is called anyway.
pub const TICK: Duration = Duration::from_millis(250);

/// What reaches the collector: evaluated batches, and the end of each input with the number
/// of batches it was split into (which may still be on their way through the rule threads).
enum Collected {
    Batch(Batch, BatchResults),
    InputEnd { batches: usize, done: InputDone },
}

/// Runs `inputs` through decode, normalize and (with `workers`) the rules, handing results to
/// `collector`. Returns when every input is done. `inputs` is read as the decode threads need
/// more, so it may produce them as they arrive (downloads); the workers are lent for the run,
/// so that a daemon keeps them from one run to the next, as it keeps `dedup`, the eventIDs
/// seen recently.
pub fn run(
    inputs: impl IntoIterator<Item = Input, IntoIter: Send>,
    config: &PipelineConfig,
    dedup: &DedupWindow,
    evaluator: Option<&Arc<Evaluator>>,
    workers: &mut [Worker],
    counters: &Counters,
    collector: &mut dyn Collector,
) {
    let inputs = inputs.into_iter();
    let (input_tx, input_rx) = bounded(config.decode_threads.max(1));
    let (batch_tx, batch_rx) = bounded::<Batch>(workers.len().max(1) * 2);
    let (result_tx, result_rx) = bounded::<Collected>(workers.len().max(1) * 2);
    let prefilter = evaluator.map(|e| e.prefilter(config.prefilter));
    let empty_plan = CapturePlan::default();

    thread::scope(|scope| {
        thread::Builder::new()
            .name("inputs".into())
            .spawn_scoped(scope, move || {
                for input in inputs.enumerate() {
                    if input_tx.send(input).is_err() {
                        break;
                    }
                }
            })
            .expect("spawn input thread");
        for n in 0..config.decode_threads.max(1) {
            let input_rx = input_rx.clone();
            let batch_tx = batch_tx.clone();
            let ends = EndSender(result_tx.clone());
            let prefilter = prefilter.as_ref();
            let empty_plan = &empty_plan;
            thread::Builder::new()
                .name(format!("decode-{n}"))
                .spawn_scoped(scope, move || {
                    let mut stage = decode_stage::DecodeStage::new(
                        config, prefilter, empty_plan, dedup, counters, batch_tx, ends,
                    );
                    for (position, input) in input_rx {
                        stage.process(position, &input);
                    }
                })
                .expect("spawn decode thread");
        }
        drop(batch_tx);

        for (n, worker) in workers.iter_mut().enumerate() {
            let batch_rx = batch_rx.clone();
            let result_tx = result_tx.clone();
            thread::Builder::new()
                .name(format!("rules-{n}"))
                .spawn_scoped(scope, move || {
                    for batch in batch_rx {
                        let results = worker.evaluate(&batch.events);
                        if result_tx.send(Collected::Batch(batch, results)).is_err() {
                            break;
                        }
                    }
                })
                .expect("spawn rule thread");
        }
        drop(result_tx);
        // Without rule threads nobody reads batches; the decode stage does not send any then.
        drop(batch_rx);

        // Per input: batches collected so far, and its end once the decode stage sent it.
        let mut pending: HashMap<usize, (usize, Option<(usize, InputDone)>)> = HashMap::new();
        loop {
            let message = match result_rx.recv_timeout(TICK) {
                Ok(message) => message,
                Err(RecvTimeoutError::Timeout) => {
                    collector.tick();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let input = match message {
                Collected::Batch(batch, results) => {
                    let input = batch.input;
                    collector.batch(batch, results);
                    pending.entry(input).or_default().0 += 1;
                    input
                }
                Collected::InputEnd { batches, done } => {
                    let input = done.input;
                    pending.entry(input).or_default().1 = Some((batches, done));
                    input
                }
            };
            if let Some((collected, Some((batches, _)))) = pending.get(&input) {
                if collected == batches {
                    let (_, end) = pending.remove(&input).expect("just seen");
                    collector.input_done(end.expect("just seen").1);
                }
            }
            collector.tick();
        }
        collector.finish();
    });
}

/// How a decode thread announces the end of an input to the collector, and hands it the
/// matches of native rules.
pub(crate) struct EndSender(Sender<Collected>);

impl EndSender {
    /// False when the collector is gone, i.e. the run is over.
    fn batch(&self, batch: Batch, results: BatchResults) -> bool {
        self.0.send(Collected::Batch(batch, results)).is_ok()
    }

    fn send(&self, batches: usize, done: InputDone) {
        // Only fails when the collector is gone, i.e. the run is over.
        let _ = self.0.send(Collected::InputEnd { batches, done });
    }
}
