//! Inputs larger than the read buffer: events straddling refills come out byte-identical.

use iota_decode::{DecodeOptions, Format};

use crate::common::{gzip, run, run_with, Item, Trickle};

/// A varied event: nested objects, brackets and escaped quotes inside strings, and a pad
/// whose length cycles so events land at every offset relative to the buffer.
fn event(i: usize) -> String {
    format!(
        r#"{{"eventID":"{i:06}","eventName":"Put{{Object}}]","requestParameters":{{"policy":"{{\"Statement\":[{{\"Effect\":\"Allow\",\"Resource\":\"arn:aws:s3:::b/*\"}}]}}","pad":"{pad}"}},"list":[1,2.5,{{"k":"]"}},[]],"path":"C:\\x\\","ok":true}}"#,
        pad = "a".repeat(i * 7919 % 3001)
    )
}

fn events(n: usize) -> Vec<String> {
    (0..n).map(event).collect()
}

/// Every delivered event equals the expected one and is found at its reported offset.
fn assert_identical(items: &[Item], input: &[u8], expected: &[String]) {
    let events: Vec<&Item> = items.iter().filter(|i| i.event().is_some()).collect();
    assert_eq!(events.len(), expected.len());
    for (i, (item, want)) in events.iter().zip(expected).enumerate() {
        let raw = item.event().unwrap();
        assert_eq!(raw, want.as_bytes(), "event {i}");
        let at = item.position().byte_offset as usize;
        assert_eq!(&input[at..at + raw.len()], raw, "event {i} offset");
        assert_eq!(item.position().index, i as u64);
    }
}

#[test]
fn json_lines_larger_than_the_buffer() {
    let expected = events(4000);
    let input: String = expected.iter().map(|e| format!("{e}\n")).collect();
    assert!(input.len() > 6 * 1024 * 1024);
    let out = run(input.as_bytes());
    assert!(out.malformed().is_empty());
    assert_identical(&out.items, input.as_bytes(), &expected);
    for (i, item) in out.items.iter().enumerate() {
        assert_eq!(item.position().line, i as u64 + 1);
    }
    let stats = out.stats();
    assert_eq!(stats.format, Some(Format::JsonObjects));
    assert_eq!(stats.bytes_decoded, input.len() as u64);

    let compressed = gzip(input.as_bytes());
    let out = run(&compressed);
    assert_identical(&out.items, input.as_bytes(), &expected);
    assert_eq!(out.stats().bytes_read, compressed.len() as u64);
}

#[test]
fn records_file_larger_than_the_buffer() {
    let expected = events(4000);
    let input = format!("{{\"Records\":[{}]}}", expected.join(","));
    let out = run(input.as_bytes());
    assert!(out.malformed().is_empty());
    assert_identical(&out.items, input.as_bytes(), &expected);
    assert_eq!(out.stats().format, Some(Format::CloudTrailRecords));
    let out = run(&gzip(input.as_bytes()));
    assert_identical(&out.items, input.as_bytes(), &expected);
}

#[test]
fn every_split_point_between_reads() {
    let expected = events(60);
    let opts = DecodeOptions::default();
    let records = format!("{{\"Records\":[{}]}}", expected.join(" , "));
    let lines: String = expected.iter().map(|e| format!("{e}\r\n")).collect();
    let array = format!("[\n{}\n]", expected.join(",\n"));
    for input in [records, lines, array] {
        for (max, seed) in [(1, 1), (3, 2), (17, 3), (4096, 4)] {
            let trickle = Trickle {
                data: input.as_bytes(),
                max,
                state: seed,
            };
            let out = run_with(trickle, "t", &opts);
            assert!(out.malformed().is_empty(), "{:?}", out.malformed());
            assert_identical(&out.items, input.as_bytes(), &expected);
        }
    }
}

#[test]
fn oversized_records_are_dropped_while_they_stream_in() {
    let opts = DecodeOptions {
        max_event_bytes: 1000,
    };
    let all = events(40);
    let (small, big): (Vec<String>, Vec<String>) =
        all.iter().cloned().partition(|e| e.len() <= 1000);
    assert!(!small.is_empty() && !big.is_empty());
    for input in [
        format!("{{\"Records\":[{}]}}", all.join(",")),
        all.iter().map(|e| format!("{e}\n")).collect(),
    ] {
        for max in [7, 300, 100_000] {
            let trickle = Trickle {
                data: input.as_bytes(),
                max,
                state: 9,
            };
            let out = run_with(trickle, "t", &opts);
            assert_eq!(out.event_strings(), small);
            let reasons: Vec<String> = out.malformed().iter().map(|m| m.reason.clone()).collect();
            let want: Vec<String> = big
                .iter()
                .map(|e| {
                    format!(
                        "record is {} bytes, over the limit of 1000 bytes; skipped",
                        e.len()
                    )
                })
                .collect();
            assert_eq!(reasons, want);
        }
    }
}
