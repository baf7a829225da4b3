//! Listing a trail prefix from a point: CloudTrail names its objects
//! `<prefix>YYYY/MM/DD/<account>_CloudTrail_<region>_YYYYMMDDTHHMMZ_<unique>.json.gz`, so key
//! order is time order (to the minute), and the key for a moment can be written down. A poll
//! lists with `StartAfter` = the key of (newest key seen - late-arrival window): it pays for
//! the new objects and the window, never for the objects before it. A read of a past range
//! lists the day folders of the range only ([`list_written_between`]).

use aws_sdk_s3::primitives::DateTime as S3DateTime;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};

use super::discover::TrailPrefix;
use super::{S3Error, TrailBucket};

/// One object as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedObject {
    pub key: String,
    /// Without the quotes S3 puts around it.
    pub etag: String,
    pub size: u64,
    pub last_modified: Option<DateTime<Utc>>,
}

/// Every object of `prefix` whose key sorts after `start_after`, in key order. Digest files
/// and anything that is not a log file (folder markers) are left out.
pub async fn list_after(
    bucket: &TrailBucket,
    prefix: &str,
    start_after: &str,
) -> Result<Vec<ListedObject>, S3Error> {
    let mut objects = Vec::new();
    let mut token = None;
    loop {
        bucket.count_list_request();
        let mut request = bucket
            .client
            .list_objects_v2()
            .bucket(&bucket.bucket)
            .prefix(prefix)
            .set_continuation_token(token.clone());
        if token.is_none() && !start_after.is_empty() {
            request = request.start_after(start_after);
        }
        let page = request
            .send()
            .await
            .map_err(|e| bucket.error("list", prefix, e))?;
        for object in page.contents() {
            let Some(key) = object.key() else { continue };
            if key.ends_with('/') || key.contains("CloudTrail-Digest/") {
                continue;
            }
            objects.push(ListedObject {
                key: key.to_owned(),
                etag: object
                    .e_tag()
                    .unwrap_or_default()
                    .trim_matches('"')
                    .to_owned(),
                size: object.size().unwrap_or(0).max(0) as u64,
                last_modified: object.last_modified().and_then(to_chrono),
            });
        }
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            return Ok(objects);
        }
    }
}

fn to_chrono(time: &S3DateTime) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(time.secs(), time.subsec_nanos()).single()
}

/// The time a key of `trail` stands for: the file name's `YYYYMMDDTHHMMZ`, else midnight of
/// its date folder; `None` for a key of another shape.
pub fn key_time(trail: &TrailPrefix, key: &str) -> Option<DateTime<Utc>> {
    let rest = key.strip_prefix(&trail.prefix)?;
    let mut parts = rest.splitn(4, '/');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    let date = NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)?;
    if let Some(time) = file_time(parts.next().unwrap_or_default()) {
        return Some(time);
    }
    Some(date.and_hms_opt(0, 0, 0)?.and_utc())
}

/// The `YYYYMMDDTHHMMZ` in a log file's name: the minute CloudTrail wrote it, after every
/// event it holds.
fn file_time(file_name: &str) -> Option<DateTime<Utc>> {
    let stamp = file_name
        .split('_')
        .find(|part| part.len() == 14 && part.as_bytes()[8] == b'T' && part.ends_with('Z'))?;
    NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%MZ")
        .ok()
        .map(|time| time.and_utc())
}

/// The log files of `trail` that may hold events from `from` on and were written before
/// `until`, for reading a range of the past: only the day folders of those dates are listed.
/// A file named for a minute before `from`'s holds only earlier events and is left out; so is
/// one named at or after `until` (a reader of events before some time T passes T plus the
/// longest delivery delay it allows). Files whose names carry no time are kept.
pub async fn list_written_between(
    bucket: &TrailBucket,
    trail: &TrailPrefix,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<ListedObject>, S3Error> {
    let mut objects = Vec::new();
    if until <= from {
        return Ok(objects);
    }
    let last_day = (until - TimeDelta::nanoseconds(1)).date_naive();
    let mut day = from.date_naive();
    while day <= last_day {
        let folder = format!(
            "{}{:04}/{:02}/{:02}/",
            trail.prefix,
            day.year(),
            day.month(),
            day.day()
        );
        for object in list_after(bucket, &folder, "").await? {
            let file_name = object.key.rsplit('/').next().unwrap_or_default();
            let written = file_time(file_name);
            if written.is_none_or(|t| t + TimeDelta::minutes(1) > from && t < until) {
                objects.push(object);
            }
        }
        let Some(next) = day.succ_opt() else { break };
        day = next;
    }
    Ok(objects)
}

/// A key that sorts just before every object of `trail` written at or after `time` (to the
/// minute): the `StartAfter` of a listing that must not miss anything from `time` on.
pub fn start_after_key(trail: &TrailPrefix, time: DateTime<Utc>) -> String {
    let date = format!(
        "{}{:04}/{:02}/{:02}/",
        trail.prefix,
        time.year(),
        time.month(),
        time.day()
    );
    match &trail.account {
        Some(account) => format!(
            "{date}{account}_CloudTrail_{}_{:04}{:02}{:02}T{:02}{:02}Z",
            trail.region,
            time.year(),
            time.month(),
            time.day(),
            time.hour(),
            time.minute()
        ),
        // Without the account the file names cannot be written down: the whole day.
        None => date,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trail() -> TrailPrefix {
        TrailPrefix::parse("AWSLogs/o-abcdef1234/111122223333/CloudTrail/us-east-1/").unwrap()
    }

    const KEY: &str = "AWSLogs/o-abcdef1234/111122223333/CloudTrail/us-east-1/2026/11/20/111122223333_CloudTrail_us-east-1_20261120T1005Z_AbCd1234.json.gz";

    #[test]
    fn a_key_stands_for_the_minute_in_its_name() {
        let time = key_time(&trail(), KEY).unwrap();
        assert_eq!(time.to_rfc3339(), "2026-11-20T10:05:00+00:00");
        let folder_only =
            "AWSLogs/o-abcdef1234/111122223333/CloudTrail/us-east-1/2026/11/20/other.json.gz";
        assert_eq!(
            key_time(&trail(), folder_only).unwrap().to_rfc3339(),
            "2026-11-20T00:00:00+00:00"
        );
        assert_eq!(key_time(&trail(), "AWSLogs/elsewhere/x.json.gz"), None);
    }

    #[test]
    fn the_start_key_of_a_minute_sorts_before_that_minutes_objects_and_after_earlier_ones() {
        let time = key_time(&trail(), KEY).unwrap();
        let start = start_after_key(&trail(), time);
        assert!(start.as_str() < KEY, "{start} < {KEY}");
        let earlier = KEY.replace("T1005Z", "T1004Z");
        assert!(earlier.as_str() < start.as_str());
        let next_day = KEY
            .replace("2026/11/20", "2026/11/21")
            .replace("20261120", "20261121");
        assert!(start.as_str() < next_day.as_str());
    }
}
