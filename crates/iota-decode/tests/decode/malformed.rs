//! Bad records are reported once, with where and why, and decoding carries on.

use iota_decode::{DecodeOptions, Format, Position};

use crate::common::{run, run_with, Item};

fn reasons(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .filter_map(Item::malformed)
        .map(|m| m.reason.clone())
        .collect()
}

#[test]
fn malformed_lines_mid_file_keep_neighbours_and_line_numbers() {
    let input = concat!(
        "{\"id\":1}\n",
        "not json at all\n",
        "{\"id\":2}\n",
        "{\"id\":3,\"cut\":\"in the midd\n",
        "{\"id\":4}\n",
        "{\"id\":5,\"cut\":\n",
        "{\"id\":6}\n",
        "\"a string line\"\n",
        "{\"id\":7}\n",
    );
    let out = run(input.as_bytes());
    assert_eq!(
        out.event_strings(),
        [
            "{\"id\":1}",
            "{\"id\":2}",
            "{\"id\":4}",
            "{\"id\":6}",
            "{\"id\":7}"
        ]
    );
    let lines: Vec<(u64, bool)> = out
        .items
        .iter()
        .map(|i| (i.position().line, i.event().is_some()))
        .collect();
    assert_eq!(
        lines,
        [
            (1, true),
            (2, false),
            (3, true),
            (4, false),
            (5, true),
            (6, false),
            (7, true),
            (8, false),
            (9, true)
        ]
    );
    let indexes: Vec<u64> = out.items.iter().map(|i| i.position().index).collect();
    assert_eq!(indexes, (0..9).collect::<Vec<_>>());
    let reasons = reasons(&out.items);
    assert!(reasons[0].contains("found 'n'"), "{}", reasons[0]);
    assert!(
        reasons[1].contains("line break inside a string"),
        "{}",
        reasons[1]
    );
    assert!(reasons[2].contains("truncated record"), "{}", reasons[2]);
    assert!(reasons[2].contains("line 7"), "{}", reasons[2]);
    assert!(reasons[3].contains("found '\"'"), "{}", reasons[3]);
    let stats = out.stats();
    assert_eq!((stats.events, stats.malformed), (5, 4));
    assert_eq!(stats.format, Some(Format::JsonObjects));
    let second = out.malformed()[0].position;
    assert_eq!(
        second,
        Position {
            line: 2,
            byte_offset: 9,
            index: 1
        }
    );
    assert_eq!(
        out.malformed()[0].to_string(),
        format!("line 2 (byte 9, record 1): {}", reasons[0])
    );
}

#[test]
fn broken_first_line_is_reported_and_the_rest_decoded() {
    let out = run(b"{\"a\":1,\n{\"id\":2}\n{\"id\":3}\n");
    assert_eq!(out.event_strings(), ["{\"id\":2}", "{\"id\":3}"]);
    assert_eq!(out.malformed().len(), 1);
    assert_eq!(out.malformed()[0].position.line, 1);
    assert_eq!(out.stats().format, Some(Format::JsonObjects));
}

#[test]
fn binary_garbage_lines_are_skipped_up_to_the_next_object() {
    // A first line that is not text cannot start a text log: it is broken JSON.
    let out = run(b"\x89PNG\x01\nmore garbage\n  {\"indented\":true}\n{\"id\":1}\n");
    assert_eq!(out.event_strings(), ["{\"id\":1}"]);
    assert_eq!(out.malformed().len(), 1);
    assert_eq!(out.malformed()[0].position.line, 1);
    assert_eq!(
        out.malformed()[0].reason,
        "expected '{' or '[' at the start of a record, found byte 0x89; skipping to the next \
         line that starts with '{'"
    );
    assert_eq!(out.stats().format, Some(Format::JsonObjects));
}

#[test]
fn a_text_line_after_json_is_still_malformed_json() {
    let out = run(b"{\"id\":1}\ngarbage\nmore garbage\n{\"id\":2}\n");
    assert_eq!(out.event_strings(), ["{\"id\":1}", "{\"id\":2}"]);
    assert_eq!(out.malformed().len(), 1);
    assert!(out.malformed()[0]
        .reason
        .contains("skipping to the next line"));
}

