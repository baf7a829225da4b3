//! Fault injection between iota and the services it talks to, on loopback:
//!
//! - [`FaultProxy`]: an HTTP proxy in front of moto or a webhook receiver. Requests are
//!   forwarded unless a programmed [`Rule`] matches them (method, path, query, a header such
//!   as `x-amz-target`, the body); the rule's [`Fault`] is then served instead, a set number
//!   of times: an error status (an S3 XML error, a 429 with `Retry-After`), a connection
//!   reset, a connection that never answers, or an answer trickled a byte at a time.
//! - [`TcpProxy`]: a TCP relay (PostgreSQL) that the test can cut (every connection dropped,
//!   new ones refused) and restore.
//!
//! Each request is answered on its own connection (`connection: close`), which every HTTP
//! client handles.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as the proxy read it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The path and query, as sent.
    pub target: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    pub fn query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, q)| q)
    }

    /// An S3 GetObject (path-style: `/bucket/key`), of a key containing `key_part`.
    pub fn is_get_object(&self, key_part: &str) -> bool {
        self.method == "GET"
            && self.path().trim_start_matches('/').contains('/')
            && !self.query().contains("list-type")
            && self.path().contains(key_part)
    }

    /// An S3 ListObjectsV2.
    pub fn is_list_objects(&self) -> bool {
        self.method == "GET" && self.query().contains("list-type=2")
    }

    /// An SQS request of `action` (`ReceiveMessage`, `DeleteMessageBatch`, ...), in the JSON
    /// protocol (`x-amz-target: AmazonSQS.<action>`) or the query protocol (`Action=<action>`).
    pub fn is_sqs(&self, action: &str) -> bool {
        self.header("x-amz-target")
            .is_some_and(|t| t == format!("AmazonSQS.{action}"))
            || String::from_utf8_lossy(&self.body).contains(&format!("Action={action}&"))
    }
}

/// What the proxy does instead of forwarding.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answers with this status, headers and body.
    Status {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Resets the connection (RST) without answering.
    Reset,
    /// Reads the request, then answers nothing and keeps the connection open until the
    /// client gives up (or the proxy is dropped).
    Hang,
    /// Forwards the request, then keeps the answer to itself and hangs: the upstream acted on
    /// a request whose sender saw a timeout.
    ForwardThenHang,
    /// Forwards the request and trickles the whole answer back, one byte every `every`.
    Trickle { every: Duration },
    /// Forwards the request and sends the head of the answer at once, then trickles its body
    /// one byte every `every`.
    TrickleBody { every: Duration },
}

