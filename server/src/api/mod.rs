//! The wire APIs: thin adapters that decode a request, call the engine and encode the
//! answer. DynamoDB semantics live in the engine only.
pub mod actions;
pub mod grpc;
pub mod json;
