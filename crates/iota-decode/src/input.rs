//! The byte source under the splitter: counts raw bytes, sniffs gzip by its magic bytes,
//! and checks the text encoding (UTF-8 BOM skipped, UTF-16 refused).

use std::io::{self, BufRead, BufReader, Chain, Cursor, Read};

use flate2::{Decompress, FlushDecompress, Status};

use crate::DecodeError;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Compressed bytes buffered ahead of the inflater.
const GZIP_READ_AHEAD: usize = 128 * 1024;

/// Counts the raw bytes read and remembers whether the reader itself failed, so that an
/// error surfacing through the gzip decoder can be told apart from corrupt compressed data.
struct Counted<R> {
    inner: R,
    bytes: u64,
    failed: bool,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.bytes += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.failed |= e.kind() != io::ErrorKind::Interrupted;
                Err(e)
            }
        }
    }
}

/// The sniffed bytes put back in front of the rest of the reader.
type Raw<R> = Chain<Cursor<Vec<u8>>, Counted<R>>;

/// Decompressed (or plain) bytes of one input.
pub(crate) struct Input<R> {
    source: Source<R>,
}

enum Source<R> {
    Plain(Raw<R>),
    Gzip(Box<Gunzip<R>>),
}

/// The members of a gzip file one after another, inflated by zlib's own gzip support.
/// flate2's gzip readers drop the bytes one read inflated when that read then meets corrupt
/// data; this one hands them out first and reports the error on the next read, so every
/// event before the corruption is delivered whatever the size of the reads.
struct Gunzip<R> {
    compressed: BufReader<Raw<R>>,
    member: Decompress,
    /// The current member has ended: the next byte starts another one, or the input ends.
    between_members: bool,
    /// The error met after the bytes last handed out.
    failed: Option<io::Error>,
}

impl<R: Read> Gunzip<R> {
    fn new(raw: Raw<R>) -> Self {
        Gunzip {
            compressed: BufReader::with_capacity(GZIP_READ_AHEAD, raw),
            member: Decompress::new_gzip(15),
            between_members: false,
            failed: None,
        }
    }

    fn raw(&self) -> &Raw<R> {
        self.compressed.get_ref()
    }
}

impl<R: Read> Read for Gunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(error) = self.failed.take() {
            return Err(error);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let input = self.compressed.fill_buf()?;
            if self.between_members {
                if input.is_empty() {
                    return Ok(0);
                }
                self.member = Decompress::new_gzip(15);
                self.between_members = false;
            }
            let at_end = input.is_empty();
            let (total_in, total_out) = (self.member.total_in(), self.member.total_out());
            let status = self.member.decompress(input, buf, FlushDecompress::None);
            let consumed = (self.member.total_in() - total_in) as usize;
            let produced = (self.member.total_out() - total_out) as usize;
            self.compressed.consume(consumed);
            let error = match status {
                Ok(Status::StreamEnd) => {
                    self.between_members = true;
                    None
                }
                Ok(_) if consumed == 0 && produced == 0 => Some(if at_end {
                    io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the input ends inside a gzip member",
                    )
                } else {
                    io::Error::new(io::ErrorKind::InvalidData, "corrupt deflate stream")
                }),
                Ok(_) => None,
                Err(cause) => Some(io::Error::new(io::ErrorKind::InvalidData, cause)),
            };
            match error {
                Some(error) if produced > 0 => {
                    self.failed = Some(error);
                    return Ok(produced);
                }
                Some(error) => return Err(error),
                None if produced > 0 => return Ok(produced),
                // A header, or a member's end, read without output: go on.
                None => {}
            }
        }
    }
}

impl<R: Read> Input<R> {
    /// Looks at the first two bytes to choose plain or gzip (every member of a multi-member
    /// file is decoded).
    pub(crate) fn open(reader: R) -> Result<Self, DecodeError> {
        let mut counted = Counted {
            inner: reader,
            bytes: 0,
            failed: false,
        };
        let mut head = [0u8; 2];
        let mut n = 0;
        while n < head.len() {
            match counted.read(&mut head[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(cause) => {
                    return Err(DecodeError::Io {
                        offset: counted.bytes,
                        cause,
                    })
                }
            }
        }
        let raw = Cursor::new(head[..n].to_vec()).chain(counted);
        let source = if head[..n] == GZIP_MAGIC {
            Source::Gzip(Box::new(Gunzip::new(raw)))
        } else {
            Source::Plain(raw)
        };
        Ok(Self { source })
    }

    pub(crate) fn is_gzip(&self) -> bool {
        matches!(self.source, Source::Gzip(_))
    }

    fn counted(&self) -> &Counted<R> {
        match &self.source {
            Source::Plain(raw) => raw.get_ref().1,
            Source::Gzip(gz) => gz.raw().get_ref().1,
        }
    }

    /// Raw bytes consumed from the reader so far.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.counted().bytes
    }

    /// Names a read failure: the reader's own I/O error, or bad compressed data.
    pub(crate) fn failure(&self, cause: io::Error, decompressed: u64) -> DecodeError {
        let counted = self.counted();
        if self.is_gzip() && !counted.failed {
            DecodeError::Gzip {
                decompressed,
                cause,
            }
        } else {
            DecodeError::Io {
                offset: counted.bytes,
                cause,
            }
        }
    }
}

impl<R: Read> Read for Input<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.source {
            Source::Plain(raw) => raw.read(buf),
            Source::Gzip(gz) => gz.read(buf),
        }
    }
}

/// How many bytes of `head` (the first bytes of the decompressed text, at least 4 unless the
/// input is shorter) to skip before the JSON starts, or why the text cannot be read.
pub(crate) fn text_start(head: &[u8]) -> Result<usize, DecodeError> {
    match head {
        [0xef, 0xbb, 0xbf, ..] => Ok(3),
        [0xff, 0xfe, ..] => Err(DecodeError::Utf16 { big_endian: false }),
        [0xfe, 0xff, ..] => Err(DecodeError::Utf16 { big_endian: true }),
        // JSON starts with ASCII, so a NUL beside it means 16-bit code units without a BOM.
        [a, 0, ..] if *a != 0 => Err(DecodeError::Utf16 { big_endian: false }),
        [0, b, ..] if *b != 0 => Err(DecodeError::Utf16 { big_endian: true }),
        _ => Ok(0),
    }
}
