//! Running the daemons (`iota s3-poll`, `iota watch`) in tests: a free port for `--listen`,
//! a plain HTTP GET of their endpoints, a webhook output config, waiting for them to exit.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use super::receiver::Receiver;

/// A loopback address with a free port, for `--listen` (which must be known to the test, so
/// port 0 will not do).
pub fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

/// GETs `path` from `addr`: the status and the body.
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The status of GET `path`, or `None` while nothing listens on `addr`.
pub fn http_get_status(addr: &str, path: &str) -> Option<u16> {
    std::net::TcpStream::connect(addr).ok()?;
    Some(http_get(addr, path).0)
}

/// Writes the iota config with a webhook output to `receiver`.
pub fn webhook_config(dir: &Path, receiver: &Receiver) -> PathBuf {
    let config = dir.join("iota.toml");
    std::fs::write(
        &config,
        format!(
            "[[outputs]]\nkind = \"webhook\"\ntarget = \"{}\"\ntimeout = \"1s\"\n",
            receiver.url
        ),
    )
    .unwrap();
    config
}

/// The child's exit status, or `None` if it is still running at `deadline`.
pub fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
