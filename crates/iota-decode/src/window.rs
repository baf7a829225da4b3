//! The sliding read buffer: holds the record in progress plus one chunk of fresh input, so
//! memory stays near `max_event_bytes + CHUNK` whatever the input size.

use std::io::{self, Read};

/// Bytes asked of the reader per refill.
pub(crate) const CHUNK: usize = 256 * 1024;

pub(crate) struct Window {
    buf: Vec<u8>,
    end: usize,
    /// Offset in the decompressed stream of `buf[0]`.
    base: u64,
}

impl Window {
    pub(crate) fn new() -> Self {
        Self {
            buf: Vec::new(),
            end: 0,
            base: 0,
        }
    }

    /// The bytes read and not yet dropped.
    pub(crate) fn filled(&self) -> &[u8] {
        &self.buf[..self.end]
    }

    /// Offset in the decompressed stream of `filled()[0]`.
    pub(crate) fn base(&self) -> u64 {
        self.base
    }

    /// Drops the first `n` filled bytes.
    pub(crate) fn consume(&mut self, n: usize) {
        if n > 0 {
            self.buf.copy_within(n..self.end, 0);
            self.end -= n;
            self.base += n as u64;
        }
    }

    /// Reads once (so that a slow stream such as a pipe yields its events as soon as they
    /// arrive), with room for at least one chunk. Returns the number of bytes read; 0 means
    /// end of input.
    pub(crate) fn refill(&mut self, reader: &mut impl Read) -> io::Result<usize> {
        let want = self.end + CHUNK;
        if self.buf.len() < want {
            // A chunk at a time: growing to exactly `want` would copy the whole buffer again
            // on every short read of a long record (a pipe), doubling would overshoot the
            // memory bound by up to 2x.
            let len = want.next_multiple_of(CHUNK);
            self.buf.reserve_exact(len - self.buf.len());
            self.buf.resize(len, 0);
        }
        loop {
            match reader.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}
