//! File-system notifications about the watched tree (inotify on Linux, FSEvents on macOS,
//! through the `notify` crate), gathered for the daemon's loop.
//!
//! The watcher's thread only records which paths changed, in a set, and wakes the loop: a
//! file written in a thousand small writes is one entry, so memory stays bounded by the
//! number of distinct paths however busy the writers are, and the loop looks at each path
//! once per wake. Notifications are hints: the loop checks each path on disk, and rescans
//! the whole tree when the watcher says it lost some (a full kernel queue) or failed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use notify::event::ModifyKind;
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use iota_ops::Shutdown;

/// What the notifications reported since the loop last looked.
#[derive(Debug, Default)]
pub struct Noticed {
    /// Paths reported, true for those that appeared (created or moved in): a directory that
    /// appeared is listed, since its files may predate its watch.
    pub paths: HashMap<PathBuf, bool>,
    /// Notifications were lost: the whole tree must be listed again.
    pub rescan: bool,
}

impl Noticed {
    fn is_empty(&self) -> bool {
        self.paths.is_empty() && !self.rescan
    }
}

/// Notifications shared between the watcher's thread and the daemon's loop.
#[derive(Default)]
pub struct Notices {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    noticed: Noticed,
    /// A shutdown was requested: every wait ends at once.
    interrupted: bool,
}

impl Notices {
    /// Starts following `root` recursively, and ends [`Notices::wait`] when `shutdown` is
    /// requested. The notifications last as long as the returned watcher. Without one (the
    /// platform's limit on watches reached, a file system without notifications), a warning
    /// says that only the rescans find new files.
    pub fn follow(
        root: &Path,
        rescan_interval: Duration,
        shutdown: &Shutdown,
    ) -> (Arc<Notices>, Option<RecommendedWatcher>) {
        let notices = Arc::new(Notices::default());
        let interrupted = Arc::clone(&notices);
        let shutdown = shutdown.clone();
        std::thread::Builder::new()
            .name("watch-shutdown".into())
            .spawn(move || {
                shutdown.wait();
                interrupted.lock().interrupted = true;
                interrupted.changed.notify_all();
            })
            .expect("spawn the shutdown thread");
        let handler = Arc::clone(&notices);
        let watcher = notify::recommended_watcher(move |event| handler.record(event)).and_then(
            |mut watcher| {
                watcher.watch(root, RecursiveMode::Recursive)?;
                Ok(watcher)
            },
        );
        let watcher = match watcher {
            Ok(watcher) => Some(watcher),
            Err(err) => {
                warn_without_notifications(root, rescan_interval, &err);
                None
            }
        };
        (notices, watcher)
    }

    /// Waits at most `timeout` for a notification or a shutdown request; true if one came.
    pub fn wait(&self, timeout: Duration) -> bool {
        let (state, _) = self
            .changed
            .wait_timeout_while(self.lock(), timeout, |s| {
                s.noticed.is_empty() && !s.interrupted
            })
            .unwrap_or_else(PoisonError::into_inner);
        !state.noticed.is_empty() || state.interrupted
    }

    /// What was noticed since the last call.
    pub fn take(&self) -> Noticed {
        std::mem::take(&mut self.lock().noticed)
    }

    fn record(&self, event: notify::Result<Event>) {
        let event = match event {
            Ok(event) => event,
            Err(err) => {
                tracing::warn!(
                    "file-system notifications failed: {err}; listing the whole directory again"
                );
                self.lock().noticed.rescan = true;
                self.changed.notify_all();
                return;
            }
        };
        let appeared = match event.kind {
            // Opening and closing files (our own reads among them) change nothing.
            EventKind::Access(_) if !event.need_rescan() => return,
            EventKind::Create(_)
            | EventKind::Modify(ModifyKind::Name(_))
            | EventKind::Any
            | EventKind::Other => true,
            _ => false,
        };
        let mut state = self.lock();
        state.noticed.rescan |= event.need_rescan();
        for path in event.paths {
            *state.noticed.paths.entry(path).or_default() |= appeared;
        }
        drop(state);
        self.changed.notify_all();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn warn_without_notifications(root: &Path, rescan_interval: Duration, err: &notify::Error) {
    let hint = if matches!(err.kind, notify::ErrorKind::MaxFilesWatch) {
        " (raise the limit: sysctl fs.inotify.max_user_watches)"
    } else {
        ""
    };
    tracing::warn!(
        dir = %root.display(),
        "cannot follow the directory with file-system notifications: {err}{hint}; new files \
         are found by the rescan every {}",
        humantime::format_duration(rescan_interval)
    );
}
