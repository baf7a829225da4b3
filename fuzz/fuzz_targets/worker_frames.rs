//! The worker protocol as iota reads it (`iota_rules::worker::fuzzing`): length-prefixed
//! frames through a real pipe, and batch answers. The first byte picks the check:
//! - even: the next two bytes are a batch's size and rule count, the rest is what a worker
//!   (or a rule writing to the protocol pipe) writes: the frames read are exactly the
//!   stream's length-prefixed pieces, in order, reading ends at the stream's end or at a
//!   frame announced over the limit, and each frame read as the answer to that batch is
//!   refused or names only events and rules of the batch;
//! - odd: the rest, cut at 0xff bytes, are payloads that iota sends as frames: they are read
//!   back unchanged.

#![no_main]

use iota_rules::worker::fuzzing::{read_frames, read_results, round_trip, StreamEnd, MAX_STREAM};
use libfuzzer_sys::fuzz_target;

/// The largest frame the protocol accepts.
const MAX_FRAME: usize = 1 << 30;

fuzz_target!(|data: &[u8]| {
    // Every payload gains a 4-byte header: the stream must still fit the pipe.
    if data.len() * 5 > MAX_STREAM {
        return;
    }
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 1 {
        let payloads: Vec<Vec<u8>> = rest.split(|&b| b == 0xff).map(<[u8]>::to_vec).collect();
        let (frames, end) = round_trip(&payloads);
        assert_eq!(frames, payloads, "frames read back as sent");
        assert_eq!(end, StreamEnd::Closed);
        return;
    }

    let [events, rules, rest @ ..] = rest else {
        return;
    };
    let (events, rules) = (usize::from(events % 16), usize::from(rules % 16));
    let (frames, end) = read_frames(rest);
    let mut at = 0;
    for frame in &frames {
        let header = &rest[at..at + 4];
        assert_eq!(
            u32::from_le_bytes(header.try_into().unwrap()) as usize,
            frame.len()
        );
        assert_eq!(&rest[at + 4..at + 4 + frame.len()], &frame[..]);
        at += 4 + frame.len();
    }
    let left = &rest[at..];
    match end {
        StreamEnd::Closed => {
            let announced = left
                .get(..4)
                .map(|h| u32::from_le_bytes(h.try_into().unwrap()) as usize);
            assert!(
                announced.is_none_or(|n| n <= MAX_FRAME && left.len() < 4 + n),
                "a complete frame was left unread"
            );
        }
        StreamEnd::Protocol(_) => {
            let announced = u32::from_le_bytes(left[..4].try_into().unwrap()) as usize;
            assert!(announced > MAX_FRAME, "a frame within the limit refused");
        }
    }

    for frame in &frames {
        if let Ok((matches, errors)) = read_results(frame, 7, events, rules) {
            for m in &matches {
                assert!(
                    m.event < events && m.rule < rules,
                    "{m:?} outside the batch"
                );
            }
            for e in &errors {
                assert!(
                    e.event.is_none_or(|i| i < events),
                    "{e:?} outside the batch"
                );
                assert!(
                    e.rule.is_none_or(|r| r < rules),
                    "{e:?} outside the rule set"
                );
            }
        }
    }
});
