//! The single-item actions as commands: GetItem, PutItem, UpdateItem, DeleteItem.

use std::collections::HashMap;

use super::options::{ReturnCapacity, ReturnValues, WriteReturns};
use super::{required, table_name, validate_values, Access, Decode, Demand, Invalid};
use crate::error::{Error, Result};
use crate::expr::{self, legacy, Condition, ExpressionInput, Projection, Update};
use crate::model::Item;
use crate::types::{
    AttributeMap, DeleteItemInput, ExpectedAttributeValue, GetItemInput, PutItemInput,
    UpdateItemInput,
};

/// GetItem, decoded.
#[derive(Debug, Clone)]
pub struct GetItem {
    pub table: String,
    pub key: Item,
    /// ProjectionExpression, or AttributesToGet as the same tree.
    pub projection: Option<Projection>,
    pub consistent: bool,
    pub capacity: ReturnCapacity,
}

/// PutItem, decoded.
#[derive(Debug, Clone)]
pub struct PutItem {
    pub table: String,
    pub item: Item,
    /// ConditionExpression, or Expected as the same tree.
    pub condition: Option<Condition>,
    pub returns: WriteReturns,
}

/// UpdateItem, decoded.
#[derive(Debug, Clone)]
pub struct UpdateItem {
    pub table: String,
    pub key: Item,
    /// UpdateExpression, or AttributeUpdates as the same tree.
    pub update: Option<Update>,
    pub condition: Option<Condition>,
    pub returns: WriteReturns,
}

/// DeleteItem, decoded.
#[derive(Debug, Clone)]
pub struct DeleteItem {
    pub table: String,
    pub key: Item,
    pub condition: Option<Condition>,
    pub returns: WriteReturns,
}

/// DynamoDB's rule against mixing legacy and expression parameters, given which of each
/// a request carries (`(present, member name)`, in DynamoDB's order).
pub fn check_mixing(legacy: &[(bool, &str)], expressions: &[(bool, &str)]) -> Result<()> {
    fn names<'a>(members: &[(bool, &'a str)]) -> Vec<&'a str> {
        members
            .iter()
            .filter(|(g, _)| *g)
            .map(|(_, n)| *n)
            .collect()
    }
    legacy::check_no_mixing(&names(legacy), &names(expressions)).map_err(Error::from)
}

/// Which of a request's members are given, by their DynamoDB names, for [`check_mixing`]:
/// `given![input; field: "Member", ...]`.
macro_rules! given {
    ($i:expr; $($field:ident: $name:literal),* $(,)?) => {
        &[$(($i.$field.is_some(), $name)),*]
    };
}
pub(crate) use given;

/// A read's projection: ProjectionExpression (with its names), or AttributesToGet, never
/// both.
pub fn read_projection(
    projection_expression: Option<&str>,
    names: Option<&HashMap<String, String>>,
    attributes_to_get: Option<&[String]>,
) -> Result<Option<Projection>> {
    check_mixing(
        &[(attributes_to_get.is_some(), "AttributesToGet")],
        &[
            (projection_expression.is_some(), "ProjectionExpression"),
            (names.is_some(), "ExpressionAttributeNames"),
        ],
    )?;
    let parsed = expr::parse(&ExpressionInput {
        projection: projection_expression,
        names,
        ..ExpressionInput::default()
    })?;
    legacy_projection(parsed.projection, attributes_to_get)
}

/// The parsed projection, else AttributesToGet as the same tree.
pub(crate) fn legacy_projection(
    parsed: Option<Projection>,
    attributes_to_get: Option<&[String]>,
) -> Result<Option<Projection>> {
    match (parsed, attributes_to_get) {
        (Some(p), _) => Ok(Some(p)),
        (None, Some(names)) => Ok(Some(legacy::attributes_to_get(names)?)),
        (None, None) => Ok(None),
    }
}

