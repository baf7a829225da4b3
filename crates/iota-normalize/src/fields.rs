//! The `p_` standard fields: their values (times, row ids) and how they are written into the
//! event's JSON.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Datelike, Timelike, Utc};

use crate::indicators::Kind;

/// Parses an RFC 3339 time (`2023-07-10T11:42:36Z`, any offset) into UTC.
pub(crate) fn parse_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Writes `"YYYY-MM-DD HH:MM:SS.ffffff"` (with the quotes).
///
/// Digits are written directly: chrono's `format` goes through its generic formatting
/// machinery, several times slower, and this runs twice per event.
pub(crate) fn write_time(out: &mut Vec<u8>, t: &DateTime<Utc>) {
    let year = t.year();
    if !(0..=9999).contains(&year) {
        // Only a caller-supplied parse time can get here (RFC 3339 years have 4 digits).
        out.extend_from_slice(format!("\"{}\"", t.format("%Y-%m-%d %H:%M:%S%.6f")).as_bytes());
        return;
    }
    // A leap second (nanoseconds >= 10^9) is shown as the last microsecond of its second.
    let micros = (t.nanosecond() / 1_000).min(999_999);
    let mut buf = *b"\"0000-00-00 00:00:00.000000\"";
    put_digits(&mut buf[1..5], year as u32);
    put_digits(&mut buf[6..8], t.month());
    put_digits(&mut buf[9..11], t.day());
    put_digits(&mut buf[12..14], t.hour());
    put_digits(&mut buf[15..17], t.minute());
    put_digits(&mut buf[18..20], t.second());
    put_digits(&mut buf[21..27], micros);
    out.extend_from_slice(&buf);
}

/// Writes `value` as zero-padded decimal filling `dst`.
fn put_digits(dst: &mut [u8], mut value: u32) {
    for d in dst.iter_mut().rev() {
        *d = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Writes `s` as a JSON string (quotes and escapes).
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    sonic_rs::to_writer(out, s).expect("a string always serializes into a Vec");
}

/// `p_row_id` values: a random 64-bit prefix drawn once per [`crate::Normalizer`] and a
/// 48-bit counter, as 28 hex digits. Unique within a normalizer until 2^48 events (nine
/// years at a million per second); across normalizers and processes, unless two of them draw
/// the same prefix (probability ~n²/2^65 for n normalizers).
pub(crate) struct RowIds {
    prefix: u64,
    next: AtomicU64,
}

impl RowIds {
    pub(crate) fn new() -> Self {
        let prefix = getrandom::u64().unwrap_or_else(|_| {
            // No OS randomness (a very restricted sandbox): fall back to the clock and pid,
            // which still differ between processes in practice.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos();
            let seed = [
                now.to_le_bytes().as_slice(),
                &std::process::id().to_le_bytes(),
            ]
            .concat();
            xxhash_rust::xxh3::xxh3_64(&seed)
        });
        Self {
            prefix,
            next: AtomicU64::new(0),
        }
    }

    /// Writes the next id, with quotes.
    fn write_next(&self, out: &mut Vec<u8>) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let counter = self.next.fetch_add(1, Ordering::Relaxed) & ((1 << 48) - 1);
        let id = (u128::from(self.prefix) << 48) | u128::from(counter);
        let mut buf = *b"\"0000000000000000000000000000\"";
        for (i, digit) in buf[1..29].iter_mut().rev().enumerate() {
            *digit = HEX[(id >> (4 * i)) as usize & 0xf];
        }
        out.extend_from_slice(&buf);
    }
}

/// `,"p_source_id":"…","p_source_label":"…"`, rendered once per normalizer.
pub(crate) fn source_fields(id: &str, label: &str) -> Box<[u8]> {
    let mut out = Vec::new();
    out.extend_from_slice(b",\"p_source_id\":");
    write_str(&mut out, id);
    out.extend_from_slice(b",\"p_source_label\":");
    write_str(&mut out, label);
    out.into_boxed_slice()
}

/// The computed `p_` fields of one event.
pub(crate) struct Fields<'a, 'de> {
    pub(crate) log_type: &'static str,
    pub(crate) event_time: &'a DateTime<Utc>,
    pub(crate) parse_time: &'a DateTime<Utc>,
    pub(crate) row_ids: &'a RowIds,
    pub(crate) source_fields: &'a [u8],
    /// Sorted and unique, grouped by kind; borrowed values are unescaped input.
    pub(crate) indicators: &'a [(Kind, Cow<'de, str>)],
}

/// Returns `object` (a JSON object, no surrounding whitespace) with `fields` appended as its
/// last members. The original bytes are copied unchanged.
pub(crate) fn append(object: &[u8], fields: &Fields) -> Vec<u8> {
    const FIXED: usize = 512; // names, times, row id
    let indicators: usize = fields.indicators.iter().map(|(_, v)| v.len() + 3).sum();
    let mut out =
        Vec::with_capacity(object.len() + FIXED + fields.source_fields.len() + indicators);

    let body = &object[..object.len() - 1];
    out.extend_from_slice(body);
    // `{}` (or `{ }`) has no member to follow.
    if body[1..].trim_ascii().is_empty() {
        out.extend_from_slice(b"\"p_log_type\":");
    } else {
        out.extend_from_slice(b",\"p_log_type\":");
    }
    write_str(&mut out, fields.log_type);
    out.extend_from_slice(b",\"p_event_time\":");
    write_time(&mut out, fields.event_time);
    out.extend_from_slice(b",\"p_parse_time\":");
    write_time(&mut out, fields.parse_time);
    out.extend_from_slice(b",\"p_row_id\":");
    fields.row_ids.write_next(&mut out);
    out.extend_from_slice(fields.source_fields);
    for group in fields.indicators.chunk_by(|a, b| a.0 == b.0) {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(group[0].0.field().as_bytes());
        out.extend_from_slice(b"\":[");
        for (i, (_, value)) in group.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match value {
                // Borrowed from the input where it had no escapes: it needs none now either
                // (a raw JSON string holds no `"`, `\` or control character).
                Cow::Borrowed(raw) => {
                    out.push(b'"');
                    out.extend_from_slice(raw.as_bytes());
                    out.push(b'"');
                }
                Cow::Owned(decoded) => write_str(&mut out, decoded),
            }
        }
        out.push(b']');
    }
    out.push(b'}');
    out
}
