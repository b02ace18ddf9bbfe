//! Engine ⇄ protobuf conversions in the direction `convert` does not go: engine inputs to
//! protobuf requests, protobuf responses to engine outputs, and gRPC statuses to engine
//! errors. A front end that decodes DynamoDB JSON with the server's serde types (the DAX-like
//! proxy) uses them to call the gRPC logic and to encode its answers exactly as the server's
//! JSON API would.
//!
//! `convert::x(convert_back::x(input))` gives `input` back, except where proto3 cannot hold
//! the difference (the same corners a gRPC client has):
//!
//! * an empty string, map or list is indistinguishable from an absent one and comes back
//!   as `None` (e.g. `"AttributesToGet": []`, `"ExpressionAttributeNames": {}`);
//! * `RequestItems` / `TransactItems` absent come back as present and empty;
//! * `Limit`, `Segment` and `TotalSegments` are `int32` on the wire: values outside its
//!   range saturate;
//! * a transactional action keeps only the members its protobuf message has (a
//!   ConditionCheck has no `Item`, a Put no `Key`, ...), members the engine ignores anyway.
//!
//! Responses: the engine never produces an empty item, key or metrics map, so mapping an
//! empty protobuf map to `None` is exact; the one ambiguity is Query/Scan `Items` (see
//! [`query_output`]).

use std::collections::HashMap;
use std::sync::Mutex;

use keyfall_proto::v1 as pb;
use prost::Message;
use tonic::{Code, Status};

use super::convert::item_from_proto;
use super::member::Member;
use super::status::{ERROR_DETAILS_KEY, ERROR_TYPE_KEY};
use keyfall_types::error::{Error, Result};
use keyfall_types::model::{AttributeValue, Item, Number};
use keyfall_types::types::*;

// ---------------------------------------------------------------- attribute values

/// Like `convert::value_to_proto`, but consuming the value: requests can carry megabytes of
/// items, which should be moved rather than cloned.
fn value_into_proto(v: AttributeValue) -> pb::AttributeValue {
    use pb::attribute_value::Value;
    let value = match v {
        AttributeValue::S(s) => Value::S(s),
        AttributeValue::N(n) => Value::N(n.to_string()),
        AttributeValue::B(b) => Value::B(Vec::from(b)),
        AttributeValue::Ss(values) => Value::Ss(pb::StringSet { values }),
        AttributeValue::Ns(s) => Value::Ns(pb::NumberSet {
            values: s.iter().map(Number::to_string).collect(),
        }),
        AttributeValue::Bs(s) => Value::Bs(pb::BinarySet {
            values: s.into_iter().map(Vec::from).collect(),
        }),
        AttributeValue::M(m) => Value::M(pb::MapValue {
            values: item_into_proto(m),
        }),
        AttributeValue::L(l) => Value::L(pb::ListValue {
            values: l.into_iter().map(value_into_proto).collect(),
        }),
        AttributeValue::Null => Value::Null(true),
        AttributeValue::Bool(b) => Value::Bool(b),
    };
    pb::AttributeValue { value: Some(value) }
}

fn item_into_proto(item: Item) -> HashMap<String, pb::AttributeValue> {
    item.into_iter()
        .map(|(k, v)| (k, value_into_proto(v)))
        .collect()
}

/// An optional item as a protobuf map: absent is empty.
fn opt_item(item: Option<Item>) -> HashMap<String, pb::AttributeValue> {
    item.map(item_into_proto).unwrap_or_default()
}

/// `ExpressionAttributeValues` as a protobuf map: absent is empty.
fn opt_values(values: Option<AttributeMap>) -> HashMap<String, pb::AttributeValue> {
    values
        .into_iter()
        .flatten()
        .map(|(k, v)| (k, value_into_proto(v)))
        .collect()
}

/// A protobuf item map as an optional item: empty is absent.
fn item_or_none(m: HashMap<String, pb::AttributeValue>) -> Result<Option<Item>> {
    if m.is_empty() {
        Ok(None)
    } else {
        item_from_proto(m).map(Some)
    }
}

// ---------------------------------------------------------------- requests

/// Written once with the server's direction (`convert`'s `members!` lists).
pub use super::convert::{
    batch_get_output, delete_item_output, delete_item_to_proto as delete_item, get_item_output,
    get_item_to_proto as get_item, put_item_output, put_item_to_proto as put_item,
    query_to_proto as query, scan_to_proto as scan, update_item_output,
    update_item_to_proto as update_item,
};

