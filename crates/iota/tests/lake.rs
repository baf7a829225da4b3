//! The data lake (`--lake`), read back as an analyst reads it: DuckDB's `read_json` with hive
//! partitioning over the files iota wrote, from the test venv's Python
//! (`IOTA_TEST_PYTHON`, set by scripts/test). Every event ingested is one row, in the
//! partition of its event hour; `iota watch` killed during writes and restarted ends with each
//! event once; a lake on moto's S3 holds the same as one in a directory, and `iota s3-poll`
//! writes each object to it once; the timer flushes a stream that pauses; `iota lake ddl`
//! prints a statement per table.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::daemon::{finished_stderr, wait_until};
use common::moto::{Moto, AWS_ENV};
use common::*;

/// The test venv's Python with DuckDB; `None` (after a notice naming `test`) without one,
/// except with CI=true, where it fails.
fn duckdb_python(test: &str) -> Option<PathBuf> {
    let python = match std::env::var_os("IOTA_TEST_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"),
    };
    let usable = Command::new(&python)
        .args(["-c", "import duckdb"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if usable {
        return Some(python);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "DuckDB is required on CI: {} cannot import duckdb (scripts/test installs it)",
            python.display()
        );
    }
    eprintln!(
        "\n*** SKIPPED {test}: no Python with DuckDB at {} (run scripts/test, or set \
         IOTA_TEST_PYTHON) ***\n",
        python.display()
    );
    None
}

/// What DuckDB reads from the lake below `root`: rows, distinct eventIDs, rows whose
/// `p_event_time` is outside their partition's hour, and rows per partition hour
/// (`YYYY-MM-DD HH`).
#[derive(Debug, PartialEq, Eq)]
struct LakeRead {
    rows: u64,
    distinct_ids: u64,
    outside_partition: u64,
    log_types: Vec<String>,
    hours: BTreeMap<String, u64>,
}

const READ_LAKE: &str = r#"
import duckdb, json, sys
files = sys.argv[1] + "/logs/*/*/*/*/*/*.json.gz"
lake = f"read_json('{files}', format='newline_delimited', hive_partitioning=true)"
hour = "printf('%04d-%02d-%02d %02d', CAST(year AS INT), CAST(month AS INT), CAST(day AS INT), CAST(hour AS INT))"
rows, ids, outside = duckdb.sql(f"""
    SELECT count(*), count(DISTINCT eventID),
           count(*) FILTER (WHERE substr(CAST(p_event_time AS VARCHAR), 1, 13) <> {hour})
    FROM {lake}""").fetchall()[0]
hours = dict(duckdb.sql(f"SELECT {hour}, count(*) FROM {lake} GROUP BY ALL").fetchall())
log_types = [r[0] for r in duckdb.sql(f"SELECT DISTINCT p_log_type FROM {lake} ORDER BY 1").fetchall()]
print(json.dumps({"rows": rows, "ids": ids, "outside": outside, "hours": hours, "log_types": log_types}))
"#;

fn read_lake(python: &Path, root: &Path) -> LakeRead {
    let output = Command::new(python)
        .args(["-c", READ_LAKE])
        .arg(root)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "DuckDB could not read the lake: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: Value = serde_json::from_slice(&output.stdout).unwrap();
    LakeRead {
        rows: read["rows"].as_u64().unwrap(),
        distinct_ids: read["ids"].as_u64().unwrap(),
        outside_partition: read["outside"].as_u64().unwrap(),
        log_types: serde_json::from_value(read["log_types"].clone()).unwrap(),
        hours: serde_json::from_value(read["hours"].clone()).unwrap(),
    }
}

/// `n` events named by `prefix`, one every 7 minutes from 2024-02-28T21:00Z, so that they
/// span hours, days and a month end (the leap day).
fn spread_events(prefix: &str, n: usize) -> Vec<Value> {
    let start = chrono::DateTime::parse_from_rfc3339("2024-02-28T21:00:00Z").unwrap();
    (0..n)
        .map(|i| {
            let mut e = event(
                if i % 3 == 0 {
                    "StopLogging"
                } else {
                    "GetObject"
                },
                &format!("{prefix}-{i:05}"),
            );
            let time = start + chrono::Duration::minutes(7 * i as i64);
            e["eventTime"] = Value::from(time.format("%Y-%m-%dT%H:%M:%SZ").to_string());
            e
        })
        .collect()
}

