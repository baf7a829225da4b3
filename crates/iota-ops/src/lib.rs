//! The operations surface every iota daemon mode (s3-poll, watch, sqs) shares (SPEC 7):
//!
//! - [`server`]: the HTTP endpoint (`/healthz`, `/readyz`, `/metrics`) on its own thread and
//!   tokio runtime, so the daemons themselves stay synchronous;
//! - [`metrics`]: the Prometheus recorder, the metric names and typed helpers to update them;
//! - [`shutdown`]: SIGTERM/SIGINT handling, an interruptible sleep and the shutdown deadline;
//! - [`args`]: the `--listen` and `--shutdown-timeout` flags, to flatten into a daemon's
//!   command line.
//!
//! A daemon wires it up like this:
//!
//! ```no_run
//! use iota_ops::{OpsArgs, OpsServer, Readiness, Shutdown, metrics};
//! # fn main() -> Result<(), iota_ops::OpsError> {
//! # let ops = OpsArgs { listen: "127.0.0.1:0".parse().unwrap(), shutdown_timeout: std::time::Duration::from_secs(30) };
//! # let poll_interval = std::time::Duration::from_secs(60);
//! let shutdown = Shutdown::install()?;
//! let readiness = Readiness::new().check("state store", || Ok(()));
//! let _server = OpsServer::start(ops.listen, readiness)?;
//! while !shutdown.is_requested() {
//!     let started = std::time::Instant::now();
//!     // ... poll, process, commit ...
//!     metrics::poll_finished(started.elapsed(), true);
//!     shutdown.sleep(poll_interval);
//! }
//! let deadline = shutdown.deadline(ops.shutdown_timeout);
//! // ... release in-flight work, flush the outbox until `deadline.remaining()` ...
//! # Ok(())
//! # }
//! ```

pub mod args;
pub mod metrics;
pub mod server;
pub mod shutdown;

pub use args::OpsArgs;
pub use server::{OpsServer, Readiness};
pub use shutdown::{Deadline, Shutdown};

use std::net::SocketAddr;

/// What can go wrong while setting up the operations surface.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The HTTP endpoint could not bind its address.
    #[error("cannot listen on {addr}: {reason}; pass --listen with another address")]
    Bind {
        /// The address from `--listen`.
        addr: SocketAddr,
        /// Why binding failed, in words (e.g. "address in use").
        reason: String,
    },
    /// The HTTP endpoint's runtime or thread could not be started.
    #[error("cannot start the HTTP endpoint on {addr}: {source}")]
    Start {
        /// The address from `--listen`.
        addr: SocketAddr,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Another metrics recorder was installed in this process before ours.
    #[error("cannot install the Prometheus metrics recorder: {0}")]
    Metrics(String),
    /// The SIGTERM/SIGINT handlers could not be registered.
    #[error("cannot register the SIGTERM/SIGINT handlers: {0}")]
    Signals(std::io::Error),
}
