//! What the binary carries for run time: the Python runtime (`python/` packages) and the
//! bundled rule pack (`rules/`), both compiled in and unpacked, once per content version,
//! into a cache directory.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

mod python {
    include!(concat!(env!("OUT_DIR"), "/python_files.rs"));
}
mod bundled {
    include!(concat!(env!("OUT_DIR"), "/bundled_rules.rs"));
}

/// Where embedded trees are unpacked: `$IOTA_RUNTIME_DIR`, else `$XDG_CACHE_HOME/iota`, else
/// `$HOME/.cache/iota`, else the system temp directory (read-only root filesystems).
pub fn default_cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("IOTA_RUNTIME_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("iota");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".cache").join("iota");
    }
    std::env::temp_dir().join("iota")
}

/// Unpacks the Python runtime and returns the directory to put on the workers' `sys.path`.
pub fn unpack_runtime(cache_root: &Path) -> io::Result<PathBuf> {
    unpack(cache_root, "runtime", python::FILES)
}

/// Unpacks the bundled rule pack and returns its directory.
pub fn unpack_bundled_rules(cache_root: &Path) -> io::Result<PathBuf> {
    unpack(cache_root, "rules", bundled::FILES)
}

/// Concurrent iota processes are safe: each writes a private temporary directory and renames
/// it into place; the content hash in the name keeps versions apart.
fn unpack(cache_root: &Path, kind: &str, files: &[(&str, &[u8])]) -> io::Result<PathBuf> {
    let target = cache_root.join(format!("{kind}-{}", content_hash(files)));
    if target.join(".complete").is_file() {
        return Ok(target);
    }
    fs::create_dir_all(cache_root)?;
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{kind}-"))
        .tempdir_in(cache_root)?;
    for (rel, bytes) in files {
        let path = staging.path().join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, bytes)?;
    }
    fs::write(staging.path().join(".complete"), b"")?;
    match fs::rename(staging.path(), &target) {
        Ok(()) => {
            // The directory now lives at `target`; nothing left to clean up.
            let _ = staging.keep();
            Ok(target)
        }
        // Another process won the race with identical content.
        Err(_) if target.join(".complete").is_file() => Ok(target),
        Err(e) => Err(e),
    }
}

fn content_hash(files: &[(&str, &[u8])]) -> String {
    let mut hasher = Sha256::new();
    for (rel, bytes) in files {
        hasher.update(rel.as_bytes());
        hasher.update([0]);
        hasher.update(bytes);
    }
    hasher
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_runtime_once_without_leftovers() {
        let root = tempfile::tempdir().unwrap();
        let first = unpack_runtime(root.path()).unwrap();
        assert!(first.join("iota_runtime/worker.py").is_file());
        let second = unpack_runtime(root.path()).unwrap();
        assert_eq!(first, second);
        let entries = fs::read_dir(root.path()).unwrap().count();
        assert_eq!(entries, 1, "no staging directories left behind");
    }

    #[test]
    fn bundled_rules_unpack_beside_the_runtime() {
        let root = tempfile::tempdir().unwrap();
        let rules = unpack_bundled_rules(root.path()).unwrap();
        let runtime = unpack_runtime(root.path()).unwrap();
        assert_ne!(rules, runtime);
        assert_eq!(
            fs::read_dir(&rules).unwrap().count() > 1,
            !bundled::FILES.is_empty()
        );
    }
}
