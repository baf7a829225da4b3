//! What the text line formats share: splitting a line into fields (space-separated, with
//! `"quoted"` and `[bracketed]` fields that may hold spaces), and writing the fields as a
//! JSON object ([`TextEvent`]) with the event's time and indicators.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use super::LogType;
use crate::fields::write_str;
use crate::indicators::{Indicators, Kind};
use crate::walk::Text;

/// The fields of `line`: separated by spaces; a field in double quotes (backslash escapes
/// `\"` and `\\`) or in square brackets may contain spaces, and is returned without them.
pub(crate) fn split(line: &str) -> Result<Vec<Cow<'_, str>>, String> {
    let mut fields = Vec::with_capacity(32);
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' => i += 1,
            b'"' => {
                let start = i + 1;
                let mut end = start;
                let mut escaped = false;
                loop {
                    match bytes.get(end) {
                        None => {
                            return Err(format!(
                                "the quoted field at column {} has no closing quote",
                                i + 1
                            ))
                        }
                        Some(b'"') => break,
                        Some(b'\\') => {
                            escaped = true;
                            end += 2;
                        }
                        Some(_) => end += 1,
                    }
                }
                let raw = &line[start..end];
                fields.push(if escaped {
                    Cow::Owned(unescape(raw))
                } else {
                    Cow::Borrowed(raw)
                });
                i = end + 1;
            }
            b'[' => {
                let Some(len) = line[i..].find(']') else {
                    return Err(format!(
                        "the bracketed field at column {} has no closing ']'",
                        i + 1
                    ));
                };
                fields.push(Cow::Borrowed(&line[i + 1..i + len]));
                i += len + 1;
            }
            _ => {
                let len = line[i..].find([' ', '\t']).unwrap_or(line.len() - i);
                fields.push(Cow::Borrowed(&line[i..i + len]));
                i += len;
            }
        }
    }
    Ok(fields)
}

/// `\"` → `"`, `\\` → `\`; other backslashes stay.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(next @ ('"' | '\\')) => out.push(next),
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A text line turned into a JSON event, with what normalization needs from it.
pub(crate) struct TextEvent {
    /// `{…}` once [`TextEvent::finish`] has run.
    pub(crate) json: Vec<u8>,
    pub(crate) log_type: LogType,
    pub(crate) event_time: Option<DateTime<Utc>>,
    pub(crate) indicators: Indicators<'static>,
}

/// The value the formats write for a field that has none.
const ABSENT: &str = "-";

impl TextEvent {
    pub(crate) fn new(log_type: LogType, line_len: usize) -> Self {
        let mut json = Vec::with_capacity(line_len * 2 + 64);
        json.push(b'{');
        TextEvent {
            json,
            log_type,
            event_time: None,
            indicators: Indicators::default(),
        }
    }

    fn key(&mut self, key: &str) {
        if self.json.len() > 1 {
            self.json.push(b',');
        }
        write_str(&mut self.json, key);
        self.json.push(b':');
    }

    /// A string field; `-` (no value) leaves the field out.
    pub(crate) fn string(&mut self, key: &str, value: &str) {
        if value != ABSENT {
            self.key(key);
            write_str(&mut self.json, value);
        }
    }

    /// A numeric field: written as a JSON number when it is one, else as a string (a
    /// value the format did not promise is kept rather than dropped); `-` leaves it out.
    pub(crate) fn number(&mut self, key: &str, value: &str) {
        if value == ABSENT {
            return;
        }
        if let Ok(n) = value.parse::<i64>() {
            self.key(key);
            self.json.extend_from_slice(n.to_string().as_bytes());
        } else if let Some(x) = value.parse::<f64>().ok().filter(|x| x.is_finite()) {
            self.key(key);
            sonic_rs::to_writer(&mut self.json, &x).expect("a number always serializes");
        } else {
            self.string(key, value);
        }
    }

    /// A field holding an already formatted JSON value (a time written as a string).
    pub(crate) fn raw_string(&mut self, key: &str, value: String) {
        self.key(key);
        write_str(&mut self.json, &value);
    }

    /// A list of strings (fields a format appended after the ones known here).
    pub(crate) fn list(&mut self, key: &str, values: &[Cow<'_, str>]) {
        self.key(key);
        self.json.push(b'[');
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.json.push(b',');
            }
            write_str(&mut self.json, value);
        }
        self.json.push(b']');
    }

    /// `value` as an indicator of `kind` (when it is not `-`).
    pub(crate) fn indicator(&mut self, kind: Kind, value: &str) {
        if value != ABSENT && !value.is_empty() {
            self.indicators.push(kind, Text::Scratch(value));
        }
    }

    /// The indicators any AWS string may hold: an ARN (with its account and instance) or an
    /// instance id.
    pub(crate) fn aws_value(&mut self, value: &str) {
        self.indicators.any_aws_value(Text::Scratch(value));
    }

    pub(crate) fn finish(mut self) -> Self {
        self.json.push(b'}');
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_and_bracketed_fields_keep_their_spaces() {
        let fields =
            split(r#"a [06/Feb/2019:00:00:38 +0000] "GET /x HTTP/1.1" - "say \"hi\" \\o/" """#)
                .unwrap();
        assert_eq!(
            fields,
            vec![
                "a",
                "06/Feb/2019:00:00:38 +0000",
                "GET /x HTTP/1.1",
                "-",
                r#"say "hi" \o/"#,
                ""
            ]
        );
    }

    #[test]
    fn unterminated_fields_are_errors() {
        assert_eq!(
            split(r#"a "open"#).unwrap_err(),
            "the quoted field at column 3 has no closing quote"
        );
        assert!(split("a [06/Feb").unwrap_err().contains("no closing ']'"));
    }
}
