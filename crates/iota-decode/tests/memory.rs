//! Memory stays bounded by the event size limit plus one read buffer, whatever the size of
//! the input or of a single record. Inputs are generated while being read, so the only
//! large allocations are the decoder's own; a counting allocator measures them.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{self, Read};
use std::sync::atomic::{AtomicUsize, Ordering};

use iota_decode::{decode, DecodeOptions, Format, Record};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: defers to the system allocator; only bookkeeping is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Reads `head`, then `fill` repeated `repeat` times, then `tail`, without materialising it.
struct Generated {
    parts: Vec<(Vec<u8>, usize)>,
    part: usize,
    offset: usize,
    done: usize,
}

impl Generated {
    fn new(head: &str, fill: &str, repeat: usize, tail: &str) -> Self {
        Self {
            parts: vec![
                (head.as_bytes().to_vec(), 1),
                (fill.as_bytes().to_vec(), repeat),
                (tail.as_bytes().to_vec(), 1),
            ],
            part: 0,
            offset: 0,
            done: 0,
        }
    }

    fn len(&self) -> u64 {
        self.parts.iter().map(|(b, n)| (b.len() * n) as u64).sum()
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut written = 0;
        while written < buf.len() && self.part < self.parts.len() {
            let (bytes, repeat) = &self.parts[self.part];
            if self.done == *repeat {
                self.part += 1;
                self.done = 0;
                continue;
            }
            let n = (bytes.len() - self.offset).min(buf.len() - written);
            buf[written..written + n].copy_from_slice(&bytes[self.offset..self.offset + n]);
            written += n;
            self.offset += n;
            if self.offset == bytes.len() {
                self.offset = 0;
                self.done += 1;
            }
        }
        Ok(written)
    }
}

struct Run {
    events: Vec<Vec<u8>>,
    reasons: Vec<String>,
    event_count: u64,
    format: Option<Format>,
    peak: usize,
}

/// Decodes `input` keeping only the small events, and measures peak heap growth.
fn decode_measured(input: Generated) -> Run {
    let expected_len = input.len();
    decode_measured_from(input, expected_len)
}

fn decode_measured_from(input: impl Read, expected_len: u64) -> Run {
    let mut events = Vec::with_capacity(16);
    let mut reasons = Vec::with_capacity(16);
    let mut event_count = 0;
    // The input may allocate lazily (an encoder does); that counts against the bound too.
    let baseline = LIVE.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    let stats = decode(
        input,
        "generated",
        &DecodeOptions::default(),
        &mut |record| match record {
            Record::Event { raw, .. } => {
                event_count += 1;
                if raw.len() < 100 && events.len() < 16 {
                    events.push(raw.to_vec());
                }
            }
            Record::Malformed(m) => reasons.push(m.reason),
        },
    )
    .expect("generated input decodes");
    let peak = PEAK.load(Ordering::Relaxed) - baseline;
    assert_eq!(stats.bytes_decoded, expected_len);
    Run {
        events,
        reasons,
        event_count,
        format: stats.format,
        peak,
    }
}

/// The window (limit + one chunk) and, while it grows, its previous allocation; plus slack
/// for gzip state (compressed read-ahead, inflate window) and the test's own encoder.
const BOUND: usize = 2 * (1024 * 1024 + 256 * 1024) + 1024 * 1024;

#[test]
fn memory_is_bounded_for_huge_records_and_huge_inputs() {
    // A single 50 MB line over the limit, between two small events.
    let fill = "x".repeat(1024);
    let run = decode_measured(Generated::new(
        "{\"id\":1}\n{\"big\":\"",
        &fill,
        50 * 1024,
        "\"}\n{\"id\":2}\n",
    ));
    assert_eq!(run.events, [b"{\"id\":1}".to_vec(), b"{\"id\":2}".to_vec()]);
    let size = "{\"big\":\"".len() + 50 * 1024 * 1024 + "\"}".len();
    assert_eq!(
        run.reasons,
        [format!(
            "record is {size} bytes, over the limit of 1048576 bytes; skipped"
        )]
    );
    assert!(run.peak < BOUND, "peak heap {} bytes", run.peak);

    // The same record inside a Records array.
    let run = decode_measured(Generated::new(
        "{\"Records\":[{\"id\":1},{\"big\":[\"",
        &format!("{fill}\",\""),
        50 * 1024,
        "\"]},{\"id\":2}]}",
    ));
    assert_eq!(run.events, [b"{\"id\":1}".to_vec(), b"{\"id\":2}".to_vec()]);
    assert_eq!(run.reasons.len(), 1);
    assert!(run.peak < BOUND, "peak heap {} bytes", run.peak);

    // A 100 MB Records file of ordinary events.
    let event = format!(
        "{{\"eventName\":\"GetObject\",\"pad\":\"{}\"}},",
        "p".repeat(1000)
    );
    let count = 100 * 1024 * 1024 / event.len();
    let run = decode_measured(Generated::new(
        "{\"Records\":[",
        &event,
        count,
        "{\"id\":\"last\"}]}",
    ));
    assert_eq!(run.event_count, count as u64 + 1);
    assert!(run.reasons.is_empty());
    assert_eq!(run.format, Some(Format::CloudTrailRecords));
    assert!(run.peak < BOUND, "peak heap {} bytes", run.peak);

    // 200 MB of JSON lines, gzip-compressed while being read.
    let line = format!(
        "{{\"eventName\":\"PutObject\",\"pad\":\"{}\"}}\n",
        "q".repeat(500)
    );
    let count = 200 * 1024 * 1024 / line.len();
    let input = Generated::new("", &line, count, "");
    let len = input.len();
    let gz = flate2::read::GzEncoder::new(input, flate2::Compression::fast());
    let run = decode_measured_from(gz, len);
    assert_eq!(run.event_count, count as u64);
    assert_eq!(run.format, Some(Format::JsonObjects));
    assert!(run.peak < BOUND, "peak heap {} bytes", run.peak);
}
