//! Decoding: turns one input byte stream (a local file, stdin, later an S3 object) into raw
//! JSON event slices, without ever holding the whole input in memory.
//!
//! Contract:
//! - gzip detected by magic bytes (1f 8b), multi-member gzip supported; otherwise plain.
//! - A UTF-8 BOM is skipped; UTF-16 input is a fatal error with a clear reason.
//! - Format by content: an object with a top-level `Records` array (key need not be first)
//!   streams its elements; other top-level objects (one per line, or concatenated,
//!   possibly pretty-printed) are events; a top-level array streams its elements. An input
//!   whose first line does not start with `{` or `[` but is text (UTF-8, no control
//!   characters) is text lines: each non-blank line is a record (without its line break),
//!   for the normalizer to classify (VPC flow, S3 server access, ALB access logs).
//! - Skipped silently (reported in stats): empty / whitespace-only input, CloudTrail digest
//!   files (`digestPublicKeyFingerprint` / `digestStartTime` keys, or `CloudTrail-Digest/` in
//!   the name), `ConfigWritabilityCheckFile` (by name).
//! - Each event (or text line) larger than `max_event_bytes` is reported as malformed (position + size) and
//!   discarded without being buffered; the stream continues.
//! - A record that is not an object, or broken structure, is reported with its position and a
//!   reason; decoding resynchronises where the format allows (next line that starts with `{`
//!   for streams of objects, next element for arrays when possible).
//! - Errors that stop the input (I/O error, corrupt/truncated gzip, UTF-16) are returned as
//!   `DecodeError` after every complete event before the failure has been delivered.
//!
//! The splitter is structural only (brackets, strings, escapes): each event's JSON is
//! validated by the normalizer, which parses it anyway.
//!
//! Layout: `input` (byte source: gzip, counting, text encoding), `window` (sliding buffer),
//! `scanner` (where one JSON value ends), `stream` (formats, malformed records,
//! resynchronisation), `skip` (files that hold no events).

mod input;
mod scanner;
mod skip;
mod stream;
mod window;

use std::fmt;
use std::io::{self, Read};

use input::Input;
use stream::Splitter;
use window::Window;

/// Tuning for [`decode`].
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// Largest event delivered; a larger record is reported as malformed and skipped.
    pub max_event_bytes: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            max_event_bytes: 1024 * 1024,
        }
    }
}

/// How the records of an input are laid out, as detected from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CloudTrail log file: `{"Records":[...]}`.
    CloudTrailRecords,
    /// Top-level objects: JSON lines, or concatenated / pretty-printed objects.
    JsonObjects,
    /// A top-level array of events.
    JsonArray,
    /// Text, one record per line.
    TextLines,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::CloudTrailRecords => "CloudTrail Records",
            Format::JsonObjects => "JSON objects",
            Format::JsonArray => "JSON array",
            Format::TextLines => "text lines",
        })
    }
}

/// Why an input produced no events without being an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// Empty or whitespace-only.
    Empty,
    /// A CloudTrail digest file (by name or content).
    CloudTrailDigest,
    /// The file CloudTrail writes to test bucket permissions (by name; not read).
    ConfigWritabilityCheck,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Skipped::Empty => "empty input",
            Skipped::CloudTrailDigest => "CloudTrail digest file",
            Skipped::ConfigWritabilityCheck => "CloudTrail ConfigWritabilityCheckFile",
        })
    }
}

/// Where a record starts in the decompressed input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// 1-based line of the record's first byte.
    pub line: u64,
    /// Offset of the record's first byte in the decompressed stream (a BOM counts).
    pub byte_offset: u64,
    /// 0-based number of the record (array element or top-level value) in this input. A
    /// report about the structure between records (missing comma, truncated array) carries
    /// the number of the record that follows it.
    pub index: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} (byte {}, record {})",
            self.line, self.byte_offset, self.index
        )
    }
}

/// A record that could not be delivered as an event, or broken structure between records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub position: Position,
    pub reason: String,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.position, self.reason)
    }
}

/// One item handed to the caller, in input order.
#[derive(Debug)]
pub enum Record<'a> {
    /// The raw bytes of one JSON object (not yet validated), or of one line of a text
    /// input (without its line break), borrowed until the callback returns.
    Event {
        raw: &'a [u8],
        position: Position,
    },
    Malformed(Malformed),
}

