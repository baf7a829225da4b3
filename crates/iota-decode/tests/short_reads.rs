//! A long record arriving in short reads (a pipe, a slow producer) is gathered without
//! copying the buffer again on every read: the bytes allocated stay a small multiple of the
//! record. Found with the `decode` fuzz target, which reads its inputs in 1-97 byte chunks
//! and ran slowly on long records. One test in its own binary, so that the
//! allocator counts its allocations only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{self, Read};
use std::sync::atomic::{AtomicUsize, Ordering};

use iota_decode::{decode, DecodeOptions, Record};

struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: defers to the system allocator; only bookkeeping is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Hands out `data` 512 bytes per read.
struct Short<'a>(&'a [u8]);

impl Read for Short<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(512).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn a_long_record_in_short_reads_is_not_copied_on_every_read() {
    let record = format!("{{\"pad\":\"{}\"}}\n", "x".repeat(900_000));
    let before = ALLOCATED.load(Ordering::Relaxed);
    let mut events = 0;
    decode(
        Short(record.as_bytes()),
        "pipe",
        &DecodeOptions::default(),
        &mut |r| {
            assert!(matches!(r, Record::Event { raw, .. } if raw.len() == record.len() - 1));
            events += 1;
        },
    )
    .unwrap();
    let allocated = ALLOCATED.load(Ordering::Relaxed) - before;
    assert_eq!(events, 1);
    // Growing the buffer exactly on each of the ~1,800 reads allocated ~1 GB.
    assert!(
        allocated < 8 * record.len(),
        "{allocated} bytes allocated for a record of {}",
        record.len()
    );
}
