//! Fatal errors: delivered events stay delivered, and the error says what and where.

use std::io::{self, Read};

use iota_decode::{DecodeError, Format};

use crate::common::{gzip, run};

fn lines(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"eventID\":\"{i:08}\",\"pad\":\"{}\"}}\n",
                "p".repeat(i % 97)
            )
        })
        .collect()
}

#[test]
fn truncated_gzip_delivers_complete_events_then_fails() {
    let text = lines(20_000);
    let compressed = gzip(text.as_bytes());
    let cut = &compressed[..compressed.len() / 2];
    let out = run(cut);
    let failure = out.result.as_ref().expect_err("truncated gzip is an error");
    let DecodeError::Gzip { decompressed, .. } = &failure.error else {
        panic!("expected a gzip error, got {:?}", failure.error);
    };
    let events = out.event_strings();
    assert!(
        events.len() > 1000,
        "{} events before the cut",
        events.len()
    );
    for (i, event) in events.iter().enumerate() {
        assert_eq!(*event, text.lines().nth(i).unwrap());
    }
    assert!(out.malformed().is_empty());
    assert_eq!(failure.stats.events, events.len() as u64);
    assert_eq!(failure.stats.bytes_decoded, *decompressed);
    assert!(failure.stats.gzip);
    assert_eq!(failure.stats.format, Some(Format::JsonObjects));
    let message = failure.to_string();
    assert!(
        message.starts_with(&format!(
            "gzip stream is corrupt or truncated after {decompressed} decompressed bytes"
        )),
        "{message}"
    );
}

/// Found by the `decode` fuzz target: a gzip member whose deflate data turns corrupt after
/// some complete events, within one read of the input. Every event inflated before the
/// corrupt block is delivered, then the error, as when the input arrives in small reads.
#[test]
fn corrupt_deflate_data_delivers_the_events_inflated_before_it() {
    use flate2::write::DeflateEncoder;
    use std::io::Write;

    let text = lines(1000);
    assert!(text.len() < 200_000, "one read of the decoder holds it all");
    let mut deflate = DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    deflate.write_all(text.as_bytes()).unwrap();
    deflate.flush().unwrap(); // ends the block on a byte boundary, not the stream
    let mut input = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    input.extend(deflate.get_ref());
    input.extend([0xff, 0, 0, 0]); // a final block of the reserved type 3: corrupt

    let out = run(&input);
    let failure = out
        .result
        .as_ref()
        .expect_err("corrupt deflate data is an error");
    assert!(
        matches!(failure.error, DecodeError::Gzip { decompressed, .. } if decompressed == text.len() as u64),
        "{failure}"
    );
    let events = out.event_strings();
    assert_eq!(events.len(), 1000, "every event before the corrupt block");
    for (event, line) in events.iter().zip(text.lines()) {
        assert_eq!(event, line);
    }
}

#[test]
fn gzip_of_garbage_fails_with_a_gzip_error() {
    let mut input = vec![0x1f, 0x8b];
    input.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let out = run(&input);
    assert!(out.items.is_empty());
    let failure = out
        .result
        .expect_err("garbage after the gzip magic is an error");
    assert!(
        matches!(
            failure.error,
            DecodeError::Gzip {
                decompressed: 0,
                ..
            }
        ),
        "{failure}"
    );
    assert!(failure.stats.gzip);
}

#[test]
fn trailing_garbage_after_a_gzip_member_fails_after_its_events() {
    let mut input = gzip(b"{\"id\":1}\n{\"id\":2}\n");
    input.extend(b"not gzip");
    let out = run(&input);
    assert_eq!(out.event_strings(), ["{\"id\":1}", "{\"id\":2}"]);
    let failure = out.result.expect_err("trailing garbage is an error");
    assert!(
        matches!(
            failure.error,
            DecodeError::Gzip {
                decompressed: 18,
                ..
            }
        ),
        "{failure}"
    );
}

#[test]
fn utf16_is_refused_with_a_hint() {
    let text = "{\"Records\":[]}";
    let le: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    let be: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
    let with_bom = |bom: &[u8], body: &[u8]| [bom, body].concat();
    for (input, big_endian) in [
        (with_bom(&[0xff, 0xfe], &le), false),
        (with_bom(&[0xfe, 0xff], &be), true),
        (le.clone(), false),
        (be.clone(), true),
        (gzip(&with_bom(&[0xff, 0xfe], &le)), false),
    ] {
        let out = run(&input);
        assert!(out.items.is_empty());
        let failure = out.result.expect_err("UTF-16 is an error");
        assert!(
            matches!(failure.error, DecodeError::Utf16 { big_endian: b } if b == big_endian),
            "{failure}"
        );
        assert!(
            failure.to_string().contains("convert it first"),
            "{failure}"
        );
    }
}

/// Yields its data, then fails.
struct FailingReader<'a> {
    data: &'a [u8],
}

impl Read for FailingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.data.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "peer went away",
            ));
        }
        let n = buf.len().min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn reader_errors_are_io_errors_even_under_gzip() {
    let text = "{\"id\":1}\n{\"id\":2}\n{\"id\":3";
    let compressed = gzip(text.as_bytes());
    for (data, delivered) in [(text.as_bytes(), Some(2)), (&compressed[..30], None)] {
        let mut events = 0;
        let result = iota_decode::decode(
            FailingReader { data },
            "s3://bucket/key",
            &Default::default(),
            &mut |_| events += 1,
        );
        let failure = result.expect_err("reader failure is an error");
        let DecodeError::Io { offset, .. } = failure.error else {
            panic!("expected an I/O error, got {:?}", failure.error);
        };
        assert_eq!(offset, data.len() as u64);
        assert_eq!(failure.stats.bytes_read, data.len() as u64);
        assert!(failure.to_string().contains("peer went away"));
        if let Some(delivered) = delivered {
            assert_eq!(events, delivered);
            assert_eq!(failure.stats.events, delivered);
        }
    }
}
