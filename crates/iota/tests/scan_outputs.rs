//! `iota scan --output`: alerts delivered to a real HTTP receiver on loopback, with the
//! webhook's HMAC signature, and retried after a server error.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use common::*;

/// (X-Iota-Signature header, body) of each request received.
type Received = Arc<Mutex<Vec<(Option<String>, Vec<u8>)>>>;

/// A webhook receiver: answers the first `failures` requests with 500, the rest with 200,
/// and keeps every request.
fn receiver(failures: usize) -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut length, mut signature) = (0usize, None);
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap_or((line, ""));
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap(),
                    "x-iota-signature" => signature = Some(value.trim().to_string()),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let status = if n < failures {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            record.lock().unwrap().push((signature, body));
            write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
            .unwrap();
        }
    });
    (url, seen)
}

#[test]
fn alerts_reach_a_signed_webhook_and_a_server_error_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "stop.json",
        &records_json(&events("StopLogging", "hook", 2)),
    );
    let rules = fixtures().join("rules/good");
    let models = fixtures().join("data_models");
    let (url, seen) = receiver(1);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_iota"))
        .args(["--log-format", "json", "scan", "--workers", "1"])
        .args([
            "--rules",
            rules.to_str().unwrap(),
            "--data-models",
            models.to_str().unwrap(),
        ])
        .args([
            "--output",
            &format!("webhook={url}"),
            path.to_str().unwrap(),
        ])
        .env("IOTA_WEBHOOK_HMAC_KEY", "shared-secret")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(output.stdout.is_empty(), "only the webhook was asked for");
    assert!(
        !stderr.contains("shared-secret"),
        "the HMAC key never appears in logs"
    );

    let seen = seen.lock().unwrap();
    // 2 stop_logging alerts + 1 case-insensitive alert, one of them sent twice (500, then 200).
    assert_eq!(seen.len(), 4, "{stderr}");
    let mut ids = Vec::new();
    for (signature, body) in seen.iter() {
        let alert: serde_json::Value = serde_json::from_slice(body).unwrap();
        ids.push(alert["id"].as_str().unwrap().to_string());
        let expected = iota_outputs::webhook::signature(b"shared-secret", body);
        assert_eq!(signature.as_deref(), Some(expected.as_str()));
    }
    assert_eq!(ids[0], ids[1], "the alert refused with a 500 is sent again");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3);
}

#[test]
fn a_config_file_with_an_unknown_key_is_a_usage_error_naming_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "iota.toml",
        b"[[outputs]]\nkind = \"webhook\"\ntarget = \"http://127.0.0.1:9/hook\"\nretries = 3\n",
    );
    let input = write(
        dir.path(),
        "stop.json",
        &records_json(&events("StopLogging", "c", 1)),
    );
    let scan = scan_with_fixture_rules(
        &[
            "--config",
            config.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(scan.status, 2, "{}", scan.stderr);
    assert!(scan.stderr.contains("iota.toml"), "{}", scan.stderr);
    assert!(scan.stderr.contains("retries"), "{}", scan.stderr);
}
