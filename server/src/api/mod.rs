//! The wire APIs: thin adapters that authenticate and decode a request, authorize it, call
//! the engine and encode the answer. DynamoDB semantics live in the engine only.
pub mod grpc;
pub mod json;
pub mod pipeline;
mod schemas;

pub use schemas::EngineSchemas;

pub use keyfall_api::{actions, authorize};
