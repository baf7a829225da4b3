//! The data lake from the command line: [`open`] merges the `--lake` options with the config
//! file's `[lake]` table and opens the lake; [`MemoryLake`] flushes it for `iota scan` without
//! a state store, where nothing is committed and every event is written as it comes. With a
//! state store, flushes are committed with the inputs they hold (`committer.rs`).

use std::time::Duration;

use bytesize::ByteSize;
use chrono::Utc;

use iota_lake::{new_flush_id, Buffer, FlushPolicy, Lake};
use iota_sources::aws::AwsOptions;

use crate::cli::EngineArgs;
use crate::config::{ConfigFile, LakeConfig};
use crate::UsageError;

const DEFAULT_FLUSH_SIZE: ByteSize = ByteSize::mib(64);
const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(60);

/// The lake `args` (or the config file) name, opened; `None` without one.
pub fn open(args: &EngineArgs) -> anyhow::Result<Option<Lake>> {
    let file = match &args.config {
        Some(path) => ConfigFile::load(path)?.lake.unwrap_or_default(),
        None => LakeConfig::default(),
    };
    let flags = &args.lake;
    let Some(uri) = flags.lake.clone().or(file.uri) else {
        return Ok(None);
    };
    let in_file = |key: &str| match &args.config {
        Some(path) => format!("[lake] {key} in {}", path.display()),
        None => format!("[lake] {key}"),
    };
    let size = match (flags.lake_flush_size, &file.flush_size) {
        (Some(size), _) => size,
        (None, Some(text)) => text
            .parse::<ByteSize>()
            .map_err(|e| UsageError(format!("{}: {e} (e.g. 64MiB)", in_file("flush_size"))))?,
        (None, None) => DEFAULT_FLUSH_SIZE,
    };
    let interval = match (flags.lake_flush_interval, &file.flush_interval) {
        (Some(interval), _) => interval,
        (None, Some(text)) => humantime::parse_duration(text)
            .map_err(|e| UsageError(format!("{}: {e} (e.g. 5m)", in_file("flush_interval"))))?,
        (None, None) => DEFAULT_FLUSH_INTERVAL,
    };
    if size.as_u64() == 0 || interval.is_zero() {
        return Err(
            UsageError("the lake's flush size and interval must be above zero".to_owned()).into(),
        );
    }
    let aws = AwsOptions {
        region: flags.lake_region.clone().or(file.region),
        endpoint_url: flags.lake_endpoint_url.clone().or(file.endpoint_url),
        force_path_style: flags.lake_force_path_style || file.force_path_style.unwrap_or(false),
        assume_role: None,
        // The lake has no --request-timeout of its own: the default one applies.
        request_timeout: None,
    };
    let policy = FlushPolicy {
        size: size.as_u64(),
        interval,
    };
    let lake = Lake::open(&uri, policy, &aws).map_err(|e| match e {
        iota_lake::LakeError::Uri(_) => anyhow::Error::new(UsageError(e.to_string())),
        other => anyhow::Error::new(other),
    })?;
    tracing::debug!(lake = %lake.uri(), flush_size = %size, flush_interval = ?interval, "lake opened");
    Ok(Some(lake))
}

/// Flushes a lake whose writes nothing commits (`iota scan` without `--state`).
pub struct MemoryLake<'a> {
    lake: &'a Lake,
    buffer: Buffer,
    /// The first write that failed; nothing is written after it.
    pub failure: Option<anyhow::Error>,
}

impl<'a> MemoryLake<'a> {
    pub fn new(lake: &'a Lake) -> Self {
        MemoryLake {
            lake,
            buffer: lake.buffer(),
            failure: None,
        }
    }

    pub fn input_done(&mut self, position: usize) {
        self.buffer.input_done(position);
    }

    pub fn tick(&mut self) {
        let policy = self.lake.policy;
        if self.buffer.due(policy.size, policy.interval, &|_| true) {
            self.flush();
        }
    }

    pub fn flush(&mut self) {
        let group = self.buffer.take(&|_| true);
        if group.is_empty() || self.failure.is_some() {
            return;
        }
        let id = new_flush_id(Utc::now());
        for file in group.files(&id) {
            if let Err(err) = self.lake.put(&file) {
                self.failure = Some(
                    anyhow::Error::new(err)
                        .context(format!("cannot write the lake {}", self.lake.uri())),
                );
                return;
            }
        }
        tracing::debug!(flush = %id, events = group.rows(), "lake flush written");
    }
}
