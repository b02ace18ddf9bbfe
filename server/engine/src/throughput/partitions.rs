//! Partition-level limits: a partition serves at most 3,000 read units and 1,000 write
//! units per second (Developer Guide, "Partitions and data distribution" and "Burst and
//! adaptive capacity").
//!
//! DynamoDB's adaptive capacity lends a hot partition the table's unused capacity and
//! splits partitions for heat until a hot item stands alone, so what finally binds is the
//! limit of one partition on one partition key value: a hot key is throttled with
//! `KeyRangeThroughputExceeded` while the table has capacity to spare. Keyfall models that
//! settled state: one bucket per partition key value, keyed by the key's hash (the first 8
//! bytes of every stored key), holding one second of the partition's throughput. Only keys
//! used in the last second have a bucket: a full bucket is the same as none, so the map
//! stays bounded by the keys that are busy now.
//!
//! Not modelled: splitting one hot item collection by sort key, which DynamoDB may do for
//! a table without local secondary indexes after sustained heat. Keyfall keeps a partition
//! key value's items in one partition, as DynamoDB does until then, so it is the stricter.

use std::collections::HashMap;
use std::time::Instant;

use super::bucket::Bucket;

/// Buckets kept before idle ones are dropped.
const KEPT: usize = 4096;

#[derive(Debug)]
pub(super) struct Partitions {
    /// Units per second one partition key may take.
    rate: f64,
    busy: HashMap<u64, Bucket>,
}

impl Partitions {
    pub(super) fn new(rate: f64) -> Partitions {
        Partitions {
            rate,
            busy: HashMap::new(),
        }
    }

    pub(super) fn admits(&mut self, key: u64, now: Instant) -> bool {
        self.busy.get_mut(&key).is_none_or(|b| b.admits(now))
    }

    pub(super) fn charge(&mut self, key: u64, units: f64, now: Instant) {
        if self.busy.len() >= KEPT && !self.busy.contains_key(&key) {
            self.busy.retain(|_, b| !b.is_full(now));
            if self.busy.len() >= KEPT {
                // Thousands of keys busy within one second: none of them is hot.
                self.busy.clear();
            }
        }
        let rate = self.rate;
        let bucket = self
            .busy
            .entry(key)
            .or_insert_with(|| Bucket::full(rate, 1.0, now));
        bucket.refill(now);
        bucket.balance -= units;
    }
}

/// The partition a stored key (of a table or an index) belongs to: the hash its encoding
/// starts with.
pub fn partition_of(encoded_key: &[u8]) -> Option<u64> {
    let head: [u8; 8] = encoded_key.get(..8)?.try_into().ok()?;
    Some(u64::from_be_bytes(head))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_hot_key_is_refused_while_others_pass() {
        let start = Instant::now();
        let mut p = Partitions::new(1000.0);
        for _ in 0..10 {
            assert!(p.admits(1, start));
            p.charge(1, 100.0, start);
        }
        assert!(!p.admits(1, start), "1,000 units in one second on one key");
        assert!(p.admits(2, start));
        assert!(p.admits(1, start + Duration::from_millis(200)), "refilled");
    }

    #[test]
    fn idle_keys_are_forgotten() {
        let start = Instant::now();
        let mut p = Partitions::new(10.0);
        for key in 0..KEPT as u64 {
            p.charge(key, 1.0, start);
        }
        p.charge(u64::MAX, 1.0, start + Duration::from_secs(2));
        assert_eq!(p.busy.len(), 1);
    }
}
