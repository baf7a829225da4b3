//! Loading rules and starting their Python workers, shared by every command that runs rules.
//! Rule load problems and import errors are reported here, by rule name, as rule_error records.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::Context;

use iota_alerts::RuleErrorRecord;
use iota_rules::runtime::{default_cache_root, unpack_bundled_rules, unpack_runtime};
use iota_rules::{discover, Evaluator, RuleSet, RuleSources, Worker, WorkerConfig};

use crate::cli::{RuleArgs, WorkerArgs};
use crate::report::ErrorReport;
use crate::UsageError;

/// Finds the rules named on the command line (the bundled pack when none are).
pub fn load_rules(args: &RuleArgs, errors: &ErrorReport) -> anyhow::Result<Arc<RuleSet>> {
    let cache_root = default_cache_root();
    let rule_paths = if args.rules.is_empty() {
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
                    "--rules {}: no such file or directory",
                    path.display()
                ))
                .into());
            }
        }
        args.rules.clone()
    };
    for dir in args.helpers.iter().chain(&args.data_models) {
        if !dir.is_dir() {
            return Err(UsageError(format!("{}: not a directory", dir.display())).into());
        }
    }
    let set = discover(&RuleSources {
        rule_paths,
        helper_dirs: args.helpers.clone(),
        data_model_dirs: args.data_models.clone(),
    });
    for problem in &set.problems {
        let who = problem.rule_id.as_deref().unwrap_or("-");
        if problem.fatal {
            errors.rule_error(&RuleErrorRecord::new(
                problem.rule_id.clone(),
                "load",
                format!("{}: {}", problem.file.display(), problem.message),
            ));
        } else {
            tracing::warn!(rule = who, file = %problem.file.display(), "{}", problem.message);
        }
    }
    if set.enabled_count() == 0 {
        tracing::warn!("no enabled rules were found; events will be decoded but not evaluated");
    }
    Ok(Arc::new(set))
}

/// Starts `--workers` Python workers in parallel and reports rules that failed to import.
pub fn start_workers(
    rules: Arc<RuleSet>,
    python: &std::path::Path,
    args: &WorkerArgs,
    errors: &ErrorReport,
) -> anyhow::Result<(Arc<Evaluator>, Vec<Worker>)> {
    let cache_root = default_cache_root();
    let runtime_dir = unpack_runtime(&cache_root).with_context(|| {
        format!(
            "cannot unpack iota's Python runtime under {} (set IOTA_RUNTIME_DIR to a writable directory)",
            cache_root.display()
        )
    })?;
    let memory = args.worker_memory.as_u64();
    let config = WorkerConfig {
        python: python.to_path_buf(),
        runtime_dir,
        batch_timeout: args.rule_timeout,
        startup_timeout: Duration::from_secs(120),
        memory_limit_bytes: (memory > 0).then_some(memory),
        max_string_length: 1000,
    };
    let evaluator = Evaluator::new(rules, config).map_err(|e| UsageError(e.to_string()))?;
    let count = args.workers.unwrap_or_else(default_parallelism).max(1);
    let workers = thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .map(|n| {
                let evaluator = &evaluator;
                scope.spawn(move || evaluator.start_worker(&format!("worker-{n}")))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker start thread"))
            .collect::<Result<Vec<_>, _>>()
    })?;
    for import in evaluator.import_errors() {
        let rule = &evaluator.rules().rules[import.rule];
        let mut record = RuleErrorRecord::new(Some(rule.id.clone()), "import", import.error);
        record.traceback = import.traceback;
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
    Ok((evaluator, workers))
}

pub fn default_parallelism() -> usize {
    thread::available_parallelism().map_or(2, |n| n.get())
}
