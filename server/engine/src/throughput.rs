//! Provisioned throughput, enforced. A provisioned table, and each of its global secondary
//! indexes, has a token bucket for reads and one for writes. A bucket refills at the
//! provisioned rate and keeps up to 300 seconds of unused capacity as burst (Developer
//! Guide, "Burst capacity": DynamoDB "retains up to five minutes (300 seconds) of unused
//! read and write capacity"). A local secondary index shares its table's throughput;
//! on-demand tables have no buckets.
//!
//! A request is admitted while its bucket holds capacity. What it consumed is charged once
//! it ran, since only then is its size known: the last request admitted may overdraw the
//! bucket, and the next ones wait until the refill covers the debt.
//!
//! A GSI short of write capacity throttles the single-item writes that would update it
//! (`Engine::commit_item`), as DynamoDB does; writes that leave it alone pass.
//!
//! Not yet here: partitions, on-demand limits, and item-by-item throttling in batches and
//! transactions (their table writes are charged, not refused).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use keyfall_types::command::Access;
use keyfall_types::types::ThrottlingReason;
use parking_lot::Mutex;

use super::catalog::{BillingMode, TableMeta};
use crate::error::Error;

/// Seconds of unused capacity a bucket keeps.
const BURST_SECONDS: f64 = 300.0;

/// DynamoDB's messages for a table and for an index out of provisioned throughput.
const TABLE_EXCEEDED: &str = "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.";
const INDEX_EXCEEDED: &str = "The level of configured provisioned throughput for one or more global secondary indexes of the table was exceeded. Consider increasing your provisioning level for the under-provisioned global secondary indexes with the UpdateTable API";

#[derive(Debug)]
struct Bucket {
    /// Units per second.
    rate: f64,
    balance: f64,
    at: Instant,
}

impl Bucket {
    /// A bucket holding its whole burst.
    fn full(rate: f64, now: Instant) -> Bucket {
        Bucket {
            rate,
            balance: rate * BURST_SECONDS,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.balance = (self.balance + elapsed * self.rate).min(self.rate * BURST_SECONDS);
        self.at = now;
    }

    /// A new rate keeps what the bucket holds, up to the new burst.
    fn resize(&mut self, rate: f64, now: Instant) {
        self.refill(now);
        self.rate = rate;
        self.balance = self.balance.min(rate * BURST_SECONDS);
    }
}

/// The read and write buckets of a table or an index.
#[derive(Debug)]
struct Pair {
    read: Bucket,
    write: Bucket,
}

impl Pair {
    fn full(read: i64, write: i64, now: Instant) -> Pair {
        Pair {
            read: Bucket::full(read as f64, now),
            write: Bucket::full(write as f64, now),
        }
    }

    fn bucket(&mut self, access: Access) -> &mut Bucket {
        match access {
            Access::Read => &mut self.read,
            Access::Write => &mut self.write,
        }
    }
}

#[derive(Debug, Default)]
struct Buckets {
    /// `None` while the table is on-demand.
    table: Option<Pair>,
    /// The provisioned GSIs', by name.
    indexes: HashMap<String, Pair>,
}

impl Buckets {
    fn pair(&mut self, index: Option<&str>) -> Option<&mut Pair> {
        match index {
            None => self.table.as_mut(),
            Some(i) => self.indexes.get_mut(i),
        }
    }
}

/// A table's buckets, kept across its definitions (`catalog::Table`), so changing a
/// table's settings does not refill them.
#[derive(Debug, Default)]
pub struct Throughput {
    /// The table is provisioned: without it, requests on on-demand tables take no lock.
    provisioned: AtomicBool,
    buckets: Mutex<Buckets>,
}

impl Throughput {
    /// Takes the rates of `meta`: buckets of newly provisioned tables and GSIs start full,
    /// changed ones keep what they hold (up to their new burst), others go.
    pub fn provision(&self, meta: &TableMeta) {
        let now = Instant::now();
        let mut b = self.buckets.lock();
        let provisioned = meta.billing_mode == BillingMode::Provisioned;
        self.provisioned.store(provisioned, Ordering::Relaxed);
        if !provisioned {
            *b = Buckets::default();
            return;
        }
        let (read, write) = (meta.read_capacity, meta.write_capacity);
        match &mut b.table {
            Some(p) => {
                p.read.resize(read as f64, now);
                p.write.resize(write as f64, now);
            }
            None => b.table = Some(Pair::full(read, write, now)),
        }
        b.indexes
            .retain(|name, _| meta.global_indexes.iter().any(|i| &i.name == name));
        for i in &meta.global_indexes {
            match b.indexes.get_mut(&i.name) {
                Some(p) => {
                    p.read.resize(i.read_capacity as f64, now);
                    p.write.resize(i.write_capacity as f64, now);
                }
                None => {
                    let pair = Pair::full(i.read_capacity, i.write_capacity, now);
                    b.indexes.insert(i.name.clone(), pair);
                }
            }
        }
    }

    /// Whether the table is provisioned (has buckets).
    pub fn is_provisioned(&self) -> bool {
        self.provisioned.load(Ordering::Relaxed)
    }

    /// Whether the table (or its GSI `index`) may take another request of `access`.
    pub fn admits(&self, index: Option<&str>, access: Access) -> bool {
        if !self.is_provisioned() {
            return true;
        }
        let mut b = self.buckets.lock();
        let Some(pair) = b.pair(index) else {
            return true;
        };
        let bucket = pair.bucket(access);
        bucket.refill(Instant::now());
        bucket.balance > 0.0
    }

    /// Takes `units` a request consumed from the table's (or its GSI's) bucket.
    pub fn charge(&self, index: Option<&str>, access: Access, units: f64) {
        if !self.is_provisioned() {
            return;
        }
        if let Some(pair) = self.buckets.lock().pair(index) {
            pair.bucket(access).balance -= units;
        }
    }
}

/// The error of a request refused on the table whose ARN is `table_arn`, or on its GSI
/// `index`, with DynamoDB's message and `ThrottlingReasons`.
pub fn exceeded(table_arn: &str, index: Option<&str>, access: Access) -> Error {
    let operation = match access {
        Access::Read => "Read",
        Access::Write => "Write",
    };
    let (kind, resource, message) = match index {
        None => ("Table", table_arn.to_string(), TABLE_EXCEEDED),
        Some(i) => ("Index", format!("{table_arn}/index/{i}"), INDEX_EXCEEDED),
    };
    Error::ProvisionedThroughputExceeded {
        message: message.to_string(),
        reasons: vec![ThrottlingReason {
            reason: format!("{kind}{operation}ProvisionedThroughputExceeded"),
            resource,
        }],
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_bucket_keeps_300_seconds_and_refills_at_its_rate() {
        let start = Instant::now();
        let mut b = Bucket::full(10.0, start);
        assert_eq!(b.balance, 3000.0);
        // Idle time beyond the burst adds nothing.
        b.refill(start + Duration::from_secs(60));
        assert_eq!(b.balance, 3000.0);
        b.balance -= 3005.0;
        b.refill(start + Duration::from_secs(60));
        assert!(b.balance < 0.0, "overdrawn: the next request waits");
        b.refill(start + Duration::from_millis(61_000));
        assert!((b.balance - 5.0).abs() < 1e-9, "{}", b.balance);
        // A lower rate caps what is kept.
        b.resize(0.01, start + Duration::from_millis(61_000));
        assert!((b.balance - 3.0).abs() < 1e-9, "{}", b.balance);
    }
}
