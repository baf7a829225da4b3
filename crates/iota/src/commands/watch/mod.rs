//! `iota watch`: a directory tree that a log shipper writes CloudTrail logs to, followed with
//! file-system notifications ([`notices`]) and a full rescan every `--rescan-interval`.
//! Files are read once they are complete ([`tree`]: unchanged for `--settle`), in batches:
//! each batch's files go through the pipeline and each file's results are committed with its
//! processed-object record, under the same name `iota scan --state` gives it
//! ([`crate::committer::local_object`]), so a restart, or a scan of the same tree, never reads
//! a committed file again. Between batches, deliveries that come due are sent
//! ([`crate::daemon`], which `iota s3-poll` shares).
//!
//! On SIGTERM or SIGINT no further file is started; those in flight are finished and
//! committed, the outbox is given what is left of `--shutdown-timeout`, and the process
//! exits. Files not started are read by the next run.

mod notices;
mod tree;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use iota_normalize::DedupWindow;
use iota_ops::Readiness;
use iota_rules::{Evaluator, Worker};
use iota_sources::Input;

use crate::cli::WatchArgs;
use crate::committer::{skip_committed, StoreCollector};
use crate::daemon::{Daemon, DaemonSettings};
use crate::pipeline::{self, Counters, PipelineConfig};
use crate::rule_engine::{dedup_window, pipeline_config, start_engine};
use crate::UsageError;

use notices::Notices;
use tree::{Complete, Tree, Version};

pub fn run(args: WatchArgs) -> anyhow::Result<u8> {
    if args.rescan_interval.is_zero() {
        return Err(UsageError(
            "--rescan-interval must be longer than 0s (e.g. 1m): it is the time between two \
             full listings of the directory"
                .into(),
        )
        .into());
    }
    let root = watched_root(&args.dir)?;
    let daemon = Daemon::open(&DaemonSettings {
        daemon: &args.daemon,
        engine: &args.engine,
        once: args.once,
    })?;
    let server = daemon.serve(directory_readiness(&root))?;
    // Before the first listing, so that nothing written meanwhile goes unnoticed.
    let (notices, _watcher) = if args.once {
        (Arc::default(), None)
    } else {
        Notices::follow(&root, args.rescan_interval, &daemon.shutdown)
    };
    let (evaluator, mut workers) = start_engine(&args.engine, Some(&daemon.store), &daemon.errors)?;
    let config = pipeline_config(
        &args.engine,
        &root.display().to_string(),
        daemon.lake.as_ref(),
    );
    let dedup = dedup_window(&args.engine);
    let reader = BatchReader {
        daemon: &daemon,
        evaluator: &evaluator,
        config: &config,
        dedup: &dedup,
        root: &root,
    };
    let mut tree = Tree::new(root.clone(), args.settle);
    let mut next_rescan = Instant::now();
    loop {
        let noticed = notices.take();
        let now = Instant::now();
        let rescanned = noticed.rescan || now >= next_rescan;
        if rescanned {
            tree.rescan(now);
            next_rescan = now + args.rescan_interval;
        }
        for (path, appeared) in &noticed.paths {
            tree.notice(path, *appeared, now);
        }
        let complete = tree.take_complete(Instant::now(), SystemTime::now());
        if !complete.is_empty() || args.once {
            if let Err(err) = reader.read(complete, &mut tree, &mut workers) {
                if args.once {
                    return Err(err);
                }
                tracing::error!(dir = %root.display(), "batch failed (its files are read again after the next rescan): {err:#}");
            }
        }
        if rescanned {
            daemon.prune();
        }
        if args.once || daemon.shutdown.is_requested() {
            break;
        }
        let next = tree
            .next_due(Instant::now(), SystemTime::now())
            .map_or(next_rescan, |due| due.min(next_rescan));
        daemon.idle_until(next, &|left| notices.wait(left));
        if daemon.shutdown.is_requested() {
            break;
        }
    }
    daemon.finish()?;
    drop(server);
    Ok(0)
}

