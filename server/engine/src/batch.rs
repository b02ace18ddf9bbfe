//! BatchGetItem and BatchWriteItem.
//!
//! Every request of a batch is validated before anything is read or written. A
//! BatchWriteItem is applied as one atomic storage batch under all its items' locks:
//! stronger than DynamoDB, which applies each request on its own. Throughput is admitted
//! item by item: what a table, a GSI or a partition has no throughput left for comes back
//! unprocessed, and only a batch of which nothing was processed answers the throttling
//! error, as DynamoDB answers.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::admission::Subject;
use super::capacity::{self, ReturnCapacity};
use super::commit::{Change, Origin};
use super::items::validate_new_item;
use super::throughput::partition_of;
use super::types::*;
use super::{indexes, required, Engine};
use crate::error::{Error, Result};
use crate::model::{item_size, Item};
use keyfall_types::command::{
    parse_collection_metrics, validate_values, Access, BatchGetItem, BatchGetTable,
};

const MAX_BATCH_WRITES: usize = 25;
/// BatchGetItem answers at most this much; the rest comes back as UnprocessedKeys.
const MAX_BATCH_GET_BYTES: usize = 16 * 1024 * 1024;

fn duplicates() -> Error {
    Error::validation("Provided list of item keys contains duplicates")
}

impl Engine {
    pub fn batch_get_item(&self, cmd: BatchGetItem) -> Result<BatchGetItemOutput> {
        let rcc = cmd.capacity;
        // Validate everything first.
        let mut plans = Vec::new();
        for BatchGetTable {
            table: name,
            projection,
            request: mut req,
        } in cmd.tables
        {
            let table = self.item_table(&Some(name.clone()))?;
            let projection = projection?;
            let mut seen = HashSet::new();
            let mut keys = Vec::with_capacity(req.keys.len());
            for key in std::mem::take(&mut req.keys) {
                validate_values(&key)?;
                table.meta.key_schema.validate_key(&key)?;
                let encoded = table.meta.key_schema.encode(&key)?;
                if !seen.insert(encoded.clone()) {
                    return Err(duplicates());
                }
                keys.push((key, encoded));
            }
            plans.push((name, req, table, projection, keys));
        }

        let mut out = BatchGetItemOutput::default();
        let mut consumed = Vec::new();
        let mut response_bytes = 0usize;
        // A key whose table or partition has no throughput left is not read: it comes back
        // in UnprocessedKeys, unless no key at all was read.
        let mut refusal = None;
        let mut read_any = false;
        for (name, req, table, projection, keys) in plans {
            let consistent = req.consistent_read.unwrap_or(false);
            let mut units = 0.0;
            let mut unprocessed = Vec::new();
            let mut found = Vec::new();
            let table_refused = self
                .check_throughput(&table, None, Access::Read, Subject::Nothing)
                .err();
            let mut read_here = false;
            for (key, encoded) in keys {
                let partition = partition_of(&encoded);
                let admitted = match &table_refused {
                    Some(_) => false,
                    None => self
                        .check_partition(&table, None, Access::Read, partition, Subject::Item(&key))
                        .map_err(|e| refusal = refusal.take().or(Some(e)))
                        .is_ok(),
                };
                if response_bytes >= MAX_BATCH_GET_BYTES || !admitted {
                    unprocessed.push(key);
                    continue;
                }
                read_here = true;
                table
                    .insights
                    .record(None, &table.meta.key_schema, &key, false);
                let item = table
                    .meta
                    .visible(self.read_stored(&table.meta.keyspace, &encoded)?);
                if let Some(item) = item {
                    let item_units = capacity::read_units(item_size(&item), consistent);
                    super::observe::read(&table, None, partition, item_units);
                    units += item_units;
                    response_bytes += item_size(&item);
                    found.push(match &projection {
                        Some(p) => p.apply(&item),
                        None => item,
                    });
                }
            }
            if let Some(e) = table_refused {
                refusal = refusal.take().or(Some(e));
            }
            if read_here && found.is_empty() {
                // Nothing found still costs one read, as GetItem of a missing item does.
                units = capacity::read_units(0, consistent);
                super::observe::read(&table, None, None, units);
            }
            read_any |= read_here;
            out.responses.insert(name.clone(), found);
            if !unprocessed.is_empty() {
                out.unprocessed_keys.insert(
                    name.clone(),
                    KeysAndAttributes {
                        keys: unprocessed,
                        ..req
                    },
                );
            }
            consumed.extend(capacity::consumed(
                &name,
                rcc,
                &capacity::Usage::table(units),
            ));
        }
        if let (false, Some(e)) = (read_any, refusal) {
            return Err(e);
        }
        out.consumed_capacity = (rcc != ReturnCapacity::None).then_some(consumed);
        Ok(out)
    }

