//! The bad-input corpus: each case writes its input (files, directories, symlinks, or bytes
//! for standard input) into an empty directory and says what `iota scan` must make of it.
//! Inputs are generated rather than checked in, so that the repository does not carry a
//! 50 MB line or a 1 GiB gzip bomb. `README.md` beside this file lists the cases.
//!
//! Most inputs hold good `StopLogging` events around the bad part: the fixture rule
//! `stop_logging` alerts once per eventID, so the alerts say exactly which good events were
//! evaluated.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Value};

use crate::common::{event, gzip, write};

/// One bad input and what a scan of it must give.
pub struct Case {
    pub name: &'static str,
    /// Writes the input under the given empty directory.
    pub build: fn(&Path) -> Target,
    pub expect: Expect,
    /// What to expect instead when the build finds that permissions do not stop this process
    /// from reading (root): the "unreadable" input is read then.
    pub privileged: Option<Expect>,
}

/// What to scan.
pub struct Target {
    /// Options before the paths.
    pub options: Vec<String>,
    pub paths: Vec<PathBuf>,
    /// Bytes for the scan's standard input.
    pub stdin: Option<Vec<u8>>,
    /// A file or directory meant to be unreadable can be read all the same.
    pub privileged: bool,
}

/// The outcome of one scan.
pub struct Expect {
    pub exit: i32,
    /// The summary's counts.
    pub events: i64,
    pub malformed: i64,
    pub input_errors: i64,
    pub skipped: i64,
    /// The eventIDs of the `stop_logging` alerts, in any order.
    pub alerts: &'static [&'static str],
    /// Every WARN and ERROR record of the scan, in any order, each matched once.
    pub reports: Vec<Report>,
}

