//! Which files of the watched tree are complete and not read yet.
//!
//! Every file seen (by a notification or a rescan) is pending with its version (size and
//! modification time) and the instant that version was first seen. It is complete once the
//! version has not changed for `--settle`: by the daemon's own observation, or by its
//! modification time (a file found at start, or moved in, that was written long ago). A
//! complete file is looked at once more before it is handed out, so a change that no
//! notification reported still restarts its wait.
//!
//! Files read (or found committed by an earlier run) are remembered with the version read, so
//! that rescans and notifications about them cost a `stat` and no state-store lookup; a new
//! version is pending again. Files neither done nor pending (one that could not be opened, a
//! batch stopped by a shutdown or a state-store failure) are found again by the next rescan.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::Metadata;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use walkdir::WalkDir;

/// How long after a directory appears its files are listed. The watcher reports a new
/// directory before it adds its watch on it, so files written in it in between raise no
/// notification; listing it once the watch is surely in place finds them.
const NEW_DIRECTORY_DELAY: Duration = Duration::from_secs(1);

/// A file's content as far as the daemon can tell without reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    pub size: u64,
    pub modified: SystemTime,
}

impl Version {
    fn of(metadata: &Metadata) -> Version {
        Version {
            size: metadata.len(),
            modified: metadata.modified().unwrap_or(UNIX_EPOCH),
        }
    }
}

/// A complete file, to be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Complete {
    pub path: PathBuf,
    pub version: Version,
}

#[derive(Debug)]
struct Pending {
    version: Version,
    /// When this version was first seen.
    since: Instant,
    /// Seen in another version before: only the daemon's observation says when it is
    /// complete, so that a file changing under an old modification time is not looked at
    /// again and again.
    changed: bool,
}

pub struct Tree {
    root: PathBuf,
    settle: Duration,
    pending: HashMap<PathBuf, Pending>,
    /// Files read (or committed by an earlier run), with the version read.
    done: HashMap<PathBuf, Version>,
    /// Directories that appeared, with when to list them.
    new_dirs: HashMap<PathBuf, Instant>,
}

impl Tree {
    /// `root` is canonical, as notifications name the paths below it.
    pub fn new(root: PathBuf, settle: Duration) -> Tree {
        Tree {
            root,
            settle,
            pending: HashMap::new(),
            done: HashMap::new(),
            new_dirs: HashMap::new(),
        }
    }

    /// Files seen that are not complete yet.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Lists the whole tree: new files and new versions become pending; files gone are
    /// forgotten. Directories that cannot be listed are reported and skipped.
    pub fn rescan(&mut self, now: Instant) {
        let mut seen = HashSet::new();
        let root = self.root.clone();
        self.walk(&root, now, &mut seen);
        self.pending.retain(|path, _| seen.contains(path));
        self.done.retain(|path, _| seen.contains(path));
        // New directories are still listed when due: this listing may have come before the
        // watch on them.
    }

    /// Looks at `path` again after a notification about it: a file is seen in its current
    /// version, a path gone is forgotten, and a directory that `appeared` (created or moved
    /// in) is listed shortly.
    pub fn notice(&mut self, path: &Path, appeared: bool, now: Instant) {
        if !self.is_watched(path) {
            return;
        }
        match std::fs::metadata(path) {
            Ok(metadata) if metadata.is_file() => {
                if !is_temporary(path.file_name().unwrap_or_default()) {
                    self.observe(path.to_owned(), Version::of(&metadata), now);
                }
            }
            Ok(metadata) if metadata.is_dir() && appeared => {
                self.new_dirs
                    .insert(path.to_owned(), now + NEW_DIRECTORY_DELAY);
            }
            Ok(_) => {}
            Err(_) => {
                self.pending.remove(path);
                self.done.remove(path);
            }
        }
    }