    pub fn batch_write_item(&self, input: BatchWriteItemInput) -> Result<BatchWriteItemOutput> {
        let _schema = self.schema_lock.read();
        let requests = required(&input.request_items, "requestItems")?;
        if requests.is_empty() {
            return Err(Error::validation(
                "BatchWriteItem cannot have a null or no requests set",
            ));
        }
        let rcc = ReturnCapacity::parse(input.return_consumed_capacity.as_deref())?;
        let metrics = parse_collection_metrics(input.return_item_collection_metrics.as_deref())?;
        if requests.values().map(Vec::len).sum::<usize>() > MAX_BATCH_WRITES {
            return Err(Error::validation(
                "Too many items requested for the BatchWriteItem call",
            ));
        }
        // Validate every request before writing anything.
        struct Write<'a> {
            table: std::sync::Arc<super::catalog::Table>,
            key: Vec<u8>,
            new: Option<&'a Item>,
            key_item: Item,
            request: &'a WriteRequest,
        }
        let mut writes = Vec::new();
        let mut seen = HashSet::new();
        for (name, list) in requests {
            let table = self.item_table(&Some(name.clone()))?;
            if list.is_empty() {
                return Err(Error::validation(format!(
                    "The batch write request list for a table cannot be null or empty: {name}"
                )));
            }
            for req in list {
                let schema = &table.meta.key_schema;
                let (key, new, key_item) = match (&req.put_request, &req.delete_request) {
                    (Some(put), None) => {
                        validate_values(&put.item)?;
                        schema.validate_item(&put.item)?;
                        validate_new_item(&put.item)?;
                        indexes::validate_item(&table, &put.item)?;
                        (
                            schema.encode(&put.item)?,
                            Some(&put.item),
                            schema.extract_key(&put.item),
                        )
                    }
                    (None, Some(del)) => {
                        validate_values(&del.key)?;
                        schema.validate_key(&del.key)?;
                        (schema.encode(&del.key)?, None, del.key.clone())
                    }
                    _ => return Err(Error::validation(
                        "A WriteRequest must contain exactly one of PutRequest or DeleteRequest",
                    )),
                };
                if !seen.insert((table.meta.keyspace.clone(), key.clone())) {
                    return Err(duplicates());
                }
                writes.push(Write {
                    table: table.clone(),
                    key,
                    new,
                    key_item,
                    request: req,
                });
            }
        }

        // Admission, item by item: a write whose table or partition has no throughput
        // left comes back in UnprocessedItems, unless none could be written.
        let mut refusal = None;
        let mut unprocessed: HashMap<String, Vec<WriteRequest>> = HashMap::new();
        let mut refuse = |w: &Write<'_>, e: Error| {
            refusal = refusal.take().or(Some(e));
            unprocessed
                .entry(w.table.meta.name.clone())
                .or_default()
                .push(w.request.clone());
        };
        let mut admitted = Vec::with_capacity(writes.len());
        for w in writes {
            match self.check_item(&w.table, Access::Write, &w.key, &w.key_item) {
                Ok(()) => admitted.push(w),
                Err(e) => refuse(&w, e),
            }
        }
        let writes = admitted;

        // Lock every item's stripe in a global order (no deadlock), read, write once.
        let stripes: BTreeSet<usize> = writes
            .iter()
            .map(|w| self.lock_stripe(&w.table.meta.keyspace, &w.key))
            .collect();
        let _guards: Vec<_> = stripes
            .into_iter()
            .map(|s| self.lock_stripe_index(s))
            .collect();
        let mut committed = Vec::with_capacity(writes.len());
        for w in writes {
            let old = self.read_stored(&w.table.meta.keyspace, &w.key)?;
            // The GSIs the write would update must have throughput left too.
            match self.check_indexes(&w.table, &w.key, old.as_ref(), w.new) {
                Ok(gsis) => committed.push((w, old, gsis)),
                Err(e) => refuse(&w, e),
            }
        }
        if let (true, Some(e)) = (committed.is_empty(), refusal) {
            return Err(e);
        }
        let changes: Vec<Change<'_>> = committed
            .iter()
            .map(|(w, old, _)| Change {
                table: &w.table,
                key: &w.key,
                old: old.as_ref(),
                new: w.new,
            })
            .collect();
        self.commit_changes(&changes, Vec::new(), Origin::Client)?;

        let mut units: HashMap<&str, capacity::Usage> = HashMap::new();
        let mut collection_metrics: HashMap<String, Vec<ItemCollectionMetrics>> = HashMap::new();
        for (w, old, gsis) in &committed {
            Self::charge_indexes(&w.table, gsis.as_ref());
            if rcc != ReturnCapacity::None {
                units
                    .entry(w.table.meta.name.as_str())
                    .or_default()
                    .add(&indexes::write_usage(&w.table, &w.key, old.as_ref(), w.new));
            }
            if let Some(m) = self.collection_metrics(&w.table, metrics, &w.key_item) {
                collection_metrics
                    .entry(w.table.meta.name.clone())
                    .or_default()
                    .push(m);
            }
        }
        let consumed: Vec<ConsumedCapacity> = units
            .into_iter()
            .filter_map(|(name, u)| capacity::consumed(name, rcc, &u))
            .collect();
        Ok(BatchWriteItemOutput {
            unprocessed_items: unprocessed,
            consumed_capacity: (rcc != ReturnCapacity::None).then_some(consumed),
            item_collection_metrics: (!collection_metrics.is_empty()).then_some(collection_metrics),
        })
    }
}