/// One WARN or ERROR record.
pub struct Report {
    pub level: Level,
    /// The record's `input`: a path relative to the case directory, or an absolute path or
    /// `-` as given.
    pub input: &'static str,
    /// The record's `position`, `*` standing for any number; empty for a record without one.
    pub position: &'static str,
    /// A part of its message.
    pub message: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Level {
    Warn,
    Error,
}

const fn warn(input: &'static str, position: &'static str, message: &'static str) -> Report {
    Report {
        level: Level::Warn,
        input,
        position,
        message,
    }
}

const fn error(input: &'static str, message: &'static str) -> Report {
    Report {
        level: Level::Error,
        input,
        position: "",
        message,
    }
}

/// Nothing read, nothing reported: the base the cases change.
const NOTHING: Expect = Expect {
    exit: 0,
    events: 0,
    malformed: 0,
    input_errors: 0,
    skipped: 0,
    alerts: &[],
    reports: Vec::new(),
};

const GZIP_BROKEN: &str = "input could not be read completely: gzip stream is corrupt or truncated";
const NOT_AN_OBJECT_LINE: &str = "skipping to the next line that starts with '{'";

/// The decompressed size of the gzip bombs.
const ONE_GIB: usize = 1 << 30;

pub fn cases() -> Vec<Case> {
    vec![
        // gzip
        Case {
            name: "gzip_truncated",
            build: |dir| {
                let mut bytes = gzip(&records(&[&good("t0"), &good("t1"), &incompressible("tX")]));
                bytes.truncate(bytes.len() / 2);
                file(dir, "truncated.json.gz", &bytes)
            },
            expect: Expect {
                exit: 1,
                events: 2,
                input_errors: 1,
                alerts: &["t0", "t1"],
                reports: vec![error("truncated.json.gz", GZIP_BROKEN)],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "gzip_corrupt_deflate_data",
            build: |dir| {
                let mut rng = fastrand::Rng::with_seed(9);
                // A valid header, then a block of the reserved type 3 and random bytes.
                let mut bytes = gzip(b"")[..10].to_vec();
                bytes.push(0x07);
                bytes.extend((0..4096).map(|_| rng.u8(..)));
                file(dir, "corrupt.json.gz", &bytes)
            },
            expect: Expect {
                exit: 1,
                input_errors: 1,
                reports: vec![error(
                    "corrupt.json.gz",
                    "gzip stream is corrupt or truncated after 0 decompressed bytes",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "gzip_of_garbage",
            build: |dir| {
                let mut rng = fastrand::Rng::with_seed(9);
                let garbage: Vec<u8> = (0..4096).map(|_| rng.u8(0x80..)).collect();
                file(
                    dir,
                    "garbage.json.gz",
                    &gzip(&lines(&[&garbage, &good("g0")])),
                )
            },
            expect: Expect {
                events: 1,
                malformed: 1,
                alerts: &["g0"],
                reports: vec![warn(
                    "garbage.json.gz",
                    "line 1 (byte 0, record 0)",
                    "expected '{' or '[' at the start of a record, found byte 0x",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "gzip_header_only",
            build: |dir| file(dir, "header.json.gz", &gzip(&good("h0"))[..10]),
            expect: Expect {
                exit: 1,
                input_errors: 1,
                reports: vec![error(
                    "header.json.gz",
                    "gzip stream is corrupt or truncated after 0 decompressed bytes",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "gzip_bad_crc",
            build: |dir| {
                let mut bytes = gzip(&records(&[&good("c0"), &good("c1")]));
                let crc = bytes.len() - 8;
                bytes[crc] ^= 0xff;
                file(dir, "bad-crc.json.gz", &bytes)
            },
            expect: Expect {
                exit: 1,
                events: 2,
                input_errors: 1,
                alerts: &["c0", "c1"],
                reports: vec![error("bad-crc.json.gz", GZIP_BROKEN)],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "gzip_members_concatenated",
            build: |dir| {
                let whole = records(&[&good("m0"), &good("m1"), &good("m2")]);
                let mut bytes = Vec::new();
                // Members split mid-record, as `cat a.gz b.gz` of a split file would be.
                for part in whole.chunks(whole.len() / 3 + 1) {
                    bytes.extend(gzip(part));
                }
                file(dir, "members.json.gz", &bytes)
            },
            expect: Expect {
                events: 3,
                alerts: &["m0", "m1", "m2"],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "gzip_trailing_garbage",
            build: |dir| {
                let mut bytes = gzip(&records(&[&good("g0")]));
                bytes.extend([0u8; 512]);
                file(dir, "padded.json.gz", &bytes)
            },
            expect: Expect {
                exit: 1,
                events: 1,
                input_errors: 1,
                alerts: &["g0"],
                reports: vec![error("padded.json.gz", GZIP_BROKEN)],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "gzip_of_nothing",
            build: |dir| file(dir, "nothing.json.gz", &gzip(b"")),
            expect: Expect {
                skipped: 1,
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "gzip_bomb_of_zeros",
            build: |dir| {
                let path = dir.join("bomb.json.gz");
                gzip_stream(&path, |out| {
                    out.write_all(&lines(&[&good("z0")]))?;
                    let zeros = vec![0u8; 1 << 20];
                    for _ in 0..ONE_GIB / zeros.len() {
                        out.write_all(&zeros)?;
                    }
                    out.write_all(b"\n")?;
                    out.write_all(&lines(&[&good("z1")]))
                });
                target(vec![path])
            },
            expect: Expect {
                events: 2,
                malformed: 1,
                alerts: &["z0", "z1"],
                reports: vec![warn(
                    "bomb.json.gz",
                    "line 2 (byte *, record 1)",
                    "found byte 0x00; skipping to the next line that starts with '{'",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "gzip_bomb_in_one_record",
            build: |dir| {
                let path = dir.join("bomb.json.gz");
                let padded = good_with("bX", |e| {
                    e["requestParameters"]["padding"] = json!(PLACEHOLDER)
                });
                let (head, tail) = split_at_placeholder(&padded);
                gzip_stream(&path, |out| {
                    out.write_all(b"{\"Records\":[")?;
                    out.write_all(&good("b0"))?;
                    out.write_all(b",")?;
                    out.write_all(head)?;
                    let chunk = vec![b'A'; 1 << 20];
                    for _ in 0..ONE_GIB / chunk.len() {
                        out.write_all(&chunk)?;
                    }
                    out.write_all(tail)?;
                    out.write_all(b",")?;
                    out.write_all(&good("b1"))?;
                    out.write_all(b"]}")
                });
                target(vec![path])
            },
            expect: Expect {
                events: 2,
                malformed: 1,
                alerts: &["b0", "b1"],
                reports: vec![warn(
                    "bomb.json.gz",
                    "line 1 (byte *, record 1)",
                    "over the limit of 1048576 bytes; skipped",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        // Empty inputs and text encodings
        Case {
            name: "zero_byte_file",
            build: |dir| file(dir, "empty.json", b""),
            expect: Expect {
                skipped: 1,
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "whitespace_only",
            build: |dir| file(dir, "blank.json", b" \n\t\r\n   \n"),
            expect: Expect {
                skipped: 1,
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "utf8_bom_records",
            build: |dir| file(dir, "bom.json", &cat(&[UTF8_BOM, &records(&[&good("u0")])])),
            expect: Expect {
                events: 1,
                alerts: &["u0"],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "utf8_bom_json_lines_gzip",
            build: |dir| {
                let text = cat(&[UTF8_BOM, &lines(&[&good("u0"), &good("u1")])]);
                file(dir, "bom.jsonl.gz", &gzip(&text))
            },
            expect: Expect {
                events: 2,
                alerts: &["u0", "u1"],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "utf16_le_with_bom",
            build: |dir| {
                let text = utf16(&records(&[&good("w0")]), false);
                file(dir, "utf16le.json", &cat(&[&[0xff, 0xfe], &text]))
            },
            expect: Expect {
                exit: 1,
                input_errors: 1,
                reports: vec![error(
                    "utf16le.json",
                    "input is UTF-16 (little-endian) text, but only UTF-8 is supported; convert it \
                     first, e.g. `iconv -f UTF-16LE -t UTF-8`",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "utf16_be_with_bom",
            build: |dir| {
                let text = utf16(&records(&[&good("w0")]), true);
                file(dir, "utf16be.json", &cat(&[&[0xfe, 0xff], &text]))
            },
            expect: Expect {
                exit: 1,
                input_errors: 1,
                reports: vec![error("utf16be.json", "input is UTF-16 (big-endian) text")],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "utf16_le_without_bom",
            build: |dir| file(dir, "utf16.jsonl", &utf16(&lines(&[&good("w0")]), false)),
            expect: Expect {
                exit: 1,
                input_errors: 1,
                reports: vec![error("utf16.jsonl", "input is UTF-16 (little-endian) text")],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "utf16_be_gzip",
            build: |dir| {
                let text = utf16(&records(&[&good("w0")]), true);
                file(dir, "utf16.json.gz", &gzip(&text))
            },
            expect: Expect {
                exit: 1,
                input_errors: 1,
                reports: vec![error("utf16.json.gz", "input is UTF-16 (big-endian) text")],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "invalid_utf8_in_a_string",
            build: |dir| {
                let bad = replace_placeholder(
                    &good_with("iX", |e| e["userAgent"] = json!(PLACEHOLDER)),
                    b"aws-cli \xff\xfe",
                );
                file(
                    dir,
                    "latin.jsonl",
                    &lines(&[&good("i0"), &bad, &good("i1")]),
                )
            },
            expect: Expect {
                events: 2,
                malformed: 1,
                alerts: &["i0", "i1"],
                reports: vec![warn(
                    "latin.jsonl",
                    "line 2 (byte *, record 1)",
                    "invalid JSON: invalid UTF-8 at byte",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "utf8_encoded_surrogate",
            build: |dir| {
                // CESU-8 / WTF-8: a UTF-16 surrogate encoded as if it were a character.
                let bad = replace_placeholder(
                    &good_with("sX", |e| e["userAgent"] = json!(PLACEHOLDER)),
                    b"\xed\xa0\x80",
                );
                file(
                    dir,
                    "cesu.json",
                    &records(&[&good("s0"), &bad, &good("s1")]),
                )
            },
            expect: Expect {
                events: 2,
                malformed: 1,
                alerts: &["s0", "s1"],
                reports: vec![warn(
                    "cesu.json",
                    "line 1 (byte *, record 1)",
                    "invalid UTF-8 at byte",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "escaped_lone_surrogate",
            build: |dir| {
                let bad = replace_placeholder(
                    &good_with("sX", |e| e["userAgent"] = json!(PLACEHOLDER)),
                    b"\\ud800",
                );
                file(
                    dir,
                    "surrogate.jsonl",
                    &lines(&[&good("s0"), &bad, &good("s1")]),
                )
            },
            expect: Expect {
                events: 2,
                malformed: 1,
                alerts: &["s0", "s1"],
                reports: vec![warn(
                    "surrogate.jsonl",
                    "line 2 (byte *, record 1)",
                    "invalid JSON: Invalid surrogate",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "escaped_control_characters",
            build: |dir| {
                let e = good_with("x0", |e| e["userAgent"] = json!("nul\u{0}unit\u{1f}end"));
                assert!(e.windows(6).any(|w| w == b"\\u0000"));
                file(dir, "escaped.jsonl", &lines(&[&e]))
            },
            expect: Expect {
                events: 1,
                alerts: &["x0"],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "nul_bytes_in_a_string",
            build: |dir| {
                let bad = replace_placeholder(
                    &good_with("nX", |e| e["userAgent"] = json!(PLACEHOLDER)),
                    b"aws\0cli",
                );
                file(dir, "nul.jsonl", &lines(&[&good("n0"), &bad, &good("n1")]))
            },
            expect: Expect {
                events: 2,
                malformed: 1,
                alerts: &["n0", "n1"],
                reports: vec![warn(
                    "nul.jsonl",
                    "line 2 (byte *, record 1)",
                    "invalid JSON: Control character",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "nul_bytes_line",
            build: |dir| {
                file(
                    dir,
                    "nul.jsonl",
                    &lines(&[&good("n0"), &[0; 64], &good("n1")]),
                )
            },
            expect: Expect {
                events: 2,
                malformed: 1,
                alerts: &["n0", "n1"],
                reports: vec![warn(
                    "nul.jsonl",
                    "line 2 (byte *, record 1)",
                    "found byte 0x00; skipping to the next line that starts with '{'",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "nul_padding_after_records",
            build: |dir| {
                // What a crash leaves in a preallocated file.
                let bytes = cat(&[&records(&[&good("n0")]), &[0; 4096]]);
                file(dir, "padded.json", &bytes)
            },
            expect: Expect {
                events: 1,
                malformed: 1,
                alerts: &["n0"],
                reports: vec![warn(
                    "padded.json",
                    "line 1 (byte *, record 1)",
                    "found byte 0x00",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        // Structure
        Case {
            name: "records_not_an_array",
            build: |dir| {
                let wrapper = cat(&[b"{\"Records\":", &good("rX"), b"}"]);
                file(dir, "object.json", &lines(&[&wrapper, &good("r0")]))
            },
            expect: Expect {
                events: 1,
                malformed: 1,
                alerts: &["r0"],
                reports: vec![warn(
                    "object.json",
                    "line 1 (byte 0, record 0)",
                    "unknown log type: no eventVersion, eventSource or eventName field",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "records_null",
            build: |dir| {
                file(
                    dir,
                    "null.json",
                    &lines(&[b"{\"Records\":null}", &good("r0")]),
                )
            },
            expect: Expect {
                events: 1,
                malformed: 1,
                alerts: &["r0"],
                reports: vec![warn(
                    "null.json",
                    "line 1 (byte 0, record 0)",
                    "unknown log type",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "records_that_are_not_objects",
            build: |dir| {
                let nested = cat(&[b"[", &good("eX"), b"]"]);
                let bytes = records(&[
                    &good("e0"),
                    b"42",
                    b"\"text\"",
                    b"null",
                    b"true",
                    &nested,
                    &good("e1"),
                ]);
                file(dir, "scalars.json", &bytes)
            },
            expect: Expect {
                events: 2,
                malformed: 5,
                alerts: &["e0", "e1"],
                reports: vec![
                    warn(
                        "scalars.json",
                        "line 1 (byte *, record 1)",
                        "record is a JSON number, expected an object",
                    ),
                    warn(
                        "scalars.json",
                        "line 1 (byte *, record 2)",
                        "record is a JSON string, expected an object",
                    ),
                    warn(
                        "scalars.json",
                        "line 1 (byte *, record 3)",
                        "record is JSON null, expected an object",
                    ),
                    warn(
                        "scalars.json",
                        "line 1 (byte *, record 4)",
                        "record is a JSON boolean, expected an object",
                    ),
                    warn(
                        "scalars.json",
                        "line 1 (byte *, record 5)",
                        "record is a JSON array, expected an object",
                    ),
                ],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "missing_comma_between_records",
            build: |dir| {
                let bytes = cat(&[
                    b"{\"Records\":[",
                    &good("c0"),
                    b"\n  ",
                    &good("c1"),
                    b",",
                    &good("c2"),
                    b"]}",
                ]);
                file(dir, "commas.json", &bytes)
            },
            expect: Expect {
                events: 3,
                malformed: 1,
                alerts: &["c0", "c1", "c2"],
                reports: vec![warn(
                    "commas.json",
                    "line 2 (byte *, record 1)",
                    "missing ',' between this record and the previous one",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "missing_comma_between_members",
            build: |dir| {
                let bad = replace_placeholder(
                    &good_with("cX", |e| e["userAgent"] = json!(PLACEHOLDER)),
                    b"aws-cli\" \"extra\":\"member",
                );
                file(
                    dir,
                    "members.jsonl",
                    &lines(&[&good("c0"), &bad, &good("c1")]),
                )
            },
            expect: Expect {
                events: 2,
                malformed: 1,
                alerts: &["c0", "c1"],
                reports: vec![warn(
                    "members.jsonl",
                    "line 2 (byte *, record 1)",
                    "invalid JSON: ",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "unquoted_keys",
            build: |dir| {
                let bad = br#"{eventName: "StopLogging", eventID: "kX"}"#;
                file(dir, "keys.jsonl", &lines(&[&good("k0"), bad, &good("k1")]))
            },
            expect: Expect {
                events: 2,
                malformed: 1,
                alerts: &["k0", "k1"],
                reports: vec![warn(
                    "keys.jsonl",
                    "line 2 (byte *, record 1)",
                    "invalid JSON: ",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "unquoted_keys_on_the_first_line",
            build: |dir| {
                let bad = br#"{eventName: "StopLogging", eventID: "kX"}"#;
                file(dir, "keys.jsonl", &lines(&[bad, &good("k0")]))
            },
            expect: Expect {
                events: 1,
                malformed: 1,
                alerts: &["k0"],
                reports: vec![warn(
                    "keys.jsonl",
                    "line 1 (byte 0, record 0)",
                    "invalid JSON: ",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "trailing_comma_in_records",
            build: |dir| {
                let bytes = cat(&[b"{\"Records\":[", &good("t0"), b",", &good("t1"), b",]}"]);
                file(dir, "comma.json", &bytes)
            },
            expect: Expect {
                events: 2,
                alerts: &["t0", "t1"],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "trailing_garbage_after_records",
            build: |dir| {
                let bytes = cat(&[&records(&[&good("t0")]), b" garbage\n"]);
                file(dir, "trailing.json", &bytes)
            },
            expect: Expect {
                events: 1,
                malformed: 1,
                alerts: &["t0"],
                reports: vec![warn(
                    "trailing.json",
                    "line 1 (byte *, record 1)",
                    "expected '{' or '[' at the start of a record, found 'g'",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "records_key_twice",
            build: |dir| {
                let bytes = cat(&[
                    b"{\"Records\":[",
                    &good("r0"),
                    b"],\"Records\":[",
                    &good("r1"),
                    b"]}",
                ]);
                file(dir, "twice.json", &bytes)
            },
            expect: Expect {
                events: 2,
                alerts: &["r0", "r1"],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "concatenated_records_files",
            build: |dir| {
                let bytes = cat(&[&records(&[&good("f0")]), &records(&[&good("f1")])]);
                file(dir, "cat.json", &bytes)
            },
            expect: Expect {
                events: 2,
                alerts: &["f0", "f1"],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "records_file_cut_short",
            build: |dir| {
                let mut bytes = records(&[&good("f0"), &good("f1")]);
                bytes.truncate(bytes.len() - 40);
                file(dir, "cut.json", &bytes)
            },
            expect: Expect {
                events: 1,
                malformed: 1,
                alerts: &["f0"],
                reports: vec![warn(
                    "cut.json",
                    "line 1 (byte *, record 1)",
                    "truncated record: input ended inside it after * bytes",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "json_line_cut_inside_a_string",
            build: |dir| {
                let cut = good("lX");
                let at = find(&cut, b"\"Management\"") + 4;
                file(
                    dir,
                    "cut.jsonl",
                    &lines(&[&good("l0"), &cut[..at], &good("l1")]),
                )
            },
            expect: Expect {
                events: 2,
                malformed: 1,
                alerts: &["l0", "l1"],
                reports: vec![warn(
                    "cut.jsonl",
                    "line 2 (byte *, record 1)",
                    "line break inside a string: the record is cut short or is not valid JSON",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "json_line_cut_between_members",
            build: |dir| {
                let cut = good("lX");
                let at = find(&cut, b"\"eventName\"");
                file(
                    dir,
                    "cut.jsonl",
                    &lines(&[&good("l0"), &cut[..at], &good("l1")]),
                )
            },
            expect: Expect {
                events: 2,
                malformed: 1,
                alerts: &["l0", "l1"],
                reports: vec![warn(
                    "cut.jsonl",
                    "line 2 (byte *, record 1)",
                    "truncated record: a new object starts on line 3 before the record is closed",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "json_lines_with_non_object_lines",
            build: |dir| {
                let bytes = lines(&[
                    &good("l0"),
                    b"42",
                    &good("l1"),
                    b"\"text\"",
                    &good("l2"),
                    b"null",
                    b"not json either",
                    &good("l3"),
                ]);
                file(dir, "lines.jsonl", &bytes)
            },
            expect: Expect {
                events: 4,
                malformed: 3,
                alerts: &["l0", "l1", "l2", "l3"],
                // A run of lines that do not start with '{' is one report.
                reports: vec![
                    warn(
                        "lines.jsonl",
                        "line 2 (byte *, record 1)",
                        NOT_AN_OBJECT_LINE,
                    ),
                    warn(
                        "lines.jsonl",
                        "line 4 (byte *, record 3)",
                        NOT_AN_OBJECT_LINE,
                    ),
                    warn(
                        "lines.jsonl",
                        "line 6 (byte *, record 5)",
                        NOT_AN_OBJECT_LINE,
                    ),
                ],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "json_array_with_a_bad_element",
            build: |dir| {
                let bytes = cat(&[
                    b"[",
                    &good("a0"),
                    b",{\"eventName\":\"StopLogging\",\"eventID\":\"aX\",},",
                    &good("a1"),
                    b"]",
                ]);
                file(dir, "array.json", &bytes)
            },
            expect: Expect {
                events: 2,
                malformed: 1,
                alerts: &["a0", "a1"],
                reports: vec![warn(
                    "array.json",
                    "line 1 (byte *, record 1)",
                    "invalid JSON: JSON has a comma after the last value",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "crlf_line_endings",
            build: |dir| {
                let bytes = cat(&[&good("r0"), b"\r\n", &good("r1"), b"\r\n"]);
                file(dir, "crlf.jsonl", &bytes)
            },
            expect: Expect {
                events: 2,
                alerts: &["r0", "r1"],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "crlf_pretty_printed_records",
            build: |dir| {
                let value =
                    json!({"Records": [event("StopLogging", "r0"), event("StopLogging", "r1")]});
                let text = serde_json::to_string_pretty(&value)
                    .unwrap()
                    .replace('\n', "\r\n");
                file(dir, "pretty.json", text.as_bytes())
            },
            expect: Expect {
                events: 2,
                alerts: &["r0", "r1"],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "crlf_pretty_printed_records_in_a_state_store",
            build: |dir| {
                let value = json!({"Records": [event("StopLogging", "r0")]});
                let text = serde_json::to_string_pretty(&value)
                    .unwrap()
                    .replace('\n', "\r\n");
                let state = dir.join("state.db").display().to_string();
                Target {
                    options: vec!["--state".into(), state],
                    ..file(dir, "pretty.json", text.as_bytes())
                }
            },
            expect: Expect {
                events: 1,
                alerts: &["r0"],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "long_string_values",
            build: |dir| {
                let long = |id: &str, len: usize| {
                    good_with(id, |e| e["userAgent"] = json!("x".repeat(len)))
                };
                let bytes =
                    records(&[&long("v0", 900 << 10), &long("vX", 1100 << 10), &good("v1")]);
                file(dir, "long.json", &bytes)
            },
            expect: Expect {
                events: 2,
                malformed: 1,
                alerts: &["v0", "v1"],
                reports: vec![warn(
                    "long.json",
                    "line 1 (byte *, record 1)",
                    "over the limit of 1048576 bytes; skipped",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "line_of_50_mb",
            build: |dir| {
                let path = dir.join("long-line.jsonl");
                let mut out = BufWriter::new(File::create(&path).unwrap());
                let padded = good_with("lX", |e| e["userAgent"] = json!(PLACEHOLDER));
                let (head, tail) = split_at_placeholder(&padded);
                out.write_all(&lines(&[&good("l0")])).unwrap();
                out.write_all(head).unwrap();
                let chunk = vec![b'x'; 1 << 20];
                for _ in 0..50 {
                    out.write_all(&chunk).unwrap();
                }
                out.write_all(tail).unwrap();
                out.write_all(b"\n").unwrap();
                out.write_all(&lines(&[&good("l1")])).unwrap();
                out.flush().unwrap();
                target(vec![path])
            },
            expect: Expect {
                events: 2,
                malformed: 1,
                alerts: &["l0", "l1"],
                reports: vec![warn(
                    "long-line.jsonl",
                    "line 2 (byte *, record 1)",
                    "over the limit of 1048576 bytes; skipped",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "nested_arrays_100000_deep",
            build: |dir| {
                let deep = ["[".repeat(DEEP), "]".repeat(DEEP)].concat();
                file(
                    dir,
                    "deep.jsonl",
                    &lines(&[&good("d0"), deep.as_bytes(), &good("d1")]),
                )
            },
            expect: Expect {
                events: 2,
                malformed: 1,
                alerts: &["d0", "d1"],
                reports: vec![warn(
                    "deep.jsonl",
                    "line 2 (byte *, record 1)",
                    "record is a JSON array, expected an object",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "nested_objects_100000_deep",
            build: |dir| {
                let deep = ["{\"a\":".repeat(DEEP), "1".into(), "}".repeat(DEEP)].concat();
                file(
                    dir,
                    "deep.jsonl",
                    &lines(&[&good("d0"), deep.as_bytes(), &good("d1")]),
                )
            },
            expect: Expect {
                events: 2,
                malformed: 1,
                alerts: &["d0", "d1"],
                reports: vec![warn(
                    "deep.jsonl",
                    "line 2 (byte *, record 1)",
                    "invalid JSON: objects and arrays nested more than 64 levels deep",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "nested_100000_deep_in_a_record",
            build: |dir| {
                let deep = ["[".repeat(DEEP), "]".repeat(DEEP)].concat();
                let bad = replace_quoted_placeholder(
                    &good_with("dX", |e| e["requestParameters"] = json!(PLACEHOLDER)),
                    deep.as_bytes(),
                );
                let bytes = records(&[&good("d0"), &bad, &good("d1")]);
                file(dir, "deep.json", &bytes)
            },
            expect: Expect {
                events: 2,
                malformed: 1,
                alerts: &["d0", "d1"],
                reports: vec![warn(
                    "deep.json",
                    "line 1 (byte *, record 1)",
                    "invalid JSON: objects and arrays nested more than 64 levels deep",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "deep_but_valid_request_parameters",
            build: |dir| {
                // The event object and its `requestParameters` count as two of the 64 levels.
                let nested = |id: &str, levels: usize| {
                    good_with(id, |e| {
                        let mut value = json!("leaf");
                        for _ in 0..levels {
                            value = json!({ "child": value });
                        }
                        e["requestParameters"] = value;
                    })
                };
                let bytes = records(&[&nested("d0", 63), &nested("dX", 64)]);
                file(dir, "deep.json", &bytes)
            },
            expect: Expect {
                events: 1,
                malformed: 1,
                alerts: &["d0"],
                reports: vec![warn(
                    "deep.json",
                    "line 1 (byte *, record 1)",
                    "nested more than 64 levels deep",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "numbers_out_of_range",
            build: |dir| {
                let with_number = |id: &str, number: &[u8]| {
                    let e = good_with(id, |e| e["requestParameters"]["count"] = json!(PLACEHOLDER));
                    replace_quoted_placeholder(&e, number)
                };
                let bytes = lines(&[
                    &good("n0"),
                    &with_number("nX", b"1e400"),
                    &with_number("nY", b"-1e400"),
                    &with_number("n1", b"123456789012345678901234567890123456789"),
                    &with_number("n2", b"-123456789012345678901234567890123456789"),
                    &with_number("n3", b"1e-400"),
                ]);
                file(dir, "numbers.jsonl", &bytes)
            },
            expect: Expect {
                events: 4,
                malformed: 2,
                alerts: &["n0", "n1", "n2", "n3"],
                reports: vec![
                    warn(
                        "numbers.jsonl",
                        "line 2 (byte *, record 1)",
                        "invalid JSON: Float number must be finite",
                    ),
                    warn(
                        "numbers.jsonl",
                        "line 3 (byte *, record 2)",
                        "invalid JSON: Float number must be finite",
                    ),
                ],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "duplicate_keys",
            build: |dir| {
                // The last value wins, in the Rust prefilter as in the rules' `event`.
                let twice = |id: &str, first: &str, last: &str| {
                    let e = event(first, id);
                    let mut bytes = serde_json::to_vec(&e).unwrap();
                    bytes.pop();
                    cat(&[&bytes, format!(",\"eventName\":\"{last}\"}}").as_bytes()])
                };
                let bytes = lines(&[
                    &twice("k0", "StopLogging", "ConsoleLogin"),
                    &twice("k1", "ConsoleLogin", "StopLogging"),
                ]);
                file(dir, "keys.jsonl", &bytes)
            },
            expect: Expect {
                events: 2,
                alerts: &["k1"],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "escaped_key_names",
            build: |dir| {
                let e = serde_json::to_vec(&event("ConsoleLogin", "k0")).unwrap();
                let e = replace(
                    &e,
                    b"\"eventName\":\"ConsoleLogin\"",
                    br#""event\u004eame":"StopLogging""#,
                );
                file(dir, "escaped.jsonl", &lines(&[&e]))
            },
            expect: Expect {
                events: 1,
                alerts: &["k0"],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "event_time_wrong_or_missing",
            build: |dir| {
                let bytes = lines(&[
                    &good_with("t0", |e| e["eventTime"] = json!("10/07/2023 12:01:27")),
                    &good_with("t1", |e| {
                        e.as_object_mut().unwrap().remove("eventTime");
                    }),
                    &good_with("t2", |e| e["eventTime"] = json!(1688990487)),
                    &good_with("t3", |e| e["eventTime"] = json!(null)),
                ]);
                file(dir, "times.jsonl", &bytes)
            },
            expect: Expect {
                events: 4,
                alerts: &["t0", "t1", "t2", "t3"],
                reports: vec![
                    warn("times.jsonl", "line 1 (byte 0, record 0)", EVENT_TIME),
                    warn("times.jsonl", "line 2 (byte *, record 1)", EVENT_TIME),
                    warn("times.jsonl", "line 3 (byte *, record 2)", EVENT_TIME),
                    warn("times.jsonl", "line 4 (byte *, record 3)", EVENT_TIME),
                ],
                ..NOTHING
            },
            privileged: None,
        },
        // Files that hold no events
        Case {
            name: "digest_file",
            build: |dir| {
                file(
                    dir,
                    "AWSLogs/123837392027/CloudTrail-Digest/us-east-1/2023/07/10/123837392027_CloudTrail-Digest_us-east-1_main-trail_us-east-1_20230710T120000Z.json.gz",
                    &gzip(&serde_json::to_vec(&digest()).unwrap()),
                )
            },
            expect: Expect {
                skipped: 1,
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "digest_file_by_content",
            build: |dir| file(dir, "digest.json", &serde_json::to_vec(&digest()).unwrap()),
            expect: Expect {
                skipped: 1,
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "cloudtrail_insight_file",
            build: |dir| {
                let bytes = records(&[&insight("i0", "Start"), &insight("i1", "End")]);
                file(dir, INSIGHT_FILE, &gzip(&bytes))
            },
            // AWS.CloudTrailInsight events, not errors; the CloudTrail rules do not see them.
            expect: Expect {
                events: 2,
                ..NOTHING
            },
            privileged: None,
        },
        // The file system
        Case {
            name: "mixed_formats_in_one_directory",
            build: |dir| {
                write(dir, "a/records.json.gz", &gzip(&records(&[&good("x0")])));
                write(dir, "b/lines.jsonl", &lines(&[&good("x1")]));
                write(dir, "c/array.json", &cat(&[b"[", &good("x2"), b"]"]));
                let pretty = json!({"Records": [event("StopLogging", "x3")]});
                write(
                    dir,
                    "d/pretty.json",
                    &serde_json::to_vec_pretty(&pretty).unwrap(),
                );
                write(
                    dir,
                    "CloudTrail-Digest/digest.json.gz",
                    &gzip(&serde_json::to_vec(&digest()).unwrap()),
                );
                write(dir, "CloudTrail/ConfigWritabilityCheckFile", b"Hello");
                write(dir, "empty.json", b"");
                write(
                    dir,
                    "vpc-flow.log",
                    b"version account-id interface-id srcaddr dstaddr\n\
                      2 123837392027 eni-0a1b2c3d 10.0.0.1 10.0.0.2\n",
                );
                write(dir, "image.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01");
                write(dir, "notes.txt", b"See the runbook.\n{not json}\n");
                target(vec![dir.to_path_buf()])
            },
            // The flow log (a custom format without `start`) is an AWS.VPCFlow event; the
            // notes are text of no log format, line by line.
            expect: Expect {
                events: 5,
                malformed: 3,
                skipped: 3,
                alerts: &["x0", "x1", "x2", "x3"],
                reports: vec![
                    warn(
                        "vpc-flow.log",
                        "line 2 (byte *, record 1)",
                        "start missing or invalid; using the parse time as p_event_time",
                    ),
                    warn("image.png", "line 1 (byte 0, record 0)", "found byte 0x89"),
                    warn(
                        "notes.txt",
                        "line 1 (byte 0, record 0)",
                        "unknown log type: not JSON, and not a line of a text log format",
                    ),
                    warn("notes.txt", "line 2 (byte 17, record 1)", "invalid JSON: "),
                ],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "symlink_loop",
            build: |dir| {
                write(dir, "logs/good.json", &records(&[&good("s0")]));
                symlink("../logs", dir.join("logs/again")).unwrap();
                target(vec![dir.to_path_buf()])
            },
            expect: Expect {
                exit: 1,
                events: 1,
                input_errors: 1,
                alerts: &["s0"],
                reports: vec![error(
                    "logs/again",
                    "cannot read input: symlink loop back to",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "symlink_to_itself",
            build: |dir| {
                write(dir, "good.json", &records(&[&good("s0")]));
                symlink("self.json", dir.join("self.json")).unwrap();
                target(vec![dir.to_path_buf()])
            },
            expect: Expect {
                exit: 1,
                events: 1,
                input_errors: 1,
                alerts: &["s0"],
                reports: vec![error(
                    "self.json",
                    "cannot read input: Too many levels of symbolic links",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "dangling_symlink",
            build: |dir| {
                write(dir, "good.json", &records(&[&good("s0")]));
                symlink("deleted.json", dir.join("link.json")).unwrap();
                target(vec![dir.to_path_buf()])
            },
            expect: Expect {
                exit: 1,
                events: 1,
                input_errors: 1,
                alerts: &["s0"],
                reports: vec![error(
                    "link.json",
                    "cannot read input: no such file or directory",
                )],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "unreadable_file",
            build: |dir| {
                write(dir, "good.json", &records(&[&good("p0")]));
                let secret = write(dir, "secret.json", &records(&[&good("p1")]));
                fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
                Target {
                    privileged: File::open(&secret).is_ok(),
                    ..target(vec![dir.to_path_buf()])
                }
            },
            expect: Expect {
                exit: 1,
                events: 1,
                input_errors: 1,
                alerts: &["p0"],
                reports: vec![error("secret.json", "cannot open input: Permission denied")],
                ..NOTHING
            },
            privileged: Some(Expect {
                events: 2,
                alerts: &["p0", "p1"],
                ..NOTHING
            }),
        },
        Case {
            name: "unreadable_directory",
            build: |dir| {
                write(dir, "good.json", &records(&[&good("p0")]));
                write(dir, "locked/inside.json", &records(&[&good("p1")]));
                let locked = dir.join("locked");
                fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
                Target {
                    privileged: fs::read_dir(&locked).is_ok(),
                    ..target(vec![dir.to_path_buf()])
                }
            },
            expect: Expect {
                exit: 1,
                events: 1,
                input_errors: 1,
                alerts: &["p0"],
                reports: vec![error("locked", "cannot read input: permission denied")],
                ..NOTHING
            },
            privileged: Some(Expect {
                events: 2,
                alerts: &["p0", "p1"],
                ..NOTHING
            }),
        },
        Case {
            name: "pipe_given_as_a_path",
            build: |_| Target {
                stdin: Some(lines(&[&good("p0"), &good("p1")])),
                ..target(vec!["/dev/stdin".into()])
            },
            expect: Expect {
                events: 2,
                alerts: &["p0", "p1"],
                ..NOTHING
            },
            privileged: None,
        },
        Case {
            name: "stdin_truncated_gzip",
            build: |_| {
                let mut bytes = gzip(&records(&[&good("t0"), &good("t1"), &incompressible("tX")]));
                bytes.truncate(bytes.len() / 2);
                Target {
                    stdin: Some(bytes),
                    ..target(vec!["-".into()])
                }
            },
            expect: Expect {
                exit: 1,
                events: 2,
                input_errors: 1,
                alerts: &["t0", "t1"],
                reports: vec![error("-", GZIP_BROKEN)],
                ..NOTHING
            },
            privileged: None,
        },
    ]
}

const EVENT_TIME: &str = "eventTime missing or invalid; using the parse time as p_event_time";
const INSIGHT_FILE: &str = "AWSLogs/123837392027/CloudTrail-Insight/us-east-1/2023/07/10/123837392027_CloudTrail-Insight_us-east-1_20230710T1205Z_abc.json.gz";
const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";
/// Nesting depth of the deeply nested cases.
const DEEP: usize = 100_000;
/// A string value replaced by other bytes after serialisation.
const PLACEHOLDER: &str = "@@placeholder@@";

/// A `StopLogging` event with eventID `id`, serialised.
fn good(id: &str) -> Vec<u8> {
    good_with(id, |_| {})
}

/// [`good`], changed by `change` before serialisation.
fn good_with(id: &str, change: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut e = event("StopLogging", id);
    change(&mut e);
    serde_json::to_vec(&e).unwrap()
}

/// An event padded with 64 KiB of letters that do not compress well, so that a cut in the
/// middle of its gzip falls inside it.
fn incompressible(id: &str) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(3);
    let padding: String = (0..64 << 10).map(|_| rng.alphanumeric()).collect();
    good_with(id, |e| e["requestParameters"]["padding"] = json!(padding))
}

/// A CloudTrail Insights event, as written under `CloudTrail-Insight/`.
fn insight(id: &str, state: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "eventVersion": "1.07",
        "eventTime": "2023-07-10T12:05:00Z",
        "awsRegion": "us-east-1",
        "eventID": id,
        "eventType": "AwsCloudTrailInsight",
        "recipientAccountId": "123837392027",
        "sharedEventID": "c2806063-d85d-42c3-9027-d2c56a477314",
        "insightDetails": {
            "state": state,
            "eventSource": "cloudtrail.amazonaws.com",
            "eventName": "StopLogging",
            "insightType": "ApiCallRateInsight",
            "insightContext": {"statistics": {"baseline": {"average": 0.01}}}
        },
        "eventCategory": "Insight"
    }))
    .unwrap()
}

/// A CloudTrail digest file's content.
fn digest() -> Value {
    json!({
        "awsAccountId": "123837392027",
        "digestStartTime": "2023-07-10T11:00:00Z",
        "digestEndTime": "2023-07-10T12:00:00Z",
        "digestS3Bucket": "trail-bucket",
        "digestPublicKeyFingerprint": "0f6b3e4fa2c0e9d3f5b1a6c7d8e9f0a1",
        "digestSignatureAlgorithm": "SHA256withRSA",
        "logFiles": []
    })
}

/// The parts, one after the other.
fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// `{"Records":[...]}` around raw elements.
fn records(elements: &[&[u8]]) -> Vec<u8> {
    cat(&[b"{\"Records\":[", &elements.join(&b","[..]), b"]}"])
}

/// One line per item.
fn lines(items: &[&[u8]]) -> Vec<u8> {
    items
        .iter()
        .flat_map(|l| [*l, b"\n"])
        .flatten()
        .copied()
        .collect()
}

/// The UTF-16 code units of UTF-8 `text`, without a byte order mark.
fn utf16(text: &[u8], big_endian: bool) -> Vec<u8> {
    std::str::from_utf8(text)
        .unwrap()
        .encode_utf16()
        .flat_map(|u| {
            if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        })
        .collect()
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{} not found", String::from_utf8_lossy(needle)))
}

/// `bytes` with the first `from` replaced by `to`.
fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = find(bytes, from);
    [&bytes[..at], to, &bytes[at + from.len()..]].concat()
}

/// `bytes` with [`PLACEHOLDER`] (inside its quotes) replaced by raw `to`.
fn replace_placeholder(bytes: &[u8], to: &[u8]) -> Vec<u8> {
    replace(bytes, PLACEHOLDER.as_bytes(), to)
}

/// `bytes` with [`PLACEHOLDER`] and its quotes replaced by raw `to`.
fn replace_quoted_placeholder(bytes: &[u8], to: &[u8]) -> Vec<u8> {
    replace(bytes, format!("\"{PLACEHOLDER}\"").as_bytes(), to)
}

/// The bytes before and after [`PLACEHOLDER`] (inside its quotes).
fn split_at_placeholder(bytes: &[u8]) -> (&[u8], &[u8]) {
    let at = find(bytes, PLACEHOLDER.as_bytes());
    (&bytes[..at], &bytes[at + PLACEHOLDER.len()..])
}

/// Writes one file and targets it.
fn file(dir: &Path, name: &str, bytes: &[u8]) -> Target {
    target(vec![write(dir, name, bytes)])
}

fn target(paths: Vec<PathBuf>) -> Target {
    Target {
        options: Vec::new(),
        paths,
        stdin: None,
        privileged: false,
    }
}

/// Writes a gzip file as it is produced, never holding the decompressed content.
fn gzip_stream(path: &Path, content: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) {
    let out = BufWriter::new(File::create(path).unwrap());
    let mut encoder = GzEncoder::new(out, Compression::best());
    content(&mut encoder).unwrap();
    encoder.finish().unwrap().flush().unwrap();
    let size = fs::metadata(path).unwrap().len();
    assert!(size < 8 << 20, "{} is {size} bytes", path.display());
}
