//! Keyfall's storage service. See ARCHITECTURE.md for the map of this crate.
//!
//! A request flows api (grpc | json) -> auth -> engine (model, expressions, tables) -> storage.

pub mod api;
pub mod config;
pub mod master_key;
pub mod metrics;
pub mod server;
pub mod tls;
pub mod user_records;

pub use config::{Cli, Config};
/// Tracing context and OpenTelemetry setup are shared with the proxy (`keyfall-api`).
pub use keyfall_api::telemetry;
/// Authentication, policies, request checks and the audit trail live in `keyfall-auth`
/// (no engine, no storage engine: the proxy links it too).
pub use keyfall_auth::{self as auth, audit};
/// The engine and the storage interface below it live in `keyfall-engine`.
pub use keyfall_engine::{self as engine, storage};
/// The data model and expressions live in `keyfall-types` (no engine, no storage); the
/// engine, auth and API modules name them as `crate::model` and `crate::expr`.
pub use keyfall_types::{command, error, expr, model};
pub use server::{run, Listeners, ServerError};
