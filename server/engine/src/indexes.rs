//! Secondary indexes: entry keys, projections, key validation, and the storage ops that
//! keep every index exact. Index ops go into the same atomic batch as the base item, so
//! an index is never behind its table (stronger than DynamoDB's eventually consistent GSIs).
//!
//! An entry's key is `partition prefix(index pk) ‖ sort key(index sk) ‖ base storage key`:
//! the base key makes entries unique, and the prefix-free sort key encoding keeps the
//! order of index sort keys whatever base key follows.

use super::capacity::{self, Usage};
use super::catalog::{IndexMeta, Table};
use crate::error::{Error, Result};
use crate::model::key::{
    encode_sort_value, partition_prefix, MAX_PARTITION_KEY_BYTES, MAX_SORT_KEY_BYTES,
};
use crate::model::{codec, item_size, AttributeValue, Item, KeySchema};
use crate::storage::Op;

/// The entry key of `item` in `index`, or `None` when the item lacks an index key attribute
/// (sparse index) or has one of the wrong type (which writes reject first).
pub fn entry_key(index: &IndexMeta, base_key: &[u8], item: &Item) -> Option<Vec<u8>> {
    let ks = &index.key_schema;
    let pk = item.get(&ks.hash.name).filter(|v| ks.hash.ty.matches(v))?;
    let mut key = partition_prefix(pk).ok()?;
    if let Some(range) = &ks.range {
        let sk = item.get(&range.name).filter(|v| range.ty.matches(v))?;
        encode_sort_value(sk, &mut key).ok()?;
    }
    key.extend_from_slice(base_key);
    Some(key)
}

