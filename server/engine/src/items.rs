//! Single-item actions: PutItem, GetItem, UpdateItem, DeleteItem.
//!
//! A write takes its item's lock stripe, reads the current item, evaluates the condition,
//! computes the new item and commits it in one storage batch before releasing the lock:
//! check-and-write is atomic per item under any concurrency.

use super::capacity::{self, ReturnCapacity};
use super::catalog::Table;
use super::commit::{Change, Origin};
use super::types::*;
use super::{indexes, required, Engine};
use crate::error::{Error, Result};
use crate::expr::{self, legacy, Condition, ExpressionInput, Expressions};
use crate::model::{codec, item_size, Item};

/// DynamoDB's item size limit, names included.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReturnValues {
    None,
    AllOld,
    UpdatedOld,
    AllNew,
    UpdatedNew,
}

fn parse_return_values(v: Option<&str>, allowed: &[ReturnValues]) -> Result<ReturnValues> {
    let rv = match v {
        None | Some("NONE") => ReturnValues::None,
        Some("ALL_OLD") => ReturnValues::AllOld,
        Some("UPDATED_OLD") => ReturnValues::UpdatedOld,
        Some("ALL_NEW") => ReturnValues::AllNew,
        Some("UPDATED_NEW") => ReturnValues::UpdatedNew,
        Some(other) => {
            return Err(Error::validation(format!(
                "1 validation error detected: Value '{other}' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"
            )))
        }
    };
    if rv != ReturnValues::None && !allowed.contains(&rv) {
        return Err(Error::validation("Return values set to invalid value"));
    }
    Ok(rv)
}

/// ReturnValuesOnConditionCheckFailure: whether a failed condition returns the item.
fn parse_return_on_failure(v: Option<&str>) -> Result<bool> {
    match v {
        None | Some("NONE") => Ok(false),
        Some("ALL_OLD") => Ok(true),
        Some(other) => Err(Error::validation(format!(
            "1 validation error detected: Value '{other}' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]"
        ))),
    }
}

/// ReturnItemCollectionMetrics: whether SIZE metrics are wanted.
pub(super) fn parse_collection_metrics(v: Option<&str>) -> Result<bool> {
    match v {
        None | Some("NONE") => Ok(false),
        Some("SIZE") => Ok(true),
        Some(other) => Err(Error::validation(format!(
            "1 validation error detected: Value '{other}' at 'returnItemCollectionMetrics' failed to satisfy constraint: Member must satisfy enum value set: [SIZE, NONE]"
        ))),
    }
}

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

pub(super) fn validate_values(item: &Item) -> Result<()> {
    item.values()
        .try_for_each(|v| v.validate().map_err(Error::from))
}

/// The condition of a write: ConditionExpression, or the legacy Expected map.
struct WriteExpressions {
    parsed: Expressions,
    legacy_condition: Option<Condition>,
}

impl WriteExpressions {
    fn condition(&self) -> Option<&Condition> {
        self.parsed
            .condition
            .as_ref()
            .or(self.legacy_condition.as_ref())
    }
}

