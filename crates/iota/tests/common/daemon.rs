//! Running the daemons (`iota s3-poll`, `iota watch`, `iota sqs`) in tests: a daemon in the
//! background whose log records are collected ([`Running`]), a free port for `--listen`, a
//! plain HTTP GET of their endpoints, a webhook output config, waiting for them to exit.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::receiver::Receiver;

/// All a finished child wrote on its piped stderr.
pub fn finished_stderr(child: &mut Child) -> String {
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    stderr
}

/// A loopback address with a free port, for `--listen` (which must be known to the test, so
/// port 0 will not do).
pub fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

/// GETs `path` from `addr`: the status and the body.
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The status of GET `path`, or `None` while nothing listens on `addr`.
pub fn http_get_status(addr: &str, path: &str) -> Option<u16> {
    std::net::TcpStream::connect(addr).ok()?;
    Some(http_get(addr, path).0)
}

/// Writes the iota config with a webhook output to `receiver`.
pub fn webhook_config(dir: &Path, receiver: &Receiver) -> PathBuf {
    let config = dir.join("iota.toml");
    std::fs::write(
        &config,
        format!(
            "[[outputs]]\nkind = \"webhook\"\ntarget = \"{}\"\ntimeout = \"1s\"\n",
            receiver.url
        ),
    )
    .unwrap();
    config
}

/// The child's exit status, or `None` if it is still running at `deadline`.
pub fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Long enough for a Python worker to start and a few retries to run on a loaded machine.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// A daemon running in the background with its endpoint on a free port; its log records are
/// collected as it writes them. Killed when dropped, so a failing test leaves none behind.
pub struct Running {
    child: Child,
    pub addr: String,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Running {
    /// Starts `command` with `--listen` on a free port and waits for the endpoint.
    pub fn start(mut command: Command) -> Running {
        let addr = free_addr();
        let mut child = command
            .args(["--listen", &addr])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let logs: Arc<Mutex<Vec<String>>> = Arc::default();
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap().push(line);
            }
        });
        let running = Running { child, addr, logs };
        running.wait_for("the HTTP endpoint", || {
            std::net::TcpStream::connect(&running.addr).is_ok()
        });
        running
    }

    pub fn stderr(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// The log records with this message.
    pub fn records(&self, message: &str) -> Vec<Value> {
        self.parsed()
            .into_iter()
            .filter(|r| r["message"] == message)
            .collect()
    }

    /// How many log records have a message containing `text`.
    pub fn logged(&self, text: &str) -> usize {
        self.parsed()
            .iter()
            .filter(|r| r["message"].as_str().is_some_and(|m| m.contains(text)))
            .count()
    }

    fn parsed(&self) -> Vec<Value> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect()
    }

    /// Polls `condition` until it holds; fails naming `what` after [`PATIENCE`].
    pub fn wait_for(&self, what: &str, mut condition: impl FnMut() -> bool) {
        let started = Instant::now();
        while !condition() {
            assert!(
                started.elapsed() < PATIENCE,
                "no {what} within {PATIENCE:?}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The value of one series of /metrics (`name` or `name{labels}`), 0 when absent.
    pub fn metric(&self, series: &str) -> f64 {
        let (status, body) = http_get(&self.addr, "/metrics");
        assert_eq!(status, 200, "{body}");
        body.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .map_or(0.0, |v| v.trim().parse().unwrap())
    }

    pub fn readyz(&self) -> (u16, String) {
        http_get(&self.addr, "/readyz")
    }

    /// Sends SIGTERM and waits for the exit: its status, how long it took, and the logs.
    pub fn stop(mut self) -> (ExitStatus, Duration, String) {
        let started = Instant::now();
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = wait_until(&mut self.child, Instant::now() + PATIENCE)
            .unwrap_or_else(|| panic!("still running after SIGTERM:\n{}", self.stderr()));
        let took = started.elapsed();
        // The collecting thread ends with the pipe; give it the last lines.
        std::thread::sleep(Duration::from_millis(200));
        (status, took, self.stderr())
    }

    /// Sends SIGTERM; the daemon must exit 0.
    pub fn stop_ok(self) {
        let (status, _, stderr) = self.stop();
        assert!(status.success(), "{status}:\n{stderr}");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
