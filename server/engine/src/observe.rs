//! What one request did — tables touched, capacity consumed, items counted — gathered on
//! the engine thread that runs it, for the request's trace span (OpenTelemetry's DynamoDB
//! attributes) and for the tables' consumed-capacity counters in `/metrics`.
//!
//! Capacity is counted here whether or not the client asked for ConsumedCapacity, at the
//! table level (index writes are not projected unasked, as in `capacity::consumed_with`).
//! Work outside a request (the TTL sweeper, GSI backfills) is not counted: DynamoDB does not
//! charge it either.

use std::cell::RefCell;

use keyfall_types::command::Access;

use super::capacity;
use super::catalog::Table;
use crate::model::value::{item_size, Item};

#[derive(Debug, Default)]
struct Facts {
    tables: Vec<String>,
    units: f64,
    count: Option<i64>,
    scanned: Option<i64>,
}

thread_local! {
    static FACTS: RefCell<Option<Facts>> = const { RefCell::new(None) };
}

fn with(f: impl FnOnce(&mut Facts)) {
    FACTS.with(|cell| {
        if let Some(facts) = cell.borrow_mut().as_mut() {
            f(facts);
        }
    });
}

fn touch(facts: &mut Facts, table: &Table) {
    if !facts.tables.contains(&table.meta.name) {
        facts.tables.push(table.meta.name.clone());
    }
}

/// Runs `f` as one request: what it observes is recorded on `span` when it returns.
pub(crate) fn request<T>(span: &tracing::Span, f: impl FnOnce() -> T) -> T {
    FACTS.with(|cell| *cell.borrow_mut() = Some(Facts::default()));
    let out = f();
    if let Some(facts) = FACTS.with(|cell| cell.borrow_mut().take()) {
        if !facts.tables.is_empty() {
            span.record("aws.dynamodb.table_names", facts.tables.join(",").as_str());
            span.record("aws.dynamodb.consumed_capacity_units", facts.units);
        }
        if let Some(count) = facts.count {
            span.record("aws.dynamodb.count", count);
        }
        if let Some(scanned) = facts.scanned {
            span.record("aws.dynamodb.scanned_count", scanned);
        }
    }
    out
}

/// Read units consumed on `table` (its indexes included), or on its GSI `index`, in one
/// `partition` when the read had one key: charged to that one's throughput.
pub(crate) fn read(table: &Table, index: Option<&str>, partition: Option<u64>, units: f64) {
    with(|facts| {
        touch(facts, table);
        facts.units += units;
        table.stats.consume(units, 0.0);
        if let Some(stats) = index.and_then(|i| table.index_stats(i)) {
            stats.consume(units, 0.0);
        }
        table
            .throughput
            .charge(index, Access::Read, partition, units);
    });
}

/// One item written (or deleted) in `table`, stored under `key`.
pub(crate) fn write(table: &Table, key: &[u8], old: Option<&Item>, new: Option<&Item>) {
    with(|facts| {
        if let Some(item) = new.or(old) {
            table
                .insights
                .record(None, &table.meta.key_schema, item, false);
        }
        touch(facts, table);
        let units = capacity::write_units(old.map_or(0, item_size), new.map_or(0, item_size));
        facts.units += units;
        table.stats.consume(0.0, units);
        let partition = super::throughput::partition_of(key);
        table
            .throughput
            .charge(None, Access::Write, partition, units);
    });
}

/// Items returned and items read before the filter (Query, Scan).
pub(crate) fn counted(count: i64, scanned: i64) {
    with(|facts| {
        facts.count = Some(facts.count.unwrap_or(0) + count);
        facts.scanned = Some(facts.scanned.unwrap_or(0) + scanned);
    });
}
