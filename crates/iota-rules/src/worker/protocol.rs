//! The worker protocol of docs/WORKER_PROTOCOL.md: length-prefixed JSON frames over two
//! pipes, read and written with a deadline so that a hung worker can never hang iota.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::filter::Condition;
use crate::metadata::{DataModel, Rule, Severity};
use crate::rule_tests::Mock;

/// Frames larger than this are a protocol error (a worker gone wrong, not a real answer).
const MAX_FRAME: usize = 1 << 30;

/// How much of a frame is allocated ahead of the bytes read.
const RECV_CHUNK: usize = 1 << 20;

/// Outcome of a pipe operation that has a deadline.
#[derive(Debug)]
pub(crate) enum PipeError {
    /// The deadline passed first.
    Timeout,
    /// The other end closed (the worker exited).
    Closed,
    Io(io::Error),
    Protocol(String),
}

/// iota's two ends of the protocol pipes, non-blocking so every wait goes through `poll`.
pub(crate) struct Pipes {
    to_worker: OwnedFd,
    from_worker: OwnedFd,
}

impl Pipes {
    pub(crate) fn new(to_worker: OwnedFd, from_worker: OwnedFd) -> io::Result<Self> {
        set_nonblocking(&to_worker)?;
        set_nonblocking(&from_worker)?;
        Ok(Pipes {
            to_worker,
            from_worker,
        })
    }

    pub(crate) fn send(&self, payload: &[u8], deadline: Instant) -> Result<(), PipeError> {
        let len = u32::try_from(payload.len())
            .ok()
            .filter(|&n| (n as usize) <= MAX_FRAME)
            .ok_or_else(|| PipeError::Protocol(format!("frame of {} bytes", payload.len())))?;
        self.write_all(&len.to_le_bytes(), deadline)?;
        self.write_all(payload, deadline)
    }

    pub(crate) fn recv(&self, deadline: Instant) -> Result<Vec<u8>, PipeError> {
        let mut header = [0u8; 4];
        self.read_exact(&mut header, deadline)?;
        let len = u32::from_le_bytes(header) as usize;
        if len > MAX_FRAME {
            return Err(PipeError::Protocol(format!(
                "frame of {len} bytes announced"
            )));
        }
        // The length is the worker's word: memory grows with the bytes that really arrive,
        // not with what was announced.
        let mut payload = Vec::new();
        while payload.len() < len {
            let filled = payload.len();
            payload.resize(filled + (len - filled).min(RECV_CHUNK), 0);
            self.read_exact(&mut payload[filled..], deadline)?;
        }
        Ok(payload)
    }

    /// Returns once the worker has written something (or closed its end), or at `deadline`
    /// with [`PipeError::Timeout`]; reads nothing.
    pub(crate) fn wait_readable(&self, deadline: Instant) -> Result<(), PipeError> {
        wait(&self.from_worker, libc::POLLIN, deadline)
    }

