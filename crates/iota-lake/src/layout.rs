//! Where an event goes in the lake:
//! `<prefix>/logs/<table>/year=YYYY/month=MM/day=DD/hour=HH/<file>.json.gz`, the table named
//! after the event's `p_log_type` and the partition after the hour of its `p_event_time`.
//! `iota replay` reads this layout back, so it changes only together with the reader.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// The table of a log type: `p_log_type` lowercased, `.` replaced by `_`
/// (`AWS.CloudTrail` → `aws_cloudtrail`).
pub fn table_name(log_type: &str) -> String {
    log_type.to_ascii_lowercase().replace('.', "_")
}

/// The partition of an event: its log type and the hour of its event time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Partition {
    pub log_type: &'static str,
    /// Whole hours since the Unix epoch.
    pub hour: i64,
}

impl Partition {
    pub fn of(log_type: &'static str, event_time: DateTime<Utc>) -> Self {
        Partition {
            log_type,
            hour: event_time.timestamp().div_euclid(3600),
        }
    }

    /// `logs/<table>/year=YYYY/month=MM/day=DD/hour=HH`, below the lake's prefix.
    pub fn directory(&self) -> String {
        let start = DateTime::from_timestamp(self.hour * 3600, 0).unwrap_or_default();
        format!(
            "logs/{}/year={:04}/month={:02}/day={:02}/hour={:02}",
            table_name(self.log_type),
            start.year(),
            start.month(),
            start.day(),
            start.hour()
        )
    }
}

/// The name of a flush's file in each partition it writes: the flush time first, so that a
/// partition lists in write order, then the flush's random id.
pub fn file_name(flush_id: &str) -> String {
    format!("{flush_id}.json.gz")
}

/// A new flush id: `YYYYMMDDTHHMMSSZ-<16 hex digits>`, unique across processes and replicas.
pub fn new_flush_id(now: DateTime<Utc>) -> String {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).expect("the operating system's random source");
    format!(
        "{}-{:016x}",
        now.format("%Y%m%dT%H%M%SZ"),
        u64::from_be_bytes(random)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_named_after_the_log_type() {
        assert_eq!(table_name("AWS.CloudTrail"), "aws_cloudtrail");
        assert_eq!(table_name("AWS.VPCFlow"), "aws_vpcflow");
    }

    #[test]
    fn partitions_are_the_hour_of_the_event_time() {
        let time = DateTime::parse_from_rfc3339("2024-03-05T07:59:59.999Z")
            .unwrap()
            .with_timezone(&Utc);
        let partition = Partition::of("AWS.CloudTrail", time);
        assert_eq!(
            partition.directory(),
            "logs/aws_cloudtrail/year=2024/month=03/day=05/hour=07"
        );
        let next = Partition::of("AWS.CloudTrail", time + chrono::Duration::milliseconds(1));
        assert_eq!(
            next.directory(),
            "logs/aws_cloudtrail/year=2024/month=03/day=05/hour=08"
        );
    }

    #[test]
    fn flush_ids_differ_and_start_with_the_time() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let (a, b) = (new_flush_id(now), new_flush_id(now));
        assert_ne!(a, b);
        assert!(a.starts_with("20231114T221320Z-"), "{a}");
    }
}
