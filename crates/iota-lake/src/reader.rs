//! Reading back a data lake written by iota: normalized events as gzip JSON lines under
//! `logs/<table>/year=YYYY/month=MM/day=DD/hour=HH/<file>.json.gz` (the hour of each event's
//! time, UTC), in a local directory or under an S3 prefix, as `layout` names them.
//!
//! Reading a time range lists one folder per table and day of the range and keeps the hour
//! partitions that overlap it: never the whole lake.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};

use iota_sources::s3::discover::list_children;
use iota_sources::s3::listing::{list_after, ListedObject};
use iota_sources::s3::{S3Error, TrailBucket};
use iota_sources::Input;

/// Where a lake is, from `file:///DIR` or `s3://BUCKET/PREFIX`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LakeLocation {
    Dir(PathBuf),
    S3 {
        bucket: String,
        /// Empty, or ends with `/`.
        prefix: String,
    },
}

impl LakeLocation {
    pub fn parse(uri: &str) -> Result<LakeLocation, String> {
        if let Some(path) = uri.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(format!(
                    "lake {uri}: a file URI takes an absolute path (file:///var/lib/iota/lake)"
                ));
            }
            return Ok(LakeLocation::Dir(PathBuf::from(path)));
        }
        if let Some(rest) = uri.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("lake {uri}: no bucket (s3://BUCKET/PREFIX)"));
            }
            let prefix = prefix.trim_matches('/');
            return Ok(LakeLocation::S3 {
                bucket: bucket.to_owned(),
                prefix: if prefix.is_empty() {
                    String::new()
                } else {
                    format!("{prefix}/")
                },
            });
        }
        Err(format!(
            "lake {uri}: expected file:///DIR or s3://BUCKET/PREFIX"
        ))
    }
}

/// Which tables to read: `None` for every table present.
pub type Tables<'a> = Option<&'a [String]>;

fn wanted(tables: Tables<'_>, table: &str) -> bool {
    tables.is_none_or(|t| t.iter().any(|name| name == table))
}