#[allow(clippy::too_many_arguments)]
fn parse_write_expressions(
    condition: Option<&str>,
    update: Option<&str>,
    names: Option<&std::collections::HashMap<String, String>>,
    values: Option<&AttributeMap>,
    expected: Option<&std::collections::HashMap<String, ExpectedAttributeValue>>,
    conditional_operator: Option<&str>,
    attribute_updates_present: bool,
    update_allowed: bool,
) -> Result<WriteExpressions> {
    check_mixing(
        &[
            (expected.is_some(), "Expected"),
            (attribute_updates_present, "AttributeUpdates"),
            (conditional_operator.is_some(), "ConditionalOperator"),
        ],
        &[
            (condition.is_some(), "ConditionExpression"),
            (update.is_some(), "UpdateExpression"),
            (names.is_some(), "ExpressionAttributeNames"),
            (values.is_some(), "ExpressionAttributeValues"),
        ],
    )?;
    if values.is_some() && condition.is_none() && update.is_none() {
        let null = if attribute_updates_present || update_allowed {
            "UpdateExpression and ConditionExpression are null"
        } else {
            "ConditionExpression is null"
        };
        return Err(Error::validation(format!(
            "ExpressionAttributeValues can only be specified when using expressions: {null}"
        )));
    }
    let parsed = expr::parse(&ExpressionInput {
        condition,
        update,
        projection: None,
        filter: None,
        key_condition: None,
        names,
        values,
    })
    .map_err(expr_error)?;
    let legacy_condition = match expected {
        Some(exp) => {
            legacy::check_operator_names(
                exp.iter()
                    .map(|(k, v)| (k.as_str(), v.comparison_operator.as_deref())),
                "expected",
            )
            .map_err(expr_error)?;
            let converted = exp
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        legacy::ExpectedAttribute {
                            value: v.value.clone(),
                            exists: v.exists,
                            comparison_operator: v.comparison_operator.clone(),
                            attribute_value_list: v.attribute_value_list.clone(),
                        },
                    )
                })
                .collect();
            Some(
                legacy::expected_to_condition(&converted, conditional_operator)
                    .map_err(expr_error)?,
            )
        }
        None => None,
    };
    Ok(WriteExpressions {
        parsed,
        legacy_condition,
    })
}

/// DynamoDB's rule against mixing legacy and expression parameters, given which of each
/// a request carries (`(present, member name)`, in DynamoDB's order).
pub(super) fn check_mixing(
    legacy_params: &[(bool, &str)],
    expression_params: &[(bool, &str)],
) -> Result<()> {
    let l: Vec<&str> = legacy_params
        .iter()
        .filter(|(p, _)| *p)
        .map(|(_, n)| *n)
        .collect();
    let e: Vec<&str> = expression_params
        .iter()
        .filter(|(p, _)| *p)
        .map(|(_, n)| *n)
        .collect();
    legacy::check_no_mixing(&l, &e).map_err(expr_error)
}

/// The mixing rule for reads that only project: AttributesToGet vs ProjectionExpression.
pub(super) fn check_projection_mixing(
    attributes_to_get: bool,
    projection: bool,
    names: bool,
) -> Result<()> {
    check_mixing(
        &[(attributes_to_get, "AttributesToGet")],
        &[
            (projection, "ProjectionExpression"),
            (names, "ExpressionAttributeNames"),
        ],
    )
}

