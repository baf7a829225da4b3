//! The processing pipeline shared by every mode:
//!
//! ```text
//! inputs ─► decode + normalize threads ─► batches ─► rule threads ─► results ─► collector
//!           (iota-decode, iota-normalize,           (one Python        (alert state,
//!            eventID dedup)                          worker each)       outputs, reports)
//! ```
//!
//! All channels are bounded, so a slow stage holds back the ones before it and memory stays
//! flat whatever the input size.

mod decode_stage;
pub mod stats;

use std::sync::Arc;
use std::thread;

use chrono::{DateTime, Utc};
use crossbeam_channel::bounded;

use iota_decode::DecodeOptions;
use iota_normalize::{CapturePlan, DedupWindow};
use iota_rules::{BatchEvent, BatchResults, Evaluator, Worker};
use iota_sources::Input;

pub use stats::Counters;

/// How the pipeline is sized.
pub struct PipelineConfig {
    pub decode_threads: usize,
    pub batch_size: usize,
    pub decode: DecodeOptions,
    pub dedup_window: usize,
    /// `p_source_id` of the events.
    pub source_id: String,
    /// Evaluate rules' prefilters in Rust (off: every rule sees every event of its log types).
    pub prefilter: bool,
}

/// What the collector needs to know about an event besides its JSON.
#[derive(Debug)]
pub struct EventMeta {
    pub input: Arc<str>,
    pub stdin: bool,
    pub line: u64,
    pub event_id: Option<String>,
    pub event_time: DateTime<Utc>,
    pub log_type: &'static str,
}

/// Events on their way to the rules; `meta[i]` describes `events[i]`.
#[derive(Default)]
pub struct Batch {
    pub events: Vec<BatchEvent>,
    pub meta: Vec<EventMeta>,
}

/// Runs `inputs` through decode, normalize and (with `workers`) the rules; `collect` is called
/// on the calling thread for each evaluated batch. Returns when every input is done.
pub fn run(
    inputs: Vec<Input>,
    config: &PipelineConfig,
    evaluator: Option<&Arc<Evaluator>>,
    workers: Vec<Worker>,
    counters: &Counters,
    mut collect: impl FnMut(Batch, BatchResults),
) {
    let (input_tx, input_rx) = bounded(inputs.len().max(1));
    for input in inputs {
        input_tx.send(input).expect("receiver alive");
    }
    drop(input_tx);
    let (batch_tx, batch_rx) = bounded::<Batch>(workers.len().max(1) * 2);
    let (result_tx, result_rx) = bounded::<(Batch, BatchResults)>(workers.len().max(1) * 2);
    let dedup = DedupWindow::new(config.dedup_window);
    let prefilter = evaluator.map(|e| e.prefilter(config.prefilter));
    let empty_plan = CapturePlan::default();

    thread::scope(|scope| {
        for n in 0..config.decode_threads.max(1) {
            let input_rx = input_rx.clone();
            let batch_tx = batch_tx.clone();
            let dedup = &dedup;
            let prefilter = prefilter.as_ref();
            let empty_plan = &empty_plan;
            thread::Builder::new()
                .name(format!("decode-{n}"))
                .spawn_scoped(scope, move || {
                    let mut stage = decode_stage::DecodeStage::new(
                        config, prefilter, empty_plan, dedup, counters, batch_tx,
                    );
                    for input in input_rx {
                        stage.process(&input);
                    }
                    stage.finish();
                })
                .expect("spawn decode thread");
        }
        drop(batch_tx);

        for (n, mut worker) in workers.into_iter().enumerate() {
            let batch_rx = batch_rx.clone();
            let result_tx = result_tx.clone();
            thread::Builder::new()
                .name(format!("rules-{n}"))
                .spawn_scoped(scope, move || {
                    for batch in batch_rx {
                        let results = worker.evaluate(&batch.events);
                        if result_tx.send((batch, results)).is_err() {
                            break;
                        }
                    }
                })
                .expect("spawn rule thread");
        }
        drop(result_tx);
        // Without rule threads nobody reads batches; the decode stage does not send any then.
        drop(batch_rx);

        for (batch, results) in result_rx {
            collect(batch, results);
        }
    });
}
