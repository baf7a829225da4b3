//! A webhook receiver on loopback standing in for a real alert destination.

use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::fault_proxy::read_request;

/// Alerts (JSON bodies) a receiver accepted, in order.
type Received = Arc<Mutex<Vec<Value>>>;

/// A webhook receiver on loopback. Answers with `status` (changeable while it runs) after
/// `delay`; keeps the bodies of the requests it accepted with 200.
pub struct Receiver {
    pub url: String,
    pub status: Arc<AtomicU16>,
    accepted: Received,
}

impl Receiver {
    pub fn start(delay: Duration) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let status = Arc::new(AtomicU16::new(200));
        let accepted: Received = Arc::default();
        let (answer, keep) = (Arc::clone(&status), Arc::clone(&accepted));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                // A sender killed mid-request leaves a request without its end: like any HTTP
                // server, accept only complete ones.
                let Some(request) = read_request(&mut reader) else {
                    continue;
                };
                let Ok(alert) = serde_json::from_slice::<Value>(&request.body) else {
                    continue;
                };
                std::thread::sleep(delay);
                let status = answer.load(Ordering::SeqCst);
                if status == 200 {
                    keep.lock().unwrap().push(alert);
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} Status\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
        Receiver {
            url,
            status,
            accepted,
        }
    }

    pub fn accepted(&self) -> Vec<Value> {
        self.accepted.lock().unwrap().clone()
    }

    /// After runs killed `kills` times: every alert of `expected` (id -> event count) was
    /// received, first with its final count, and at most one send per kill (the one in
    /// flight) was repeated.
    pub fn assert_each_alert_delivered(&self, expected: &BTreeMap<String, u64>, kills: usize) {
        let accepted = self.accepted();
        let mut first_receipt: BTreeMap<String, u64> = BTreeMap::new();
        for alert in &accepted {
            first_receipt
                .entry(alert["id"].as_str().unwrap().to_owned())
                .or_insert(alert["event_count"].as_u64().unwrap());
        }
        assert_eq!(
            &first_receipt, expected,
            "every alert, with its final count, after {kills} kills"
        );
        let repeated = accepted.len() - expected.len();
        assert!(
            repeated <= kills,
            "{repeated} repeated sends for {kills} kills: only a send in flight when its process was killed may repeat"
        );
    }
}
