//! The reading side of the worker protocol, opened to the fuzz targets in `fuzz/` (cargo
//! feature `fuzzing`, which iota itself never enables; Linux): frames are read from a real
//! pipe by the code that reads a worker's answers, and answers are checked as a batch's are.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use super::protocol::{PipeError, Pipes, ResultsMessage};
use super::{Match, RuleFailure};

/// Long enough never to pass while a fuzz input is read.
const DEADLINE: Duration = Duration::from_secs(60);

/// What the pipe is asked to hold: all a stream writes goes in before reading starts, so no
/// writer thread is needed.
pub const MAX_STREAM: usize = 1 << 20;

/// Why reading a stream of frames stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamEnd {
    /// The writing end closed (between frames, or inside one).
    Closed,
    /// A frame announced more bytes than the protocol allows.
    Protocol(String),
}

/// Reads frames from `stream` (at most [`MAX_STREAM`] bytes), written raw into a pipe as a
/// worker would write them, until the pipe closes or a protocol error stops reading.
pub fn read_frames(stream: &[u8]) -> (Vec<Vec<u8>>, StreamEnd) {
    read_from_pipe(|mut writer| writer.write_all(stream).expect("the pipe holds the stream"))
}

/// Sends each payload as one frame, as iota sends its requests, and reads the frames back
/// (at most [`MAX_STREAM`] bytes with their 4-byte headers).
pub fn round_trip(payloads: &[Vec<u8>]) -> (Vec<Vec<u8>>, StreamEnd) {
    read_from_pipe(|writer| {
        let (unused, _) = std::io::pipe().expect("pipe");
        let sender = Pipes::new(OwnedFd::from(writer), OwnedFd::from(unused)).expect("pipes");
        let deadline = Instant::now() + DEADLINE;
        for payload in payloads {
            sender.send(payload, deadline).expect("send a frame");
        }
    })
}

/// What `write` writes into a pipe, then read as frames by the worker-answer reader.
fn read_from_pipe(write: impl FnOnce(std::io::PipeWriter)) -> (Vec<Vec<u8>>, StreamEnd) {
    let (reader, writer) = std::io::pipe().expect("pipe");
    // SAFETY: fcntl on a valid fd.
    let capacity =
        unsafe { libc::fcntl(writer.as_raw_fd(), libc::F_SETPIPE_SZ, MAX_STREAM as i32) };
    assert!(
        capacity >= MAX_STREAM as i32,
        "a pipe of {MAX_STREAM} bytes (fs.pipe-max-size)"
    );
    write(writer);
    let (_, unused) = std::io::pipe().expect("pipe");
    let pipes = Pipes::new(OwnedFd::from(unused), OwnedFd::from(reader)).expect("pipes");
    let deadline = Instant::now() + DEADLINE;
    let mut frames = Vec::new();
    loop {
        match pipes.recv(deadline) {
            Ok(frame) => frames.push(frame),
            Err(PipeError::Closed) => return (frames, StreamEnd::Closed),
            Err(PipeError::Protocol(why)) => return (frames, StreamEnd::Protocol(why)),
            Err(err) => panic!("reading frames from a pipe: {err:?}"),
        }
    }
}

/// Reads `payload` as the answer to batch `batch_id` of `events` events, evaluated with a
/// rule set of `rules` rules: its matches and errors, or why it was refused.
pub fn read_results(
    payload: &[u8],
    batch_id: u64,
    events: usize,
    rules: usize,
) -> Result<(Vec<Match>, Vec<RuleFailure>), String> {
    ResultsMessage::read(payload, batch_id, events, rules).map(|m| (m.matches, m.errors))
}
