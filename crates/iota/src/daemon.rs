//! What the daemons (`iota s3-poll`, `iota watch`) share around their own work, which comes in
//! rounds (a poll of a bucket, a batch of files that landed):
//!
//! - [`Daemon::open`]: the SIGTERM/SIGINT handlers, the outputs, the rule-error report and the
//!   state store, so that a configuration mistake is reported before anything starts;
//! - [`Daemon::serve`]: the HTTP endpoint (`/healthz`, `/readyz` with the state store's check
//!   besides the source's, `/metrics`); not started with `--once`;
//! - [`Daemon::round`]: the metrics of one round ([`Round`]);
//! - [`Daemon::idle_until`]: the wait between rounds, during which the deliveries that come
//!   due are sent;
//! - [`Daemon::prune`] applies `--alert-retention`;
//! - [`Daemon::finish`]: the end of the run. After a shutdown request the outbox gets what is
//!   left of `--shutdown-timeout` (the rest waits for the next run); `--once` waits for its
//!   deliveries.
//!
//! A daemon's loop:
//!
//! ```text
//! let daemon = Daemon::open(settings)?;
//! let _server = daemon.serve(Readiness::new().check("<source>", ...))?;
//! loop {
//!     let round = daemon.round(&evaluator);
//!     ... read, evaluate, commit; round.succeeded(&counters, &tally) or round.failed() ...
//!     if once || daemon.shutdown.is_requested() { break }
//!     daemon.idle_until(next_round, &|left| daemon.shutdown.sleep(left));
//! }
//! daemon.finish()
//! ```

use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use iota_lake::Lake;
use iota_ops::{OpsServer, Readiness, Shutdown};
use iota_outputs::AlertOutput;
use iota_rules::Evaluator;
use iota_state::StateStore;

use crate::cli::{DaemonArgs, EngineArgs};
use crate::committer::CommitTally;
use crate::config::open_outputs;
use crate::delivery::{Deliverer, DrainReport};
use crate::pipeline::Counters;
use crate::report::ErrorReport;
use crate::state_store::{self, IfMissing};

/// Ceiling of the wait between two attempts of one delivery.
const DAEMON_MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

/// Ceiling of the wait between two attempts of one delivery with `--once`, which waits for
/// its deliveries.
const ONCE_MAX_BACKOFF: Duration = Duration::from_secs(10);

/// How often deliveries that came due are sent while waiting for the next round.
const DELIVERY_TICK: Duration = Duration::from_secs(5);

/// The daemon-wide flags, whichever daemon has them.
pub struct DaemonSettings<'a> {
    pub daemon: &'a DaemonArgs,
    pub engine: &'a EngineArgs,
    pub once: bool,
}

/// What a daemon holds for its whole life besides its source and its rule workers.
pub struct Daemon {
    pub shutdown: Shutdown,
    pub store: Arc<dyn StateStore>,
    pub outputs: Vec<Box<dyn AlertOutput>>,
    pub errors: ErrorReport,
    /// The data lake every event is also written to (`--lake`).
    pub lake: Option<Lake>,
    once: bool,
    alert_retention: Duration,
    listen: SocketAddr,
    shutdown_timeout: Duration,
    /// When [`Daemon::idle_until`] next sends the deliveries due: at once after a round, every
    /// [`DELIVERY_TICK`] otherwise.
    next_delivery: Cell<Instant>,
}

impl Daemon {
    pub fn open(settings: &DaemonSettings<'_>) -> anyhow::Result<Daemon> {
        let shutdown = Shutdown::install()?;
        let outputs = open_outputs(settings.engine.config.as_deref(), &settings.engine.outputs)?;
        let errors = ErrorReport::new(settings.engine.errors_out.as_deref())?;
        let store = Arc::from(state_store::open(
            &settings.daemon.state,
            IfMissing::Create,
        )?);
        let lake = crate::lake::open(settings.engine)?;
        Ok(Daemon {
            shutdown,
            store,
            outputs,
            errors,
            lake,
            once: settings.once,
            alert_retention: settings.daemon.alert_retention,
            listen: settings.daemon.ops.listen,
            shutdown_timeout: settings.daemon.ops.shutdown_timeout,
            next_delivery: Cell::new(Instant::now()),
        })
    }

    /// Starts the HTTP endpoint on `--listen`, ready when the state store and the checks of
    /// `source` (the daemon's source: a bucket, a directory) pass. `None` with `--once`, which
    /// is over before anyone would scrape it.
    pub fn serve(&self, source: Readiness) -> anyhow::Result<Option<OpsServer>> {
        if self.once {
            return Ok(None);
        }
        let store = Arc::clone(&self.store);
        let readiness = source.check("state store", move || {
            store.ping().map_err(|e| e.to_string())
        });
        Ok(Some(OpsServer::start(self.listen, readiness)?))
    }

