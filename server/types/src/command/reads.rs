//! BatchGetItem and TransactGetItems as commands. What each part decodes to is kept as a
//! `Result` the engine opens where DynamoDB reports it (after the part's table is looked
//! up, or after its key is checked against the table), so errors come in DynamoDB's order.

use super::items::read_projection;
use super::options::ReturnCapacity;
use super::transact::{too_many, MAX_TRANSACT_ITEMS};
use super::{required, table_name, validate_values, Decode, Invalid};
use crate::error::{Error, Result};
use crate::expr::Projection;
use crate::model::Item;
use crate::types::{BatchGetItemInput, KeysAndAttributes, TransactGetItemsInput};

/// DynamoDB's bound on the keys of one BatchGetItem.
const MAX_BATCH_GET_KEYS: usize = 100;

/// BatchGetItem, decoded.
#[derive(Debug)]
pub struct BatchGetItem {
    pub tables: Vec<BatchGetTable>,
    pub capacity: ReturnCapacity,
}

/// The keys asked of one table.
#[derive(Debug)]
pub struct BatchGetTable {
    /// As the request names it (checked with the lookup).
    pub table: String,
    /// The projection, or why the table's request is refused (no keys, a bad expression).
    pub projection: Result<Option<Projection>>,
    /// The request as received: its keys, and what unprocessed keys are answered with.
    pub request: KeysAndAttributes,
}

impl Decode for BatchGetItemInput {
    type Command = BatchGetItem;

    fn decode(self) -> Result<BatchGetItem, Invalid> {
        let request = || -> Result<ReturnCapacity> {
            let requests = required(&self.request_items, "requestItems")?;
            if requests.is_empty() {
                return Err(Error::validation(
                    "BatchGetItem must have some requests set",
                ));
            }
            let capacity = ReturnCapacity::parse(self.return_consumed_capacity.as_deref())?;
            if requests.values().map(|r| r.keys.len()).sum::<usize>() > MAX_BATCH_GET_KEYS {
                return Err(Error::validation(
                    "Too many items requested for the BatchGetItem call",
                ));
            }
            Ok(capacity)
        };
        let capacity = request().map_err(|e| Invalid::new(e, None, None))?;
        let tables = self
            .request_items
            .unwrap_or_default()
            .into_iter()
            .map(|(table, request)| BatchGetTable {
                projection: if request.keys.is_empty() {
                    Err(Error::validation(format!(
                        "The list of keys in RequestItems for BatchGetItem is required: {table} has empty list"
                    )))
                } else {
                    read_projection(
                        request.projection_expression.as_deref(),
                        request.expression_attribute_names.as_ref(),
                        request.attributes_to_get.as_deref(),
                    )
                },
                table,
                request,
            })
            .collect();
        Ok(BatchGetItem { tables, capacity })
    }
}

/// TransactGetItems, decoded.
#[derive(Debug)]
pub struct TransactGetItems {
    pub parts: Vec<TransactGetPart>,
    pub capacity: ReturnCapacity,
}

/// One Get of a read transaction.
#[derive(Debug)]
pub struct TransactGetPart {
    /// Its table, or why it is refused before the table is looked up.
    pub table: Result<String>,
    /// Its key, or why it is refused once the table is known.
    pub key: Result<Item>,
    /// Its projection, or why it is refused once the key is checked.
    pub projection: Result<Option<Projection>>,
}

impl Decode for TransactGetItemsInput {
    type Command = TransactGetItems;

    fn decode(self) -> Result<TransactGetItems, Invalid> {
        let request = || -> Result<ReturnCapacity> {
            let items = required(&self.transact_items, "transactItems")?;
            if items.is_empty() || items.len() > MAX_TRANSACT_ITEMS {
                return Err(too_many(items.len()));
            }
            ReturnCapacity::parse(self.return_consumed_capacity.as_deref())
        };
        let capacity = request().map_err(|e| Invalid::new(e, None, None))?;
        let parts = self
            .transact_items
            .unwrap_or_default()
            .into_iter()
            .map(|item| match item.get {
                None => TransactGetPart {
                    table: Err(Error::validation(
                        "Invalid Request: TransactGetItem should contain a Get request",
                    )),
                    key: Ok(Item::new()),
                    projection: Ok(None),
                },
                Some(get) => TransactGetPart {
                    table: table_name(&get.table_name).map(str::to_string),
                    key: required(&get.key, "key")
                        .and_then(|k| validate_values(k).map(|()| k.clone())),
                    projection: read_projection(
                        get.projection_expression.as_deref(),
                        get.expression_attribute_names.as_ref(),
                        None,
                    ),
                },
            })
            .collect();
        Ok(TransactGetItems { parts, capacity })
    }
}