/// The days of `[from, to)`, each with the first and last hour of it that the range touches.
fn days(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(NaiveDate, u32, u32)> {
    let mut days = Vec::new();
    if to <= from {
        return days;
    }
    let last = to - TimeDelta::nanoseconds(1);
    let mut day = from.date_naive();
    while day <= last.date_naive() {
        let first_hour = if day == from.date_naive() {
            chrono::Timelike::hour(&from)
        } else {
            0
        };
        let last_hour = if day == last.date_naive() {
            chrono::Timelike::hour(&last)
        } else {
            23
        };
        days.push((day, first_hour, last_hour));
        let Some(next) = day.succ_opt() else { break };
        day = next;
    }
    days
}

/// `logs/<table>/year=YYYY/month=MM/day=DD/`.
fn day_folder(table: &str, day: NaiveDate) -> String {
    format!(
        "logs/{table}/year={:04}/month={:02}/day={:02}/",
        day.year(),
        day.month(),
        day.day()
    )
}

/// The hour of an `hour=HH` folder name.
fn partition_hour(segment: &str) -> Option<u32> {
    segment
        .strip_prefix("hour=")
        .and_then(|h| h.parse().ok())
        .filter(|h| *h < 24)
}

/// A finished lake file: writers give files in progress other names (a leading `.`, a
/// temporary suffix).
fn is_lake_file(name: &str) -> bool {
    name.ends_with(".json.gz") && !name.starts_with('.')
}

/// The files of a local lake whose hour partitions overlap `[from, to)`, in partition order.
pub fn local_files(
    root: &Path,
    tables: Tables<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> std::io::Result<Vec<Input>> {
    let logs = root.join("logs");
    let mut present: Vec<String> = std::fs::read_dir(&logs)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", logs.display())))?
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|table| wanted(tables, table))
        .collect();
    present.sort();
    let mut inputs = Vec::new();
    for table in &present {
        for (day, first_hour, last_hour) in days(from, to) {
            let folder = root.join(day_folder(table, day));
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            let mut hours: Vec<(u32, PathBuf)> = entries
                .filter_map(|entry| entry.ok())
                .filter_map(|entry| {
                    let hour = partition_hour(entry.file_name().to_str()?)?;
                    (first_hour..=last_hour)
                        .contains(&hour)
                        .then(|| (hour, entry.path()))
                })
                .collect();
            hours.sort();
            for (_, partition) in hours {
                let mut files: Vec<Input> = std::fs::read_dir(&partition)?
                    .filter_map(|entry| entry.ok())
                    .filter(|entry| entry.file_name().to_str().is_some_and(is_lake_file))
                    .filter_map(|entry| {
                        let metadata = entry.metadata().ok()?;
                        metadata.is_file().then(|| Input::File {
                            path: entry.path(),
                            size: metadata.len(),
                        })
                    })
                    .collect();
                files.sort_by_key(Input::name);
                inputs.extend(files);
            }
        }
    }
    Ok(inputs)
}

/// The objects of a lake on S3 (below `prefix`, empty or ending with `/`) whose hour
/// partitions overlap `[from, to)`, in partition order: one listing for the tables, then one
/// per table and day.
pub async fn s3_objects(
    bucket: &TrailBucket,
    prefix: &str,
    tables: Tables<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<ListedObject>, S3Error> {
    let logs = format!("{prefix}logs/");
    let mut objects = Vec::new();
    for table_prefix in list_children(bucket, &logs).await? {
        let table = table_prefix[logs.len()..].trim_end_matches('/');
        if !wanted(tables, table) {
            continue;
        }
        for (day, first_hour, last_hour) in days(from, to) {
            let folder = format!("{prefix}{}", day_folder(table, day));
            let mut listed: Vec<(u32, ListedObject)> = list_after(bucket, &folder, "")
                .await?
                .into_iter()
                .filter_map(|object| {
                    let (partition, file) = object.key[folder.len()..].split_once('/')?;
                    let hour = partition_hour(partition)?;
                    ((first_hour..=last_hour).contains(&hour) && is_lake_file(file))
                        .then_some((hour, object))
                })
                .collect();
            listed.sort_by(|a, b| (a.0, &a.1.key).cmp(&(b.0, &b.1.key)));
            objects.extend(listed.into_iter().map(|(_, object)| object));
        }
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn locations_are_file_or_s3_uris() {
        assert_eq!(
            LakeLocation::parse("file:///var/lib/lake").unwrap(),
            LakeLocation::Dir("/var/lib/lake".into())
        );
        assert_eq!(
            LakeLocation::parse("s3://my-lake/iota/").unwrap(),
            LakeLocation::S3 {
                bucket: "my-lake".into(),
                prefix: "iota/".into()
            }
        );
        assert_eq!(
            LakeLocation::parse("s3://my-lake").unwrap(),
            LakeLocation::S3 {
                bucket: "my-lake".into(),
                prefix: String::new()
            }
        );
        for bad in ["file://relative/dir", "s3://", "/var/lib/lake", "gs://b/p"] {
            let err = LakeLocation::parse(bad).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }

    #[test]
    fn a_range_touches_the_hours_it_overlaps_day_by_day() {
        let days = days(at("2024-03-04T22:30:00Z"), at("2024-03-06T01:00:00Z"));
        let expected = [
            (NaiveDate::from_ymd_opt(2024, 3, 4).unwrap(), 22, 23),
            (NaiveDate::from_ymd_opt(2024, 3, 5).unwrap(), 0, 23),
            // 01:00 itself is outside: the last hour is 00.
            (NaiveDate::from_ymd_opt(2024, 3, 6).unwrap(), 0, 0),
        ];
        assert_eq!(days, expected);
        assert!(super::days(at("2024-03-05T00:00:00Z"), at("2024-03-05T00:00:00Z")).is_empty());
    }

    #[test]
    fn local_files_are_those_of_the_wanted_tables_and_hours() {
        let root = tempfile::tempdir().unwrap();
        let put = |path: &str| {
            let path = root.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        };
        let ct = "logs/aws_cloudtrail/year=2024/month=03";
        put(&format!("{ct}/day=04/hour=23/a.json.gz"));
        put(&format!("{ct}/day=05/hour=00/b.json.gz"));
        put(&format!("{ct}/day=05/hour=00/.c.json.gz.tmp"));
        put(&format!("{ct}/day=05/hour=00/d.json.gz.tmp"));
        put(&format!("{ct}/day=05/hour=02/e.json.gz"));
        put(&format!("{ct}/day=06/hour=00/f.json.gz"));
        put("logs/aws_vpcflow/year=2024/month=03/day=05/hour=00/g.json.gz");

        let names = |tables: Tables<'_>, from: &str, to: &str| -> Vec<String> {
            local_files(root.path(), tables, at(from), at(to))
                .unwrap()
                .iter()
                .map(|i| i.name().rsplit('/').next().unwrap().to_owned())
                .collect()
        };
        let cloudtrail = ["aws_cloudtrail".to_owned()];
        assert_eq!(
            names(
                Some(&cloudtrail),
                "2024-03-04T23:59:00Z",
                "2024-03-05T02:00:00Z"
            ),
            ["a.json.gz", "b.json.gz"]
        );
        assert_eq!(
            names(None, "2024-03-05T00:00:00Z", "2024-03-07T00:00:00Z"),
            ["b.json.gz", "e.json.gz", "f.json.gz", "g.json.gz"]
        );
        assert!(local_files(
            &root.path().join("missing"),
            None,
            at("2024-03-05T00:00:00Z"),
            at("2024-03-06T00:00:00Z")
        )
        .unwrap_err()
        .to_string()
        .contains("missing/logs"));
    }
}