/// The expression members of a write, as received.
#[derive(Default)]
pub struct WriteExpressionInput<'a> {
    pub condition: Option<&'a str>,
    pub update: Option<&'a str>,
    pub names: Option<&'a HashMap<String, String>>,
    pub values: Option<&'a AttributeMap>,
    pub expected: Option<&'a HashMap<String, ExpectedAttributeValue>>,
    pub conditional_operator: Option<&'a str>,
    pub attribute_updates: Option<&'a HashMap<String, crate::types::AttributeValueUpdate>>,
    /// The action takes an UpdateExpression (UpdateItem): it words one error differently.
    pub takes_update: bool,
}

/// A write's condition and update, parsed, with the legacy members converted to the same
/// trees.
pub fn write_expressions(
    w: WriteExpressionInput<'_>,
) -> Result<(Option<Condition>, Option<Update>)> {
    check_mixing(
        given![w; expected: "Expected", attribute_updates: "AttributeUpdates",
            conditional_operator: "ConditionalOperator"],
        given![w; condition: "ConditionExpression", update: "UpdateExpression",
            names: "ExpressionAttributeNames", values: "ExpressionAttributeValues"],
    )?;
    if w.values.is_some() && w.condition.is_none() && w.update.is_none() {
        let null = if w.attribute_updates.is_some() || w.takes_update {
            "UpdateExpression and ConditionExpression are null"
        } else {
            "ConditionExpression is null"
        };
        return Err(Error::validation(format!(
            "ExpressionAttributeValues can only be specified when using expressions: {null}"
        )));
    }
    let parsed = expr::parse(&ExpressionInput {
        condition: w.condition,
        update: w.update,
        names: w.names,
        values: w.values,
        ..ExpressionInput::default()
    })?;
    let condition = match (parsed.condition, w.expected) {
        (Some(c), _) => Some(c),
        (None, Some(exp)) => {
            legacy::check_operator_names(
                exp.iter()
                    .map(|(k, v)| (k.as_str(), v.comparison_operator.as_deref())),
                "expected",
            )?;
            Some(legacy::expected_to_condition(exp, w.conditional_operator)?)
        }
        (None, None) => None,
    };
    let update = match (parsed.update, w.attribute_updates) {
        (Some(u), _) => Some(u),
        (None, Some(updates)) => Some(legacy::attribute_updates_to_update(updates)?),
        (None, None) => None,
    };
    Ok((condition, update))
}

impl Decode for GetItemInput {
    type Command = GetItem;

    fn demands(c: &GetItem, demand: &mut dyn FnMut(Demand<'_>)) {
        demand(Demand {
            table: &c.table,
            index: None,
            access: Access::Read,
            key: Some(&c.key),
        });
    }

    fn decode(mut self) -> Result<GetItem, Invalid> {
        get_item(&mut self).map_err(|e| Invalid::new(e, self.table_name, self.key))
    }
}

/// Takes a member a decoder has validated (present), without copying it.
fn take<T: Default>(v: &mut Option<T>) -> T {
    v.take().unwrap_or_default()
}

fn get_item(i: &mut GetItemInput) -> Result<GetItem> {
    table_name(&i.table_name)?;
    let key = required(&i.key, "key")?;
    let capacity = ReturnCapacity::parse(i.return_consumed_capacity.as_deref())?;
    validate_values(key)?;
    let projection = read_projection(
        i.projection_expression.as_deref(),
        i.expression_attribute_names.as_ref(),
        i.attributes_to_get.as_deref(),
    )?;
    Ok(GetItem {
        table: take(&mut i.table_name),
        key: take(&mut i.key),
        projection,
        consistent: i.consistent_read.unwrap_or(false),
        capacity,
    })
}

/// ReturnValues a Put or Delete takes.
const OLD_ONLY: &[ReturnValues] = &[ReturnValues::AllOld];

/// What every single-item write decodes, in DynamoDB's order: the table, the item or key
/// (`$subject`, also the member name its absence is reported by), the return options, the
/// subject's values, then the expressions. Gives `(returns, condition, update)`; the
/// table and the subject are then taken from the request.
macro_rules! write_parts {
    ($i:ident, $subject:ident, $allowed:expr, $update:expr, $attribute_updates:expr, $takes_update:expr) => {{
        table_name(&$i.table_name)?;
        let subject = required(&$i.$subject, stringify!($subject))?;
        let returns = WriteReturns::parse(
            $i.return_values.as_deref(),
            $allowed,
            $i.return_values_on_condition_check_failure.as_deref(),
            $i.return_consumed_capacity.as_deref(),
            $i.return_item_collection_metrics.as_deref(),
        )?;
        validate_values(subject)?;
        let (condition, update) = write_expressions(WriteExpressionInput {
            condition: $i.condition_expression.as_deref(),
            update: $update,
            names: $i.expression_attribute_names.as_ref(),
            values: $i.expression_attribute_values.as_ref(),
            expected: $i.expected.as_ref(),
            conditional_operator: $i.conditional_operator.as_deref(),
            attribute_updates: $attribute_updates,
            takes_update: $takes_update,
        })?;
        (returns, condition, update)
    }};
}

impl Decode for PutItemInput {
    type Command = PutItem;

