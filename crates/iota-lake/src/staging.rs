//! Events on their way into lake files.
//!
//! Decode threads compress each input's events as they normalize them, one gzip member per
//! partition, into the input's [`InputStaging`] ([`LakeIntake::start`]). The thread that
//! commits results moves an input's members into a [`Buffer`] when the input is done, and
//! a flush turns the buffer into one file per partition ([`Buffer::take`], [`Group::files`]):
//! the concatenation of its members, which is a standard multi-member gzip file.
//!
//! Keeping each input's events in members of their own is what lets a flush hold only whole
//! inputs: the files of a flush, and the progress of the inputs they hold, are committed
//! together. Inputs whose progress is not committed (stdin, a scan without a state store)
//! may instead be cut mid-way ([`Buffer::take`]'s `cut`), so that a stream that pauses is
//! still flushed by the timer.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::layout::{file_name, Partition};

/// The inputs being decoded, by their position in the run's input list. Shared by the decode
/// threads and the committing thread.
#[derive(Default)]
pub struct LakeIntake {
    open: Mutex<HashMap<usize, Arc<InputStaging>>>,
}

impl LakeIntake {
    /// The staging of the input at `position`, which a decode thread starts reading.
    pub fn start(&self, position: usize) -> Arc<InputStaging> {
        let staging = Arc::new(InputStaging::default());
        lock(&self.open).insert(position, Arc::clone(&staging));
        staging
    }

    fn finish(&self, position: usize) -> Option<Arc<InputStaging>> {
        lock(&self.open).remove(&position)
    }

    fn open_inputs(&self) -> Vec<(usize, Arc<InputStaging>)> {
        lock(&self.open)
            .iter()
            .map(|(position, staging)| (*position, Arc::clone(staging)))
            .collect()
    }
}

/// One input's events, compressed as they come.
#[derive(Default)]
pub struct InputStaging {
    inner: Mutex<Staged>,
}

#[derive(Default)]
struct Staged {
    /// One open gzip member per partition; few per input (the hours its events span).
    open: Vec<(Partition, GzEncoder<Vec<u8>>, u64)>,
    /// When the oldest event not cut yet was added.
    since: Option<Instant>,
}

impl InputStaging {
    /// Adds one normalized event (a JSON object without a line break).
    pub fn append(&self, log_type: &'static str, event_time: DateTime<Utc>, json: &[u8]) {
        let partition = Partition::of(log_type, event_time);
        let mut staged = lock(&self.inner);
        staged.since.get_or_insert_with(Instant::now);
        let index = match staged.open.iter().position(|(p, _, _)| *p == partition) {
            Some(index) => index,
            None => {
                let encoder = GzEncoder::new(Vec::new(), Compression::default());
                staged.open.push((partition, encoder, 0));
                staged.open.len() - 1
            }
        };
        let (_, encoder, rows) = &mut staged.open[index];
        // Writing into a Vec cannot fail.
        encoder.write_all(json).expect("gzip into memory");
        encoder.write_all(b"\n").expect("gzip into memory");
        *rows += 1;
    }

    /// Compressed bytes so far (the encoders' output; a little more is pending in them).
    fn compressed_len(&self) -> u64 {
        lock(&self.inner)
            .open
            .iter()
            .map(|(_, encoder, _)| encoder.get_ref().len() as u64)
            .sum()
    }

    fn since(&self) -> Option<Instant> {
        lock(&self.inner).since
    }

    /// Ends every open member and returns them.
    fn cut(&self, input: usize) -> (Vec<Member>, Option<Instant>) {
        let mut staged = lock(&self.inner);
        let since = staged.since.take();
        let members = std::mem::take(&mut staged.open)
            .into_iter()
            .map(|(partition, encoder, rows)| Member {
                input,
                partition,
                gzip: encoder.finish().expect("gzip into memory"),
                rows,
            })
            .collect();
        (members, since)
    }
}

/// One input's events of one partition: a complete gzip member.
struct Member {
    input: usize,
    partition: Partition,
    gzip: Vec<u8>,
    rows: u64,
}

/// The members waiting for the next flush, on the committing thread.
pub struct Buffer {
    intake: Arc<LakeIntake>,
    members: Vec<Member>,
    bytes: u64,
    since: Option<Instant>,
}

impl Buffer {
    pub(crate) fn new(intake: Arc<LakeIntake>) -> Self {
        Buffer {
            intake,
            members: Vec::new(),
            bytes: 0,
            since: None,
        }
    }

    /// Takes the events of the input at `position`, which the decode threads are done with.
    pub fn input_done(&mut self, position: usize) {
        if let Some(staging) = self.intake.finish(position) {
            let (members, since) = staging.cut(position);
            self.add(members, since);
        }
    }

