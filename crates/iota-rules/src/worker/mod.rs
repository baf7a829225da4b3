//! Rule evaluation in isolated Python worker processes.
//!
//! An [`Evaluator`] holds what every worker shares (the rule set, the interpreter, the health
//! of each rule); each pipeline thread owns one [`Worker`], a long-lived Python process that
//! evaluates batches of events. A worker that crashes, exits, exceeds its memory limit or
//! hangs past the batch timeout is killed and replaced; the progress record tells which rule
//! on which event was running, that pair is reported as a rule error, and the rest of the
//! batch is retried on the new worker. A rule that takes its worker down three times is
//! disabled for the rest of the run. When no progress was recorded, the batch is split in
//! halves until the poison event is isolated.

#[cfg(all(feature = "fuzzing", target_os = "linux"))]
pub mod fuzzing;
mod process;
mod protocol;
mod sandbox;

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use process::Interpreter;
use process::{Process, Progress};
pub use protocol::{CaseResult, DataModelError, ImportError, Match, MatchDetails, RuleFailure};
use protocol::{
    InitMessage, InitRule, InspectionMessage, PipeError, ReadyMessage, ResultsMessage,
    TestCaseMessage, TestMessage, TestResultsMessage,
};

use crate::discovery::RuleSet;
use crate::filter::{self, Condition};
use crate::prefilter::{Prefilter, PrefilterRule};
use crate::rule_state::{RuleState, StateRequest};
use crate::rule_tests::RuleTest;

/// How often a rule may take its worker down before it is disabled for the run.
pub const MAX_RULE_STRIKES: u32 = 3;

/// How workers are started and limited.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// The Python 3 interpreter.
    pub python: PathBuf,
    /// Where the embedded runtime was unpacked (see [`crate::runtime::unpack`]).
    pub runtime_dir: PathBuf,
    /// Where workers keep the compiled bytecode of the runtime and the rules (Python's
    /// `pycache_prefix`), so that a worker start does not compile every rule again; never
    /// beside the sources, which may be read-only or the user's. `None`: not kept.
    pub bytecode_cache: Option<PathBuf>,
    /// Wall-clock budget for one batch; past it the worker is killed (`--rule-timeout`).
    pub batch_timeout: Duration,
    /// Budget for starting a worker and importing every rule.
    pub startup_timeout: Duration,
    /// Address-space limit per worker (`RLIMIT_AS`), if any.
    pub memory_limit_bytes: Option<u64>,
    /// Generated strings (titles, dedup keys) are cut to this many characters.
    pub max_string_length: usize,
    /// Workers describe each alert window once in their life instead of once per batch
    /// (`describe_once`, docs/WORKER_PROTOCOL.md): only for runs that keep every answer and
    /// every window, which is a scan without a state store.
    pub describe_once: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("Python interpreter problem: {0} (install python3 or pass --python PATH)")]
    Python(String),
    #[error("could not start a rule worker: {0}")]
    Spawn(#[from] std::io::Error),
    #[error("rule worker failed during start-up: {0}")]
    Startup(String),
}

/// Where a rule's prefilter comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterOrigin {
    /// The rule's `Filter:` key.
    Declared,
    /// The part of its Panther `InlineFilters` Rust can evaluate.
    InlineFilters,
    /// Proven from its Python source by the worker.
    Inferred,
}

/// A rule's prefilter and where it came from.
#[derive(Clone, Debug)]
pub struct EffectiveFilter {
    pub condition: Condition,
    pub origins: Vec<FilterOrigin>,
}

/// One event handed to the rules, with the indexes of the rules to run on it. Events of the
/// same log type share one rule list.
#[derive(Clone, Debug)]
pub struct BatchEvent {
    /// The normalized event (a JSON object).
    pub json: Vec<u8>,
    pub rules: Arc<[u32]>,
    /// Event time in nanoseconds since the epoch, then event id: the order in which an
    /// alert's earliest event is picked (the worker describes only the earliest match of each
    /// window, see [`Match::details`]).
    pub time_ns: i64,
    pub event_id: Option<String>,
}

/// What the rules made of a batch. Event indexes refer to the batch's `events`.
#[derive(Debug, Default)]
pub struct BatchResults {
    pub matches: Vec<Match>,
    pub errors: Vec<RuleFailure>,
    /// Rule evaluations not run because the rule had been disabled.
    pub skipped_evaluations: u64,
}

