//! What the daemons (`iota s3-poll`, `iota watch`) share around their own work, which comes in
//! rounds (a poll of a bucket, a batch of files that landed):
//!
//! - [`Daemon::open`]: the SIGTERM/SIGINT handlers, the outputs, the rule-error report and the
//!   state store, so that a configuration mistake is reported before anything starts;
//! - [`Daemon::serve`]: the HTTP endpoint (`/healthz`, `/readyz` with the state store's check
//!   besides the source's, `/metrics`); not started with `--once`;
//! - [`Daemon::round`]: the metrics of one round ([`Round`]);
//! - [`Daemon::idle_until`]: the wait between rounds;
//! - the deliveries: a thread of their own sends what the outbox holds after each round and
//!   every few seconds, so that a slow or hung receiver never holds up the reading of logs
//!   (each attempt is bounded by its output's timeout, and an output that fails is not tried
//!   again before the next pass); with `--once`, [`Daemon::finish`] sends them all at the end;
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

use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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

/// How often deliveries that came due are sent besides after each round.
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
    pub outputs: Arc<[Box<dyn AlertOutput>]>,
    pub errors: ErrorReport,
    once: bool,
    alert_retention: Duration,
    listen: SocketAddr,
    shutdown_timeout: Duration,
    /// `None` with `--once`.
    deliveries: Option<BackgroundDeliveries>,
}

impl Daemon {
    pub fn open(settings: &DaemonSettings<'_>) -> anyhow::Result<Daemon> {
        let shutdown = Shutdown::install()?;
        let outputs = open_outputs(settings.engine.config.as_deref(), &settings.engine.outputs)?;
        let errors = ErrorReport::new(settings.engine.errors_out.as_deref())?;
        let store: Arc<dyn StateStore> = Arc::from(state_store::open(
            &settings.daemon.state,
            IfMissing::Create,
        )?);
        let outputs: Arc<[Box<dyn AlertOutput>]> = outputs.into();
        let deliveries = (!settings.once)
            .then(|| BackgroundDeliveries::start(Arc::clone(&store), Arc::clone(&outputs)));
        Ok(Daemon {
            shutdown,
            store,
            outputs,
            errors,
            once: settings.once,
            alert_retention: settings.daemon.alert_retention,
            listen: settings.daemon.ops.listen,
            shutdown_timeout: settings.daemon.ops.shutdown_timeout,
            deliveries,
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

    /// Waits until `until` (the deliveries go on meanwhile). `wait(timeout)` blocks for at
    /// most `timeout` and returns true when something needs the daemon before `until`: a
    /// shutdown request (which always ends the wait), or new work.
    pub fn idle_until(&self, until: Instant, wait: &dyn Fn(Duration) -> bool) {
        while !self.shutdown.is_requested() {
            let now = Instant::now();
            if now >= until || wait(until - now) {
                return;
            }
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
        // The attempt in flight is bounded by its output's timeout.
        if let Some(deliveries) = &self.deliveries {
            deliveries.stop();
        }
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
        if let Some(deliveries) = &self.daemon.deliveries {
            deliveries.wake();
        }
    }
}

/// The thread that sends the outbox's due deliveries: when woken (after a round), and every
/// [`DELIVERY_TICK`].
struct BackgroundDeliveries {
    signal: Arc<(Mutex<DeliverySignal>, Condvar)>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Default)]
struct DeliverySignal {
    wake: bool,
    stop: bool,
}

impl BackgroundDeliveries {
    fn start(store: Arc<dyn StateStore>, outputs: Arc<[Box<dyn AlertOutput>]>) -> Self {
        let signal = Arc::new((Mutex::new(DeliverySignal::default()), Condvar::new()));
        let waiting = Arc::clone(&signal);
        let thread = std::thread::Builder::new()
            .name("deliveries".into())
            .spawn(move || loop {
                {
                    let (lock, condvar) = &*waiting;
                    let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
                    let (mut guard, _) = condvar
                        .wait_timeout_while(guard, DELIVERY_TICK, |s| !s.wake && !s.stop)
                        .unwrap_or_else(|e| e.into_inner());
                    if guard.stop {
                        return;
                    }
                    guard.wake = false;
                }
                send_due(store.as_ref(), &outputs);
            })
            .expect("spawn the delivery thread");
        BackgroundDeliveries {
            signal,
            thread: Mutex::new(Some(thread)),
        }
    }

    /// Sends the deliveries due now, without waiting for the tick.
    fn wake(&self) {
        self.signal(|s| s.wake = true);
    }

    /// Ends the thread once its current pass is over.
    fn stop(&self) {
        self.signal(|s| s.stop = true);
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    fn signal(&self, change: impl FnOnce(&mut DeliverySignal)) {
        let (lock, condvar) = &*self.signal;
        change(&mut lock.lock().unwrap_or_else(|e| e.into_inner()));
        condvar.notify_one();
    }
}

/// Sends the deliveries due now; a failure is reported and retried at the next pass.
fn send_due(store: &dyn StateStore, outputs: &[Box<dyn AlertOutput>]) {
    let deliverer = Deliverer::new(store, outputs, DAEMON_MAX_BACKOFF);
    match deliverer.send_due() {
        Ok(report) => log_deliveries(&report),
        Err(err) => tracing::error!("cannot deliver alerts: {err:#}"),
    }
    // What is still waiting, for iota_outbox_pending: retries not due yet, or deliveries to an
    // output that is down.
    match store.outbox_status() {
        Ok(status) => {
            iota_ops::metrics::set_outbox_pending(status.iter().map(|s| s.pending).sum());
        }
        Err(err) => tracing::warn!("cannot read the outbox: {err}"),
    }
}
