//! Every accepted layout yields exactly its events, byte for byte.

use iota_decode::{DecodeOptions, Format, Position, Skipped};

use crate::common::{gzip, run, run_with, Outcome, Trickle};

const E1: &str = r#"{"eventID":"1","eventName":"GetObject","requestParameters":{"bucketName":"b","key":"a}b]c\"{"}}"#;
const E2: &str = r#"{"eventID":"2","resources":[{"ARN":"arn:aws:s3:::b"},{"ARN":"x"}],"n":1.5e3,"ok":true,"nil":null}"#;
const E3: &str = r#"{"eventID":"3","userIdentity":{"type":"Root","path":"C:\\temp\\"}}"#;

fn records_file() -> String {
    format!(r#"{{"Records":[{E1},{E2},{E3}]}}"#)
}

fn assert_three(out: &Outcome, format: Format) {
    assert_eq!(out.event_strings(), [E1, E2, E3]);
    assert!(out.malformed().is_empty(), "{:?}", out.malformed());
    let stats = out.stats();
    assert_eq!(stats.format, Some(format));
    assert_eq!(stats.events, 3);
    assert_eq!(stats.skipped, None);
}

#[test]
fn cloudtrail_records_plain() {
    let input = records_file();
    let out = run(input.as_bytes());
    assert_three(&out, Format::CloudTrailRecords);
    let stats = out.stats();
    assert!(!stats.gzip);
    assert_eq!(stats.bytes_read, input.len() as u64);
    assert_eq!(stats.bytes_decoded, input.len() as u64);
    let positions: Vec<Position> = out.items.iter().map(|i| i.position()).collect();
    let second = 12 + E1.len() as u64 + 1;
    assert_eq!(
        positions,
        [
            Position {
                line: 1,
                byte_offset: 12,
                index: 0
            },
            Position {
                line: 1,
                byte_offset: second,
                index: 1
            },
            Position {
                line: 1,
                byte_offset: second + E2.len() as u64 + 1,
                index: 2
            },
        ]
    );
}

#[test]
fn cloudtrail_records_gzip() {
    let input = records_file();
    let compressed = gzip(input.as_bytes());
    let out = run_with(&compressed[..], "x.json.gz", &DecodeOptions::default());
    assert_three(&out, Format::CloudTrailRecords);
    let stats = out.stats();
    assert!(stats.gzip);
    assert_eq!(stats.bytes_read, compressed.len() as u64);
    assert_eq!(stats.bytes_decoded, input.len() as u64);
}

#[test]
fn gzip_is_detected_by_content_not_name() {
    let compressed = gzip(records_file().as_bytes());
    let out = run_with(&compressed[..], "no-extension", &DecodeOptions::default());
    assert_three(&out, Format::CloudTrailRecords);
    let plain = records_file();
    let out = run_with(
        plain.as_bytes(),
        "misnamed.json.gz",
        &DecodeOptions::default(),
    );
    assert_three(&out, Format::CloudTrailRecords);
    assert!(!out.stats().gzip);
}

#[test]
fn multi_member_gzip() {
    let mut compressed = gzip(format!("{E1}\n").as_bytes());
    compressed.extend(gzip(format!("{E2}\n").as_bytes()));
    compressed.extend(gzip(format!("{E3}\n").as_bytes()));
    let out = run(&compressed);
    assert_three(&out, Format::JsonObjects);
    let lines: Vec<u64> = out.items.iter().map(|i| i.position().line).collect();
    assert_eq!(lines, [1, 2, 3]);
}

#[test]
fn pretty_printed_records_file() {
    let value: serde_json::Value = serde_json::from_str(&records_file()).unwrap();
    let pretty = serde_json::to_string_pretty(&value).unwrap();
    let out = run(pretty.as_bytes());
    assert_eq!(out.stats().format, Some(Format::CloudTrailRecords));
    let events: Vec<serde_json::Value> = out
        .events()
        .iter()
        .map(|raw| serde_json::from_slice(raw).unwrap())
        .collect();
    assert_eq!(&events, value["Records"].as_array().unwrap());
}

#[test]
fn records_key_not_first_and_other_keys_ignored() {
    let input = format!(
        r#"{{"meta":{{"Records":[{{"not":"this"}}]}},"list":[1,{{"a":"]"}}],"s":"Records","Records":[{E1},{E2},{E3}],"after":{{"x":[]}}}}"#
    );
    let out = run(input.as_bytes());
    assert_three(&out, Format::CloudTrailRecords);
}

#[test]
fn concatenated_records_files() {
    let input = format!(r#"{{"Records":[{E1}]}}{{"Records":[{E2},{E3}]}}"#);
    assert_three(&run(input.as_bytes()), Format::CloudTrailRecords);
    let empty = run(br#"{"Records":[]}"#);
    assert_eq!(empty.items, []);
    assert_eq!(empty.stats().format, Some(Format::CloudTrailRecords));
    assert_eq!(empty.stats().skipped, None);
}

#[test]
fn records_key_not_holding_an_array_is_an_event() {
    let out = run(b"{\"Records\":null,\"a\":1}\n{\"Records\":{\"b\":[]}}\n");
    assert_eq!(
        out.event_strings(),
        [r#"{"Records":null,"a":1}"#, r#"{"Records":{"b":[]}}"#]
    );
    assert_eq!(out.stats().format, Some(Format::JsonObjects));
}

#[test]
fn json_lines() {
    let input = format!("{E1}\n{E2}\r\n\n{E3}");
    let out = run(input.as_bytes());
    assert_three(&out, Format::JsonObjects);
    let positions: Vec<Position> = out.items.iter().map(|i| i.position()).collect();
    assert_eq!(
        positions[0],
        Position {
            line: 1,
            byte_offset: 0,
            index: 0
        }
    );
    assert_eq!(
        positions[1],
        Position {
            line: 2,
            byte_offset: E1.len() as u64 + 1,
            index: 1
        }
    );
    assert_eq!(
        positions[2],
        Position {
            line: 4,
            byte_offset: (E1.len() + E2.len()) as u64 + 4,
            index: 2
        }
    );
}

#[test]
fn concatenated_and_pretty_printed_objects() {
    let pretty = |e: &str| {
        let v: serde_json::Value = serde_json::from_str(e).unwrap();
        serde_json::to_string_pretty(&v).unwrap()
    };
    let (p1, p2, p3) = (pretty(E1), pretty(E2), pretty(E3));
    let input = format!("{p1}\n{p2}{p3}  ");
    let out = run(input.as_bytes());
    assert_eq!(out.event_strings(), [p1.clone(), p2.clone(), p3.clone()]);
    assert_eq!(out.stats().format, Some(Format::JsonObjects));
    assert!(out.malformed().is_empty());
    let lines: Vec<u64> = out.items.iter().map(|i| i.position().line).collect();
    let p1_lines = p1.lines().count() as u64;
    let p2_lines = p2.lines().count() as u64;
    assert_eq!(lines, [1, 1 + p1_lines, p1_lines + p2_lines]);
    // Concatenated without any separator.
    let out = run(format!("{E1}{E2}{E3}").as_bytes());
    assert_three(&out, Format::JsonObjects);
}

#[test]
fn top_level_array() {
    let input = format!("[{E1},\n {E2} , {E3}]\n");
    let out = run(input.as_bytes());
    assert_three(&out, Format::JsonArray);
    let lines: Vec<u64> = out.items.iter().map(|i| i.position().line).collect();
    assert_eq!(lines, [1, 2, 2]);
    assert_eq!(run(b" [ ] ").items, []);
    assert_eq!(run(b"[]").stats().format, Some(Format::JsonArray));
}

#[test]
fn utf8_bom_is_skipped() {
    let mut input = b"\xef\xbb\xbf".to_vec();
    input.extend(records_file().as_bytes());
    let out = run(&input);
    assert_three(&out, Format::CloudTrailRecords);
    assert_eq!(out.items[0].position().byte_offset, 15);
    let out = run(&gzip(&input));
    assert_three(&out, Format::CloudTrailRecords);
}

#[test]
fn empty_and_whitespace_only_inputs_are_skipped() {
    for input in [&b""[..], b" \n\t\r\n ", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n"] {
        let out = run(input);
        assert_eq!(out.items, [], "{input:?}");
        assert_eq!(out.stats().skipped, Some(Skipped::Empty), "{input:?}");
        assert_eq!(out.stats().format, None);
    }
    let out = run(&gzip(b""));
    assert_eq!(out.stats().skipped, Some(Skipped::Empty));
    assert!(out.stats().gzip);
    let big_blank = vec![b' '; 3 * 1024 * 1024];
    assert_eq!(run(&big_blank).stats().skipped, Some(Skipped::Empty));
}

#[test]
fn digest_files_are_skipped_by_name() {
    let input = records_file();
    let name = "AWSLogs/123/CloudTrail-Digest/us-east-1/2023/07/10/123_CloudTrail-Digest_us-east-1_x.json.gz";
    let out = run_with(input.as_bytes(), name, &DecodeOptions::default());
    assert_eq!(out.items, []);
    let stats = out.stats();
    assert_eq!(stats.skipped, Some(Skipped::CloudTrailDigest));
    assert_eq!(stats.bytes_read, 0);
}

#[test]
fn digest_files_are_skipped_by_content() {
    let digest = r#"{"awsAccountId":"123456789012","digestStartTime":"2023-07-10T11:00:00Z","digestEndTime":"2023-07-10T12:00:00Z","digestS3Bucket":"b","logFiles":[{"s3Bucket":"b","s3Object":"k"}]}"#;
    let out = run(&gzip(digest.as_bytes()));
    assert_eq!(out.items, []);
    assert_eq!(out.stats().skipped, Some(Skipped::CloudTrailDigest));
    let fingerprint = r#"{"logFiles":[],"digestPublicKeyFingerprint":"abc"}"#;
    let out = run(fingerprint.as_bytes());
    assert_eq!(out.items, []);
    assert_eq!(out.stats().skipped, Some(Skipped::CloudTrailDigest));
}

#[test]
fn config_writability_check_file_is_not_read() {
    let name = "AWSLogs/123/CloudTrail/ConfigWritabilityCheckFile";
    let mut reader = std::io::Cursor::new(b"this is not JSON".to_vec());
    let out = run_with(&mut reader, name, &DecodeOptions::default());
    assert_eq!(out.items, []);
    assert_eq!(out.stats().skipped, Some(Skipped::ConfigWritabilityCheck));
    assert_eq!(reader.position(), 0);
}

#[test]
fn text_lines_are_records_one_per_line() {
    // A VPC flow log as delivered to S3: a header line, records, CRLF on one line, blank
    // lines, and no line break after the last record.
    let text = b"version srcaddr dstaddr\n2 10.0.0.1 10.0.0.2\r\n\n   \n  2 10.0.0.3 10.0.0.4\n2 last line";
    for input in [text.to_vec(), gzip(text)] {
        let out = run(&input);
        assert_eq!(
            out.event_strings(),
            [
                "version srcaddr dstaddr",
                "2 10.0.0.1 10.0.0.2",
                "2 10.0.0.3 10.0.0.4",
                "2 last line"
            ]
        );
        assert_eq!(out.stats().format, Some(Format::TextLines));
        assert_eq!(out.stats().gzip, input[0] == 0x1f);
        let lines: Vec<u64> = out.items.iter().map(|i| i.position().line).collect();
        assert_eq!(lines, [1, 2, 5, 6]);
        let indexes: Vec<u64> = out.items.iter().map(|i| i.position().index).collect();
        assert_eq!(indexes, [0, 1, 2, 3]);
    }
}

#[test]
fn text_lines_trickled_and_over_the_limit() {
    let long = "x".repeat(300);
    let text = format!("first line\n{long}\nlast line\n");
    let opts = DecodeOptions {
        max_event_bytes: 100,
    };
    for max in [1, 7, 64] {
        let mut reader = Trickle {
            data: text.as_bytes(),
            max,
            state: max as u64,
        };
        let out = run_with(&mut reader, "flows.log", &opts);
        assert_eq!(
            out.event_strings(),
            ["first line", "last line"],
            "reads of {max}"
        );
        assert_eq!(out.malformed().len(), 1);
        assert_eq!(out.malformed()[0].position.line, 2);
        assert_eq!(
            out.malformed()[0].reason,
            "line is 300 bytes, over the limit of 100 bytes; skipped"
        );
    }
}
