//! Shutdown requests: waking blocked threads, and real SIGTERM/SIGINT delivered by another
//! process to a child process (this test binary re-executed with `IOTA_OPS_SIGNAL_CHILD`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use iota_ops::Shutdown;

#[test]
fn request_wakes_a_thread_sleeping_for_a_minute() {
    let shutdown = Shutdown::new();
    let (sleeping, started_sleeping) = mpsc::channel();
    let sleeper = {
        let shutdown = shutdown.clone();
        thread::spawn(move || {
            sleeping.send(()).unwrap();
            let started = Instant::now();
            (shutdown.sleep(Duration::from_secs(60)), started.elapsed())
        })
    };
    started_sleeping.recv().unwrap();
    thread::sleep(Duration::from_millis(200));
    let requested = Instant::now();
    shutdown.request();
    let (woken_by_request, slept) = sleeper.join().unwrap();
    assert!(woken_by_request);
    assert!(slept >= Duration::from_millis(150), "{slept:?}");
    assert!(
        requested.elapsed() < Duration::from_secs(2),
        "{:?}",
        requested.elapsed()
    );
}

#[test]
fn request_wakes_every_waiter() {
    let shutdown = Shutdown::new();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let shutdown = shutdown.clone();
            thread::spawn(move || shutdown.wait())
        })
        .collect();
    thread::sleep(Duration::from_millis(50));
    shutdown.request();
    for waiter in waiters {
        waiter.join().unwrap();
    }
    assert!(shutdown.is_requested());
}

const CHILD_ENV: &str = "IOTA_OPS_SIGNAL_CHILD";

/// The child's side: not a test of its own (it returns at once unless re-executed by one).
/// Installs the handlers, reports each step on stdout, and blocks in ordinary blocking calls.
#[test]
fn signal_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let shutdown = Shutdown::install().unwrap();
    println!("child: installed");
    if shutdown.sleep(Duration::from_secs(30)) {
        println!("child: shutdown requested");
    }
    // Blocked in code that knows nothing of the shutdown: only a second signal ends this early.
    thread::sleep(Duration::from_secs(30));
    println!("child: slept through");
}

struct SignalChild {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl SignalChild {
    fn spawn() -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "signal_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (send, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// Waits for the child to print `expected`, skipping the test harness's own lines (the
    /// first one is printed after the harness's "test signal_child ... ").
    fn expect_line(&self, expected: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.ends_with(expected) => return,
                Ok(_) => {}
                Err(err) => panic!("child never printed {expected:?}: {err}"),
            }
        }
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill has no memory-safety preconditions; the pid is our own child.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    /// The child's exit code, if it exits within `timeout`.
    fn exit_code_within(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for SignalChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn sigterm_requests_shutdown_while_the_main_thread_blocks() {
    let child = SignalChild::spawn();
    child.expect_line("child: installed");
    child.signal(libc::SIGTERM);
    child.expect_line("child: shutdown requested");
}

#[test]
fn a_second_signal_while_shutting_down_exits_with_130() {
    let mut child = SignalChild::spawn();
    child.expect_line("child: installed");
    child.signal(libc::SIGINT);
    child.expect_line("child: shutdown requested");
    child.signal(libc::SIGTERM);
    assert_eq!(child.exit_code_within(Duration::from_secs(10)), Some(130));
}
