//! The file output: one alert per line, appended, shared safely between threads.

mod common;

use std::sync::Arc;

use common::{alert, alert_json};
use iota_outputs::file::FileOutput;
use iota_outputs::AlertOutput;

#[test]
fn file_output_appends_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.jsonl");
    std::fs::write(&path, "{\"earlier\":true}\n").unwrap();
    let output = Arc::new(FileOutput::open(&path).unwrap());
    assert_eq!((output.name(), output.kind()), ("file", "file"));

    let threads: Vec<_> = (0..4)
        .map(|_| {
            let output = Arc::clone(&output);
            std::thread::spawn(move || {
                for _ in 0..25 {
                    output.send(&alert()).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    output.flush().unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 101);
    assert_eq!(lines[0], "{\"earlier\":true}");
    for line in &lines[1..] {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(value, alert_json(&alert()));
    }
    assert!(text.ends_with('\n'));
}

#[test]
fn file_output_reports_an_unwritable_path() {
    let err = match FileOutput::open("/nonexistent-dir/alerts.jsonl".as_ref()) {
        Ok(_) => panic!("opened"),
        Err(err) => err,
    };
    assert!(
        err.to_string()
            .starts_with("output file: cannot open /nonexistent-dir/alerts.jsonl for appending: "),
        "{err}"
    );
}
