//! Throughput, enforced as DynamoDB enforces it. Each table, and each of its global
//! secondary indexes, has a gate for reads and one for writes, made of the limits that
//! apply in its capacity mode:
//! - provisioned mode: a bucket refilled at the provisioned rate that keeps up to 300
//!   seconds of unused capacity as burst (Developer Guide, "Burst capacity": DynamoDB
//!   "retains up to five minutes (300 seconds) of unused read and write capacity");
//! - on-demand mode: the table's ceiling, which grows with its peaks ([`demand`]), and the
//!   `OnDemandThroughput` maximum when one is set;
//! - both modes: each partition key value's share ([`partitions`]).
//!
//! A local secondary index shares its table's throughput.
//!
//! A request is admitted while its limits have capacity left. What it consumed is charged
//! once it ran, since only then is its size known: the last request admitted may overdraw
//! a bucket, and the next ones wait until the refill covers the debt. The table's limits
//! are checked in the request pipeline before the engine runs it; the partition's where the
//! engine resolves the key, as DynamoDB's request router does.

mod bucket;
mod demand;
mod partitions;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use keyfall_types::command::Access;
use keyfall_types::types::ThrottlingReason;
use parking_lot::Mutex;

use self::bucket::Bucket;
use self::demand::Demand;
pub use self::partitions::partition_of;
use self::partitions::Partitions;
use super::catalog::{BillingMode, TableMeta};
use crate::error::Error;

/// Seconds of unused provisioned capacity a bucket keeps.
const BURST_SECONDS: f64 = 300.0;

/// The numbers throughput is enforced with, DynamoDB's by default. The quotas are what
/// DescribeLimits reports; a configuration file may change any of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CapacityLimits {
    pub account_max_read: i64,
    pub account_max_write: i64,
    pub table_max_read: i64,
    pub table_max_write: i64,
    /// What one partition (so one partition key value) serves per second.
    pub partition_read: f64,
    pub partition_write: f64,
    /// What a new on-demand table serves per second.
    pub on_demand_initial_read: f64,
    pub on_demand_initial_write: f64,
}

impl Default for CapacityLimits {
    fn default() -> Self {
        CapacityLimits {
            account_max_read: 80_000,
            account_max_write: 80_000,
            table_max_read: 40_000,
            table_max_write: 40_000,
            partition_read: 3000.0,
            partition_write: 1000.0,
            on_demand_initial_read: 12_000.0,
            on_demand_initial_write: 4000.0,
        }
    }
}

impl CapacityLimits {
    /// Limits no workload reaches: requests are admitted and charged as usual, and never
    /// refused (what admission costs, measured by keyfall-bench).
    pub fn unbounded() -> CapacityLimits {
        let huge = 1e15;
        CapacityLimits {
            account_max_read: i64::MAX,
            account_max_write: i64::MAX,
            table_max_read: i64::MAX,
            table_max_write: i64::MAX,
            partition_read: huge,
            partition_write: huge,
            on_demand_initial_read: huge,
            on_demand_initial_write: huge,
        }
    }

    fn of(&self, access: Access) -> (f64, f64, f64) {
        match access {
            Access::Read => (
                self.partition_read,
                self.on_demand_initial_read,
                self.table_max_read as f64,
            ),
            Access::Write => (
                self.partition_write,
                self.on_demand_initial_write,
                self.table_max_write as f64,
            ),
        }
    }
}

/// Which limit refused a request: the limit type of DynamoDB's throttling reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Provisioned,
    KeyRange,
    MaxOnDemand,
    AccountLimit,
}

impl Cause {
    pub const ALL: [Cause; 4] = [
        Cause::Provisioned,
        Cause::KeyRange,
        Cause::MaxOnDemand,
        Cause::AccountLimit,
    ];

