//! Single-item actions: PutItem, GetItem, UpdateItem, DeleteItem.
//!
//! A write takes its item's lock stripe, reads the current item, evaluates the condition,
//! computes the new item and commits it in one storage batch before releasing the lock:
//! check-and-write is atomic per item under any concurrency.

use super::admission::Subject;
use super::capacity;
use super::catalog::Table;
use super::commit::{Change, Origin};
use super::throughput::partition_of;
use super::types::*;
use super::{indexes, Engine};
use crate::error::{Error, Result};
use crate::expr::{self, Condition};
use crate::model::{codec, item_size, Item};
use keyfall_types::command::Access;
use keyfall_types::command::{
    DeleteItem, GetItem, PutItem, ReturnValues, UpdateItem, WriteReturns,
};

/// DynamoDB's item size limit, names included.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// Stored values obey the model rules and the size limit.
/// The longest attribute name DynamoDB stores (64 KB); key attribute names are held to
/// 255 bytes by the table's definition.
pub(super) const MAX_ATTRIBUTE_NAME_BYTES: usize = 65535;

pub(super) fn validate_new_item(item: &Item) -> Result<()> {
    validate_item_as(item, "Item size has exceeded the maximum allowed size")
}

/// The item an UpdateItem makes; DynamoDB words its size error differently.
pub(super) fn validate_updated_item(item: &Item) -> Result<()> {
    validate_item_as(
        item,
        "Item size to update has exceeded the maximum allowed size",
    )
}

fn validate_item_as(item: &Item, too_large: &str) -> Result<()> {
    for (name, v) in item {
        if name.len() > MAX_ATTRIBUTE_NAME_BYTES {
            return Err(Error::validation(format!(
                "One or more parameter values were invalid: Size of attribute name exceeds the allowed limit of {MAX_ATTRIBUTE_NAME_BYTES} bytes"
            )));
        }
        v.validate()?;
    }
    if item_size(item) > MAX_ITEM_BYTES {
        return Err(Error::validation(too_large));
    }
    Ok(())
}

impl Engine {
    fn read_item(&self, table: &Table, key: &[u8]) -> Result<Option<Item>> {
        self.read_stored(&table.meta.keyspace, key)
    }

    pub(super) fn read_stored(&self, keyspace: &str, key: &[u8]) -> Result<Option<Item>> {
        match self.store.get(keyspace, key)? {
            Some(bytes) => Ok(Some(
                codec::decode_item(&bytes).map_err(|e| Error::Internal(e.to_string()))?,
            )),
            None => Ok(None),
        }
    }

    /// Commits `new` (or a deletion) with its index entries, and keeps counters in step.
    /// The item's partition, and each provisioned GSI the write would update, must have
    /// write throughput left; what the write costs a GSI is charged after.
    fn commit_item(
        &self,
        table: &Table,
        key: &[u8],
        old: Option<&Item>,
        new: Option<&Item>,
    ) -> Result<()> {
        let subject = new.or(old).map_or(Subject::Nothing, Subject::Item);
        self.check_partition(table, None, Access::Write, partition_of(key), subject)?;
        let indexes = self.check_indexes(table, key, old, new)?;
        let change = Change {
            table,
            key,
            old,
            new,
        };
        self.commit_changes(&[change], Vec::new(), Origin::Client)?;
        Self::charge_indexes(table, indexes.as_ref());
        Ok(())
    }

    /// The stored item and what a reader sees of it (nothing once expired), after the
    /// write's condition held on the latter. Called under the item's lock.
    fn checked(
        &self,
        table: &Table,
        encoded: &[u8],
        condition: Option<&Condition>,
        returns: WriteReturns,
    ) -> Result<(Option<Item>, Option<Item>)> {
        let stored = self.read_item(table, encoded)?;
        let old = table.meta.visible(stored.clone());
        Self::check_condition(condition, old.as_ref(), returns.item_on_failure)?;
        Ok((stored, old))
    }

    fn check_condition(
        cond: Option<&Condition>,
        old: Option<&Item>,
        return_on_failure: bool,
    ) -> Result<()> {
        let Some(cond) = cond else { return Ok(()) };
        let empty = Item::new();
        if cond.evaluate(old.unwrap_or(&empty))? {
            Ok(())
        } else {
            Err(Error::ConditionalCheckFailed {
                item: if return_on_failure {
                    old.cloned()
                } else {
                    None
                },
            })
        }
    }

    pub(super) fn collection_metrics(
        &self,
        table: &Table,
        wanted: bool,
        key: &Item,
    ) -> Option<ItemCollectionMetrics> {
        // Item collections exist only on tables with local secondary indexes.
        if !wanted || table.meta.local_indexes.is_empty() {
            return None;
        }
        let base_key = table.meta.key_schema.encode(key).ok()?;
        Some(self.collection_metrics_of(table, &base_key, key))
    }

