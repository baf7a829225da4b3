//! The format-level state machine: finds the records in a CloudTrail `{"Records":[...]}`
//! file, a stream of top-level objects (JSON lines, concatenated or pretty-printed), a
//! top-level array, or text lines (an input whose first line is text, not JSON); reports
//! malformed records once each; resynchronises where the format allows. It works on the
//! window's bytes and keeps every index relative to them.

use memchr::{memchr, memchr3, memchr_iter};

use crate::scanner::{is_space, Break, Step, ValueScan};
use crate::{skip, Format, Malformed, Position, Record, Skipped};

/// Keys longer than this are never ones we look for, so they are not kept.
const KEY_CAP: usize = 32;

/// What kind of value a record is, from its first byte; non-objects are rejected by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Object,
    Array,
    String,
    Number,
    Boolean,
    Null,
    Other(u8),
}

impl Shape {
    fn of(first: u8) -> Self {
        match first {
            b'{' => Shape::Object,
            b'[' => Shape::Array,
            b'"' => Shape::String,
            b'-' | b'0'..=b'9' => Shape::Number,
            b't' | b'f' => Shape::Boolean,
            b'n' => Shape::Null,
            other => Shape::Other(other),
        }
    }

    fn describe(self) -> String {
        match self {
            Shape::Object => "a JSON object".into(),
            Shape::Array => "a JSON array".into(),
            Shape::String => "a JSON string".into(),
            Shape::Number => "a JSON number".into(),
            Shape::Boolean => "a JSON boolean".into(),
            Shape::Null => "JSON null".into(),
            Shape::Other(b) => format!("not JSON (it starts with {})", describe(b)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayKind {
    TopLevel,
    Records,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayAt {
    First,
    AfterComma,
    AfterRecord,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MemberAt {
    KeyOrEnd,
    Key,
    Colon,
    Value,
    InValue,
    AfterValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between top-level values.
    TopLevel,
    /// Resynchronising: skipping the rest of the line.
    SkipLine,
    /// Resynchronising: at a line start, waiting for a line that starts with `{`.
    LineStart,
    /// Inside an array whose elements are records.
    Array(ArrayKind, ArrayAt),
    /// Reading the members of a top-level object to learn whether it wraps `Records`. With
    /// `current` set the object may still turn out to be an event (it is kept meanwhile);
    /// without, it is a `Records` wrapper whose array has been streamed.
    Members(MemberAt),
    /// Inside `current`; afterwards back to the array it belongs to, or to top level.
    Record(Option<ArrayKind>),
    /// Inside the text line `text_line`. The first line of an input decides whether the input is
    /// text lines (it is text) or broken JSON (it is not).
    Line { first: bool },
    /// Between text lines.
    TextLines,
    /// Nothing more to find in this input.
    Stopped,
}

/// The record being scanned.
struct Current {
    /// Window index of its first byte; meaningful only while `kept`.
    start: usize,
    position: Position,
    shape: Shape,
    /// Its bytes are still in the window. Cleared once it outgrows the size limit (then it
    /// is only scanned to find its end) and never set for non-objects.
    kept: bool,
    scan: ValueScan,
    /// Top-level objects are line-oriented: line breaks help detect truncation.
    lines: bool,
}

/// The text line being read.
struct LineInProgress {
    /// Window index of its first byte; meaningful only while `kept`.
    start: usize,
    position: Position,
    /// Its bytes are still in the window (cleared once it outgrows the size limit).
    kept: bool,
}

/// The key of the top-level member being read; long or escaped keys are not compared.
struct Key {
    bytes: [u8; KEY_CAP],
    len: usize,
    exact: bool,
    escaped: bool,
}

impl Key {
    fn clear(&mut self) {
        self.len = 0;
        self.exact = true;
        self.escaped = false;
    }

    fn push(&mut self, part: &[u8]) {
        let end = self.len + part.len();
        if self.exact && end <= KEY_CAP {
            self.bytes[self.len..end].copy_from_slice(part);
            self.len = end;
        } else {
            self.exact = false;
        }
    }

    fn is(&self, key: &[u8]) -> bool {
        self.exact && &self.bytes[..self.len] == key
    }
}

/// Splits decompressed bytes into records, fed one window at a time.
pub(crate) struct Splitter {
    state: State,
    /// Window index of the next byte to look at.
    pos: usize,
    current: Option<Current>,
    text_line: Option<LineInProgress>,
    /// Scan of the member value being skipped inside a top-level object.
    value: ValueScan,
    key: Key,
    limit: usize,
    /// Line number at window index `lines_at`; lines are counted lazily up to each record.
    line: u64,
    lines_at: usize,
    next_index: u64,
    seen_content: bool,
    pub(crate) format: Option<Format>,
    pub(crate) skipped: Option<Skipped>,
    pub(crate) events: u64,
    pub(crate) malformed: u64,
}

impl Splitter {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            state: State::TopLevel,
            pos: 0,
            current: None,
            text_line: None,
            value: ValueScan::inside_object(),
            key: Key {
                bytes: [0; KEY_CAP],
                len: 0,
                exact: true,
                escaped: false,
            },
            limit,
            line: 1,
            lines_at: 0,
            next_index: 0,
            seen_content: false,
            format: None,
            skipped: None,
            events: 0,
            malformed: 0,
        }
    }

    pub(crate) fn stopped(&self) -> bool {
        self.state == State::Stopped
    }

    /// Delivers every record that ends within `buf` (the window, whose first byte is at
    /// `base` in the decompressed stream).
    pub(crate) fn run(&mut self, buf: &[u8], base: u64, on: &mut dyn FnMut(Record<'_>)) {
        while self.pos < buf.len() {
            match self.state {
                State::TopLevel => self.top_level(buf, base, on),
                State::SkipLine => match memchr(b'\n', &buf[self.pos..]) {
                    Some(k) => {
                        self.pos += k + 1;
                        self.state = State::LineStart;
                    }
                    None => self.pos = buf.len(),
                },
                State::LineStart => match buf[self.pos] {
                    b'{' => self.state = State::TopLevel,
                    b'\n' => self.pos += 1,
                    _ => self.state = State::SkipLine,
                },
                State::Array(kind, at) => self.array(buf, base, kind, at, on),
                State::Members(at) => self.members(buf, base, at, on),
                State::Record(parent) => self.record(buf, base, parent, on),
                State::Line { first } => match memchr(b'\n', &buf[self.pos..]) {
                    Some(k) => {
                        self.end_line(buf, base, self.pos + k, first, on);
                        self.pos += k + 1;
                    }
                    None => self.pos = buf.len(),
                },
                State::TextLines => {
                    if let Some(i) = self.skip_space(buf) {
                        self.start_line(buf, base, i, false);
                    }
                }
                State::Stopped => self.pos = buf.len(),
            }
        }
    }

    /// How many leading bytes of the window are no longer needed. The record in progress is
    /// kept unless it has outgrown the limit, and one byte of look-behind is kept so that a
    /// `{` at the start of the next window can be recognised as being in column 0.
    pub(crate) fn release(&mut self, buf: &[u8]) -> usize {
        let mut keep = self.pos.saturating_sub(1);
        if let Some(cur) = self.current.as_mut().filter(|cur| cur.kept) {
            if buf.len() - cur.start > self.limit {
                cur.kept = false;
            } else {
                keep = keep.min(cur.start);
            }
        }
        if let Some(line) = self.text_line.as_mut().filter(|line| line.kept) {
            if buf.len() - line.start > self.limit {
                line.kept = false;
            } else {
                keep = keep.min(line.start);
            }
        }
        if self.lines_at < keep {
            self.line += memchr_iter(b'\n', &buf[self.lines_at..keep]).count() as u64;
            self.lines_at = keep;
        }
        self.lines_at -= keep;
        self.pos -= keep;
        if let Some(cur) = self.current.as_mut().filter(|cur| cur.kept) {
            cur.start -= keep;
        }
        if let Some(line) = self.text_line.as_mut().filter(|line| line.kept) {
            line.start -= keep;
        }
        keep
    }

    /// End of input: whatever is still open is reported as truncated.
    pub(crate) fn finish(&mut self, buf: &[u8], base: u64, on: &mut dyn FnMut(Record<'_>)) {
        let end = buf.len();
        match self.state {
            State::TopLevel
            | State::SkipLine
            | State::LineStart
            | State::TextLines
            | State::Stopped => {}
            // The last line needs no line break.
            State::Line { first } => self.end_line(buf, base, end, first, on),
            State::Record(_) | State::Members(_) => match self.current.take() {
                Some(cur) => {
                    let size = base + end as u64 - cur.position.byte_offset;
                    self.reject(
                        on,
                        cur.position,
                        format!("truncated record: input ended inside it after {size} bytes"),
                    );
                }
                None => {
                    let position = self.position(buf, base, end);
                    self.report(
                        on,
                        position,
                        "input ended inside the top-level object (missing '}')".into(),
                    );
                }
            },
            State::Array(kind, _) => {
                let position = self.position(buf, base, end);
                let array = match kind {
                    ArrayKind::TopLevel => "top-level array",
                    ArrayKind::Records => "Records array",
                };
                self.report(
                    on,
                    position,
                    format!("input ended inside the {array} (missing ']')"),
                );
            }
        }
        if !self.seen_content && self.skipped.is_none() {
            self.skipped = Some(Skipped::Empty);
        }
        self.state = State::Stopped;
    }

    fn top_level(&mut self, buf: &[u8], base: u64, on: &mut dyn FnMut(Record<'_>)) {
        let Some(i) = self.skip_space(buf) else {
            return;
        };
        self.seen_content = true;
        match buf[i] {
            b'{' => {
                let position = self.position(buf, base, i);
                self.current = Some(Current {
                    start: i,
                    position,
                    shape: Shape::Object,
                    kept: true,
                    scan: ValueScan::starting_with(b'{'),
                    lines: true,
                });
                if self.format == Some(Format::JsonObjects) {
                    self.state = State::Record(None);
                    self.pos = i;
                } else {
                    // Until one object has proved to be an event, each may wrap `Records`.
                    self.state = State::Members(MemberAt::KeyOrEnd);
                    self.pos = i + 1;
                }
            }
            b'[' => {
                self.format.get_or_insert(Format::JsonArray);
                self.state = State::Array(ArrayKind::TopLevel, ArrayAt::First);
                self.pos = i + 1;
            }
            // The input's first record does not start like JSON: text lines, if its line
            // turns out to be text.
            _ if self.format.is_none() && self.next_index == 0 && self.malformed == 0 => {
                self.start_line(buf, base, i, true);
            }
            b => {
                let position = self.position(buf, base, i);
                self.reject(on, position, not_json(b));
                self.state = State::SkipLine;
                self.pos = i;
            }
        }
    }

    /// A text line starts at window index `i`.
    fn start_line(&mut self, buf: &[u8], base: u64, i: usize, first: bool) {
        let position = self.position(buf, base, i);
        self.text_line = Some(LineInProgress {
            start: i,
            position,
            kept: true,
        });
        self.state = State::Line { first };
        self.pos = i;
    }

    /// The text line in progress ends just before window index `end` (its line break, or
    /// the end of input).
    fn end_line(
        &mut self,
        buf: &[u8],
        base: u64,
        end: usize,
        first: bool,
        on: &mut dyn FnMut(Record<'_>),
    ) {
        let line = self
            .text_line
            .take()
            .expect("a line is in progress in the Line state");
        self.state = State::TextLines;
        let size = base + end as u64 - line.position.byte_offset;
        let bytes = match line.kept && size <= self.limit as u64 {
            true => Some(&buf[line.start..end]),
            false => None,
        };
        let bytes = bytes.map(|b| b.strip_suffix(b"\r").unwrap_or(b));
        match bytes {
            Some(bytes) if !first || is_text(bytes) => {
                if first {
                    self.format = Some(Format::TextLines);
                }
                self.next_index = line.position.index + 1;
                self.events += 1;
                on(Record::Event {
                    raw: bytes,
                    position: line.position,
                });
            }
            None if !first => {
                let reason = format!(
                    "line is {size} bytes, over the limit of {} bytes; skipped",
                    self.limit
                );
                self.reject(on, line.position, reason);
            }
            // Not text: the input is JSON that starts with something else.
            _ => {
                let b = if line.kept { buf[line.start] } else { b'?' };
                self.reject(on, line.position, not_json(b));
                self.state = State::LineStart;
            }
        }
    }

    fn array(
        &mut self,
        buf: &[u8],
        base: u64,
        kind: ArrayKind,
        at: ArrayAt,
        on: &mut dyn FnMut(Record<'_>),
    ) {
        let Some(i) = self.skip_space(buf) else {
            return;
        };
        let b = buf[i];
        match (at, b) {
            // A trailing comma loses nothing, so it is tolerated.
            (_, b']') => {
                self.pos = i + 1;
                self.state = match kind {
                    ArrayKind::TopLevel => State::TopLevel,
                    ArrayKind::Records => State::Members(MemberAt::AfterValue),
                };
            }
            (ArrayAt::AfterRecord, b',') => {
                self.pos = i + 1;
                self.state = State::Array(kind, ArrayAt::AfterComma);
            }
            (_, b',') => {
                let position = self.position(buf, base, i);
                self.report(
                    on,
                    position,
                    "empty record: ',' where a record was expected".into(),
                );
                self.pos = i + 1;
                self.state = State::Array(kind, ArrayAt::AfterComma);
            }
            _ if starts_value(b) => {
                let position = self.position(buf, base, i);
                if at == ArrayAt::AfterRecord {
                    self.report(
                        on,
                        position,
                        "missing ',' between this record and the previous one".into(),
                    );
                }
                let shape = Shape::of(b);
                self.current = Some(Current {
                    start: i,
                    position,
                    shape,
                    kept: shape == Shape::Object,
                    scan: ValueScan::starting_with(b),
                    lines: false,
                });
                self.state = State::Record(Some(kind));
                self.pos = i;
            }
            _ => {
                let position = self.position(buf, base, i);
                let expected = match at {
                    ArrayAt::AfterRecord => "',' or ']'",
                    ArrayAt::First | ArrayAt::AfterComma => "a record",
                };
                self.report(
                    on,
                    position,
                    format!(
                        "found {} where {expected} was expected; the rest of the input \
                         cannot be split into records",
                        describe(b)
                    ),
                );
                self.state = State::Stopped;
            }
        }
    }

    fn record(
        &mut self,
        buf: &[u8],
        base: u64,
        parent: Option<ArrayKind>,
        on: &mut dyn FnMut(Record<'_>),
    ) {
        let cur = self
            .current
            .as_mut()
            .expect("a record is in progress in the Record state");
        let step = if cur.lines {
            cur.scan.scan::<true>(buf, self.pos)
        } else {
            cur.scan.scan::<false>(buf, self.pos)
        };
        match step {
            Step::More => self.pos = buf.len(),
            Step::Done(end) => {
                self.complete(buf, base, end, on);
                self.pos = end;
                self.state = match parent {
                    Some(kind) => State::Array(kind, ArrayAt::AfterRecord),
                    None => State::TopLevel,
                };
            }
            Step::Broken { at, cause } => self.broken(buf, base, at, cause, on),
        }
    }

    fn members(&mut self, buf: &[u8], base: u64, at: MemberAt, on: &mut dyn FnMut(Record<'_>)) {
        match at {
            MemberAt::KeyOrEnd => {
                let Some(i) = self.skip_space(buf) else {
                    return;
                };
                match buf[i] {
                    b'"' => {
                        self.key.clear();
                        self.pos = i + 1;
                        self.state = State::Members(MemberAt::Key);
                    }
                    b'}' => self.end_object(buf, base, i + 1, on),
                    _ => self.not_members(buf, base, i, on),
                }
            }
            MemberAt::Key => self.member_key(buf, base, on),
            MemberAt::Colon => {
                let Some(i) = self.skip_space(buf) else {
                    return;
                };
                if buf[i] != b':' {
                    return self.not_members(buf, base, i, on);
                }
                // A digest file is a single object, so only the first object can make one.
                if self.format.is_none() && self.key.exact && skip::is_digest_key(self.key_bytes())
                {
                    self.skipped = Some(Skipped::CloudTrailDigest);
                    self.current = None;
                    self.state = State::Stopped;
                    return;
                }
                self.pos = i + 1;
                self.state = State::Members(MemberAt::Value);
            }
            MemberAt::Value => {
                let Some(i) = self.skip_space(buf) else {
                    return;
                };
                let b = buf[i];
                if b == b'[' && self.key.is(b"Records") {
                    self.format.get_or_insert(Format::CloudTrailRecords);
                    self.current = None;
                    self.state = State::Array(ArrayKind::Records, ArrayAt::First);
                    self.pos = i + 1;
                } else if starts_value(b) {
                    self.value = ValueScan::starting_with(b);
                    self.state = State::Members(MemberAt::InValue);
                    self.pos = i;
                } else {
                    self.not_members(buf, base, i, on);
                }
            }
            MemberAt::InValue => match self.value.scan::<true>(buf, self.pos) {
                Step::More => self.pos = buf.len(),
                Step::Done(end) => {
                    self.pos = end;
                    self.state = State::Members(MemberAt::AfterValue);
                }
                Step::Broken { at, cause } => self.broken(buf, base, at, cause, on),
            },
            MemberAt::AfterValue => {
                let Some(i) = self.skip_space(buf) else {
                    return;
                };
                match buf[i] {
                    b',' => {
                        self.pos = i + 1;
                        self.state = State::Members(MemberAt::KeyOrEnd);
                    }
                    b'}' => self.end_object(buf, base, i + 1, on),
                    _ => self.not_members(buf, base, i, on),
                }
            }
        }
    }

    fn key_bytes(&self) -> &[u8] {
        &self.key.bytes[..self.key.len]
    }

    /// Reads the member key up to its closing quote, remembering it if short and plain.
    fn member_key(&mut self, buf: &[u8], base: u64, on: &mut dyn FnMut(Record<'_>)) {
        loop {
            if self.key.escaped {
                if self.pos >= buf.len() {
                    return;
                }
                self.pos += 1;
                self.key.escaped = false;
                self.key.exact = false;
            }
            let Some(k) = memchr3(b'"', b'\\', b'\n', &buf[self.pos..]) else {
                self.key.push(&buf[self.pos..]);
                self.pos = buf.len();
                return;
            };
            let j = self.pos + k;
            self.key.push(&buf[self.pos..j]);
            match buf[j] {
                b'"' => {
                    self.pos = j + 1;
                    self.state = State::Members(MemberAt::Colon);
                    return;
                }
                b'\\' => {
                    self.key.escaped = true;
                    self.pos = j + 1;
                }
                _ => return self.broken(buf, base, j, Break::NewlineInString, on),
            }
        }
    }

    /// Something other than a member where the top-level object should have one.
    fn not_members(&mut self, buf: &[u8], base: u64, i: usize, on: &mut dyn FnMut(Record<'_>)) {
        if buf[i] == b'{' && i > 0 && buf[i - 1] == b'\n' {
            return self.broken(buf, base, i, Break::ObjectAtLineStart, on);
        }
        match self.current.as_mut() {
            Some(cur) => {
                // Not a `Records` wrapper after all: an event whose grammar the normalizer
                // will judge. Member level is depth 1, outside any string.
                cur.scan = ValueScan::inside_object();
                self.format.get_or_insert(Format::JsonObjects);
                self.state = State::Record(None);
                self.pos = i;
            }
            None => {
                let position = self.position(buf, base, i);
                self.report(
                    on,
                    position,
                    format!(
                        "found {} in the top-level object where a member was expected; \
                         skipping to the next line that starts with '{{'",
                        describe(buf[i])
                    ),
                );
                self.state = State::SkipLine;
                self.pos = i;
            }
        }
    }

    /// The closing `}` of a top-level object read member by member.
    fn end_object(&mut self, buf: &[u8], base: u64, end: usize, on: &mut dyn FnMut(Record<'_>)) {
        if self.current.is_some() {
            self.format.get_or_insert(Format::JsonObjects);
            self.complete(buf, base, end, on);
        }
        self.pos = end;
        self.state = State::TopLevel;
    }

    /// Delivers the current record, which ends just before `end`.
    fn complete(&mut self, buf: &[u8], base: u64, end: usize, on: &mut dyn FnMut(Record<'_>)) {
        let cur = self
            .current
            .take()
            .expect("a record is in progress when it completes");
        let size = base + end as u64 - cur.position.byte_offset;
        if cur.shape != Shape::Object {
            let reason = format!("record is {}, expected an object", cur.shape.describe());
            self.reject(on, cur.position, reason);
        } else if !cur.kept || size > self.limit as u64 {
            let reason = format!(
                "record is {size} bytes, over the limit of {} bytes; skipped",
                self.limit
            );
            self.reject(on, cur.position, reason);
        } else {
            self.next_index = cur.position.index + 1;
            self.events += 1;
            on(Record::Event {
                raw: &buf[cur.start..end],
                position: cur.position,
            });
        }
    }

    /// A top-level object cut short, detected in line mode at window index `at`.
    fn broken(
        &mut self,
        buf: &[u8],
        base: u64,
        at: usize,
        cause: Break,
        on: &mut dyn FnMut(Record<'_>),
    ) {
        let cur = self.current.take();
        let (position, what) = match &cur {
            Some(cur) => (cur.position, "the record"),
            None => (self.position(buf, base, at), "the top-level object"),
        };
        let reason = match cause {
            Break::NewlineInString => {
                self.state = State::LineStart;
                self.pos = at + 1;
                format!(
                    "line break inside a string: {what} is cut short or is not valid JSON; \
                     skipping to the next line that starts with '{{'"
                )
            }
            Break::ObjectAtLineStart => {
                self.state = State::TopLevel;
                self.pos = at;
                let line = self.position(buf, base, at).line;
                format!(
                    "truncated record: a new object starts on line {line} before {what} \
                     is closed"
                )
            }
        };
        if cur.is_some() {
            self.format.get_or_insert(Format::JsonObjects);
            self.reject(on, position, reason);
        } else {
            self.report(on, position, reason);
        }
    }

    /// Moves to the next non-whitespace byte and returns its index, or consumes the window.
    fn skip_space(&mut self, buf: &[u8]) -> Option<usize> {
        match buf[self.pos..].iter().position(|&b| !is_space(b)) {
            Some(k) => {
                self.pos += k;
                Some(self.pos)
            }
            None => {
                self.pos = buf.len();
                None
            }
        }
    }

    /// Position of window index `i`, which must not precede any position asked before.
    fn position(&mut self, buf: &[u8], base: u64, i: usize) -> Position {
        self.line += memchr_iter(b'\n', &buf[self.lines_at..i]).count() as u64;
        self.lines_at = i;
        Position {
            line: self.line,
            byte_offset: base + i as u64,
            index: self.next_index,
        }
    }

    /// Reports a problem between records (it takes no record number of its own).
    fn report(&mut self, on: &mut dyn FnMut(Record<'_>), position: Position, reason: String) {
        self.malformed += 1;
        on(Record::Malformed(Malformed { position, reason }));
    }

    /// Reports a record that cannot be delivered as an event.
    fn reject(&mut self, on: &mut dyn FnMut(Record<'_>), position: Position, reason: String) {
        self.next_index = position.index + 1;
        self.report(on, position, reason);
    }
}

/// The report for a record that does not start like JSON.
fn not_json(first: u8) -> String {
    format!(
        "expected '{{' or '[' at the start of a record, found {}; skipping to the next line \
         that starts with '{{'",
        describe(first)
    )
}

/// A line of text: UTF-8 without control characters other than tabs.
fn is_text(line: &[u8]) -> bool {
    std::str::from_utf8(line).is_ok()
        && !line.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
}

/// Bytes that may start a record inside an array: JSON values, and bare tokens that are
/// best reported as one bad record rather than as the end of the array.
fn starts_value(b: u8) -> bool {
    matches!(b, b'{' | b'[' | b'"' | b'-') || b.is_ascii_alphanumeric()
}

/// A byte as a user would want to see it in a message.
fn describe(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}
