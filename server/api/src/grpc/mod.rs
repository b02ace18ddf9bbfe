//! The gRPC API's codec, shared by keyfall-server and keyfall-dax: protobuf <-> DynamoDB
//! types (`convert`, `convert_back`), errors as `tonic::Status` with `x-amzn-errortype`
//! (`status`), and the tower layer that authenticates every call (`auth_layer`).

mod auth_layer;
pub mod codec;
pub mod convert;
pub mod convert_back;
pub mod member;
mod status;

pub use auth_layer::{auth_status, caller_of, grpc_code, AuthLayer};
pub use status::{error_type_of, to_status, ERROR_DETAILS_KEY, ERROR_TYPE_KEY};

/// Largest message accepted: BatchWriteItem carries up to 16 MB of items.
pub const MAX_MESSAGE_BYTES: usize = crate::json::MAX_BODY_BYTES;

/// A gRPC service method as `#[tonic::async_trait]` expands one, for methods a macro
/// generates (async_trait does not see into macro output). The server's and the proxy's
/// action-table methods both use it.
#[macro_export]
macro_rules! grpc_method {
    ($method:ident($self:ident, $r:ident: $req:ty) -> $resp:ty $body:block) => {
        fn $method<'life0, 'async_trait>(
            &'life0 $self,
            $r: ::tonic::Request<$req>,
        ) -> ::std::pin::Pin<
            Box<
                dyn ::std::future::Future<
                        Output = Result<::tonic::Response<$resp>, ::tonic::Status>,
                    > + Send
                    + 'async_trait,
            >,
        >
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(async move $body)
        }
    };
}
