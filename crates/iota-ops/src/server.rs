//! The daemons' HTTP endpoint (SPEC 7, `--listen`): `/healthz` (liveness), `/readyz` (the
//! registered [`Readiness`] checks) and `/metrics` (Prometheus text exposition).
//!
//! [`OpsServer`] runs on its own thread with a small single-threaded tokio runtime, so the
//! daemons can stay synchronous. Readiness checks are blocking functions: each runs on the
//! runtime's blocking pool under a timeout, at most one run per check at a time (a check that
//! hangs keeps failing with "timed out" instead of piling up threads).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::{oneshot, Mutex};

use crate::metrics::MetricsHandle;
use crate::OpsError;

/// How long a readiness check may run before it counts as failed, unless
/// [`Readiness::timeout`] says otherwise. Probes calling `/readyz` need a timeout above it
/// (Kubernetes: `timeoutSeconds: 6` or more; its default is 1).
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// How often histogram samples are drained between scrapes, bounding their memory.
const METRICS_UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// What `/readyz` checks: named blocking functions, each `Ok(())` when what it checks is
/// reachable (e.g. "state store", "s3") or `Err(reason)`.
pub struct Readiness {
    checks: Vec<Arc<Check>>,
    timeout: Duration,
}

struct Check {
    name: String,
    run: Box<dyn Fn() -> Result<(), String> + Send + Sync>,
    /// Held by the run in progress, so runs of one check never overlap.
    running: Arc<Mutex<()>>,
}

impl Default for Readiness {
    fn default() -> Self {
        Self {
            checks: Vec::new(),
            timeout: DEFAULT_CHECK_TIMEOUT,
        }
    }
}

impl Readiness {
    /// No checks yet (ready as soon as serving), [`DEFAULT_CHECK_TIMEOUT`] per check.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a check named `name`, reported under that name by `/readyz`.
    pub fn check<F>(mut self, name: impl Into<String>, check: F) -> Self
    where
        F: Fn() -> Result<(), String> + Send + Sync + 'static,
    {
        self.checks.push(Arc::new(Check {
            name: name.into(),
            run: Box::new(check),
            running: Arc::new(Mutex::new(())),
        }));
        self
    }

    /// How long each check may take before it fails with "timed out after ...".
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// The running HTTP endpoint. Dropping it (or [`stop`](Self::stop)) stops serving and ends
/// its thread.
pub struct OpsServer {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct AppState {
    readiness: Readiness,
    metrics: MetricsHandle,
    /// Whether the previous `/readyz` answered ready, to log only the changes.
    was_ready: AtomicBool,
}

impl OpsServer {
    /// Installs the metrics recorder (see [`crate::metrics::install`]), binds `listen` and
    /// serves on a background thread. Port 0 picks a free port; see
    /// [`local_addr`](Self::local_addr).
    pub fn start(listen: SocketAddr, readiness: Readiness) -> Result<Self, OpsError> {
        let metrics = crate::metrics::install()?;
        let start_error = |source| OpsError::Start {
            addr: listen,
            source,
        };
        let listener =
            std::net::TcpListener::bind(listen).map_err(|err| bind_error(listen, &err))?;
        listener.set_nonblocking(true).map_err(start_error)?;
        let local_addr = listener.local_addr().map_err(start_error)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("iota-ops-http")
            .build()
            .map_err(start_error)?;
        let listener = {
            let _context = runtime.enter();
            tokio::net::TcpListener::from_std(listener).map_err(start_error)?
        };
        let state = Arc::new(AppState {
            readiness,
            metrics: metrics.clone(),
            was_ready: AtomicBool::new(true),
        });
        let app = Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route("/metrics", get(render_metrics))
            .fallback(not_found)
            .with_state(state);
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("iota-ops-http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::spawn(async move {
                        if let Err(err) = axum::serve(listener, app).await {
                            tracing::error!("HTTP endpoint on {local_addr} stopped: {err}");
                        }
                    });
                    tokio::spawn(async move {
                        let mut upkeep = tokio::time::interval(METRICS_UPKEEP_INTERVAL);
                        loop {
                            upkeep.tick().await;
                            metrics.run_upkeep();
                        }
                    });
                    // Also resolves when the sender is dropped.
                    let _ = stopped.await;
                });
                // Checks still hung in the blocking pool are left behind, not waited for.
                runtime.shutdown_background();
            })
            .map_err(start_error)?;
        tracing::info!("serving /healthz, /readyz and /metrics on http://{local_addr}");
        Ok(Self {
            local_addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The bound address (the actual port when started on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops serving and waits for the server thread to end.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for OpsServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn bind_error(addr: SocketAddr, err: &std::io::Error) -> OpsError {
    use std::io::ErrorKind;
    let reason = match err.kind() {
        ErrorKind::AddrInUse => "address in use".to_owned(),
        ErrorKind::AddrNotAvailable => "no such address on this host".to_owned(),
        ErrorKind::PermissionDenied => {
            "permission denied (ports below 1024 need privileges)".to_owned()
        }
        _ => err.to_string(),
    };
    OpsError::Bind { addr, reason }
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn healthz() -> Response {
    json(StatusCode::OK, serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let timeout = state.readiness.timeout;
    // Spawned first, awaited after: the checks run concurrently.
    let runs: Vec<_> = state
        .readiness
        .checks
        .iter()
        .map(|check| tokio::spawn(run_check(Arc::clone(check), timeout)))
        .collect();
    let mut checks = serde_json::Map::new();
    let mut failures = Vec::new();
    for (check, run) in state.readiness.checks.iter().zip(runs) {
        let outcome = match run.await {
            Ok(outcome) => outcome,
            Err(err) => Err(format!("check did not complete: {err}")),
        };
        let value = match outcome {
            Ok(()) => "ok".to_owned(),
            Err(reason) => {
                failures.push(format!("{}: {reason}", check.name));
                reason
            }
        };
        checks.insert(check.name.clone(), value.into());
    }
    let ready = failures.is_empty();
    if state.was_ready.swap(ready, Ordering::Relaxed) != ready {
        if ready {
            tracing::info!("ready again");
        } else {
            tracing::warn!("not ready: {}", failures.join("; "));
        }
    }
    let (status, word) = if ready {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    };
    json(
        status,
        serde_json::json!({ "status": word, "checks": checks }),
    )
}

/// Runs one check on the blocking pool, after any previous run of it has returned, all
/// within `timeout`.
async fn run_check(check: Arc<Check>, timeout: Duration) -> Result<(), String> {
    let run = async {
        let running = Arc::clone(&check.running).lock_owned().await;
        let check = Arc::clone(&check);
        tokio::task::spawn_blocking(move || {
            let _running = running;
            (check.run)()
        })
        .await
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(err)) if err.is_panic() => Err(format!("panicked: {}", panic_message(err))),
        Ok(Err(err)) => Err(format!("check did not complete: {err}")),
        Err(_) => Err(format!(
            "timed out after {}",
            humantime::format_duration(timeout)
        )),
    }
}

fn panic_message(err: tokio::task::JoinError) -> String {
    let payload = err.into_panic();
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "no message".to_owned()
    }
}

async fn render_metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

async fn not_found(request: Request) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!(
            "no such endpoint: {}; try /healthz, /readyz or /metrics\n",
            request.uri().path()
        ),
    )
        .into_response()
}