/// State shared by every worker of one run.
pub struct Evaluator {
    config: WorkerConfig,
    state: Arc<dyn RuleState>,
    rules: Arc<RuleSet>,
    python_version: String,
    /// Per rule: how many times it took a worker down.
    strikes: Vec<AtomicU32>,
    /// Per rule: not to be evaluated any more (import error or too many strikes).
    disabled: Vec<AtomicBool>,
    /// Rules that could not be imported, as reported by the first worker.
    import_errors: Mutex<Vec<ImportError>>,
    /// Data model problems, as reported by the first worker.
    data_model_errors: Mutex<Option<Vec<DataModelError>>>,
    /// Prefilters inferred from rules' source, as reported by the first worker.
    inferred_filters: Mutex<Option<HashMap<usize, Condition>>>,
    restarts: AtomicU64,
    next_batch_id: AtomicU64,
}

impl Evaluator {
    /// Workers of `interpreter` (checked with [`Interpreter::check`]; it replaces
    /// `config.python`); no worker is started yet. `state` answers the rules' caching
    /// helpers for every worker of the run.
    pub fn new(
        rules: Arc<RuleSet>,
        config: WorkerConfig,
        interpreter: Interpreter,
        state: Arc<dyn RuleState>,
    ) -> Arc<Self> {
        let python_version = interpreter.version;
        let config = WorkerConfig {
            python: interpreter.executable,
            ..config
        };
        sandbox::hide_own_process();
        let n = rules.rules.len();
        Arc::new(Evaluator {
            config,
            state,
            python_version,
            strikes: (0..n).map(|_| AtomicU32::new(0)).collect(),
            disabled: rules
                .rules
                .iter()
                .map(|r| AtomicBool::new(!r.enabled))
                .collect(),
            rules,
            import_errors: Mutex::new(Vec::new()),
            data_model_errors: Mutex::new(None),
            inferred_filters: Mutex::new(None),
            restarts: AtomicU64::new(0),
            // 0 marks "starting up" in the progress record.
            next_batch_id: AtomicU64::new(1),
        })
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    pub fn python_version(&self) -> &str {
        &self.python_version
    }

    /// Starts one worker process and waits until it has imported the rules.
    pub fn start_worker(self: &Arc<Self>, label: &str) -> Result<Worker, WorkerError> {
        let mut worker = Worker {
            shared: Arc::clone(self),
            label: label.to_string(),
            process: None,
        };
        worker.ensure_started()?;
        Ok(worker)
    }

    /// Rules that failed to import (each listed once, whichever worker found it first).
    pub fn import_errors(&self) -> Vec<ImportError> {
        self.import_errors.lock().unwrap().clone()
    }

    /// Data models (or some of their mappings) that failed to load.
    pub fn data_model_errors(&self) -> Vec<DataModelError> {
        self.data_model_errors
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_default()
    }

    /// The prefilter of `rule`: its declared `Filter:`, the evaluable part of its
    /// `InlineFilters`, and (without a declared one) what the worker inferred from its source.
    pub fn effective_filter(&self, rule: usize) -> Option<EffectiveFilter> {
        let meta = &self.rules.rules[rule];
        let mut parts = Vec::new();
        let mut origins = Vec::new();
        if let Some(declared) = &meta.filter {
            parts.push(declared.clone());
            origins.push(FilterOrigin::Declared);
        }
        if let Some(inline) = meta
            .inline_filters
            .as_ref()
            .and_then(filter::from_inline_filters)
        {
            parts.push(inline);
            origins.push(FilterOrigin::InlineFilters);
        }
        if meta.filter.is_none() {
            let inferred = self.inferred_filters.lock().unwrap();
            if let Some(condition) = inferred.as_ref().and_then(|m| m.get(&rule)) {
                parts.push(condition.clone());
                origins.push(FilterOrigin::Inferred);
            }
        }
        Condition::all_of(parts).map(|condition| EffectiveFilter { condition, origins })
    }

    /// The prefilter index over the rules that will run (enabled and imported), with the
    /// native rules. With `enabled` false every Python rule is a candidate for every event of
    /// its log types.
    pub fn prefilter(&self, enabled: bool) -> Prefilter {
        let filters: Vec<Option<EffectiveFilter>> = (0..self.rules.rules.len())
            .map(|i| self.effective_filter(i))
            .collect();
        let members: Vec<PrefilterRule<'_>> = self
            .rules
            .rules
            .iter()
            .filter(|r| !self.is_disabled(r.index as u32))
            .map(|r| PrefilterRule {
                index: r.index as u32,
                log_types: &r.log_types,
                condition: filters[r.index].as_ref().map(|f| &f.condition),
                native: r.native.as_ref(),
            })
            .collect();
        Prefilter::build(&members, self.rules.rules.len(), enabled)
    }

    /// How many times a worker was replaced after dying or hanging.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    fn is_disabled(&self, rule: u32) -> bool {
        self.disabled[rule as usize].load(Ordering::Relaxed)
    }