    fn demands(c: &PutItem, demand: &mut dyn FnMut(Demand<'_>)) {
        demand(Demand {
            table: &c.table,
            index: None,
            access: Access::Write,
            key: Some(&c.item),
        });
    }

    fn decode(mut self) -> Result<PutItem, Invalid> {
        put_item(&mut self).map_err(|e| Invalid::new(e, self.table_name, self.item))
    }
}

/// Validates, then moves the item into the command (no copy on the hot path).
fn put_item(i: &mut PutItemInput) -> Result<PutItem> {
    let (returns, condition, _) = write_parts!(i, item, OLD_ONLY, None, None, false);
    Ok(PutItem {
        table: take(&mut i.table_name),
        item: take(&mut i.item),
        condition,
        returns,
    })
}

impl Decode for UpdateItemInput {
    type Command = UpdateItem;

    fn demands(c: &UpdateItem, demand: &mut dyn FnMut(Demand<'_>)) {
        demand(Demand {
            table: &c.table,
            index: None,
            access: Access::Write,
            key: Some(&c.key),
        });
    }

    fn decode(mut self) -> Result<UpdateItem, Invalid> {
        update_item(&mut self).map_err(|e| Invalid::new(e, self.table_name, self.key))
    }
}

/// Every ReturnValues: what UpdateItem takes.
const ANY: &[ReturnValues] = &[
    ReturnValues::AllOld,
    ReturnValues::UpdatedOld,
    ReturnValues::AllNew,
    ReturnValues::UpdatedNew,
];

fn update_item(i: &mut UpdateItemInput) -> Result<UpdateItem> {
    let (update, updates) = (i.update_expression.as_deref(), i.attribute_updates.as_ref());
    let (returns, condition, update) = write_parts!(i, key, ANY, update, updates, true);
    Ok(UpdateItem {
        table: take(&mut i.table_name),
        key: take(&mut i.key),
        update,
        condition,
        returns,
    })
}

impl Decode for DeleteItemInput {
    type Command = DeleteItem;

    fn demands(c: &DeleteItem, demand: &mut dyn FnMut(Demand<'_>)) {
        demand(Demand {
            table: &c.table,
            index: None,
            access: Access::Write,
            key: Some(&c.key),
        });
    }

    fn decode(mut self) -> Result<DeleteItem, Invalid> {
        delete_item(&mut self).map_err(|e| Invalid::new(e, self.table_name, self.key))
    }
}

fn delete_item(i: &mut DeleteItemInput) -> Result<DeleteItem> {
    let (returns, condition, _) = write_parts!(i, key, OLD_ONLY, None, None, false);
    Ok(DeleteItem {
        table: take(&mut i.table_name),
        key: take(&mut i.key),
        condition,
        returns,
    })
}