#[test]
fn non_object_records_are_reported_and_skipped() {
    let input = br#"{"Records":[{"id":1},"str",42,-1.5,true,null,[{"id":"x"}],{"id":2},oops]}"#;
    let out = run(input);
    assert_eq!(out.event_strings(), [r#"{"id":1}"#, r#"{"id":2}"#]);
    assert_eq!(
        reasons(&out.items),
        [
            "record is a JSON string, expected an object",
            "record is a JSON number, expected an object",
            "record is a JSON number, expected an object",
            "record is a JSON boolean, expected an object",
            "record is JSON null, expected an object",
            "record is a JSON array, expected an object",
            "record is not JSON (it starts with 'o'), expected an object",
        ]
    );
    let indexes: Vec<u64> = out.items.iter().map(|i| i.position().index).collect();
    assert_eq!(indexes, (0..9).collect::<Vec<_>>());
    assert_eq!(out.stats().malformed, 7);
}

#[test]
fn missing_comma_between_records_is_reported_once() {
    let input = br#"[{"id":1}{"id":2} {"id":3},{"id":4}]"#;
    let out = run(input);
    assert_eq!(
        out.event_strings(),
        [r#"{"id":1}"#, r#"{"id":2}"#, r#"{"id":3}"#, r#"{"id":4}"#]
    );
    let malformed = out.malformed();
    assert_eq!(malformed.len(), 2);
    assert!(malformed[0].reason.contains("missing ','"));
    assert_eq!(malformed[0].position.byte_offset, 9);
    // The report shares the position of the record it precedes.
    assert_eq!(malformed[0].position, out.items[2].position());
    assert_eq!(malformed[1].position.byte_offset, 18);
}

#[test]
fn record_over_the_limit_is_skipped_and_the_next_delivered() {
    let opts = DecodeOptions {
        max_event_bytes: 100,
    };
    let big = format!(r#"{{"id":"big","pad":"{}"}}"#, "x".repeat(500));
    let small = r#"{"id":"small"}"#;
    let exact = format!(r#"{{"p":"{}"}}"#, "y".repeat(100 - 8));
    assert_eq!(exact.len(), 100);
    for input in [
        format!(r#"{{"Records":[{big},{small},{exact}]}}"#),
        format!("{big}\n{small}\n{exact}\n"),
        format!("[{big},{small},{exact}]"),
    ] {
        let out = run_with(input.as_bytes(), "t", &opts);
        assert_eq!(out.event_strings(), [small, exact.as_str()], "{input}");
        let malformed = out.malformed();
        assert_eq!(malformed.len(), 1);
        assert_eq!(
            malformed[0].reason,
            format!(
                "record is {} bytes, over the limit of 100 bytes; skipped",
                big.len()
            )
        );
        assert_eq!(malformed[0].position.index, 0);
    }
}

#[test]
fn end_of_input_inside_a_record() {
    let out = run(br#"{"Records":[{"id":1},{"id":2,"x":["#);
    assert_eq!(out.event_strings(), [r#"{"id":1}"#]);
    assert_eq!(
        reasons(&out.items),
        ["truncated record: input ended inside it after 13 bytes"]
    );
    let out = run(b"{\"id\":1}\n{\"id\":2,\"s\":\"abc");
    assert_eq!(out.event_strings(), [r#"{"id":1}"#]);
    assert_eq!(out.malformed().len(), 1);
    assert!(out.malformed()[0].reason.starts_with("truncated record"));
    assert_eq!(out.malformed()[0].position.line, 2);
}

#[test]
fn end_of_input_inside_an_array_or_wrapper() {
    let out = run(br#"{"Records":[{"id":1},"#);
    assert_eq!(out.event_strings(), [r#"{"id":1}"#]);
    assert_eq!(
        reasons(&out.items),
        ["input ended inside the Records array (missing ']')"]
    );
    let out = run(br#"{"Records":[{"id":1}]"#);
    assert_eq!(out.event_strings(), [r#"{"id":1}"#]);
    assert_eq!(
        reasons(&out.items),
        ["input ended inside the top-level object (missing '}')"]
    );
    let out = run(br#"[{"id":1}"#);
    assert_eq!(
        reasons(&out.items),
        ["input ended inside the top-level array (missing ']')"]
    );
}

#[test]
fn unrecoverable_structure_is_reported_once_and_stops() {
    let out = run(br#"{"Records":[{"id":1}}, {"id":2}]}"#);
    assert_eq!(out.event_strings(), [r#"{"id":1}"#]);
    assert_eq!(out.malformed().len(), 1);
    assert!(out.malformed()[0]
        .reason
        .contains("found '}' where ',' or ']' was expected"));
    assert!(out.result.is_ok());
}

#[test]
fn empty_array_slots_and_trailing_commas() {
    let out = run(br#"[{"id":1},,{"id":2},]"#);
    assert_eq!(out.event_strings(), [r#"{"id":1}"#, r#"{"id":2}"#]);
    assert_eq!(
        reasons(&out.items),
        ["empty record: ',' where a record was expected"]
    );
}

#[test]
fn deep_nesting_neither_overflows_nor_hangs() {
    let depth = 100_000;
    let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let input = format!("[{deep},{{\"id\":1}}]");
    let out = run(input.as_bytes());
    assert_eq!(out.event_strings(), [r#"{"id":1}"#]);
    assert_eq!(
        reasons(&out.items),
        ["record is a JSON array, expected an object"]
    );

    let deep_event = format!(
        "{{\"a\":{}{}}}\n{{\"id\":1}}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let out = run(deep_event.as_bytes());
    assert_eq!(out.events().len(), 2);
    assert_eq!(out.events()[0].len(), 2 * depth + 6);

    // Never closed: reported as truncated at the end.
    let unclosed = format!("{{\"a\":{}", "{\"b\":".repeat(depth));
    let out = run(unclosed.as_bytes());
    assert_eq!(out.events().len(), 0);
    assert_eq!(out.malformed().len(), 1);
    assert!(out.malformed()[0].reason.starts_with("truncated record"));
}
