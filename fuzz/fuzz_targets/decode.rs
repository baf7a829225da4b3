//! `iota_decode::decode` on arbitrary bytes. Besides not panicking, for every input:
//! - the events and malformed records it reports add up to its stats;
//! - on plain (not gzip) input each event is the input's own bytes at its position, a JSON
//!   object's opening bracket first (a text input's events are lines without their break),
//!   and positions only move forward;
//! - reading the input in small, uneven chunks gives exactly the same records and outcome as
//!   reading it at once (the sliding window must not depend on where reads end);
//! - the gzip-compressed input gives the same records as the plain one;
//! - with a small size limit no event is longer than the limit.

#![no_main]

use std::io::{self, Read, Write};

use iota_decode::{decode, DecodeError, DecodeOptions, Format, Record};
use libfuzzer_sys::fuzz_target;

/// Everything one decode reported, in order, owned.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    records: Vec<Item>,
    events: u64,
    malformed: u64,
    /// Read as text, one record per line.
    text_lines: bool,
    /// What stopped the input, and where.
    error: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
enum Item {
    Event {
        raw: Vec<u8>,
        offset: u64,
        line: u64,
        index: u64,
    },
    Malformed {
        offset: u64,
        line: u64,
        index: u64,
        reason: String,
    },
}

fn run(input: impl Read, opts: &DecodeOptions) -> Outcome {
    let mut records = Vec::new();
    let result = decode(input, "fuzz.json", opts, &mut |record| {
        records.push(match record {
            Record::Event { raw, position } => Item::Event {
                raw: raw.to_vec(),
                offset: position.byte_offset,
                line: position.line,
                index: position.index,
            },
            Record::Malformed(m) => Item::Malformed {
                offset: m.position.byte_offset,
                line: m.position.line,
                index: m.position.index,
                reason: m.reason,
            },
        })
    });
    let (stats, error) = match result {
        Ok(stats) => (stats, None),
        // Where and why, not zlib's words: how far an inflater got before it noticed the
        // corruption is fixed, but its message may depend on the size of the reads.
        Err(failure) => (
            failure.stats.clone(),
            Some(match failure.error {
                DecodeError::Gzip { decompressed, .. } => format!("gzip after {decompressed}"),
                DecodeError::Io { offset, .. } => format!("read after {offset}"),
                DecodeError::Utf16 { big_endian } => format!("UTF-16 {big_endian}"),
            }),
        ),
    };
    let outcome = Outcome {
        records,
        events: stats.events,
        malformed: stats.malformed,
        text_lines: stats.format == Some(Format::TextLines),
        error,
    };
    let events = outcome
        .records
        .iter()
        .filter(|r| matches!(r, Item::Event { .. }))
        .count();
    assert_eq!(
        outcome.events, events as u64,
        "stats.events counts the events delivered"
    );
    assert_eq!(
        outcome.malformed,
        (outcome.records.len() - events) as u64,
        "stats.malformed counts the malformed records delivered"
    );
    outcome
}

/// A reader that hands out the input in uneven chunks of 1 to 97 bytes.
struct Chunked<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.step = self.step.wrapping_mul(31).wrapping_add(7);
        let n = (1 + self.step % 97).min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    let opts = DecodeOptions::default();
    let whole = run(data, &opts);

    let gzip_input = data.starts_with(&[0x1f, 0x8b]);
    if !gzip_input {
        let mut last_offset = None;
        for record in &whole.records {
            if let Item::Event { raw, offset, .. } = record {
                let start = *offset as usize;
                assert_eq!(
                    data.get(start..start + raw.len()),
                    Some(&raw[..]),
                    "an event is the input's bytes at its position"
                );
                if whole.text_lines {
                    assert!(
                        !raw.contains(&b'\n'),
                        "a text record is one line: {:?}",
                        String::from_utf8_lossy(raw)
                    );
                } else {
                    // The splitter is structural (the normalizer validates): `{"a":[}]` is
                    // one record, refused later as invalid JSON.
                    assert!(
                        raw.trim_ascii().starts_with(b"{"),
                        "an event starts as an object: {:?}",
                        String::from_utf8_lossy(raw)
                    );
                }
                assert!(last_offset < Some(start), "events move forward");
                last_offset = Some(start);
            }
        }
    }

    let chunked = run(
        Chunked {
            data,
            step: data.len(),
        },
        &opts,
    );
    assert_eq!(chunked, whole, "chunked reads give the same records");

    if !gzip_input {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        let compressed = encoder.finish().unwrap();
        let gzipped = run(&compressed[..], &opts);
        assert_eq!(gzipped.records, whole.records, "gzip changes nothing");
        assert_eq!(gzipped.error.is_some(), whole.error.is_some());
    }

    let small = DecodeOptions {
        max_event_bytes: 64,
    };
    for record in run(data, &small).records {
        if let Item::Event { raw, .. } = record {
            assert!(raw.len() <= 64, "an event over the limit was delivered");
        }
    }
});