    /// Lists the new directories due, then hands out the files complete at `now` (wall-clock
    /// `wall`), in path order. They are no longer pending: [`Tree::done`] says they were read.
    pub fn take_complete(&mut self, now: Instant, wall: SystemTime) -> Vec<Complete> {
        let due_dirs: Vec<PathBuf> = self
            .new_dirs
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(dir, _)| dir.clone())
            .collect();
        for dir in due_dirs {
            self.new_dirs.remove(&dir);
            self.walk(&dir, now, &mut HashSet::new());
        }
        let due: Vec<PathBuf> = self
            .pending
            .iter()
            .filter(|(_, pending)| self.complete_at(pending, now, wall) <= now)
            .map(|(path, _)| path.clone())
            .collect();
        let mut complete = Vec::with_capacity(due.len());
        for path in due {
            match std::fs::metadata(&path) {
                Ok(metadata) if metadata.is_file() => {
                    let version = Version::of(&metadata);
                    if version == self.pending[&path].version {
                        self.pending.remove(&path);
                        complete.push(Complete { path, version });
                    } else {
                        // Changed without a notification: its wait starts again.
                        self.observe(path, version, now);
                    }
                }
                _ => {
                    self.pending.remove(&path);
                }
            }
        }
        complete.sort_by(|a, b| a.path.cmp(&b.path));
        complete
    }

    /// `file` was read (or committed by an earlier run): not handed out again in this version.
    pub fn done(&mut self, file: Complete) {
        if self
            .pending
            .get(&file.path)
            .is_some_and(|p| p.version == file.version)
        {
            self.pending.remove(&file.path);
        }
        self.done.insert(file.path, file.version);
    }

    /// When [`Tree::take_complete`] next has something to do, if anything is waiting.
    pub fn next_due(&self, now: Instant, wall: SystemTime) -> Option<Instant> {
        let files = self
            .pending
            .values()
            .map(|pending| self.complete_at(pending, now, wall));
        files.chain(self.new_dirs.values().copied()).min()
    }

    /// When `pending` is complete: `--settle` after its version was first seen, or after its
    /// modification time if that comes first for a file not seen changing. A modification
    /// time in the future (a skewed clock on a network file system) leaves the observation
    /// alone.
    fn complete_at(&self, pending: &Pending, now: Instant, wall: SystemTime) -> Instant {
        let observed = pending.since + self.settle;
        if pending.changed {
            return observed;
        }
        let by_mtime = pending
            .version
            .modified
            .checked_add(self.settle)
            .and_then(|at| match at.duration_since(wall) {
                Ok(ahead) => now.checked_add(ahead),
                Err(_) => Some(now),
            });
        by_mtime.map_or(observed, |at| at.min(observed))
    }

    /// Lists `dir` recursively (following symlinks), observing every file; `seen` gets their
    /// paths.
    fn walk(&mut self, dir: &Path, now: Instant, seen: &mut HashSet<PathBuf>) {
        let entries = WalkDir::new(dir)
            .follow_links(true)
            .into_iter()
            .filter_entry(|entry| entry.depth() == 0 || !is_hidden(entry.file_name()));
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    let path = err.path().unwrap_or(dir).display().to_string();
                    tracing::warn!(path, "cannot list: {err}; retried at the next rescan");
                    continue;
                }
            };
            if !entry.file_type().is_file() || is_temporary(entry.file_name()) {
                continue;
            }
            // Gone since it was listed: forgotten.
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            let path = entry.into_path();
            seen.insert(path.clone());
            self.observe(path, Version::of(&metadata), now);
        }
    }

    fn observe(&mut self, path: PathBuf, version: Version, now: Instant) {
        if self.done.get(&path) == Some(&version) {
            self.pending.remove(&path);
            return;
        }
        match self.pending.get_mut(&path) {
            Some(pending) if pending.version == version => {}
            Some(pending) => {
                *pending = Pending {
                    version,
                    since: now,
                    changed: true,
                }
            }
            None => {
                self.pending.insert(
                    path,
                    Pending {
                        version,
                        since: now,
                        changed: false,
                    },
                );
            }
        }
    }

    /// Below the root and not in a hidden directory.
    fn is_watched(&self, path: &Path) -> bool {
        path.strip_prefix(&self.root).is_ok_and(|relative| {
            relative
                .components()
                .all(|c| !matches!(c, Component::Normal(name) if is_hidden(name)))
        })
    }
}

/// `.name`: hidden files and directories, where shippers (rsync among them) stage files.
fn is_hidden(name: &OsStr) -> bool {
    name.as_encoded_bytes().starts_with(b".")
}