    /// Counts one worker failure against `rule`; true when this strike disabled it.
    fn strike(&self, rule: u32) -> bool {
        let strikes = self.strikes[rule as usize].fetch_add(1, Ordering::Relaxed) + 1;
        strikes == MAX_RULE_STRIKES && !self.disabled[rule as usize].swap(true, Ordering::Relaxed)
    }

    fn record_import_errors(&self, errors: Vec<ImportError>) {
        let mut known = self.import_errors.lock().unwrap();
        for error in errors {
            if error.rule < self.disabled.len() {
                self.disabled[error.rule].store(true, Ordering::Relaxed);
            }
            if !known.iter().any(|k| k.rule == error.rule) {
                known.push(error);
            }
        }
    }

    fn init_frame(&self) -> Vec<u8> {
        let message = InitMessage {
            kind: "init",
            state: "remote",
            paths: &self.rules.import_paths,
            max_string_length: self.config.max_string_length,
            describe_once: self.config.describe_once,
            rules: self
                .rules
                .rules
                .iter()
                .filter(|r| !self.is_disabled(r.index as u32) && r.native.is_none())
                .map(|rule| InitRule {
                    rule,
                    declared_filter: rule.filter.is_some(),
                })
                .collect(),
            data_models: &self.rules.data_models,
        };
        serde_json::to_vec(&message).expect("init message serialises")
    }
}

/// One Python worker process, owned by one pipeline thread.
pub struct Worker {
    shared: Arc<Evaluator>,
    label: String,
    process: Option<Process>,
}

/// Only a frame's `type`: whether it is a rule's state request or the request's answer is
/// known before the frame is parsed for what it is.
#[derive(serde::Deserialize)]
struct FrameKind<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
}

fn is_state_request(payload: &[u8]) -> bool {
    serde_json::from_slice::<FrameKind<'_>>(payload).is_ok_and(|frame| frame.kind == "state")
}

/// Why one attempt at a batch did not produce results.
enum AttemptFailure {
    TimedOut,
    Died(String),
}

impl std::fmt::Display for AttemptFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttemptFailure::TimedOut => f.write_str("the batch exceeded --rule-timeout"),
            AttemptFailure::Died(why) => f.write_str(why),
        }
    }
}

impl Worker {
    /// Evaluates a batch. Never fails as a whole: every problem becomes a [`RuleFailure`]
    /// tied to a rule and/or an event, and every other (event, rule) pair is still evaluated.
    pub fn evaluate(&mut self, events: &[BatchEvent]) -> BatchResults {
        let mut results = BatchResults::default();
        let plan: Vec<Cow<'_, [u32]>> = events
            .iter()
            .map(|e| {
                if e.rules.iter().any(|&r| self.shared.is_disabled(r)) {
                    let active: Vec<u32> = e
                        .rules
                        .iter()
                        .copied()
                        .filter(|&r| !self.shared.is_disabled(r))
                        .collect();
                    results.skipped_evaluations += (e.rules.len() - active.len()) as u64;
                    Cow::Owned(active)
                } else {
                    Cow::Borrowed(&*e.rules)
                }
            })
            .collect();
        let indexes: Vec<usize> = (0..events.len()).collect();
        self.evaluate_plan(events, &indexes, plan, &mut results);
        results
    }

