//! A lake in a local directory (`file:///dir`): each file is written under a temporary name
//! beginning with `.` (which readers of `*.json.gz` never match), flushed to disk, and renamed
//! into place, so that a crash leaves no partial file under a lake name.

use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use super::LakeBackend;
use crate::LakeError;

pub struct FileLake {
    root: PathBuf,
}

impl FileLake {
    /// A lake below `root`, created if missing.
    pub fn open(root: &Path) -> Result<Self, LakeError> {
        fs::create_dir_all(root).map_err(|source| LakeError::Io {
            path: root.to_owned(),
            action: "create the lake directory",
            source,
        })?;
        Ok(FileLake {
            root: root.to_owned(),
        })
    }
}

impl LakeBackend for FileLake {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), LakeError> {
        let path = self.root.join(key);
        let dir = path.parent().expect("lake keys have a directory");
        let temporary = temporary(&path);
        let io = |action: &'static str, path: &Path| {
            let path = path.to_owned();
            move |source| LakeError::Io {
                path,
                action,
                source,
            }
        };
        fs::create_dir_all(dir).map_err(io("create the partition directory", dir))?;
        let mut file = File::create(&temporary).map_err(io("create", &temporary))?;
        file.write_all(bytes).map_err(io("write", &temporary))?;
        file.sync_all().map_err(io("flush to disk", &temporary))?;
        fs::rename(&temporary, &path).map_err(io("rename into place", &path))?;
        // The rename itself is durable once the directory is.
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io("flush to disk", dir))
    }

    /// Also removes the file's temporary name, which a writer that died mid-way leaves.
    fn delete(&self, key: &str) -> Result<(), LakeError> {
        let path = self.root.join(key);
        for path in [temporary(&path), path] {
            match fs::remove_file(&path) {
                Err(err) if err.kind() != ErrorKind::NotFound => {
                    return Err(LakeError::Io {
                        path,
                        action: "delete",
                        source: err,
                    })
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// `dir/.name.tmp` for `dir/name`: where a file is written before it is renamed into place.
fn temporary(path: &Path) -> PathBuf {
    let name = path.file_name().expect("lake keys name a file");
    path.with_file_name(format!(".{}.tmp", name.to_string_lossy()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_put_whole_and_deleted_once_or_twice() {
        let dir = tempfile::tempdir().unwrap();
        let lake = FileLake::open(&dir.path().join("lake")).unwrap();
        lake.put("logs/t/year=2024/a.json.gz", b"abc").unwrap();
        let path = dir.path().join("lake/logs/t/year=2024/a.json.gz");
        assert_eq!(fs::read(&path).unwrap(), b"abc");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.json.gz"], "no temporary file is left");
        // A writer killed before its rename leaves the temporary name, which goes too.
        let temporary = path.with_file_name(".a.json.gz.tmp");
        fs::write(&temporary, b"ab").unwrap();
        lake.delete("logs/t/year=2024/a.json.gz").unwrap();
        assert!(!path.exists());
        assert!(!temporary.exists());
        lake.delete("logs/t/year=2024/a.json.gz").unwrap();
    }
}