// ---------------------------------------------------------------- batch requests

pub fn batch_get(i: BatchGetItemInput) -> pb::BatchGetItemRequest {
    pb::BatchGetItemRequest {
        request_items: i
            .request_items
            .into_iter()
            .flatten()
            .map(|(t, k)| (t, Member::into_proto(k)))
            .collect(),
        return_consumed_capacity: i.return_consumed_capacity,
    }
}

pub fn batch_write(i: BatchWriteItemInput) -> pb::BatchWriteItemRequest {
    pb::BatchWriteItemRequest {
        request_items: i
            .request_items
            .into_iter()
            .flatten()
            .map(|(t, list)| {
                let values = list.into_iter().map(Member::into_proto).collect();
                (t, pb::WriteRequestList { values })
            })
            .collect(),
        return_consumed_capacity: i.return_consumed_capacity,
        return_item_collection_metrics: i.return_item_collection_metrics,
    }
}

// ---------------------------------------------------------------- transaction requests

fn condition_check_to_proto(a: TransactAction) -> pb::ConditionCheck {
    pb::ConditionCheck {
        key: opt_item(a.key),
        table_name: a.table_name.unwrap_or_default(),
        condition_expression: a.condition_expression.unwrap_or_default(),
        expression_attribute_names: a.expression_attribute_names.unwrap_or_default(),
        expression_attribute_values: opt_values(a.expression_attribute_values),
        return_values_on_condition_check_failure: a.return_values_on_condition_check_failure,
    }
}

fn put_to_proto(a: TransactAction) -> pb::Put {
    pb::Put {
        item: opt_item(a.item),
        table_name: a.table_name.unwrap_or_default(),
        condition_expression: a.condition_expression,
        expression_attribute_names: a.expression_attribute_names.unwrap_or_default(),
        expression_attribute_values: opt_values(a.expression_attribute_values),
        return_values_on_condition_check_failure: a.return_values_on_condition_check_failure,
    }
}

fn delete_to_proto(a: TransactAction) -> pb::Delete {
    pb::Delete {
        key: opt_item(a.key),
        table_name: a.table_name.unwrap_or_default(),
        condition_expression: a.condition_expression,
        expression_attribute_names: a.expression_attribute_names.unwrap_or_default(),
        expression_attribute_values: opt_values(a.expression_attribute_values),
        return_values_on_condition_check_failure: a.return_values_on_condition_check_failure,
    }
}

fn update_to_proto(a: TransactAction) -> pb::Update {
    pb::Update {
        key: opt_item(a.key),
        update_expression: a.update_expression.unwrap_or_default(),
        table_name: a.table_name.unwrap_or_default(),
        condition_expression: a.condition_expression,
        expression_attribute_names: a.expression_attribute_names.unwrap_or_default(),
        expression_attribute_values: opt_values(a.expression_attribute_values),
        return_values_on_condition_check_failure: a.return_values_on_condition_check_failure,
    }
}

pub fn transact_write(i: TransactWriteItemsInput) -> pb::TransactWriteItemsRequest {
    pb::TransactWriteItemsRequest {
        transact_items: i
            .transact_items
            .into_iter()
            .flatten()
            .map(|t| pb::TransactWriteItem {
                condition_check: t.condition_check.map(condition_check_to_proto),
                put: t.put.map(put_to_proto),
                delete: t.delete.map(delete_to_proto),
                update: t.update.map(update_to_proto),
            })
            .collect(),
        return_consumed_capacity: i.return_consumed_capacity,
        return_item_collection_metrics: i.return_item_collection_metrics,
        client_request_token: i.client_request_token,
    }
}

pub fn transact_get(i: TransactGetItemsInput) -> pb::TransactGetItemsRequest {
    pb::TransactGetItemsRequest {
        transact_items: Member::into_proto(i.transact_items.unwrap_or_default()),
        return_consumed_capacity: i.return_consumed_capacity,
    }
}

// ---------------------------------------------------------------- shared response parts

/// Per-table ItemCollectionMetrics of BatchWriteItem and TransactWriteItems; the engine
/// leaves the member out rather than send an empty map.
fn collection_metrics_from_proto(
    m: HashMap<String, pb::ItemCollectionMetricsList>,
) -> Result<Option<HashMap<String, Vec<ItemCollectionMetrics>>>> {
    if m.is_empty() {
        return Ok(None);
    }
    m.into_iter()
        .map(|(t, list)| {
            let list = list
                .values
                .into_iter()
                .map(Member::from_proto)
                .collect::<Result<_>>()?;
            Ok((t, list))
        })
        .collect::<Result<_>>()
        .map(Some)
}

