//! The data lake (SPEC 1, docs/LAKE.md): every normalized event, with its `p_` fields, as
//! newline-delimited JSON in gzip files under
//! `<location>/logs/<table>/year=YYYY/month=MM/day=DD/hour=HH/<flush id>.json.gz`, readable
//! by zcat, DuckDB's `read_json` and Athena's JSON SerDe.
//!
//! Layout: `layout` (tables, partitions, file names), `staging` (events compressed per input
//! and gathered into one file per partition at each flush), `backend/` (a local directory or
//! an S3 prefix behind [`LakeBackend`]), `tables` and `ddl` (Athena tables for
//! `iota lake ddl`), `reader` (the files of a time range, for `iota replay`). When a flush happens and how its files are committed with the inputs'
//! progress is the caller's part (`iota`'s committer).

pub mod backend;
mod ddl;
mod layout;
pub mod reader;
mod staging;
mod tables;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use iota_sources::aws::AwsOptions;

pub use backend::LakeBackend;
pub use ddl::create_tables;
pub use layout::{new_flush_id, table_name, Partition};
pub use staging::{Buffer, Group, InputStaging, LakeFile, LakeIntake};
pub use tables::{Column, Table, P_FIELDS, TABLES};

#[derive(thiserror::Error, Debug)]
pub enum LakeError {
    #[error("--lake must be s3://BUCKET[/PREFIX] or file:///DIRECTORY, not {0:?}")]
    Uri(String),
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
    #[error("cannot {action} for the lake {uri}: {reason}")]
    S3 {
        uri: String,
        action: &'static str,
        reason: String,
    },
}

/// Where the lake is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LakeUri {
    S3 { bucket: String, prefix: String },
    File(PathBuf),
}

impl LakeUri {
    pub fn parse(uri: &str) -> Result<Self, LakeError> {
        if let Some(rest) = uri.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(LakeError::Uri(uri.to_owned()));
            }
            return Ok(LakeUri::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        match uri.strip_prefix("file://") {
            Some(path) if path.starts_with('/') => Ok(LakeUri::File(PathBuf::from(path))),
            _ => Err(LakeError::Uri(uri.to_owned())),
        }
    }
}

impl std::fmt::Display for LakeUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LakeUri::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            LakeUri::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            LakeUri::File(path) => write!(f, "file://{}", path.display()),
        }
    }
}

/// When buffered events are written out.
#[derive(Clone, Copy, Debug)]
pub struct FlushPolicy {
    /// Compressed bytes waiting that trigger a flush.
    pub size: u64,
    /// Longest time an event waits before it is written.
    pub interval: Duration,
}

/// An opened lake: its backend, its flush policy, and the intake the decode threads write to.
pub struct Lake {
    uri: LakeUri,
    backend: Box<dyn LakeBackend>,
    pub policy: FlushPolicy,
    intake: Arc<LakeIntake>,
}

impl Lake {
    /// Opens the lake at `uri`; `aws` says how to reach an S3 lake.
    pub fn open(uri: &str, policy: FlushPolicy, aws: &AwsOptions) -> Result<Self, LakeError> {
        let uri = LakeUri::parse(uri)?;
        let backend: Box<dyn LakeBackend> = match &uri {
            LakeUri::S3 { bucket, prefix } => {
                Box::new(backend::s3::S3Lake::open(bucket, prefix, aws)?)
            }
            LakeUri::File(path) => Box::new(backend::file::FileLake::open(path)?),
        };
        Ok(Lake {
            uri,
            backend,
            policy,
            intake: Arc::default(),
        })
    }

    pub fn uri(&self) -> &LakeUri {
        &self.uri
    }

    /// Where the decode threads put each input's events.
    pub fn intake(&self) -> &Arc<LakeIntake> {
        &self.intake
    }

    /// The buffer of one run, on the thread that commits its results.
    pub fn buffer(&self) -> Buffer {
        Buffer::new(Arc::clone(&self.intake))
    }

    pub fn put(&self, file: &LakeFile) -> Result<(), LakeError> {
        self.backend.put(&file.key, &file.gzip)
    }

    pub fn delete(&self, key: &str) -> Result<(), LakeError> {
        self.backend.delete(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_name_a_bucket_and_prefix_or_an_absolute_directory() {
        assert_eq!(
            LakeUri::parse("s3://bucket/a/b/").unwrap(),
            LakeUri::S3 {
                bucket: "bucket".into(),
                prefix: "a/b".into()
            }
        );
        assert_eq!(
            LakeUri::parse("s3://bucket").unwrap().to_string(),
            "s3://bucket"
        );
        assert_eq!(
            LakeUri::parse("file:///var/lake").unwrap(),
            LakeUri::File("/var/lake".into())
        );
        for bad in ["/var/lake", "file://relative", "s3://", "gs://b/p"] {
            let err = LakeUri::parse(bad).unwrap_err().to_string();
            assert!(err.contains("s3://BUCKET"), "{bad}: {err}");
        }
    }
}
