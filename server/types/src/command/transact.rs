//! TransactWriteItems as a command: each part decoded in request order, keeping the
//! stage it was refused at, because DynamoDB reports a part's problems in three ways: before
//! its table is looked up (which action, a missing UpdateExpression, the table's name), after
//! it (return options, expressions: the request fails), and as that part's
//! `ValidationError` cancellation reason (its item or key).

use std::collections::HashMap;

use super::options::{parse_collection_metrics, parse_return_on_failure, ReturnCapacity};
use super::{required, table_name, validate_values, Decode, Invalid};
use crate::error::{Error, Result};
use crate::expr::{self, Condition, ExpressionInput, Update};
use crate::model::Item;
use crate::types::{AttributeMap, TransactWriteItem, TransactWriteItemsInput};

/// DynamoDB's bound on the actions of one transaction.
pub const MAX_TRANSACT_ITEMS: usize = 100;

/// TransactWriteItems, decoded.
#[derive(Debug)]
pub struct TransactWriteItems {
    pub parts: Vec<TransactPart>,
    pub capacity: ReturnCapacity,
    pub collection_metrics: bool,
    /// ClientRequestToken, as received (the engine checks its length where DynamoDB does).
    pub token: Option<String>,
    /// A digest of the request's content: a token reused for other content is refused.
    pub fingerprint: u64,
}

/// Which single-item action a part stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartAction {
    ConditionCheck,
    Put,
    Delete,
    Update,
}

impl PartAction {
    /// The IAM action the part is authorized as.
    pub fn iam_action(self) -> &'static str {
        match self {
            PartAction::ConditionCheck => "dynamodb:ConditionCheckItem",
            PartAction::Put => "dynamodb:PutItem",
            PartAction::Delete => "dynamodb:DeleteItem",
            PartAction::Update => "dynamodb:UpdateItem",
        }
    }
}

/// One part of a transaction.
#[derive(Debug)]
pub enum TransactPart {
    /// Refused before its table is looked up.
    Malformed(Error),
    /// A part on a named table: what it writes, or why it cannot.
    Named {
        action: PartAction,
        table: String,
        write: Result<TransactWrite, PartError>,
    },
}

/// A part's write, decoded.
#[derive(Debug)]
pub struct TransactWrite {
    /// The item of a Put, the key of the others.
    pub subject: Item,
    /// An Update's UpdateExpression.
    pub update: Option<Update>,
    pub condition: Option<Condition>,
    pub item_on_failure: bool,
}

/// Why a part on an existing table cannot run.
#[derive(Debug)]
pub enum PartError {
    /// The whole request fails with this error.
    Request(Error),
    /// The transaction is cancelled with this part's `ValidationError` reason; `subject`
    /// is the item or key the part gave, for its authorization.
    Item {
        message: String,
        subject: Option<Item>,
    },
}

impl Decode for TransactWriteItemsInput {
    type Command = TransactWriteItems;

    fn decode(self) -> Result<TransactWriteItems, Invalid> {
        let request = || -> Result<(ReturnCapacity, bool)> {
            let items = required(&self.transact_items, "transactItems")?;
            if items.is_empty() || items.len() > MAX_TRANSACT_ITEMS {
                return Err(too_many(items.len()));
            }
            Ok((
                ReturnCapacity::parse(self.return_consumed_capacity.as_deref())?,
                parse_collection_metrics(self.return_item_collection_metrics.as_deref())?,
            ))
        };
        let (capacity, collection_metrics) = request().map_err(|e| Invalid::new(e, None, None))?;
        let items = self.transact_items.unwrap_or_default();
        Ok(TransactWriteItems {
            fingerprint: fingerprint(&items),
            parts: items.into_iter().map(part).collect(),
            capacity,
            collection_metrics,
            token: self.client_request_token,
        })
    }
}

/// DynamoDB's message for a transaction of no or too many actions.
pub fn too_many(n: usize) -> Error {
    let constraint = if n == 0 {
        "greater than or equal to 1"
    } else {
        "less than or equal to 100"
    };
    Error::validation(format!(
        "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length {constraint}"
    ))
}