/// A file being written under a temporary name: hidden, `*.tmp`, `*.part`, or `name~`.
fn is_temporary(name: &OsStr) -> bool {
    let name = name.to_string_lossy().to_ascii_lowercase();
    is_hidden(name.as_ref())
        || name.ends_with(".tmp")
        || name.ends_with(".part")
        || name.ends_with('~')
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTLE: Duration = Duration::from_secs(2);

    fn write(path: &Path, bytes: &[u8]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    fn set_modified(path: &Path, at: SystemTime) {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(at).unwrap();
    }

    fn names(complete: &[Complete], root: &Path) -> Vec<String> {
        complete
            .iter()
            .map(|c| c.path.strip_prefix(root).unwrap().display().to_string())
            .collect()
    }

    fn tree() -> (tempfile::TempDir, PathBuf, Tree) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let tree = Tree::new(root.clone(), SETTLE);
        (dir, root, tree)
    }

    #[test]
    fn temporary_and_hidden_names_are_ignored() {
        let (_dir, root, mut tree) = tree();
        for name in [
            "a/1.json",
            "a/.2.json",
            "a/3.json.tmp",
            "a/4.json.PART",
            "a/5.json~",
            ".staging/6.json",
            "b/c/7.jsonl",
        ] {
            write(&root.join(name), b"{}");
        }
        let now = Instant::now();
        tree.rescan(now);
        let later = SystemTime::now() + SETTLE;
        assert_eq!(
            names(&tree.take_complete(now + SETTLE, later), &root),
            ["a/1.json", "b/c/7.jsonl"]
        );
        tree.notice(&root.join(".staging/6.json"), true, now);
        tree.notice(&root.join("a/3.json.tmp"), true, now);
        assert_eq!(tree.pending(), 0);
    }

    #[test]
    fn a_recent_file_is_complete_once_unchanged_for_the_settle_time() {
        let (_dir, root, mut tree) = tree();
        let file = root.join("f.json");
        write(&file, b"{\"Records\":[");
        let now = Instant::now();
        let wall = SystemTime::now();
        tree.notice(&file, true, now);
        assert!(tree.take_complete(now, wall).is_empty());
        let due = tree.next_due(now, wall).unwrap();
        assert!(due > now && due <= now + SETTLE, "{due:?}");

        // Written again before the settle time: the wait starts again.
        let second = now + Duration::from_secs(1);
        write(&file, b"{\"Records\":[]}");
        set_modified(&file, wall + Duration::from_secs(1));
        tree.notice(&file, false, second);
        assert!(tree.take_complete(now + SETTLE, wall).is_empty());
        let complete = tree.take_complete(second + SETTLE, wall + SETTLE);
        assert_eq!(names(&complete, &root), ["f.json"]);
        assert_eq!(complete[0].version.size, 14);
        assert_eq!(tree.next_due(now, wall), None);
    }

    #[test]
    fn a_file_modified_long_ago_is_complete_at_once() {
        let (_dir, root, mut tree) = tree();
        let file = root.join("old.json.gz");
        write(&file, b"x");
        set_modified(&file, SystemTime::now() - Duration::from_secs(3600));
        let now = Instant::now();
        tree.rescan(now);
        assert_eq!(
            names(&tree.take_complete(now, SystemTime::now()), &root),
            ["old.json.gz"]
        );
    }

    #[test]
    fn a_modification_time_in_the_future_waits_for_the_observation() {
        let (_dir, root, mut tree) = tree();
        let file = root.join("skewed.json");
        write(&file, b"x");
        set_modified(&file, SystemTime::now() + Duration::from_secs(3600));
        let now = Instant::now();
        tree.rescan(now);
        assert!(tree.take_complete(now, SystemTime::now()).is_empty());
        assert_eq!(tree.take_complete(now + SETTLE, SystemTime::now()).len(), 1);
    }

    #[test]
    fn a_file_done_is_handed_out_again_only_once_changed() {
        let (_dir, root, mut tree) = tree();
        let file = root.join("f.json");
        write(&file, b"one");
        let now = Instant::now();
        let wall = SystemTime::now() + SETTLE;
        tree.rescan(now);
        let complete = tree.take_complete(now + SETTLE, wall);
        assert_eq!(complete.len(), 1);
        tree.done(complete.into_iter().next().unwrap());

        tree.rescan(now + SETTLE);
        tree.notice(&file, false, now + SETTLE);
        assert_eq!(tree.pending(), 0);
        assert!(tree
            .take_complete(now + 2 * SETTLE, wall + SETTLE)
            .is_empty());

        write(&file, b"one and two");
        tree.notice(&file, false, now + 2 * SETTLE);
        let again = tree.take_complete(now + 3 * SETTLE, wall + 2 * SETTLE);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].version.size, 11);
    }

    #[test]
    fn a_file_changing_under_an_old_modification_time_waits_for_the_observation() {
        let (_dir, root, mut tree) = tree();
        let file = root.join("f.json");
        let old = SystemTime::now() - Duration::from_secs(3600);
        write(&file, b"one");
        set_modified(&file, old);
        let now = Instant::now();
        tree.notice(&file, false, now);
        write(&file, b"one and two");
        set_modified(&file, old);
        assert!(tree.take_complete(now, SystemTime::now()).is_empty());
        assert_eq!(tree.next_due(now, SystemTime::now()), Some(now + SETTLE));
        assert_eq!(tree.take_complete(now + SETTLE, SystemTime::now()).len(), 1);
    }

    #[test]
    fn a_file_changed_without_a_notification_waits_again() {
        let (_dir, root, mut tree) = tree();
        let file = root.join("f.json");
        write(&file, b"one");
        let now = Instant::now();
        tree.notice(&file, true, now);
        write(&file, b"one and two");
        let at = now + SETTLE;
        assert!(tree.take_complete(at, SystemTime::now()).is_empty());
        assert_eq!(tree.pending(), 1);
        assert_eq!(
            tree.take_complete(at + SETTLE, SystemTime::now() + SETTLE)
                .len(),
            1
        );
    }

    #[test]
    fn a_new_directory_is_listed_after_a_delay_and_files_gone_are_forgotten() {
        let (_dir, root, mut tree) = tree();
        let now = Instant::now();
        write(&root.join("d/e/f.json"), b"x");
        tree.notice(&root.join("d"), true, now);
        assert_eq!(tree.pending(), 0);
        assert_eq!(
            tree.next_due(now, SystemTime::now()),
            Some(now + NEW_DIRECTORY_DELAY)
        );
        assert!(tree
            .take_complete(now + NEW_DIRECTORY_DELAY, SystemTime::now())
            .is_empty());
        assert_eq!(tree.pending(), 1);

        std::fs::remove_dir_all(root.join("d")).unwrap();
        tree.rescan(now + NEW_DIRECTORY_DELAY);
        assert_eq!(tree.pending(), 0);
    }
}