    /// The start of a round of work evaluated by `evaluator`'s workers.
    pub fn round<'a>(&'a self, evaluator: &'a Evaluator) -> Round<'a> {
        Round {
            daemon: self,
            evaluator,
            started: Instant::now(),
            restarts: evaluator.restarts(),
        }
    }

    /// Waits until `until`, sending the deliveries that come due (those due now first, at
    /// once after a round). `wait(timeout)` blocks for at most `timeout` and returns true when
    /// something needs the daemon before `until`: a shutdown request (which always ends the
    /// wait), or new work.
    pub fn idle_until(&self, until: Instant, wait: &dyn Fn(Duration) -> bool) {
        while !self.shutdown.is_requested() {
            if Instant::now() >= self.next_delivery.get() {
                self.send_due();
                self.next_delivery.set(Instant::now() + DELIVERY_TICK);
            }
            let now = Instant::now();
            if now >= until {
                return;
            }
            let nap = until.min(self.next_delivery.get()) - now;
            if wait(nap) {
                return;
            }
        }
    }

    /// Sends the deliveries due now; a failure is reported and retried at the next round.
    fn send_due(&self) {
        let deliverer = Deliverer::new(self.store.as_ref(), &self.outputs, DAEMON_MAX_BACKOFF);
        match deliverer.send_due() {
            Ok(report) => log_deliveries(&report),
            Err(err) => tracing::error!("cannot deliver alerts: {err:#}"),
        }
        // What is still waiting, for iota_outbox_pending: retries not due yet, or deliveries to
        // an output that is down.
        match self.store.outbox_status() {
            Ok(status) => {
                iota_ops::metrics::set_outbox_pending(status.iter().map(|s| s.pending).sum());
            }
            Err(err) => tracing::warn!("cannot read the outbox: {err}"),
        }
    }

    /// Applies `--alert-retention`; a failure is reported and does not stop the daemon.
    pub fn prune(&self) {
        state_store::prune(self.store.as_ref(), self.alert_retention);
    }

    /// Sends what the outbox holds before the process exits: after a shutdown request, the
    /// deliveries due within what is left of `--shutdown-timeout` (the rest stays in the
    /// outbox for the next run); with `--once`, every delivery, waiting for retries. An error
    /// only when the state store cannot be used with `--once`.
    pub fn finish(&self) -> anyhow::Result<()> {
        if self.shutdown.is_requested() {
            let deadline = self.shutdown.deadline(self.shutdown_timeout);
            tracing::info!("shutting down: sending due alerts");
            let deliverer = Deliverer::new(self.store.as_ref(), &self.outputs, DAEMON_MAX_BACKOFF);
            match deliverer.send_due_until(deadline.at()) {
                Ok(report) => log_deliveries(&report),
                Err(err) => tracing::error!("cannot deliver alerts: {err:#}"),
            }
        } else if self.once {
            let report =
                Deliverer::new(self.store.as_ref(), &self.outputs, ONCE_MAX_BACKOFF).drain()?;
            log_deliveries(&report);
        }
        Ok(())
    }
}

fn log_deliveries(report: &DrainReport) {
    if report.sent + report.retried + report.failed > 0 {
        tracing::info!(
            sent = report.sent,
            retried = report.retried,
            failed = report.failed,
            "outbox delivered"
        );
    }
}

/// One round of a daemon's work, for its metrics. Whatever its end, the deliveries it queued
/// are sent as soon as the daemon idles.
pub struct Round<'a> {
    daemon: &'a Daemon,
    evaluator: &'a Evaluator,
    started: Instant,
    /// The workers' restarts before the round.
    restarts: u64,
}

impl Round<'_> {
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Records what the round read (`counters`) and committed (`tally`) in the metrics, and
    /// the round as a successful poll.
    pub fn succeeded(&self, counters: &Counters, tally: &CommitTally) {
        iota_ops::metrics::bytes_read(Counters::get(&counters.bytes));
        iota_ops::metrics::malformed_events(Counters::get(&counters.malformed));
        if let Some(newest) = tally.newest_event_time {
            iota_ops::metrics::set_processing_lag(newest);
        }
        self.end(true);
    }

    /// Records the round as a failed poll.
    pub fn failed(&self) {
        self.end(false);
    }

    fn end(&self, ok: bool) {
        for _ in self.restarts..self.evaluator.restarts() {
            iota_ops::metrics::worker_restarted();
        }
        iota_ops::metrics::poll_finished(self.started.elapsed(), ok);
        self.daemon.next_delivery.set(Instant::now());
    }
}