/// `dir` made canonical (the files' names in the state store are canonical), which must be a
/// directory.
fn watched_root(dir: &Path) -> anyhow::Result<PathBuf> {
    let root = std::fs::canonicalize(dir).map_err(|err| {
        UsageError(format!(
            "cannot watch {}: {err}; give the directory your log shipper writes to (it must \
             exist)",
            dir.display()
        ))
    })?;
    if !root.is_dir() {
        return Err(UsageError(format!(
            "cannot watch {}: not a directory; give the directory your log shipper writes to",
            dir.display()
        ))
        .into());
    }
    Ok(root)
}

/// `/readyz`'s check of the directory: it can be listed.
fn directory_readiness(root: &Path) -> Readiness {
    let root = root.to_owned();
    Readiness::new().check("directory", move || {
        std::fs::read_dir(&root)
            .map(drop)
            .map_err(|err| format!("cannot list {}: {err}", root.display()))
    })
}

/// What a batch needs, for the life of the daemon.
struct BatchReader<'a> {
    daemon: &'a Daemon,
    evaluator: &'a Arc<Evaluator>,
    config: &'a PipelineConfig,
    /// The eventIDs seen recently, kept from one batch to the next.
    dedup: &'a DedupWindow,
    root: &'a Path,
}

impl BatchReader<'_> {
    /// Reads the complete `files` not committed yet and commits their results; tells `tree`
    /// which are done. An error when the state store failed: the files not committed are
    /// read again after the next rescan.
    fn read(
        &self,
        files: Vec<Complete>,
        tree: &mut Tree,
        workers: &mut [Worker],
    ) -> anyhow::Result<()> {
        let round = self.daemon.round(self.evaluator);
        let count = files.len();
        let inputs = files
            .iter()
            .map(|file| Input::File {
                path: file.path.clone(),
                size: file.version.size,
            })
            .collect();
        let mut versions: HashMap<PathBuf, Version> = files
            .into_iter()
            .map(|file| (file.path, file.version))
            .collect();
        let mut done = |input: &Input, tree: &mut Tree| {
            if let Input::File { path, .. } = input {
                if let Some(version) = versions.remove(path) {
                    tree.done(Complete {
                        path: path.clone(),
                        version,
                    });
                }
            }
        };
        let split = match skip_committed(self.daemon.store.as_ref(), inputs) {
            Ok(split) => split,
            Err(err) => {
                round.failed();
                return Err(err);
            }
        };
        for input in &split.committed {
            done(input, tree);
        }

        let counters = Counters::default();
        let mut collector = StoreCollector::new(
            self.daemon.store.as_ref(),
            Some(self.evaluator.rules()),
            &self.daemon.outputs,
            &self.daemon.errors,
            split.objects,
        )
        .with_lake(self.daemon.lake.as_ref());
        let shutdown = &self.daemon.shutdown;
        let mut fed = 0;
        let inputs = split
            .inputs
            .iter()
            .take_while(|_| !shutdown.is_requested())
            .inspect(|_| fed += 1)
            .cloned();
        pipeline::run(
            inputs,
            self.config,
            self.dedup,
            Some(self.evaluator),
            workers,
            &counters,
            &mut collector,
        );
        for &position in &collector.finished {
            done(&split.inputs[position], tree);
        }
        if let Some(failure) = collector.failure {
            round.failed();
            return Err(failure);
        }
        let tally = collector.tally;
        round.succeeded(&counters, &tally);
        tracing::info!(
            dir = %self.root.display(),
            files = count,
            already_committed = split.committed.len() as u64 + tally.already_committed,
            files_ok = tally.objects_ok,
            files_partial = tally.objects_partial,
            files_failed = tally.objects_failed,
            events = tally.events,
            malformed = Counters::get(&counters.malformed),
            matches = tally.matches,
            alerts = tally.alerts,
            settling = tree.pending(),
            complete = fed == split.inputs.len(),
            seconds = round.started().elapsed().as_secs_f64(),
            "batch finished"
        );
        Ok(())
    }
}