    fn add(&mut self, members: Vec<Member>, since: Option<Instant>) {
        self.bytes += members.iter().map(|m| m.gzip.len() as u64).sum::<u64>();
        self.members.extend(members);
        self.since = match (self.since, since) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    /// Whether a flush is due: `size` compressed bytes waiting, or events waiting for
    /// `interval`. Inputs in progress count only where `cut` allows them to be flushed.
    pub fn due(&self, size: u64, interval: Duration, cut: &dyn Fn(usize) -> bool) -> bool {
        let mut bytes = self.bytes;
        let mut since = self.since;
        for (position, staging) in self.intake.open_inputs() {
            if cut(position) {
                bytes += staging.compressed_len();
                since = match (since, staging.since()) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        bytes >= size || since.is_some_and(|s| s.elapsed() >= interval)
    }

    /// Everything to flush now: the members of done inputs, and what inputs in progress hold
    /// where `cut` allows it.
    pub fn take(&mut self, cut: &dyn Fn(usize) -> bool) -> Group {
        for (position, staging) in self.intake.open_inputs() {
            if cut(position) {
                let (members, since) = staging.cut(position);
                self.add(members, since);
            }
        }
        self.bytes = 0;
        self.since = None;
        Group {
            members: std::mem::take(&mut self.members),
        }
    }
}

/// The events of one flush.
pub struct Group {
    members: Vec<Member>,
}

/// One lake file: its key below the lake's location and its content.
pub struct LakeFile {
    /// `logs/<table>/year=…/hour=HH/<file>.json.gz`.
    pub key: String,
    pub gzip: Vec<u8>,
    pub rows: u64,
}

impl Group {
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn rows(&self) -> u64 {
        self.members.iter().map(|m| m.rows).sum()
    }

    /// Leaves out the events of the inputs at `positions` (committed meanwhile elsewhere).
    pub fn remove_inputs(&mut self, positions: &[usize]) {
        self.members.retain(|m| !positions.contains(&m.input));
    }

    /// One file per partition, named after the flush.
    pub fn files(&self, flush_id: &str) -> Vec<LakeFile> {
        let mut by_partition: BTreeMap<Partition, LakeFile> = BTreeMap::new();
        for member in &self.members {
            let file = by_partition
                .entry(member.partition)
                .or_insert_with(|| LakeFile {
                    key: format!("{}/{}", member.partition.directory(), file_name(flush_id)),
                    gzip: Vec::new(),
                    rows: 0,
                });
            file.gzip.extend_from_slice(&member.gzip);
            file.rows += member.rows;
        }
        by_partition.into_values().collect()
    }
}

/// The data behind these locks stays consistent whatever panicked while holding them.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::MultiGzDecoder;

    use super::*;

    fn time(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn lines(gzip: &[u8]) -> Vec<String> {
        let mut text = String::new();
        MultiGzDecoder::new(gzip).read_to_string(&mut text).unwrap();
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn a_flush_holds_whole_inputs_one_file_per_partition() {
        let intake = Arc::new(LakeIntake::default());
        let mut buffer = Buffer::new(Arc::clone(&intake));
        let first = intake.start(0);
        let second = intake.start(1);
        first.append("AWS.CloudTrail", time("2024-01-01T10:00:00Z"), b"{\"a\":1}");
        second.append("AWS.CloudTrail", time("2024-01-01T10:30:00Z"), b"{\"b\":1}");
        first.append("AWS.CloudTrail", time("2024-01-01T11:00:00Z"), b"{\"a\":2}");
        buffer.input_done(0);
        // Input 1 is still being read and may not be cut.
        let group = buffer.take(&|_| false);
        let files = group.files("f");
        assert_eq!(files.len(), 2);
        assert_eq!(
            files[0].key,
            "logs/aws_cloudtrail/year=2024/month=01/day=01/hour=10/f.json.gz"
        );
        assert_eq!(lines(&files[0].gzip), ["{\"a\":1}"]);
        assert_eq!(lines(&files[1].gzip), ["{\"a\":2}"]);

        buffer.input_done(1);
        let group = buffer.take(&|_| false);
        assert_eq!(group.rows(), 1);
        assert_eq!(lines(&group.files("g")[0].gzip), ["{\"b\":1}"]);
    }

    #[test]
    fn inputs_that_may_be_cut_are_flushed_mid_way_and_the_timer_sees_them() {
        let intake = Arc::new(LakeIntake::default());
        let mut buffer = Buffer::new(Arc::clone(&intake));
        let stream = intake.start(0);
        assert!(!buffer.due(1 << 20, Duration::ZERO, &|_| true));
        stream.append("AWS.CloudTrail", time("2024-01-01T10:00:00Z"), b"{\"a\":1}");
        assert!(buffer.due(1 << 20, Duration::ZERO, &|_| true));
        assert!(!buffer.due(1 << 20, Duration::ZERO, &|_| false));
        assert!(!buffer.due(1 << 20, Duration::from_secs(60), &|_| true));
        let group = buffer.take(&|_| true);
        assert_eq!(group.rows(), 1);
        stream.append("AWS.CloudTrail", time("2024-01-01T10:00:01Z"), b"{\"a\":2}");
        buffer.input_done(0);
        let mut group = buffer.take(&|_| true);
        assert_eq!(lines(&group.files("x")[0].gzip), ["{\"a\":2}"]);
        group.remove_inputs(&[0]);
        assert!(group.is_empty());
    }
}
