//! Files that CloudTrail writes next to its logs and that hold no events: recognised and
//! skipped instead of being reported as malformed.

use crate::Skipped;

/// Recognises a non-log file from its path or S3 key alone, before reading it.
pub(crate) fn by_name(name: &str) -> Option<Skipped> {
    if name.contains("ConfigWritabilityCheckFile") {
        Some(Skipped::ConfigWritabilityCheck)
    } else if name.contains("CloudTrail-Digest/") || name.contains("CloudTrail-Digest\\") {
        Some(Skipped::CloudTrailDigest)
    } else {
        None
    }
}

/// Top-level keys that only a CloudTrail digest file has.
pub(crate) fn is_digest_key(key: &[u8]) -> bool {
    matches!(
        key,
        b"digestPublicKeyFingerprint" | b"digestStartTime" | b"digestEndTime"
    )
}