/// What [`decode`] did with one input.
#[derive(Default, Debug, Clone)]
pub struct DecodeStats {
    /// `None` when no record was found (empty, skipped, or nothing recognisable).
    pub format: Option<Format>,
    pub skipped: Option<Skipped>,
    pub gzip: bool,
    /// Raw bytes consumed from the reader.
    pub bytes_read: u64,
    /// Bytes after decompression.
    pub bytes_decoded: u64,
    pub events: u64,
    pub malformed: u64,
}

/// Why an input stopped before its end.
#[derive(thiserror::Error, Debug)]
pub enum DecodeError {
    #[error("read failed after {offset} bytes: {cause}")]
    Io { offset: u64, cause: io::Error },
    #[error(
        "gzip stream is corrupt or truncated after {decompressed} decompressed bytes: {cause}"
    )]
    Gzip { decompressed: u64, cause: io::Error },
    #[error(
        "input is UTF-16 ({}) text, but only UTF-8 is supported; convert it first, \
         e.g. `iconv -f {} -t UTF-8`",
        if *big_endian { "big-endian" } else { "little-endian" },
        if *big_endian { "UTF-16BE" } else { "UTF-16LE" }
    )]
    Utf16 { big_endian: bool },
}

/// A fatal error, with what had been decoded (and delivered) before it.
#[derive(Debug)]
pub struct DecodeFailure {
    pub error: DecodeError,
    pub stats: DecodeStats,
}

impl fmt::Display for DecodeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for DecodeFailure {}

/// Decodes one input, calling `on_record` for each event and each malformed record, in input
/// order. `name` is the file path or S3 key (used only to recognise digest /
/// ConfigWritabilityCheckFile names). Malformed records are not errors: `Err` means the input
/// could not be read to its end, after every complete event before the failure was delivered.
pub fn decode<R: Read>(
    input: R,
    name: &str,
    opts: &DecodeOptions,
    on_record: &mut dyn FnMut(Record<'_>),
) -> Result<DecodeStats, DecodeFailure> {
    if let Some(skipped) = skip::by_name(name) {
        return Ok(DecodeStats {
            skipped: Some(skipped),
            ..DecodeStats::default()
        });
    }
    let mut input = Input::open(input).map_err(|error| DecodeFailure {
        error,
        stats: DecodeStats::default(),
    })?;
    let mut decoder = Decoder {
        window: Window::new(),
        splitter: Splitter::new(opts.max_event_bytes),
        decoded: 0,
    };
    let result = decoder.run(&mut input, on_record);
    let stats = DecodeStats {
        format: decoder.splitter.format,
        skipped: decoder.splitter.skipped,
        gzip: input.is_gzip(),
        bytes_read: input.bytes_read(),
        bytes_decoded: decoder.decoded,
        events: decoder.splitter.events,
        malformed: decoder.splitter.malformed,
    };
    match result {
        Ok(()) => Ok(stats),
        Err(error) => Err(DecodeFailure { error, stats }),
    }
}

/// The read loop: fills the window, lets the splitter consume it, repeats.
struct Decoder {
    window: Window,
    splitter: Splitter,
    decoded: u64,
}

/// Bytes needed to recognise a byte order mark or NUL-interleaved UTF-16.
const ENCODING_PROBE: usize = 4;

impl Decoder {
    fn run<R: Read>(
        &mut self,
        input: &mut Input<R>,
        on_record: &mut dyn FnMut(Record<'_>),
    ) -> Result<(), DecodeError> {
        let mut eof = false;
        while !eof && self.window.filled().len() < ENCODING_PROBE {
            eof = self.fill(input, 0)? == 0;
        }
        let bom = input::text_start(self.window.filled())?;
        self.window.consume(bom);
        loop {
            let (buf, base) = (self.window.filled(), self.window.base());
            self.splitter.run(buf, base, on_record);
            if self.splitter.stopped() {
                return Ok(());
            }
            if eof {
                break;
            }
            let consumed = self.splitter.release(buf);
            eof = self.fill(input, consumed)? == 0;
        }
        let (buf, base) = (self.window.filled(), self.window.base());
        self.splitter.finish(buf, base, on_record);
        Ok(())
    }

    /// Drops `consumed` bytes from the window and reads more; 0 at end of input.
    fn fill<R: Read>(
        &mut self,
        input: &mut Input<R>,
        consumed: usize,
    ) -> Result<usize, DecodeError> {
        self.window.consume(consumed);
        match self.window.refill(input) {
            Ok(n) => {
                self.decoded += n as u64;
                Ok(n)
            }
            Err(cause) => Err(input.failure(cause, self.decoded)),
        }
    }
}
