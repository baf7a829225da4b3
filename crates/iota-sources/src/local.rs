//! Local inputs: files, directories searched recursively (in name order, following symlinks
//! with loop detection) and `-` for stdin. A path given by name that is neither a file nor a
//! directory (a named pipe, `/dev/stdin`, a shell's `<(zcat ...)`) is read as a stream;
//! inside directories only regular files are inputs, since opening a pipe found there could
//! wait forever for a writer.

use std::io;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::Input;

/// A path given on the command line (or found below it) that cannot be listed.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct InputListError {
    pub path: String,
    pub reason: String,
}

/// Expands command-line paths into inputs. Problems (a missing path, an unreadable directory,
/// a symlink loop) are returned alongside; every other input is still listed.
pub fn expand_paths(paths: &[PathBuf]) -> (Vec<Input>, Vec<InputListError>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        for entry in WalkDir::new(path).follow_links(true).sort_by_file_name() {
            match entry {
                Ok(entry)
                    if entry.file_type().is_file()
                        || (entry.depth() == 0 && !entry.file_type().is_dir()) =>
                {
                    let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                    inputs.push(Input::File {
                        path: entry.into_path(),
                        size,
                    });
                }
                Ok(_) => {}
                Err(err) => errors.push(InputListError {
                    path: err.path().unwrap_or(Path::new(path)).display().to_string(),
                    reason: describe(&err),
                }),
            }
        }
    }
    (inputs, errors)
}

fn describe(err: &walkdir::Error) -> String {
    if let Some(ancestor) = err.loop_ancestor() {
        return format!("symlink loop back to {}; not followed", ancestor.display());
    }
    match err.io_error() {
        Some(io) if io.kind() == io::ErrorKind::NotFound => "no such file or directory".into(),
        Some(io) if io.kind() == io::ErrorKind::PermissionDenied => "permission denied".into(),
        Some(io) => io.to_string(),
        None => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_files_recursively_in_name_order_and_reports_missing_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/2.json"), "{}").unwrap();
        std::fs::write(dir.path().join("a/1.json"), "{}").unwrap();
        std::fs::write(dir.path().join("z.json"), "x").unwrap();
        let missing = dir.path().join("missing");
        let (inputs, errors) =
            expand_paths(&[dir.path().to_path_buf(), missing.clone(), "-".into()]);
        let names: Vec<String> = inputs.iter().map(Input::name).collect();
        let root = dir.path().display().to_string();
        assert_eq!(
            names,
            vec![
                format!("{root}/a/1.json"),
                format!("{root}/a/b/2.json"),
                format!("{root}/z.json"),
                "-".into()
            ]
        );
        assert_eq!(inputs[2].size(), Some(1));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, missing.display().to_string());
        assert_eq!(errors[0].reason, "no such file or directory");
    }

    #[test]
    fn a_named_pipe_is_an_input_when_named_but_not_inside_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("run mkfifo");
        assert!(status.success());
        std::fs::write(dir.path().join("file.json"), "{}").unwrap();
        let (inputs, errors) = expand_paths(&[fifo.clone(), dir.path().to_path_buf()]);
        assert!(errors.is_empty(), "{errors:?}");
        let names: Vec<String> = inputs.iter().map(Input::name).collect();
        assert_eq!(
            names,
            vec![
                fifo.display().to_string(),
                dir.path().join("file.json").display().to_string()
            ]
        );
    }

    #[test]
    fn symlink_loops_are_reported_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("d/e.json"), "{}").unwrap();
        std::os::unix::fs::symlink(dir.path(), dir.path().join("d/loop")).unwrap();
        let (inputs, errors) = expand_paths(&[dir.path().to_path_buf()]);
        assert_eq!(inputs.len(), 1);
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].reason.starts_with("symlink loop"),
            "{}",
            errors[0].reason
        );
    }
}
