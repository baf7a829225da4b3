//! Loading rules and starting their Python workers, shared by every command that runs rules.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::Context;

use iota_alerts::RuleErrorRecord;
use iota_decode::DecodeOptions;
use iota_normalize::DedupWindow;
use iota_rules::runtime::{default_cache_root, unpack_bundled_rules, unpack_runtime};
use iota_rules::{
    discover, Evaluator, Interpreter, MemoryRuleState, ProblemLevel, RuleSet, RuleSources,
    RuleState, Worker, WorkerConfig,
};
use iota_state::{StateStore, StoreRuleState};

use crate::cli::{EngineArgs, RuleArgs};
use crate::pipeline::PipelineConfig;
use crate::report::ErrorReport;
use crate::UsageError;

/// Finds the rules named on the command line (the bundled pack when none are). Problems with
/// single rules are in the returned set's `problems`; only unusable arguments are errors.
pub fn load_rules(args: &RuleArgs) -> anyhow::Result<RuleSet> {
    let rule_paths = if args.rules.is_empty() {
        let cache_root = default_cache_root();
        vec![unpack_bundled_rules(&cache_root).with_context(|| {
            format!(
                "cannot unpack the bundled rules under {} (set IOTA_RUNTIME_DIR to a writable directory)",
                cache_root.display()
            )
        })?]
    } else {
        for path in &args.rules {
            if !path.exists() {
                return Err(UsageError(format!(
                    "rule path {}: no such file or directory",
                    path.display()
                ))
                .into());
            }
        }
        args.rules.clone()
    };
    for dir in args.imports.helpers.iter().chain(&args.imports.data_models) {
        if !dir.is_dir() {
            return Err(UsageError(format!("{}: not a directory", dir.display())).into());
        }
    }
    Ok(discover(&RuleSources {
        rule_paths,
        helper_dirs: args.imports.helpers.clone(),
        data_model_dirs: args.imports.data_models.clone(),
    }))
}

/// Reports load problems: rules that could not be loaded as rule_error records, the rest as
/// warnings.
fn report_load_problems(set: &RuleSet, errors: &ErrorReport) {
    for problem in &set.problems {
        if problem.level == ProblemLevel::Fatal {
            errors.rule_error(&RuleErrorRecord::new(
                problem.rule_id.clone(),
                "load",
                format!("{}: {}", problem.file.display(), problem.message),
            ));
        } else {
            tracing::warn!(
                rule = problem.rule_id.as_deref().unwrap_or("-"),
                file = %problem.file.display(),
                "{}",
                problem.message
            );
        }
    }
}

/// Loads the rules `args` names, reports their problems to `errors` and starts their
/// workers. The rules' caching helpers keep their state in `store`, or in memory without one.
pub fn start_engine(
    args: &EngineArgs,
    store: Option<&Arc<dyn StateStore>>,
    errors: &ErrorReport,
) -> anyhow::Result<(Arc<Evaluator>, Vec<Worker>)> {
    // Checking the interpreter starts Python once: it runs while the rules load.
    let (rules, interpreter) = thread::scope(|scope| {
        let check = scope.spawn(|| Interpreter::check(&args.workers.python.python));
        let rules = load_rules(&args.rules);
        (rules, check.join().expect("interpreter check thread"))
    });
    let rules = rules?;
    let interpreter = interpreter.map_err(|e| UsageError(e.to_string()))?;
    report_load_problems(&rules, errors);
    if rules.enabled_count() == 0 {
        tracing::warn!("no enabled rules were found; events are decoded but not evaluated");
    }
    let rule_state: Arc<dyn RuleState> = match store {
        Some(store) => Arc::new(StoreRuleState::new(Arc::clone(store))),
        None => Arc::new(MemoryRuleState::default()),
    };
    let evaluator = evaluator_of(
        interpreter,
        Arc::new(rules),
        &WorkerSettings {
            python: &args.workers.python.python,
            rule_timeout: args.workers.rule_timeout,
            memory_bytes: args.workers.worker_memory.as_u64(),
            // Without a store, every answer goes to the in-memory alert engine, which never
            // drops one nor forgets a window.
            describe_once: store.is_none(),
        },
        rule_state,
    )?;
    let count = args.workers.workers.unwrap_or_else(default_parallelism);
    let workers = start_workers(&evaluator, count, errors)?;
    Ok((evaluator, workers))
}