    fn write_all(&self, mut buf: &[u8], deadline: Instant) -> Result<(), PipeError> {
        while !buf.is_empty() {
            wait(&self.to_worker, libc::POLLOUT, deadline)?;
            // SAFETY: valid fd and buffer for the duration of the call.
            let n =
                unsafe { libc::write(self.to_worker.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
            if n < 0 {
                let err = io::Error::last_os_error();
                match err.kind() {
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::BrokenPipe => return Err(PipeError::Closed),
                    _ => return Err(PipeError::Io(err)),
                }
            }
            buf = &buf[n as usize..];
        }
        Ok(())
    }

    fn read_exact(&self, mut buf: &mut [u8], deadline: Instant) -> Result<(), PipeError> {
        while !buf.is_empty() {
            wait(&self.from_worker, libc::POLLIN, deadline)?;
            // SAFETY: valid fd and buffer for the duration of the call.
            let n = unsafe {
                libc::read(
                    self.from_worker.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            if n < 0 {
                let err = io::Error::last_os_error();
                match err.kind() {
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => continue,
                    _ => return Err(PipeError::Io(err)),
                }
            }
            if n == 0 {
                return Err(PipeError::Closed);
            }
            buf = &mut buf[n as usize..];
        }
        Ok(())
    }
}

fn wait(fd: &impl AsFd, events: libc::c_short, deadline: Instant) -> Result<(), PipeError> {
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(PipeError::Timeout);
        }
        let mut pfd = libc::pollfd {
            fd: fd.as_fd().as_raw_fd(),
            events,
            revents: 0,
        };
        let timeout_ms = remaining.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(PipeError::Io(err));
        }
        if n > 0 {
            // POLLHUP/POLLERR: let the read or write report what happened.
            return Ok(());
        }
    }
}

fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    // SAFETY: fcntl on a valid fd.
    unsafe {
        let flags = libc::fcntl(raw, libc::F_GETFL);
        if flags < 0 || libc::fcntl(raw, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[derive(Serialize)]
pub(crate) struct InitMessage<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `remote`: the caching helpers ask iota (`state` frames).
    pub state: &'static str,
    pub paths: &'a [std::path::PathBuf],
    pub max_string_length: usize,
    /// Describe each alert window once per worker life, not once per batch.
    pub describe_once: bool,
    pub rules: Vec<InitRule<'a>>,
    pub data_models: &'a [DataModel],
}

/// A rule as `init` describes it: its metadata, and whether it declares its own prefilter
/// (the worker infers one only for those that do not).
#[derive(Serialize)]
pub(crate) struct InitRule<'a> {
    #[serde(flatten)]
    pub rule: &'a Rule,
    pub declared_filter: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReadyMessage {
    pub python: String,
    pub json: String,
    #[serde(default)]
    pub import_errors: Vec<ImportError>,
    #[serde(default)]
    pub data_model_errors: Vec<DataModelError>,
    /// Prefilters proven from rules' source, by rule index (as a string).
    #[serde(default)]
    pub inferred_filters: std::collections::HashMap<String, Condition>,
}

/// A data model file or mapping that could not be loaded; its other mappings still work.
#[derive(Clone, Debug, Deserialize)]
pub struct DataModelError {
    pub id: String,
    pub error: String,
    #[serde(default)]
    pub traceback: Option<String>,
}

/// A rule whose module could not be imported; it is never called.
#[derive(Clone, Debug, Deserialize)]
pub struct ImportError {
    #[serde(rename = "index")]
    pub rule: usize,
    pub error: String,
    #[serde(default)]
    pub traceback: Option<String>,
}

/// `rule()` returned true for an event: what groups the match into an alert, and, for the
/// earliest match of its (rule, dedup string, window) in the batch, what the alert shows.
#[derive(Clone, Debug, Deserialize)]
pub struct Match {
    /// Index of the event in the batch.
    pub event: usize,
    pub rule: usize,
    pub dedup: String,
    #[serde(default)]
    pub unique: Option<String>,
    /// Only for the earliest match of each (rule, dedup string, window) in the batch (by
    /// event time, then event id): the match an alert of that window can show. The other
    /// matches only count.
    #[serde(default)]
    pub details: Option<MatchDetails>,
}

/// The results of `title()`, `severity()`, `alert_context()` and the other functions that
/// describe an alert, defaults applied.
#[derive(Clone, Debug, Deserialize)]
pub struct MatchDetails {
    pub title: String,
    pub severity: Severity,
    #[serde(default)]
    pub alert_context: Option<serde_json::Value>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub runbook: Option<String>,
    #[serde(default)]
    pub destinations: Option<Vec<String>>,
}

impl Match {
    /// The match's details, or, for a match the worker did not describe (never the earliest
    /// of its window), the rule's defaults.
    pub fn details_or_default(&self, rule: &Rule) -> std::borrow::Cow<'_, MatchDetails> {
        match &self.details {
            Some(details) => std::borrow::Cow::Borrowed(details),
            None => std::borrow::Cow::Owned(MatchDetails {
                title: rule.default_title().to_owned(),
                severity: rule.severity,
                alert_context: None,
                description: None,
                reference: None,
                runbook: None,
                destinations: None,
            }),
        }
    }
}

/// A rule function that raised, returned the wrong type, or took its worker down.
#[derive(Clone, Debug, Deserialize)]
pub struct RuleFailure {
    /// Index of the event in the batch; `None` for failures not tied to one event.
    #[serde(default)]
    pub event: Option<usize>,
    /// `None` when the event itself could not be handled by any rule.
    #[serde(default)]
    pub rule: Option<usize>,
    pub function: String,
    pub error: String,
    #[serde(default)]
    pub traceback: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ResultsMessage {
    pub id: u64,
    #[serde(default)]
    pub matches: Vec<Match>,
    #[serde(default)]
    pub errors: Vec<RuleFailure>,
}

impl ResultsMessage {
    /// Reads the answer to batch `batch_id` of `events` events evaluated with a rule set of
    /// `rules` rules. The answer comes from a process that runs rule code, which can write
    /// to the protocol pipe itself: an index outside the batch or the rule set is refused
    /// here, like unreadable JSON, so it can never be used to index the batch.
    pub(crate) fn read(
        payload: &[u8],
        batch_id: u64,
        events: usize,
        rules: usize,
    ) -> Result<ResultsMessage, String> {
        let message = serde_json::from_slice::<ResultsMessage>(payload)
            .map_err(|err| format!("unreadable worker answer: {err}"))?;
        if message.id != batch_id {
            return Err(format!(
                "worker answered batch {} instead of {batch_id}",
                message.id
            ));
        }
        let outside = |what: &str, index: usize, bound: usize| {
            Err(format!(
                "worker answer names {what} {index}, but the batch has {bound}"
            ))
        };
        for m in &message.matches {
            if m.event >= events {
                return outside("event", m.event, events);
            }
            if m.rule >= rules {
                return outside("rule", m.rule, rules);
            }
        }
        for e in &message.errors {
            match (e.event, e.rule) {
                (Some(event), _) if event >= events => return outside("event", event, events),
                (_, Some(rule)) if rule >= rules => return outside("rule", rule, rules),
                _ => {}
            }
        }
        Ok(message)
    }
}

#[derive(Serialize)]
pub(crate) struct TestMessage<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: u64,
    pub rule: usize,
    pub cases: [TestCaseMessage<'a>; 1],
}

#[derive(Serialize)]
pub(crate) struct TestCaseMessage<'a> {
    pub name: &'a str,
    pub expected: bool,
    pub event: &'a serde_json::value::RawValue,
    pub mocks: &'a [Mock],
}

#[derive(Deserialize)]
pub(crate) struct TestResultsMessage {
    pub id: u64,
    #[serde(default)]
    pub cases: Vec<CaseResult>,
}

/// The outcome of one rule test case, as `iota rules test --json` prints it.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct CaseResult {
    pub name: String,
    pub expected: bool,
    /// What `rule()` returned; `None` when it raised (or never ran).
    pub matched: Option<bool>,
    pub passed: bool,
    pub error: Option<String>,
    pub traceback: Option<String>,
    pub title: Option<String>,
    pub dedup: Option<String>,
    pub severity: Option<Severity>,
    pub alert_context: Option<serde_json::Value>,
}