fn items_from_proto(v: Vec<pb::MapValue>) -> Result<Vec<Item>> {
    v.into_iter().map(|m| item_from_proto(m.values)).collect()
}

// ---------------------------------------------------------------- single-item responses

// ---------------------------------------------------------------- query and scan responses

/// The engine leaves `Items` out only for Select COUNT, and otherwise returns exactly
/// `Count` items. So no items with a positive count can only be COUNT (`None`); no items
/// with a zero count is ambiguous and becomes `Some(vec![])`: a caller that knows the
/// request's Select was COUNT should set `items` to `None`.
fn page_output(
    items: Vec<pb::MapValue>,
    count: i32,
    scanned_count: i32,
    last_evaluated_key: HashMap<String, pb::AttributeValue>,
    consumed_capacity: Option<pb::ConsumedCapacity>,
) -> Result<QueryOutput> {
    let items = if items.is_empty() && count > 0 {
        None
    } else {
        Some(items_from_proto(items)?)
    };
    Ok(QueryOutput {
        items,
        count: i64::from(count),
        scanned_count: i64::from(scanned_count),
        last_evaluated_key: item_or_none(last_evaluated_key)?,
        consumed_capacity: Member::from_proto(consumed_capacity)?,
    })
}

/// See `page_output` about `Items` with Select COUNT: with no match, the caller must clear
/// `items` itself.
pub fn query_output(r: pb::QueryResponse) -> Result<QueryOutput> {
    page_output(
        r.items,
        r.count,
        r.scanned_count,
        r.last_evaluated_key,
        r.consumed_capacity,
    )
}

/// See [`query_output`].
pub fn scan_output(r: pb::ScanResponse) -> Result<QueryOutput> {
    page_output(
        r.items,
        r.count,
        r.scanned_count,
        r.last_evaluated_key,
        r.consumed_capacity,
    )
}

// ---------------------------------------------------------------- batch responses

pub fn batch_write_output(r: pb::BatchWriteItemResponse) -> Result<BatchWriteItemOutput> {
    Ok(BatchWriteItemOutput {
        unprocessed_items: r
            .unprocessed_items
            .into_iter()
            .map(|(t, list)| {
                let list = list
                    .values
                    .into_iter()
                    .map(<WriteRequest as Member<_>>::from_proto)
                    .collect::<Result<_>>()?;
                Ok((t, list))
            })
            .collect::<Result<_>>()?,
        consumed_capacity: Member::from_proto(r.consumed_capacity)?,
        item_collection_metrics: collection_metrics_from_proto(r.item_collection_metrics)?,
    })
}

// ---------------------------------------------------------------- transaction responses

pub fn transact_write_output(
    r: pb::TransactWriteItemsResponse,
) -> Result<TransactWriteItemsOutput> {
    Ok(TransactWriteItemsOutput {
        consumed_capacity: Member::from_proto(r.consumed_capacity)?,
        item_collection_metrics: collection_metrics_from_proto(r.item_collection_metrics)?,
    })
}

pub fn transact_get_output(r: pb::TransactGetItemsResponse) -> Result<TransactGetItemsOutput> {
    Ok(TransactGetItemsOutput {
        responses: r
            .responses
            .into_iter()
            // An empty item is a missing one: DynamoDB answers `{}` for it.
            .map(|r| item_or_none(r.item).map(|item| ItemResponse { item }))
            .collect::<Result<_>>()?,
        consumed_capacity: Member::from_proto(r.consumed_capacity)?,
    })
}

// ---------------------------------------------------------------- errors