/// The attributes an index stores: table and index keys, plus what its projection names.
pub fn project(index: &IndexMeta, table_schema: &KeySchema, item: &Item) -> Item {
    if index.projection_type == "ALL" {
        return item.clone();
    }
    let keep = |name: &str| {
        table_schema.is_key_attribute(name)
            || index.key_schema.is_key_attribute(name)
            || index.non_key_attributes.iter().flatten().any(|a| a == name)
    };
    item.iter()
        .filter(|(k, _)| keep(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Index key attributes present in a written item must have the index's key type and,
/// for strings and binaries, must not be empty.
pub fn validate_item(table: &Table, item: &Item) -> Result<()> {
    for index in table.meta.indexes() {
        let ks = &index.key_schema;
        for attr in std::iter::once(&ks.hash).chain(ks.range.as_ref()) {
            let Some(v) = item.get(&attr.name) else {
                continue;
            };
            if !attr.ty.matches(v) {
                return Err(Error::validation(format!(
                    "One or more parameter values were invalid: Type mismatch for Index Key {} Expected: {} Actual: {} IndexName: {}",
                    attr.name,
                    attr.ty.tag(),
                    v.value_type().tag(),
                    index.name
                )));
            }
            let empty = match v {
                AttributeValue::S(s) => s.is_empty(),
                AttributeValue::B(b) => b.is_empty(),
                _ => false,
            };
            // Index keys obey the table's key size limits: a write that would make an
            // index key too long is refused, never left out of the index.
            let (size, max) = match v {
                AttributeValue::S(s) => (s.len(), key_limit(ks, attr)),
                AttributeValue::B(b) => (b.len(), key_limit(ks, attr)),
                _ => (0, usize::MAX),
            };
            if size > max {
                return Err(Error::validation(format!(
                    "One or more parameter values were invalid: Size limit exceeded for Index Key {} Actual Size: {size} bytes Max Size: {max} bytes IndexName: {}",
                    attr.name, index.name
                )));
            }
            if empty {
                return Err(Error::validation(format!(
                    "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty {} value. IndexName: {}, IndexKey: {}",
                    if matches!(v, AttributeValue::S(_)) { "string" } else { "binary" },
                    index.name,
                    attr.name
                )));
            }
        }
    }
    Ok(())
}

/// The longest value DynamoDB allows for one key attribute of an index.
fn key_limit(ks: &KeySchema, attr: &crate::model::KeyAttribute) -> usize {
    if std::ptr::eq(attr, &ks.hash) {
        MAX_PARTITION_KEY_BYTES
    } else {
        MAX_SORT_KEY_BYTES
    }
}

/// Storage ops for a change of one base item, `old` to `new` (`None` = absent), including
/// the base write itself; counters are updated by [`account`] once the ops are applied.
pub fn change_ops(
    table: &Table,
    base_key: &[u8],
    old: Option<&Item>,
    new: Option<&Item>,
) -> Vec<Op> {
    let mut ops = Vec::with_capacity(1 + 2 * table.index_stats.len());
    ops.push(match new {
        Some(item) => Op::Put {
            keyspace: table.meta.keyspace.clone(),
            key: base_key.to_vec(),
            value: codec::encode_item(item),
        },
        None => Op::Delete {
            keyspace: table.meta.keyspace.clone(),
            key: base_key.to_vec(),
        },
    });
    for index in table.meta.indexes() {
        let old_key = old.and_then(|i| entry_key(index, base_key, i));
        let new_entry = new.and_then(|i| entry_key(index, base_key, i).map(|k| (k, i)));
        if let Some(old_key) = old_key {
            if new_entry.as_ref().is_none_or(|(k, _)| *k != old_key) {
                ops.push(Op::Delete {
                    keyspace: index.keyspace.clone(),
                    key: old_key,
                });
            }
        }
        if let Some((key, item)) = new_entry {
            let value = codec::encode_item(&project(index, &table.meta.key_schema, item));
            ops.push(Op::Put {
                keyspace: index.keyspace.clone(),
                key,
                value,
            });
        }
    }
    ops
}

/// Updates the table's and its indexes' counters for an applied change.
pub fn account(table: &Table, base_key: &[u8], old: Option<&Item>, new: Option<&Item>) {
    let size = |i: Option<&Item>| i.map(|i| item_size(i) as i64).unwrap_or(0);
    table.stats.add(
        i64::from(new.is_some()) - i64::from(old.is_some()),
        size(new) - size(old),
    );
    for index in table.meta.indexes() {
        let Some(stats) = table.index_stats(&index.name) else {
            continue;
        };
        let entry = |i: Option<&Item>| {
            i.filter(|i| entry_key(index, base_key, i).is_some())
                .map(|i| project(index, &table.meta.key_schema, i))
        };
        let (o, n) = (entry(old), entry(new));
        stats.add(
            i64::from(n.is_some()) - i64::from(o.is_some()),
            size(n.as_ref()) - size(o.as_ref()),
        );
    }
}

/// Write units a change costs: the base item, plus each index entry written or deleted
/// (a moved entry is a delete and a put), as DynamoDB charges.
pub fn write_usage(
    table: &Table,
    base_key: &[u8],
    old: Option<&Item>,
    new: Option<&Item>,
) -> Usage {
    let size = |i: Option<&Item>| i.map(item_size).unwrap_or(0);
    let mut usage = Usage::table(capacity::write_units(size(old), size(new)));
    for index in table.meta.indexes() {
        let entry = |i: Option<&Item>| {
            i.and_then(|i| {
                entry_key(index, base_key, i)
                    .map(|k| (k, project(index, &table.meta.key_schema, i)))
            })
        };
        let units = match (entry(old), entry(new)) {
            (None, None) => continue,
            // An entry that does not change is not written, and costs nothing.
            (Some((ko, o)), Some((kn, n))) if ko == kn && o == n => continue,
            (Some((ko, o)), Some((kn, n))) if ko == kn => {
                capacity::write_units(item_size(&o), item_size(&n))
            }
            (Some((_, o)), Some((_, n))) => {
                capacity::write_units(item_size(&o), 0) + capacity::write_units(0, item_size(&n))
            }
            (Some((_, o)), None) => capacity::write_units(item_size(&o), 0),
            (None, Some((_, n))) => capacity::write_units(0, item_size(&n)),
        };
        let bucket = if index.global {
            &mut usage.global
        } else {
            &mut usage.local
        };
        bucket.insert(index.name.clone(), units);
    }
    usage
}
