//! A real CloudTrail log file (tests/data, MIT licensed, see SOURCE.txt) round-trips.

use iota_decode::{DecodeOptions, Format};
use serde_json::Value;

use crate::common::{gzip, run, run_with, Trickle};

const SEED: &[u8] = include_bytes!(
    "../data/218007301253_CloudTrail_us-east-1_20230710T1235Z_kboLbHJlz2H6cLyo.json"
);

fn expected_records() -> Vec<Value> {
    let file: Value = serde_json::from_slice(SEED).expect("seed file is valid JSON");
    file["Records"]
        .as_array()
        .expect("seed file has Records")
        .clone()
}

#[test]
fn real_cloudtrail_file_round_trips() {
    let expected = expected_records();
    assert_eq!(expected.len(), 4);
    let out = run(SEED);
    let stats = out.stats();
    assert_eq!(stats.format, Some(Format::CloudTrailRecords));
    assert_eq!((stats.events, stats.malformed), (4, 0));
    for (item, want) in out.items.iter().zip(&expected) {
        let raw = item.event().expect("every record is an event");
        let got: Value = serde_json::from_slice(raw).expect("event slice is valid JSON");
        assert_eq!(&got, want);
        // The slice is the input's own bytes, not a re-serialisation.
        let at = item.position().byte_offset as usize;
        assert_eq!(&SEED[at..at + raw.len()], raw);
    }
}

#[test]
fn real_cloudtrail_file_gzipped_trickled_and_reshaped() {
    let expected = expected_records();
    let parse = |raws: Vec<&[u8]>| -> Vec<Value> {
        raws.into_iter()
            .map(|raw| serde_json::from_slice(raw).unwrap())
            .collect()
    };
    let opts = DecodeOptions::default();

    let out = run(&gzip(SEED));
    assert_eq!(parse(out.events()), expected);

    let trickle = Trickle {
        data: SEED,
        max: 5,
        state: 7,
    };
    let out = run_with(trickle, "seed.json", &opts);
    assert_eq!(parse(out.events()), expected);

    let lines: String = expected.iter().map(|v| format!("{v}\n")).collect();
    let out = run(lines.as_bytes());
    assert_eq!(out.stats().format, Some(Format::JsonObjects));
    assert_eq!(parse(out.events()), expected);

    let array = serde_json::to_string_pretty(&expected).unwrap();
    let out = run(array.as_bytes());
    assert_eq!(out.stats().format, Some(Format::JsonArray));
    assert_eq!(parse(out.events()), expected);
}