impl Fault {
    /// An S3 error response (`SlowDown`, `InternalError`, ...) with its XML body.
    pub fn s3_error(status: u16, code: &str) -> Fault {
        Fault::Status {
            status,
            headers: vec![("content-type", "application/xml".into())],
            body: format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
                 <Message>injected {code}</Message><RequestId>FAULT</RequestId></Error>"
            ),
        }
    }

    /// An SQS error in the JSON protocol (`x-amzn-query-error` names the query code too).
    pub fn sqs_error(status: u16, code: &str) -> Fault {
        Fault::Status {
            status,
            headers: vec![
                ("content-type", "application/x-amz-json-1.0".into()),
                ("x-amzn-query-error", format!("{code};Receiver")),
            ],
            body: format!(
                "{{\"__type\":\"com.amazonaws.sqs#{code}\",\"message\":\"injected {code}\"}}"
            ),
        }
    }

    /// A bare status with an empty body.
    pub fn status(status: u16) -> Fault {
        Fault::Status {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// 429 Too Many Requests asking to wait `seconds`.
    pub fn too_many_requests(seconds: u64) -> Fault {
        Fault::Status {
            status: 429,
            headers: vec![("retry-after", seconds.to_string())],
            body: String::new(),
        }
    }
}

type Matcher = Box<dyn Fn(&Request) -> bool + Send>;

/// A fault served to the next `times` requests that `matches`.
pub struct Rule {
    matches: Matcher,
    fault: Fault,
    times: usize,
}

/// What the proxy saw and did.
#[derive(Clone, Debug, Default)]
pub struct Log {
    /// Every request, in arrival order, with when it came and the fault it got (`None`:
    /// forwarded).
    pub requests: Vec<(Instant, Request, Option<Fault>)>,
}

impl Log {
    /// Requests matching `matches` that got a fault.
    pub fn faulted(&self, matches: impl Fn(&Request) -> bool) -> usize {
        self.requests
            .iter()
            .filter(|(_, r, f)| f.is_some() && matches(r))
            .count()
    }
}

struct Shared {
    rules: Mutex<Vec<Rule>>,
    log: Mutex<Log>,
    /// Set when the proxy is dropped: hanging connections end.
    closed: AtomicBool,
}

/// The HTTP proxy; stops when dropped.
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`, to give iota instead of the upstream's.
    pub endpoint: String,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// A proxy forwarding to `upstream` (`http://host:port`, any path ignored).
    pub fn start(upstream: &str) -> FaultProxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|e| panic!("upstream {upstream}: {e}"));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            rules: Mutex::new(Vec::new()),
            log: Mutex::new(Log::default()),
            closed: AtomicBool::new(false),
        });
        let serving = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if serving.closed.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let shared = Arc::clone(&serving);
                std::thread::spawn(move || serve(stream, upstream, &shared));
            }
        });
        FaultProxy { endpoint, shared }
    }

    /// Serves `fault` to the next `times` requests for which `matches` holds (rules are tried
    /// in the order they were added).
    pub fn inject(
        &self,
        times: usize,
        fault: Fault,
        matches: impl Fn(&Request) -> bool + Send + 'static,
    ) {
        self.shared.rules.lock().unwrap().push(Rule {
            matches: Box::new(matches),
            fault,
            times,
        });
    }

    /// Drops the rules not used up yet.
    pub fn clear(&self) {
        self.shared.rules.lock().unwrap().clear();
    }

    /// Faults still to be served.
    pub fn pending(&self) -> usize {
        self.shared
            .rules
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.times)
            .sum()
    }

    pub fn log(&self) -> Log {
        self.shared.log.lock().unwrap().clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees `closed`.
        let _ = TcpStream::connect(self.endpoint.trim_start_matches("http://"));
    }
}

fn serve(client: TcpStream, upstream: SocketAddr, shared: &Shared) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let Some(request) = read_request(&mut reader) else {
        return;
    };
    let fault = {
        let mut rules = shared.rules.lock().unwrap();
        let rule = rules
            .iter_mut()
            .find(|r| r.times > 0 && (r.matches)(&request));
        rule.map(|r| {
            r.times -= 1;
            r.fault.clone()
        })
    };
    shared
        .log
        .lock()
        .unwrap()
        .requests
        .push((Instant::now(), request.clone(), fault.clone()));
    let mut client = client;
    match fault {
        None => {
            if let Some(response) = forward(&request, upstream) {
                let _ = client.write_all(&response);
            }
        }
        Some(Fault::Status {
            status,
            headers,
            body,
        }) => {
            let mut head = format!(
                "HTTP/1.1 {status} Fault\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = client.write_all(head.as_bytes());
            let _ = client.write_all(body.as_bytes());
        }
        Some(Fault::Reset) => return reset(&client),
        Some(Fault::Hang) => hang(&client, shared),
        Some(Fault::ForwardThenHang) => {
            forward(&request, upstream);
            hang(&client, shared);
        }
        Some(Fault::Trickle { every }) => {
            trickle(&mut client, &request, upstream, every, false, shared)
        }
        Some(Fault::TrickleBody { every }) => {
            trickle(&mut client, &request, upstream, every, true, shared)
        }
    }
    let _ = client.shutdown(Shutdown::Write);
}