pub(crate) fn expr_error(e: expr::ExprError) -> Error {
    Error::Validation(e.to_string())
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

    /// Commits `new` (or a deletion) and keeps the table's counters in step.
    /// Commits `new` (or a deletion) with its index entries, and keeps counters in step.
    fn commit_item(
        &self,
        table: &Table,
        key: &[u8],
        old: Option<&Item>,
        new: Option<&Item>,
    ) -> Result<()> {
        self.commit_changes(
            &[Change {
                table,
                key,
                old,
                new,
            }],
            Vec::new(),
            Origin::Client,
        )
    }

    fn check_condition(
        cond: Option<&Condition>,
        old: Option<&Item>,
        return_on_failure: bool,
    ) -> Result<()> {
        let Some(cond) = cond else { return Ok(()) };
        let empty = Item::new();
        if cond.evaluate(old.unwrap_or(&empty)).map_err(expr_error)? {
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

    pub fn put_item(&self, input: PutItemInput) -> Result<WriteItemOutput> {
        let _schema = self.schema_lock.read();
        let table = self.item_table(&input.table_name)?;
        let item = required(&input.item, "item")?;
        let rv = parse_return_values(input.return_values.as_deref(), &[ReturnValues::AllOld])?;
        let return_on_failure =
            parse_return_on_failure(input.return_values_on_condition_check_failure.as_deref())?;
        let rcc = ReturnCapacity::parse(input.return_consumed_capacity.as_deref())?;
        let metrics = parse_collection_metrics(input.return_item_collection_metrics.as_deref())?;
        validate_values(item)?;
        table.meta.key_schema.validate_item(item)?;
        let key = table.meta.key_schema.encode(item)?;
        validate_new_item(item)?;
        indexes::validate_item(&table, item)?;
        let exprs = parse_write_expressions(
            input.condition_expression.as_deref(),
            None,
            input.expression_attribute_names.as_ref(),
            input.expression_attribute_values.as_ref(),
            input.expected.as_ref(),
            input.conditional_operator.as_deref(),
            false,
            false,
        )?;

        let old = {
            let _guard = self.lock_item(&table.meta.keyspace, &key);
            let stored = self.read_item(&table, &key)?;
            // The stored item is the old one unless expired (no copy: a Put's hot path).
            let visible = stored.as_ref().filter(|i| !table.meta.is_expired(i));
            Self::check_condition(exprs.condition(), visible, return_on_failure)?;
            self.commit_item(&table, &key, stored.as_ref(), Some(item))?;
            let expired = visible.is_none();
            stored.filter(|_| !expired)
        };
        let consumed_capacity = capacity::consumed_with(&table.meta.name, rcc, || {
            indexes::write_usage(&table, &key, old.as_ref(), Some(item))
        });
        Ok(WriteItemOutput {
            attributes: if rv == ReturnValues::AllOld {
                old
            } else {
                None
            },
            consumed_capacity,
            item_collection_metrics: self.collection_metrics(&table, metrics, item),
        })
    }

    pub fn get_item(&self, input: GetItemInput) -> Result<GetItemOutput> {
        let table = self.item_table(&input.table_name)?;
        let key = required(&input.key, "key")?;
        let rcc = ReturnCapacity::parse(input.return_consumed_capacity.as_deref())?;
        validate_values(key)?;
        table.meta.key_schema.validate_key(key)?;
        check_projection_mixing(
            input.attributes_to_get.is_some(),
            input.projection_expression.is_some(),
            input.expression_attribute_names.is_some(),
        )?;
        let parsed = expr::parse(&ExpressionInput {
            condition: None,
            update: None,
            projection: input.projection_expression.as_deref(),
            filter: None,
            key_condition: None,
            names: input.expression_attribute_names.as_ref(),
            values: None,
        })
        .map_err(expr_error)?;
        let projection = match (&parsed.projection, &input.attributes_to_get) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(names)) => Some(legacy::attributes_to_get(names).map_err(expr_error)?),
            (None, None) => None,
        };
        let encoded = table.meta.key_schema.encode(key)?;
        let item = table.meta.visible(self.read_item(&table, &encoded)?);
        let consistent = input.consistent_read.unwrap_or(false);
        let units = capacity::Usage::table(capacity::read_units(
            item.as_ref().map(item_size).unwrap_or(0),
            consistent,
        ));
        let item = match (item, projection) {
            (Some(item), Some(p)) => Some(p.apply(&item)),
            (item, None) => item,
            (None, Some(_)) => None,
        };
        super::observe::read(&table, units.total());
        Ok(GetItemOutput {
            item,
            consumed_capacity: capacity::consumed(&table.meta.name, rcc, &units),
        })
    }

    pub fn update_item(&self, input: UpdateItemInput) -> Result<WriteItemOutput> {
        let _schema = self.schema_lock.read();
        let table = self.item_table(&input.table_name)?;
        let key = required(&input.key, "key")?;
        let rv = parse_return_values(
            input.return_values.as_deref(),
            &[
                ReturnValues::AllOld,
                ReturnValues::UpdatedOld,
                ReturnValues::AllNew,
                ReturnValues::UpdatedNew,
            ],
        )?;
        let return_on_failure =
            parse_return_on_failure(input.return_values_on_condition_check_failure.as_deref())?;
        let rcc = ReturnCapacity::parse(input.return_consumed_capacity.as_deref())?;
        let metrics = parse_collection_metrics(input.return_item_collection_metrics.as_deref())?;
        validate_values(key)?;
        table.meta.key_schema.validate_key(key)?;
        let exprs = parse_write_expressions(
            input.condition_expression.as_deref(),
            input.update_expression.as_deref(),
            input.expression_attribute_names.as_ref(),
            input.expression_attribute_values.as_ref(),
            input.expected.as_ref(),
            input.conditional_operator.as_deref(),
            input.attribute_updates.is_some(),
            true,
        )?;
        let update = match (&exprs.parsed.update, &input.attribute_updates) {
            (Some(u), _) => Some(u.clone()),
            (None, Some(updates)) => {
                let converted = updates
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            legacy::AttributeUpdate {
                                value: v.value.clone(),
                                action: v.action.clone(),
                            },
                        )
                    })
                    .collect();
                Some(legacy::attribute_updates_to_update(&converted).map_err(expr_error)?)
            }
            (None, None) => None,
        };
        let key_names: Vec<&str> = table.meta.key_schema.key_names().collect();
        if let Some(u) = &update {
            u.check_key_attributes(&key_names).map_err(expr_error)?;
        }
        let encoded = table.meta.key_schema.encode(key)?;

        let (old, new, paths) = {
            let _guard = self.lock_item(&table.meta.keyspace, &encoded);
            let stored = self.read_item(&table, &encoded)?;
            let old = table.meta.visible(stored.clone());
            Self::check_condition(exprs.condition(), old.as_ref(), return_on_failure)?;
            let mut new = old.clone().unwrap_or_else(|| key.clone());
            let paths = match &update {
                Some(u) => u.apply(&mut new).map_err(expr_error)?,
                None => Vec::new(),
            };
            validate_updated_item(&new)?;
            indexes::validate_item(&table, &new)?;
            self.commit_item(&table, &encoded, stored.as_ref(), Some(&new))?;
            (old, new, paths)
        };
        let consumed_capacity = capacity::consumed_with(&table.meta.name, rcc, || {
            indexes::write_usage(&table, &encoded, old.as_ref(), Some(&new))
        });
        let non_empty = |i: Item| (!i.is_empty()).then_some(i);
        let attributes = match rv {
            ReturnValues::None => None,
            ReturnValues::AllOld => old,
            ReturnValues::AllNew => Some(new),
            ReturnValues::UpdatedOld => old.and_then(|o| non_empty(expr::project(&o, &paths))),
            ReturnValues::UpdatedNew => non_empty(expr::project(&new, &paths)),
        };
        Ok(WriteItemOutput {
            attributes,
            consumed_capacity,
            item_collection_metrics: self.collection_metrics(&table, metrics, key),
        })
    }

    pub fn delete_item(&self, input: DeleteItemInput) -> Result<WriteItemOutput> {
        let _schema = self.schema_lock.read();
        let table = self.item_table(&input.table_name)?;
        let key = required(&input.key, "key")?;
        let rv = parse_return_values(input.return_values.as_deref(), &[ReturnValues::AllOld])?;
        let return_on_failure =
            parse_return_on_failure(input.return_values_on_condition_check_failure.as_deref())?;
        let rcc = ReturnCapacity::parse(input.return_consumed_capacity.as_deref())?;
        let metrics = parse_collection_metrics(input.return_item_collection_metrics.as_deref())?;
        validate_values(key)?;
        table.meta.key_schema.validate_key(key)?;
        let exprs = parse_write_expressions(
            input.condition_expression.as_deref(),
            None,
            input.expression_attribute_names.as_ref(),
            input.expression_attribute_values.as_ref(),
            input.expected.as_ref(),
            input.conditional_operator.as_deref(),
            false,
            false,
        )?;
        let encoded = table.meta.key_schema.encode(key)?;
        let old = {
            let _guard = self.lock_item(&table.meta.keyspace, &encoded);
            let stored = self.read_item(&table, &encoded)?;
            let old = table.meta.visible(stored.clone());
            Self::check_condition(exprs.condition(), old.as_ref(), return_on_failure)?;
            if stored.is_some() {
                self.commit_item(&table, &encoded, stored.as_ref(), None)?;
            }
            old
        };
        let consumed_capacity = capacity::consumed_with(&table.meta.name, rcc, || {
            indexes::write_usage(&table, &encoded, old.as_ref(), None)
        });
        Ok(WriteItemOutput {
            attributes: if rv == ReturnValues::AllOld {
                old
            } else {
                None
            },
            consumed_capacity,
            item_collection_metrics: self.collection_metrics(&table, metrics, key),
        })
    }
}
