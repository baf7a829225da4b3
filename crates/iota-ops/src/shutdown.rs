//! Graceful shutdown (SPEC 7): SIGTERM and SIGINT request it, daemon loops notice it between
//! units of work or while sleeping, and a [`Deadline`] bounds how long they may take to
//! finish or release in-flight work and flush the outbox.
//!
//! Signals are received on a dedicated thread (signal-hook's self-pipe), so they are noticed
//! whatever the main thread is blocked in. The first signal requests shutdown; a second one,
//! while shutting down, exits the process at once with status [`SECOND_SIGNAL_EXIT_CODE`]
//! (130, the shell's convention for an interrupted program), for an operator who does not
//! want to wait.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::OpsError;

/// Exit status of the process when a second SIGTERM/SIGINT arrives while shutting down.
pub const SECOND_SIGNAL_EXIT_CODE: i32 = 130;

/// A shutdown request shared by every thread of a daemon. Cloning is cheap; every clone sees
/// the same request.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// When shutdown was first requested; `None` while running.
    requested_at: Mutex<Option<Instant>>,
    requested: Condvar,
}

/// What the signal thread does with a SIGTERM/SIGINT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignalAction {
    /// The first signal: shutdown is now requested, the daemon winds down by itself.
    ShutDown,
    /// A signal while already shutting down: exit the process with this status now.
    Exit(i32),
}

impl Shutdown {
    /// A shutdown that only [`request`](Self::request) triggers, for tests and for code that
    /// stops on its own conditions. Daemons use [`install`](Self::install).
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the SIGTERM and SIGINT handlers and starts the thread that turns them into
    /// shutdown requests (see the module documentation for the second signal). Call it once,
    /// early in `main`, and clone the result.
    pub fn install() -> Result<Self, OpsError> {
        let mut signals = Signals::new([SIGTERM, SIGINT]).map_err(OpsError::Signals)?;
        let shutdown = Self::new();
        let on_signal = shutdown.clone();
        std::thread::Builder::new()
            .name("iota-signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    let name = signal_hook::low_level::signal_name(signal).unwrap_or("signal");
                    match on_signal.on_signal() {
                        SignalAction::ShutDown => tracing::warn!(
                            "{name} received: shutting down (send it again to exit at once)"
                        ),
                        SignalAction::Exit(code) => {
                            tracing::error!("{name} received while shutting down: exiting at once");
                            std::process::exit(code);
                        }
                    }
                }
            })
            .map_err(OpsError::Signals)?;
        Ok(shutdown)
    }

    /// Decides what a SIGTERM/SIGINT does: the first requests shutdown, any later one asks
    /// for an immediate exit with [`SECOND_SIGNAL_EXIT_CODE`].
    fn on_signal(&self) -> SignalAction {
        if self.request_first() {
            SignalAction::ShutDown
        } else {
            SignalAction::Exit(SECOND_SIGNAL_EXIT_CODE)
        }
    }

    /// Requests shutdown and wakes every thread in [`sleep`](Self::sleep) or
    /// [`wait`](Self::wait). Later requests change nothing.
    pub fn request(&self) {
        self.request_first();
    }

    /// Requests shutdown; true if this was the first request.
    fn request_first(&self) -> bool {
        let mut requested_at = self.lock();
        if requested_at.is_some() {
            return false;
        }
        *requested_at = Some(Instant::now());
        self.inner.requested.notify_all();
        true
    }

    /// Whether shutdown was requested.
    pub fn is_requested(&self) -> bool {
        self.lock().is_some()
    }

    /// Sleeps for `duration` or until shutdown is requested, whichever comes first; true if
    /// shutdown was requested (then it returns at once, without sleeping).
    pub fn sleep(&self, duration: Duration) -> bool {
        let (requested_at, _) = self
            .inner
            .requested
            .wait_timeout_while(self.lock(), duration, |at| at.is_none())
            .unwrap_or_else(PoisonError::into_inner);
        requested_at.is_some()
    }

    /// Blocks until shutdown is requested.
    pub fn wait(&self) {
        let _requested = self
            .inner
            .requested
            .wait_while(self.lock(), |at| at.is_none())
            .unwrap_or_else(PoisonError::into_inner);
    }

    /// The time by which the daemon should be gone: `timeout` (from `--shutdown-timeout`)
    /// after shutdown was requested, so the time taken to notice the request counts too.
    /// Before any request it counts from now.
    pub fn deadline(&self, timeout: Duration) -> Deadline {
        let start = self.lock().unwrap_or_else(Instant::now);
        Deadline {
            at: start + timeout,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Instant>> {
        self.inner
            .requested_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A point in time by which shutdown work must be done; see [`Shutdown::deadline`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
}

impl Deadline {
    /// The instant itself.
    pub fn at(&self) -> Instant {
        self.at
    }

    /// Time left, zero once expired: the budget to hand to a flush or a join.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Whether the deadline has passed.
    pub fn is_expired(&self) -> bool {
        Instant::now() >= self.at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_signal_shuts_down_and_the_second_exits_with_130() {
        let shutdown = Shutdown::new();
        assert_eq!(shutdown.on_signal(), SignalAction::ShutDown);
        assert!(shutdown.is_requested());
        assert_eq!(shutdown.on_signal(), SignalAction::Exit(130));
        assert_eq!(shutdown.on_signal(), SignalAction::Exit(130));
    }

    #[test]
    fn a_signal_after_an_internal_request_exits() {
        let shutdown = Shutdown::new();
        shutdown.request();
        assert_eq!(shutdown.on_signal(), SignalAction::Exit(130));
    }

    #[test]
    fn clones_share_the_request() {
        let shutdown = Shutdown::new();
        let clone = shutdown.clone();
        assert!(!clone.is_requested());
        shutdown.request();
        assert!(clone.is_requested());
    }

    #[test]
    fn sleep_runs_its_course_without_a_request() {
        let shutdown = Shutdown::new();
        let started = Instant::now();
        assert!(!shutdown.sleep(Duration::from_millis(50)));
        assert!(started.elapsed() >= Duration::from_millis(50));
    }

    #[test]
    fn sleep_returns_at_once_after_a_request() {
        let shutdown = Shutdown::new();
        shutdown.request();
        let started = Instant::now();
        assert!(shutdown.sleep(Duration::from_secs(60)));
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn the_deadline_counts_from_the_request() {
        let shutdown = Shutdown::new();
        shutdown.request();
        let requested_at = shutdown.lock().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let deadline = shutdown.deadline(Duration::from_secs(30));
        assert_eq!(deadline.at(), requested_at + Duration::from_secs(30));
        assert!(deadline.remaining() <= Duration::from_millis(29_980));
        assert!(!deadline.is_expired());
    }

    #[test]
    fn an_expired_deadline_has_nothing_left() {
        let shutdown = Shutdown::new();
        shutdown.request();
        let deadline = shutdown.deadline(Duration::ZERO);
        assert!(deadline.is_expired());
        assert_eq!(deadline.remaining(), Duration::ZERO);
    }
}
