//! Structural scan of one JSON value, resumable across buffer refills.
//!
//! The scanner only tracks what is needed to find where a value ends: bracket depth (one
//! counter for `{` and `[` together, so nesting depth costs no memory), whether it is inside
//! a string, and a pending backslash escape. It does not validate JSON: the normalizer parses
//! each event later, and checking grammar twice would halve throughput.

use memchr::{memchr2, memchr3};

/// Why a value scanned in line mode is considered cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Break {
    /// A raw line feed inside a string: invalid JSON, and in a line-oriented stream the
    /// sign of a line that was cut before its closing quote.
    NewlineInString,
    /// `{` in column 0 while the value is still open: a line-oriented stream has started its
    /// next object, so the open one was truncated.
    ObjectAtLineStart,
}

/// Outcome of scanning as far as the available bytes allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// The value ends just before this index.
    Done(usize),
    /// Every available byte belongs to the value; it continues in the next chunk.
    More,
    /// Only in line mode: the value is cut short at this index.
    Broken { at: usize, cause: Break },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Object, array or string: ends when depth returns to zero outside a string.
    Delimited,
    /// Number, literal or stray token: ends at the first delimiter byte (not consumed).
    Bare,
}

/// Resumable state of one value being scanned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ValueScan {
    kind: Kind,
    depth: u64,
    in_string: bool,
    escaped: bool,
}

impl ValueScan {
    /// A value whose first byte is `first`; scanning must start at that byte.
    pub(crate) fn starting_with(first: u8) -> Self {
        let kind = match first {
            b'{' | b'[' | b'"' => Kind::Delimited,
            _ => Kind::Bare,
        };
        Self {
            kind,
            depth: 0,
            in_string: false,
            escaped: false,
        }
    }

    /// The rest of an object whose opening `{` has already been consumed, resuming at a
    /// position outside any string (between members).
    pub(crate) fn inside_object() -> Self {
        Self {
            kind: Kind::Delimited,
            depth: 1,
            in_string: false,
            escaped: false,
        }
    }

    /// Scans `buf[from..]`. With `LINES`, line breaks are treated as record separators of a
    /// line-oriented stream (see [`Break`]). `from > 0` must have `buf[from - 1]` available
    /// (the caller keeps one byte of look-behind) so column 0 can be recognised.
    #[inline]
    pub(crate) fn scan<const LINES: bool>(&mut self, buf: &[u8], from: usize) -> Step {
        if self.kind == Kind::Bare {
            return match buf[from..].iter().position(|&b| ends_bare_value(b)) {
                Some(k) => Step::Done(from + k),
                None => Step::More,
            };
        }
        let mut i = from;
        loop {
            if self.in_string {
                if self.escaped {
                    if i >= buf.len() {
                        return Step::More;
                    }
                    i += 1;
                    self.escaped = false;
                }
                let rest = &buf[i..];
                let found = if LINES {
                    memchr3(b'"', b'\\', b'\n', rest)
                } else {
                    memchr2(b'"', b'\\', rest)
                };
                let Some(k) = found else {
                    return Step::More;
                };
                let j = i + k;
                match buf[j] {
                    b'"' => {
                        self.in_string = false;
                        i = j + 1;
                        if self.depth == 0 {
                            return Step::Done(i);
                        }
                    }
                    b'\\' => {
                        self.escaped = true;
                        i = j + 1;
                    }
                    _ => {
                        return Step::Broken {
                            at: j,
                            cause: Break::NewlineInString,
                        }
                    }
                }
            } else {
                // Outside strings CloudTrail JSON has only `:`, `,` and short numbers or
                // literals between strings, so a byte loop beats a vectorised search here.
                loop {
                    let Some(&b) = buf.get(i) else {
                        return Step::More;
                    };
                    match b {
                        b'"' => {
                            self.in_string = true;
                            i += 1;
                            break;
                        }
                        b'{' | b'[' => {
                            if LINES && b == b'{' && self.depth > 0 && i > 0 && buf[i - 1] == b'\n'
                            {
                                return Step::Broken {
                                    at: i,
                                    cause: Break::ObjectAtLineStart,
                                };
                            }
                            self.depth += 1;
                        }
                        b'}' | b']' => {
                            self.depth -= 1;
                            if self.depth == 0 {
                                return Step::Done(i + 1);
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
        }
    }
}

/// JSON whitespace.
#[inline]
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

/// Bytes that end a number, literal or stray token.
fn ends_bare_value(b: u8) -> bool {
    is_space(b) || matches!(b, b',' | b']' | b'}' | b'{' | b'[' | b'"' | b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all<const LINES: bool>(chunks: &[&[u8]]) -> (Step, usize) {
        // Feeds the chunks as a growing buffer, the way the window does.
        let mut buf = Vec::new();
        let mut scan = ValueScan::starting_with(chunks[0][0]);
        let mut from = 0;
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            match scan.scan::<LINES>(&buf, from) {
                Step::More => from = buf.len(),
                other => return (other, buf.len()),
            }
        }
        (Step::More, buf.len())
    }

    #[test]
    fn object_split_inside_escape_and_string() {
        let (step, _) = scan_all::<false>(&[b"{\"a\":\"x\\", b"\"}\"", b",\"b\":[1,{}]}tail"]);
        assert_eq!(step, Step::Done(23));
    }

    #[test]
    fn brackets_inside_strings_are_ignored() {
        let (step, _) = scan_all::<false>(&[br#"{"a":"}]{[","b":"\\"}x"#]);
        assert_eq!(step, Step::Done(21));
    }

    #[test]
    fn string_and_bare_values_end_where_json_says() {
        let (step, _) = scan_all::<false>(&[br#""ab\"c" ,"#]);
        assert_eq!(step, Step::Done(7));
        let (step, _) = scan_all::<false>(&[b"-12.5e3", b"]"]);
        assert_eq!(step, Step::Done(7));
    }

    #[test]
    fn line_mode_breaks() {
        let (step, _) = scan_all::<true>(&[b"{\"a\":\"cut\n{\"b\":1}"]);
        assert_eq!(
            step,
            Step::Broken {
                at: 9,
                cause: Break::NewlineInString
            }
        );
        let (step, _) = scan_all::<true>(&[b"{\"a\":1,\n", b"{\"b\":1}"]);
        assert_eq!(
            step,
            Step::Broken {
                at: 8,
                cause: Break::ObjectAtLineStart
            }
        );
        // Indented nested objects are ordinary pretty-printed JSON.
        let (step, _) = scan_all::<true>(&[b"{\n  \"a\": {\n    \"b\": 1\n  }\n}"]);
        assert_eq!(step, Step::Done(27));
    }
}
