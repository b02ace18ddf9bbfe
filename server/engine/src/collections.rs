//! Item collections: on tables with local secondary indexes, all items of one partition
//! key plus their LSI entries may hold at most 10 GB (`ItemCollectionSizeLimitExceeded`).
//!
//! Sizes are counted per partition the first time a partition is written after start
//! (one range read of the partition and its LSI entries), then kept by deltas. A table's
//! writes check and apply under its collection mutex, so the limit is exact.

use std::collections::HashMap;

use parking_lot::{Mutex, MutexGuard};

use super::catalog::Table;
use super::commit::Change;
use super::indexes;
use super::types::ItemCollectionMetrics;
use super::Engine;
use crate::error::{Error, Result};
use crate::model::{codec, item_size, Item};
use crate::storage::KeyRange;

/// Partition prefix → bytes of the item collection, for partitions seen since start.
#[derive(Debug, Default)]
pub struct CollectionSizes(Mutex<HashMap<Vec<u8>, i64>>);

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The partition prefix a stored key starts with: hash (8) ‖ length (2) ‖ partition key.
fn partition_of(key: &[u8]) -> Option<&[u8]> {
    let len = u16::from_be_bytes(key.get(8..10)?.try_into().ok()?) as usize;
    key.get(..10 + len)
}

/// Bytes an item adds to its collection: the item and its LSI entries.
fn footprint(table: &Table, base_key: &[u8], item: Option<&Item>) -> i64 {
    let Some(item) = item else { return 0 };
    let lsi: usize = table
        .meta
        .local_indexes
        .iter()
        .filter(|i| indexes::entry_key(i, base_key, item).is_some())
        .map(|i| item_size(&indexes::project(i, &table.meta.key_schema, item)))
        .sum();
    (item_size(item) + lsi) as i64
}

pub struct CollectionGuard<'a> {
    sizes: MutexGuard<'a, HashMap<Vec<u8>, i64>>,
    deltas: Vec<(Vec<u8>, i64)>,
}

impl Engine {
    fn collection_size(&self, table: &Table, prefix: &[u8]) -> Result<i64> {
        let mut end = prefix.to_vec();
        // The partition's keys all start with `prefix`; its successor bounds them.
        while let Some(last) = end.pop() {
            if last < 0xFF {
                end.push(last + 1);
                break;
            }
        }
        let range = || KeyRange {
            start: std::ops::Bound::Included(prefix.to_vec()),
            end: if end.is_empty() {
                std::ops::Bound::Unbounded
            } else {
                std::ops::Bound::Excluded(end.clone())
            },
        };
        let mut size = 0i64;
        for keyspace in std::iter::once(&table.meta.keyspace)
            .chain(table.meta.local_indexes.iter().map(|i| &i.keyspace))
        {
            for kv in self.store.range(keyspace, range(), false)? {
                let (_, v) = kv?;
                size += codec::decode_item(&v)
                    .map(|i| item_size(&i) as i64)
                    .unwrap_or(0);
            }
        }
        Ok(size)
    }

    /// Checks the changes of tables with LSIs against the item-collection limit and holds
    /// those tables' collection locks until the guards drop (after the apply).
    pub(crate) fn check_collections<'a>(
        &self,
        changes: &[Change<'a>],
    ) -> Result<Vec<CollectionGuard<'a>>> {
        let mut tables: Vec<&'a Table> = changes
            .iter()
            .map(|c| c.table)
            .filter(|t| !t.meta.local_indexes.is_empty())
            .collect();
        tables.sort_by(|a, b| a.meta.keyspace.cmp(&b.meta.keyspace));
        tables.dedup_by(|a, b| a.meta.keyspace == b.meta.keyspace);
        let mut guards = Vec::with_capacity(tables.len());
        for table in tables {
            let mut sizes = table.collections.0.lock();
            let mut deltas: Vec<(Vec<u8>, i64)> = Vec::new();
            for c in changes
                .iter()
                .filter(|c| c.table.meta.keyspace == table.meta.keyspace)
            {
                let Some(prefix) = partition_of(c.key) else {
                    continue;
                };
                let delta = footprint(table, c.key, c.new) - footprint(table, c.key, c.old);
                if !sizes.contains_key(prefix) {
                    let size = self.collection_size(table, prefix)?;
                    sizes.insert(prefix.to_vec(), size);
                }
                let pending: i64 = deltas
                    .iter()
                    .filter(|(p, _)| p.as_slice() == prefix)
                    .map(|(_, d)| d)
                    .sum();
                let current = sizes.get(prefix).copied().unwrap_or(0) + pending;
                if delta > 0 && current + delta > self.config.item_collection_limit_bytes as i64 {
                    return Err(Error::ItemCollectionSizeLimitExceeded(
                        "Collection size exceeded.".into(),
                    ));
                }
                deltas.push((prefix.to_vec(), delta));
            }
            guards.push(CollectionGuard { sizes, deltas });
        }
        Ok(guards)
    }

    /// ItemCollectionMetrics for a written item of a table with LSIs.
    pub(crate) fn collection_metrics_of(
        &self,
        table: &Table,
        base_key: &[u8],
        key: &Item,
    ) -> ItemCollectionMetrics {
        let size = partition_of(base_key)
            .and_then(|p| table.collections.0.lock().get(p).copied())
            .unwrap_or(0)
            .max(0) as f64;
        let gb = (size / GIB).floor();
        let pk = &table.meta.key_schema.hash.name;
        ItemCollectionMetrics {
            item_collection_key: key
                .iter()
                .filter(|(k, _)| *k == pk)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            size_estimate_range_gb: vec![gb, gb + 1.0],
        }
    }
}

impl CollectionGuard<'_> {
    /// Records the applied deltas; call only after the batch is durable.
    pub fn commit(mut self) {
        for (prefix, delta) in std::mem::take(&mut self.deltas) {
            *self.sizes.entry(prefix).or_default() += delta;
        }
    }
}