/// The engine error a gRPC status of `status::to_status` came from, so that a front end
/// answering with it (e.g. `api::json::JsonError::Engine`) produces the same error as the
/// server would: same `__type`, message, `Item` and `CancellationReasons`.
///
/// Statuses `to_status` did not make cannot be told apart and become `Error::Internal`:
/// those without `x-amzn-errortype` (transport failures, deadlines, ...) carry the status
/// message, and those with an error name the engine does not know carry `"<name>: <message>"`.
/// Authentication and authorization failures (`Unauthenticated`, `PermissionDenied`,
/// made by `auth_status`) are not engine errors: this function returns `Internal` for them
/// too, so callers must check for these codes first and answer with their own auth error.
pub fn status_to_error(status: &Status) -> Error {
    let message = status.message();
    let type_name = status
        .metadata()
        .get(ERROR_TYPE_KEY)
        .and_then(|v| v.to_str().ok());
    let Some(type_name) = type_name else {
        return Error::Internal(message.to_string());
    };
    if matches!(
        status.code(),
        Code::Unauthenticated | Code::PermissionDenied
    ) {
        return Error::Internal(format!("{type_name}: {message}"));
    }
    let m = || message.to_string();
    match type_name {
        "ValidationException" => Error::Validation(m()),
        "ResourceNotFoundException" => Error::ResourceNotFound(m()),
        "ResourceInUseException" => Error::ResourceInUse(m()),
        // The message is fixed by the engine; only the item travels.
        "ConditionalCheckFailedException" => Error::ConditionalCheckFailed {
            item: details(status).and_then(|d| item_or_none(d.item).ok().flatten()),
        },
        "LimitExceededException" => Error::LimitExceeded(m()),
        // The message is built from the reasons' codes, so they give it back too.
        "TransactionCanceledException" => Error::TransactionCanceled {
            reasons: details(status)
                .map(|d| {
                    d.cancellation_reasons
                        .into_iter()
                        .map(cancellation_reason)
                        .collect()
                })
                .unwrap_or_default(),
        },
        "IdempotentParameterMismatchException" => Error::IdempotentParameterMismatch(m()),
        "ItemCollectionSizeLimitExceededException" => Error::ItemCollectionSizeLimitExceeded(m()),
        "ExpiredIteratorException" => Error::ExpiredIterator(m()),
        "TrimmedDataAccessException" => Error::TrimmedDataAccess(m()),
        "UnknownOperationException" => Error::Unimplemented(unimplemented_name(message)),
        // `Error::Internal`'s message is "internal server error: {0}": keep it from doubling.
        "InternalServerError" => Error::Internal(
            message
                .strip_prefix(INTERNAL_PREFIX)
                .unwrap_or(message)
                .to_string(),
        ),
        // Throttling errors DynamoDB has but the engine does not produce (yet): the closest
        // engine error is LimitExceeded (also RESOURCE_EXHAUSTED, also retryable).
        "ProvisionedThroughputExceededException"
        | "ThrottlingException"
        | "RequestLimitExceeded" => Error::LimitExceeded(m()),
        other => Error::Internal(format!("{other}: {message}")),
    }
}

const INTERNAL_PREFIX: &str = "internal server error: ";
const UNIMPLEMENTED_SUFFIX: &str = " is not implemented by Keyfall yet";

/// The structured members of an error, when the status has valid ones.
fn details(status: &Status) -> Option<pb::ErrorDetails> {
    let bytes = status
        .metadata()
        .get_bin(ERROR_DETAILS_KEY)?
        .to_bytes()
        .ok()?;
    pb::ErrorDetails::decode(bytes).ok()
}

/// A reason whose item does not convert keeps its code and message: the item is only
/// informative, the code is what callers act on.
fn cancellation_reason(r: pb::CancellationReason) -> CancellationReason {
    CancellationReason {
        code: r.code.unwrap_or_default(),
        message: r.message,
        item: item_or_none(r.item).ok().flatten(),
    }
}

/// Names of `Error::Unimplemented` that are not action names.
const OTHER_UNIMPLEMENTED: &[&str] = &["UpdateTable with ReplicaUpdates"];

/// How many unknown names `unimplemented_name` keeps (leaks) at most.
const MAX_INTERNED: usize = 64;

/// Unimplemented names the server sent that this build does not know (a newer server).
static INTERNED: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// The `&'static str` of `Error::Unimplemented` from its message. Names this build knows
/// are found in its lists; others are leaked once each, at most `MAX_INTERNED` of them,
/// after which the message keeps the generic name "This operation".
fn unimplemented_name(message: &str) -> &'static str {
    let name = message
        .strip_suffix(UNIMPLEMENTED_SUFFIX)
        .unwrap_or(message);
    if let Some(n) = crate::actions::known_action(name) {
        return n;
    }
    if let Some(n) = OTHER_UNIMPLEMENTED.iter().find(|n| **n == name) {
        return n;
    }
    let Ok(mut interned) = INTERNED.lock() else {
        return "This operation";
    };
    if let Some(n) = interned.iter().find(|n| **n == name) {
        return n;
    }
    if interned.len() >= MAX_INTERNED {
        return "This operation";
    }
    let n: &'static str = Box::leak(name.to_string().into_boxed_str());
    interned.push(n);
    n
}

#[cfg(test)]
mod tests;