    /// The limit type in a throttling reason (`Table` `Write` `<this>`).
    pub fn reason(self) -> &'static str {
        match self {
            Cause::Provisioned => "ProvisionedThroughputExceeded",
            Cause::KeyRange => "KeyRangeThroughputExceeded",
            Cause::MaxOnDemand => "MaxOnDemandThroughputExceeded",
            Cause::AccountLimit => "AccountLimitExceeded",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// The limits on one access (reads or writes) of a table or a GSI.
#[derive(Debug)]
struct Gate {
    provisioned: Option<Bucket>,
    maximum: Option<Bucket>,
    demand: Option<Demand>,
    partitions: Partitions,
}

impl Gate {
    fn new(partition_rate: f64) -> Gate {
        Gate {
            provisioned: None,
            maximum: None,
            demand: None,
            partitions: Partitions::new(partition_rate),
        }
    }

    /// Takes the settings of one definition: `provisioned` units in provisioned mode, else
    /// on-demand with an optional `maximum`.
    fn set(
        &mut self,
        provisioned: Option<i64>,
        maximum: Option<i64>,
        (initial, quota): (f64, f64),
        now: Instant,
    ) {
        match provisioned {
            Some(rate) => {
                match &mut self.provisioned {
                    Some(b) => b.resize(rate as f64, now),
                    None => self.provisioned = Some(Bucket::full(rate as f64, BURST_SECONDS, now)),
                }
                self.maximum = None;
                self.demand = None;
            }
            None => {
                let previous = self.provisioned.take().map_or(0.0, |b| b.rate());
                match &mut self.demand {
                    Some(d) => d.requota(quota),
                    None => self.demand = Some(Demand::new(initial, quota, previous, now)),
                }
                self.maximum = match (maximum.filter(|m| *m > 0), self.maximum.take()) {
                    (None, _) => None,
                    (Some(m), Some(mut b)) => {
                        b.resize(m as f64, now);
                        Some(b)
                    }
                    (Some(m), None) => Some(Bucket::full(m as f64, 1.0, now)),
                };
            }
        }
    }

    fn admits(&mut self, now: Instant) -> Result<(), Cause> {
        if let Some(b) = &mut self.provisioned {
            if !b.admits(now) {
                return Err(Cause::Provisioned);
            }
        }
        if let Some(b) = &mut self.maximum {
            if !b.admits(now) {
                return Err(Cause::MaxOnDemand);
            }
        }
        match &mut self.demand {
            Some(d) => d.admits(now),
            None => Ok(()),
        }
    }

    fn charge(&mut self, partition: Option<u64>, units: f64, now: Instant) {
        for b in self.provisioned.iter_mut().chain(&mut self.maximum) {
            b.refill(now);
            b.balance -= units;
        }
        if let Some(d) = &mut self.demand {
            d.charge(units, now);
        }
        if let Some(p) = partition {
            self.partitions.charge(p, units, now);
        }
    }
}

/// The gates of a table or a GSI.
#[derive(Debug)]
struct Gates {
    read: Gate,
    write: Gate,
}

impl Gates {
    fn new(limits: &CapacityLimits) -> Gates {
        Gates {
            read: Gate::new(limits.partition_read),
            write: Gate::new(limits.partition_write),
        }
    }

    fn gate(&mut self, access: Access) -> &mut Gate {
        match access {
            Access::Read => &mut self.read,
            Access::Write => &mut self.write,
        }
    }

    /// Settings of a table or index: `(read, write)` provisioned units or on-demand maxima.
    fn set(
        &mut self,
        mode: BillingMode,
        provisioned: (i64, i64),
        maximum: (Option<i64>, Option<i64>),
        limits: &CapacityLimits,
        now: Instant,
    ) {
        let on = |units: i64| (mode == BillingMode::Provisioned).then_some(units);
        let (_, initial, quota) = limits.of(Access::Read);
        self.read
            .set(on(provisioned.0), maximum.0, (initial, quota), now);
        let (_, initial, quota) = limits.of(Access::Write);
        self.write
            .set(on(provisioned.1), maximum.1, (initial, quota), now);
    }
}

#[derive(Debug, Default)]
struct State {
    /// `None` while throughput is not enforced (`--capacity off`).
    table: Option<Gates>,
    /// The GSIs', by name.
    indexes: HashMap<String, Gates>,
}

impl State {
    fn gates(&mut self, index: Option<&str>) -> Option<&mut Gates> {
        match index {
            None => self.table.as_mut(),
            Some(i) => self.indexes.get_mut(i),
        }
    }
}

/// A table's limits, kept across its definitions (`catalog::Table`), so changing a table's
/// settings does not refill them.
#[derive(Debug, Default)]
pub struct Throughput {
    /// Throughput is enforced on this table: without it, requests take no lock.
    enforced: AtomicBool,
    state: Mutex<State>,
}

impl Throughput {
    /// Takes the settings of `meta`, enforced with `limits` (`None`: not enforced).
    /// Buckets of newly provisioned tables and GSIs start full, changed ones keep what they
    /// hold (up to their new burst), others go.
    pub fn provision(&self, meta: &TableMeta, limits: Option<&CapacityLimits>) {
        let now = Instant::now();
        let mut state = self.state.lock();
        self.enforced.store(limits.is_some(), Ordering::Relaxed);
        let Some(limits) = limits else {
            *state = State::default();
            return;
        };
        let mode = meta.billing_mode;
        state.table.get_or_insert_with(|| Gates::new(limits)).set(
            mode,
            (meta.read_capacity, meta.write_capacity),
            (meta.on_demand_max_read, meta.on_demand_max_write),
            limits,
            now,
        );
        state
            .indexes
            .retain(|name, _| meta.global_indexes.iter().any(|i| &i.name == name));
        for i in &meta.global_indexes {
            state
                .indexes
                .entry(i.name.clone())
                .or_insert_with(|| Gates::new(limits))
                .set(
                    mode,
                    (i.read_capacity, i.write_capacity),
                    (i.on_demand_max_read, i.on_demand_max_write),
                    limits,
                    now,
                );
        }
    }

    /// Whether throughput is enforced on this table.
    pub fn is_enforced(&self) -> bool {
        self.enforced.load(Ordering::Relaxed)
    }

    /// Whether the table (or its GSI `index`) may take another request of `access`.
    pub fn admits(&self, index: Option<&str>, access: Access) -> Result<(), Cause> {
        if !self.is_enforced() {
            return Ok(());
        }
        let now = Instant::now();
        match self.state.lock().gates(index) {
            Some(g) => g.gate(access).admits(now),
            None => Ok(()),
        }
    }

    /// Whether the partition `partition` of the table (or of its GSI `index`) may take
    /// another request of `access`.
    pub fn admits_partition(
        &self,
        index: Option<&str>,
        access: Access,
        partition: u64,
    ) -> Result<(), Cause> {
        if !self.is_enforced() {
            return Ok(());
        }
        let now = Instant::now();
        let mut state = self.state.lock();
        let admitted = state
            .gates(index)
            .is_none_or(|g| g.gate(access).partitions.admits(partition, now));
        if admitted {
            Ok(())
        } else {
            Err(Cause::KeyRange)
        }
    }

    /// Takes `units` a request consumed (on `partition`, when it had one key) from the
    /// table's (or its GSI's) limits.
    pub fn charge(&self, index: Option<&str>, access: Access, partition: Option<u64>, units: f64) {
        if !self.is_enforced() {
            return;
        }
        let now = Instant::now();
        if let Some(g) = self.state.lock().gates(index) {
            g.gate(access).charge(partition, units, now);
        }
    }
}

/// DynamoDB's messages: a table and an index out of provisioned throughput, a table and an
/// index scaling (partition limits, on demand or not), and the per-table quota.
const TABLE_EXCEEDED: &str = "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.";
const INDEX_EXCEEDED: &str = "The level of configured provisioned throughput for one or more global secondary indexes of the table was exceeded. Consider increasing your provisioning level for the under-provisioned global secondary indexes with the UpdateTable API";
const TABLE_SCALING: &str = "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly. If exceptions persist, check if you have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html";
const INDEX_SCALING: &str = "Throughput exceeds the current capacity for one or more global secondary indexes. DynamoDB is automatically scaling your index so please try again shortly.";
const MAXIMUM: &str =
    "Throughput exceeds the maximum OnDemandThroughput configured on the table or index.";
const QUOTA: &str = "Throughput exceeds the current throughput limit for your account. To request a limit increase, contact AWS Support at https://aws.amazon.com/support";

/// The error of a request refused by `cause` on the table whose ARN is `table_arn`, or on
/// its GSI `index`, with DynamoDB's name, message and `ThrottlingReasons` (Developer Guide,
/// "Error handling": provisioned throughput is `ProvisionedThroughputExceededException`,
/// the account's quota `RequestLimitExceeded`, partition limits and on-demand maxima
/// `ThrottlingException`).
pub fn exceeded(table_arn: &str, index: Option<&str>, access: Access, cause: Cause) -> Error {
    let operation = match access {
        Access::Read => "Read",
        Access::Write => "Write",
    };
    let (kind, resource) = match index {
        None => ("Table", table_arn.to_string()),
        Some(i) => ("Index", format!("{table_arn}/index/{i}")),
    };
    let (name, message) = match (cause, index) {
        (Cause::Provisioned, None) => ("ProvisionedThroughputExceededException", TABLE_EXCEEDED),
        (Cause::Provisioned, Some(_)) => ("ProvisionedThroughputExceededException", INDEX_EXCEEDED),
        (Cause::KeyRange, None) => ("ThrottlingException", TABLE_SCALING),
        (Cause::KeyRange, Some(_)) => ("ThrottlingException", INDEX_SCALING),
        (Cause::MaxOnDemand, _) => ("ThrottlingException", MAXIMUM),
        (Cause::AccountLimit, _) => ("RequestLimitExceeded", QUOTA),
    };
    Error::Throttled {
        name,
        message: message.to_string(),
        reasons: vec![ThrottlingReason {
            reason: format!("{kind}{operation}{}", cause.reason()),
            resource,
        }],
    }
}
