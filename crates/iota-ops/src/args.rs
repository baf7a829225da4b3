//! The command-line flags of the operations surface, shared by every daemon mode through
//! `#[command(flatten)] ops: OpsArgs`.

use std::net::SocketAddr;
use std::time::Duration;

/// `--listen` and `--shutdown-timeout`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct OpsArgs {
    /// Address of the HTTP endpoint serving /healthz, /readyz and /metrics. Loopback by
    /// default, so nothing is exposed by accident; set 0.0.0.0:9090 in a container so probes
    /// and Prometheus can reach it.
    #[arg(
        long,
        value_name = "ADDR:PORT",
        env = "IOTA_LISTEN",
        default_value = "127.0.0.1:9090"
    )]
    pub listen: SocketAddr,

    /// On SIGTERM or SIGINT, how long to finish or release in-flight work and flush the
    /// outbox before exiting (e.g. 30s, 2m). A second signal exits at once.
    #[arg(
        long,
        value_name = "DURATION",
        env = "IOTA_SHUTDOWN_TIMEOUT",
        default_value = "30s",
        value_parser = humantime::parse_duration
    )]
    pub shutdown_timeout: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        ops: OpsArgs,
    }

    fn parse(args: &[&str]) -> Result<OpsArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("iota").chain(args.iter().copied())).map(|c| c.ops)
    }

    #[test]
    fn defaults_are_loopback_and_thirty_seconds() {
        // The environment could set IOTA_LISTEN or IOTA_SHUTDOWN_TIMEOUT; skip rather than
        // assert on a value the test does not control.
        if std::env::var_os("IOTA_LISTEN").is_some()
            || std::env::var_os("IOTA_SHUTDOWN_TIMEOUT").is_some()
        {
            return;
        }
        let ops = parse(&[]).unwrap();
        assert_eq!(ops.listen, "127.0.0.1:9090".parse().unwrap());
        assert_eq!(ops.shutdown_timeout, Duration::from_secs(30));
    }

    #[test]
    fn flags_override_the_defaults() {
        let ops = parse(&["--listen", "0.0.0.0:9191", "--shutdown-timeout", "2m 30s"]).unwrap();
        assert_eq!(ops.listen, "0.0.0.0:9191".parse().unwrap());
        assert_eq!(ops.shutdown_timeout, Duration::from_secs(150));
    }

    #[test]
    fn bad_values_are_usage_errors_naming_the_flag() {
        let err = parse(&["--listen", "localhost"]).unwrap_err();
        assert!(err.to_string().contains("--listen"), "{err}");
        let err = parse(&["--shutdown-timeout", "soon"]).unwrap_err();
        assert!(err.to_string().contains("--shutdown-timeout"), "{err}");
    }
}
