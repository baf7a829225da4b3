//! Duplicate `eventID` detection within a bounded window of recent ids.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use hashbrown::HashSet;
use xxhash_rust::xxh3::xxh3_64;

/// Shards, so that decode threads rarely wait for each other.
const SHARDS: usize = 16;

/// Remembers the most recent event ids, to evaluate an event delivered twice (a real
/// organisation trail does this across files and replays) only once.
///
/// Ids are kept as 64-bit xxh3 hashes in 16 shards, each a hash set plus a FIFO ring of
/// `capacity / 16` (rounded up) hashes; when a shard is full its oldest id is forgotten, so
/// roughly the last `capacity` ids are remembered. A re-seen id does not move to the back.
///
/// Memory is allocated up front and never grows: 18 to 29 bytes per id of capacity (8 in
/// the ring, 9 per hash-set bucket, and 8/7 to 16/7 buckets per id since the table size is a
/// power of two), e.g. 27 MB for 1,000,000 ids, 2 MB for 100,000. Two different ids collide,
/// and the second is wrongly taken for a duplicate, with probability ~capacity/2^64 per
/// event. A capacity of 0 remembers nothing.
pub struct DedupWindow {
    shards: Box<[Mutex<Shard>]>,
}

struct Shard {
    seen: HashSet<u64>,
    order: VecDeque<u64>,
    capacity: usize,
}

impl DedupWindow {
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.div_ceil(SHARDS);
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    // One more than the capacity: an id is inserted before the oldest is evicted.
                    seen: HashSet::with_capacity(capacity + 1),
                    order: VecDeque::with_capacity(capacity + 1),
                    capacity,
                })
            })
            .collect();
        Self { shards }
    }

    /// True the first time `event_id` is seen within the window; false for a duplicate.
    pub fn first_seen(&self, event_id: &str) -> bool {
        let hash = xxh3_64(event_id.as_bytes());
        // The top bits pick the shard; the hash set uses its own hash of all 64 bits.
        let shard = &self.shards[(hash >> 60) as usize % SHARDS];
        let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
        if !shard.seen.insert(hash) {
            return false;
        }
        shard.order.push_back(hash);
        if shard.order.len() > shard.capacity {
            if let Some(oldest) = shard.order.pop_front() {
                shard.seen.remove(&oldest);
            }
        }
        true
    }
}