    /// Evaluates `plan[i]` on `events[indexes[i]]`, recovering from worker failures.
    fn evaluate_plan(
        &mut self,
        events: &[BatchEvent],
        indexes: &[usize],
        mut plan: Vec<Cow<'_, [u32]>>,
        results: &mut BatchResults,
    ) {
        loop {
            if plan.iter().all(|rules| rules.is_empty()) {
                return;
            }
            let batch_id = self.shared.next_batch_id.fetch_add(1, Ordering::Relaxed);
            let frame = encode_batch(batch_id, events, indexes, &plan);
            let failure = match self.attempt(batch_id, indexes.len(), &frame) {
                Ok(message) => {
                    for mut m in message.matches {
                        m.event = indexes[m.event];
                        results.matches.push(m);
                    }
                    for mut e in message.errors {
                        e.event = e.event.map(|i| indexes[i]);
                        results.errors.push(e);
                    }
                    return;
                }
                Err(failure) => failure,
            };
            let progress = self.replace_process();
            let running = progress.filter(|p| {
                p.batch_id == batch_id && p.event >= 0 && (p.event as usize) < plan.len()
            });
            match running {
                Some(Progress { event, rule, .. }) if rule >= 0 => {
                    let (pos, rule) = (event as usize, rule as u32);
                    results.errors.push(RuleFailure {
                        event: Some(indexes[pos]),
                        rule: Some(rule as usize),
                        function: "rule".into(),
                        error: format!(
                            "rule worker killed while running this rule on this event: {failure}; \
                             the worker was restarted"
                        ),
                        traceback: None,
                    });
                    plan[pos] =
                        Cow::Owned(plan[pos].iter().copied().filter(|&r| r != rule).collect());
                    if self.shared.strike(rule) {
                        results.errors.push(RuleFailure {
                            event: None,
                            rule: Some(rule as usize),
                            function: "rule".into(),
                            error: format!(
                                "rule disabled for the rest of this run after taking its worker down \
                                 {MAX_RULE_STRIKES} times"
                            ),
                            traceback: None,
                        });
                    }
                    if self.shared.is_disabled(rule) {
                        for rules in plan.iter_mut().filter(|r| r.contains(&rule)) {
                            results.skipped_evaluations += 1;
                            *rules =
                                Cow::Owned(rules.iter().copied().filter(|&r| r != rule).collect());
                        }
                    }
                }
                Some(Progress { event, .. }) => {
                    let pos = event as usize;
                    results.errors.push(RuleFailure {
                        event: Some(indexes[pos]),
                        rule: None,
                        function: "event".into(),
                        error: format!("rule worker killed while preparing this event: {failure}"),
                        traceback: None,
                    });
                    plan[pos] = Cow::Owned(Vec::new());
                }
                None if plan.len() > 1 => {
                    // Nothing tells which event is to blame: isolate it by halves.
                    let mid = plan.len() / 2;
                    let second = plan.split_off(mid);
                    self.evaluate_plan(events, &indexes[..mid], plan, results);
                    self.evaluate_plan(events, &indexes[mid..], second, results);
                    return;
                }
                None => {
                    for &rule in plan[0].iter() {
                        results.errors.push(RuleFailure {
                            event: Some(indexes[0]),
                            rule: Some(rule as usize),
                            function: "rule".into(),
                            error: format!("rule worker failed on this event: {failure}"),
                            traceback: None,
                        });
                    }
                    return;
                }
            }
        }
    }

    /// Sends one batch frame and reads its results, starting the worker if needed.
    fn attempt(
        &mut self,
        batch_id: u64,
        events: usize,
        frame: &[u8],
    ) -> Result<ResultsMessage, AttemptFailure> {
        let payload = self.request(frame)?;
        ResultsMessage::read(&payload, batch_id, events, self.shared.rules.rules.len())
            .map_err(AttemptFailure::Died)
    }

    /// One request frame, one answer frame, within the batch timeout.
    fn request(&mut self, frame: &[u8]) -> Result<Vec<u8>, AttemptFailure> {
        if let Err(err) = self.ensure_started() {
            return Err(AttemptFailure::Died(err.to_string()));
        }
        let budget = self.shared.config.batch_timeout;
        let deadline = Instant::now() + budget;
        let process = self.process.as_mut().expect("started");
        if let Err(err) = process.limit_cpu_time(budget) {
            return Err(AttemptFailure::Died(match process.try_status() {
                Some(status) => describe_status(status),
                None => format!("cannot set the worker's CPU time limit: {err}"),
            }));
        }
        let state = &self.shared.state;
        let outcome = process.pipes.send(frame, deadline).and_then(|()| loop {
            // Rules' state requests come before the answer, each answered at once.
            let payload = process.pipes.recv(deadline)?;
            if !is_state_request(&payload) {
                break Ok(payload);
            }
            match serde_json::from_slice::<StateRequest>(&payload) {
                Ok(request) => {
                    let answer = match state.handle(&request) {
                        Ok(value) => {
                            serde_json::json!({"type": "state_result", "ok": true, "value": value})
                        }
                        Err(error) => {
                            serde_json::json!({"type": "state_result", "ok": false, "error": error})
                        }
                    };
                    process
                        .pipes
                        .send(answer.to_string().as_bytes(), deadline)?;
                }
                _ => break Ok(payload),
            }
        });
        match outcome {
            Ok(payload) => Ok(payload),
            Err(PipeError::Timeout) => Err(AttemptFailure::TimedOut),
            Err(err) => Err(AttemptFailure::Died(describe_death(process, err))),
        }
    }