/// Forwards `request` and trickles the answer to `client` a byte every `every`, after its
/// head when `head_at_once`.
fn trickle(
    client: &mut TcpStream,
    request: &Request,
    upstream: SocketAddr,
    every: Duration,
    head_at_once: bool,
    shared: &Shared,
) {
    let Some(response) = forward(request, upstream) else {
        return;
    };
    let head_end = if head_at_once {
        response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(response.len(), |p| p + 4)
    } else {
        0
    };
    if client.write_all(&response[..head_end]).is_err() {
        return;
    }
    for byte in &response[head_end..] {
        if shared.closed.load(Ordering::SeqCst) || client.write_all(&[*byte]).is_err() {
            return;
        }
        std::thread::sleep(every);
    }
}

/// Sends `request` to `upstream` on a connection of its own; the whole response.
fn forward(request: &Request, upstream: SocketAddr) -> Option<Vec<u8>> {
    let mut stream = TcpStream::connect(upstream).ok()?;
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.target);
    for (name, value) in &request.headers {
        if name != "connection" {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str("connection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(&request.body).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    Some(response)
}

/// Closes `stream` with a reset rather than an orderly end.
fn reset(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a `linger` of the size given.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// Keeps `stream` open and silent until the client closes it or the proxy is dropped.
fn hang(stream: &TcpStream, shared: &Shared) {
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 512];
    let mut stream = stream;
    while !shared.closed.load(Ordering::SeqCst) {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}

/// One complete request: its head, then a `content-length` body (the clients under test send
/// no chunked bodies); `None` when the connection ended before.
pub fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    assert!(
        !headers
            .iter()
            .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked")),
        "the fault proxy does not take chunked request bodies"
    );
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

/// A TCP relay to `upstream` that can be cut: while cut, its port refuses connections and
/// every relayed connection has been dropped.
pub struct TcpProxy {
    pub port: u16,
    state: Arc<TcpState>,
}

struct TcpState {
    cut: AtomicBool,
    closed: AtomicBool,
    /// Both ends of every relayed connection, to drop them when cut.
    live: Mutex<Vec<TcpStream>>,
}

impl TcpProxy {
    pub fn start(upstream: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(TcpState {
            cut: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            live: Mutex::new(Vec::new()),
        });
        let relaying = Arc::clone(&state);
        std::thread::spawn(move || relay(listener, port, upstream, &relaying));
        TcpProxy { port, state }
    }

    /// Drops every connection and refuses new ones until [`TcpProxy::restore`].
    pub fn cut(&self) {
        self.state.cut.store(true, Ordering::SeqCst);
        for stream in self.state.live.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    pub fn restore(&self) {
        self.state.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.state.closed.store(true, Ordering::SeqCst);
        self.cut();
    }
}

/// Accepts and relays until closed; while cut, the listening socket is closed so that
/// connecting is refused, and bound again on restore.
fn relay(listener: TcpListener, port: u16, upstream: SocketAddr, state: &Arc<TcpState>) {
    let mut listener = Some(listener);
    while !state.closed.load(Ordering::SeqCst) {
        if state.cut.load(Ordering::SeqCst) {
            listener = None;
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        let Some(open) = &listener else {
            let started = Instant::now();
            loop {
                match TcpListener::bind(("127.0.0.1", port)) {
                    Ok(bound) => break listener = Some(bound),
                    Err(e) if started.elapsed() > Duration::from_secs(10) => {
                        panic!("cannot listen on port {port} again: {e}")
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            continue;
        };
        open.set_nonblocking(true).unwrap();
        let client = match open.accept() {
            Ok((client, _)) => client,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            Err(_) => continue,
        };
        client.set_nonblocking(false).unwrap();
        let Ok(server) = TcpStream::connect(upstream) else {
            continue;
        };
        {
            let mut live = state.live.lock().unwrap();
            live.push(client.try_clone().unwrap());
            live.push(server.try_clone().unwrap());
        }
        for (mut from, mut to) in [
            (client.try_clone().unwrap(), server.try_clone().unwrap()),
            (server, client),
        ] {
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from, &mut to);
                let _ = to.shutdown(Shutdown::Both);
                let _ = from.shutdown(Shutdown::Both);
            });
        }
    }
}
