//! DynamoDB's data model and expression language, shared by every layer that reads a
//! request: the engine executes what these types describe, authorization reads the same
//! parsed values and expressions, and keyfall-dax uses them without linking the engine.
//!
//! - `model`: attribute values, 38-digit numbers, key encodings, the item codec.
//! - `expr`: condition, update, projection, filter and key-condition expressions (and the
//!   legacy parameters converted to the same trees), parsed, validated and evaluated.
//! - `types`: the actions' inputs and outputs; `error`: the engine's error enum (one variant
//!   per DynamoDB error it answers).

pub mod autoscaling;
/// Backups and point-in-time recovery: their actions' inputs and outputs.
pub mod backup;
pub mod command;
pub mod error;
pub mod expr;
pub mod model;
pub mod partiql;
pub mod shard_iterator;
pub mod streams;
/// The line formats of exports and imports (DynamoDB JSON, Ion, CSV).
pub mod transfer;
/// The actions' inputs and outputs, as DynamoDB's JSON API spells them (serde); the gRPC
/// adapter converts protobuf messages to and from the same types.
pub mod types;
