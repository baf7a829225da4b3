//! How the state-store commands (`iota alerts`, `iota sources`) print: to stdout without
//! failing on a closed pipe, in aligned tables, with RFC 3339 times and text from the store
//! kept on one line.

use std::fmt::Write as _;
use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};

/// Writes to stdout. A reader that stopped early (`iota alerts list | head`) is no error.
pub fn print(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => Ok(result?),
    }
}

/// A header line and one line per row, columns left-aligned and two spaces apart.
pub fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; N]| {
        let mut text = String::new();
        for (cell, width) in cells.iter().zip(widths) {
            let _ = write!(text, "{cell:<width$}  ");
        }
        text.trim_end().to_string() + "\n"
    };
    let mut table = line(header);
    for row in rows {
        table += &line(row.each_ref().map(String::as_str));
    }
    table
}

pub fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// Rule-supplied text on one terminal line: control characters (newlines in a title or an
/// HTTP error body) would break the layout.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

pub fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_string()
    } else {
        text.chars().take(max_chars - 3).collect::<String>() + "..."
    }
}
