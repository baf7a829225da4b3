//! Log set-up: human-readable lines on a terminal, JSON lines otherwise (or as asked), level
//! from `RUST_LOG` when set, else `--log-level`.

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

use crate::terminal::{stderr_is_terminal, StderrLines};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Text on a terminal, JSON otherwise.
    Auto,
    Text,
    Json,
}

impl LogFormat {
    pub fn is_json(self) -> bool {
        match self {
            LogFormat::Auto => !stderr_is_terminal(),
            LogFormat::Text => false,
            LogFormat::Json => true,
        }
    }
}

pub fn init(level: &str, format: LogFormat) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => EnvFilter::try_new(spec)?,
        _ => EnvFilter::try_new(level)
            .map_err(|e| anyhow::anyhow!("invalid --log-level {level:?}: {e}"))?,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(StderrLines)
        .with_target(false);
    if format.is_json() {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
    Ok(())
}
