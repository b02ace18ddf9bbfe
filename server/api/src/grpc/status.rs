//! The single mapping from engine errors to gRPC statuses.

use keyfall_proto::v1 as pb;
use prost::Message;
use tonic::metadata::{BinaryMetadataValue, MetadataValue};
use tonic::Status;

use super::convert::item_to_proto;
use keyfall_types::error::Error;

/// Metadata key holding the DynamoDB error name, on every error.
pub const ERROR_TYPE_KEY: &str = "x-amzn-errortype";
/// Binary metadata key holding an encoded `ErrorDetails` when the error has structured
/// members (the item of a failed condition check).
pub const ERROR_DETAILS_KEY: &str = "x-keyfall-error-details-bin";

/// The DynamoDB error name a status carries (`InternalServerError` when it names none),
/// for metrics and audit outcomes.
pub fn error_type_of(status: &Status) -> String {
    status
        .metadata()
        .get(ERROR_TYPE_KEY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("InternalServerError")
        .to_string()
}

pub fn to_status(e: Error) -> Status {
    let code = super::auth_layer::grpc_code(e.type_name());
    let mut status = Status::new(code, e.to_string());
    let md = status.metadata_mut();
    md.insert(ERROR_TYPE_KEY, MetadataValue::from_static(e.type_name()));
    let details = match &e {
        Error::ConditionalCheckFailed { item: Some(item) } => Some(pb::ErrorDetails {
            item: item_to_proto(item),
            ..Default::default()
        }),
        Error::TransactionCanceled { reasons } => Some(pb::ErrorDetails {
            cancellation_reasons: reasons
                .iter()
                .map(|r| pb::CancellationReason {
                    code: Some(r.code.clone()),
                    message: r.message.clone(),
                    item: r.item.as_ref().map(item_to_proto).unwrap_or_default(),
                })
                .collect(),
            ..Default::default()
        }),
        Error::Throttled { reasons, .. } => Some(pb::ErrorDetails {
            throttling_reasons: reasons
                .iter()
                .map(|r| pb::ThrottlingReason {
                    reason: Some(r.reason.clone()),
                    resource: Some(r.resource.clone()),
                })
                .collect(),
            ..Default::default()
        }),
        _ => None,
    };
    if let Some(details) = details {
        let details = pb::ErrorDetails {
            error_type: e.type_name().to_string(),
            message: e.to_string(),
            ..details
        };
        md.insert_bin(
            ERROR_DETAILS_KEY,
            BinaryMetadataValue::from_bytes(&details.encode_to_vec()),
        );
    }
    status
}
