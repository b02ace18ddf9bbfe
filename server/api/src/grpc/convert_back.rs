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
//! empty protobuf map to `None` is exact; the one ambiguity is Query/Scan `Items`, absent
//! after an empty page too: a reader that knows the request's `Select` puts `[]` back.

use std::collections::HashMap;
use std::sync::Mutex;

use keyfall_proto::v1 as pb;
use prost::Message;
use tonic::{Code, Status};

use super::member::Member;
use super::status::{ERROR_DETAILS_KEY, ERROR_TYPE_KEY};
use keyfall_types::error::{Error, Result};
use keyfall_types::model::Item;
use keyfall_types::types::{CancellationReason, ThrottlingReason};

/// A protobuf item map as an optional item: empty is absent.
fn item_or_none(m: HashMap<String, pb::AttributeValue>) -> Result<Option<Item>> {
    Member::from_proto(m)
}

// ---------------------------------------------------------------- messages

/// Written once with the server's direction (`convert`'s `members!` lists).
pub use super::convert::{
    batch_get_output, batch_get_to_proto as batch_get, batch_write_output,
    batch_write_to_proto as batch_write, delete_item_output, delete_item_to_proto as delete_item,
    get_item_output, get_item_to_proto as get_item, put_item_output, put_item_to_proto as put_item,
    query_output, query_to_proto as query, scan_output, scan_to_proto as scan, transact_get_output,
    transact_get_to_proto as transact_get, transact_write_output,
    transact_write_to_proto as transact_write, update_item_output,
    update_item_to_proto as update_item,
};

// ---------------------------------------------------------------- errors

/// The engine error a gRPC status of `status::to_status` came from, so that a front end
/// answering with it (e.g. `api::json::JsonError::Engine`) produces the same error as the
/// server would: same `__type`, message, `Item` and `CancellationReasons`.
///
/// Statuses `to_status` did not make cannot be told apart and become `Error::Internal`:
/// those without `x-amzn-errortype` (transport failures, deadlines, ...) carry the status
/// message, and those with a name outside the shared error table carry
/// `"<name>: <message>"`. Names in the table the engine does not make become `Error::Other`.
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
        name @ ("ProvisionedThroughputExceededException"
        | "ThrottlingException"
        | "RequestLimitExceeded") => Error::Throttled {
            name: keyfall_proto::errors::info(name).map_or("ThrottlingException", |r| r.name),
            message: m(),
            reasons: details(status)
                .map(|d| {
                    d.throttling_reasons
                        .into_iter()
                        .map(|r| ThrottlingReason {
                            reason: r.reason.unwrap_or_default(),
                            resource: r.resource.unwrap_or_default(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        },
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
        // Every other error of the shared table keeps its name; a name outside it is not
        // DynamoDB's and cannot be answered as one.
        other => match keyfall_proto::errors::info(other) {
            Some(row) => Error::Other {
                name: row.name,
                message: m(),
            },
            None => Error::Internal(format!("{other}: {message}")),
        },
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