fn part(item: TransactWriteItem) -> TransactPart {
    let parts = [
        (PartAction::ConditionCheck, item.condition_check),
        (PartAction::Put, item.put),
        (PartAction::Delete, item.delete),
        (PartAction::Update, item.update),
    ];
    let mut present = parts.into_iter().filter_map(|(k, a)| a.map(|a| (k, a)));
    let malformed = |m: &str| TransactPart::Malformed(Error::validation(m));
    let (action, a) = match (present.next(), present.next()) {
        (None, _) => return malformed(
            "Invalid Request: TransactWriteRequest should contain Delete or Put or Update request",
        ),
        (Some(_), Some(_)) => {
            return malformed("TransactItems can only contain one of Check, Put, Update or Delete")
        }
        (Some(one), None) => one,
    };
    if action == PartAction::Update && a.update_expression.is_none() {
        return malformed(
            "1 validation error detected: Value null at 'transactItems.member.update.updateExpression' failed to satisfy constraint: Member must not be null",
        );
    }
    let table = match table_name(&a.table_name) {
        Ok(t) => t.to_string(),
        Err(e) => return TransactPart::Malformed(e),
    };
    let request = |e: Error| PartError::Request(e);
    let write = (|| {
        let item_on_failure =
            parse_return_on_failure(a.return_values_on_condition_check_failure.as_deref())
                .map_err(request)?;
        if action == PartAction::ConditionCheck && a.condition_expression.is_none() {
            return Err(request(Error::validation(
                "The ConditionCheck request must contain a ConditionExpression",
            )));
        }
        if a.expression_attribute_values.is_some()
            && a.condition_expression.is_none()
            && a.update_expression.is_none()
        {
            return Err(request(Error::validation(
                "ExpressionAttributeValues can only be specified when using expressions: ConditionExpression is null",
            )));
        }
        let parsed = expr::parse(&ExpressionInput {
            condition: a.condition_expression.as_deref(),
            update: a
                .update_expression
                .as_deref()
                .filter(|_| action == PartAction::Update),
            names: a.expression_attribute_names.as_ref(),
            values: a.expression_attribute_values.as_ref(),
            ..ExpressionInput::default()
        })
        .map_err(|e| request(e.into()))?;
        let (subject, member) = match action {
            PartAction::Put => (&a.item, "item"),
            _ => (&a.key, "key"),
        };
        let item_error = |e: Error| PartError::Item {
            message: e.to_string(),
            subject: subject.clone(),
        };
        validate_values(required(subject, member).map_err(item_error)?).map_err(item_error)?;
        Ok(TransactWrite {
            subject: subject.clone().unwrap_or_default(),
            update: parsed.update,
            condition: parsed.condition,
            item_on_failure,
        })
    })();
    TransactPart::Named {
        action,
        table,
        write,
    }
}

/// A stable digest of a transaction's content, independent of map iteration order.
fn fingerprint(items: &[TransactWriteItem]) -> u64 {
    use std::fmt::Write;
    let mut text = String::new();
    let sorted = |m: &Option<HashMap<String, String>>| {
        let mut v: Vec<_> = m.iter().flatten().collect();
        v.sort();
        format!("{v:?}")
    };
    let sorted_values = |m: &Option<AttributeMap>| {
        let mut v: Vec<_> = m
            .iter()
            .flatten()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        v.sort();
        v.join(",")
    };
    for (i, item) in items.iter().enumerate() {
        for (kind, a) in [
            ("C", &item.condition_check),
            ("P", &item.put),
            ("D", &item.delete),
            ("U", &item.update),
        ] {
            let Some(a) = a else { continue };
            let _ = write!(
                text,
                "{i}{kind}|{:?}|{:?}|{:?}|{:?}|{:?}|{}|{}|{:?};",
                a.table_name,
                a.key,
                a.item,
                a.update_expression,
                a.condition_expression,
                sorted(&a.expression_attribute_names),
                sorted_values(&a.expression_attribute_values),
                a.return_values_on_condition_check_failure
            );
        }
    }
    xxhash_rust::xxh3::xxh3_64(text.as_bytes())
}