impl CaseResult {
    pub(crate) fn failed(test: &crate::rule_tests::RuleTest, error: String) -> Self {
        CaseResult {
            name: test.name.clone(),
            expected: test.expected,
            matched: None,
            passed: false,
            error: Some(error),
            traceback: None,
            title: None,
            dedup: None,
            severity: None,
            alert_context: None,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct InspectionMessage {
    pub rules: std::collections::HashMap<String, Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::ResultsMessage;

    /// Batch 7: 2 events, a rule set of 3 rules.
    fn read(answer: &str) -> Result<ResultsMessage, String> {
        ResultsMessage::read(answer.as_bytes(), 7, 2, 3)
    }

    #[test]
    fn an_answer_within_its_batch_is_read() {
        let message = read(
            r#"{"type":"results","id":7,
                "matches":[{"event":1,"rule":2,"dedup":"d"}],
                "errors":[{"event":0,"rule":null,"function":"event","error":"e"},
                          {"event":null,"rule":2,"function":"rule","error":"e"}]}"#,
        )
        .unwrap();
        assert_eq!((message.matches[0].event, message.matches[0].rule), (1, 2));
        assert_eq!(message.errors.len(), 2);
    }

    /// A rule can write to the protocol pipe itself: an answer naming an event or a rule
    /// outside the batch is refused (it used to index the batch and panic).
    #[test]
    fn an_answer_naming_events_or_rules_outside_the_batch_is_refused() {
        for (answer, named) in [
            (
                r#"{"id":7,"matches":[{"event":2,"rule":0,"dedup":"d"}]}"#,
                "event 2",
            ),
            (
                r#"{"id":7,"matches":[{"event":0,"rule":3,"dedup":"d"}]}"#,
                "rule 3",
            ),
            (
                r#"{"id":7,"errors":[{"event":9,"function":"rule","error":"e"}]}"#,
                "event 9",
            ),
            (
                r#"{"id":7,"errors":[{"rule":4,"function":"rule","error":"e"}]}"#,
                "rule 4",
            ),
        ] {
            let error = read(answer).unwrap_err();
            assert!(error.contains(named), "{answer}: {error}");
        }
        assert!(read(r#"{"id":8}"#)
            .unwrap_err()
            .contains("batch 8 instead of 7"));
        assert!(read("[")
            .unwrap_err()
            .starts_with("unreadable worker answer"));
    }
}