    /// Runs one test case of `rule` (`iota rules test`). A case that takes the worker down
    /// fails with the reason; the next case gets a fresh worker.
    pub fn run_test(&mut self, rule: usize, test: &RuleTest, event_json: &[u8]) -> CaseResult {
        let id = self.shared.next_batch_id.fetch_add(1, Ordering::Relaxed);
        let event = std::str::from_utf8(event_json)
            .ok()
            .and_then(|s| serde_json::value::RawValue::from_string(s.to_owned()).ok());
        let Some(event) = event else {
            return CaseResult::failed(test, "the test event is not valid JSON".into());
        };
        let frame = serde_json::to_vec(&TestMessage {
            kind: "test",
            id,
            rule,
            cases: [TestCaseMessage {
                name: &test.name,
                expected: test.expected,
                event: &event,
                mocks: &test.mocks,
            }],
        })
        .expect("test message serialises");
        let failure = match self.request(&frame) {
            Ok(payload) => match serde_json::from_slice::<TestResultsMessage>(&payload) {
                Ok(message) if message.id == id => {
                    if let Some(case) = message.cases.into_iter().next() {
                        return case;
                    }
                    "the worker returned no result for this case".to_string()
                }
                Ok(message) => format!("worker answered request {} instead of {id}", message.id),
                Err(err) => format!("unreadable worker answer: {err}"),
            },
            Err(failure) => failure.to_string(),
        };
        self.replace_process();
        CaseResult::failed(test, format!("rule worker failed: {failure}"))
    }

