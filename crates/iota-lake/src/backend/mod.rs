//! Where lake files are stored: a local directory ([`file`]) or an S3 prefix ([`s3`]),
//! behind [`LakeBackend`]. Keys are relative to the lake's location
//! (`logs/<table>/…/<file>.json.gz`).

pub mod file;
pub mod s3;

use crate::LakeError;

pub trait LakeBackend: Send + Sync {
    /// Stores `bytes` under `key` durably and atomically: a reader sees the whole file or
    /// none of it.
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), LakeError>;

    /// Removes `key`; a key that does not exist is not an error.
    fn delete(&self, key: &str) -> Result<(), LakeError>;
}
