//! `iota watch` over a real directory tree, with a fixture rule in a real Python worker and
//! alerts delivered to a webhook on loopback: files landing in directories created after the
//! start are each read once, a file written slowly is read once and whole, temporary names
//! are ignored, a restart reads only the new files and delivers each alert once, the daemon
//! serves /healthz, /readyz and /metrics and exits 0 soon after SIGTERM, and `--once` reads
//! what is complete and leaves what is still being written.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use common::daemon::{http_get, webhook_config, Running};
use common::receiver::Receiver;
use common::*;

/// `iota watch DIR` with the fixture rule `stop_logging` (one alert per StopLogging event:
/// it dedups on eventID) and one worker, alerts to `config`'s outputs; `args` follow.
fn watch_command(dir: &Path, state: &Path, config: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_iota"));
    command
        .args(["--log-format", "json", "watch"])
        .arg(dir)
        .args(["--state", state.to_str().unwrap(), "--workers", "1"])
        .arg("--rules")
        .arg(fixtures().join("rules/good/stop_logging.py"))
        .args(["--config", config.to_str().unwrap()])
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Starts `iota watch` on `dir` (see [`watch_command`]) with its endpoint on a free port.
fn start_watch(dir: &Path, state: &Path, config: &Path, args: &[&str]) -> Running {
    let mut command = watch_command(dir, state, config, args);
    command.args(["--shutdown-timeout", "10s"]);
    Running::start(command)
}

/// The sum of `field` over the "batch finished" records of `watch`.
fn batch_total(watch: &Running, field: &str) -> u64 {
    watch
        .records("batch finished")
        .iter()
        .map(|r| r[field].as_u64().unwrap())
        .sum()
}

/// `n` StopLogging events (one alert each), ids `<prefix>-<i>`.
fn stop_logging(prefix: &str, n: usize) -> Vec<Value> {
    events("StopLogging", prefix, n)
}

/// The alerts the receiver accepted, by id, with how many times each was received.
fn receipts(receiver: &Receiver) -> BTreeMap<String, usize> {
    let mut receipts = BTreeMap::new();
    for alert in receiver.accepted() {
        *receipts
            .entry(alert["id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    receipts
}

/// The processed-file records of the store: canonical path -> (events, attempts) of each.
fn committed_files(state: &Path) -> BTreeMap<String, Vec<(u64, u32)>> {
    let store = iota_state::open(state.to_str().unwrap()).unwrap();
    let mut files: BTreeMap<String, Vec<(u64, u32)>> = BTreeMap::new();
    for record in store.list_objects("local", false).unwrap() {
        files
            .entry(record.key)
            .or_default()
            .push((record.events, record.attempts));
    }
    files
}

fn key(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn files_landing_in_new_directories_are_each_read_once_and_a_slow_write_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap().join("logs");
    std::fs::create_dir(&root).unwrap();
    let state = dir.path().join("state.db");
    let receiver = Receiver::start(Duration::ZERO);
    let config = webhook_config(dir.path(), &receiver);
    // Notifications alone must find the files: the only full listing is the one at start.
    let watch = start_watch(
        &root,
        &state,
        &config,
        &["--settle", "5s", "--rescan-interval", "1h"],
    );

    // Directories created after the start, several levels at once.
    let day1 = root.join("events/111111111111/us-east-1/2024-01-01");
    let day2 = root.join("events/222222222222/eu-west-1/2024-01-01");
    std::fs::create_dir_all(&day1).unwrap();
    let a = write(&day1, "a.jsonl", &jsonl(&stop_logging("a", 3)));
    std::fs::create_dir_all(&day2).unwrap();
    let b = write(
        &day2,
        "b.json.gz",
        &gzip(&records_json(&stop_logging("b", 2))),
    );
    // Written under a temporary name, then renamed into place.
    let staged = write(&day2, ".c.json.tmp", &records_json(&stop_logging("c", 2)));
    let c = day2.join("c.json");
    std::fs::rename(&staged, &c).unwrap();
    // Never renamed: never read.
    write(&day2, "d.json.part", &jsonl(&stop_logging("d", 1)));

    // Written in four parts cut mid-line, 1s apart: longer than notifications take, and
    // shorter than --settle with room to spare on a loaded machine.
    let day3 = root.join("events/333333333333/us-west-2/2024-01-02");
    std::fs::create_dir_all(&day3).unwrap();
    let slow = day3.join("slow.jsonl");
    let content = jsonl(&stop_logging("slow", 4));
    let mut file = std::fs::File::create(&slow).unwrap();
    for part in content.chunks(content.len() / 4 + 1) {
        file.write_all(part).unwrap();
        file.flush().unwrap();
        std::thread::sleep(Duration::from_secs(1));
    }
    drop(file);

    let expected = 3 + 2 + 2 + 4;
    watch.wait_for("alert of every file", || {
        receiver.accepted().len() >= expected
    });
    // Whatever would read a file again would do it within --settle of the last write.
    std::thread::sleep(Duration::from_secs(6));

    let (status, body) = http_get(&watch.addr, "/metrics");
    assert_eq!(status, 200);
    assert!(
        body.contains("iota_objects_total{outcome=\"ok\"} 4\n"),
        "{body}"
    );
    assert!(body.contains("iota_events_total 11\n"), "{body}");
    assert!(
        body.contains("iota_alerts_total{rule=\"stop_logging\",severity=\"INFO\"} 11\n"),
        "{body}"
    );
    assert!(body.contains("iota_poll_duration_seconds"), "{body}");
    assert_eq!(http_get(&watch.addr, "/healthz").0, 200);
    let (status, body) = http_get(&watch.addr, "/readyz");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"directory\":\"ok\""), "{body}");
    assert!(body.contains("\"state store\":\"ok\""), "{body}");
    assert_eq!(batch_total(&watch, "files_ok"), 4, "{}", watch.stderr());

    let (status, took, stderr) = watch.stop();
    assert!(status.success(), "{stderr}");
    assert!(took < Duration::from_secs(15), "SIGTERM took {took:?}");

    let receipts = receipts(&receiver);
    assert_eq!(receipts.len(), expected, "{receipts:?}");
    assert!(receipts.values().all(|&n| n == 1), "{receipts:?}");
    let alerted_files: Vec<String> = receiver
        .accepted()
        .iter()
        .map(|a| a["source"]["key"].as_str().unwrap().to_owned())
        .collect();
    assert!(alerted_files.iter().all(|f| !f.contains("d.json.part")));

    let files = committed_files(&state);
    let expected_files = BTreeMap::from([
        (key(&a), vec![(3, 1)]),
        (key(&b), vec![(2, 1)]),
        (key(&c), vec![(2, 1)]),
        // Once, whole: a read of a part would be a record of its own (another size).
        (key(&slow), vec![(4, 1)]),
    ]);
    assert_eq!(files, expected_files, "{stderr}");
}

#[test]
fn a_restart_reads_only_the_new_files_and_delivers_each_alert_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap().join("logs");
    let state = dir.path().join("state.db");
    let receiver = Receiver::start(Duration::ZERO);
    let config = webhook_config(dir.path(), &receiver);
    let args = ["--settle", "1s", "--rescan-interval", "1h"];
    let before: Vec<PathBuf> = (0..3)
        .map(|i| {
            write(
                &root.join(format!("2024/01/0{i}")),
                "trail.json.gz",
                &gzip(&records_json(&stop_logging(&format!("first{i}"), 2))),
            )
        })
        .collect();

    let first = start_watch(&root, &state, &config, &args);
    first.wait_for("alert of the first files", || {
        receiver.accepted().len() >= 6
    });
    let (status, took, stderr) = first.stop();
    assert!(status.success(), "{stderr}");
    assert!(took < Duration::from_secs(15), "SIGTERM took {took:?}");

    // Landed while the daemon was down.
    let after: Vec<PathBuf> = (0..2)
        .map(|i| {
            write(
                &root.join("2024/02/01"),
                &format!("late{i}.jsonl"),
                &jsonl(&stop_logging(&format!("late{i}"), 3)),
            )
        })
        .collect();
    let second = start_watch(&root, &state, &config, &args);
    second.wait_for("alert of the new files", || receiver.accepted().len() >= 12);
    second.wait_for("batch record", || batch_total(&second, "files_ok") >= 2);
    assert_eq!(batch_total(&second, "files_ok"), 2, "{}", second.stderr());
    assert_eq!(
        batch_total(&second, "already_committed"),
        3,
        "{}",
        second.stderr()
    );
    let (status, _, stderr) = second.stop();
    assert!(status.success(), "{stderr}");

    let receipts = receipts(&receiver);
    assert_eq!(receipts.len(), 12, "{receipts:?}");
    assert!(
        receipts.values().all(|&n| n == 1),
        "each alert delivered once: {receipts:?}"
    );
    let files = committed_files(&state);
    let mut expected: BTreeMap<String, Vec<(u64, u32)>> =
        before.iter().map(|f| (key(f), vec![(2, 1)])).collect();
    expected.extend(after.iter().map(|f| (key(f), vec![(3, 1)])));
    assert_eq!(files, expected, "{stderr}");
}

/// Runs `iota watch --once` to its end; its "batch finished" record.
fn watch_once(root: &Path, state: &Path, config: &Path) -> Value {
    let output = watch_command(root, state, config, &["--once", "--settle", "1h"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|r| r["message"] == "batch finished")
        .unwrap_or_else(|| panic!("no \"batch finished\" record: {stderr}"))
}

#[test]
fn once_reads_the_complete_files_delivers_and_leaves_those_being_written() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap().join("logs");
    let state = dir.path().join("state.db");
    let receiver = Receiver::start(Duration::ZERO);
    let config = webhook_config(dir.path(), &receiver);
    let an_hour_ago = SystemTime::now() - Duration::from_secs(2 * 3600);
    for name in ["x.json", "y/z.json"] {
        let file = write(&root, name, &records_json(&stop_logging(name, 2)));
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(an_hour_ago)
            .unwrap();
    }
    // Modified within --settle: still being written.
    write(&root, "y/new.jsonl", &jsonl(&stop_logging("new", 1)));

    let first = watch_once(&root, &state, &config);
    assert_eq!(first["files"], 2, "{first}");
    assert_eq!(first["files_ok"], 2, "{first}");
    assert_eq!(first["events"], 4, "{first}");
    assert_eq!(first["alerts"], 4, "{first}");
    assert_eq!(first["settling"], 1, "{first}");
    assert_eq!(receiver.accepted().len(), 4, "delivered before exiting");

    let second = watch_once(&root, &state, &config);
    assert_eq!(second["already_committed"], 2, "{second}");
    assert_eq!(second["files_ok"], 0, "{second}");
    assert_eq!(receiver.accepted().len(), 4);
}

#[test]
fn a_missing_directory_is_a_usage_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere");
    let config = dir.path().join("none.toml");
    std::fs::write(&config, "").unwrap();
    let output = watch_command(&missing, &dir.path().join("state.db"), &config, &["--once"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");
}