    /// The public names each imported rule module defines (`iota rules validate`).
    pub fn inspect(&mut self) -> Result<HashMap<usize, Vec<String>>, String> {
        let payload = self
            .request(br#"{"type":"inspect"}"#)
            .map_err(|failure| failure.to_string())?;
        let message: InspectionMessage = serde_json::from_slice(&payload)
            .map_err(|err| format!("unreadable worker answer: {err}"))?;
        message
            .rules
            .into_iter()
            .map(|(index, names)| {
                index
                    .parse::<usize>()
                    .map(|i| (i, names))
                    .map_err(|_| format!("worker named rule index {index:?}"))
            })
            .collect()
    }

    /// Kills the current process (if any) and returns its last progress record.
    fn replace_process(&mut self) -> Option<Progress> {
        let process = self.process.take()?;
        let progress = process.progress();
        let pid = process.pid();
        let status = process.kill();
        self.shared.restarts.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(worker = %self.label, pid, ?status, ?progress, "rule worker replaced");
        progress
    }

    fn ensure_started(&mut self) -> Result<(), WorkerError> {
        let mut failures = 0;
        while self.process.is_none() {
            let mut process = Process::spawn(&self.shared.config, &self.label)?;
            let deadline = Instant::now() + self.shared.config.startup_timeout;
            let answer = process
                .pipes
                .send(&self.shared.init_frame(), deadline)
                .and_then(|()| self.await_ready(&process, deadline))
                .and_then(|()| process.pipes.recv(deadline));
            let failure = match answer {
                Ok(payload) => match serde_json::from_slice::<ReadyMessage>(&payload) {
                    Ok(ready) => {
                        tracing::debug!(worker = %self.label, python = %ready.python, json = %ready.json, "rule worker ready");
                        self.shared.record_import_errors(ready.import_errors);
                        self.shared
                            .data_model_errors
                            .lock()
                            .unwrap()
                            .get_or_insert(ready.data_model_errors);
                        self.shared
                            .inferred_filters
                            .lock()
                            .unwrap()
                            .get_or_insert_with(|| {
                                ready
                                    .inferred_filters
                                    .into_iter()
                                    .filter_map(|(i, c)| Some((i.parse().ok()?, c)))
                                    .collect()
                            });
                        self.process = Some(process);
                        return Ok(());
                    }
                    Err(err) => format!("unreadable ready message: {err}"),
                },
                Err(PipeError::Timeout) => {
                    "timed out importing the rules (one rule's import may take up to --rule-timeout)"
                        .to_string()
                }
                Err(err) => describe_death(&mut process, err),
            };
            // A rule that crashes or hangs its worker at import time is an import error.
            let progress = process.progress();
            process.kill();
            match progress {
                Some(Progress {
                    batch_id: 0, rule, ..
                }) if rule >= 0 => {
                    self.shared.record_import_errors(vec![ImportError {
                        rule: rule as usize,
                        error: format!("importing this rule took the worker down: {failure}"),
                        traceback: None,
                    }]);
                }
                _ => {
                    failures += 1;
                    if failures >= 3 {
                        return Err(WorkerError::Startup(failure));
                    }
                }
            }
        }
        Ok(())
    }

    /// Waits for the worker's answer to `init` until `deadline`, or until one rule's import
    /// has run longer than a batch may (the progress record names the rule being imported),
    /// whichever comes first: an import that hangs is that rule's import error.
    fn await_ready(&self, process: &Process, deadline: Instant) -> Result<(), PipeError> {
        let per_rule = self.shared.config.batch_timeout;
        let mut importing = process.progress();
        let mut since = Instant::now();
        loop {
            let check = (Instant::now() + Duration::from_millis(200)).min(deadline);
            match process.pipes.wait_readable(check) {
                Err(PipeError::Timeout) if Instant::now() < deadline => {
                    let now = process.progress();
                    if now != importing {
                        (importing, since) = (now, Instant::now());
                    } else if importing.is_some_and(|p| p.rule >= 0) && since.elapsed() > per_rule {
                        return Err(PipeError::Timeout);
                    }
                }
                other => return other,
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(process) = self.process.take() {
            let deadline = Instant::now() + Duration::from_secs(2);
            let _ = process.pipes.send(br#"{"type":"shutdown"}"#, deadline);
            process.kill();
        }
    }
}

fn describe_death(process: &mut Process, err: PipeError) -> String {
    // Give the kernel a moment to report the exit status of a worker that just closed its pipe.
    let deadline = Instant::now() + Duration::from_millis(200);
    let mut status = process.try_status();
    while status.is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
        status = process.try_status();
    }
    match (status, err) {
        (Some(status), _) => describe_status(status),
        (None, PipeError::Closed) => "the worker closed its protocol pipe".into(),
        (None, PipeError::Io(e)) => format!("i/o error talking to the worker: {e}"),
        (None, PipeError::Protocol(e)) => format!("protocol error: {e}"),
        (None, PipeError::Timeout) => "timed out".into(),
    }
}

fn describe_status(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("the worker exited with status {code}"),
        (None, Some(libc::SIGKILL)) => {
            "the worker was killed (SIGKILL; out of memory or killed from outside)".into()
        }
        (None, Some(libc::SIGSEGV)) => "the worker crashed (SIGSEGV)".into(),
        (None, Some(libc::SIGXCPU)) => {
            "the worker used up its CPU time for the batch (SIGXCPU; see --rule-timeout)".into()
        }
        (None, Some(signal)) => format!("the worker died of signal {signal}"),
        (None, None) => format!("the worker ended ({status})"),
    }
}

/// Builds a `batch` frame: the events' bytes are copied once into the frame, and identical
/// rule lists are sent once as `sets`.
fn encode_batch(
    batch_id: u64,
    events: &[BatchEvent],
    indexes: &[usize],
    plan: &[Cow<'_, [u32]>],
) -> Vec<u8> {
    use std::io::Write;
    let size: usize = indexes.iter().map(|&i| events[i].json.len() + 16).sum();
    let mut frame = Vec::with_capacity(size + 256);
    let mut sets: HashMap<&[u32], usize> = HashMap::new();
    let mut set_order: Vec<&[u32]> = Vec::new();
    let set_of: Vec<usize> = plan
        .iter()
        .map(|rules| {
            *sets.entry(&**rules).or_insert_with(|| {
                set_order.push(rules);
                set_order.len() - 1
            })
        })
        .collect();
    write!(frame, r#"{{"type":"batch","id":{batch_id},"sets":"#).unwrap();
    serde_json::to_writer(&mut frame, &set_order).unwrap();
    frame.extend_from_slice(br#","events":["#);
    for (pos, &i) in indexes.iter().enumerate() {
        if pos > 0 {
            frame.push(b',');
        }
        let event = &events[i];
        write!(frame, "[{},", set_of[pos]).unwrap();
        frame.extend_from_slice(&event.json);
        write!(frame, ",{},", event.time_ns).unwrap();
        serde_json::to_writer(&mut frame, &event.event_id).unwrap();
        frame.push(b']');
    }
    frame.extend_from_slice(b"]}");
    frame
}
