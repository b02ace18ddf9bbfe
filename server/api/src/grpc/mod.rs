//! The gRPC API's codec, shared by keyfall-server and keyfall-dax: protobuf <-> DynamoDB
//! types (`convert`, `convert_back`), errors as `tonic::Status` with `x-amzn-errortype`
//! (`status`), and the tower layer that authenticates every call (`auth_layer`).

mod auth_layer;
pub mod codec;
pub mod convert;
pub mod convert_back;
mod status;

pub use auth_layer::{auth_status, grpc_code, AuthLayer};
pub use status::{error_type_of, to_status, ERROR_DETAILS_KEY, ERROR_TYPE_KEY};

/// Largest message accepted: BatchWriteItem carries up to 16 MB of items.
pub const MAX_MESSAGE_BYTES: usize = crate::json::MAX_BODY_BYTES;