/// Rows per event hour (`YYYY-MM-DD HH`), as the lake must partition `events`.
fn expected_hours(events: &[Value]) -> BTreeMap<String, u64> {
    let mut hours = BTreeMap::new();
    for e in events {
        let time = e["eventTime"].as_str().unwrap();
        *hours
            .entry(format!("{} {}", &time[..10], &time[11..13]))
            .or_default() += 1;
    }
    hours
}

/// Writes `events` as `files` CloudTrail Records files (gzip) below `dir`.
fn write_files(dir: &Path, events: &[Value], files: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for (i, chunk) in events.chunks(events.len().div_ceil(files)).enumerate() {
        write(
            dir,
            &format!("part-{i:03}.json.gz"),
            &gzip(&records_json(chunk)),
        );
    }
}

fn lake_files(root: &Path) -> Vec<PathBuf> {
    walkdir(root)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
        .collect()
}

fn walkdir(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walkdir(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn lake_uri(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

#[test]
fn a_scan_writes_every_event_once_in_the_partition_of_its_hour() {
    let Some(python) = duckdb_python("a_scan_writes_every_event_once") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let events = spread_events("scan", 1500);
    write_files(&dir.path().join("in"), &events, 7);
    let lake = dir.path().join("lake");
    // A small flush size: several flushes, several files per partition.
    let scan = scan_with_fixture_rules(
        &[
            dir.path().join("in").to_str().unwrap(),
            "--lake",
            &lake_uri(&lake),
            "--lake-flush-size",
            "20KiB",
        ],
        None,
    );
    assert_eq!(scan.status, 0, "{}", scan.stderr);
    assert_eq!(scan.count("events"), 1500);
    let read = read_lake(&python, &lake);
    assert_eq!(read.rows, 1500);
    assert_eq!(read.distinct_ids, 1500);
    assert_eq!(read.outside_partition, 0);
    assert_eq!(read.log_types, ["AWS.CloudTrail"]);
    assert_eq!(read.hours, expected_hours(&events));
    let files = lake_files(&lake);
    assert!(
        files.len() > read.hours.len(),
        "flushed by size: {} files",
        files.len()
    );
    assert!(files
        .iter()
        .all(|f| f.to_string_lossy().contains("/logs/aws_cloudtrail/year=20")));

    // Standard gzip: zcat reads every file, and the lines are the events with their p_ fields.
    let output = Command::new("zcat").args(&files).output().unwrap();
    assert!(output.status.success());
    let lines: Vec<Value> = output
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1500);
    let first = lines.iter().find(|l| l["eventID"] == "scan-00001").unwrap();
    assert_eq!(first["p_log_type"], "AWS.CloudTrail");
    assert_eq!(first["p_event_time"], "2024-02-28 21:07:00.000000");
    assert_eq!(first["tlsDetails"]["tlsVersion"], "TLSv1.2");
    assert!(first["p_row_id"].is_string());
}

#[test]
fn scans_with_a_state_store_write_each_input_once() {
    let Some(python) = duckdb_python("scans_with_a_state_store_write_each_input_once") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let events = spread_events("stored", 600);
    write_files(&input, &events[..400], 4);
    let lake = dir.path().join("lake");
    let state = dir.path().join("state.db");
    let args = |_: ()| {
        vec![
            input.to_str().unwrap().to_owned(),
            "--state".to_owned(),
            state.to_str().unwrap().to_owned(),
            "--lake".to_owned(),
            lake_uri(&lake),
        ]
    };
    let first = args(());
    let first: Vec<&str> = first.iter().map(String::as_str).collect();
    let scan = scan_with_fixture_rules(&first, None);
    assert_eq!(scan.status, 0, "{}", scan.stderr);
    // New files land; a second scan reads only them.
    write(&input, "later.json", &records_json(&events[400..]));
    let scan = scan_with_fixture_rules(&first, None);
    assert_eq!(scan.status, 0, "{}", scan.stderr);
    assert_eq!(scan.count("events"), 200);
    let read = read_lake(&python, &lake);
    assert_eq!((read.rows, read.distinct_ids), (600, 600));
    assert_eq!(read.hours, expected_hours(&events));
}

#[test]
fn watch_killed_during_lake_writes_ends_with_each_event_once() {
    let Some(python) = duckdb_python("watch_killed_during_lake_writes") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("logs");
    // No alerts: a run is reading and writing the lake, not delivering.
    let mut events = spread_events("kill", 20000);
    for e in &mut events {
        e["eventName"] = Value::from("GetObject");
    }
    write_files(&root, &events, 100);
    let lake = dir.path().join("lake");
    let state = dir.path().join("state.db");
    let command = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_iota"));
        command
            .args(["--log-format", "json", "watch"])
            .arg(&root)
            .args(["--once", "--settle", "1ms", "--workers", "1"])
            .args(["--state", state.to_str().unwrap()])
            .arg("--rules")
            .arg(fixtures().join("rules/good/stop_logging.py"))
            .args([
                "--output",
                &format!("file={}", dir.path().join("alerts.jsonl").display()),
            ])
            // Many small flushes, so that kills land between a flush's files and its commit.
            .args(["--lake", &lake_uri(&lake), "--lake-flush-size", "8KiB"])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
    };
    // Runs killed at a random point once they write the lake, then one run to its end.
    let mut rng = fastrand::Rng::with_seed(7);
    let mut kills = 0;
    let mut uncommitted_rows = Vec::new();
    let started = Instant::now();
    loop {
        let files_before = lake_files(&lake).len();
        let mut child = command().spawn().unwrap();
        if kills < 4 {
            while lake_files(&lake).len() == files_before && child.try_wait().unwrap().is_none() {
                assert!(started.elapsed() < Duration::from_secs(600));
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(Duration::from_millis(rng.u64(0..300)));
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
                // Rows of flushes the kill left uncommitted, which a later run must delete.
                let committed: u64 = iota_state::open(state.to_str().unwrap())
                    .unwrap()
                    .list_objects("local", false)
                    .unwrap()
                    .iter()
                    .map(|o| o.events)
                    .sum();
                let rows = read_lake(&python, &lake).rows;
                assert!(
                    rows >= committed,
                    "committed inputs lost rows: {rows} < {committed}"
                );
                uncommitted_rows.push((committed, rows - committed));
                continue;
            }
        }
        let status = wait_until(&mut child, Instant::now() + Duration::from_secs(300))
            .expect("the last run ends");
        let stderr = finished_stderr(&mut child);
        assert!(status.success(), "after {kills} kills: {stderr}");
        break;
    }
    assert!(kills >= 3, "only {kills} runs were killed before their end");
    let read = read_lake(&python, &lake);
    assert_eq!(read.rows, 20000, "{kills} kills: {read:?}");
    assert_eq!(read.distinct_ids, 20000);
    assert_eq!(read.outside_partition, 0);
    assert_eq!(read.hours, expected_hours(&events));
    // Nothing of the killed runs is left behind: no temporary file, no flush in flight.
    assert!(walkdir(&lake)
        .iter()
        .all(|p| p.to_string_lossy().ends_with(".json.gz")));
    let store = iota_state::open(state.to_str().unwrap()).unwrap();
    assert!(store.lake_doomed().unwrap().is_empty());
    eprintln!(
        "{kills} kills, each leaving (committed events, uncommitted rows): {uncommitted_rows:?}"
    );
}

#[test]
fn a_lake_on_s3_holds_what_a_lake_in_a_directory_holds() {
    let Some(python) = duckdb_python("a_lake_on_s3_holds_what_a_lake_in_a_directory_holds") else {
        return;
    };
    let Some(moto) = Moto::start("a_lake_on_s3_holds_what_a_lake_in_a_directory_holds") else {
        return;
    };
    moto.create_bucket("lake-bucket");
    let dir = tempfile::tempdir().unwrap();
    let events = spread_events("s3", 800);
    write_files(&dir.path().join("in"), &events, 5);
    let input = dir.path().join("in");
    let local = dir.path().join("local");
    let scan = scan_with_fixture_rules(
        &[input.to_str().unwrap(), "--lake", &lake_uri(&local)],
        None,
    );
    assert_eq!(scan.status, 0, "{}", scan.stderr);

    let options = fixture_rule_options();
    let output = Command::new(env!("CARGO_BIN_EXE_iota"))
        .args(["--log-format", "json", "scan", "--no-progress"])
        .arg(&input)
        .args(&options)
        .args(["--lake", "s3://lake-bucket/iota/events"])
        .args([
            "--lake-endpoint-url",
            &moto.endpoint,
            "--lake-force-path-style",
        ])
        .envs(AWS_ENV.iter().copied())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");

    // Download the bucket's objects into a directory and read both the same way.
    let copy = dir.path().join("copy");
    download(&moto, "lake-bucket", "iota/events/", &copy);
    let partitions = |root: &Path| -> Vec<String> {
        lake_files(root)
            .iter()
            .map(|f| {
                f.strip_prefix(root)
                    .unwrap()
                    .parent()
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(partitions(&copy), partitions(&local));
    let (from_s3, from_dir) = (read_lake(&python, &copy), read_lake(&python, &local));
    assert_eq!(from_s3, from_dir);
    assert_eq!((from_s3.rows, from_s3.distinct_ids), (800, 800));
    assert_eq!(from_s3.hours, expected_hours(&events));
}

/// Copies the objects below `prefix` of `bucket` into `dir`, keys relative to `prefix`.
fn download(moto: &Moto, bucket: &str, prefix: &str, dir: &Path) {
    let listed = moto.block_on(
        moto.s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .send(),
    );
    let keys: Vec<String> = listed
        .unwrap()
        .contents()
        .iter()
        .map(|o| o.key().unwrap().to_owned())
        .collect();
    assert!(!keys.is_empty(), "nothing below s3://{bucket}/{prefix}");
    for key in &keys {
        let object = moto
            .block_on(moto.s3.get_object().bucket(bucket).key(key).send())
            .unwrap();
        let body = moto.block_on(object.body.collect()).unwrap().into_bytes();
        let path = dir.join(key.strip_prefix(prefix).unwrap());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
}

#[test]
fn s3_poll_writes_each_object_once_to_a_lake_on_s3() {
    let Some(python) = duckdb_python("s3_poll_writes_each_object_once_to_a_lake_on_s3") else {
        return;
    };
    let Some(moto) = Moto::start("s3_poll_writes_each_object_once_to_a_lake_on_s3") else {
        return;
    };
    moto.create_bucket("org-trail");
    moto.create_bucket("lake-bucket");
    let events = spread_events("poll", 900);
    let objects = events
        .chunks(100)
        .enumerate()
        .map(|(i, chunk)| {
            let key = format!(
                "AWSLogs/111122223333/CloudTrail/us-east-1/2024/02/28/\
                 111122223333_CloudTrail_us-east-1_20240228T21{i:02}Z_part{i:04}.json.gz"
            );
            (key, gzip(&records_json(chunk)))
        })
        .collect();
    moto.put_many("org-trail", objects, 4);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let poll = || {
        let output = Command::new(env!("CARGO_BIN_EXE_iota"))
            .args([
                "--log-format",
                "json",
                "s3-poll",
                "--bucket",
                "org-trail",
                "--once",
            ])
            .args(["--endpoint-url", &moto.endpoint, "--force-path-style"])
            .args(["--state", state.to_str().unwrap(), "--workers", "1"])
            .args(["--since", "2024-01-01T00:00:00Z"])
            .args([
                "--output",
                &format!("file={}", dir.path().join("alerts.jsonl").display()),
            ])
            .args(["--lake", "s3://lake-bucket/lake"])
            .args([
                "--lake-endpoint-url",
                &moto.endpoint,
                "--lake-force-path-style",
            ])
            .envs(AWS_ENV.iter().copied())
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{stderr}");
        stderr
    };
    poll();
    // A second poll finds every object committed and writes nothing.
    poll();
    let copy = dir.path().join("copy");
    download(&moto, "lake-bucket", "lake/", &copy);
    let read = read_lake(&python, &copy);
    assert_eq!((read.rows, read.distinct_ids), (900, 900), "{read:?}");
    assert_eq!(read.outside_partition, 0);
    assert_eq!(read.hours, expected_hours(&events));
}

#[test]
fn the_timer_flushes_a_stream_that_pauses() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let events = spread_events("stream", 10);
    let mut child = Command::new(env!("CARGO_BIN_EXE_iota"))
        .args(["--log-format", "json", "scan", "--no-progress", "-"])
        .args(fixture_rule_options())
        .args(["--lake", &lake_uri(&lake), "--lake-flush-interval", "2s"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&jsonl(&events)).unwrap();
    stdin.flush().unwrap();
    // The input stops without ending; the events are written by the timer, not by the end.
    let written = Instant::now();
    let deadline = written + Duration::from_secs(60);
    while lake_files(&lake).is_empty() {
        assert!(
            Instant::now() < deadline,
            "no lake file 60s after the input stopped"
        );
        assert!(child.try_wait().unwrap().is_none(), "iota exited early");
        std::thread::sleep(Duration::from_millis(100));
    }
    let waited = written.elapsed();
    let rows = |files: &[PathBuf]| -> u64 {
        files
            .iter()
            .map(|f| {
                let mut text = String::new();
                flate2::read::MultiGzDecoder::new(std::fs::File::open(f).unwrap())
                    .read_to_string(&mut text)
                    .unwrap();
                text.lines().count() as u64
            })
            .sum()
    };
    assert_eq!(rows(&lake_files(&lake)), 10, "after {waited:?}");
    assert!(
        waited >= Duration::from_millis(1500),
        "written after {waited:?}, before the 2s interval"
    );
    // More events, then the end of the input: each event once in all.
    stdin.write_all(&jsonl(&spread_events("after", 5))).unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    let stderr = finished_stderr(&mut child);
    assert!(status.success(), "{stderr}");
    assert_eq!(rows(&lake_files(&lake)), 15);
}

fn iota(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_iota"))
        .args(args)
        .env_remove("IOTA_LAKE")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn lake_ddl_creates_each_table_with_partition_projection() {
    let (status, ddl, stderr) = iota(&[
        "lake",
        "ddl",
        "--database",
        "security",
        "--lake",
        "s3://my-lake/iota/",
    ]);
    assert_eq!(status, 0, "{stderr}");
    let statements: Vec<&str> = ddl
        .split_inclusive(";\n")
        .filter(|s| s.contains("CREATE"))
        .collect();
    let tables: Vec<String> = statements
        .iter()
        .map(|s| {
            let start = s.find("`security`.`").unwrap() + "`security`.`".len();
            s[start..].split('`').next().unwrap().to_owned()
        })
        .collect();
    for table in [
        "aws_cloudtrail",
        "aws_cloudtrailinsight",
        "aws_vpcflow",
        "aws_guardduty",
        "aws_s3serveraccess",
        "aws_alb",
    ] {
        assert!(tables.iter().any(|t| t == table), "{table} in {tables:?}");
    }
    for (statement, table) in statements.iter().zip(&tables) {
        assert!(statement.starts_with("-- AWS.") || statement.contains("\n-- AWS."));
        assert!(statement.contains("CREATE EXTERNAL TABLE IF NOT EXISTS"));
        assert!(statement.contains("'org.openx.data.jsonserde.JsonSerDe'"));
        assert!(statement.contains(&format!("LOCATION 's3://my-lake/iota/logs/{table}/'")));
        assert!(statement.contains("'projection.enabled' = 'true'"));
        for key in ["year", "month", "day", "hour"] {
            assert!(statement.contains(&format!("'projection.{key}.type' = 'integer'")));
            assert!(statement.contains(&format!("'projection.{key}.range' = ")));
        }
        assert!(statement.contains(&format!(
            "'storage.location.template' = 's3://my-lake/iota/logs/{table}/year=${{year}}/month=${{month}}/day=${{day}}/hour=${{hour}}/'"
        )));
        for field in [
            "p_log_type",
            "p_event_time",
            "p_row_id",
            "p_any_ip_addresses",
        ] {
            assert!(
                statement.contains(&format!("`{field}` ")),
                "{field} in {table}"
            );
        }
    }
    let cloudtrail = statements[tables.iter().position(|t| t == "aws_cloudtrail").unwrap()];
    for column in [
        "`eventname` string",
        "`useridentity` struct<",
        "`resources` array<",
    ] {
        assert!(cloudtrail.contains(column), "{column}");
    }

    let (status, _, stderr) = iota(&["lake", "ddl"]);
    assert_eq!(status, 2);
    assert!(stderr.contains("--lake s3://BUCKET/PREFIX"), "{stderr}");
    let (status, _, stderr) = iota(&["lake", "ddl", "--lake", "file:///var/lake"]);
    assert_eq!(status, 2);
    assert!(stderr.contains("S3 only"), "{stderr}");
}

#[test]
fn a_bad_lake_uri_is_a_usage_error_naming_the_forms() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "in.json",
        &records_json(&events("GetObject", "bad", 1)),
    );
    let (status, _, stderr) = iota(&[
        "scan",
        input.to_str().unwrap(),
        "--no-rules",
        "--lake",
        "lake/dir",
    ]);
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.contains("s3://BUCKET[/PREFIX] or file:///DIRECTORY"),
        "{stderr}"
    );
}
