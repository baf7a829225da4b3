//! What a replay reads for its range: local paths as given (every event is read, those
//! outside the range are not evaluated); the log files of a CloudTrail bucket's trail
//! prefixes, listed day folder by day folder; or the files of a data lake's hour partitions
//! for the tables of the rules' log types.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::TimeDelta;

use iota_lake::reader::{self as lake, LakeLocation};
use iota_rules::RuleSet;
use iota_sources::s3::discover::{discover, DiscoverFilter};
use iota_sources::s3::listing::{list_written_between, ListedObject};
use iota_sources::s3::TrailBucket;
use iota_sources::{expand_paths, Input};

use crate::cli::ReplayArgs;
use crate::commands::s3_poll::{connect, normalized_prefix};
use crate::pipeline::TimeRange;
use crate::s3_objects::{aws_runtime, S3Object};
use crate::UsageError;

pub enum Logs {
    Local(Vec<Input>),
    S3 {
        /// The runtime the bucket's client was made on, which must download the objects.
        runtime: tokio::runtime::Runtime,
        objects: Vec<S3Object>,
    },
}

pub struct Planned {
    pub logs: Logs,
    /// The inputs are lake files: their events were normalized before.
    pub normalized: bool,
    /// Inputs named on the command line that could not be listed.
    pub list_errors: u64,
}

impl Planned {
    /// The bytes to read, when known up front (local inputs).
    pub fn total_bytes(&self) -> Option<u64> {
        match &self.logs {
            Logs::Local(inputs) => inputs.iter().map(Input::size).sum(),
            Logs::S3 { .. } => None,
        }
    }
}

/// How long after its events a trail's log file is written, at most, unless told otherwise.
const LATE_WINDOW: Duration = Duration::from_secs(3600);

/// Refuses options of the bucket form without `--bucket`, which would otherwise be ignored.
pub fn check_options(args: &ReplayArgs) -> Result<(), UsageError> {
    if args.bucket.is_some() {
        return Ok(());
    }
    let bucket_only = [
        ("--prefix", args.prefix.is_some()),
        ("--accounts", !args.accounts.is_empty()),
        ("--regions", !args.regions.is_empty()),
        ("--late-window", args.late_window.is_some()),
    ];
    match bucket_only.iter().find(|(_, given)| *given) {
        Some((option, _)) => Err(UsageError(format!(
            "{option} applies to a trail bucket only: add --bucket BUCKET, or drop {option}"
        ))),
        None => Ok(()),
    }
}

pub fn plan(args: &ReplayArgs, range: &TimeRange, rules: &RuleSet) -> anyhow::Result<Planned> {
    if let Some(uri) = &args.lake {
        return plan_lake(args, uri, range, rules);
    }
    if let Some(bucket) = &args.bucket {
        return plan_bucket(args, bucket, range);
    }
    let (inputs, list_errors) = expand_paths(&args.paths);
    for err in &list_errors {
        tracing::error!(input = %err.path, "cannot read input: {}", err.reason);
    }
    Ok(Planned {
        logs: Logs::Local(inputs),
        normalized: false,
        list_errors: list_errors.len() as u64,
    })
}

/// The trail prefixes under `--prefix`, each listed for the files written from `--from` to
/// `--to` plus the late window.
fn plan_bucket(args: &ReplayArgs, bucket: &str, range: &TimeRange) -> anyhow::Result<Planned> {
    let runtime = aws_runtime()?;
    let bucket = connect(&runtime, &args.aws.options(), bucket)?;
    let until = range.to
        + TimeDelta::from_std(args.late_window.unwrap_or(LATE_WINDOW))
            .map_err(|_| UsageError("--late-window is too long".into()))?;
    let prefix = normalized_prefix(args.prefix.as_deref().unwrap_or("AWSLogs/"));
    let filter = DiscoverFilter {
        accounts: args.accounts.clone(),
        regions: args.regions.clone(),
    };
    let listed = runtime.block_on(async {
        let mut listed = Vec::new();
        for trail in discover(&bucket, &prefix, &filter).await? {
            listed.extend(list_written_between(&bucket, &trail, range.from, until).await?);
        }
        Ok::<_, iota_sources::s3::S3Error>(listed)
    })?;
    tracing::info!(
        bucket = bucket.name(),
        objects = listed.len(),
        list_requests = bucket.list_requests(),
        "trail listed for the range"
    );
    Ok(Planned {
        logs: Logs::S3 {
            objects: objects_of(&bucket, listed),
            runtime,
        },
        normalized: false,
        list_errors: 0,
    })
}

fn plan_lake(
    args: &ReplayArgs,
    uri: &str,
    range: &TimeRange,
    rules: &RuleSet,
) -> anyhow::Result<Planned> {
    let location = LakeLocation::parse(uri).map_err(UsageError)?;
    let tables = tables_of(rules);
    let tables = Some(tables.as_slice());
    let logs = match location {
        LakeLocation::Dir(root) => {
            let files = lake::local_files(&root, tables, range.from, range.to)
                .with_context(|| format!("cannot list the lake {uri}"))?;
            tracing::info!(
                lake = uri,
                objects = files.len(),
                "lake listed for the range"
            );
            Logs::Local(files)
        }
        LakeLocation::S3 { bucket, prefix } => {
            let runtime = aws_runtime()?;
            let bucket = connect(&runtime, &args.aws.options(), &bucket)?;
            let listed = runtime
                .block_on(lake::s3_objects(
                    &bucket, &prefix, tables, range.from, range.to,
                ))
                .with_context(|| format!("cannot list the lake {uri}"))?;
            tracing::info!(
                lake = uri,
                objects = listed.len(),
                list_requests = bucket.list_requests(),
                "lake listed for the range"
            );
            Logs::S3 {
                objects: objects_of(&bucket, listed),
                runtime,
            }
        }
    };
    Ok(Planned {
        logs,
        normalized: true,
        list_errors: 0,
    })
}

/// The lake tables the enabled rules read (every rule has its log types; `AWS.CloudTrail`
/// for one that names none).
fn tables_of(rules: &RuleSet) -> Vec<String> {
    let tables: BTreeSet<String> = rules
        .rules
        .iter()
        .filter(|r| r.enabled)
        .flat_map(|r| r.log_types.iter().map(|t| iota_lake::table_name(t)))
        .collect();
    tables.into_iter().collect()
}

fn objects_of(bucket: &Arc<TrailBucket>, listed: Vec<ListedObject>) -> Vec<S3Object> {
    listed
        .into_iter()
        .map(|object| S3Object {
            bucket: Arc::clone(bucket),
            key: object.key,
            etag: object.etag,
            size: object.size,
        })
        .collect()
}