/// The window of recent eventIDs that drops duplicate events, sized by `--dedup-window`; a
/// daemon keeps one for its whole life.
pub fn dedup_window(args: &EngineArgs) -> DedupWindow {
    DedupWindow::new(args.dedup_window)
}

/// How the pipeline is sized for `args`; `source_id` becomes the events' `p_source_id`. With
/// `lake`, every event is written to it too.
pub fn pipeline_config(
    args: &EngineArgs,
    source_id: &str,
    lake: Option<&iota_lake::Lake>,
) -> PipelineConfig {
    PipelineConfig {
        decode_threads: default_parallelism(),
        batch_size: args.workers.batch_size.max(1),
        decode: DecodeOptions {
            max_event_bytes: args.max_event_bytes,
        },
        source_id: source_id.into(),
        prefilter: !args.no_prefilter,
        lake: lake.map(|lake| std::sync::Arc::clone(lake.intake())),
        time_range: None,
        normalized_inputs: false,
        log_type: args.log_type,
    }
}

/// How rule workers are run.
pub struct WorkerSettings<'a> {
    pub python: &'a Path,
    pub rule_timeout: Duration,
    /// Address-space limit per worker in bytes; 0 for none.
    pub memory_bytes: u64,
    /// See [`WorkerConfig::describe_once`].
    pub describe_once: bool,
}

/// Checks the interpreter and unpacks the runtime; no worker is started yet. The workers'
/// caching helpers read and write `state`.
pub fn evaluator(
    rules: Arc<RuleSet>,
    settings: &WorkerSettings<'_>,
    state: Arc<dyn RuleState>,
) -> anyhow::Result<Arc<Evaluator>> {
    let interpreter = Interpreter::check(settings.python).map_err(|e| UsageError(e.to_string()))?;
    evaluator_of(interpreter, rules, settings, state)
}

/// [`evaluator`] with an interpreter already checked.
fn evaluator_of(
    interpreter: Interpreter,
    rules: Arc<RuleSet>,
    settings: &WorkerSettings<'_>,
    state: Arc<dyn RuleState>,
) -> anyhow::Result<Arc<Evaluator>> {
    let cache_root = default_cache_root();
    let runtime_dir: PathBuf = unpack_runtime(&cache_root).with_context(|| {
        format!(
            "cannot unpack iota's Python runtime under {} (set IOTA_RUNTIME_DIR to a writable directory)",
            cache_root.display()
        )
    })?;
    let config = WorkerConfig {
        python: settings.python.to_path_buf(),
        runtime_dir,
        bytecode_cache: Some(cache_root.join("pycache")),
        batch_timeout: settings.rule_timeout,
        startup_timeout: Duration::from_secs(120),
        memory_limit_bytes: (settings.memory_bytes > 0).then_some(settings.memory_bytes),
        max_string_length: 1000,
        describe_once: settings.describe_once,
    };
    Ok(Evaluator::new(rules, config, interpreter, state))
}

/// Starts `count` workers in parallel, then reports rules and data models that failed to
/// load in Python (once, whichever worker found them).
pub fn start_workers(
    evaluator: &Arc<Evaluator>,
    count: usize,
    errors: &ErrorReport,
) -> anyhow::Result<Vec<Worker>> {
    let workers = thread::scope(|scope| {
        let handles: Vec<_> = (0..count.max(1))
            .map(|n| scope.spawn(move || evaluator.start_worker(&format!("worker-{n}"))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker start thread"))
            .collect::<Result<Vec<_>, _>>()
    })?;
    for import in evaluator.import_errors() {
        let rule = &evaluator.rules().rules[import.rule];
        let mut record = RuleErrorRecord::new(Some(rule.id.clone()), "import", import.error);
        record.traceback = import.traceback.filter(|t| !t.is_empty());
        errors.rule_error(&record);
    }
    for problem in evaluator.data_model_errors() {
        let mut record = RuleErrorRecord::new(Some(problem.id), "data_model", problem.error);
        record.traceback = problem.traceback.filter(|t| !t.is_empty());
        errors.rule_error(&record);
    }
    tracing::debug!(
        workers = count,
        python = evaluator.python_version(),
        "rule workers started"
    );
    Ok(workers)
}

pub fn default_parallelism() -> usize {
    thread::available_parallelism().map_or(2, |n| n.get())
}
