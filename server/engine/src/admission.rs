//! The engine's side of admission: whether a table, a GSI or a partition has throughput
//! left for a request (see [`throughput`](super::throughput)), the error or cancellation
//! reason a refusal answers, and the throttle counts behind `/metrics`.
//!
//! Single-item requests are refused whole; batches refuse item by item (their
//! `UnprocessedItems` and `UnprocessedKeys`), and transactions cancel with the refused
//! item's reason, as DynamoDB does.

use std::collections::BTreeMap;

use keyfall_types::command::{Access, Demand};
use keyfall_types::types::CancellationReason;

use super::catalog::Table;
use super::throughput::{self, partition_of, Cause};
use super::{indexes, Engine};
use crate::error::{Error, Result};
use crate::model::{AttributeValue, Item};

/// What a refused request was about, counted against it in Contributor Insights' throttled
/// rules.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject<'a> {
    /// Nothing to count (a scan, an index's share of a write).
    Nothing,
    /// A key or an item of the table.
    Item(&'a Item),
    /// A partition key value of the table or of the GSI read.
    Partition(&'a AttributeValue),
}

impl Engine {
    /// Admission in the request pipeline: refuses a request whose table, or the GSI it
    /// reads, has no throughput left. A table that does not exist is left to the request
    /// to report.
    pub fn admit(&self, demand: Demand<'_>) -> Result<()> {
        if !self.config.capacity {
            return Ok(());
        }
        let Some(t) = self.catalog.get(demand.table) else {
            return Ok(());
        };
        let subject = demand.key.map_or(Subject::Nothing, Subject::Item);
        self.check_throughput(&t, global(&t, demand.index), demand.access, subject)
    }

    /// Refuses, and counts, a request table `t` (or its GSI `index`) has no `access`
    /// throughput left for.
    pub(crate) fn check_throughput(
        &self,
        t: &Table,
        index: Option<&str>,
        access: Access,
        subject: Subject<'_>,
    ) -> Result<()> {
        let refused = t.throughput.admits(index, access);
        refused.map_err(|cause| self.throttled(t, index, access, cause, subject))
    }

    /// Refuses, and counts, a request on partition `partition` (see
    /// [`throughput::partition_of`]) of table `t` or of its GSI `index` that has no
    /// `access` throughput left.
    pub(crate) fn check_partition(
        &self,
        t: &Table,
        index: Option<&str>,
        access: Access,
        partition: Option<u64>,
        subject: Subject<'_>,
    ) -> Result<()> {
        let Some(partition) = partition else {
            return Ok(());
        };
        let refused = t.throughput.admits_partition(index, access, partition);
        refused.map_err(|cause| self.throttled(t, index, access, cause, subject))
    }

    /// One item of a batch or transaction, `item` stored under `key`: its table's and its
    /// partition's limits.
    pub(crate) fn check_item(
        &self,
        t: &Table,
        access: Access,
        key: &[u8],
        item: &Item,
    ) -> Result<()> {
        let subject = Subject::Item(item);
        self.check_throughput(t, None, access, subject)?;
        self.check_partition(t, None, access, partition_of(key), subject)
    }

    /// What a write of `key` from `old` to `new` costs each GSI it updates, once each has
    /// write throughput left (a GSI short of it throttles the table's write, as in
    /// DynamoDB); `None` when throughput is not enforced. Charged by
    /// [`Engine::charge_indexes`] once the write is committed.
    pub(crate) fn check_indexes(
        &self,
        t: &Table,
        key: &[u8],
        old: Option<&Item>,
        new: Option<&Item>,
    ) -> Result<Option<BTreeMap<String, f64>>> {
        if !t.throughput.is_enforced() || t.meta.global_indexes.is_empty() {
            return Ok(None);
        }
        let usage = indexes::write_usage(t, key, old, new).global;
        for name in usage.keys() {
            self.check_throughput(t, Some(name), Access::Write, Subject::Nothing)?;
        }
        Ok(Some(usage))
    }

    /// Charges the GSI writes [`Engine::check_indexes`] admitted, and counts them in the
    /// GSIs' consumed units.
    pub(crate) fn charge_indexes(t: &Table, usage: Option<&BTreeMap<String, f64>>) {
        for (name, units) in usage.into_iter().flatten() {
            t.throughput.charge(Some(name), Access::Write, None, *units);
            if let Some(stats) = t.index_stats(name) {
                stats.consume(0.0, *units);
            }
        }
    }

    /// Counts a refusal (in `/metrics`, and against its subject in Contributor Insights)
    /// and makes its error.
    fn throttled(
        &self,
        t: &Table,
        index: Option<&str>,
        access: Access,
        cause: Cause,
        subject: Subject<'_>,
    ) -> Error {
        t.throttled(index, access, cause);
        match subject {
            Subject::Nothing => {}
            Subject::Item(item) => t.insights.record(None, &t.meta.key_schema, item, true),
            Subject::Partition(pk) => t.insights.record_values(index, pk, None, true),
        }
        let arn = self.table_arn(&t.meta.name);
        throughput::exceeded(&arn, index, access, cause)
    }
}

/// The GSI named `index` of `t`: a local secondary index shares its table's throughput.
fn global<'a>(t: &Table, index: Option<&'a str>) -> Option<&'a str> {
    index.filter(|i| t.meta.global_indexes.iter().any(|g| g.name == *i))
}

/// The cancellation reason of a transaction item refused by throttling `e`:
/// `ProvisionedThroughputExceeded` for provisioned throughput, `ThrottlingError` for the
/// rest (API Reference, TransactWriteItems).
pub(crate) fn cancellation(e: &Error) -> Option<CancellationReason> {
    let Error::Throttled { name, message, .. } = e else {
        return None;
    };
    let code = match *name {
        "ProvisionedThroughputExceededException" => "ProvisionedThroughputExceeded",
        _ => "ThrottlingError",
    };
    Some(CancellationReason {
        code: code.into(),
        message: Some(message.clone()),
        item: None,
    })
}