    pub fn put_item(&self, cmd: PutItem) -> Result<WriteItemOutput> {
        let _schema = self.schema_lock.read();
        let table = self.item_table_named(&cmd.table)?;
        let item = &cmd.item;
        table.meta.key_schema.validate_item(item)?;
        let key = table.meta.key_schema.encode(item)?;
        validate_new_item(item)?;
        indexes::validate_item(&table, item)?;

        let old = {
            let _guard = self.lock_item(&table.meta.keyspace, &key);
            let stored = self.read_item(&table, &key)?;
            // The stored item is the old one unless expired (no copy: a Put's hot path).
            let visible = stored.as_ref().filter(|i| !table.meta.is_expired(i));
            Self::check_condition(cmd.condition.as_ref(), visible, cmd.returns.item_on_failure)?;
            self.commit_item(&table, &key, stored.as_ref(), Some(item))?;
            let expired = visible.is_none();
            stored.filter(|_| !expired)
        };
        let consumed_capacity =
            capacity::consumed_with(&table.meta.name, cmd.returns.capacity, || {
                indexes::write_usage(&table, &key, old.as_ref(), Some(item))
            });
        Ok(WriteItemOutput {
            attributes: old.filter(|_| cmd.returns.values == ReturnValues::AllOld),
            consumed_capacity,
            item_collection_metrics: self.collection_metrics(
                &table,
                cmd.returns.collection_metrics,
                item,
            ),
        })
    }

    pub fn get_item(&self, cmd: GetItem) -> Result<GetItemOutput> {
        let table = self.item_table_named(&cmd.table)?;
        table.meta.key_schema.validate_key(&cmd.key)?;
        let encoded = table.meta.key_schema.encode(&cmd.key)?;
        let partition = partition_of(&encoded);
        let subject = Subject::Item(&cmd.key);
        self.check_partition(&table, None, Access::Read, partition, subject)?;
        let schema = &table.meta.key_schema;
        table.insights.record(None, schema, &cmd.key, false);
        let item = table.meta.visible(self.read_item(&table, &encoded)?);
        let units = capacity::Usage::table(capacity::read_units(
            item.as_ref().map(item_size).unwrap_or(0),
            cmd.consistent,
        ));
        let item = match (item, &cmd.projection) {
            (Some(item), Some(p)) => Some(p.apply(&item)),
            (item, _) => item,
        };
        super::observe::read(&table, None, partition, units.total());
        Ok(GetItemOutput {
            item,
            consumed_capacity: capacity::consumed(&table.meta.name, cmd.capacity, &units),
        })
    }

    pub fn update_item(&self, cmd: UpdateItem) -> Result<WriteItemOutput> {
        let _schema = self.schema_lock.read();
        let table = self.item_table_named(&cmd.table)?;
        let key = &cmd.key;
        table.meta.key_schema.validate_key(key)?;
        let update = &cmd.update;
        let key_names: Vec<&str> = table.meta.key_schema.key_names().collect();
        if let Some(u) = &update {
            u.check_key_attributes(&key_names)?;
        }
        let encoded = table.meta.key_schema.encode(key)?;

        let (old, new, paths) = {
            let _guard = self.lock_item(&table.meta.keyspace, &encoded);
            let (stored, old) =
                self.checked(&table, &encoded, cmd.condition.as_ref(), cmd.returns)?;
            let mut new = old.clone().unwrap_or_else(|| key.clone());
            let paths = match &update {
                Some(u) => u.apply(&mut new)?,
                None => Vec::new(),
            };
            validate_updated_item(&new)?;
            indexes::validate_item(&table, &new)?;
            self.commit_item(&table, &encoded, stored.as_ref(), Some(&new))?;
            (old, new, paths)
        };
        let consumed_capacity =
            capacity::consumed_with(&table.meta.name, cmd.returns.capacity, || {
                indexes::write_usage(&table, &encoded, old.as_ref(), Some(&new))
            });
        let non_empty = |i: Item| (!i.is_empty()).then_some(i);
        let attributes = match cmd.returns.values {
            ReturnValues::None => None,
            ReturnValues::AllOld => old,
            ReturnValues::AllNew => Some(new),
            ReturnValues::UpdatedOld => old.and_then(|o| non_empty(expr::project(&o, &paths))),
            ReturnValues::UpdatedNew => non_empty(expr::project(&new, &paths)),
        };
        Ok(WriteItemOutput {
            attributes,
            consumed_capacity,
            item_collection_metrics: self.collection_metrics(
                &table,
                cmd.returns.collection_metrics,
                key,
            ),
        })
    }

    pub fn delete_item(&self, cmd: DeleteItem) -> Result<WriteItemOutput> {
        let _schema = self.schema_lock.read();
        let table = self.item_table_named(&cmd.table)?;
        let key = &cmd.key;
        table.meta.key_schema.validate_key(key)?;
        let encoded = table.meta.key_schema.encode(key)?;
        let old = {
            let _guard = self.lock_item(&table.meta.keyspace, &encoded);
            let (stored, old) =
                self.checked(&table, &encoded, cmd.condition.as_ref(), cmd.returns)?;
            if stored.is_some() {
                self.commit_item(&table, &encoded, stored.as_ref(), None)?;
            }
            old
        };
        let consumed_capacity =
            capacity::consumed_with(&table.meta.name, cmd.returns.capacity, || {
                indexes::write_usage(&table, &encoded, old.as_ref(), None)
            });
        Ok(WriteItemOutput {
            attributes: old.filter(|_| cmd.returns.values == ReturnValues::AllOld),
            consumed_capacity,
            item_collection_metrics: self.collection_metrics(
                &table,
                cmd.returns.collection_metrics,
                key,
            ),
        })
    }
}
